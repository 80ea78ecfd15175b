/*
 * explain.h - one plain sentence per event, for `hvsim show --explain` and `hvsim run
 * --explain` (docs/trace-format.md, "Narration").
 *
 * Each kind of trace/events.def has its own sentence, built from the event's fields; the
 * table of them is expanded from events.def, so a kind added without a sentence does not
 * compile.
 */
#ifndef HV_NARRATE_EXPLAIN_H
#define HV_NARRATE_EXPLAIN_H

#include <stddef.h>
#include <stdio.h>

#include "trace/event.h"

struct explainer;

/* Caller owns *out; release with explainer_close(). 0 or HV_ENOMEM. */
int explainer_open(struct explainer **out);
void explainer_close(struct explainer *x);

/*
 * The sentence for ev (its kind, vcpu and detail JSON; a NULL detail reads as {}), without
 * the seq, into buf (always terminated, cut at size). Returns the sentence's full length.
 */
size_t explain_event(struct explainer *x, const struct hv_event *ev, char *buf, size_t size);

/* "seq N: sentence" (with "VM v, " after the seq for a VM other than 0) and a line break. */
void explain_line(struct explainer *x, const struct hv_event *ev, FILE *out);

#endif
