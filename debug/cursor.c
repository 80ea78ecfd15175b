/*
 * cursor.c - the re-execution cursor (cursor.h): a controller in the caller's process and
 * a tree of forked processes that re-execute the run.
 *
 * Processes. hv_cursor_open() forks the executor, which runs the recorded scenario with
 * runner_execute() (the inputs come from replay_inputs_open(), as replay's do). Every event
 * (the sink) and, with insns, every instruction (the instruction observer, sim/migrate.h) is
 * a stop point: at_stop() numbers it, may take a checkpoint there, and stops there if the
 * current GO request says so. Stopped, the executor serves requests (registers, memory,
 * text) on its socket from inside the hook it stopped in, until the next GO. A checkpoint is
 * fork() at a stop point: the child is frozen, waiting on its own socket; asked to FORK it
 * forks again, and that grandchild returns into the same hook as a new executor, at the
 * checkpoint's step. The controller talks to one executor and keeps every checkpoint's socket.
 *
 * Controller states (c->fd is the executor; docs/architecture.md has the same diagram):
 *
 *     hv_cursor_open(): fork the executor, go() to step 1
 *        v                go(): GO with a target ahead
 *  +-> STOPPED -------------------------------------------> RUNNING   at_stop() at each stop
 *  |     |  ^                                                |       point; checkpoint()
 *  |     |  +----- DONE (the target, a hit, or the end) -----+       forks, CKPT to us
 *  |     | a target behind the current step                           (ck_add(): budget)
 *  |     v
 *  |   RESTORING: restore() FORKs the latest checkpoint before it, QUITs the old executor
 *  +-----+
 *   run(dir < 0): GO_SCAN of [checkpoint, current) for the last hit, further back until one
 *   is found; hv_cursor_blame(): a second executor from c->ck[0], one GO_BLAME scan, QUIT.
 *
 * Invariants:
 *   1. Steps only grow along one execution, and the same step is the same state in every
 *      executor (runs are deterministic; serving and forking change nothing in the run).
 *   2. c->ck is sorted by step, c->ck[0] is step 1 (the first stop point), and every
 *      checkpoint's step is at most the furthest step any executor reached.
 *   3. At most c->max checkpoints are kept; thinning keeps c->ck[0].
 *   4. The controller never asks an executor to go backwards: a GO's targets are at or after
 *      the executor's step.
 *   5. Executors and checkpoints only exit through _exit(), on QUIT or when their socket
 *      closes, so the controller dying ends them all.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <unicorn/unicorn.h>

#include "debug/cursor.h"
#include "debug/dstate.h"
#include "replay/replay.h"
#include "runner/progress.h"
#include "runner/runner.h"
#include "sim/migrate.h"
#include "sim/model.h"

#define DEF_CK_INSNS 1000000
#define DEF_CK_EVENTS 20000
#define DEF_MAX_CK 64
#define NONE UINT64_MAX
#define MAX_CTX 65536
#define MAX_WATCH 64
#define MAX_BLAME 4096
#define MAX_PENDING 16

enum op {
    OP_POS = 1, OP_VCPU, OP_REG, OP_REG_NAME, OP_REGS, OP_READ_GPA, OP_READ_GVA, OP_GVA2GPA,
    OP_TEXT, OP_GO, OP_FORK, OP_QUIT,
    OP_CKPT,   /* executor -> controller during a GO: a checkpoint, its socket follows */
    OP_DONE,   /* executor -> controller: the GO stopped */
};

enum text_kind { TX_REGS, TX_REGS_JSON, TX_MODEL, TX_MODEL_JSON, TX_DISASM };

struct hdr {
    uint32_t op;
    int32_t err;
    uint64_t len;
};

enum go_mode { GO_STOP, GO_SCAN, GO_BLAME };

/* A GO request: how far to run and what counts as a hit. */
struct go {
    uint32_t mode;
    uint64_t from;            /* hits only at points with step >= from */
    uint64_t until;           /* stop at this step (NONE: no such target) */
    uint64_t seq;             /* stop just after this event (NONE) */
    int32_t ivcpu;            /* stop at this vCPU's first instruction point with */
    uint64_t icount;          /* icount >= this (ivcpu -1: none) */
    int32_t stop_vcpu;        /* any instruction point of this vCPU is a hit (-1: none) */
    hv_cursor_stop_fn fn;
    uint32_t nwatch;
    struct hv_cursor_range watch[MAX_WATCH];
    uint64_t blame_gpa, blame_len;
    uint64_t ck_above;        /* checkpoints only at steps above this */
    uint64_t ck_insns, ck_events;
    uint32_t ctx_len;         /* the predicate's ctx follows */
};

/* Where an executor is, with every vCPU's exact count. */
struct where {
    struct hv_cursor_pos pos;
    uint64_t icount[HV_MAX_VCPUS];
};

struct done {
    struct where at;
    uint32_t why;
    struct hv_cursor_write w;
    uint64_t last_step;       /* GO_SCAN: the last hit's step (0: none) */
    uint32_t last_why;
    struct hv_cursor_write last_w;
};

/* ---- messages ---- */

static int io_write(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return HV_EIO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int io_read(int fd, void *buf, size_t n)
{
    char *p = buf;
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return HV_EIO;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static int msg_send(int fd, uint32_t op, int32_t err, const void *a, size_t na, const void *b,
                    size_t nb)
{
    struct hdr h = { .op = op, .err = err, .len = na + nb };
    int e = io_write(fd, &h, sizeof h);
    if (!e && na)
        e = io_write(fd, a, na);
    if (!e && nb)
        e = io_write(fd, b, nb);
    return e;
}

/* Caller owns *payload (free()); NULL when empty. */
static int msg_recv(int fd, struct hdr *h, void **payload)
{
    *payload = NULL;
    int e = io_read(fd, h, sizeof *h);
    if (e)
        return e;
    if (h->len > (1ULL << 30))
        return HV_EIO;
    if (!h->len)
        return 0;
    *payload = malloc(h->len);
    if (!*payload)
        return HV_ENOMEM;
    if ((e = io_read(fd, *payload, h->len))) {
        free(*payload);
        *payload = NULL;
    }
    return e;
}

static int fd_send(int sock, int fd)
{
    char byte = 0;
    struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } u;
    memset(&u, 0, sizeof u);
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                        .msg_controllen = sizeof u.buf };
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    ssize_t r;
    do
        r = sendmsg(sock, &m, MSG_NOSIGNAL);
    while (r < 0 && errno == EINTR);
    return r == 1 ? 0 : HV_EIO;
}

