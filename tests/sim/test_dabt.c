/*
 * test_dabt.c - sim/dabt.c: which instructions' data aborts carry a valid instruction
 * syndrome (ESR_EL2.ISV). Rows from the Arm ARM's rule for ISV (DDI 0487, ESR_EL2, ISS
 * encoding for an exception from a Data Abort): 1 only for loads and stores of a single
 * general-purpose register without writeback (AArch64, Acquire/Release included, exclusives
 * excluded), and for the listed AArch32 single loads and stores without writeback that do not
 * transfer R15. Encodings from llvm-mc.
 */
#include <CUnit/CUnit.h>
#include <string.h>

#include "sim/sim_int.h"
#include "tests/test_util.h"

void test_dabt_register(void);

static const struct {
    uint32_t insn;
    bool isv;
    const char *text;
} a64_rows[] = {
    { 0xf9400020, true, "ldr x0, [x1]" },
    { 0xb9400420, true, "ldr w0, [x1, #4]" },
    { 0x39400020, true, "ldrb w0, [x1]" },
    { 0xb9800020, true, "ldrsw x0, [x1]" },
    { 0x78e2d820, true, "ldrsh w0, [x1, w2, sxtw #1]" },
    { 0xf8627820, true, "ldr x0, [x1, x2, lsl #3]" },
    { 0xf85f8020, true, "ldur x0, [x1, #-8]" },
    { 0xf8400820, true, "ldtr x0, [x1]" },
    { 0x58000000, true, "ldr x0, <literal>" },
    { 0xf900003f, true, "str xzr, [x1]" },
    { 0xc8dffc20, true, "ldar x0, [x1]" },
    { 0x889ffc20, true, "stlr w0, [x1]" },
    { 0xf8bfc020, true, "ldapr x0, [x1]" },
    { 0xd9400020, true, "ldapur x0, [x1]" },
    { 0x99000020, true, "stlur w0, [x1]" },
    { 0xf8408c20, false, "ldr x0, [x1, #8]! (pre-indexed)" },
    { 0xf8408420, false, "ldr x0, [x1], #8 (post-indexed)" },
    { 0xa9400440, false, "ldp x0, x1, [x2]" },
    { 0xa9000440, false, "stp x0, x1, [x2]" },
    { 0xa8400440, false, "ldnp x0, x1, [x2]" },
    { 0x69400440, false, "ldpsw x0, x1, [x2]" },
    { 0xad400440, false, "ldp q0, q1, [x2]" },
    { 0xc85f7c20, false, "ldxr x0, [x1]" },
    { 0xc8037c20, false, "stxr w3, x0, [x1]" },
    { 0xc85ffc20, false, "ldaxr x0, [x1]" },
    { 0xc87f0440, false, "ldxp x0, x1, [x2]" },
    { 0xf8200041, false, "ldadd x0, x1, [x2]" },
    { 0xf820005f, false, "stadd x0, [x2]" },
    { 0xf8208041, false, "swp x0, x1, [x2]" },
    { 0xc8a07c41, false, "cas x0, x1, [x2]" },
    { 0x48207c82, false, "casp x0, x1, x2, x3, [x4]" },
    { 0x3dc00020, false, "ldr q0, [x1]" },
    { 0xfd400020, false, "ldr d0, [x1]" },
    { 0xbd000020, false, "str s0, [x1]" },
    { 0x4c407000, false, "ld1 {v0.16b}, [x0]" },
    { 0x4c40a000, false, "ld1 {v0.16b, v1.16b}, [x0]" },
    { 0x4d40c800, false, "ld1r {v0.4s}, [x0]" },
    { 0x0d409000, false, "ld1 {v0.s}[1], [x0]" },
    { 0xd503201f, false, "nop (no access)" },
};

static void test_a64(void)
{
    for (size_t i = 0; i < TEST_N(a64_rows); i++)
        TEST_CHECK(dabt_isv_a64(a64_rows[i].insn) == a64_rows[i].isv, "%s (0x%08x): ISV %d",
                   a64_rows[i].text, a64_rows[i].insn, !a64_rows[i].isv);
}

