/*
 * memslot.c - the memslot table of one KVM VM and the dirty bitmaps of its logging slots,
 * exact to Linux v6.12 (virt/kvm/kvm_main.c) as summarised in the reference, sections A.1-A.7.
 *
 * Representation. Each address space holds its slots twice over: `sorted`, ordered by
 * base_gfn for lookups, and `by_id`, indexed by slot id. The kernel keeps an rbtree keyed by
 * base_gfn plus an id hash; a sorted array with binary search gives the same answers (slots
 * of one address space never overlap, so at most one holds a gfn), is O(log n) to search and
 * trivially deterministic, and its O(n) insert is irrelevant at <= 32767 slots. Slot objects
 * are never edited in place: an update builds a new object, as the kernel does, so a cached
 * pointer to the old one is simply stale (and caught by the generation).
 *
 * Retired slots. The kernel frees a replaced slot after synchronize_srcu; a cache that skips
 * the generation check (the xinterface per-CPU cache, the stale_slot_cache bug knob) then
 * reads freed memory. Here a slot that was ever in the table is never freed before
 * kvmm_slots_destroy(): it moves to the `retired` list with its fields as they were when it
 * left the table (its dirty bitmap pointer cleared, as the bitmap may live on in the new slot
 * or be gone). A stale pointer therefore reads exactly the base_gfn, npages and
 * userspace_addr the kernel's freed object held, which is what the modeled bug acted on, and
 * never touches freed memory. kvmm_memslot_current() tells a retired slot from a live one.
 *
 * The kernel also keeps two memslot sets per address space (active and inactive) and swaps
 * them for each update. Only the active set is ever searched and, outside an update, both
 * hold the same slots, so one array models both. What does differ is each set's VM-wide
 * last_used_slot cache: after a swap the other set's cache, from its last active period, is
 * the one consulted. `last_used[2]` and `active` model exactly that, with the kernel's
 * redirect rule (kvm_replace_memslot(): a cache that points at the replaced slot follows it).
 *
 * Invariants (checked by kvmm_slots_check()):
 *  1. sorted[0..n) of each address space is strictly increasing in base_gfn and
 *     non-overlapping: sorted[i].base_gfn + npages <= sorted[i+1].base_gfn (adjacent is fine).
 *  2. by_id[id] is the slot with that id, for exactly the n slots in sorted; every slot has
 *     the address space's as_id and id < max_user_slots.
 *  3. Every slot has 1 <= npages <= KVMM_MEM_MAX_NR_PAGES, base_gfn + npages does not wrap,
 *     and flags within LOG_DIRTY_PAGES|READONLY|GUEST_MEMFD|INVALID.
 *  4. A slot with a dirty bitmap has LOG_DIRTY_PAGES; a slot with LOG_DIRTY_PAGES has one
 *     while bitmaps are in use (no dirty ring, or a ring with bitmap backing: use_bitmap());
 *     bits past npages are 0. (A ring turned on over logging slots leaves them their bitmap;
 *     bitmap backing can only be turned on with no slot at all.)
 *  5. KVMM_MEMSLOT_INVALID is set on exactly one slot, the window's copy, while a window is
 *     open, and on none otherwise.
 *  6. generation of address space a is a + k * nr_as for some k; bit 63 is clear.
 *  7. last_used[set] is NULL or a slot of the address space's current contents; during a
 *     window the inactive set's cache may still hold the replaced slot (the inactive set
 *     still contains it).
 *  8. total_pages is the sum of npages over all slots of all address spaces.
 *  9. manual is 0, 1, or 3 (3 only when manual_caps allows INITIALLY_SET).
 * 10. A retired slot is in no table and no VM-wide cache, has no dirty bitmap nor ring
 *     state, and stays allocated until kvmm_slots_destroy() (asserted by slot_retire(), as
 *     checking the whole list after every mutation would make long runs quadratic).
 * 11. A slot has ring state (ring_dirty) if and only if the dirty ring is on, it has
 *     LOG_DIRTY_PAGES and it is not the INVALID copy; bits past npages are 0. A page's
 *     tracking is armed while its bit is clear: the next guest store to it pushes an entry.
 *     (Without the ring, a page is armed while its dirty bitmap bit is clear.)
 *
 * Memslot update states, per slot id (A.4). Functions: begin = kvmm_memslot_begin(),
 * finish = kvmm_memslot_finish(); each "swap" advances the generation by nr_as.
 *
 *              begin: CREATE (prepare, swap)
 *    absent ----------------------------------------> VALID
 *    VALID  ----------------------------------------> VALID'    begin: FLAGS_ONLY
 *                                                               (prepare, swap; new object)
 *    VALID  --begin: DELETE/MOVE (swap)--> INVALID copy at the old range
 *                                            |  vCPUs see no usable slot (MMIO path)
 *                                            +--finish: DELETE (swap)-------> absent
 *                                            +--finish: MOVE (prepare, swap)-> VALID at new base
 *                                            +--finish: MOVE refused by the arch hook
 *                                                       (swap back)--------> VALID (old object)
 *
 * Errors of A.1-A.3.12 leave every state, generation and cache untouched; an arch-hook
 * refusal of CREATE or FLAGS_ONLY does too (no swap happened yet).
 */
#include "models/kvm/memslot.h"

#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "sim/hv_err.h"

/* Above this many slots the per-mutation check looks only at the changed neighbourhood. */
#define KVMM_CHECK_FULL_MAX 256

struct kvmm_as {
    struct kvmm_memslot **sorted;          /* n slots by base_gfn; cap max_user_slots */
    size_t n;
    struct kvmm_memslot **by_id;           /* max_user_slots entries */
    uint64_t generation;
    const struct kvmm_memslot *last_used[2];   /* VM-wide cache of each memslot set */
    unsigned active;                       /* which set is active */
};

/* The DELETE/MOVE between kvmm_memslot_begin() and kvmm_memslot_finish(). */
struct kvmm_window {
    bool open;
    enum kvmm_change change;
    unsigned as_id;
    struct kvmm_memslot *old;              /* the slot being replaced (kept for rollback) */
    struct kvmm_memslot *inv;              /* its INVALID copy, now in the table */
    struct kvmm_memslot *new_slot;         /* MOVE: the slot at the new base */
    enum kvmm_bitmap_fate fate;            /* MOVE: its planned bitmap */
};

/* A slot object and its link in the retired list (allocation unit of every slot). */
struct slot_box {
    struct kvmm_memslot slot;
    struct slot_box *next_retired;
    bool retired;
};

static struct slot_box *box_of(const struct kvmm_memslot *m)
{
    return (struct slot_box *)((char *)m - offsetof(struct slot_box, slot));
}

struct kvmm_slots {
    struct kvmm_slots_params p;
    struct slot_box *retired;              /* replaced or deleted slots, newest first */
    struct kvmm_as as[KVMM_MAX_NR_AS];
    uint64_t total_pages;                  /* kvm->nr_memslot_pages */
    uint64_t manual;                       /* kvm->manual_dirty_log_protect */
    bool ring;                             /* kvm->dirty_ring_size != 0 */
    bool ring_with_bitmap;                 /* kvm->dirty_ring_with_bitmap */
    uint64_t lost;                         /* marks with no vCPU and no bitmap (WARN_ON_ONCE) */
    struct kvmm_window win;
};

/* ---- names ------------------------------------------------------------------------------ */

const char *kvmm_rule_section(enum kvmm_rule r)
{
    switch (r) {
#define X(name, sec, eno, text) case KVMM_RULE_##name: return sec;
    KVMM_RULE_MAP(X)
#undef X
    default: return "?";
    }
}

