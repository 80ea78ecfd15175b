/* chunk.c - event chunk elements: encoded from an event's fields, decoded into its detail. */
#include "trace/chunk.h"

#include <stdlib.h>
#include <string.h>

#include "sim/hv_err.h"
#include "trace/trace_int.h"

int tbuf_reserve(struct tbuf *b, size_t more)
{
    if (b->cap - b->len > more)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len <= more)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
        return HV_ENOMEM;
    b->p = p;
    b->cap = cap;
    return 0;
}

int tbuf_put(struct tbuf *b, const void *s, size_t n)
{
    if (tbuf_reserve(b, n))
        return HV_ENOMEM;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
    return 0;
}

void tbuf_fini(struct tbuf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

bool chunk_fits(const struct chunk_base *b, const struct hv_event *ev)
{
    int64_t r;
    return ev->vm == b->vm &&
           !__builtin_add_overflow(trace_i64_of_u64(b->icount),
                                   trace_i64_of_u64(ev->icount - b->icount), &r) &&
           !__builtin_add_overflow(trace_i64_of_u64(b->pc), trace_i64_of_u64(ev->pc - b->pc),
                                   &r);
}

/* The canonical JSON text of a str / hex / json value into s; false for a JSON null. */
static int chunk_value_json(struct tbuf *s, enum hv_field_type t, const char *p, bool *null)
{
    static const char hex[] = "0123456789abcdef";
    s->len = 0;
    *null = false;
    if (t == HV_FIELD_HEX) {
        struct hv_bytes b;
        memcpy(&b, p, sizeof b);
        if (tbuf_reserve(s, 2 * b.n + 2))
            return HV_ENOMEM;
        s->p[s->len++] = '"';
        for (size_t i = 0; i < b.n; i++) {
            s->p[s->len++] = hex[b.p[i] >> 4];
            s->p[s->len++] = hex[b.p[i] & 15];
        }
        s->p[s->len++] = '"';
        return 0;
    }
    const char *str;
    memcpy(&str, p, sizeof str);
    if (!str) {
        *null = true;
        return 0;
    }
    size_t n = strlen(str);
    if (t == HV_FIELD_JSON)
        return tbuf_put(s, str, n);
    /* hv_json_str() reports the length it needs; a string of n bytes escapes to at most 6n. */
    if (tbuf_reserve(s, 6 * n + 2))
        return HV_ENOMEM;
    hv_json_str(s->p, s->cap, &s->len, str);
    return 0;
}

void chunk_memo_fini(struct chunk_memo *m)
{
    for (size_t i = 0; i < CHUNK_MEMO_SLOTS; i++)
        free(m->slot[i].text);
    memset(m, 0, sizeof *m);
}

void chunk_coder_fini(struct chunk_coder *c)
{
    chunk_memo_fini(&c->memo);
    tbuf_fini(&c->scratch);
}

/* The id of a str / hex / json value (not NULL), through the memo when it can. */
static int chunk_string_id(struct chunk_coder *c, enum hv_field_type t, const char *fp,
                           int64_t *id)
{
    const char *s = NULL;
    size_t slot = 0;
    if (t != HV_FIELD_HEX) {
        memcpy(&s, fp, sizeof s);
        slot = ((uintptr_t)s >> 3 ^ (uintptr_t)s >> 11 ^ (uintptr_t)t) % CHUNK_MEMO_SLOTS;
        if (c->memo.slot[slot].at == s && c->memo.slot[slot].type == t &&
            strcmp(c->memo.slot[slot].text, s) == 0) {
            *id = c->memo.slot[slot].id;
            return 0;
        }
    }
    bool null;
    int err = chunk_value_json(&c->scratch, t, fp, &null);
    if (!err)
        err = c->str(c->ctx, c->scratch.p, c->scratch.len, id);
    if (err || !s)
        return err;
    char *copy = strdup(s);
    if (copy) {
        free(c->memo.slot[slot].text);
        c->memo.slot[slot].at = s;
        c->memo.slot[slot].text = copy;
        c->memo.slot[slot].id = *id;
        c->memo.slot[slot].type = t;
    }
    return 0;
}

int chunk_encode(struct tbuf *out, struct chunk_coder *c, int64_t kind_id,
                 const struct hv_event *ev, const struct chunk_base *b)
{
    const struct hv_kind_desc *kd = hv_kind_desc(ev->kind);
    if (!kd || (kd->nfields && !ev->fields))
        return HV_EINVAL;
    /* 4 common members and every field: at most 21 bytes and a comma each. */
    if (tbuf_reserve(out, 24 * (4 + kd->nfields) + 2))
        return HV_ENOMEM;
    char *p = out->p + out->len;
    *p++ = '[';
    p = hv_dec(p, (uint64_t)kind_id, kind_id < 0);
    *p++ = ',';
    p = hv_dec(p, (uint64_t)(int64_t)ev->vcpu, ev->vcpu < 0);
    *p++ = ',';
    uint64_t d = ev->icount - b->icount;
    p = hv_dec(p, d, trace_i64_of_u64(d) < 0);
    *p++ = ',';
    d = ev->pc - b->pc;
    p = hv_dec(p, d, trace_i64_of_u64(d) < 0);
    for (size_t i = 0; i < kd->nfields; i++) {
        const struct hv_field_desc *f = &kd->fields[i];
        const char *fp = (const char *)ev->fields + f->offset;
        uint64_t v;
        *p++ = ',';
        switch (f->type) {
        case HV_FIELD_U64:
            memcpy(&v, fp, sizeof v);
            p = hv_dec(p, v, false);
            break;
        case HV_FIELD_I64:
        case HV_FIELD_ADDR:
            memcpy(&v, fp, sizeof v);
            p = hv_dec(p, v, trace_i64_of_u64(v) < 0);
            break;
        case HV_FIELD_BOOL: {
            bool bv;
            memcpy(&bv, fp, sizeof bv);
            *p++ = bv ? '1' : '0';
            break;
        }
        case HV_FIELD_STR:
        case HV_FIELD_HEX:
        case HV_FIELD_JSON: {
            const char *s;
            memcpy(&s, fp, sizeof s);
            if (f->type != HV_FIELD_HEX && !s) {
                memcpy(p, "null", 4);
                p += 4;
                break;
            }
            int64_t id = 0;
            int err = chunk_string_id(c, f->type, fp, &id);
            if (err)
                return err;
            p = hv_dec(p, (uint64_t)id, false);
            break;
        }
        }
    }
    *p++ = ']';
    out->len = (size_t)(p - out->p);
    out->p[out->len] = 0;
    return 0;
}

void chunk_cursor_init(struct chunk_cursor *c, const char *text, size_t len)
{
    c->text = text;
    c->len = len;
    c->pos = 0;
    c->index = 0;
}

/* One member at *pos: an integer (at most 20 digits) or null. */
static bool chunk_tok_parse(const char *s, size_t len, size_t *pos, struct chunk_tok *t)
{
    size_t i = *pos;
    t->p = s + i;
    t->null = false;
    t->v = 0;
    if (len - i >= 4 && memcmp(s + i, "null", 4) == 0) {
        t->null = true;
        t->n = 4;
        *pos = i + 4;
        return true;
    }
    bool neg = i < len && s[i] == '-';
    i += neg;
    size_t d0 = i;
    uint64_t v = 0;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
        uint64_t nv = v * 10 + (uint64_t)(s[i] - '0');
        if (i - d0 >= 20 || (v > UINT64_MAX / 10) || nv < v * 10)
            return false;
        v = nv;
        i++;
    }
    /* JSON has no leading zeros: a detail copies these digits as they are */
    if (i == d0 || (i - d0 > 1 && s[d0] == '0') || (neg && v > (uint64_t)INT64_MAX + 1))
        return false;
    t->v = neg ? 0 - v : v;
    t->n = i - *pos;
    *pos = i;
    return true;
}

