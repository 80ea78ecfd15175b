/*
 * gdbserver.c - the GDB remote serial protocol over a replay target (see gdbserver.h).
 *
 * The protocol is gdb's "Remote Protocol" appendix: packets, qSupported, qXfer target
 * descriptions, thread ids, Z/z points, vCont, the reverse packets bc/bs and the stop reply
 * fields (watch/rwatch/awatch, swbreak/hwbreak, replaylog). Thread ids are vCPU + 1.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "debug/gdbserver.h"
#include "sim/hv_err.h"

static const char hexdig[] = "0123456789abcdef";

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static void put_hex(FILE *out, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        fputc(hexdig[b[i] >> 4], out);
        fputc(hexdig[b[i] & 15], out);
    }
}

/* A hex number at *p (advanced past it). Returns -1 when there is none or it overflows. */
static int parse_hex(const char **p, const char *end, uint64_t *v)
{
    const char *q = *p;
    uint64_t x = 0;
    while (q < end && hexval(*q) >= 0) {
        if (x >> 60)
            return -1;
        x = x << 4 | (uint64_t)hexval(*q);
        q++;
    }
    if (q == *p)
        return -1;
    *p = q;
    *v = x;
    return 0;
}

/* A thread id: "-1" (all), "0" (any) or a hex id naming a vCPU. Returns the vCPU, GDBS_ALL for
 * -1, `any` for 0, or -1 for an id that names no vCPU. */
static int64_t parse_tid(const struct gdbs *s, const char **p, const char *end, unsigned any)
{
    if (end - *p >= 2 && (*p)[0] == '-' && (*p)[1] == '1') {
        *p += 2;
        return GDBS_ALL;
    }
    uint64_t id;
    if (parse_hex(p, end, &id) < 0)
        return -1;
    if (id == 0)
        return any;
    return id <= s->t->nvcpus ? (int64_t)(id - 1) : -1;
}

void gdbs_init(struct gdbs *s, const struct gdbt *t)
{
    memset(s, 0, sizeof *s);
    s->t = t;
    s->last.why = GDBT_STOP_STEP;
    s->last.vcpu = t->current(t->ctx);
    s->gvcpu = s->last.vcpu;
    s->cvcpu = GDBS_ALL;
    assert(gdbs_check(s));
}

bool gdbs_check(const struct gdbs *s)
{
    if (s->gvcpu >= s->t->nvcpus || (s->cvcpu != GDBS_ALL && s->cvcpu >= s->t->nvcpus))
        return false;
    if (s->npoints > GDBS_MAX_POINTS)
        return false;
    for (size_t i = 0; i < s->npoints; i++)
        for (size_t j = i + 1; j < s->npoints; j++)
            if (s->points[i].type == s->points[j].type && s->points[i].addr == s->points[j].addr
                && s->points[i].len == s->points[j].len)
                return false;
    return true;
}

void gdbs_stop_reply(const struct gdbs *s, const struct gdbt_stop *st, FILE *out)
{
    (void)s;
    fprintf(out, "T05thread:%x;", st->vcpu + 1);
    switch (st->why) {
    case GDBT_STOP_STEP:
        break;
    case GDBT_STOP_BREAK:
        fputs("swbreak:;", out);
        break;
    case GDBT_STOP_WATCH:
        fprintf(out, "%s:%" PRIx64 ";",
                st->wtype == GDBT_WATCH_READ     ? "rwatch"
                : st->wtype == GDBT_WATCH_ACCESS ? "awatch"
                                                 : "watch",
                st->waddr);
        break;
    case GDBT_STOP_BEGIN:
        fputs("replaylog:begin;", out);
        break;
    case GDBT_STOP_END:
        fputs("replaylog:end;", out);
        break;
    }
}

/* The target description of the target's arch. */
static void target_xml(const struct gdbs *s, FILE *out)
{
    size_t n;
    const struct gdbt_reg *regs = gdbt_regs(s->t->arch, &n);
    fprintf(out,
            "<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
            "<target version=\"1.0\">\n<architecture>%s</architecture>\n"
            "<feature name=\"%s\">\n",
            gdbt_arch_name(s->t->arch), gdbt_feature_name(s->t->arch));
    for (size_t i = 0; i < n; i++)
        fprintf(out, "<reg name=\"%s\" bitsize=\"%u\" type=\"%s\"%s/>\n", regs[i].name,
                regs[i].bits, regs[i].type,
                strcmp(regs[i].type, "i387_ext") == 0 || regs[i].name[0] == 'f'
                    ? " group=\"float\""
                    : "");
    fputs("</feature>\n</target>\n", out);
}

