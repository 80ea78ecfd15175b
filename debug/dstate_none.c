/*
 * dstate_none.c - model `none` holds no state of its own: `hvsim state` shows the VM's RAM
 * regions and that no dirty log exists (dstate.h).
 */
#include "debug/dstate.h"

int dstate_none(FILE *f, struct hv_vm *vm, bool json)
{
    fputs(json ? "{\"model\":\"none\"}" : "model none: no hypervisor state (no memslots, no dirty "
                                          "log, no registrations)\n",
          f);
    return 0;
}
