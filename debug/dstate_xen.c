/*
 * dstate_xen.c - the Xen model's state for `hvsim state` (dstate.h): per vCPU its runstate
 * and time area registrations (VCPUOP_register_runstate_memory_area and _vcpu_time_memory_area,
 * by linear handle or physical address: xen/common/domain.c) and its software TLB (the stlb
 * proposal: entries and which table the vCPU uses), the domain's pages, the log-dirty bitmap
 * (paging_log_dirty, on while migrating), the hypercall page, and the continuation
 * setting with the legs the run has made.
 */
#include <inttypes.h>

#include "debug/dstate.h"
#include "models/xen/xen_int.h"
#include "sim/migrate.h"
#include "sim/model.h"

int dstate_xen(FILE *f, struct hv_vm *vm, bool json)
{
    struct xenm_vm *x = hv_vm_model_data(vm);
    if (!x)
        return HV_EINVAL;
    static const char *const preempt[] = { "never", "every", "seed" };
    const char *pk = preempt[x->preempt.kind];
    if (json)
        fprintf(f, "{\"model\":\"xen\",\"domid\":%u,\"tot_pages\":%" PRIu64
                   ",\"max_pages\":%" PRIu64 ",\"preempt\":\"%s\",\"legs\":%" PRIu64
                   ",\"log_dirty\":%s,\"dirty_pages\":%" PRIu64 ",\"hypercall_page\":",
                x->domid, x->mem ? x->mem->tot_pages : 0, x->mem ? x->mem->max_pages : 0, pk,
                hv_vm_legs(vm), x->dirty.on ? "true" : "false", x->dirty.count);
    else
        fprintf(f, "model xen: domain %u, %" PRIu64 " pages (max %" PRIu64 ")\n"
                   "  continuations: preempt %s, %" PRIu64 " legs so far\n"
                   "  log-dirty (migration in progress): %s, %" PRIu64 " pages dirty\n",
                x->domid, x->mem ? x->mem->tot_pages : 0, x->mem ? x->mem->max_pages : 0, pk,
                hv_vm_legs(vm), x->dirty.on ? "on" : "off", x->dirty.count);
    if (json)
        x->hcpage_set ? fprintf(f, "%" PRIu64, x->hcpage_gfn << 12) : fputs("null", f);
    else if (x->hcpage_set)
        fprintf(f, "  hypercall page at gpa 0x%" PRIx64 "\n", x->hcpage_gfn << 12);
    fputs(json ? ",\"vcpus\":[" : "", f);
    for (unsigned i = 0; i < hv_vm_nr_vcpus(vm); i++) {
        const struct xenm_vcpu *xv = &x->vcpu[i];
        const struct xenm_areas *a = &xv->a;
        const struct xenm_stlb *t = &x->stlb[x->stlb_of[i]];
        if (json) {
            fprintf(f, "%s{\"vcpu\":%u,\"down\":%s,\"runstate\":{\"va\":%" PRIu64
                       ",\"phys\":%s,\"gpa\":%" PRIu64 ",\"state\":%d,\"entry\":%" PRIu64
                       "},\"time\":{\"va\":%" PRIu64 ",\"phys\":%s,\"gpa\":%" PRIu64
                       "},\"stlb_table\":%u,\"stlb\":[",
                    i ? "," : "", i, xv->down ? "true" : "false", a->rs_va,
                    a->rs_phys ? "true" : "false", a->rs_gpa, a->rs.state, a->rs.entry,
                    a->time_va, a->time_phys ? "true" : "false", a->time_gpa, x->stlb_of[i]);
            for (unsigned e = 0; x->stlb_capacity && e < t->n; e++)
                fprintf(f, "%s{\"va\":%" PRIu64 ",\"gpa\":%" PRIu64 ",\"size\":%" PRIu64 "}",
                        e ? "," : "", t->e[e].va, t->e[e].gpa, t->e[e].size);
            fputs("]}", f);
            continue;
        }
        fprintf(f, "  vCPU %u%s: runstate area ", i, xv->down ? " (down)" : "");
        if (a->rs_phys)
            fprintf(f, "gpa 0x%" PRIx64, a->rs_gpa);
        else if (a->rs_va)
            fprintf(f, "va 0x%" PRIx64, a->rs_va);
        else
            fputs("none", f);
        fprintf(f, " (state %d since %" PRIu64 " ns); time area ", a->rs.state, a->rs.entry);
        if (a->time_phys)
            fprintf(f, "gpa 0x%" PRIx64 "\n", a->time_gpa);
        else if (a->time_va)
            fprintf(f, "va 0x%" PRIx64 "\n", a->time_va);
        else
            fputs("none\n", f);
        if (!x->stlb_capacity)
            continue;
        fprintf(f, "    software TLB: table %u, %u of %u entries\n", x->stlb_of[i], t->n,
                t->capacity);
        for (unsigned e = 0; e < t->n; e++)
            fprintf(f, "      va 0x%" PRIx64 " -> gpa 0x%" PRIx64 " (%" PRIu64 " bytes)\n",
                    t->e[e].va, t->e[e].gpa, t->e[e].size);
    }
    if (json)
        fputs("]}", f);
    return 0;
}

int dstate_xen_logged(struct hv_vm *vm, uint64_t gpa)
{
    struct xenm_vm *x = hv_vm_model_data(vm);
    if (!x || !x->dirty.on)
        return -1;
    return xenm_logdirty_test(&x->dirty, gpa >> 12) ? 1 : 0;
}
