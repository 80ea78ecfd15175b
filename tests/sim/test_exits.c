/*
 * test_exits.c - memory exits a model sees: stores into a read-only RAM region (an MMIO exit
 * with the bytes, memory unchanged, loads served), and guest-store tracking for dirty logging
 * (hv_vm_track_writes). A small model defined here maps a caller-owned buffer twice (an alias)
 * and records what reaches it; the guest is built with the guest library for each arch.
 *
 * Also x86 rdtsc / rdtscp, which hvsim emulates (Unicorn would read host ticks): the value is
 * the VM clock, exact to the instruction, the same on every run, and CR4.TSD at CPL 3 turns
 * the instruction into #GP(0). Those guests run under model `none`.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner/guestbuild.h"
#include "sim/model.h"
#include "tests/test_util.h"

void test_exits_register(void);

#define RO_GPA_X86   0x40000000ULL
#define RO_GPA_ARM   0x80000000ULL
#define ALIAS_OFFSET 0x100000ULL  /* the same buffer again, writable, RO_GPA + this */
#define WATCH_PAGE   0x20000ULL   /* a page of the guest's RAM the test watches */

struct te_state {
    uint8_t *buf;                  /* the read-only region's buffer, 64 KiB */
    unsigned mmio_writes;
    uint64_t last_gpa, last_data;
    unsigned last_size;
    unsigned tracked_in_watch;     /* guest stores into WATCH_PAGE seen by guest_write */
};

static struct te_state te;

static int te_vm_init(struct hv_vm *vm, const struct hv_node *mem, const struct hv_node *vmm)
{
    enum hv_arch a = hv_vm_arch(vm);
    uint64_t base = a == HV_ARCH_X86_64 ? 0 : 0x40000000ULL;
    uint64_t ro = a == HV_ARCH_X86_64 ? RO_GPA_X86 : RO_GPA_ARM;
    int err = hv_vm_add_ram(vm, base, 16 << 20);
    if (!err)
        err = hv_vm_map_ram(vm, ro, 0x10000, te.buf, true);
    if (!err)
        err = hv_vm_map_ram(vm, ro + ALIAS_OFFSET, 0x10000, te.buf, false);
    return err;
}

static enum hv_exit_action te_mmio(struct hv_vcpu *v, struct hv_exit_mmio *e)
{
    if (e->write) {
        te.mmio_writes++;
        te.last_gpa = e->gpa;
        te.last_data = e->data;
        te.last_size = e->size;
    }
    return HV_ACT_HANDLED;
}

static void te_guest_write(struct hv_vcpu *v, uint64_t gpa, unsigned size)
{
    uint64_t base = hv_vm_arch(hv_vcpu_vm(v)) == HV_ARCH_X86_64 ? 0 : 0x40000000ULL;
    if (gpa >= base + WATCH_PAGE && gpa < base + WATCH_PAGE + 0x1000)
        te.tracked_in_watch++;
}

static const struct hv_model_ops te_model = {
    .name = "test-exits",
    .summary = "records read-only stores and tracked writes",
    .vm_init = te_vm_init,
    .mmio = te_mmio,
    .guest_write = te_guest_write,
};

static const char guest_src[] =
    "#include \"guest.h\"\n"
    "#if defined(__x86_64__)\n#define RO 0x40000000UL\n#define RAM 0x0UL\n"
    "#else\n#define RO 0x80000000UL\n#define RAM 0x40000000UL\n#endif\n"
    "void guest_main(void)\n{\n"
    "    volatile uint8_t *ro = (volatile uint8_t *)RO;\n"
    "    volatile uint64_t *ro64 = (volatile uint64_t *)(RO + 8);\n"
    "    volatile uint8_t *alias = (volatile uint8_t *)(RO + 0x100000);\n"
    "    volatile uint32_t *watch = (volatile uint32_t *)(RAM + 0x20000);\n"
    "    GUEST_ASSERT_EQ(ro[0], 0xab);\n"
    "    ro[0] = 0x55;\n"
    "    GUEST_ASSERT_EQ(ro[0], 0xab);\n"
    "    *ro64 = 0x1122334455667788ULL;\n"
    "    alias[1] = 0x77;\n"
    "    GUEST_ASSERT_EQ(ro[1], 0x77);\n"
    "    GUEST_SYNC(1);\n"
    "    for (int i = 0; i < 5; i++)\n"
    "        watch[i] = i;\n"
    "    GUEST_DONE();\n"
    "}\n";

