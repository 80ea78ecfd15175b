/*
 * guest_text.c - the guest of tests/cli/guest-text.yaml: GUEST_PRINTF output with a line
 * break, a tab, an escape byte and UTF-8, which `hvsim run` prints as text.
 */
#include "guest.h"

void guest_main(void)
{
    GUEST_PRINTF("line one\nline\ttwo \x1b[31mred\x1b[0m caf\xc3\xa9\n");
    GUEST_DONE();
}
