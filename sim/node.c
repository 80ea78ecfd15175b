/*
 * node.c - located diagnostics and typed reads over the document tree of node.h.
 *
 * The tree itself is built by the scenario parser (runner/scenario.c); this file only reads
 * it and frees it. Every read that fails says what it expected and what it found, at the
 * node's own line and column, so a model that checks its section of a scenario reports errors
 * the same way the scenario parser does.
 *
 * Integers are plain (unquoted) scalars: decimal, 0x hex or 0b binary, with `_` allowed
 * between two digits ("1_000_000", "0xffff_0000"). A decimal with a leading zero ("010") is
 * refused, because YAML 1.1 readers take it as octal and YAML 1.2 readers as decimal.
 */
#include "sim/node.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/hv_err.h"
#include "trace/event.h"

/* Longest piece of a scalar quoted back in a message. */
#define NODE_QUOTE_MAX 40
/* Room for a described value: prefix, quotes, escapes (4 bytes each at most), "...". */
#define NODE_DESC_SIZE (NODE_QUOTE_MAX * 4 + 32)

int hv_diag_at(struct hv_diag *d, const struct hv_node *node, const char *fmt, ...)
{
    if (!d)
        return HV_ESCENARIO;
    snprintf(d->file, sizeof d->file, "%s", node && node->file ? node->file : "");
    d->line = node ? node->line : 0;
    d->col = node ? node->col : 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->msg, sizeof d->msg, fmt, ap);
    va_end(ap);
    return HV_ESCENARIO;
}

void hv_diag_format(const struct hv_diag *d, char *buf, size_t size)
{
    if (!buf || size == 0)
        return;
    if (d->file[0] && d->line > 0)
        snprintf(buf, size, "%s:%d:%d: %s", d->file, d->line, d->col, d->msg);
    else if (d->file[0])
        snprintf(buf, size, "%s: %s", d->file, d->msg);
    else
        snprintf(buf, size, "%s", d->msg);
}

const struct hv_node *hv_node_get(const struct hv_node *map, const char *key)
{
    if (!map || map->type != HV_NODE_MAP)
        return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->keys[i].str, key) == 0)
            return &map->items[i];
    return NULL;
}

const struct hv_node *hv_node_key(const struct hv_node *map, size_t i)
{
    if (!map || map->type != HV_NODE_MAP || i >= map->n)
        return NULL;
    return &map->keys[i];
}

/* Writes 'text' to buf: cut after NODE_QUOTE_MAX bytes ("..."), control characters escaped. */
static const char *hv_node_quote(const char *text, char *buf, size_t size)
{
    size_t o = 0, i;
    buf[o++] = '\'';
    for (i = 0; text[i] && i < NODE_QUOTE_MAX && o + 8 < size; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '\n' || c == '\t') {
            buf[o++] = '\\';
            buf[o++] = c == '\n' ? 'n' : 't';
        } else if (c < 0x20 || c == 0x7f) {
            o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
        } else {
            buf[o++] = (char)c;
        }
    }
    if (text[i]) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o++] = '\'';
    buf[o] = '\0';
    return buf;
}

/* "a map", "a sequence", "'text'", "a quoted string 'text'", or "nothing" (empty, plain). */
static const char *hv_node_describe(const struct hv_node *n, char *buf, size_t size)
{
    switch (n->type) {
    case HV_NODE_MAP:
        return "a map";
    case HV_NODE_SEQ:
        return "a sequence";
    case HV_NODE_SCALAR:
        break;
    }
    if (!n->quoted && n->str[0] == '\0')
        return "nothing";
    if (!n->quoted)
        return hv_node_quote(n->str, buf, size);
    static const char prefix[] = "a quoted string ";
    memcpy(buf, prefix, sizeof prefix);
    hv_node_quote(n->str, buf + sizeof prefix - 1, size - (sizeof prefix - 1));
    return buf;
}

static int hv_node_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

enum { NODE_NUM_OK = 0, NODE_NUM_SYNTAX = -1, NODE_NUM_RANGE = -2 };

/*
 * Parses an unsigned magnitude (no sign). Returns NODE_NUM_OK, NODE_NUM_SYNTAX for anything
 * that is not a well-formed number, or NODE_NUM_RANGE for a well-formed one above UINT64_MAX.
 */
static int hv_node_parse_mag(const char *s, uint64_t *out)
{
    unsigned base = 10;
    const char *p = s;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    } else if (p[0] == '0' && (p[1] == 'b' || p[1] == 'B')) {
        base = 2;
        p += 2;
    } else if (p[0] == '0' && p[1] != '\0') {
        return NODE_NUM_SYNTAX;     /* "010", "0_1": ambiguous octal */
    }
    uint64_t v = 0;
    bool range = false, prev_digit = false;
    size_t ndigits = 0;
    for (; *p; p++) {
        if (*p == '_') {
            if (!prev_digit)
                return NODE_NUM_SYNTAX;
            prev_digit = false;
            continue;
        }
        int dv = hv_node_digit(*p);
        if (dv < 0 || (unsigned)dv >= base)
            return NODE_NUM_SYNTAX;
        if (v > (UINT64_MAX - (unsigned)dv) / base)
            range = true;
        else
            v = v * base + (unsigned)dv;
        prev_digit = true;
        ndigits++;
    }
    if (ndigits == 0 || !prev_digit)
        return NODE_NUM_SYNTAX;    /* "", "0x", "1_" */
    if (range)
        return NODE_NUM_RANGE;
    *out = v;
    return NODE_NUM_OK;
}

