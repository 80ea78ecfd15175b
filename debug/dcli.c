/*
 * dcli.c - `hvsim state` and `hvsim blame` (dcli.h): argument parsing and output over the
 * re-execution cursor (cursor.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "debug/cursor.h"
#include "debug/dcli.h"
#include "debug/srcline.h"
#include "runner/runner.h"
#include "trace/trace.h"

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!s || !*s || *s == '-')
        return -1;
    *out = strtoull(s, &end, 0);
    return errno || *end ? -1 : 0;
}

struct args {
    const char *trace;
    bool has_at, json, gva, has_vcpu, has_mem;
    uint64_t at, vcpu, addr, len;
};

/* Parses the options of `state` or `blame` (cmd). */
static int parse(const char *cmd, int argc, char **argv, struct args *a)
{
    memset(a, 0, sizeof *a);
    a->len = 1;
    bool state = strcmp(cmd, "state") == 0;
    for (int i = 0; i < argc; i++) {
        const char *o = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(o, "--at") == 0 && !parse_u64(v, &a->at)) {
            a->has_at = true;
            i++;
        } else if (strcmp(o, "--vcpu") == 0 && !parse_u64(v, &a->vcpu)) {
            a->has_vcpu = true;
            i++;
        } else if (state && strcmp(o, "--json") == 0) {
            a->json = true;
        } else if (state && strcmp(o, "--gva") == 0) {
            a->gva = true;
        } else if (state && strcmp(o, "--mem") == 0 && v) {
            char *colon = strchr(v, ':');
            if (!colon)
                goto bad;
            *colon = 0;
            int bad = parse_u64(v, &a->addr) || parse_u64(colon + 1, &a->len);
            *colon = ':';
            if (bad || !a->len || a->len > 65536)
                goto bad;
            a->has_mem = true;
            i++;
        } else if (!state && (strcmp(o, "--gpa") == 0 || strcmp(o, "--gva") == 0) &&
                   !parse_u64(v, &a->addr)) {
            a->has_mem = true;
            a->gva = o[3] == 'v';
            i++;
        } else if (!state && strcmp(o, "--len") == 0 && !parse_u64(v, &a->len) && a->len &&
                   a->len <= 4096) {
            i++;
        } else if (o[0] != '-' && !a->trace) {
            a->trace = o;
        } else {
            goto bad;
        }
        continue;
    bad:
        fprintf(stderr, "hvsim %s: bad or unexpected argument '%s'%s%s\n", cmd, o,
                v && o[0] == '-' ? " " : "", v && o[0] == '-' ? v : "");
        return HV_EXIT_BADINPUT;
    }
    if (!a->trace) {
        fprintf(stderr, "hvsim %s: no trace given\n", cmd);
        return HV_EXIT_BADINPUT;
    }
    if (!state && !a->has_mem) {
        fprintf(stderr, "hvsim blame: --gpa ADDR or --gva ADDR --vcpu N is required\n");
        return HV_EXIT_BADINPUT;
    }
    if (!state && a->gva && !a->has_vcpu) {
        fprintf(stderr, "hvsim blame: --gva needs --vcpu N (whose translation to use)\n");
        return HV_EXIT_BADINPUT;
    }
    return 0;
}

/* Opens the cursor at the point just after event --at (default: the end of the run). */
static int open_at(const char *cmd, const struct args *a, struct hv_cursor **c)
{
    char err[1024];
    int e = hv_cursor_open(c, a->trace, NULL, err, sizeof err);
    if (e) {
        fprintf(stderr, "%s%s\n", strncmp(err, "hvsim: ", 7) ? "hvsim: " : "", err);
        return HV_EXIT_BADINPUT;
    }
    uint64_t n = hv_cursor_nr_events(*c);
    if (a->has_vcpu && a->vcpu >= hv_cursor_nr_vcpus(*c)) {
        fprintf(stderr, "hvsim %s: --vcpu %" PRIu64 ": the run has %u vCPUs\n", cmd, a->vcpu,
                hv_cursor_nr_vcpus(*c));
        return HV_EXIT_BADINPUT;
    }
    if (a->has_at && a->at >= n) {
        fprintf(stderr, "hvsim %s: --at %" PRIu64 ": the trace has events 0 to %" PRIu64 "\n",
                cmd, a->at, n ? n - 1 : 0);
        return HV_EXIT_BADINPUT;
    }
    e = hv_cursor_seek_seq(*c, a->has_at ? a->at : n - 1);
    if (e) {
        fprintf(stderr, "hvsim %s: %s: re-execution did not reach event %" PRIu64 ": %s %s\n",
                cmd, a->trace, a->has_at ? a->at : n - 1, hv_strerror(e), hv_error_detail());
        return HV_EXIT_BADINPUT;
    }
    return 0;
}

