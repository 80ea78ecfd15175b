/*
 * test_ring.c - one vCPU's dirty ring (models/kvm/ring.c) against Linux v6.12:
 * kvm_vm_ioctl_enable_dirty_log_ring()'s checks in order (virt/kvm/kvm_main.c), and
 * virt/kvm/dirty_ring.c's push, soft limit and request, the VMM's harvest (api.rst 8.29: 01 ->
 * 1X in sequence) and kvm_dirty_ring_reset()'s coalescing of re-arms.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <string.h>

#include "models/kvm/caps.h"
#include "models/kvm/ring.h"
#include "tests/test_util.h"

void test_ring_register(void);

static void test_enable_rules(void)
{
    static const struct {
        uint64_t args0;
        uint32_t already;
        bool vcpus;
        int err;
        enum kvmm_ring_rule rule;
    } rows[] = {
        { 0, 0, false, -EINVAL, KVMM_RING_RULE_NOT_POW2 },
        { 3000, 0, false, -EINVAL, KVMM_RING_RULE_NOT_POW2 },
        { 1024, 0, false, -EINVAL, KVMM_RING_RULE_TOO_SMALL },   /* 64 reserved x 16 = 1024 */
        { 2048, 0, false, -EINVAL, KVMM_RING_RULE_TOO_SMALL },   /* < PAGE_SIZE */
        { 4096, 0, false, 0, KVMM_RING_RULE_OK },
        { 0x100000, 0, false, 0, KVMM_RING_RULE_OK },            /* 65536 entries */
        { 0x200000, 0, false, -E2BIG, KVMM_RING_RULE_TOO_LARGE },
        { 0x80000000, 4096, true, -E2BIG, KVMM_RING_RULE_TOO_LARGE }, /* sizes before state */
        { 4096, 4096, false, -EINVAL, KVMM_RING_RULE_ALREADY_SET },
        { 4096, 4096, true, -EINVAL, KVMM_RING_RULE_ALREADY_SET },
        { 4096, 0, true, -EINVAL, KVMM_RING_RULE_VCPUS },
        { 0x100001000ull, 0, false, 0, KVMM_RING_RULE_OK },      /* the u32 is 4096 */
        { 0x100000000ull, 0, false, -EINVAL, KVMM_RING_RULE_NOT_POW2 }, /* the u32 is 0 */
    };
    for (size_t i = 0; i < TEST_N(rows); i++) {
        enum kvmm_ring_rule rule;
        int err = kvmm_ring_enable(rows[i].args0, KVMM_DIRTY_RING_RSVD_ENTRIES, rows[i].already,
                                   rows[i].vcpus, &rule);
        TEST_CHECK(err == rows[i].err && rule == rows[i].rule, "row %zu: %d %s", i, err,
                   kvmm_ring_rule_name(rule));
    }
}

/* Every re-arm, in order. */
static struct {
    size_t n;
    struct { uint32_t slot; uint64_t offset, mask; } e[16];
} rearms;

static void record(void *ctx, uint32_t slot, uint64_t offset, uint64_t mask)
{
    (void)ctx;
    if (rearms.n < 16)
        rearms.e[rearms.n].slot = slot, rearms.e[rearms.n].offset = offset,
        rearms.e[rearms.n].mask = mask;
    rearms.n++;
}

static void test_fill_harvest_reset(void)
{
    struct kvmm_ring r;
    struct kvmm_dirty_gfn out[256];
    CU_ASSERT_EQUAL_FATAL(kvmm_ring_init(&r, 4096, KVMM_DIRTY_RING_RSVD_ENTRIES), 0);
    CU_ASSERT_EQUAL(r.size, 256);
    CU_ASSERT_EQUAL(r.soft_limit, 192);               /* size - 64 reserved */
    for (uint64_t i = 0; i < 191; i++)
        kvmm_ring_push(&r, 1, i);
    CU_ASSERT(!kvmm_ring_soft_full(&r) && !r.request);
    CU_ASSERT(!kvmm_ring_check_request(&r));
    kvmm_ring_push(&r, 1, 191);                       /* the 192nd: soft-full, request */
    CU_ASSERT(kvmm_ring_soft_full(&r) && r.request);
    CU_ASSERT(kvmm_ring_check_request(&r));           /* KVM_EXIT_DIRTY_RING_FULL ... */
    CU_ASSERT(kvmm_ring_check_request(&r));           /* ... and again until reset */
    CU_ASSERT_EQUAL(kvmm_ring_harvest(&r, out, 256), 192);
    CU_ASSERT(out[0].slot == 1 && out[0].offset == 0 && out[191].offset == 191);
    CU_ASSERT_EQUAL(out[5].flags, KVMM_DIRTY_GFN_F_DIRTY);   /* as the VMM read it */
    CU_ASSERT_EQUAL(r.gfns[5].flags, KVMM_DIRTY_GFN_F_RESET);
    CU_ASSERT_EQUAL(kvmm_ring_harvest(&r, out, 256), 0);     /* nothing new */
    rearms.n = 0;
    CU_ASSERT_EQUAL(kvmm_ring_reset(&r, record, NULL), 192);
    /* offsets 0..191 of one slot: three runs of 64 */
    CU_ASSERT_EQUAL_FATAL(rearms.n, 3);
    for (size_t i = 0; i < 3; i++)
        TEST_CHECK(rearms.e[i].slot == 1 && rearms.e[i].offset == 64 * i &&
                   rearms.e[i].mask == ~0ull, "re-arm %zu", i);
    CU_ASSERT_EQUAL(r.gfns[5].flags, 0);
    CU_ASSERT_EQUAL(kvmm_ring_used(&r), 0);
    CU_ASSERT(!kvmm_ring_check_request(&r) && !r.request);  /* dropped at the next entry */
    CU_ASSERT_EQUAL(kvmm_ring_reset(&r, record, NULL), 0);
    kvmm_ring_fini(&r);
}

