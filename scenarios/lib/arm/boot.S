/*
 * boot.S - arm (AArch32, A32) entry and exception vectors.
 *
 * hvsim starts every vCPU at _start in Non-secure SVC mode, MMU off, IRQ/FIQ/asynchronous
 * aborts masked, with R0 = vCPU id and R1 = number of vCPUs (hv_abi.h). _start picks the
 * vCPU's stack, keeps the id in TPIDRPRW (guest_vcpu_id() reads it), installs VBAR and calls
 * arm_setup(id, nr) in setup.c, which builds the page tables, turns the MMU on and runs the
 * program. No other mode needs a stack: every vector entry moves to SVC mode first.
 */

#define STACK_SIZE 16384
#define MAX_VCPUS  64
#define FRAME_SIZE 80           /* sizeof(struct guest_regs) in guest.h */
#define MODE_SVC   0x13

    .syntax unified
    .arm
    .section .text.boot, "ax"
    .globl _start
    .type _start, %function
_start:
    cpsid   aif
    cmp     r0, #MAX_VCPUS
    bhs     .Lstop
    /* sp = guest_stacks + (id + 1) * STACK_SIZE */
    ldr     r2, =guest_stacks
    add     r3, r0, #1
    add     sp, r2, r3, lsl #14
    mcr     p15, 0, r0, c13, c0, 4      /* TPIDRPRW = id */
    ldr     r2, =arm_vectors
    mcr     p15, 0, r2, c12, c0, 0      /* VBAR */
    isb
    mov     fp, #0
    mov     lr, #0
    bl      arm_setup
.Lstop:
    wfi
    b       .Lstop
    .ltorg
    .size _start, . - _start

/*
 * The vector table: eight branches, 32-byte aligned (VBAR's low bits are reserved). Each entry
 * stores the mode's return address and SPSR on the SVC stack (srsdb), switches to SVC mode,
 * reserves the rest of struct guest_regs, saves r0-r12 and joins the common path with the
 * entry's index (GUEST_VEC_*). The common path saves the SVC sp and lr and the index, calls
 * arm_exc_dispatch(regs) on an 8-byte aligned stack, restores r0-r12 and lr from the frame
 * (a handler may have changed them) and returns with rfeia: pc and CPSR from the frame.
 */
.macro vstub name, index
\name:
    srsdb   sp!, #MODE_SVC
    cps     #MODE_SVC
    sub     sp, sp, #(FRAME_SIZE - 8)
    stmia   sp, {r0-r12}
    mov     r0, #\index
    b       arm_exc_common
.endm

    .text
    .balign 32
    .globl arm_vectors
arm_vectors:
    b       arm_vec_reset               /* 0x00: never taken */
    b       arm_vec_und                 /* 0x04: undefined instruction */
    b       arm_vec_svc                 /* 0x08: supervisor call */
    b       arm_vec_pabt                /* 0x0c: prefetch abort */
    b       arm_vec_dabt                /* 0x10: data abort */
    b       arm_vec_hyp                 /* 0x14: not used below PL2 */
    b       arm_vec_irq                 /* 0x18 */
    b       arm_vec_fiq                 /* 0x1c */

    vstub arm_vec_reset, 0
    vstub arm_vec_und, 1
    vstub arm_vec_svc, 2
    vstub arm_vec_pabt, 3
    vstub arm_vec_dabt, 4
    vstub arm_vec_hyp, 5
    vstub arm_vec_irq, 6
    vstub arm_vec_fiq, 7

arm_exc_common:
    add     r1, sp, #FRAME_SIZE
    str     r1, [sp, #52]               /* sp before the exception */
    str     lr, [sp, #56]               /* lr (SVC) */
    str     r0, [sp, #60]               /* vector */
    mov     r0, sp
    mov     r4, sp
    bic     sp, sp, #7
    bl      arm_exc_dispatch
    mov     sp, r4
    ldr     lr, [sp, #56]
    ldmia   sp, {r0-r12}
    add     sp, sp, #(FRAME_SIZE - 8)
    rfeia   sp!

    .section .note.GNU-stack, "", %progbits
