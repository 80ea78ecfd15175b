/*
 * gdbcursor.c - the gdb server's target over a re-execution cursor (see gdbcursor.h).
 *
 * Invariants (gdbc_check()):
 *  1. t.ctx == g, t.nvcpus == the cursor's vCPU count, and t.arch is the cursor's arch.
 *  2. db is NULL until the first command that reads the trace's events, then a read-only
 *     connection to the trace.
 */
#include <assert.h>
#include <ctype.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "debug/gdbcursor.h"
#include "sim/hv_err.h"

struct gdbc {
    struct gdbt t;
    struct hv_cursor *c;      /* borrowed */
    const char *trace;        /* borrowed */
    sqlite3 *db;              /* owned; opened on first use */
};

/* The predicate's copy: the breakpoint addresses, and the one vCPU they stop (-1: any). */
struct bps {
    int64_t vcpu;
    size_t n;
    uint64_t addr[GDBT_MAX_POINTS];
};

bool gdbc_check(const struct gdbc *g)
{
    static const enum gdbt_arch arch[] = { GDBT_X86_64, GDBT_AARCH64, GDBT_ARM };
    return g->t.ctx == g && g->t.nvcpus == hv_cursor_nr_vcpus(g->c) &&
           g->t.arch == arch[hv_cursor_arch(g->c)];
}

static unsigned cur_vcpu(struct gdbc *g)
{
    struct hv_cursor_pos pos;
    hv_cursor_pos(g->c, &pos);
    return pos.vcpu >= 0 && (unsigned)pos.vcpu < g->t.nvcpus ? (unsigned)pos.vcpu : 0;
}

static unsigned op_current(void *ctx)
{
    return cur_vcpu(ctx);
}

static int op_read_regs(void *ctx, unsigned vcpu, uint8_t *buf, bool *valid)
{
    struct gdbc *g = ctx;
    size_t n, off = 0;
    const struct gdbt_reg *regs = gdbt_regs(g->t.arch, &n);
    for (size_t i = 0; i < n; i++) {
        uint8_t v[64] = { 0 };
        size_t bytes = regs[i].bits / 8;
        valid[i] = regs[i].uc_id >= 0 &&
                   hv_cursor_reg(g->c, vcpu, regs[i].uc_id, v, sizeof v) == 0;
        memcpy(buf + off, v, bytes);
        off += bytes;
    }
    return 0;
}

static int op_read_mem(void *ctx, unsigned vcpu, uint64_t addr, void *buf, size_t len)
{
    struct gdbc *g = ctx;
    return hv_cursor_read_gva(g->c, vcpu, addr, buf, len);
}

static bool bp_stop(const void *ctx, unsigned vcpu, uint64_t pc)
{
    const struct bps *b = ctx;
    if (b->vcpu >= 0 && vcpu != b->vcpu)
        return false;
    for (size_t i = 0; i < b->n; i++)
        if (b->addr[i] == pc)
            return true;
    return false;
}

/* Describes a write that was not the guest's own store, for the console. */
static void describe_write(const struct hv_cursor_write *w, char *out, size_t size)
{
    snprintf(out, size, "%s %s event seq %" PRIu64 " (%" PRIu64 " bytes at gpa 0x%" PRIx64
             "); dirty log: %s",
             w->path, strcmp(w->path, "model write") == 0 ? "for" : "after",
             strcmp(w->path, "model write") == 0 || !w->seq ? w->seq : w->seq - 1, w->len,
             w->gpa, w->logged > 0 ? "saw it" : w->logged == 0 ? "missed it" : "off");
}

/* Fills st from the cursor's position after a run or seek that returned err. */
static int stop_from(struct gdbc *g, int err, bool reverse, struct gdbt_stop *st)
{
    st->vcpu = cur_vcpu(g);
    if (err == HV_ENOENT) {
        st->why = reverse ? GDBT_STOP_BEGIN : GDBT_STOP_END;
        return 0;
    }
    st->why = GDBT_STOP_STEP;
    return err;
}

