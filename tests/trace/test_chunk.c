/*
 * test_chunk.c - the chunk codec (trace/chunk.c): events encoded as chunk elements by the rule
 * of docs/trace-format.md ("event_chunks"), every kind decoded back into the detail
 * hv_event_encode() writes, malformed chunks refused, chunk_fits() at the int64 edges, and the
 * string memo never giving a stale id.
 */
#include <CUnit/CUnit.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "tests/test_util.h"
#include "sim/hv_err.h"
#include "trace/chunk.h"

void test_chunk_register(void);

/* A string table for the tests: ids in first-seen order, texts kept for checking. */
struct tc_strings {
    char *text[64];
    size_t len[64];
    size_t n;
    bool lookup_only;
};

static int tc_str(void *ctx, const char *json, size_t len, int64_t *id)
{
    struct tc_strings *t = ctx;
    for (size_t i = 0; i < t->n; i++)
        if (t->len[i] == len && memcmp(t->text[i], json, len) == 0) {
            *id = (int64_t)i;
            return 0;
        }
    if (t->lookup_only || t->n == 64)
        return 1;
    t->text[t->n] = strndup(json, len);
    t->len[t->n] = len;
    *id = (int64_t)t->n++;
    return 0;
}

static const char *tc_text(void *ctx, int64_t id, size_t *len)
{
    struct tc_strings *t = ctx;
    if (id < 0 || (size_t)id >= t->n)
        return NULL;
    *len = t->len[id];
    return t->text[id];
}

static void tc_strings_fini(struct tc_strings *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->text[i]);
    t->n = 0;
}

/* ---- encoding, row by row from the rule ------------------------------------------------ */

static void test_encode_rows(void)
{
    static const uint8_t ud2[] = { 0x0f, 0x0b };
    static const struct hv_ev_ucall_sync s3 = { .n = 3 }, smax = { .n = UINT64_MAX };
    static const struct hv_ev_mmio mm = { .gpa = 0xffff800000000000u, .size = 4, .write = true,
                                          .data = 0 };
    static const struct hv_ev_hypercall hc = { .insn = "vmcall", .imm = 0, .nr = 4351,
                                               .handled_by = "none", .cond_failed = false };
    static const struct hv_ev_hypercall hc2 = { .insn = "vmcall", .imm = 1, .nr = 2,
                                                .handled_by = NULL, .cond_failed = true };
    static const struct hv_ev_invalid_insn ii = { .bytes = { ud2, sizeof ud2 } };
    static const struct hv_ev_kvm_hypercall kh = { .nr = 1, .ret = INT64_MIN, .rule = "r" };
    static const struct chunk_base base = { 100, 0, 1000, 0x401000 };
    static const struct {
        const char *name;
        enum hv_ev_kind kind;
        int32_t vcpu;
        uint64_t icount, pc;
        const void *fields;
        const char *element;   /* K: the kind's id; strings numbered from 0 in order */
    } rows[] = {
        { "offsets from the base", HV_EV_ucall_sync, 0, 1010, 0x401004, &s3, "[K,0,10,4,3]" },
        { "negative offsets", HV_EV_ucall_sync, 1, 990, 0x400ff0, &s3, "[K,1,-10,-16,3]" },
        { "a VM event", HV_EV_ucall_done, -1, 0, 0, NULL, "[K,-1,-1000,-4198400]" },
        { "the largest u64", HV_EV_ucall_sync, 0, 1000, 0x401000, &smax,
          "[K,0,0,0,18446744073709551615]" },
        { "an address above 2^63, a bool", HV_EV_mmio, 0, 1000, 0x401000, &mm,
          "[K,0,0,0,-140737488355328,4,1,0]" },
        { "strings interned", HV_EV_hypercall, 0, 1003, 0x401000, &hc,
          "[K,0,3,0,0,0,4351,1,0]" },
        { "a string again, a NULL string", HV_EV_hypercall, 0, 1003, 0x401000, &hc2,
          "[K,0,3,0,0,1,2,null,1]" },
        { "hex bytes, the smallest i64", HV_EV_invalid_insn, 0, 1000, 0x401000, &ii,
          "[K,0,0,0,2]" },
        { "i64", HV_EV_kvm_hypercall, 0, 1000, 0x401000, &kh,
          "[K,0,0,0,1,0,0,0,0,-9223372036854775808,0,0,0,0,3]" },
    };
    /* What each string id must hold after the rows, in order. */
    static const char *const texts[] = { "\"vmcall\"", "\"none\"", "\"0f0b\"", "\"r\"" };
    struct tc_strings st = { .n = 0 };
    struct chunk_coder c = { .str = tc_str, .ctx = &st };
    struct tbuf out = { 0 };
    for (size_t i = 0; i < TEST_N(rows); i++) {
        char want[128];
        size_t n = 0;
        for (const char *p = rows[i].element; *p; p++) {
            if (*p == 'K')
                n += (size_t)snprintf(want + n, sizeof want - n, "%d", (int)rows[i].kind);
            else
                want[n++] = *p;
        }
        want[n] = 0;
        struct hv_event ev = { .seq = 100 + i, .vcpu = rows[i].vcpu, .icount = rows[i].icount,
                               .pc = rows[i].pc, .kind = rows[i].kind,
                               .fields = rows[i].fields };
        out.len = 0;
        int err = chunk_encode(&out, &c, rows[i].kind, &ev, &base);
        TEST_CHECK(err == 0 && out.len == n && memcmp(out.p, want, n) == 0,
                   "%s: %s gave %.*s, expected %s", rows[i].name, hv_err_name(err),
                   (int)out.len, out.p ? out.p : "", want);
    }
    TEST_CHECK(st.n == TEST_N(texts), "%zu strings, expected %zu", st.n, TEST_N(texts));
    for (size_t i = 0; i < TEST_N(texts) && i < st.n; i++)
        TEST_CHECK(strcmp(st.text[i], texts[i]) == 0, "string %zu is %s, expected %s", i,
                   st.text[i], texts[i]);
    /* A kind with fields needs them; a lookup-only table that lacks a text says 1. */
    struct hv_event bad = { .kind = HV_EV_ucall_sync, .fields = NULL };
    CU_ASSERT_EQUAL(chunk_encode(&out, &c, HV_EV_ucall_sync, &bad, &base), HV_EINVAL);
    static const struct hv_ev_hypercall other = { .insn = "hvc", .handled_by = "none" };
    struct hv_event ev = { .kind = HV_EV_hypercall, .icount = 1000, .pc = 0x401000,
                           .fields = &other };
    st.lookup_only = true;
    size_t before = out.len;
    CU_ASSERT_EQUAL(chunk_encode(&out, &c, HV_EV_hypercall, &ev, &base), 1);
    CU_ASSERT_EQUAL(out.len, before);
    chunk_coder_fini(&c);
    tbuf_fini(&out);
    tc_strings_fini(&st);
}