/* qXfer:features:read:ANNEX:OFF,LEN */
static void xfer_features(const struct gdbs *s, const char *p, const char *end, FILE *reply)
{
    static const char annex[] = "target.xml:";
    uint64_t off, len;
    if ((size_t)(end - p) < sizeof annex - 1 || memcmp(p, annex, sizeof annex - 1) != 0) {
        fputs("E00", reply);
        return;
    }
    p += sizeof annex - 1;
    if (parse_hex(&p, end, &off) < 0 || p >= end || *p++ != ',' ||
        parse_hex(&p, end, &len) < 0) {
        fputs("E00", reply);
        return;
    }
    char *xml = NULL;
    size_t xlen = 0;
    FILE *f = open_memstream(&xml, &xlen);
    if (!f) {
        fputs("E0c", reply);
        return;
    }
    target_xml(s, f);
    fclose(f);
    if (off > xlen)
        off = xlen;
    size_t take = xlen - off < len ? xlen - off : len;
    fputc(off + take < xlen ? 'm' : 'l', reply);
    fwrite(xml + off, 1, take, reply);
    free(xml);
}

static void read_regs(const struct gdbs *s, int64_t only, FILE *reply)
{
    size_t n;
    const struct gdbt_reg *regs = gdbt_regs(s->t->arch, &n);
    if (only >= (int64_t)n) {
        fputs("E00", reply);
        return;
    }
    uint8_t buf[64 * GDBT_REG_MAX];
    bool valid[64];
    if (s->t->read_regs(s->t->ctx, s->gvcpu, buf, valid) < 0) {
        fputs("E0e", reply);
        return;
    }
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        size_t bytes = regs[i].bits / 8;
        if (only < 0 || (size_t)only == i) {
            if (valid[i])
                put_hex(reply, buf + off, bytes);
            else
                for (size_t k = 0; k < bytes; k++)
                    fputs("xx", reply);
        }
        off += bytes;
    }
}

static void read_mem(const struct gdbs *s, const char *p, const char *end, FILE *reply)
{
    uint64_t addr, len;
    if (parse_hex(&p, end, &addr) < 0 || p >= end || *p++ != ',' ||
        parse_hex(&p, end, &len) < 0 || p != end) {
        fputs("E01", reply);
        return;
    }
    if (len > GDBS_PACKET_MAX / 2)
        len = GDBS_PACKET_MAX / 2;
    uint8_t buf[GDBS_PACKET_MAX / 2];
    if (len && s->t->read_mem(s->t->ctx, s->gvcpu, addr, buf, len) == 0) {
        put_hex(reply, buf, len);
        return;
    }
    /* a range that ends in unreadable memory: the readable prefix, as gdb accepts */
    size_t got = 0;
    while (got < len && addr + got >= addr &&
           s->t->read_mem(s->t->ctx, s->gvcpu, addr + got, buf + got, 1) == 0)
        got++;
    if (got || !len)
        put_hex(reply, buf, got);
    else
        fputs("E14", reply);
}

/* Z/z TYPE,ADDR,KIND */
static void point(struct gdbs *s, bool add, const char *p, const char *end, FILE *reply)
{
    uint64_t type, addr, kind;
    if (parse_hex(&p, end, &type) < 0 || p >= end || *p++ != ',' ||
        parse_hex(&p, end, &addr) < 0 || p >= end || *p++ != ',' ||
        parse_hex(&p, end, &kind) < 0) {
        fputs("E01", reply);
        return;
    }
    if (type > GDBT_WATCH_ACCESS || (type >= GDBT_WATCH_READ && !s->t->read_watch))
        return;     /* an empty reply: a kind of point this target cannot stop at */
    struct gdbt_point pt = { (enum gdbt_point_type)type, addr, kind };
    size_t i = 0;
    while (i < s->npoints && !(s->points[i].type == pt.type && s->points[i].addr == pt.addr &&
                               s->points[i].len == pt.len))
        i++;
    if (add && i == s->npoints) {
        if (s->npoints == GDBS_MAX_POINTS) {
            fputs("E0c", reply);
            return;
        }
        s->points[s->npoints++] = pt;
    } else if (!add && i < s->npoints) {
        s->points[i] = s->points[--s->npoints];
    }
    fputs("OK", reply);
}

