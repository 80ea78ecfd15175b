/*
 * scenario.c - scenario files: YAML text to a located hv_node tree (libyaml's event parser),
 * then the top-level contract of docs/scenario-format.md checked on that tree.
 *
 * Two passes, each reporting the first error it finds with file:line:column:
 *   1. sc_build_*: events to nodes. Refuses what the tree cannot represent faithfully or
 *      what would make two readers disagree: anchors and aliases, tags, duplicate keys,
 *      non-scalar keys, NUL bytes in scalars, more than one document, nesting deeper than
 *      SC_MAX_DEPTH.
 *   2. sc_check_*: the top-level keys, their types and ranges, the config map flattened to
 *      dotted keys, and the shape of every step.
 *
 * Invariants of a struct scenario returned to the caller:
 *   1. text[text_len] == '\0' and text holds the bytes parsed, exactly, so a trace can store
 *      it and scenario_parse() rebuilds the same scenario from it.
 *   2. Every node's `file` points to `path`; every `const char *` and node pointer in the
 *      struct points into `root`, which lives until scenario_destroy().
 *   3. config keys are unique (scenario_set() replaces rather than appends a key it finds).
 *   4. Each config entry's node is its value node in root, or (set by --set) its own
 *      set_node, which only that entry owns.
 */
#include "runner/scenario.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* Deepest nesting of maps and sequences accepted (the builder recurses once per level). */
#define SC_MAX_DEPTH 64
/* Most keys in one map, and most config entries (duplicate checks are quadratic). */
#define SC_MAX_KEYS 4096
/* Largest scenario file scenario_load() reads. */
#define SC_MAX_FILE (16u << 20)

static const char *const sc_top_keys[] = {
    "name", "description", "model", "arch", "vcpus", "seed", "quantum", "limit", "guest",
    "config", "memory", "vmm", "steps", "expect", "explore", NULL,
};
static const char *const sc_explore_keys[] = { "keep", "runs", NULL };
static const char *const sc_required_keys[] = {
    "name", "description", "model", "arch", "guest", NULL,
};
static const char *const sc_step_keys[] = { "at", "do", "args", "expect", NULL };
static const char *const sc_at_keys[] = { "sync", "icount", "seq", "leg", "vcpu", NULL };

struct sc_builder {
    yaml_parser_t parser;
    const char *file;          /* borrowed: the scenario's path */
    const char *text;
    size_t len;
    struct hv_diag *d;
};

/* Records a diagnostic at a 1-based position that has no node (yet). */
static int sc_diag_pos(struct hv_diag *d, const char *file, int line, int col,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int sc_diag_pos(struct hv_diag *d, const char *file, int line, int col,
                       const char *fmt, ...)
{
    struct hv_node where = { .type = HV_NODE_SCALAR, .file = file, .line = line, .col = col };
    char msg[sizeof d->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return hv_diag_at(d, &where, "%s", msg);
}

static int sc_diag_mark(struct sc_builder *b, yaml_mark_t m, const char *msg, const char *arg)
{
    return sc_diag_pos(b->d, b->file, (int)m.line + 1, (int)m.column + 1, "%s%s", msg,
                       arg ? arg : "");
}

/* The one conversion of a libyaml failure into HV_ESCENARIO (or HV_ENOMEM), located. */
static int sc_yaml_error(struct sc_builder *b)
{
    const yaml_parser_t *p = &b->parser;
    const char *problem = p->problem ? p->problem : "unknown error";
    switch (p->error) {
    case YAML_MEMORY_ERROR:
        sc_diag_pos(b->d, b->file, 0, 0, "out of memory while parsing YAML");
        return HV_ENOMEM;
    case YAML_READER_ERROR: {
        /* Reader errors carry a byte offset, not a mark. */
        size_t off = p->problem_offset < b->len ? p->problem_offset : b->len;
        int line = 1, col = 1;
        for (size_t i = 0; i < off; i++) {
            if (b->text[i] == '\n') {
                line++;
                col = 1;
            } else if (((unsigned char)b->text[i] & 0xc0) != 0x80) {
                col++;
            }
        }
        return sc_diag_pos(b->d, b->file, line, col, "invalid input: %s", problem);
    }
    default:
        break;
    }
    int line = (int)p->problem_mark.line + 1, col = (int)p->problem_mark.column + 1;
    if (p->context)
        return sc_diag_pos(b->d, b->file, line, col,
                           "YAML syntax error: %s (%s started at line %d, column %d)", problem,
                           p->context, (int)p->context_mark.line + 1,
                           (int)p->context_mark.column + 1);
    return sc_diag_pos(b->d, b->file, line, col, "YAML syntax error: %s", problem);
}

static int sc_next(struct sc_builder *b, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&b->parser, ev))
        return sc_yaml_error(b);
    return 0;
}