static void test_coalescing(void)
{
    static const struct {
        uint32_t slot;
        uint64_t offset;
    } pushes[] = { { 1, 10 }, { 1, 9 }, { 1, 8 }, { 2, 8 }, { 1, 9 }, { 1, 200 }, { 1, 137 },
                   { 0x10001, 5 } };
    static const struct { uint32_t slot; uint64_t offset, mask; } want[] = {
        { 1, 8, 0x7 },               /* backwards: 10, 9, 8 */
        { 2, 8, 0x1 },               /* another slot */
        { 1, 9, 0x1 },               /* 200 is 191 ahead: a new run */
        { 1, 137, 0x8000000000000001ull }, /* 137 is 63 back from 200: still one run */
        { 0x10001, 5, 0x1 },         /* address space 1, id 1 */
    };
    struct kvmm_ring r;
    struct kvmm_dirty_gfn out[8];
    CU_ASSERT_EQUAL_FATAL(kvmm_ring_init(&r, 4096, KVMM_DIRTY_RING_RSVD_ENTRIES), 0);
    for (size_t i = 0; i < TEST_N(pushes); i++)
        kvmm_ring_push(&r, pushes[i].slot, pushes[i].offset);
    CU_ASSERT_EQUAL(kvmm_ring_harvest(&r, out, 3), TEST_N(pushes));   /* all harvested */
    rearms.n = 0;
    CU_ASSERT_EQUAL(kvmm_ring_reset(&r, record, NULL), TEST_N(pushes));
    TEST_CHECK(rearms.n == TEST_N(want), "%zu re-arms", rearms.n);
    for (size_t i = 0; i < TEST_N(want) && i < rearms.n; i++)
        TEST_CHECK(rearms.e[i].slot == want[i].slot && rearms.e[i].offset == want[i].offset &&
                   rearms.e[i].mask == want[i].mask, "re-arm %zu: %u %llu %#llx", i,
                   rearms.e[i].slot, (unsigned long long)rearms.e[i].offset,
                   (unsigned long long)rearms.e[i].mask);
    kvmm_ring_fini(&r);
}

static void test_partial_and_wrap(void)
{
    struct kvmm_ring r;
    struct kvmm_dirty_gfn out[256];
    CU_ASSERT_EQUAL_FATAL(kvmm_ring_init(&r, 4096, KVMM_DIRTY_RING_RSVD_ENTRIES), 0);
    /* entries pushed after a harvest wait for the next one; a reset stops at them */
    kvmm_ring_push(&r, 1, 0);
    CU_ASSERT_EQUAL(kvmm_ring_harvest(&r, out, 256), 1);
    kvmm_ring_push(&r, 1, 1);
    rearms.n = 0;
    CU_ASSERT_EQUAL(kvmm_ring_reset(&r, record, NULL), 1);
    CU_ASSERT_EQUAL(kvmm_ring_used(&r), 1);
    CU_ASSERT_EQUAL(r.gfns[1].flags, KVMM_DIRTY_GFN_F_DIRTY);
    /* round the ring several times */
    for (unsigned round = 0; round < 5; round++) {
        for (uint64_t i = 0; i < 100; i++)
            kvmm_ring_push(&r, 3, i);
        size_t n = kvmm_ring_harvest(&r, out, 256);
        TEST_CHECK(n == 101 || n == 100, "round %u: %zu", round, n);
        CU_ASSERT_EQUAL(kvmm_ring_reset(&r, record, NULL), n);
        CU_ASSERT(kvmm_ring_check(&r));
    }
    CU_ASSERT_EQUAL(r.overflows, 0);
    /* a push onto a full ring: the kernel warns and overwrites */
    for (uint64_t i = 0; i < 257; i++)
        kvmm_ring_push(&r, 3, i);
    CU_ASSERT_EQUAL(r.overflows, 1);
    kvmm_ring_fini(&r);
}

void test_ring_register(void)
{
    CU_pSuite s = CU_add_suite("ring", NULL, NULL);
    CU_add_test(s, "KVM_ENABLE_CAP(DIRTY_LOG_RING) rules", test_enable_rules);
    CU_add_test(s, "fill to the soft limit, harvest, reset", test_fill_harvest_reset);
    CU_add_test(s, "reset coalescing", test_coalescing);
    CU_add_test(s, "partial harvests, wrap-around, overflow", test_partial_and_wrap);
}
