/*
 * test_gdbserver.c - the gdb remote server (debug/gdbserver.c) over a scripted target:
 * packet framing and checksums, then one gdb session as a table of {packet, reply, console}
 * rows (threads, registers, memory, breakpoints and watchpoints forward and backward, the
 * replaylog edges, monitor, refused writes), and the target description of each arch.
 *
 * The scripted target is a history of positions (vCPU, pc) with two writes in it; a resume
 * moves through the history as a replay would. Replies follow gdb's "Remote Protocol"
 * appendix (stop reply fields, qXfer, Z packets), not what the server happens to print.
 */
#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

#include "debug/gdbserver.h"
#include "tests/test_util.h"

void test_gdbserver_register(void);

static void test_framing(void)
{
    static const struct {
        const char *payload, *framed;
    } rows[] = {
        { "OK", "$OK#9a" },
        { "", "$#00" },
        { "a#b", "$a}\x03" "b#43" },   /* '#' escaped as '}' then 0x03 */
        { "}", "$}]#da" },
        { "qSupported", "$qSupported#37" },
    };
    for (size_t i = 0; i < TEST_N(rows); i++) {
        char *f = NULL;
        size_t flen = 0;
        FILE *out = open_memstream(&f, &flen);
        gdbs_frame(rows[i].payload, strlen(rows[i].payload), out);
        fclose(out);
        TEST_CHECK(strcmp(f, rows[i].framed) == 0, "row %zu: framed %s, expected %s", i, f,
                   rows[i].framed);
        /* and back */
        int kind = 0;
        static char pkt[GDBS_PACKET_MAX];
        size_t plen = 0;
        bool ok = false;
        size_t used = gdbs_unframe(f, flen, &kind, pkt, &plen, &ok);
        TEST_CHECK(used == flen && kind == '$' && ok && plen == strlen(rows[i].payload) &&
                       memcmp(pkt, rows[i].payload, plen) == 0,
                   "row %zu: unframed %zu bytes, kind %d, ok %d", i, used, kind, ok);
        free(f);
    }
}

static void test_unframe(void)
{
    static const struct {
        const char *in;
        size_t used;
        int kind;
        bool ok;
        const char *pkt;
    } rows[] = {
        { "+", 1, '+', false, NULL },
        { "-", 1, '-', false, NULL },
        { "\x03", 1, 3, false, NULL },
        { "x", 1, 0, false, NULL },
        { "$g#67", 5, '$', true, "g" },
        { "$g#68", 5, '$', false, "g" },     /* wrong checksum */
        { "$g#6", 0, 0, false, NULL },       /* not whole yet */
        { "$qC", 0, 0, false, NULL },
        { "$m0,4#fd+", 8, '$', true, "m0,4" },
        { "$g#zz", 5, '$', false, "g" },     /* not hex */
    };
    static char pkt[GDBS_PACKET_MAX];
    for (size_t i = 0; i < TEST_N(rows); i++) {
        int kind = 0;
        size_t plen = 0;
        bool ok = false;
        size_t used = gdbs_unframe(rows[i].in, strlen(rows[i].in), &kind, pkt, &plen, &ok);
        TEST_CHECK(used == rows[i].used, "row %zu: used %zu, expected %zu", i, used,
                   rows[i].used);
        if (!used)
            continue;
        TEST_CHECK(kind == rows[i].kind, "row %zu: kind %d, expected %d", i, kind,
                   rows[i].kind);
        if (rows[i].pkt)
            TEST_CHECK(ok == rows[i].ok && plen == strlen(rows[i].pkt) &&
                           memcmp(pkt, rows[i].pkt, plen) == 0,
                       "row %zu: ok %d, packet %.*s", i, ok, (int)plen, pkt);
    }
}

/* The scripted history. Register x0 holds the position's index; pc the vCPU's pc there. */
static const struct {
    unsigned vcpu;
    uint64_t pc;
} history[] = {
    { 0, 0x1000 }, { 0, 0x1004 }, { 1, 0x2000 }, { 1, 0x2004 },
    { 0, 0x1008 }, { 1, 0x2008 }, { 0, 0x100c }, { 0, 0x1010 },
};
#define NPOS TEST_N(history)
/* A write that position pos made (visible from pos on). */
static const struct {
    size_t pos;
    uint64_t addr;
    uint8_t value;
    const char *writer;
} writes[] = {
    { 3, 0x100, 0xaa, "" },
    { 6, 0x104, 0xbb, "model write (seq 3)" },
};