/* Refuses anchors and tags on a node-start event. */
static int sc_check_props(struct sc_builder *b, const yaml_event_t *ev)
{
    const yaml_char_t *anchor = NULL, *tag = NULL;
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        anchor = ev->data.scalar.anchor;
        tag = ev->data.scalar.tag;
        break;
    case YAML_SEQUENCE_START_EVENT:
        anchor = ev->data.sequence_start.anchor;
        tag = ev->data.sequence_start.tag;
        break;
    case YAML_MAPPING_START_EVENT:
        anchor = ev->data.mapping_start.anchor;
        tag = ev->data.mapping_start.tag;
        break;
    default:
        break;
    }
    if (anchor)
        return sc_diag_mark(b, ev->start_mark,
                            "anchors are not allowed in a scenario (write the value out): &",
                            (const char *)anchor);
    if (tag)
        return sc_diag_mark(b, ev->start_mark, "YAML tags are not allowed in a scenario: ",
                            (const char *)tag);
    return 0;
}

static int sc_build_node(struct sc_builder *b, yaml_event_t *ev, struct hv_node *out,
                         int depth);

/*
 * Adds an empty slot (an item, and a key for a map) at the end of n and returns its index.
 * The slot is filled in place, so a half-built child is always owned by its parent and a
 * failure anywhere leaves a tree that hv_node_free() can release.
 */
static int sc_add_slot(struct hv_node *n, size_t *cap)
{
    if (n->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4;
        struct hv_node *items = realloc(n->items, ncap * sizeof *items);
        if (!items)
            return HV_ENOMEM;
        n->items = items;
        if (n->type == HV_NODE_MAP) {
            struct hv_node *keys = realloc(n->keys, ncap * sizeof *keys);
            if (!keys)
                return HV_ENOMEM;
            n->keys = keys;
        }
        *cap = ncap;
    }
    n->items[n->n] = (struct hv_node){ .type = HV_NODE_SCALAR };
    if (n->type == HV_NODE_MAP)
        n->keys[n->n] = (struct hv_node){ .type = HV_NODE_SCALAR };
    n->n++;
    return 0;
}

/* Builds the items of a sequence or the pairs of a map, up to the matching end event. */
static int sc_build_children(struct sc_builder *b, struct hv_node *out, int depth)
{
    yaml_event_type_t end = out->type == HV_NODE_MAP ? YAML_MAPPING_END_EVENT
                                                     : YAML_SEQUENCE_END_EVENT;
    size_t cap = 0;
    yaml_event_t ev;
    int rc = 0;
    for (;;) {
        rc = sc_next(b, &ev);
        if (rc)
            goto out;
        if (ev.type == end) {
            yaml_event_delete(&ev);
            goto out;
        }
        if (out->type == HV_NODE_MAP && out->n == SC_MAX_KEYS)
            rc = sc_diag_pos(b->d, b->file, (int)ev.start_mark.line + 1,
                             (int)ev.start_mark.column + 1,
                             "too many keys in one map (the most is %d)", SC_MAX_KEYS);
        else
            rc = sc_add_slot(out, &cap);
        if (rc) {
            yaml_event_delete(&ev);
            goto out;
        }
        size_t i = out->n - 1;
        if (out->type == HV_NODE_MAP) {
            struct hv_node *key = &out->keys[i];
            rc = sc_build_node(b, &ev, key, depth + 1);
            if (rc)
                goto out;
            if (key->type != HV_NODE_SCALAR) {
                rc = hv_diag_at(b->d, key, "map keys must be plain strings, not %s",
                                key->type == HV_NODE_MAP ? "maps" : "sequences");
                goto out;
            }
            for (size_t j = 0; j < i; j++) {
                if (strcmp(out->keys[j].str, key->str) == 0) {
                    rc = hv_diag_at(b->d, key, "duplicate key '%s' (first at line %d, "
                                    "column %d)", key->str, out->keys[j].line,
                                    out->keys[j].col);
                    goto out;
                }
            }
            rc = sc_next(b, &ev);
            if (rc)
                goto out;
        }
        rc = sc_build_node(b, &ev, &out->items[i], depth + 1);
        if (rc)
            goto out;
    }
out:
    return rc;
}

/*
 * Builds the node that starts with *ev (consumed here) into *out, an empty slot. On failure
 * *out may be partly built; it stays valid for hv_node_free() of the whole tree.
 */
