/*
 * test_info.c - KVM_GET_VM_INFO (models/kvm/info.c) against the VFIO INFO-ioctl rules of
 * reference section D: one row per rule, each with the whole user buffer expected after the
 * call, then the chain's own invariants and the memslot capability's body.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/kvm/info.h"
#include "models/kvm/memslot.h"
#include "sim/hv_err.h"
#include "tests/test_util.h"

void test_info_register(void);

/* ---- fixtures ---------------------------------------------------------------------------- */

static const uint8_t body_a[] = { 1, 2, 3, 4 };                       /* 12 -> 16 bytes */
static const uint8_t body_b[] = { 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18 }; /* 16 */
static const uint8_t body_odd1[] = { 0xaa };                          /* 9 -> 16 */
static const uint8_t body_odd3[] = { 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28,
                                     0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30 }; /* 25 -> 32 */

/* Two capabilities, 32 bytes of chain: the full size is 48. */
static const struct kvmm_info_cap caps_ab[] = {
    { 1, 1, body_a, sizeof body_a },
    { 7, 2, body_b, sizeof body_b },
};
/* Three of odd sizes, one with no body: 16 + 8 + 32 bytes, full size 72. */
static const struct kvmm_info_cap caps_odd[] = {
    { 1, 1, body_odd1, sizeof body_odd1 },
    { 2, 1, NULL, 0 },
    { 3, 1, body_odd3, sizeof body_odd3 },
};

enum capset { NONE, AB, ODD };

static void capset(enum capset c, const struct kvmm_info_cap **caps, size_t *n)
{
    switch (c) {
    case AB: *caps = caps_ab; *n = TEST_N(caps_ab); break;
    case ODD: *caps = caps_odd; *n = TEST_N(caps_odd); break;
    default: *caps = NULL; *n = 0; break;
    }
}

/* Hex (blanks ignored) to bytes; returns the count. */
static size_t unhex(const char *s, uint8_t *out, size_t max)
{
    size_t n = 0;
    while (*s) {
        unsigned v;
        if (*s == ' ') {
            s++;
            continue;
        }
        if (n == max || sscanf(s, "%2x", &v) != 1)
            break;
        out[n++] = (uint8_t)v;
        s += 2;
    }
    return n;
}

/* ---- the rule table ---------------------------------------------------------------------- */

static const struct info_row {
    const char *rule;
    enum capset caps;
    uint32_t argsz;      /* what the caller puts in the first four bytes */
    size_t len;          /* the user buffer */
    uint8_t fill;        /* its other bytes before the call */
    int err;
    uint32_t out_argsz, flags, cap_offset;   /* when err == 0 */
    size_t written;
    const char *bytes;   /* the whole user buffer after the call */
} rows[] = {
    { "argsz 0 < fixed size: EINVAL, nothing written", AB, 0, 24, 0xee, -EINVAL, 0, 0, 0, 0,
      "00000000eeeeeeeeeeeeeeeeeeeeeeee eeeeeeeeeeeeeeee" },
    { "argsz 15 < fixed size: EINVAL, nothing written", AB, 15, 16, 0xee, -EINVAL, 0, 0, 0, 0,
      "0f000000eeeeeeeeeeeeeeeeeeeeeeee" },
    { "buffer shorter than the fixed struct: the copy-in faults, EFAULT", AB, 16, 12, 0xee,
      -EFAULT, 0, 0, 0, 0, "10000000eeeeeeeeeeeeeeee" },
    { "argsz == fixed with caps: success, argsz raised, CAPS, cap_offset 0, fixed part only",
      AB, 16, 32, 0xee, 0, 48, KVMM_VM_INFO_FLAG_CAPS, 0, 16,
      "30000000010000000000000000000000 eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee" },
    { "argsz one below the full size: raised, no capability copied", AB, 47, 47, 0xee, 0, 48,
      KVMM_VM_INFO_FLAG_CAPS, 0, 16,
      "30000000010000000000000000000000 eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee "
      "eeeeeeeeeeeeeeeeeeeeeeeeeeeeee" },
    { "exact fit: chain at 16, cap_offset 16", AB, 48, 48, 0xee, 0, 48, KVMM_VM_INFO_FLAG_CAPS,
      16, 48,
      "30000000010000001000000000000000 01000100200000000102030400000000 "
      "07000200000000001112131415161718" },
    { "larger argsz: kept as given, bytes past the chain untouched", AB, 64, 64, 0xee, 0, 64,
      KVMM_VM_INFO_FLAG_CAPS, 16, 48,
      "40000000010000001000000000000000 01000100200000000102030400000000 "
      "07000200000000001112131415161718 eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee" },
    { "argsz beyond the buffer: only the full size is written", AB, 0xffffffff, 48, 0xee, 0,
      0xffffffff, KVMM_VM_INFO_FLAG_CAPS, 16, 48,
      "ffffffff010000001000000000000000 01000100200000000102030400000000 "
      "07000200000000001112131415161718" },
    { "chain runs past the buffer: EFAULT, chain up to the end, fixed part not written", AB,
      48, 40, 0xee, -EFAULT, 0, 0, 0, 40,
      "30000000eeeeeeeeeeeeeeeeeeeeeeee 01000100200000000102030400000000 0700020000000000" },
    { "no capabilities: no CAPS flag, cap_offset 0", NONE, 16, 16, 0xee, 0, 16, 0, 0, 16,
      "10000000000000000000000000000000" },
    { "no capabilities, larger argsz: kept, the rest untouched", NONE, 32, 32, 0xee, 0, 32, 0,
      0, 16, "20000000000000000000000000000000 eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee" },
    { "caller's flags, cap_offset, pad and padding bytes overwritten", AB, 48, 48, 0xff, 0, 48,
      KVMM_VM_INFO_FLAG_CAPS, 16, 48,
      "30000000010000001000000000000000 01000100200000000102030400000000 "
      "07000200000000001112131415161718" },
    { "odd sizes: each rounded to 8 and zero-filled, next absolute, empty body 8 bytes", ODD,
      72, 72, 0xff, 0, 72, KVMM_VM_INFO_FLAG_CAPS, 16, 72,
      "48000000010000001000000000000000 0100010020000000aa00000000000000 "
      "02000100280000000300010000000000 202122232425262728292a2b2c2d2e2f 3000000000000000" },
    { "odd sizes, argsz one short: raised to 72", ODD, 71, 80, 0xff, 0, 72,
      KVMM_VM_INFO_FLAG_CAPS, 0, 16,
      "48000000010000000000000000000000 ffffffffffffffffffffffffffffffff "
      "ffffffffffffffffffffffffffffffff ffffffffffffffffffffffffffffffff "
      "ffffffffffffffffffffffffffffffff" },
};

