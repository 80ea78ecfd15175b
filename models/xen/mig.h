/*
 * mig.h - Xen's log-dirty mode for an HVM domain (paging_log_dirty, xen/arch/x86/mm/paging.c
 * at c447b7308b) as the toolstack's save side uses it (tools/libs/guest/xg_sr_save.c): a
 * bitmap over the domain's RAM pages, marked by guest stores and by Xen's own
 * paging_mark_dirty(), read and cleared by XEN_DOMCTL_SHADOW_OP_CLEAN. Pure data; mig.c has
 * the model's migration ops (sim/model.h) and what the restore side carries over.
 *
 * Invariants (xenm_logdirty_check):
 *   1. Off: no bitmap, count 0. On: a bitmap of npages bits.
 *   2. count is the number of set bits (dirty_count of the stats).
 *
 *   (off) --xenm_logdirty_enable--> (on, clean) --mark--> (on, dirty)
 *   (on, dirty) --xenm_logdirty_clean--> (on, clean)   (on) --xenm_logdirty_disable--> (off)
 */
#ifndef HV_MODELS_XEN_MIG_H
#define HV_MODELS_XEN_MIG_H

#include <stdbool.h>
#include <stdint.h>

struct xenm_logdirty {
    bool on;
    uint64_t base_gfn, npages;  /* the RAM the bitmap covers */
    uint64_t *bits;             /* npages bits; NULL when off */
    uint64_t count;             /* set bits */
};

/* XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY over [base_gfn, base_gfn + npages), all clean.
 * 0, or -1 if out of memory (the log stays off). */
int xenm_logdirty_enable(struct xenm_logdirty *ld, uint64_t base_gfn, uint64_t npages);
/* XEN_DOMCTL_SHADOW_OP_OFF; also frees the bitmap. */
void xenm_logdirty_disable(struct xenm_logdirty *ld);
/* paging_mark_pfn_dirty: nothing when off or when gfn is not in the domain's RAM. */
void xenm_logdirty_mark(struct xenm_logdirty *ld, uint64_t gfn);
bool xenm_logdirty_test(const struct xenm_logdirty *ld, uint64_t gfn);
/*
 * XEN_DOMCTL_SHADOW_OP_CLEAN: page(ctx, gfn) for every dirty page in gfn order, then the
 * bitmap and count are cleared (paging_log_dirty_op with clean = 1 clears each leaf after
 * copying it). Stops at page's first non-zero result and returns it; the pages not yet
 * reported stay dirty.
 */
int xenm_logdirty_clean(struct xenm_logdirty *ld, int (*page)(void *ctx, uint64_t gfn),
                        void *ctx);
bool xenm_logdirty_check(const struct xenm_logdirty *ld);

#endif