static int sc_build_node(struct sc_builder *b, yaml_event_t *ev, struct hv_node *out,
                         int depth)
{
    int rc = 0;
    *out = (struct hv_node){ .type = HV_NODE_SCALAR, .file = b->file,
                             .line = (int)ev->start_mark.line + 1,
                             .col = (int)ev->start_mark.column + 1 };
    if (ev->type == YAML_ALIAS_EVENT) {
        rc = sc_diag_mark(b, ev->start_mark,
                          "aliases are not allowed in a scenario (write the value out): *",
                          (const char *)ev->data.alias.anchor);
        goto out;
    }
    rc = sc_check_props(b, ev);
    if (rc)
        goto out;
    switch (ev->type) {
    case YAML_SCALAR_EVENT: {
        const char *v = (const char *)ev->data.scalar.value;
        size_t len = ev->data.scalar.length;
        if (memchr(v, '\0', len)) {
            rc = sc_diag_mark(b, ev->start_mark, "a NUL character is not allowed in a value",
                              NULL);
            goto out;
        }
        out->str = malloc(len + 1);
        if (!out->str) {
            rc = HV_ENOMEM;
            goto out;
        }
        memcpy(out->str, v, len);
        out->str[len] = '\0';
        out->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
        break;
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        if (depth >= SC_MAX_DEPTH) {
            rc = hv_diag_at(b->d, out, "nesting deeper than %d levels", SC_MAX_DEPTH);
            goto out;
        }
        out->type = ev->type == YAML_MAPPING_START_EVENT ? HV_NODE_MAP : HV_NODE_SEQ;
        yaml_event_delete(ev);     /* zeroes *ev, so the delete below is a no-op */
        rc = sc_build_children(b, out, depth);
        break;
    default:
        /* libyaml only hands out node events here. */
        rc = sc_diag_mark(b, ev->start_mark, "unexpected YAML event", NULL);
        break;
    }
out:
    yaml_event_delete(ev);
    return rc;
}

/* Parses text into *root: exactly one document whose root is a map. */
static int sc_build(struct hv_node **root, const char *file, const char *text, size_t len,
                    struct hv_diag *d)
{
    struct sc_builder b = { .file = file, .text = text, .len = len, .d = d };
    struct hv_node *n = NULL;
    yaml_event_t ev;
    int rc = 0;
    if (!yaml_parser_initialize(&b.parser))
        return HV_ENOMEM;
    yaml_parser_set_input_string(&b.parser, (const unsigned char *)text, len);
    yaml_parser_set_encoding(&b.parser, YAML_UTF8_ENCODING);

    rc = sc_next(&b, &ev);     /* STREAM-START */
    if (rc)
        goto out;
    yaml_event_delete(&ev);
    rc = sc_next(&b, &ev);
    if (rc)
        goto out;
    if (ev.type == YAML_STREAM_END_EVENT) {
        yaml_event_delete(&ev);
        rc = sc_diag_pos(d, file, 1, 1, "empty scenario: expected a map of keys");
        goto out;
    }
    yaml_event_delete(&ev);    /* DOCUMENT-START */
    rc = sc_next(&b, &ev);
    if (rc)
        goto out;
    n = calloc(1, sizeof *n);
    if (!n) {
        yaml_event_delete(&ev);
        rc = HV_ENOMEM;
        goto out;
    }
    rc = sc_build_node(&b, &ev, n, 0);
    if (rc)
        goto out;
    rc = sc_next(&b, &ev);     /* DOCUMENT-END */
    if (rc)
        goto out;
    yaml_event_delete(&ev);
    rc = sc_next(&b, &ev);
    if (rc)
        goto out;
    if (ev.type != YAML_STREAM_END_EVENT)
        rc = sc_diag_mark(&b, ev.start_mark, "a scenario is one YAML document; found another",
                          NULL);
    yaml_event_delete(&ev);
    if (rc)
        goto out;
    if (n->type != HV_NODE_MAP) {
        rc = hv_diag_at(d, n, "a scenario must be a map of keys, got %s",
                        n->type == HV_NODE_SEQ ? "a sequence" : "a scalar");
        goto out;
    }
out:
    yaml_parser_delete(&b.parser);
    if (rc) {
        hv_node_free(n);
        n = NULL;
        if (rc == HV_ENOMEM && d && !d->msg[0])
            sc_diag_pos(d, file, 0, 0, "out of memory");
    }
    *root = n;
    return rc;
}

static char *sc_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

static char *sc_strndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* A non-empty scalar string. */
static int sc_check_str(const struct hv_node *n, const char *what, const char **out,
                        struct hv_diag *d)
{
    int rc = hv_node_str(n, what, out, d);
    if (rc)
        return rc;
    if ((*out)[0] == '\0')
        return hv_diag_at(d, n, "'%s': must not be empty", what);
    return 0;
}

/* An unsigned integer in [lo, hi]. */
static int sc_check_range(const struct hv_node *n, const char *what, uint64_t lo, uint64_t hi,
                          uint64_t *out, struct hv_diag *d)
{
    int rc = hv_node_u64(n, what, out, d);
    if (rc)
        return rc;
    if (*out < lo || *out > hi) {
        if (hi == UINT64_MAX)
            return hv_diag_at(d, n, "'%s': must be at least %llu, got %llu", what,
                              (unsigned long long)lo, (unsigned long long)*out);
        return hv_diag_at(d, n, "'%s': must be between %llu and %llu, got %llu", what,
                          (unsigned long long)lo, (unsigned long long)hi,
                          (unsigned long long)*out);
    }
    return 0;
}

static int sc_config_append(struct scenario *s, char *key, char *value,
                            const struct hv_node *node, const struct hv_node *key_node)
{
    struct sc_config *c = realloc(s->config, (s->nconfig + 1) * sizeof *c);
    if (!c)
        return HV_ENOMEM;
    s->config = c;
    c[s->nconfig++] = (struct sc_config){ .key = key, .value = value, .node = node,
                                          .key_node = key_node };
    return 0;
}

/* A --set entry's node: no line, its file the option as given. Caller owns it. */
static struct hv_node *sc_set_node(const char *kv, char *value)
{
    struct hv_node *n = calloc(1, sizeof *n);
    char *file = malloc(strlen(kv) + sizeof "--set ");
    if (!n || !file) {
        free(n);
        free(file);
        return NULL;
    }
    sprintf(file, "--set %s", kv);
    *n = (struct hv_node){ .type = HV_NODE_SCALAR, .file = file, .str = value };
    return n;
}

static void sc_set_node_free(struct hv_node *n)
{
    if (n)
        free((char *)n->file);
    free(n);
}

static struct sc_config *sc_config_lookup(const struct scenario *s, const char *key)
{
    for (size_t i = 0; i < s->nconfig; i++)
        if (strcmp(s->config[i].key, key) == 0)
            return &s->config[i];
    return NULL;
}

/* Flattens one level of `config` (map) under prefix ("" at the top). */
static int sc_check_config(struct scenario *s, const struct hv_node *map, const char *prefix,
                           struct hv_diag *d)
{
    int rc = 0;
    char *full = NULL, *value = NULL;
    for (size_t i = 0; i < map->n; i++) {
        const struct hv_node *k = &map->keys[i], *v = &map->items[i];
        if (k->str[0] == '\0' || strpbrk(k->str, "= \t")) {
            rc = hv_diag_at(d, k, "config key '%s%s%s' must be non-empty, without '=' or "
                            "spaces", prefix, *prefix ? "." : "", k->str);
            goto out;
        }
        size_t plen = strlen(prefix);
        full = malloc(plen + strlen(k->str) + 2);
        if (!full) {
            rc = HV_ENOMEM;
            goto out;
        }
        sprintf(full, "%s%s%s", prefix, plen ? "." : "", k->str);
        if (v->type == HV_NODE_MAP) {
            /* The recursion is bounded by the builder's SC_MAX_DEPTH. */
            rc = sc_check_config(s, v, full, d);
            if (rc)
                goto out;
            free(full);
            full = NULL;
            continue;
        }
        if (v->type != HV_NODE_SCALAR) {
            rc = hv_diag_at(d, v, "config '%s': expected a scalar or a map, got a sequence",
                            full);
            goto out;
        }
        if (!v->quoted && v->str[0] == '\0') {
            rc = hv_diag_at(d, v, "config '%s': missing value (write \"\" for an empty one)",
                            full);
            goto out;
        }
        const struct sc_config *first = sc_config_lookup(s, full);
        if (first) {
            rc = hv_diag_at(d, k, "duplicate config key '%s' (first set at line %d, column %d)",
                            full, first->node->line, first->node->col);
            goto out;
        }
        if (s->nconfig == SC_MAX_KEYS) {
            rc = hv_diag_at(d, k, "too many config keys (the most is %d)", SC_MAX_KEYS);
            goto out;
        }
        value = sc_strdup(v->str);
        if (!value) {
            rc = HV_ENOMEM;
            goto out;
        }
        rc = sc_config_append(s, full, value, v, k);
        if (rc)
            goto out;
        full = value = NULL;
    }
out:
    free(full);
    free(value);
    return rc;
}

/* `at:` of one step: start, end, {sync: N [, vcpu: V]}, {icount: N, vcpu: V}, {seq: N},
 * {seq: [LO, HI]} or {leg: N}. */
static int sc_check_at(const struct scenario *s, const struct hv_node *at,
                       struct sc_step *st, struct hv_diag *d)
{
    int rc = 0;
    st->vcpu = -1;
    st->value = 0;
    if (at->type == HV_NODE_SCALAR) {
        if (strcmp(at->str, "start") == 0)
            st->at = SC_AT_START;
        else if (strcmp(at->str, "end") == 0)
            st->at = SC_AT_END;
        else
            rc = hv_diag_at(d, at, "'at': expected start, end, {sync: N} or "
                            "{icount: N, vcpu: V}, got '%s'", at->str);
        goto out;
    }
    if (at->type != HV_NODE_MAP) {
        rc = hv_diag_at(d, at, "'at': expected start, end, {sync: N} or {icount: N, vcpu: V}, "
                        "got a sequence");
        goto out;
    }
    rc = hv_node_check_keys(at, sc_at_keys, "'at'", d);
    if (rc)
        goto out;
    const struct hv_node *sync = hv_node_get(at, "sync"), *icount = hv_node_get(at, "icount");
    const struct hv_node *seq = hv_node_get(at, "seq"), *leg = hv_node_get(at, "leg");
    const struct hv_node *vcpu = hv_node_get(at, "vcpu");
    const struct hv_node *kinds[] = { sync, icount, seq, leg };
    const struct hv_node *first = NULL;
    for (size_t k = 0; k < 4; k++) {
        if (!kinds[k])
            continue;
        if (first) {
            /* located at whichever comes second */
            const struct hv_node *second = kinds[k] > first ? kinds[k] : first;
            const struct hv_node *key = hv_node_key(at, (size_t)(second - at->items));
            rc = hv_diag_at(d, key, "'at': give one of sync, icount, seq and leg");
            goto out;
        }
        first = kinds[k];
    }
    if (!first) {
        rc = hv_diag_at(d, at, "'at': needs sync: N, icount: N, seq: N or leg: N");
        goto out;
    }
    if ((seq || leg) && vcpu) {
        rc = hv_diag_at(d, vcpu, "'vcpu': seq and leg triggers are VM-wide");
        goto out;
    }
    if (seq && seq->type == HV_NODE_SEQ) {
        st->at = SC_AT_SEQ;
        if (seq->n != 2) {
            rc = hv_diag_at(d, seq, "'seq': a number, or a range [LO, HI] drawn from the seed");
            goto out;
        }
        if ((rc = hv_node_u64(&seq->items[0], "seq", &st->value, d)) ||
            (rc = hv_node_u64(&seq->items[1], "seq", &st->value_hi, d)))
            goto out;
        if (st->value_hi < st->value) {
            rc = hv_diag_at(d, &seq->items[1], "'seq': the range's top is below its bottom");
            goto out;
        }
        goto out;
    }
    st->at = sync ? SC_AT_SYNC : icount ? SC_AT_ICOUNT : seq ? SC_AT_SEQ : SC_AT_LEG;
    rc = hv_node_u64(first, sync ? "sync" : icount ? "icount" : seq ? "seq" : "leg", &st->value,
                     d);
    if (rc)
        goto out;
    if (icount && !vcpu) {
        rc = hv_diag_at(d, at, "'at': icount needs vcpu: V (icounts are per vCPU)");
        goto out;
    }
    if (vcpu) {
        uint64_t v;
        rc = hv_node_u64(vcpu, "vcpu", &v, d);
        if (rc)
            goto out;
        if (v >= s->vcpus) {
            rc = hv_diag_at(d, vcpu, "'vcpu': %llu is out of range (the scenario has %llu "
                            "vCPU%s)", (unsigned long long)v, (unsigned long long)s->vcpus,
                            s->vcpus == 1 ? "" : "s");
            goto out;
        }
        st->vcpu = (int32_t)v;
    }
out:
    return rc;
}

static int sc_check_steps(struct scenario *s, const struct hv_node *steps, struct hv_diag *d)
{
    int rc = hv_node_expect(steps, HV_NODE_SEQ, "steps", d);
    if (rc)
        goto out;
    if (steps->n == 0)
        goto out;
    s->steps = calloc(steps->n, sizeof *s->steps);
    if (!s->steps) {
        rc = HV_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < steps->n; i++) {
        const struct hv_node *m = &steps->items[i];
        struct sc_step *st = &s->steps[i];
        char what[48];
        snprintf(what, sizeof what, "steps[%zu]", i);
        rc = hv_node_check_keys(m, sc_step_keys, what, d);
        if (rc)
            goto out;
        const struct hv_node *at = hv_node_get(m, "at"), *act = hv_node_get(m, "do");
        if (!at || !act) {
            rc = hv_diag_at(d, m, "%s: missing required key '%s'", what, at ? "do" : "at");
            goto out;
        }
        rc = sc_check_at(s, at, st, d);
        if (rc)
            goto out;
        rc = sc_check_str(act, "do", &st->action, d);
        if (rc)
            goto out;
        st->node = m;
        st->action_node = act;
        st->args = hv_node_get(m, "args");
        st->expect = hv_node_get(m, "expect");
        s->nsteps = i + 1;
    }
out:
    return rc;
}

/* Folder of path ("." when it has none); guest_path is guest resolved against it. */
static int sc_resolve_paths(struct scenario *s)
{
    const char *slash = strrchr(s->path, '/');
    if (!slash)
        s->dir = sc_strdup(".");
    else
        s->dir = sc_strndup(s->path, slash == s->path ? 1 : (size_t)(slash - s->path));
    if (!s->dir)
        return HV_ENOMEM;
    if (s->guest[0] == '/') {
        s->guest_path = sc_strdup(s->guest);
    } else {
        size_t dl = strlen(s->dir);
        bool sep = s->dir[dl - 1] != '/';
        s->guest_path = malloc(dl + sep + strlen(s->guest) + 1);
        if (s->guest_path)
            sprintf(s->guest_path, "%s%s%s", s->dir, sep ? "/" : "", s->guest);
    }
    return s->guest_path ? 0 : HV_ENOMEM;
}

/* The expectation a `keep` entry names: "outcome", "vcpus", "steps" or an `expect` key,
 * optionally followed by ".SUB" ("events.sched", "vcpus.1", "steps.2"). */
static bool sc_keep_known(const struct scenario *s, const char *entry)
{
    size_t n = strcspn(entry, ".[");
    char head[128];
    if (n == 0 || n >= sizeof head)
        return false;
    memcpy(head, entry, n);
    head[n] = '\0';
    if (strcmp(head, "outcome") == 0 || strcmp(head, "vcpus") == 0)
        return true;
    if (strcmp(head, "steps") == 0)
        return s->nsteps > 0;
    return s->expect && hv_node_get(s->expect, head);
}

/* `explore: {keep: [NAME, ...], runs: N}` (docs/scenario-format.md). */
static int sc_check_explore(struct scenario *s, const struct hv_node *n, struct hv_diag *d)
{
    int rc = hv_node_expect(n, HV_NODE_MAP, "explore", d);
    if (rc || (rc = hv_node_check_keys(n, sc_explore_keys, "explore", d)))
        return rc;
    const struct hv_node *keep = hv_node_get(n, "keep"), *runs = hv_node_get(n, "runs");
    if (runs && (rc = sc_check_range(runs, "runs", 1, 1000000000, &s->explore_runs, d)))
        return rc;
    if (keep) {
        if ((rc = hv_node_expect(keep, HV_NODE_SEQ, "keep", d)))
            return rc;
        for (size_t i = 0; i < keep->n; i++) {
            const char *e;
            if ((rc = hv_node_str(&keep->items[i], "keep", &e, d)))
                return rc;
            if (!sc_keep_known(s, e))
                return hv_diag_at(d, &keep->items[i], "'keep': '%s' names no expectation of "
                                  "this scenario (outcome, vcpus, steps or a key of expect)",
                                  e);
        }
        s->explore_keep = keep;
    }
    return 0;
}

bool scenario_keeps(const struct scenario *s, const char *what)
{
    if (!s->explore_mode || !s->explore_keep)
        return true;
    for (size_t i = 0; i < s->explore_keep->n; i++) {
        const char *e = s->explore_keep->items[i].str;
        size_t n = strlen(e);
        if (strncmp(what, e, n) == 0 && (what[n] == '\0' || what[n] == '.' || what[n] == '['))
            return true;
    }
    return false;
}

/* The top-level contract, on a tree whose root is a map. */
static int sc_check(struct scenario *s, struct hv_diag *d)
{
    const struct hv_node *root = s->root, *n;
    int rc = hv_node_check_keys(root, sc_top_keys, "scenario", d);
    if (rc)
        goto out;
    for (size_t i = 0; sc_required_keys[i]; i++) {
        if (!hv_node_get(root, sc_required_keys[i])) {
            rc = hv_diag_at(d, root, "missing required key '%s' in scenario",
                            sc_required_keys[i]);
            goto out;
        }
    }
    rc = sc_check_str(hv_node_get(root, "name"), "name", &s->name, d);
    if (rc)
        goto out;
    rc = sc_check_str(hv_node_get(root, "description"), "description", &s->description, d);
    if (rc)
        goto out;
    n = hv_node_get(root, "model");
    rc = hv_node_str(n, "model", &s->model, d);
    if (rc)
        goto out;
    if (strcmp(s->model, "kvm") != 0 && strcmp(s->model, "xen") != 0 &&
        strcmp(s->model, "none") != 0) {
        rc = hv_diag_at(d, n, "'model': expected kvm, xen or none, got '%s'", s->model);
        goto out;
    }
    n = hv_node_get(root, "arch");
    const char *arch;
    rc = hv_node_str(n, "arch", &arch, d);
    if (rc)
        goto out;
    if (hv_arch_from_name(arch, &s->arch) != 0) {
        rc = hv_diag_at(d, n, "'arch': expected x86_64, aarch64 or arm, got '%s'", arch);
        goto out;
    }
    rc = sc_check_str(hv_node_get(root, "guest"), "guest", &s->guest, d);
    if (rc)
        goto out;

    s->vcpus = 1;
    s->seed = 0;
    s->quantum = 10000;
    s->limit = 100000000;
    if ((n = hv_node_get(root, "vcpus")) &&
        (rc = sc_check_range(n, "vcpus", 1, HV_MAX_VCPUS, &s->vcpus, d)))
        goto out;
    if ((n = hv_node_get(root, "seed")) && (rc = hv_node_u64(n, "seed", &s->seed, d)))
        goto out;
    if ((n = hv_node_get(root, "quantum")) &&
        (rc = sc_check_range(n, "quantum", 1, UINT64_MAX, &s->quantum, d)))
        goto out;
    if ((n = hv_node_get(root, "limit")) &&
        (rc = sc_check_range(n, "limit", 1, UINT64_MAX, &s->limit, d)))
        goto out;

    if ((n = hv_node_get(root, "config"))) {
        rc = hv_node_expect(n, HV_NODE_MAP, "config", d);
        if (rc)
            goto out;
        rc = sc_check_config(s, n, "", d);
        if (rc)
            goto out;
    }
    s->memory = hv_node_get(root, "memory");
    s->vmm = hv_node_get(root, "vmm");
    if ((n = hv_node_get(root, "expect"))) {
        rc = hv_node_expect(n, HV_NODE_MAP, "expect", d);
        if (rc)
            goto out;
        s->expect = n;
    }
    if ((n = hv_node_get(root, "steps"))) {
        rc = sc_check_steps(s, n, d);
        if (rc)
            goto out;
    }
    if ((n = hv_node_get(root, "explore")) && (rc = sc_check_explore(s, n, d)))
        goto out;
    rc = sc_resolve_paths(s);
out:
    return rc;
}

int scenario_parse(struct scenario **out, const char *path, const char *text, size_t len,
                   struct hv_diag *d)
{
    assert(out && path && (text || len == 0));
    int rc = 0;
    if (d)
        memset(d, 0, sizeof *d);
    struct scenario *s = calloc(1, sizeof *s);
    if (!s) {
        rc = HV_ENOMEM;
        goto out;
    }
    s->path = sc_strdup(path);
    s->text = malloc(len + 1);
    if (!s->path || !s->text) {
        rc = HV_ENOMEM;
        goto out;
    }
    if (len)
        memcpy(s->text, text, len);
    s->text[len] = '\0';
    s->text_len = len;
    rc = sc_build(&s->root, s->path, s->text, len, d);
    if (rc)
        goto out;
    rc = sc_check(s, d);
out:
    if (rc) {
        if (rc == HV_ENOMEM && d && !d->msg[0])
            sc_diag_pos(d, path, 0, 0, "out of memory");
        scenario_destroy(s);
        s = NULL;
    }
    *out = s;
    return rc;
}

int scenario_load(struct scenario **out, const char *path, struct hv_diag *d)
{
    int rc = 0;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        rc = errno == ENOENT ? HV_ENOENT : HV_EIO;
        sc_diag_pos(d, path, 0, 0, "cannot open: %s", strerror(errno));
        goto out;
    }
    for (;;) {
        if (len == cap) {
            if (cap >= SC_MAX_FILE) {
                rc = sc_diag_pos(d, path, 0, 0, "larger than %u MiB; not a scenario",
                                 SC_MAX_FILE >> 20);
                goto out;
            }
            cap = cap ? cap * 2 : 4096;
            char *nb = realloc(buf, cap);
            if (!nb) {
                rc = HV_ENOMEM;
                sc_diag_pos(d, path, 0, 0, "out of memory");
                goto out;
            }
            buf = nb;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        rc = HV_EIO;
        sc_diag_pos(d, path, 0, 0, "cannot read: %s", strerror(errno));
        goto out;
    }
    rc = scenario_parse(out, path, buf ? buf : "", len, d);
out:
    if (f)
        fclose(f);
    free(buf);
    return rc;
}

void scenario_destroy(struct scenario *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nconfig; i++) {
        free(s->config[i].key);
        free(s->config[i].value);
        sc_set_node_free(s->config[i].set_node);
    }
    free(s->config);
    free(s->steps);
    free(s->guest_path);
    hv_node_free(s->root);
    free(s->text);
    free(s->dir);
    free(s->path);
    free(s);
}

