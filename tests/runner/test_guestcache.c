/* test_guestcache.c - the content-addressed cache of guest builds (runner/guestcache.c). */
#include <CUnit/CUnit.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner/guestcache.h"
#include "tests/test_util.h"

void test_guestcache_register(void);

static char dir[256];

static int suite_init(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/hvsim-test-guestcache-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    return mkdtemp(dir) ? 0 : -1;
}

static const char *path(const char *name)
{
    static char bufs[4][512];
    static unsigned next;
    char *p = bufs[next++ % 4];
    snprintf(p, sizeof bufs[0], "%s/%s", dir, name);
    return p;
}

/* Removes every file of folder p, then p. */
static void remove_dir(const char *p)
{
    DIR *d = opendir(p);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char f[1024];
        if (e->d_name[0] == '.')
            continue;
        snprintf(f, sizeof f, "%s/%s", p, e->d_name);
        unlink(f);
    }
    if (d)
        closedir(d);
    rmdir(p);
}

static int suite_clean(void)
{
    remove_dir(path("cache"));
    remove_dir(dir);
    unsetenv("HVSIM_CACHE_DIR");
    return 0;
}

static void write_text(const char *name, const char *text)
{
    FILE *f = fopen(path(name), "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
}

static int entries(const char *p)
{
    int n = 0;
    DIR *d = opendir(p);
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strstr(e->d_name, ".elf") != NULL;
    if (d)
        closedir(d);
    return n;
}

/* The folder as documented in guestcache.h: rows of (HVSIM_CACHE_DIR, XDG_CACHE_HOME, HOME). */
static void test_dir_rules(void)
{
    static const struct {
        const char *hvsim, *xdg, *home, *want;
    } rows[] = {
        { "/c", "/x", "/h", "/c" },
        { "off", "/x", "/h", "" },
        { NULL, "/x", "/h", "/x/hvsim/guests" },
        { "", "/x", "/h", "/x/hvsim/guests" },
        { NULL, NULL, "/h", "/h/.cache/hvsim/guests" },
        { NULL, "relative", "/h", "/h/.cache/hvsim/guests" },
        { NULL, NULL, NULL, "" },
    };
    const char *names[] = { "HVSIM_CACHE_DIR", "XDG_CACHE_HOME", "HOME" };
    char *saved[3];
    for (int k = 0; k < 3; k++)
        saved[k] = getenv(names[k]) ? strdup(getenv(names[k])) : NULL;
    for (size_t i = 0; i < TEST_N(rows); i++) {
        const char *v[3] = { rows[i].hvsim, rows[i].xdg, rows[i].home };
        for (int k = 0; k < 3; k++)
            v[k] ? setenv(names[k], v[k], 1) : unsetenv(names[k]);
        char got[256];
        guest_cache_dir(got, sizeof got);
        TEST_CHECK(strcmp(got, rows[i].want) == 0, "row %zu: got '%s', want '%s'", i, got,
                   rows[i].want);
    }
    for (int k = 0; k < 3; k++) {
        saved[k] ? setenv(names[k], saved[k], 1) : unsetenv(names[k]);
        free(saved[k]);
    }
}

static void test_hit_and_invalidation(void)
{
    char log[4096];
    void *a = NULL, *b = NULL, *c = NULL;
    size_t la = 0, lb = 0, lc = 0;
    bool hit = true;
    setenv("HVSIM_CACHE_DIR", path("cache"), 1);
    write_text("inc.h", "#define VALUE 1\n");
    write_text("g.c", "#include \"guest.h\"\n#include \"inc.h\"\n"
                      "void guest_main(void) { GUEST_SYNC(VALUE); }\n");
    CU_ASSERT_EQUAL_FATAL(guest_cache_build(HV_ARCH_X86_64, path("g.c"), &a, &la, &hit, log,
                                            sizeof log), 0);
    CU_ASSERT_FALSE(hit);
    CU_ASSERT_EQUAL(entries(path("cache")), 1);
    /* the same inputs: from the cache, the same bytes */
    CU_ASSERT_EQUAL_FATAL(guest_cache_build(HV_ARCH_X86_64, path("g.c"), &b, &lb, &hit, log,
                                            sizeof log), 0);
    CU_ASSERT_TRUE(hit);
    CU_ASSERT(la == lb && memcmp(a, b, la) == 0);
    /* the key: stable, and different for another arch */
    char k1[65], k2[65], k3[65];
    CU_ASSERT_EQUAL(guest_cache_key(HV_ARCH_X86_64, path("g.c"), k1), 0);
    CU_ASSERT_EQUAL(guest_cache_key(HV_ARCH_X86_64, path("g.c"), k2), 0);
    CU_ASSERT_STRING_EQUAL(k1, k2);
    CU_ASSERT_EQUAL(strlen(k1), 64);
    CU_ASSERT_EQUAL(guest_cache_key(HV_ARCH_AARCH64, path("g.c"), k3), 0);
    CU_ASSERT_STRING_NOT_EQUAL(k1, k3);
    /* an included header changes: a new key, a new build with the new value */
    write_text("inc.h", "#define VALUE 2\n");
    CU_ASSERT_EQUAL(guest_cache_key(HV_ARCH_X86_64, path("g.c"), k2), 0);
    CU_ASSERT_STRING_NOT_EQUAL(k1, k2);
    CU_ASSERT_EQUAL_FATAL(guest_cache_build(HV_ARCH_X86_64, path("g.c"), &c, &lc, &hit, log,
                                            sizeof log), 0);
    CU_ASSERT_FALSE(hit);
    CU_ASSERT(la != lc || memcmp(a, c, la) != 0);
    CU_ASSERT_EQUAL(entries(path("cache")), 2);
    /* a missing included file is not the cache's error: the build reports it */
    CU_ASSERT_EQUAL(guest_cache_key(HV_ARCH_X86_64, path("none.c"), k3), HV_ENOENT);
    free(a);
    free(b);
    free(c);
    /* off: built every time, nothing stored */
    setenv("HVSIM_CACHE_DIR", "off", 1);
    CU_ASSERT_EQUAL(guest_cache_build(HV_ARCH_X86_64, path("g.c"), &a, &la, &hit, log,
                                      sizeof log), 0);
    CU_ASSERT_FALSE(hit);
    free(a);
    CU_ASSERT_EQUAL(entries(path("cache")), 2);
    unsetenv("HVSIM_CACHE_DIR");
    unlink(path("g.c"));
    unlink(path("inc.h"));
}

void test_guestcache_register(void)
{
    CU_pSuite s = CU_add_suite("guestcache", suite_init, suite_clean);
    CU_add_test(s, "cache folder rules", test_dir_rules);
    CU_add_test(s, "hit, and a new key when an included file changes", test_hit_and_invalidation);
}