static int fd_recv(int sock, int *fd)
{
    char byte;
    struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } u;
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                        .msg_controllen = sizeof u.buf };
    ssize_t r;
    do
        r = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
    while (r < 0 && errno == EINTR);
    struct cmsghdr *c = r == 1 ? CMSG_FIRSTHDR(&m) : NULL;
    if (!c || c->cmsg_type != SCM_RIGHTS)
        return HV_EIO;
    memcpy(fd, CMSG_DATA(c), sizeof *fd);
    return 0;
}

/* ---- the executor (runs in the forked processes only) ---- */

struct ex {
    int fd;
    bool insns;
    struct hv_vm *vm;
    unsigned nr;
    uint64_t step;
    struct where at;
    bool ended;
    struct go go;
    void *ctx;
    /* writes since the last stop point (the last MAX_PENDING of them) */
    struct hv_cursor_write pend[MAX_PENDING];
    unsigned npend, pend_next;
    /* GO_SCAN */
    uint64_t last_step;
    uint32_t last_why;
    struct hv_cursor_write last_w;
    /* GO_BLAME: one writer per byte */
    struct hv_cursor_write *blame;
    struct hv_vm *later;      /* a write waits for resolve_logged() */
    /* counters at the last checkpoint */
    uint64_t ck_insns_at, ck_events_at;
    /* the progress line of a long re-execution toward the target (runner/progress.h) */
    struct progress prog;
};

/* A re-execution shows its progress line once it has lasted this long. */
#define EX_PROGRESS_DELAY_MS 1000

static uint64_t vm_insns(struct ex *ex)
{
    return ex->vm ? hv_vm_icount(ex->vm) : 0;
}

static void fill_icounts(struct ex *ex)
{
    for (unsigned i = 0; i < ex->nr && ex->vm; i++) {
        struct hv_vcpu *v = hv_vm_vcpu(ex->vm, i);
        ex->at.icount[i] = ex->at.pos.vcpu == (int32_t)i && !ex->ended
                               ? ex->at.pos.icount
                               : hv_vcpu_icount(v);
    }
}

static void serve(struct ex *ex);
static void resolve_logged(struct ex *ex);

/* Frozen at a checkpoint: forks a new executor at each FORK. Returns in that executor. */
static void ckpt_loop(struct ex *ex, int cfd)
{
    for (;;) {
        struct hdr h;
        void *p;
        if (msg_recv(cfd, &h, &p) || h.op != OP_FORK)
            _exit(0);
        free(p);
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
            msg_send(cfd, OP_FORK, HV_EIO, NULL, 0, NULL, 0);
            continue;
        }
        pid_t pid = fork();
        if (pid == 0) {
            close(cfd);
            close(sv[0]);
            ex->fd = sv[1];
            ex->ck_insns_at = vm_insns(ex);
            ex->ck_events_at = ex->at.pos.seq;
            return;
        }
        close(sv[1]);
        if (pid < 0) {
            close(sv[0]);
            msg_send(cfd, OP_FORK, HV_EIO, NULL, 0, NULL, 0);
            continue;
        }
        if (msg_send(cfd, OP_FORK, 0, NULL, 0, NULL, 0) == 0)
            fd_send(cfd, sv[0]);
        close(sv[0]);
    }
}

/* Takes a checkpoint here. Returns true in an executor resumed from it later. */
static bool checkpoint(struct ex *ex)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
        return false;
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        close(ex->fd);
        ckpt_loop(ex, sv[1]);
        return true;
    }
    close(sv[1]);
    if (pid > 0 && msg_send(ex->fd, OP_CKPT, 0, &ex->at, sizeof ex->at, NULL, 0) == 0)
        fd_send(ex->fd, sv[0]);
    close(sv[0]);
    ex->ck_insns_at = vm_insns(ex);
    ex->ck_events_at = ex->at.pos.seq;
    return false;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

/* Whether watch w is for an access of this kind (a load, else a write). */
static bool kind_matches(const struct hv_cursor_range *w, bool read)
{
    return read ? w->access != HV_CWATCH_WRITE : w->access != HV_CWATCH_READ;
}

static void reply_done(struct ex *ex, uint32_t why, const struct hv_cursor_write *w)
{
    struct done d;
    memset(&d, 0, sizeof d);
    d.at = ex->at;
    d.why = why;
    if (w)
        d.w = *w;
    d.last_step = ex->last_step;
    d.last_why = ex->last_why;
    d.last_w = ex->last_w;
    size_t nb = ex->go.mode == GO_BLAME && ex->blame
                    ? (size_t)ex->go.blame_len * sizeof *ex->blame : 0;
    if (msg_send(ex->fd, OP_DONE, 0, &d, sizeof d, ex->blame, nb))
        _exit(0);
}

/* The stop point just reached: number it, checkpoint, and stop if the GO says so. */
static void at_stop(struct ex *ex, enum hv_cursor_stop kind, int32_t vcpu, uint64_t pc,
                    uint64_t icount, unsigned vm, uint64_t seq)
{
    ex->step++;
    if (ex->later)
        resolve_logged(ex);
    ex->at.pos = (struct hv_cursor_pos){ .step = ex->step, .kind = kind, .seq = seq,
                                         .vcpu = vcpu, .pc = pc, .icount = icount, .vm = vm };
    fill_icounts(ex);
    const struct go *g = &ex->go;
    if (ex->step > g->ck_above && !ex->ended &&
        (ex->step == 1 || vm_insns(ex) - ex->ck_insns_at >= g->ck_insns ||
         seq - ex->ck_events_at >= g->ck_events) &&
        checkpoint(ex))
        serve(ex);
    for (;;) {
        g = &ex->go;
        bool hit = false;
        uint32_t why = HV_CWHY_STOP;
        struct hv_cursor_write w;
        memset(&w, 0, sizeof w);
        if (ex->step >= g->from && g->mode != GO_BLAME) {
            for (unsigned i = 0; i < ex->npend && !hit; i++) {
                /* newest first */
                const struct hv_cursor_write *p =
                    &ex->pend[(ex->pend_next + MAX_PENDING - 1 - i) % MAX_PENDING];
                for (unsigned j = 0; j < g->nwatch && !hit; j++)
                    if (kind_matches(&g->watch[j], p->read) &&
                        overlaps(p->gpa, p->len, g->watch[j].gpa, g->watch[j].len)) {
                        hit = true;
                        why = HV_CWHY_WATCH;
                        w = *p;
                    }
            }
            if (!hit && kind == HV_CSTOP_INSN && vcpu >= 0 &&
                ((g->stop_vcpu >= 0 && vcpu == g->stop_vcpu) ||
                 (g->fn && g->fn(ex->ctx, (unsigned)vcpu, pc))))
                hit = true;
        }
        bool stop = false;
        if (hit && g->mode == GO_STOP)
            stop = true;
        if (hit && g->mode == GO_SCAN && ex->step < g->until) {
            ex->last_step = ex->step;
            ex->last_why = why;
            ex->last_w = w;
        }
        if (ex->step == g->until || ex->ended ||
            (g->seq != NONE && kind == HV_CSTOP_EVENT && seq == g->seq) ||
            (g->ivcpu >= 0 && kind == HV_CSTOP_INSN && vcpu == g->ivcpu &&
             icount >= g->icount)) {
            stop = true;
            if (!hit)
                why = ex->ended ? HV_CWHY_END : HV_CWHY_STOP;
        }
        if (!stop)
            break;
        progress_end(&ex->prog);
        reply_done(ex, why, hit ? &w : NULL);
        serve(ex);
    }
    ex->npend = 0;
}

