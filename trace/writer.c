/*
 * writer.c - trace_writer: records one run into a new SQLite trace file.
 *
 * A writer owns one SQLite connection in WAL mode and the statements it needs, prepared once
 * in trace_writer_open(). Events are appended inside a transaction that is committed every
 * HV_TRACE_BATCH rows and by trace_writer_flush(), trace_writer_finish() and
 * trace_writer_close(). run_info and blob writes join the open transaction, or commit on
 * their own when none is open. Whether a transaction is open is SQLite's own state
 * (sqlite3_get_autocommit()), so a transaction that SQLite rolled back after an I/O error is
 * never mistaken for an open one.
 *
 * Invariants (trace_writer_check()):
 *  1. next_seq is the seq of the next event: rows 0 .. next_seq-1 were written, committed or
 *     in the open transaction.
 *  2. pending counts event rows in the open transaction: 0 when no transaction is open, and
 *     below HV_TRACE_BATCH between calls.
 *  3. Every committed state has run_info.status = 'recording', until trace_writer_finish()
 *     commits 'complete' in the same transaction as the last events and the indexes.
 *  4. event_rows has no index while recording (an insert then costs one B-tree append);
 *     finish(), or close() without finish(), builds them.
 *
 *              trace_writer_event()                  HV_TRACE_BATCH rows, flush()
 *   open() --> [idle] ---------------------> [batch open] ----------------------> [idle]
 *                 \                              /
 *                  +-- trace_writer_finish() ---+--> [finished] --> close()
 *
 * trace_writer_close() from any state commits what is pending, builds the indexes if finish()
 * did not, and turns the file back into a single-file (journal_mode=DELETE) database, so a
 * finished trace needs no -wal or -shm file beside it and opens read-only anywhere. A writer
 * that dies without closing leaves the WAL beside the file; the reader still shows every
 * committed event.
 */
#include "trace/trace.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/hv_err.h"
#include "trace/trace_int.h"

struct trace_writer {
    sqlite3 *db;
    char *path;                /* owned copy, for error details */
    sqlite3_stmt *st_begin, *st_commit, *st_event, *st_info, *st_blob;
    uint64_t next_seq;         /* invariant 1 */
    unsigned pending;          /* invariant 2 */
    bool finished;             /* trace_writer_finish() succeeded */
};

__attribute__((unused)) static bool trace_writer_check(const struct trace_writer *w)
{
    return w->db && w->path && w->st_begin && w->st_commit && w->st_event && w->st_info &&
           w->st_blob && w->pending < HV_TRACE_BATCH &&
           (w->pending == 0 || !sqlite3_get_autocommit(w->db));
}

/* Runs a prepared statement that returns no row, then resets it. */
static int trace_writer_step(struct trace_writer *w, sqlite3_stmt *st, const char *what)
{
    int err = 0;
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        err = trace_sqlite_error(w->db, rc, w->path, what);
    sqlite3_reset(st);
    return err;
}

/* Opens the batch transaction unless one is open. */
static int trace_writer_begin(struct trace_writer *w)
{
    if (!sqlite3_get_autocommit(w->db))
        return 0;
    w->pending = 0;
    return trace_writer_step(w, w->st_begin, "begin");
}

/* Commits the open transaction, if any. */
static int trace_writer_commit(struct trace_writer *w)
{
    int err = 0;
    if (!sqlite3_get_autocommit(w->db))
        err = trace_writer_step(w, w->st_commit, "commit");
    /* A failed COMMIT either left the transaction open (retry later) or SQLite rolled it
     * back; either way the count of rows it holds is SQLite's, not ours. */
    if (!err || sqlite3_get_autocommit(w->db))
        w->pending = 0;
    return err;
}

/*
 * Removes path and the files SQLite keeps beside it. With report, the first failure other
 * than a missing file is returned as HV_EIO; without, failures are ignored (cleanup).
 */
static int trace_writer_unlink(const char *path, bool report)
{
    static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
    int err = 0;
    char *name = NULL;
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        free(name);
        if (asprintf(&name, "%s%s", path, suffixes[i]) < 0) {
            name = NULL;
            err = report ? hv_error_set(HV_ENOMEM, "%s: out of memory", path) : 0;
            goto out;
        }
        if (unlink(name) != 0 && errno != ENOENT && report) {
            err = hv_error_set(HV_EIO, "%s: cannot replace trace: %s: %s", path, name,
                               strerror(errno));
            goto out;
        }
    }
