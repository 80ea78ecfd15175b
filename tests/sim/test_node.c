/*
 * test_node.c - the "did you mean" rule (hv_suggest, hv_suggest_hint) and the JSON text of a
 * scenario node (hv_node_json), as tables of {input, expected}. The rows follow the rule
 * written in sim/node.h: optimal string alignment distance 1 or 2, at most a third of the
 * name's length, the closest name first, the first in list order on a tie.
 */
#include <CUnit/CUnit.h>
#include <string.h>

#include "sim/node.h"
#include "tests/test_util.h"

void test_node_register(void);

static void test_suggest(void)
{
    static const char *const keys[] = { "name", "description", "model", "arch", "vcpus",
                                        "seed", "quantum", "limit", "guest", "config",
                                        "memory", "vmm", "steps", "expect", NULL };
    static const char *const outcomes[] = { "done", "assert", "limit", "exception", "failed",
                                            "deadlock", "error", NULL };
    static const char *const ab[] = { "ab", "abc", NULL };
    static const char *const tie[] = { "mem_read", "mem_write", "reg_read", NULL };
    static const struct {
        const char *word;
        const char *const *names;
        const char *want; /* NULL: no suggestion */
    } rows[] = {
        { "vcpu", keys, "vcpus" },             /* one deletion */
        { "vcpsu", keys, "vcpus" },            /* one swap of neighbours */
        { "vcpuss", keys, "vcpus" },           /* one insertion */
        { "exepct", keys, "expect" },          /* a swap */
        { "exect", keys, "expect" },           /* a deletion */
        { "modle", keys, "model" },            /* a swap */
        { "memroy", keys, "memory" },          /* a swap */
        { "descripton", keys, "description" }, /* a deletion in a long name */
        { "dscriptoin", keys, "description" }, /* two edits, 11 letters: 2 * 3 <= 11 */
        { "stpes", keys, "steps" },            /* a swap: 1 * 3 <= 5 */
        { "sed", keys, "seed" },               /* 1 * 3 <= 4 */
        { "vm", keys, "vmm" },                 /* 1 * 3 <= 3 */
        { "gst", keys, NULL },                 /* two edits from guest: 2 * 3 > 5 */
        { "xyz", keys, NULL },
        { "colour", keys, NULL },
        { "seed", keys, NULL },                /* a known name is not a typo */
        { "", keys, NULL },
        { "fail", outcomes, "failed" },        /* two from failed: 2 * 3 <= 6 */
        { "fai", outcomes, NULL },             /* three from failed */
        { "faild", outcomes, "failed" },
        { "exceptoin", outcomes, "exception" },
        { "don", outcomes, "done" },
        { "dead-lock", outcomes, "deadlock" },
        { "xy", ab, NULL },                    /* 2 edits from "ab": 2 * 3 > 2 */
        { "a", ab, NULL },                     /* 1 * 3 > 2 */
        { "abcd", ab, "abc" },
        { "mem_raed", tie, "mem_read" },
        { "reg_rite", tie, NULL },             /* reg_read and mem_write are 3 away */
        { "mem_rea", tie, "mem_read" },        /* mem_read 1 beats reg_read 2 */
        { "xem_read", tie, "mem_read" },       /* mem_read 1, reg_read 2 */
        { "meg_read", tie, "mem_read" },       /* a tie at 1: the first in list order */
    };
    for (size_t i = 0; i < TEST_N(rows); i++) {
        const char *got = hv_suggest(rows[i].word, rows[i].names);
        TEST_CHECK(rows[i].want ? got && strcmp(got, rows[i].want) == 0 : got == NULL,
                   "row %zu: '%s' suggested '%s', expected '%s'", i, rows[i].word,
                   got ? got : "(none)", rows[i].want ? rows[i].want : "(none)");
    }
    /* a word or name longer than the comparison bound is never suggested nor compared */
    char longw[200];
    memset(longw, 'a', sizeof longw - 1);
    longw[sizeof longw - 1] = '\0';
    const char *const longs[] = { longw, "aaa", NULL };
    CU_ASSERT_PTR_NULL(hv_suggest(longw, longs));
    CU_ASSERT_PTR_NULL(hv_suggest("aaaa", (const char *const[]){ longw, NULL }));
    CU_ASSERT_PTR_NULL(hv_suggest("x", NULL));
}

