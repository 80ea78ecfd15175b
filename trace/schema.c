/*
 * schema.c - every SQL statement of a trace file, and the creation script built once from
 * events.def.
 *
 * Version 3 (what the writer creates) keeps the events in event_chunks, a few thousand events
 * per row as a JSON array of integers (trace/chunk.h), with the texts of str, hex and json
 * values stored once in event_strings. The `events` view turns them back into one row per
 * event in plain SQL: json_each() walks each chunk, and the detail is built by concatenating
 * the kind's keys with each value's text (the number itself, printf('"0x%x"', ...) for an
 * address, true/false for a bool, the event_strings text for the rest), which gives back
 * byte for byte what hv_event_encode() wrote. The view, and the event_kinds rows (id, name,
 * doc and a JSON array of fields [{"name":..,"type":..,"doc":..}, ...]), are generated from
 * the descriptors (hv_kind_desc()), never written out by hand: a kind or field added to
 * events.def appears in every new trace with no other edit. docs/trace-format.md explains
 * the tables.
 *
 * A reader accepts a file only when its sqlite_schema holds exactly the objects of its version,
 * with these CREATE texts (schema_objects(); version 3's view rebuilt by schema_view_sql()
 * from the file's own kinds): a hostile file cannot put a view that never ends, a trigger or
 * a generated column in the way of a query.
 *
 * Older versions are read, never written: version 2 has event_rows(seq, vm, vcpu, icount,
 * kind, pc, detail), one row per event with its detail text; version 1 the same without vm
 * (the reader's queries read 0 in its place, schema_sql_events).
 *
 * u64 columns (icount, pc) are stored as SQLite integers holding the same 64 bits read as
 * int64: values at or above 2^63 appear negative in SQL, and printf('0x%x', pc) prints them
 * as the unsigned hex address. Readers convert back bit for bit.
 */
#include "trace/trace_int.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "sim/hv_err.h"
#include "trace/chunk.h"
#include "trace/event.h"
#include "trace/trace.h"

/* The tables of each version, as sqlite_schema stores their CREATE statements: the writer runs
 * these texts, and the reader requires a file's objects to be exactly these (schema_objects()). */
#define SCHEMA_RUN_INFO "CREATE TABLE run_info(key TEXT PRIMARY KEY, value)"
#define SCHEMA_BLOBS    "CREATE TABLE blobs(name TEXT PRIMARY KEY, data BLOB NOT NULL)"
#define SCHEMA_EVENT_KINDS                                                                   \
    "CREATE TABLE event_kinds(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL,\n"          \
    "                         doc TEXT NOT NULL, fields TEXT NOT NULL)"
#define SCHEMA_EVENT_STRINGS                                                                 \
    "CREATE TABLE event_strings(id INTEGER PRIMARY KEY, json TEXT NOT NULL)"
#define SCHEMA_EVENT_CHUNKS                                                                  \
    "CREATE TABLE event_chunks(seq INTEGER PRIMARY KEY, n INTEGER NOT NULL,\n"               \
    "                          vm INTEGER NOT NULL, icount INTEGER NOT NULL,\n"              \
    "                          pc INTEGER NOT NULL, events TEXT NOT NULL)"

static const char schema_tables[] =
    SCHEMA_RUN_INFO ";\n" SCHEMA_BLOBS ";\n" SCHEMA_EVENT_KINDS ";\n" SCHEMA_EVENT_STRINGS ";\n"
    SCHEMA_EVENT_CHUNKS ";\n";

/* What versions 1 and 2 created (read, never written). */
#define SCHEMA_V1_ROWS                                                                       \
    "CREATE TABLE event_rows(seq INTEGER PRIMARY KEY, vcpu INTEGER NOT NULL,\n"              \
    "                        icount INTEGER NOT NULL,\n"                                     \
    "                        kind INTEGER NOT NULL REFERENCES event_kinds(id),\n"            \
    "                        pc INTEGER NOT NULL, detail TEXT NOT NULL)"
