/*
 * memop.c - memory_op reservations and their continuations (memop.h has the rules), and the
 * memory_op hypercall of the Xen model.
 *
 * A reservation op runs in legs:
 *
 *   guest: vmcall, RAX = 12, RDI = op | start << 6
 *        |
 *   xenm_memop_leg: extents start.. until done, failed, or preempted
 *        |-- preempted --> RAX = 12, RDI = op | nr_done << 6, RIP kept (xenm_memory_op sets
 *        |                 c->preempted; xen_hypercall returns HV_ACT_RETRY): the vCPU
 *        |                 re-executes the vmcall whenever the scheduler runs it next
 *        `-- otherwise --> RAX = extents done, RIP advanced
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/xen/memop.h"
#include "models/xen/xen_int.h"

/* ---- xen.preempt ---- */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

int xenm_preempt_parse(const char *s, uint64_t seed, struct xenm_preempt *p)
{
    memset(p, 0, sizeof *p);
    if (strcmp(s, "never") == 0) {
        p->kind = XENM_PREEMPT_NEVER;
        return 0;
    }
    if (strcmp(s, "seed") == 0) {
        p->kind = XENM_PREEMPT_SEED;
        /* a stream of its own, so that it does not shift the scheduler's draws */
        p->state = seed ^ 0x78656e2e70726565ULL; /* "xen.pree" */
        return 0;
    }
    if (strncmp(s, "every:", 6) == 0) {
        const char *d = s + 6;
        char *end;
        if (*d < '0' || *d > '9')
            return -1;
        unsigned long long n = strtoull(d, &end, 10);
        if (*end || n == 0)
            return -1;
        p->kind = XENM_PREEMPT_EVERY;
        p->every = n;
        return 0;
    }
    return -1;
}

bool xenm_preempt_check(struct xenm_preempt *p, uint64_t done_in_leg)
{
    switch (p->kind) {
    case XENM_PREEMPT_EVERY:
        return done_in_leg % p->every == 0;
    case XENM_PREEMPT_SEED:
        return hv_schedule_preempt(p->sched, (splitmix64(&p->state) & 3) == 0);
    default:
        return false;
    }
}

/* ---- one leg (rules 1-5) ---- */

void xenm_reservation_decode(const uint8_t b[XENM_RESERVATION_SIZE], struct xenm_reservation *r)
{
    uint64_t q[3];
    for (unsigned k = 0; k < 3; k++) {
        q[k] = 0;
        for (unsigned i = 0; i < 8; i++)
            q[k] |= (uint64_t)b[8 * k + i] << (8 * i);
    }
    r->extent_start = q[0];
    r->nr_extents = q[1];
    r->extent_order = (uint32_t)q[2];
    r->mem_flags = (uint32_t)(q[2] >> 32);
    r->domid = (uint16_t)(b[24] | b[25] << 8);
}

void xenm_memop_leg(uint64_t cmd, const struct xenm_reservation *r, uint32_t domid,
                    struct xenm_preempt *p, bool bug, int (*extent)(void *ctx, uint64_t i),
                    void *ctx, struct xenm_leg *out)
{
    memset(out, 0, sizeof *out);
    out->op = xenm_memop_op(cmd);
    out->start = xenm_memop_start(cmd);
    out->ret = (int64_t)out->start;                     /* rule 2 */
    if (out->op == XENM_MEM_exchange) {
        out->ret = out->start ? -XENM_EINVAL : -XENM_ENOSYS;
        out->rule = out->start ? "XENMEM_exchange: start_extent != 0"
                               : "XENMEM_exchange not modeled";
        return;
    }
    if (!r) {
        out->rule = "copy_from_guest of the reservation failed";
        return;
    }
    out->nr_extents = r->nr_extents;
    if (r->nr_extents > XENM_MEMOP_MAX_EXTENTS) {
        out->rule = "nr_extents > UINT_MAX >> MEMOP_EXTENT_SHIFT";
        return;
    }
    if (out->start >= r->nr_extents) {
        out->rule = "start_extent >= nr_extents";
        return;
    }
    if (r->domid != XENM_DOMID_SELF && r->domid != domid) {
        out->rule = "domid: not this domain";
        return;
    }
    if (r->extent_order != 0) {
        out->rule = "extent_order != 0 not modeled";
        return;
    }
    uint64_t i;
    for (i = out->start; i < r->nr_extents; i++) {
        if (i != out->start && xenm_preempt_check(p, i - out->start)) {   /* rule 3 */
            out->preempted = true;
            break;
        }
        if (extent(ctx, i))
            break;
    }
    out->done = i - out->start;
    if (out->preempted) {                                                /* rule 4 */
        out->next_cmd = xenm_memop_cmd(out->op, bug ? i + 1 : i);
        out->ret = XENM_HC_memory_op;
        out->rule = bug ? "preempted: continuation (bug: start extent + 1)"
                        : "preempted: continuation";
        return;
    }
    out->ret = (int64_t)i;
    out->rule = i == r->nr_extents ? "all extents done" : "an extent failed: extents done";
}

