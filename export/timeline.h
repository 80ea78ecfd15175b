/*
 * timeline.h - a trace laid out in time, what `hvsim export` draws (docs/export.md).
 *
 * Time is the run's instruction clock: the instructions every vCPU retired so far, summed
 * over the vCPUs (a vCPU migrated to another VM keeps its count, so a destination's clock
 * continues the source's). One host thread runs one vCPU at a time, so vCPU slices never
 * overlap. An event of the VM or the host (vcpu -1) happens at the clock of its moment.
 *
 * Tracks: per VM, one per vCPU (TL_TRACK_VCPU(n)), one for the host and its VMM, and one for
 * migration rounds. Items: a vCPU's slice from the `sched` that gave it the CPU to the next
 * `sched`, its halt or end (named after what ended it); every other event as an instant on
 * its track; host steps and the VMM's answers to exits as zero-length slices on the VMM
 * track; migration rounds as slices on the migration track. Flows join a forwarded exit to
 * the VMM's answer, each leg of a Xen continuation to the next, and a migration's last round
 * to the destination's switch-over.
 */
#ifndef HV_EXPORT_TIMELINE_H
#define HV_EXPORT_TIMELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { TL_TRACK_VMM = -1, TL_TRACK_MIG = -2 };   /* tracks >= 0 are vCPU ids */

enum tl_type { TL_SLICE, TL_INSTANT };

struct tl_item {
    enum tl_type type;
    uint32_t vm;
    int32_t track;           /* vCPU id, TL_TRACK_VMM or TL_TRACK_MIG */
    uint64_t ts, dur;        /* run clock; dur 0 for instants */
    uint64_t seq;            /* the event it stands for (a slice: the event that began it) */
    const char *kind;        /* event kind name (static) */
    char *name;              /* label; owned */
    char *args;              /* JSON object: the event's detail with its seq; owned */
};

struct tl_flow {
    uint64_t id;             /* 1, 2, ... */
    size_t from, to;         /* item indices */
    const char *what;        /* "exit", "continuation" or "migration" */
};

struct tl_vm {
    uint32_t nr_vcpus;       /* highest vCPU id seen + 1 */
    bool migrates_out;       /* a migration left this VM */
};

struct timeline {
    char *scenario, *arch, *model, *outcome;   /* from run_info; owned */
    struct tl_item *items;
    size_t nitems, cap;
    struct tl_flow *flows;
    size_t nflows, fcap;
    struct tl_vm *vms;
    uint32_t nvms;
    uint64_t end;            /* the clock at the last event */
    /* the part to export (timeline_window()): items of seq from..to, over clock t0..t1 */
    uint64_t from, to, t0, t1;
    uint64_t events;         /* events read */
};

/*
 * Reads the trace at path into *out. 0, or an hv_err (a trace the reader refuses: HV_ETRACE
 * with hv_error_detail()). Caller owns *out; release with timeline_free().
 */
int timeline_load(const char *path, struct timeline **out);
void timeline_free(struct timeline *tl);

/* Keeps the items of events from..to (inclusive) for export; false when none is left. */
bool timeline_window(struct timeline *tl, uint64_t from, uint64_t to);
/* Whether item i is in the window. */
bool timeline_shown(const struct timeline *tl, size_t i);

/* "vCPU 3", "VMM (host)" or "migration", for track labels. */
void timeline_track_name(int32_t track, char *buf, size_t size);

#endif
