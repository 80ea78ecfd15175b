/*
 * bugs.h - the bug zoo (models/bugs.def) as data: one row per bug knob, in the order of the
 * file, for `hvsim list --bugs` (cli/bugs.c) and the test that keeps the zoo complete.
 */
#ifndef HV_BUGS_H
#define HV_BUGS_H

#include <stddef.h>

struct hv_bug {
    const char *knob;
    const char *bad;            /* the value that reproduces the bug */
    const char *good;           /* the value that fixes it */
    const char *scenario;       /* relative to scenarios/ */
    const char *bug_class;      /* one line */
    const char *source;         /* the public source: thread and message id, commit, function */
    const char *command;        /* the hvsim command that pinpoints it, on bug.db */
    const char *fix;            /* what the fix changes in the trace */
};

/* The rows of models/bugs.def; *n is their number. */
const struct hv_bug *hv_bugs(size_t *n);

#endif
