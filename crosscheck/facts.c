/*
 * facts.c - the kernel-fact table (facts.h) and how `--kernel auto` reads a kernel's facts.
 *
 * Sources (Linux v6.12 unless said otherwise):
 *   smm          arch/x86/include/asm/kvm_host.h: KVM_MAX_NR_ADDRESS_SPACES is 2 only with
 *                CONFIG_KVM_SMM; virt/kvm/kvm_main.c kvm_vm_ioctl_check_extension_generic()
 *                answers KVM_CAP_MULTI_ADDRESS_SPACE only then (kvm_arch_nr_memslot_as_ids()),
 *                else x86's kvm_vm_ioctl_check_extension() answers 0.
 *   max_gpa_bits arch/x86/kvm/mmu.h kvm_mmu_max_gfn(): tdp_enabled ? host MAXPHYADDR : 52;
 *                arch/x86/kvm/cpuid.c __do_cpuid_func(), leaf 0x80000008: GuestPhysAddrSize
 *                (EAX[23:16]) is 0 exactly when TDP is off (since v6.10), PhysAddrSize
 *                (EAX[7:0]) the raw host MAXPHYADDR with TDP.
 *   max_slots    virt/kvm/kvm_main.c: KVM_CAP_NR_MEMSLOTS is KVM_USER_MEM_SLOTS.
 *   vendor       the CPUID vendor string; arch/x86/kvm/x86.c emulator_fix_hypercall() patches
 *                the other vendor's hypercall instruction to the native one.
 */
#include "crosscheck/facts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/kvm/caps.h"
#include "sim/model.h"

static const struct facts_desc table[FACTS__COUNT] = {
#define X(id, name, knob, what, source) [FACTS_##id] = { name, knob, what, source },
    FACTS_MAP(X)
#undef X
};

const struct facts_desc *facts_desc(enum facts_id id)
{
    return (unsigned)id < FACTS__COUNT ? &table[id] : NULL;
}

/* True if release ("6.18.44-...") is at least major.minor. */
static bool release_at_least(const char *release, unsigned major, unsigned minor)
{
    unsigned a = 0, b = 0;
    if (sscanf(release, "%u.%u", &a, &b) != 2)
        return true;   /* unknown: take the current rule */
    return a > major || (a == major && b >= minor);
}

void facts_derive(const struct kvmh_kernel *k, struct facts *out)
{
    memset(out, 0, sizeof *out);
    int mas = kvmh_kernel_cap(k, KVMM_CAP_MULTI_ADDRESS_SPACE);
    if (mas >= 0) {
        out->have[FACTS_SMM] = true;
        snprintf(out->value[FACTS_SMM], sizeof out->value[0], "%d", mas >= 2);
    }
    if (k->phys_bits) {
        bool shadow = k->guest_phys_bits == 0 && release_at_least(k->release, 6, 10);
        out->have[FACTS_MAX_GPA_BITS] = true;
        snprintf(out->value[FACTS_MAX_GPA_BITS], sizeof out->value[0], "%u",
                 shadow ? 52 : k->phys_bits);
    }
    int slots = kvmh_kernel_cap(k, KVMM_CAP_NR_MEMSLOTS);
    if (slots > 0) {
        out->have[FACTS_MAX_SLOTS] = true;
        snprintf(out->value[FACTS_MAX_SLOTS], sizeof out->value[0], "%d", slots);
    }
    const char *vendor = strcmp(k->vendor, "GenuineIntel") == 0 ? "intel"
                         : strcmp(k->vendor, "AuthenticAMD") == 0 ||
                                   strcmp(k->vendor, "HygonGenuine") == 0 ? "amd" : NULL;
    if (vendor) {
        out->have[FACTS_VENDOR] = true;
        snprintf(out->value[FACTS_VENDOR], sizeof out->value[0], "%s", vendor);
    }
}

const char *facts_scenario_value(const struct scenario *sc, enum facts_id id, char *buf,
                                 size_t size)
{
    const struct hv_model_ops *m = hv_model_lookup("kvm");
    const char *v = sc ? scenario_config(sc, table[id].knob) : NULL;
    for (const struct hv_knob *k = m ? m->knobs : NULL; !v && k && k->key; k++)
        if (strcmp(k->key, table[id].knob) == 0)
            v = k->def;
    struct hv_node n = { .type = HV_NODE_SCALAR, .str = (char *)(v ? v : "") };
    uint64_t u = 0;
    if (id == FACTS_VENDOR || hv_node_u64(&n, table[id].knob, &u, NULL)) {
        snprintf(buf, size, "%s", n.str);   /* a word, or a number the model refuses anyway */
        return buf;
    }
    if (id == FACTS_MAX_SLOTS && u == 0)
        u = KVMM_USER_SLOTS_X86;   /* kvm.max_slots 0: the arch's */
    snprintf(buf, size, "%llu", (unsigned long long)u);
    return buf;
}

bool facts_differs(const struct facts *f, const struct scenario *sc, enum facts_id id)
{
    char buf[24];
    return f->have[id] && strcmp(f->value[id], facts_scenario_value(sc, id, buf, sizeof buf)) != 0;
}
