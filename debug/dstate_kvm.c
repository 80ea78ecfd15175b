/*
 * dstate_kvm.c - the KVM model's state for `hvsim state` (dstate.h): memslots per address
 * space with their generation, which caches point at which slot (each vCPU's last-used slot,
 * the xinterface's slot and hva caches and mappings), dirty bitmaps and rings, an open
 * INVALID window and a migration in progress. Names follow the kernel's (virt/kvm/kvm_main.c:
 * kvm_memslots, last_used_slot, gfn_to_hva_cache, dirty_bitmap, kvm_dirty_ring).
 */
#include <inttypes.h>
#include <string.h>

#include "debug/dstate.h"
#include "models/kvm/kvm_int.h"
#include "models/kvm/ring.h"
#include "models/kvm/xif.h"
#include "sim/model.h"

static uint64_t popcount_bits(const uint64_t *bits, uint64_t n)
{
    uint64_t c = 0;
    for (uint64_t i = 0; bits && i < (n + 63) / 64; i++)
        c += (uint64_t)__builtin_popcountll(bits[i]);
    return c;
}

/* "as:id" of a slot pointer, or "none"; "(retired)" when it is no longer in the table. */
static void slot_name(const struct kvmm_slots *s, const struct kvmm_memslot *slot, char *buf,
                      size_t size)
{
    if (!slot)
        snprintf(buf, size, "none");
    else
        snprintf(buf, size, "%u:%u%s", slot->as_id, slot->id,
                 kvmm_memslot_current(s, slot) ? "" : " (retired)");
}

