/*
 * results.c - the results database of an exploration (results.h), its report, merge and
 * plots. Plain SQLite; SQL does the grouping, C only formats.
 */
#include "explore/results.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <spawn.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runner/runner.h"
#include "sim/hv.h"

extern char **environ;

static const char schema[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value);"
    "CREATE TABLE runs(run INTEGER PRIMARY KEY, seed INTEGER NOT NULL, vary TEXT NOT NULL,"
    " sets TEXT NOT NULL, status TEXT NOT NULL, outcome TEXT, exit_code INTEGER,"
    " signature TEXT, instructions INTEGER, events INTEGER, wall_ms REAL, trace TEXT);"
    "CREATE TABLE vary(run INTEGER NOT NULL, pos INTEGER NOT NULL, key TEXT NOT NULL,"
    " value TEXT NOT NULL, PRIMARY KEY(run, pos));"
    "CREATE TABLE metrics(run INTEGER NOT NULL, name TEXT NOT NULL, value REAL,"
    " PRIMARY KEY(run, name));";

struct results {
    sqlite3 *db;
    sqlite3_stmt *run, *vary, *metric, *varyjson;
    unsigned pending;
};

static int db_err(sqlite3 *db, const char *what)
{
    return hv_error_set(HV_ESQLITE, "%s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
}

static void db_path(char *buf, size_t size, const char *dir)
{
    snprintf(buf, size, "%s/results.db", dir);
}

int results_create(struct results **out, const char *dir)
{
    char path[PATH_MAX];
    db_path(path, sizeof path, dir);
    unlink(path);
    struct results *r = calloc(1, sizeof *r);
    if (!r)
        return HV_ENOMEM;
    int rc = 0;
    if (sqlite3_open(path, &r->db) != SQLITE_OK ||
        sqlite3_exec(r->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;", NULL, NULL,
                     NULL) != SQLITE_OK ||
        sqlite3_exec(r->db, schema, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(r->db, "INSERT INTO runs VALUES(?,?,'{}',?,?,?,?,?,?,?,?,?)", -1,
                           &r->run, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(r->db, "INSERT INTO vary VALUES(?,?,?,?)", -1, &r->vary, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v2(r->db, "INSERT INTO metrics VALUES(?,?,?)", -1, &r->metric, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v2(r->db, "UPDATE runs SET vary = (SELECT json_group_object(key, value)"
                                  " FROM (SELECT key, value FROM vary WHERE run = ?1"
                                  " ORDER BY pos)) WHERE run = ?1", -1, &r->varyjson, NULL) !=
            SQLITE_OK ||
        sqlite3_exec(r->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        rc = db_err(r->db, path);
        results_close(r);
        r = NULL;
    }
    *out = r;
    return rc;
}

int results_commit(struct results *r)
{
    r->pending = 0;
    if (sqlite3_exec(r->db, "COMMIT; BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return db_err(r->db, "results.db");
    return 0;
}

void results_close(struct results *r)
{
    if (!r)
        return;
    if (r->db)
        sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL);
    sqlite3_finalize(r->run);
    sqlite3_finalize(r->vary);
    sqlite3_finalize(r->metric);
    sqlite3_finalize(r->varyjson);
    if (r->db)
        sqlite3_exec(r->db, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL);
    sqlite3_close(r->db);
    free(r);
}

int results_meta(struct results *r, const char *key, const char *value)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(r->db, "INSERT OR REPLACE INTO meta VALUES(?,?)", -1, &st, NULL) !=
        SQLITE_OK)
        return db_err(r->db, "results.db");
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_err(r->db, "results.db");
    sqlite3_finalize(st);
    return rc;
}

static int step_reset(struct results *r, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_err(r->db, "results.db");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

int results_add(struct results *r, const struct results_run *x)
{
    sqlite3_stmt *st = r->run;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)x->run);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)x->seed);
    sqlite3_bind_text(st, 3, x->sets, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, x->status, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, x->outcome, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 6, x->exit_code);
    sqlite3_bind_text(st, 7, x->signature, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 8, (sqlite3_int64)x->instructions);
    sqlite3_bind_int64(st, 9, (sqlite3_int64)x->events);
    sqlite3_bind_double(st, 10, x->wall_ms);
    sqlite3_bind_text(st, 11, x->trace, -1, SQLITE_STATIC);
    int rc = step_reset(r, st);
    for (size_t i = 0; i < x->nvary && !rc; i++) {
        sqlite3_bind_int64(r->vary, 1, (sqlite3_int64)x->run);
        sqlite3_bind_int64(r->vary, 2, (sqlite3_int64)i);
        sqlite3_bind_text(r->vary, 3, x->vary_keys[i], -1, SQLITE_STATIC);
        sqlite3_bind_text(r->vary, 4, x->vary_values[i], -1, SQLITE_STATIC);
        rc = step_reset(r, r->vary);
    }
    if (!rc && x->nvary) {
        sqlite3_bind_int64(r->varyjson, 1, (sqlite3_int64)x->run);
        rc = step_reset(r, r->varyjson);
    }
    for (size_t i = 0; i < x->nmetrics && !rc; i++) {
        sqlite3_bind_int64(r->metric, 1, (sqlite3_int64)x->run);
        sqlite3_bind_text(r->metric, 2, x->metric_names[i], -1, SQLITE_STATIC);
        if (!x->metric_null[i])
            sqlite3_bind_double(r->metric, 3, x->metric_values[i]);
        rc = step_reset(r, r->metric);
    }
    if (!rc && ++r->pending >= 256)
        rc = results_commit(r);
    return rc;
}

/* ---- reading ----------------------------------------------------------------------------- */

static int open_ro(const char *dir, sqlite3 **db, FILE *err)
{
    char path[PATH_MAX];
    db_path(path, sizeof path, dir);
    sqlite3_stmt *st = NULL;
    if (access(path, R_OK) != 0) {
        fprintf(err, "hvsim explore: %s: no results database (%s)\n", dir, strerror(errno));
        return HV_EXIT_BADINPUT;
    }
    if (sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(*db, "SELECT count(*) FROM runs, meta", -1, &st, NULL) !=
            SQLITE_OK) {
        fprintf(err, "hvsim explore: %s: not an hvsim results database: %s\n", path,
                *db ? sqlite3_errmsg(*db) : "out of memory");
        sqlite3_finalize(st);
        sqlite3_close(*db);
        *db = NULL;
        return HV_EXIT_BADINPUT;
    }
    sqlite3_finalize(st);
    return 0;
}

/* A meta value (caller frees), or NULL. */
static char *meta_get(sqlite3 *db, const char *schema_name, const char *key)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT value FROM %s.meta WHERE key = ?", schema_name);
    sqlite3_stmt *st;
    char *v = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        v = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return v;
}

/* Appends s to buf quoted for a POSIX shell when it needs it. */
static void shell_word(char *buf, size_t size, const char *s)
{
    size_t l = strlen(buf);
    bool plain = *s != '\0';
    for (const char *p = s; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:,+@%",
                    *p))
            plain = false;
    if (plain) {
        snprintf(buf + l, size - l, " %s", s);
        return;
    }
    l += (size_t)snprintf(buf + l, size - l, " '");
    for (const char *p = s; *p && l + 5 < size; p++) {
        if (*p == '\'')
            l += (size_t)snprintf(buf + l, size - l, "'\\''");
        else
            buf[l++] = *p;
    }
    snprintf(buf + l, size > l ? size - l : 0, "'");
}

