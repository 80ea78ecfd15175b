/*
 * writer.c - trace_writer: records one run into a new SQLite trace file.
 *
 * A writer owns one SQLite connection in WAL mode, the statements it needs (prepared once in
 * trace_writer_open()), the string table, the chunk being filled and the tail file. Each
 * event is encoded from its fields into one element of the open chunk (trace/chunk.h); its
 * str / hex / json values are interned, a new one becoming an event_strings row at once. The
 * chunk becomes an event_chunks row when it is full (HV_TRACE_CHUNK_EVENTS events or
 * HV_TRACE_CHUNK_BYTES of text), when the next event belongs to another VM or would not fit
 * its offsets, and before every commit. Rows join one transaction, committed when
 * HV_TRACE_COMMIT_MS of host time have passed at an event (the clock only paces commits and
 * never reaches an event), and by flush(), finish(), interrupt() and close(). Whether a
 * transaction is open is SQLite's own state (sqlite3_get_autocommit()), so a transaction that
 * SQLite rolled back after an I/O error is never mistaken for an open one.
 *
 * Everything written since the last commit is also in the tail file, record by record, as it
 * is written: the chunk starts, the new strings and every event's element. A process killed
 * at any instant therefore leaves the committed database plus a tail that ends with the last
 * event whose trace_writer_event() returned; the reader shows both. After each commit the
 * tail starts over, unless a commit ever failed (a full disk): the rows it held may be gone,
 * so from then on the tail keeps everything and stays beside the file.
 *
 * Invariants (trace_writer_check()):
 *  1. next_seq is the seq of the next event: events 0 .. base.seq-1 are in event_chunks rows
 *     (committed or in the open transaction), and when n > 0 events base.seq ..
 *     base.seq+n-1 = next_seq-1 are the elements of chunk ("[el,el,...", no closing ']').
 *  2. strings ids 0 .. count-1 each have an event_strings row with that id.
 *  3. The tail holds every chunk start, string and element not yet committed, in the order
 *     they were made (after a failed commit, everything since the last good one); nothing
 *     is pending when no transaction is open and n == 0.
 *  4. Every committed state has run_info.status = 'recording', until trace_writer_finish()
 *     or trace_writer_interrupt() commits 'complete' or 'interrupted' with the last events.
 *
 *              trace_writer_event()                 commit (time, flush)
 *   open() --> [idle] --------------------> [pending] ---------------------> [idle]
 *                 \                              /
 *                  +-- finish() / interrupt() --+--> [finished] --> close()
 *
 * trace_writer_close() from any state commits what is pending and turns the file back into a
 * single-file (journal_mode=DELETE) database, so a finished trace needs no -wal, -shm or
 * -tail file beside it and opens read-only anywhere.
 */
#include "trace/trace.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sim/hv_err.h"
#include "trace/chunk.h"
#include "trace/strtab.h"
#include "trace/tail.h"
#include "trace/trace_int.h"

struct trace_writer {
    sqlite3 *db;
    char *path;                /* owned copy, for error details */
    sqlite3_stmt *st_begin, *st_commit, *st_chunk, *st_string, *st_info, *st_blob;
    uint64_t next_seq;         /* invariant 1 */
    struct chunk_base base;    /* of the open chunk */
    uint32_t n;                /* events in the open chunk; 0: none open */
    struct tbuf chunk;         /* invariant 1 */
    struct tbuf el;            /* the element being encoded */
    struct chunk_coder coder;  /* strings through trace_writer_string() */
    struct strtab strings;     /* invariant 2 */
    struct tail tail;          /* invariant 3 */
    int64_t last_commit_ms;    /* host time of the last commit (CLOCK_MONOTONIC_COARSE) */
    bool finished;             /* finish() or interrupt() succeeded */
    bool commit_failed;        /* a commit failed: the tail is never reset or removed again */
    bool event_failed;         /* an event failed part-way (out of memory): no event after it,
                                * and its chunk start or string may be alone in the tail */
};

__attribute__((unused)) static bool trace_writer_check(const struct trace_writer *w)
{
    return w->db && w->path && w->st_begin && w->st_commit && w->st_chunk && w->st_string &&
           w->st_info && w->st_blob && tail_check(&w->tail) &&
           (w->n == 0 || (w->base.seq + w->n == w->next_seq && w->chunk.len > 0 &&
                          w->chunk.p[0] == '[')) &&
           (w->tail.used == TAIL_HEADER || !sqlite3_get_autocommit(w->db) || w->n > 0 ||
            w->finished || w->commit_failed || w->event_failed);
}

