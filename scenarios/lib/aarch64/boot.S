/*
 * boot.S - aarch64 entry and exception vectors.
 *
 * hvsim starts every vCPU at _start at EL1h, MMU off, interrupts masked, with X0 = vCPU id and
 * X1 = number of vCPUs (hv_abi.h). _start masks DAIF, picks the vCPU's stack, keeps the id in
 * TPIDR_EL1 (guest_vcpu_id() reads it), enables FP/SIMD access, installs VBAR_EL1 and calls
 * a64_setup(id, nr) in setup.c, which builds the page tables, turns the MMU on and runs the
 * program.
 */

#define STACK_SIZE 16384
#define MAX_VCPUS  64
#define FRAME_SIZE 304          /* sizeof(struct guest_regs) in guest.h */

    .section .text.boot, "ax"
    .globl _start
    .type _start, %function
_start:
    msr     daifset, #0xf
    cmp     x0, #MAX_VCPUS
    b.hs    .Lstop
    /* sp = guest_stacks + (id + 1) * STACK_SIZE */
    adrp    x2, guest_stacks
    add     x2, x2, :lo12:guest_stacks
    add     x3, x0, #1
    add     x2, x2, x3, lsl #14
    mov     sp, x2
    msr     tpidr_el1, x0
    /* CPACR_EL1.FPEN = 0b11: FP/SIMD does not trap (the library itself never uses it). */
    mov     x2, #(3 << 20)
    msr     cpacr_el1, x2
    adrp    x2, a64_vectors
    add     x2, x2, :lo12:a64_vectors
    msr     vbar_el1, x2
    isb
    mov     x29, #0
    mov     x30, #0
    bl      a64_setup
.Lstop:
    wfi
    b       .Lstop
    .size _start, . - _start

/*
 * guest_psci_entry: the entry point to give PSCI CPU_ON. The vCPU comes out of reset with
 * x0 = the context id, which must be its vCPU id, and every other register zero; the number
 * of vCPUs comes from what vCPU 0 stored, then the boot goes on as at _start.
 */
    .globl guest_psci_entry
    .type guest_psci_entry, %function
guest_psci_entry:
    adrp    x1, guest_nr_vcpus_
    ldr     w1, [x1, :lo12:guest_nr_vcpus_]
    b       _start
    .size guest_psci_entry, . - guest_psci_entry

/*
 * The vector table: 16 entries of 128 bytes. Each entry makes room for struct guest_regs,
 * saves x0/x1, puts its index in x0 and joins the common path, which saves the rest (x2-x30,
 * SP, ELR, SPSR, ESR, FAR), calls a64_exc_dispatch(regs), restores ELR/SPSR and x0-x30 from
 * the frame (a handler may have changed them) and returns with eret.
 * Index 4 (offset 0x200) is synchronous, current EL, SP_ELx: the one EL1 code takes.
 */
.macro ventry index
    .balign 128
    sub     sp, sp, #FRAME_SIZE
    stp     x0, x1, [sp, #0]
    mov     x0, #\index
    b       a64_exc_common
.endm

    .text
    .balign 2048
    .globl a64_vectors
a64_vectors:
    ventry 0
    ventry 1
    ventry 2
    ventry 3
    ventry 4
    ventry 5
    ventry 6
    ventry 7
    ventry 8
    ventry 9
    ventry 10
    ventry 11
    ventry 12
    ventry 13
    ventry 14
    ventry 15

a64_exc_common:
    stp     x2, x3, [sp, #16]
    stp     x4, x5, [sp, #32]
    stp     x6, x7, [sp, #48]
    stp     x8, x9, [sp, #64]
    stp     x10, x11, [sp, #80]
    stp     x12, x13, [sp, #96]
    stp     x14, x15, [sp, #112]
    stp     x16, x17, [sp, #128]
    stp     x18, x19, [sp, #144]
    stp     x20, x21, [sp, #160]
    stp     x22, x23, [sp, #176]
    stp     x24, x25, [sp, #192]
    stp     x26, x27, [sp, #208]
    stp     x28, x29, [sp, #224]
    add     x1, sp, #FRAME_SIZE
    stp     x30, x1, [sp, #240]         /* x30, sp */
    mrs     x1, elr_el1
    mrs     x2, spsr_el1
    stp     x1, x2, [sp, #256]          /* pc, pstate */
    mrs     x1, esr_el1
    mrs     x2, far_el1
    stp     x1, x2, [sp, #272]          /* esr, far */
    stp     x0, xzr, [sp, #288]         /* vector, pad */
    mov     x0, sp
    bl      a64_exc_dispatch
    ldp     x1, x2, [sp, #256]
    msr     elr_el1, x1
    msr     spsr_el1, x2
    ldp     x0, x1, [sp, #0]
    ldp     x2, x3, [sp, #16]
    ldp     x4, x5, [sp, #32]
    ldp     x6, x7, [sp, #48]
    ldp     x8, x9, [sp, #64]
    ldp     x10, x11, [sp, #80]
    ldp     x12, x13, [sp, #96]
    ldp     x14, x15, [sp, #112]
    ldp     x16, x17, [sp, #128]
    ldp     x18, x19, [sp, #144]
    ldp     x20, x21, [sp, #160]
    ldp     x22, x23, [sp, #176]
    ldp     x24, x25, [sp, #192]
    ldp     x26, x27, [sp, #208]
    ldp     x28, x29, [sp, #224]
    ldr     x30, [sp, #240]
    add     sp, sp, #FRAME_SIZE
    eret

    .section .note.GNU-stack, "", %progbits
