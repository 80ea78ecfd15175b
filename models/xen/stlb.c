/*
 * stlb.c - the software TLB of C.6 (stlb.h has the invariants) and its VCPUOPs.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "models/xen/stlb.h"
#include "models/xen/xen_int.h"

#define PAGE_MASK_4K 0xfffULL

void xenm_stlb_init(struct xenm_stlb *t, unsigned capacity)
{
    assert(capacity >= 1 && capacity <= XENM_STLB_MAX);
    memset(t, 0, sizeof *t);
    t->capacity = capacity;
    assert(xenm_stlb_check(t));
}

/* Invariant 2 for one range. */
static bool range_ok(uint64_t va, uint64_t gpa, uint64_t size)
{
    return size != 0 && !((va | gpa | size) & PAGE_MASK_4K) && size - 1 <= UINT64_MAX - va &&
           size - 1 <= UINT64_MAX - gpa;
}

/* [a, a+as) and [b, b+bs) share an address; neither wraps. */
static bool overlap(uint64_t a, uint64_t as, uint64_t b, uint64_t bs)
{
    return a - b < bs || b - a < as;
}

bool xenm_stlb_check(const struct xenm_stlb *t)
{
    if (t->capacity > XENM_STLB_MAX || t->n > t->capacity)
        return false;
    for (unsigned i = 0; i < t->n; i++) {
        const struct xenm_stlb_entry *e = &t->e[i];
        if (!range_ok(e->va, e->gpa, e->size) || e->stamp >= t->clock)
            return false;
        for (unsigned j = i + 1; j < t->n; j++)
            if (overlap(e->va, e->size, t->e[j].va, t->e[j].size) ||
                e->stamp == t->e[j].stamp)
                return false;
    }
    return true;
}

int xenm_stlb_insert(struct xenm_stlb *t, uint64_t va, uint64_t gpa, uint64_t size,
                     struct xenm_stlb_entry *evicted)
{
    if (!range_ok(va, gpa, size))
        return -XENM_EINVAL;
    for (unsigned i = 0; i < t->n; i++)
        if (overlap(va, size, t->e[i].va, t->e[i].size))
            return -XENM_EEXIST;
    int ret = 0;
    if (t->n == t->capacity) {
        unsigned lru = 0;
        for (unsigned i = 1; i < t->n; i++)
            if (t->e[i].stamp < t->e[lru].stamp)
                lru = i;
        if (evicted)
            *evicted = t->e[lru];
        t->e[lru] = t->e[--t->n];
        ret = 1;
    }
    t->e[t->n++] = (struct xenm_stlb_entry){ va, gpa, size, t->clock++ };
    assert(xenm_stlb_check(t));
    return ret;
}

unsigned xenm_stlb_purge(struct xenm_stlb *t, uint64_t va, uint64_t size)
{
    unsigned purged = 0;
    /* a range that runs past 2^64 purges up to the top (va > 0 there, so span > 0) */
    uint64_t span = size - 1 > UINT64_MAX - va ? UINT64_MAX - va + 1 : size;
    for (unsigned i = 0; i < t->n;) {
        bool hit = size == 0 || overlap(va, span, t->e[i].va, t->e[i].size);
        if (hit) {
            /* keep the order of the rest: lookups and eviction do not depend on it, but a
             * reader of a dump does */
            memmove(&t->e[i], &t->e[i + 1], (t->n - i - 1) * sizeof t->e[0]);
            t->n--;
            purged++;
        } else {
            i++;
        }
    }
    assert(xenm_stlb_check(t));
    return purged;
}

bool xenm_stlb_lookup(struct xenm_stlb *t, uint64_t va, uint64_t *gpa)
{
    for (unsigned i = 0; i < t->n; i++) {
        struct xenm_stlb_entry *e = &t->e[i];
        if (va - e->va < e->size) {
            *gpa = e->gpa + (va - e->va);
            e->stamp = t->clock++;
            assert(xenm_stlb_check(t));
            return true;
        }
    }
    return false;
}

