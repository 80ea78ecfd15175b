/*
 * xif.h - the 2009 KVM "xinterface" series (docs/sources.md E): guest memory accessed by a host
 * kernel module by guest-physical address, outside any vCPU, and what mainline KVM does for
 * the same jobs. The knob kvm.xinterface picks the variant:
 *
 *   patch     copy_to/copy_from translate the GPA once, through a per-host-CPU slot cache
 *             that holds a raw slot pointer with no generation check, then copy linearly in
 *             host virtual memory; vmap pins the host pages for as long as the mapping lives;
 *             nothing is marked in the dirty log.
 *   mainline  copy_to/copy_from go through a gfn_to_hva_cache (kvm_gfn_to_hva_cache_init,
 *             kvm_{write,read}_guest_offset_cached: generation-checked, cross-page ranges take
 *             kvm_{write,read}_guest page by page); vmap is a gfn_to_pfn_cache (one page,
 *             kvm_gpc_check / kvm_gpc_refresh on every access); writes mark pages dirty.
 *
 * Every translation is reported through the VM's lookup hook (a kvm_lookup event). The state
 * lives in struct kvmm_vm (kvm_int.h); these functions are the model's operations on it and
 * need no running VM, only the memslot table and the host buffers.
 */
#ifndef HV_MODELS_KVM_XIF_H
#define HV_MODELS_KVM_XIF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "models/kvm/memslot.h"

#define KVMM_XIF_NR_CPUS 8       /* host CPUs of the modeled host: the slot cache's size */
#define KVMM_XIF_MAX_VMAPS 16    /* mappings a scenario may hold at once */
#define KVMM_XIF_VMAP_MAX_PAGES 512  /* PAGE_SIZE / sizeof(struct page *) */

struct kvmm_vm;

enum kvmm_xif_mode { KVMM_XIF_PATCH, KVMM_XIF_MAINLINE };

/* struct gfn_to_hva_cache, plus the caller's note that it was initialised for gpa/len. */
struct kvmm_hva_cache {
    bool used;                   /* the last kvm_gfn_to_hva_cache_init() for gpa/len succeeded */
    uint64_t generation;
    uint64_t gpa, len;
    bool hva_bad;                /* kvm_is_error_hva(hva) */
    uint64_t hva;
    const struct kvmm_memslot *memslot;  /* NULL: cross-page range, slow path */
};

/*
 * A mapping handed to the module. patch: the host pages pinned when it was made (host stays
 * valid: buffers live as long as the VM). mainline: a gfn_to_pfn_cache for one page.
 */
struct kvmm_xvmap {
    bool live;
    char name[32];
    uint64_t gpa, len;
    uint64_t hva;                /* host address of the first byte */
    uint64_t npages;             /* pinned pages (patch) */
    uint8_t *host;               /* patch: the pinned bytes */
    /* mainline (struct gfn_to_pfn_cache) */
    bool valid;
    uint64_t generation;
    const struct kvmm_memslot *memslot;
};

struct kvmm_xif {
    enum kvmm_xif_mode mode;
    const struct kvmm_memslot *slotcache[KVMM_XIF_NR_CPUS];  /* patch: raw, never checked */
    struct kvmm_hva_cache ghc[KVMM_XIF_NR_CPUS];               /* mainline: one per caller */
    struct kvmm_xvmap vmap[KVMM_XIF_MAX_VMAPS];
};

/* What an operation returned. */
struct kvmm_xif_res {
    int err;                     /* 0 or -errno (mainline APIs; patch vmap) */
    uint64_t not_copied;         /* bytes not transferred */
    uint64_t npages;             /* vmap: pages pinned or cached */
};

/*
 * copy_to / copy_from on host CPU cpu (< KVMM_XIF_NR_CPUS). patch: res->err is 0 and
 * res->not_copied the op's return value; mainline: res->err is the cached accessor's result
 * and res->not_copied the bytes it did not move. copy_from fills the first len - not_copied
 * bytes of dst. Returns 0 or a simulator error (the trace).
 */
int kvmm_xif_copy_to(struct kvmm_vm *k, unsigned cpu, uint64_t gpa, const uint8_t *src,
                     size_t len, struct kvmm_xif_res *res);
int kvmm_xif_copy_from(struct kvmm_vm *k, unsigned cpu, uint64_t gpa, uint8_t *dst, size_t len,
                       struct kvmm_xif_res *res);
/* vmap: fills m (m->live on success; res->err 0, -EINVAL or -EFAULT). */
int kvmm_xif_vmap(struct kvmm_vm *k, struct kvmm_xvmap *m, uint64_t gpa, uint64_t len,
                  struct kvmm_xif_res *res);
/* An access through m at [off, off + len), which the caller keeps inside m->len. */
int kvmm_xif_vmap_access(struct kvmm_vm *k, struct kvmm_xvmap *m, uint64_t off, uint8_t *buf,
                         size_t len, bool write, struct kvmm_xif_res *res);
/* kvm_xvmap_put() / kvm_gpc_deactivate(). */
void kvmm_xif_vmap_put(struct kvmm_xvmap *m);

#endif
