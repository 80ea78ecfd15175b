/*
 * vmm.h - what a KVM scenario says about its VMM, read the way the KVM model reads it: the
 * host buffers of `memory.buffers` with the fixed host-address layout the model gives them,
 * the regions of `memory.slots` and of the set_memory_region steps, their flags, and the
 * errno names of step results. The model (kvm.c, slots_steps.c) and the real-kernel backend
 * (kvmhost/) both read scenarios through these, so a scenario means the same on either.
 */
#ifndef KVMM_VMM_H
#define KVMM_VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "models/kvm/memslot.h"
#include "sim/model.h"
#include "sim/node.h"

/* The model's host buffers start here, one guard page apart (docs/models/kvm.md). */
#define KVMM_HVA_BASE 0x7f0000000000ULL
#define KVMM_MAX_BUFFERS 64
/* Without a `memory` section: one buffer "ram" of this size, slot 0 over it at the arch's RAM
 * base (docs/models/kvm.md). */
#define KVMM_DEFAULT_RAM (16ULL << 20)

struct kvmm_buffer {
    char *name;
    uint64_t size;
    uint64_t hva;                /* its userspace_addr */
    uint8_t *host;
};

/*
 * memory.buffers of a `memory` section (NULL: none) into bufs[0..KVMM_MAX_BUFFERS): names
 * (borrowed from mem), sizes, and host addresses from KVMM_HVA_BASE, each after the previous
 * buffer and a guard page; host stays NULL. Errors are located in d.
 */
int kvmm_parse_buffers(const struct hv_node *mem, struct kvmm_buffer *bufs, size_t *nbuf,
                       struct hv_diag *d);
/* Parses a region (memory.slots item or set_memory_region args); buffer names resolve to the
 * hva of that buffer in bufs, plus `offset`; a raw `hva` is taken as written. */
int kvmm_parse_region(const struct hv_node *n, const struct kvmm_buffer *bufs, size_t nbuf,
                      struct kvmm_region *r, struct hv_diag *d);
/* Parses a flags list (names or a number). */
int kvmm_flags_of(const struct hv_node *n, uint32_t *out, struct hv_diag *d);
/*
 * The memslot table's shape (memslot.h) a VM of c's arch gets under the knobs of c's config:
 * kvm.max_slots, kvm.smm, kvm.max_gpa_bits, kvm.host_va_bits, kvm.bug.stale_slot_cache. A
 * refused knob value is located in d.
 */
int kvmm_config_slots_params(const struct hv_check_ctx *c, struct kvmm_slots_params *p,
                             struct hv_diag *d);
/* "0", "EINVAL", ... for 0 or a (negative or positive) errno. */
int kvmm_errno_name(int e, char *buf, size_t size);
/* True if expect's scalar `key` is absent or equals actual (NULL actual never matches). */
bool kvmm_expect_str(const struct hv_node *e, const char *key, const char *actual);

#endif
