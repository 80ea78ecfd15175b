/* event.c - descriptors and the canonical JSON encoder expanded from events.def. */
#include "trace/event.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* One filler per kind, expanded from the list: the typedef gives F the struct to measure. */
#define HV_F_DESC_(t, n, d) *out++ = (struct hv_field_desc){ #n, d, HV_FIELD_##t, offsetof(cur_t, n), NULL, 0 };
#define HV_EV_FILL_(k, kdoc, ...)                                                            \
    static struct hv_field_desc *fill_##k(struct hv_field_desc *out)                         \
    {                                                                                        \
        typedef struct hv_ev_##k cur_t;                                                      \
        (void)sizeof(cur_t);                                                                 \
        __VA_ARGS__                                                                          \
        return out;                                                                          \
    }
HV_EVENTS(HV_EV_FILL_, HV_F_DESC_)
#undef HV_EV_FILL_
#undef HV_F_DESC_

static struct hv_kind_desc kinds[HV_EV__COUNT];
static struct hv_field_desc field_store[512];
static char key_store[512 * 48];

static void kinds_init(void)
{
    static bool done;
    if (done)
        return;
    struct hv_field_desc *next = field_store;
#define HV_EV_INIT_(k, kdoc, ...)                                                            \
    kinds[HV_EV_##k].name = #k;                                                              \
    kinds[HV_EV_##k].doc = kdoc;                                                             \
    kinds[HV_EV_##k].fields = next;                                                          \
    next = fill_##k(next);                                                                   \
    kinds[HV_EV_##k].nfields = (size_t)(next - kinds[HV_EV_##k].fields);
#define HV_F_NONE_(t, n, d)
    HV_EVENTS(HV_EV_INIT_, HV_F_NONE_)
#undef HV_EV_INIT_
#undef HV_F_NONE_
    /* Each key once, encoded as the detail writes it: the encoder copies it. */
    size_t used = 0;
    for (struct hv_field_desc *f = field_store; f < next; f++) {
        size_t len = 0;
        hv_json_str(key_store + used, sizeof key_store - used - 1, &len, f->name);
        assert(used + len + 2 <= sizeof key_store);
        key_store[used + len] = ':';
        f->key = key_store + used;
        f->keylen = len + 1;
        used += len + 2;
    }
    done = true;
}

const struct hv_kind_desc *hv_kind_desc(enum hv_ev_kind kind)
{
    if ((int)kind < 0 || kind >= HV_EV__COUNT)
        return NULL;
    kinds_init();
    return &kinds[kind];
}

int hv_kind_lookup(const char *name)
{
    kinds_init();
    for (int k = 0; k < HV_EV__COUNT; k++)
        if (strcmp(kinds[k].name, name) == 0)
            return k;
    return -1;
}

static void put(char *buf, size_t size, size_t *len, const char *s, size_t n)
{
    if (*len < size) {
        size_t room = size - *len;
        memcpy(buf + *len, s, n < room ? n : room);
    }
    *len += n;
}

enum numfmt { NUM_U, NUM_I, NUM_ADDR };

/* Integers by hand: snprintf was a visible share of every event's cost. */
static void putnum(char *buf, size_t size, size_t *len, enum numfmt f, uint64_t v)
{
    static const char hex[] = "0123456789abcdef";
    char tmp[32];
    char *end = tmp + sizeof tmp, *p = end;
    if (f == NUM_ADDR) {
        *--p = '"';
        do
            *--p = hex[v & 15];
        while (v >>= 4);
        *--p = 'x';
        *--p = '0';
        *--p = '"';
    } else {
        bool neg = f == NUM_I && (int64_t)v < 0;
        uint64_t u = neg ? 0 - v : v;
        do
            *--p = (char)('0' + u % 10);
        while (u /= 10);
        if (neg)
            *--p = '-';
    }
    put(buf, size, len, p, (size_t)(end - p));
}

char *hv_dec(char *p, uint64_t v, bool neg)
{
    /* the digits written from the last, two at a time, in place: no buffer to copy */
    static const uint64_t pow10[] = { 1u, 10u, 100u, 1000u, 10000u, 100000u, 1000000u,
                                      10000000u, 100000000u, 1000000000u, 10000000000u,
                                      100000000000u, 1000000000000u, 10000000000000u,
                                      100000000000000u, 1000000000000000u,
                                      10000000000000000u, 100000000000000000u,
                                      1000000000000000000u, 10000000000000000000u };
    uint64_t u = neg ? 0 - v : v;
    if (neg)
        *p++ = '-';
    size_t n = 1;
    while (n < sizeof pow10 / sizeof pow10[0] && u >= pow10[n])
        n++;
    static const char pairs[] = "00010203040506070809101112131415161718192021222324252627282930"
                                "31323334353637383940414243444546474849505152535455565758596061"
                                "62636465666768697071727374757677787980818283848586878889909192"
                                "93949596979899";
    char *end = p + n;
    while (u >= 100) {
        end -= 2;
        memcpy(end, pairs + 2 * (u % 100), 2);
        u /= 100;
    }
    if (u >= 10) {
        end -= 2;
        memcpy(end, pairs + 2 * u, 2);
    } else {
        *--end = (char)('0' + u);
    }
    return p + n;
}

void hv_hex(const uint8_t *p, size_t n, char *out)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[p[i] >> 4];
        out[2 * i + 1] = hx[p[i] & 15];
    }
    out[2 * n] = 0;
}

void hv_json_str(char *buf, size_t size, size_t *len, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    put(buf, size, len, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        const char *run = (const char *)p;
        size_t n = 0;
        while (p[n] >= 0x20 && p[n] != '"' && p[n] != '\\')
            n++;
        if (n) {
            put(buf, size, len, run, n);
            p += n - 1;
            continue;
        }
        char esc[7] = { '\\', 0 };
        switch (*p) {
        case '"': esc[1] = '"'; put(buf, size, len, esc, 2); break;
        case '\\': esc[1] = '\\'; put(buf, size, len, esc, 2); break;
        case '\n': esc[1] = 'n'; put(buf, size, len, esc, 2); break;
        case '\t': esc[1] = 't'; put(buf, size, len, esc, 2); break;
        case '\r': esc[1] = 'r'; put(buf, size, len, esc, 2); break;
        default:
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[*p >> 4];
            esc[5] = hex[*p & 15];
            put(buf, size, len, esc, 6);
        }
    }
    put(buf, size, len, "\"", 1);
    if (*len < size)
        buf[*len] = 0;
}

/* Writes s as a JSON string at p, which has room for 6 * strlen(s) + 2 bytes; returns the end. */
static char *fast_str(char *p, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    *p++ = '"';
    for (const unsigned char *q = (const unsigned char *)s; *q; q++) {
        unsigned char c = *q;
        if (c >= 0x20 && c != '"' && c != '\\') {
            *p++ = (char)c;
            continue;
        }
        *p++ = '\\';
        switch (c) {
        case '"': *p++ = '"'; break;
        case '\\': *p++ = '\\'; break;
        case '\n': *p++ = 'n'; break;
        case '\t': *p++ = 't'; break;
        case '\r': *p++ = 'r'; break;
        default:
            memcpy(p, "u00", 3);
            p[3] = hex[c >> 4];
            p[4] = hex[c & 15];
            p += 5;
        }
    }
    *p++ = '"';
    return p;
}

/*
 * The encoder without bounds checks, for a buffer known to hold the text (the caller's bound:
 * every escape at its longest). Same output as the checked encoder below, byte for byte.
 */
static size_t fast_encode(char *buf, const struct hv_kind_desc *kd, const void *fields)
{
    static const char hex[] = "0123456789abcdef";
    char *p = buf;
    *p++ = '{';
    for (size_t i = 0; i < kd->nfields; i++) {
        const struct hv_field_desc *f = &kd->fields[i];
        const char *fp = (const char *)fields + f->offset;
        if (i)
            *p++ = ',';
        memcpy(p, f->key, f->keylen);
        p += f->keylen;
        switch (f->type) {
        case HV_FIELD_U64:
        case HV_FIELD_I64: {
            uint64_t v;
            memcpy(&v, fp, sizeof v);
            p = hv_dec(p, v, f->type == HV_FIELD_I64 && (int64_t)v < 0);
            break;
        }
        case HV_FIELD_ADDR: {
            uint64_t v;
            size_t len = 0;
            memcpy(&v, fp, sizeof v);
            putnum(p, 32, &len, NUM_ADDR, v);
            p += len;
            break;
        }
        case HV_FIELD_BOOL: {
            bool v;
            memcpy(&v, fp, sizeof v);
            memcpy(p, v ? "true" : "false", v ? 4 : 5);
            p += v ? 4 : 5;
            break;
        }
        case HV_FIELD_STR:
        case HV_FIELD_JSON: {
            const char *v;
            memcpy(&v, fp, sizeof v);
            if (!v) {
                memcpy(p, "null", 4);
                p += 4;
            } else if (f->type == HV_FIELD_STR) {
                p = fast_str(p, v);
            } else {
                size_t n = strlen(v);
                memcpy(p, v, n);
                p += n;
            }
            break;
        }
        case HV_FIELD_HEX: {
            struct hv_bytes b;
            memcpy(&b, fp, sizeof b);
            *p++ = '"';
            for (size_t j = 0; j < b.n; j++) {
                *p++ = hex[b.p[j] >> 4];
                *p++ = hex[b.p[j] & 15];
            }
            *p++ = '"';
            break;
        }
        }
    }
    *p++ = '}';
    *p = 0;
    return (size_t)(p - buf);
}

/* An upper bound of the encoded length of fields, with the NUL. */
static size_t encode_bound(const struct hv_kind_desc *kd, const void *fields)
{
    size_t n = 3;
    for (size_t i = 0; i < kd->nfields; i++) {
        const struct hv_field_desc *f = &kd->fields[i];
        const char *fp = (const char *)fields + f->offset;
        n += 1 + f->keylen;
        if (f->type == HV_FIELD_STR || f->type == HV_FIELD_JSON) {
            const char *v;
            memcpy(&v, fp, sizeof v);
            n += v ? (f->type == HV_FIELD_STR ? 6 : 1) * strlen(v) + 2 : 4;
        } else if (f->type == HV_FIELD_HEX) {
            struct hv_bytes b;
            memcpy(&b, fp, sizeof b);
            n += 2 * b.n + 2;
        } else {
            n += 24;
        }
    }
    return n;
}

size_t hv_event_encode(char *buf, size_t size, enum hv_ev_kind kind, const void *fields)
{
    static const char hex[] = "0123456789abcdef";
    const struct hv_kind_desc *kd = hv_kind_desc(kind);
    size_t len = 0;
    if (kd && (fields || !kd->nfields) && encode_bound(kd, fields) <= size)
        return fast_encode(buf, kd, fields);
    put(buf, size, &len, "{", 1);
    for (size_t i = 0; kd && i < kd->nfields; i++) {
        const struct hv_field_desc *f = &kd->fields[i];
        const char *p = (const char *)fields + f->offset;
        if (i)
            put(buf, size, &len, ",", 1);
        put(buf, size, &len, f->key, f->keylen);
        switch (f->type) {
        case HV_FIELD_U64: {
            uint64_t v;
            memcpy(&v, p, sizeof v);
            putnum(buf, size, &len, NUM_U, v);
            break;
        }
        case HV_FIELD_I64: {
            int64_t v;
            memcpy(&v, p, sizeof v);
            putnum(buf, size, &len, NUM_I, (uint64_t)v);
            break;
        }
        case HV_FIELD_ADDR: {
            uint64_t v;
            memcpy(&v, p, sizeof v);
            putnum(buf, size, &len, NUM_ADDR, v);
            break;
        }
        case HV_FIELD_BOOL: {
            bool v;
            memcpy(&v, p, sizeof v);
            put(buf, size, &len, v ? "true" : "false", v ? 4 : 5);
            break;
        }
        case HV_FIELD_STR:
        case HV_FIELD_JSON: {
            const char *s;
            memcpy(&s, p, sizeof s);
            if (!s)
                put(buf, size, &len, "null", 4);
            else if (f->type == HV_FIELD_STR)
                hv_json_str(buf, size, &len, s);
            else
                put(buf, size, &len, s, strlen(s));
            break;
        }
        case HV_FIELD_HEX: {
            struct hv_bytes b;
            memcpy(&b, p, sizeof b);
            put(buf, size, &len, "\"", 1);
            for (size_t j = 0; j < b.n; j++) {
                char two[2] = { hex[b.p[j] >> 4], hex[b.p[j] & 15] };
                put(buf, size, &len, two, 2);
            }
            put(buf, size, &len, "\"", 1);
            break;
        }
        }
    }
    put(buf, size, &len, "}", 1);
    if (len < size)
        buf[len] = 0;
    else if (size)
        buf[size - 1] = 0;
    return len;
}
