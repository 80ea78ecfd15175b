/*
 * reader.c - trace_reader: opens a trace read-only, checks that it is one, and reads its
 * run_info, blobs and events.
 *
 * trace_reader_open() refuses anything that is not an hvsim trace this build understands,
 * before any query can run into it: a missing path (HV_ENOENT), something that is not a
 * regular file, an empty or truncated file, a file that is not SQLite, an SQLite database
 * with another application_id or without the trace tables (HV_ETRACE), and a newer schema
 * version (HV_ETRACE_NEW). Each detail names the path. A trace whose writer is still running
 * or died is read through its -wal file like any other, and then through its tail file
 * (trace/tail.h): the reader sees every committed event and every event in the tail that
 * continues them, and trace_reader_complete() says false.
 *
 * Version 3 events are decoded from their chunks (trace/chunk.h) with the kinds and fields the
 * file declares in event_kinds, so a trace written by a build with other kinds or fields
 * reads as written. Versions 1 and 2 keep one event_rows row per event with its detail; a
 * version 1 trace has no vm column, and its events read vm 0 (the queries are chosen by
 * version).
 *
 * Invariants (trace_reader_check()):
 *  1. version is the file's user_version, 1 .. HV_TRACE_VERSION; it picks the event queries.
 *  2. Versions 1, 2: kind_map[id] is the enum hv_ev_kind of the file's event_kinds row `id`,
 *     or -1 when this build does not know that name; ids outside 0 .. nkind_map-1 are
 *     unknown. Version 3: kinds[id] is that row with its fields (name NULL for an unused id),
 *     and file_id[k] the id of this build's kind k, or -1.
 *  3. strings holds the file's event_strings ids 0 .. count-1 (then those of the tail);
 *     bad_strings lists those whose text is not one JSON value, which no detail may use.
 *  4. While iterating (iterating true): versions 1, 2 step cur, one of st_events[]; version
 *     3 reads event_chunks through st_chunks (src DB), then the tail (src TAIL), and expect is
 *     the seq of the event the next element must have.
 *  5. Every sqlite3_step() goes through trace_reader_step(): the progress handler stops it
 *     once it has spent budget x TRACE_READER_PROGRESS_OPS virtual-machine steps.
 *  6. An open reader's file holds exactly the objects of its version (schema_objects(), and
 *     for version 3 the events view of its own kinds), checked before any other query.
 *
 *   open() --> [idle] --events_begin()--> [iterating] --next() / match() at the end or an
 *   error--> [idle];  events_begin() in any state restarts the iteration.
 */
#include "trace/trace.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim/hv_err.h"
#include "trace/chunk.h"
#include "trace/json.h"
#include "trace/strtab.h"
#include "trace/tail.h"
#include "trace/trace_int.h"

/* Enough for any kind list this build could write, with room for later versions. */
#define TRACE_READER_MAX_KINDS 4096

enum trace_src { SRC_DB, SRC_TAIL, SRC_END };

struct trace_reader {
    sqlite3 *db;
    char *path;                         /* owned copy, for error details */
    char *view_sql;                     /* version 3: the stored events view; owned */
    uint64_t budget;                    /* progress calls one sqlite3_step() may make */
    uint64_t spent;                     /* progress calls of the step under way */
    int version;                        /* invariant 1 */
    sqlite3_stmt *st_info, *st_blob, *st_kind_id;
    /* versions 1 and 2 */
    sqlite3_stmt *st_count, *st_events[SCHEMA_EVENTS_VARIANTS];  /* [SCHEMA_BY_* bits] */
    sqlite3_stmt *cur;                  /* invariant 4 */
    int *kind_map;                      /* invariant 2; owned */
    int nkind_map;
    /* version 3 */
    sqlite3_stmt *st_chunks, *st_strings, *st_chunk_end;
    struct chunk_kind *kinds;           /* invariant 2; owned */
    size_t nkinds;
    int64_t file_id[HV_EV__COUNT];
    struct strtab strings;              /* invariant 3 */
    int64_t *bad_strings;               /* ids whose text is not JSON, ascending; owned */
    size_t nbad_strings;
    int64_t bad_string;                 /* the last one a detail asked for, or -1 */
    unsigned char *tail;                /* the tail file as read by events_begin(); owned */
    size_t tail_len, tail_off;
    /* the iteration (invariant 4) */
    bool iterating;
    struct trace_filter f;
    int64_t f_kind;                     /* file kind id the filter wants, -1 any, -2 none */
    enum trace_src src;
    uint64_t expect;
    struct chunk_base base;             /* of the element at hand */
    struct chunk_cursor cc;
    bool in_chunk, tail_chunk;
    uint64_t tail_seq;                  /* seq of the tail's next element */
    /* the element at hand */
    uint64_t seq;
    struct chunk_tok toks[CHUNK_MAX_TOKS];
    size_t ntoks;
    const char *raw;
    size_t rawlen;
    struct tbuf detail, enc, scratch;
    struct chunk_coder coder;           /* replay: ev encoded with this file's string ids */
};