static int sc_set_u64(const char *kv, const char *v, uint64_t lo, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 0);
    if (errno || *end || !*v || v[0] == '-' || x < lo)
        return hv_error_set(HV_EINVAL, "--set %s: expected an unsigned integer of at least "
                            "%" PRIu64, kv, lo);
    *out = x;
    return 0;
}

/*
 * The --set keys that are not knobs: quantum, limit, explore, steps.N.at.KIND (the trigger
 * of step N, of the kind it has) and steps.N.args.KEY (an argument step N has). 1 when key is
 * none of them.
 */
static int sc_set_special(struct scenario *s, const char *kv, const char *key, const char *v)
{
    static const char *const kinds[] = {
        [SC_AT_SYNC] = "sync", [SC_AT_ICOUNT] = "icount", [SC_AT_SEQ] = "seq",
        [SC_AT_LEG] = "leg",
    };
    uint64_t x;
    int rc;
    if (strcmp(key, "quantum") == 0)
        return sc_set_u64(kv, v, 1, &s->quantum);
    if (strcmp(key, "limit") == 0)
        return sc_set_u64(kv, v, 1, &s->limit);
    if (strcmp(key, "explore") == 0) {
        if ((rc = sc_set_u64(kv, v, 0, &x)) || x > 1)
            return rc ? rc : hv_error_set(HV_EINVAL, "--set %s: expected 0 or 1", kv);
        s->explore_mode = x == 1;
        return 0;
    }
    if (strncmp(key, "steps.", 6) != 0)
        return 1;
    char *end;
    errno = 0;
    unsigned long long i = strtoull(key + 6, &end, 10);
    if (errno || end == key + 6 || *end != '.' || i >= s->nsteps)
        return hv_error_set(HV_EINVAL, "--set %s: no step %.*s (the scenario has %zu)", kv,
                            (int)strcspn(key + 6, "."), key + 6, s->nsteps);
    struct sc_step *st = &s->steps[i];
    if (strncmp(end, ".at.", 4) == 0) {
        const char *kind = end + 4;
        if (st->at >= sizeof kinds / sizeof kinds[0] || !kinds[st->at] ||
            strcmp(kind, kinds[st->at]) != 0)
            return hv_error_set(HV_EINVAL, "--set %s: step %llu has no '%s' trigger", kv, i,
                                kind);
        if ((rc = sc_set_u64(kv, v, 0, &st->value)))
            return rc;
        st->value_hi = 0;
        return 0;
    }
    if (strncmp(end, ".args.", 6) == 0) {
        const struct hv_node *a = st->args ? hv_node_get(st->args, end + 6) : NULL;
        if (!a || a->type != HV_NODE_SCALAR)
            return hv_error_set(HV_EINVAL, "--set %s: step %llu has no argument '%s'", kv, i,
                                end + 6);
        char *nv = sc_strdup(v);
        if (!nv)
            return HV_ENOMEM;
        /* the tree owns its strings; the args map is the step's, reached through it */
        struct hv_node *w = (struct hv_node *)a;
        free(w->str);
        w->str = nv;
        return 0;
    }
    return hv_error_set(HV_EINVAL, "--set %s: expected steps.N.at.KIND or steps.N.args.KEY",
                        kv);
}

