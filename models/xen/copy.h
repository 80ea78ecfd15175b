/*
 * copy.h - copy_to_guest / copy_from_guest for HVM (docs/sources.md C.3): __hvm_copy() over a
 * guest-virtual range, page by page, through the running vCPU's page tables (walk.h).
 *
 * Rules (xen/arch/x86/hvm/hvm.c at c447b7308b):
 *   1. Each page is translated (walk.h; writes ask for PFEC_write_access, neither asks for
 *      PFEC_user_mode: copy_to_user_hvm passes pfec 0) and must be RAM, then copied. With
 *      p->stlb set, the translation is stlb.h's (physical flavour, software TLB, then walk).
 *   2. A page that fails stops the copy; the pages before it stay written (no rollback).
 *   3. The result is Xen's copy_to_user convention: 0, or the whole length on any failure
 *      (callers turn it into -EFAULT).
 *   4. Written data pages are reported to mem->dirty (paging_mark_pfn_dirty).
 *   5. The address advances modulo 2^64; the length is an unsigned int.
 */
#ifndef HV_MODELS_XEN_COPY_H
#define HV_MODELS_XEN_COPY_H

#include <stdint.h>

#include "models/xen/walk.h"

/* What one copy did, for the trace. */
struct xenm_copy {
    uint64_t va;
    uint32_t len;
    uint32_t done;          /* bytes copied before the failing page (all of len on success) */
    uint64_t gpa;           /* where va's byte went or came from, when done > 0 */
    uint64_t fault_va;      /* the first address of the failing page's chunk */
    struct xenm_walk walk;  /* the failing walk (why = XENM_WALK_NO_RAM with level 5 when
                             * the translated page is not RAM) */
    int to_guest;
};

/* Returns 0 or len (rule 3); *out (may be NULL) says how far it got. */
uint32_t xenm_copy_to_guest(const struct xenm_mem *m, const struct xenm_paging *p, uint64_t va,
                            const void *src, uint32_t len, struct xenm_copy *out);
uint32_t xenm_copy_from_guest(const struct xenm_mem *m, const struct xenm_paging *p, void *dst,
                              uint64_t va, uint32_t len, struct xenm_copy *out);

#endif