/*
 * From the first stop point after guest store w, back to just before the storing
 * instruction: the storing vCPU's instruction at w->pc. The cursor may see a store a few
 * instructions late (Arm), so it steps back up to STORE_LAG instructions looking for that
 * pc, and settles on the first one back when the pc is not among them.
 */
#define STORE_LAG 8
static int before_store(struct gdbc *g, const struct hv_cursor_write *w)
{
    struct hv_cursor_pos pos, first;
    int err = hv_cursor_stepi(g->c, (unsigned)w->vcpu, -1);
    hv_cursor_pos(g->c, &first);
    for (int i = 0; err == 0 && i < STORE_LAG; i++) {
        hv_cursor_pos(g->c, &pos);
        if (pos.kind == HV_CSTOP_INSN && pos.pc == w->pc)
            return 0;
        err = hv_cursor_stepi(g->c, (unsigned)w->vcpu, -1);
    }
    return err == 0 || err == HV_ENOENT ? hv_cursor_seek_step(g->c, first.step) : err;
}

static int op_resume(void *ctx, const struct gdbt_resume *r, struct gdbt_stop *st)
{
    struct gdbc *g = ctx;
    int dir = r->reverse ? -1 : 1, err;
    if (r->step)
        return stop_from(g, hv_cursor_stepi(g->c, r->vcpu, dir), r->reverse, st);

    struct bps b;
    struct hv_cursor_range watch[GDBT_MAX_POINTS];
    const struct gdbt_point *wpt[GDBT_MAX_POINTS];
    size_t nwatch = 0;
    unsigned via = cur_vcpu(g);
    b.n = 0;
    b.vcpu = r->alone ? (int64_t)r->vcpu : -1;
    for (size_t i = 0; i < r->npoints; i++) {
        const struct gdbt_point *pt = &r->points[i];
        uint64_t gpa;
        if (pt->type <= GDBT_BREAK_HW)
            b.addr[b.n++] = pt->addr;
        else if (hv_cursor_gva_to_gpa(g->c, via, pt->addr, &gpa) == 0) {
            watch[nwatch] = (struct hv_cursor_range){
                gpa, pt->len ? pt->len : 1,
                pt->type == GDBT_WATCH_WRITE  ? HV_CWATCH_WRITE
                : pt->type == GDBT_WATCH_READ ? HV_CWATCH_READ
                                              : HV_CWATCH_ACCESS };
            wpt[nwatch++] = pt;
        }
    }
    struct hv_cursor_run run = {
        .stop = b.n ? bp_stop : NULL, .ctx = &b,
        .ctx_len = offsetof(struct bps, addr) + b.n * sizeof b.addr[0],
        .watch = nwatch ? watch : NULL, .nwatch = nwatch,
    };
    struct hv_cursor_hit hit;
    memset(&hit, 0, sizeof hit);
    struct hv_cursor_pos from;
    hv_cursor_pos(g->c, &from);
    if (r->reverse && nwatch) {
        /* A write is seen at the stop point after it, so the store that made the current
         * state is seen here: start one point later to find it. gdb never continues from a
         * breakpoint's own address, so a breakpoint found there is no stop. */
        if ((err = hv_cursor_seek_step(g->c, from.step + 1)) < 0 && err != HV_ENOENT)
            return err;
        if ((err = hv_cursor_run(g->c, dir, &run, &hit)) < 0)
            return err;
        struct hv_cursor_pos at;
        hv_cursor_pos(g->c, &at);
        if (hit.why == HV_CWHY_STOP && at.step == from.step) {
            memset(&hit, 0, sizeof hit);
            err = hv_cursor_run(g->c, dir, &run, &hit);
        }
    } else
        err = hv_cursor_run(g->c, dir, &run, &hit);
    if (err < 0)
        return err;
    st->vcpu = cur_vcpu(g);
    switch (hit.why) {
    case HV_CWHY_STOP:
        st->why = GDBT_STOP_BREAK;
        return 0;
    case HV_CWHY_END:
        st->why = GDBT_STOP_END;
        return 0;
    case HV_CWHY_BEGIN:
        st->why = GDBT_STOP_BEGIN;
        return 0;
    case HV_CWHY_WATCH:
        break;
    }
    const struct hv_cursor_write *w = &hit.write;
    st->why = GDBT_STOP_WATCH;
    st->wtype = GDBT_WATCH_WRITE;
    st->waddr = wpt[0]->addr;
    for (size_t i = 0; i < nwatch; i++)
        if (w->gpa < watch[i].gpa + watch[i].len && watch[i].gpa < w->gpa + w->len &&
            (w->read ? watch[i].access != HV_CWATCH_WRITE : watch[i].access != HV_CWATCH_READ)) {
            st->waddr = wpt[i]->addr + (w->gpa > watch[i].gpa ? w->gpa - watch[i].gpa : 0);
            st->wtype = wpt[i]->type;
            break;
        }
    /* a guest load stops like a guest store: after the instruction (x86), before it (Arm) */
    bool store = w->read || strcmp(w->path, "guest store") == 0;
    if (!store)
        describe_write(w, st->writer, sizeof st->writer);
    /*
     * The run stopped at the first point after the write. gdb wants a write watchpoint's
     * stop on x86 after the storing instruction going forward and before it going backward
     * (the old value in place). On Arm, whose watchpoints trap before the access, gdb itself
     * then steps over the instruction (forward or backward), so the stop is before the store
     * going forward and after it going backward.
     */
    bool arm = g->t.arch != GDBT_X86_64;
    err = 0;
    if (store && (r->reverse || arm))
        err = before_store(g, w);
    if (store && r->reverse && arm && err == 0)
        err = hv_cursor_stepi(g->c, (unsigned)w->vcpu, 1);
    if (!store && r->reverse)
        err = hv_cursor_seek_seq(g->c, w->seq ? w->seq - 1 : 0);
    if (err < 0)
        return err;
    if (w->vcpu >= 0 && (unsigned)w->vcpu < g->t.nvcpus)
        st->vcpu = (unsigned)w->vcpu;
    return 0;
}

