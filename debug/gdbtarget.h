/*
 * gdbtarget.h - what the gdb remote server (debug/gdbserver.h) needs from the thing it
 * debugs: a replay position it can read registers and memory at and move forward or backward.
 *
 * The server speaks the protocol and keeps gdb's breakpoints and watchpoints; a target only
 * answers reads and performs one resume at a time. debug/gdbcursor.c implements it over the
 * re-execution cursor of a trace; the unit tests implement it over a scripted history.
 *
 * Registers are numbered as gdb's target description for the arch lists them
 * (gdbt_regs()): x86_64 follows org.gnu.gdb.i386.core (64bit-core.xml), aarch64
 * org.gnu.gdb.aarch64.core, arm org.gnu.gdb.arm.core. Threads are vCPUs: gdb thread n is
 * vCPU n - 1 (gdb reserves thread ids 0 and -1).
 */
#ifndef HV_DEBUG_GDBTARGET_H
#define HV_DEBUG_GDBTARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum gdbt_arch { GDBT_X86_64, GDBT_AARCH64, GDBT_ARM };

/* One register of an arch's target description. */
struct gdbt_reg {
    const char *name;
    unsigned bits;          /* 32, 64 or 80 */
    const char *type;       /* the tdesc type: "int", "code_ptr", "data_ptr", "i387_ext", ... */
    int uc_id;              /* Unicorn's register id, or -1 when Unicorn cannot read it */
};

/* The register table of arch, in gdb's numbering; *n receives its length. Static storage. */
const struct gdbt_reg *gdbt_regs(enum gdbt_arch arch, size_t *n);
/* gdb's name for the architecture ("i386:x86-64", "aarch64", "arm"), the feature name of its
 * core registers, and the largest register in bytes. */
const char *gdbt_arch_name(enum gdbt_arch arch);
const char *gdbt_feature_name(enum gdbt_arch arch);
#define GDBT_REG_MAX 10

/* A breakpoint or watchpoint, as gdb's Z packets name them (Z0 .. Z4); at most
 * GDBT_MAX_POINTS at once. */
#define GDBT_MAX_POINTS 64
enum gdbt_point_type {
    GDBT_BREAK_SW = 0,
    GDBT_BREAK_HW = 1,
    GDBT_WATCH_WRITE = 2,
    GDBT_WATCH_READ = 3,
    GDBT_WATCH_ACCESS = 4,
};

struct gdbt_point {
    enum gdbt_point_type type;
    uint64_t addr;        /* guest-virtual, through the vCPU that executes or accesses */
    uint64_t len;         /* bytes watched; the instruction's kind for breakpoints */
};

/* One resume: forward or backward, one instruction of `vcpu` or until a point. */
struct gdbt_resume {
    bool reverse;
    bool step;                        /* one instruction of vcpu; else run until a point */
    bool alone;                       /* continuing: gdb resumed vcpu alone (as it does to
                                       * single-step arm in software), so only vcpu's
                                       * breakpoints stop; the other vCPUs run on, as
                                       * recorded */
    unsigned vcpu;                    /* the vCPU to step, or to continue alone */
    const struct gdbt_point *points;  /* borrowed for the call */
    size_t npoints;
};

enum gdbt_why {
    GDBT_STOP_STEP,      /* the step finished */
    GDBT_STOP_BREAK,     /* vcpu is about to execute a breakpoint's instruction */
    GDBT_STOP_WATCH,     /* an access to a watched range: forward, just after it; backward,
                          * just before the instruction or write that made it */
    GDBT_STOP_BEGIN,     /* backward: the start of the recording */
    GDBT_STOP_END,       /* forward: the end of the recording */
};

struct gdbt_stop {
    enum gdbt_why why;
    unsigned vcpu;                 /* the vCPU the stop concerns */
    enum gdbt_point_type wtype;    /* GDBT_STOP_WATCH: which kind of watchpoint fired */
    uint64_t waddr;                /* GDBT_STOP_WATCH: the watched address accessed */
    char writer[160];              /* GDBT_STOP_WATCH: who wrote, when not the guest's own
                                    * store ("model: xen runstate update at seq 42"); "" else */
};

/*
 * The operations. Each returns 0 or a negative HV_E* code; a failed read makes the server
 * answer gdb with an error packet, a failed resume ends the session.
 */
struct gdbt {
    enum gdbt_arch arch;
    unsigned nvcpus;
    bool read_watch;     /* read and access watchpoints (Z3, Z4) can fire; else refused */
    void *ctx;
    /* The vCPU the current position belongs to (the last one that ran). */
    unsigned (*current)(void *ctx);
    /* Registers of vcpu in gdbt_regs() order, each bits/8 little-endian bytes at consecutive
     * offsets of buf; valid[i] is false for a register whose value is not available. */
    int (*read_regs)(void *ctx, unsigned vcpu, uint8_t *buf, bool *valid);
    /* len bytes at guest-virtual addr through vcpu's translation. */
    int (*read_mem)(void *ctx, unsigned vcpu, uint64_t addr, void *buf, size_t len);
    int (*resume)(void *ctx, const struct gdbt_resume *r, struct gdbt_stop *stop);
    /*
     * A `monitor` command line (NUL-terminated); vcpu is gdb's selected thread, through
     * whose translation the command reads addresses. Its text goes to out. When it moved the
     * position (seek, until) it sets *moved and fills *stop (why GDBT_STOP_STEP unless it hit
     * an edge). Returns 0 even for a command the user got wrong (the text says why).
     */
    int (*monitor)(void *ctx, const char *cmd, unsigned vcpu, FILE *out, bool *moved,
                   struct gdbt_stop *stop);
};

#endif
