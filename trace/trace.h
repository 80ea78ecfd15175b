/*
 * trace.h - hvsim trace files: a self-contained SQLite database per run.
 *
 * Layout (the SQL is built from events.def in trace/schema.c, nowhere else):
 *   PRAGMA application_id = HV_TRACE_APP_ID;  PRAGMA user_version = HV_TRACE_VERSION
 *   run_info(key TEXT PRIMARY KEY, value)       scenario text, seed, config, versions, status
 *   blobs(name TEXT PRIMARY KEY, data BLOB)     guest image bytes and other inputs
 *   event_kinds(id INTEGER PRIMARY KEY, name, doc, fields)   from events.def
 *   event_rows(seq INTEGER PRIMARY KEY, vm, vcpu, icount, kind, pc, detail)
 *   VIEW events(seq, vm, vcpu, icount, kind, pc, detail)  kind as text; what users query
 *
 * Versions: 2 added event_rows.vm and events.vm. A version 1 trace (no vm column) still opens;
 * its events read vm 0.
 *
 * Writing: WAL journal, prepared statements, events batched into transactions of
 * HV_TRACE_BATCH rows. run_info.status is 'recording' from the start and becomes
 * 'complete' only in trace_writer_finish(), so a trace cut short by a crash opens, reports
 * itself incomplete, and shows every committed event.
 */
#ifndef HV_TRACE_H
#define HV_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trace/event.h"

#define HV_TRACE_APP_ID  0x68767331 /* "hvs1" */
#define HV_TRACE_VERSION 2
#define HV_TRACE_BATCH   4096

struct trace_writer;
struct trace_reader;

/*
 * Creates a new trace at path, replacing any file there (and its -wal/-shm). Caller owns
 * *out; release with trace_writer_close().
 */
int trace_writer_open(struct trace_writer **out, const char *path);
int trace_writer_set_info(struct trace_writer *w, const char *key, const char *value);
int trace_writer_set_info_int(struct trace_writer *w, const char *key, int64_t value);
int trace_writer_put_blob(struct trace_writer *w, const char *name, const void *data,
                          size_t len);
/* Appends one event; ev->seq must be the next sequence number. */
int trace_writer_event(struct trace_writer *w, const struct hv_event *ev);
/* An hv_event_sink_fn that writes to the trace_writer in ctx. */
int trace_writer_sink(void *ctx, const struct hv_event *ev);
/* Commits pending rows without ending the run (called at sync points and before exit). */
int trace_writer_flush(struct trace_writer *w);
/* Commits everything and marks the trace complete. */
int trace_writer_finish(struct trace_writer *w);
/* Commits what is pending and closes; status stays as it was. NULL is a no-op. */
void trace_writer_close(struct trace_writer *w);

/*
 * Opens a trace read-only; schema versions 1 .. HV_TRACE_VERSION. A file that is not SQLite,
 * not an hvsim trace (application_id) or of a newer schema fails with HV_ETRACE /
 * HV_ETRACE_NEW and a detail naming the problem (hv_error_detail()). Caller owns *out; release
 * with trace_reader_close().
 */
int trace_reader_open(struct trace_reader **out, const char *path);
void trace_reader_close(struct trace_reader *r);
/* run_info value as text. Caller owns *out (free()); HV_ENOENT if the key is absent. */
int trace_reader_info(struct trace_reader *r, const char *key, char **out);
/* A blob. Caller owns *data (free()); HV_ENOENT if absent. */
int trace_reader_blob(struct trace_reader *r, const char *name, void **data, size_t *len);
/* True when run_info.status is 'complete'. */
bool trace_reader_complete(struct trace_reader *r);
/* Number of event rows. */
int64_t trace_reader_event_count(struct trace_reader *r);

struct trace_filter {
    int32_t vcpu;       /* -2: any */
    const char *kind;   /* NULL: any */
    int64_t from, to;   /* seq range, inclusive; to < 0: no upper bound */
    bool by_vm;         /* false: any VM (a zeroed filter leaves vm alone) */
    uint32_t vm;        /* with by_vm: only events of this VM */
};
#define TRACE_FILTER_ALL { -2, NULL, 0, -1, false, 0 }

/* Starts iterating events in seq order that match f (NULL: all). */
int trace_reader_events_begin(struct trace_reader *r, const struct trace_filter *f);
/*
 * Next event: returns 1 with *ev filled (strings borrowed until the next call), 0 at the end,
 * or a negative hv_err.
 */
int trace_reader_events_next(struct trace_reader *r, struct hv_event *ev);

#endif