#define SCHEMA_V1_VIEW                                                                       \
    "CREATE VIEW events(seq, vcpu, icount, kind, pc, detail) AS\n"                           \
    "    SELECT r.seq, r.vcpu, r.icount, k.name, r.pc, r.detail\n"                           \
    "    FROM event_rows AS r JOIN event_kinds AS k ON k.id = r.kind ORDER BY r.seq"
#define SCHEMA_V2_ROWS                                                                       \
    "CREATE TABLE event_rows(seq INTEGER PRIMARY KEY, vm INTEGER NOT NULL DEFAULT 0,\n"      \
    "                        vcpu INTEGER NOT NULL, icount INTEGER NOT NULL,\n"              \
    "                        kind INTEGER NOT NULL REFERENCES event_kinds(id),\n"            \
    "                        pc INTEGER NOT NULL, detail TEXT NOT NULL)"
#define SCHEMA_V2_VIEW                                                                       \
    "CREATE VIEW events(seq, vm, vcpu, icount, kind, pc, detail) AS\n"                       \
    "    SELECT r.seq, r.vm, r.vcpu, r.icount, k.name, r.pc, r.detail\n"                     \
    "    FROM event_rows AS r JOIN event_kinds AS k ON k.id = r.kind ORDER BY r.seq"

/* The objects every version has; SQLite's indexes for PRIMARY KEY and UNIQUE have no SQL. */
#define SCHEMA_COMMON_OBJECTS                                                                \
    { "table", "run_info", "run_info", SCHEMA_RUN_INFO },                                    \
    { "index", "sqlite_autoindex_run_info_1", "run_info", NULL },                            \
    { "table", "blobs", "blobs", SCHEMA_BLOBS },                                             \
    { "index", "sqlite_autoindex_blobs_1", "blobs", NULL },                                  \
    { "table", "event_kinds", "event_kinds", SCHEMA_EVENT_KINDS },                           \
    { "index", "sqlite_autoindex_event_kinds_1", "event_kinds", NULL }
#define SCHEMA_ROWS_INDEXES                                                                  \
    { "index", "event_rows_vcpu", "event_rows",                                              \
      "CREATE INDEX event_rows_vcpu ON event_rows(vcpu)" },                                  \
    { "index", "event_rows_kind", "event_rows",                                              \
      "CREATE INDEX event_rows_kind ON event_rows(kind)" }

static const struct schema_object schema_v1[] = {
    SCHEMA_COMMON_OBJECTS,
    { "table", "event_rows", "event_rows", SCHEMA_V1_ROWS },
    { "view", "events", "events", SCHEMA_V1_VIEW },
    SCHEMA_ROWS_INDEXES,
};
static const struct schema_object schema_v2[] = {
    SCHEMA_COMMON_OBJECTS,
    { "table", "event_rows", "event_rows", SCHEMA_V2_ROWS },
    { "view", "events", "events", SCHEMA_V2_VIEW },
    SCHEMA_ROWS_INDEXES,
};
/* The events view's SQL depends on the kinds the writer knew: schema_view_sql(). */
static const struct schema_object schema_v3[] = {
    SCHEMA_COMMON_OBJECTS,
    { "table", "event_strings", "event_strings", SCHEMA_EVENT_STRINGS },
    { "table", "event_chunks", "event_chunks", SCHEMA_EVENT_CHUNKS },
    { "view", "events", "events", NULL },
};

const struct schema_object *schema_objects(int version, size_t *n)
{
    assert(version >= 1 && version <= HV_TRACE_VERSION);
    static const struct { const struct schema_object *o; size_t n; } v[] = {
        { schema_v1, sizeof schema_v1 / sizeof schema_v1[0] },
        { schema_v2, sizeof schema_v2 / sizeof schema_v2[0] },
        { schema_v3, sizeof schema_v3 / sizeof schema_v3[0] },
    };
    *n = v[version - 1].n;
    return v[version - 1].o;
}

/* Recording: WAL, so that readers see every commit while the file grows, and no fsync (the
 * tail file covers a killed process; docs/trace-format.md says what a machine crash may cost). */
const char schema_sql_wal[] = "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;";
const char schema_sql_unwal[] = "PRAGMA journal_mode=DELETE;";
const char schema_sql_begin[] = "BEGIN";
const char schema_sql_commit[] = "COMMIT";
const char schema_sql_insert_chunk[] =
    "INSERT INTO event_chunks(seq, n, vm, icount, pc, events) VALUES(?1, ?2, ?3, ?4, ?5, ?6)";
