/* test_event.c - the canonical JSON encoding of events (trace/event.c). */
#include <CUnit/CUnit.h>
#include <stdint.h>
#include <string.h>

#include "tests/test_util.h"
#include "trace/event.h"

void test_event_register(void);

static void test_encode_table(void)
{
    static const uint8_t bytes[] = { 0x0f, 0x01, 0xc1 };
    struct hv_ev_mmio mmio = { .gpa = 0xfee00000, .size = 4, .write = true, .data = 7 };
    struct hv_ev_ucall_assert as = { .file = "a\"b.c", .line = 12, .expr = NULL, .text = "x\ny" };
    struct hv_ev_invalid_insn ii = { .bytes = { bytes, sizeof bytes } };
    struct hv_ev_step st = { .index = 2, .action = "mem_write", .result = "{\"n\":1}", .ok = false };
    const struct {
        enum hv_ev_kind kind;
        const void *fields;
        const char *json;
    } rows[] = {
        { HV_EV_mmio, &mmio, "{\"gpa\":\"0xfee00000\",\"size\":4,\"write\":true,\"data\":7}" },
        { HV_EV_ucall_assert, &as,
          "{\"file\":\"a\\\"b.c\",\"line\":12,\"expr\":null,\"text\":\"x\\ny\"}" },
        { HV_EV_invalid_insn, &ii, "{\"bytes\":\"0f01c1\"}" },
        { HV_EV_step, &st, "{\"index\":2,\"action\":\"mem_write\",\"result\":{\"n\":1},\"ok\":false,\"at\":null,"
                           "\"expected\":null}" },
        { HV_EV_ucall_done, NULL, "{}" },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char buf[256];
        size_t n = hv_event_encode(buf, sizeof buf, rows[i].kind, rows[i].fields);
        CU_ASSERT_EQUAL(n, strlen(rows[i].json));
        CU_ASSERT_STRING_EQUAL(buf, rows[i].json);
    }
}

static void test_encode_truncates(void)
{
    struct hv_ev_ucall_sync s = { .n = 123456 };
    char buf[8];
    size_t n = hv_event_encode(buf, sizeof buf, HV_EV_ucall_sync, &s);
    CU_ASSERT(n >= sizeof buf);
    CU_ASSERT_EQUAL(strlen(buf), sizeof buf - 1);
}

static void test_decimal(void)
{
    static const struct {
        uint64_t v;
        bool neg;
        const char *text;
    } rows[] = {
        { 0, false, "0" }, { 9, false, "9" }, { 10, false, "10" }, { 99, false, "99" },
        { 100, false, "100" }, { 9999999999u, false, "9999999999" },
        { 10000000000u, false, "10000000000" }, { UINT64_MAX, false, "18446744073709551615" },
        { 10000000000000000000u, false, "10000000000000000000" },
        { (uint64_t)-1, true, "-1" }, { (uint64_t)INT64_MIN, true, "-9223372036854775808" },
        { (uint64_t)-10, true, "-10" },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char buf[32];
        char *end = hv_dec(buf, rows[i].v, rows[i].neg);
        *end = 0;
        TEST_CHECK(strcmp(buf, rows[i].text) == 0, "row %zu: %s, expected %s", i, buf,
                   rows[i].text);
    }
}

/* Every kind with awkward values: the unchecked path (a large buffer) and the checked one
 * (a buffer just large enough for the text) write the same bytes. */
static void test_both_paths(void)
{
    static const uint8_t bytes[] = { 0x00, 0x7f, 0xff };
    union {
        uint64_t align;
        char raw[512];
    } u;
    for (int k = 0; k < HV_EV__COUNT; k++) {
        const struct hv_kind_desc *kd = hv_kind_desc((enum hv_ev_kind)k);
        memset(&u, 0, sizeof u);
        for (size_t i = 0; i < kd->nfields; i++) {
            char *p = u.raw + kd->fields[i].offset;
            uint64_t v = i % 2 ? UINT64_MAX - i : (uint64_t)INT64_MIN + i;
            const char *str = i % 3 ? "a\"b\\c\n\t\r\x01\x08\x0c\x1f caf\xc3\xa9" : NULL;
            bool b = i % 2;
            struct hv_bytes h = { bytes, sizeof bytes };
            switch (kd->fields[i].type) {
            case HV_FIELD_U64:
            case HV_FIELD_I64:
            case HV_FIELD_ADDR: memcpy(p, &v, sizeof v); break;
            case HV_FIELD_STR:
            case HV_FIELD_JSON: memcpy(p, &str, sizeof str); break;
            case HV_FIELD_BOOL: memcpy(p, &b, sizeof b); break;
            case HV_FIELD_HEX: memcpy(p, &h, sizeof h); break;
            }
        }
        char big[4096], exact[4096];
        size_t n = hv_event_encode(big, sizeof big, (enum hv_ev_kind)k, &u);
        CU_ASSERT_FATAL(n < sizeof big);
        size_t m = hv_event_encode(exact, n + 1, (enum hv_ev_kind)k, &u);
        TEST_CHECK(m == n && memcmp(big, exact, n + 1) == 0, "kind %s: %s vs %s", kd->name,
                   big, exact);
    }
}

static void test_kind_lookup(void)
{
    for (int k = 0; k < HV_EV__COUNT; k++) {
        const struct hv_kind_desc *d = hv_kind_desc((enum hv_ev_kind)k);
        CU_ASSERT_PTR_NOT_NULL_FATAL(d);
        CU_ASSERT_EQUAL(hv_kind_lookup(d->name), k);
    }
    CU_ASSERT_EQUAL(hv_kind_lookup("no_such_kind"), -1);
    CU_ASSERT_PTR_NULL(hv_kind_desc(HV_EV__COUNT));
}

void test_event_register(void)
{
    CU_pSuite s = CU_add_suite("event", NULL, NULL);
    CU_add_test(s, "encode table", test_encode_table);
    CU_add_test(s, "encode truncates", test_encode_truncates);
    CU_add_test(s, "kind lookup", test_kind_lookup);
    CU_add_test(s, "decimal numbers", test_decimal);
    CU_add_test(s, "unchecked and checked encoders agree", test_both_paths);
}