enum xenm_walk_why xenm_stlb_translate(const struct xenm_mem *m, const struct xenm_paging *p,
                                       uint64_t va, uint32_t access, struct xenm_walk *w)
{
    const struct xenm_stlb_use *u = p->stlb;
    if (!u)
        return xenm_walk(m, p, va, access, w);
    if (u->phys) {
        /* the physical-address flavour: the buffer address is the GPA */
        *w = (struct xenm_walk){ .gpa = va, .why = XENM_WALK_OK };
        return XENM_WALK_OK;
    }
    if (!u->t)
        return xenm_walk(m, p, va, access, w);
    uint64_t gpa;
    bool hit = xenm_stlb_lookup(u->t, va, &gpa);
    if (hit && u->last)
        *u->last = (struct xenm_stlb_last){ true, va & ~0xfffULL, gpa & ~0xfffULL };
    else if (!hit && u->last && u->last->valid && (va & ~0xfffULL) == u->last->va) {
        gpa = u->last->gpa | (va & 0xfff);   /* the bug: a purged entry still answers */
        hit = true;
    }
    if (hit)
        *w = (struct xenm_walk){ .gpa = gpa, .why = XENM_WALK_OK };
    else if (u->encrypted)
        *w = (struct xenm_walk){ .why = XENM_WALK_STLB_MISS, .pfec = access };
    else
        xenm_walk(m, p, va, access, w);
    if (u->note)
        u->note(u->ctx, u->table, va, hit, w);
    return w->why;
}

/* ---- the VCPUOPs ---- */

void xenm_stlb_vcpu_op(struct xenm_call *c, int cmd, unsigned vcpuid)
{
    struct xenm_stlb *t = &c->x->stlb[c->x->stlb_of[vcpuid]];
    uint64_t a[3];
    switch (cmd) {
    case XENM_VCPUOP_stlb_insert: {
        if (xenm_from_guest(c, a, c->args[2], sizeof a)) {
            c->ret = -XENM_EFAULT;
            c->rule = "stlb_insert: copy_from_guest failed";
            break;
        }
        struct xenm_stlb_entry ev;
        int r = xenm_stlb_insert(t, a[0], a[1], a[2], &ev);
        c->ret = r < 0 ? r : 0;
        if (r == -XENM_EINVAL)
            c->rule = "stlb_insert: va, gpa, size not 4 KiB multiples, size 0 or wrapping";
        else if (r == -XENM_EEXIST)
            c->rule = "stlb_insert: overlaps an entry";
        else if (r == 1) {
            snprintf(c->rule_buf, sizeof c->rule_buf,
                     "stlb_insert: table %u full, evicted va 0x%" PRIx64,
                     c->x->stlb_of[vcpuid], ev.va);
            c->rule = c->rule_buf;
        } else
            c->rule = "stlb_insert";
        break;
    }
    case XENM_VCPUOP_stlb_purge:
        if (xenm_from_guest(c, a, c->args[2], 2 * sizeof a[0])) {
            c->ret = -XENM_EFAULT;
            c->rule = "stlb_purge: copy_from_guest failed";
            break;
        }
        c->ret = xenm_stlb_purge(t, a[0], a[1]);
        c->rule = "stlb_purge";
        /* xen.bug.stlb_purge_shared: only the purging vCPU's lookaside is cleared */
        c->x->stlb_last[hv_vcpu_id(c->v)].valid = false;
        break;
    case XENM_VCPUOP_stlb_share:
        if (c->args[2] >= hv_vm_nr_vcpus(hv_vcpu_vm(c->v))) {
            c->ret = -XENM_ENOENT;
            c->rule = "stlb_share: no such vCPU";
            break;
        }
        /* its own table again when it names itself, else the table that vCPU uses */
        c->x->stlb_of[vcpuid] =
            c->args[2] == vcpuid ? (uint8_t)vcpuid : c->x->stlb_of[c->args[2]];
        c->ret = 0;
        c->rule = "stlb_share";
        break;
    default:
        assert(0 && "not a software TLB VCPUOP");
        break;
    }
}
