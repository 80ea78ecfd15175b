/*
 * test_trace.c - trace files (trace/writer.c, trace/reader.c, trace/schema.c): round trips of
 * every kind (through the reader and through the SQL view), run_info and blobs, event
 * filters, chunks and commits, replay's comparison, a writer that dies (with and without its
 * tail file), foreign, truncated and damaged files, writer errors, and that
 * docs/trace-format.md covers every kind and field and every column of the events view.
 *
 * Events of two VMs (vm 0 and 1) share one timeline and filter by VM; a version 1 trace (no
 * vm column), written here with the old schema's SQL, still reads, every event vm 0.
 *
 * Every file lives in one mkdtemp() folder under /tmp, made by the suite's init and removed
 * by its cleanup. Table-shaped behaviour is tested as rows and one loop; a failing row names
 * itself in the CUnit message.
 */
#include <CUnit/CUnit.h>
#include <ftw.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/test_util.h"
#include "sim/hv_err.h"
#include "trace/trace.h"

void test_trace_register(void);

#define TT_N(a) (sizeof(a) / sizeof((a)[0]))

static char tt_dir[64];

/* ---- helpers ---------------------------------------------------------------------------- */

#define TT_CHECK(cond, ...) TEST_CHECK((cond), __VA_ARGS__)

/* Path of name inside the suite's folder, in buf. */
static const char *tt_path(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", tt_dir, name);
    return buf;
}

static void tt_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(fwrite(data, 1, len, f), len);
    CU_ASSERT_EQUAL(fclose(f), 0);
}


static void tt_copy_file(const char *from, const char *to)
{
    size_t len = 0;
    char *data = test_read_file(from, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(data);
    tt_write_file(to, data, len);
    free(data);
}

static bool tt_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* One struct of any kind, for generic filling through the descriptors. */
#define TT_UNION_(k, kdoc, ...) struct hv_ev_##k k;
#define TT_F_NONE_(t, n, d)
union tt_any {
    HV_EVENTS(TT_UNION_, TT_F_NONE_)
};
#undef TT_UNION_
#undef TT_F_NONE_

/*
 * Writes the event for (seq, vm, vcpu, kind) through the sink, as sim/ does: icount and pc
 * follow from seq; fields NULL means all zero.
 */
static int tt_event_vm_raw(struct trace_writer *w, uint64_t seq, uint32_t vm, int32_t vcpu,
                           enum hv_ev_kind kind, const void *fields)
{
    static const union tt_any zero;
    char buf[1024];
    size_t n = hv_event_encode(buf, sizeof buf, kind, fields ? fields : &zero);
    if (n >= sizeof buf)
        return HV_ELIMIT;
    struct hv_event ev = { .seq = seq, .vm = vm, .vcpu = vcpu, .icount = seq * 10,
                           .kind = kind, .pc = 0x1000 + seq * 4, .detail = buf,
                           .detail_len = n, .fields = fields ? fields : &zero };
    hv_event_sink_fn sink = trace_writer_sink;
    return sink(w, &ev);
}

/* The same in VM 0, the only VM of a run without migration. */
static int tt_event_raw(struct trace_writer *w, uint64_t seq, int32_t vcpu,
                        enum hv_ev_kind kind, const void *fields)
{
    return tt_event_vm_raw(w, seq, 0, vcpu, kind, fields);
}

static void tt_event_vm(struct trace_writer *w, uint64_t seq, uint32_t vm, int32_t vcpu,
                        enum hv_ev_kind kind, const void *fields)
{
    int err = tt_event_vm_raw(w, seq, vm, vcpu, kind, fields);
    TT_CHECK(err == 0, "event %" PRIu64 ": %s (%s)", seq, hv_err_name(err), hv_error_detail());
}

/* Writes events [from, to) of kind ucall_sync with n = seq on vCPU seq % 2. */
static void tt_sync_events(struct trace_writer *w, uint64_t from, uint64_t to)
{
    for (uint64_t seq = from; seq < to; seq++) {
        struct hv_ev_ucall_sync s = { .n = seq };
        if (tt_event_raw(w, seq, (int32_t)(seq % 2), HV_EV_ucall_sync, &s) != 0) {
            TT_CHECK(false, "sync event %" PRIu64 ": %s", seq, hv_error_detail());
            return;
        }
    }
}

static struct trace_writer *tt_writer(const char *path)
{
    struct trace_writer *w = NULL;
    int err = trace_writer_open(&w, path);
    TT_CHECK(err == 0, "trace_writer_open(%s): %s", path, hv_error_detail());
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    return w;
}

static struct trace_reader *tt_reader(const char *path)
{
    struct trace_reader *r = NULL;
    int err = trace_reader_open(&r, path);
    TT_CHECK(err == 0, "trace_reader_open(%s): %s", path, hv_error_detail());
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    return r;
}

/* A valid trace of n sync events, finished and closed. */
static void tt_make_trace(const char *path, uint64_t n)
{
    struct trace_writer *w = tt_writer(path);
    CU_ASSERT_EQUAL(trace_writer_set_info(w, "scenario_name", "tt"), 0);
    tt_sync_events(w, 0, n);
    CU_ASSERT_EQUAL(trace_writer_finish(w), 0);
    trace_writer_close(w);
}

/* Plain SQL on a trace, to check the file as users see it. */
static sqlite3 *tt_sql_open(const char *path, int flags)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, flags, NULL);
    TT_CHECK(rc == SQLITE_OK, "sqlite3_open_v2(%s): %s", path, sqlite3_errstr(rc));
    return db;
}

/* First column of the first row of sql as an integer; INT64_MIN on error. */
static int64_t tt_sql_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t v = INT64_MIN;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    TT_CHECK(v != INT64_MIN, "%s: %s", sql, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return v;
}

static void tt_sql_exec(sqlite3 *db, const char *sql)
{
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    TT_CHECK(rc == SQLITE_OK, "%s: %s", sql, sqlite3_errmsg(db));
}

/* ---- round trip of every kind ----------------------------------------------------------- */

/* Fills every field of kind through its descriptor, with values that stress the encoding. */
static void tt_fill(union tt_any *u, enum hv_ev_kind kind)
{
    static const uint8_t bytes[] = { 0x00, 0x0f, 0x00, 0xff, 0x90 };
    const struct hv_kind_desc *kd = hv_kind_desc(kind);
    memset(u, 0, sizeof *u);
    for (size_t i = 0; i < kd->nfields; i++) {
        char *p = (char *)u + kd->fields[i].offset;
        uint64_t u64 = 0xfedcba9876543210u + i;       /* above INT64_MAX */
        int64_t i64 = -1234567 - (int64_t)i;
        uint64_t addr = 0xffff800000000000u + i * 0x1000;
        const char *str = i % 2 ? NULL : "q\"uo\\te\n\t\x01 caf\xc3\xa9";
        const char *json = "{\"a\":[1,2,null],\"b\":\"x\"}";
        bool b = i % 2 == 0;
        struct hv_bytes hex = { bytes, sizeof bytes };
        switch (kd->fields[i].type) {
        case HV_FIELD_U64: memcpy(p, &u64, sizeof u64); break;
        case HV_FIELD_I64: memcpy(p, &i64, sizeof i64); break;
        case HV_FIELD_ADDR: memcpy(p, &addr, sizeof addr); break;
        case HV_FIELD_STR: memcpy(p, &str, sizeof str); break;
        case HV_FIELD_JSON: memcpy(p, &json, sizeof json); break;
        case HV_FIELD_BOOL: memcpy(p, &b, sizeof b); break;
        case HV_FIELD_HEX: memcpy(p, &hex, sizeof hex); break;
        }
    }
}

/* json_type() of a field of each type, as tt_fill() sets it (i even / odd). */
static const char *tt_json_type(enum hv_field_type t, size_t i)
{
    switch (t) {
    case HV_FIELD_U64:
    case HV_FIELD_I64: return "integer";
    case HV_FIELD_ADDR:
    case HV_FIELD_HEX: return "text";
    case HV_FIELD_STR: return i % 2 ? "null" : "text";
    case HV_FIELD_BOOL: return i % 2 ? "false" : "true";
    case HV_FIELD_JSON: return "object";
    }
    return "?";
}

/* The vm of the round trip's event k: 0, 1, and now and then the largest a column holds. */
static uint32_t tt_round_trip_vm(int k)
{
    return k % 5 == 4 ? UINT32_MAX : (uint32_t)(k % 2);
}

