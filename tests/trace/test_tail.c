/*
 * test_tail.c - the tail file (trace/tail.c): records read back as written, across the
 * mapping's growth; a reset leaves nothing to read; a half-written record (its length not yet
 * stored, or cut by a short copy) ends what a reader sees; the lock tells a live writer from a
 * dead one; close removes the file only when asked.
 */
#include <CUnit/CUnit.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/test_util.h"
#include "sim/hv_err.h"
#include "trace/tail.h"

void test_tail_register(void);

static char tl_dir[64];

static const char *tl_db(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", tl_dir, name);
    return buf;
}

/* Reads the tail of db back: the records' types and lengths into the arrays, their count. */
static size_t tl_read(const char *db, char *types, size_t *lens, size_t max, bool *live)
{
    unsigned char *data = NULL;
    size_t len = 0, n = 0, off = TAIL_HEADER;
    CU_ASSERT_EQUAL(tail_load(db, &data, &len, live), 0);
    struct tail_rec rec;
    while (data && n < max && tail_next(data, len, &off, &rec)) {
        types[n] = rec.type;
        lens[n] = rec.n;
        /* the payload is a byte pattern of its length */
        for (size_t i = 0; i < rec.n; i++)
            if (rec.p[i] != (unsigned char)(rec.n + i)) {
                TEST_CHECK(false, "record %zu: byte %zu differs", n, i);
                break;
            }
        n++;
    }
    free(data);
    return n;
}

static void tl_put(struct tail *t, char type, size_t n)
{
    unsigned char *p = malloc(n + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(n + i);
    /* in two parts, as the writer puts an id and a text */
    CU_ASSERT_EQUAL(tail_put(t, type, p, n / 2, p + n / 2, n - n / 2), 0);
    CU_ASSERT(tail_check(t));
    free(p);
}

static void test_records(void)
{
    static const struct {
        char type;
        size_t len;
    } rows[] = { { 'C', 28 }, { 'S', 8 }, { 'E', 1 }, { 'E', 0 }, { 'E', 3 }, { 'S', 4099 },
                 { 'E', 3 << 20 }, { 'E', 17 } };    /* one past the first mapping's size */
    char db[128], types[16];
    size_t lens[16];
    bool live = false;
    tl_db(db, sizeof db, "records.db");
    struct tail t;
    CU_ASSERT_EQUAL_FATAL(tail_open(&t, db), 0);
    CU_ASSERT_EQUAL(tl_read(db, types, lens, 16, &live), 0);
    CU_ASSERT(live);
    for (size_t i = 0; i < TEST_N(rows); i++)
        tl_put(&t, rows[i].type, rows[i].len);
    size_t n = tl_read(db, types, lens, 16, &live);
    TEST_CHECK(n == TEST_N(rows), "%zu records read, %zu written", n, TEST_N(rows));
    for (size_t i = 0; i < n && i < TEST_N(rows); i++)
        TEST_CHECK(types[i] == rows[i].type && lens[i] == rows[i].len,
                   "record %zu: %c of %zu bytes, expected %c of %zu", i, types[i], lens[i],
                   rows[i].type, rows[i].len);
    /* After a reset nothing is left to read, and what comes next reads alone. */
    tail_reset(&t);
    CU_ASSERT(tail_check(&t));
    CU_ASSERT_EQUAL(tl_read(db, types, lens, 16, &live), 0);
    tl_put(&t, 'E', 5);
    CU_ASSERT_EQUAL(tl_read(db, types, lens, 16, &live), 1);
    tail_close(&t, false);
    /* the writer is gone: the file stays, and its lock with it */
    n = tl_read(db, types, lens, 16, &live);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT(!live);
    CU_ASSERT_EQUAL_FATAL(tail_open(&t, db), 0);
    tail_close(&t, true);
    struct stat st;
    char path[160];
    snprintf(path, sizeof path, "%s" TAIL_SUFFIX, db);
    CU_ASSERT_NOT_EQUAL(stat(path, &st), 0);
    /* no tail at all reads as none */
    CU_ASSERT_EQUAL(tl_read(db, types, lens, 16, &live), 0);
}

/* A record whose length is not stored, or whose bytes were cut, ends the records. */
static void test_half_records(void)
{
    char db[128], copy[128], types[8], path[160];
    size_t lens[8];
    bool live;
    tl_db(db, sizeof db, "half.db");
    tl_db(copy, sizeof copy, "half-copy.db");
    struct tail t;
    CU_ASSERT_EQUAL_FATAL(tail_open(&t, db), 0);
    tl_put(&t, 'C', 28);
    tl_put(&t, 'E', 10);
    size_t good = t.used;
    tl_put(&t, 'E', 30);
    size_t end = t.used;
    /* The writer stores the length last: as if killed just before it. */
    uint32_t saved;
    memcpy(&saved, t.map + good, 4);
    memset(t.map + good, 0, 4);
    CU_ASSERT_EQUAL(tl_read(db, types, lens, 8, &live), 2);
    memcpy(t.map + good, &saved, 4);
    CU_ASSERT_EQUAL(tl_read(db, types, lens, 8, &live), 3);
    /* A length past the end of a short copy. */
    unsigned char *whole = malloc(end);
    CU_ASSERT_PTR_NOT_NULL_FATAL(whole);
    memcpy(whole, t.map, end);
    snprintf(path, sizeof path, "%s" TAIL_SUFFIX, copy);
    FILE *f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fwrite(whole, 1, end - 7, f);
    fclose(f);
    CU_ASSERT_EQUAL(tl_read(copy, types, lens, 8, &live), 2);
    /* Not a tail: a file without the header reads as none. */
    f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fwrite("not a tail file, just some text", 1, 31, f);
    fclose(f);
    CU_ASSERT_EQUAL(tl_read(copy, types, lens, 8, &live), 0);
    free(whole);
    tail_close(&t, true);
}

/* A second writer of the same trace cannot take the tail while the first holds it. */
static void test_lock(void)
{
    char db[128];
    tl_db(db, sizeof db, "lock.db");
    struct tail a, b;
    CU_ASSERT_EQUAL_FATAL(tail_open(&a, db), 0);
    fflush(NULL);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0)
        _exit(tail_open(&b, db) == HV_EIO ? 0 : 1);
    int status = 0;
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    tail_close(&a, true);
}

static int tl_suite_init(void)
{
    snprintf(tl_dir, sizeof tl_dir, "/tmp/hvsim-test-tail-XXXXXX");
    return mkdtemp(tl_dir) ? 0 : -1;
}

static int tl_rm(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    return remove(path);
}

static int tl_suite_cleanup(void)
{
    return nftw(tl_dir, tl_rm, 16, FTW_DEPTH | FTW_PHYS);
}

void test_tail_register(void)
{
    CU_pSuite s = CU_add_suite("tail", tl_suite_init, tl_suite_cleanup);
    CU_add_test(s, "records as written", test_records);
    CU_add_test(s, "half-written records", test_half_records);
    CU_add_test(s, "one writer at a time", test_lock);
}