/* ---- the domain's memory ---- */

static void set_bit(struct xenm_memop *m, uint64_t gfn, bool on)
{
    uint64_t bit = 1ULL << (gfn % 64);
    if (on)
        m->populated[gfn / 64] |= bit;
    else
        m->populated[gfn / 64] &= ~bit;
}

bool xenm_memop_populated(const struct xenm_memop *m, uint64_t gfn)
{
    return gfn < XENM_MEMOP_GFNS && (m->populated[gfn / 64] >> (gfn % 64) & 1);
}

void xenm_memop_init(struct xenm_memop *m, uint64_t base, uint64_t size)
{
    memset(m, 0, sizeof *m);
    for (uint64_t g = base >> 12; g < (base + size) >> 12 && g < XENM_MEMOP_GFNS; g++) {
        set_bit(m, g, true);
        m->tot_pages++;
    }
    m->max_pages = m->tot_pages + 256;
    assert(xenm_memop_check(m));
}

bool xenm_memop_check(const struct xenm_memop *m)
{
    uint64_t n = 0;
    for (size_t i = 0; i < sizeof m->populated / sizeof m->populated[0]; i++)
        n += (uint64_t)__builtin_popcountll(m->populated[i]);
    return n + m->unmapped == m->tot_pages && m->tot_pages <= m->max_pages;
}

const char *xenm_memop_increase(struct xenm_memop *m)
{
    if (m->tot_pages >= m->max_pages)
        return "over max_pages";
    m->tot_pages++;
    m->unmapped++;
    return NULL;
}

const char *xenm_memop_populate(struct xenm_memop *m, uint64_t gfn)
{
    if (gfn >= XENM_MEMOP_GFNS)
        return "gfn beyond the modeled physmap";
    if (xenm_memop_populated(m, gfn))
        return "gfn already populated";
    if (m->tot_pages >= m->max_pages)
        return "over max_pages";
    set_bit(m, gfn, true);
    m->tot_pages++;
    return NULL;
}

const char *xenm_memop_decrease(struct xenm_memop *m, uint64_t gfn)
{
    if (!xenm_memop_populated(m, gfn))
        return "gfn not populated";
    set_bit(m, gfn, false);
    m->tot_pages--;
    return NULL;
}

/* ---- the hypercall ---- */

struct extent_ctx {
    struct xenm_call *c;
    const struct xenm_reservation *r;
    unsigned op;
    const char *why;        /* why an extent stopped the op */
};

static int do_extent(void *ctx, uint64_t i)
{
    struct extent_ctx *e = ctx;
    struct xenm_memop *m = e->c->x->mem;
    if (e->op == XENM_MEM_increase_reservation) {
        e->why = xenm_memop_increase(m);
    } else {
        uint8_t b[8];
        if (xenm_from_guest(e->c, b, e->r->extent_start + 8 * i, sizeof b)) {
            e->why = "copy_from_guest of the extent failed";
            return 1;
        }
        uint64_t gfn = 0;
        for (unsigned k = 0; k < 8; k++)
            gfn |= (uint64_t)b[k] << (8 * k);
        e->why = e->op == XENM_MEM_populate_physmap ? xenm_memop_populate(m, gfn)
                                                    : xenm_memop_decrease(m, gfn);
    }
    assert(xenm_memop_check(m));
    return e->why != NULL;
}

