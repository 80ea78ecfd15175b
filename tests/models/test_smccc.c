/*
 * test_smccc.c - models/kvm/arm.c: the SMCCC filter against kvm_smccc_set_filter (docs/sources.md
 * B.3, with the cases of the smccc_filter selftest), the set of function IDs KVM handles
 * in-kernel under a filter, and the esr_iss of a KVM_EXIT_ARM_NISV (A.6).
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "models/kvm/kvm_int.h"
#include "tests/test_util.h"

void test_smccc_register(void);

enum { H = 0, D = 1, F = 2 };

/* One KVM_SET_DEVICE_ATTR call; rows run in order on one VM unless `fresh`. */
struct filter_row {
    const char *what;
    bool fresh;            /* start from a new VM (no ranges) */
    uint32_t base, nr;
    uint64_t action;
    bool pad_zero, ran;
    int err;
};

static const struct filter_row filter_rows[] = {
    { "pad {-1} -> EINVAL (B.3 selftest)", true, 0x84000000, 1, D, false, false, -EINVAL },
    { "nr_functions 0 -> EINVAL", true, 0x84000000, 0, D, true, false, -EINVAL },
    { "base ~0, nr ~0 wraps -> EINVAL", true, 0xffffffff, 0xffffffff, D, true, false, -EINVAL },
    { "base ~0, nr 2 wraps -> EINVAL", true, 0xffffffff, 2, D, true, false, -EINVAL },
    { "action 255 -> EINVAL", true, 0x84000000, 1, 255, true, false, -EINVAL },
    { "action 3 -> EINVAL", true, 0x84000000, 1, 3, true, false, -EINVAL },
    { "pad is checked before the range", true, 0x84000000, 0, 255, false, false, -EINVAL },
    { "range checked before EBUSY", true, 0x84000000, 0, D, true, true, -EINVAL },
    { "after the first KVM_RUN -> EBUSY", true, 0x84000000, 1, D, true, true, -EBUSY },
    { "ARCH_WORKAROUND_1 is reserved -> EEXIST", true, 0x80008000, 1, D, true, false, -EEXIST },
    { "0xc0000000 is reserved -> EEXIST", true, 0xc0000000, 1, F, true, false, -EEXIST },
    { "0x8000ffff is reserved -> EEXIST", true, 0x8000ffff, 1, D, true, false, -EEXIST },
    { "base 0, nr 0: [0, ~0] overlaps the reserved ranges", true, 0, 0, D, true, false,
      -EEXIST },
    { "just below the arch range", true, 0x7fffffff, 1, D, true, false, 0 },
    { "deny PSCI_VERSION", true, 0x84000000, 1, D, true, false, 0 },
    { "the same range twice -> EEXIST", false, 0x84000000, 1, D, true, false, -EEXIST },
    { "overlapping the front -> EEXIST", false, 0x83ffffff, 2, F, true, false, -EEXIST },
    { "adjacent range", false, 0x84000001, 0x1f, F, true, false, 0 },
    { "HANDLE ranges may be inserted too", false, 0x86000000, 16, H, true, false, 0 },
    { "just above the SMC64 arch range", false, 0xc0010000, 1, D, true, false, 0 },
    { "last ID alone", false, 0xffffffff, 1, D, true, false, 0 },
};

static void test_filter_rules(void)
{
    struct kvmm_filter_range f[KVMM_MAX_FILTER_RANGES];
    size_t n = 0;
    for (size_t i = 0; i < TEST_N(filter_rows); i++) {
        const struct filter_row *r = &filter_rows[i];
        if (r->fresh)
            n = 0;
        size_t before = n;
        const char *rule = NULL;
        int e = kvmm_smccc_filter_add(f, &n, r->base, r->nr, r->action, r->pad_zero, r->ran,
                                      &rule);
        TEST_CHECK(e == r->err, "row %zu (%s): got %d, want %d", i, r->what, e, r->err);
        TEST_CHECK(rule != NULL, "row %zu: no rule", i);
        if (e == 0) {
            TEST_CHECK(n >= 3 && f[n - 1].base == r->base && f[n - 1].nr == r->nr,
                       "row %zu: range not inserted", i);
        } else if (before > 0) {
            TEST_CHECK(n == before, "row %zu: a refused call changed the filter", i);
        }
    }
}