struct fake {
    size_t pos;
};

static unsigned fake_current(void *ctx)
{
    return history[((struct fake *)ctx)->pos].vcpu;
}

static int fake_regs(void *ctx, unsigned vcpu, uint8_t *buf, bool *valid)
{
    struct fake *f = ctx;
    size_t n;
    gdbt_regs(GDBT_AARCH64, &n);
    memset(buf, 0, n * 8);
    for (size_t i = 0; i < n; i++)
        valid[i] = i != 1;
    uint64_t pc = 0;
    for (size_t p = 0; p < NPOS; p++)
        if (history[p].vcpu == vcpu && (p <= f->pos || !pc))
            pc = history[p].pc;
    buf[0] = (uint8_t)f->pos;
    memcpy(buf + 32 * 8, &pc, 8);
    return 0;
}

static int fake_mem(void *ctx, unsigned vcpu, uint64_t addr, void *buf, size_t len)
{
    struct fake *f = ctx;
    if (addr < 0x100 || addr + len > 0x110)
        return -1;
    uint8_t *b = buf;
    for (size_t i = 0; i < len; i++) {
        b[i] = 0;
        for (size_t w = 0; w < TEST_N(writes); w++)
            if (writes[w].addr == addr + i && writes[w].pos <= f->pos)
                b[i] = writes[w].value;
    }
    return 0;
}

/* Whether position q stops a continue: a breakpoint at its pc or a watched write there. */
static bool fake_hit(size_t q, const struct gdbt_resume *r, struct gdbt_stop *st)
{
    for (size_t i = 0; i < r->npoints; i++) {
        const struct gdbt_point *pt = &r->points[i];
        if (pt->type <= GDBT_BREAK_HW && history[q].pc == pt->addr &&
            (!r->alone || history[q].vcpu == r->vcpu)) {
            st->why = GDBT_STOP_BREAK;
            return true;
        }
        for (size_t w = 0; w < TEST_N(writes); w++)
            if (pt->type == GDBT_WATCH_WRITE && writes[w].pos == q &&
                writes[w].addr >= pt->addr && writes[w].addr < pt->addr + pt->len) {
                st->why = GDBT_STOP_WATCH;
                st->wtype = pt->type;
                st->waddr = writes[w].addr;
                snprintf(st->writer, sizeof st->writer, "%s", writes[w].writer);
                return true;
            }
    }
    return false;
}

static int fake_resume(void *ctx, const struct gdbt_resume *r, struct gdbt_stop *st)
{
    struct fake *f = ctx;
    int dir = r->reverse ? -1 : 1;
    for (size_t q = f->pos + (size_t)dir; q < NPOS; q += (size_t)dir) {
        if (r->step ? history[q].vcpu == r->vcpu : fake_hit(q, r, st)) {
            if (r->step)
                st->why = GDBT_STOP_STEP;
            /* backward, a watched write stops just before the position that made it */
            f->pos = st->why == GDBT_STOP_WATCH && r->reverse ? q - 1 : q;
            st->vcpu = history[q].vcpu;
            return 0;
        }
    }
    f->pos = r->reverse ? 0 : NPOS - 1;
    st->why = r->reverse ? GDBT_STOP_BEGIN : GDBT_STOP_END;
    st->vcpu = history[f->pos].vcpu;
    return 0;
}

static int fake_monitor(void *ctx, const char *cmd, unsigned vcpu, FILE *out, bool *moved,
                        struct gdbt_stop *st)
{
    struct fake *f = ctx;
    if (strcmp(cmd, "seq") == 0)
        fprintf(out, "pos %zu vcpu %u\n", f->pos, vcpu);
    else if (strcmp(cmd, "first") == 0) {
        f->pos = 0;
        *moved = true;
        st->why = GDBT_STOP_STEP;
        st->vcpu = history[0].vcpu;
    }
    return 0;
}

static char *hex_of(const char *s)
{
    static char buf[256];
    size_t i = 0;
    for (; s[i] && 2 * i + 2 < sizeof buf; i++)
        sprintf(buf + 2 * i, "%02x", (unsigned char)s[i]);
    buf[2 * i] = 0;
    return buf;
}

/* The console line of a stop at the model's write: "watchpoint: written by model write..." */
#define MODEL_WROTE                                                                         \
    "7761746368706f696e743a207772697474656e206279206d6f64656c2077726974652028736571"          \
    "2033290a\n"

