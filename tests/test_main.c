/*
 * test_main.c - runs the CUnit suites listed in suites.def: all of them, or the one named on
 * the command line. The exit status is non-zero when any assertion failed (CUnit's own return
 * values stay 0 in that case), and TEST_SKIP_CODE when none failed but a test could not run
 * here (test_skip()).
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

#include "tests/test_util.h"

#define SUITE(name, fn) void fn(void);
#include "tests/suites.def"
#undef SUITE

static const struct {
    const char *name;
    void (*reg)(void);
} suites[] = {
#define SUITE(name, fn) { #name, fn },
#include "tests/suites.def"
#undef SUITE
};

int main(int argc, char **argv)
{
    const char *only = argc > 1 ? argv[1] : NULL;
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    int found = 0;
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++) {
        if (!only || strcmp(only, suites[i].name) == 0) {
            suites[i].reg();
            found++;
        }
    }
    if (!found) {
        fprintf(stderr, "no suite named '%s'\n", only);
        CU_cleanup_registry();
        return 2;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failures = CU_get_number_of_failures();
    unsigned ran = CU_get_number_of_tests_run();
    CU_cleanup_registry();
    if (ran == 0) {
        fprintf(stderr, "no test ran\n");
        return 2;
    }
    if (failures == 0 && test_skipped())
        return TEST_SKIP_CODE;
    return failures != 0;
}
