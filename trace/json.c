/*
 * json.c - a strict JSON checker (RFC 8259 grammar) and the UTF-8 repair of its strings.
 *
 * The checker is a recursive descent over the text with a depth limit, so a hostile text
 * ("[[[[...") costs at most JSON_MAX_DEPTH frames. It copies nothing: show and the trace
 * reader call it on every detail they hand out.
 */
#include "trace/json.h"

#include <stdint.h>
#include <string.h>

struct json_scan {
    const unsigned char *p, *end, *start;
    bool utf8;
};

/* Length of the valid UTF-8 sequence at p (2 .. 4 bytes), or 0 (RFC 3629: no overlong form,
 * no surrogate, nothing above U+10FFFF). p[0] is at least 0x80. */
static size_t json_utf8_len(const unsigned char *p, const unsigned char *end)
{
    size_t avail = (size_t)(end - p);
    unsigned c = p[0];
    if (c >= 0xc2 && c <= 0xdf)
        return avail >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        if (avail < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
            return 0;
        if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0))
            return 0;
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        if (avail < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 ||
            (p[3] & 0xc0) != 0x80)
            return 0;
        if ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] >= 0x90))
            return 0;
        return 4;
    }
    return 0;
}

static void json_ws(struct json_scan *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static bool json_lit(struct json_scan *j, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0)
        return false;
    j->p += n;
    return true;
}

static bool json_digits(struct json_scan *j)
{
    const unsigned char *s = j->p;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
        j->p++;
    return j->p > s;
}

static bool json_number(struct json_scan *j)
{
    if (j->p < j->end && *j->p == '-')
        j->p++;
    if (j->p < j->end && *j->p == '0')
        j->p++;
    else if (!json_digits(j))
        return false;
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (!json_digits(j))
            return false;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
            j->p++;
        if (!json_digits(j))
            return false;
    }
    return true;
}

static bool json_string(struct json_scan *j)
{
    static const char escapes[] = "\"\\/bfnrt";
    j->p++;   /* the opening quote */
    while (j->p < j->end) {
        unsigned c = *j->p;
        if (c == '"') {
            j->p++;
            return true;
        }
        if (c < 0x20)
            return false;
        if (c == '\\') {
            if (j->end - j->p < 2)
                return false;
            if (j->p[1] == 'u') {
                if (j->end - j->p < 6)
                    return false;
                for (int i = 2; i < 6; i++)
                    if (!strchr("0123456789abcdefABCDEF", j->p[i]) || !j->p[i])
                        return false;
                j->p += 6;
            } else if (j->p[1] && strchr(escapes, j->p[1])) {
                j->p += 2;
            } else {
                return false;
            }
            continue;
        }
        if (c >= 0x80) {
            size_t len = json_utf8_len(j->p, j->end);
            j->utf8 = j->utf8 && len;
            j->p += len ? len : 1;
            continue;
        }
        j->p++;
    }
    return false;
}

static bool json_value(struct json_scan *j, int depth)
{
    json_ws(j);
    if (j->p >= j->end)
        return false;
    switch (*j->p) {
    case '"':
        return json_string(j);
    case 't':
        return json_lit(j, "true");
    case 'f':
        return json_lit(j, "false");
    case 'n':
        return json_lit(j, "null");
    case '[':
    case '{': {
        bool obj = *j->p == '{';
        char close = obj ? '}' : ']';
        if (depth >= JSON_MAX_DEPTH)
            return false;
        j->p++;
        json_ws(j);
        if (j->p < j->end && *j->p == close) {
            j->p++;
            return true;
        }
        for (;;) {
            if (obj) {
                json_ws(j);
                if (j->p >= j->end || *j->p != '"' || !json_string(j))
                    return false;
                json_ws(j);
                if (j->p >= j->end || *j->p != ':')
                    return false;
                j->p++;
            }
            if (!json_value(j, depth + 1))
                return false;
            json_ws(j);
            if (j->p < j->end && *j->p == ',') {
                j->p++;
                continue;
            }
            if (j->p < j->end && *j->p == close) {
                j->p++;
                return true;
            }
            return false;
        }
    }
    default:
        return json_number(j);
    }
}

bool json_check(const char *s, size_t n, size_t *bad, bool *utf8)
{
    struct json_scan j = { (const unsigned char *)s, (const unsigned char *)s + n,
                           (const unsigned char *)s, true };
    bool ok = json_value(&j, 0);
    if (ok) {
        json_ws(&j);
        ok = j.p == j.end;
    }
    if (bad)
        *bad = ok ? 0 : (size_t)(j.p - j.start);
    if (utf8)
        *utf8 = j.utf8;
    return ok;
}

void json_utf8(const char *s, size_t n, void (*put)(void *ctx, const char *p, size_t len),
               void *ctx)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n, *run = p;
    while (p < end) {
        if (*p < 0x80) {
            p++;
            continue;
        }
        /* Bytes >= 0x80 occur only inside strings of a checked text. */
        size_t len = json_utf8_len(p, end);
        if (len) {
            p += len;
            continue;
        }
        put(ctx, (const char *)run, (size_t)(p - run));
        put(ctx, "\\ufffd", 6);
        run = ++p;
    }
    put(ctx, (const char *)run, (size_t)(p - run));
}