/* The `hvsim run` command of one run. */
static void run_command(char *buf, size_t size, const char *scenario, uint64_t seed,
                        const char *sets)
{
    snprintf(buf, size, "hvsim run");
    shell_word(buf, size, scenario);
    size_t l = strlen(buf);
    snprintf(buf + l, size - l, " --seed %" PRIu64, seed);
    char *copy = strdup(sets ? sets : "");
    for (char *line = copy ? strtok(copy, "\n") : NULL; line; line = strtok(NULL, "\n")) {
        l = strlen(buf);
        snprintf(buf + l, size - l, " --set");
        shell_word(buf, size, line);
    }
    free(copy);
}

int results_report(const char *dir, FILE *out, FILE *err)
{
    sqlite3 *db = NULL;
    int code = open_ro(dir, &db, err);
    if (code)
        return code;
    char *scen = meta_get(db, "main", "scenario"), *name = meta_get(db, "main", "scenario_name");
    sqlite3_stmt *st = NULL;
    int64_t total = 0, failed = 0;
    if (sqlite3_prepare_v2(db, "SELECT count(*), count(signature) FROM runs", -1, &st, NULL) ==
            SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        total = sqlite3_column_int64(st, 0);
        failed = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    fprintf(out, "%s: %" PRId64 " runs, %" PRId64 " passed, %" PRId64 " failed\n",
            name ? name : "?", total, total - failed, failed);
    /* per signature: the run with the smallest seed (then the smallest run index) */
    static const char q[] =
        "SELECT r.signature, c.n, r.seed, r.sets, r.trace FROM"
        " (SELECT signature, count(*) AS n FROM runs WHERE signature IS NOT NULL"
        "  GROUP BY signature) c"
        " JOIN runs r ON r.run = (SELECT run FROM runs WHERE signature = c.signature"
        "  ORDER BY seed, run LIMIT 1)"
        " ORDER BY c.n DESC, c.signature";
    if (sqlite3_prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK) {
        fprintf(err, "hvsim explore: %s: %s\n", dir, sqlite3_errmsg(db));
        code = HV_EXIT_BADINPUT;
        goto out;
    }
    bool header = false;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (!header) {
            fprintf(out, "%-44s %6s %7s %10s  %s\n", "signature", "count", "rate",
                    "min seed", "reproduce");
            header = true;
        }
        const char *sig = (const char *)sqlite3_column_text(st, 0);
        int64_t n = sqlite3_column_int64(st, 1);
        uint64_t seed = (uint64_t)sqlite3_column_int64(st, 2);
        const char *sets = (const char *)sqlite3_column_text(st, 3);
        const char *trace = (const char *)sqlite3_column_text(st, 4);
        char cmd[4096];
        run_command(cmd, sizeof cmd, scen ? scen : "SCENARIO.yaml", seed, sets);
        fprintf(out, "%-44s %6" PRId64 " %6.1f%% %10" PRIu64 "  %s\n", sig, n,
                total ? 100.0 * (double)n / (double)total : 0.0, seed, cmd);
        if (trace)
            fprintf(out, "%-44s %6s %7s %10s  trace: %s%s%s\n", "", "", "", "",
                    trace[0] == '/' ? "" : dir, trace[0] == '/' ? "" : "/", trace);
    }
    if (!header)
        fprintf(out, "no failures\n");
out:
    sqlite3_finalize(st);
    sqlite3_close(db);
    free(scen);
    free(name);
    return code;
}

