/*
 * modes.S - the x86_64 mode switches behind guest_call_user(), guest_call_compat() and
 * guest_call_real() (modes.c; README.md "x86_64: CPL 3, compatibility mode, real mode").
 *
 * Every path saves the callee-saved registers and RFLAGS on the caller's stack and comes back
 * to 64-bit mode, CPL 0, on that stack. Selectors are x86.h's.
 */
#include "x86_64/x86.h"

#define USER_GAP 6144   /* kernel frames above the user stack (TSS.RSP0 to the user RSP) */

    .text
    .code64

/*
 * uint64_t x86_call_user(fn, arg, rsp0): fn(arg) at CPL 3 with IOPL 3, on this stack
 * USER_GAP below TSS.RSP0. *rsp0 (the TSS field) gets the 16-byte aligned kernel stack for
 * exceptions from CPL 3, and the word there the stack to come back to; fn returns into
 * `int $X86_VEC_USER_RET`, whose gate (DPL 3) is x86_user_return.
 */
    .globl x86_call_user
    .type x86_call_user, @function
x86_call_user:
    push    %rbp
    push    %rbx
    push    %r12
    push    %r13
    push    %r14
    push    %r15
    pushfq
    lea     -16(%rsp), %rax
    and     $-16, %rax
    mov     %rsp, (%rax)
    mov     %rax, (%rdx)
    mov     %rax, %rsp                  /* the iretq frame below the saved word */
    lea     -USER_GAP(%rax), %rcx
    pushq   $X86_SEL_USER_DATA
    pushq   %rcx
    pushfq
    orq     $0x3000, (%rsp)             /* IOPL 3: the ucall port stays usable */
    pushq   $X86_SEL_USER_CODE64
    lea     1f(%rip), %rcx
    pushq   %rcx
    mov     %rdi, %rax
    mov     %rsi, %rdi
    iretq
1:  call    *%rax
    int     $X86_VEC_USER_RET
    .size x86_call_user, . - x86_call_user

/* Vector X86_VEC_USER_RET from CPL 3: on TSS.RSP0 - 40 (the frame); the word at TSS.RSP0 is
 * the kernel stack x86_call_user left. */
    .globl x86_user_return
    .type x86_user_return, @function
x86_user_return:
    mov     40(%rsp), %rsp
    popfq
    pop     %r15
    pop     %r14
    pop     %r13
    pop     %r12
    pop     %rbx
    pop     %rbp
    ret
    .size x86_user_return, . - x86_user_return

/*
 * void x86_call_compat(code32, regs): loads rax rbx rcx rdx rsi rdi from regs (struct
 * guest_call_regs) in 64-bit mode, far-calls code32 through X86_SEL_CODE32 (compatibility
 * mode: the upper halves of the registers stay as loaded unless the code writes them), which
 * returns with a 32-bit lret; then stores the six registers back.
 */
    .globl x86_call_compat
    .type x86_call_compat, @function
x86_call_compat:
    push    %rbp
    push    %rbx
    push    %r12
    push    %r13
    push    %r14
    push    %r15
    push    %rsi
    sub     $8, %rsp                    /* m16:32 far pointer */
    movl    %edi, (%rsp)
    movw    $X86_SEL_CODE32, 4(%rsp)
    mov     %rsp, %r11
    mov     0(%rsi), %rax
    mov     8(%rsi), %rbx
    mov     16(%rsi), %rcx
    mov     24(%rsi), %rdx
    mov     40(%rsi), %rdi
    mov     32(%rsi), %rsi
    lcall   *(%r11)
    add     $8, %rsp
    pop     %r11
    mov     %rax, 0(%r11)
    mov     %rbx, 8(%r11)
    mov     %rcx, 16(%r11)
    mov     %rdx, 24(%r11)
    mov     %rsi, 32(%r11)
    mov     %rdi, 40(%r11)
    pop     %r15
    pop     %r14
    pop     %r13
    pop     %r12
    pop     %rbx
    pop     %rbp
    ret
    .size x86_call_compat, . - x86_call_compat

