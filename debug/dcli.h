/*
 * dcli.h - the commands over the re-execution cursor that cli/main.c dispatches to:
 *
 *   hvsim state TRACE.db [--at SEQ] [--vcpu N] [--mem ADDR:LEN] [--gva] [--json]
 *   hvsim blame TRACE.db (--gpa ADDR | --gva ADDR --vcpu N) [--len N] [--at SEQ]
 *
 * argv holds the arguments after the command's name. Each returns the exit code: 0, or 2 for
 * bad arguments or a bad trace (docs/debugging.md).
 */
#ifndef HV_DEBUG_DCLI_H
#define HV_DEBUG_DCLI_H

int dcli_state(int argc, char **argv);
int dcli_blame(int argc, char **argv);

#endif
