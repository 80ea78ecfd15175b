/*
 * gdbcursor.h - the gdb server's target (debug/gdbtarget.h) over a trace's re-execution
 * cursor (debug/cursor.h), and the `monitor` commands that know hypervisor events.
 *
 * Positions are the cursor's stop points: before a vCPU's instruction or just after an
 * event. Stepping is the cursor's stepi of one vCPU; continuing runs the cursor with a
 * predicate (the breakpoint addresses) and the watchpoints' guest-physical ranges, so a write
 * watchpoint also stops on a model's, the host's or an xinterface write, and says whose; a
 * read or access watchpoint (rwatch, awatch) stops on the guest's loads, like a store.
 * Backward, a watched write stops just before it: before the storing instruction, or after
 * the event that precedes a model or host write. (On Arm, where gdb steps over the access
 * itself, a guest store stops before the storing instruction forward, after it backward.)
 *
 * monitor commands (gdbc_monitor):
 *   seq                      the current position and its event
 *   seek SEQ                 to just after event SEQ
 *   events [N]               the N events (default 5) either side of the current one
 *   blame ADDR [LEN]         the last writer of each byte (ADDR through the selected vCPU)
 *   until COND               forward to the next event whose row of the trace's `events`
 *   reverse-until COND       view matches the SQL condition COND; backward to the previous
 */
#ifndef HV_DEBUG_GDBCURSOR_H
#define HV_DEBUG_GDBCURSOR_H

#include "debug/cursor.h"
#include "debug/gdbtarget.h"

struct gdbc;

/* c and trace (the trace's path, for SQL over its events) are borrowed and outlive *out.
 * Caller owns *out; release with gdbc_destroy(). */
int gdbc_create(struct gdbc **out, struct hv_cursor *c, const char *trace);
void gdbc_destroy(struct gdbc *g);
bool gdbc_check(const struct gdbc *g);
/* The target; borrowed, valid until gdbc_destroy(). */
const struct gdbt *gdbc_target(struct gdbc *g);

#endif
