/*
 * assert_fail.c - reports GUEST_SYNC(1), then fails an assertion on purpose: the run must end
 * with the guest-assert outcome, naming this file, the line and the expression `2 + 2 == 5`.
 */
#include "guest.h"

void guest_main(void)
{
    GUEST_SYNC(1);
    GUEST_ASSERT(2 + 2 == 5);
    GUEST_DONE();
}