static int resume(struct gdbs *s, bool reverse, bool step, bool alone, unsigned vcpu,
                  FILE *reply, FILE *console)
{
    struct gdbt_resume r = { reverse, step, alone, vcpu, s->points, s->npoints };
    struct gdbt_stop st;
    memset(&st, 0, sizeof st);
    int err = s->t->resume(s->t->ctx, &r, &st);
    if (err < 0)
        return err;
    s->last = st;
    s->gvcpu = st.vcpu;     /* gdb takes the stopped thread as the stub's general thread */
    if (st.why == GDBT_STOP_WATCH && st.writer[0]) {
        char line[sizeof st.writer + 32];
        int n = snprintf(line, sizeof line, "watchpoint: written by %s\n", st.writer);
        put_hex(console, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
        fputc('\n', console);
    }
    gdbs_stop_reply(s, &st, reply);
    return 0;
}

/* The vCPU a step without a named thread applies to. */
static unsigned step_vcpu(const struct gdbs *s)
{
    return s->cvcpu != GDBS_ALL ? s->cvcpu : s->gvcpu;
}

/* vCont;ACTION[:TID];... - steps the thread of the first s/S action, else continues: all
 * vCPUs, or one alone when the only action is a continue of that thread. */
static int vcont(struct gdbs *s, const char *p, const char *end, FILE *reply, FILE *console)
{
    int actions = 0;
    int64_t alone = -1;
    while (p < end && *p == ';') {
        actions++;
        p++;
        char act = p < end ? *p++ : 0;
        if (act == 'C' || act == 'S') {
            uint64_t sig;
            if (parse_hex(&p, end, &sig) < 0) {
                fputs("E01", reply);
                return 0;
            }
        }
        unsigned vcpu = s->last.vcpu;
        if (p < end && *p == ':') {
            p++;
            int64_t v = parse_tid(s, &p, end, s->last.vcpu);
            if (v < 0) {
                fputs("E01", reply);
                return 0;
            }
            vcpu = v == GDBS_ALL ? s->last.vcpu : (unsigned)v;
            if (v != GDBS_ALL)
                alone = vcpu;
        } else
            alone = -1;
        if (act == 's' || act == 'S')
            return resume(s, false, true, false, vcpu, reply, console);
        if (act != 'c' && act != 'C') {
            fputs("E01", reply);
            return 0;
        }
    }
    if (actions == 1 && alone >= 0)
        return resume(s, false, false, true, (unsigned)alone, reply, console);
    return resume(s, false, false, false, 0, reply, console);
}

static void monitor(struct gdbs *s, const char *p, const char *end, FILE *reply)
{
    size_t n = (size_t)(end - p) / 2;
    char *cmd = malloc(n + 1);
    if (!cmd) {
        fputs("E0c", reply);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(p[2 * i]), lo = hexval(p[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(cmd);
            fputs("E01", reply);
            return;
        }
        cmd[i] = (char)(hi << 4 | lo);
    }
    cmd[n] = 0;
    char *text = NULL;
    size_t tlen = 0;
    FILE *out = open_memstream(&text, &tlen);
    if (!out) {
        free(cmd);
        fputs("E0c", reply);
        return;
    }
    bool moved = false;
    struct gdbt_stop st;
    memset(&st, 0, sizeof st);
    int err = s->t->monitor(s->t->ctx, cmd, s->gvcpu, out, &moved, &st);
    if (err < 0)
        fprintf(out, "error: %s\n", hv_strerror(err));
    fclose(out);
    if (moved)
        s->last = st;
    if (tlen)
        put_hex(reply, text, tlen);
    else
        fputs("OK", reply);
    free(text);
    free(cmd);
}

static bool starts(const char *p, size_t len, const char *word)
{
    size_t n = strlen(word);
    return len >= n && memcmp(p, word, n) == 0;
}

int gdbs_handle(struct gdbs *s, const char *pkt, size_t len, FILE *reply, FILE *console,
                bool *quit)
{
    const char *end = pkt + len, *p = pkt + 1;
    int err = 0;
    *quit = false;
    if (len == 0)
        return 0;
    switch (pkt[0]) {
    case '?':
        s->gvcpu = s->last.vcpu;
        gdbs_stop_reply(s, &s->last, reply);
        break;
    case 'g':
        read_regs(s, -1, reply);
        break;
    case 'p': {
        uint64_t r;
        if (parse_hex(&p, end, &r) < 0 || r > 255)
            fputs("E01", reply);
        else
            read_regs(s, (int64_t)r, reply);
        break;
    }
    case 'm':
        read_mem(s, p, end, reply);
        break;
    case 'G': case 'P': case 'M': case 'X':
        fputs("E01", reply);     /* the recording is read-only */
        break;
    case 'H': {
        char which = p < end ? *p++ : 0;
        int64_t v = parse_tid(s, &p, end, s->last.vcpu);
        if ((which != 'g' && which != 'c') || v < 0 || (which == 'g' && v == GDBS_ALL)) {
            fputs("E01", reply);
            break;
        }
        if (which == 'g')
            s->gvcpu = (unsigned)v;
        else
            s->cvcpu = (unsigned)v;
        fputs("OK", reply);
        break;
    }
    case 'T': {
        int64_t v = parse_tid(s, &p, end, 0);
        fputs(v >= 0 && v != GDBS_ALL ? "OK" : "E01", reply);
        break;
    }
    case 'Z': case 'z':
        point(s, pkt[0] == 'Z', p, end, reply);
        break;
    case 'c': case 'C':
        err = resume(s, false, false, false, 0, reply, console);
        break;
    case 's': case 'S':
        err = resume(s, false, true, false, step_vcpu(s), reply, console);
        break;
    case 'b':
        if (len == 2 && (pkt[1] == 'c' || pkt[1] == 's'))
            err = resume(s, true, pkt[1] == 's', false, step_vcpu(s), reply, console);
        break;
    case 'D':
        fputs("OK", reply);
        *quit = true;
        break;
    case 'k':
        *quit = true;
        break;
    case 'q':
        if (starts(pkt, len, "qSupported"))
            fprintf(reply, "PacketSize=%x;qXfer:features:read+;QStartNoAckMode+;"
                           "ReverseStep+;ReverseContinue+;swbreak+;hwbreak+",
                    GDBS_PACKET_MAX);
        else if (starts(pkt, len, "qXfer:features:read:"))
            xfer_features(s, pkt + 20, end, reply);
        else if (len == 9 && starts(pkt, len, "qAttached"))
            fputs("1", reply);
        else if (len == 2 && pkt[1] == 'C')
            fprintf(reply, "QC%x", s->last.vcpu + 1);
        else if (starts(pkt, len, "qfThreadInfo")) {
            fputc('m', reply);
            for (unsigned i = 0; i < s->t->nvcpus; i++)
                fprintf(reply, "%s%x", i ? "," : "", i + 1);
        } else if (starts(pkt, len, "qsThreadInfo"))
            fputc('l', reply);
        else if (starts(pkt, len, "qThreadExtraInfo,")) {
            const char *q = pkt + 17;
            int64_t v = parse_tid(s, &q, end, s->last.vcpu);
            char text[32];
            if (v < 0 || v == GDBS_ALL) {
                fputs("E01", reply);
                break;
            }
            int n = snprintf(text, sizeof text, "vCPU %u", (unsigned)v);
            put_hex(reply, text, (size_t)n);
        } else if (starts(pkt, len, "qRcmd,"))
            monitor(s, pkt + 6, end, reply);
        else if (starts(pkt, len, "qSymbol"))
            fputs("OK", reply);
        break;
    case 'Q':
        if (len == 15 && starts(pkt, len, "QStartNoAckMode")) {
            s->noack = true;
            fputs("OK", reply);
        }
        break;
    case 'v':
        if (len == 6 && starts(pkt, len, "vCont?"))
            fputs("vCont;c;C;s;S", reply);
        else if (starts(pkt, len, "vCont;"))
            err = vcont(s, pkt + 5, end, reply, console);
        else if (starts(pkt, len, "vKill")) {
            fputs("OK", reply);
            *quit = true;
        }
        break;
    default:
        break;
    }
    assert(gdbs_check(s));
    return err;
}

void gdbs_frame(const char *payload, size_t len, FILE *out)
{
    unsigned sum = 0;
    fputc('$', out);
    for (size_t i = 0; i < len; i++) {
        char c = payload[i];
        if (c == '#' || c == '$' || c == '}' || c == '*') {
            fputc('}', out);
            sum += '}';
            c ^= 0x20;
        }
        fputc(c, out);
        sum += (uint8_t)c;
    }
    fprintf(out, "#%02x", sum & 0xff);
}

size_t gdbs_unframe(const char *buf, size_t len, int *kind, char *pkt, size_t *pktlen,
                    bool *ok)
{
    if (len == 0)
        return 0;
    if (buf[0] != '$') {
        *kind = buf[0] == '+' || buf[0] == '-' || buf[0] == 3 ? buf[0] : 0;
        return 1;
    }
    const char *hash = memchr(buf, '#', len);
    if (!hash || (size_t)(hash - buf) + 3 > len)
        return 0;
    unsigned sum = 0;
    size_t n = 0;
    bool fits = true;
    for (const char *q = buf + 1; q < hash; q++) {
        sum += (uint8_t)*q;
        char c = *q;
        if (c == '}' && q + 1 < hash) {
            q++;
            sum += (uint8_t)*q;
            c = (char)(*q ^ 0x20);
        }
        if (n < GDBS_PACKET_MAX)
            pkt[n++] = c;
        else
            fits = false;
    }
    int hi = hexval(hash[1]), lo = hexval(hash[2]);
    *kind = '$';
    *pktlen = n;
    *ok = fits && hi >= 0 && lo >= 0 && (unsigned)(hi << 4 | lo) == (sum & 0xff);
    return (size_t)(hash - buf) + 3;
}

int gdbs_listen(int port, int *bound)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return hv_error_set(HV_EIO, "socket: %s", strerror(errno));
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 1) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
        int e = errno;
        close(fd);
        return hv_error_set(HV_EIO, "port %d: %s", port, strerror(e));
    }
    *bound = ntohs(a.sin_port);
    return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return hv_error_set(HV_EIO, "gdb connection: %s", strerror(errno));
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Frames payload and sends it. */
static int send_packet(struct gdbs *s, int fd, const char *payload, size_t len)
{
    char *f = NULL;
    size_t flen = 0;
    FILE *out = open_memstream(&f, &flen);
    if (!out)
        return HV_ENOMEM;
    gdbs_frame(payload, len, out);
    fclose(out);
    if (s->log)
        fprintf(s->log, "gdb <- %.*s\n", (int)flen, f);
    int err = send_all(fd, f, flen);
    free(f);
    return err;
}