const char *kvmm_rule_text(enum kvmm_rule r)
{
    switch (r) {
#define X(name, sec, eno, text) case KVMM_RULE_##name: return text;
    KVMM_RULE_MAP(X)
#undef X
    default: return "?";
    }
}

const char *kvmm_rule_name(enum kvmm_rule r)
{
    switch (r) {
#define X(name, sec, eno, text) case KVMM_RULE_##name: return #name;
    KVMM_RULE_MAP(X)
#undef X
    default: return "?";
    }
}

const char *kvmm_change_name(enum kvmm_change c)
{
    switch (c) {
    case KVMM_CHANGE_UNSET: return "unset";
    case KVMM_CHANGE_CREATE: return "create";
    case KVMM_CHANGE_DELETE: return "delete";
    case KVMM_CHANGE_MOVE: return "move";
    case KVMM_CHANGE_FLAGS_ONLY: return "flags_only";
    case KVMM_CHANGE_NONE: return "none";
    }
    return "?";
}

const char *kvmm_lookup_via_name(enum kvmm_lookup_via v)
{
    switch (v) {
    case KVMM_LOOKUP_NONE: return "none";
    case KVMM_LOOKUP_VM_CACHE: return "vm_cache";
    case KVMM_LOOKUP_VCPU_CACHE: return "vcpu_cache";
    case KVMM_LOOKUP_SEARCH: return "search";
    }
    return "?";
}

/* ---- helpers ---------------------------------------------------------------------------- */

static size_t bitmap_words(uint64_t npages)
{
    return (size_t)((npages + 63) / 64);
}

static bool slot_holds(const struct kvmm_memslot *slot, uint64_t gfn)
{
    return slot && gfn >= slot->base_gfn && gfn - slot->base_gfn < slot->npages;
}