static int64_t trace_writer_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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

/* Opens the transaction unless one is open. */
static int trace_writer_begin(struct trace_writer *w)
{
    if (!sqlite3_get_autocommit(w->db))
        return 0;
    return trace_writer_step(w, w->st_begin, "begin");
}

/* Ends the open chunk: its row joins the transaction. */
static int trace_writer_end_chunk(struct trace_writer *w)
{
    int err = 0;
    if (!w->n)
        return 0;
    if ((err = tbuf_put(&w->chunk, "]", 1)) || (err = trace_writer_begin(w)))
        goto out;
    sqlite3_stmt *st = w->st_chunk;
    sqlite3_bind_int64(st, 1, trace_i64_of_u64(w->base.seq));
    sqlite3_bind_int64(st, 2, w->n);
    sqlite3_bind_int64(st, 3, w->base.vm);
    sqlite3_bind_int64(st, 4, trace_i64_of_u64(w->base.icount));
    sqlite3_bind_int64(st, 5, trace_i64_of_u64(w->base.pc));
    /* SQLITE_STATIC: the text is copied into the pages during the step. */
    int rc = sqlite3_bind_text64(st, 6, w->chunk.p, w->chunk.len, SQLITE_STATIC, SQLITE_UTF8);
    if (rc != SQLITE_OK) {
        err = trace_sqlite_error(w->db, rc, w->path, "event chunk");
        w->chunk.len--;
        goto out;
    }
    if ((err = trace_writer_step(w, st, "event chunk"))) {
        w->chunk.len--;   /* the ']' again; the chunk stays open for a later attempt */
        goto out;
    }
    w->n = 0;
    w->chunk.len = 0;
out:
    if (err == HV_ENOMEM)
        hv_error_set(err, "%s: out of memory", w->path);
    return err;
}

/* Commits everything written (the open chunk included) and starts the tail over. */
static int trace_writer_commit(struct trace_writer *w)
{
    int err = trace_writer_end_chunk(w);
    if (!err && !sqlite3_get_autocommit(w->db))
        err = trace_writer_step(w, w->st_commit, "commit");
    /* A failed COMMIT either left the transaction open or SQLite rolled it back, and the rows
     * of chunks already ended may be gone: from then on the tail keeps every record for
     * readers, whatever commits after. */
    if (err)
        w->commit_failed = true;
    if (!err && !w->commit_failed) {
        tail_reset(&w->tail);
        w->last_commit_ms = trace_writer_now_ms();
    }
    return err;
}

/*
 * Removes path and the files kept beside it. With report, the first failure other than a
 * missing file is returned as HV_EIO; without, failures are ignored (cleanup).
 */
