/*
 * hypercall.c - a hypercall-heavy guest: a tight loop of hypercalls (x86_64 vmcall in the KVM
 * convention, aarch64 SMCCC hvc #0). Under model `none` each one is an exit, a `hypercall`
 * trace event and a return to the guest; the function number is the loop index.
 */
#include "bench_guest.h"
#include "hypercall.h"

#define HYPERCALLS 100000ULL

void guest_main(void)
{
    uint64_t acc = 0;
    for (uint64_t i = 0; i < HYPERCALLS; i++) {
#if defined(__x86_64__)
        acc += hypercall_vmcall_kvm(0x1000 + (i & 0xff), i, 0, 0, 0);
#else
        acc += hypercall_hvc(0xc6000000ULL + (i & 0xff), i, 0, 0, 0, 0, 0, 0).a0;
#endif
    }
    bench_report(acc, HYPERCALLS);
}
