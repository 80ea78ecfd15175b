/*
 * stlb.h - the software TLB of the 2022 "physical address based hypercalls" proposal
 * (docs/sources.md C.6), which Xen never merged: per-vCPU tables of (guest virtual address,
 * guest physical address, size) that a guest fills and empties with two new VCPUOPs, looked
 * up before the page walk of every guest-virtual hypercall buffer; on a miss the buffer is
 * translated as today, or, for an encrypted guest whose page tables Xen cannot read, fails.
 *
 * A table holds at most `capacity` entries (xen.stlb.capacity, at most XENM_STLB_MAX).
 * Invariants (xenm_stlb_check):
 *   1. n <= capacity <= XENM_STLB_MAX.
 *   2. Every entry has va, gpa and size multiples of 4096, size > 0, and neither range
 *      wraps past 2^64.
 *   3. No two entries overlap in guest virtual addresses, so a lookup has one answer.
 *   4. Every entry's stamp is below the table's clock and the stamps are distinct: the
 *      entry with the smallest stamp is the least recently used, evicted first.
 *
 * Entry life (one entry):
 *
 *   (absent) --xenm_stlb_insert--> (present) --xenm_stlb_lookup hit--> (present, newest)
 *   (present) --xenm_stlb_purge / eviction by xenm_stlb_insert into a full table--> (absent)
 */
#ifndef HV_MODELS_XEN_STLB_H
#define HV_MODELS_XEN_STLB_H

#include <stdbool.h>
#include <stdint.h>

#include "models/xen/walk.h"

#define XENM_STLB_MAX 64

/* The VCPUOPs of the proposal (numbers above Xen's highest, 15: a choice). */
enum {
    XENM_VCPUOP_stlb_insert = 16, /* arg -> {u64 va, u64 gpa, u64 size} */
    XENM_VCPUOP_stlb_purge = 17,  /* arg -> {u64 va, u64 size}; size 0 purges all */
    XENM_VCPUOP_stlb_share = 18,  /* arg = the vCPU whose table vcpuid uses from now on */
};

/* The hypercall-number bit of the physical-address flavour (a choice: C.6 leaves it open). */
#define XENM_HC_PHYS (1ULL << 30)

struct xenm_stlb_entry {
    uint64_t va, gpa, size;
    uint64_t stamp;        /* the table's clock at the insert or the last hit */
};

struct xenm_stlb {
    unsigned capacity;
    unsigned n;
    uint64_t clock;
    struct xenm_stlb_entry e[XENM_STLB_MAX];
};

/* Caller's storage; capacity 1..XENM_STLB_MAX. */
void xenm_stlb_init(struct xenm_stlb *t, unsigned capacity);
/* Invariants 1-4; true if they hold. */
bool xenm_stlb_check(const struct xenm_stlb *t);
/*
 * Inserts [va, va+size) -> gpa. Returns 0, -EINVAL (22) for a range that breaks invariant 2,
 * or -EEXIST (17) if it overlaps an entry. A full table first evicts its least recently used
 * entry: *evicted (may be NULL) is set to it, and 1 is returned instead of 0.
 */
int xenm_stlb_insert(struct xenm_stlb *t, uint64_t va, uint64_t gpa, uint64_t size,
                     struct xenm_stlb_entry *evicted);
/* Removes every entry overlapping [va, va+size) (size 0: all); returns how many. */
unsigned xenm_stlb_purge(struct xenm_stlb *t, uint64_t va, uint64_t size);
/* true and *gpa if an entry covers va (it becomes the most recently used). */
bool xenm_stlb_lookup(struct xenm_stlb *t, uint64_t va, uint64_t *gpa);

/*
 * xen.bug.stlb_purge_shared: an implementation mistake in the proposal's design. Each vCPU
 * keeps its last hit (one page) in a private lookaside in front of the table, and a purge
 * clears only the purging vCPU's: a vCPU sharing the table (VCPUOP stlb_share) still
 * translates the purged page through its lookaside, to where the entry pointed.
 */
struct xenm_stlb_last {
    bool valid;
    uint64_t va, gpa;      /* page-aligned */
};

/*
 * How copy.c translates one page of a buffer (xenm_paging.stlb): the physical flavour takes
 * the address as the GPA; otherwise the table is looked up first, then the walk, unless the
 * guest is encrypted. Every lookup is reported to note().
 */
struct xenm_stlb_use {
    struct xenm_stlb *t;   /* the running vCPU's table, NULL for none */
    unsigned table;        /* whose table it is, for note() */
    bool encrypted;        /* xen.stlb.encrypted: no walk */
    bool phys;             /* the call has XENM_HC_PHYS: buffers are GPAs, no lookup */
    /* w->why is XENM_WALK_OK with w->gpa, or why the translation failed */
    void (*note)(void *ctx, unsigned table, uint64_t va, bool hit, const struct xenm_walk *w);
    void *ctx;
    /* xen.bug.stlb_purge_shared: the translating vCPU's one-page lookaside of its last hit,
     * consulted after a table miss; NULL without the bug */
    struct xenm_stlb_last *last;
};

enum xenm_walk_why xenm_stlb_translate(const struct xenm_mem *m, const struct xenm_paging *p,
                                       uint64_t va, uint32_t access, struct xenm_walk *w);

#endif
