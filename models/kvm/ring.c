/*
 * ring.c - one vCPU's dirty ring and the VMM's view of it (ring.h), exact to Linux v6.12
 * virt/kvm/dirty_ring.c and kvm_vm_ioctl_enable_dirty_log_ring() in virt/kvm/kvm_main.c.
 *
 * Entry states (the flags of struct kvm_dirty_gfn, api.rst 8.29), with who moves them:
 *
 *        kvmm_ring_push()          kvmm_ring_harvest()         kvmm_ring_reset()
 *     00 -----------------> 01 ----------------------> 1X ---------------------> 00
 *         (kernel: a page            (the VMM: read it,          (kernel, on
 *          was dirtied)               mark it harvested)          KVM_RESET_DIRTY_RINGS)
 *
 * Invariants (kvmm_ring_check()):
 *  1. size is a power of two, soft_limit < size, and gfns has size entries.
 *  2. reset_index <= fetch_index <= dirty_index in free-running u32 arithmetic (the VMM
 *     never harvests past what was pushed, a reset never passes what was harvested), as long
 *     as no push overflowed a full ring.
 *  3. Without overflows, the entries in [reset_index, fetch_index) are RESET (1X), those in
 *     [fetch_index, dirty_index) are DIRTY (01), the others unused (00).
 */
#include "models/kvm/ring.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "models/kvm/caps.h"
#include "sim/hv_err.h"

/* Rings up to this many entries are checked whole after every change. */
#define KVMM_RING_CHECK_FULL_MAX 1024u

const char *kvmm_ring_rule_name(enum kvmm_ring_rule r)
{
    switch (r) {
#define X(name, eno, text) case KVMM_RING_RULE_##name: return #name;
    KVMM_RING_RULE_MAP(X)
#undef X
    }
    return "?";
}

int kvmm_ring_enable(uint64_t args0, uint32_t rsvd, uint32_t already, bool vcpus_created,
                     enum kvmm_ring_rule *rule)
{
    uint32_t size = (uint32_t)args0;   /* the function takes a u32 */
    /* KVM_DIRTY_LOG_PAGE_OFFSET is 64 on x86 and arm64, so the first check passes */
    *rule = KVMM_RING_RULE_NOT_POW2;
    if (!size || (size & (size - 1)))
        return -EINVAL;
    *rule = KVMM_RING_RULE_TOO_SMALL;
    if (size < rsvd * KVMM_DIRTY_GFN_SIZE || size < 4096)
        return -EINVAL;
    *rule = KVMM_RING_RULE_TOO_LARGE;
    if (size > KVMM_DIRTY_RING_MAX_ENTRIES * KVMM_DIRTY_GFN_SIZE)
        return -E2BIG;
    *rule = KVMM_RING_RULE_ALREADY_SET;
    if (already)
        return -EINVAL;
    *rule = KVMM_RING_RULE_VCPUS;
    if (vcpus_created)
        return -EINVAL;
    *rule = KVMM_RING_RULE_OK;
    return 0;
}

int kvmm_ring_init(struct kvmm_ring *r, uint32_t bytes, uint32_t rsvd)
{
    *r = (struct kvmm_ring){ 0 };
    r->size = bytes / KVMM_DIRTY_GFN_SIZE;
    assert(r->size > rsvd && !(r->size & (r->size - 1)));
    r->soft_limit = r->size - rsvd;
    r->gfns = calloc(r->size, sizeof r->gfns[0]);
    if (!r->gfns)
        return hv_error_set(HV_ENOMEM, "kvm: a dirty ring of %u entries", r->size);
    assert(kvmm_ring_check(r));
    return 0;
}

void kvmm_ring_fini(struct kvmm_ring *r)
{
    free(r->gfns);
    *r = (struct kvmm_ring){ 0 };
}

