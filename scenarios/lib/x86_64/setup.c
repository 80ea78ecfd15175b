/*
 * setup.c - x86_64 boot after boot.S: the TSS, page tables, paging on, IDT, then the program.
 *
 * Runs on every vCPU at once, each on its own stack and with its own tables; the only shared
 * writes are of identical values (guest_nr_vcpus_, the IDT).
 */
#include "guest_int.h"
#include "x86_64/x86.h"

#define CR0_MP (1ULL << 1)
#define CR0_EM (1ULL << 2)
#define CR0_TS (1ULL << 3)
#define CR0_WP (1ULL << 16)
#define CR0_PG (1ULL << 31)
#define CR4_PAE (1ULL << 5)
#define CR4_PGE (1ULL << 7)
#define CR4_OSFXSR (1ULL << 9)
#define CR4_OSXMMEXCPT (1ULL << 10)

unsigned guest_vcpu_id(void)
{
    /*
     * The boot stacks are one array and every vCPU stays on its own (x86_64 has no spare
     * register for the id without an MSR write, which a model may intercept).
     */
    uintptr_t sp;
    __asm__ volatile("mov %%rsp, %0" : "=r"(sp));
    uintptr_t id = (sp - 1 - (uintptr_t)guest_stacks) / GUEST_STACK_SIZE;
    if (id >= GUEST_MAX_VCPUS)
        guest_halt();   /* off the boot stacks: no ucall slot can be trusted */
    return (unsigned)id;
}

static uint64_t read_cr0(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr0, %0" : "=r"(v));
    return v;
}

static uint64_t read_cr4(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr4, %0" : "=r"(v));
    return v;
}

_Noreturn void x86_setup(uint64_t id, uint64_t nr);

void x86_setup(uint64_t id, uint64_t nr)
{
    x86_tss_load((unsigned)id);
    __atomic_store_n(&guest_nr_vcpus_, (unsigned)nr, __ATOMIC_RELAXED);

    uint64_t pml4 = x86_build_tables();

    /* PAE on, global pages off (a CR3 reload must flush everything); SSE usable by .S code. */
    uint64_t cr4 = (read_cr4() | CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT) & ~CR4_PGE;
    __asm__ volatile("mov %0, %%cr4" : : "r"(cr4) : "memory");
    __asm__ volatile("mov %0, %%cr3" : : "r"(pml4) : "memory");
    uint64_t cr0 = (read_cr0() | CR0_PG | CR0_WP | CR0_MP) & ~(CR0_EM | CR0_TS);
    __asm__ volatile("mov %0, %%cr0" : : "r"(cr0) : "memory");
    /*
     * Reload CR3 with paging on: the point where the simulator (re)derives this vCPU's
     * mappings, whatever it did at the CR0 write.
     */
    __asm__ volatile("mov %%cr3, %%rax\n\tmov %%rax, %%cr3" : : : "rax", "memory");

    x86_idt_load();
    guest_start();
}
