/*
 * reader.c - trace_reader: opens a trace read-only, checks that it is one, and reads its
 * run_info, blobs and events.
 *
 * trace_reader_open() refuses anything that is not an hvsim trace this build understands,
 * before any query can run into it: a missing path (HV_ENOENT), something that is not a
 * regular file, an empty or truncated file, a file that is not SQLite, an SQLite database
 * with another application_id or without the trace tables (HV_ETRACE), and a newer schema
 * version (HV_ETRACE_NEW). Each detail names the path. A trace whose writer is still running
 * or died is read through its -wal file like any other: the reader sees every committed
 * event and trace_reader_complete() says false. Every older version still opens: a version 1
 * trace has no vm column, and its events read vm 0 (the queries are chosen by version).
 *
 * Invariants (trace_reader_check()):
 *  1. kind_map[id] is the enum hv_ev_kind of the file's event_kinds row `id`, or -1 when this
 *     build does not know that name; ids outside 0 .. nkind_map-1 are unknown.
 *  2. cur is NULL or one of st_events[], bound by trace_reader_events_begin() and not yet
 *     stepped past its last row.
 *  3. version is the file's user_version, 1 .. HV_TRACE_VERSION; it picks the event queries.
 *
 *   open() --> [idle] --events_begin()--> [iterating] --events_next() returns 0 or < 0--> [idle]
 *   events_begin() in any state restarts the iteration.
 */
#include "trace/trace.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim/hv_err.h"
#include "trace/trace_int.h"

/* Enough for any kind list this build could write, with room for later versions. */
#define TRACE_READER_MAX_KINDS 4096

struct trace_reader {
    sqlite3 *db;
    char *path;                         /* owned copy, for error details */
    sqlite3_stmt *st_info, *st_blob, *st_count, *st_kind_id;
    sqlite3_stmt *st_events[SCHEMA_EVENTS_VARIANTS];  /* [SCHEMA_BY_* bits], on first use */
    sqlite3_stmt *cur;                  /* invariant 2 */
    int *kind_map;                      /* invariant 1; owned */
    int nkind_map;
    int version;                        /* invariant 3 */
};

__attribute__((unused)) static bool trace_reader_check(const struct trace_reader *r)
{
    bool cur_ok = r->cur == NULL;
    for (int i = 0; i < SCHEMA_EVENTS_VARIANTS; i++)
        cur_ok = cur_ok || r->cur == r->st_events[i];
    return r->db && r->path && r->st_info && r->st_blob && r->st_count && r->st_kind_id &&
           (r->nkind_map == 0 || r->kind_map) && cur_ok && r->version >= 1 &&
           r->version <= HV_TRACE_VERSION;
}

static uint32_t trace_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * Checks what can be known from the file itself before SQLite reads it: that it is a regular,
 * non-empty SQLite file, and no shorter than its header says. SQLite would open a truncated
 * file and fail only at the first query that reaches a missing page.
 */