static void current_reservation(struct xenm_call *c)
{
    uint8_t b[2];
    if (xenm_from_guest(c, b, c->args[1], sizeof b)) {
        c->ret = -XENM_EFAULT;
        c->rule = "XENMEM_current_reservation: copy_from_guest failed";
        return;
    }
    uint16_t domid = (uint16_t)(b[0] | b[1] << 8);
    if (domid != XENM_DOMID_SELF && domid != c->x->domid) {
        c->ret = -XENM_ESRCH;
        c->rule = "XENMEM_current_reservation: not this domain";
        return;
    }
    c->ret = (int64_t)c->x->mem->tot_pages;
    c->rule = "XENMEM_current_reservation: tot_pages";
}

/*
 * cmd as a hypervisor with MEMOP_EXTENT_SHIFT shift reads it, in the layout of shift 6 that
 * xenm_memop_leg() takes: the start extent of a continuation saved on a hypervisor with
 * another shift comes out wrong (xen.bug.continuation_extent_shift, C.4).
 */
static uint64_t cmd_from(uint64_t cmd, unsigned shift)
{
    if (shift == XENM_MEMOP_EXTENT_SHIFT)
        return cmd;
    return (cmd & ((1u << shift) - 1)) | (cmd >> shift) << XENM_MEMOP_EXTENT_SHIFT;
}

/* The inverse: a shift-6 cmd as this hypervisor encodes it. */
static uint64_t cmd_to(uint64_t cmd, unsigned shift)
{
    if (shift == XENM_MEMOP_EXTENT_SHIFT)
        return cmd;
    return xenm_memop_op(cmd) | xenm_memop_start(cmd) << shift;
}

void xenm_memory_op(struct xenm_call *c)
{
    uint64_t raw = c->args[0], cmd = cmd_from(raw, c->x->extent_shift);
    unsigned op = xenm_memop_op(cmd);
    if (op == XENM_MEM_current_reservation) {
        current_reservation(c);
        return;
    }
    if (op != XENM_MEM_increase_reservation && op != XENM_MEM_decrease_reservation &&
        op != XENM_MEM_populate_physmap && op != XENM_MEM_exchange) {
        c->ret = -XENM_ENOSYS;
        c->rule = "memory_op command not modeled";
        return;
    }
    struct xenm_reservation r;
    const struct xenm_reservation *rp = NULL;
    uint8_t b[XENM_RESERVATION_SIZE];
    if (op != XENM_MEM_exchange && !xenm_from_guest(c, b, c->args[1], sizeof b)) {
        xenm_reservation_decode(b, &r);
        rp = &r;
    }
    struct extent_ctx e = { .c = c, .r = rp, .op = op };
    struct xenm_leg leg;
    xenm_memop_leg(cmd, rp, c->x->domid, &c->x->preempt, c->x->bug_progress, do_extent, &e,
                   &leg);
    c->ret = leg.ret;
    c->rule = leg.rule;
    if (e.why && !leg.preempted) {
        snprintf(c->rule_buf, sizeof c->rule_buf, "extent %llu: %s: extents done",
                 (unsigned long long)(leg.start + leg.done), e.why);
        c->rule = c->rule_buf;
    }
    if (leg.preempted) {
        c->preempted = true;
        c->cont_a0 = cmd_to(leg.next_cmd, c->x->extent_shift);
    }
    if (op == XENM_MEM_exchange)
        return;
    struct hv_ev_xen_continuation ev = {
        .cmd = raw, .op = op, .start = leg.start, .nr_extents = leg.nr_extents,
        .done = leg.done, .preempted = leg.preempted,
        .next_cmd = leg.preempted ? c->cont_a0 : 0,
        .next_start = xenm_memop_start(leg.next_cmd), .tot_pages = c->x->mem->tot_pages,
    };
    hv_vcpu_emit(c->v, HV_EV_xen_continuation, &ev);
}