/* Index of the first slot with base_gfn > gfn. */
static size_t upper_bound(const struct kvmm_as *as, uint64_t gfn)
{
    size_t lo = 0, hi = as->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (as->sorted[mid]->base_gfn <= gfn)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static size_t position_of(const struct kvmm_as *as, const struct kvmm_memslot *slot)
{
    size_t i = upper_bound(as, slot->base_gfn);
    assert(i > 0 && as->sorted[i - 1] == slot);
    return i - 1;
}

static void table_insert(struct kvmm_as *as, struct kvmm_memslot *slot)
{
    size_t i = upper_bound(as, slot->base_gfn);
    memmove(&as->sorted[i + 1], &as->sorted[i], (as->n - i) * sizeof as->sorted[0]);
    as->sorted[i] = slot;
    as->n++;
    as->by_id[slot->id] = slot;
}

static void table_remove(struct kvmm_as *as, const struct kvmm_memslot *slot)
{
    size_t i = position_of(as, slot);
    memmove(&as->sorted[i], &as->sorted[i + 1], (as->n - i - 1) * sizeof as->sorted[0]);
    as->n--;
    as->by_id[slot->id] = NULL;
}

/* Puts to in from's place; both cover the same base_gfn. */
static void table_replace(struct kvmm_as *as, const struct kvmm_memslot *from,
                          struct kvmm_memslot *to)
{
    assert(from->base_gfn == to->base_gfn && from->id == to->id);
    as->sorted[position_of(as, from)] = to;
    as->by_id[to->id] = to;
}

/* kvm_replace_memslot()'s cache rule for one memslot set; the kernel skips it when !old. */
static void cache_follow(struct kvmm_as *as, unsigned set, const struct kvmm_memslot *old,
                         const struct kvmm_memslot *new_slot)
{
    if (old && as->last_used[set] == old)
        as->last_used[set] = new_slot;
}

/*
 * kvm_swap_active_memslots(): the inactive set becomes active. The kernel publishes it with
 * the generation's in-progress bit set and, after synchronize_srcu, stores the old generation
 * plus nr_as. Nothing can run in between here, so only the final value is ever observed.
 */
static void as_swap(struct kvmm_slots *s, unsigned as_id)
{
    struct kvmm_as *as = &s->as[as_id];
    assert(!(as->generation & KVMM_MEMSLOT_GEN_UPDATE_IN_PROGRESS));
    as->active ^= 1u;
    as->generation += s->p.nr_as;
}

/* Frees a slot that never entered the table. */
static void slot_free(struct kvmm_memslot *slot)
{
    if (slot)
        free(box_of(slot));
}

static struct kvmm_memslot *slot_alloc(void)
{
    struct slot_box *b = calloc(1, sizeof *b);
    return b ? &b->slot : NULL;
}

/* A slot leaves the table for good: kept readable until kvmm_slots_destroy() (invariant 10).
 * The caller has freed or handed on its bitmap. */
static void slot_retire(struct kvmm_slots *s, struct kvmm_memslot *slot)
{
    struct slot_box *b = box_of(slot);
    const struct kvmm_as *as = &s->as[slot->as_id];
    assert(!b->retired && as->by_id[slot->id] != slot);
    assert(as->last_used[0] != slot && as->last_used[1] != slot);
    (void)as; /* only read by assert */
    slot->dirty_bitmap = NULL;
    free(slot->ring_dirty);
    slot->ring_dirty = NULL;
    b->retired = true;
    b->next_retired = s->retired;
    s->retired = b;
}

/* kvm_use_dirty_bitmap(): logging slots get a bitmap unless the dirty ring replaces it. */
static bool use_bitmap(const struct kvmm_slots *s)
{
    return !s->ring || s->ring_with_bitmap;
}

/* ---- invariants ------------------------------------------------------------------------- */

static bool check_slot(const struct kvmm_slots *s, unsigned a, const struct kvmm_memslot *m)
{
    assert(m);
    assert(m->as_id == a);
    assert(m->id < s->p.max_user_slots);
    assert(s->as[a].by_id[m->id] == m);                                     /* 2 */
    assert(m->npages >= 1 && m->npages <= KVMM_MEM_MAX_NR_PAGES);           /* 3 */
    assert(m->base_gfn + m->npages > m->base_gfn);
    assert(!(m->flags & ~(KVMM_MEM_LOG_DIRTY_PAGES | KVMM_MEM_READONLY | KVMM_MEM_GUEST_MEMFD |
                          KVMM_MEMSLOT_INVALID)));
    assert(!(m->flags & KVMM_MEMSLOT_INVALID) || (s->win.open && m == s->win.inv)); /* 5 */
    bool logs = m->flags & KVMM_MEM_LOG_DIRTY_PAGES;                         /* 4 */
    (void)logs; /* only read by assert */
    assert(!m->dirty_bitmap || logs);
    assert(m->dirty_bitmap || !logs || !use_bitmap(s));
    if (m->dirty_bitmap && m->npages % 64)
        assert(!(m->dirty_bitmap[m->npages / 64] >> (m->npages % 64)));
    bool inv = m->flags & KVMM_MEMSLOT_INVALID;                             /* 11 */
    (void)inv; /* only read by assert */
    assert(!m->ring_dirty == (!logs || !s->ring || inv));
    if (m->ring_dirty && m->npages % 64)
        assert(!(m->ring_dirty[m->npages / 64] >> (m->npages % 64)));
    return true;
}

static bool check_caches(const struct kvmm_slots *s, unsigned a)
{
    const struct kvmm_as *as = &s->as[a];
    for (unsigned set = 0; set < 2; set++) {                                /* 7 */
        const struct kvmm_memslot *c = as->last_used[set];
        if (!c)
            continue;
        bool old_in_inactive = s->win.open && s->win.as_id == a && set != as->active &&
                               c == s->win.old;
        assert(old_in_inactive || (c->as_id == a && as->by_id[c->id] == c));
        (void)old_in_inactive; /* only read by assert */
    }
    return true;
}

static bool check_globals(const struct kvmm_slots *s)
{
    for (unsigned a = 0; a < s->p.nr_as; a++) {
        const struct kvmm_as *as = &s->as[a];
        (void)as; /* only read by assert */
        assert(!(as->generation & KVMM_MEMSLOT_GEN_UPDATE_IN_PROGRESS));     /* 6 */
        assert(as->generation % s->p.nr_as == a);
        assert(as->active < 2);
        assert(as->n <= s->p.max_user_slots);
        check_caches(s, a);
    }
    assert(s->manual == 0 || s->manual == KVMM_DIRTY_LOG_MANUAL_PROTECT_ENABLE ||  /* 9 */
           (s->manual == 3 && s->p.manual_caps == 3));
    if (s->win.open) {                                                      /* 5 */
        assert(s->win.change == KVMM_CHANGE_DELETE || s->win.change == KVMM_CHANGE_MOVE);
        assert(s->win.inv->flags & KVMM_MEMSLOT_INVALID);
        assert(s->as[s->win.as_id].by_id[s->win.inv->id] == s->win.inv);
    }
    return true;
}

bool kvmm_slots_check(const struct kvmm_slots *s)
{
    uint64_t pages = 0;
    check_globals(s);
    for (unsigned a = 0; a < s->p.nr_as; a++) {
        const struct kvmm_as *as = &s->as[a];
        for (size_t i = 0; i < as->n; i++) {
            const struct kvmm_memslot *m = as->sorted[i];
            check_slot(s, a, m);
            if (i > 0)                                                      /* 1 */
                assert(as->sorted[i - 1]->base_gfn + as->sorted[i - 1]->npages <= m->base_gfn);
            pages += m->npages;
        }
        size_t ids = 0;
        for (unsigned id = 0; id < s->p.max_user_slots; id++)
            ids += as->by_id[id] != NULL;
        assert(ids == as->n);                                               /* 2 */
    }
    assert(pages == s->total_pages);                                        /* 8 */
    return true;
}

/*
 * The check after a mutation of address space a around sorted position pos. The full check
 * is O(slots + max_user_slots); run after each of 32764 creates it would make the table
 * quadratic, so large tables get the invariants that the change could have broken: the
 * globals and the changed slot against its neighbours.
 */
__attribute__((unused)) static bool check_after(const struct kvmm_slots *s, unsigned a,
                                                size_t pos)
{
    size_t total = 0;
    for (unsigned i = 0; i < s->p.nr_as; i++)
        total += s->as[i].n;
    if (total <= KVMM_CHECK_FULL_MAX)
        return kvmm_slots_check(s);
    check_globals(s);
    const struct kvmm_as *as = &s->as[a];
    size_t lo = pos > 0 ? pos - 1 : 0, hi = pos + 2 < as->n ? pos + 2 : as->n;
    for (size_t i = lo; i < hi; i++) {
        check_slot(s, a, as->sorted[i]);
        if (i > 0)
            assert(as->sorted[i - 1]->base_gfn + as->sorted[i - 1]->npages <=
                   as->sorted[i]->base_gfn);
    }
    return true;
}

/* ---- lifetime --------------------------------------------------------------------------- */

void kvmm_slots_params_default(struct kvmm_slots_params *p, enum kvmm_arch arch)
{
    memset(p, 0, sizeof *p);
    p->readonly_mem = true;
    p->manual_caps = KVMM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KVMM_DIRTY_LOG_INITIALLY_SET;
    p->user_va_limit = kvmm_task_size_max(arch, arch == KVMM_ARCH_X86 ? 47 : 48);
    if (arch == KVMM_ARCH_X86) {
        p->nr_as = 2;
        p->max_user_slots = KVMM_USER_SLOTS_X86;
        p->hooks = KVMM_HOOKS_X86;
        p->x86_phys_bits = 46;
    } else {
        p->nr_as = 1;
        p->max_user_slots = KVMM_USER_SLOTS_ARM64;
        p->hooks = KVMM_HOOKS_ARM64;
        p->arm64_ipa_bits = 40;  /* KVM_PHYS_SHIFT, the default of KVM_CREATE_VM type 0 */
    }
}

int kvmm_slots_create(struct kvmm_slots **out, const struct kvmm_slots_params *p)
{
    *out = NULL;
    if (p->nr_as < 1 || p->nr_as > KVMM_MAX_NR_AS)
        return hv_error_set(HV_EINVAL, "kvm memslots: %u address spaces (1 or 2)", p->nr_as);
    if (p->max_user_slots < 1 || p->max_user_slots > KVMM_MEM_SLOTS_NUM)
        return hv_error_set(HV_EINVAL, "kvm memslots: max_user_slots %u not in 1..%u",
                            p->max_user_slots, KVMM_MEM_SLOTS_NUM);
    if (p->manual_caps != 1 && p->manual_caps != 3)
        return hv_error_set(HV_EINVAL, "kvm memslots: manual_caps %u (1 or 3)", p->manual_caps);
    if (p->user_va_limit == 0)
        return hv_error_set(HV_EINVAL, "kvm memslots: user_va_limit 0");
    if (p->hooks == KVMM_HOOKS_X86 && (p->x86_phys_bits <= KVMM_PAGE_SHIFT ||
                                       p->x86_phys_bits > 52))
        return hv_error_set(HV_EINVAL, "kvm memslots: x86_phys_bits %u", p->x86_phys_bits);
    if (p->hooks == KVMM_HOOKS_X86 && p->x86_no_smm && p->nr_as != 1)
        return hv_error_set(HV_EINVAL, "kvm memslots: an x86 host without SMM has one "
                                       "address space");
    if (p->hooks == KVMM_HOOKS_X86 && p->private_mem && p->nr_as != 1)
        return hv_error_set(HV_EINVAL, "kvm memslots: x86 VMs with private memory have one "
                                       "address space");
    if (p->hooks == KVMM_HOOKS_ARM64 && (p->arm64_ipa_bits < 32 || p->arm64_ipa_bits > 52))
        return hv_error_set(HV_EINVAL, "kvm memslots: arm64_ipa_bits %u", p->arm64_ipa_bits);

    int err = HV_ENOMEM;
    struct kvmm_slots *s = calloc(1, sizeof *s);
    if (!s)
        goto out;
    s->p = *p;
    for (unsigned a = 0; a < p->nr_as; a++) {
        s->as[a].sorted = calloc(p->max_user_slots, sizeof s->as[a].sorted[0]);
        s->as[a].by_id = calloc(p->max_user_slots, sizeof s->as[a].by_id[0]);
        if (!s->as[a].sorted || !s->as[a].by_id)
            goto out;
        s->as[a].generation = a;   /* kvm_create_vm(): slots->generation = i */
    }
    *out = s;
    s = NULL;
    err = 0;
    assert(kvmm_slots_check(*out));
out:
    kvmm_slots_destroy(s);
    return err;
}

void kvmm_slots_destroy(struct kvmm_slots *s)
{
    if (!s)
        return;
    if (s->win.open) {
        /* The old slot and the MOVE target are outside the table; the INVALID copy is in it
         * and shares old's bitmap. */
        if (s->win.new_slot && s->win.new_slot->dirty_bitmap != s->win.old->dirty_bitmap)
            free(s->win.new_slot->dirty_bitmap);
        if (s->win.new_slot)
            free(s->win.new_slot->ring_dirty);
        slot_free(s->win.new_slot);
        free(s->win.old->dirty_bitmap);
        free(s->win.old->ring_dirty);
        slot_free(s->win.old);
        s->win.inv->dirty_bitmap = NULL;
    }
    for (unsigned a = 0; a < KVMM_MAX_NR_AS; a++) {
        for (size_t i = 0; i < s->as[a].n; i++) {
            free(s->as[a].sorted[i]->dirty_bitmap);
            free(s->as[a].sorted[i]->ring_dirty);
            slot_free(s->as[a].sorted[i]);
        }
        free(s->as[a].sorted);
        free(s->as[a].by_id);
    }
    while (s->retired) {
        struct slot_box *b = s->retired;
        s->retired = b->next_retired;
        free(b);
    }
    free(s);
}

const struct kvmm_slots_params *kvmm_slots_params(const struct kvmm_slots *s)
{
    return &s->p;
}

/* ---- KVM_SET_USER_MEMORY_REGION(2) ------------------------------------------------------ */

static int rule_errno(enum kvmm_rule r)
{
    switch (r) {
#define X(name, sec, eno, text) case KVMM_RULE_##name: return -(eno);
    KVMM_RULE_MAP(X)
#undef X
    default: return -EINVAL;
    }
}

/* Records a refusal by rule r; returns 0, the function's result for a modeled error. */
static int refuse(struct kvmm_set_result *res, enum kvmm_rule rule)
{
    res->rule = rule;
    res->err = rule_errno(rule);
    return 0;
}

uint64_t kvmm_task_size_max(enum kvmm_arch arch, unsigned va_bits)
{
    if (arch == KVMM_ARCH_X86)
        return va_bits == 47 || va_bits == 56 ? (1ull << va_bits) - KVMM_PAGE_SIZE : 0;
    return va_bits == 48 || va_bits == 52 ? 1ull << va_bits : 0;
}

/* check_memory_region_flags() (A.3.1). */
static uint32_t valid_flags(const struct kvmm_slots *s, uint32_t flags)
{
    uint32_t valid = KVMM_MEM_LOG_DIRTY_PAGES;
    if (s->p.private_mem)
        valid |= KVMM_MEM_GUEST_MEMFD;
    if (flags & KVMM_MEM_GUEST_MEMFD)     /* no dirty logging of private memory */
        valid &= ~KVMM_MEM_LOG_DIRTY_PAGES;
    if (s->p.readonly_mem && !(flags & KVMM_MEM_GUEST_MEMFD))
        valid |= KVMM_MEM_READONLY;
    return valid;
}

/* kvm_check_memslot_overlap(): any slot with another id meeting [start, end). */
static bool overlaps_other(const struct kvmm_as *as, unsigned id, uint64_t start, uint64_t end)
{
    size_t i = upper_bound(as, start);
    i = i > 0 ? i - 1 : 0;     /* the last slot starting at or before start, if any */
    for (; i < as->n && as->sorted[i]->base_gfn < end; i++) {
        const struct kvmm_memslot *m = as->sorted[i];
        if (m->base_gfn + m->npages > start && m->id != id)
            return true;
    }
    return false;
}

/* kvm_arch_prepare_memory_region() (A.3.13) for a change with the given new slot. */
static enum kvmm_rule arch_prepare(const struct kvmm_slots *s, const struct kvmm_memslot *nw,
                                   enum kvmm_change change)
{
    if (s->p.hooks == KVMM_HOOKS_X86) {
        if (change == KVMM_CHANGE_MOVE && s->p.x86_external_tracker)
            return KVMM_RULE_X86_MOVE_TRACKED;
        if (change == KVMM_CHANGE_CREATE || change == KVMM_CHANGE_MOVE) {
            uint64_t max_gfn = (1ull << (s->p.x86_phys_bits - KVMM_PAGE_SHIFT)) - 1;
            if (nw->base_gfn + nw->npages - 1 > max_gfn)
                return KVMM_RULE_X86_MAX_GFN;
        }
        return KVMM_RULE_OK;
    }
    if (change != KVMM_CHANGE_CREATE && change != KVMM_CHANGE_MOVE &&
        change != KVMM_CHANGE_FLAGS_ONLY)
        return KVMM_RULE_OK;
    if (nw->base_gfn + nw->npages > (1ull << (s->p.arm64_ipa_bits - KVMM_PAGE_SHIFT)))
        return KVMM_RULE_ARM64_IPA;
    unsigned vma = s->p.host_vma ?
        s->p.host_vma(s->p.host_vma_ctx, nw->userspace_addr, nw->npages << KVMM_PAGE_SHIFT) : 0;
    /* The kernel walks the VMAs in address order and checks MTE before PFNMAP in each; with
     * the properties ORed over the range, MTE is reported first. Both are EINVAL. */
    if (s->p.arm64_mte && (vma & KVMM_VMA_NO_MTE))
        return KVMM_RULE_ARM64_MTE;
    if ((vma & KVMM_VMA_PFNMAP) && (nw->flags & KVMM_MEM_LOG_DIRTY_PAGES))
        return KVMM_RULE_ARM64_PFNMAP_LOG;
    return KVMM_RULE_OK;
}

/* A bitmap of npages bits: all clear, or the npages bits set. NULL if out of memory. */
static uint64_t *bits_alloc(uint64_t npages, bool all_set)
{
    size_t words = bitmap_words(npages);
    uint64_t *b = calloc(words, sizeof b[0]);
    if (b && all_set) {
        memset(b, 0xff, words * sizeof b[0]);
        if (npages % 64)
            b[words - 1] = (1ull << (npages % 64)) - 1;
    }
    return b;
}

/*
 * The bitmap half of kvm_prepare_memory_region() (A.4), as a plan: what the new slot gets.
 * A fresh bitmap is allocated here, before anything changes, so that the update cannot fail
 * half way; it is freed again if the arch hook refuses. With the dirty ring, a logging slot
 * gets no bitmap (kvm_use_dirty_bitmap()) but its ring state: every page armed (CREATE and
 * MOVE have no mappings yet, FLAGS_ONLY write-protects the slot), except that FLAGS_ONLY
 * under INITIALLY_SET leaves the mappings writable (kvm_mmu_slot_apply_flags()).
 */
static int bitmap_plan(const struct kvmm_slots *s, const struct kvmm_memslot *old,
                       struct kvmm_memslot *nw, enum kvmm_change change,
                       enum kvmm_bitmap_fate *fate)
{
    bool init_set = s->manual & KVMM_DIRTY_LOG_INITIALLY_SET;
    nw->dirty_bitmap = NULL;
    nw->ring_dirty = NULL;
    *fate = KVMM_BITMAP_NONE;
    if (!(nw->flags & KVMM_MEM_LOG_DIRTY_PAGES))
        return 0;
    if (s->ring && !(nw->ring_dirty = bits_alloc(nw->npages,
                                                 init_set && change == KVMM_CHANGE_FLAGS_ONLY)))
        goto nomem;
    if (old && old->dirty_bitmap) {
        nw->dirty_bitmap = old->dirty_bitmap;
        *fate = KVMM_BITMAP_REUSED;
        return 0;
    }
    if (!use_bitmap(s))
        return 0;
    if (!(nw->dirty_bitmap = bits_alloc(nw->npages, init_set)))
        goto nomem;
    *fate = init_set ? KVMM_BITMAP_ALL_SET : KVMM_BITMAP_ZEROED;
    return 0;
nomem:
    free(nw->ring_dirty);
    nw->ring_dirty = NULL;
    return hv_error_set(HV_ENOMEM, "kvm memslots: dirty bitmap of %llu pages",
                        (unsigned long long)nw->npages);
}

/* Frees what bitmap_plan() allocated for nw and nobody else owns. */
static void bitmap_unplan(const struct kvmm_memslot *old, struct kvmm_memslot *nw)
{
    if (nw->dirty_bitmap && (!old || nw->dirty_bitmap != old->dirty_bitmap))
        free(nw->dirty_bitmap);
    nw->dirty_bitmap = NULL;
    free(nw->ring_dirty);
    nw->ring_dirty = NULL;
}

/* kvm_commit_memory_region()'s bitmap rule for MOVE and FLAGS_ONLY. */
static void bitmap_commit(struct kvmm_memslot *old, const struct kvmm_memslot *nw)
{
    if (old->dirty_bitmap && !nw->dirty_bitmap)
        free(old->dirty_bitmap);
    old->dirty_bitmap = NULL;
}

static struct kvmm_memslot *slot_new(const struct kvmm_region *mem, unsigned as_id,
                                     unsigned id)
{
    struct kvmm_memslot *m = slot_alloc();
    if (!m)
        return NULL;
    m->as_id = (uint16_t)as_id;
    m->id = (uint16_t)id;
    m->base_gfn = mem->guest_phys_addr >> KVMM_PAGE_SHIFT;
    m->npages = mem->memory_size >> KVMM_PAGE_SHIFT;
    m->flags = mem->flags;
    m->userspace_addr = mem->userspace_addr;
    if (mem->flags & KVMM_MEM_GUEST_MEMFD) {
        m->guest_memfd = mem->guest_memfd;
        m->guest_memfd_offset = mem->guest_memfd_offset;
    }
    return m;
}

/* CREATE and FLAGS_ONLY: prepare and commit with one swap (kvm_create_memslot(),
 * kvm_update_flags_memslot()). */
static int apply_simple(struct kvmm_slots *s, const struct kvmm_region *mem, unsigned as_id,
                        unsigned id, struct kvmm_memslot *old, struct kvmm_set_result *res)
{
    struct kvmm_as *as = &s->as[as_id];
    struct kvmm_memslot *nw = slot_new(mem, as_id, id);
    if (!nw)
        return hv_error_set(HV_ENOMEM, "kvm memslots: slot");
    int err = bitmap_plan(s, old, nw, res->change, &res->bitmap);
    if (err) {
        slot_free(nw);
        return err;
    }
    enum kvmm_rule rule = arch_prepare(s, nw, res->change);
    if (rule != KVMM_RULE_OK) {
        bitmap_unplan(old, nw);
        slot_free(nw);
        res->bitmap = KVMM_BITMAP_NONE;
        return refuse(res, rule);
    }
    if (res->change == KVMM_CHANGE_CREATE) {
        table_insert(as, nw);
        as_swap(s, as_id);
        s->total_pages += nw->npages;
    } else {
        unsigned inactive = as->active ^ 1u;
        table_replace(as, old, nw);
        cache_follow(as, inactive, old, nw);
        as_swap(s, as_id);
        cache_follow(as, as->active ^ 1u, old, nw);
        bitmap_commit(old, nw);
        slot_retire(s, old);
    }
    assert(check_after(s, as_id, position_of(as, nw)));
    return 0;
}

/* DELETE and MOVE, first half: kvm_invalidate_memslot(). */
static int open_window(struct kvmm_slots *s, const struct kvmm_region *mem, unsigned as_id,
                       unsigned id, struct kvmm_memslot *old, struct kvmm_set_result *res)
{
    struct kvmm_as *as = &s->as[as_id];
    enum kvmm_bitmap_fate fate = KVMM_BITMAP_NONE;
    int err = 0;
    struct kvmm_memslot *inv = slot_alloc();
    struct kvmm_memslot *nw = NULL;
    if (!inv || (res->change == KVMM_CHANGE_MOVE && !(nw = slot_new(mem, as_id, id)))) {
        err = hv_error_set(HV_ENOMEM, "kvm memslots: slot");
        goto out;
    }
    /* The bitmap is the first thing kvm_prepare_memory_region() does inside the window; it
     * depends only on old, nw and INITIALLY_SET, none of which can change before
     * kvmm_memslot_finish(), so it is planned (and allocated) now. */
    if (nw && (err = bitmap_plan(s, old, nw, res->change, &fate)))
        goto out;
    *inv = *old;
    inv->flags |= KVMM_MEMSLOT_INVALID;
    inv->ring_dirty = NULL;   /* no guest store reaches an INVALID slot: the range exits */

    unsigned inactive = as->active ^ 1u;
    table_replace(as, old, inv);
    cache_follow(as, inactive, old, inv);
    as_swap(s, as_id);

    s->win = (struct kvmm_window){ .open = true, .change = res->change, .as_id = as_id,
                                   .old = old, .inv = inv, .new_slot = nw, .fate = fate };
    res->window = true;
    assert(check_after(s, as_id, position_of(as, inv)));
    return 0;
out:
    slot_free(nw);
    slot_free(inv);
    return err;
}

int kvmm_memslot_begin(struct kvmm_slots *s, const struct kvmm_region *r, bool v2,
                       struct kvmm_set_result *res)
{
    assert(!s->win.open);
    *res = (struct kvmm_set_result){ .rule = KVMM_RULE_OK };

    /* kvm_vm_ioctl(): v1 copies only the v1 fields; the rest stays zero. */
    struct kvmm_region mem = *r;
    if (!v2) {
        mem.guest_memfd_offset = 0;
        mem.guest_memfd = 0;
        if (mem.flags & ~KVMM_MEM_V1_FLAGS)
            return refuse(res, KVMM_RULE_V1_FLAGS);
    }
    unsigned as_id = mem.slot >> 16, id = mem.slot & 0xffff;
    /* kvm_vm_ioctl_set_memory_region(), before taking slots_lock. */
    if (id >= s->p.max_user_slots)
        return refuse(res, KVMM_RULE_USER_SLOT_ID);

    /* __kvm_set_memory_region(), A.3 in order. */
    if (mem.flags & ~valid_flags(s, mem.flags))
        return refuse(res, KVMM_RULE_FLAGS);
    /* memory_size always fits an unsigned long on the 64-bit hosts modeled here. */
    if (mem.memory_size & (KVMM_PAGE_SIZE - 1))
        return refuse(res, KVMM_RULE_SIZE);
    if (mem.guest_phys_addr & (KVMM_PAGE_SIZE - 1))
        return refuse(res, KVMM_RULE_GPA_ALIGN);
    /* untagged_addr() is the identity for every address access_ok() lets through, so a
     * tagged address fails here either way. */
    if ((mem.userspace_addr & (KVMM_PAGE_SIZE - 1)) ||
        !kvmm_access_ok(s->p.user_va_limit, mem.userspace_addr, mem.memory_size))
        return refuse(res, KVMM_RULE_HVA);
    if ((mem.flags & KVMM_MEM_GUEST_MEMFD) &&
        ((mem.guest_memfd_offset & (KVMM_PAGE_SIZE - 1)) ||
         mem.guest_memfd_offset + mem.memory_size < mem.guest_memfd_offset))
        return refuse(res, KVMM_RULE_GMEM_OFFSET);
    if (as_id >= s->p.nr_as || id >= KVMM_MEM_SLOTS_NUM)
        return refuse(res, KVMM_RULE_AS_ID);
    if (mem.guest_phys_addr + mem.memory_size < mem.guest_phys_addr)
        return refuse(res, KVMM_RULE_GPA_WRAP);
    if ((mem.memory_size >> KVMM_PAGE_SHIFT) > KVMM_MEM_MAX_NR_PAGES)
        return refuse(res, KVMM_RULE_NPAGES);

    struct kvmm_as *as = &s->as[as_id];
    struct kvmm_memslot *old = as->by_id[id];

    if (mem.memory_size == 0) {
        if (!old || !old->npages)
            return refuse(res, KVMM_RULE_DELETE_ABSENT);
        assert(s->total_pages >= old->npages);   /* the kernel's -EIO WARN */
        res->change = KVMM_CHANGE_DELETE;
        return open_window(s, &mem, as_id, id, old, res);
    }

    uint64_t base_gfn = mem.guest_phys_addr >> KVMM_PAGE_SHIFT;
    uint64_t npages = mem.memory_size >> KVMM_PAGE_SHIFT;
    if (!old || !old->npages) {
        res->change = KVMM_CHANGE_CREATE;
        /* Unreachable on a 64-bit host (at most 2^31 pages x 65534 slots); kept for order. */
        if (s->total_pages + npages < s->total_pages)
            return refuse(res, KVMM_RULE_PAGES_TOTAL);
    } else {
        if (mem.flags & KVMM_MEM_GUEST_MEMFD)
            return refuse(res, KVMM_RULE_MODIFY_GMEM);
        if (mem.userspace_addr != old->userspace_addr || npages != old->npages ||
            ((mem.flags ^ old->flags) & (KVMM_MEM_READONLY | KVMM_MEM_GUEST_MEMFD)))
            return refuse(res, KVMM_RULE_MODIFY);
        if (base_gfn != old->base_gfn)
            res->change = KVMM_CHANGE_MOVE;
        else if (mem.flags != old->flags)
            res->change = KVMM_CHANGE_FLAGS_ONLY;
        else {
            res->change = KVMM_CHANGE_NONE;
            res->bitmap = old->dirty_bitmap ? KVMM_BITMAP_REUSED : KVMM_BITMAP_NONE;
            return 0;
        }
    }

    if ((res->change == KVMM_CHANGE_CREATE || res->change == KVMM_CHANGE_MOVE) &&
        overlaps_other(as, id, base_gfn, base_gfn + npages))
        return refuse(res, KVMM_RULE_OVERLAP);

    if (res->change == KVMM_CHANGE_MOVE)
        return open_window(s, &mem, as_id, id, old, res);
    return apply_simple(s, &mem, as_id, id, old, res);
}

void kvmm_memslot_finish(struct kvmm_slots *s, struct kvmm_set_result *res)
{
    assert(s->win.open && res->window);
    struct kvmm_window w = s->win;
    struct kvmm_as *as = &s->as[w.as_id];
    unsigned now = as->active, other = now ^ 1u;   /* the INVALID set, the one holding old */
    size_t pos;
    res->window = false;
    (void)pos; /* only read by assert */

    if (w.change == KVMM_CHANGE_DELETE) {
        /* Both arch hooks accept DELETE. kvm_delete_memslot(), kvm_commit_memory_region(). */
        res->bitmap = KVMM_BITMAP_NONE;
        cache_follow(as, other, w.old, NULL);
        pos = upper_bound(as, w.inv->base_gfn);
        table_remove(as, w.inv);
        as_swap(s, w.as_id);
        cache_follow(as, now, w.inv, NULL);
        s->total_pages -= w.old->npages;
        free(w.old->dirty_bitmap);
        slot_retire(s, w.old);
        slot_retire(s, w.inv);
        s->win = (struct kvmm_window){ 0 };
        assert(check_after(s, w.as_id, pos > 0 ? pos - 1 : 0));
        return;
    }

    /* MOVE: kvm_prepare_memory_region() inside the window; the bitmap was planned by
     * open_window(). */
    struct kvmm_memslot *nw = w.new_slot;
    enum kvmm_rule rule = arch_prepare(s, nw, KVMM_CHANGE_MOVE);
    if (rule != KVMM_RULE_OK) {
        /* kvm_activate_memslot(invalid, old): the old slot comes back. */
        bitmap_unplan(w.old, nw);
        table_replace(as, w.inv, w.old);
        as_swap(s, w.as_id);
        cache_follow(as, now, w.inv, w.old);
        slot_retire(s, w.inv);
        slot_free(nw);
        s->win = (struct kvmm_window){ 0 };
        refuse(res, rule);
        assert(check_after(s, w.as_id, position_of(as, w.old)));
        return;
    }
    res->bitmap = w.fate;

    /* kvm_move_memslot(). */
    cache_follow(as, other, w.old, nw);
    table_remove(as, w.inv);
    table_insert(as, nw);
    as_swap(s, w.as_id);
    cache_follow(as, now, w.inv, nw);
    bitmap_commit(w.old, nw);
    slot_retire(s, w.old);
    slot_retire(s, w.inv);
    s->win = (struct kvmm_window){ 0 };
    assert(check_after(s, w.as_id, position_of(as, nw)));
}

int kvmm_memslot_set(struct kvmm_slots *s, const struct kvmm_region *r, bool v2,
                     struct kvmm_set_result *res)
{
    int err = kvmm_memslot_begin(s, r, v2, res);
    if (!err && res->window)
        kvmm_memslot_finish(s, res);
    return err;
}

bool kvmm_memslot_in_window(const struct kvmm_slots *s)
{
    return s->win.open;
}

uint64_t kvmm_memslot_generation(const struct kvmm_slots *s, unsigned as_id)
{
    assert(as_id < s->p.nr_as);
    return s->as[as_id].generation;
}

uint64_t kvmm_memslot_total_pages(const struct kvmm_slots *s)
{
    return s->total_pages;
}

size_t kvmm_memslot_count(const struct kvmm_slots *s, unsigned as_id)
{
    assert(as_id < s->p.nr_as);
    return s->as[as_id].n;
}

const struct kvmm_memslot *kvmm_memslot_at(const struct kvmm_slots *s, unsigned as_id,
                                           size_t i)
{
    assert(as_id < s->p.nr_as && i < s->as[as_id].n);
    return s->as[as_id].sorted[i];
}

/* ---- lookup ----------------------------------------------------------------------------- */

void kvmm_vcpu_slot_cache_init(struct kvmm_vcpu_slot_cache *c)
{
    c->slot = NULL;
    c->generation = 0;
}

const struct kvmm_memslot *kvmm_memslot_by_id(const struct kvmm_slots *s, unsigned as_id,
                                              unsigned id)
{
    assert(as_id < s->p.nr_as);
    return id < s->p.max_user_slots ? s->as[as_id].by_id[id] : NULL;
}

const struct kvmm_memslot *kvmm_memslot_search(const struct kvmm_slots *s, unsigned as_id,
                                               uint64_t gfn)
{
    assert(as_id < s->p.nr_as);
    const struct kvmm_as *as = &s->as[as_id];
    size_t i = upper_bound(as, gfn);
    if (i == 0 || !slot_holds(as->sorted[i - 1], gfn))
        return NULL;
    return as->sorted[i - 1];
}

static void set_via(enum kvmm_lookup_via *via, enum kvmm_lookup_via v)
{
    if (via)
        *via = v;
}

const struct kvmm_memslot *kvmm_memslot_lookup(struct kvmm_slots *s, unsigned as_id,
                                               uint64_t gfn, enum kvmm_lookup_via *via)
{
    assert(as_id < s->p.nr_as);
    struct kvmm_as *as = &s->as[as_id];
    const struct kvmm_memslot *slot = as->last_used[as->active];
    if (slot_holds(slot, gfn)) {
        set_via(via, KVMM_LOOKUP_VM_CACHE);
        return slot;
    }
    slot = kvmm_memslot_search(s, as_id, gfn);
    if (slot) {
        as->last_used[as->active] = slot;
        assert(check_caches(s, as_id));
    }
    set_via(via, slot ? KVMM_LOOKUP_SEARCH : KVMM_LOOKUP_NONE);
    return slot;
}

const struct kvmm_memslot *kvmm_memslot_vcpu_lookup(struct kvmm_slots *s,
                                                    struct kvmm_vcpu_slot_cache *c,
                                                    unsigned as_id, uint64_t gfn,
                                                    enum kvmm_lookup_via *via)
{
    assert(as_id < s->p.nr_as);
    if (s->p.slot_cache == KVMM_SLOT_CACHE_VM)
        return kvmm_memslot_lookup(s, as_id, gfn, via);
    if (s->p.slot_cache == KVMM_SLOT_CACHE_NONE) {
        const struct kvmm_memslot *found = kvmm_memslot_search(s, as_id, gfn);
        set_via(via, found ? KVMM_LOOKUP_SEARCH : KVMM_LOOKUP_NONE);
        return found;
    }
    uint64_t gen = s->as[as_id].generation;
    /* The bug knob drops this check: a slot cached before an update stays in use for as
     * long as it holds the gfn (it stays readable: see "Retired slots" above). */
    if (c->generation != gen && !s->p.bug_stale_slot_cache) {
        c->slot = NULL;
        c->generation = gen;
    }
    if (slot_holds(c->slot, gfn)) {
        set_via(via, KVMM_LOOKUP_VCPU_CACHE);
        return c->slot;
    }
    const struct kvmm_memslot *slot = kvmm_memslot_search(s, as_id, gfn);
    if (slot) {
        c->slot = slot;
        c->generation = gen;
    }
    set_via(via, slot ? KVMM_LOOKUP_SEARCH : KVMM_LOOKUP_NONE);
    return slot;
}

const struct kvmm_memslot *kvmm_memslot_by_slot(const struct kvmm_slots *s, uint32_t slot)
{
    unsigned as_id = slot >> 16, id = slot & 0xffff;
    return as_id < s->p.nr_as && id < s->p.max_user_slots ? s->as[as_id].by_id[id] : NULL;
}

bool kvmm_memslot_current(const struct kvmm_slots *s, const struct kvmm_memslot *slot)
{
    if (!slot || box_of(slot)->retired)
        return false;
    assert(slot->as_id < s->p.nr_as && s->as[slot->as_id].by_id[slot->id] == slot);
    return true;
}

/* ---- dirty log -------------------------------------------------------------------------- */

size_t kvmm_dirty_bitmap_bytes(const struct kvmm_memslot *slot)
{
    return bitmap_words(slot->npages) * 8;
}

bool kvmm_dirty_test(const struct kvmm_memslot *slot, uint64_t gfn)
{
    if (!slot_holds(slot, gfn) || !slot->dirty_bitmap)
        return false;
    uint64_t rel = gfn - slot->base_gfn;
    return (slot->dirty_bitmap[rel / 64] >> (rel % 64)) & 1;
}

/* The slot if a mark through it logs anything: current, holding gfn, LOG_DIRTY_PAGES. */
static struct kvmm_memslot *logging_slot(const struct kvmm_slots *s,
                                         const struct kvmm_memslot *slot, uint64_t gfn)
{
    /* A retired slot (reached through a cache that skipped the generation check) has no
     * bitmap any more: the write is logged nowhere. */
    if (!slot || box_of(slot)->retired)
        return NULL;
    /* A slot of this table's current contents, holding gfn. */
    assert(slot->as_id < s->p.nr_as && s->as[slot->as_id].by_id[slot->id] == slot);
    assert(slot_holds(slot, gfn));
    (void)gfn; /* only read by assert */
    /* kvm_slot_dirty_track_enabled() */
    if (!(slot->flags & KVMM_MEM_LOG_DIRTY_PAGES))
        return NULL;
    return (struct kvmm_memslot *)slot;
}

/* Sets bit rel of b; true if it was clear. */
static bool bit_set(uint64_t *b, uint64_t rel)
{
    uint64_t bit = 1ull << (rel % 64);
    bool was = b[rel / 64] & bit;
    b[rel / 64] |= bit;
    return !was;
}

bool kvmm_dirty_mark_in_slot(struct kvmm_slots *s, const struct kvmm_memslot *slot,
                             uint64_t gfn)
{
    struct kvmm_memslot *m = logging_slot(s, slot, gfn);
    if (!m)
        return false;
    if (!m->dirty_bitmap) {
        /* mark_page_dirty_in_slot(): the ring needs a running vCPU; WARN_ON_ONCE, and the
         * write is logged nowhere. */
        s->lost++;
        return false;
    }
    return bit_set(m->dirty_bitmap, gfn - m->base_gfn);
}

bool kvmm_dirty_mark_vcpu(struct kvmm_slots *s, const struct kvmm_memslot *slot, uint64_t gfn,
                          uint32_t *ring_slot, uint64_t *offset)
{
    struct kvmm_memslot *m = logging_slot(s, slot, gfn);
    if (!m)
        return false;
    if (!s->ring) {
        if (m->dirty_bitmap)
            bit_set(m->dirty_bitmap, gfn - m->base_gfn);
        return false;
    }
    *ring_slot = (uint32_t)m->as_id << 16 | m->id;
    *offset = gfn - m->base_gfn;
    return true;
}

bool kvmm_dirty_guest_store(struct kvmm_slots *s, unsigned as_id, uint64_t gfn,
                            uint32_t *ring_slot, uint64_t *offset)
{
    if (!s->ring) {
        kvmm_dirty_mark(s, as_id, gfn, NULL);
        return false;
    }
    struct kvmm_memslot *m = logging_slot(s, kvmm_memslot_lookup(s, as_id, gfn, NULL), gfn);
    /* no ring state: the INVALID copy of an open window, whose range the guest cannot reach */
    if (!m || !m->ring_dirty || !bit_set(m->ring_dirty, gfn - m->base_gfn))
        return false;
    *ring_slot = (uint32_t)m->as_id << 16 | m->id;
    *offset = gfn - m->base_gfn;
    return true;
}

bool kvmm_dirty_mark(struct kvmm_slots *s, unsigned as_id, uint64_t gfn,
                     enum kvmm_lookup_via *via)
{
    return kvmm_dirty_mark_in_slot(s, kvmm_memslot_lookup(s, as_id, gfn, via), gfn);
}

/* GET and CLEAR: as_id and id must be in range (else EINVAL). */
static bool dirty_ids_ok(const struct kvmm_slots *s, uint32_t slot)
{
    return (slot >> 16) < s->p.nr_as && (slot & 0xffff) < s->p.max_user_slots;
}

/* GET and CLEAR: the slot if it exists and logs, else NULL and *err = -ENOENT. */
static struct kvmm_memslot *dirty_slot(const struct kvmm_slots *s, uint32_t slot, int *err)
{
    struct kvmm_memslot *m = s->as[slot >> 16].by_id[slot & 0xffff];
    if (!m || !m->dirty_bitmap) {
        *err = -ENOENT;
        return NULL;
    }
    return m;
}

static void rearm(const struct kvmm_slots *s, const struct kvmm_memslot *m, uint64_t offset,
                  uint64_t mask)
{
    if (s->p.rearm)
        s->p.rearm(s->p.rearm_ctx, m, offset, mask);
}

static void store_le64(uint8_t *p, uint64_t v)
{
    for (unsigned k = 0; k < 8; k++)
        p[k] = (uint8_t)(v >> (8 * k));
}

static uint64_t load_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (unsigned k = 0; k < 8; k++)
        v |= (uint64_t)p[k] << (8 * k);
    return v;
}