/* The trace's events, read-only. */
static int events_db(struct gdbc *g, FILE *out)
{
    if (g->db)
        return 0;
    if (sqlite3_open_v2(g->trace, &g->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(out, "cannot open %s: %s\n", g->trace, sqlite3_errmsg(g->db));
        sqlite3_close(g->db);
        g->db = NULL;
        return -1;
    }
    return 0;
}

static void print_events(struct gdbc *g, int64_t from, int64_t to, uint64_t cur, FILE *out)
{
    sqlite3_stmt *st = NULL;
    if (events_db(g, out) < 0)
        return;
    if (sqlite3_prepare_v2(g->db,
                           "SELECT seq, vm, vcpu, icount, kind, pc, detail FROM events "
                           "WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq",
                           -1, &st, NULL) != SQLITE_OK) {
        fprintf(out, "%s\n", sqlite3_errmsg(g->db));
        return;
    }
    sqlite3_bind_int64(st, 1, from);
    sqlite3_bind_int64(st, 2, to);
    while (sqlite3_step(st) == SQLITE_ROW) {
        uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);
        fprintf(out, "%s seq %" PRIu64 " vm %d vcpu %s icount %lld %s pc 0x%llx %s\n",
                seq == cur ? ">" : " ", seq, sqlite3_column_int(st, 1),
                sqlite3_column_type(st, 2) == SQLITE_NULL
                    ? "-"
                    : (const char *)sqlite3_column_text(st, 2),
                sqlite3_column_int64(st, 3), (const char *)sqlite3_column_text(st, 4),
                (unsigned long long)sqlite3_column_int64(st, 5),
                (const char *)sqlite3_column_text(st, 6));
    }
    sqlite3_finalize(st);
}

static void print_pos(struct gdbc *g, FILE *out)
{
    struct hv_cursor_pos pos;
    hv_cursor_pos(g->c, &pos);
    if (pos.kind == HV_CSTOP_INSN)
        fprintf(out, "after event seq %" PRIu64 ", before vCPU %d's instruction at 0x%" PRIx64
                     " (icount %" PRIu64 ")\n",
                pos.seq, pos.vcpu, pos.pc, pos.icount);
    else
        fprintf(out, "%s event seq %" PRIu64 " of %" PRIu64 "\n",
                pos.kind == HV_CSTOP_END ? "at the end of the run, after" : "just after",
                pos.seq, hv_cursor_nr_events(g->c));
    print_events(g, (int64_t)pos.seq, (int64_t)pos.seq, pos.seq, out);
}

