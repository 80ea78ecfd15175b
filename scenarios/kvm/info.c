/*
 * info.c - a guest that only gives the host two sync points, where the host queries the VM
 * with KVM_GET_VM_INFO (the vm_info step); the query needs nothing from the guest.
 */
#include "guest.h"

void guest_main(void)
{
    if (guest_vcpu_id() != 0)
        GUEST_DONE();
    GUEST_SYNC(1);
    GUEST_SYNC(2);
    GUEST_DONE();
}