const char schema_sql_insert_string[] = "INSERT INTO event_strings(id, json) VALUES(?1, ?2)";
const char schema_sql_set_info[] = "INSERT OR REPLACE INTO run_info(key, value) VALUES(?1, ?2)";
const char schema_sql_put_blob[] = "INSERT OR REPLACE INTO blobs(name, data) VALUES(?1, ?2)";

const char schema_sql_objects[] = "SELECT type, name, tbl_name, sql FROM sqlite_schema";
const char schema_sql_app_id[] = "PRAGMA application_id";
const char schema_sql_version[] = "PRAGMA user_version";
const char schema_sql_get_info[] = "SELECT value FROM run_info WHERE key = ?1";
const char schema_sql_get_blob[] = "SELECT data FROM blobs WHERE name = ?1";
const char schema_sql_kinds[] = "SELECT id, name FROM event_kinds ORDER BY id";
const char schema_sql_kind_id[] = "SELECT id FROM event_kinds WHERE name = ?1";
/* Every kind with its fields in order; a kind without fields gives one row of NULLs. */
const char schema_sql_kind_fields[] =
    "SELECT k.id, k.name, f.value ->> 'name', f.value ->> 'type' FROM event_kinds AS k"
    " LEFT JOIN json_each(k.fields) AS f ORDER BY k.id, f.key";
const char schema_sql_strings[] = "SELECT id, json FROM event_strings WHERE id >= ?1 ORDER BY id";
/* The chunks holding seq ?1 .. ?2: from the last one that starts at or before ?1. */
const char schema_sql_chunks[] =
    "SELECT seq, n, vm, icount, pc, events FROM event_chunks"
    " WHERE seq >= coalesce((SELECT max(seq) FROM event_chunks WHERE seq <= ?1), 0)"
    " AND seq <= ?2 ORDER BY seq";
const char schema_sql_chunk_end[] =
    "SELECT coalesce((SELECT seq + n FROM event_chunks ORDER BY seq DESC LIMIT 1), 0)";
const char schema_sql_count_rows[] = "SELECT count(*) FROM event_rows";

/*
 * Versions 1 and 2: a version 1 trace has no vm column: its queries select 0 in its place (a
 * version 1 run had one VM), and the vm filter compares ?5 with that 0.
 */
#define SCHEMA_EVENTS_(vm, where)                                                            \
    "SELECT seq, " vm ", vcpu, icount, kind, pc, detail FROM event_rows"                   \
    " WHERE seq BETWEEN ?1 AND ?2" where " ORDER BY seq"
#define SCHEMA_EVENTS_VERSION_(vm)                                                           \
    { SCHEMA_EVENTS_(vm, ""),                                                                \
      SCHEMA_EVENTS_(vm, " AND kind = ?4"),                                                  \
      SCHEMA_EVENTS_(vm, " AND vcpu = ?3"),                                                  \
      SCHEMA_EVENTS_(vm, " AND vcpu = ?3 AND kind = ?4"),                                    \
      SCHEMA_EVENTS_(vm, " AND " vm " = ?5"),                                                \
      SCHEMA_EVENTS_(vm, " AND " vm " = ?5 AND kind = ?4"),                                  \
      SCHEMA_EVENTS_(vm, " AND " vm " = ?5 AND vcpu = ?3"),                                  \
      SCHEMA_EVENTS_(vm, " AND " vm " = ?5 AND vcpu = ?3 AND kind = ?4") }

const char *schema_sql_events(int version, unsigned filters)
{
    static const char *const sql[2][SCHEMA_EVENTS_VARIANTS] = {
        SCHEMA_EVENTS_VERSION_("0"),    /* version 1 */
        SCHEMA_EVENTS_VERSION_("vm"),   /* version 2 */
    };
    assert(version >= 1 && version <= 2 && filters < SCHEMA_EVENTS_VARIANTS);
    return sql[version >= 2][filters];
}