int kvmm_dirty_get_log(struct kvmm_slots *s, uint32_t slot, uint8_t *out, size_t outlen,
                       int *err)
{
    assert(!s->win.open);
    *err = 0;
    /* kvm_get_dirty_log_protect() */
    if (!use_bitmap(s)) {
        *err = -ENXIO;
        return 0;
    }
    if (!dirty_ids_ok(s, slot)) {
        *err = -EINVAL;
        return 0;
    }
    struct kvmm_memslot *m = dirty_slot(s, slot, err);
    if (!m)
        return 0;
    size_t words = bitmap_words(m->npages);
    bool fits = out && outlen >= words * 8;
    if (s->manual) {
        /* The live bitmap; nothing cleared, nothing re-armed. */
        if (fits)
            for (size_t i = 0; i < words; i++)
                store_le64(out + 8 * i, m->dirty_bitmap[i]);
    } else {
        /* Snapshot-and-clear word by word, re-arm, then copy out: a copy that faults loses
         * the snapshot, as in the kernel. */
        for (size_t i = 0; i < words; i++) {
            uint64_t mask = m->dirty_bitmap[i];
            m->dirty_bitmap[i] = 0;
            if (fits)
                store_le64(out + 8 * i, mask);
            if (mask)
                rearm(s, m, (uint64_t)i * 64, mask);
        }
    }
    if (!fits)
        *err = -EFAULT;
    assert(check_slot(s, m->as_id, m));
    return 0;
}