static int trace_reader_check_file(const char *path)
{
    static const char magic[16] = "SQLite format 3";   /* with its NUL */
    unsigned char hdr[100];
    struct stat st;
    int err = 0;
    int fd = -1;
    if (stat(path, &st) != 0) {
        err = errno == ENOENT ? hv_error_set(HV_ENOENT, "%s: no such file", path)
                              : hv_error_set(HV_EIO, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        err = hv_error_set(HV_ETRACE, "%s: not an hvsim trace: not a regular file", path);
        goto out;
    }
    if (st.st_size == 0) {
        err = hv_error_set(HV_ETRACE, "%s: not an hvsim trace: empty file", path);
        goto out;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        err = hv_error_set(HV_EIO, "%s: %s", path, strerror(errno));
        goto out;
    }
    ssize_t n = pread(fd, hdr, sizeof hdr, 0);
    if (n < 0) {
        err = hv_error_set(HV_EIO, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (memcmp(hdr, magic, (size_t)n < sizeof magic ? (size_t)n : sizeof magic) != 0) {
        err = hv_error_set(HV_ETRACE, "%s: not an hvsim trace: file is not a database", path);
        goto out;
    }
    if ((size_t)n < sizeof hdr) {
        err = hv_error_set(HV_ETRACE, "%s: truncated trace (%zd bytes, less than a header)",
                           path, n);
        goto out;
    }
    /* Header: page size at 16 (1 means 65536), change counter at 24, page count at 28,
     * valid only when the "version-valid-for" number at 92 equals the change counter. */
    uint32_t page = (uint32_t)hdr[16] << 8 | hdr[17];
    page = page == 1 ? 65536 : page;
    uint64_t pages = trace_be32(hdr + 28);
    bool pages_valid = pages != 0 && trace_be32(hdr + 24) == trace_be32(hdr + 92);
    if (page < 512 || (page & (page - 1)) != 0) {
        err = hv_error_set(HV_ETRACE, "%s: not an hvsim trace: file is not a database", path);
        goto out;
    }
    if ((uint64_t)st.st_size % page != 0) {
        err = hv_error_set(HV_ETRACE, "%s: truncated trace (%lld bytes, not a whole number of %"
                           PRIu32 "-byte pages)", path, (long long)st.st_size, page);
        goto out;
    }
    if (pages_valid && pages * page > (uint64_t)st.st_size) {
        err = hv_error_set(HV_ETRACE, "%s: truncated trace (%lld bytes, the header says %"
                           PRIu64 ")", path, (long long)st.st_size, pages * page);
        goto out;
    }
out:
    if (fd >= 0)
        close(fd);
    return err;
}

static int trace_reader_prepare(struct trace_reader *r, sqlite3_stmt **st, const char *sql)
{
    int rc = sqlite3_prepare_v3(r->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
    if (rc == SQLITE_OK)
        return 0;
    /* The application_id said hvsim, so a missing table means a damaged trace. */
    int err = trace_sqlite_error(r->db, rc, r->path, "not a usable hvsim trace");
    return err == HV_ENOMEM ? err : HV_ETRACE;
}

/* Runs a one-row integer query (a PRAGMA, count(*)). */
static int trace_reader_int(struct trace_reader *r, const char *sql, const char *what,
                            int64_t *out)
{
    sqlite3_stmt *st = NULL;
    int err = 0;
    int rc = sqlite3_prepare_v2(r->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        /* SQLite finds out it is not looking at a database only at the first query. */
        bool foreign = (rc & 0xff) == SQLITE_NOTADB;
        err = trace_sqlite_error(r->db, rc, r->path, foreign ? "not an hvsim trace" : what);
        goto out;
    }
    *out = sqlite3_column_int64(st, 0);
out:
    sqlite3_finalize(st);
    return err;
}

/* Fills kind_map from the file's event_kinds table (invariant 1). */
static int trace_reader_load_kinds(struct trace_reader *r)
{
    sqlite3_stmt *st = NULL;
    int err = trace_reader_prepare(r, &st, schema_sql_kinds);
    int rc;
    if (err)
        goto out;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        const char *name = (const char *)sqlite3_column_text(st, 1);
        if (id < 0 || id >= TRACE_READER_MAX_KINDS || !name) {
            err = hv_error_set(HV_ETRACE, "%s: not a usable hvsim trace: bad event kind id %"
                               PRId64, r->path, id);
            goto out;
        }
        if (id >= r->nkind_map) {
            int *map = realloc(r->kind_map, (size_t)(id + 1) * sizeof *map);
            if (!map) {
                err = hv_error_set(HV_ENOMEM, "%s: out of memory", r->path);
                goto out;
            }
            for (int64_t i = r->nkind_map; i <= id; i++)
                map[i] = -1;
            r->kind_map = map;
            r->nkind_map = (int)id + 1;
        }
        r->kind_map[id] = hv_kind_lookup(name);
    }
    if (rc != SQLITE_DONE)
        err = trace_sqlite_error(r->db, rc, r->path, "event kinds");
out:
    sqlite3_finalize(st);
    return err;
}

int trace_reader_open(struct trace_reader **out, const char *path)
{
    int err = 0;
    int rc;
    int64_t app_id = 0, version = 0;
    struct trace_reader *r = calloc(1, sizeof *r);
    *out = NULL;
    if (!r || !(r->path = strdup(path))) {
        err = hv_error_set(HV_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    if ((err = trace_reader_check_file(path)))
        goto out;
    rc = sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READONLY, NULL);
    if (rc != SQLITE_OK) {
        err = trace_sqlite_error(r->db, rc, path, "cannot open trace");
        goto out;
    }
    /* Only a writer recovering its -wal can hold a reader off; wait for it briefly. */
    sqlite3_busy_timeout(r->db, 2000);
    if ((err = trace_reader_int(r, schema_sql_app_id, "cannot read trace", &app_id)))
        goto out;
    if (app_id != HV_TRACE_APP_ID) {
        err = hv_error_set(HV_ETRACE, "%s: not an hvsim trace (application_id 0x%08" PRIx32 ")",
                           path, (uint32_t)app_id);
        goto out;
    }
    if ((err = trace_reader_int(r, schema_sql_version, "cannot read trace", &version)))
        goto out;
    if (version > HV_TRACE_VERSION) {
        err = hv_error_set(HV_ETRACE_NEW, "%s: trace schema version %" PRId64
                           " is newer than this hvsim (%d)", path, version, HV_TRACE_VERSION);
        goto out;
    }
    if (version < 1) {
        err = hv_error_set(HV_ETRACE, "%s: not an hvsim trace (schema version %" PRId64 ")",
                           path, version);
        goto out;
    }
    r->version = (int)version;
    if ((err = trace_reader_prepare(r, &r->st_info, schema_sql_get_info)) ||
        (err = trace_reader_prepare(r, &r->st_blob, schema_sql_get_blob)) ||
        (err = trace_reader_prepare(r, &r->st_count, schema_sql_count)) ||
        (err = trace_reader_prepare(r, &r->st_kind_id, schema_sql_kind_id)) ||
        (err = trace_reader_prepare(r, &r->st_events[0], schema_sql_events(r->version, 0))) ||
        (err = trace_reader_load_kinds(r)))
        goto out;
    assert(trace_reader_check(r));
    *out = r;
out:
    if (err)
        trace_reader_close(r);
    return err;
}

void trace_reader_close(struct trace_reader *r)
{
    if (!r)
        return;
    sqlite3_finalize(r->st_info);
    sqlite3_finalize(r->st_blob);
    sqlite3_finalize(r->st_count);
    sqlite3_finalize(r->st_kind_id);
    for (int i = 0; i < SCHEMA_EVENTS_VARIANTS; i++)
        sqlite3_finalize(r->st_events[i]);
    sqlite3_close(r->db);
    free(r->kind_map);
    free(r->path);
    free(r);
}

/*
 * Steps a keyed one-row lookup (st has its key bound as ?1). Returns 1 on a row that is not
 * NULL, 0 when there is none (the statement is then reset), or a negative hv_err. On 1 the
 * caller copies the column and resets st.
 */
static int trace_reader_lookup(struct trace_reader *r, sqlite3_stmt *st, const char *key,
                               const char *what)
{
    int rc = sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        return 1;
    int err = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0
                                                    : trace_sqlite_error(r->db, rc, r->path, what);
    sqlite3_reset(st);
    return err;
}

int trace_reader_info(struct trace_reader *r, const char *key, char **out)
{
    sqlite3_stmt *st = r->st_info;
    int err = trace_reader_lookup(r, st, key, "run_info");
    *out = NULL;
    if (err == 0)
        err = hv_error_set(HV_ENOENT, "%s: run_info has no key '%s'", r->path, key);
    if (err < 0)
        goto out;
    err = 0;
    const char *text = (const char *)sqlite3_column_text(st, 0);
    if (!text || !(*out = strdup(text)))
        err = hv_error_set(HV_ENOMEM, "%s: out of memory", r->path);
    sqlite3_reset(st);
out:
    return err;
}

int trace_reader_blob(struct trace_reader *r, const char *name, void **data, size_t *len)
{
    sqlite3_stmt *st = r->st_blob;
    int err = trace_reader_lookup(r, st, name, "blob");
    *data = NULL;
    *len = 0;
    if (err == 0)
        err = hv_error_set(HV_ENOENT, "%s: no blob named '%s'", r->path, name);
    if (err < 0)
        goto out;
    err = 0;
    size_t n = (size_t)sqlite3_column_bytes(st, 0);
    const void *p = sqlite3_column_blob(st, 0);
    /* One spare byte, so an empty blob is still a pointer the caller frees. */
    *data = malloc(n + 1);
    if (!*data || (n && !p)) {
        free(*data);
        *data = NULL;
        err = hv_error_set(HV_ENOMEM, "%s: out of memory", r->path);
    } else {
        if (n)
            memcpy(*data, p, n);
        *len = n;
    }
    sqlite3_reset(st);
out:
    return err;
}

bool trace_reader_complete(struct trace_reader *r)
{
    char *status = NULL;
    bool complete = trace_reader_info(r, "status", &status) == 0 &&
                    strcmp(status, "complete") == 0;
    free(status);
    return complete;
}

int64_t trace_reader_event_count(struct trace_reader *r)
{
    int64_t n = 0;
    sqlite3_stmt *st = r->st_count;
    int rc = sqlite3_step(st);
    n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0)
                         : trace_sqlite_error(r->db, rc, r->path, "count events");
    sqlite3_reset(st);
    return n;
}

int trace_reader_events_begin(struct trace_reader *r, const struct trace_filter *f)
{
    static const struct trace_filter all = TRACE_FILTER_ALL;
    int err = 0;
    int64_t kind_id = -1;
    f = f ? f : &all;
    bool by_vcpu = f->vcpu != -2, by_kind = f->kind != NULL;
    unsigned filters = (by_kind ? SCHEMA_BY_KIND : 0) | (by_vcpu ? SCHEMA_BY_VCPU : 0) |
                       (f->by_vm ? SCHEMA_BY_VM : 0);
    if (r->cur) {
        sqlite3_reset(r->cur);
        r->cur = NULL;
    }
    if (by_kind) {
        err = trace_reader_lookup(r, r->st_kind_id, f->kind, "event kinds");
        if (err < 0)
            goto out;
        if (err == 1)
            kind_id = sqlite3_column_int64(r->st_kind_id, 0);
        sqlite3_reset(r->st_kind_id);
        err = 0;
        /* A kind this hvsim knows but the file has no row for matches nothing (kind_id -1);
         * a name nobody knows is a mistake worth saying. */
        if (kind_id < 0 && hv_kind_lookup(f->kind) < 0) {
            err = hv_error_set(HV_EINVAL, "%s: unknown event kind '%s'", r->path, f->kind);
            goto out;
        }
    }
    sqlite3_stmt **st = &r->st_events[filters];
    if (!*st && (err = trace_reader_prepare(r, st, schema_sql_events(r->version, filters))))
        goto out;
    sqlite3_bind_int64(*st, 1, f->from < 0 ? 0 : f->from);
    sqlite3_bind_int64(*st, 2, f->to < 0 ? INT64_MAX : f->to);
    if (by_vcpu)
        sqlite3_bind_int64(*st, 3, f->vcpu);
    if (by_kind)
        sqlite3_bind_int64(*st, 4, kind_id);
    if (f->by_vm)
        sqlite3_bind_int64(*st, 5, f->vm);
    r->cur = *st;
out:
    assert(trace_reader_check(r));
    return err;
}

int trace_reader_events_next(struct trace_reader *r, struct hv_event *ev)
{
    int ret = 0;
    sqlite3_stmt *st = r->cur;
    if (!st)
        return 0;
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        ret = rc == SQLITE_DONE ? 0 : trace_sqlite_error(r->db, rc, r->path, "read events");
        goto out;
    }
    /* Columns: seq, vm, vcpu, icount, kind id, pc, detail (schema_sql_events). */
    int64_t id = sqlite3_column_int64(st, 4);
    int kind = id >= 0 && id < r->nkind_map ? r->kind_map[id] : -1;
    if (kind < 0) {
        ret = hv_error_set(HV_ETRACE, "%s: event %" PRId64 " has an unknown kind (id %" PRId64
                           ")", r->path, (int64_t)sqlite3_column_int64(st, 0), id);
        goto out;
    }
    ev->seq = trace_u64_of_i64(sqlite3_column_int64(st, 0));
    ev->vm = (uint32_t)sqlite3_column_int64(st, 1);
    ev->vcpu = (int32_t)sqlite3_column_int64(st, 2);
    ev->icount = trace_u64_of_i64(sqlite3_column_int64(st, 3));
    ev->kind = (enum hv_ev_kind)kind;
    ev->pc = trace_u64_of_i64(sqlite3_column_int64(st, 5));
    ev->detail = (const char *)sqlite3_column_text(st, 6);
    ev->detail_len = (size_t)sqlite3_column_bytes(st, 6);
    if (!ev->detail) {
        ev->detail = "";
        ev->detail_len = 0;
    }
    ret = 1;
out:
    if (ret <= 0) {
        /* The end or an error: reset ends the read transaction, so a live writer's WAL can
         * be checkpointed. */
        sqlite3_reset(st);
        r->cur = NULL;
    }
    assert(trace_reader_check(r));
    return ret;
}
