/*
 * boot.S - x86_64 entry, exception stubs and the GDT.
 *
 * hvsim starts every vCPU at _start in 64-bit mode, CPL 0, paging off, interrupts off, with
 * RDI = vCPU id and RSI = number of vCPUs (hv_abi.h). _start picks the vCPU's stack, loads the
 * GDT, reloads CS (lretq) and the data segments, and calls x86_setup(id, nr) in setup.c, which
 * builds the page tables, turns paging on, loads the IDT and runs the program.
 */

#define STACK_SIZE 16384
#define MAX_VCPUS  64

    .section .text.boot, "ax"
    .code64
    .globl _start
    .type _start, @function
_start:
    cli
    cld
    cmp     $MAX_VCPUS, %rdi
    jae     .Lstop
    /* rsp = guest_stacks + (id + 1) * STACK_SIZE */
    lea     1(%rdi), %rax
    shl     $14, %rax
    lea     guest_stacks(%rip), %rsp
    add     %rax, %rsp

    lgdt    gdt_desc(%rip)
    pushq   $0x08
    lea     .Lreloaded(%rip), %rax
    pushq   %rax
    lretq
.Lreloaded:
    mov     $0x10, %eax
    mov     %eax, %ds
    mov     %eax, %es
    mov     %eax, %ss
    mov     %eax, %fs
    mov     %eax, %gs
    xor     %ebp, %ebp
    /* RDI and RSI still hold id and nr. */
    call    x86_setup
.Lstop:
    hlt
    jmp     .Lstop
    .size _start, . - _start

/*
 * Exception stubs: 256 of them, 16 bytes apart, so vector v's stub is at
 * x86_exc_stubs + 16 * v. Each pushes an error code of 0 when the CPU pushes none, then the
 * vector, and jumps to the common path, which saves the general registers (struct
 * guest_regs in guest.h) and calls x86_exc_dispatch(regs).
 */
    .text
    .balign 16
    .globl x86_exc_stubs
x86_exc_stubs:
    .set vec, 0
    .rept 256
    .balign 16
    .if vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21 || vec == 29 || vec == 30
    .else
    pushq   $0
    .endif
    pushq   $vec
    jmp     x86_exc_common
    .set vec, vec + 1
    .endr

x86_exc_common:
    pushq   %rax
    pushq   %rbx
    pushq   %rcx
    pushq   %rdx
    pushq   %rsi
    pushq   %rdi
    pushq   %rbp
    pushq   %r8
    pushq   %r9
    pushq   %r10
    pushq   %r11
    pushq   %r12
    pushq   %r13
    pushq   %r14
    pushq   %r15
    mov     %rsp, %rdi
    /* Call with a 16-byte aligned stack whatever the frame's alignment. */
    mov     %rsp, %rbx
    and     $-16, %rsp
    cld
    call    x86_exc_dispatch
    mov     %rbx, %rsp
    popq    %r15
    popq    %r14
    popq    %r13
    popq    %r12
    popq    %r11
    popq    %r10
    popq    %r9
    popq    %r8
    popq    %rbp
    popq    %rdi
    popq    %rsi
    popq    %rdx
    popq    %rcx
    popq    %rbx
    popq    %rax
    add     $16, %rsp           /* vector, error code */
    iretq

/*
 * GDT (x86.h names the selectors): 0x08 64-bit code, 0x10 data, 0x18 32-bit code, 0x20 16-bit
 * code and 0x28 16-bit data (base 0, limit 0xffff: the real-mode path), all DPL 0; 0x30 32-bit
 * code, 0x38 data and 0x40 64-bit code, DPL 3; from 0x48 one 16-byte TSS descriptor per vCPU,
 * filled by x86_tss_load() (modes.c).
 */
    .data
    .balign 16
    .globl x86_gdt
x86_gdt:
    .quad   0
    .quad   0x00af9a000000ffff
    .quad   0x00cf92000000ffff
    .quad   0x00cf9a000000ffff
    .quad   0x00009a000000ffff
    .quad   0x000092000000ffff
    .quad   0x00cffa000000ffff
    .quad   0x00cff2000000ffff
    .quad   0x00affa000000ffff
    .fill   MAX_VCPUS * 2, 8, 0
gdt_end:
    .balign 8
    .word   0
gdt_desc:
    .word   gdt_end - x86_gdt - 1
    .quad   x86_gdt

    .section .note.GNU-stack, "", @progbits
