/*
 * trace.h - hvsim trace files: a self-contained SQLite database per run.
 *
 * Layout of schema version 3 (the SQL is built from events.def in trace/schema.c, nowhere
 * else; docs/trace-format.md describes it for users):
 *   PRAGMA application_id = HV_TRACE_APP_ID;  PRAGMA user_version = HV_TRACE_VERSION
 *   run_info(key TEXT PRIMARY KEY, value)       scenario text, seed, config, versions, status
 *   blobs(name TEXT PRIMARY KEY, data BLOB NOT NULL)   guest image bytes and other inputs
 *   event_kinds(id INTEGER PRIMARY KEY, name, doc, fields)   from events.def
 *   event_strings(id INTEGER PRIMARY KEY, json)   each str / hex / json value's text, once
 *   event_chunks(seq INTEGER PRIMARY KEY, n, vm, icount, pc, events)   events as JSON arrays
 *   VIEW events(seq, vm, vcpu, icount, kind, pc, detail)   one row per event: what users query
 *
 * Versions: 2 added event_rows.vm and events.vm; 3 replaced event_rows (one row per event,
 * with its detail text) with event_chunks and event_strings. Traces of versions 1 and 2 still
 * open and read the same through this API (a version 1 trace's events read vm 0).
 *
 * Writing: events are encoded from their typed fields (trace/chunk.h) into chunks of up to
 * HV_TRACE_CHUNK_EVENTS events, in a WAL transaction committed every HV_TRACE_COMMIT_MS of
 * host time, and every event is also copied at once into the tail file TRACE.db-tail (a
 * shared file mapping, trace/tail.h), which outlives a killed process: a recording killed at
 * any instant keeps every event whose trace_writer_event() returned. run_info.status is
 * 'recording' from the start and becomes 'complete' (trace_writer_finish()) or 'interrupted'
 * (trace_writer_interrupt()) only at the end, so a trace cut short by a crash opens, reports
 * itself incomplete, and shows all it holds: committed chunks, then the tail.
 */
#ifndef HV_TRACE_H
#define HV_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trace/event.h"

#define HV_TRACE_APP_ID  0x68767331 /* "hvs1" */
#define HV_TRACE_VERSION 3
/* A chunk ends after this many events or bytes of JSON, whichever comes first. */
#define HV_TRACE_CHUNK_EVENTS 4096
#define HV_TRACE_CHUNK_BYTES  16384
/* The writer commits when this much host time passed since its last commit (checked at each
 * event); the tail file keeps what is not committed yet. */
#define HV_TRACE_COMMIT_MS    100

struct trace_writer;
struct trace_reader;

/*
 * Creates a new trace at path, replacing any file there (and its -wal, -shm, -journal and
 * -tail). Caller owns *out; release with trace_writer_close().
 */
int trace_writer_open(struct trace_writer **out, const char *path);
int trace_writer_set_info(struct trace_writer *w, const char *key, const char *value);
int trace_writer_set_info_int(struct trace_writer *w, const char *key, int64_t value);
int trace_writer_put_blob(struct trace_writer *w, const char *name, const void *data,
                          size_t len);
/*
 * Appends one event: ev->seq must be the next sequence number, and ev->fields must hold the
 * kind's struct (NULL only for a kind without fields); ev->detail is not read. When it
 * returns 0 the event survives the process being killed.
 */
int trace_writer_event(struct trace_writer *w, const struct hv_event *ev);
/* An hv_event_sink_fn that writes to the trace_writer in ctx. */
int trace_writer_sink(void *ctx, const struct hv_event *ev);
/* Number of events written so far. */
uint64_t trace_writer_count(const struct trace_writer *w);
/* Commits every event written so far, without ending the run. */
int trace_writer_flush(struct trace_writer *w);
/* Commits everything and marks the trace complete. */
int trace_writer_finish(struct trace_writer *w);
/*
 * Commits everything and marks the trace interrupted: the run was stopped (by the signal
 * named `why`, stored as run_info.interrupted_by) and every event up to then is in it.
 */
int trace_writer_interrupt(struct trace_writer *w, const char *why);
/*
 * Commits what is pending and closes; status stays as it was. The file is left as one
 * self-contained database (no -wal, -shm or -tail) unless a commit failed, in which case the
 * tail file stays for readers. NULL is a no-op.
 */
void trace_writer_close(struct trace_writer *w);

/*
 * Opens a trace read-only; schema versions 1 .. HV_TRACE_VERSION. A version 3 trace whose
 * writer died (or is still recording) is read with its tail file, if there is one. A file that is not SQLite,
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
/* The file's schema version, 1 .. HV_TRACE_VERSION. */
int trace_reader_version(const struct trace_reader *r);
/* Number of events (with those of the tail file), or a negative hv_err. */
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
 * Next event: returns 1 with *ev filled (strings borrowed until the next call; ev->fields
 * NULL; ev->detail one JSON value, trace/json.h), 0 at the end, or a negative hv_err:
 * HV_ETRACE for a damaged chunk or detail, with a detail naming the event's seq.
 */
int trace_reader_events_next(struct trace_reader *r, struct hv_event *ev);

enum trace_match { TRACE_SAME = 1, TRACE_DIFFERENT = 2, TRACE_END = 3 };
/*
 * Compares ev (an event of a new run, with its detail, and its fields when it has any) with
 * the next event of the iteration and moves past that one: TRACE_SAME when all seven columns
 * are equal, TRACE_DIFFERENT with *rec the recorded event (as events_next() gives it), or
 * TRACE_END when none is left; a negative hv_err on a read error. On a version 3 trace the
 * comparison encodes ev as the writer would and compares the stored bytes, decoding the
 * recorded event only when they differ: what makes replay cheap.
 */
int trace_reader_events_match(struct trace_reader *r, const struct hv_event *ev,
                              struct hv_event *rec);

#endif
