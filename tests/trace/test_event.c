/* test_event.c - the canonical JSON encoding of events (trace/event.c). */
#include <CUnit/CUnit.h>
#include <string.h>

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
}
