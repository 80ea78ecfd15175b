/*
 * exception.c - an exception handler installed by the guest catches undefined instructions.
 *
 * The program installs a handler for #UD (x86_64, vector 6, raised by ud2) or for the
 * "unknown reason" class (aarch64, raised by udf #0), executes the instruction three times,
 * and checks the handler ran three times. The handler skips the faulting instruction by
 * moving the saved pc past it.
 */
#include "guest.h"

#define TIMES 3

static volatile unsigned hits;

static void on_ud(struct guest_regs *regs)
{
    hits++;
    regs->pc += GUEST_UD_LEN;
}

void guest_main(void)
{
    if (guest_vcpu_id() != 0)
        GUEST_DONE();
    guest_set_handler(GUEST_VEC_UD, on_ud);
    for (int i = 0; i < TIMES; i++)
        guest_ud();
    GUEST_ASSERT_EQ(hits, TIMES);
    GUEST_PRINTF("handler ran %u times", hits);
    GUEST_DONE();
}