/* The in-kernel set under a filter. */
struct handled_row {
    const char *what;
    struct kvmm_filter_range filter[4];
    size_t nfilter;          /* user ranges; the reserved ones are added first */
    struct kvmm_fn_range want[6];
    size_t nwant;
};

static const struct handled_row handled_rows[] = {
    { "no filter: the default-allowed set", { { 0 } }, 0,
      { { 0x80000000, 0x80000001 }, { 0x84000000, 0x8400001f }, { 0x95c1ba5e, 0x95c1ba61 },
        { 0xc4000000, 0xc400001f } }, 4 },
    { "deny PSCI_VERSION", { { 0x84000000, 1, D } }, 1,
      { { 0x80000000, 0x80000001 }, { 0x84000001, 0x8400001f }, { 0x95c1ba5e, 0x95c1ba61 },
        { 0xc4000000, 0xc400001f } }, 4 },
    { "forward CPU_ON (both widths), handle the rest", { { 0x84000003, 1, F },
                                                        { 0xc4000003, 1, F } }, 2,
      { { 0x80000000, 0x80000001 }, { 0x84000000, 0x84000002 }, { 0x84000004, 0x8400001f },
        { 0x95c1ba5e, 0x95c1ba61 }, { 0xc4000000, 0xc4000002 }, { 0xc4000004, 0xc400001f } },
      6 },
    { "an explicit HANDLE range changes nothing", { { 0x84000000, 0x20, H } }, 1,
      { { 0x80000000, 0x80000001 }, { 0x84000000, 0x8400001f }, { 0x95c1ba5e, 0x95c1ba61 },
        { 0xc4000000, 0xc400001f } }, 4 },
    { "deny all standard-secure and PSCI 0.1", { { 0x84000000, 0x01000000, D },
                                                 { 0x95c1ba5e, 4, D },
                                                 { 0xc4000000, 0x01000000, D } }, 3,
      { { 0x80000000, 0x80000001 } }, 1 },
};

static void test_handled(void)
{
    for (size_t i = 0; i < TEST_N(handled_rows); i++) {
        const struct handled_row *r = &handled_rows[i];
        struct kvmm_filter_range f[KVMM_MAX_FILTER_RANGES];
        size_t n = 0;
        for (size_t j = 0; j < r->nfilter; j++) {
            const char *rule;
            int e = kvmm_smccc_filter_add(f, &n, r->filter[j].base, r->filter[j].nr,
                                          r->filter[j].action, true, false, &rule);
            TEST_CHECK(e == 0, "row %zu (%s): filter %zu refused: %s", i, r->what, j, rule);
        }
        struct kvmm_fn_range out[8];
        memset(out, 0, sizeof out);
        size_t got = kvmm_smccc_handled_ranges(f, n, out, 8);
        TEST_CHECK(got == r->nwant, "row %zu (%s): %zu ranges, want %zu", i, r->what, got,
                   r->nwant);
        for (size_t j = 0; j < got && j < r->nwant; j++)
            TEST_CHECK(out[j].first == r->want[j].first && out[j].last == r->want[j].last,
                       "row %zu (%s): range %zu is %#x-%#x, want %#x-%#x", i, r->what, j,
                       out[j].first, out[j].last, r->want[j].first, r->want[j].last);
        /* a short buffer: the count is the same, only max entries written */
        struct kvmm_fn_range one[1] = { { 0, 0 } };
        TEST_CHECK(kvmm_smccc_handled_ranges(f, n, one, 1) == r->nwant &&
                       one[0].first == r->want[0].first && one[0].last == r->want[0].last,
                   "row %zu: short buffer", i);
    }
}

