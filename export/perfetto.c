/*
 * perfetto.c - a timeline as Chrome trace-event JSON (the "JSON Object Format" of the Trace
 * Event Format that ui.perfetto.dev and chrome://tracing read).
 *
 * pid = VM + 1, tid = vCPU + 1, the VMM track tid 1000, the migration track tid 1001; ts and
 * dur are run-clock instructions (shown as microseconds). Slices are "X" events, instants
 * "i" events of thread scope, flows an "s" event at the start item and an "f" event (binding
 * point "e": the enclosing slice) at the end item, sharing an id.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/export.h"
#include "sim/hv_err.h"
#include "trace/event.h"
#include "trace/json.h"

enum { TID_VMM = 1000, TID_MIG = 1001 };

static int tid_of(int32_t track)
{
    return track == TL_TRACK_VMM ? TID_VMM : track == TL_TRACK_MIG ? TID_MIG : track + 1;
}

static void put(void *ctx, const char *p, size_t len)
{
    fwrite(p, 1, len, ctx);
}

/* s as a JSON string, strict UTF-8 */
static void put_str(FILE *out, const char *s)
{
    size_t size = strlen(s) * 6 + 3, l = 0;
    char buf[1024], *b = size <= sizeof buf ? buf : malloc(size);
    if (!b) {
        fputs("\"\"", out);
        return;
    }
    hv_json_str(b, size, &l, s);
    json_utf8(b, l, put, out);
    if (b != buf)
        free(b);
}

static void meta(FILE *out, bool *first, const char *what, int pid, int tid, const char *key,
                 const char *name, long sort)
{
    fprintf(out, "%s\n{\"ph\":\"M\",\"name\":\"%s\",\"pid\":%d,\"tid\":%d,\"ts\":0,\"args\":{\"%s\":",
            *first ? "" : ",", what, pid, tid, key);
    if (name)
        put_str(out, name);
    else
        fprintf(out, "%ld", sort);
    fputs("}}", out);
    *first = false;
}

static void head(FILE *out, bool *first, const char *ph, const struct tl_item *it)
{
    fprintf(out, "%s\n{\"ph\":\"%s\",\"pid\":%" PRIu32 ",\"tid\":%d,\"ts\":%" PRIu64,
            *first ? "" : ",", ph, it->vm + 1, tid_of(it->track), it->ts);
    *first = false;
}

int export_perfetto(const struct timeline *tl, FILE *out)
{
    bool first = true;
    fputs("{\"displayTimeUnit\":\"ns\",\"otherData\":{\"clock\":\"instructions retired by "
          "all vCPUs (1 instruction = 1 us)\",\"scenario\":",
          out);
    put_str(out, tl->scenario ? tl->scenario : "");
    fputs("},\"traceEvents\":[", out);
    for (uint32_t vm = 0; vm < tl->nvms; vm++) {
        char name[96];
        snprintf(name, sizeof name, "VM %" PRIu32 "%s", vm,
                 vm > 0 ? " (migration destination)"
                        : tl->vms[vm].migrates_out ? " (migration source)" : "");
        meta(out, &first, "process_name", (int)vm + 1, 0, "name", name, 0);
        meta(out, &first, "process_sort_index", (int)vm + 1, 0, "sort_index", NULL, vm);
        for (uint32_t v = 0; v < tl->vms[vm].nr_vcpus; v++) {
            timeline_track_name((int32_t)v, name, sizeof name);
            meta(out, &first, "thread_name", (int)vm + 1, (int)v + 1, "name", name, 0);
            meta(out, &first, "thread_sort_index", (int)vm + 1, (int)v + 1, "sort_index", NULL,
                 v);
        }
        meta(out, &first, "thread_name", (int)vm + 1, TID_VMM, "name", "VMM (host)", 0);
        meta(out, &first, "thread_sort_index", (int)vm + 1, TID_VMM, "sort_index", NULL,
             TID_VMM);
        meta(out, &first, "thread_name", (int)vm + 1, TID_MIG, "name", "migration", 0);
        meta(out, &first, "thread_sort_index", (int)vm + 1, TID_MIG, "sort_index", NULL,
             TID_MIG);
    }
    for (size_t i = 0; i < tl->nitems; i++) {
        const struct tl_item *it = &tl->items[i];
        if (!timeline_shown(tl, i))
            continue;
        head(out, &first, it->type == TL_SLICE ? "X" : "i", it);
        if (it->type == TL_SLICE)
            fprintf(out, ",\"dur\":%" PRIu64, it->dur);
        else
            fputs(",\"s\":\"t\"", out);
        fprintf(out, ",\"cat\":\"%s\",\"name\":", it->kind);
        put_str(out, it->name);
        fputs(",\"args\":", out);
        json_utf8(it->args, strlen(it->args), put, out);
        fputc('}', out);
    }
    for (size_t i = 0; i < tl->nflows; i++) {
        const struct tl_flow *f = &tl->flows[i];
        if (!timeline_shown(tl, f->from) || !timeline_shown(tl, f->to))
            continue;
        head(out, &first, "s", &tl->items[f->from]);
        fprintf(out, ",\"id\":%" PRIu64 ",\"cat\":\"flow\",\"name\":\"%s\"}", f->id, f->what);
        head(out, &first, "f", &tl->items[f->to]);
        fprintf(out, ",\"id\":%" PRIu64 ",\"bp\":\"e\",\"cat\":\"flow\",\"name\":\"%s\"}", f->id,
                f->what);
    }
    fputs("\n]}\n", out);
    return ferror(out) ? HV_EIO : 0;
}
