/*
 * dabt.c - Arm data aborts: whether the abort an instruction takes at stage 2 carries a valid
 * instruction syndrome (ESR_ELx.ISV).
 *
 * A hypervisor emulates a load or store to memory it does not back from the syndrome alone:
 * the access size, the register and the direction come from ESR_EL2.ISS, never from decoding
 * the instruction (Linux arch/arm64/kvm/mmio.c, io_mem_abort()). The Arm Architecture
 * Reference Manual (DDI 0487, ESR_EL2, "ISS encoding for an exception from a Data Abort",
 * field ISV) gives ISV = 1 for a stage-2 Data Abort only for:
 *   - AArch64 loads and stores of a single general-purpose register (the zero register
 *     included), Acquire/Release forms included, but not Load-Exclusive / Store-Exclusive
 *     and not forms with writeback;
 *   - AArch32 LDR, LDA, LDRT, LDRSH, LDRSHT, LDRH, LDAH, LDRHT, LDRSB, LDRSBT, LDRB, LDAB,
 *     LDRBT, STR, STL, STRT, STRH, STLH, STRHT, STRB, STLB and STRBT that perform no register
 *     writeback and do not use R15 as the register transferred.
 * Everything else that accesses memory reports ISV = 0: load/store pair (LDP, STP, LDNP,
 * STNP, LDPSW), pre- and post-indexed writeback, SIMD&FP registers (LDR Qn, LD1-LD4,
 * VLDR, VLD1), exclusives, the atomic memory operations and compare-and-swap (QEMU's
 * target/arm/translate-a64.c, disas_ldst_atomic(), likewise gives them no syndrome, except
 * LDAPR), and AArch32 LDRD, STRD, LDM, STM, PUSH, POP.
 *
 * A64 is decoded from the encoding (DDI 0487, C4.1.66 "Loads and Stores"); A32 and T32 from
 * Capstone's decode of the instruction.
 */
#include "sim/sim_int.h"

bool dabt_isv_a64(uint32_t insn)
{
    bool simd = (insn >> 26) & 1;
    if ((insn & 0x0a000000u) != 0x08000000u)
        return false; /* not a load or store */
    if ((insn & 0x3f000000u) == 0x08000000u) {
        /* exclusive, ordered, compare-and-swap: size 001000 o2 L o1 Rs o0 Rt2 Rn Rt; only
         * o2 = 1, o1 = 0 (LDAR, STLR, LDLAR, STLLR) is a plain single-register access */
        return ((insn >> 23) & 1) && !((insn >> 21) & 1);
    }
    if ((insn & 0x3f200c00u) == 0x19000000u)
        return true; /* LDAPUR*, STLUR* (RCpc, unscaled immediate) */
    if ((insn & 0x3b000000u) == 0x18000000u)
        return !simd; /* load register (literal) */
    if ((insn & 0x3b200000u) == 0x38000000u) {
        /* bits 11:10: 00 unscaled (LDUR), 01 post-indexed, 10 unprivileged (LDTR), 11
         * pre-indexed */
        unsigned op = (insn >> 10) & 3;
        return !simd && (op == 0 || op == 2);
    }
    if ((insn & 0x3b200c00u) == 0x38200000u) {
        /* atomic memory operations (LDADD, SWP, ... : o3 bit 15, opc bits 14:12); LDAPR
         * (o3 = 1, opc = 100) is the one single-register load among them */
        return !simd && ((insn >> 15) & 1) && ((insn >> 12) & 7) == 4;
    }
    if ((insn & 0x3b200c00u) == 0x38200800u)
        return !simd; /* register offset */
    if ((insn & 0x3b200400u) == 0x38200400u)
        return !simd && !((insn >> 11) & 1); /* LDRAA / LDRAB: bit 11 = writeback */
    if ((insn & 0x3b000000u) == 0x39000000u)
        return !simd; /* unsigned immediate */
    return false; /* pairs, SIMD structures, memory tags */
}

bool dabt_isv_a32(const cs_insn *insn)
{
    static const unsigned ids[] = {
        ARM_INS_LDR,   ARM_INS_LDA,    ARM_INS_LDRT,  ARM_INS_LDRSH, ARM_INS_LDRSHT,
        ARM_INS_LDRH,  ARM_INS_LDAH,   ARM_INS_LDRHT, ARM_INS_LDRSB, ARM_INS_LDRSBT,
        ARM_INS_LDRB,  ARM_INS_LDAB,   ARM_INS_LDRBT, ARM_INS_STR,   ARM_INS_STL,
        ARM_INS_STRT,  ARM_INS_STRH,   ARM_INS_STLH,  ARM_INS_STRHT, ARM_INS_STRB,
        ARM_INS_STLB,  ARM_INS_STRBT,
    };
    size_t k = 0;
    while (k < sizeof ids / sizeof ids[0] && ids[k] != insn->id)
        k++;
    if (k == sizeof ids / sizeof ids[0] || !insn->detail)
        return false;
    const cs_arm *a = &insn->detail->arm;
    if (a->writeback)
        return false; /* pre-indexed ("!") */
    for (int i = 0; i < a->op_count; i++) {
        const cs_arm_op *op = &a->operands[i];
        if (i == 0 && op->type == ARM_OP_REG && op->reg == ARM_REG_PC)
            return false; /* R15 transferred */
        if (op->type == ARM_OP_MEM && i + 1 < a->op_count)
            return false; /* post-indexed: the offset follows the memory operand */
    }
    return true;
}