/* Appends s as a JSON string literal to str (hv_json_str does the escaping). 0 or HV_ENOMEM. */
static int schema_json_str(sqlite3_str *str, const char *s)
{
    char small[256];
    char *buf = small;
    size_t len = 0;
    hv_json_str(buf, sizeof small, &len, s);
    if (len >= sizeof small) {
        size_t size = len + 1;
        buf = malloc(size);
        if (!buf)
            return HV_ENOMEM;
        len = 0;
        hv_json_str(buf, size, &len, s);
    }
    sqlite3_str_append(str, buf, (int)len);
    if (buf != small)
        free(buf);
    return 0;
}

/* The fields of kind kd as a JSON array: [{"name":..,"type":..,"doc":..}, ...]. */
static int schema_fields_json(sqlite3_str *str, const struct hv_kind_desc *kd)
{
    int err = 0;
    sqlite3_str_appendall(str, "[");
    for (size_t i = 0; i < kd->nfields && !err; i++) {
        const struct hv_field_desc *f = &kd->fields[i];
        sqlite3_str_appendall(str, i ? ",{\"name\":" : "{\"name\":");
        err = schema_json_str(str, f->name);
        sqlite3_str_appendall(str, ",\"type\":");
        err = err ? err : schema_json_str(str, chunk_type_name(f->type));
        sqlite3_str_appendall(str, ",\"doc\":");
        err = err ? err : schema_json_str(str, f->doc);
        sqlite3_str_appendall(str, "}");
    }
    sqlite3_str_appendall(str, "]");
    return err;
}

/* The SQL of a field's value in the view: e is the json_each row of its element. */
static void schema_view_value(sqlite3_str *str, enum hv_field_type t, size_t member)
{
    switch (t) {
    case HV_FIELD_U64:
    case HV_FIELD_I64:
        sqlite3_str_appendf(str, "(e.value -> %d)", (int)member);
        break;
    case HV_FIELD_ADDR:
        sqlite3_str_appendf(str, "printf('\"0x%%x\"', e.value ->> %d)", (int)member);
        break;
    case HV_FIELD_BOOL:
        sqlite3_str_appendf(str, "iif(e.value ->> %d, 'true', 'false')", (int)member);
        break;
    case HV_FIELD_STR:
    case HV_FIELD_HEX:
    case HV_FIELD_JSON:
        sqlite3_str_appendf(str, "coalesce((SELECT s.json FROM event_strings AS s"
                                 " WHERE s.id = e.value ->> %d), 'null')", (int)member);
        break;
    }
}

/*
 * The events view for the kinds kinds[0 .. n-1] (the index is the kind id; a NULL name is an
 * id not in use): one row per element of each chunk, in chunk and array order (a scan of
 * event_chunks by seq; the view adds no ORDER BY, which would sort every query). The kind
 * name and the detail are CASEs on the element's kind id, one branch per kind. The statement
 * ends without ';', as sqlite_schema stores it.
 */
static void schema_view(sqlite3_str *str, const struct chunk_kind *kinds, size_t n)
{
    sqlite3_str_appendall(str,
        "CREATE VIEW events(seq, vm, vcpu, icount, kind, pc, detail) AS\n"
        "SELECT c.seq + e.key, c.vm, e.value ->> 1, c.icount + (e.value ->> 2),\n"
        "  CASE e.value ->> 0");
    for (size_t k = 0; k < n; k++)
        if (kinds[k].name)
            sqlite3_str_appendf(str, " WHEN %d THEN %Q", (int)k, kinds[k].name);
    sqlite3_str_appendall(str, " END,\n  c.pc + (e.value ->> 3),\n  CASE e.value ->> 0\n");
    for (size_t k = 0; k < n; k++) {
        const struct chunk_kind *kd = &kinds[k];
        if (!kd->name)
            continue;
        sqlite3_str_appendf(str, "  WHEN %d THEN ", (int)k);
        if (!kd->nfields)
            sqlite3_str_appendall(str, "'{}'");
        for (size_t i = 0; i < kd->nfields; i++) {
            /* the key text exactly as the decoder writes it */
            sqlite3_str_appendf(str, "%s%Q || ", i ? " || " : "", kd->fields[i].key);
            schema_view_value(str, kd->fields[i].type, 4 + i);
        }
        sqlite3_str_appendall(str, kd->nfields ? " || '}'\n" : "\n");
    }
    sqlite3_str_appendall(str, "  END\nFROM event_chunks AS c, json_each(c.events) AS e");
}