/* ---- every kind, through a chunk and back ------------------------------------------------ */

#define TC_UNION_(k, kdoc, ...) struct hv_ev_##k k;
#define TC_F_NONE_(t, n, d)
union tc_any {
    HV_EVENTS(TC_UNION_, TC_F_NONE_)
};
#undef TC_UNION_
#undef TC_F_NONE_

/* Values that stress the encodings: above INT64_MAX, negative, escapes, NULLs, raw JSON. */
static void tc_fill(union tc_any *u, enum hv_ev_kind kind, unsigned variant)
{
    static const uint8_t bytes[] = { 0x00, 0x0f, 0xff };
    const struct hv_kind_desc *kd = hv_kind_desc(kind);
    memset(u, 0, sizeof *u);
    for (size_t i = 0; i < kd->nfields; i++) {
        char *p = (char *)u + kd->fields[i].offset;
        uint64_t u64 = variant ? 0xfedcba9876543210u + i : i;
        int64_t i64 = variant ? INT64_MIN + (int64_t)i : -(int64_t)i;
        uint64_t addr = variant ? 0xffffffff81000000u + i : 0x1000 * i;
        const char *str = (i + variant) % 2 ? NULL : "q\"uo\\te\n\t\x01\x08\x0c caf\xc3\xa9";
        const char *json = variant ? "{\"a\":[1,2,null],\"b\":\"x\"}" : NULL;
        bool b = (i + variant) % 2 == 0;
        struct hv_bytes hex = { bytes, variant ? sizeof bytes : 0 };
        switch (kd->fields[i].type) {
        case HV_FIELD_U64: memcpy(p, &u64, sizeof u64); break;
        case HV_FIELD_I64: memcpy(p, &i64, sizeof i64); break;
        case HV_FIELD_ADDR: memcpy(p, &addr, sizeof addr); break;
        case HV_FIELD_STR: memcpy(p, &str, sizeof str); break;
        case HV_FIELD_JSON: memcpy(p, &json, sizeof json); break;
        case HV_FIELD_BOOL: memcpy(p, &b, sizeof b); break;
        case HV_FIELD_HEX: memcpy(p, &hex, sizeof hex); break;
        }
    }
}

