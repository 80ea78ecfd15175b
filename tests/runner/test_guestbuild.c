/* test_guestbuild.c - building guest programs with the guest library (runner/guestbuild.c). */
#include <CUnit/CUnit.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner/guestbuild.h"

void test_guestbuild_register(void);

static char dir[256];

static int suite_init(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/hvsim-test-guestbuild-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    return mkdtemp(dir) ? 0 : -1;
}

static int suite_clean(void)
{
    static const char *const names[] = {
        "tiny.c", "bad.c", "a.elf", "b.elf", "c.elf", "d.elf", "bundled.elf",
    };
    char p[512];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        unlink(p);
    }
    rmdir(dir);
    return 0;
}

static const char *path(const char *name)
{
    static char bufs[4][512];
    static unsigned next;
    char *p = bufs[next++ % 4];
    snprintf(p, sizeof bufs[0], "%s/%s", dir, name);
    return p;
}

static void write_text(const char *name, const char *text)
{
    FILE *f = fopen(path(name), "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
}

/* Reads a whole file; caller frees. NULL if unreadable. */
static uint8_t *slurp(const char *p, size_t *len)
{
    FILE *f = fopen(p, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static uint64_t le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static const char tiny_src[] =
    "#include \"guest.h\"\n"
    "void guest_main(void)\n"
    "{\n"
    "    GUEST_SYNC(1);\n"
    "    GUEST_PRINTF(\"hello from vCPU %u\", guest_vcpu_id());\n"
    "}\n";

static const struct {
    enum hv_arch arch;
    uint16_t machine;
    uint8_t elfclass;   /* 1 = ELFCLASS32, 2 = ELFCLASS64 */
    uint64_t entry;
    enum hv_arch other; /* an arch whose builds refuse this one's image */
} arches[] = {
    { HV_ARCH_X86_64, 62 /* EM_X86_64 */, 2, 0x100000, HV_ARCH_AARCH64 },
    { HV_ARCH_AARCH64, 183 /* EM_AARCH64 */, 2, 0x40100000, HV_ARCH_ARM },
    { HV_ARCH_ARM, 40 /* EM_ARM */, 1, 0x40100000, HV_ARCH_X86_64 },
};

static void test_build_tiny(void)
{
    write_text("tiny.c", tiny_src);
    for (size_t i = 0; i < sizeof arches / sizeof arches[0]; i++) {
        char log[4096];
        int rc = guest_build(arches[i].arch, path("tiny.c"), path("a.elf"), log, sizeof log);
        if (rc != 0)
            fprintf(stderr, "\n%s\n", log);
        CU_ASSERT_EQUAL_FATAL(rc, 0);
        CU_ASSERT_STRING_EQUAL(log, "");   /* no warnings either */

        size_t len = 0;
        uint8_t *img = slurp(path("a.elf"), &len);
        CU_ASSERT_PTR_NOT_NULL_FATAL(img);
        CU_ASSERT_FATAL(len > 64);
        CU_ASSERT(memcmp(img, "\177ELF", 4) == 0);
        CU_ASSERT_EQUAL(img[4], arches[i].elfclass);
        CU_ASSERT_EQUAL(img[5], 1);                            /* little-endian */
        CU_ASSERT_EQUAL(le(img + 16, 2), 2);                   /* ET_EXEC */
        CU_ASSERT_EQUAL(le(img + 18, 2), arches[i].machine);
        CU_ASSERT_EQUAL(le(img + 24, arches[i].elfclass == 2 ? 8 : 4), arches[i].entry);

        /* Building again, to another file, gives the same bytes. */
        rc = guest_build(arches[i].arch, path("tiny.c"), path("b.elf"), log, sizeof log);
        CU_ASSERT_EQUAL_FATAL(rc, 0);
        size_t len2 = 0;
        uint8_t *img2 = slurp(path("b.elf"), &len2);
        CU_ASSERT_PTR_NOT_NULL_FATAL(img2);
        CU_ASSERT_EQUAL(len, len2);
        CU_ASSERT(len == len2 && memcmp(img, img2, len) == 0);

        /* An .elf guest is copied as is; one for another arch is refused. */
        rc = guest_build(arches[i].arch, path("b.elf"), path("c.elf"), log, sizeof log);
        CU_ASSERT_EQUAL(rc, 0);
        size_t len3 = 0;
        uint8_t *img3 = slurp(path("c.elf"), &len3);
        CU_ASSERT(img3 && len3 == len && memcmp(img, img3, len) == 0);
        enum hv_arch other = arches[i].other;
        rc = guest_build(other, path("b.elf"), path("d.elf"), log, sizeof log);
        CU_ASSERT_EQUAL(rc, HV_EGUEST);
        char want[64];
        snprintf(want, sizeof want, "not a %d-bit little-endian ELF file",
                 other == HV_ARCH_ARM ? 32 : 64);
        CU_ASSERT_PTR_NOT_NULL(strstr(log, want));
        CU_ASSERT_EQUAL(access(path("d.elf"), F_OK), -1);

        free(img);
        free(img2);
        free(img3);
    }
}

static void test_syntax_error(void)
{
    write_text("bad.c", "#include \"guest.h\"\nvoid guest_main(void) { int x = ; }\n");
    for (size_t i = 0; i < sizeof arches / sizeof arches[0]; i++) {
        char log[4096];
        unlink(path("d.elf"));
        int rc = guest_build(arches[i].arch, path("bad.c"), path("d.elf"), log, sizeof log);
        CU_ASSERT_EQUAL(rc, HV_EGUEST);
        CU_ASSERT_PTR_NOT_NULL(strstr(log, "bad.c:2:33: error: expected expression"));
        CU_ASSERT_EQUAL(access(path("d.elf"), F_OK), -1);   /* nothing half-written */
    }
}

static void test_errors(void)
{
    char log[512];
    CU_ASSERT_EQUAL(guest_build(HV_ARCH_X86_64, path("missing.c"), path("d.elf"), log,
                                sizeof log), HV_ENOENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "missing.c"));
    CU_ASSERT_EQUAL(guest_build(HV_ARCH_X86_64, path("tiny.txt"), path("d.elf"), log,
                                sizeof log), HV_EGUEST);
    CU_ASSERT_EQUAL(guest_build(HV_ARCH__COUNT, path("tiny.c"), path("d.elf"), log, sizeof log),
                    HV_EUNSUPP);

    /* A log too small for the message is still a terminated string. */
    char tiny_log[8];
    CU_ASSERT_EQUAL(guest_build(HV_ARCH_X86_64, path("missing.c"), path("d.elf"), tiny_log,
                                sizeof tiny_log), HV_ENOENT);
    CU_ASSERT_EQUAL(strlen(tiny_log), sizeof tiny_log - 1);
}

static void test_no_clang(void)
{
    const char *old = getenv("PATH");
    char *saved = old ? strdup(old) : NULL;
    setenv("PATH", dir, 1);   /* a folder with no clang in it */
    char log[512];
    int rc = guest_build(HV_ARCH_X86_64, path("tiny.c"), path("d.elf"), log, sizeof log);
    if (saved) {
        setenv("PATH", saved, 1);
        free(saved);
    } else {
        unsetenv("PATH");
    }
    CU_ASSERT_EQUAL(rc, HV_EGUEST);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "clang not found: install clang and lld "
                                       "(scripts/install-deps.sh)"));
}