/*
 * void x86_call_real(slot): the vCPU's real-mode slot at linear `slot` (below 1 MiB) holds the
 * code at offset 0 and the registers at X86_REAL_REGS; the 64-bit RSP is kept at
 * X86_REAL_RSP. Path: compatibility mode, paging off (IA-32e mode off, EFER.LME kept), 16-bit
 * protected mode in the trampoline copied to X86_REAL_TRAMP, CR0.PE off, real mode with CS =
 * X86_REAL_TRAMP >> 4; then SS = DS = ES = the slot's segment, SP = X86_REAL_REGS, and a far
 * call to slot:0. Back: PE on, 32-bit protected mode here, paging on (IA-32e mode again, in
 * compatibility mode), 64-bit CS. EBX carries the slot's linear address between the steps.
 */
    .globl x86_call_real
    .type x86_call_real, @function
x86_call_real:
    push    %rbp
    push    %rbx
    push    %r12
    push    %r13
    push    %r14
    push    %r15
    pushfq
    mov     %rsp, X86_REAL_RSP(%rdi)
    mov     %edi, %ebx
    pushq   $X86_SEL_CODE32
    lea     1f(%rip), %rax
    pushq   %rax
    lretq
    .code32
1:  mov     %cr0, %eax
    btr     $31, %eax
    mov     %eax, %cr0
    ljmp    $X86_SEL_CODE16, $(X86_REAL_TRAMP + (x86_real_pm16 - x86_real_tramp))

    .globl x86_real_back32
x86_real_back32:
    mov     $X86_SEL_DATA, %eax
    mov     %eax, %ds
    mov     %eax, %es
    mov     %eax, %ss
    mov     %eax, %fs
    mov     %eax, %gs
    mov     %cr0, %eax
    bts     $31, %eax
    mov     %eax, %cr0
    ljmp    $X86_SEL_CODE64, $2f
    .code64
2:  mov     X86_REAL_RSP(%rbx), %rsp
    popfq
    pop     %r15
    pop     %r14
    pop     %r13
    pop     %r12
    pop     %rbx
    pop     %rbp
    ret
    .size x86_call_real, . - x86_call_real

/*
 * The 16-bit trampoline, copied to X86_REAL_TRAMP (modes.c) and run there: first in 16-bit
 * protected mode (CS = X86_SEL_CODE16, base 0), then in real mode (CS = X86_REAL_TRAMP >> 4).
 */
    .code16
    .globl x86_real_tramp
x86_real_tramp:
x86_real_pm16:
    mov     $X86_SEL_DATA16, %ax
    mov     %ax, %ds
    mov     %ax, %es
    mov     %ax, %ss
    mov     %ax, %fs
    mov     %ax, %gs
    mov     %cr0, %eax
    and     $0xfffffffe, %eax
    mov     %eax, %cr0
    ljmp    $(X86_REAL_TRAMP >> 4), $(3f - x86_real_tramp)
3:  mov     %ebx, %eax
    shr     $4, %eax
    mov     %ax, %ss
    mov     %ax, %ds
    mov     %ax, %es
    mov     $X86_REAL_REGS, %sp
    mov     %ss:X86_REAL_REGS + 0, %eax
    mov     %ss:X86_REAL_REGS + 4, %ebx
    mov     %ss:X86_REAL_REGS + 8, %ecx
    mov     %ss:X86_REAL_REGS + 12, %edx
    mov     %ss:X86_REAL_REGS + 16, %esi
    mov     %ss:X86_REAL_REGS + 20, %edi
    pushw   %cs
    pushw   $(4f - x86_real_tramp)
    pushw   %ss
    pushw   $0
    lret
4:  mov     %eax, %ss:X86_REAL_REGS + 0
    mov     %ebx, %ss:X86_REAL_REGS + 4
    mov     %ecx, %ss:X86_REAL_REGS + 8
    mov     %edx, %ss:X86_REAL_REGS + 12
    mov     %esi, %ss:X86_REAL_REGS + 16
    mov     %edi, %ss:X86_REAL_REGS + 20
    xor     %ebx, %ebx
    mov     %ss, %bx
    shl     $4, %ebx
    mov     %cr0, %eax
    or      $1, %eax
    mov     %eax, %cr0
    ljmpl   $X86_SEL_CODE32, $x86_real_back32
    .globl x86_real_tramp_end
x86_real_tramp_end:

    .section .note.GNU-stack, "", @progbits
