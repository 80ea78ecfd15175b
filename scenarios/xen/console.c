/*
 * console.c - console_io CONSOLEIO_write from a domU that may use the console: Xen drops
 * the characters that are not printable and buffers the text until a newline.
 */
#include "xen_guest.h"

void guest_main(void)
{
    if (guest_vcpu_id() != 0)
        GUEST_DONE();
    xen_init_hypercall_page();
    static const char hello[] = "Hello from an HVM guest\n";
    GUEST_ASSERT_EQ(xen_console_write(hello, sizeof hello - 1), 0);
    static const char part[] = "one line, \x01two writes";   /* \x01 is dropped */
    GUEST_ASSERT_EQ(xen_console_write(part, sizeof part - 1), 0);
    GUEST_ASSERT_EQ(xen_console_write("\n", 1), 0);
    GUEST_ASSERT_EQ(xen_console_write("", 0), 0);             /* nothing to do */
    GUEST_DONE();
}