static void test_lib_sources(void)
{
    for (size_t i = 0; i < sizeof arches / sizeof arches[0]; i++) {
        const char *const *srcs = NULL;
        size_t n = 0;
        CU_ASSERT_EQUAL_FATAL(guest_lib_sources(arches[i].arch, &srcs, &n), 0);
        CU_ASSERT(n > 0);
        for (size_t j = 0; j < n; j++) {
            char p[1024];
            snprintf(p, sizeof p, "%s/%s", GUEST_LIB_DIR, srcs[j]);
            CU_ASSERT_EQUAL(access(p, R_OK), 0);
        }
    }
    const char *const *srcs;
    size_t n;
    CU_ASSERT_EQUAL(guest_lib_sources(HV_ARCH__COUNT, &srcs, &n), HV_EUNSUPP);
}

/* Every bundled guest program builds for every arch it is meant for without a warning. */
static void test_bundled_guests(void)
{
    static const struct {
        const char *name;
        bool arm_only;
    } guests[] = {
        { "spinlock.c", false }, { "assert_fail.c", false }, { "private_window.c", false },
        { "exception.c", false }, { "exits.c", false },      { "smc_cond.c", true },
    };
    for (size_t g = 0; g < sizeof guests / sizeof guests[0]; g++) {
        for (size_t i = 0; i < sizeof arches / sizeof arches[0]; i++) {
            if (guests[g].arm_only && arches[i].arch != HV_ARCH_ARM)
                continue;
            char src[1024], log[4096];
            snprintf(src, sizeof src, "%s/scenarios/none/%s", HVSIM_SOURCE_DIR, guests[g].name);
            int rc = guest_build(arches[i].arch, src, path("bundled.elf"), log, sizeof log);
            if (rc != 0 || log[0])
                fprintf(stderr, "\n%s (%s):\n%s\n", guests[g].name, hv_arch_name(arches[i].arch),
                        log);
            CU_ASSERT_EQUAL(rc, 0);
            CU_ASSERT_STRING_EQUAL(log, "");
        }
    }
}

void test_guestbuild_register(void)
{
    CU_pSuite s = CU_add_suite("guestbuild", suite_init, suite_clean);
    CU_add_test(s, "build tiny guest, rebuild identical, copy elf", test_build_tiny);
    CU_add_test(s, "syntax error reaches the log", test_syntax_error);
    CU_add_test(s, "bad inputs", test_errors);
    CU_add_test(s, "clang missing", test_no_clang);
    CU_add_test(s, "library sources exist", test_lib_sources);
    CU_add_test(s, "bundled guests build", test_bundled_guests);
}