static int te_sink(void *ctx, const struct hv_event *ev)
{
    (void)ctx;
    if (getenv("TE_DEBUG") && ev->kind != HV_EV_sched)
        fprintf(stderr, "ev %s pc %llx %s\n", hv_kind_desc(ev->kind)->name,
                (unsigned long long)ev->pc, ev->detail);
    return 0;
}

static uint8_t image[1 << 20];

/* Builds source with the guest library for arch into image; returns its length, 0 on error. */
static size_t build_guest(enum hv_arch arch, const char *source)
{
    char dir[] = "/tmp/hvsim-test-exits-XXXXXX";
    if (!mkdtemp(dir))
        return 0;
    char src[128], elf[128];
    snprintf(src, sizeof src, "%s/g.c", dir);
    snprintf(elf, sizeof elf, "%s/g.elf", dir);
    size_t n = 0;
    FILE *f = fopen(src, "w");
    if (f) {
        fputs(source, f);
        fclose(f);
        static char log[16384];
        int err = guest_build(arch, src, elf, log, sizeof log);
        if (err)
            fprintf(stderr, "%s\n", log);
        else if ((f = fopen(elf, "rb"))) {
            n = fread(image, 1, sizeof image, f);
            fclose(f);
        }
    }
    unlink(src);
    unlink(elf);
    rmdir(dir);
    return n;
}

static void run_arch(enum hv_arch arch)
{
    size_t n = build_guest(arch, guest_src);
    CU_ASSERT_FATAL(n > 0);

    memset(&te, 0, sizeof te);
    CU_ASSERT_EQUAL_FATAL(posix_memalign((void **)&te.buf, 4096, 0x10000), 0);
    memset(te.buf, 0xab, 0x10000);
    struct hv_vm_config cfg = { .arch = arch, .nr_vcpus = 1, .seed = 1, .quantum = 1000,
                                .limit = 10000000, .model = &te_model, .sink = te_sink };
    struct hv_vm *vm = NULL;
    CU_ASSERT_EQUAL_FATAL(hv_vm_create(&vm, &cfg), 0);
    CU_ASSERT_EQUAL_FATAL(hv_vm_load_elf(vm, image, n), 0);
    hv_vm_pause_on_sync(vm, true);
    bool paused = false;
    CU_ASSERT_EQUAL(hv_vm_run(vm, &paused), 0);
    CU_ASSERT_TRUE(paused);
    /* before the sync: two stores into the read-only region, one through the alias */
    uint64_t ro = arch == HV_ARCH_X86_64 ? RO_GPA_X86 : RO_GPA_ARM;
    CU_ASSERT_EQUAL(te.mmio_writes, 2);
    CU_ASSERT_EQUAL(te.last_gpa, ro + 8);
    CU_ASSERT_EQUAL(te.last_size, 8);
    CU_ASSERT_EQUAL(te.last_data, 0x1122334455667788ULL);
    CU_ASSERT_EQUAL(te.buf[0], 0xab);      /* the read-only store changed nothing */
    CU_ASSERT_EQUAL(te.buf[8], 0xab);
    CU_ASSERT_EQUAL(te.buf[1], 0x77);      /* the alias wrote the shared buffer */
    CU_ASSERT_EQUAL(te.tracked_in_watch, 0);
    /* from here on, guest stores are tracked */
    CU_ASSERT_EQUAL(hv_vm_track_writes(vm, true), 0);
    CU_ASSERT_EQUAL(hv_vm_run(vm, &paused), 0);
    CU_ASSERT_FALSE(paused);
    CU_ASSERT_EQUAL(hv_vm_outcome(vm), HV_OUT_DONE);
    CU_ASSERT_EQUAL(te.tracked_in_watch, 5);
    hv_vm_destroy(vm);
    free(te.buf);
}