static const struct {
    bool thumb;
    uint8_t bytes[4];
    unsigned n;
    bool isv;
    const char *text;
} a32_rows[] = {
    { false, { 0x00, 0x00, 0x91, 0xe5 }, 4, true, "ldr r0, [r1]" },
    { false, { 0x01, 0x00, 0xd1, 0xe5 }, 4, true, "ldrb r0, [r1, #1]" },
    { false, { 0xb0, 0x00, 0xd1, 0xe1 }, 4, true, "ldrh r0, [r1]" },
    { false, { 0xd0, 0x00, 0xd1, 0xe1 }, 4, true, "ldrsb r0, [r1]" },
    { false, { 0xf2, 0x00, 0x91, 0xe1 }, 4, true, "ldrsh r0, [r1, r2]" },
    { false, { 0x04, 0x00, 0x81, 0xe5 }, 4, true, "str r0, [r1, #4]" },
    { false, { 0x00, 0x00, 0xc1, 0xe5 }, 4, true, "strb r0, [r1]" },
    { false, { 0xb0, 0x00, 0xc1, 0xe1 }, 4, true, "strh r0, [r1]" },
    { false, { 0x02, 0x01, 0x11, 0xe7 }, 4, true, "ldr r0, [r1, -r2, lsl #2]" },
    { false, { 0x08, 0x00, 0x9f, 0xe5 }, 4, true, "ldr r0, [pc, #8]" },
    { false, { 0x00, 0x00, 0xb1, 0xe4 }, 4, false, "ldrt r0, [r1], #0 (A32: post-indexed)" },
    { false, { 0x04, 0x00, 0xb1, 0xe5 }, 4, false, "ldr r0, [r1, #4]!" },
    { false, { 0x04, 0x00, 0x91, 0xe4 }, 4, false, "ldr r0, [r1], #4" },
    { false, { 0xd0, 0x00, 0xc2, 0xe1 }, 4, false, "ldrd r0, r1, [r2]" },
    { false, { 0xf0, 0x00, 0xc2, 0xe1 }, 4, false, "strd r0, r1, [r2]" },
    { false, { 0x06, 0x00, 0x90, 0xe8 }, 4, false, "ldm r0, {r1, r2}" },
    { false, { 0x06, 0x00, 0x80, 0xe8 }, 4, false, "stm r0, {r1, r2}" },
    { false, { 0x10, 0x40, 0x2d, 0xe9 }, 4, false, "push {r4, lr}" },
    { false, { 0x10, 0x80, 0xbd, 0xe8 }, 4, false, "pop {r4, pc}" },
    { false, { 0x9f, 0x0f, 0x91, 0xe1 }, 4, false, "ldrex r0, [r1]" },
    { false, { 0x90, 0x2f, 0x81, 0xe1 }, 4, false, "strex r2, r0, [r1]" },
    { false, { 0x00, 0xf0, 0x91, 0xe5 }, 4, false, "ldr pc, [r1]" },
    { false, { 0x00, 0x0b, 0x91, 0xed }, 4, false, "vldr d0, [r1]" },
    { false, { 0x0f, 0x07, 0x21, 0xf4 }, 4, false, "vld1.8 {d0}, [r1]" },
    { true, { 0x08, 0x68 }, 2, true, "ldr r0, [r1] (T16)" },
    { true, { 0x08, 0x70 }, 2, true, "strb r0, [r1] (T16)" },
    { true, { 0x01, 0x98 }, 2, true, "ldr r0, [sp, #4] (T16)" },
    { true, { 0xd1, 0xf8, 0x04, 0x00 }, 4, true, "ldr.w r0, [r1, #4]" },
    { true, { 0x51, 0xf8, 0x04, 0x0e }, 4, true, "ldrt r0, [r1, #4] (T32: no writeback)" },
    { true, { 0x51, 0xf8, 0x04, 0x0b }, 4, false, "ldr r0, [r1], #4 (T32)" },
    { true, { 0x51, 0xf8, 0x04, 0x0f }, 4, false, "ldr r0, [r1, #4]! (T32)" },
    { true, { 0xd2, 0xe9, 0x00, 0x01 }, 4, false, "ldrd r0, r1, [r2] (T32)" },
    { true, { 0x90, 0xe8, 0x06, 0x00 }, 4, false, "ldm.w r0, {r1, r2}" },
    { true, { 0x10, 0xb5 }, 2, false, "push {r4, lr} (T16)" },
};

static void test_a32(void)
{
    csh h[2];
    CU_ASSERT_EQUAL_FATAL(sim_cs_open(HV_ARCH_ARM, false, &h[0]), 0);
    CU_ASSERT_EQUAL_FATAL(sim_cs_open(HV_ARCH_ARM, true, &h[1]), 0);
    for (size_t i = 0; i < TEST_N(a32_rows); i++) {
        cs_insn *insn = NULL;
        size_t n = cs_disasm(h[a32_rows[i].thumb], a32_rows[i].bytes, a32_rows[i].n, 0x1000, 1,
                             &insn);
        TEST_CHECK(n == 1, "%s: not decoded", a32_rows[i].text);
        if (n == 1)
            TEST_CHECK(dabt_isv_a32(insn) == a32_rows[i].isv, "%s: ISV %d", a32_rows[i].text,
                       !a32_rows[i].isv);
        cs_free(insn, n);
    }
    cs_close(&h[0]);
    cs_close(&h[1]);
}

void test_dabt_register(void)
{
    CU_pSuite s = CU_add_suite("dabt", NULL, NULL);
    CU_add_test(s, "A64 encodings and ISV", test_a64);
    CU_add_test(s, "A32 and T32 encodings and ISV", test_a32);
}
