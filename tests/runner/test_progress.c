/* test_progress.c - the progress line (runner/progress.h): when it is written and how. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner/progress.h"
#include "tests/test_util.h"

void test_progress_register(void);

static uint64_t fake_now;

static uint64_t fake_clock(void)
{
    return fake_now;
}

struct update {
    uint64_t at;               /* fake clock, ms after progress_init */
    const char *text;          /* NULL: no more updates */
};

/*
 * Each row: a terminal or not, HVSIM_NO_PROGRESS, the width, the delay, updates at fake
 * times, then progress_end(); want is every byte written. The rules: nothing but to a
 * terminal, nothing when HVSIM_NO_PROGRESS is 1, nothing before the delay, at most one
 * redraw per PROGRESS_INTERVAL_MS (100), "\r" + the text cut to width - 1 + erase to the
 * end of the line (ESC [ K), and the end erases a shown line.
 */
static const struct {
    const char *name;
    bool tty;
    const char *env;
    unsigned width;
    uint64_t delay;
    struct update up[4];
    const char *want;
} rows[] = {
    { "not a terminal", false, NULL, 80, 0, { { 0, "a" }, { 500, "b" } }, "" },
    { "HVSIM_NO_PROGRESS=1", true, "1", 80, 0, { { 0, "a" } }, "" },
    { "HVSIM_NO_PROGRESS=0 leaves it on", true, "0", 80, 0, { { 0, "a" } },
      "\ra\033[K\r\033[K" },
    { "nothing before the delay", true, NULL, 80, 3000, { { 0, "a" }, { 2999, "b" } }, "" },
    { "shown once the delay passed, erased at the end", true, NULL, 80, 3000,
      { { 2999, "a" }, { 3000, "b" } }, "\rb\033[K\r\033[K" },
    { "at most one redraw per 100 ms", true, NULL, 80, 0,
      { { 0, "a" }, { 99, "b" }, { 100, "c" }, { 150, "d" } }, "\ra\033[K\rc\033[K\r\033[K" },
    { "cut to the width less one column", true, NULL, 6, 0, { { 0, "abcdefgh" } },
      "\rabcde\033[K\r\033[K" },
    { "a line exactly that wide", true, NULL, 6, 0, { { 0, "abcde" } },
      "\rabcde\033[K\r\033[K" },
};

static void test_rows(void)
{
    for (size_t i = 0; i < TEST_N(rows); i++) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        if (rows[i].env)
            setenv("HVSIM_NO_PROGRESS", rows[i].env, 1);
        else
            unsetenv("HVSIM_NO_PROGRESS");
        fake_now = 1000000;
        struct progress p;
        progress_init(&p, f, rows[i].tty, rows[i].width, rows[i].delay, fake_clock);
        for (size_t j = 0; j < TEST_N(rows[i].up) && rows[i].up[j].text; j++) {
            fake_now = 1000000 + rows[i].up[j].at;
            progress_update(&p, "%s", rows[i].up[j].text);
        }
        progress_end(&p);
        fclose(f);
        TEST_CHECK(len == strlen(rows[i].want) && memcmp(buf, rows[i].want, len) == 0,
                   "%s: wrote %zu bytes '%s', want '%s'", rows[i].name, len, buf,
                   rows[i].want);
        free(buf);
    }
    unsetenv("HVSIM_NO_PROGRESS");
}

void test_progress_register(void)
{
    CU_pSuite s = CU_add_suite("progress", NULL, NULL);
    CU_add_test(s, "when and how the line is written", test_rows);
}