static int ex_sink(void *ctx, const struct hv_event *ev)
{
    struct ex *ex = ctx;
    if ((ev->seq & 255) == 0 && progress_due(&ex->prog)) {
        if (ex->go.seq != NONE)
            progress_update(&ex->prog, "replaying: event %" PRIu64 " of %" PRIu64, ev->seq,
                            ex->go.seq);
        else
            progress_update(&ex->prog, "replaying: event %" PRIu64, ev->seq);
    }
    if (ex->vm)
        at_stop(ex, HV_CSTOP_EVENT, ev->vcpu, ev->pc, ev->icount, ev->vm, ev->seq);
    return 0;
}

static void obs_insn(void *ctx, struct hv_vcpu *v, uint64_t pc, uint64_t icount)
{
    struct ex *ex = ctx;
    at_stop(ex, HV_CSTOP_INSN, (int32_t)hv_vcpu_id(v), pc, icount, ex->at.pos.vm,
            ex->at.pos.seq);
}

static bool watched(const struct go *g, uint64_t gpa, uint64_t len, bool read)
{
    if (g->mode == GO_BLAME && !g->blame_len)
        return false;
    if (g->mode == GO_BLAME)
        return !read && overlaps(gpa, len, g->blame_gpa, g->blame_len);
    for (unsigned j = 0; j < g->nwatch; j++)
        if (kind_matches(&g->watch[j], read) &&
            overlaps(gpa, len, g->watch[j].gpa, g->watch[j].len))
            return true;
    return false;
}

static void pend_push(struct ex *ex, const struct hv_cursor_write *w)
{
    ex->pend[ex->pend_next] = *w;
    ex->pend_next = (ex->pend_next + 1) % MAX_PENDING;
    if (ex->npend < MAX_PENDING)
        ex->npend++;
}

static bool want_read(void *ctx, uint64_t gpa, uint64_t len)
{
    struct ex *ex = ctx;
    return watched(&ex->go, gpa, len, true);
}

static void obs_read(void *ctx, struct hv_vm *vm, uint64_t gpa, uint64_t len,
                     const struct hv_write_rec *r)
{
    struct hv_cursor_write w = { .gpa = gpa, .len = len, .vcpu = r->vcpu, .pc = r->pc,
                                 .icount = r->icount, .seq = hv_vm_next_seq(vm), .logged = -1,
                                 .read = true };
    snprintf(w.path, sizeof w.path, "%s", r->path);
    pend_push(ctx, &w);
}

/* Whether the dirty log saw w, once the writer is done with it: a guest store's logging ran
 * before the observer (sim/vcpu.c); a model's comes after its hv_vm_note_write(), so that one
 * is asked at the next stop point (LOGGED_LATER). */
#define LOGGED_LATER (-2)

static bool want_write(void *ctx, uint64_t gpa, uint64_t len)
{
    struct ex *ex = ctx;
    return watched(&ex->go, gpa, len, false);
}

static void obs_write(void *ctx, struct hv_vm *vm, uint64_t gpa, uint64_t len,
                      const struct hv_write_rec *r)
{
    struct ex *ex = ctx;
    const struct go *g = &ex->go;
    if (!watched(g, gpa, len, false) || (g->mode == GO_BLAME && ex->step >= g->until))
        return;
    struct hv_cursor_write w = { .gpa = gpa, .len = len, .vcpu = r->vcpu, .pc = r->pc,
                                 .icount = r->icount, .seq = hv_vm_next_seq(vm) };
    snprintf(w.path, sizeof w.path, "%s", r->path);
    w.logged = strcmp(r->path, "guest store") == 0 ? dstate_logged(vm, gpa) : LOGGED_LATER;
    if (w.logged == LOGGED_LATER)
        ex->later = vm;
    if (g->mode == GO_BLAME) {
        uint64_t lo = gpa > g->blame_gpa ? gpa : g->blame_gpa;
        uint64_t end = g->blame_gpa + g->blame_len;
        uint64_t hi = gpa + len < end ? gpa + len : end;
        for (uint64_t a = lo; ex->blame && a < hi; a++)
            ex->blame[a - g->blame_gpa] = w;
        return;
    }
    pend_push(ex, &w);
}

/* Resolves the LOGGED_LATER writes at a stop point. */
static void resolve_logged(struct ex *ex)
{
    struct hv_vm *vm = ex->later;
    ex->later = NULL;
    for (unsigned i = 0; i < MAX_PENDING; i++)
        if (ex->pend[i].logged == LOGGED_LATER)
            ex->pend[i].logged = dstate_logged(vm, ex->pend[i].gpa);
    for (uint64_t i = 0; ex->blame && i < ex->go.blame_len; i++)
        if (ex->blame[i].logged == LOGGED_LATER)
            ex->blame[i].logged = dstate_logged(vm, ex->blame[i].gpa);
}

static void ex_vm_created(struct hv_vm *vm, void *ctx)
{
    struct ex *ex = ctx;
    ex->vm = vm;
    hv_vm_observe_writes(vm, want_write, obs_write, ex);
    if (ex->insns) {
        hv_vm_observe_insns(vm, obs_insn, ex);
        hv_vm_observe_reads(vm, want_read, obs_read, ex);
    }
}

static void ex_inspect(struct hv_vm *vm, void *ctx)
{
    struct ex *ex = ctx;
    ex->vm = vm;
    ex->ended = true;
    at_stop(ex, HV_CSTOP_END, -1, 0, 0, ex->at.pos.vm, ex->at.pos.seq);
    /* at_stop() returns only if no GO stopped here, which the end always does */
}

