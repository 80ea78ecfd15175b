/*
 * areas.h - the runstate and time areas of docs/sources.md C.5: what Xen keeps per vCPU, the
 * bytes it writes into the guest and in what order, and the checks of a registration by
 * physical address. Pure functions over plain data; areas.c also has the model glue (the
 * VCPUOPs, vm_assist, the context-switch updates).
 *
 * Rules (Xen at c447b7308b; each is a row of the `areas` test suite):
 *   1. vcpu_runstate_change (common/sched/core.c): nothing if the state is unchanged; else
 *      time[old] += now - entry and entry = now when now > entry; then the new state.
 *   2. vcpu_runstate_get: a copy with time[state] += now - entry when positive.
 *   3. update_runstate_area (common/domain.c), linear registration: with VMASST 5
 *      (runstate_update_flag) one byte, the top byte of state_entry_time | UPDATE (offset 15),
 *      then the whole struct with the flag, then that byte without it; without VMASST 5 the
 *      struct alone. Physical registration: always the flag protocol, with 8-byte writes of
 *      state_entry_time (offset 8).
 *   4. Registering a linear area writes the struct at once (the snapshot of rule 2 for
 *      another vCPU); a physical one only when the subject is the calling vCPU.
 *   5. Time area (arch/x86/time.c): a forced update, or one whose record differs from the
 *      primary copy in vcpu_info, makes the primary version (v+1)|1, writes it, then v+1; the
 *      secondary copy then gets the odd version (4 bytes at offset 0), the 32-byte record
 *      with that version, and the version + 1. A linear secondary copy stops after the first
 *      write if none of its 4 bytes landed. Registering a physical time area writes version
 *      0xffffffff, the record with it, then version 0.
 *   6. map_guest_area (common/domain.c): an area crossing a page boundary or not aligned to
 *      8 is -ENXIO; a GFN that is not RAM is -EINVAL (hvsim has no MMIO, paged or shared
 *      pages, so -EPERM, -EAGAIN and -EACCES cannot occur); ~0 unregisters.
 */
#ifndef HV_MODELS_XEN_AREAS_H
#define HV_MODELS_XEN_AREAS_H

#include <stdbool.h>
#include <stdint.h>

enum { XENM_RS_running = 0, XENM_RS_runnable = 1, XENM_RS_blocked = 2, XENM_RS_offline = 3 };

#define XENM_RUNSTATE_UPDATE (1ULL << 63)
#define XENM_RUNSTATE_SIZE 48
#define XENM_TIME_SIZE 32
#define XENM_VMASST_runstate_update_flag 5

/* struct vcpu_runstate_info, native (public/vcpu.h) */
struct xenm_runstate {
    int32_t state;
    uint64_t entry;        /* state_entry_time, ns */
    uint64_t time[4];
};

/* struct vcpu_time_info (public/xen.h) */
struct xenm_time {
    uint32_t version;
    uint64_t tsc_timestamp;
    uint64_t system_time;
    uint32_t mul;          /* tsc_to_system_mul */
    int8_t shift;          /* tsc_shift */
    uint8_t flags;         /* XEN_PVCLOCK_TSC_STABLE_BIT 1, GUEST_STOPPED 2 */
};

static inline uint32_t xenm_version_begin(uint32_t v) { return (v + 1) | 1; }
static inline uint32_t xenm_version_end(uint32_t v) { return v + 1; }

/* Rules 1 and 2. */
void xenm_runstate_change(struct xenm_runstate *r, int32_t state, uint64_t now);
void xenm_runstate_get(const struct xenm_runstate *r, uint64_t now, struct xenm_runstate *out);

/* The guest's little-endian layouts. */
void xenm_runstate_bytes(const struct xenm_runstate *r, uint8_t out[XENM_RUNSTATE_SIZE]);
void xenm_time_bytes(const struct xenm_time *t, uint8_t out[XENM_TIME_SIZE]);

/* One store Xen makes into an area, and the stores of one update in order. */
struct xenm_area_write {
    uint32_t off, len;
    uint8_t bytes[XENM_RUNSTATE_SIZE];
};
struct xenm_area_plan {
    unsigned n;
    struct xenm_area_write w[3];
};

/* Rule 3: an update of a linear (phys = false) or physical registration. */
void xenm_runstate_plan(const struct xenm_runstate *r, bool phys, bool update_flag,
                        struct xenm_area_plan *p);
/* Rule 5: the secondary copy's writes for a record whose version is already odd. */
void xenm_time_plan(const struct xenm_time *odd, struct xenm_area_plan *p);

/*
 * The time record Xen's collect_time_info() gives on hvsim's modeled host: a 1 GHz TSC equal
 * to system time in ns (hv_vm_now()), emulated (vtsc), so tsc_timestamp = system_time = the
 * last calibration stamp, now rounded down to a multiple of period; mul 0x80000000 and shift
 * 1 (set_time_scale for 10^9 ticks per second); flags TSC_STABLE. version is left 0.
 */
void xenm_time_collect(uint64_t now, uint64_t period, struct xenm_time *t);

/* Rule 6 for an area of size bytes at gaddr (not ~0); ram(ctx, gfn) says whether gfn is RAM.
 * Returns 0 or a negative errno. *why gets the rule. */
int xenm_area_map_check(uint64_t gaddr, unsigned size, bool (*ram)(void *ctx, uint64_t gfn),
                        void *ctx, const char **why);

#endif
