/* test_util.h - helpers shared by the CUnit suites. */
#ifndef HV_TEST_UTIL_H
#define HV_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#define TEST_N(a) (sizeof(a) / sizeof((a)[0]))

/* Asserts ok; the printf-style message (copied by CUnit) names the row or value at fault.
 * TEST_CHECK evaluates cond before the message's arguments (function arguments have no
 * order), so a message may print values that cond computed. */
void test_check(bool ok, const char *file, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define TEST_CHECK(cond, ...)                                                                 \
    do {                                                                                      \
        bool test_ok_ = (cond);                                                               \
        test_check(test_ok_, __FILE__, __LINE__, __VA_ARGS__);                                \
    } while (0)

/*
 * A test that cannot run here (a missing device or permission) says why and returns: the
 * runner then exits with TEST_SKIP_CODE, which ctest reports as skipped (SKIP_RETURN_CODE),
 * never as passed, unless an assertion failed. A skip is never a pass.
 */
#define TEST_SKIP_CODE 77
void test_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Whether a test skipped. */
bool test_skipped(void);

/* Whole file into a malloc'd, NUL-terminated buffer. Caller owns it; release with free(). */
char *test_read_file(const char *path, size_t *len);

#endif