static void test_x86(void)
{
    run_arch(HV_ARCH_X86_64);
}

static void test_aarch64(void)
{
    run_arch(HV_ARCH_AARCH64);
}

/* arm: the 8-byte store is an strd, which Unicorn performs as two 4-byte stores; the model
 * must still see one exit of size 8. */
static void test_arm(void)
{
    run_arch(HV_ARCH_ARM);
}

/* ---- rdtsc / rdtscp ---------------------------------------------------------------------- */

/*
 * rdtsc, three instructions, rdtscp (IA32_TSC_AUX set first), with RAX, RCX and RDX all ones
 * before: what the registers hold after each read is stored at 0x2000 (see scenarios/none/
 * rdtsc.c, the same sequence), then checked by the host.
 */
static const char tsc_guest_src[] =
    "#include \"guest.h\"\n"
    "void guest_main(void)\n{\n"
    "    __asm__ volatile(\"wrmsr\" : : \"c\"(0xc0000103u), \"a\"(0x1234u), \"d\"(0u));\n"
    "    __asm__ volatile(\"mov $-1, %%rax; mov $-1, %%rdx; mov $-1, %%rcx\\n\\t\"\n"
    "                     \"rdtsc\\n\\t\"\n"
    "                     \"mov %%rax, 0x2000; mov %%rdx, 0x2008; mov $-1, %%rdx\\n\\t\"\n"
    "                     \"rdtscp\\n\\t\"\n"
    "                     \"mov %%rax, 0x2010; mov %%rdx, 0x2018; mov %%rcx, 0x2020\"\n"
    "                     : : : \"rax\", \"rcx\", \"rdx\", \"memory\");\n"
    "}\n";

/*
 * CR4.TSD: rdtsc at CPL 0 still reads; at CPL 3 rdtsc and rdtscp raise #GP(0). The guest runs
 * a function at CPL 3 with the library's guest_call_user() (IOPL 3, so the ucall port stays
 * usable); hvsim delivers the #GP to the library's handler on the TSS's RSP0 stack in 64-bit
 * mode at CPL 0; the handler records it and skips the instruction, and iretq goes back to
 * CPL 3.
 */
