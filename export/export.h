/*
 * export.h - `hvsim export`: a trace as a timeline for other tools (docs/export.md).
 *
 *   perfetto  Chrome trace-event JSON, for ui.perfetto.dev and chrome://tracing
 *   csv       one row per event, the detail's keys as columns
 *   svg, png  the timeline drawn with cairo
 */
#ifndef HV_EXPORT_H
#define HV_EXPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "export/timeline.h"

/* `hvsim export TRACE.db --format F [-o FILE]`: exit 0, or 2 for bad input. */
int export_main(int argc, char **argv);

/* The writers: 0, or an hv_err. */
int export_perfetto(const struct timeline *tl, FILE *out);
int export_csv(const char *trace, uint64_t from, uint64_t to, FILE *out);
int export_draw(const struct timeline *tl, const char *path, bool png);

#endif