static struct hv_vcpu *ex_vcpu(struct ex *ex, const void *p, size_t n)
{
    uint32_t id;
    if (!ex->vm || n < sizeof id)
        return NULL;
    memcpy(&id, p, sizeof id);
    return id < ex->nr ? hv_vm_vcpu(ex->vm, id) : NULL;
}

static uint64_t ex_pc(struct ex *ex, struct hv_vcpu *v)
{
    unsigned id = hv_vcpu_id(v);
    if (ex->at.pos.vcpu == (int32_t)id && !ex->ended)
        return ex->at.pos.pc;
    uint64_t pc = 0;
    hv_vcpu_reg_by_name(v, "pc", &pc);
    return pc;
}

/* The engine's pc register lags inside an exit (it holds the block's start): a read of the
 * pc register by Unicorn id gets the exact pc instead (x86: RIP, its offset in CS). */
static bool pc_reg(struct ex *ex, struct hv_vcpu *v, int id, uint64_t *val)
{
    enum hv_arch a = hv_vm_arch(ex->vm);
    if (!((a == HV_ARCH_X86_64 && id == UC_X86_REG_RIP) ||
          (a == HV_ARCH_AARCH64 && id == UC_ARM64_REG_PC) ||
          (a == HV_ARCH_ARM && id == UC_ARM_REG_PC)))
        return false;
    *val = ex_pc(ex, v);
    struct hv_x86_mode m;
    if (a == HV_ARCH_X86_64 && hv_vcpu_x86_mode(v, &m) == 0)
        *val -= m.cs_base;
    return true;
}

static void answer(struct ex *ex, const struct hdr *h, const char *p)
{
    int fd = ex->fd;
    struct hv_vcpu *v = ex_vcpu(ex, p, h->len);
    int err = 0;
    switch (h->op) {
    case OP_POS:
        msg_send(fd, OP_POS, 0, &ex->at, sizeof ex->at, NULL, 0);
        return;
    case OP_VCPU: {
        struct hv_cursor_vcpu out;
        memset(&out, 0, sizeof out);
        if (!v) {
            msg_send(fd, h->op, HV_EINVAL, NULL, 0, NULL, 0);
            return;
        }
        const char *why = NULL;
        snprintf(out.state, sizeof out.state, "%s", hv_vcpu_state(v, &why, NULL));
        snprintf(out.why, sizeof out.why, "%s", why ? why : "");
        out.icount = ex->at.icount[hv_vcpu_id(v)];
        out.pc = ex_pc(ex, v);
        out.thumb = hv_vcpu_thumb(v);
        msg_send(fd, h->op, 0, &out, sizeof out, NULL, 0);
        return;
    }
    case OP_REG: {
        int32_t id;
        uint32_t size;
        uint8_t buf[64] = { 0 };
        if (!v || h->len < 12) {
            err = HV_EINVAL;
        } else {
            memcpy(&id, p + 4, 4);
            memcpy(&size, p + 8, 4);
            if (size > sizeof buf)
                size = sizeof buf;
            uint64_t pc;
            if (pc_reg(ex, v, id, &pc))
                memcpy(buf, &pc, sizeof pc);
            else
                err = hv_vcpu_uc_reg(v, id, buf);
        }
        msg_send(fd, h->op, err, buf, err ? 0 : size, NULL, 0);
        return;
    }
    case OP_REG_NAME: {
        uint64_t val = 0;
        char name[64];
        if (!v || h->len < 5 || h->len - 4 >= sizeof name) {
            err = HV_EINVAL;
        } else {
            memcpy(name, p + 4, h->len - 4);
            name[h->len - 4] = 0;
            if (strcmp(name, "pc") == 0)
                val = ex_pc(ex, v);
            else if (strcmp(name, "rip") == 0)
                pc_reg(ex, v, UC_X86_REG_RIP, &val);
            else
                err = hv_vcpu_reg_by_name(v, name, &val);
        }
        msg_send(fd, h->op, err, &val, sizeof val, NULL, 0);
        return;
    }
    case OP_REGS: {
        size_t n = v && h->len >= 4 ? (h->len - 4) / sizeof(int) : 0;
        uint64_t *vals = calloc(n ? n : 1, sizeof *vals);
        if (!v || !vals)
            err = v ? HV_ENOMEM : HV_EINVAL;
        for (size_t i = 0; !err && i < n; i++) {
            int id;
            memcpy(&id, p + 4 + i * sizeof id, sizeof id);
            if (!pc_reg(ex, v, id, &vals[i]))
                err = hv_vcpu_uc_reg(v, id, &vals[i]);
        }
        msg_send(fd, h->op, err, vals, err ? 0 : n * sizeof *vals, NULL, 0);
        free(vals);
        return;
    }
    case OP_READ_GPA:
    case OP_READ_GVA:
    case OP_GVA2GPA: {
        uint64_t addr = 0, len = 0;
        size_t off = h->op == OP_READ_GPA ? 0 : 4;
        if (h->len >= off + 16) {
            memcpy(&addr, p + off, 8);
            memcpy(&len, p + off + 8, 8);
        }
        if (!ex->vm || h->len < off + 16 || (off && !v) || len > (1u << 24)) {
            msg_send(fd, h->op, HV_EINVAL, NULL, 0, NULL, 0);
            return;
        }
        if (h->op == OP_GVA2GPA) {
            uint64_t gpa = 0;
            err = hv_vcpu_gva_to_gpa(v, addr, &gpa, NULL);
            msg_send(fd, h->op, err, &gpa, sizeof gpa, NULL, 0);
            return;
        }
        void *buf = malloc(len ? len : 1);
        if (!buf)
            err = HV_ENOMEM;
        else if (h->op == OP_READ_GPA)
            err = hv_vm_read_gpa(ex->vm, addr, buf, len);
        else
            err = hv_vcpu_read_gva(v, addr, buf, len);
        msg_send(fd, h->op, err, buf, err ? 0 : len, NULL, 0);
        free(buf);
        return;
    }
    case OP_TEXT: {
        uint32_t kind = 0;
        uint64_t pc = 0, n = 0;
        if (h->len >= 24) {
            memcpy(&kind, p + 4, 4);
            memcpy(&pc, p + 8, 8);
            memcpy(&n, p + 16, 8);
        }
        char *text = NULL;
        size_t tlen = 0;
        FILE *f = open_memstream(&text, &tlen);
        if (!f || !ex->vm || h->len < 24) {
            err = HV_EINVAL;
        } else {
            struct hv_vcpu *tv = v ? v : hv_vm_vcpu(ex->vm, 0);
            switch (kind) {
            case TX_REGS:
            case TX_REGS_JSON:
                err = v ? dstate_regs(f, v, ex_pc(ex, v), ex->at.icount[hv_vcpu_id(v)],
                                      kind == TX_REGS_JSON)
                        : HV_EINVAL;
                break;
            case TX_MODEL:
            case TX_MODEL_JSON:
                err = dstate_model(f, ex->vm, kind == TX_MODEL_JSON);
                break;
            case TX_DISASM:
                err = tv ? dstate_disasm(f, tv, pc, (size_t)n) : HV_EINVAL;
                break;
            default:
                err = HV_EINVAL;
            }
        }
        if (f)
            fclose(f);
        msg_send(fd, h->op, err, text, err ? 0 : tlen, NULL, 0);
        free(text);
        return;
    }
    default:
        msg_send(fd, h->op, HV_EINVAL, NULL, 0, NULL, 0);
        return;
    }
}

