/* show.h - `hvsim show`: a trace's events as text (with the instruction at each pc) or JSON. */
#ifndef HV_SHOW_H
#define HV_SHOW_H

#include <stdbool.h>
#include <stdio.h>

#include "trace/trace.h"

struct show_opts {
    struct trace_filter filter;   /* with several kinds, filter.kind is NULL and kinds decides */
    bool kinds[HV_EV__COUNT];     /* with nkinds > 0: the kinds to print */
    size_t nkinds;
    bool json;
    bool explain;                 /* a sentence per event (narrate/explain.h) */
};

/* Returns the exit code (0, or 2 for an unreadable trace). */
int show_trace(const char *path, const struct show_opts *o, FILE *out, FILE *err);

#endif
