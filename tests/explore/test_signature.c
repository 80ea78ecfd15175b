/*
 * test_signature.c - explore_signature() (explore/explore.h): the name explore and shrink give
 * a failed run, which must stay the same for one bug across schedules: the guest assertion's
 * FILE:LINE, else the first failed line without its values or a seeded trigger's point.
 */
#include <CUnit/CUnit.h>
#include <string.h>

#include "explore/explore.h"
#include "tests/test_util.h"

void test_signature_register(void);

static const struct {
    const char *assert_at;     /* NULL: the guest did not assert */
    const char *first_failed;  /* the first failed line as the runner prints it, or NULL */
    const char *want;
} rows[] = {
    { "lost_update.c:31", "expect outcome: expected done, got assert", "guest assertion lost_update.c:31" },
    { NULL, "expect events.mig_escaped: expected 0, got 2", "expect events.mig_escaped" },
    { NULL, "step 2 (kvm_write_guest at sync 2): errno expected 0, got EFAULT",
      "step 2 (kvm_write_guest)" },
    { NULL, "step 0 (migrate at seq 1234): ok expected true", "step 0 (migrate)" },
    { NULL, "step 3 (set_memory_region): errno expected 0", "step 3 (set_memory_region)" },
    { "", "expect vcpus: expected done, got failed", "expect vcpus" },
    { NULL, "", "expectations failed" },
    { NULL, NULL, "expectations failed" },
};

static void test_rows(void)
{
    for (size_t i = 0; i < TEST_N(rows); i++) {
        char got[256];
        explore_signature(rows[i].assert_at, rows[i].first_failed, got, sizeof got);
        TEST_CHECK(strcmp(got, rows[i].want) == 0, "row %zu: '%s', want '%s'", i, got,
                   rows[i].want);
    }
}

void test_signature_register(void)
{
    CU_pSuite s = CU_add_suite("signature", NULL, NULL);
    CU_add_test(s, "failure signatures", test_rows);
}