/* The recorded event seq: "kind detail" into buf. */
static void event_text(const char *trace, uint64_t seq, char *buf, size_t size)
{
    struct trace_reader *r = NULL;
    struct trace_filter f = TRACE_FILTER_ALL;
    struct hv_event ev;
    f.from = f.to = (int64_t)seq;
    snprintf(buf, size, "?");
    if (trace_reader_open(&r, trace) == 0 && trace_reader_events_begin(r, &f) == 0 &&
        trace_reader_events_next(r, &ev) == 1) {
        const struct hv_kind_desc *kd = hv_kind_desc(ev.kind);
        snprintf(buf, size, "%s vm %" PRIu32 " vcpu %d pc 0x%" PRIx64 " %s",
                 kd ? kd->name : "?", ev.vm, ev.vcpu, ev.pc, ev.detail ? ev.detail : "");
    }
    trace_reader_close(r);
}

/* "    source: func+0xOFF (file:line)" for pc, when the guest ELF knows it. */
static void print_source(struct srcline *src, uint64_t pc)
{
    struct srcline_loc loc;
    char buf[512];
    if (src && srcline_lookup(src, pc, &loc) == 0)
        printf("    source: %s\n", srcline_format(&loc, buf, sizeof buf));
}

/* The trace's guest image as srcline reads it; NULL when it cannot. Release with
 * srcline_close(). */
static struct srcline *open_source(const struct hv_cursor *c)
{
    size_t len;
    const void *elf = hv_cursor_elf(c, &len);
    struct srcline *s = NULL;
    return srcline_open(&s, elf, len) == 0 ? s : NULL;
}

static void hex(FILE *f, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%02x", b[i]);
}

int dcli_state(int argc, char **argv)
{
    struct args a;
    int code = parse("state", argc, argv, &a);
    if (code)
        return code;
    struct hv_cursor *c = NULL;
    struct srcline *src = NULL;
    uint8_t *mem = NULL;
    if ((code = open_at("state", &a, &c)))
        goto out;
    src = open_source(c);
    struct hv_cursor_pos pos;
    hv_cursor_pos(c, &pos);
    char ev[2048];
    event_text(a.trace, pos.seq, ev, sizeof ev);
    unsigned nr = hv_cursor_nr_vcpus(c);
    unsigned lo = a.has_vcpu ? (unsigned)a.vcpu : 0, hi = a.has_vcpu ? lo + 1 : nr;
    if (a.json)
        printf("{\"seq\":%" PRIu64 ",\"arch\":\"%s\",\"vcpus\":[", pos.seq,
               hv_arch_name(hv_cursor_arch(c)));
    else
        printf("state just after event %" PRIu64 ": %s\n", pos.seq, ev);
    for (unsigned i = lo; i < hi; i++) {
        char *t = NULL;
        int e = hv_cursor_text_regs(c, i, a.json, &t);
        if (e) {
            fprintf(stderr, "hvsim state: vCPU %u: %s\n", i, hv_strerror(e));
            code = HV_EXIT_BADINPUT;
            free(t);
            goto out;
        }
        printf("%s%s", a.json && i > lo ? "," : "", t);
        free(t);
        if (a.json)
            continue;
        struct hv_cursor_vcpu cv;
        if (hv_cursor_vcpu(c, i, &cv) == 0 && hv_cursor_text_disasm(c, i, cv.pc, 3, &t) == 0) {
            printf("  code:\n%s", t);
            print_source(src, cv.pc);
        }
        free(t);
    }
    if (a.json)
        printf("]");
    if (a.has_mem) {
        unsigned v = a.has_vcpu ? (unsigned)a.vcpu : 0;
        mem = malloc(a.len);
        int e = !mem ? HV_ENOMEM
                     : a.gva ? hv_cursor_read_gva(c, v, a.addr, mem, a.len)
                             : hv_cursor_read_gpa(c, a.addr, mem, a.len);
        if (e) {
            fprintf(stderr, "hvsim state: --mem 0x%" PRIx64 ":%" PRIu64 ": %s\n", a.addr,
                    a.len, a.gva ? "not mapped in that vCPU's page tables"
                                 : "not guest RAM");
            code = HV_EXIT_BADINPUT;
            goto out;
        }
        if (a.json) {
            printf(",\"memory\":{\"addr\":%" PRIu64 ",\"gva\":%s,\"bytes\":\"", a.addr,
                   a.gva ? "true" : "false");
            hex(stdout, mem, a.len);
            printf("\"}");
        } else {
            printf("memory at %s 0x%" PRIx64 " (%" PRIu64 " bytes)", a.gva ? "gva" : "gpa",
                   a.addr, a.len);
            if (a.gva)
                printf(", through vCPU %u's page tables", v);
            printf(":\n");
            for (uint64_t off = 0; off < a.len; off += 16) {
                printf("  0x%016" PRIx64 ":", a.addr + off);
                for (uint64_t j = off; j < off + 16 && j < a.len; j++)
                    printf(" %02x", mem[j]);
                printf("\n");
            }
        }
    }
    char *t = NULL;
    int e = hv_cursor_text_model(c, a.json, &t);
    if (e) {
        fprintf(stderr, "hvsim state: the model's state: %s\n", hv_strerror(e));
        code = HV_EXIT_BADINPUT;
        goto out;
    }
    printf(a.json ? ",\"model\":%s}\n" : "%s", t);
    free(t);
    code = HV_EXIT_OK;
out:
    free(mem);
    srcline_close(src);
    hv_cursor_close(c);
    return code;
}