int scenario_set(struct scenario *s, const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv)
        return hv_error_set(HV_EINVAL, "--set %s: expected KEY=VALUE", kv);
    int rc = 0;
    {
        char k[256];
        snprintf(k, sizeof k, "%.*s", (int)(eq - kv), kv);
        if ((rc = sc_set_special(s, kv, k, eq + 1)) <= 0)
            return rc;
        rc = 0;
    }
    char *key = sc_strndup(kv, (size_t)(eq - kv));
    char *value = sc_strdup(eq + 1);
    struct hv_node *node = value ? sc_set_node(kv, value) : NULL;
    if (!key || !value || !node) {
        rc = HV_ENOMEM;
        goto out;
    }
    struct sc_config *c = sc_config_lookup(s, key);
    if (c) {
        free(c->value);
        sc_set_node_free(c->set_node);
        c->value = value;
        c->node = c->set_node = node;
        c->key_node = NULL;
        value = NULL;
        node = NULL;
        goto out;
    }
    rc = sc_config_append(s, key, value, node, NULL);
    if (rc)
        goto out;
    s->config[s->nconfig - 1].set_node = node;
    key = value = NULL;
    node = NULL;
out:
    free(key);
    free(value);
    sc_set_node_free(node);
    return rc;
}

const char *scenario_config(const struct scenario *s, const char *key)
{
    const struct sc_config *c = sc_config_lookup(s, key);
    return c ? c->value : NULL;
}