__attribute__((unused)) static bool trace_reader_check(const struct trace_reader *r)
{
    bool cur_ok = r->cur == NULL;
    for (int i = 0; i < SCHEMA_EVENTS_VARIANTS; i++)
        cur_ok = cur_ok || r->cur == r->st_events[i];
    bool v3 = r->version >= 3;
    return r->db && r->path && r->st_info && r->st_blob && r->st_kind_id && cur_ok &&
           r->version >= 1 && r->version <= HV_TRACE_VERSION &&
           (v3 ? r->st_chunks && r->st_strings && r->st_chunk_end && !r->cur
               : r->st_count && (r->nkind_map == 0 || r->kind_map));
}

static uint32_t trace_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * Every query runs under a budget of SQLite virtual-machine steps (invariant 5), so that a
 * damaged or hostile file cannot keep a reader busy forever: the progress handler is called
 * every TRACE_READER_PROGRESS_OPS steps and stops the statement (SQLITE_INTERRUPT) once one
 * sqlite3_step() has used its budget. The budget grows with the file: a legitimate step may
 * scan every row (a kind filter on a version 1 or 2 trace), which costs a few steps per byte.
 */
#define TRACE_READER_PROGRESS_OPS 10000
#define TRACE_READER_BASE_OPS     50000000ull
#define TRACE_READER_OPS_PER_BYTE 16

static int trace_reader_progress(void *ctx)
{
    struct trace_reader *r = ctx;
    return ++r->spent > r->budget;
}

/* sqlite3_step() with a fresh budget. */
static int trace_reader_step(struct trace_reader *r, sqlite3_stmt *st)
{
    r->spent = 0;
    return sqlite3_step(st);
}

/*
 * Checks what can be known from the file itself before SQLite reads it: that it is a regular,
 * non-empty SQLite file, and no shorter than its header says. SQLite would open a truncated
 * file and fail only at the first query that reaches a missing page.
 */
