/*
 * facts.h - the kernel-fact table: what a real kernel may do differently from the Linux v6.12
 * host the KVM model reproduces by default, for its own configuration's reasons, each with the
 * model knob that expresses it and how `--kernel auto` derives it from what the kernel reports
 * (KVM_CHECK_EXTENSION and KVM_GET_SUPPORTED_CPUID, kvmhost.h). Applying a kernel's facts to
 * the model before comparing is what tells a difference the kernel's configuration explains
 * from one it does not (docs/real-kvm.md has the table and this machine's values).
 */
#ifndef XC_FACTS_H
#define XC_FACTS_H

#include <stdbool.h>
#include <stddef.h>

#include "kvmhost/kvmhost.h"
#include "runner/scenario.h"

/* X(id, name, knob, what, source) */
#define FACTS_MAP(X)                                                                         \
    X(SMM, "smm", "kvm.smm",                                                                 \
      "CONFIG_KVM_SMM: 0 = SMM compiled out, one address space (as 1 is refused, A.3.6)",   \
      "KVM_CHECK_EXTENSION(KVM_CAP_MULTI_ADDRESS_SPACE) on a VM: 2 -> 1, else 0")           \
    X(MAX_GPA_BITS, "max_gpa_bits", "kvm.max_gpa_bits",                                      \
      "the GPA width kvm_mmu_max_gfn() allows (A.3.13): host MAXPHYADDR with TDP, 52 with "  \
      "shadow paging",                                                                       \
      "KVM_GET_SUPPORTED_CPUID 0x80000008: EAX[23:16] (GuestPhysAddrSize) is 0 without TDP " \
      "-> 52, else EAX[7:0] (PhysAddrSize); kernels before 6.10 do not report "              \
      "GuestPhysAddrSize: EAX[7:0]")                                                         \
    X(MAX_SLOTS, "max_slots", "kvm.max_slots",                                               \
      "KVM_USER_MEM_SLOTS: the slot ids a VM accepts (A.2)",                                 \
      "KVM_CHECK_EXTENSION(KVM_CAP_NR_MEMSLOTS) on a VM")                                    \
    X(VENDOR, "vendor", "kvm.vendor",                                                        \
      "the host vendor: its native hypercall instruction is vmcall (intel) or vmmcall "     \
      "(amd) (B.1)",                                                                         \
      "KVM_GET_SUPPORTED_CPUID leaf 0: GenuineIntel -> intel, AuthenticAMD or HygonGenuine " \
      "-> amd")

enum facts_id {
#define X(id, name, knob, what, source) FACTS_##id,
    FACTS_MAP(X)
#undef X
    FACTS__COUNT
};

struct facts_desc {
    const char *name;
    const char *knob;            /* the model knob that expresses it */
    const char *what;
    const char *source;          /* how --kernel auto derives it */
};

/* The row of a fact; NULL out of range. */
const struct facts_desc *facts_desc(enum facts_id id);

/* A kernel's facts: the knob value of each one `--kernel auto` could derive. */
struct facts {
    bool have[FACTS__COUNT];
    char value[FACTS__COUNT][24];
};

/* Derives the facts from what kernel k reported. */
void facts_derive(const struct kvmh_kernel *k, struct facts *out);
/*
 * The knob value sc runs the model with for fact id (sc NULL: the knob's default), normalised
 * as the fact's values are (kvm.max_slots 0 is the arch's count, numbers in decimal), written
 * to buf. Returns buf.
 */
const char *facts_scenario_value(const struct scenario *sc, enum facts_id id, char *buf,
                                 size_t size);
/* Whether f has fact id and it differs from what sc (NULL: the defaults) runs the model with:
 * a fact to apply. */
bool facts_differs(const struct facts *f, const struct scenario *sc, enum facts_id id);

#endif
