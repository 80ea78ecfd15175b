/*
 * chunk.h - internal to trace/: the event chunks of a version 3 trace, encoded and decoded.
 *
 * A chunk (one event_chunks row) holds consecutive events of one VM: the row gives the first
 * event's seq and the base icount and pc, and `events` is a JSON array with one element per
 * event, in seq order:
 *
 *     [kind, vcpu, icount - base icount, pc - base pc, field, field, ...]
 *
 * every member an integer or null, the fields in events.def order:
 *   u64, i64   the number itself (u64 in unsigned decimal, as the detail shows it);
 *   addr       the 64 bits as a signed decimal (SQL's printf('0x%x', ...) shows them);
 *   bool       1 or 0;
 *   str, hex, json  the event_strings id of the value's canonical JSON text, or null for a
 *              NULL str or json.
 * Offsets are the 64-bit differences read as signed numbers; the writer starts a new chunk
 * when one would not add back to the event's value in SQLite's int64 arithmetic
 * (chunk_fits()). Only integers and null: every chunk is valid JSON whatever the strings hold,
 * and the `events` view and this decoder read it without unescaping anything.
 *
 * The detail a decoder rebuilds is byte for byte what hv_event_encode() wrote: the same
 * tokens, the keys the file's event_kinds row names, the string texts as stored.
 */
#ifndef HV_TRACE_CHUNK_H
#define HV_TRACE_CHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trace/event.h"

/* A growable text buffer. */
struct tbuf {
    char *p;
    size_t len, cap;
};

/* Room for more bytes after len (and a NUL). 0 or HV_ENOMEM. */
int tbuf_reserve(struct tbuf *b, size_t more);
int tbuf_put(struct tbuf *b, const void *s, size_t n);
void tbuf_fini(struct tbuf *b);

struct chunk_base {
    uint64_t seq;           /* of the chunk's first event */
    uint32_t vm;
    uint64_t icount, pc;    /* the first event's: the base of every offset */
};

/* Whether ev may join a chunk with base b: same VM, offsets that add back in int64. */
bool chunk_fits(const struct chunk_base *b, const struct hv_event *ev);

/*
 * Gives the id of the canonical JSON text of a str, hex or json value: the writer interns it
 * (adding it to the trace when it is new), replay only looks it up. Returns 0 with *id, 1 when
 * the text has no id, or a negative hv_err.
 */
typedef int (*chunk_str_fn)(void *ctx, const char *json, size_t len, int64_t *id);

/*
 * Remembers the ids of the last str and json values by address: most of them are the same
 * string literal ("vmcall", the model's name) event after event, and a hit saves encoding
 * and hashing the text. An entry is used only when the text at that address is still the
 * text it remembers, so the ids are the ones str would give. Zero-initialise; release with
 * chunk_memo_fini().
 */
#define CHUNK_MEMO_SLOTS 64
struct chunk_memo {
    struct {
        const char *at;     /* the value's address */
        char *text;         /* a copy of its C string; owned */
        int64_t id;
        enum hv_field_type type;
    } slot[CHUNK_MEMO_SLOTS];
};

void chunk_memo_fini(struct chunk_memo *m);

/* What chunk_encode() needs besides the event: the string ids, and room to work. */
struct chunk_coder {
    chunk_str_fn str;
    void *ctx;
    struct chunk_memo memo;
    struct tbuf scratch;    /* a string value's JSON text while str resolves it */
};

/*
 * Appends the element of ev (kind stored as kind_id; ev->fields read through its kind's
 * descriptor) to out. Returns 0, 1 when the coder's str found no id for a text (out is then
 * unchanged), or HV_ENOMEM / HV_EINVAL (a kind with fields but ev->fields NULL) / str's error.
 */
int chunk_encode(struct tbuf *out, struct chunk_coder *c, int64_t kind_id,
                 const struct hv_event *ev, const struct chunk_base *b);
void chunk_coder_fini(struct chunk_coder *c);

/* One member of an element. */
struct chunk_tok {
    const char *p;      /* its text in the chunk */
    size_t n;
    bool null;
    uint64_t v;         /* the value's 64 bits (a negative number in two's complement) */
};

/* Members of an element: the four common ones and at most this many fields. */
#define CHUNK_MAX_TOKS 260

/* Walks a chunk's JSON array. */
struct chunk_cursor {
    const char *text;
    size_t len, pos;
    uint64_t index;     /* of the next element */
};

void chunk_cursor_init(struct chunk_cursor *c, const char *text, size_t len);
/*
 * The next element: 1 with toks[0 .. *ntoks-1] and its raw text (raw, rawlen), 0 after the
 * last one, HV_ETRACE when the text is not a chunk (the cursor then stays put).
 */
int chunk_next(struct chunk_cursor *c, struct chunk_tok *toks, size_t *ntoks, const char **raw,
               size_t *rawlen);

/* Parses one element, exactly len bytes ('[' ... ']'). 0 or HV_ETRACE. */
int chunk_parse(const char *el, size_t len, struct chunk_tok *toks, size_t *ntoks);

/* A kind as a trace file declares it (event_kinds), for decoding its elements. */
struct chunk_field {
    char *key;              /* `{"name":` for the first field, `,"name":` after; owned */
    size_t keylen;
    enum hv_field_type type;
};

struct chunk_kind {
    char *name;             /* owned; NULL for an id the file does not use */
    struct chunk_field *fields;   /* owned */
    size_t nfields;
    int kind;               /* this build's enum hv_ev_kind of that name, or -1 */
    bool same;              /* its fields are this build's, names and types in order */
};

/* The text before a field's value in a detail: `{"name":` for the first field, `,"name":`
 * after. Caller owns the result (free()); NULL when out of memory. */
char *chunk_key(const char *name, bool first, size_t *len);
/* Adds a field to k (name, and its type name as event_kinds stores it). 0, HV_ENOMEM, or
 * HV_ETRACE for a type name that is not one. */
int chunk_kind_add_field(struct chunk_kind *k, const char *name, const char *type);
/* Sets k->kind and k->same from this build's descriptors. */
void chunk_kind_resolve(struct chunk_kind *k);
void chunk_kind_fini(struct chunk_kind *k);
/* Type names of event_kinds.fields: "u64", "i64", "addr", "str", "bool", "hex", "json". */
const char *chunk_type_name(enum hv_field_type t);

/* Gives the text of string id (borrowed), or NULL when the trace has no such id. */
typedef const char *(*chunk_text_fn)(void *ctx, int64_t id, size_t *len);

/*
 * Appends the detail of an element of kind k (toks, ntoks from chunk_next) to out. Returns 0,
 * HV_ETRACE (wrong member count, a member of the wrong form, an unknown string id) or
 * HV_ENOMEM.
 */
int chunk_detail(struct tbuf *out, const struct chunk_kind *k, const struct chunk_tok *toks,
                 size_t ntoks, chunk_text_fn text, void *ctx);

#endif