/* until / reverse-until: the nearest event after (before) the current one matching cond. */
static int until(struct gdbc *g, const char *cond, bool reverse, FILE *out, bool *moved,
                 struct gdbt_stop *stop)
{
    size_t n = strlen(cond);
    while (n && isspace((unsigned char)cond[n - 1]))
        n--;
    if (n >= 2 && (cond[0] == '\'' || cond[0] == '"') && cond[n - 1] == cond[0]) {
        cond++;
        n -= 2;
    }
    if (!n) {
        fprintf(out, "usage: monitor %suntil 'SQL condition over events'\n",
                reverse ? "reverse-" : "");
        return 0;
    }
    if (events_db(g, out) < 0)
        return 0;
    struct hv_cursor_pos pos;
    hv_cursor_pos(g->c, &pos);
    /* At an instruction stop, the event seq is behind us: forward starts after it, backward
     * may land on it. */
    char *sql = sqlite3_mprintf("SELECT seq FROM events WHERE seq %s ?1 AND (%.*s) ORDER BY "
                                "seq %s LIMIT 1",
                                reverse ? (pos.kind == HV_CSTOP_INSN ? "<=" : "<") : ">",
                                (int)n, cond, reverse ? "DESC" : "ASC");
    sqlite3_stmt *st = NULL;
    int err = 0;
    if (!sql)
        return HV_ENOMEM;
    if (sqlite3_prepare_v2(g->db, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(out, "bad condition: %s\n", sqlite3_errmsg(g->db));
        goto out;
    }
    sqlite3_bind_int64(st, 1, (int64_t)pos.seq);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);
        err = hv_cursor_seek_seq(g->c, seq);
        *moved = true;
        if ((err = stop_from(g, err, reverse, stop)) < 0)
            goto out;
        print_pos(g, out);
    } else if (rc == SQLITE_DONE) {
        fprintf(out, "no event %s seq %" PRIu64 " matches\n", reverse ? "before" : "after",
                pos.seq);
    } else {
        fprintf(out, "bad condition: %s\n", sqlite3_errmsg(g->db));
    }
out:
    sqlite3_finalize(st);
    sqlite3_free(sql);
    return err;
}

static int blame(struct gdbc *g, const char *args, unsigned vcpu, FILE *out)
{
    char *end;
    uint64_t addr = strtoull(args, &end, 0), len = 1;
    if (end == args) {
        fputs("usage: monitor blame ADDR [LEN]\n", out);
        return 0;
    }
    if (*end)
        len = strtoull(end, &end, 0);
    if (!len || len > 4096) {
        fputs("blame: LEN is 1 to 4096 bytes\n", out);
        return 0;
    }
    uint64_t gpa;
    if (hv_cursor_gva_to_gpa(g->c, vcpu, addr, &gpa) < 0) {
        fprintf(out, "blame: 0x%" PRIx64 " is not mapped for vCPU %u\n", addr, vcpu);
        return 0;
    }
    struct hv_cursor_write *w = calloc(len, sizeof *w);
    if (!w)
        return HV_ENOMEM;
    int err = hv_cursor_blame(g->c, gpa, len, w);
    if (err < 0) {
        free(w);
        return err;
    }
    /* one line per run of bytes with the same writer */
    for (size_t i = 0; i < len;) {
        size_t j = i + 1;
        while (j < len && memcmp(&w[j], &w[i], sizeof w[i]) == 0)
            j++;
        fprintf(out, "0x%" PRIx64 "..0x%" PRIx64 " (gpa 0x%" PRIx64 "): ", addr + i,
                addr + j - 1, gpa + i);
        if (!w[i].path[0])
            fputs("not written since the image was loaded\n", out);
        else if (w[i].vcpu >= 0)
            fprintf(out, "%s by vCPU %d at pc 0x%" PRIx64 " (icount %" PRIu64 ", after event "
                         "seq %" PRIu64 "); dirty log: %s\n",
                    w[i].path, w[i].vcpu, w[i].pc, w[i].icount, w[i].seq ? w[i].seq - 1 : 0,
                    w[i].logged > 0 ? "saw it" : w[i].logged == 0 ? "missed it" : "off");
        else {
            char text[160];
            describe_write(&w[i], text, sizeof text);
            fprintf(out, "%s\n", text);
        }
        i = j;
    }
    free(w);
    return 0;
}

