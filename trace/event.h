/*
 * event.h - trace events in memory: the kinds and structs expanded from events.def, the
 * canonical JSON encoding of their detail, and the sink through which sim/ and the models
 * hand events to whoever records or compares them.
 *
 * An event is (seq, vm, vcpu, icount, kind, pc, detail). `detail` is the canonical JSON text
 * of the kind's fields, in events.def order, produced only by hv_event_encode(); two events
 * are equal exactly when all seven columns are byte-identical, which is what replay compares.
 * An event from sim/ also carries its fields as the kind's struct: the trace writer stores
 * those, typed, and never parses the detail.
 */
#ifndef HV_EVENT_H
#define HV_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trace/events.def"

struct hv_bytes {
    const uint8_t *p;
    size_t n;
};

#define HV_FT_U64  uint64_t
#define HV_FT_I64  int64_t
#define HV_FT_ADDR uint64_t
#define HV_FT_STR  const char *
#define HV_FT_BOOL bool
#define HV_FT_HEX  struct hv_bytes
#define HV_FT_JSON const char *

enum hv_ev_kind {
#define HV_EV_ENUM_(k, kdoc, ...) HV_EV_##k,
#define HV_F_NONE_(t, n, d)
    HV_EVENTS(HV_EV_ENUM_, HV_F_NONE_)
#undef HV_EV_ENUM_
    HV_EV__COUNT
};

/* struct hv_ev_<kind> holds the kind's fields; kinds without fields get a dummy byte. */
#define HV_F_MEMBER_(t, n, d) HV_FT_##t n;
#define HV_EV_STRUCT_(k, kdoc, ...) struct hv_ev_##k { char unused_; __VA_ARGS__ };
HV_EVENTS(HV_EV_STRUCT_, HV_F_MEMBER_)
#undef HV_EV_STRUCT_

enum hv_field_type { HV_FIELD_U64, HV_FIELD_I64, HV_FIELD_ADDR, HV_FIELD_STR, HV_FIELD_BOOL,
                     HV_FIELD_HEX, HV_FIELD_JSON };

struct hv_field_desc {
    const char *name;
    const char *doc;
    enum hv_field_type type;
    size_t offset;
    const char *key;       /* "name": as the detail writes it (the name as a JSON string) */
    size_t keylen;
};

struct hv_kind_desc {
    const char *name;
    const char *doc;
    const struct hv_field_desc *fields;
    size_t nfields;
};

/* Descriptor of a kind; NULL if kind is out of range. */
const struct hv_kind_desc *hv_kind_desc(enum hv_ev_kind kind);
/* Kind for a name, or -1. */
int hv_kind_lookup(const char *name);

struct hv_event {
    uint64_t seq;
    uint32_t vm;           /* which VM of the run: 0 the first, n the destination of the n-th
                            * migration (struct hv_vm_config.vm_id) */
    int32_t vcpu;          /* -1: the VM or host */
    uint64_t icount;       /* that vCPU's retired instructions when the event happened */
    enum hv_ev_kind kind;
    uint64_t pc;           /* exact pc of the instruction, 0 for VM events */
    const char *detail;    /* canonical JSON object; borrowed, valid during the sink call */
    size_t detail_len;
    const void *fields;    /* struct hv_ev_<kind> the detail encodes, or NULL (an event read
                            * back from a trace); borrowed, valid during the sink call */
};

/*
 * Encodes the fields of a kind (a pointer to struct hv_ev_<kind>) as canonical JSON into
 * buf. Returns the length; if it is >= size the text was cut and the caller must retry with
 * a larger buffer.
 */
size_t hv_event_encode(char *buf, size_t size, enum hv_ev_kind kind, const void *fields);

/* Writes v in decimal at p (a '-' first when neg: v is then the two's complement of the
 * value), which has room for 21 bytes; returns the end. No NUL. */
char *hv_dec(char *p, uint64_t v, bool neg);

/* Writes n bytes as 2n lowercase hex digits and a NUL into out (2n + 1 bytes). */
void hv_hex(const uint8_t *p, size_t n, char *out);

/* Appends s as a JSON string literal (with quotes) to buf at *len and NUL-terminates it when
 * there is room; *len grows by the full length even when buf is too small. */
void hv_json_str(char *buf, size_t size, size_t *len, const char *s);

/*
 * The sink receives every event in order. It returns 0, or a negative hv_err to abort the
 * run (a write failure, or a replay divergence: HV_EDIVERGED).
 */
typedef int (*hv_event_sink_fn)(void *ctx, const struct hv_event *ev);

#endif