/* Serves requests until a GO; then returns with ex->go set. */
static void serve(struct ex *ex)
{
    for (;;) {
        struct hdr h;
        void *p;
        if (msg_recv(ex->fd, &h, &p) || h.op == OP_QUIT)
            _exit(0);
        if (h.op == OP_GO && h.len >= sizeof(struct go)) {
            memcpy(&ex->go, p, sizeof ex->go);
            free(ex->ctx);
            ex->ctx = NULL;
            if (ex->go.ctx_len && ex->go.ctx_len <= h.len - sizeof(struct go)) {
                ex->ctx = malloc(ex->go.ctx_len);
                if (ex->ctx)
                    memcpy(ex->ctx, (char *)p + sizeof(struct go), ex->go.ctx_len);
            }
            ex->last_step = 0;
            ex->last_why = 0;
            memset(&ex->last_w, 0, sizeof ex->last_w);
            free(ex->blame);
            ex->blame = ex->go.mode == GO_BLAME && ex->go.blame_len
                            ? calloc(ex->go.blame_len, sizeof *ex->blame) : NULL;
            free(p);
            progress_init_stderr(&ex->prog, EX_PROGRESS_DELAY_MS);
            return;
        }
        answer(ex, &h, p);
        free(p);
    }
}

static void ex_main(int fd, struct replay_inputs *in, bool insns)
{
    signal(SIGCHLD, SIG_IGN);   /* frozen checkpoints and executors reap themselves */
    /* nothing of the caller's (a debugger's sockets, the trace's database) stays open here */
    if (fd > 3)
        close_range(3, (unsigned)fd - 1, 0);
    close_range((unsigned)fd + 1, ~0U, 0);
    struct ex ex;
    memset(&ex, 0, sizeof ex);
    ex.fd = fd;
    ex.insns = insns;
    ex.nr = (unsigned)in->sc->vcpus;
    ex.at.pos.vcpu = -1;
    ex.go.until = NONE;
    serve(&ex);
    struct runner_hooks hooks = { .inspect = ex_inspect, .vm_created = ex_vm_created,
                                  .ctx = &ex, .schedule = in->sched };
    struct runner_result res;
    runner_execute(in->sc, in->elf, in->elf_len, ex_sink, &ex, &hooks, &res);
    /* the run could not even start: its end is the only stop point */
    ex.vm = NULL;
    ex.ended = true;
    at_stop(&ex, HV_CSTOP_END, -1, 0, 0, 0, ex.at.pos.seq);
    _exit(0);
}

/* ---- the controller ---- */

struct ckpt {
    struct where at;
    int fd;
};

struct hv_cursor {
    int fd;                   /* the executor */
    pid_t root;
    bool insns;
    struct where at;
    struct ckpt *ck;
    size_t nck, ck_cap;
    unsigned max;
    uint64_t ck_insns, ck_events;
    uint64_t furthest;        /* the largest step an executor reached */
    enum hv_arch arch;
    unsigned nr;
    uint64_t nr_events;
    void *elf;
    size_t elf_len;
};

/* Invariants 2 and 3 (for assert()). */
__attribute__((unused)) static bool cursor_check(const struct hv_cursor *c)
{
    if (c->nck > c->max || (c->nck && c->ck[0].at.pos.step != 1))
        return false;
    for (size_t i = 0; i < c->nck; i++)
        if ((i && c->ck[i - 1].at.pos.step >= c->ck[i].at.pos.step) ||
            c->ck[i].at.pos.step > c->furthest || c->ck[i].fd < 0)
            return false;
    return true;
}

static void quit(int fd)
{
    if (fd >= 0) {
        msg_send(fd, OP_QUIT, 0, NULL, 0, NULL, 0);
        close(fd);
    }
}

static void ck_add(struct hv_cursor *c, const struct where *at, int fd)
{
    if (c->nck == c->ck_cap) {
        size_t ncap = c->ck_cap ? c->ck_cap * 2 : 16;
        struct ckpt *n = realloc(c->ck, ncap * sizeof *n);
        if (!n) {
            quit(fd);
            return;
        }
        c->ck = n;
        c->ck_cap = ncap;
    }
    size_t i = c->nck;
    while (i > 0 && c->ck[i - 1].at.pos.step > at->pos.step)
        i--;
    if (i > 0 && c->ck[i - 1].at.pos.step == at->pos.step) {
        quit(fd);   /* already have this one */
        return;
    }
    memmove(&c->ck[i + 1], &c->ck[i], (c->nck - i) * sizeof *c->ck);
    c->ck[i] = (struct ckpt){ .at = *at, .fd = fd };
    c->nck++;
    if (c->nck > c->max) {
        /* over budget: keep the first and every second one after it, at twice the interval */
        size_t k = 1;
        for (size_t j = 1; j < c->nck; j++) {
            if (j % 2 == 0)
                c->ck[k++] = c->ck[j];
            else
                quit(c->ck[j].fd);
        }
        c->nck = k;
        c->ck_insns *= 2;
        c->ck_events *= 2;
    }
}

static void go_init(const struct hv_cursor *c, struct go *g)
{
    memset(g, 0, sizeof *g);
    g->mode = GO_STOP;
    g->from = NONE;
    g->until = NONE;
    g->seq = NONE;
    g->ivcpu = -1;
    g->stop_vcpu = -1;
    g->ck_above = c->furthest;
    g->ck_insns = c->ck_insns;
    g->ck_events = c->ck_events;
}