char *schema_view_sql(const struct chunk_kind *kinds, size_t n)
{
    sqlite3_str *str = sqlite3_str_new(NULL);
    schema_view(str, kinds, n);
    if (sqlite3_str_errcode(str) != SQLITE_OK) {
        sqlite3_free(sqlite3_str_finish(str));
        return NULL;
    }
    return sqlite3_str_finish(str);
}

/* This build's kinds as a file declares them, for the view. 0 or HV_ENOMEM. */
static int schema_build_kinds(struct chunk_kind kinds[HV_EV__COUNT])
{
    for (int k = 0; k < HV_EV__COUNT; k++) {
        const struct hv_kind_desc *kd = hv_kind_desc((enum hv_ev_kind)k);
        if (!(kinds[k].name = strdup(kd->name)))
            return HV_ENOMEM;
        for (size_t i = 0; i < kd->nfields; i++) {
            int err = chunk_kind_add_field(&kinds[k], kd->fields[i].name,
                                           chunk_type_name(kd->fields[i].type));
            if (err)
                return err;
        }
    }
    return 0;
}

const char *schema_create_script(void)
{
    /* Built once; kept for the life of the process (one host thread runs hvsim). */
    static char *script;
    if (script)
        return script;

    struct chunk_kind kinds[HV_EV__COUNT];
    memset(kinds, 0, sizeof kinds);
    sqlite3_str *str = sqlite3_str_new(NULL);
    sqlite3_str *fields = sqlite3_str_new(NULL);
    int err = 0;
    sqlite3_str_appendf(str, "PRAGMA application_id = %d;\nPRAGMA user_version = %d;\n",
                        (int)HV_TRACE_APP_ID, HV_TRACE_VERSION);
    sqlite3_str_appendall(str, schema_tables);
    for (int k = 0; k < HV_EV__COUNT; k++) {
        const struct hv_kind_desc *kd = hv_kind_desc((enum hv_ev_kind)k);
        sqlite3_str_reset(fields);
        err = schema_fields_json(fields, kd);
        if (err || sqlite3_str_errcode(fields))
            goto out;
        /* %Q quotes for SQL; the JSON text inside is already escaped for JSON. */
        sqlite3_str_appendf(str,
                            "INSERT INTO event_kinds(id, name, doc, fields) "
                            "VALUES(%d, %Q, %Q, %Q);\n",
                            k, kd->name, kd->doc, sqlite3_str_value(fields));
    }
    if ((err = schema_build_kinds(kinds)))
        goto out;
    schema_view(str, kinds, HV_EV__COUNT);
    sqlite3_str_appendall(str, ";\n");
out:
    if (!err && sqlite3_str_errcode(fields) == SQLITE_OK && sqlite3_str_errcode(str) == SQLITE_OK)
        script = sqlite3_str_finish(str);
    else
        sqlite3_free(sqlite3_str_finish(str));
    sqlite3_free(sqlite3_str_finish(fields));
    for (int k = 0; k < HV_EV__COUNT; k++)
        chunk_kind_fini(&kinds[k]);
    return script;
}

int trace_sqlite_error(sqlite3 *db, int rc, const char *path, const char *what)
{
    const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    int err;
    switch (rc & 0xff) {
    case SQLITE_NOMEM: err = HV_ENOMEM; break;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT: err = HV_ETRACE; break;
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_PERM: err = HV_EIO; break;
    case SQLITE_TOOBIG: err = HV_ELIMIT; break;
    case SQLITE_INTERRUPT:
        /* only the reader's progress handler interrupts (trace/reader.c) */
        err = HV_ETRACE;
        msg = "a query ran past its budget (the trace is damaged or hostile)";
        break;
    default: err = HV_ESQLITE; break;
    }
    return hv_error_set(err, "%s: %s: %s", path, what, msg);
}
