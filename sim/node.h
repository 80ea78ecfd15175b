/*
 * node.h - a parsed document tree with source positions, and located diagnostics.
 *
 * The scenario parser (runner/scenario.c) turns YAML into this tree; models read their own
 * sections (memory, vmm, steps, expect) from it, so every error they report names the file,
 * line and column of the offending key or value. The tree owns all its strings.
 */
#ifndef HV_NODE_H
#define HV_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum hv_node_type { HV_NODE_SCALAR, HV_NODE_SEQ, HV_NODE_MAP };

struct hv_node {
    enum hv_node_type type;
    const char *file;     /* borrowed from the tree's owner */
    int line, col;        /* 1-based position of the node's first character */
    char *str;            /* SCALAR: its text (NUL-terminated) */
    bool quoted;          /* SCALAR: written in quotes (so never a number or bool) */
    size_t n;             /* SEQ/MAP: number of items */
    struct hv_node *items;   /* SEQ: items; MAP: values */
    struct hv_node *keys;    /* MAP: keys (scalars), parallel to items */
};

/* A located error. */
struct hv_diag {
    char file[512];
    int line, col;
    char msg[512];
};

/* Records "msg" at node's position in d and returns HV_ESCENARIO. */
int hv_diag_at(struct hv_diag *d, const struct hv_node *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Formats d as "file:line:col: msg". */
void hv_diag_format(const struct hv_diag *d, char *buf, size_t size);

/* Value for key in a MAP node, or NULL. Borrowed. */
const struct hv_node *hv_node_get(const struct hv_node *map, const char *key);
/* Key node for the i-th item of a MAP. */
const struct hv_node *hv_node_key(const struct hv_node *map, size_t i);

/*
 * Typed reads. Each returns 0, or HV_ESCENARIO with d filled ("key: expected an unsigned
 * integer, got 'x'"). `what` names the key for the message.
 */
int hv_node_u64(const struct hv_node *n, const char *what, uint64_t *out, struct hv_diag *d);
int hv_node_i64(const struct hv_node *n, const char *what, int64_t *out, struct hv_diag *d);
int hv_node_bool(const struct hv_node *n, const char *what, bool *out, struct hv_diag *d);
int hv_node_str(const struct hv_node *n, const char *what, const char **out,
                struct hv_diag *d);
/* Requires n to be of the given type. */
int hv_node_expect(const struct hv_node *n, enum hv_node_type t, const char *what,
                   struct hv_diag *d);
/*
 * Checks that every key of a MAP node is in the NULL-terminated list `allowed`; the first
 * unknown key is an error at that key's position ("unknown key 'x' in <what>", with the hint
 * of hv_suggest_hint()).
 */
int hv_node_check_keys(const struct hv_node *map, const char *const *allowed,
                       const char *what, struct hv_diag *d);

/*
 * "Did you mean": the name in `names` (NULL-terminated) that `word` most likely misspells.
 * Distance is the optimal string alignment distance (an insertion, deletion, substitution or
 * swap of two neighbours counts one); the closest name wins, the first in list order on a tie,
 * if its distance is 1 or 2 and at most a third of its length ("vcpu" -> "vcpus", "outcom" ->
 * "outcome"; never "ab" -> "xy"). NULL when no name is that close. Borrowed from names.
 */
const char *hv_suggest(const char *word, const char *const *names);
/*
 * The hint that ends an "unknown ... 'word'" message, written to buf and returned:
 * " (did you mean 'name'?)" when hv_suggest() finds one, else " (allowed: a, b, c)" when the
 * whole list fits in 120 characters, else "".
 */
const char *hv_suggest_hint(const char *word, const char *const *names, char *buf,
                            size_t size);

/*
 * Writes n as JSON text to buf (as snprintf: returns the full length, cut to size): maps as
 * objects, sequences as arrays, plain scalars that read as integers (hv_node_u64/i64 rules)
 * as numbers, plain true/false as booleans, `null`/`~`/empty plain scalars as null, anything
 * else as a string. For recording a scenario's expected values beside what happened.
 */
size_t hv_node_json(const struct hv_node *n, char *buf, size_t size);

/* Frees a tree built by the parser (the root and everything below). NULL is a no-op. */
void hv_node_free(struct hv_node *root);

#endif
