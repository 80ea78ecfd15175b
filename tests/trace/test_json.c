/*
 * test_json.c - the JSON checker (trace/json.c) against the RFC 8259 grammar, and the UTF-8
 * repair of strings (RFC 3629 sequences; everything else becomes \ufffd).
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>

#include "tests/test_util.h"
#include "trace/json.h"

void test_json_register(void);

static void test_json_check(void)
{
    static const struct {
        const char *text;
        bool ok;
        size_t bad;     /* with !ok: offset of the first byte that does not fit */
        bool utf8;      /* with ok: no invalid UTF-8 in strings */
    } rows[] = {
        { "{}", true, 0, true },
        { "{\"a\":1,\"b\":[true,false,null,-0.5e+3,\"x\"]}", true, 0, true },
        { " [ 1 , 2 ]\n", true, 0, true },
        { "\"\\u00e9\\n\\\\\\/\"", true, 0, true },
        { "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"", true, 0, true },
        { "\"\x80\"", true, 0, false },              /* a lone continuation byte */
        { "\"\xc0\xaf\"", true, 0, false },          /* overlong '/' */
        { "\"\xed\xa0\x80\"", true, 0, false },      /* a surrogate */
        { "\"\xf4\x90\x80\x80\"", true, 0, false },  /* above U+10FFFF */
        { "\"\xe2\x82\"", true, 0, false },          /* cut short */
        { "", false, 0, false },
        { "{", false, 1, false },
        { "{\"a\"}", false, 4, false },
        { "{\"a\":1,}", false, 7, false },
        { "[1 2]", false, 3, false },
        { "\"abc", false, 4, false },
        { "\"a\x01\"", false, 2, false },            /* a control character */
        { "\"\\x\"", false, 1, false },
        { "\"\\u12g4\"", false, 1, false },
        { "01", false, 1, false },
        { "-", false, 1, false },
        { "1.", false, 2, false },
        { "tru", false, 0, false },
        { "{} {}", false, 3, false },
        { "\x80", false, 0, false },                 /* outside a string */
    };
    for (size_t i = 0; i < TEST_N(rows); i++) {
        size_t bad = 999;
        bool utf8 = !rows[i].utf8;
        bool ok = json_check(rows[i].text, strlen(rows[i].text), &bad, &utf8);
        TEST_CHECK(ok == rows[i].ok, "row %zu '%s': %d, expected %d", i, rows[i].text, ok,
                   rows[i].ok);
        if (ok && rows[i].ok)
            TEST_CHECK(utf8 == rows[i].utf8, "row %zu: utf8 %d", i, utf8);
        if (!ok && !rows[i].ok)
            TEST_CHECK(bad == rows[i].bad, "row %zu: bad at %zu, expected %zu", i, bad,
                       rows[i].bad);
    }
    /* nesting: JSON_MAX_DEPTH levels are accepted, one more is refused at its bracket */
    char deep[2 * JSON_MAX_DEPTH + 3];
    for (int depth = JSON_MAX_DEPTH; depth <= JSON_MAX_DEPTH + 1; depth++) {
        memset(deep, '[', (size_t)depth);
        memset(deep + depth, ']', (size_t)depth);
        size_t bad = 0;
        bool ok = json_check(deep, 2 * (size_t)depth, &bad, NULL);
        TEST_CHECK(ok == (depth == JSON_MAX_DEPTH), "depth %d: %d", depth, ok);
        TEST_CHECK(ok || bad == JSON_MAX_DEPTH, "depth %d: bad at %zu", depth, bad);
    }
    /* a NUL byte inside a string is a control character */
    CU_ASSERT_FALSE(json_check("\"a\0b\"", 5, NULL, NULL));
}

struct sink {
    char buf[256];
    size_t len;
};

static void sink_put(void *ctx, const char *p, size_t n)
{
    struct sink *s = ctx;
    CU_ASSERT_FATAL(s->len + n < sizeof s->buf);
    memcpy(s->buf + s->len, p, n);
    s->len += n;
    s->buf[s->len] = 0;
}

static void test_utf8(void)
{
    static const struct {
        const char *in, *out;
    } rows[] = {
        { "{\"a\":\"plain\"}", "{\"a\":\"plain\"}" },
        { "\"caf\xc3\xa9\"", "\"caf\xc3\xa9\"" },
        { "\"\x80\"", "\"\\ufffd\"" },
        { "\"a\xff\xfe" "b\"", "\"a\\ufffd\\ufffdb\"" },
        { "\"\xe2\x82\"", "\"\\ufffd\\ufffd\"" },
        { "[\"\xed\xa0\x80\",\"\xf0\x9f\x98\x80\"]",
          "[\"\\ufffd\\ufffd\\ufffd\",\"\xf0\x9f\x98\x80\"]" },
    };
    for (size_t i = 0; i < TEST_N(rows); i++) {
        struct sink s = { .len = 0 };
        json_utf8(rows[i].in, strlen(rows[i].in), sink_put, &s);
        TEST_CHECK(strcmp(s.buf, rows[i].out) == 0, "row %zu: '%s', expected '%s'", i, s.buf,
                   rows[i].out);
        bool utf8 = false;
        TEST_CHECK(json_check(s.buf, s.len, NULL, &utf8) && utf8, "row %zu: not strict", i);
    }
}

void test_json_register(void)
{
    CU_pSuite s = CU_add_suite("json", NULL, NULL);
    CU_add_test(s, "strict JSON, located errors", test_json_check);
    CU_add_test(s, "invalid UTF-8 replaced", test_utf8);
}