int hv_node_u64(const struct hv_node *n, const char *what, uint64_t *out, struct hv_diag *d)
{
    char buf[NODE_DESC_SIZE];
    if (n->type != HV_NODE_SCALAR || n->quoted)
        goto bad;
    uint64_t v;
    switch (hv_node_parse_mag(n->str, &v)) {
    case NODE_NUM_OK:
        *out = v;
        return 0;
    case NODE_NUM_RANGE:
        return hv_diag_at(d, n, "'%s': %s is larger than 2^64-1", what,
                          hv_node_describe(n, buf, sizeof buf));
    default:
        break;
    }
bad:
    return hv_diag_at(d, n, "'%s': expected an unsigned integer, got %s", what,
                      hv_node_describe(n, buf, sizeof buf));
}

int hv_node_i64(const struct hv_node *n, const char *what, int64_t *out, struct hv_diag *d)
{
    char buf[NODE_DESC_SIZE];
    if (n->type != HV_NODE_SCALAR || n->quoted)
        goto bad;
    bool neg = n->str[0] == '-';
    uint64_t mag;
    int rc = hv_node_parse_mag(n->str + (neg ? 1 : 0), &mag);
    if (rc == NODE_NUM_SYNTAX)
        goto bad;
    uint64_t max = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (rc == NODE_NUM_RANGE || mag > max)
        return hv_diag_at(d, n, "'%s': %s does not fit in a signed 64-bit integer", what,
                          hv_node_describe(n, buf, sizeof buf));
    /* -2^63 has no positive twin: negate in unsigned arithmetic, then convert. */
    *out = neg ? (mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag) : (int64_t)mag;
    return 0;
bad:
    return hv_diag_at(d, n, "'%s': expected an integer, got %s", what,
                      hv_node_describe(n, buf, sizeof buf));
}

int hv_node_bool(const struct hv_node *n, const char *what, bool *out, struct hv_diag *d)
{
    char buf[NODE_DESC_SIZE];
    if (n->type == HV_NODE_SCALAR && !n->quoted) {
        if (strcmp(n->str, "true") == 0) {
            *out = true;
            return 0;
        }
        if (strcmp(n->str, "false") == 0) {
            *out = false;
            return 0;
        }
    }
    return hv_diag_at(d, n, "'%s': expected true or false, got %s", what,
                      hv_node_describe(n, buf, sizeof buf));
}

int hv_node_str(const struct hv_node *n, const char *what, const char **out,
                struct hv_diag *d)
{
    char buf[NODE_DESC_SIZE];
    if (n->type != HV_NODE_SCALAR)
        return hv_diag_at(d, n, "'%s': expected a string, got %s", what,
                          hv_node_describe(n, buf, sizeof buf));
    *out = n->str;
    return 0;
}

int hv_node_expect(const struct hv_node *n, enum hv_node_type t, const char *what,
                   struct hv_diag *d)
{
    static const char *const names[] = {
        [HV_NODE_SCALAR] = "a scalar", [HV_NODE_SEQ] = "a sequence", [HV_NODE_MAP] = "a map",
    };
    char buf[NODE_DESC_SIZE];
    if (n->type == t)
        return 0;
    return hv_diag_at(d, n, "'%s': expected %s, got %s", what, names[t],
                      hv_node_describe(n, buf, sizeof buf));
}

/* Names longer than this are never suggested (and never compared). */
#define NODE_SUGGEST_LEN 63
/* Longest "(allowed: ...)" list a hint spells out. */
#define NODE_HINT_LIST_MAX 120

/*
 * Optimal string alignment distance between two short strings: insertions, deletions,
 * substitutions and transpositions of two adjacent characters ("vcpsu" -> "vcpus") each count
 * one.
 */
static size_t hv_node_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t d[NODE_SUGGEST_LEN + 2][NODE_SUGGEST_LEN + 2];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[la][lb];
}

const char *hv_suggest(const char *word, const char *const *names)
{
    const char *close = NULL;
    size_t best = 3;
    if (!word || !names || strlen(word) > NODE_SUGGEST_LEN)
        return NULL;
    for (size_t k = 0; names[k]; k++) {
        size_t len = strlen(names[k]);
        if (len > NODE_SUGGEST_LEN)
            continue;
        size_t dist = hv_node_distance(word, names[k]);
        if (dist > 0 && dist < best && dist * 3 <= len) {
            best = dist;
            close = names[k];
        }
    }
    return close;
}