static void test_suggest_hint(void)
{
    static const char *const few[] = { "gpa", "size", NULL };
    static const char *const none[] = { NULL };
    static const char *const many[] = {
        "kvm_exit", "kvm_hypercall", "kvm_lookup", "kvm_smccc", "kvm_memslot", "kvm_dirty",
        "hypercall", "mmio", "pio", "sched", "step", "expect", "run_start", "run_end",
        "ucall_sync", "ucall_done", "ucall_printf", "ucall_assert", NULL,
    };
    static const struct {
        const char *word;
        const char *const *names;
        const char *want;
    } rows[] = {
        { "sise", few, " (did you mean 'size'?)" },
        { "bogus", few, " (allowed: gpa, size)" },
        { "bogus", none, "" },
        { "kvm_exti", many, " (did you mean 'kvm_exit'?)" },
        { "nothing_like_it", many, "" },         /* the list is longer than 120 characters */
    };
    for (size_t i = 0; i < TEST_N(rows); i++) {
        char buf[200];
        const char *got = hv_suggest_hint(rows[i].word, rows[i].names, buf, sizeof buf);
        TEST_CHECK(got == buf && strcmp(buf, rows[i].want) == 0, "row %zu: '%s' gave \"%s\"",
                   i, rows[i].word, buf);
    }
    char small[12];
    hv_suggest_hint("sise", few, small, sizeof small);
    CU_ASSERT_EQUAL(strlen(small), sizeof small - 1); /* cut, still terminated */
}

static void test_node_json(void)
{
    struct hv_node keys[2] = {
        { .type = HV_NODE_SCALAR, .str = "errno" }, { .type = HV_NODE_SCALAR, .str = "n" },
    };
    struct hv_node seqitems[3] = {
        { .type = HV_NODE_SCALAR, .str = "0x10" },
        { .type = HV_NODE_SCALAR, .str = "-2" },
        { .type = HV_NODE_SCALAR, .str = "true" },
    };
    struct hv_node items[2] = {
        { .type = HV_NODE_SCALAR, .str = "0", .quoted = true },
        { .type = HV_NODE_SEQ, .n = 3, .items = seqitems },
    };
    struct hv_node map = { .type = HV_NODE_MAP, .n = 2, .items = items, .keys = keys };
    static const struct {
        const char *str;
        bool quoted;
        const char *want;
    } rows[] = {
        { "42", false, "42" },
        { "0x2a", false, "42" },
        { "1_000", false, "1000" },
        { "18446744073709551615", false, "18446744073709551615" },
        { "-9223372036854775808", false, "-9223372036854775808" },
        { "42", true, "\"42\"" },
        { "010", false, "\"010\"" },           /* not an hvsim integer */
        { "true", false, "true" },
        { "false", false, "false" },
        { "True", false, "\"True\"" },
        { "null", false, "null" },
        { "~", false, "null" },
        { "", false, "null" },
        { "", true, "\"\"" },
        { "a \"b\"\n", false, "\"a \\\"b\\\"\\n\"" },
        { "EINVAL", false, "\"EINVAL\"" },
    };
    for (size_t i = 0; i < TEST_N(rows); i++) {
        struct hv_node n = { .type = HV_NODE_SCALAR, .str = (char *)rows[i].str,
                             .quoted = rows[i].quoted };
        char buf[64];
        size_t len = hv_node_json(&n, buf, sizeof buf);
        TEST_CHECK(strcmp(buf, rows[i].want) == 0 && len == strlen(rows[i].want),
                   "row %zu: '%s' gave %s", i, rows[i].str, buf);
    }
    char buf[64];
    hv_node_json(&map, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "{\"errno\":\"0\",\"n\":[16,-2,true]}");
    hv_node_json(NULL, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "null");
    char small[8];
    size_t len = hv_node_json(&map, small, sizeof small);
    CU_ASSERT_EQUAL(len, strlen("{\"errno\":\"0\",\"n\":[16,-2,true]}"));
    CU_ASSERT_STRING_EQUAL(small, "{\"errno");
}

void test_node_register(void)
{
    CU_pSuite s = CU_add_suite("node", NULL, NULL);
    CU_add_test(s, "suggest", test_suggest);
    CU_add_test(s, "suggest hint", test_suggest_hint);
    CU_add_test(s, "json", test_node_json);
}
