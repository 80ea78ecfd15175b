/*
 * gdbserver.h - a GDB remote serial protocol server over a replay target (debug/gdbtarget.h),
 * with reverse execution.
 *
 * What gdb can do through it: read registers (target.xml from qXfer:features:read) and memory
 * of any vCPU (threads: qfThreadInfo, Hg/Hc, T), set breakpoints (Z0/Z1) and watchpoints
 * (Z2 write, Z3 read, Z4 access), continue and step forward (c, s, vCont) and backward (bc,
 * bs), and send `monitor` commands (qRcmd) to the target. Writes (G, P, M, X) are refused:
 * a recording cannot be changed. The stop replies name the thread, the watchpoint that fired,
 * and `replaylog:begin` / `replaylog:end` at the edges of the recording; when a watchpoint
 * fired on a write the guest's own store did not make (the model's, the host's), a console
 * packet (O) says who wrote before the stop reply.
 *
 * The server is one state (struct gdbs) and three layers, each usable alone: packet framing
 * (gdbs_frame, gdbs_unframe), the packet handler (gdbs_handle: one packet in, the reply and
 * any console output out), and the session loop over a socket (gdbs_serve).
 *
 * Invariants (gdbs_check()):
 *  1. gvcpu < t->nvcpus; cvcpu < t->nvcpus or cvcpu == GDBS_ALL.
 *  2. npoints <= GDBS_MAX_POINTS, and no two points have the same (type, addr, len).
 */
#ifndef HV_DEBUG_GDBSERVER_H
#define HV_DEBUG_GDBSERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "debug/gdbtarget.h"

#define GDBS_MAX_POINTS GDBT_MAX_POINTS
#define GDBS_ALL ((unsigned)-1)
/* The largest packet either side sends (PacketSize in qSupported). */
#define GDBS_PACKET_MAX 16384

struct gdbs {
    const struct gdbt *t;          /* borrowed; outlives the server */
    bool noack;                    /* QStartNoAckMode accepted: no +/- from here on */
    unsigned gvcpu;                /* Hg: the vCPU g, p and m read; a stop reply makes
                                    * it the stopped vCPU, as gdb then assumes */
    unsigned cvcpu;                /* Hc: the vCPU s and bs step, or GDBS_ALL */
    struct gdbt_point points[GDBS_MAX_POINTS];
    size_t npoints;
    struct gdbt_stop last;         /* the last stop, for `?` */
    FILE *log;                     /* when set, every packet in and out is logged here */
};

/* Caller's storage; t is borrowed. The position starts as a stop of t->current(). */
void gdbs_init(struct gdbs *s, const struct gdbt *t);
bool gdbs_check(const struct gdbs *s);

/*
 * Handles one packet's payload (pkt, len bytes, without $ and #checksum) and writes the
 * reply's payload to reply and console output (the payloads of O packets, hex-encoded, one
 * per line) to console. *quit is set when gdb detached or killed. Returns 0, or a target's
 * negative code from a resume that failed (the session cannot go on).
 */
int gdbs_handle(struct gdbs *s, const char *pkt, size_t len, FILE *reply, FILE *console,
                bool *quit);

/* Writes the stop reply of st to out (T05... with thread, watch and replaylog fields). */
void gdbs_stop_reply(const struct gdbs *s, const struct gdbt_stop *st, FILE *out);

/* Writes "$payload#cs" with }-escaping of # $ } * to out. */
void gdbs_frame(const char *payload, size_t len, FILE *out);
/*
 * Finds the first packet in buf[0 .. len-1]. Returns the bytes it consumed (0: no whole
 * packet yet); *kind is '$' for a packet (payload unescaped into pkt, *pktlen set, *ok
 * whether the checksum matched), '+' / '-' for an ack, 3 for an interrupt, or 0 for a byte
 * that is none of these (skipped). pkt has room for GDBS_PACKET_MAX bytes.
 */
size_t gdbs_unframe(const char *buf, size_t len, int *kind, char *pkt, size_t *pktlen,
                    bool *ok);

/*
 * Listens on 127.0.0.1:port (0: any free port) and returns the listening socket, or a
 * negative HV_E* code. *bound receives the port.
 */
int gdbs_listen(int port, int *bound);
/* Accepts one gdb on lfd and serves it until it detaches, kills or disconnects. Returns 0,
 * or a negative HV_E* code. */
int gdbs_serve(struct gdbs *s, int lfd);

#endif