static void test_rules(void)
{
    for (size_t i = 0; i < TEST_N(rows); i++) {
        const struct info_row *r = &rows[i];
        const struct kvmm_info_cap *caps;
        size_t n;
        uint8_t user[128], want[128];
        capset(r->caps, &caps, &n);
        memset(user, r->fill, sizeof user);
        for (size_t b = 0; b < 4 && b < r->len; b++)
            user[b] = (uint8_t)(r->argsz >> (8 * b));
        size_t wlen = unhex(r->bytes, want, sizeof want);
        TEST_CHECK(wlen == r->len, "row %zu (%s): the table's bytes are %zu long", i, r->rule,
                   wlen);
        struct kvmm_info_result res;
        int err = kvmm_info_query(caps, n, user, r->len, &res);
        TEST_CHECK(err == 0, "row %zu (%s): %s", i, r->rule, hv_strerror(err));
        TEST_CHECK(res.err == r->err, "row %zu (%s): errno %d, want %d", i, r->rule, res.err,
                   r->err);
        TEST_CHECK(res.written == r->written, "row %zu (%s): wrote %zu bytes, want %zu", i,
                   r->rule, res.written, r->written);
        if (r->err == 0) {
            TEST_CHECK(res.argsz == r->out_argsz && res.flags == r->flags &&
                       res.cap_offset == r->cap_offset,
                       "row %zu (%s): argsz %u flags %u cap_offset %u", i, r->rule, res.argsz,
                       res.flags, res.cap_offset);
        }
        TEST_CHECK(memcmp(user, want, r->len) == 0, "row %zu (%s): buffer differs", i, r->rule);
        for (size_t b = r->len; b < sizeof user; b++)
            if (user[b] != r->fill) {
                TEST_CHECK(false, "row %zu (%s): byte %zu past the buffer written", i, r->rule,
                           b);
                break;
            }
    }
}

/* ---- the chain's invariants -------------------------------------------------------------- */

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/*
 * Walks a full answer as a reader would (cap_offset, then each next) and checks that the ids
 * come in the order given, each next lies past the header holding it and inside the buffer,
 * and every byte between a body and the next header is 0.
 */