/* The kind as a file written by this build declares it. */
static void tc_kind(struct chunk_kind *k, enum hv_ev_kind kind)
{
    const struct hv_kind_desc *kd = hv_kind_desc(kind);
    memset(k, 0, sizeof *k);
    k->name = strdup(kd->name);
    for (size_t i = 0; i < kd->nfields; i++)
        CU_ASSERT_EQUAL(chunk_kind_add_field(k, kd->fields[i].name,
                                             chunk_type_name(kd->fields[i].type)), 0);
    chunk_kind_resolve(k);
}

static void test_round_trip(void)
{
    struct tc_strings st = { .n = 0 };
    struct chunk_coder c = { .str = tc_str, .ctx = &st };
    struct tbuf chunk = { 0 }, detail = { 0 };
    static const struct chunk_base base = { 0, 0, 0x8000000000000000u, 0xffffffff80000000u };
    tbuf_put(&chunk, "[", 1);
    size_t count = 0;
    for (unsigned variant = 0; variant < 2; variant++)
        for (int k = 0; k < HV_EV__COUNT; k++) {
            union tc_any u;
            tc_fill(&u, (enum hv_ev_kind)k, variant);
            struct hv_event ev = { .vcpu = k % 3 - 1, .icount = 0x8000000000000000u + k,
                                   .pc = variant ? 0 : 0xffffffff81000000u, .kind = k,
                                   .fields = &u };
            if (count++)
                tbuf_put(&chunk, ",", 1);
            CU_ASSERT_EQUAL(chunk_encode(&chunk, &c, k, &ev, &base), 0);
        }
    tbuf_put(&chunk, "]", 1);
    struct chunk_cursor cur;
    chunk_cursor_init(&cur, chunk.p, chunk.len);
    static struct chunk_tok toks[CHUNK_MAX_TOKS];
    for (unsigned variant = 0; variant < 2; variant++)
        for (int k = 0; k < HV_EV__COUNT; k++) {
            const char *raw;
            size_t ntoks, rawlen;
            const char *name = hv_kind_desc((enum hv_ev_kind)k)->name;
            int got = chunk_next(&cur, toks, &ntoks, &raw, &rawlen);
            TEST_CHECK(got == 1, "%s: chunk_next gave %d", name, got);
            if (got != 1)
                goto out;
            struct chunk_kind kind;
            tc_kind(&kind, (enum hv_ev_kind)k);
            TEST_CHECK(kind.kind == k && kind.same, "%s: the file's kind is not this build's",
                       name);
            union tc_any u;
            tc_fill(&u, (enum hv_ev_kind)k, variant);
            char want[2048];
            size_t n = hv_event_encode(want, sizeof want, (enum hv_ev_kind)k, &u);
            detail.len = 0;
            int err = chunk_detail(&detail, &kind, toks, ntoks, tc_text, &st);
            TEST_CHECK(err == 0 && detail.len == n && memcmp(detail.p, want, n) == 0,
                       "%s (variant %u): %s, detail %s, expected %s", name, variant,
                       hv_err_name(err), detail.p ? detail.p : "", want);
            TEST_CHECK(toks[0].v == (uint64_t)k && (int64_t)toks[1].v == k % 3 - 1 &&
                       base.icount + toks[2].v == 0x8000000000000000u + (uint64_t)k &&
                       base.pc + toks[3].v == (variant ? 0 : 0xffffffff81000000u),
                       "%s: common members", name);
            chunk_kind_fini(&kind);
        }
    {
        const char *raw;
        size_t ntoks, rawlen;
        CU_ASSERT_EQUAL(chunk_next(&cur, toks, &ntoks, &raw, &rawlen), 0);
    }
out:
    chunk_coder_fini(&c);
    tbuf_fini(&chunk);
    tbuf_fini(&detail);
    tc_strings_fini(&st);
}

/* ---- malformed chunks --------------------------------------------------------------------- */