static void test_round_trip_every_kind(void)
{
    char path[128], details[HV_EV__COUNT][1024];
    size_t lens[HV_EV__COUNT];
    tt_path(path, sizeof path, "kinds.db");
    struct trace_writer *w = tt_writer(path);
    for (int k = 0; k < HV_EV__COUNT; k++) {
        union tt_any u;
        tt_fill(&u, (enum hv_ev_kind)k);
        lens[k] = hv_event_encode(details[k], sizeof details[k], (enum hv_ev_kind)k, &u);
        CU_ASSERT_FATAL(lens[k] < sizeof details[k]);
        /* icount and pc above 2^63 exercise the int64 reinterpretation. */
        struct hv_event ev = { .seq = (uint64_t)k, .vm = tt_round_trip_vm(k), .vcpu = k % 3 - 1,
                               .icount = 0x8000000000000000u + (uint64_t)k,
                               .kind = (enum hv_ev_kind)k, .pc = 0xffffffff81000000u + (uint64_t)k,
                               .detail = details[k], .detail_len = lens[k], .fields = &u };
        int err = trace_writer_event(w, &ev);
        TT_CHECK(err == 0, "kind %s: %s", hv_kind_desc(ev.kind)->name, hv_error_detail());
    }
    /* While recording: WAL, and the identity PRAGMAs already committed. */
    sqlite3 *db = tt_sql_open(path, SQLITE_OPEN_READONLY);
    CU_ASSERT_EQUAL(tt_sql_int(db, "PRAGMA application_id"), HV_TRACE_APP_ID);
    CU_ASSERT_EQUAL(tt_sql_int(db, "PRAGMA user_version"), HV_TRACE_VERSION);
    CU_ASSERT_EQUAL(tt_sql_int(db, "SELECT count(*) FROM event_kinds"), HV_EV__COUNT);
    sqlite3_close(db);
    CU_ASSERT_EQUAL(trace_writer_finish(w), 0);
    trace_writer_close(w);

    /* The reader gives back every column byte for byte. */
    struct trace_reader *r = tt_reader(path);
    CU_ASSERT(trace_reader_complete(r));
    CU_ASSERT_EQUAL(trace_reader_event_count(r), HV_EV__COUNT);
    CU_ASSERT_EQUAL(trace_reader_events_begin(r, NULL), 0);
    struct hv_event ev;
    int k = 0, ret;
    while ((ret = trace_reader_events_next(r, &ev)) == 1 && k < HV_EV__COUNT) {
        const char *name = hv_kind_desc((enum hv_ev_kind)k)->name;
        TT_CHECK(ev.seq == (uint64_t)k && ev.vm == tt_round_trip_vm(k) &&
                 ev.vcpu == k % 3 - 1 && (int)ev.kind == k &&
                 ev.icount == 0x8000000000000000u + (uint64_t)k &&
                 ev.pc == 0xffffffff81000000u + (uint64_t)k, "kind %s: columns differ", name);
        TT_CHECK(ev.detail_len == lens[k] && memcmp(ev.detail, details[k], lens[k]) == 0,
                 "kind %s: detail %s, expected %s", name, ev.detail, details[k]);
        k++;
    }
    CU_ASSERT_EQUAL(ret, 0);
    CU_ASSERT_EQUAL(k, HV_EV__COUNT);
    trace_reader_close(r);

    /* The file as SQL users see it: one file, the view, the kind table, the JSON keys. */
    char wal[160];
    snprintf(wal, sizeof wal, "%s-wal", path);
    CU_ASSERT(!tt_exists(wal));
    db = tt_sql_open(path, SQLITE_OPEN_READONLY);
    sqlite3_stmt *st = NULL;
    CU_ASSERT_EQUAL_FATAL(
        sqlite3_prepare_v2(db,
                           "SELECT e.kind, json_valid(e.detail), printf('0x%x', e.pc),"
                           " json_extract(k.fields, printf('$[%d].name', ?2)),"
                           " json_extract(k.fields, printf('$[%d].type', ?2)),"
                           " json_type(e.detail, '$.' || ?3), json_array_length(k.fields),"
                           " (SELECT count(*) FROM json_each(e.detail)), e.detail, e.vm,"
                           " e.vcpu, printf('0x%x', e.icount)"
                           " FROM events AS e JOIN event_kinds AS k ON k.name = e.kind"
                           " WHERE e.seq = ?1",
                           -1, &st, NULL),
        SQLITE_OK);
    static const char *const type_names[] = { [HV_FIELD_U64] = "u64", [HV_FIELD_I64] = "i64",
                                              [HV_FIELD_ADDR] = "addr", [HV_FIELD_STR] = "str",
                                              [HV_FIELD_BOOL] = "bool", [HV_FIELD_HEX] = "hex",
                                              [HV_FIELD_JSON] = "json" };
    for (k = 0; k < HV_EV__COUNT; k++) {
        const struct hv_kind_desc *kd = hv_kind_desc((enum hv_ev_kind)k);
        char pc[32];
        snprintf(pc, sizeof pc, "0x%" PRIx64, 0xffffffff81000000u + (uint64_t)k);
        for (size_t i = 0; i < (kd->nfields ? kd->nfields : 1); i++) {
            const struct hv_field_desc *f = kd->nfields ? &kd->fields[i] : NULL;
            sqlite3_bind_int(st, 1, k);
            sqlite3_bind_int(st, 2, (int)i);
            sqlite3_bind_text(st, 3, f ? f->name : "none", -1, SQLITE_STATIC);
            TT_CHECK(sqlite3_step(st) == SQLITE_ROW, "kind %s: no row in events", kd->name);
            const char *col0 = (const char *)sqlite3_column_text(st, 0);
            const char *col2 = (const char *)sqlite3_column_text(st, 2);
            TT_CHECK(col0 && strcmp(col0, kd->name) == 0, "kind %s: view says %s", kd->name,
                     col0 ? col0 : "NULL");
            TT_CHECK(sqlite3_column_int(st, 1) == 1, "kind %s: detail is not JSON", kd->name);
            TT_CHECK(col2 && strcmp(col2, pc) == 0, "kind %s: printf pc %s", kd->name,
                     col2 ? col2 : "NULL");
            TT_CHECK(sqlite3_column_int(st, 6) == (int)kd->nfields &&
                     sqlite3_column_int(st, 7) == (int)kd->nfields,
                     "kind %s: field counts differ", kd->name);
            /* the view's detail is the encoder's, byte for byte, and so are the columns */
            const char *det = (const char *)sqlite3_column_text(st, 8);
            const char *ic = (const char *)sqlite3_column_text(st, 11);
            char icount[32];
            snprintf(icount, sizeof icount, "0x%" PRIx64, 0x8000000000000000u + (uint64_t)k);
            TT_CHECK(det && strcmp(det, details[k]) == 0, "kind %s: view detail %s, expected %s",
                     kd->name, det ? det : "NULL", details[k]);
            TT_CHECK(sqlite3_column_int64(st, 9) == tt_round_trip_vm(k) &&
                     sqlite3_column_int(st, 10) == k % 3 - 1 && ic && strcmp(ic, icount) == 0,
                     "kind %s: view vm, vcpu or icount differ", kd->name);
            if (f) {
                const char *n = (const char *)sqlite3_column_text(st, 3);
                const char *t = (const char *)sqlite3_column_text(st, 4);
                const char *jt = (const char *)sqlite3_column_text(st, 5);
                TT_CHECK(n && strcmp(n, f->name) == 0, "kind %s field %zu: name %s", kd->name,
                         i, n ? n : "NULL");
                TT_CHECK(t && strcmp(t, type_names[f->type]) == 0, "kind %s field %s: type %s",
                         kd->name, f->name, t ? t : "NULL");
                TT_CHECK(jt && strcmp(jt, tt_json_type(f->type, i)) == 0,
                         "kind %s field %s: json_type %s", kd->name, f->name, jt ? jt : "NULL");
            }
            sqlite3_reset(st);
        }
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* ---- run_info and blobs ----------------------------------------------------------------- */

static void test_info_and_blobs(void)
{
    static const struct {
        const char *key;
        const char *text;      /* set as text, unless is_int */
        bool is_int;
        int64_t num;
        const char *expect;    /* NULL: HV_ENOENT */
    } rows[] = {
        { "scenario_name", "spinlock", false, 0, "spinlock" },
        { "scenario_text", "name: x\nvcpus: 2\n# \xc3\xa9\n", false, 0,
          "name: x\nvcpus: 2\n# \xc3\xa9\n" },
        { "config", "{\"kvm.max_slots\":\"32\"}", false, 0, "{\"kvm.max_slots\":\"32\"}" },
        { "seed", NULL, true, 42, "42" },
        { "exit_code", NULL, true, -1, "-1" },
        { "instructions", NULL, true, INT64_MAX, "9223372036854775807" },
        { "empty", "", false, 0, "" },
        { "null_value", NULL, false, 0, NULL },
        { "replaced", "first", false, 0, "second" },
        { "replaced", "second", false, 0, "second" },
        { "never_set", NULL, false, 0, NULL },
    };
    uint8_t bin[1000];
    for (size_t i = 0; i < sizeof bin; i++)
        bin[i] = (uint8_t)(i % 3 ? i * 7 : 0);       /* NUL bytes every third byte */
    const struct {
        const char *name;
        const void *data;
        size_t len;
    } blobs[] = {
        { "guest.elf", bin, sizeof bin },
        { "empty", "", 0 },
        { "nul", "\0\0\0", 3 },
    };
    char path[128];
    tt_path(path, sizeof path, "info.db");
    struct trace_writer *w = tt_writer(path);
    for (size_t i = 0; i < TT_N(rows); i++) {
        if (strcmp(rows[i].key, "never_set") == 0)
            continue;
        int err = rows[i].is_int ? trace_writer_set_info_int(w, rows[i].key, rows[i].num)
                                 : trace_writer_set_info(w, rows[i].key, rows[i].text);
        TT_CHECK(err == 0, "set %s: %s", rows[i].key, hv_error_detail());
    }
    CU_ASSERT_EQUAL(trace_writer_put_blob(w, "guest.elf", "old", 3), 0);
    for (size_t i = 0; i < TT_N(blobs); i++)
        TT_CHECK(trace_writer_put_blob(w, blobs[i].name, blobs[i].data, blobs[i].len) == 0,
                 "blob %s: %s", blobs[i].name, hv_error_detail());
    tt_sync_events(w, 0, 3);

    /* Before finish(): what is committed is readable, and the trace says it is not done. */
    CU_ASSERT_EQUAL(trace_writer_flush(w), 0);
    struct trace_reader *r = tt_reader(path);
    char *status = NULL;
    CU_ASSERT(!trace_reader_complete(r));
    CU_ASSERT_EQUAL(trace_reader_info(r, "status", &status), 0);
    CU_ASSERT_STRING_EQUAL(status ? status : "", "recording");
    free(status);
    trace_reader_close(r);
    CU_ASSERT_EQUAL(trace_writer_finish(w), 0);
    trace_writer_close(w);

    r = tt_reader(path);
    CU_ASSERT(trace_reader_complete(r));
    for (size_t i = 0; i < TT_N(rows); i++) {
        char *v = NULL;
        int err = trace_reader_info(r, rows[i].key, &v);
        if (rows[i].expect)
            TT_CHECK(err == 0 && v && strcmp(v, rows[i].expect) == 0, "info %s: %s, got '%s'",
                     rows[i].key, hv_err_name(err), v ? v : "(null)");
        else
            TT_CHECK(err == HV_ENOENT && !v && strstr(hv_error_detail(), path),
                     "info %s: %s, want HV_ENOENT naming the path (%s)", rows[i].key,
                     hv_err_name(err), hv_error_detail());
        free(v);
    }
    /* Keys the writer itself records. */
    const struct {
        const char *key;
        const char *expect;
    } own[] = {
        { "status", "complete" }, { "events", "3" }, { "sqlite_version", sqlite3_libversion() },
    };
    for (size_t i = 0; i < TT_N(own); i++) {
        char *v = NULL;
        int err = trace_reader_info(r, own[i].key, &v);
        TT_CHECK(err == 0 && v && strcmp(v, own[i].expect) == 0, "info %s: got '%s'",
                 own[i].key, v ? v : "(null)");
        free(v);
    }
    for (size_t i = 0; i < TT_N(blobs); i++) {
        void *data = NULL;
        size_t len = 99;
        int err = trace_reader_blob(r, blobs[i].name, &data, &len);
        TT_CHECK(err == 0 && data && len == blobs[i].len &&
                 memcmp(data, blobs[i].data, len) == 0, "blob %s: %s, %zu bytes",
                 blobs[i].name, hv_err_name(err), len);
        free(data);
    }
    void *data = (void *)1;
    size_t len = 1;
    CU_ASSERT_EQUAL(trace_reader_blob(r, "missing", &data, &len), HV_ENOENT);
    CU_ASSERT_PTR_NULL(data);
    CU_ASSERT_EQUAL(len, 0);
    trace_reader_close(r);
}

/* ---- filters ---------------------------------------------------------------------------- */

/*
 * The trace the filter rows query: (vm, vcpu, kind) for seq 0..11. Two VMs on one timeline,
 * each with vCPUs 0 and 1: VM 1 holds seqs 5, 6, 8, 9 and 10.
 */
static const struct {
    uint32_t vm;
    int32_t vcpu;
    enum hv_ev_kind kind;
} tt_filter_trace[] = {
    { 0, -1, HV_EV_run_start }, { 0, 0, HV_EV_sched },      { 0, 0, HV_EV_ucall_sync },
    { 0, 1, HV_EV_sched },      { 0, 1, HV_EV_hypercall },  { 1, 0, HV_EV_sched },
    { 1, 0, HV_EV_hypercall },  { 0, 1, HV_EV_sched },      { 1, 1, HV_EV_ucall_sync },
    { 1, 0, HV_EV_ucall_done }, { 1, 1, HV_EV_ucall_done }, { 0, -1, HV_EV_run_end },
};

#define TT_END -1    /* ends a list of expected seqs */

static void tt_filter_rows(const char *path)
{
    static const struct {
        struct trace_filter f;
        int expect_err;
        int seqs[13];
    } rows[] = {
        { TRACE_FILTER_ALL, 0, { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, TT_END } },
        { { 0, NULL, 0, -1, false, 0 }, 0, { 1, 2, 5, 6, 9, TT_END } },
        { { 1, NULL, 0, -1, false, 0 }, 0, { 3, 4, 7, 8, 10, TT_END } },
        { { -1, NULL, 0, -1, false, 0 }, 0, { 0, 11, TT_END } },
        { { 5, NULL, 0, -1, false, 0 }, 0, { TT_END } },
        { { -2, "sched", 0, -1, false, 0 }, 0, { 1, 3, 5, 7, TT_END } },
        { { 1, "hypercall", 0, -1, false, 0 }, 0, { 4, TT_END } },
        { { 0, "hypercall", 5, 6, false, 0 }, 0, { 6, TT_END } },
        { { 0, "hypercall", 7, -1, false, 0 }, 0, { TT_END } },
        { { -2, NULL, 3, 5, false, 0 }, 0, { 3, 4, 5, TT_END } },
        { { -2, NULL, 10, -1, false, 0 }, 0, { 10, 11, TT_END } },
        { { -2, NULL, 11, 11, false, 0 }, 0, { 11, TT_END } },
        { { -2, NULL, 5, 4, false, 0 }, 0, { TT_END } },
        { { -2, NULL, 12, -1, false, 0 }, 0, { TT_END } },
        { { -2, NULL, -5, 1, false, 0 }, 0, { 0, 1, TT_END } },
        { { -2, "msr", 0, -1, false, 0 }, 0, { TT_END } },               /* a kind, none recorded */
        { { -1, "run_end", 0, -1, false, 0 }, 0, { 11, TT_END } },
        { { -2, "no_such_kind", 0, -1, false, 0 }, HV_EINVAL, { TT_END } },
        /* by VM, alone and with every other filter */
        { { -2, NULL, 0, -1, true, 0 }, 0, { 0, 1, 2, 3, 4, 7, 11, TT_END } },
        { { -2, NULL, 0, -1, true, 1 }, 0, { 5, 6, 8, 9, 10, TT_END } },
        { { -2, NULL, 0, -1, true, 2 }, 0, { TT_END } },
        { { 0, NULL, 0, -1, true, 1 }, 0, { 5, 6, 9, TT_END } },
        { { -1, NULL, 0, -1, true, 1 }, 0, { TT_END } },
        { { -2, "sched", 4, -1, true, 0 }, 0, { 7, TT_END } },
        { { 1, "sched", 0, -1, true, 0 }, 0, { 3, 7, TT_END } },
        { { 1, "ucall_sync", 0, -1, true, 1 }, 0, { 8, TT_END } },
        { { -2, NULL, 6, 8, true, 1 }, 0, { 6, 8, TT_END } },
    };
    struct trace_reader *r = tt_reader(path);
    for (size_t i = 0; i < TT_N(rows); i++) {
        int err = trace_reader_events_begin(r, &rows[i].f);
        TT_CHECK(err == rows[i].expect_err, "filter row %zu: begin gave %s", i, hv_err_name(err));
        if (err)
            continue;
        struct hv_event ev;
        size_t n = 0;
        int ret = 0;
        bool ok = true;
        while (ok && (ret = trace_reader_events_next(r, &ev)) == 1) {
            ok = n < TT_N(rows[i].seqs) && rows[i].seqs[n] != TT_END &&
                 ev.seq == (uint64_t)rows[i].seqs[n] && ev.seq < TT_N(tt_filter_trace) &&
                 ev.vm == tt_filter_trace[ev.seq].vm && ev.vcpu == tt_filter_trace[ev.seq].vcpu &&
                 ev.kind == tt_filter_trace[ev.seq].kind;
            TT_CHECK(ok, "filter row %zu: result %zu is seq %" PRIu64, i, n, ev.seq);
            n += ok;
        }
        if (!ok)
            continue;
        TT_CHECK(ret == 0, "filter row %zu: next gave %s", i, hv_err_name(ret));
        TT_CHECK(rows[i].seqs[n] == TT_END, "filter row %zu: %zu results, expected more", i, n);
        /* Once at the end, next stays there. */
        TT_CHECK(trace_reader_events_next(r, &ev) == 0, "filter row %zu: restarted", i);
    }
    trace_reader_close(r);
}

static void test_filters(void)
{
    char path[128];
    tt_path(path, sizeof path, "filters.db");
    struct trace_writer *w = tt_writer(path);
    for (size_t i = 0; i < TT_N(tt_filter_trace); i++)
        tt_event_vm(w, i, tt_filter_trace[i].vm, tt_filter_trace[i].vcpu,
                    tt_filter_trace[i].kind, NULL);
    /* Committed while recording (as after a crash), then finished: same answers. */
    CU_ASSERT_EQUAL(trace_writer_flush(w), 0);
    tt_filter_rows(path);
    CU_ASSERT_EQUAL(trace_writer_finish(w), 0);
    trace_writer_close(w);
    tt_filter_rows(path);
    /* The view lists seq order even when an index would be the cheaper walk. */
    sqlite3 *db = tt_sql_open(path, SQLITE_OPEN_READONLY);
    sqlite3_stmt *st = NULL;
    CU_ASSERT_EQUAL_FATAL(sqlite3_prepare_v2(db, "SELECT seq, kind, vm FROM events", -1, &st,
                                             NULL),
                          SQLITE_OK);
    int64_t seq = 0;
    while (sqlite3_step(st) == SQLITE_ROW && seq < (int64_t)TT_N(tt_filter_trace)) {
        const char *kind = (const char *)sqlite3_column_text(st, 1);
        TT_CHECK(sqlite3_column_int64(st, 0) == seq && kind &&
                 strcmp(kind, hv_kind_desc(tt_filter_trace[seq].kind)->name) == 0 &&
                 sqlite3_column_int64(st, 2) == tt_filter_trace[seq].vm,
                 "events view row %" PRId64 ": seq %lld kind %s vm %lld", seq,
                 (long long)sqlite3_column_int64(st, 0), kind ? kind : "NULL",
                 (long long)sqlite3_column_int64(st, 2));
        seq++;
    }
    CU_ASSERT_EQUAL(seq, (int64_t)TT_N(tt_filter_trace));
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* ---- a version 1 trace -------------------------------------------------------------------- */

/*
 * The tables of schema version 1 as hvsim wrote them, before event_rows.vm, with the filter
 * trace's events (vm dropped) and its indexes: a finished version 1 trace.
 */
static void tt_make_version1(const char *path)
{
    static const char tables[] =
        "CREATE TABLE run_info(key TEXT PRIMARY KEY, value);\n"
        "CREATE TABLE blobs(name TEXT PRIMARY KEY, data BLOB NOT NULL);\n"
        "CREATE TABLE event_kinds(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL,\n"
        "                         doc TEXT NOT NULL, fields TEXT NOT NULL);\n"
        "CREATE TABLE event_rows(seq INTEGER PRIMARY KEY, vcpu INTEGER NOT NULL,\n"
        "                        icount INTEGER NOT NULL,\n"
        "                        kind INTEGER NOT NULL REFERENCES event_kinds(id),\n"
        "                        pc INTEGER NOT NULL, detail TEXT NOT NULL);\n"
        "CREATE VIEW events(seq, vcpu, icount, kind, pc, detail) AS\n"
        "    SELECT r.seq, r.vcpu, r.icount, k.name, r.pc, r.detail\n"
        "    FROM event_rows AS r JOIN event_kinds AS k ON k.id = r.kind ORDER BY r.seq;\n"
        "INSERT INTO run_info(key, value) VALUES('status', 'complete');\n";
    char sql[512];
    sqlite3 *db = tt_sql_open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    CU_ASSERT_PTR_NOT_NULL_FATAL(db);
    snprintf(sql, sizeof sql, "PRAGMA application_id = %d; PRAGMA user_version = 1; BEGIN;",
             HV_TRACE_APP_ID);
    tt_sql_exec(db, sql);
    tt_sql_exec(db, tables);
    for (int k = 0; k < HV_EV__COUNT; k++) {
        char *ins = sqlite3_mprintf("INSERT INTO event_kinds(id, name, doc, fields)"
                                    " VALUES(%d, %Q, %Q, '[]')", k, hv_kind_desc(k)->name,
                                    hv_kind_desc(k)->doc);
        CU_ASSERT_PTR_NOT_NULL_FATAL(ins);
        tt_sql_exec(db, ins);
        sqlite3_free(ins);
    }
    for (size_t i = 0; i < TT_N(tt_filter_trace); i++) {
        snprintf(sql, sizeof sql, "INSERT INTO event_rows(seq, vcpu, icount, kind, pc, detail)"
                 " VALUES(%zu, %d, %zu, %d, %zu, '{}')", i, tt_filter_trace[i].vcpu, i * 10,
                 (int)tt_filter_trace[i].kind, 0x1000 + i * 4);
        tt_sql_exec(db, sql);
    }
    tt_sql_exec(db, "CREATE INDEX event_rows_vcpu ON event_rows(vcpu);"
                    "CREATE INDEX event_rows_kind ON event_rows(kind); COMMIT;");
    sqlite3_close(db);
}

static void test_version1_trace(void)
{
    char path[128];
    tt_path(path, sizeof path, "version1.db");
    tt_make_version1(path);
    struct trace_reader *r = tt_reader(path);
    CU_ASSERT(trace_reader_complete(r));
    CU_ASSERT_EQUAL(trace_reader_event_count(r), (int64_t)TT_N(tt_filter_trace));
    /* Every event reads vm 0; the vm filter compares with that 0. */
    static const struct {
        struct trace_filter f;
        int seqs[13];
    } rows[] = {
        { TRACE_FILTER_ALL, { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, TT_END } },
        { { -2, NULL, 0, -1, true, 0 }, { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, TT_END } },
        { { -2, NULL, 0, -1, true, 1 }, { TT_END } },
        { { 0, NULL, 0, -1, false, 0 }, { 1, 2, 5, 6, 9, TT_END } },
        { { 1, "sched", 0, -1, true, 0 }, { 3, 7, TT_END } },
        { { 1, "sched", 0, -1, true, 1 }, { TT_END } },
        { { -2, "hypercall", 0, -1, true, 0 }, { 4, 6, TT_END } },
        { { 0, NULL, 2, 5, true, 0 }, { 2, 5, TT_END } },
    };
    for (size_t i = 0; i < TT_N(rows); i++) {
        int err = trace_reader_events_begin(r, &rows[i].f);
        TT_CHECK(err == 0, "version 1 row %zu: begin gave %s (%s)", i, hv_err_name(err),
                 hv_error_detail());
        if (err)
            continue;
        struct hv_event ev;
        size_t n = 0;
        bool ok = true;
        while (ok && trace_reader_events_next(r, &ev) == 1) {
            ok = rows[i].seqs[n] != TT_END && ev.seq == (uint64_t)rows[i].seqs[n] &&
                 ev.vm == 0 && ev.vcpu == tt_filter_trace[ev.seq].vcpu &&
                 ev.kind == tt_filter_trace[ev.seq].kind && ev.icount == ev.seq * 10 &&
                 ev.pc == 0x1000 + ev.seq * 4 && strcmp(ev.detail, "{}") == 0;
            TT_CHECK(ok, "version 1 row %zu: result %zu is seq %" PRIu64 " vm %" PRIu32, i, n,
                     ev.seq, ev.vm);
            n += ok;
        }
        TT_CHECK(!ok || rows[i].seqs[n] == TT_END, "version 1 row %zu: %zu results", i, n);
    }
    trace_reader_close(r);
}

/* ---- chunks and commits ------------------------------------------------------------------ */

static void test_chunks_and_commits(void)
{
    const uint64_t total = 3 * HV_TRACE_CHUNK_EVENTS + 17;
    char path[128], copy[128], from[160], to[160];
    tt_path(path, sizeof path, "chunks.db");
    tt_path(copy, sizeof copy, "chunks-copy.db");
    struct trace_writer *w = tt_writer(path);
    struct trace_reader *live = tt_reader(path);
    /* A reader sees every event written, committed or still in the tail; plain SQL sees the
     * committed ones, all of them after a flush. */
    static const struct {
        uint64_t upto;       /* events written so far */
        bool flush;
    } rows[] = {
        { 1, false }, { 1, true }, { HV_TRACE_CHUNK_EVENTS - 1, false },
        { HV_TRACE_CHUNK_EVENTS + 1, false }, { HV_TRACE_CHUNK_EVENTS + 1, true },
        { 2 * HV_TRACE_CHUNK_EVENTS + 1, false }, { 3 * HV_TRACE_CHUNK_EVENTS + 17, true },
    };
    uint64_t written = 0;
    for (size_t i = 0; i < TT_N(rows); i++) {
        tt_sync_events(w, written, rows[i].upto);
        written = rows[i].upto;
        CU_ASSERT_EQUAL(trace_writer_count(w), written);
        if (rows[i].flush)
            CU_ASSERT_EQUAL(trace_writer_flush(w), 0);
        int64_t n = trace_reader_event_count(live);
        TT_CHECK(n == (int64_t)written, "row %zu: the reader sees %" PRId64 ", written %" PRIu64,
                 i, n, written);
        sqlite3 *db = tt_sql_open(path, SQLITE_OPEN_READONLY);
        int64_t sql = tt_sql_int(db, "SELECT count(*) FROM events");
        TT_CHECK(rows[i].flush ? sql == (int64_t)written : sql <= (int64_t)written,
                 "row %zu: SQL sees %" PRId64 ", written %" PRIu64, i, sql, written);
        sqlite3_close(db);
    }
    /* While recording: the db, its WAL and the tail; a copy of the three opens whole. */
    static const char *const trio[] = { "", "-wal", "-tail" };
    for (size_t i = 0; i < TT_N(trio); i++) {
        snprintf(from, sizeof from, "%s%s", path, trio[i]);
        snprintf(to, sizeof to, "%s%s", copy, trio[i]);
        tt_copy_file(from, to);
    }
    struct trace_reader *r = tt_reader(copy);
    CU_ASSERT_EQUAL(trace_reader_event_count(r), (int64_t)total);
    CU_ASSERT(!trace_reader_complete(r));
    trace_reader_close(r);
    trace_reader_close(live);

    CU_ASSERT_EQUAL(trace_writer_finish(w), 0);
    CU_ASSERT_EQUAL(tt_event_raw(w, total, 0, HV_EV_halt, NULL), HV_EINVAL);  /* finished */
    trace_writer_close(w);
    /* One self-contained file; chunks within their bounds, without gaps. */
    static const char *const gone[] = { "-wal", "-shm", "-tail" };
    for (size_t i = 0; i < TT_N(gone); i++) {
        snprintf(from, sizeof from, "%s%s", path, gone[i]);
        TT_CHECK(!tt_exists(from), "%s is left beside the finished trace", gone[i]);
    }
    sqlite3 *db = tt_sql_open(path, SQLITE_OPEN_READONLY);
    CU_ASSERT(tt_sql_int(db, "SELECT max(n) FROM event_chunks") <= HV_TRACE_CHUNK_EVENTS);
    /* a chunk ends at the first event that takes it to HV_TRACE_CHUNK_BYTES or past */
    CU_ASSERT(tt_sql_int(db, "SELECT max(length(events)) FROM event_chunks") <
              HV_TRACE_CHUNK_BYTES + 64);
    CU_ASSERT(tt_sql_int(db, "SELECT count(*) FROM event_chunks") >= 4);
    CU_ASSERT_EQUAL(tt_sql_int(db, "SELECT count(*) FROM event_chunks AS c WHERE c.seq > 0 AND"
                                   " NOT EXISTS (SELECT 1 FROM event_chunks AS p"
                                   " WHERE p.seq + p.n = c.seq)"), 0);
    CU_ASSERT_EQUAL(tt_sql_int(db, "SELECT sum(n) FROM event_chunks"), (int64_t)total);
    sqlite3_close(db);

    r = tt_reader(path);
    CU_ASSERT(trace_reader_complete(r));
    CU_ASSERT_EQUAL(trace_reader_event_count(r), (int64_t)total);
    CU_ASSERT_EQUAL(trace_reader_events_begin(r, NULL), 0);
    struct hv_event ev;
    uint64_t seq = 0;
    bool ok = true;
    while (ok && trace_reader_events_next(r, &ev) == 1) {
        char want[64];
        snprintf(want, sizeof want, "{\"n\":%" PRIu64 "}", seq);
        ok = ev.seq == seq && ev.vcpu == (int32_t)(seq % 2) && ev.kind == HV_EV_ucall_sync &&
             ev.icount == seq * 10 && ev.pc == 0x1000 + seq * 4 && strcmp(ev.detail, want) == 0;
        TT_CHECK(ok, "event %" PRIu64 ": seq %" PRIu64 " detail %s", seq, ev.seq, ev.detail);
        seq++;
    }
    CU_ASSERT_EQUAL(seq, total);
    /* A range in the middle of a chunk, one vCPU's events (the odd seqs). */
    struct trace_filter odd = { 1, "ucall_sync", 5000, 5010, false, 0 };
    CU_ASSERT_EQUAL(trace_reader_events_begin(r, &odd), 0);
    uint64_t expect = 5001;
    while (trace_reader_events_next(r, &ev) == 1) {
        TT_CHECK(ev.seq == expect, "vcpu filter: seq %" PRIu64 ", expected %" PRIu64, ev.seq,
                 expect);
        expect += 2;
    }
    CU_ASSERT_EQUAL(expect, 5011);
    trace_reader_close(r);
}

/* ---- replay's comparison ------------------------------------------------------------------ */

/*
 * trace_reader_events_match() against the filter trace: the same events match, and a change
 * in any one column (or one field) is a difference that gives back the recorded event.
 */
static void test_match(void)
{
    static const struct {
        const char *name;
        uint64_t seq;          /* which event is changed */
        int change;            /* 0 none; 1 vm, 2 vcpu, 3 icount, 4 pc, 5 kind, 6 a field */
    } rows[] = {
        { "identical", 0, 0 }, { "vm", 6, 1 }, { "vcpu", 4, 2 }, { "icount", 2, 3 },
        { "pc", 11, 4 }, { "kind", 7, 5 }, { "a field", 2, 6 },
    };
    char path[128];
    tt_path(path, sizeof path, "match.db");
    struct trace_writer *w = tt_writer(path);
    struct hv_ev_ucall_sync sync = { .n = 7 }, other = { .n = 8 };
    for (size_t i = 0; i < TT_N(tt_filter_trace); i++)
        tt_event_vm(w, i, tt_filter_trace[i].vm, tt_filter_trace[i].vcpu,
                    tt_filter_trace[i].kind,
                    tt_filter_trace[i].kind == HV_EV_ucall_sync ? &sync : NULL);
    CU_ASSERT_EQUAL(trace_writer_finish(w), 0);
    trace_writer_close(w);
    struct trace_reader *r = tt_reader(path);
    static const union tt_any zero;
    for (size_t i = 0; i < TT_N(rows); i++) {
        CU_ASSERT_EQUAL(trace_reader_events_begin(r, NULL), 0);
        int got = 0;
        struct hv_event rec;
        for (uint64_t seq = 0; seq < TT_N(tt_filter_trace); seq++) {
            const void *fields = tt_filter_trace[seq].kind == HV_EV_ucall_sync ? (void *)&sync
                                                                                : (void *)&zero;
            struct hv_event ev = { .seq = seq, .vm = tt_filter_trace[seq].vm,
                                   .vcpu = tt_filter_trace[seq].vcpu, .icount = seq * 10,
                                   .kind = tt_filter_trace[seq].kind, .pc = 0x1000 + seq * 4,
                                   .fields = fields };
            if (seq == rows[i].seq) {
                switch (rows[i].change) {
                case 1: ev.vm ^= 1; break;
                case 2: ev.vcpu++; break;
                case 3: ev.icount++; break;
                case 4: ev.pc++; break;
                case 5: ev.kind = HV_EV_ucall_done; ev.fields = &zero; break;
                case 6: ev.fields = &other; break;
                }
            }
            char detail[256];
            ev.detail_len = hv_event_encode(detail, sizeof detail, ev.kind, ev.fields);
            ev.detail = detail;
            got = trace_reader_events_match(r, &ev, &rec);
            bool changed = rows[i].change && seq == rows[i].seq;
            TT_CHECK(got == (changed ? TRACE_DIFFERENT : TRACE_SAME), "%s: seq %" PRIu64
                     " gave %d", rows[i].name, seq, got);
            if (got == TRACE_DIFFERENT)
                TT_CHECK(rec.seq == seq && rec.kind == tt_filter_trace[seq].kind &&
                         rec.vm == tt_filter_trace[seq].vm, "%s: recorded event not given back",
                         rows[i].name);
            if (changed)
                break;
        }
        if (!rows[i].change) {
            struct hv_event ev = { .seq = TT_N(tt_filter_trace), .kind = HV_EV_halt };
            TT_CHECK(trace_reader_events_match(r, &ev, &rec) == TRACE_END,
                     "%s: an event past the end matched", rows[i].name);
        }
    }
    trace_reader_close(r);
}

/* ---- a writer that dies ------------------------------------------------------------------ */

/* In a child: writes total events, flushing after flush_at of them (0: never), then dies. */
static void tt_crash_child(const char *path, uint64_t flush_at, uint64_t total)
{
    struct trace_writer *w = NULL;
    int err = trace_writer_open(&w, path);
    for (uint64_t seq = 0; !err && seq < total; seq++) {
        struct hv_ev_ucall_sync s = { .n = seq };
        err = tt_event_raw(w, seq, 0, HV_EV_ucall_sync, &s);
        if (!err && seq + 1 == flush_at)
            err = trace_writer_flush(w);
    }
    /* No close, no atexit handlers, no sanitizer leak check: as if killed. */
    _exit(err ? 1 : 0);
}

static void test_crash_leaves_incomplete_trace(void)
{
    static const struct {
        const char *name;
        uint64_t flush_at, total;
    } rows[] = {
        { "flushed then more", 100, 150 },
        { "one chunk, no flush", 0, HV_TRACE_CHUNK_EVENTS + 10 },
        { "chunk and flush", HV_TRACE_CHUNK_EVENTS + 5, HV_TRACE_CHUNK_EVENTS + 9 },
        { "nothing written", 0, 0 },
        { "nothing committed", 0, 7 },
    };
    for (size_t i = 0; i < TT_N(rows); i++) {
        char path[128], name[32], wal[160], copy[128], bare[128], from[160], to[160];
        snprintf(name, sizeof name, "crash%zu.db", i);
        tt_path(path, sizeof path, name);
        snprintf(wal, sizeof wal, "%s-wal", path);
        fflush(NULL);
        pid_t pid = fork();
        CU_ASSERT_FATAL(pid >= 0);
        if (pid == 0)
            tt_crash_child(path, rows[i].flush_at, rows[i].total);
        int status = 0;
        CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
        TT_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: child failed", rows[i].name);
        TT_CHECK(tt_exists(wal), "%s: no -wal beside the trace", rows[i].name);

        /* Opened in place (with the dead writer's -shm), as a copy of the db, WAL and tail,
         * and as a copy without the tail: that one holds the committed events only. */
        snprintf(name, sizeof name, "crash%zu-copy.db", i);
        tt_path(copy, sizeof copy, name);
        snprintf(name, sizeof name, "crash%zu-bare.db", i);
        tt_path(bare, sizeof bare, name);
        static const char *const trio[] = { "", "-wal", "-tail" };
        for (size_t j = 0; j < TT_N(trio); j++) {
            snprintf(from, sizeof from, "%s%s", path, trio[j]);
            snprintf(to, sizeof to, "%s%s", copy, trio[j]);
            tt_copy_file(from, to);
            snprintf(to, sizeof to, "%s%s", bare, trio[j]);
            if (j < 2)
                tt_copy_file(from, to);
        }
        const char *const where[] = { path, copy, bare };
        for (size_t j = 0; j < TT_N(where); j++) {
            struct trace_reader *r = NULL;
            int err = trace_reader_open(&r, where[j]);
            TT_CHECK(err == 0, "%s: open %s: %s", rows[i].name, where[j], hv_error_detail());
            if (err)
                continue;
            char *status_text = NULL;
            CU_ASSERT(!trace_reader_complete(r));
            CU_ASSERT_EQUAL(trace_reader_info(r, "status", &status_text), 0);
            CU_ASSERT_STRING_EQUAL(status_text ? status_text : "", "recording");
            free(status_text);
            int64_t n = trace_reader_event_count(r);
            bool whole = where[j] != bare;
            TT_CHECK(whole ? n == (int64_t)rows[i].total
                           : n >= (int64_t)rows[i].flush_at && n <= (int64_t)rows[i].total,
                     "%s (%s): %" PRId64 " events of %" PRIu64, rows[i].name, where[j], n,
                     rows[i].total);
            CU_ASSERT_EQUAL(trace_reader_events_begin(r, NULL), 0);
            struct hv_event ev;
            int64_t seen = 0;
            while (trace_reader_events_next(r, &ev) == 1 && ev.seq == (uint64_t)seen)
                seen++;
            TT_CHECK(seen == n, "%s (%s): iterated %" PRId64 " of %" PRId64, rows[i].name,
                     where[j], seen, n);
            trace_reader_close(r);
        }
    }
}

/* ---- foreign and truncated files ---------------------------------------------------------- */

static void tt_make_nothing(const char *path)
{
    (void)path;
}

static void tt_make_dir(const char *path)
{
    CU_ASSERT_EQUAL(mkdir(path, 0700), 0);
}

static void tt_make_empty(const char *path)
{
    tt_write_file(path, "", 0);
}

static void tt_make_text(const char *path)
{
    static const char text[] = "name: not a trace\nvcpus: 1\n";
    tt_write_file(path, text, sizeof text - 1);
}

static void tt_random(uint8_t *buf, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        buf[i] = (uint8_t)seed;
    }
}

static void tt_make_random(const char *path)
{
    uint8_t buf[8192];
    tt_random(buf, sizeof buf, 0x9e3779b97f4a7c15u);
    tt_write_file(path, buf, sizeof buf);
}

/* SQLite's magic, then noise. */
static void tt_make_magic_noise(const char *path)
{
    uint8_t buf[8192];
    tt_random(buf, sizeof buf, 12345);
    memcpy(buf, "SQLite format 3", 16);
    buf[16] = 0x10;                 /* page size 4096, so the header passes our own check */
    buf[17] = 0;
    tt_write_file(path, buf, sizeof buf);
}

static void tt_make_sql(const char *path, const char *sql)
{
    sqlite3 *db = tt_sql_open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    tt_sql_exec(db, sql);
    sqlite3_close(db);
}

static void tt_make_other_app(const char *path)
{
    tt_make_sql(path, "PRAGMA application_id = 305419896; CREATE TABLE t(x); "
                      "INSERT INTO t VALUES (1);");
}

static void tt_make_plain_sqlite(const char *path)
{
    tt_make_sql(path, "CREATE TABLE run_info(key, value);");
}

static void tt_make_no_tables(const char *path)
{
    char sql[128];
    snprintf(sql, sizeof sql, "PRAGMA application_id = %d; PRAGMA user_version = 1;"
             " CREATE TABLE other(x);", HV_TRACE_APP_ID);
    tt_make_sql(path, sql);
}

static void tt_make_version0(const char *path)
{
    char sql[128];
    snprintf(sql, sizeof sql, "PRAGMA application_id = %d; CREATE TABLE other(x);",
             HV_TRACE_APP_ID);
    tt_make_sql(path, sql);
}

static void tt_make_newer(const char *path)
{
    char sql[64];
    tt_make_trace(path, 10);
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d;", HV_TRACE_VERSION + 1);
    tt_make_sql(path, sql);
}

/* A version 2 file whose event_rows lacks vm: the version 1 tables, relabelled. */
static void tt_make_v2_without_vm(const char *path)
{
    tt_make_version1(path);
    tt_make_sql(path, "PRAGMA user_version = 2;");
}

static void tt_make_v3_without_chunks(const char *path)
{
    tt_make_trace(path, 10);
    tt_make_sql(path, "DROP VIEW events; DROP TABLE event_chunks;");
}

/* event_kinds as a view that never ends: a reader that queried it would loop forever. */
static void tt_make_recursive_kinds(const char *path)
{
    tt_make_trace(path, 10);
    tt_make_sql(path, "DROP TABLE event_kinds; CREATE VIEW event_kinds(id, name, doc, fields) AS"
                      " WITH RECURSIVE c(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM c)"
                      " SELECT x, 'kind' || x, '', '[]' FROM c;");
}

static void tt_make_recursive_events(const char *path)
{
    tt_make_trace(path, 10);
    tt_make_sql(path, "DROP VIEW events; CREATE VIEW events AS WITH RECURSIVE"
                      " c(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM c) SELECT x AS seq FROM c;");
}

static void tt_make_trigger(const char *path)
{
    tt_make_trace(path, 10);
    tt_make_sql(path, "CREATE TRIGGER t AFTER INSERT ON run_info BEGIN SELECT 1; END;");
}

static void tt_make_extra_index(const char *path)
{
    tt_make_trace(path, 10);
    tt_make_sql(path, "CREATE INDEX i ON event_chunks(n);");
}

/* run_info with the same columns, one of them computed on every read. */
static void tt_make_generated(const char *path)
{
    tt_make_trace(path, 10);
    tt_make_sql(path, "ALTER TABLE run_info RENAME TO old; CREATE TABLE run_info(key TEXT PRIMARY"
                      " KEY, v, value AS (v || ''));"
                      " INSERT INTO run_info(key, v) SELECT key, value FROM old; DROP TABLE old;");
}

static void tt_make_stat(const char *path)
{
    tt_make_trace(path, 10);
    tt_make_sql(path, "ANALYZE;");
}

static void test_foreign_files(void)
{
    static const struct {
        const char *name;
        void (*make)(const char *path);
        int err;
        const char *detail;     /* must appear in hv_error_detail(), after the path */
    } rows[] = {
        { "missing", tt_make_nothing, HV_ENOENT, "no such file" },
        { "directory", tt_make_dir, HV_ETRACE, "not a regular file" },
        { "empty", tt_make_empty, HV_ETRACE, "not an hvsim trace: empty file" },
        { "text", tt_make_text, HV_ETRACE, "not an hvsim trace: file is not a database" },
        { "random", tt_make_random, HV_ETRACE, "not an hvsim trace: file is not a database" },
        { "magic+noise", tt_make_magic_noise, HV_ETRACE, "not an hvsim trace" },
        { "other app", tt_make_other_app, HV_ETRACE,
          "not an hvsim trace (application_id 0x12345678)" },
        { "plain sqlite", tt_make_plain_sqlite, HV_ETRACE,
          "not an hvsim trace (application_id 0x00000000)" },
        { "no tables", tt_make_no_tables, HV_ETRACE, "not a usable hvsim trace: unexpected "
          "table 'other'" },
        { "version 0", tt_make_version0, HV_ETRACE, "schema version 0" },
        { "newer", tt_make_newer, HV_ETRACE_NEW,
          "trace schema version 4 is newer than this hvsim (3)" },
        { "version 2 without vm", tt_make_v2_without_vm, HV_ETRACE,
          "not a usable hvsim trace: table 'event_rows' is not the one hvsim creates" },
        { "version 3 without chunks", tt_make_v3_without_chunks, HV_ETRACE,
          "not a usable hvsim trace: no table 'event_chunks'" },
        /* Objects hvsim never creates, refused before any query reaches them. */
        { "recursive event_kinds", tt_make_recursive_kinds, HV_ETRACE,
          "not a usable hvsim trace: table 'event_kinds' is a view" },
        { "recursive events view", tt_make_recursive_events, HV_ETRACE,
          "not a usable hvsim trace: view 'events' is not the one hvsim creates for the kinds" },
        { "trigger", tt_make_trigger, HV_ETRACE, "not a usable hvsim trace: unexpected trigger "
          "'t'" },
        { "extra index", tt_make_extra_index, HV_ETRACE, "not a usable hvsim trace: unexpected "
          "index 'i'" },
        { "generated column", tt_make_generated, HV_ETRACE, "not a usable hvsim trace: table "
          "'run_info' is not the one hvsim creates" },
        { "statistics", tt_make_stat, HV_ETRACE, "not a usable hvsim trace: unexpected table "
          "'sqlite_stat1'" },
    };
    for (size_t i = 0; i < TT_N(rows); i++) {
        char path[128], name[32];
        snprintf(name, sizeof name, "foreign%zu.db", i);
        tt_path(path, sizeof path, name);
        rows[i].make(path);
        struct trace_reader *r = (struct trace_reader *)1;
        int err = trace_reader_open(&r, path);
        const char *detail = hv_error_detail();
        TT_CHECK(err == rows[i].err, "%s: %s, expected %s (%s)", rows[i].name, hv_err_name(err),
                 hv_err_name(rows[i].err), detail);
        TT_CHECK(strncmp(detail, path, strlen(path)) == 0 && strstr(detail, rows[i].detail),
                 "%s: detail '%s' lacks the path or '%s'", rows[i].name, detail,
                 rows[i].detail);
        TT_CHECK(r == NULL, "%s: *out not cleared", rows[i].name);
        if (err == 0)
            trace_reader_close(r);
    }
}

static void test_truncated_traces(void)
{
    char path[128], cut[128];
    size_t len = 0;
    tt_path(path, sizeof path, "whole.db");
    tt_path(cut, sizeof cut, "cut.db");
    tt_make_trace(path, 5000);
    char *data = test_read_file(path, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(data);
    CU_ASSERT_FATAL(len > 16 * 4096);
    const size_t sizes[] = { 1, 15, 16, 17, 99, 100, 512, 4095, 4096, 4097, 3 * 4096,
                             len / 2, len - 4096, len - 1 };
    for (size_t i = 0; i < TT_N(sizes); i++) {
        tt_write_file(cut, data, sizes[i]);
        struct trace_reader *r = NULL;
        int err = trace_reader_open(&r, cut);
        TT_CHECK(err == HV_ETRACE && strstr(hv_error_detail(), cut),
                 "cut at %zu of %zu bytes: %s (%s)", sizes[i], len, hv_err_name(err),
                 hv_error_detail());
        trace_reader_close(r);
    }
    /* The whole file still opens: the rows above failed for the cut, nothing else. */
    tt_write_file(cut, data, len);
    struct trace_reader *r = tt_reader(cut);
    CU_ASSERT_EQUAL(trace_reader_event_count(r), 5000);
    trace_reader_close(r);
    free(data);
}

/* ---- damaged chunks ---------------------------------------------------------------------- */

/* A chunk whose text is not what the writer writes stops the reader with HV_ETRACE. */
static void test_damaged_chunks(void)
{
    static const struct {
        const char *name;
        const char *events;     /* K: the ucall_sync kind id */
    } rows[] = {
        { "empty text", "" },
        { "not an array", "{}" },
        { "cut", "[[K,0,0,0,1],[K,0" },
        { "a word", "[[K,0,0,0,x]]" },
        { "a string", "[[K,0,0,0,\"1\"]]" },
        { "a member short", "[[K,0,0,0]]" },
        { "a member more", "[[K,0,0,0,1,2]]" },
        { "a negative u64", "[[K,0,0,0,-1]]" },
        { "too long a number", "[[K,0,0,0,123456789012345678901]]" },
        { "an unknown kind", "[[4000,0,0,0,1]]" },
        { "a trailing comma", "[[K,0,0,0,1],]" },
    };
    char path[128];
    tt_path(path, sizeof path, "damaged.db");
    for (size_t i = 0; i < TT_N(rows); i++) {
        tt_make_trace(path, 3);
        char text[128];
        size_t n = 0;
        for (const char *c = rows[i].events; *c && n < sizeof text - 8; c++) {
            if (*c == 'K')
                n += (size_t)snprintf(text + n, sizeof text - n, "%d", HV_EV_ucall_sync);
            else
                text[n++] = *c;
        }
        text[n] = 0;
        char *sql = sqlite3_mprintf("UPDATE event_chunks SET events = %Q", text);
        tt_make_sql(path, sql);
        sqlite3_free(sql);
        struct trace_reader *r = tt_reader(path);
        CU_ASSERT_EQUAL(trace_reader_events_begin(r, NULL), 0);
        struct hv_event ev;
        int got;
        while ((got = trace_reader_events_next(r, &ev)) == 1)
            ;
        TT_CHECK(got == HV_ETRACE && strstr(hv_error_detail(), path),
                 "%s: %s (%s)", rows[i].name, hv_err_name(got), hv_error_detail());
        trace_reader_close(r);
    }
}

/* ---- writer errors ------------------------------------------------------------------------ */

static void test_writer_errors(void)
{
    char path[128], dir[128], junk[160];
    struct trace_writer *w = (struct trace_writer *)1;

    /* Cannot create: a missing folder, a path that is a folder. */
    tt_path(path, sizeof path, "no/such/dir/t.db");
    CU_ASSERT_EQUAL(trace_writer_open(&w, path), HV_EIO);
    CU_ASSERT_PTR_NULL(w);
    CU_ASSERT_PTR_NOT_NULL(strstr(hv_error_detail(), path));
    tt_path(dir, sizeof dir, "a-dir.db");
    CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0700), 0);
    CU_ASSERT_EQUAL(trace_writer_open(&w, dir), HV_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(hv_error_detail(), dir));

    /* Replaces an old file, and ignores the stale -wal and -journal beside it. */
    tt_path(path, sizeof path, "replaced.db");
    tt_make_trace(path, 50);
    static const char *const stale[] = { "-wal", "-journal", "-shm", "-tail" };
    for (size_t i = 0; i < TT_N(stale); i++) {
        snprintf(junk, sizeof junk, "%s%s", path, stale[i]);
        tt_make_random(junk);
    }
    w = tt_writer(path);
    static const struct hv_ev_ucall_sync sync = { .n = 1 };
    static const struct {
        uint64_t seq;
        int kind;
        bool no_fields;
        int err;
    } rows[] = {
        { 0, HV_EV_halt, true, 0 },                  /* a kind without fields needs none */
        { 0, HV_EV_halt, false, HV_EINVAL },         /* seq repeated */
        { 2, HV_EV_halt, false, HV_EINVAL },         /* seq skipped */
        { 1, HV_EV__COUNT, false, HV_EINVAL },       /* no such kind */
        { 1, -1, false, HV_EINVAL },
        { 1, HV_EV_ucall_sync, true, HV_EINVAL },    /* fields missing */
        { 1, HV_EV_ucall_sync, false, 0 },
    };
    for (size_t i = 0; i < TT_N(rows); i++) {
        struct hv_event ev = { .seq = rows[i].seq, .kind = (enum hv_ev_kind)rows[i].kind,
                               .fields = rows[i].no_fields ? NULL : &sync };
        int err = trace_writer_event(w, &ev);
        TT_CHECK(err == rows[i].err, "writer row %zu: %s", i, hv_err_name(err));
    }
    trace_writer_close(w);                           /* closed without finish() */
    struct trace_reader *r = tt_reader(path);
    CU_ASSERT(!trace_reader_complete(r));
    CU_ASSERT_EQUAL(trace_reader_event_count(r), 2);
    char *v = NULL;
    CU_ASSERT_EQUAL(trace_reader_info(r, "scenario_name", &v), HV_ENOENT);  /* old file gone */
    trace_reader_close(r);
    trace_writer_close(NULL);
    trace_reader_close(NULL);
}

/* ---- the documentation covers the schema -------------------------------------------------- */

#ifndef HVSIM_SOURCE_DIR
#define HVSIM_SOURCE_DIR "."
#endif

static void test_docs_cover_every_kind(void)
{
    size_t len = 0;
    char *doc = test_read_file(HVSIM_SOURCE_DIR "/docs/trace-format.md", &len);
    TT_CHECK(doc != NULL, "cannot read %s/docs/trace-format.md", HVSIM_SOURCE_DIR);
    if (!doc)
        return;
    /* Each kind has a "### `kind`" heading; each field is named as `field` in that section. */
    for (int k = 0; k < HV_EV__COUNT; k++) {
        const struct hv_kind_desc *kd = hv_kind_desc((enum hv_ev_kind)k);
        char heading[96], field[96];
        snprintf(heading, sizeof heading, "\n### `%s`", kd->name);
        char *start = strstr(doc, heading);
        TT_CHECK(start != NULL, "docs/trace-format.md has no heading ### `%s`", kd->name);
        if (!start)
            continue;
        start += strlen(heading);
        char *end = strstr(start, "\n#");
        size_t n = end ? (size_t)(end - start) : strlen(start);
        char *section = strndup(start, n);
        CU_ASSERT_PTR_NOT_NULL_FATAL(section);
        for (size_t i = 0; i < kd->nfields; i++) {
            snprintf(field, sizeof field, "`%s`", kd->fields[i].name);
            TT_CHECK(strstr(section, field) != NULL, "docs: kind %s does not describe %s",
                     kd->name, field);
        }
        free(section);
    }
    free(doc);
}

/* Every column of the events view and of event_chunks is a row of the docs' column tables. */
static void test_docs_cover_every_column(void)
{
    static const struct {
        const char *heading;   /* the section that lists the columns */
        const char *object;
        int min;
    } rows[] = {
        { "\n### The `events` view", "events", 7 },
        { "\n### `event_chunks`", "event_chunks", 6 },
        { "\n### `event_strings`", "event_strings", 2 },
    };
    char path[128];
    size_t len = 0;
    char *doc = test_read_file(HVSIM_SOURCE_DIR "/docs/trace-format.md", &len);
    TT_CHECK(doc != NULL, "cannot read %s/docs/trace-format.md", HVSIM_SOURCE_DIR);
    if (!doc)
        return;
    tt_path(path, sizeof path, "columns.db");
    tt_make_trace(path, 1);
    sqlite3 *db = tt_sql_open(path, SQLITE_OPEN_READONLY);
    for (size_t i = 0; i < TT_N(rows); i++) {
        char *start = strstr(doc, rows[i].heading);
        TT_CHECK(start != NULL, "docs/trace-format.md has no heading%s", rows[i].heading);
        if (!start)
            continue;
        char *end = strstr(start + 1, "\n#");
        char *section = strndup(start, end ? (size_t)(end - start) : strlen(start));
        CU_ASSERT_PTR_NOT_NULL_FATAL(section);
        char *sql = sqlite3_mprintf("SELECT group_concat(name, ' ') FROM"
                                    " (SELECT name FROM pragma_table_info(%Q) ORDER BY cid)",
                                    rows[i].object);
        sqlite3_stmt *st = NULL;
        char names[256] = "";
        CU_ASSERT_EQUAL_FATAL(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
            snprintf(names, sizeof names, "%s", (const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        sqlite3_free(sql);
        int n = 0;
        for (char *save = NULL, *col = strtok_r(names, " ", &save); col;
             col = strtok_r(NULL, " ", &save), n++) {
            char row[96];
            snprintf(row, sizeof row, "\n| `%s` |", col);
            TT_CHECK(strstr(section, row) != NULL, "docs: the %s column table has no row for "
                     "`%s`", rows[i].object, col);
        }
        TT_CHECK(n >= rows[i].min, "%s has %d columns", rows[i].object, n);
        free(section);
    }
    sqlite3_close(db);
    free(doc);
}

/* ---- suite -------------------------------------------------------------------------------- */

static int tt_suite_init(void)
{
    snprintf(tt_dir, sizeof tt_dir, "/tmp/hvsim-test-trace-XXXXXX");
    return mkdtemp(tt_dir) ? 0 : -1;
}

static int tt_rm(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    return remove(path);
}

static int tt_suite_cleanup(void)
{
    return nftw(tt_dir, tt_rm, 16, FTW_DEPTH | FTW_PHYS);
}

void test_trace_register(void)
{
    CU_pSuite s = CU_add_suite("trace", tt_suite_init, tt_suite_cleanup);
    CU_add_test(s, "round trip of every kind", test_round_trip_every_kind);
    CU_add_test(s, "run_info and blobs", test_info_and_blobs);
    CU_add_test(s, "filters", test_filters);
    CU_add_test(s, "a version 1 trace reads as vm 0", test_version1_trace);
    CU_add_test(s, "chunks and commits", test_chunks_and_commits);
    CU_add_test(s, "replay's comparison", test_match);
    CU_add_test(s, "crash leaves an incomplete trace", test_crash_leaves_incomplete_trace);
    CU_add_test(s, "foreign files", test_foreign_files);
    CU_add_test(s, "truncated traces", test_truncated_traces);
    CU_add_test(s, "damaged chunks", test_damaged_chunks);
    CU_add_test(s, "writer errors", test_writer_errors);
    CU_add_test(s, "docs cover every kind", test_docs_cover_every_kind);
    CU_add_test(s, "docs cover every column", test_docs_cover_every_column);
}
