/*
 * datadir.h - where hvsim's data is: the guest library and the bundled scenarios.
 *
 * An installed hvsim (P/bin/hvsim, `cmake --install`) reads them from P/share/hvsim, found
 * from the executable's own location (/proc/self/exe, then ../share/hvsim); a hvsim run
 * from its build folder, where no such folder is beside it, reads them from the source tree
 * it was built from (HVSIM_SOURCE_DIR). Either folder holds scenarios/lib (the guest
 * library) and scenarios/<group>/ (the bundled scenarios with their guest sources).
 */
#ifndef HV_DATADIR_H
#define HV_DATADIR_H

/* The data folder, an absolute path. Borrowed (static); the same on every call. */
const char *datadir_path(void);
/* datadir_path()/scenarios: the bundled scenarios, `hvsim list`'s default folder. Borrowed. */
const char *datadir_scenarios(void);
/* datadir_path()/scenarios/lib: the guest library. Borrowed. */
const char *datadir_guest_lib(void);

#endif
