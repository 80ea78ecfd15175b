/* shrinkcmd.h - `hvsim shrink`: its arguments and its output (the work is explore/shrink's). */
#ifndef HV_CLI_SHRINKCMD_H
#define HV_CLI_SHRINKCMD_H

/* Runs the command; returns the exit code (shrink_trace()'s, or 2 for bad arguments). */
int shrinkcmd_main(int argc, char **argv);

#endif