int kvmm_dirty_clear_log(struct kvmm_slots *s, uint32_t slot, uint64_t first_page,
                         uint32_t num_pages, const uint8_t *bitmap, size_t len, int *err)
{
    assert(!s->win.open);
    *err = 0;
    /* kvm_clear_dirty_log_protect(), in its order */
    if (!use_bitmap(s)) {
        *err = -ENXIO;
        return 0;
    }
    if (!dirty_ids_ok(s, slot)) {
        *err = -EINVAL;
        return 0;
    }
    if (first_page & 63) {
        *err = -EINVAL;
        return 0;
    }
    struct kvmm_memslot *m = dirty_slot(s, slot, err);
    if (!m)
        return 0;
    if (first_page > m->npages || num_pages > m->npages - first_page ||
        (num_pages < m->npages - first_page && (num_pages & 63))) {
        *err = -EINVAL;
        return 0;
    }
    size_t words = bitmap_words(num_pages);
    if (words && (!bitmap || len < words * 8)) {
        *err = -EFAULT;
        return 0;
    }
    for (size_t i = 0; i < words; i++) {
        uint64_t mask = load_le64(bitmap + 8 * i);
        uint64_t *p = &m->dirty_bitmap[first_page / 64 + i];
        if (!mask)
            continue;
        /* Only bits that were set are cleared and re-armed; user bits past the slot's end
         * meet zeros. */
        mask &= *p;
        *p &= ~mask;
        if (mask)
            rearm(s, m, first_page + (uint64_t)i * 64, mask);
    }
    assert(check_slot(s, m->as_id, m));
    return 0;
}