static bool same_writer(const struct hv_cursor_write *x, const struct hv_cursor_write *y)
{
    return strcmp(x->path, y->path) == 0 && x->vcpu == y->vcpu && x->pc == y->pc &&
           x->icount == y->icount && x->seq == y->seq && x->gpa == y->gpa &&
           x->logged == y->logged;
}

static void print_writer(struct hv_cursor *c, struct srcline *src, const char *trace,
                         const struct hv_cursor_write *w)
{
    if (!w->path[0]) {
        printf("nothing wrote it during the run (the guest image or the model's setup)\n");
        return;
    }
    char ev[2048];
    printf("%s", w->path);
    if (w->vcpu >= 0)
        printf(" by vCPU %d at pc 0x%" PRIx64 ", instruction %" PRIu64, w->vcpu, w->pc,
               w->icount);
    else
        printf(" by the host");
    printf(", after event %" PRIu64 "\n", w->seq ? w->seq - 1 : 0);
    if (strcmp(w->path, "guest store") == 0) {
        char *t = NULL;
        if (hv_cursor_text_disasm(c, (unsigned)w->vcpu, w->pc, 1, &t) == 0)
            printf("    %s", t);
        free(t);
        print_source(src, w->pc);
    } else {
        event_text(trace, w->seq, ev, sizeof ev);
        printf("    made for event %" PRIu64 ": %s\n", w->seq, ev);
    }
    printf("    dirty log: %s\n", w->logged > 0   ? "saw it (the page is marked dirty)"
                                  : w->logged == 0 ? "MISSED it (logging on, page not marked)"
                                                   : "none covered the page");
}

int dcli_blame(int argc, char **argv)
{
    struct args a;
    int code = parse("blame", argc, argv, &a);
    if (code)
        return code;
    struct hv_cursor *c = NULL;
    struct srcline *src = NULL;
    struct hv_cursor_write *w = calloc(a.len, sizeof *w);
    uint64_t *gpas = calloc(a.len, sizeof *gpas);
    if (!w || !gpas) {
        code = HV_EXIT_BADINPUT;
        goto out;
    }
    if ((code = open_at("blame", &a, &c)))
        goto out;
    /* each byte's guest-physical address (through the vCPU's translation with --gva) */
    for (uint64_t i = 0; i < a.len; i++) {
        gpas[i] = a.addr + i;
        if (a.gva && hv_cursor_gva_to_gpa(c, (unsigned)a.vcpu, a.addr + i, &gpas[i])) {
            fprintf(stderr, "hvsim blame: gva 0x%" PRIx64 " is not mapped in vCPU %" PRIu64
                            "'s page tables\n", a.addr + i, a.vcpu);
            code = HV_EXIT_BADINPUT;
            goto out;
        }
    }
    /* one blame per physically contiguous run */
    for (uint64_t i = 0; i < a.len;) {
        uint64_t j = i + 1;
        while (j < a.len && gpas[j] == gpas[j - 1] + 1)
            j++;
        int e = hv_cursor_blame(c, gpas[i], j - i, &w[i]);
        if (e) {
            fprintf(stderr, "hvsim blame: %s %s\n", hv_strerror(e), hv_error_detail());
            code = HV_EXIT_BADINPUT;
            goto out;
        }
        i = j;
    }
    struct hv_cursor_pos pos;
    hv_cursor_pos(c, &pos);
    src = open_source(c);
    printf("last writes before the point just after event %" PRIu64 ":\n", pos.seq);
    for (uint64_t i = 0; i < a.len;) {
        uint64_t j = i + 1;
        while (j < a.len && gpas[j] == gpas[j - 1] + 1 && same_writer(&w[i], &w[j]))
            j++;
        if (a.gva) {
            printf("gva 0x%" PRIx64, a.addr + i);
            if (j - i > 1)
                printf("..0x%" PRIx64, a.addr + j - 1);
            printf(" (gpa 0x%" PRIx64 ")", gpas[i]);
        } else {
            printf("gpa 0x%" PRIx64, gpas[i]);
            if (j - i > 1)
                printf("..0x%" PRIx64, gpas[j - 1]);
        }
        printf(" (%" PRIu64 " byte%s): ", j - i, j - i > 1 ? "s" : "");
        print_writer(c, src, a.trace, &w[i]);
        i = j;
    }
    code = HV_EXIT_OK;
out:
    free(w);
    free(gpas);
    srcline_close(src);
    hv_cursor_close(c);
    return code;
}