static void test_session(void)
{
    struct fake f = { 0 };
    struct gdbt t = { .arch = GDBT_AARCH64, .nvcpus = 2, .ctx = &f, .current = fake_current,
                      .read_regs = fake_regs, .read_mem = fake_mem, .resume = fake_resume,
                      .monitor = fake_monitor };
    static const struct {
        const char *pkt, *reply, *console;   /* console: the O payloads, hex, one per line */
    } rows[] = {
        { "qSupported:multiprocess+;swbreak+;hwbreak+",
          "PacketSize=4000;qXfer:features:read+;QStartNoAckMode+;ReverseStep+;"
          "ReverseContinue+;swbreak+;hwbreak+", "" },
        { "?", "T05thread:1;", "" },
        { "qfThreadInfo", "m1,2", "" },
        { "qsThreadInfo", "l", "" },
        { "qC", "QC1", "" },
        { "qAttached", "1", "" },
        { "Hg3", "E01", "" },
        { "Hg2", "OK", "" },
        { "T2", "OK", "" },
        { "T3", "E01", "" },
        { "p0", "0000000000000000", "" },
        { "p1", "xxxxxxxxxxxxxxxx", "" },               /* not available */
        { "p20", "0020000000000000", "" },              /* vCPU 1's pc, 0x2000 */
        { "p22", "E00", "" },                           /* no register 34 */
        { "m100,2", "0000", "" },
        { "m200,2", "E14", "" },
        { "m10e,4", "0000", "" },                       /* the readable prefix */
        { "m100", "E01", "" },
        { "M100,1:00", "E01", "" },                     /* a recording is read-only */
        { "P0=00", "E01", "" },
        { "Z0,2008,4", "OK", "" },
        { "c", "T05thread:2;swbreak:;", "" },
        { "p0", "0500000000000000", "" },
        { "m100,1", "aa", "" },
        { "Z2,100,1", "OK", "" },
        { "bc", "T05thread:2;watch:100;", "" },         /* back to just before the store */
        { "m100,1", "00", "" },
        { "Hc2", "OK", "" },
        { "s", "T05thread:2;", "" },
        { "m100,1", "aa", "" },
        { "z2,100,1", "OK", "" },
        { "z0,2008,4", "OK", "" },
        { "z0,2008,4", "OK", "" },                      /* removing twice is harmless */
        { "Z2,104,4", "OK", "" },
        { "c", "T05thread:1;watch:104;", MODEL_WROTE },
        { "bs", "T05thread:2;", "" },                   /* Hc2: vCPU 1 back to position 5 */
        { "Hc-1", "OK", "" },
        { "bs", "T05thread:2;", "" },                   /* the Hg vCPU (1): position 3 */
        { "bs", "T05thread:2;", "" },                   /* position 2 */
        { "bs", "T05thread:1;replaylog:begin;", "" },
        { "vCont?", "vCont;c;C;s;S", "" },
        { "vCont;s:1;c", "T05thread:1;", "" },          /* vCPU 0: position 1 */
        { "Z0,2004,4", "OK", "" },
        { "vCont;c:1", "T05thread:1;watch:104;", MODEL_WROTE },  /* vCPU 1's breakpoint at
                                                                   * position 3 ignored */
        { "bs", "T05thread:1;", "" },                   /* the stopped vCPU 0: position 4 */
        { "vCont;c:2", "T05thread:1;watch:104;", MODEL_WROTE },  /* watchpoints stop any */
        { "bc", "T05thread:2;swbreak:;", "" },          /* back to position 3 */
        { "vCont;c", "T05thread:1;watch:104;", MODEL_WROTE },
        { "z0,2004,4", "OK", "" },
        { "z2,104,4", "OK", "" },
        { "vCont;c", "T05thread:1;replaylog:end;", "" },
        { "?", "T05thread:1;replaylog:end;", "" },
        { "Z3,100,1", "", "" },                         /* this target cannot watch reads */
        { "Z9,1,1", "", "" },
        { "Z2,zz", "E01", "" },
        { "qRcmd,736571", NULL, "" },                   /* "seq": reply checked below */
        { "qRcmd,6669727374", "OK", "" },               /* "first" moves, prints nothing */
        { "?", "T05thread:1;", "" },
        { "qXfer:features:read:target.xml:0,10", "m<?xml version=\"1", "" },
        { "qXfer:features:read:other.xml:0,10", "E00", "" },
        { "qThreadExtraInfo,2", "764350552031", "" },   /* "vCPU 1" */
        { "vMustReplyEmpty", "", "" },
        { "QStartNoAckMode", "OK", "" },
        { "D", "OK", "" },
    };
    struct gdbs s;
    gdbs_init(&s, &t);
    for (size_t i = 0; i < TEST_N(rows); i++) {
        char *reply = NULL, *console = NULL;
        size_t rlen = 0, clen = 0;
        FILE *r = open_memstream(&reply, &rlen), *c = open_memstream(&console, &clen);
        bool quit = true;
        int err = gdbs_handle(&s, rows[i].pkt, strlen(rows[i].pkt), r, c, &quit);
        fclose(r);
        fclose(c);
        const char *want = rows[i].reply ? rows[i].reply : hex_of("pos 7 vcpu 0\n");
        TEST_CHECK(err == 0 && strcmp(reply, want) == 0, "row %zu (%s): reply '%s', expected '%s'",
                   i, rows[i].pkt, reply, want);
        TEST_CHECK(strcmp(console, rows[i].console) == 0, "row %zu (%s): console '%s'", i,
                   rows[i].pkt, console);
        TEST_CHECK(quit == (rows[i].pkt[0] == 'D'), "row %zu: quit %d", i, quit);
        CU_ASSERT(gdbs_check(&s));
        free(reply);
        free(console);
    }
    CU_ASSERT(s.noack);
}

