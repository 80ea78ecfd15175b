/* xcheck.h - `hvsim crosscheck`: its arguments and its output (the work is crosscheck/'s). */
#ifndef HV_CLI_XCHECK_H
#define HV_CLI_XCHECK_H

/* Runs the command; returns the exit code (crosscheck_exit_code(), or 2 for bad input or no
 * usable /dev/kvm). build_guest builds a scenario's guest as `hvsim run` does. */
struct scenario;
typedef int (*xcheck_build_fn)(const struct scenario *sc, void **elf, size_t *len);
int xcheck_main(int argc, char **argv, xcheck_build_fn build_guest);

#endif
