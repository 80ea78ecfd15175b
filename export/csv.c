/*
 * csv.c - a trace as CSV (RFC 4180): one row per event, the columns seq, vm, vcpu, icount,
 * kind, pc, then one per detail key: the union of the keys of the kinds the trace holds, in
 * events.def order (a key two kinds share is one column). A field holding a comma, a quote
 * or a line break is quoted, its quotes doubled; a nested value (a list, an object) is its
 * JSON text; true and false are written as such; an absent key is an empty field.
 */
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/export.h"
#include "sim/hv_err.h"
#include "trace/event.h"
#include "trace/trace.h"

static void put_field(FILE *out, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

/* The detail keys of the kinds in present[], in events.def order, each once. */
static size_t columns(const bool *present, const char **cols, size_t max)
{
    size_t n = 0;
    for (int k = 0; k < HV_EV__COUNT; k++) {
        if (!present[k])
            continue;
        const struct hv_kind_desc *kd = hv_kind_desc(k);
        for (size_t f = 0; f < kd->nfields; f++) {
            size_t j = 0;
            while (j < n && strcmp(cols[j], kd->fields[f].name) != 0)
                j++;
            if (j == n && n < max)
                cols[n++] = kd->fields[f].name;
        }
    }
    return n;
}

static int kinds_present(struct trace_reader *r, uint64_t from, uint64_t to, bool *present)
{
    struct hv_event ev;
    int got, err = trace_reader_events_begin(r, NULL);
    while (!err && (got = trace_reader_events_next(r, &ev)) != 0) {
        if (got < 0)
            return got;
        if (ev.seq >= from && ev.seq <= to)
            present[ev.kind] = true;
    }
    return err;
}

int export_csv(const char *trace, uint64_t from, uint64_t to, FILE *out)
{
    struct trace_reader *r = NULL;
    sqlite3 *db = NULL;
    sqlite3_stmt *each = NULL;
    bool present[HV_EV__COUNT] = { false };
    const char *cols[512];
    char **vals = NULL;
    int err = trace_reader_open(&r, trace);
    if (!err)
        err = kinds_present(r, from, to, present);
    size_t ncols = err ? 0 : columns(present, cols, sizeof cols / sizeof cols[0]);
    if (!err && (sqlite3_open(":memory:", &db) != SQLITE_OK ||
                 sqlite3_prepare_v2(db,
                                    "SELECT key, CASE type WHEN 'true' THEN 'true' WHEN 'false' "
                                    "THEN 'false' ELSE value END FROM json_each(?1)",
                                    -1, &each, NULL) != SQLITE_OK ||
                 !(vals = calloc(ncols + 1, sizeof *vals))))
        err = HV_ENOMEM;
    if (!err) {
        fputs("seq,vm,vcpu,icount,kind,pc", out);
        for (size_t c = 0; c < ncols; c++) {
            fputc(',', out);
            put_field(out, cols[c]);
        }
        fputs("\r\n", out);
        err = trace_reader_events_begin(r, NULL);
    }
    struct hv_event ev;
    int got;
    while (!err && (got = trace_reader_events_next(r, &ev)) != 0) {
        if (got < 0) {
            err = got;
            break;
        }
        if (ev.seq < from || ev.seq > to)
            continue;
        fprintf(out, "%" PRIu64 ",%" PRIu32 ",%" PRId32 ",%" PRIu64 ",%s,0x%" PRIx64, ev.seq,
                ev.vm, ev.vcpu, ev.icount, hv_kind_desc(ev.kind)->name, ev.pc);
        sqlite3_reset(each);
        sqlite3_bind_text(each, 1, ev.detail ? ev.detail : "{}", ev.detail ? (int)ev.detail_len : -1,
                          SQLITE_STATIC);
        while (sqlite3_step(each) == SQLITE_ROW) {
            const char *key = (const char *)sqlite3_column_text(each, 0);
            const char *val = (const char *)sqlite3_column_text(each, 1);
            for (size_t c = 0; key && c < ncols; c++)
                if (strcmp(cols[c], key) == 0 && !vals[c])
                    vals[c] = strdup(val ? val : "");
        }
        for (size_t c = 0; c < ncols; c++) {
            fputc(',', out);
            if (vals[c])
                put_field(out, vals[c]);
            free(vals[c]);
            vals[c] = NULL;
        }
        fputs("\r\n", out);
    }
    free(vals);
    sqlite3_finalize(each);
    sqlite3_close(db);
    trace_reader_close(r);
    if (!err && ferror(out))
        err = HV_EIO;
    return err;
}
