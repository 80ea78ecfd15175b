/*
 * trace_int.h - internal to trace/: the SQL text shared by the writer and the reader
 * (trace/schema.c, the only place SQL is written) and the one function that turns SQLite
 * result codes into hv_err codes. The other internal headers are chunk.h (the events in a
 * chunk), strtab.h (the string table) and tail.h (the tail file).
 *
 * Nothing outside trace/ includes this header; the public contract is trace/trace.h.
 */
#ifndef HV_TRACE_INT_H
#define HV_TRACE_INT_H

#include <sqlite3.h>
#include <stdint.h>
#include <string.h>

/*
 * The script that turns an empty database into an empty hvsim trace of HV_TRACE_VERSION:
 * PRAGMA application_id and user_version, the tables, one event_kinds row per kind of
 * events.def with its fields as JSON, and the events view. Run it inside one transaction.
 * Built on first use from the descriptors; borrowed, valid for the life of the process; NULL
 * when out of memory.
 */
const char *schema_create_script(void);

/*
 * One object of a trace file as sqlite_schema lists it: type ("table", "index", "view"),
 * name, tbl_name and the CREATE statement (NULL: an index SQLite made for a PRIMARY KEY or
 * UNIQUE constraint, which has none).
 */
struct schema_object {
    const char *type, *name, *tbl_name, *sql;
};
/*
 * Every object a file of schema `version` (1 .. HV_TRACE_VERSION) holds, and nothing else: a
 * reader refuses a file with another object or another definition (a view in place of a
 * table, a trigger). Version 3's events view has sql NULL here: its text depends on the kinds
 * the writer knew, and schema_view_sql() rebuilds it from the file's event_kinds. Borrowed.
 */
const struct schema_object *schema_objects(int version, size_t *n);

struct chunk_kind;
/*
 * The CREATE VIEW statement of version 3's events view for kinds[0 .. n-1] (index = kind id,
 * NULL name = unused id), byte for byte as a writer with those kinds stores it in
 * sqlite_schema. Caller owns the result (sqlite3_free()); NULL when out of memory.
 */
char *schema_view_sql(const struct chunk_kind *kinds, size_t n);

/* Writer statements, prepared once per writer. */
extern const char schema_sql_wal[];          /* journal_mode=WAL, synchronous=OFF */
extern const char schema_sql_unwal[];        /* back to a single-file (DELETE) journal */
extern const char schema_sql_begin[];
extern const char schema_sql_commit[];
/* ?1 seq ?2 n ?3 vm ?4 icount ?5 pc ?6 events */
extern const char schema_sql_insert_chunk[];
extern const char schema_sql_insert_string[]; /* ?1 id ?2 json */
extern const char schema_sql_set_info[];     /* ?1 key ?2 value */
extern const char schema_sql_put_blob[];     /* ?1 name ?2 data */

/* Reader statements. */
extern const char schema_sql_objects[];      /* -> type, name, tbl_name, sql of sqlite_schema */
extern const char schema_sql_app_id[];       /* one row: application_id */
extern const char schema_sql_version[];      /* one row: user_version */
extern const char schema_sql_get_info[];     /* ?1 key -> value */
extern const char schema_sql_get_blob[];     /* ?1 name -> data */
extern const char schema_sql_kinds[];        /* -> id, name of every stored kind */
extern const char schema_sql_kind_id[];      /* ?1 name -> id */
/* Version 3. */
extern const char schema_sql_kind_fields[];  /* -> id, name, field name, field type */
extern const char schema_sql_strings[];      /* ?1 first id -> id, json */
extern const char schema_sql_chunks[];       /* ?1 from ?2 to -> seq, n, vm, icount, pc, events */
extern const char schema_sql_chunk_end[];    /* -> seq after the last chunk's last event */
/* Versions 1 and 2. */
extern const char schema_sql_count_rows[];   /* -> number of event rows */
/*
 * Event query for a trace of schema `version` 1 or 2: ?1 from ?2 to (inclusive seq), and,
 * when filters asks for them, ?3 vcpu, ?4 kind id and ?5 vm. Columns: seq, vm, vcpu, icount,
 * kind id, pc, detail; a version 1 trace gives vm 0 on every row. filters is an OR of
 * SCHEMA_BY_*. Borrowed; one of 2 * SCHEMA_EVENTS_VARIANTS static strings.
 */
#define SCHEMA_BY_KIND 1u
#define SCHEMA_BY_VCPU 2u
#define SCHEMA_BY_VM   4u
#define SCHEMA_EVENTS_VARIANTS 8
const char *schema_sql_events(int version, unsigned filters);

/*
 * Converts SQLite's result code rc on db into an hv_err code and records a detail of the form
 * "PATH: WHAT: sqlite3_errmsg(db)" (db may be NULL: then sqlite3_errstr(rc)). NOMEM becomes
 * HV_ENOMEM; NOTADB and CORRUPT become HV_ETRACE; CANTOPEN, IOERR, FULL, READONLY and PERM
 * become HV_EIO; TOOBIG becomes HV_ELIMIT; INTERRUPT (a reader's query past its budget) becomes
 * HV_ETRACE; everything else is HV_ESQLITE.
 */
int trace_sqlite_error(sqlite3 *db, int rc, const char *path, const char *what);

/*
 * u64 columns (icount, pc) hold the same 64 bits as an SQLite integer (int64): values at or
 * above 2^63 read as negative in SQL. These convert bit for bit, both ways.
 */
static inline int64_t trace_i64_of_u64(uint64_t v)
{
    int64_t r;
    memcpy(&r, &v, sizeof r);
    return r;
}

static inline uint64_t trace_u64_of_i64(int64_t v)
{
    uint64_t r;
    memcpy(&r, &v, sizeof r);
    return r;
}

#endif