static void test_chain_walk(void)
{
    const enum capset sets[] = { AB, ODD };
    for (size_t s = 0; s < TEST_N(sets); s++) {
        const struct kvmm_info_cap *caps;
        size_t n;
        capset(sets[s], &caps, &n);
        uint8_t user[256];
        struct kvmm_info_result res;
        memset(user, 0x5a, sizeof user);
        user[0] = 0xff; /* argsz 0x5a5a5aff: room for everything */
        CU_ASSERT_EQUAL_FATAL(kvmm_info_query(caps, n, user, sizeof user, &res), 0);
        CU_ASSERT_EQUAL_FATAL(res.err, 0);
        uint32_t at = le32(user + 8), prev = 0;
        size_t k = 0;
        while (at && k < n) {
            TEST_CHECK(at > prev && at % 8 == 0 && at + 8 <= KVMM_VM_INFO_SIZE + res.caps_size,
                       "set %zu cap %zu: offset %u", s, k, at);
            TEST_CHECK(user[at] == caps[k].id && user[at + 2] == caps[k].version,
                       "set %zu cap %zu: id %u version %u", s, k, user[at], user[at + 2]);
            TEST_CHECK(memcmp(user + at + 8, caps[k].body ? caps[k].body : user, caps[k].len) == 0,
                       "set %zu cap %zu: body", s, k);
            uint32_t next = le32(user + at + 4);
            uint32_t end = next ? next : (uint32_t)(KVMM_VM_INFO_SIZE + res.caps_size);
            for (uint32_t b = at + 8 + (uint32_t)caps[k].len; b < end; b++)
                TEST_CHECK(user[b] == 0, "set %zu cap %zu: padding byte %u is %#x", s, k, b,
                           user[b]);
            prev = at;
            at = next;
            k++;
        }
        TEST_CHECK(k == n && at == 0, "set %zu: walked %zu capabilities of %zu", s, k, n);
    }
}

/* The chain alone: next offsets are relative to where it is placed (vfio_info_cap_shift). */
static void test_chain_shift(void)
{
    uint8_t *c0, *c16;
    size_t s0, s16;
    CU_ASSERT_EQUAL_FATAL(kvmm_info_chain(caps_odd, TEST_N(caps_odd), 0, &c0, &s0), 0);
    CU_ASSERT_EQUAL_FATAL(kvmm_info_chain(caps_odd, TEST_N(caps_odd), 16, &c16, &s16), 0);
    CU_ASSERT_EQUAL(s0, 56);
    CU_ASSERT_EQUAL(s16, 56);
    CU_ASSERT_EQUAL(le32(c0 + 4), 16);
    CU_ASSERT_EQUAL(le32(c16 + 4), 32);
    CU_ASSERT_EQUAL(le32(c0 + 16 + 4), 24);
    CU_ASSERT_EQUAL(le32(c16 + 16 + 4), 40);
    CU_ASSERT_EQUAL(le32(c0 + 24 + 4), 0);
    CU_ASSERT_EQUAL(le32(c16 + 24 + 4), 0);
    free(c0);
    free(c16);
    uint8_t *none = (uint8_t *)1;
    size_t sn = 1;
    CU_ASSERT_EQUAL(kvmm_info_chain(NULL, 0, 16, &none, &sn), 0);
    CU_ASSERT_PTR_NULL(none);
    CU_ASSERT_EQUAL(sn, 0);
}

/* ---- the memslot capability -------------------------------------------------------------- */

static void test_memslots_body(void)
{
    struct kvmm_slots_params p;
    struct kvmm_slots *s;
    kvmm_slots_params_default(&p, KVMM_ARCH_X86);
    CU_ASSERT_EQUAL_FATAL(kvmm_slots_create(&s, &p), 0);
    /* created out of gpa order; the body lists them by gpa */
    const struct kvmm_region regs[] = {
        { 5, KVMM_MEM_READONLY, 0x100000, 0x2000, 0x7f0000100000, 0, 0 },
        { 2, KVMM_MEM_LOG_DIRTY_PAGES, 0x0, 0x1000, 0x7f0000000000, 0, 0 },
        { 1u << 16 | 3, 0, 0x30000, 0x1000, 0x7f0000200000, 0, 0 },
    };
    for (size_t i = 0; i < TEST_N(regs); i++) {
        struct kvmm_set_result r;
        CU_ASSERT_EQUAL_FATAL(kvmm_memslot_set(s, &regs[i], false, &r), 0);
        CU_ASSERT_EQUAL_FATAL(r.err, 0);
    }
    static const char *const want[] = {
        "02000000 00000000 "
        "02000000 01000000 0000000000000000 0010000000000000 00000000007f0000 "
        "05000000 02000000 0000100000000000 0020000000000000 00001000007f0000",
        "01000000 00000000 "
        "03000100 00000000 0000030000000000 0010000000000000 00002000007f0000",
    };
    for (unsigned as = 0; as < 2; as++) {
        uint8_t *b, w[128];
        size_t len, wlen = unhex(want[as], w, sizeof w);
        CU_ASSERT_EQUAL_FATAL(kvmm_info_memslots_body(s, as, &b, &len), 0);
        TEST_CHECK(len == wlen && memcmp(b, w, len) == 0, "address space %u: body differs", as);
        free(b);
    }
    kvmm_slots_destroy(s);
}

void test_info_register(void)
{
    CU_pSuite s = CU_add_suite("info", NULL, NULL);
    CU_add_test(s, "D rule table", test_rules);
    CU_add_test(s, "D chain walk: order, absolute next, zero padding", test_chain_walk);
    CU_add_test(s, "D chain shift", test_chain_shift);
    CU_add_test(s, "memslot capability body", test_memslots_body);
}
