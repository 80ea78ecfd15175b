/*
 * idle.c - a guest that does nothing: for scenarios whose steps all run before it starts, as
 * the memslot ioctls of a VM the VMM has not run yet.
 */
#include "guest.h"

void guest_main(void)
{
}