/* Sends g (and ctx) to the executor and waits for it to stop, taking in checkpoints. */
static int go(struct hv_cursor *c, const struct go *g, const void *ctx, struct done *d,
              struct hv_cursor_write *blame)
{
    if (msg_send(c->fd, OP_GO, 0, g, sizeof *g, ctx, g->ctx_len))
        return hv_error_set(HV_EIO, "the re-execution process is gone");
    for (;;) {
        struct hdr h;
        void *p;
        if (msg_recv(c->fd, &h, &p))
            return hv_error_set(HV_EIO, "the re-execution process is gone");
        if (h.op == OP_CKPT && h.len == sizeof(struct where)) {
            int fd;
            if (fd_recv(c->fd, &fd) == 0)
                ck_add(c, p, fd);
            free(p);
            continue;
        }
        if (h.op != OP_DONE || h.len < sizeof *d) {
            free(p);
            return hv_error_set(HV_EIO, "unexpected reply from the re-execution process");
        }
        memcpy(d, p, sizeof *d);
        if (blame && h.len >= sizeof *d + g->blame_len * sizeof *blame)
            memcpy(blame, (char *)p + sizeof *d, g->blame_len * sizeof *blame);
        free(p);
        c->at = d->at;
        if (c->at.pos.step > c->furthest)
            c->furthest = c->at.pos.step;
        assert(cursor_check(c));
        return 0;
    }
}

/* A new executor from checkpoint k; the caller decides what to do with the old one. */
static int resume(struct hv_cursor *c, size_t k, int *fd)
{
    struct hdr h;
    void *p;
    if (msg_send(c->ck[k].fd, OP_FORK, 0, NULL, 0, NULL, 0) || msg_recv(c->ck[k].fd, &h, &p))
        return hv_error_set(HV_EIO, "a checkpoint process is gone");
    free(p);
    if (h.err)
        return hv_error_set(h.err, "forking a checkpoint");
    return fd_recv(c->ck[k].fd, fd);
}

/* Replaces the executor by one resumed from checkpoint k. */
static int restore(struct hv_cursor *c, size_t k)
{
    int fd;
    int err = resume(c, k, &fd);
    if (err)
        return err;
    quit(c->fd);
    c->fd = fd;
    c->at = c->ck[k].at;
    return 0;
}

int hv_cursor_open(struct hv_cursor **out, const char *path, const struct hv_cursor_opts *opts,
                   char *errbuf, size_t errsize)
{
    struct hv_cursor_opts def = { 0 };
    if (!opts)
        opts = &def;
    *out = NULL;
    if (errsize)
        errbuf[0] = 0;
    FILE *ef = fmemopen(errbuf, errsize, "w");
    if (!ef)
        return HV_ENOMEM;
    setvbuf(ef, NULL, _IONBF, 0);
    struct replay_inputs in;
    int err = replay_inputs_open(&in, path, opts->sets, opts->nsets, ef);
    fclose(ef);
    if (err)
        return err;
    /* the message as one line, without "hvsim: " */
    size_t n = strlen(errbuf);
    while (n && errbuf[n - 1] == '\n')
        errbuf[--n] = 0;
    struct hv_cursor *c = calloc(1, sizeof *c);
    if (!c) {
        replay_inputs_close(&in);
        return HV_ENOMEM;
    }
    c->fd = -1;
    c->insns = opts->insns;
    c->max = opts->max_checkpoints >= 2 ? opts->max_checkpoints : DEF_MAX_CK;
    c->ck_insns = opts->ckpt_insns ? opts->ckpt_insns : DEF_CK_INSNS;
    c->ck_events = opts->ckpt_events ? opts->ckpt_events : DEF_CK_EVENTS;
    c->arch = in.sc->arch;
    c->nr = (unsigned)in.sc->vcpus;
    int64_t ne = trace_reader_event_count(in.r);
    c->nr_events = ne > 0 ? (uint64_t)ne : 0;
    c->elf = in.elf;
    c->elf_len = in.elf_len;
    in.elf = NULL;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
        err = hv_error_set(HV_EIO, "socketpair: %s", strerror(errno));
        goto fail;
    }
    fflush(NULL);
    c->root = fork();
    if (c->root == 0) {
        close(sv[0]);
        in.elf = c->elf;
        ex_main(sv[1], &in, opts->insns);
    }
    close(sv[1]);
    c->fd = sv[0];
    if (c->root < 0) {
        err = hv_error_set(HV_EIO, "fork: %s", strerror(errno));
        goto fail;
    }
    replay_inputs_close(&in);
    struct go g;
    go_init(c, &g);
    g.until = 1;
    struct done d;
    if ((err = go(c, &g, NULL, &d, NULL)))
        goto fail;
    *out = c;
    return 0;
fail:
    replay_inputs_close(&in);
    if (!errbuf[0])
        snprintf(errbuf, errsize, "%s: %s %s", path, hv_strerror(err), hv_error_detail());
    hv_cursor_close(c);
    return err;
}

void hv_cursor_close(struct hv_cursor *c)
{
    if (!c)
        return;
    quit(c->fd);
    for (size_t i = 0; i < c->nck; i++)
        quit(c->ck[i].fd);
    if (c->root > 0)
        waitpid(c->root, NULL, 0);
    free(c->ck);
    free(c->elf);
    free(c);
}

enum hv_arch hv_cursor_arch(const struct hv_cursor *c)
{
    return c->arch;
}

unsigned hv_cursor_nr_vcpus(const struct hv_cursor *c)
{
    return c->nr;
}

uint64_t hv_cursor_nr_events(const struct hv_cursor *c)
{
    return c->nr_events;
}

int hv_cursor_write_elf(const struct hv_cursor *c, const char *path)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return hv_error_set(HV_EIO, "%s: %s", path, strerror(errno));
    bool ok = fwrite(c->elf, 1, c->elf_len, f) == c->elf_len;
    ok = fclose(f) == 0 && ok;
    return ok ? 0 : hv_error_set(HV_EIO, "%s: write failed", path);
}

const void *hv_cursor_elf(const struct hv_cursor *c, size_t *len)
{
    *len = c->elf_len;
    return c->elf;
}

void hv_cursor_pos(const struct hv_cursor *c, struct hv_cursor_pos *out)
{
    *out = c->at.pos;
}

/* One request and its reply, the reply's payload copied to out (at most outlen bytes). */
static int call(struct hv_cursor *c, uint32_t op, const void *a, size_t na, const void *b,
                size_t nb, void *out, size_t outlen, size_t *got)
{
    struct hdr h;
    void *p;
    if (msg_send(c->fd, op, 0, a, na, b, nb) || msg_recv(c->fd, &h, &p))
        return hv_error_set(HV_EIO, "the re-execution process is gone");
    size_t n = h.len < outlen ? h.len : outlen;
    if (out && n)
        memcpy(out, p, n);
    if (got)
        *got = n;
    free(p);
    return h.err;
}