int kvmm_dirty_enable_manual(struct kvmm_slots *s, uint64_t args0, uint32_t flags, int *err)
{
    assert(!s->win.open);
    /* kvm_vm_ioctl_enable_cap_generic(), KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2. */
    uint64_t allowed = KVMM_DIRTY_LOG_MANUAL_PROTECT_ENABLE;
    if (args0 & KVMM_DIRTY_LOG_MANUAL_PROTECT_ENABLE)
        allowed = s->p.manual_caps;
    if (flags || (args0 & ~allowed)) {
        *err = -EINVAL;
        return 0;
    }
    s->manual = args0;
    *err = 0;
    assert(check_globals(s));
    return 0;
}

uint64_t kvmm_dirty_manual(const struct kvmm_slots *s)
{
    return s->manual;
}

/* ---- the dirty ring's side ---------------------------------------------------------------- */

int kvmm_dirty_ring_on(struct kvmm_slots *s)
{
    assert(!s->win.open);
    if (s->ring)
        return 0;
    /* slots logging already: armed exactly where their bitmap bit is clear */
    for (unsigned a = 0; a < s->p.nr_as; a++) {
        for (size_t i = 0; i < s->as[a].n; i++) {
            struct kvmm_memslot *m = s->as[a].sorted[i];
            if (!(m->flags & KVMM_MEM_LOG_DIRTY_PAGES) || m->ring_dirty)
                continue;
            if (!(m->ring_dirty = bits_alloc(m->npages, false)))
                goto nomem;
            if (m->dirty_bitmap)
                memcpy(m->ring_dirty, m->dirty_bitmap, bitmap_words(m->npages) * 8);
        }
    }
    s->ring = true;
    assert(kvmm_slots_check(s));
    return 0;
nomem:
    for (unsigned a = 0; a < s->p.nr_as; a++) {
        for (size_t i = 0; i < s->as[a].n; i++) {
            free(s->as[a].sorted[i]->ring_dirty);
            s->as[a].sorted[i]->ring_dirty = NULL;
        }
    }
    return hv_error_set(HV_ENOMEM, "kvm memslots: dirty ring state");
}

