/*
 * copy.c - __hvm_copy() for copy_to_guest / copy_from_guest (copy.h has the rules).
 */
#include <string.h>

#include "models/xen/copy.h"
#include "models/xen/stlb.h"

static uint32_t hvm_copy(const struct xenm_mem *m, const struct xenm_paging *p, uint64_t va,
                         uint8_t *buf, uint32_t len, int to_guest, struct xenm_copy *out)
{
    struct xenm_copy c = { .va = va, .len = len, .to_guest = to_guest };
    uint32_t left = len;
    while (left > 0) {
        uint32_t off = (uint32_t)(va & 0xfff);
        uint32_t count = 4096 - off < left ? 4096 - off : left;
        struct xenm_walk w;
        uint8_t *page = NULL;
        if (xenm_stlb_translate(m, p, va, to_guest ? XENM_PFEC_WRITE : 0, &w) == XENM_WALK_OK) {
            page = m->page(m->ctx, w.gpa >> 12);
            if (!page) /* HVMTRANS_bad_gfn_to_mfn */
                w = (struct xenm_walk){ .gpa = w.gpa, .level = 5, .why = XENM_WALK_NO_RAM,
                                        .pfec = w.pfec };
        }
        if (!page) {
            c.fault_va = va;
            c.walk = w;
            if (out)
                *out = c;
            return len;                                          /* rules 2, 3 */
        }
        if (to_guest) {
            memcpy(page + off, buf, count);
            if (m->dirty)
                m->dirty(m->ctx, w.gpa >> 12);                   /* rule 4 */
        } else {
            memcpy(buf, page + off, count);
        }
        if (!c.done)
            c.gpa = w.gpa;
        va += count;                                             /* rule 5 */
        buf += count;
        left -= count;
        c.done += count;
    }
    if (out)
        *out = c;
    return 0;
}

uint32_t xenm_copy_to_guest(const struct xenm_mem *m, const struct xenm_paging *p, uint64_t va,
                            const void *src, uint32_t len, struct xenm_copy *out)
{
    return hvm_copy(m, p, va, (uint8_t *)(uintptr_t)src, len, 1, out);
}

uint32_t xenm_copy_from_guest(const struct xenm_mem *m, const struct xenm_paging *p, void *dst,
                              uint64_t va, uint32_t len, struct xenm_copy *out)
{
    return hvm_copy(m, p, va, dst, len, 0, out);
}
