/*
 * schema.c - every SQL statement of a trace file, and the creation script built once from
 * events.def.
 *
 * The tables are fixed; what events.def contributes is the event_kinds table: one row per
 * kind, id = enum hv_ev_kind, with its doc and a JSON array of its fields
 * [{"name":..,"type":..,"doc":..}, ...] in events.def order. The script is generated from the
 * descriptors (hv_kind_desc()), never written out by hand, so a kind added to events.def
 * appears in every new trace with no other edit. docs/trace-format.md explains the tables.
 *
 * Schema version 2 added event_rows.vm (after seq: the VM, then its vCPU). A version 1 trace
 * has no such column; the reader's event queries read 0 in its place (schema_sql_events).
 *
 * u64 columns (icount, pc) are stored as SQLite integers holding the same 64 bits read as
 * int64: values at or above 2^63 appear negative in SQL, and printf('0x%x', pc) prints them
 * as the unsigned hex address. Readers convert back bit for bit.
 */
#include "trace/trace_int.h"

#include <assert.h>
#include <stdlib.h>

#include "sim/hv_err.h"
#include "trace/event.h"
#include "trace/trace.h"

static const char schema_tables[] =
    "CREATE TABLE run_info(key TEXT PRIMARY KEY, value);\n"
    "CREATE TABLE blobs(name TEXT PRIMARY KEY, data BLOB NOT NULL);\n"
    "CREATE TABLE event_kinds(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL,\n"
    "                         doc TEXT NOT NULL, fields TEXT NOT NULL);\n"
    "CREATE TABLE event_rows(seq INTEGER PRIMARY KEY, vm INTEGER NOT NULL DEFAULT 0,\n"
    "                        vcpu INTEGER NOT NULL, icount INTEGER NOT NULL,\n"
    "                        kind INTEGER NOT NULL REFERENCES event_kinds(id),\n"
    "                        pc INTEGER NOT NULL, detail TEXT NOT NULL);\n"
    /* ORDER BY: without it `SELECT * FROM events LIMIT 10` may walk an index and list the
     * events grouped by kind. Filters on the view still use the indexes. */
    "CREATE VIEW events(seq, vm, vcpu, icount, kind, pc, detail) AS\n"
    "    SELECT r.seq, r.vm, r.vcpu, r.icount, k.name, r.pc, r.detail\n"
    "    FROM event_rows AS r JOIN event_kinds AS k ON k.id = r.kind ORDER BY r.seq;\n";

const char schema_sql_wal[] = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;";
const char schema_sql_unwal[] = "PRAGMA journal_mode=DELETE;";
/*
 * seq is the rowid, so each index is ordered by (column, seq): `show --vcpu/--kind` walks one
 * index in seq order without sorting. Maintaining both while recording would double the cost
 * of an event insert (measured ~0.9 -> ~1.8 us), so the writer builds them when the run ends;
 * a trace cut short by a crash has none, and filters on it scan event_rows instead.
 */
const char schema_sql_indexes[] =
    "CREATE INDEX IF NOT EXISTS event_rows_vcpu ON event_rows(vcpu);\n"
    "CREATE INDEX IF NOT EXISTS event_rows_kind ON event_rows(kind);\n";
const char schema_sql_begin[] = "BEGIN";
const char schema_sql_commit[] = "COMMIT";
const char schema_sql_insert_event[] =
    "INSERT INTO event_rows(seq, vm, vcpu, icount, kind, pc, detail)"
    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)";
const char schema_sql_set_info[] = "INSERT OR REPLACE INTO run_info(key, value) VALUES(?1, ?2)";
const char schema_sql_put_blob[] = "INSERT OR REPLACE INTO blobs(name, data) VALUES(?1, ?2)";

const char schema_sql_app_id[] = "PRAGMA application_id";
const char schema_sql_version[] = "PRAGMA user_version";
const char schema_sql_get_info[] = "SELECT value FROM run_info WHERE key = ?1";
const char schema_sql_get_blob[] = "SELECT data FROM blobs WHERE name = ?1";
const char schema_sql_count[] = "SELECT count(*) FROM event_rows";
const char schema_sql_kinds[] = "SELECT id, name FROM event_kinds ORDER BY id";
const char schema_sql_kind_id[] = "SELECT id FROM event_kinds WHERE name = ?1";

/*
 * A version 1 trace has no vm column: its queries select 0 in its place (a version 1 run had one
 * VM), and the vm filter compares ?5 with that 0.
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
    assert(version >= 1 && version <= HV_TRACE_VERSION && filters < SCHEMA_EVENTS_VARIANTS);
    return sql[version >= 2][filters];
}

/* Field type names as stored in event_kinds.fields and listed in docs/trace-format.md. */
static const char *const schema_type_names[] = {
    [HV_FIELD_U64] = "u64",   [HV_FIELD_I64] = "i64",   [HV_FIELD_ADDR] = "addr",
    [HV_FIELD_STR] = "str",   [HV_FIELD_BOOL] = "bool", [HV_FIELD_HEX] = "hex",
    [HV_FIELD_JSON] = "json",
};

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
        err = err ? err : schema_json_str(str, schema_type_names[f->type]);
        sqlite3_str_appendall(str, ",\"doc\":");
        err = err ? err : schema_json_str(str, f->doc);
        sqlite3_str_appendall(str, "}");
    }
    sqlite3_str_appendall(str, "]");
    return err;
}

const char *schema_create_script(void)
{
    /* Built once; kept for the life of the process (one host thread runs hvsim). */
    static char *script;
    if (script)
        return script;

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
out:
    if (!err && sqlite3_str_errcode(fields) == SQLITE_OK && sqlite3_str_errcode(str) == SQLITE_OK)
        script = sqlite3_str_finish(str);
    else
        sqlite3_free(sqlite3_str_finish(str));
    sqlite3_free(sqlite3_str_finish(fields));
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
    default: err = HV_ESQLITE; break;
    }
    return hv_error_set(err, "%s: %s: %s", path, what, msg);
}
