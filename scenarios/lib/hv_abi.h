/*
 * hv_abi.h - the contract between hvsim and the guest programs it runs. Included by the guest
 * library (freestanding) and by sim/ (host), so both sides use the same numbers and layout.
 *
 * Boot: every vCPU that the model starts begins at the ELF entry point with
 *   x86_64:  64-bit mode, CPL 0, paging off (flat), interrupts off, RDI = vCPU id,
 *            RSI = number of vCPUs, RSP = 0 (the boot code picks its own stack).
 *   aarch64: EL1h, MMU off, all interrupts masked, X0 = vCPU id, X1 = number of vCPUs, SP = 0.
 *   arm:     AArch32, Non-secure SVC mode (SCR = NS | HCE), A32 (T32 if the entry's bit 0 is
 *            set), MMU off, IRQ/FIQ/asynchronous aborts masked, R0 = vCPU id, R1 = number of
 *            vCPUs, SP = LR = 0.
 * Guest RAM for model `none` is one region at HV_RAM_BASE_<arch> of the scenario's size.
 *
 * ucall: a guest fills a struct hv_ucall in memory it has mapped, then hands hvsim the struct's
 * guest-virtual address (which must be below 4 GiB) with one 32-bit access:
 *   x86_64:  out dx, eax   with dx = HV_UCALL_PORT, eax = address
 *   aarch64: str w0, [x1]  with x1 = HV_UCALL_MMIO, w0 = address (the page is never backed)
 *   arm:     str r0, [r1]  with r1 = HV_UCALL_MMIO, r0 = address (the same page)
 * followed by a branch, so the call ends a translation block. hvsim reads the struct through
 * the calling vCPU's page tables. No model claims the port or the page.
 */
#ifndef HV_ABI_H
#define HV_ABI_H

#define HV_UCALL_PORT 0x1000
#define HV_UCALL_MMIO 0x3fff0000ULL

#define HV_RAM_BASE_X86_64  0x0ULL
#define HV_RAM_BASE_AARCH64 0x40000000ULL
#define HV_RAM_BASE_ARM     0x40000000ULL

enum hv_ucall_cmd {
    HV_UCALL_SYNC = 1,    /* arg0 = sync number */
    HV_UCALL_PRINTF = 2,  /* text = formatted output */
    HV_UCALL_ASSERT = 3,  /* file, arg0 = line, expr, text = optional message */
    HV_UCALL_DONE = 4,
};

#define HV_UCALL_TEXT 256

/* Layout fixed for both sides: every field 8 bytes, then the text. */
struct hv_ucall {
    unsigned long long cmd;
    unsigned long long arg0;
    unsigned long long file;   /* guest-virtual address of a NUL-terminated string, or 0 */
    unsigned long long expr;   /* likewise */
    char text[HV_UCALL_TEXT];  /* NUL-terminated */
};

#endif