static const char monitor_help[] =
    "monitor commands:\n"
    "  seq                  the current position and its event\n"
    "  seek SEQ             to just after event SEQ\n"
    "  events [N]           the N events (default 5) either side of the current one\n"
    "  blame ADDR [LEN]     the last writer of each byte (ADDR through the selected vCPU)\n"
    "  until COND           forward to the next event matching the SQL condition COND\n"
    "                       over the trace's events view (seq, vm, vcpu, icount, kind, pc,\n"
    "                       detail)\n"
    "  reverse-until COND   backward to the previous one\n"
    "after seek, until and reverse-until, `maintenance flush register-cache` makes gdb\n"
    "read the registers again\n";

static int op_monitor(void *ctx, const char *cmd, unsigned vcpu, FILE *out, bool *moved,
                      struct gdbt_stop *stop)
{
    struct gdbc *g = ctx;
    while (isspace((unsigned char)*cmd))
        cmd++;
    size_t wlen = strcspn(cmd, " \t");
    const char *args = cmd + wlen;
    while (isspace((unsigned char)*args))
        args++;
#define IS(w) (wlen == strlen(w) && memcmp(cmd, w, wlen) == 0)
    if (IS("seq")) {
        print_pos(g, out);
    } else if (IS("seek")) {
        char *end;
        uint64_t seq = strtoull(args, &end, 0);
        if (end == args || *end) {
            fputs("usage: monitor seek SEQ\n", out);
            return 0;
        }
        int err = hv_cursor_seek_seq(g->c, seq);
        *moved = true;
        if ((err = stop_from(g, err, false, stop)) < 0)
            return err;
        print_pos(g, out);
    } else if (IS("events")) {
        char *end;
        long long n = *args ? strtoll(args, &end, 0) : 5;
        if (*args && (end == args || *end || n < 0)) {
            fputs("usage: monitor events [N]\n", out);
            return 0;
        }
        struct hv_cursor_pos pos;
        hv_cursor_pos(g->c, &pos);
        print_events(g, (int64_t)pos.seq - n, (int64_t)pos.seq + n, pos.seq, out);
    } else if (IS("blame")) {
        return blame(g, args, vcpu, out);
    } else if (IS("until") || IS("reverse-until")) {
        return until(g, args, cmd[0] == 'r', out, moved, stop);
    } else {
        if (!IS("help"))
            fprintf(out, "unknown monitor command '%.*s'\n", (int)wlen, cmd);
        fputs(monitor_help, out);
    }
#undef IS
    return 0;
}

int gdbc_create(struct gdbc **out, struct hv_cursor *c, const char *trace)
{
    static const enum gdbt_arch arch[] = { GDBT_X86_64, GDBT_AARCH64, GDBT_ARM };
    struct gdbc *g = calloc(1, sizeof *g);
    if (!g)
        return HV_ENOMEM;
    g->c = c;
    g->trace = trace;
    g->t = (struct gdbt){
        .arch = arch[hv_cursor_arch(c)], .nvcpus = hv_cursor_nr_vcpus(c), .ctx = g,
        .current = op_current, .read_regs = op_read_regs, .read_mem = op_read_mem,
        .resume = op_resume, .monitor = op_monitor, .read_watch = true,
    };
    assert(gdbc_check(g));
    *out = g;
    return 0;
}

void gdbc_destroy(struct gdbc *g)
{
    if (!g)
        return;
    sqlite3_close(g->db);
    free(g);
}

const struct gdbt *gdbc_target(struct gdbc *g)
{
    return &g->t;
}