static int trace_reader_check_file(const char *path, uint64_t *bytes)
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
    *bytes = (uint64_t)st.st_size;
    char wal[4096];
    if ((size_t)snprintf(wal, sizeof wal, "%s-wal", path) < sizeof wal && stat(wal, &st) == 0)
        *bytes += (uint64_t)st.st_size;
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
        rc = trace_reader_step(r, st);
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
/* Versions 1, 2: fills kind_map from the file's event_kinds table (invariant 2). */
static int trace_reader_load_kinds(struct trace_reader *r)
{
    sqlite3_stmt *st = NULL;
    int err = trace_reader_prepare(r, &st, schema_sql_kinds);
    int rc;
    if (err)
        goto out;
    while ((rc = trace_reader_step(r, st)) == SQLITE_ROW) {
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

/* Version 3: fills kinds[] and file_id[] from event_kinds and its fields (invariant 2). */
static int trace_reader_load_kinds3(struct trace_reader *r)
{
    sqlite3_stmt *st = NULL;
    int err = trace_reader_prepare(r, &st, schema_sql_kind_fields);
    int rc;
    for (int k = 0; k < HV_EV__COUNT; k++)
        r->file_id[k] = -1;
    if (err)
        goto out;
    while ((rc = trace_reader_step(r, st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        const char *name = (const char *)sqlite3_column_text(st, 1);
        const char *fname = (const char *)sqlite3_column_text(st, 2);
        const char *ftype = (const char *)sqlite3_column_text(st, 3);
        if (id < 0 || id >= TRACE_READER_MAX_KINDS || !name) {
            err = hv_error_set(HV_ETRACE, "%s: not a usable hvsim trace: bad event kind id %"
                               PRId64, r->path, id);
            goto out;
        }
        if ((size_t)id >= r->nkinds) {
            struct chunk_kind *ks = realloc(r->kinds, (size_t)(id + 1) * sizeof *ks);
            if (!ks) {
                err = hv_error_set(HV_ENOMEM, "%s: out of memory", r->path);
                goto out;
            }
            memset(ks + r->nkinds, 0, ((size_t)id + 1 - r->nkinds) * sizeof *ks);
            r->kinds = ks;
            r->nkinds = (size_t)id + 1;
        }
        struct chunk_kind *k = &r->kinds[id];
        if (!k->name && !(k->name = strdup(name))) {
            err = hv_error_set(HV_ENOMEM, "%s: out of memory", r->path);
            goto out;
        }
        if ((fname || ftype) && (!fname || !ftype || (err = chunk_kind_add_field(k, fname, ftype)))) {
            err = err == HV_ENOMEM ? hv_error_set(err, "%s: out of memory", r->path)
                                   : hv_error_set(HV_ETRACE, "%s: not a usable hvsim trace: "
                                                  "kind %s has a bad field", r->path, name);
            goto out;
        }
    }
    if (rc != SQLITE_DONE) {
        err = trace_sqlite_error(r->db, rc, r->path, "event kinds");
        goto out;
    }
    for (size_t id = 0; id < r->nkinds; id++) {
        chunk_kind_resolve(&r->kinds[id]);
        if (r->kinds[id].kind >= 0)
            r->file_id[r->kinds[id].kind] = (int64_t)id;
    }
out:
    sqlite3_finalize(st);
    return err;
}

/*
 * Adds the next string id's text (invariant 3), noting a text that is not one JSON value: a
 * version 3 detail is its chunk element's integers and these texts, so checking each text
 * once is what keeps every detail JSON. 0 or HV_ENOMEM.
 */
static int trace_reader_add_string(struct trace_reader *r, const char *text, size_t len)
{
    int64_t id = strtab_add(&r->strings, text, len);
    if (id >= 0 && !json_check(text, len, NULL, NULL)) {
        int64_t *bad = realloc(r->bad_strings, (r->nbad_strings + 1) * sizeof *bad);
        if (!bad)
            id = -1;
        else
            (r->bad_strings = bad)[r->nbad_strings++] = id;
    }
    return id < 0 ? hv_error_set(HV_ENOMEM, "%s: out of memory", r->path) : 0;
}

/* Adds the file's event_strings rows from id strings.count on (invariant 3). */
static int trace_reader_load_strings(struct trace_reader *r)
{
    sqlite3_stmt *st = r->st_strings;
    int err = 0, rc;
    sqlite3_bind_int64(st, 1, (int64_t)r->strings.count);
    while ((rc = trace_reader_step(r, st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        const char *text = (const char *)sqlite3_column_text(st, 1);
        /* ids are 0, 1, 2, ...: a gap ends what can be resolved */
        if (id != (int64_t)r->strings.count || !text)
            break;
        if ((err = trace_reader_add_string(r, text, (size_t)sqlite3_column_bytes(st, 1))))
            break;
    }
    if (!err && rc != SQLITE_ROW && rc != SQLITE_DONE)
        err = trace_sqlite_error(r->db, rc, r->path, "event strings");
    sqlite3_reset(st);
    return err;
}

/* chunk_text_fn: a string by id, loading rows committed since the last load on a miss. */
static const char *trace_reader_text(void *ctx, int64_t id, size_t *len)
{
    struct trace_reader *r = ctx;
    const char *s = strtab_get(&r->strings, id, len);
    if (!s && id >= 0 && (uint64_t)id >= r->strings.count &&
        trace_reader_load_strings(r) == 0)
        s = strtab_get(&r->strings, id, len);
    /* bad_strings is ascending (ids are added in order): a binary search */
    size_t lo = 0, hi = s ? r->nbad_strings : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->bad_strings[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (s && lo < r->nbad_strings && r->bad_strings[lo] == id) {
        r->bad_string = id;
        return NULL;
    }
    return s;
}

/* chunk_str_fn for replay: the id a text has in this trace, without adding any. */
static int trace_reader_string_id(void *ctx, const char *json, size_t len, int64_t *id)
{
    struct trace_reader *r = ctx;
    *id = strtab_find(&r->strings, json, len);
    return *id < 0 ? 1 : 0;
}

/*
 * Checks that the file's objects are exactly those of its version (invariant 6): no other
 * table, index, view or trigger, and each with the definition hvsim wrote, so that no query
 * reaches a view in place of a table, a view that recurses or a generated column. Version
 * 3's events view depends on the kinds; its text is kept in view_sql for
 * trace_reader_check_view().
 */
static int trace_reader_check_schema(struct trace_reader *r)
{
    size_t n;
    const struct schema_object *want = schema_objects(r->version, &n);
    bool seen[16] = { false };
    sqlite3_stmt *st = NULL;
    int err = 0;
    assert(n <= sizeof seen / sizeof seen[0]);
    int rc = sqlite3_prepare_v2(r->db, schema_sql_objects, -1, &st, NULL);
    if (rc != SQLITE_OK) {
        err = trace_sqlite_error(r->db, rc, r->path, "not a usable hvsim trace");
        goto out;
    }
    while ((rc = trace_reader_step(r, st)) == SQLITE_ROW) {
        const char *type = (const char *)sqlite3_column_text(st, 0);
        const char *name = (const char *)sqlite3_column_text(st, 1);
        const char *tbl = (const char *)sqlite3_column_text(st, 2);
        const char *sql = (const char *)sqlite3_column_text(st, 3);
        size_t i = 0;
        while (name && i < n && strcmp(want[i].name, name) != 0)
            i++;
        if (!type || !name || !tbl || i == n) {
            err = hv_error_set(HV_ETRACE, "%s: not a usable hvsim trace: unexpected %s '%s'",
                               r->path, type ? type : "object", name ? name : "");
            goto out;
        }
        const struct schema_object *o = &want[i];
        bool view3 = !o->sql && strcmp(o->type, "view") == 0;
        if (strcmp(type, o->type) != 0) {
            err = hv_error_set(HV_ETRACE, "%s: not a usable hvsim trace: %s '%s' is a %s",
                               r->path, o->type, name, type);
            goto out;
        }
        if (seen[i] || strcmp(tbl, o->tbl_name) != 0 ||
            (o->sql ? !sql || strcmp(sql, o->sql) != 0 : view3 ? !sql : sql != NULL)) {
            err = hv_error_set(HV_ETRACE, "%s: not a usable hvsim trace: %s '%s' is not the "
                               "one hvsim creates", r->path, o->type, name);
            goto out;
        }
        if (view3 && !(r->view_sql = strdup(sql))) {
            err = hv_error_set(HV_ENOMEM, "%s: out of memory", r->path);
            goto out;
        }
        seen[i] = true;
    }
    if (rc != SQLITE_DONE) {
        err = trace_sqlite_error(r->db, rc, r->path, "not a usable hvsim trace");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (!seen[i]) {
            err = hv_error_set(HV_ETRACE, "%s: not a usable hvsim trace: no %s '%s'", r->path,
                               want[i].type, want[i].name);
            goto out;
        }
    }
out:
    sqlite3_finalize(st);
    return err;
}

/* Version 3: the events view is the one a writer with the file's kinds creates. */
static int trace_reader_check_view(struct trace_reader *r)
{
    char *sql = schema_view_sql(r->kinds, r->nkinds);
    int err = 0;
    if (!sql)
        err = hv_error_set(HV_ENOMEM, "%s: out of memory", r->path);
    else if (strcmp(sql, r->view_sql) != 0)
        err = hv_error_set(HV_ETRACE, "%s: not a usable hvsim trace: view 'events' is not the "
                           "one hvsim creates for the kinds of event_kinds", r->path);
    sqlite3_free(sql);
    return err;
}

int trace_reader_open(struct trace_reader **out, const char *path)
{
    int err = 0;
    int rc;
    int64_t app_id = 0, version = 0;
    uint64_t bytes = 0;
    struct trace_reader *r = calloc(1, sizeof *r);
    *out = NULL;
    if (!r || !(r->path = strdup(path))) {
        free(r);
        return hv_error_set(HV_ENOMEM, "%s: out of memory", path);
    }
    strtab_init(&r->strings);
    r->coder.str = trace_reader_string_id;
    r->coder.ctx = r;
    if ((err = trace_reader_check_file(path, &bytes)))
        goto out;
    rc = sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READONLY, NULL);
    if (rc != SQLITE_OK) {
        err = trace_sqlite_error(r->db, rc, path, "cannot open trace");
        goto out;
    }
    r->budget = (TRACE_READER_BASE_OPS + TRACE_READER_OPS_PER_BYTE * bytes) /
                TRACE_READER_PROGRESS_OPS;
    sqlite3_progress_handler(r->db, TRACE_READER_PROGRESS_OPS, trace_reader_progress, r);
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
    if ((err = trace_reader_check_schema(r)) ||
        (err = trace_reader_prepare(r, &r->st_info, schema_sql_get_info)) ||
        (err = trace_reader_prepare(r, &r->st_blob, schema_sql_get_blob)) ||
        (err = trace_reader_prepare(r, &r->st_kind_id, schema_sql_kind_id)))
        goto out;
    if (r->version >= 3) {
        if ((err = trace_reader_prepare(r, &r->st_chunks, schema_sql_chunks)) ||
            (err = trace_reader_prepare(r, &r->st_strings, schema_sql_strings)) ||
            (err = trace_reader_prepare(r, &r->st_chunk_end, schema_sql_chunk_end)) ||
            (err = trace_reader_load_kinds3(r)) || (err = trace_reader_check_view(r)))
            goto out;
    } else if ((err = trace_reader_prepare(r, &r->st_count, schema_sql_count_rows)) ||
               (err = trace_reader_prepare(r, &r->st_events[0],
                                           schema_sql_events(r->version, 0))) ||
               (err = trace_reader_load_kinds(r))) {
        goto out;
    }
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
    sqlite3_stmt *sts[] = { r->st_info, r->st_blob, r->st_kind_id, r->st_count, r->st_chunks,
                            r->st_strings, r->st_chunk_end };
    for (size_t i = 0; i < sizeof sts / sizeof sts[0]; i++)
        sqlite3_finalize(sts[i]);
    for (int i = 0; i < SCHEMA_EVENTS_VARIANTS; i++)
        sqlite3_finalize(r->st_events[i]);
    sqlite3_close(r->db);
    for (size_t i = 0; i < r->nkinds; i++)
        chunk_kind_fini(&r->kinds[i]);
    free(r->kinds);
    free(r->kind_map);
    strtab_fini(&r->strings);
    free(r->bad_strings);
    free(r->tail);
    tbuf_fini(&r->detail);
    tbuf_fini(&r->enc);
    tbuf_fini(&r->scratch);
    chunk_coder_fini(&r->coder);
    free(r->view_sql);
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
        rc = trace_reader_step(r, st);
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

int trace_reader_version(const struct trace_reader *r)
{
    return r->version;
}

/* One-row integer statement st, stepped and reset. */
static int64_t trace_reader_step_int(struct trace_reader *r, sqlite3_stmt *st, const char *what)
{
    int rc = trace_reader_step(r, st);
    int64_t n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0)
                                 : trace_sqlite_error(r->db, rc, r->path, what);
    sqlite3_reset(st);
    return n;
}

/* Reads the tail file again (a live writer moves it on). */
static int trace_reader_load_tail(struct trace_reader *r)
{
    bool live;
    free(r->tail);
    r->tail = NULL;
    r->tail_len = 0;
    return tail_load(r->path, &r->tail, &r->tail_len, &live);
}

/* Ends the iteration (invariant 4); resetting ends the read transaction, so a live writer's
 * WAL can be checkpointed. */
static void trace_reader_stop(struct trace_reader *r)
{
    if (r->cur)
        sqlite3_reset(r->cur);
    if (r->st_chunks)
        sqlite3_reset(r->st_chunks);
    r->cur = NULL;
    r->iterating = false;
    r->in_chunk = false;
    r->src = SRC_END;
}

int64_t trace_reader_event_count(struct trace_reader *r)
{
    if (r->version < 3)
        return trace_reader_step_int(r, r->st_count, "count events");
    /* The committed chunks, then the tail's elements that continue them (read apart from the
     * iteration's copy of the tail, which may be in use). */
    int64_t n = trace_reader_step_int(r, r->st_chunk_end, "count events");
    unsigned char *tail = NULL;
    size_t len = 0;
    bool live;
    int err = n < 0 ? (int)n : tail_load(r->path, &tail, &len, &live);
    if (err)
        return err;
    struct tail_rec rec;
    size_t off = TAIL_HEADER;
    uint64_t seq = 0;
    bool in_chunk = false;
    while (tail_next(tail, len, &off, &rec)) {
        if (rec.type == 'C' && rec.n >= 8) {
            memcpy(&seq, rec.p, 8);
            in_chunk = true;
        } else if (rec.type == 'E' && in_chunk) {
            if (seq == (uint64_t)n)
                n++;
            else if (seq > (uint64_t)n)
                break;
            seq++;
        }
    }
    free(tail);
    return n;
}

int trace_reader_events_begin(struct trace_reader *r, const struct trace_filter *f)
{
    static const struct trace_filter all = TRACE_FILTER_ALL;
    int err = 0;
    f = f ? f : &all;
    trace_reader_stop(r);
    r->f = *f;
    r->f.from = f->from < 0 ? 0 : f->from;
    r->f.to = f->to < 0 ? INT64_MAX : f->to;
    r->f_kind = -1;
    if (f->kind) {
        int64_t id = -2;
        if (r->version >= 3) {
            for (size_t i = 0; i < r->nkinds; i++)
                if (r->kinds[i].name && strcmp(r->kinds[i].name, f->kind) == 0)
                    id = (int64_t)i;
        } else {
            err = trace_reader_lookup(r, r->st_kind_id, f->kind, "event kinds");
            if (err < 0)
                goto out;
            if (err == 1)
                id = sqlite3_column_int64(r->st_kind_id, 0);
            sqlite3_reset(r->st_kind_id);
            err = 0;
        }
        /* A kind this hvsim knows but the file has no row for matches nothing; a name nobody
         * knows is a mistake worth saying. */
        if (id == -2 && hv_kind_lookup(f->kind) < 0) {
            err = hv_error_set(HV_EINVAL, "%s: unknown event kind '%s'", r->path, f->kind);
            goto out;
        }
        r->f_kind = id;
    }
    if (r->version < 3) {
        bool by_vcpu = f->vcpu != -2, by_kind = f->kind != NULL;
        unsigned filters = (by_kind ? SCHEMA_BY_KIND : 0) | (by_vcpu ? SCHEMA_BY_VCPU : 0) |
                           (f->by_vm ? SCHEMA_BY_VM : 0);
        sqlite3_stmt **st = &r->st_events[filters];
        if (!*st && (err = trace_reader_prepare(r, st, schema_sql_events(r->version, filters))))
            goto out;
        sqlite3_bind_int64(*st, 1, r->f.from);
        sqlite3_bind_int64(*st, 2, r->f.to);
        if (by_vcpu)
            sqlite3_bind_int64(*st, 3, f->vcpu);
        if (by_kind)
            sqlite3_bind_int64(*st, 4, r->f_kind);
        if (f->by_vm)
            sqlite3_bind_int64(*st, 5, f->vm);
        r->cur = *st;
    } else {
        /* The tail first, then the chunks: a commit in between only moves events from the
         * tail into the database, where the iteration finds them (invariant 4). Every string
         * committed so far is loaded, so that replay can look texts up. */
        int64_t end;
        if ((err = trace_reader_load_tail(r)) || (err = trace_reader_load_strings(r)))
            goto out;
        if ((end = trace_reader_step_int(r, r->st_chunk_end, "read events")) < 0) {
            err = (int)end;
            goto out;
        }
        r->expect = (uint64_t)end;
        sqlite3_bind_int64(r->st_chunks, 1, r->f.from);
        sqlite3_bind_int64(r->st_chunks, 2, r->f.to);
        r->src = SRC_DB;
        r->in_chunk = false;
        r->tail_chunk = false;
        r->tail_off = TAIL_HEADER;
    }
    r->iterating = true;
out:
    assert(trace_reader_check(r));
    return err;
}

static int trace_reader_bad_chunk(struct trace_reader *r, uint64_t seq)
{
    return hv_error_set(HV_ETRACE, "%s: damaged event chunk at seq %" PRIu64, r->path, seq);
}

/* Version 3, tail: the next element that continues the events before it, or 0. */
static int trace_reader_tail_next(struct trace_reader *r)
{
    struct tail_rec rec;
    while (tail_next(r->tail, r->tail_len, &r->tail_off, &rec)) {
        if (rec.type == 'S' && rec.n >= 8) {
            int64_t id;
            memcpy(&id, rec.p, 8);
            if (id > (int64_t)r->strings.count)
                return 0;   /* a gap: what follows cannot be resolved */
            int err = id == (int64_t)r->strings.count
                          ? trace_reader_add_string(r, (const char *)rec.p + 8, rec.n - 8)
                          : 0;
            if (err)
                return err;
        } else if (rec.type == 'C' && rec.n >= 28) {
            memcpy(&r->base.seq, rec.p, 8);
            memcpy(&r->base.icount, rec.p + 8, 8);
            memcpy(&r->base.pc, rec.p + 16, 8);
            memcpy(&r->base.vm, rec.p + 24, 4);
            r->tail_seq = r->base.seq;
            r->tail_chunk = true;
        } else if (rec.type == 'E' && r->tail_chunk) {
            uint64_t seq = r->tail_seq++;
            if (seq < r->expect)
                continue;    /* committed since: the database gave it */
            if (seq > r->expect)
                return 0;
            if (chunk_parse((const char *)rec.p, rec.n, r->toks, &r->ntoks))
                return 0;    /* the last record of a writer killed while it was written */
            r->raw = (const char *)rec.p;
            r->rawlen = rec.n;
            r->seq = seq;
            r->expect++;
            return 1;
        } else {
            return 0;
        }
    }
    return 0;
}

/* Version 3: the next element of the file, after the database's chunks the tail's. */
static int trace_reader_element(struct trace_reader *r)
{
    for (;;) {
        if (r->src == SRC_DB && r->in_chunk) {
            int got = chunk_next(&r->cc, r->toks, &r->ntoks, &r->raw, &r->rawlen);
            if (got < 0)
                return trace_reader_bad_chunk(r, r->base.seq + r->cc.index);
            if (got > 0) {
                r->seq = r->base.seq + r->cc.index - 1;
                return 1;
            }
            r->in_chunk = false;
            continue;
        }
        if (r->src == SRC_DB) {
            sqlite3_stmt *st = r->st_chunks;
            int rc = trace_reader_step(r, st);
            if (rc == SQLITE_ROW) {
                r->base.seq = trace_u64_of_i64(sqlite3_column_int64(st, 0));
                int64_t n = sqlite3_column_int64(st, 1);
                r->base.vm = (uint32_t)sqlite3_column_int64(st, 2);
                r->base.icount = trace_u64_of_i64(sqlite3_column_int64(st, 3));
                r->base.pc = trace_u64_of_i64(sqlite3_column_int64(st, 4));
                const char *text = (const char *)sqlite3_column_text(st, 5);
                if (!text || n < 0)
                    return trace_reader_bad_chunk(r, r->base.seq);
                chunk_cursor_init(&r->cc, text, (size_t)sqlite3_column_bytes(st, 5));
                if (r->base.seq + (uint64_t)n > r->expect)
                    r->expect = r->base.seq + (uint64_t)n;
                r->in_chunk = true;
                continue;
            }
            if (rc != SQLITE_DONE)
                return trace_sqlite_error(r->db, rc, r->path, "read events");
            sqlite3_reset(st);
            r->src = SRC_TAIL;
            continue;
        }
        if (r->src == SRC_TAIL) {
            int got = trace_reader_tail_next(r);
            if (got)
                return got;
            r->src = SRC_END;
        }
        return 0;
    }
}

/* Version 3: the next element that passes the filter (seq, vm, vCPU, kind). */
static int trace_reader_next3(struct trace_reader *r)
{
    for (;;) {
        int got = trace_reader_element(r);
        if (got <= 0)
            return got;
        if (r->seq > (uint64_t)r->f.to)
            return 0;
        if (r->ntoks < 4)
            return trace_reader_bad_chunk(r, r->seq);
        if (r->seq < (uint64_t)r->f.from || (r->f.by_vm && r->base.vm != r->f.vm) ||
            (r->f.vcpu != -2 && trace_i64_of_u64(r->toks[1].v) != r->f.vcpu) ||
            (r->f_kind != -1 && trace_i64_of_u64(r->toks[0].v) != r->f_kind))
            continue;
        return 1;
    }
}

/* Version 3: the element at hand as an event, its detail in r->detail. */
static int trace_reader_decode(struct trace_reader *r, struct hv_event *ev)
{
    int64_t id = trace_i64_of_u64(r->toks[0].v);
    const struct chunk_kind *k = id >= 0 && (size_t)id < r->nkinds ? &r->kinds[id] : NULL;
    if (!k || k->kind < 0)
        return hv_error_set(HV_ETRACE, "%s: event %" PRIu64 " has an unknown kind (id %" PRId64
                            ")", r->path, r->seq, id);
    r->detail.len = 0;
    r->bad_string = -1;
    int err = chunk_detail(&r->detail, k, r->toks, r->ntoks, trace_reader_text, r);
    if (err == HV_ENOMEM)
        return hv_error_set(err, "%s: out of memory", r->path);
    if (err && r->bad_string >= 0)
        return hv_error_set(HV_ETRACE, "%s: event %" PRIu64 ": damaged detail: event_strings "
                            "id %" PRId64 " is not JSON", r->path, r->seq, r->bad_string);
    if (err)
        return trace_reader_bad_chunk(r, r->seq);
    *ev = (struct hv_event){
        .seq = r->seq, .vm = r->base.vm, .vcpu = (int32_t)trace_i64_of_u64(r->toks[1].v),
        .icount = r->base.icount + r->toks[2].v, .kind = (enum hv_ev_kind)k->kind,
        .pc = r->base.pc + r->toks[3].v, .detail = r->detail.p, .detail_len = r->detail.len,
    };
    return 0;
}

/* Versions 1, 2: the row at hand as an event. */
static int trace_reader_row(struct trace_reader *r, struct hv_event *ev)
{
    sqlite3_stmt *st = r->cur;
    /* Columns: seq, vm, vcpu, icount, kind id, pc, detail (schema_sql_events). */
    int64_t id = sqlite3_column_int64(st, 4);
    int kind = id >= 0 && id < r->nkind_map ? r->kind_map[id] : -1;
    if (kind < 0)
        return hv_error_set(HV_ETRACE, "%s: event %" PRId64 " has an unknown kind (id %" PRId64
                            ")", r->path, (int64_t)sqlite3_column_int64(st, 0), id);
    *ev = (struct hv_event){
        .seq = trace_u64_of_i64(sqlite3_column_int64(st, 0)),
        .vm = (uint32_t)sqlite3_column_int64(st, 1),
        .vcpu = (int32_t)sqlite3_column_int64(st, 2),
        .icount = trace_u64_of_i64(sqlite3_column_int64(st, 3)), .kind = (enum hv_ev_kind)kind,
        .pc = trace_u64_of_i64(sqlite3_column_int64(st, 5)),
        .detail = (const char *)sqlite3_column_text(st, 6),
        .detail_len = (size_t)sqlite3_column_bytes(st, 6),
    };
    if (!ev->detail) {
        ev->detail = "";
        ev->detail_len = 0;
    }
    return 0;
}

/* Moves to the next event: 1 (the element or row at hand), 0 at the end, or an error. */
static int trace_reader_advance(struct trace_reader *r)
{
    if (!r->iterating)
        return 0;
    if (r->version >= 3)
        return trace_reader_next3(r);
    int rc = trace_reader_step(r, r->cur);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : trace_sqlite_error(r->db, rc, r->path, "read events");
}

/*
 * The event at hand, decoded (version 3) or read (versions 1, 2) into ev, its detail one JSON
 * value: a version 3 detail is built from parts checked as they were read (the element's
 * integers, the event_strings texts), a stored version 1 or 2 detail is checked here.
 */
static int trace_reader_event(struct trace_reader *r, struct hv_event *ev)
{
    if (r->version >= 3)
        return trace_reader_decode(r, ev);
    int err = trace_reader_row(r, ev);
    size_t bad;
    if (!err && !json_check(ev->detail, ev->detail_len, &bad, NULL))
        err = hv_error_set(HV_ETRACE, "%s: event %" PRIu64 ": damaged detail: event_rows.detail "
                           "is not JSON (at byte %zu)", r->path, ev->seq, bad);
    return err;
}

int trace_reader_events_next(struct trace_reader *r, struct hv_event *ev)
{
    int ret = trace_reader_advance(r);
    if (ret > 0) {
        int err = trace_reader_event(r, ev);
        ret = err ? err : 1;
    }
    if (ret <= 0)
        trace_reader_stop(r);
    assert(trace_reader_check(r));
    return ret;
}

/* Whether ev is the element at hand, byte for byte as the writer would have stored it. */
static bool trace_reader_same_bytes(struct trace_reader *r, const struct hv_event *ev)
{
    int64_t id = (int)ev->kind >= 0 && ev->kind < HV_EV__COUNT ? r->file_id[ev->kind] : -1;
    if (id < 0 || !r->kinds[id].same || ev->seq != r->seq || ev->vm != r->base.vm)
        return false;
    r->enc.len = 0;
    return chunk_encode(&r->enc, &r->coder, id, ev, &r->base) == 0 &&
           r->enc.len == r->rawlen && memcmp(r->enc.p, r->raw, r->rawlen) == 0;
}

/* The canonical detail of ev: its own, or encoded from its fields into r->scratch. */
static int trace_reader_detail_of(struct trace_reader *r, const struct hv_event *ev,
                                  const char **d, size_t *n)
{
    if (ev->detail) {
        *d = ev->detail;
        *n = ev->detail_len ? ev->detail_len : strlen(ev->detail);
        return 0;
    }
    size_t need = hv_event_encode(NULL, 0, ev->kind, ev->fields);
    if (tbuf_reserve(&r->scratch, need + 1))
        return hv_error_set(HV_ENOMEM, "%s: out of memory", r->path);
    *n = hv_event_encode(r->scratch.p, r->scratch.cap, ev->kind, ev->fields);
    *d = r->scratch.p;
    return 0;
}

int trace_reader_events_match(struct trace_reader *r, const struct hv_event *ev,
                              struct hv_event *rec)
{
    int ret = trace_reader_advance(r);
    if (ret <= 0) {
        trace_reader_stop(r);
        return ret < 0 ? ret : TRACE_END;
    }
    if (r->version >= 3 && (ev->fields || !hv_kind_desc(ev->kind) ||
                            !hv_kind_desc(ev->kind)->nfields) &&
        trace_reader_same_bytes(r, ev))
        return TRACE_SAME;
    /* Different bytes (or an older version): compare the decoded event column by column. */
    int err = trace_reader_event(r, rec);
    const char *d = NULL;
    size_t n = 0;
    if (err || (err = trace_reader_detail_of(r, ev, &d, &n))) {
        trace_reader_stop(r);
        return err;
    }
    bool same = rec->seq == ev->seq && rec->vm == ev->vm && rec->vcpu == ev->vcpu &&
                rec->icount == ev->icount && rec->kind == ev->kind && rec->pc == ev->pc &&
                rec->detail_len == n && memcmp(rec->detail, d, n) == 0;
    return same ? TRACE_SAME : TRACE_DIFFERENT;
}