int hv_cursor_vcpu(struct hv_cursor *c, unsigned vcpu, struct hv_cursor_vcpu *out)
{
    uint32_t id = vcpu;
    memset(out, 0, sizeof *out);
    return call(c, OP_VCPU, &id, sizeof id, NULL, 0, out, sizeof *out, NULL);
}

int hv_cursor_reg(struct hv_cursor *c, unsigned vcpu, int uc_reg, void *buf, size_t size)
{
    uint32_t a[3] = { vcpu, (uint32_t)uc_reg, (uint32_t)size };
    if (size > 64)
        return HV_EINVAL;
    return call(c, OP_REG, a, sizeof a, NULL, 0, buf, size, NULL);
}

int hv_cursor_reg_by_name(struct hv_cursor *c, unsigned vcpu, const char *name, uint64_t *out)
{
    uint32_t id = vcpu;
    *out = 0;
    return call(c, OP_REG_NAME, &id, sizeof id, name, strlen(name), out, sizeof *out, NULL);
}

int hv_cursor_regs(struct hv_cursor *c, unsigned vcpu, const int *ids, size_t n,
                   uint64_t *vals)
{
    uint32_t id = vcpu;
    return call(c, OP_REGS, &id, sizeof id, ids, n * sizeof *ids, vals, n * sizeof *vals, NULL);
}

int hv_cursor_read_gpa(struct hv_cursor *c, uint64_t gpa, void *buf, size_t len)
{
    uint64_t a[2] = { gpa, len };
    return call(c, OP_READ_GPA, a, sizeof a, NULL, 0, buf, len, NULL);
}

int hv_cursor_read_gva(struct hv_cursor *c, unsigned vcpu, uint64_t gva, void *buf, size_t len)
{
    uint8_t a[20];
    uint32_t id = vcpu;
    uint64_t l = len;
    memcpy(a, &id, 4);
    memcpy(a + 4, &gva, 8);
    memcpy(a + 12, &l, 8);
    return call(c, OP_READ_GVA, a, sizeof a, NULL, 0, buf, len, NULL);
}

int hv_cursor_gva_to_gpa(struct hv_cursor *c, unsigned vcpu, uint64_t gva, uint64_t *gpa)
{
    uint8_t a[20] = { 0 };
    uint32_t id = vcpu;
    memcpy(a, &id, 4);
    memcpy(a + 4, &gva, 8);
    return call(c, OP_GVA2GPA, a, sizeof a, NULL, 0, gpa, sizeof *gpa, NULL);
}

static int text(struct hv_cursor *c, unsigned vcpu, uint32_t kind, uint64_t pc, uint64_t n,
                char **out)
{
    uint8_t a[24];
    uint32_t id = vcpu;
    memcpy(a, &id, 4);
    memcpy(a + 4, &kind, 4);
    memcpy(a + 8, &pc, 8);
    memcpy(a + 16, &n, 8);
    struct hdr h;
    void *p;
    *out = NULL;
    if (msg_send(c->fd, OP_TEXT, 0, a, sizeof a, NULL, 0) || msg_recv(c->fd, &h, &p))
        return hv_error_set(HV_EIO, "the re-execution process is gone");
    if (h.err) {
        free(p);
        return h.err;
    }
    *out = malloc(h.len + 1);
    if (!*out) {
        free(p);
        return HV_ENOMEM;
    }
    if (h.len)
        memcpy(*out, p, h.len);
    (*out)[h.len] = 0;
    free(p);
    return 0;
}

int hv_cursor_text_regs(struct hv_cursor *c, unsigned vcpu, bool json, char **out)
{
    return text(c, vcpu, json ? TX_REGS_JSON : TX_REGS, 0, 0, out);
}

int hv_cursor_text_model(struct hv_cursor *c, bool json, char **out)
{
    return text(c, 0, json ? TX_MODEL_JSON : TX_MODEL, 0, 0, out);
}

int hv_cursor_text_disasm(struct hv_cursor *c, unsigned vcpu, uint64_t pc, size_t n,
                          char **out)
{
    return text(c, vcpu, TX_DISASM, pc, n, out);
}

/* ---- seeking ---- */

/* The latest checkpoint that satisfies before(); 0 (the first stop point) if none does. */
static size_t ck_latest(const struct hv_cursor *c, bool (*before)(const struct where *at,
                                                                   const void *arg),
                        const void *arg)
{
    for (size_t i = c->nck; i-- > 0;)
        if (before(&c->ck[i].at, arg))
            return i;
    return 0;
}

static bool before_step(const struct where *at, const void *arg)
{
    return at->pos.step <= *(const uint64_t *)arg;
}

static int finish(const struct done *d)
{
    return d->why == HV_CWHY_END && d->at.pos.kind == HV_CSTOP_END
               ? hv_error_set(HV_ENOENT, "the run ends before that point")
               : 0;
}

int hv_cursor_seek_step(struct hv_cursor *c, uint64_t step)
{
    int err;
    if (step < 1)
        step = 1;
    if (step < c->at.pos.step && (err = restore(c, ck_latest(c, before_step, &step))))
        return err;
    if (step == c->at.pos.step)
        return 0;
    struct go g;
    go_init(c, &g);
    g.until = step;
    struct done d;
    if ((err = go(c, &g, NULL, &d, NULL)))
        return err;
    return c->at.pos.step == step ? 0 : finish(&d);
}

static bool before_seq(const struct where *at, const void *arg)
{
    uint64_t seq = *(const uint64_t *)arg;
    return at->pos.seq < seq || (at->pos.seq == seq && at->pos.kind == HV_CSTOP_EVENT);
}

int hv_cursor_seek_seq(struct hv_cursor *c, uint64_t seq)
{
    int err;
    if (c->at.pos.kind == HV_CSTOP_EVENT && c->at.pos.seq == seq)
        return 0;
    if ((seq <= c->at.pos.seq || c->at.pos.kind == HV_CSTOP_END) &&
        (err = restore(c, ck_latest(c, before_seq, &seq))))
        return err;
    if (c->at.pos.kind == HV_CSTOP_EVENT && c->at.pos.seq == seq)
        return 0;
    struct go g;
    go_init(c, &g);
    g.seq = seq;
    struct done d;
    if ((err = go(c, &g, NULL, &d, NULL)))
        return err;
    return finish(&d);
}

struct insn_target {
    unsigned vcpu;
    uint64_t icount;
};

static bool before_insn(const struct where *at, const void *arg)
{
    const struct insn_target *t = arg;
    return at->icount[t->vcpu] < t->icount;
}