/* ---- merge ------------------------------------------------------------------------------- */

/* The meta keys every merged database must agree on. */
static const char *const merge_same[] = { "scenario_name", "vary_keys", "metrics", "sets",
                                          "planned", NULL };

int results_merge(const char *const *dirs, size_t ndirs, const char *out_dir, FILE *out,
                  FILE *err)
{
    struct results *r = NULL;
    char *first[8] = { NULL };
    int code = HV_EXIT_BADINPUT;
    for (size_t i = 0; i < ndirs; i++) {
        sqlite3 *db;
        if (open_ro(dirs[i], &db, err))
            return HV_EXIT_BADINPUT;
        sqlite3_close(db);
        char a[PATH_MAX], b[PATH_MAX];
        if (realpath(dirs[i], a) && realpath(out_dir, b) && strcmp(a, b) == 0) {
            fprintf(err, "hvsim explore --merge: --out %s is one of the inputs\n", out_dir);
            return HV_EXIT_BADINPUT;
        }
    }
    if (mkdir(out_dir, 0755) != 0 && errno != EEXIST) {
        fprintf(err, "hvsim explore --merge: cannot create %s: %s\n", out_dir, strerror(errno));
        return HV_EXIT_BADINPUT;
    }
    if (results_create(&r, out_dir)) {
        fprintf(err, "hvsim explore --merge: %s\n", hv_error_detail());
        return HV_EXIT_BADINPUT;
    }
    sqlite3 *db = r->db;
    for (size_t i = 0; i < ndirs; i++) {
        char path[PATH_MAX], abs[PATH_MAX];
        db_path(path, sizeof path, dirs[i]);
        if (!realpath(dirs[i], abs))
            snprintf(abs, sizeof abs, "%s", dirs[i]);
        sqlite3_stmt *st = NULL;
        char *sql = sqlite3_mprintf("ATTACH %Q AS src", path);
        int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
        sqlite3_free(sql);
        if (rc != SQLITE_OK) {
            fprintf(err, "hvsim explore --merge: %s: %s\n", path, sqlite3_errmsg(db));
            goto out;
        }
        for (size_t k = 0; merge_same[k]; k++) {
            char *v = meta_get(db, "src", merge_same[k]);
            if (i == 0) {
                first[k] = v;
                continue;
            }
            bool same = (!v && !first[k]) || (v && first[k] && strcmp(v, first[k]) == 0);
            free(v);
            if (!same) {
                fprintf(err, "hvsim explore --merge: %s: its %s differs from %s's: not shards "
                             "of one exploration\n", dirs[i], merge_same[k], dirs[0]);
                sqlite3_exec(db, "DETACH src", NULL, NULL, NULL);
                goto out;
            }
        }
        if (i == 0 &&
            sqlite3_exec(db, "INSERT INTO meta SELECT * FROM src.meta WHERE key <> 'shard'",
                         NULL, NULL, NULL) != SQLITE_OK)
            goto sqlfail;
        if (sqlite3_prepare_v2(db,
                               "INSERT INTO runs SELECT run, seed, vary, sets, status, outcome,"
                               " exit_code, signature, instructions, events, wall_ms,"
                               " CASE WHEN trace IS NULL OR substr(trace, 1, 1) = '/' THEN trace"
                               " ELSE ?1 || '/' || trace END FROM src.runs",
                               -1, &st, NULL) != SQLITE_OK)
            goto sqlfail;
        sqlite3_bind_text(st, 1, abs, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc == SQLITE_CONSTRAINT) {
            fprintf(err, "hvsim explore --merge: %s holds a run another input holds too: "
                         "merge each shard once\n", dirs[i]);
            sqlite3_exec(db, "DETACH src", NULL, NULL, NULL);
            goto out;
        }
        if (rc != SQLITE_DONE ||
            sqlite3_exec(db, "INSERT INTO vary SELECT * FROM src.vary;"
                             "INSERT INTO metrics SELECT * FROM src.metrics;",
                         NULL, NULL, NULL) != SQLITE_OK)
            goto sqlfail;
        if (sqlite3_exec(db, "COMMIT; DETACH src; BEGIN", NULL, NULL, NULL) != SQLITE_OK)
            goto sqlfail;
    }
    {
        char n[32];
        snprintf(n, sizeof n, "%zu", ndirs);
        results_meta(r, "merged_from", n);
    }
    code = 0;
    fprintf(out, "merged %zu results databases into %s/results.db\n", ndirs, out_dir);
    goto out;
sqlfail:
    fprintf(err, "hvsim explore --merge: %s\n", sqlite3_errmsg(db));
out:
    for (size_t k = 0; k < sizeof first / sizeof first[0]; k++)
        free(first[k]);
    results_close(r);
    return code;
}