static const char tsd_guest_src[] =
    "#include \"guest.h\"\n"
    "static volatile unsigned gp_hits;\n"
    "static volatile uint64_t gp_err = ~0ULL, gp_cs, gp_pc[2];\n"
    "static void on_gp(struct guest_regs *r)\n{\n"
    "    uint16_t cs;\n"
    "    __asm__ volatile(\"mov %%cs, %0\" : \"=r\"(cs));\n"
    "    GUEST_ASSERT_EQ(cs, GUEST_SEL_CODE64);\n"
    "    if (gp_hits < 2) gp_pc[gp_hits] = r->pc;\n"
    "    gp_hits++; gp_err = r->error_code; gp_cs = r->cs;\n"
    "    uint8_t *b = (uint8_t *)r->pc;\n"
    "    r->pc += b[1] == 0x31 ? 2 : 3;\n"
    "}\n"
    "static uint64_t at_cpl3(uint64_t arg)\n{\n"
    "    uint64_t lo = 77, hi = 77;\n"
    "    uint16_t cs;\n"
    "    __asm__ volatile(\"mov %%cs, %0\" : \"=r\"(cs));\n"
    "    GUEST_ASSERT_EQ(cs, GUEST_SEL_USER_CODE64);\n"
    "    __asm__ volatile(\"rdtsc\" : \"+a\"(lo), \"+d\"(hi));\n"
    "    GUEST_ASSERT_EQ(gp_hits, 1);\n"
    "    GUEST_ASSERT_EQ(lo, 77);\n"
    "    GUEST_ASSERT_EQ(hi, 77);\n"
    "    __asm__ volatile(\"rdtscp\" : \"+a\"(lo), \"+d\"(hi) : : \"rcx\");\n"
    "    GUEST_ASSERT_EQ(gp_hits, 2);\n"
    "    return arg + 1;\n"
    "}\n"
    "void guest_main(void)\n{\n"
    "    uint64_t cr4, lo, hi;\n"
    "    guest_set_handler(GUEST_VEC_GP, on_gp);\n"
    "    __asm__ volatile(\"mov %%cr4, %0\" : \"=r\"(cr4));\n"
    "    __asm__ volatile(\"mov %0, %%cr4\" : : \"r\"(cr4 | 4) : \"memory\");\n"
    "    __asm__ volatile(\"rdtsc\" : \"=a\"(lo), \"=d\"(hi));\n"
    "    GUEST_ASSERT_EQ(gp_hits, 0);\n"
    "    GUEST_ASSERT(lo != 0);\n"
    "    GUEST_ASSERT_EQ(guest_call_user(at_cpl3, 5), 6);\n"
    "    GUEST_ASSERT_EQ(gp_err, 0);\n"
    "    GUEST_ASSERT_EQ(gp_cs, GUEST_SEL_USER_CODE64);\n"
    "    GUEST_ASSERT_EQ(*(uint16_t *)gp_pc[0], 0x310f);\n"
    "    GUEST_ASSERT_EQ(*(uint8_t *)(gp_pc[1] + 2), 0xf9);\n"
    "    GUEST_DONE();\n"
    "}\n";

#define TSC_MAX 8

/* What the sink saw: rdtsc events and delivered exceptions. */
struct tsc_seen {
    unsigned n;
    uint64_t value[TSC_MAX], icount[TSC_MAX], pc[TSC_MAX];
    bool p[TSC_MAX];
    unsigned gp;             /* exception events of vector 13, error code 0, delivered */
    unsigned exceptions;
};

static struct tsc_seen tsc_seen;

static int tsc_sink(void *ctx, const struct hv_event *ev)
{
    (void)ctx;
    if (ev->kind == HV_EV_rdtsc) {
        unsigned long long val = 0;
        char p[8] = "";
        TEST_CHECK(sscanf(ev->detail, "{\"value\":%llu,\"p\":%7[a-z]}", &val, p) == 2,
                   "rdtsc detail %s", ev->detail);
        if (tsc_seen.n < TSC_MAX) {
            tsc_seen.value[tsc_seen.n] = val;
            tsc_seen.icount[tsc_seen.n] = ev->icount;
            tsc_seen.pc[tsc_seen.n] = ev->pc;
            tsc_seen.p[tsc_seen.n] = strcmp(p, "true") == 0;
        }
        tsc_seen.n++;
    } else if (ev->kind == HV_EV_exception) {
        tsc_seen.exceptions++;
        if (strstr(ev->detail, "\"vector\":13,\"name\":\"#GP\",\"error_code\":0,") &&
            strstr(ev->detail, "\"delivered\":true"))
            tsc_seen.gp++;
    }
    return 0;
}

/* Runs image (n bytes) on one x86_64 vCPU of model none to its end; returns the VM. */
static struct hv_vm *tsc_run(size_t n)
{
    memset(&tsc_seen, 0, sizeof tsc_seen);
    struct hv_vm_config cfg = { .arch = HV_ARCH_X86_64, .nr_vcpus = 1, .seed = 1,
                                .quantum = 1000, .limit = 10000000,
                                .model = hv_model_lookup("none"), .sink = tsc_sink };
    struct hv_vm *vm = NULL;
    bool paused = false;
    if (hv_vm_create(&vm, &cfg))
        return NULL;
    if (hv_vm_load_elf(vm, image, n) || hv_vm_run(vm, &paused)) {
        hv_vm_destroy(vm);
        return NULL;
    }
    return vm;
}