int dstate_kvm(FILE *f, struct hv_vm *vm, bool json)
{
    struct kvmm_vm *k = hv_vm_model_data(vm);
    if (!k)
        return HV_EINVAL;
    const struct kvmm_slots_params *p = kvmm_slots_params(k->slots);
    char name[48];
    fputs(json ? "{\"model\":\"kvm\",\"address_spaces\":[" : "model kvm\n", f);
    for (unsigned as = 0; as < p->nr_as; as++) {
        uint64_t gen = kvmm_memslot_generation(k->slots, as);
        size_t n = kvmm_memslot_count(k->slots, as);
        if (json)
            fprintf(f, "%s{\"as\":%u,\"generation\":%" PRIu64 ",\"slots\":[", as ? "," : "",
                    as, gen);
        else
            fprintf(f, "  address space %u: generation %" PRIu64 ", %zu slots\n", as, gen, n);
        for (size_t i = 0; i < n; i++) {
            const struct kvmm_memslot *s = kvmm_memslot_at(k->slots, as, i);
            uint64_t dirty = popcount_bits(s->dirty_bitmap, s->npages);
            bool logs = s->flags & KVMM_MEM_LOG_DIRTY_PAGES;
            if (json) {
                fprintf(f, "%s{\"id\":%u,\"base_gfn\":%" PRIu64 ",\"npages\":%" PRIu64
                           ",\"userspace_addr\":%" PRIu64 ",\"flags\":%u,\"log_dirty\":%s"
                           ",\"dirty_pages\":%" PRIu64 ",\"invalid\":%s}",
                        i ? "," : "", s->id, s->base_gfn, s->npages, s->userspace_addr,
                        s->flags & 0xffff, logs ? "true" : "false", dirty,
                        s->flags & KVMM_MEMSLOT_INVALID ? "true" : "false");
                continue;
            }
            fprintf(f, "    slot %u: gpa 0x%" PRIx64 "-0x%" PRIx64 " (%" PRIu64
                       " pages) hva 0x%" PRIx64 " flags 0x%x%s%s",
                    s->id, s->base_gfn << 12, (s->base_gfn + s->npages) << 12, s->npages,
                    s->userspace_addr, s->flags & 0xffff, logs ? " LOG_DIRTY_PAGES" : "",
                    s->flags & KVMM_MEMSLOT_INVALID ? " INVALID" : "");
            if (s->dirty_bitmap)
                fprintf(f, ", dirty bitmap: %" PRIu64 " pages set", dirty);
            fputc('\n', f);
        }
        if (json)
            fputs("]}", f);
    }
    fputs(json ? "],\"vcpu_slot_cache\":[" : "  vCPU last-used slot caches:\n", f);
    for (unsigned i = 0; i < hv_vm_nr_vcpus(vm); i++) {
        const struct kvmm_vcpu_slot_cache *c = &k->vcpu_slots[i];
        slot_name(k->slots, c->slot, name, sizeof name);
        bool current = c->slot && c->generation == kvmm_memslot_generation(k->slots,
                                                                            c->slot->as_id);
        if (json)
            fprintf(f, "%s{\"vcpu\":%u,\"slot\":\"%s\",\"generation\":%" PRIu64
                       ",\"current\":%s}",
                    i ? "," : "", i, name, c->generation, current ? "true" : "false");
        else
            fprintf(f, "    vCPU %u: slot %s, generation %" PRIu64 "%s\n", i, name,
                    c->generation, c->slot && !current ? " (stale: the generation moved)" : "");
    }
    if (json)
        fprintf(f, "],\"nlogging\":%zu,\"window_open\":%s,\"migrating\":%s,\"dirty_rings\":[",
                k->nlogging, k->window_open ? "true" : "false",
                k->collecting ? "true" : "false");
    else
        fprintf(f, "  slots logging dirty pages: %zu; INVALID window open: %s; migration "
                   "in progress: %s\n",
                k->nlogging, k->window_open ? "yes" : "no", k->collecting ? "yes" : "no");
    for (unsigned i = 0; k->ring_bytes && i < hv_vm_nr_vcpus(vm); i++) {
        const struct kvmm_ring *r = &k->rings[i];
        if (json)
            fprintf(f, "%s{\"vcpu\":%u,\"size\":%u,\"dirty_index\":%u,\"reset_index\":%u,"
                       "\"fetch_index\":%u,\"soft_full\":%s}",
                    i ? "," : "", i, r->size, r->dirty_index, r->reset_index, r->fetch_index,
                    r->request ? "true" : "false");
        else
            fprintf(f, "  dirty ring vCPU %u: %u entries, dirty_index %u, reset_index %u, "
                       "fetch_index %u%s\n",
                    i, r->size, r->dirty_index, r->reset_index, r->fetch_index,
                    r->request ? ", soft full" : "");
    }
    fputs(json ? "],\"xinterface\":{\"mode\":" : "", f);
    const struct kvmm_xif *x = &k->xif;
    if (json)
        fprintf(f, "\"%s\",\"caches\":[", x->mode == KVMM_XIF_PATCH ? "patch" : "mainline");
    else
        fprintf(f, "  xinterface (%s):\n", x->mode == KVMM_XIF_PATCH ? "patch" : "mainline");
    bool first = true;
    for (unsigned cpu = 0; cpu < KVMM_XIF_NR_CPUS; cpu++) {
        const struct kvmm_hva_cache *g = &x->ghc[cpu];
        const struct kvmm_memslot *s = x->mode == KVMM_XIF_PATCH ? x->slotcache[cpu]
                                                                 : g->memslot;
        if (!s && !g->used)
            continue;
        slot_name(k->slots, s, name, sizeof name);
        if (json)
            fprintf(f, "%s{\"cpu\":%u,\"slot\":\"%s\",\"gpa\":%" PRIu64 ",\"generation\":%"
                       PRIu64 "}",
                    first ? "" : ",", cpu, name, g->gpa, g->generation);
        else if (x->mode == KVMM_XIF_PATCH)
            fprintf(f, "    host CPU %u: slot cache -> slot %s\n", cpu, name);
        else
            fprintf(f, "    host CPU %u: hva cache gpa 0x%" PRIx64 " len %" PRIu64
                       " -> slot %s, generation %" PRIu64 "\n",
                    cpu, g->gpa, g->len, name, g->generation);
        first = false;
    }
    fputs(json ? "],\"maps\":[" : "", f);
    first = true;
    for (unsigned i = 0; i < KVMM_XIF_MAX_VMAPS; i++) {
        const struct kvmm_xvmap *m = &x->vmap[i];
        if (!m->live)
            continue;
        slot_name(k->slots, m->memslot, name, sizeof name);
        if (json)
            fprintf(f, "%s{\"name\":\"%s\",\"gpa\":%" PRIu64 ",\"len\":%" PRIu64
                       ",\"valid\":%s,\"slot\":\"%s\"}",
                    first ? "" : ",", m->name, m->gpa, m->len, m->valid ? "true" : "false",
                    name);
        else
            fprintf(f, "    mapping %s: gpa 0x%" PRIx64 " len %" PRIu64 "%s\n", m->name,
                    m->gpa, m->len, m->valid || x->mode == KVMM_XIF_PATCH ? "" : " (invalid)");
        first = false;
    }
    if (json)
        fputs("]}}", f);
    return 0;
}

int dstate_kvm_logged(struct hv_vm *vm, uint64_t gpa)
{
    struct kvmm_vm *k = hv_vm_model_data(vm);
    if (!k)
        return -1;
    uint64_t gfn = gpa >> 12;
    const struct kvmm_memslot *s = kvmm_memslot_search(k->slots, 0, gfn);
    if (!s || !(s->flags & KVMM_MEM_LOG_DIRTY_PAGES))
        return -1;
    uint64_t i = gfn - s->base_gfn;
    if (s->dirty_bitmap && (s->dirty_bitmap[i / 64] >> (i % 64) & 1))
        return 1;
    if (s->ring_dirty && (s->ring_dirty[i / 64] >> (i % 64) & 1))
        return 1;
    return 0;
}