/* ---- plots ------------------------------------------------------------------------------- */

struct point {
    char *series, *x;
    double mean, min, max;
    int64_t n;
};

static bool is_number(const char *s)
{
    char *end;
    if (!*s)
        return false;
    strtod(s, &end);
    return *end == '\0';
}

/* gnuplot's text in double quotes: backslashes and quotes escaped. */
static void gp_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* The position of pts[i].x among the distinct x values, in order of first appearance. */
static size_t word_pos(const struct point *pts, size_t n, size_t i)
{
    size_t p = 0;
    for (size_t j = 0; j < n; j++) {
        bool seen = false;
        for (size_t k = 0; k < j && !seen; k++)
            seen = strcmp(pts[k].x, pts[j].x) == 0;
        if (seen)
            continue;
        if (strcmp(pts[j].x, pts[i].x) == 0)
            return p;
        p++;
    }
    return p;
}

/* Writes the gnuplot script drawing pts into file (svg, or png by its name). */
static void gp_script(FILE *f, const char *file, const char *title, const char *xkey,
                      const char *metric, const struct point *pts, size_t n, bool numeric)
{
    size_t l = strlen(file);
    bool png = l > 4 && strcmp(file + l - 4, ".png") == 0;
    fprintf(f, "set terminal %s size 900,540 font 'sans,12'%s\n",
            png ? "pngcairo" : "svg", png ? "" : " dynamic background rgb 'white'");
    fprintf(f, "set output ");
    gp_str(f, file);
    fprintf(f, "\nset title ");
    gp_str(f, title);
    fprintf(f, " noenhanced\nset xlabel ");
    gp_str(f, xkey);
    fprintf(f, " noenhanced\nset ylabel ");
    char yl[300];
    snprintf(yl, sizeof yl, "%s (mean; bars: min..max over seeds)", metric);
    gp_str(f, yl);
    fprintf(f, " noenhanced\nset grid\nset yrange [0:*]\nset key outside right top noenhanced\n"
               "set offsets graph 0.05, graph 0.05, graph 0.05, graph 0.05\n");
    size_t words = 0;
    for (size_t i = 0; !numeric && i < n; i++)
        if (word_pos(pts, n, i) + 1 > words)
            words = word_pos(pts, n, i) + 1;
    if (!numeric)
        fprintf(f, "set xrange [-0.5:%zu.5]\n", words ? words - 1 : 0);
    /* one data block per series; x is the value, or its position for words */
    size_t nseries = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || strcmp(pts[i].series, pts[i - 1].series) != 0) {
            if (i)
                fprintf(f, "EOD\n");
            fprintf(f, "$s%zu << EOD\n", nseries++);
        }
        if (numeric)
            fprintf(f, "%s", pts[i].x);
        else
            fprintf(f, "%zu", word_pos(pts, n, i));
        fprintf(f, " %.17g %.17g %.17g \"%s\"\n", pts[i].mean, pts[i].min, pts[i].max,
                pts[i].x);
    }
    if (n)
        fprintf(f, "EOD\n");
    fprintf(f, "plot ");
    size_t s = 0;
    for (size_t i = 0; i < n; i++) {
        if (i != 0 && strcmp(pts[i].series, pts[i - 1].series) == 0)
            continue;
        /* numbers: lines through the means; words: points only, nothing lies between */
        fprintf(f, "%s$s%zu using %s lw 2 pt 7 ps 1.5 title ", s ? ", " : "", s,
                numeric ? "1:2:3:4 with yerrorlines" : "1:2:3:4:xtic(5) with yerrorbars");
        gp_str(f, pts[i].series);
        s++;
    }
    fprintf(f, "\n");
}