static void test_rdtsc(void)
{
    size_t n = build_guest(HV_ARCH_X86_64, tsc_guest_src);
    CU_ASSERT_FATAL(n > 0);
    struct tsc_seen runs[2];
    uint64_t regs[2][5];
    for (int r = 0; r < 2; r++) {
        struct hv_vm *vm = tsc_run(n);
        CU_ASSERT_PTR_NOT_NULL_FATAL(vm);
        CU_ASSERT_EQUAL(hv_vm_outcome(vm), HV_OUT_DONE);
        CU_ASSERT_EQUAL(hv_vm_read_gpa(vm, 0x2000, regs[r], sizeof regs[r]), 0);
        hv_vm_destroy(vm);
        runs[r] = tsc_seen;
    }
    const struct tsc_seen *t = &runs[0];
    CU_ASSERT_EQUAL_FATAL(t->n, 2);
    /* one vCPU: the VM clock is its own count, the instructions retired before the read */
    for (unsigned i = 0; i < 2; i++)
        TEST_CHECK(t->value[i] == t->icount[i], "read %u: value %llu, icount %llu", i,
                   (unsigned long long)t->value[i], (unsigned long long)t->icount[i]);
    CU_ASSERT_TRUE(t->value[0] > 1000);      /* the library's boot code ran first */
    CU_ASSERT_EQUAL(t->value[1] - t->value[0], 4); /* rdtsc and the three between */
    CU_ASSERT_FALSE(t->p[0]);
    CU_ASSERT_TRUE(t->p[1]);
    CU_ASSERT_EQUAL(t->pc[1] - t->pc[0], 2 + 8 + 8 + 7); /* rdtsc, two 8-byte movs, a 7-byte mov */
    /* the registers: EDX:EAX with the upper halves cleared, ECX = IA32_TSC_AUX */
    const uint64_t *g = regs[0];
    CU_ASSERT_EQUAL(g[0], t->value[0]);
    CU_ASSERT_EQUAL(g[1], 0);
    CU_ASSERT_EQUAL(g[2], t->value[1]);
    CU_ASSERT_EQUAL(g[3], 0);
    CU_ASSERT_EQUAL(g[4], 0x1234);
    /* and the same on the second run */
    CU_ASSERT_EQUAL(memcmp(runs[0].value, runs[1].value, sizeof runs[0].value), 0);
    CU_ASSERT_EQUAL(memcmp(runs[0].icount, runs[1].icount, sizeof runs[0].icount), 0);
    CU_ASSERT_EQUAL(memcmp(regs[0], regs[1], sizeof regs[0]), 0);
}