/* The element at *pos ('[' ... ']'); on success *pos is just past it. */
static bool chunk_element(const char *s, size_t len, size_t *pos, struct chunk_tok *toks,
                          size_t *ntoks)
{
    size_t i = *pos, n = 0;
    if (i >= len || s[i] != '[')
        return false;
    i++;
    for (;;) {
        if (n == CHUNK_MAX_TOKS || !chunk_tok_parse(s, len, &i, &toks[n]))
            return false;
        n++;
        if (i >= len)
            return false;
        if (s[i] == ']')
            break;
        if (s[i] != ',')
            return false;
        i++;
    }
    *pos = i + 1;
    *ntoks = n;
    return true;
}

int chunk_parse(const char *el, size_t len, struct chunk_tok *toks, size_t *ntoks)
{
    size_t pos = 0;
    return chunk_element(el, len, &pos, toks, ntoks) && pos == len ? 0 : HV_ETRACE;
}

int chunk_next(struct chunk_cursor *c, struct chunk_tok *toks, size_t *ntoks, const char **raw,
               size_t *rawlen)
{
    const char *s = c->text;
    size_t len = c->len, i = c->pos;
    if (i == 0) {
        if (len < 2 || s[0] != '[')
            return HV_ETRACE;
        i = 1;
    } else if (i < len && s[i] == ',') {
        i++;
    } else if (i < len && s[i] != ']') {
        return HV_ETRACE;
    }
    if (i >= len)
        return HV_ETRACE;
    if (s[i] == ']')
        return c->pos == 0 || s[c->pos] == ']' ? 0 : HV_ETRACE;
    size_t start = i;
    if (!chunk_element(s, len, &i, toks, ntoks))
        return HV_ETRACE;
    *raw = s + start;
    *rawlen = i - start;
    c->pos = i;
    c->index++;
    return 1;
}