/* Handles one packet and sends its console lines and its reply. */
static int serve_packet(struct gdbs *s, int fd, const char *pkt, size_t len, bool *quit)
{
    char *reply = NULL, *console = NULL;
    size_t rlen = 0, clen = 0;
    FILE *r = open_memstream(&reply, &rlen), *c = open_memstream(&console, &clen);
    int err = HV_ENOMEM;
    if (!r || !c) {
        if (r)
            fclose(r);
        if (c)
            fclose(c);
        goto out;
    }
    err = gdbs_handle(s, pkt, len, r, c, quit);
    fclose(r);
    fclose(c);
    if (err < 0)
        goto out;
    for (char *line = console; line && line < console + clen;) {
        char *nl = memchr(line, '\n', (size_t)(console + clen - line));
        size_t n = nl ? (size_t)(nl - line) : (size_t)(console + clen - line);
        char o[GDBS_PACKET_MAX];
        int on = snprintf(o, sizeof o, "O%.*s", (int)n, line);
        if ((err = send_packet(s, fd, o, (size_t)on < sizeof o ? (size_t)on : sizeof o - 1)))
            goto out;
        line += n + 1;
    }
    if (pkt[0] != 'k')
        err = send_packet(s, fd, reply, rlen);
out:
    free(reply);
    free(console);
    return err;
}