static void test_rdtsc_tsd(void)
{
    size_t n = build_guest(HV_ARCH_X86_64, tsd_guest_src);
    CU_ASSERT_FATAL(n > 0);
    struct hv_vm *vm = tsc_run(n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(vm);
    const char *file = "", *expr = "", *text = "";
    uint64_t line = 0;
    hv_vm_assert_info(vm, &file, &line, &expr, &text);
    TEST_CHECK(hv_vm_outcome(vm) == HV_OUT_DONE, "outcome %s; %s:%llu %s %s",
               hv_outcome_name(hv_vm_outcome(vm)), file, (unsigned long long)line, expr, text);
    hv_vm_destroy(vm);
    CU_ASSERT_EQUAL(tsc_seen.n, 1);          /* only the CPL 0 read */
    CU_ASSERT_EQUAL(tsc_seen.gp, 2);         /* rdtsc and rdtscp at CPL 3 */
    CU_ASSERT_EQUAL(tsc_seen.exceptions, 3); /* and the way back from CPL 3 (int 0x81) */
}

/*
 * x86 exception delivery in the mode the exception is taken in (sim/excp.c; Intel SDM vol. 3
 * ch. 6): a #UD in compatibility mode reaches the 64-bit handler on the 64-bit frame (CS
 * 0x18, SS:RSP, the ud2's address), the handler runs in 64-bit mode at CPL 0 and iretq goes
 * back to compatibility mode; in 32-bit protected mode (compatibility mode with paging turned
 * off) it goes through an 8-byte 386 interrupt gate, EFLAGS, CS, EIP pushed; a #UD in real
 * mode with CS != 0 goes through the IVT (FLAGS, CS, IP pushed on SS:SP, CS:IP from the
 * vector). The last two handlers skip the ud2 and iret.
 */
static const char modes_guest_src[] =
    "#include \"guest.h\"\n"
    "extern const uint8_t c32_ud[], rm_code[], rm_ud[], h6[], rm_end[], pm32_ud[],\n"
    "    pm32_ud_insn[], h32[];\n"
    "/* 32-bit protected mode: EBX the 32-bit IDT's descriptor, EDX where the 64-bit one is\n"
    " * kept; h32 returns the pushed EIP and CS in EDI, ESI and skips the ud2 */\n"
    "__asm__(\".text\\n.code32\\n.globl pm32_ud\\npm32_ud:\\n\"\n"
    "        \"  sidt (%edx)\\n  mov %cr0, %eax\\n  btr $31, %eax\\n  mov %eax, %cr0\\n\"\n"
    "        \"  lidt (%ebx)\\n  mov $0x11, %ecx\\n\"\n"
    "        \".globl pm32_ud_insn\\npm32_ud_insn:\\n  ud2\\n  mov $0x33, %ecx\\n\"\n"
    "        \"  lidt (%edx)\\n  mov %cr0, %eax\\n  bts $31, %eax\\n  mov %eax, %cr0\\n\"\n"
    "        \"  lret\\n.globl h32\\nh32:\\n  mov (%esp), %edi\\n  mov 4(%esp), %esi\\n\"\n"
    "        \"  addl $2, (%esp)\\n  iret\\n.code64\\n\");\n"
    "static uint64_t idt32[8];\n"
    "static struct __attribute__((packed)) { uint16_t limit; uint32_t base; } idt32_desc,\n"
    "    idt64_saved;\n"
    "__asm__(\".text\\n.code32\\n.globl c32_ud\\nc32_ud:\\n\"\n"
    "        \"  mov $0x11, %ecx\\n  ud2\\n  mov $0x33, %ecx\\n  lret\\n.code64\\n\");\n"
    "/* real mode: IVT[6] = CS:h6, then ud2; h6 returns the pushed IP, CS and FLAGS in DI, SI,\n"
    " * DX and skips the ud2 */\n"
    "__asm__(\".text\\n.code16\\n.globl rm_code\\nrm_code:\\n\"\n"
    "        \"  xor %ax, %ax\\n  mov %ax, %ds\\n\"\n"
    "        \"  movw $(h6 - rm_code), 0x18\\n  mov %cs, 0x1a\\n\"\n"
    "        \"  mov %cs, %ax\\n  mov %ax, %ds\\n  mov $0x11, %cx\\n\"\n"
    "        \".globl rm_ud\\nrm_ud:\\n  ud2\\n  mov $0x33, %cx\\n  lret\\n\"\n"
    "        \".globl h6\\nh6:\\n  mov %sp, %bp\\n  mov 0(%bp), %di\\n  mov 2(%bp), %si\\n\"\n"
    "        \"  mov 4(%bp), %dx\\n  addw $2, 0(%bp)\\n  iret\\n\"\n"
    "        \".globl rm_end\\nrm_end:\\n.code64\\n\");\n"
    "static volatile uint64_t ud_cs, ud_pc, ud_ss, ud_rsp, own_cs, hits;\n"
    "static void on_ud(struct guest_regs *r)\n{\n"
    "    uint16_t cs;\n"
    "    __asm__ volatile(\"mov %%cs, %0\" : \"=r\"(cs));\n"
    "    own_cs = cs; ud_cs = r->cs; ud_pc = r->pc; ud_ss = r->ss; ud_rsp = r->rsp; hits++;\n"
    "    r->pc += 2;\n"
    "}\n"
    "void guest_main(void)\n{\n"
    "    guest_set_handler(GUEST_VEC_UD, on_ud);\n"
    "    struct guest_call_regs r = { .rcx = 0x5555555500000000ULL };\n"
    "    uint64_t rsp;\n"
    "    __asm__ volatile(\"mov %%rsp, %0\" : \"=r\"(rsp));\n"
    "    guest_call_compat(c32_ud, &r);\n"
    "    GUEST_ASSERT_EQ(hits, 1);\n"
    "    GUEST_ASSERT_EQ(ud_cs, GUEST_SEL_CODE32);\n"
    "    GUEST_ASSERT_EQ(own_cs, GUEST_SEL_CODE64);\n"
    "    GUEST_ASSERT_EQ(ud_pc, (uintptr_t)c32_ud + 5);\n"
    "    GUEST_ASSERT_EQ(ud_ss, 0x10);\n"
    "    GUEST_ASSERT(ud_rsp < rsp && rsp - ud_rsp < 256);\n"
    "    GUEST_ASSERT_EQ(r.rcx, 0x33);\n"
    "    uint32_t h = (uint32_t)(uintptr_t)h32;\n"
    "    idt32[6] = (h & 0xffff) | (uint64_t)GUEST_SEL_CODE32 << 16 | 0x8e00ULL << 32 |\n"
    "               (uint64_t)(h >> 16) << 48;\n"
    "    idt32_desc.limit = sizeof idt32 - 1;\n"
    "    idt32_desc.base = (uint32_t)(uintptr_t)idt32;\n"
    "    struct guest_call_regs p = { .rbx = (uintptr_t)&idt32_desc,\n"
    "                                 .rdx = (uintptr_t)&idt64_saved };\n"
    "    guest_call_compat(pm32_ud, &p);\n"
    "    GUEST_ASSERT_EQ(hits, 1);\n"
    "    GUEST_ASSERT_EQ(p.rcx, 0x33);\n"
    "    GUEST_ASSERT_EQ(p.rsi, GUEST_SEL_CODE32);\n"
    "    GUEST_ASSERT_EQ(p.rdi, (uintptr_t)pm32_ud_insn);\n"
    "    *(volatile uint64_t *)0x3010 = (uintptr_t)pm32_ud_insn;\n"
    "    *(volatile uint64_t *)0x3018 = h;\n"
    "    struct guest_call_regs q = { 0 };\n"
    "    guest_call_real(rm_code, (size_t)(rm_end - rm_code), &q);\n"
    "    GUEST_ASSERT_EQ(hits, 1);\n"
    "    GUEST_ASSERT_EQ(q.rcx, 0x33);\n"
    "    GUEST_ASSERT_EQ(q.rsi, guest_real_segment(0));\n"
    "    GUEST_ASSERT_EQ(q.rdi, (uintptr_t)(rm_ud - rm_code));\n"
    "    *(volatile uint64_t *)0x3000 = (uintptr_t)(rm_ud - rm_code);\n"
    "    *(volatile uint64_t *)0x3008 = (uintptr_t)(h6 - rm_code);\n"
    "    GUEST_ASSERT_EQ(q.rdx & 0x200, 0);\n"
    "    GUEST_DONE();\n"
    "}\n";

/* The delivered exceptions: vector, pc and handler, in order. */
static struct {
    unsigned n;
    uint64_t pc[4], handler[4], vector[4];
} modes_seen;

static int modes_sink(void *ctx, const struct hv_event *ev)
{
    (void)ctx;
    unsigned long long vec = 0, err = 0, addr = 0, handler = 0;
    char name[16] = "";
    if (ev->kind != HV_EV_exception || modes_seen.n >= 4)
        return 0;
    TEST_CHECK(sscanf(ev->detail,
                      "{\"vector\":%llu,\"name\":\"%15[^\"]\",\"error_code\":%llu,"
                      "\"addr\":\"0x%llx\",\"handler\":\"0x%llx\",\"delivered\":true}",
                      &vec, name, &err, &addr, &handler) == 5,
               "exception detail %s", ev->detail);
    modes_seen.pc[modes_seen.n] = ev->pc;
    modes_seen.handler[modes_seen.n] = handler;
    modes_seen.vector[modes_seen.n++] = vec;
    return 0;
}

static void test_x86_modes_delivery(void)
{
    size_t n = build_guest(HV_ARCH_X86_64, modes_guest_src);
    CU_ASSERT_FATAL(n > 0);
    memset(&modes_seen, 0, sizeof modes_seen);
    struct hv_vm_config cfg = { .arch = HV_ARCH_X86_64, .nr_vcpus = 1, .seed = 1,
                                .quantum = 1000, .limit = 10000000,
                                .model = hv_model_lookup("none"), .sink = modes_sink };
    struct hv_vm *vm = NULL;
    bool paused = false;
    CU_ASSERT_FATAL(hv_vm_create(&vm, &cfg) == 0);
    CU_ASSERT_FATAL(hv_vm_load_elf(vm, image, n) == 0 && hv_vm_run(vm, &paused) == 0);
    const char *file = "", *expr = "", *text = "";
    uint64_t line = 0;
    hv_vm_assert_info(vm, &file, &line, &expr, &text);
    TEST_CHECK(hv_vm_outcome(vm) == HV_OUT_DONE, "outcome %s; %s:%llu %s %s",
               hv_outcome_name(hv_vm_outcome(vm)), file, (unsigned long long)line, expr, text);
    /* the ud2 and h6 in the real-mode code; the 32-bit ud2 and h32 */
    uint64_t off[4] = { 0, 0, 0, 0 };
    CU_ASSERT_EQUAL(hv_vm_read_gpa(vm, 0x3000, off, sizeof off), 0);
    hv_vm_destroy(vm);
    CU_ASSERT_EQUAL_FATAL(modes_seen.n, 3);
    for (unsigned i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(modes_seen.vector[i], 6);
    /* compatibility mode: the 64-bit stub of vector 6 */
    CU_ASSERT_TRUE(modes_seen.handler[0] > 0x100000);
    /* 32-bit protected mode: the 8-byte gate's handler */
    CU_ASSERT_EQUAL(modes_seen.pc[1], off[2]);
    CU_ASSERT_EQUAL(modes_seen.handler[1], off[3]);
    /* real mode: CS.base + IP for the ud2 and the IVT's handler */
    CU_ASSERT_EQUAL(modes_seen.pc[2], 0x9000 + off[0]);
    CU_ASSERT_EQUAL(modes_seen.handler[2], 0x9000 + off[1]);
    CU_ASSERT_TRUE(off[0] > 0 && off[1] > off[0]);
}

void test_exits_register(void)
{
    CU_pSuite s = CU_add_suite("exits", NULL, NULL);
    CU_add_test(s, "read-only region and write tracking, x86_64", test_x86);
    CU_add_test(s, "read-only region and write tracking, aarch64", test_aarch64);
    CU_add_test(s, "read-only region and write tracking, arm", test_arm);
    CU_add_test(s, "rdtsc and rdtscp read the VM clock, x86_64", test_rdtsc);
    CU_add_test(s, "rdtsc and rdtscp raise #GP(0) with CR4.TSD at CPL 3, x86_64",
                test_rdtsc_tsd);
    CU_add_test(s, "exceptions in compatibility, protected and real mode, x86_64",
                test_x86_modes_delivery);
}