static const char *const chunk_type_names[] = {
    [HV_FIELD_U64] = "u64",   [HV_FIELD_I64] = "i64",   [HV_FIELD_ADDR] = "addr",
    [HV_FIELD_STR] = "str",   [HV_FIELD_BOOL] = "bool", [HV_FIELD_HEX] = "hex",
    [HV_FIELD_JSON] = "json",
};

const char *chunk_type_name(enum hv_field_type t)
{
    return chunk_type_names[t];
}

char *chunk_key(const char *name, bool first, size_t *len)
{
    size_t size = 6 * strlen(name) + 5;
    char *key = malloc(size);
    if (!key)
        return NULL;
    *len = 1;
    key[0] = first ? '{' : ',';
    hv_json_str(key, size, len, name);
    key[(*len)++] = ':';
    key[*len] = 0;
    return key;
}

int chunk_kind_add_field(struct chunk_kind *k, const char *name, const char *type)
{
    int t = -1;
    for (size_t i = 0; i < sizeof chunk_type_names / sizeof chunk_type_names[0]; i++)
        if (strcmp(type, chunk_type_names[i]) == 0)
            t = (int)i;
    if (t < 0)
        return HV_ETRACE;
    struct chunk_field *fs = realloc(k->fields, (k->nfields + 1) * sizeof *fs);
    if (!fs)
        return HV_ENOMEM;
    k->fields = fs;
    size_t len;
    char *key = chunk_key(name, k->nfields == 0, &len);
    if (!key)
        return HV_ENOMEM;
    fs[k->nfields++] = (struct chunk_field){ key, len, (enum hv_field_type)t };
    return 0;
}

void chunk_kind_resolve(struct chunk_kind *k)
{
    k->kind = k->name ? hv_kind_lookup(k->name) : -1;
    const struct hv_kind_desc *kd = k->kind >= 0 ? hv_kind_desc((enum hv_ev_kind)k->kind) : NULL;
    k->same = kd && kd->nfields == k->nfields;
    for (size_t i = 0; k->same && i < kd->nfields; i++) {
        const char *key = k->fields[i].key;
        size_t n = strlen(kd->fields[i].name);
        /* key is `{"name":` or `,"name":`: the name between the quotes, already plain */
        k->same = k->fields[i].type == kd->fields[i].type && k->fields[i].keylen == n + 4 &&
                  memcmp(key + 2, kd->fields[i].name, n) == 0;
    }
}

void chunk_kind_fini(struct chunk_kind *k)
{
    for (size_t i = 0; i < k->nfields; i++)
        free(k->fields[i].key);
    free(k->fields);
    free(k->name);
    memset(k, 0, sizeof *k);
}

int chunk_detail(struct tbuf *out, const struct chunk_kind *k, const struct chunk_tok *toks,
                 size_t ntoks, chunk_text_fn text, void *ctx)
{
    static const char hex[] = "0123456789abcdef";
    if (ntoks != 4 + k->nfields)
        return HV_ETRACE;
    if (!k->nfields)
        return tbuf_put(out, "{}", 2);
    for (size_t i = 0; i < k->nfields; i++) {
        const struct chunk_field *f = &k->fields[i];
        const struct chunk_tok *t = &toks[4 + i];
        const char *s = t->p;
        size_t n = t->n;
        char buf[24];
        if (t->null && f->type != HV_FIELD_STR && f->type != HV_FIELD_JSON)
            return HV_ETRACE;
        switch (f->type) {
        case HV_FIELD_U64:
        case HV_FIELD_I64:
            if (f->type == HV_FIELD_U64 && *s == '-')
                return HV_ETRACE;
            break;
        case HV_FIELD_ADDR: {
            char *q = buf + sizeof buf;
            uint64_t v = t->v;
            *--q = '"';
            do
                *--q = hex[v & 15];
            while (v >>= 4);
            *--q = 'x';
            *--q = '0';
            *--q = '"';
            s = q;
            n = (size_t)(buf + sizeof buf - q);
            break;
        }
        case HV_FIELD_BOOL:
            if (t->v > 1)
                return HV_ETRACE;
            s = t->v ? "true" : "false";
            n = t->v ? 4 : 5;
            break;
        case HV_FIELD_STR:
        case HV_FIELD_HEX:
        case HV_FIELD_JSON:
            if (t->null)
                break;
            if (*t->p == '-' || !(s = text(ctx, trace_i64_of_u64(t->v), &n)))
                return HV_ETRACE;
            break;
        }
        if (tbuf_reserve(out, f->keylen + n + 1))
            return HV_ENOMEM;
        memcpy(out->p + out->len, f->key, f->keylen);
        memcpy(out->p + out->len + f->keylen, s, n);
        out->len += f->keylen + n;
    }
    out->p[out->len++] = '}';
    out->p[out->len] = 0;
    return 0;
}
