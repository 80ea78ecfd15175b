/*
 * test_replay.c - replay and divergence detection (replay/replay.c) on a real recording.
 *
 * The first test that needs it records scenarios/none/spinlock-x86_64.yaml into the suite's
 * temporary folder with the calls `hvsim run` makes (scenario_load, runner_check,
 * guest_build, trace_writer_*, runner_execute); every test then works on its own copy. A copy
 * is tampered with through SQLite (one column of one event, events removed or added, the
 * status flag, the schema turned back into version 2 or 1) and replay_trace's exit code and
 * report are
 * checked row by row; bad inputs (foreign,
 * truncated or incomplete files, bad --set) must give 2. Reports are captured with
 * open_memstream.
 */
#include <CUnit/CUnit.h>
#include <ftw.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/test_util.h"
#include "replay/replay.h"
#include "runner/guestbuild.h"
#include "runner/runner.h"
#include "trace/trace.h"

void test_replay_register(void);

#define TR_N(a) (sizeof(a) / sizeof((a)[0]))
#define TR_SCENARIO HVSIM_SOURCE_DIR "/scenarios/none/spinlock-x86_64.yaml"

static char tr_dir[256];
static bool tr_recorded;

__attribute__((format(printf, 3, 4)))
static void tr_check(bool ok, unsigned line, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    CU_assertImplementation(ok, line, msg, __FILE__, "", CU_FALSE);
}
#define TR_CHECK(cond, ...) tr_check((cond), __LINE__, __VA_ARGS__)

/* ---- files --------------------------------------------------------------------------------- */

static int tr_suite_init(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(tr_dir, sizeof tr_dir, "%s/hvsim-test-replay-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    return mkdtemp(tr_dir) ? 0 : -1;
}

static int tr_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int tr_suite_cleanup(void)
{
    nftw(tr_dir, tr_rm, 8, FTW_DEPTH | FTW_PHYS);
    tr_recorded = false;
    return 0;
}

/* name inside the suite's folder; four buffers in rotation */
static const char *tr_path(const char *name)
{
    static char bufs[4][512];
    static unsigned next;
    char *p = bufs[next++ % 4];
    snprintf(p, sizeof bufs[0], "%s/%s", tr_dir, name);
    return p;
}


static void tr_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(fwrite(data, 1, len, f), len);
    CU_ASSERT_EQUAL(fclose(f), 0);
}

