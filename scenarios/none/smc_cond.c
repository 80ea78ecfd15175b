/*
 * smc_cond.c - AArch32 conditional SMC and HVC (arch arm only).
 *
 * `smcne #0` after `cmp flag, #0`: with flag 0 the condition fails. QEMU, and so Unicorn, then
 * executes it as a no-op, but a CPU may still trap it, and KVM answers such a trap by only
 * advancing the PC. hvsim reports it to the model as a hypercall exit with cond_failed set;
 * with no model (model none) the call is skipped, registers unchanged. With flag 1 the
 * condition passes and the call traps as any SMC does (once). The same pair with smceq.
 * Every call passes a distinct function id in r0 so the trace tells them apart. (HVC has no
 * conditional form: a condition other than AL makes it UNPREDICTABLE.)
 */
#include "guest.h"
#include "hypercall.h"

#if !defined(__arm__)
#error "conditional SMC exists in AArch32 only"
#endif

#define FN_NE_SKIPPED 0x84000001u   /* the ids are only labels: no model answers them */
#define FN_NE_TRAPPED 0x84000002u
#define FN_EQ_SKIPPED 0x84000003u
#define FN_EQ_TRAPPED 0x84000004u

void guest_main(void)
{
    if (guest_vcpu_id() != 0)
        GUEST_DONE();
    struct hypercall_smccc_res r;
    r = hypercall_smcne(0, FN_NE_SKIPPED, 1, 2, 3);  /* Z set: smcne fails */
    GUEST_ASSERT_EQ(r.a0, FN_NE_SKIPPED);
    GUEST_ASSERT_EQ(r.a1, 1);
    r = hypercall_smcne(1, FN_NE_TRAPPED, 1, 2, 3);  /* Z clear: smcne passes */
    GUEST_ASSERT_EQ(r.a0, FN_NE_TRAPPED);            /* no hypervisor: r0 unchanged */
    r = hypercall_smceq(1, FN_EQ_SKIPPED, 4, 5, 6);  /* Z clear: smceq fails */
    GUEST_ASSERT_EQ(r.a0, FN_EQ_SKIPPED);
    r = hypercall_smceq(0, FN_EQ_TRAPPED, 4, 5, 6);  /* Z set: smceq passes */
    GUEST_ASSERT_EQ(r.a0, FN_EQ_TRAPPED);
    GUEST_PRINTF("4 conditional calls, 2 skipped");
    GUEST_DONE();
}