/* target.xml for each arch: gdb's architecture name and core feature, every register. */
static void test_target_xml(void)
{
    static const struct {
        enum gdbt_arch arch;
        const char *architecture, *feature, *last_reg;
        size_t nregs, g_hex;      /* register count; hex digits of a g reply */
    } rows[] = {
        { GDBT_X86_64, "<architecture>i386:x86-64</architecture>", "org.gnu.gdb.i386.core",
          "<reg name=\"fop\" bitsize=\"32\"", 40, 2 * (16 * 8 + 8 + 6 * 4 + 8 * 10 + 8 * 4) + 2 * 4 },
        { GDBT_AARCH64, "<architecture>aarch64</architecture>", "org.gnu.gdb.aarch64.core",
          "<reg name=\"cpsr\" bitsize=\"32\"", 34, 2 * (33 * 8 + 4) },
        { GDBT_ARM, "<architecture>arm</architecture>", "org.gnu.gdb.arm.core",
          "<reg name=\"cpsr\" bitsize=\"32\"", 17, 2 * 17 * 4 },
    };
    for (size_t i = 0; i < TEST_N(rows); i++) {
        size_t n;
        const struct gdbt_reg *regs = gdbt_regs(rows[i].arch, &n);
        TEST_CHECK(n == rows[i].nregs, "row %zu: %zu registers", i, n);
        size_t bits = 0;
        for (size_t k = 0; k < n; k++)
            bits += regs[k].bits;
        TEST_CHECK(bits / 4 == rows[i].g_hex, "row %zu: a g reply of %zu hex digits", i,
                   bits / 4);
        struct fake f = { 0 };
        struct gdbt t = { .arch = rows[i].arch, .nvcpus = 1, .ctx = &f,
                          .current = fake_current };
        struct gdbs s;
        gdbs_init(&s, &t);
        char *reply = NULL;
        size_t rlen = 0;
        FILE *r = open_memstream(&reply, &rlen), *c = fopen("/dev/null", "w");
        bool quit;
        const char *pkt = "qXfer:features:read:target.xml:0,3fff";
        CU_ASSERT_EQUAL(gdbs_handle(&s, pkt, strlen(pkt), r, c, &quit), 0);
        fclose(r);
        fclose(c);
        TEST_CHECK(reply[0] == 'l' && strstr(reply, rows[i].architecture) &&
                       strstr(reply, rows[i].feature) && strstr(reply, rows[i].last_reg),
                   "row %zu: target.xml %s", i, reply);
        size_t nreg = 0;
        for (const char *q = reply; (q = strstr(q, "<reg ")); q++)
            nreg++;
        TEST_CHECK(nreg == n, "row %zu: %zu <reg> elements", i, nreg);
        free(reply);
    }
}

void test_gdbserver_register(void)
{
    CU_pSuite s = CU_add_suite("gdbserver", NULL, NULL);
    CU_add_test(s, "framing", test_framing);
    CU_add_test(s, "unframe", test_unframe);
    CU_add_test(s, "session", test_session);
    CU_add_test(s, "target_xml", test_target_xml);
}