/*
 * arm_nisv.esr_iss = ESR_EL2 & (CM | WnR | FSC) (kvm_vcpu_dabt_iss_nisv_sanitized()): WnR is
 * bit 6; the FSC of a stage-2 translation fault is 0b0001LL with LL the level of the first
 * table entry that maps nothing. KVM's stage 2 starts at level 4 - ((ipa_bits - 8) / 9), at
 * least 2 levels (kvm_get_vtcr()); an entry maps something when a slot has a page below it.
 * A store to a read-only slot is a permission fault at level 3 (0b001111).
 */
static const struct {
    const char *what;
    unsigned ipa_bits;
    uint64_t ipa;
    bool wnr, permission;
    uint64_t iss;
} nisv_rows[] = {
    { "a gigabyte with no slot: level 1", 40, 0xc0000000, false, false, 0x05 },
    { "the same, a store: WnR", 40, 0xc0000010, true, false, 0x45 },
    { "past the RAM slot, a 2 MiB block with no slot: level 2", 40, 0x41000000, false, false,
      0x06 },
    { "beside the one-page slot, in its 2 MiB block: level 3", 40, 0x80001000, false, false,
      0x07 },
    { "below the one-page slot, in its 2 MiB block: level 3", 40, 0x801ff000, true, false,
      0x47 },
    { "a store to a read-only slot: permission, level 3", 40, 0x80000000, true, true, 0x4f },
    { "44-bit IPA: 512 GiB with no slot: level 0", 44, 0x8000000000, false, false, 0x04 },
    { "44-bit IPA: a gigabyte with no slot under a level-0 entry: level 1", 44, 0xc0000000,
      false, false, 0x05 },
    { "32-bit IPA: two levels, a 2 MiB block with no slot: level 2", 32, 0xc0000000, false,
      false, 0x06 },
};

static void test_nisv_iss(void)
{
    for (size_t i = 0; i < TEST_N(nisv_rows); i++) {
        struct kvmm_slots_params p;
        kvmm_slots_params_default(&p, KVMM_ARCH_ARM64);
        p.arm64_ipa_bits = nisv_rows[i].ipa_bits;
        struct kvmm_slots *sl = NULL;
        CU_ASSERT_EQUAL_FATAL(kvmm_slots_create(&sl, &p), 0);
        const struct kvmm_region r[2] = {
            { .slot = 0, .guest_phys_addr = 0x40000000, .memory_size = 0x1000000,
              .userspace_addr = 0x7f0000000000 },
            { .slot = 1, .guest_phys_addr = 0x80000000, .memory_size = 0x1000,
              .userspace_addr = 0x7f0001001000, .flags = KVMM_MEM_READONLY },
        };
        for (size_t k = 0; k < 2; k++) {
            struct kvmm_set_result res;
            CU_ASSERT_EQUAL(kvmm_memslot_set(sl, &r[k], true, &res), 0);
            CU_ASSERT_EQUAL(res.err, 0);
        }
        uint64_t iss = kvmm_arm_nisv_iss(sl, nisv_rows[i].ipa, nisv_rows[i].wnr,
                                         nisv_rows[i].permission);
        TEST_CHECK(iss == nisv_rows[i].iss, "%s: esr_iss 0x%llx, expected 0x%llx",
                   nisv_rows[i].what, (unsigned long long)iss,
                   (unsigned long long)nisv_rows[i].iss);
        kvmm_slots_destroy(sl);
    }
}

void test_smccc_register(void)
{
    CU_pSuite s = CU_add_suite("smccc", NULL, NULL);
    CU_add_test(s, "B.3 filter rules", test_filter_rules);
    CU_add_test(s, "B.3 in-kernel set under a filter", test_handled);
    CU_add_test(s, "A.6 KVM_EXIT_ARM_NISV esr_iss", test_nisv_iss);
}