const char *hv_suggest_hint(const char *word, const char *const *names, char *buf,
                            size_t size)
{
    if (!buf || size == 0)
        return buf;
    buf[0] = '\0';
    const char *close = hv_suggest(word, names);
    if (close) {
        snprintf(buf, size, " (did you mean '%s'?)", close);
        return buf;
    }
    char list[NODE_HINT_LIST_MAX + 1];
    size_t len = 0;
    for (size_t k = 0; names && names[k]; k++) {
        int n = snprintf(list + len, sizeof list - len, "%s%s", k ? ", " : "", names[k]);
        if (n < 0 || (size_t)n >= sizeof list - len)
            return buf; /* too long to spell out */
        len += (size_t)n;
    }
    if (len)
        snprintf(buf, size, " (allowed: %s)", list);
    return buf;
}

int hv_node_check_keys(const struct hv_node *map, const char *const *allowed,
                       const char *what, struct hv_diag *d)
{
    int rc = hv_node_expect(map, HV_NODE_MAP, what, d);
    if (rc)
        return rc;
    for (size_t i = 0; i < map->n; i++) {
        const struct hv_node *key = &map->keys[i];
        size_t k = 0;
        while (allowed[k] && strcmp(key->str, allowed[k]) != 0)
            k++;
        if (allowed[k])
            continue;
        char shown[NODE_DESC_SIZE], hint[NODE_HINT_LIST_MAX + 32];
        hv_node_quote(key->str, shown, sizeof shown);
        return hv_diag_at(d, key, "unknown key %s in %s%s", shown, what,
                          hv_suggest_hint(key->str, allowed, hint, sizeof hint));
    }
    return 0;
}

/* Appends text to buf at *len as snprintf would (the length grows even when cut). */
static void hv_node_put(char *buf, size_t size, size_t *len, const char *text)
{
    size_t n = strlen(text);
    if (*len < size)
        memcpy(buf + *len, text, *len + n < size ? n : size - *len - 1);
    *len += n;
    if (size)
        buf[*len < size ? *len : size - 1] = '\0';
}

static void hv_node_json_at(const struct hv_node *n, char *buf, size_t size, size_t *len)
{
    char num[24];
    switch (n->type) {
    case HV_NODE_MAP:
    case HV_NODE_SEQ:
        hv_node_put(buf, size, len, n->type == HV_NODE_MAP ? "{" : "[");
        for (size_t i = 0; i < n->n; i++) {
            if (i)
                hv_node_put(buf, size, len, ",");
            if (n->type == HV_NODE_MAP) {
                hv_json_str(buf, size, len, n->keys[i].str);
                hv_node_put(buf, size, len, ":");
            }
            hv_node_json_at(&n->items[i], buf, size, len);
        }
        hv_node_put(buf, size, len, n->type == HV_NODE_MAP ? "}" : "]");
        return;
    case HV_NODE_SCALAR:
        break;
    }
    uint64_t u;
    int64_t i;
    if (!n->quoted) {
        if (hv_node_u64(n, "", &u, NULL) == 0) {
            snprintf(num, sizeof num, "%llu", (unsigned long long)u);
            hv_node_put(buf, size, len, num);
            return;
        }
        if (hv_node_i64(n, "", &i, NULL) == 0) {
            snprintf(num, sizeof num, "%lld", (long long)i);
            hv_node_put(buf, size, len, num);
            return;
        }
        if (strcmp(n->str, "true") == 0 || strcmp(n->str, "false") == 0) {
            hv_node_put(buf, size, len, n->str);
            return;
        }
        if (!n->str[0] || strcmp(n->str, "null") == 0 || strcmp(n->str, "~") == 0) {
            hv_node_put(buf, size, len, "null");
            return;
        }
    }
    hv_json_str(buf, size, len, n->str);
}

size_t hv_node_json(const struct hv_node *n, char *buf, size_t size)
{
    size_t len = 0;
    if (size)
        buf[0] = '\0';
    if (!n)
        hv_node_put(buf, size, &len, "null");
    else
        hv_node_json_at(n, buf, size, &len);
    if (size)
        buf[len < size ? len : size - 1] = '\0';
    return len;
}

/* Frees what n owns, not n itself (n usually lives in its parent's array). */
static void hv_node_fini(struct hv_node *n)
{
    switch (n->type) {
    case HV_NODE_SCALAR:
        free(n->str);
        break;
    case HV_NODE_MAP:
        for (size_t i = 0; i < n->n; i++)
            hv_node_fini(&n->keys[i]);
        free(n->keys);
        /* fall through */
    case HV_NODE_SEQ:
        for (size_t i = 0; i < n->n; i++)
            hv_node_fini(&n->items[i]);
        free(n->items);
        break;
    }
}

void hv_node_free(struct hv_node *root)
{
    if (!root)
        return;
    hv_node_fini(root);
    free(root);
}