static void test_malformed(void)
{
    static const struct {
        const char *text;
        int elements;        /* read before the error; -1: the text is a valid chunk */
    } rows[] = {
        { "[]", -1 },
        { "[[1,2,3,4]]", -1 },
        { "[[1,-2,null,4],[5,6,7,8]]", -1 },
        { "", 0 },
        { "[", 0 },
        { "x", 0 },
        { "[1]", 0 },
        { "[[]]", 0 },
        { "[[1,]]", 0 },
        { "[[1 ,2]]", 0 },
        { "[[-]]", 0 },
        { "[[nul]]", 0 },
        { "[[\"a\"]]", 0 },
        { "[[1.5]]", 0 },
        { "[[18446744073709551616]]", 0 },
        { "[[-9223372036854775809]]", 0 },
        { "[[1]", 1 },
        { "[[1],]", 1 },
        { "[[1][2]]", 1 },
        { "[[1],[2", 1 },
    };
    static struct chunk_tok toks[CHUNK_MAX_TOKS];
    for (size_t i = 0; i < TEST_N(rows); i++) {
        struct chunk_cursor c;
        chunk_cursor_init(&c, rows[i].text, strlen(rows[i].text));
        const char *raw;
        size_t ntoks, rawlen;
        int got, n = 0;
        while ((got = chunk_next(&c, toks, &ntoks, &raw, &rawlen)) == 1)
            n++;
        if (rows[i].elements < 0)
            TEST_CHECK(got == 0, "'%s' is a chunk, read as %d after %d", rows[i].text, got, n);
        else
            TEST_CHECK(got == HV_ETRACE && n == rows[i].elements,
                       "'%s': %d after %d elements, expected HV_ETRACE after %d", rows[i].text,
                       got, n, rows[i].elements);
    }
    /* One element alone (the tail's records). */
    size_t ntoks;
    CU_ASSERT_EQUAL(chunk_parse("[1,2]", 5, toks, &ntoks), 0);
    CU_ASSERT_EQUAL(ntoks, 2);
    CU_ASSERT_EQUAL(chunk_parse("[1,2]x", 6, toks, &ntoks), HV_ETRACE);
    CU_ASSERT_EQUAL(chunk_parse("[1,2", 4, toks, &ntoks), HV_ETRACE);
}

/* ---- chunk_fits --------------------------------------------------------------------------- */

static void test_fits(void)
{
    static const struct {
        const char *name;
        struct chunk_base b;
        uint32_t vm;
        uint64_t icount, pc;
        bool fits;
    } rows[] = {
        { "same values", { 0, 0, 5, 5 }, 0, 5, 5, true },
        { "another VM", { 0, 0, 5, 5 }, 1, 5, 5, false },
        { "icount just below 2^63", { 0, 0, 0, 0 }, 0, INT64_MAX, 0, true },
        { "icount across 2^63", { 0, 0, INT64_MAX, 0 }, 0, (uint64_t)INT64_MAX + 1, 0, false },
        { "pc from user to kernel", { 0, 0, 0, 0x400000 }, 0, 0, 0xffffffff81000000u, true },
        { "pc from 0 to the top", { 0, 0, 0, 0 }, 0, 0, UINT64_MAX, true },
        { "pc across the sign", { 0, 0, 0, 0x7fffffffffff0000u }, 0, 0, 0x8000000000000000u,
          false },
    };
    for (size_t i = 0; i < TEST_N(rows); i++) {
        struct hv_event ev = { .vm = rows[i].vm, .icount = rows[i].icount, .pc = rows[i].pc };
        TEST_CHECK(chunk_fits(&rows[i].b, &ev) == rows[i].fits, "%s: fits is %d",
                   rows[i].name, !rows[i].fits);
    }
}

/* ---- the string memo ---------------------------------------------------------------------- */

/* A value at the same address with other text gets the other text's id, not the memo's. */
static void test_memo(void)
{
    struct tc_strings st = { .n = 0 };
    struct chunk_coder c = { .str = tc_str, .ctx = &st };
    struct tbuf out = { 0 };
    static const struct chunk_base base = { 0 };
    char text[16] = "first";
    struct hv_ev_ucall_printf pf = { .text = text };
    struct hv_event ev = { .kind = HV_EV_ucall_printf, .fields = &pf };
    static const char *const seq[] = { "first", "second", "first", "first", "third" };
    /* the kind stored as 9; the text's id last */
    static const char *const want[] = { "[9,0,0,0,0]", "[9,0,0,0,1]", "[9,0,0,0,0]",
                                        "[9,0,0,0,0]", "[9,0,0,0,2]" };
    for (size_t i = 0; i < TEST_N(seq); i++) {
        snprintf(text, sizeof text, "%s", seq[i]);
        out.len = 0;
        CU_ASSERT_EQUAL(chunk_encode(&out, &c, 9, &ev, &base), 0);
        TEST_CHECK(out.p && strcmp(out.p, want[i]) == 0, "%s (step %zu): %s, expected %s",
                   seq[i], i, out.p ? out.p : "", want[i]);
    }
    chunk_coder_fini(&c);
    tbuf_fini(&out);
    tc_strings_fini(&st);
}

void test_chunk_register(void)
{
    CU_pSuite s = CU_add_suite("chunk", NULL, NULL);
    CU_add_test(s, "elements by the rule", test_encode_rows);
    CU_add_test(s, "every kind and back", test_round_trip);
    CU_add_test(s, "malformed chunks", test_malformed);
    CU_add_test(s, "chunk_fits at the edges", test_fits);
    CU_add_test(s, "the string memo", test_memo);
}