int hv_cursor_seek_insn(struct hv_cursor *c, unsigned vcpu, uint64_t icount)
{
    int err;
    if (!c->insns)
        return hv_error_set(HV_EUNSUPP, "the cursor was opened without instruction stops");
    if (vcpu >= c->nr)
        return hv_error_set(HV_EINVAL, "no vCPU %u", vcpu);
    if (c->at.pos.kind == HV_CSTOP_INSN && c->at.pos.vcpu == (int32_t)vcpu &&
        c->at.pos.icount == icount)
        return 0;
    struct insn_target t = { vcpu, icount };
    if ((icount <= c->at.icount[vcpu] || c->at.pos.kind == HV_CSTOP_END) &&
        (err = restore(c, ck_latest(c, before_insn, &t))))
        return err;
    struct go g;
    go_init(c, &g);
    g.ivcpu = (int32_t)vcpu;
    g.icount = icount;
    struct done d;
    if ((err = go(c, &g, NULL, &d, NULL)))
        return err;
    return finish(&d);
}

int hv_cursor_step_event(struct hv_cursor *c, int dir)
{
    const struct hv_cursor_pos *p = &c->at.pos;
    if (dir > 0)
        return hv_cursor_seek_seq(c, p->seq + 1);
    if (p->kind != HV_CSTOP_EVENT)
        return hv_cursor_seek_seq(c, p->seq);
    if (p->step <= 1)
        return hv_error_set(HV_ENOENT, "no event before the first");
    return hv_cursor_seek_seq(c, p->seq - 1);
}

static int run(struct hv_cursor *c, int dir, const struct hv_cursor_run *r, int32_t stop_vcpu,
               struct hv_cursor_hit *hit);

int hv_cursor_stepi(struct hv_cursor *c, unsigned vcpu, int dir)
{
    if (!c->insns)
        return hv_error_set(HV_EUNSUPP, "the cursor was opened without instruction stops");
    if (vcpu >= c->nr)
        return hv_error_set(HV_EINVAL, "no vCPU %u", vcpu);
    struct hv_cursor_hit hit;
    int err = run(c, dir, NULL, (int32_t)vcpu, &hit);
    if (err)
        return err;
    if (hit.why == HV_CWHY_END || hit.why == HV_CWHY_BEGIN)
        return hv_error_set(HV_ENOENT, "vCPU %u executes no instruction %s", vcpu,
                            dir > 0 ? "after this point" : "before this point");
    return 0;
}

static int run_spec(struct hv_cursor *c, const struct hv_cursor_run *r, int32_t stop_vcpu,
                    struct go *g)
{
    go_init(c, g);
    g->stop_vcpu = stop_vcpu;
    if (!r)
        return 0;
    if ((r->stop && !c->insns) || r->nwatch > MAX_WATCH || r->ctx_len > MAX_CTX)
        return hv_error_set(r->stop && !c->insns ? HV_EUNSUPP : HV_EINVAL,
                            "a stop predicate needs instruction stops; at most %d watched "
                            "ranges and %d bytes of context", MAX_WATCH, MAX_CTX);
    g->fn = r->stop;
    g->ctx_len = (uint32_t)(r->stop ? r->ctx_len : 0);
    for (size_t i = 0; i < r->nwatch; i++)
        if (r->watch[i].access != HV_CWATCH_WRITE && !c->insns)
            return hv_error_set(HV_EUNSUPP, "a read watch needs instruction stops");
    g->nwatch = (uint32_t)r->nwatch;
    if (r->nwatch)
        memcpy(g->watch, r->watch, r->nwatch * sizeof *r->watch);
    return 0;
}

static int run(struct hv_cursor *c, int dir, const struct hv_cursor_run *r, int32_t stop_vcpu,
               struct hv_cursor_hit *hit)
{
    struct go g;
    struct done d;
    memset(hit, 0, sizeof *hit);
    int err = run_spec(c, r, stop_vcpu, &g);
    if (err)
        return err;
    const void *ctx = r ? r->ctx : NULL;
    if (dir > 0) {
        if (c->at.pos.kind == HV_CSTOP_END) {
            hit->why = HV_CWHY_END;
            return 0;
        }
        g.from = c->at.pos.step + 1;
        if ((err = go(c, &g, ctx, &d, NULL)))
            return err;
        hit->why = d.why;
        hit->write = d.w;
        return 0;
    }
    /* backward: scan (checkpoint, hi) for the last hit, one checkpoint further back each time
     * nothing is found. A checkpoint's own point is scanned from the checkpoint before it: a
     * watch hit there needs the writes just before it, observed under this run's watches. */
    uint64_t hi = c->at.pos.step;
    while (hi > 2) {
        uint64_t below = hi - 2;
        size_t k = ck_latest(c, before_step, &below);
        if ((err = restore(c, k)))
            return err;
        g.mode = GO_SCAN;
        g.from = c->at.pos.step + 1;
        g.until = hi;
        g.ck_above = c->furthest;
        if ((err = go(c, &g, ctx, &d, NULL)))
            return err;
        if (d.last_step) {
            if ((err = hv_cursor_seek_step(c, d.last_step)))
                return err;
            hit->why = d.last_why;
            hit->write = d.last_w;
            return 0;
        }
        hi = c->ck[k].at.pos.step + 1;
    }
    if ((err = hv_cursor_seek_step(c, 1)))
        return err;
    hit->why = HV_CWHY_BEGIN;
    return 0;
}

int hv_cursor_run(struct hv_cursor *c, int dir, const struct hv_cursor_run *r,
                  struct hv_cursor_hit *hit)
{
    return run(c, dir, r, -1, hit);
}

int hv_cursor_blame(struct hv_cursor *c, uint64_t gpa, size_t len, struct hv_cursor_write *out)
{
    if (!len || len > MAX_BLAME)
        return hv_error_set(HV_EINVAL, "blame covers 1 to %d bytes", MAX_BLAME);
    memset(out, 0, len * sizeof *out);
    int fd;
    int err = resume(c, 0, &fd);
    if (err)
        return err;
    /* a second executor beside the current one, for one scan from the first stop point */
    int keep = c->fd;
    struct where at = c->at;
    uint64_t until = at.pos.step;
    c->fd = fd;
    struct go g;
    go_init(c, &g);
    g.mode = GO_BLAME;
    g.until = until;
    g.blame_gpa = gpa;
    g.blame_len = len;
    g.ck_above = NONE;
    struct done d;
    err = go(c, &g, NULL, &d, out);
    quit(c->fd);
    c->fd = keep;
    c->at = at;
    return err;
}