static int trace_writer_unlink(const char *path, bool report)
{
    static const char *const suffixes[] = { "", "-wal", "-shm", "-journal", TAIL_SUFFIX };
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

static int trace_writer_string(void *ctx, const char *json, size_t len, int64_t *id);

static int trace_writer_prepare(struct trace_writer *w, sqlite3_stmt **st, const char *sql)
{
    int rc = sqlite3_prepare_v3(w->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
    return rc == SQLITE_OK ? 0 : trace_sqlite_error(w->db, rc, w->path, "prepare");
}

/* Finalizes the statements and closes the connection; nothing is committed. */
static void trace_writer_release(struct trace_writer *w)
{
    sqlite3_stmt **sts[] = { &w->st_begin, &w->st_commit, &w->st_chunk, &w->st_string,
                             &w->st_info, &w->st_blob };
    for (size_t i = 0; i < sizeof sts / sizeof sts[0]; i++) {
        sqlite3_finalize(*sts[i]);
        *sts[i] = NULL;
    }
    sqlite3_close(w->db);
    w->db = NULL;
}

/* Frees w and everything it owns; the files stay as they are (tail removed when remove). */
static void trace_writer_free(struct trace_writer *w, bool remove_tail)
{
    trace_writer_release(w);
    if (w->tail.map)
        tail_close(&w->tail, remove_tail);
    tbuf_fini(&w->chunk);
    tbuf_fini(&w->el);
    chunk_coder_fini(&w->coder);
    strtab_fini(&w->strings);
    free(w->path);
    free(w);
}

int trace_writer_open(struct trace_writer **out, const char *path)
{
    int err = 0;
    int rc;
    bool created = false;
    struct trace_writer *w = calloc(1, sizeof *w);
    *out = NULL;
    if (!w || !(w->path = strdup(path))) {
        free(w);
        return hv_error_set(HV_ENOMEM, "%s: out of memory", path);
    }
    w->tail.fd = -1;
    w->coder.str = trace_writer_string;
    w->coder.ctx = w;
    strtab_init(&w->strings);
    /* A stale -journal, -wal or -tail of an older file of that name would be read as part
     * of the new trace, so every file of the old trace goes. */
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
        (err = trace_writer_prepare(w, &w->st_chunk, schema_sql_insert_chunk)) ||
        (err = trace_writer_prepare(w, &w->st_string, schema_sql_insert_string)) ||
        (err = trace_writer_prepare(w, &w->st_info, schema_sql_set_info)) ||
        (err = trace_writer_prepare(w, &w->st_blob, schema_sql_put_blob)))
        goto out;
    if ((err = tail_open(&w->tail, path)))
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
    if (err) {
        trace_writer_free(w, true);
        if (created)
            trace_writer_unlink(path, false);
    }
    return err;
}

/* Binds ?1 key and runs st (run_info with ?2 bound by the caller, or blobs). */
static int trace_writer_keyed(struct trace_writer *w, sqlite3_stmt *st, const char *key,
                              int rc, const char *what)
{
    int err = 0;
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (rc != SQLITE_OK) {
        err = trace_sqlite_error(w->db, rc, w->path, what);
        sqlite3_clear_bindings(st);
        goto out;
    }
    err = trace_writer_step(w, st, what);
out:
    assert(trace_writer_check(w));
    return err;
}

int trace_writer_set_info(struct trace_writer *w, const char *key, const char *value)
{
    sqlite3_stmt *st = w->st_info;
    int rc = value ? sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC) : sqlite3_bind_null(st, 2);
    return trace_writer_keyed(w, st, key, rc, "run_info");
}

int trace_writer_set_info_int(struct trace_writer *w, const char *key, int64_t value)
{
    return trace_writer_keyed(w, w->st_info, key, sqlite3_bind_int64(w->st_info, 2, value),
                              "run_info");
}

int trace_writer_put_blob(struct trace_writer *w, const char *name, const void *data,
                          size_t len)
{
    sqlite3_stmt *st = w->st_blob;
    /* A NULL pointer would bind SQL NULL, which data refuses: an empty blob is a zeroblob. */
    int rc = len ? sqlite3_bind_blob64(st, 2, data, len, SQLITE_STATIC)
                 : sqlite3_bind_zeroblob(st, 2, 0);
    return trace_writer_keyed(w, st, name, rc, "blob");
}

/* chunk_str_fn: the id of a string value, interned (and written) when new (invariant 2). */
static int trace_writer_string(void *ctx, const char *json, size_t len, int64_t *id)
{
    struct trace_writer *w = ctx;
    int err = 0;
    *id = strtab_find(&w->strings, json, len);
    if (*id >= 0)
        return 0;
    if ((err = trace_writer_begin(w)))
        return err;
    sqlite3_stmt *st = w->st_string;
    int64_t nid = (int64_t)w->strings.count;
    sqlite3_bind_int64(st, 1, nid);
    int rc = sqlite3_bind_text64(st, 2, json, len, SQLITE_STATIC, SQLITE_UTF8);
    if (rc != SQLITE_OK)
        return trace_sqlite_error(w->db, rc, w->path, "event string");
    if ((err = trace_writer_step(w, st, "event string")))
        return err;
    if ((err = tail_put(&w->tail, 'S', &nid, sizeof nid, json, len)))
        return err;
    if (strtab_add(&w->strings, json, len) < 0)
        return hv_error_set(HV_ENOMEM, "%s: out of memory", w->path);
    *id = nid;
    return 0;
}

/* Opens a chunk at ev (invariant 3: its start goes to the tail first). */
static int trace_writer_start_chunk(struct trace_writer *w, const struct hv_event *ev)
{
    w->base = (struct chunk_base){ ev->seq, ev->vm, ev->icount, ev->pc };
    unsigned char rec[28];
    memcpy(rec, &w->base.seq, 8);
    memcpy(rec + 8, &w->base.icount, 8);
    memcpy(rec + 16, &w->base.pc, 8);
    memcpy(rec + 24, &w->base.vm, 4);
    w->chunk.len = 0;
    /* room first: once the tail holds the chunk start, the chunk must too (invariant 3) */
    int err = tbuf_reserve(&w->chunk, 1);
    if (!err)
        err = tail_put(&w->tail, 'C', rec, sizeof rec, NULL, 0);
    return err ? err : tbuf_put(&w->chunk, "[", 1);
}

