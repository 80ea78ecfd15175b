/*
 * strtab.h - internal to trace/: the table of a trace's strings (event_strings): the
 * canonical JSON text of every str, hex and json field value an event held, each stored once
 * and named by its id, 0, 1, 2, ... in the order they first appeared.
 *
 * The writer interns (strtab_find, then strtab_add for a new text); the reader loads the
 * file's rows in id order and resolves ids (strtab_get), and replay looks a new event's texts
 * up (strtab_find) to compare it with a recorded one without decoding it.
 *
 * Invariants (strtab_check()):
 *  1. strs[0 .. count-1] are the texts of ids 0 .. count-1, each a NUL-terminated copy.
 *  2. slots is a power-of-two open-addressing index over those ids, at most half full: every
 *     id is in exactly one slot, found by probing from its text's hash.
 */
#ifndef HV_TRACE_STRTAB_H
#define HV_TRACE_STRTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strtab_str {
    char *text;          /* owned; NUL-terminated */
    size_t len;
    uint64_t hash;
};

struct strtab {
    struct strtab_str *strs;   /* [id] */
    size_t count, cap;
    int64_t *slots;            /* ids, -1 for empty; nslots entries */
    size_t nslots;
};

void strtab_init(struct strtab *t);
void strtab_fini(struct strtab *t);
/* The id of text s (n bytes), or -1. */
int64_t strtab_find(const struct strtab *t, const char *s, size_t n);
/* Adds s (n bytes), which must not be present, as id t->count. Returns the id or HV_ENOMEM. */
int64_t strtab_add(struct strtab *t, const char *s, size_t n);
/* The text of id, or NULL when id is not in the table. Borrowed; valid until t changes. */
const char *strtab_get(const struct strtab *t, int64_t id, size_t *len);
bool strtab_check(const struct strtab *t);

#endif