int gdbs_serve(struct gdbs *s, int lfd)
{
    int fd;
    do
        fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return hv_error_set(HV_EIO, "accept: %s", strerror(errno));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    static char buf[2 * GDBS_PACKET_MAX + 8], pkt[GDBS_PACKET_MAX];
    size_t have = 0;
    int err = 0;
    bool quit = false;
    while (!quit && err == 0) {
        int kind = 0;
        size_t pktlen = 0;
        bool ok = false;
        size_t used = gdbs_unframe(buf, have, &kind, pkt, &pktlen, &ok);
        if (used == 0) {
            if (have == sizeof buf)
                have = 0;    /* a packet larger than anything gdb sends: drop it */
            ssize_t r = recv(fd, buf + have, sizeof buf - have, 0);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                break;       /* gdb went away */
            have += (size_t)r;
            continue;
        }
        memmove(buf, buf + used, have - used);
        have -= used;
        if (kind == 3) {
            /* an interrupt while stopped: report where we are */
            char *reply = NULL;
            size_t rlen = 0;
            FILE *r = open_memstream(&reply, &rlen);
            if (!r)
                return HV_ENOMEM;
            gdbs_stop_reply(s, &s->last, r);
            fclose(r);
            err = send_packet(s, fd, reply, rlen);
            free(reply);
            continue;
        }
        if (kind != '$')
            continue;
        if (s->log)
            fprintf(s->log, "gdb -> %.*s\n", (int)pktlen, pkt);
        if (!s->noack && (err = send_all(fd, ok ? "+" : "-", 1)))
            break;
        if (ok)
            err = serve_packet(s, fd, pkt, pktlen, &quit);
    }
    close(fd);
    return err;
}