int trace_writer_event(struct trace_writer *w, const struct hv_event *ev)
{
    int err = 0;
    const struct hv_kind_desc *kd = hv_kind_desc(ev->kind);
    if (w->finished || w->event_failed) {
        err = hv_error_set(HV_EINVAL, "%s: event after the trace was %s", w->path,
                           w->finished ? "finished" : "left by a failed event");
        goto out;
    }
    if (ev->seq != w->next_seq || !kd || (kd->nfields && !ev->fields)) {
        err = hv_error_set(HV_EINVAL, "%s: bad event (seq %" PRIu64 ", expected %" PRIu64
                           ", kind %d, fields %s)", w->path, ev->seq, w->next_seq,
                           (int)ev->kind, ev->fields ? "set" : "NULL");
        goto out;
    }
    if (w->n && (w->n >= HV_TRACE_CHUNK_EVENTS || !chunk_fits(&w->base, ev)) &&
        (err = trace_writer_end_chunk(w)))
        goto out;
    /* A new chunk starts with an offset of 0 from its own base, which always fits. */
    if (!w->n && (err = trace_writer_start_chunk(w, ev)))
        goto out;
    w->el.len = 0;
    if ((err = chunk_encode(&w->el, &w->coder, (int64_t)ev->kind, ev, &w->base)))
        goto out;
    if ((err = tbuf_reserve(&w->chunk, w->el.len + 1)) ||
        (err = tail_put(&w->tail, 'E', w->el.p, w->el.len, NULL, 0)))
        goto out;
    if ((w->n && (err = tbuf_put(&w->chunk, ",", 1))) ||
        (err = tbuf_put(&w->chunk, w->el.p, w->el.len)))
        goto out;
    w->n++;
    w->next_seq++;
    if (w->chunk.len >= HV_TRACE_CHUNK_BYTES && (err = trace_writer_end_chunk(w)))
        goto out;
    if (trace_writer_now_ms() - w->last_commit_ms >= HV_TRACE_COMMIT_MS)
        err = trace_writer_commit(w);
out:
    if (err == HV_ENOMEM) {
        hv_error_set(err, "%s: out of memory", w->path);
        w->event_failed = true;
    }
    assert(trace_writer_check(w));
    return err;
}

int trace_writer_sink(void *ctx, const struct hv_event *ev)
{
    return trace_writer_event(ctx, ev);
}

uint64_t trace_writer_count(const struct trace_writer *w)
{
    return w->next_seq;
}

int trace_writer_flush(struct trace_writer *w)
{
    int err = trace_writer_commit(w);
    assert(trace_writer_check(w));
    return err;
}

/* The end of a run: the last events, the event count and the final status in one commit. */
static int trace_writer_end(struct trace_writer *w, const char *status, const char *why)
{
    int err = 0;
    if ((err = trace_writer_end_chunk(w)) || (err = trace_writer_begin(w)) ||
        (err = trace_writer_set_info_int(w, "events", trace_i64_of_u64(w->next_seq))) ||
        (why && (err = trace_writer_set_info(w, "interrupted_by", why))) ||
        (err = trace_writer_set_info(w, "status", status)) ||
        (err = trace_writer_commit(w)))
        goto out;
    w->finished = true;
out:
    assert(trace_writer_check(w));
    return err;
}

int trace_writer_finish(struct trace_writer *w)
{
    return trace_writer_end(w, "complete", NULL);
}

int trace_writer_interrupt(struct trace_writer *w, const char *why)
{
    return trace_writer_end(w, "interrupted", why ? why : "?");
}

void trace_writer_close(struct trace_writer *w)
{
    if (!w)
        return;
    /* close() returns nothing: a failure here is reported by the reader as an incomplete or
     * shorter trace, which is what it is. */
    bool committed = trace_writer_commit(w) == 0 && !w->commit_failed;
    /* Checkpoints the WAL into the file and deletes it. Fails harmlessly (the file stays in
     * WAL mode) while another connection, such as a live `hvsim show`, has it open. */
    (void)sqlite3_exec(w->db, schema_sql_unwal, NULL, NULL, NULL);
    trace_writer_free(w, committed);
}
