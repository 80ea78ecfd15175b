/*
 * walk.h - the guest page walker Xen uses for HVM guest-virtual accesses (docs/sources.md C.3):
 * guest_walk_tables() as hap_p2m_ga_to_gfn() calls it for a 64-bit guest, over guest-physical
 * memory given as pages.
 *
 * Xen translates a hypercall buffer's linear address with the running vCPU's CR0/CR3/CR4/EFER
 * (C.3). The rules, each from xen/arch/x86/mm/guest_walk.c and guest_pt.h at c447b7308b:
 *   1. Paging off (CR0.PG = 0): the address is the guest-physical address.
 *   2. Four levels from CR3 >> 12, indexed by bits 47:12 of the address. There is no
 *      canonical check: bits 63:48 are ignored (C is silent; Xen's walker has none).
 *   3. A table or leaf page that is not RAM stops the walk (map_domain_gfn fails).
 *   4. An entry without P stops the walk (not present); one with reserved bits set stops it
 *      with PFEC_reserved_bit: bits maxphysaddr..51, NX (bit 63) when EFER.NX is clear,
 *      bits 62:52 of L1/L2 entries, PS in an L4 entry, G in an L4 entry on AMD, PS in an L3
 *      entry without 1 GiB pages, and the address bits 13..(size-1) of a large page.
 *   5. Rights accumulate: U and RW are ANDed over the levels, NX ORed.
 *   6. User accesses need U, and RW for writes. Supervisor accesses fail on a U page with
 *      SMAP on (CR4.SMAP) when the access is implicit or RFLAGS.AC is clear, and fail to write
 *      a read-only page when CR0.WP is set. (Instruction fetches are not walked here.)
 *   7. Only a successful walk sets A in every entry used and D in the leaf for a write.
 */
#ifndef HV_MODELS_XEN_WALK_H
#define HV_MODELS_XEN_WALK_H

#include <stdbool.h>
#include <stdint.h>

/* Page-fault error code bits (PFEC_*), as Xen names them. */
enum {
    XENM_PFEC_PRESENT = 1u << 0,
    XENM_PFEC_WRITE = 1u << 1,
    XENM_PFEC_USER = 1u << 2,
    XENM_PFEC_RSVD = 1u << 3,
    XENM_PFEC_IMPLICIT = 1u << 15,   /* a supervisor access Xen makes on the guest's behalf */
};

/*
 * Guest-physical memory as the walker sees it: page(ctx, gfn) returns the host address of
 * the 4 KiB RAM page gfn, or NULL when gfn is not RAM. Borrowed; valid for the walk.
 * dirty(ctx, gfn), if not NULL, is told of every page Xen writes (paging_mark_dirty: the
 * log-dirty hook; A/D updates of table pages and the data pages of copy_to_guest).
 */
struct xenm_stlb_use;

struct xenm_mem {
    uint8_t *(*page)(void *ctx, uint64_t gfn);
    void (*dirty)(void *ctx, uint64_t gfn);
    void *ctx;
};

/* The vCPU state a walk depends on. */
struct xenm_paging {
    uint64_t cr0, cr3, cr4, efer, rflags;
    unsigned maxphysaddr;  /* the guest's CPUID 0x80000008 EAX[7:0] */
    bool amd;              /* the guest's CPU vendor (L4 G bit reserved on AMD) */
    bool page1gb;          /* CPUID pdpe1gb: 1 GiB pages allowed */
    const struct xenm_stlb_use *stlb; /* copy.c translates through it (stlb.h); NULL: walk */
};

enum xenm_walk_why {
    XENM_WALK_OK = 0,
    XENM_WALK_NO_RAM,      /* a table page is not RAM (map_domain_gfn) */
    XENM_WALK_NOT_PRESENT, /* an entry without P */
    XENM_WALK_RSVD,        /* reserved bits in an entry */
    XENM_WALK_USER,        /* user access to a supervisor page */
    XENM_WALK_WRITE,       /* write to a read-only page (user, or supervisor with CR0.WP) */
    XENM_WALK_SMAP,        /* supervisor data access to a user page with SMAP */
    XENM_WALK_STLB_MISS,   /* software TLB miss of an encrypted guest: no walk (stlb.h) */
};

struct xenm_walk {
    uint64_t gpa;          /* on success */
    unsigned level;        /* leaf level (1 = 4 KiB, 2 = 2 MiB, 3 = 1 GiB), 0 paging off; on
                            * failure the level whose entry stopped the walk (0: CR3) */
    enum xenm_walk_why why;
    uint32_t pfec;         /* the error code Xen computes (gw.pfec) */
};

/* "ok", "no_ram", "not_present", ... */
const char *xenm_walk_why_name(enum xenm_walk_why why);

/*
 * Translates va for an access of kind `access` (XENM_PFEC_WRITE, _USER, _IMPLICIT bits).
 * Returns w->why (XENM_WALK_OK on success); updates A/D bits in guest memory as rule 7 says.
 */
enum xenm_walk_why xenm_walk(const struct xenm_mem *m, const struct xenm_paging *p, uint64_t va,
                             uint32_t access, struct xenm_walk *w);

#endif
