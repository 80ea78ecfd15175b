/*
 * test_srcline.c - pc -> function and file:line (debug/srcline.c) on real guest builds.
 *
 * scenarios/none/spinlock.c is built for each arch with the guest library; for a few
 * functions (C and assembly, guest and library) and pcs inside them, the symbol address comes
 * from llvm-nm and the expected file:line from llvm-addr2line, tools independent of libdw.
 * The entry line of guest_main must also lie inside its body in spinlock.c as the source text
 * shows it. An image without DWARF still names functions; bytes that are not ELF are refused.
 */
#include <CUnit/CUnit.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "debug/srcline.h"
#include "runner/guestbuild.h"
#include "sim/hv.h"
#include "tests/test_util.h"

void test_srcline_register(void);

#define SL_SOURCE HVSIM_SOURCE_DIR "/scenarios/none/spinlock.c"

static char sl_dir[256];

static int sl_init(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(sl_dir, sizeof sl_dir, "%s/hvsim-test-srcline-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    return mkdtemp(sl_dir) ? 0 : -1;
}

static int sl_cleanup(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", sl_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* First line of a command's output (without the newline); false when it printed nothing. */
static bool sl_run(const char *cmd, char *out, size_t size)
{
    FILE *p = popen(cmd, "r");
    bool ok = p && fgets(out, (int)size, p);
    if (p)
        pclose(p);
    if (ok)
        out[strcspn(out, "\n")] = 0;
    return ok;
}

/* Address of symbol name in elf, from llvm-nm. */
static bool sl_nm(const char *elf, const char *name, uint64_t *addr)
{
    char cmd[1024], line[256];
    snprintf(cmd, sizeof cmd, "llvm-nm --defined-only '%s' | awk '$3 == \"%s\" { print $1 }'",
             elf, name);
    if (!sl_run(cmd, line, sizeof line))
        return false;
    *addr = strtoull(line, NULL, 16);
    return true;
}

/* "file:line" for pc from llvm-addr2line, leading "./" removed. */
static bool sl_addr2line(const char *elf, uint64_t pc, char *out, size_t size)
{
    char cmd[1024], line[512];
    snprintf(cmd, sizeof cmd, "llvm-addr2line -e '%s' 0x%" PRIx64, elf, pc);
    if (!sl_run(cmd, line, sizeof line))
        return false;
    const char *p = line;
    while (p[0] == '.' && p[1] == '/')
        p += 2;
    snprintf(out, size, "%s", p);
    return true;
}

/* Builds spinlock.c for arch into the suite folder; returns the ELF's path (static). */
static const char *sl_build(enum hv_arch arch)
{
    static char path[512];
    static char log[16384];
    snprintf(path, sizeof path, "%s/spinlock-%s.elf", sl_dir, hv_arch_name(arch));
    int err = guest_build(arch, SL_SOURCE, path, log, sizeof log);
    TEST_CHECK(err == 0, "guest_build %s: %s", hv_arch_name(arch), log);
    return err ? NULL : path;
}

static struct srcline *sl_open_file(const char *elf_path)
{
    size_t len = 0;
    char *data = test_read_file(elf_path, &len);
    TEST_CHECK(data != NULL, "cannot read %s", elf_path);
    if (!data)
        return NULL;
    struct srcline *s = NULL;
    int err = srcline_open(&s, data, len);
    free(data);   /* srcline keeps its own copy */
    TEST_CHECK(err == 0, "srcline_open %s: %s", elf_path, hv_err_name(err));
    return s;
}

/* Line numbers of guest_main's signature and of its closing brace in spinlock.c. */
static void sl_guest_main_body(unsigned *first, unsigned *last)
{
    size_t len = 0;
    char *text = test_read_file(SL_SOURCE, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    *first = *last = 0;
    unsigned n = 1;
    for (char *line = text; line && *line; n++) {
        if (strncmp(line, "void guest_main(void)", 21) == 0)
            *first = n;
        else if (*first && !*last && strncmp(line, "}\n", 2) == 0)
            *last = n;
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;
    }
    free(text);
    CU_ASSERT_FATAL(*first && *last > *first);
}

static void test_against_llvm(void)
{
    static const struct {
        const char *func;
        uint64_t off;
    } rows[] = {
        { "guest_main", 0 }, { "guest_main", 8 }, { "guest_main", 24 },
        { "guest_ucall_sync", 0 }, { "guest_ucall_sync", 12 },
        { "memcpy", 0 }, { "memcpy", 4 },
        { "_start", 0 }, { "_start", 4 },       /* assembly (lib/ARCH/boot.S) */
    };
    unsigned first, last;
    sl_guest_main_body(&first, &last);
    for (int a = 0; a < HV_ARCH__COUNT; a++) {
        const char *elf = sl_build((enum hv_arch)a);
        if (!elf)
            continue;
        struct srcline *s = sl_open_file(elf);
        if (!s)
            continue;
        for (size_t i = 0; i < TEST_N(rows); i++) {
            uint64_t addr = 0;
            char want[512];
            if (!sl_nm(elf, rows[i].func, &addr)) {
                TEST_CHECK(false, "%s: llvm-nm finds no %s", elf, rows[i].func);
                continue;
            }
            uint64_t pc = addr + rows[i].off;
            TEST_CHECK(sl_addr2line(elf, pc, want, sizeof want), "llvm-addr2line %s", elf);
            struct srcline_loc loc;
            int err = srcline_lookup(s, pc, &loc);
            char got[700];
            snprintf(got, sizeof got, "%s:%u", loc.file, loc.line);
            TEST_CHECK(err == 0 && strcmp(loc.func, rows[i].func) == 0 &&
                       loc.func_off == rows[i].off && strcmp(got, want) == 0,
                       "%s %s+%" PRIu64 ": got %s+0x%" PRIx64 " %s (err %d), llvm says %s",
                       hv_arch_name((enum hv_arch)a), rows[i].func, rows[i].off, loc.func,
                       loc.func_off, got, err, want);
            if (strcmp(rows[i].func, "guest_main") == 0 && rows[i].off == 0)
                TEST_CHECK(strcmp(loc.file, "spinlock.c") == 0 && loc.line >= first &&
                           loc.line <= last, "%s guest_main entry at %s, body is lines %u..%u",
                           hv_arch_name((enum hv_arch)a), got, first, last);
        }
        srcline_close(s);
    }
}

static void test_format(void)
{
    static const struct {
        struct srcline_loc loc;
        const char *want;
    } rows[] = {
        { { "guest_main", 0x10, "spinlock.c", 21 }, "guest_main+0x10 (spinlock.c:21)" },
        { { "guest_main", 0, "spinlock.c", 18 }, "guest_main (spinlock.c:18)" },
        { { "x86_exc_common", 4, "", 0 }, "x86_exc_common+0x4" },
        { { "", 0, "lib/x86_64/boot.S", 30 }, "lib/x86_64/boot.S:30" },
        { { "", 0, "", 0 }, "?" },
    };
    for (size_t i = 0; i < TEST_N(rows); i++) {
        char buf[300];
        srcline_format(&rows[i].loc, buf, sizeof buf);
        TEST_CHECK(strcmp(buf, rows[i].want) == 0, "row %zu: '%s', want '%s'", i, buf,
                   rows[i].want);
    }
}

static void test_no_dwarf_and_bad_input(void)
{
    const char *elf = sl_build(HV_ARCH_X86_64);
    CU_ASSERT_PTR_NOT_NULL_FATAL(elf);
    char stripped[600], cmd[1400], out[64];
    snprintf(stripped, sizeof stripped, "%s/stripped.elf", sl_dir);
    snprintf(cmd, sizeof cmd, "llvm-objcopy --strip-debug '%s' '%s' && echo ok", elf, stripped);
    CU_ASSERT_FATAL(sl_run(cmd, out, sizeof out));
    uint64_t addr = 0;
    CU_ASSERT_FATAL(sl_nm(stripped, "guest_main", &addr));
    struct srcline *s = sl_open_file(stripped);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    struct srcline_loc loc;
    TEST_CHECK(srcline_lookup(s, addr + 4, &loc) == 0 && strcmp(loc.func, "guest_main") == 0 &&
               loc.func_off == 4 && loc.file[0] == 0 && loc.line == 0,
               "no DWARF: got '%s'+%" PRIu64 " '%s':%u", loc.func, loc.func_off, loc.file,
               loc.line);
    /* far below the image: nothing names it */
    TEST_CHECK(srcline_lookup(s, 0x10, &loc) == HV_ENOENT && !loc.func[0] && !loc.file[0],
               "pc 0x10: got '%s' '%s'", loc.func, loc.file);
    srcline_close(s);

    static const struct {
        const char *bytes;
        size_t len;
    } bad[] = { { "", 0 }, { "not an elf file", 15 }, { "\x7f" "ELF", 4 } };
    for (size_t i = 0; i < TEST_N(bad); i++) {
        struct srcline *b = (struct srcline *)1;
        int err = srcline_open(&b, bad[i].bytes, bad[i].len);
        TEST_CHECK(err == HV_EINVAL && b == NULL, "bad row %zu: err %d", i, err);
    }
    srcline_close(NULL);
}

void test_srcline_register(void)
{
    CU_pSuite s = CU_add_suite("srcline", sl_init, sl_cleanup);
    CU_add_test(s, "functions and lines agree with llvm-nm and llvm-addr2line",
                test_against_llvm);
    CU_add_test(s, "format", test_format);
    CU_add_test(s, "no DWARF; bad input", test_no_dwarf_and_bad_input);
}