/* Runs gnuplot on script; 0 if it drew. */
static int run_gnuplot(const char *script, FILE *err)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, script, O_RDONLY, 0);
    char *argv[] = { "gnuplot", NULL };
    pid_t pid;
    int rc = posix_spawnp(&pid, "gnuplot", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        fprintf(err, "hvsim explore --plot: cannot run gnuplot (%s): install gnuplot-nox "
                     "(scripts/install-deps.sh)\n", strerror(rc));
        return -1;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(err, "hvsim explore --plot: gnuplot failed on %s\n", script);
        return -1;
    }
    return 0;
}

int results_plot(const char *dir, const char *spec, const char *file, FILE *out, FILE *err)
{
    const char *colon = strrchr(spec, ':');
    if (!colon || colon == spec || !colon[1]) {
        fprintf(err, "hvsim explore --plot %s: expected X:METRIC (a varied key and a "
                     "--metric name)\n", spec);
        return HV_EXIT_BADINPUT;
    }
    char xkey[256], metric[256];
    snprintf(xkey, sizeof xkey, "%.*s", (int)(colon - spec), spec);
    snprintf(metric, sizeof metric, "%s", colon + 1);
    sqlite3 *db = NULL;
    int code = open_ro(dir, &db, err);
    if (code)
        return code;
    struct point *pts = NULL;
    size_t n = 0;
    sqlite3_stmt *st = NULL;
    char *name = meta_get(db, "main", "scenario_name");
    static const char q[] =
        "WITH series AS (SELECT run, group_concat(key || '=' || value, ', ') AS s"
        "  FROM (SELECT * FROM vary WHERE key <> ?1 ORDER BY run, pos) GROUP BY run)"
        " SELECT coalesce(series.s, 'all runs'), x.value, avg(m.value), min(m.value),"
        "  max(m.value), count(m.value) FROM runs r"
        " JOIN vary x ON x.run = r.run AND x.key = ?1"
        " JOIN metrics m ON m.run = r.run AND m.name = ?2 AND m.value IS NOT NULL"
        " LEFT JOIN series ON series.run = r.run"
        " GROUP BY 1, 2 ORDER BY 1, CAST(x.value AS REAL), min(r.run)";
    if (sqlite3_prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK) {
        fprintf(err, "hvsim explore --plot: %s\n", sqlite3_errmsg(db));
        code = HV_EXIT_BADINPUT;
        goto out;
    }
    sqlite3_bind_text(st, 1, xkey, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, metric, -1, SQLITE_STATIC);
    bool numeric = true;
    while (sqlite3_step(st) == SQLITE_ROW) {
        struct point *np = realloc(pts, (n + 1) * sizeof *np);
        if (!np) {
            code = HV_EXIT_BADINPUT;
            goto out;
        }
        pts = np;
        pts[n] = (struct point){
            strdup((const char *)sqlite3_column_text(st, 0)),
            strdup((const char *)sqlite3_column_text(st, 1)), sqlite3_column_double(st, 2),
            sqlite3_column_double(st, 3), sqlite3_column_double(st, 4),
            sqlite3_column_int64(st, 5),
        };
        numeric = numeric && is_number(pts[n].x);
        n++;
    }
    if (n == 0) {
        fprintf(err, "hvsim explore --plot %s: no run of %s has both a varied '%s' and a "
                     "value of metric '%s'\n", spec, dir, xkey, metric);
        code = HV_EXIT_BADINPUT;
        goto out;
    }
    /* the numbers, as CSV beside the picture */
    char csv[PATH_MAX], script[PATH_MAX + 8];
    const char *dot = strrchr(file, '.'), *slash = strrchr(file, '/');
    size_t stem = dot && (!slash || dot > slash) ? (size_t)(dot - file) : strlen(file);
    snprintf(csv, sizeof csv, "%.*s.csv", (int)stem, file);
    snprintf(script, sizeof script, "%.*s.gp", (int)stem, file);
    FILE *f = fopen(csv, "w");
    if (!f) {
        fprintf(err, "hvsim explore --plot: cannot write %s: %s\n", csv, strerror(errno));
        code = HV_EXIT_BADINPUT;
        goto out;
    }
    fprintf(f, "series,%s,mean,min,max,runs\n", xkey);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "\"%s\",%s,%.6g,%.6g,%.6g,%" PRId64 "\n", pts[i].series, pts[i].x,
                pts[i].mean, pts[i].min, pts[i].max, pts[i].n);
    fclose(f);
    if (!(f = fopen(script, "w"))) {
        fprintf(err, "hvsim explore --plot: cannot write %s: %s\n", script, strerror(errno));
        code = HV_EXIT_BADINPUT;
        goto out;
    }
    char title[600];
    snprintf(title, sizeof title, "%s: %s by %s", name ? name : "exploration", metric, xkey);
    gp_script(f, file, title, xkey, metric, pts, n, numeric);
    fclose(f);
    if (run_gnuplot(script, err)) {
        code = HV_EXIT_BADINPUT;
        goto out;
    }
    unlink(script);
    fprintf(out, "%s: %zu points (%s by %s, mean/min/max over seeds) -> %s, %s\n",
            name ? name : dir, n, metric, xkey, csv, file);
out:
    for (size_t i = 0; i < n; i++) {
        free(pts[i].series);
        free(pts[i].x);
    }
    free(pts);
    free(name);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return code;
}