bool kvmm_ring_check(const struct kvmm_ring *r)
{
    assert(r->gfns && r->size && !(r->size & (r->size - 1)) && r->soft_limit < r->size); /* 1 */
    if (r->overflows)
        return true;
    uint32_t harvested = r->fetch_index - r->reset_index, dirty = r->dirty_index - r->fetch_index;
    assert(harvested <= r->size && dirty <= r->size - harvested);                      /* 2 */
    /* 3: every entry of a small ring; of a large one, those at and around the indices, so
     * that a long run stays linear */
    uint32_t mask = r->size - 1;
    for (uint32_t k = 0; k < (r->size <= KVMM_RING_CHECK_FULL_MAX ? r->size : 12); k++) {
        uint32_t i = r->size <= KVMM_RING_CHECK_FULL_MAX ? k
                     : ((k < 4 ? r->reset_index : k < 8 ? r->fetch_index : r->dirty_index) +
                        (k % 4) - 2) & mask;
        uint32_t since_reset = (i - r->reset_index) & mask;
        uint32_t want = since_reset < harvested ? KVMM_DIRTY_GFN_F_RESET
                        : since_reset < harvested + dirty ? KVMM_DIRTY_GFN_F_DIRTY : 0;
        assert(r->gfns[i].flags == want);
        (void)want; /* only read by assert */
    }
    return true;
}

uint32_t kvmm_ring_used(const struct kvmm_ring *r)
{
    return r->dirty_index - r->reset_index;
}

bool kvmm_ring_soft_full(const struct kvmm_ring *r)
{
    return kvmm_ring_used(r) >= r->soft_limit;
}

void kvmm_ring_push(struct kvmm_ring *r, uint32_t slot, uint64_t offset)
{
    if (kvmm_ring_used(r) >= r->size)    /* WARN_ON_ONCE(kvm_dirty_ring_full(ring)) */
        r->overflows++;
    struct kvmm_dirty_gfn *e = &r->gfns[r->dirty_index & (r->size - 1)];
    e->slot = slot;
    e->offset = offset;
    e->flags = KVMM_DIRTY_GFN_F_DIRTY;
    r->dirty_index++;
    if (kvmm_ring_soft_full(r))
        r->request = true;
    assert(kvmm_ring_check(r));
}

bool kvmm_ring_check_request(struct kvmm_ring *r)
{
    if (!r->request)
        return false;
    r->request = kvmm_ring_soft_full(r);
    return r->request;
}

size_t kvmm_ring_harvest(struct kvmm_ring *r, struct kvmm_dirty_gfn *out, size_t max)
{
    size_t n = 0;
    for (;;) {
        struct kvmm_dirty_gfn *e = &r->gfns[r->fetch_index & (r->size - 1)];
        if (e->flags != KVMM_DIRTY_GFN_F_DIRTY)   /* dirty_gfn_is_dirtied() */
            break;
        if (n < max)
            out[n] = *e;
        e->flags = KVMM_DIRTY_GFN_F_RESET;        /* dirty_gfn_set_collected() */
        r->fetch_index++;
        n++;
    }
    assert(kvmm_ring_check(r));
    return n;
}

uint32_t kvmm_ring_reset(struct kvmm_ring *r, kvmm_ring_rearm_fn *rearm, void *ctx)
{
    uint32_t count = 0, cur_slot = 0;
    uint64_t cur_offset = 0, mask = 0;
    bool first_round = true;
    for (;;) {
        struct kvmm_dirty_gfn *e = &r->gfns[r->reset_index & (r->size - 1)];
        if (!(e->flags & KVMM_DIRTY_GFN_F_RESET))   /* kvm_dirty_gfn_harvested() */
            break;
        uint32_t next_slot = e->slot;
        uint64_t next_offset = e->offset;
        e->flags = 0;                                 /* kvm_dirty_gfn_set_invalid() */
        r->reset_index++;
        count++;
        /* coalesce a scan of one slot, forwards or backwards, within 64 pages */
        if (!first_round && next_slot == cur_slot) {
            int64_t delta = (int64_t)(next_offset - cur_offset);
            if (delta >= 0 && delta < 64) {
                mask |= 1ull << delta;
                continue;
            }
            if (delta > -64 && delta < 0 && (mask << -delta >> -delta) == mask) {
                cur_offset = next_offset;
                mask = (mask << -delta) | 1;
                continue;
            }
        }
        if (mask)   /* the kernel's first call has mask 0: it re-arms nothing */
            rearm(ctx, cur_slot, cur_offset, mask);
        cur_slot = next_slot;
        cur_offset = next_offset;
        mask = 1;
        first_round = false;
    }
    if (mask)
        rearm(ctx, cur_slot, cur_offset, mask);
    /* the request is dropped at the next entry if the ring is no longer soft-full */
    assert(kvmm_ring_check(r));
    return count;
}
