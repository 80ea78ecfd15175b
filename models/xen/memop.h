/*
 * memop.h - memory_op reservations with hypercall continuations (docs/sources.md C.4):
 * XENMEM_increase_reservation, decrease_reservation and populate_physmap over an extent list,
 * preempted between extents and resumed by re-executing the hypercall instruction with the
 * start extent in the high bits of the command.
 *
 * Rules (xen/common/memory.c do_memory_op, xen/include/xen/hypercall.h at c447b7308b):
 *   1. cmd = op | start_extent << MEMOP_EXTENT_SHIFT (6); op = cmd & MEMOP_CMD_MASK (0x3f).
 *   2. The result of a reservation op is the number of extents completed (never an errno);
 *      every early failure returns start_extent: the struct copy fails, nr_extents >
 *      UINT_MAX >> 6, start_extent >= nr_extents, a domid that is not this domain.
 *   3. Preemption is checked before each extent but the first of a leg, so every leg that
 *      gets past rule 2 does at least one extent.
 *   4. A preempted leg is a continuation memory_op(op | nr_done << 6, arg): RAX = 12, RDI =
 *      the new cmd, RIP not advanced (C.1, C.4).
 *   5. XENMEM_exchange with start_extent != 0 is -EINVAL.
 *
 * The domain's memory (struct xenm_memop) is a page count and the set of populated GFNs.
 * Invariants (xenm_memop_check):
 *   1. tot_pages = populated GFNs + pages from increase_reservation (which an HVM domain gets
 *      with no GFN: increase_reservation maps nothing for a translated domain).
 *   2. tot_pages <= max_pages.
 */
#ifndef HV_MODELS_XEN_MEMOP_H
#define HV_MODELS_XEN_MEMOP_H

#include <stdbool.h>
#include <stdint.h>

struct hv_schedule;

#define XENM_MEMOP_EXTENT_SHIFT 6
#define XENM_MEMOP_CMD_MASK 0x3fu
#define XENM_MEMOP_MAX_EXTENTS (UINT32_MAX >> XENM_MEMOP_EXTENT_SHIFT)  /* 0x3ffffff */
#define XENM_MEMOP_GFNS (1u << 20)     /* GFNs the model tracks: the first 4 GiB (a choice) */
#define XENM_DOMID_SELF 0x7ff0u

enum {
    XENM_MEM_increase_reservation = 0, XENM_MEM_decrease_reservation = 1,
    XENM_MEM_current_reservation = 3, XENM_MEM_populate_physmap = 6, XENM_MEM_exchange = 11,
};

/* Rule 1. */
static inline uint64_t xenm_memop_cmd(unsigned op, uint64_t start)
{
    return (uint64_t)op | start << XENM_MEMOP_EXTENT_SHIFT;
}
static inline unsigned xenm_memop_op(uint64_t cmd)
{
    return (unsigned)(cmd & XENM_MEMOP_CMD_MASK);
}
static inline uint64_t xenm_memop_start(uint64_t cmd)
{
    return cmd >> XENM_MEMOP_EXTENT_SHIFT;
}

/* xen.preempt: when hypercall_preempt_check() says yes. */
struct xenm_preempt {
    enum { XENM_PREEMPT_NEVER, XENM_PREEMPT_EVERY, XENM_PREEMPT_SEED } kind;
    uint64_t every;     /* EVERY: after this many extents of a leg */
    uint64_t state;     /* SEED: the splitmix64 state */
    struct hv_schedule *sched; /* SEED: the run's schedule, which records (or, when loaded,
                                * makes) each answer; NULL: the draw alone */
};

/* Parses "never", "every:N" (N >= 1) or "seed"; seed is the run's seed. 0 or -1. */
int xenm_preempt_parse(const char *s, uint64_t seed, struct xenm_preempt *p);
/* hypercall_preempt_check() before an extent, done_in_leg extents into the leg (>= 1). SEED:
 * one splitmix64 draw, yes when its low two bits are 0. */
bool xenm_preempt_check(struct xenm_preempt *p, uint64_t done_in_leg);

/* struct xen_memory_reservation as the guest passed it (64-bit layout, 32 bytes). */
struct xenm_reservation {
    uint64_t extent_start;  /* guest handle: xen_pfn_t[] */
    uint64_t nr_extents;
    uint32_t extent_order;
    uint32_t mem_flags;
    uint16_t domid;
};
#define XENM_RESERVATION_SIZE 32
void xenm_reservation_decode(const uint8_t b[XENM_RESERVATION_SIZE], struct xenm_reservation *r);

/* One invocation of memory_op (a leg). */
struct xenm_leg {
    unsigned op;
    uint64_t start;         /* start extent from cmd */
    uint64_t nr_extents;    /* from the struct, 0 if not read */
    uint64_t done;          /* extents completed in this leg */
    bool preempted;
    uint64_t next_cmd;      /* preempted: the cmd the continuation re-executes with */
    int64_t ret;            /* the result when not preempted */
    const char *rule;
};

/*
 * Does one leg of reservation op cmd (rules 1-5): r is the copied struct, or NULL if the copy
 * failed; domid is this domain's id. extent(ctx, i) performs extent i and returns 0, or
 * non-zero to stop there (the result is then i). bug = xen.bug.continuation_progress: the
 * continuation skips one extent (nr_done + 1 << 6), losing its progress.
 */
void xenm_memop_leg(uint64_t cmd, const struct xenm_reservation *r, uint32_t domid,
                    struct xenm_preempt *p, bool bug, int (*extent)(void *ctx, uint64_t i),
                    void *ctx, struct xenm_leg *out);

/* The domain's memory. */
struct xenm_memop {
    uint64_t tot_pages, max_pages;
    uint64_t unmapped;      /* pages from increase_reservation (no GFN) */
    uint64_t populated[XENM_MEMOP_GFNS / 64];
};

/* All of [base, base+size) populated; max_pages = tot_pages + 256 (libxl's 1 MiB slack). */
void xenm_memop_init(struct xenm_memop *m, uint64_t base, uint64_t size);
bool xenm_memop_check(const struct xenm_memop *m);
bool xenm_memop_populated(const struct xenm_memop *m, uint64_t gfn);
/* One extent of order 0; 0 on success, else the reason it stops the op. */
const char *xenm_memop_increase(struct xenm_memop *m);
const char *xenm_memop_populate(struct xenm_memop *m, uint64_t gfn);
const char *xenm_memop_decrease(struct xenm_memop *m, uint64_t gfn);

#endif
