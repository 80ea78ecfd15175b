/*
 * smccc_x0.c - a SiP call the SMCCC filter forwards to the VMM: the guest checks the status in
 * x0 before it uses the value in x1, as an SMCCC caller must.
 */
#include "guest.h"
#include "hypercall.h"

#define SIP_READ 0x82000001ULL           /* SiP service call 1: the VMM answers it */
#define SMCCC_RET_SUCCESS 0ULL

void guest_main(void)
{
    struct hypercall_smccc_res r = hypercall_hvc(SIP_READ, 0, 0, 0, 0, 0, 0, 0);
    GUEST_PRINTF("SiP read: x0 %llx x1 %llx\n", (unsigned long long)r.a0,
                 (unsigned long long)r.a1);
    GUEST_ASSERT_EQ(r.a0, SMCCC_RET_SUCCESS);
    GUEST_ASSERT_EQ(r.a1, 0x99);
    GUEST_DONE();
}
