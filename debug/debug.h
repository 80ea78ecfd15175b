/*
 * debug.h - `hvsim debug` and `hvsim replay --gdb`: gdb with reverse execution over a trace.
 *
 * Opens a re-execution cursor over the trace (debug/cursor.h), writes the recorded guest ELF
 * out for gdb's symbols, listens on 127.0.0.1 and serves one gdb session
 * (debug/gdbserver.h) with the cursor as its target (debug/gdbcursor.h).
 */
#ifndef HV_DEBUG_DEBUG_H
#define HV_DEBUG_DEBUG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct debug_opts {
    int port;                  /* 0: any free port (printed) */
    const char *elf;           /* where the guest ELF goes; NULL: the trace's name, .elf */
    const char *const *sets;   /* --set KEY=VALUE on top of the recorded ones */
    size_t nsets;
    bool at;                   /* start just after event at_seq instead of at the start */
    uint64_t at_seq;
    bool verbose;              /* log every packet to err */
};

/* Serves one gdb session over the trace at path. Prints the port and the gdb command line to
 * out, problems to err. Returns the exit code: 0 when gdb detached, 2 for a bad trace, a port
 * that cannot be bound or a session that failed. */
int debug_main(const char *path, const struct debug_opts *o, FILE *out, FILE *err);

/* hvsim debug TRACE.db [--port N] [--elf FILE] [--at SEQ] [--set KEY=VALUE]... [--verbose]
 * argv holds the arguments after `debug`. Returns the exit code (2 for bad arguments). */
int debug_cli(int argc, char **argv);

#endif