int kvmm_dirty_ring_with_bitmap(struct kvmm_slots *s, uint32_t flags, int *err)
{
    assert(!s->win.open);
    *err = -EINVAL;
    if (s->p.hooks != KVMM_HOOKS_ARM64 || !s->ring || flags)
        return 0;
    for (unsigned a = 0; a < s->p.nr_as; a++)   /* kvm_are_all_memslots_empty() */
        if (s->as[a].n)
            return 0;
    s->ring_with_bitmap = true;
    *err = 0;
    assert(check_globals(s));
    return 0;
}

bool kvmm_dirty_ring_enabled(const struct kvmm_slots *s)
{
    return s->ring;
}

bool kvmm_dirty_uses_bitmap(const struct kvmm_slots *s)
{
    return use_bitmap(s);
}

void kvmm_dirty_ring_rearm(struct kvmm_slots *s, uint32_t ring_slot, uint64_t offset,
                           uint64_t mask)
{
    assert(mask);
    struct kvmm_memslot *m = (struct kvmm_memslot *)kvmm_memslot_by_slot(s, ring_slot);
    unsigned fls = 63 - (unsigned)__builtin_clzll(mask);
    /* KVM_RESET_DIRTY_RINGS takes slots_lock, so an update in its INVALID window finishes
     * first: the slot is then gone (DELETE) or all armed anew at its new place (MOVE), and
     * re-arming changes nothing either way. */
    if (!m || (m->flags & KVMM_MEMSLOT_INVALID) || offset + fls >= m->npages)
        return;
    /* kvm_arch_mmu_enable_log_dirty_pt_masked(): the pages are write-protected again. A slot
     * that stopped logging has no ring state; its mappings are what they are. */
    if (m->ring_dirty)
        for (unsigned i = 0; i <= fls; i++)
            if (mask >> i & 1)
                m->ring_dirty[(offset + i) / 64] &= ~(1ull << ((offset + i) % 64));
    rearm(s, m, offset, mask);
}

uint64_t kvmm_dirty_lost(const struct kvmm_slots *s)
{
    return s->lost;
}