/* Copies the first `keep` bytes of from (all of it if keep is SIZE_MAX) to to. */
static void tr_copy(const char *from, const char *to, size_t keep)
{
    size_t len = 0;
    char *data = test_read_file(from, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(data);
    tr_write_file(to, data, keep < len ? keep : len);
    free(data);
}

/* ---- recording, as `hvsim run` does it ------------------------------------------------------ */

static int tr_record_raw(const char *trace, char *why, size_t whysize)
{
    struct scenario *sc = NULL;
    struct trace_writer *w = NULL;
    struct hv_diag d;
    char *cfg = NULL, *elf = NULL;
    size_t elf_len = 0;
    static char log[16384];
    char uv[32], cv[32], seedtxt[32];
    int err = scenario_load(&sc, TR_SCENARIO, &d);
    if (err || (err = runner_check(sc, &d))) {
        hv_diag_format(&d, why, whysize);
        goto out;
    }
    const char *elf_path = tr_path("guest.elf");
    if ((err = guest_build(sc->arch, sc->guest_path, elf_path, log, sizeof log))) {
        snprintf(why, whysize, "guest_build: %.1900s", log);
        goto out;
    }
    if (!(elf = test_read_file(elf_path, &elf_len))) {
        err = HV_EIO;
        snprintf(why, whysize, "cannot read %s", elf_path);
        goto out;
    }
    if ((err = trace_writer_open(&w, trace)))
        goto fail;
    hv_lib_versions(uv, sizeof uv, cv, sizeof cv);
    snprintf(seedtxt, sizeof seedtxt, "%" PRIu64, sc->seed);
    cfg = runner_config_json(sc);
    const char *info[][2] = {
        { "scenario_name", sc->name }, { "scenario_path", TR_SCENARIO },
        { "scenario_text", sc->text }, { "seed", seedtxt }, { "sets", "" },
        { "config", cfg ? cfg : "{}" }, { "model", sc->model },
        { "arch", hv_arch_name(sc->arch) }, { "hvsim_version", HVSIM_VERSION },
        { "unicorn_version", uv }, { "capstone_version", cv },
    };
    for (size_t i = 0; i < TR_N(info) && !err; i++)
        err = trace_writer_set_info(w, info[i][0], info[i][1]);
    if (err || (err = trace_writer_put_blob(w, "guest.elf", elf, elf_len)))
        goto fail;
    struct runner_result res;
    if ((err = runner_execute(sc, elf, elf_len, trace_writer_sink, w, NULL, &res)))
        goto fail;
    if (runner_exit_code(&res) != HV_EXIT_OK) {
        err = HV_EINVAL;
        snprintf(why, whysize, "the recorded run did not pass: %s", res.summary);
        goto out;
    }
    trace_writer_set_info(w, "outcome", hv_outcome_name(res.outcome));
    trace_writer_set_info_int(w, "exit_code", runner_exit_code(&res));
    trace_writer_set_info_int(w, "instructions", (int64_t)res.instructions);
    trace_writer_set_info_int(w, "events", (int64_t)res.events);
    if ((err = trace_writer_finish(w)))
        goto fail;
    goto out;
fail:
    snprintf(why, whysize, "%s: %s", hv_err_name(err), hv_error_detail());
out:
    trace_writer_close(w);
    scenario_destroy(sc);
    free(cfg);
    free(elf);
    return err;
}

/* Path of the recorded trace, recording it on first use. */
static const char *tr_recording(void)
{
    static char path[512];
    if (!tr_recorded) {
        char why[2048] = "";
        snprintf(path, sizeof path, "%s/recorded.db", tr_dir);
        int err = tr_record_raw(path, why, sizeof why);
        TR_CHECK(err == 0, "recording %s: %s", TR_SCENARIO, why);
        CU_ASSERT_FATAL(err == 0);
        tr_recorded = true;
    }
    return path;
}

/* ---- SQL on a copy -------------------------------------------------------------------------- */

__attribute__((format(printf, 2, 3)))
static void tr_sql(const char *db_path, const char *fmt, ...)
{
    char sql[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE, NULL);
    char *msg = NULL;
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    TR_CHECK(rc == SQLITE_OK, "%s: %s", sql, msg ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
    sqlite3_close(db);
}

static int64_t tr_sql_int(const char *db_path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t v = -1;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    TR_CHECK(v >= 0, "%s: %s", sql, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* ---- replay with captured output ------------------------------------------------------------ */

struct tr_out {
    int code;
    char *out, *err;   /* what replay_trace printed; release with tr_out_fini() */
};

static void tr_out_fini(struct tr_out *o)
{
    free(o->out);
    free(o->err);
}

static int tr_replay_raw(const char *path, const char *const *sets, size_t nsets,
                         struct tr_out *o)
{
    size_t olen = 0, elen = 0;
    o->out = o->err = NULL;
    FILE *out = open_memstream(&o->out, &olen), *err = open_memstream(&o->err, &elen);
    CU_ASSERT_FATAL(out && err);
    o->code = replay_trace(path, sets, nsets, out, err);
    fclose(out);
    fclose(err);
    return o->code;
}

/* Replays and asserts the exit code; the message shows what replay printed. */
static void tr_replay(const char *name, const char *path, const char *const *sets, size_t nsets,
                      int want, struct tr_out *o)
{
    int code = tr_replay_raw(path, sets, nsets, o);
    TR_CHECK(code == want, "%s: replay gave %d, expected %d\n--- out:\n%s--- err:\n%s", name,
             code, want, o->out, o->err);
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_identical(void)
{
    const char *rec = tr_recording();
    const char *copy = tr_path("identical.db");
    tr_copy(rec, copy, SIZE_MAX);
    struct tr_out o;
    tr_replay("untouched copy", copy, NULL, 0, 0, &o);
    int64_t n = tr_sql_int(copy, "SELECT count(*) FROM events");
    char want[96];
    snprintf(want, sizeof want, "replay identical: %" PRId64 " events;", n);
    TR_CHECK(strstr(o.out, want) != NULL, "report lacks '%s':\n%s", want, o.out);
    TR_CHECK(strstr(o.out, "incomplete") == NULL, "complete trace reported incomplete:\n%s",
             o.out);
    TR_CHECK(o.err[0] == 0, "messages on err:\n%s", o.err);
    tr_out_fini(&o);

    /* a --set of a knob that does not exist for model none is bad input, not a divergence */
    static const struct {
        const char *set;
        const char *err;
    } sets[] = {
        { "nosuch.knob=1", "nosuch.knob" },
        { "no-equals-sign", "expected KEY=VALUE" },
        { "=1", "expected KEY=VALUE" },
    };
    for (size_t i = 0; i < TR_N(sets); i++) {
        const char *one[] = { sets[i].set };
        tr_replay(sets[i].set, copy, one, 1, HV_EXIT_BADINPUT, &o);
        TR_CHECK(strstr(o.err, sets[i].err) != NULL, "--set %s: messages lack '%s':\n%s",
                 sets[i].set, sets[i].err, o.err);
        tr_out_fini(&o);
    }
}

/*
 * Tampered copies. In a row's texts, {N} stands for the seq of a `sched` event in the middle
 * of the run, {C} for the seq of the chunk that holds it (its first event), and {LEFT} for the
 * number of events once the last 5 are gone. The SQL edits the chunks' JSON arrays, whose
 * elements are [kind, vcpu, icount, pc, fields...] (docs/trace-format.md).
 */
#define TR_AT_N "WHERE seq <= {N} AND seq + n > {N}"     /* the chunk holding {N} */
#define TR_EL_N(m) "printf('$[%d][" #m "]', {N} - seq)"  /* member m of {N}'s element */
#define TR_LAST "WHERE seq = (SELECT max(seq) FROM event_chunks)"
/* The events of the view as a version 1 or 2 event_rows table, in place of the chunks. */
/* The event_rows table of schema version 1 (vm "") or 2 (vm "vm, "), with the text and
 * indexes the hvsim of that version created (a reader accepts nothing else). */
#define TR_ROWS_TABLE_1                                                                      \
    "CREATE TABLE event_rows(seq INTEGER PRIMARY KEY, vcpu INTEGER NOT NULL,\n"              \
    "                        icount INTEGER NOT NULL,\n"
#define TR_ROWS_TABLE_2                                                                      \
    "CREATE TABLE event_rows(seq INTEGER PRIMARY KEY, vm INTEGER NOT NULL DEFAULT 0,\n"      \
    "                        vcpu INTEGER NOT NULL, icount INTEGER NOT NULL,\n"
#define TR_ROWS(table, vm)                                                                   \
    table                                                                                    \
    "                        kind INTEGER NOT NULL REFERENCES event_kinds(id),\n"            \
    "                        pc INTEGER NOT NULL, detail TEXT NOT NULL);"                     \
    " INSERT INTO event_rows SELECT seq, " vm "vcpu, icount,"                                 \
    " (SELECT id FROM event_kinds WHERE name = kind) AS kind, pc, detail FROM events;"       \
    " CREATE INDEX event_rows_vcpu ON event_rows(vcpu);"                                     \
    " CREATE INDEX event_rows_kind ON event_rows(kind);"                                     \
    " DROP VIEW events; DROP TABLE event_chunks; DROP TABLE event_strings; "
static const struct {
    const char *name;
    const char *sql;            /* run on the copy */
    int code;
    const char *says[5];        /* in the report (out) */
} tr_tampers[] = {
    { "detail of one event",
      "UPDATE event_chunks SET events = json_replace(events, " TR_EL_N(4) ", 1) " TR_AT_N,
      HV_EXIT_DIVERGED,
      { "replay diverged at seq {N} after {N} identical events", "  recorded: seq {N} ",
        "  replayed: seq {N} ", "code at pc (vCPU", "registers (vCPU" } },
    { "pc of one event",
      "UPDATE event_chunks SET events = json_replace(events, " TR_EL_N(3) ","
      " json_extract(events, " TR_EL_N(3) ") + 1) " TR_AT_N,
      HV_EXIT_DIVERGED,
      { "replay diverged at seq {N} ", "  recorded: seq {N} ", "  replayed: seq {N} ",
        "rip=", NULL } },
    { "vCPU of one event",
      "UPDATE event_chunks SET events = json_replace(events, " TR_EL_N(1) ","
      " 1 - json_extract(events, " TR_EL_N(1) ")) " TR_AT_N,
      HV_EXIT_DIVERGED,
      { "replay diverged at seq {N} ", "  recorded: seq {N} ", "  replayed: seq {N} ",
        NULL } },
    { "VM of one chunk", "UPDATE event_chunks SET vm = 1 " TR_AT_N,
      HV_EXIT_DIVERGED,
      { "replay diverged at seq {C} after {C} identical events", "  recorded: seq {C} vm 1 ",
        "  replayed: seq {C} vm 0 ", NULL } },
    /* The older schemas, made from this trace's events: version 2 (one row per event with its
     * detail) and version 1 (no vm column; its events read vm 0, what the run's only VM
     * emits). Both replay as they did when hvsim wrote them. */
    { "a version 2 trace",
      TR_ROWS(TR_ROWS_TABLE_2, "vm, ")
      "CREATE VIEW events(seq, vm, vcpu, icount, kind, pc, detail) AS\n"
      "    SELECT r.seq, r.vm, r.vcpu, r.icount, k.name, r.pc, r.detail\n"
      "    FROM event_rows AS r JOIN event_kinds AS k ON k.id = r.kind ORDER BY r.seq; "
      "PRAGMA user_version = 2",
      HV_EXIT_OK,
      { "replay identical: ", NULL } },
    { "a version 1 trace",
      TR_ROWS(TR_ROWS_TABLE_1, "")
      "CREATE VIEW events(seq, vcpu, icount, kind, pc, detail) AS\n"
      "    SELECT r.seq, r.vcpu, r.icount, k.name, r.pc, r.detail\n"
      "    FROM event_rows AS r JOIN event_kinds AS k ON k.id = r.kind ORDER BY r.seq; "
      "PRAGMA user_version = 1",
      HV_EXIT_OK,
      { "replay identical: ", NULL } },
    { "last events deleted",
      "UPDATE event_chunks SET events = (SELECT json_group_array(json(value))"
      " FROM json_each(events) WHERE key < {LEFT} - event_chunks.seq), n = {LEFT} - seq "
      TR_LAST,
      HV_EXIT_DIVERGED,
      { "replay diverged at seq {LEFT} after {LEFT} identical events", "  recorded: (none)",
        "  replayed: seq {LEFT} ", NULL } },
    { "last events deleted, trace marked incomplete",
      "UPDATE event_chunks SET events = (SELECT json_group_array(json(value))"
      " FROM json_each(events) WHERE key < {LEFT} - event_chunks.seq), n = {LEFT} - seq "
      TR_LAST "; UPDATE run_info SET value = 'recording' WHERE key = 'status'",
      HV_EXIT_OK,
      { "the recorded trace is incomplete; its {LEFT} events all matched", NULL } },
    { "an event past the end",
      "UPDATE event_chunks SET events = json_insert(events, '$[#]',"
      " json_extract(events, '$[#-1]')), n = n + 1 " TR_LAST,
      HV_EXIT_DIVERGED,
      { "  recorded: seq ", "  replayed: (none)", NULL } },
};

/* Copies text to buf with {N}, {C} and {LEFT} replaced by their values. */
static void tr_subst(char *buf, size_t size, const char *text, int64_t n, int64_t c,
                     int64_t left)
{
    size_t len = 0;
    buf[0] = 0;
    while (*text && len + 1 < size) {
        const char *var = NULL;
        int64_t val = 0;
        if (strncmp(text, "{N}", 3) == 0)
            var = "{N}", val = n;
        else if (strncmp(text, "{LEFT}", 6) == 0)
            var = "{LEFT}", val = left;
        else if (strncmp(text, "{C}", 3) == 0)
            var = "{C}", val = c;
        if (var) {
            int k = snprintf(buf + len, size - len, "%" PRId64, val);
            len += k > 0 ? (size_t)k : 0;
            text += strlen(var);
        } else {
            buf[len++] = *text++;
            buf[len] = 0;
        }
    }
    CU_ASSERT_FATAL(len + 1 < size);
}

static void test_tampered(void)
{
    const char *rec = tr_recording();
    int64_t total = tr_sql_int(rec, "SELECT count(*) FROM events");
    int64_t n = tr_sql_int(rec, "SELECT seq FROM events WHERE kind = 'sched' ORDER BY seq "
                                "LIMIT 1 OFFSET 10");
    char sql_c[128];
    snprintf(sql_c, sizeof sql_c, "SELECT seq FROM event_chunks WHERE seq <= %" PRId64
             " AND seq + n > %" PRId64, n, n);
    int64_t c = tr_sql_int(rec, sql_c);
    int64_t left = total - 5;
    TR_CHECK(n > 0 && left > n, "recording has %" PRId64 " events, sched #10 at %" PRId64,
             total, n);
    for (size_t i = 0; i < TR_N(tr_tampers); i++) {
        char name[32], sql[2048], want[256];
        snprintf(name, sizeof name, "tampered-%zu.db", i);
        const char *copy = tr_path(name);
        tr_copy(rec, copy, SIZE_MAX);
        tr_subst(sql, sizeof sql, tr_tampers[i].sql, n, c, left);
        tr_sql(copy, "%s", sql);
        struct tr_out o;
        tr_replay(tr_tampers[i].name, copy, NULL, 0, tr_tampers[i].code, &o);
        for (size_t k = 0; k < TR_N(tr_tampers[i].says) && tr_tampers[i].says[k]; k++) {
            tr_subst(want, sizeof want, tr_tampers[i].says[k], n, c, left);
            TR_CHECK(strstr(o.out, want) != NULL, "%s: report lacks '%s':\n%s",
                     tr_tampers[i].name, want, o.out);
        }
        tr_out_fini(&o);
    }
}

static void test_bad_traces(void)
{
    const char *rec = tr_recording();
    size_t len = 0;
    char *whole = test_read_file(rec, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(whole);
    free(whole);
    tr_write_file(tr_path("foreign.txt"), "this is not a trace\n", 20);
    tr_write_file(tr_path("empty.db"), "", 0);
    tr_copy(rec, tr_path("truncated-header.db"), 50);
    tr_copy(rec, tr_path("truncated-half.db"), len / 2);
    tr_copy(rec, tr_path("no-guest.db"), SIZE_MAX);
    tr_sql(tr_path("no-guest.db"), "DELETE FROM blobs WHERE name = 'guest.elf'");
    /* Damaged parts of a trace: each error names the trace and the part. */
    static const struct {
        const char *file;
        const char *sql;
    } parts[] = {
        { "bad-scenario.db", "UPDATE run_info SET value = 'name: [' WHERE key = 'scenario_text'" },
        { "bad-scenario-key.db", "UPDATE run_info SET value = replace(value, 'quantum:',"
                                 " 'quantumm:') WHERE key = 'scenario_text'" },
        { "no-scenario.db", "DELETE FROM run_info WHERE key = 'scenario_text'" },
        { "bad-seed.db", "UPDATE run_info SET value = '12x' WHERE key = 'seed'" },
        { "sets-unknown.db", "UPDATE run_info SET value = 'none.bogus=1' WHERE key = 'sets'" },
        { "sets-malformed.db", "UPDATE run_info SET value = 'a=1' || char(10) || 'garbage'"
                               " WHERE key = 'sets'" },
        { "bad-string.db", "UPDATE event_strings SET json = '\"abc' WHERE id = 0" },
        { "bad-elf.db", "UPDATE blobs SET data = x'7f454c46' WHERE name = 'guest.elf'" },
    };
    for (size_t i = 0; i < TR_N(parts); i++) {
        tr_copy(rec, tr_path(parts[i].file), SIZE_MAX);
        tr_sql(tr_path(parts[i].file), "%s", parts[i].sql);
    }
    static const struct {
        const char *file;
        const char *err;       /* in the messages, after "hvsim: " and the trace's path */
    } rows[] = {
        { "foreign.txt", ": not an hvsim trace" },
        { "empty.db", ": not an hvsim trace: empty file" },
        { "truncated-header.db", ": truncated trace" },
        { "truncated-half.db", ": truncated trace" },
        { "missing.db", ": no such file" },
        { "no-guest.db", ": no blob named 'guest.elf'; replay needs it" },
        { "bad-scenario.db", ": stored scenario:2:1: YAML syntax error" },
        { "bad-scenario-key.db", ": stored scenario:" },
        { "no-scenario.db", ": run_info has no key 'scenario_text'; replay needs it" },
        { "bad-seed.db", ": run_info seed: '12x' is not a number" },
        { "sets-unknown.db", ": run_info sets: none.bogus=1: unknown config key 'none.bogus'" },
        { "sets-malformed.db", ": run_info sets, line 2: 'garbage': expected KEY=VALUE" },
        { "bad-string.db", ": event 0: damaged detail: event_strings id 0 is not JSON" },
        { "bad-elf.db", ": replay failed: " },
    };
    for (size_t i = 0; i < TR_N(rows); i++) {
        struct tr_out o;
        char want[256];
        snprintf(want, sizeof want, "hvsim: %s%s", tr_path(rows[i].file), rows[i].err);
        tr_replay(rows[i].file, tr_path(rows[i].file), NULL, 0, HV_EXIT_BADINPUT, &o);
        TR_CHECK(strstr(o.err, want) == o.err, "%s: messages do not begin with '%s':\n%s",
                 rows[i].file, want, o.err);
        tr_out_fini(&o);
    }
    /* A --set of the replay that repeats a bad stored one is the option's error. */
    static const char *const bogus[] = { "none.bogus=1" };
    struct tr_out o;
    tr_replay("sets-unknown.db", tr_path("sets-unknown.db"), bogus, 1, HV_EXIT_BADINPUT, &o);
    TR_CHECK(strstr(o.err, "hvsim: --set none.bogus=1: unknown config key") == o.err,
             "a bad --set given again: %s", o.err);
    tr_out_fini(&o);
}

void test_replay_register(void)
{
    CU_pSuite s = CU_add_suite("replay", tr_suite_init, tr_suite_cleanup);
    CU_add_test(s, "an untouched trace replays identically", test_identical);
    CU_add_test(s, "tampered traces", test_tampered);
    CU_add_test(s, "bad traces and inputs give 2", test_bad_traces);
}