out:
    free(name);
    return err;
}

static int trace_writer_prepare(struct trace_writer *w, sqlite3_stmt **st, const char *sql)
{
    int rc = sqlite3_prepare_v3(w->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
    return rc == SQLITE_OK ? 0 : trace_sqlite_error(w->db, rc, w->path, "prepare");
}

/* Finalizes the statements and closes the connection; nothing is committed. */
static void trace_writer_release(struct trace_writer *w)
{
    sqlite3_finalize(w->st_begin);
    sqlite3_finalize(w->st_commit);
    sqlite3_finalize(w->st_event);
    sqlite3_finalize(w->st_info);
    sqlite3_finalize(w->st_blob);
    w->st_begin = w->st_commit = w->st_event = w->st_info = w->st_blob = NULL;
    sqlite3_close(w->db);
    w->db = NULL;
}

int trace_writer_open(struct trace_writer **out, const char *path)
{
    int err = 0;
    int rc;
    bool created = false;
    struct trace_writer *w = calloc(1, sizeof *w);
    *out = NULL;
    if (!w || !(w->path = strdup(path))) {
        err = hv_error_set(HV_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    /* A stale -journal or -wal of an older file of that name would be replayed into the new
     * database, so every file of the old trace goes. */
    if ((err = trace_writer_unlink(path, true)))
        goto out;
    created = true;
    rc = sqlite3_open_v2(path, &w->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        err = hv_error_set(HV_EIO, "%s: cannot create trace: %s", path,
                           w->db ? sqlite3_errmsg(w->db) : sqlite3_errstr(rc));
        goto out;
    }
    const char *script = schema_create_script();
    if (!script) {
        err = hv_error_set(HV_ENOMEM, "%s: out of memory building the schema", path);
        goto out;
    }
    rc = sqlite3_exec(w->db, schema_sql_wal, NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(w->db, schema_sql_begin, NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(w->db, script, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        err = trace_sqlite_error(w->db, rc, path, "cannot create trace");
        /* Failing to lay out an empty database is an I/O problem with path whatever SQLite's
         * code says; only out of memory keeps its own code. */
        err = err == HV_ENOMEM ? err : HV_EIO;
        goto out;
    }
    if ((err = trace_writer_prepare(w, &w->st_begin, schema_sql_begin)) ||
        (err = trace_writer_prepare(w, &w->st_commit, schema_sql_commit)) ||
        (err = trace_writer_prepare(w, &w->st_event, schema_sql_insert_event)) ||
        (err = trace_writer_prepare(w, &w->st_info, schema_sql_set_info)) ||
        (err = trace_writer_prepare(w, &w->st_blob, schema_sql_put_blob)))
        goto out;
    /* The status row commits with the schema: from here on the file is a trace that says it
     * is still being recorded. */
    if ((err = trace_writer_set_info(w, "status", "recording")) ||
        (err = trace_writer_set_info(w, "sqlite_version", sqlite3_libversion())) ||
        (err = trace_writer_commit(w)))
        goto out;
    assert(trace_writer_check(w));
    *out = w;
out:
    if (err && w) {
        trace_writer_release(w);
        if (created)
            trace_writer_unlink(path, false);
        free(w->path);
        free(w);
    }
    return err;
}

int trace_writer_set_info(struct trace_writer *w, const char *key, const char *value)
{
    int err = 0;
    sqlite3_stmt *st = w->st_info;
    int rc = sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = value ? sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC) : sqlite3_bind_null(st, 2);
    if (rc != SQLITE_OK) {
        err = trace_sqlite_error(w->db, rc, w->path, "run_info");
        goto out;
    }
    err = trace_writer_step(w, st, "run_info");
out:
    assert(trace_writer_check(w));
    return err;
}

int trace_writer_set_info_int(struct trace_writer *w, const char *key, int64_t value)
{
    int err = 0;
    sqlite3_stmt *st = w->st_info;
    int rc = sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 2, value);
    if (rc != SQLITE_OK) {
        err = trace_sqlite_error(w->db, rc, w->path, "run_info");
        goto out;
    }
    err = trace_writer_step(w, st, "run_info");
out:
    assert(trace_writer_check(w));
    return err;
}

int trace_writer_put_blob(struct trace_writer *w, const char *name, const void *data,
                          size_t len)
{
    int err = 0;
    sqlite3_stmt *st = w->st_blob;
    int rc = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    /* A NULL pointer would bind SQL NULL, which data refuses: an empty blob is a zeroblob. */
    if (rc == SQLITE_OK)
        rc = len ? sqlite3_bind_blob64(st, 2, data, len, SQLITE_STATIC)
                 : sqlite3_bind_zeroblob(st, 2, 0);
    if (rc != SQLITE_OK) {
        err = trace_sqlite_error(w->db, rc, w->path, "blob");
        goto out;
    }
    err = trace_writer_step(w, st, "blob");
out:
    assert(trace_writer_check(w));
    return err;
}

int trace_writer_event(struct trace_writer *w, const struct hv_event *ev)
{
    int err = 0;
    sqlite3_stmt *st = w->st_event;
    if (w->finished) {
        err = hv_error_set(HV_EINVAL, "%s: event after the trace was finished", w->path);
        goto out;
    }
    if (ev->seq != w->next_seq || !hv_kind_desc(ev->kind) || !ev->detail) {
        err = hv_error_set(HV_EINVAL, "%s: bad event (seq %" PRIu64 ", expected %" PRIu64
                           ", kind %d, detail %s)", w->path, ev->seq, w->next_seq,
                           (int)ev->kind, ev->detail ? "set" : "NULL");
        goto out;
    }
    if ((err = trace_writer_begin(w)))
        goto out;
    /* detail_len 0 means "not measured": an empty string is never a JSON object. */
    size_t len = ev->detail_len ? ev->detail_len : strlen(ev->detail);
    sqlite3_bind_int64(st, 1, trace_i64_of_u64(ev->seq));
    sqlite3_bind_int64(st, 2, ev->vm);
    sqlite3_bind_int(st, 3, ev->vcpu);
    sqlite3_bind_int64(st, 4, trace_i64_of_u64(ev->icount));
    sqlite3_bind_int(st, 5, (int)ev->kind);
    sqlite3_bind_int64(st, 6, trace_i64_of_u64(ev->pc));
    /* SQLITE_STATIC: the text is copied into the page during the step below. */
    int rc = sqlite3_bind_text64(st, 7, ev->detail, len, SQLITE_STATIC, SQLITE_UTF8);
    if (rc != SQLITE_OK) {
        err = trace_sqlite_error(w->db, rc, w->path, "event detail");
        goto out;
    }
    if ((err = trace_writer_step(w, st, "event")))
        goto out;
    w->next_seq++;
    if (++w->pending >= HV_TRACE_BATCH)
        err = trace_writer_commit(w);
out:
    assert(trace_writer_check(w));
    return err;
}

int trace_writer_sink(void *ctx, const struct hv_event *ev)
{
    return trace_writer_event(ctx, ev);
}

int trace_writer_flush(struct trace_writer *w)
{
    int err = trace_writer_commit(w);
    assert(trace_writer_check(w));
    return err;
}

/* Builds the event_rows indexes (see schema_sql_indexes for why only now). */
static int trace_writer_index(struct trace_writer *w)
{
    int rc = sqlite3_exec(w->db, schema_sql_indexes, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : trace_sqlite_error(w->db, rc, w->path, "index events");
}

int trace_writer_finish(struct trace_writer *w)
{
    int err = 0;
    /* The last events, the indexes, the event count and 'complete' commit together or not
     * at all. */
    if ((err = trace_writer_begin(w)) || (err = trace_writer_index(w)) ||
        (err = trace_writer_set_info_int(w, "events", trace_i64_of_u64(w->next_seq))) ||
        (err = trace_writer_set_info(w, "status", "complete")) ||
        (err = trace_writer_commit(w)))
        goto out;
    w->finished = true;
out:
    assert(trace_writer_check(w));
    return err;
}

void trace_writer_close(struct trace_writer *w)
{
    if (!w)
        return;
    /* close() returns nothing: a failure here is reported by the reader as an incomplete or
     * shorter trace, which is what it is. */
    /* A run that ends without finish() (an error) still leaves an indexed trace if it can. */
    if (trace_writer_commit(w) == 0 && !w->finished)
        (void)trace_writer_index(w);
    /* Checkpoints the WAL into the file and deletes it. Fails harmlessly (the file stays in
     * WAL mode) while another connection, such as a live `hvsim show`, has it open. */
    (void)sqlite3_exec(w->db, schema_sql_unwal, NULL, NULL, NULL);
    trace_writer_release(w);
    free(w->path);
    free(w);
}
