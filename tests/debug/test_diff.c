/*
 * test_diff.c - `hvsim diff` (debug/diff.c) on bundled bug-knob scenarios.
 *
 * Each row records a scenario twice with `hvsim run` (the knob on, then the fixed value) and
 * diffs the traces with --json. Where the first wrong event is comes from the scenario's
 * description, written as SQL over the knob-on trace (e.g. "the second kvm_lookup of user
 * kvm_write_guest"), with the detail key the description says changes and its two values. The
 * summary's counts are checked against SQL counts of each trace, and the report's history
 * against the trace's own earlier events of that vCPU. A trace diffed with itself is
 * identical (0); traces of two scenarios, or a file that is no trace, give 2.
 */
#include <CUnit/CUnit.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "debug/diff.h"
#include "tests/test_util.h"

void test_diff_register(void);

#define DF_HVSIM HVSIM_BINARY_DIR "/hvsim"
#define DF_SCEN HVSIM_SOURCE_DIR "/scenarios/"

static char df_dir[256];

static int df_init(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(df_dir, sizeof df_dir, "%s/hvsim-test-diff-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    return mkdtemp(df_dir) ? 0 : -1;
}

static int df_cleanup(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", df_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Records scenario (under scenarios/) into df_dir/name.db with --set set (NULL: none);
 * returns the path (static, one of four). */
static const char *df_record(const char *scenario, const char *name, const char *set)
{
    static char paths[4][512];
    static unsigned next;
    char *p = paths[next++ % 4];
    snprintf(p, sizeof paths[0], "%s/%s.db", df_dir, name);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' run '%s%s' -o '%s' --quiet %s%s >/dev/null 2>&1",
             DF_HVSIM, DF_SCEN, scenario, p, set ? "--set " : "", set ? set : "");
    int rc = system(cmd);
    /* 0 or 1 (expectations failed) both leave a complete trace */
    TEST_CHECK(WIFEXITED(rc) && WEXITSTATUS(rc) <= 1, "%s: exit %d", cmd, WEXITSTATUS(rc));
    return p;
}

struct df_out {
    int code;
    char *out, *err;
};

static void df_run(const char *a, const char *b, bool json, struct df_out *o)
{
    size_t ol = 0, el = 0;
    FILE *fo = open_memstream(&o->out, &ol), *fe = open_memstream(&o->err, &el);
    CU_ASSERT_FATAL(fo && fe);
    o->code = diff_traces(a, b, json, fo, fe);
    fclose(fo);
    fclose(fe);
}

static void df_out_fini(struct df_out *o)
{
    free(o->out);
    free(o->err);
}

/* The first column of the first row of sql (with ?1 bound to text1, ?2 to text2, NULL:
 * unbound) on db, as text into out; "" for NULL or no row. */
static void df_sql(sqlite3 *db, const char *sql, const char *text1, const char *text2, char *out,
                   size_t size)
{
    sqlite3_stmt *st = NULL;
    out[0] = 0;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    TEST_CHECK(rc == SQLITE_OK, "%s: %s", sql, sqlite3_errmsg(db));
    if (rc != SQLITE_OK)
        return;
    if (text1)
        sqlite3_bind_text(st, 1, text1, -1, SQLITE_STATIC);
    if (text2)
        sqlite3_bind_text(st, 2, text2, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(out, size, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
}

static sqlite3 *df_db(const char *path)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path ? path : ":memory:", &db,
                             path ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE, NULL);
    CU_ASSERT_FATAL(rc == SQLITE_OK);
    return db;
}

static const struct {
    const char *scenario, *bad, *good;
    const char *fact;            /* SQL over the knob-on trace: the first wrong event's seq */
    const char *kind;
    const char *key, *a, *b;     /* a detail key that differs, as JSON text on each side */
} df_rows[] = {
    /* "the second lookup is vcpu_cache with stale: true and the old slot's hva" */
    { "kvm/bug-stale-slot-cache-x86_64.yaml", "kvm.bug.stale_slot_cache=1", NULL,
      "SELECT seq FROM events WHERE kind = 'kvm_lookup' AND detail ->> '$.user' = "
      "'kvm_write_guest' ORDER BY seq LIMIT 1 OFFSET 1",
      "kvm_lookup", "via", "\"vcpu_cache\"", "\"search\"" },
    /* "stops at the first leg's xen_continuation event (next_cmd 198 recorded, 134 replayed)" */
    { "xen/bug-continuation-progress-x86_64.yaml", "xen.bug.continuation_progress=1", NULL,
      "SELECT min(seq) FROM events WHERE kind = 'xen_continuation'",
      "xen_continuation", "next_cmd", "198", "134" },
    /* "the second get_dirty_log step: the second bitmap is empty and the step fails" */
    { "kvm/bug-kvm-write-skips-dirty-x86_64.yaml", "kvm.bug.kvm_write_skips_dirty=1", NULL,
      "SELECT seq FROM events WHERE kind = 'step' AND detail ->> '$.action' = "
      "'get_dirty_log' ORDER BY seq LIMIT 1 OFFSET 1",
      "step", "ok", "false", "true" },
    /* "the first xen_area event (why register): via 1 (subject) against vCPU 0's tables" */
    { "xen/runstate-cross-vcpu-subject-x86_64.yaml", "xen.cross_vcpu=current", NULL,
      "SELECT min(seq) FROM events WHERE kind = 'xen_area' AND detail ->> '$.why' = "
      "'register'",
      "xen_area", "via", "0", "1" },
};

static void test_bug_knobs(void)
{
    for (size_t i = 0; i < TEST_N(df_rows); i++) {
        char name[64], want_seq[32], got[4096];
        snprintf(name, sizeof name, "bug%zu", i);
        const char *a = df_record(df_rows[i].scenario, name, df_rows[i].bad);
        snprintf(name, sizeof name, "fixed%zu", i);
        const char *b = df_record(df_rows[i].scenario, name, df_rows[i].good);
        sqlite3 *ta = df_db(a), *tb = df_db(b), *mem = df_db(NULL);
        df_sql(ta, df_rows[i].fact, NULL, NULL, want_seq, sizeof want_seq);
        TEST_CHECK(want_seq[0] != 0, "%s: the fact finds no event", df_rows[i].scenario);

        struct df_out o;
        df_run(a, b, true, &o);
        TEST_CHECK(o.code == 1, "%s: exit %d: %s", df_rows[i].scenario, o.code, o.err);
        df_sql(mem, "SELECT json_valid(?1)", o.out, NULL, got, sizeof got);
        TEST_CHECK(strcmp(got, "1") == 0, "%s: not JSON:\n%s", df_rows[i].scenario, o.out);
        df_sql(mem, "SELECT ?1 ->> '$.first.seq'", o.out, NULL, got, sizeof got);
        TEST_CHECK(strcmp(got, want_seq) == 0, "%s: first difference at seq %s, the "
                   "description's event is seq %s", df_rows[i].scenario, got, want_seq);
        df_sql(mem, "SELECT ?1 ->> '$.first.events.A.kind'", o.out, NULL, got, sizeof got);
        TEST_CHECK(strcmp(got, df_rows[i].kind) == 0, "%s: kind %s, want %s",
                   df_rows[i].scenario, got, df_rows[i].kind);
        /* the key with both values, and no key that is the same on both sides */
        char sql[512];
        snprintf(sql, sizeof sql, "SELECT (value -> '$.A') || '|' || (value -> '$.B') FROM "
                                  "json_each(?1, '$.first.differs') WHERE value ->> '$.key' = ?2");
        df_sql(mem, sql, o.out, df_rows[i].key, got, sizeof got);
        char want[256];
        snprintf(want, sizeof want, "%s|%s", df_rows[i].a, df_rows[i].b);
        TEST_CHECK(strcmp(got, want) == 0, "%s: %s differs as '%s', want '%s'",
                   df_rows[i].scenario, df_rows[i].key, got, want);
        df_sql(mem, "SELECT count(*) FROM json_each(?1, '$.first.differs') WHERE "
                    "(value -> '$.A') IS (value -> '$.B')", o.out, NULL, got, sizeof got);
        TEST_CHECK(strcmp(got, "0") == 0, "%s: %s keys listed with equal values",
                   df_rows[i].scenario, got);

        /* the summary against each trace's own counts, row by row */
        static const char rows_sql[] =
            "SELECT group_concat(r, ';') FROM (SELECT (value ->> '$.kind') || ',' || "
            "(value ->> '$.vcpu') || ',' || (value ->> '$.%s') AS r FROM json_each(?1, "
            "'$.summary') WHERE value ->> '$.%s' > 0 ORDER BY r)";
        static const char count_sql[] =
            "SELECT group_concat(r, ';') FROM (SELECT kind || ',' || vcpu || ',' || count(*) "
            "AS r FROM events GROUP BY kind, vcpu ORDER BY r)";
        sqlite3 *tr[2] = { ta, tb };
        for (int s = 0; s < 2; s++) {
            char sum[4096], counted[4096];
            snprintf(sql, sizeof sql, rows_sql, s ? "B" : "A", s ? "B" : "A");
            df_sql(mem, sql, o.out, NULL, sum, sizeof sum);
            df_sql(tr[s], count_sql, NULL, NULL, counted, sizeof counted);
            TEST_CHECK(strcmp(sum, counted) == 0, "%s: summary %c '%s', trace '%s'",
                       df_rows[i].scenario, s ? 'B' : 'A', sum, counted);
        }
        /* the wrong event's own (kind, vCPU) row departs there */
        snprintf(sql, sizeof sql, "SELECT value ->> '$.first_differs' FROM json_each(?1, "
                                  "'$.summary') WHERE value ->> '$.kind' = ?2 AND value ->> "
                                  "'$.vcpu' = (?1 ->> '$.first.events.A.vcpu')");
        df_sql(mem, sql, o.out, df_rows[i].kind, got, sizeof got);
        TEST_CHECK(strcmp(got, want_seq) == 0, "%s: summary row departs at %s, want %s",
                   df_rows[i].scenario, got, want_seq);
        /* the history: the last events of the same vCPU (any, for vCPU -1) before it */
        char hist[1024], want_hist[1024], vcpu[16];
        df_sql(mem, "SELECT ?1 ->> '$.first.events.A.vcpu'", o.out, NULL, vcpu, sizeof vcpu);
        df_sql(mem, "SELECT group_concat(value ->> '$.seq', ',') FROM json_each(?1, "
                    "'$.first.history')", o.out, NULL, hist, sizeof hist);
        snprintf(sql, sizeof sql, "SELECT group_concat(seq, ',') FROM (SELECT seq FROM (SELECT "
                                  "seq FROM events WHERE seq < %s AND (%s < 0 OR vcpu = %s) "
                                  "ORDER BY seq DESC LIMIT 5) ORDER BY seq)",
                 want_seq, vcpu, vcpu);
        df_sql(ta, sql, NULL, NULL, want_hist, sizeof want_hist);
        TEST_CHECK(strcmp(hist, want_hist) == 0, "%s: history %s, want %s",
                   df_rows[i].scenario, hist, want_hist);
        df_out_fini(&o);

        /* the same trace twice */
        df_run(a, a, false, &o);
        TEST_CHECK(o.code == 0 && strstr(o.out, "identical: ") != NULL, "%s: self diff %d:\n%s",
                   df_rows[i].scenario, o.code, o.out);
        df_out_fini(&o);
        sqlite3_close(ta);
        sqlite3_close(tb);
        sqlite3_close(mem);
    }
}

/* The text report of a host step names its scenario line; of a guest event, the source. */
static void test_text(void)
{
    const char *a = df_record(df_rows[2].scenario, "text-bug", df_rows[2].bad);
    const char *b = df_record(df_rows[2].scenario, "text-fixed", NULL);
    struct df_out o;
    df_run(a, b, false, &o);
    /* the second step of the scenario file: the line of its second "  - at:" */
    size_t len = 0;
    char *yaml = test_read_file(DF_SCEN "kvm/bug-kvm-write-skips-dirty-x86_64.yaml", &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(yaml);
    unsigned line = 1, seen = 0, step_line = 0;
    for (const char *p = yaml; *p; p++) {
        if ((p == yaml || p[-1] == '\n') && strncmp(p, "  - at:", 7) == 0 && ++seen == 2)
            step_line = line;
        line += *p == '\n';
    }
    free(yaml);
    char want[600];
    snprintf(want, sizeof want, "  host step 1 at %skvm/bug-kvm-write-skips-dirty-x86_64.yaml:%u: "
                                "get_dirty_log, at {\"sync\":2}, args {\"slot\":1}\n",
             DF_SCEN, step_line + 0);
    TEST_CHECK(o.code == 1 && strstr(o.out, want) != NULL, "no '%s' in:\n%s", want, o.out);
    TEST_CHECK(strstr(o.out, "    result.bitmap: \"0000000000000000\" | \"0100000000000000\"\n") &&
               strstr(o.out, "    ok: false | true\n") && !strstr(o.out, "    result.errno"),
               "what differs:\n%s", o.out);
    TEST_CHECK(strstr(o.out, "  sets: kvm.bug.kvm_write_skips_dirty=1 | (none)\n") != NULL,
               "inputs:\n%s", o.out);
    df_out_fini(&o);
}

static void test_bad_input(void)
{
    const char *a = df_record(df_rows[0].scenario, "bad-a", NULL);
    const char *b = df_record(df_rows[1].scenario, "bad-b", NULL);
    char foreign[512];
    snprintf(foreign, sizeof foreign, "%s/foreign.txt", df_dir);
    FILE *f = fopen(foreign, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("not a trace\n", f);
    fclose(f);
    static const struct {
        int a, b;            /* 0: a, 1: b, 2: foreign, 3: missing */
        const char *err;
    } rows[] = {
        { 0, 1, "different scenarios: scenario_name 'kvm-bug-stale-slot-cache-x86_64' vs "
                "'xen-bug-continuation-progress-x86_64'" },
        { 0, 2, "not an hvsim trace" },
        { 2, 0, "not an hvsim trace" },
        { 0, 3, "missing.db" },
    };
    char missing[512];
    snprintf(missing, sizeof missing, "%s/missing.db", df_dir);
    const char *paths[] = { a, b, foreign, missing };
    for (size_t i = 0; i < TEST_N(rows); i++) {
        struct df_out o;
        df_run(paths[rows[i].a], paths[rows[i].b], false, &o);
        TEST_CHECK(o.code == 2 && strstr(o.err, rows[i].err) != NULL,
                   "row %zu: exit %d, messages:\n%s", i, o.code, o.err);
        df_out_fini(&o);
    }
}

void test_diff_register(void)
{
    CU_pSuite s = CU_add_suite("diff", df_init, df_cleanup);
    CU_add_test(s, "a bug-knob trace against its fixed twin", test_bug_knobs);
    CU_add_test(s, "text report of a host step", test_text);
    CU_add_test(s, "bad input gives 2", test_bad_input);
}
