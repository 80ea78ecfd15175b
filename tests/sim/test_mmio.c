/*
 * test_mmio.c - sim/mmio.c: the MMIO exits a model sees, one row per instruction.
 *
 * x86_64 rows follow KVM's instruction emulator (docs/sources.md A.6; Linux arch/x86/kvm/x86.c,
 * emulator_read_write(), emulate.c, x86_emulate_insn()): each element of a string instruction
 * is one access of the element's size, cmps reads [rsi] before [rdi], a REP instruction makes
 * its elements in order and counts one instruction per element (one when RCX is 0), an access
 * is split at a page boundary with its RAM part done directly, and each part is exits of up to
 * 8 bytes (a 16-byte SSE access is two). A load's 8-byte answer lands whole.
 *
 * Arm rows follow the Arm ARM's ISV rule (sim/dabt.c): a load or store of a single
 * general-purpose register without writeback is an ordinary exit; any other access (pair,
 * writeback, exclusive, SIMD&FP, LDRD/LDM) reaches the model's dabt_nisv op before the
 * instruction has any effect, with the faulting IPA, the FAR, WnR and the instruction length;
 * the model's answer then stops the vCPU there, skips the instruction, or lets it be ordinary
 * exits. A model without the op sees ordinary exits, one per register.
 *
 * One guest per arch calls a snippet the host writes at CODE for each row (the instruction, then
 * on Arm a store of x3/r3 to [x4]/[r4], which a rolled-back access must not let happen, then
 * a return), with the registers the host put at CTL, and stores the registers after it there.
 * The test model answers the n-th read exit of a row with bytes 0x10 * (n + 1) + i.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner/guestbuild.h"
#include "sim/model.h"
#include "tests/test_util.h"

void test_mmio_register(void);

#define MMIO     0xc0000000ULL           /* unbacked */
#define MMIO2    0xc0002000ULL           /* unbacked, another page */
#define RAM_SIZE 0x1000000ULL
#define CTL_OFF  0x30000ULL              /* from the RAM base: registers in and out */
#define CODE_OFF 0x31000ULL              /* the snippet */
#define BUF_OFF  0x32000ULL              /* RAM the instructions read or write */
#define RO_ARM   0x48000000ULL           /* a read-only RAM page (Arm) */
#define RO_X86   0x2000000ULL            /* a read-only RAM page (x86_64) */

#define A0 0x1716151413121110ULL         /* the answers to read exits 0, 1, 2 */
#define A1 0x2726252423222120ULL
#define A2 0x3736353433323130ULL

/* ---- the test model ---- */

struct tm_exit {
    uint64_t gpa, data, pc, icount;
    unsigned size;
    bool write;
};

static struct {
    struct tm_exit exit[32];
    unsigned nexit, nevents;
    struct hv_exit_dabt dabt;
    unsigned ndabt;
    enum hv_exit_action nisv_act;
    uint8_t ro[4096] __attribute__((aligned(4096)));
} tm;

static int tm_vm_init(struct hv_vm *vm, const struct hv_node *mem, const struct hv_node *vmm)
{
    (void)mem;
    (void)vmm;
    enum hv_arch a = hv_vm_arch(vm);
    int err = hv_vm_add_ram(vm, a == HV_ARCH_X86_64 ? 0 : 0x40000000ULL, RAM_SIZE);
    if (!err)
        err = hv_vm_map_ram(vm, a == HV_ARCH_X86_64 ? RO_X86 : RO_ARM, sizeof tm.ro, tm.ro,
                            true);
    return err;
}

static enum hv_exit_action tm_mmio(struct hv_vcpu *v, struct hv_exit_mmio *e)
{
    (void)v;
    if (!e->write) {
        e->data = 0;
        for (unsigned i = 0; i < e->size; i++)
            e->data |= (uint64_t)(0x10 * (tm.nexit + 1) + i) << (8 * i);
    }
    if (tm.nexit < TEST_N(tm.exit))
        tm.exit[tm.nexit] = (struct tm_exit){ e->gpa, e->data, 0, 0, e->size, e->write };
    tm.nexit++;
    return HV_ACT_HANDLED;
}

static enum hv_exit_action tm_dabt(struct hv_vcpu *v, struct hv_exit_dabt *e)
{
    (void)v;
    tm.dabt = *e;
    tm.ndabt++;
    e->why = "test";
    return tm.nisv_act;
}

/* The mmio event that follows each exit: its pc and icount. */
static int tm_sink(void *ctx, const struct hv_event *ev)
{
    (void)ctx;
    if (ev->kind == HV_EV_mmio && tm.nevents < TEST_N(tm.exit)) {
        tm.exit[tm.nevents].pc = ev->pc;
        tm.exit[tm.nevents].icount = ev->icount;
        tm.nevents++;
    }
    return 0;
}

static const struct hv_model_ops tm_model = {
    .name = "test-mmio",
    .summary = "answers MMIO reads with a pattern",
    .vm_init = tm_vm_init,
    .mmio = tm_mmio,
};

static const struct hv_model_ops tm_model_nisv = {
    .name = "test-mmio-nisv",
    .summary = "answers MMIO reads with a pattern and reports accesses without a syndrome",
    .vm_init = tm_vm_init,
    .mmio = tm_mmio,
    .dabt_nisv = tm_dabt,
};

/* ---- guests ---- */

/* CTL: in rsi, rdi, rcx, rax, rdx, rflags (+0..+40), xmm0 (+56); out rsi, rdi, rcx, rax,
 * rflags (+80..+112), xmm0 (+120), the two rdtsc values' low halves (+136 after, +140 before) */
static const char x86_src[] =
    "#include \"guest.h\"\n"
    "void guest_main(void)\n{\n"
    "    if (guest_vcpu_id() != 0)\n"
    "        GUEST_DONE();\n"
    "    __asm__ volatile(\"mov $0x30000, %%r10\\n\\t\"\n"
    "        \"movdqu 56(%%r10), %%xmm0\\n\\t\"\n"
    "        \"rdtsc\\n\\t\"\n"
    "        \"mov %%eax, %%r8d\\n\\t\"\n"
    "        \"mov 0(%%r10), %%rsi\\n\\t\"\n"
    "        \"mov 8(%%r10), %%rdi\\n\\t\"\n"
    "        \"mov 16(%%r10), %%rcx\\n\\t\"\n"
    "        \"mov 24(%%r10), %%rax\\n\\t\"\n"
    "        \"mov 32(%%r10), %%rdx\\n\\t\"\n"
    "        \"pushq 40(%%r10)\\n\\t\"\n"
    "        \"popfq\\n\\t\"\n"
    "        \"mov $0x31000, %%r11\\n\\t\"\n"
    "        \"call *%%r11\\n\\t\"\n"
    "        \"pushfq\\n\\t\"\n"
    "        \"pop %%r9\\n\\t\"\n"
    "        \"cld\\n\\t\"\n"
    "        \"mov %%rsi, 80(%%r10)\\n\\t\"\n"
    "        \"mov %%rdi, 88(%%r10)\\n\\t\"\n"
    "        \"mov %%rcx, 96(%%r10)\\n\\t\"\n"
    "        \"mov %%rax, 104(%%r10)\\n\\t\"\n"
    "        \"mov %%r9, 112(%%r10)\\n\\t\"\n"
    "        \"movdqu %%xmm0, 120(%%r10)\\n\\t\"\n"
    "        \"rdtsc\\n\\t\"\n"
    "        \"mov %%eax, 136(%%r10)\\n\\t\"\n"
    "        \"mov %%r8d, 140(%%r10)\"\n"
    "        : : : \"rax\", \"rcx\", \"rdx\", \"rsi\", \"rdi\", \"r8\", \"r9\", \"r10\", \"r11\",\n"
    "          \"memory\", \"cc\");\n"
    "    GUEST_DONE();\n"
    "}\n";

/* CTL: in x0..x4 (+0..+32); out x0..x4 (+80..+112) */
static const char a64_src[] =
    "#include \"guest.h\"\n"
    "void guest_main(void)\n{\n"
    "    if (guest_vcpu_id() != 0)\n"
    "        GUEST_DONE();\n"
    "    __asm__ volatile(\"ldr x9, =0x40030000\\n\\t\"\n"
    "        \"ldp x0, x1, [x9]\\n\\t\"\n"
    "        \"ldp x2, x3, [x9, #16]\\n\\t\"\n"
    "        \"ldr x4, [x9, #32]\\n\\t\"\n"
    "        \"ldr x10, =0x40031000\\n\\t\"\n"
    "        \"blr x10\\n\\t\"\n"
    "        \"ldr x9, =0x40030000\\n\\t\"\n"
    "        \"stp x0, x1, [x9, #80]\\n\\t\"\n"
    "        \"stp x2, x3, [x9, #96]\\n\\t\"\n"
    "        \"str x4, [x9, #112]\"\n"
    "        : : : \"x0\", \"x1\", \"x2\", \"x3\", \"x4\", \"x9\", \"x10\", \"x30\", \"memory\");\n"
    "    GUEST_DONE();\n"
    "}\n";

/* CTL: in r0..r4 (+0..+16), the snippet's address with bit 0 for T32 (+20); out r0..r4 (+80) */
static const char a32_src[] =
    "#include \"guest.h\"\n"
    "void guest_main(void)\n{\n"
    "    if (guest_vcpu_id() != 0)\n"
    "        GUEST_DONE();\n"
    "    __asm__ volatile(\"ldr r9, =0x40030000\\n\\t\"\n"
    "        \"ldr r10, [r9, #20]\\n\\t\"\n"
    "        \"ldm r9, {r0-r4}\\n\\t\"\n"
    "        \"blx r10\\n\\t\"\n"
    "        \"ldr r9, =0x40030050\\n\\t\"\n"
    "        \"stm r9, {r0-r4}\"\n"
    "        : : : \"r0\", \"r1\", \"r2\", \"r3\", \"r4\", \"r9\", \"r10\", \"lr\", \"memory\");\n"
    "    GUEST_DONE();\n"
    "}\n";

static uint8_t images[3][1 << 20];
static size_t image_len[3];

/* The guest for arch, built once. */
static const uint8_t *guest_image(enum hv_arch arch, size_t *len)
{
    if (!image_len[arch]) {
        char dir[] = "/tmp/hvsim-test-mmio-XXXXXX";
        if (!mkdtemp(dir))
            return NULL;
        char src[128], elf[128];
        snprintf(src, sizeof src, "%s/g.c", dir);
        snprintf(elf, sizeof elf, "%s/g.elf", dir);
        FILE *f = fopen(src, "w");
        if (f) {
            fputs(arch == HV_ARCH_X86_64 ? x86_src : arch == HV_ARCH_AARCH64 ? a64_src : a32_src,
                  f);
            fclose(f);
            static char log[16384];
            if (guest_build(arch, src, elf, log, sizeof log))
                fprintf(stderr, "%s\n", log);
            else if ((f = fopen(elf, "rb"))) {
                image_len[arch] = fread(images[arch], 1, sizeof images[arch], f);
                fclose(f);
            }
        }
        unlink(src);
        unlink(elf);
        rmdir(dir);
    }
    *len = image_len[arch];
    return *len ? images[arch] : NULL;
}

/* ---- running one row ---- */

/* An expected exit; for a store of a value read by an earlier exit, from = that exit. */
struct xexit {
    uint64_t gpa;
    unsigned len;
    bool write;
    uint64_t data;
    unsigned elem;   /* the element of a string instruction it belongs to: icount offset */
    unsigned pcoff;  /* a row of several instructions: its instruction's offset in the code */
};

#define R(g, l, e) { (g), (l), false, 0, (e), 0 }
#define W(g, l, d, e) { (g), (l), true, (d), (e), 0 }
/* the access of the e-th instruction of a row, at byte offset o of its code */
#define RI(g, l, e, o) { (g), (l), false, 0, (e), (o) }

/* Runs code at CODE with registers in[] (and, x86, xmm0), RAM at BUF from buf[]; returns the
 * VM after the run (caller destroys it) and fills out[] from CTL. */
static struct hv_vm *run_snippet(enum hv_arch arch, const struct hv_model_ops *model,
                              const uint8_t *code, size_t ncode, const uint64_t *in, size_t nin,
                              const uint64_t *buf, uint64_t init_gpa, uint64_t init_val,
                              uint64_t *out)
{
    size_t len;
    const uint8_t *img = guest_image(arch, &len);
    if (!img)
        return NULL;
    memset(&tm.exit, 0, sizeof tm.exit);
    tm.nexit = tm.nevents = tm.ndabt = 0;
    memset(&tm.dabt, 0, sizeof tm.dabt);
    memset(tm.ro, 0, sizeof tm.ro);
    struct hv_vm_config cfg = { .arch = arch, .nr_vcpus = 1, .seed = 1, .quantum = 1000,
                                .limit = 10000000, .model = model, .sink = tm_sink };
    struct hv_vm *vm = NULL;
    if (hv_vm_create(&vm, &cfg))
        return NULL;
    uint64_t base = arch == HV_ARCH_X86_64 ? 0 : 0x40000000ULL;
    bool ok = hv_vm_load_elf(vm, img, len) == 0 &&
              hv_vm_write_gpa(vm, base + CODE_OFF, code, ncode) == 0 &&
              hv_vm_write_gpa(vm, base + BUF_OFF, buf, 3 * sizeof *buf) == 0 &&
              (!init_gpa || hv_vm_write_gpa(vm, init_gpa, &init_val, 8) == 0);
    if (arch == HV_ARCH_ARM) {
        uint32_t in32[6];
        for (size_t i = 0; i < 6; i++)
            in32[i] = (uint32_t)(i < nin ? in[i] : 0);
        ok = ok && hv_vm_write_gpa(vm, base + CTL_OFF, in32, sizeof in32) == 0;
    } else {
        ok = ok && hv_vm_write_gpa(vm, base + CTL_OFF, in, nin * sizeof *in) == 0;
    }
    bool paused = false;
    if (!ok || hv_vm_run(vm, &paused) || paused) {
        hv_vm_destroy(vm);
        return NULL;
    }
    if (arch == HV_ARCH_ARM) {
        uint32_t o32[5] = { 0 };
        hv_vm_read_gpa(vm, base + CTL_OFF + 80, o32, sizeof o32);
        for (size_t i = 0; i < 5; i++)
            out[i] = o32[i];
    } else {
        hv_vm_read_gpa(vm, base + CTL_OFF + 80, out, 8 * sizeof *out);
    }
    return vm;
}

/* Compares the exits seen with ex[0..n); the data of each load is the model's pattern. */
static void check_exits(const char *name, const struct xexit *ex, unsigned n, uint64_t pc)
{
    TEST_CHECK(tm.nexit == n, "%s: %u exits, expected %u", name, tm.nexit, n);
    TEST_CHECK(tm.nevents == tm.nexit, "%s: %u mmio events for %u exits", name, tm.nevents,
               tm.nexit);
    for (unsigned i = 0; i < n && i < tm.nexit; i++) {
        const struct tm_exit *s = &tm.exit[i];
        TEST_CHECK(s->gpa == ex[i].gpa && s->size == ex[i].len && s->write == ex[i].write,
                   "%s: exit %u is %s 0x%llx len %u, expected %s 0x%llx len %u", name, i,
                   s->write ? "write" : "read", (unsigned long long)s->gpa, s->size,
                   ex[i].write ? "write" : "read", (unsigned long long)ex[i].gpa, ex[i].len);
        if (ex[i].write)
            TEST_CHECK(s->data == ex[i].data, "%s: exit %u wrote 0x%llx, expected 0x%llx", name,
                       i, (unsigned long long)s->data, (unsigned long long)ex[i].data);
        TEST_CHECK(s->pc == pc + ex[i].pcoff, "%s: exit %u at pc 0x%llx, expected 0x%llx", name,
                   i, (unsigned long long)s->pc, (unsigned long long)(pc + ex[i].pcoff));
        TEST_CHECK(s->icount == tm.exit[0].icount + ex[i].elem,
                   "%s: exit %u at icount %llu, expected the first's %llu + %u", name, i,
                   (unsigned long long)s->icount, (unsigned long long)tm.exit[0].icount,
                   ex[i].elem);
    }
}

/* ---- x86_64 ---- */

enum { CK_RSI = 1, CK_RDI = 2, CK_RCX = 4, CK_RAX = 8, CK_XMM = 16, CK_ZF = 32, CK_BUF = 64,
       CK_INIT = 128, CK_RO = 256 };

struct xrow {
    const char *name;
    uint8_t code[15];
    unsigned ncode;
    uint64_t rsi, rdi, rcx, rax, rdx;
    bool df;
    uint64_t xmm[2];
    uint64_t buf[3];                 /* BUF before */
    uint64_t init_gpa, init_val;     /* another 8 bytes of RAM before */
    unsigned insns;                  /* instructions the snippet's first instruction counts */
    struct xexit ex[8];
    unsigned nex;
    unsigned check;                  /* CK_*: what to compare after */
    uint64_t o_rsi, o_rdi, o_rcx, o_rax;
    uint64_t o_xmm[2];
    bool o_zf;
    uint64_t o_buf[3];
    unsigned o_buflen;               /* bytes of BUF to compare */
    uint64_t o_init;                 /* the 8 bytes at init_gpa after */
};

#define BUF 0x32000ULL
#define X86_END RAM_SIZE             /* the first unbacked byte after RAM */

static const struct xrow x86_rows[] = {
    { "nop (calibration)", { 0x90 }, 1, .insns = 1 },
    { "movsb MMIO->RAM", { 0xa4 }, 1, MMIO, BUF, .insns = 1, .ex = { R(MMIO, 1, 0) }, .nex = 1,
      .check = CK_RSI | CK_RDI | CK_BUF, .o_rsi = MMIO + 1, .o_rdi = BUF + 1,
      .o_buf = { 0x10 }, .o_buflen = 1 },
    { "movsw", { 0x66, 0xa5 }, 2, MMIO, BUF, .insns = 1, .ex = { R(MMIO, 2, 0) }, .nex = 1,
      .check = CK_RSI | CK_RDI | CK_BUF, .o_rsi = MMIO + 2, .o_rdi = BUF + 2,
      .o_buf = { 0x1110 }, .o_buflen = 2 },
    { "movsd", { 0xa5 }, 1, MMIO, BUF, .insns = 1, .ex = { R(MMIO, 4, 0) }, .nex = 1,
      .check = CK_RSI | CK_RDI | CK_BUF, .o_rsi = MMIO + 4, .o_rdi = BUF + 4,
      .o_buf = { 0x13121110 }, .o_buflen = 4 },
    { "movsq: one exit of 8, landing whole", { 0x48, 0xa5 }, 2, MMIO, BUF, .insns = 1,
      .ex = { R(MMIO, 8, 0) }, .nex = 1, .check = CK_RSI | CK_RDI | CK_BUF, .o_rsi = MMIO + 8,
      .o_rdi = BUF + 8, .o_buf = { A0 }, .o_buflen = 8 },
    { "rep movsq, RCX 3", { 0xf3, 0x48, 0xa5 }, 3, MMIO, BUF, 3, .insns = 3,
      .ex = { R(MMIO, 8, 0), R(MMIO + 8, 8, 1), R(MMIO + 16, 8, 2) }, .nex = 3,
      .check = CK_RSI | CK_RDI | CK_RCX | CK_BUF, .o_rsi = MMIO + 24, .o_rdi = BUF + 24,
      .o_rcx = 0, .o_buf = { A0, A1, A2 }, .o_buflen = 24 },
    { "rep movsq, RCX 3, DF 1", { 0xf3, 0x48, 0xa5 }, 3, MMIO + 16, BUF + 16, 3, .df = true,
      .insns = 3, .ex = { R(MMIO + 16, 8, 0), R(MMIO + 8, 8, 1), R(MMIO, 8, 2) }, .nex = 3,
      .check = CK_RSI | CK_RDI | CK_RCX | CK_BUF, .o_rsi = MMIO - 8, .o_rdi = BUF - 8,
      .o_rcx = 0, .o_buf = { A2, A1, A0 }, .o_buflen = 24 },
    { "rep movsb RAM->MMIO, RCX 3", { 0xf3, 0xa4 }, 2, BUF, MMIO, 3, .buf = { 0xa2a1a0 },
      .insns = 3, .ex = { W(MMIO, 1, 0xa0, 0), W(MMIO + 1, 1, 0xa1, 1), W(MMIO + 2, 1, 0xa2, 2) },
      .nex = 3, .check = CK_RSI | CK_RDI | CK_RCX, .o_rsi = BUF + 3, .o_rdi = MMIO + 3 },
    { "rep movsd MMIO->MMIO, RCX 2", { 0xf3, 0xa5 }, 2, MMIO, MMIO2, 2, .insns = 2,
      .ex = { R(MMIO, 4, 0), W(MMIO2, 4, 0x13121110, 0), R(MMIO + 4, 4, 1),
              W(MMIO2 + 4, 4, 0x33323130, 1) },
      .nex = 4, .check = CK_RSI | CK_RDI | CK_RCX, .o_rsi = MMIO + 8, .o_rdi = MMIO2 + 8 },
    { "rep stosd, RCX 3", { 0xf3, 0xab }, 2, 0, MMIO, 3, 0x11223344, .insns = 3,
      .ex = { W(MMIO, 4, 0x11223344, 0), W(MMIO + 4, 4, 0x11223344, 1),
              W(MMIO + 8, 4, 0x11223344, 2) },
      .nex = 3, .check = CK_RDI | CK_RCX, .o_rdi = MMIO + 12 },
    { "rep stosq, RCX 2, DF 1", { 0xf3, 0x48, 0xab }, 3, 0, MMIO + 8, 2, 0x0102030405060708,
      .df = true, .insns = 2,
      .ex = { W(MMIO + 8, 8, 0x0102030405060708, 0), W(MMIO, 8, 0x0102030405060708, 1) },
      .nex = 2, .check = CK_RDI | CK_RCX, .o_rdi = MMIO - 8 },
    { "rep lodsq, RCX 2", { 0xf3, 0x48, 0xad }, 3, MMIO, 0, 2, .insns = 2,
      .ex = { R(MMIO, 8, 0), R(MMIO + 8, 8, 1) }, .nex = 2,
      .check = CK_RSI | CK_RCX | CK_RAX, .o_rsi = MMIO + 16, .o_rax = A1 },
    { "lodsw keeps RAX's upper bits", { 0x66, 0xad }, 2, MMIO, 0, 0, ~0ULL, .insns = 1,
      .ex = { R(MMIO, 2, 0) }, .nex = 1, .check = CK_RSI | CK_RAX, .o_rsi = MMIO + 2,
      .o_rax = 0xffffffffffff1110ULL },
    { "repe cmpsb MMIO vs RAM, stops at a difference", { 0xf3, 0xa6 }, 2, MMIO, BUF, 4,
      .buf = { 0xff2010 }, .insns = 3,
      .ex = { R(MMIO, 1, 0), R(MMIO + 1, 1, 1), R(MMIO + 2, 1, 2) }, .nex = 3,
      .check = CK_RSI | CK_RDI | CK_RCX | CK_ZF, .o_rsi = MMIO + 3, .o_rdi = BUF + 3, .o_rcx = 1,
      .o_zf = false },
    { "cmpsq MMIO vs MMIO reads [rsi] first", { 0x48, 0xa7 }, 2, MMIO, MMIO2, .insns = 1,
      .ex = { R(MMIO, 8, 0), R(MMIO2, 8, 0) }, .nex = 2, .check = CK_RSI | CK_RDI | CK_ZF,
      .o_rsi = MMIO + 8, .o_rdi = MMIO2 + 8, .o_zf = false },
    { "repne scasw finds AX at the third element", { 0xf2, 0x66, 0xaf }, 3, 0, MMIO, 5, 0x3130,
      .insns = 3, .ex = { R(MMIO, 2, 0), R(MMIO + 2, 2, 1), R(MMIO + 4, 2, 2) }, .nex = 3,
      .check = CK_RDI | CK_RCX | CK_ZF, .o_rdi = MMIO + 6, .o_rcx = 2, .o_zf = true },
    { "rep movsq, RCX 0: no access, one instruction", { 0xf3, 0x48, 0xa5 }, 3, MMIO, BUF, 0,
      .insns = 1, .check = CK_RSI | CK_RDI | CK_RCX, .o_rsi = MMIO, .o_rdi = BUF },
    { "mov rax, [MMIO]: 8 bytes land whole", { 0x48, 0x8b, 0x06 }, 3, MMIO, .insns = 1,
      .ex = { R(MMIO, 8, 0) }, .nex = 1, .check = CK_RAX, .o_rax = A0 },
    { "mov [MMIO], rax", { 0x48, 0x89, 0x07 }, 3, 0, MMIO, 0, 0x8877665544332211, .insns = 1,
      .ex = { W(MMIO, 8, 0x8877665544332211, 0) }, .nex = 1 },
    { "movdqu xmm0, [MMIO]: two exits of 8", { 0xf3, 0x0f, 0x6f, 0x06 }, 4, MMIO, .insns = 1,
      .ex = { R(MMIO, 8, 0), R(MMIO + 8, 8, 0) }, .nex = 2, .check = CK_XMM,
      .o_xmm = { A0, A1 } },
    { "movups [MMIO], xmm0: two exits of 8", { 0x0f, 0x11, 0x07 }, 3, 0, MMIO,
      .xmm = { 0x4746454443424140, 0x4f4e4d4c4b4a4948 }, .insns = 1,
      .ex = { W(MMIO, 8, 0x4746454443424140, 0), W(MMIO + 8, 8, 0x4f4e4d4c4b4a4948, 0) },
      .nex = 2 },
    { "mov rax across two MMIO pages: one exit per page", { 0x48, 0x8b, 0x06 }, 3,
      MMIO + 0xffc, .insns = 1, .ex = { R(MMIO + 0xffc, 4, 0), R(MMIO + 0x1000, 4, 0) },
      .nex = 2, .check = CK_RAX, .o_rax = 0x2322212013121110ULL },
    { "mov rax across RAM and MMIO: the MMIO part only", { 0x48, 0x8b, 0x06 }, 3,
      X86_END - 4, .init_gpa = X86_END - 8, .init_val = 0xc3c2c1c000000000ULL, .insns = 1,
      .ex = { R(X86_END, 4, 0) }, .nex = 1, .check = CK_RAX, .o_rax = 0x13121110c3c2c1c0ULL },
    { "mov [RAM/MMIO], rax: RAM written, the MMIO part exits", { 0x48, 0x89, 0x07 }, 3, 0,
      X86_END - 4, 0, 0x8877665544332211, .init_gpa = X86_END - 8, .insns = 1,
      .ex = { W(X86_END, 4, 0x88776655, 0) }, .nex = 1, .check = CK_INIT,
      .o_init = 0x4433221100000000ULL },
    { "mov rax, [MMIO + 3]: unaligned, one exit", { 0x48, 0x8b, 0x06 }, 3, MMIO + 3,
      .insns = 1, .ex = { R(MMIO + 3, 8, 0) }, .nex = 1, .check = CK_RAX, .o_rax = A0 },
    { "mov [MMIO + 3], rax: unaligned, one exit", { 0x48, 0x89, 0x07 }, 3, 0, MMIO + 3, 0,
      0x8877665544332211, .insns = 1, .ex = { W(MMIO + 3, 8, 0x8877665544332211, 0) },
      .nex = 1 },
    { "add qword [MMIO], 1: read, then write", { 0x48, 0x83, 0x06, 0x01 }, 4, MMIO, .insns = 1,
      .ex = { R(MMIO, 8, 0), W(MMIO, 8, A0 + 1, 0) }, .nex = 2 },
    /* two instructions of one block on one address: each exit is its own instruction's */
    { "mov [MMIO], eax; mov eax, [MMIO]: the load is the second", { 0x89, 0x07, 0x8b, 0x07 }, 4,
      0, MMIO, 0, 0x11223344, .insns = 2,
      .ex = { W(MMIO, 4, 0x11223344, 0), RI(MMIO, 4, 1, 2) }, .nex = 2, .check = CK_RAX,
      .o_rax = 0x23222120 },
    { "mov eax, [MMIO]; mov ecx, [MMIO]: two loads, two exits", { 0x8b, 0x07, 0x8b, 0x0f }, 4,
      0, MMIO, .insns = 2, .ex = { R(MMIO, 4, 0), RI(MMIO, 4, 1, 2) }, .nex = 2,
      .check = CK_RAX, .o_rax = 0x13121110 },
    { "rep insb to MMIO, RCX 2", { 0xf3, 0x6c }, 2, 0, MMIO, 2, 0, 0x80, .insns = 2,
      .ex = { W(MMIO, 1, 0xff, 0), W(MMIO + 1, 1, 0xff, 1) }, .nex = 2,
      .check = CK_RDI | CK_RCX, .o_rdi = MMIO + 2 },
    { "rep outsw from MMIO, RCX 2", { 0xf3, 0x66, 0x6f }, 3, MMIO, 0, 2, 0, 0x80, .insns = 2,
      .ex = { R(MMIO, 2, 0), R(MMIO + 2, 2, 1) }, .nex = 2, .check = CK_RSI | CK_RCX,
      .o_rsi = MMIO + 4 },
    { "movsq with a 32-bit address size", { 0x67, 0x48, 0xa5 }, 3, MMIO, BUF, .insns = 1,
      .ex = { R(MMIO, 8, 0) }, .nex = 1, .check = CK_RSI | CK_BUF, .o_rsi = MMIO + 8,
      .o_buf = { A0 }, .o_buflen = 8 },
    { "movzx eax, byte [MMIO]", { 0x0f, 0xb6, 0x06 }, 3, MMIO, 0, 0, ~0ULL, .insns = 1,
      .ex = { R(MMIO, 1, 0) }, .nex = 1, .check = CK_RAX, .o_rax = 0x10 },
    { "rep stosd into read-only RAM: exits, memory unchanged", { 0xf3, 0xab }, 2, 0, RO_X86, 2,
      0x55667788, .insns = 2,
      .ex = { W(RO_X86, 4, 0x55667788, 0), W(RO_X86 + 4, 4, 0x55667788, 1) }, .nex = 2,
      .check = CK_RDI | CK_RCX | CK_RO, .o_rdi = RO_X86 + 8 },
    { "lodsq from read-only RAM: served, no exit", { 0x48, 0xad }, 2, RO_X86, .insns = 1,
      .check = CK_RSI | CK_RAX, .o_rsi = RO_X86 + 8, .o_rax = 0 },
};

static void test_x86_rows(void)
{
    uint32_t calib = 0;
    for (size_t r = 0; r < TEST_N(x86_rows); r++) {
        const struct xrow *x = &x86_rows[r];
        uint8_t code[16];
        memcpy(code, x->code, x->ncode);
        code[x->ncode] = 0xc3; /* ret */
        uint64_t in[9] = { x->rsi, x->rdi, x->rcx, x->rax, x->rdx, 0x2 | (x->df ? 0x400 : 0), 0,
                           x->xmm[0], x->xmm[1] };
        uint64_t out[8] = { 0 };
        struct hv_vm *vm = run_snippet(HV_ARCH_X86_64, &tm_model, code, x->ncode + 1, in, 9,
                                    x->buf, x->init_gpa, x->init_val, out);
        TEST_CHECK(vm != NULL, "%s: the run failed", x->name);
        if (!vm)
            continue;
        TEST_CHECK(hv_vm_outcome(vm) == HV_OUT_DONE, "%s: outcome %s", x->name,
                   hv_outcome_name(hv_vm_outcome(vm)));
        check_exits(x->name, x->ex, x->nex, 0x31000);
        uint32_t t[2] = { 0, 0 };
        hv_vm_read_gpa(vm, CTL_OFF + 136, t, sizeof t);
        if (r == 0)
            calib = t[0] - t[1];
        TEST_CHECK(t[0] - t[1] - calib + 1 == x->insns, "%s: %u instructions, expected %u",
                   x->name, t[0] - t[1] - calib + 1, x->insns);
        const char *reg[] = { "rsi", "rdi", "rcx", "rax" };
        const uint64_t want[] = { x->o_rsi, x->o_rdi, x->o_rcx, x->o_rax };
        for (unsigned i = 0; i < 4; i++)
            if (x->check & (1u << i))
                TEST_CHECK(out[i] == want[i], "%s: %s 0x%llx, expected 0x%llx", x->name, reg[i],
                           (unsigned long long)out[i], (unsigned long long)want[i]);
        if (x->check & CK_XMM)
            TEST_CHECK(out[5] == x->o_xmm[0] && out[6] == x->o_xmm[1],
                       "%s: xmm0 0x%llx:%llx", x->name, (unsigned long long)out[6],
                       (unsigned long long)out[5]);
        if (x->check & CK_ZF)
            TEST_CHECK(((out[4] >> 6) & 1) == x->o_zf, "%s: rflags 0x%llx", x->name,
                       (unsigned long long)out[4]);
        if (x->check & CK_BUF) {
            uint64_t b[3] = { 0 };
            hv_vm_read_gpa(vm, BUF, b, sizeof b);
            TEST_CHECK(memcmp(b, x->o_buf, x->o_buflen) == 0,
                       "%s: RAM 0x%llx 0x%llx 0x%llx", x->name, (unsigned long long)b[0],
                       (unsigned long long)b[1], (unsigned long long)b[2]);
        }
        if (x->check & CK_RO)
            TEST_CHECK(tm.ro[0] == 0 && tm.ro[7] == 0, "%s: read-only RAM written", x->name);
        if (x->check & CK_INIT) {
            uint64_t v = 0;
            hv_vm_read_gpa(vm, x->init_gpa, &v, 8);
            TEST_CHECK(v == x->o_init, "%s: RAM 0x%llx", x->name, (unsigned long long)v);
        }
        hv_vm_destroy(vm);
    }
}

/* ---- Arm ---- */

enum nisv { NO_OP, STOP, SKIP, DEFAULT_ACT };

struct arow {
    const char *name;
    enum hv_arch arch;
    bool thumb;
    uint32_t insn;                   /* A64 / A32 word, or a 16-bit T32 encoding */
    uint64_t x0, x1, x2;
    enum nisv nisv;                  /* the model: without the op, or its answer */
    struct xexit ex[4];
    unsigned nex;
    bool dabt;                       /* the op is called, with: */
    uint64_t ipa, far;
    bool wnr, permission;
    unsigned len;
    bool stopped;                    /* the vCPU stays at the instruction */
    uint64_t o_x0, o_x1, o_x2;       /* registers after (at the instruction, if stopped) */
    bool stored;                     /* the store after the instruction happened */
};

#define A64_BASE 0x40000000ULL
#define ARM_END  (A64_BASE + RAM_SIZE)
#define FLAG     (A64_BASE + BUF_OFF)
#define X0IN     0x0101010101010101ULL
#define X1IN     0x0202020202020202ULL
#define R0IN     0x01010101ULL
#define R1IN     0x02020202ULL

static const struct arow arm_rows[] = {
    { "ldr x0: one exit of 8, landing whole", HV_ARCH_AARCH64, false, 0xf9400040, X0IN, X1IN,
      MMIO, NO_OP, { R(MMIO, 8, 0) }, 1, .o_x0 = A0, .o_x1 = X1IN, .o_x2 = MMIO,
      .stored = true },
    { "ldp without the op: one exit per register", HV_ARCH_AARCH64, false, 0xa9400440, X0IN,
      X1IN, MMIO, NO_OP, { R(MMIO, 8, 0), R(MMIO + 8, 8, 0) }, 2, .o_x0 = A0, .o_x1 = A1,
      .o_x2 = MMIO, .stored = true },
    { "stp without the op", HV_ARCH_AARCH64, false, 0xa9000440, X0IN, X1IN, MMIO, NO_OP,
      { W(MMIO, 8, X0IN, 0), W(MMIO + 8, 8, X1IN, 0) }, 2, .o_x0 = X0IN, .o_x1 = X1IN,
      .o_x2 = MMIO, .stored = true },
    { "ldp: no syndrome, rolled back", HV_ARCH_AARCH64, false, 0xa9400440, X0IN, X1IN, MMIO,
      STOP, .dabt = true, .ipa = MMIO, .far = MMIO, .len = 4, .stopped = true, .o_x0 = X0IN,
      .o_x1 = X1IN, .o_x2 = MMIO },
    { "stp: WnR", HV_ARCH_AARCH64, false, 0xa9000440, X0IN, X1IN, MMIO, STOP, .dabt = true,
      .ipa = MMIO, .far = MMIO, .wnr = true, .len = 4, .stopped = true, .o_x0 = X0IN,
      .o_x1 = X1IN, .o_x2 = MMIO },
    { "str post-indexed: writeback", HV_ARCH_AARCH64, false, 0xf8008440, X0IN, X1IN, MMIO,
      STOP, .dabt = true, .ipa = MMIO, .far = MMIO, .wnr = true, .len = 4, .stopped = true,
      .o_x0 = X0IN, .o_x1 = X1IN, .o_x2 = MMIO },
    { "ldr pre-indexed: the address after the index", HV_ARCH_AARCH64, false, 0xf8408c40, X0IN,
      X1IN, MMIO, STOP, .dabt = true, .ipa = MMIO + 8, .far = MMIO + 8, .len = 4,
      .stopped = true, .o_x0 = X0IN, .o_x1 = X1IN, .o_x2 = MMIO },
    { "ldxr: exclusive", HV_ARCH_AARCH64, false, 0xc85f7c40, X0IN, X1IN, MMIO, STOP,
      .dabt = true, .ipa = MMIO, .far = MMIO, .len = 4, .stopped = true, .o_x0 = X0IN,
      .o_x1 = X1IN, .o_x2 = MMIO },
    { "ldr q0: SIMD&FP", HV_ARCH_AARCH64, false, 0x3dc00040, X0IN, X1IN, MMIO, STOP,
      .dabt = true, .ipa = MMIO, .far = MMIO, .len = 4, .stopped = true, .o_x0 = X0IN,
      .o_x1 = X1IN, .o_x2 = MMIO },
    { "ld1 {v0.16b, v1.16b}", HV_ARCH_AARCH64, false, 0x4c40a040, X0IN, X1IN, MMIO, STOP,
      .dabt = true, .ipa = MMIO, .far = MMIO, .len = 4, .stopped = true, .o_x0 = X0IN,
      .o_x1 = X1IN, .o_x2 = MMIO },
    { "ldp from RAM into a hole: the first unbacked byte faults", HV_ARCH_AARCH64, false,
      0xa9400440, X0IN, X1IN, ARM_END - 8, STOP, .dabt = true, .ipa = ARM_END, .far = ARM_END,
      .len = 4, .stopped = true, .o_x0 = X0IN, .o_x1 = X1IN, .o_x2 = ARM_END - 8 },
    { "stp to read-only RAM: a permission fault", HV_ARCH_AARCH64, false, 0xa9000440, X0IN,
      X1IN, RO_ARM, STOP, .dabt = true, .ipa = RO_ARM, .far = RO_ARM, .wnr = true,
      .permission = true, .len = 4, .stopped = true, .o_x0 = X0IN, .o_x1 = X1IN,
      .o_x2 = RO_ARM },
    { "ldr w0 with the op: a valid syndrome, an ordinary exit", HV_ARCH_AARCH64, false,
      0xb9400040, X0IN, X1IN, MMIO, STOP, { R(MMIO, 4, 0) }, 1, .o_x0 = 0x13121110,
      .o_x1 = X1IN, .o_x2 = MMIO, .stored = true },
    { "ldp skipped: nothing loaded, the next instruction runs", HV_ARCH_AARCH64, false,
      0xa9400440, X0IN, X1IN, MMIO, SKIP, .dabt = true, .ipa = MMIO, .far = MMIO, .len = 4,
      .o_x0 = X0IN, .o_x1 = X1IN, .o_x2 = MMIO, .stored = true },
    { "ldp, the model's default: ordinary exits", HV_ARCH_AARCH64, false, 0xa9400440, X0IN,
      X1IN, MMIO, DEFAULT_ACT, { R(MMIO, 8, 0), R(MMIO + 8, 8, 0) }, 2, .dabt = true,
      .ipa = MMIO, .far = MMIO, .len = 4, .o_x0 = A0, .o_x1 = A1, .o_x2 = MMIO,
      .stored = true },
    { "ldr r0: one exit of 4", HV_ARCH_ARM, false, 0xe5920000, R0IN, R1IN, MMIO, STOP,
      { R(MMIO, 4, 0) }, 1, .o_x0 = 0x13121110, .o_x1 = R1IN, .o_x2 = MMIO, .stored = true },
    { "ldrd: no syndrome", HV_ARCH_ARM, false, 0xe1c200d0, R0IN, R1IN, MMIO, STOP,
      .dabt = true, .ipa = MMIO, .far = MMIO, .len = 4, .stopped = true, .o_x0 = R0IN,
      .o_x1 = R1IN, .o_x2 = MMIO },
    { "ldm: no syndrome", HV_ARCH_ARM, false, 0xe8920003, R0IN, R1IN, MMIO, STOP, .dabt = true,
      .ipa = MMIO, .far = MMIO, .len = 4, .stopped = true, .o_x0 = R0IN, .o_x1 = R1IN,
      .o_x2 = MMIO },
    { "ldr post-indexed: no syndrome", HV_ARCH_ARM, false, 0xe4920004, R0IN, R1IN, MMIO, STOP,
      .dabt = true, .ipa = MMIO, .far = MMIO, .len = 4, .stopped = true, .o_x0 = R0IN,
      .o_x1 = R1IN, .o_x2 = MMIO },
    { "strd without the op: one exit of 8", HV_ARCH_ARM, false, 0xe1c200f0, R0IN, R1IN, MMIO,
      NO_OP, { W(MMIO, 8, (R1IN << 32) | R0IN, 0) }, 1, .o_x0 = R0IN, .o_x1 = R1IN,
      .o_x2 = MMIO, .stored = true },
    { "ldm without the op: one exit per register", HV_ARCH_ARM, false, 0xe8920003, R0IN, R1IN,
      MMIO, NO_OP, { R(MMIO, 4, 0), R(MMIO + 4, 4, 0) }, 2, .o_x0 = 0x13121110,
      .o_x1 = 0x23222120, .o_x2 = MMIO, .stored = true },
    { "T32 16-bit ldm: length 2", HV_ARCH_ARM, true, 0xca03, R0IN, R1IN, MMIO, STOP,
      .dabt = true, .ipa = MMIO, .far = MMIO, .len = 2, .stopped = true, .o_x0 = R0IN,
      .o_x1 = R1IN, .o_x2 = MMIO },
    { "T32 16-bit ldm skipped: 2 bytes, no writeback", HV_ARCH_ARM, true, 0xca03, R0IN, R1IN,
      MMIO, SKIP, .dabt = true, .ipa = MMIO, .far = MMIO, .len = 2, .o_x0 = R0IN,
      .o_x1 = R1IN, .o_x2 = MMIO, .stored = true },
};

static void test_arm_rows(void)
{
    for (size_t r = 0; r < TEST_N(arm_rows); r++) {
        const struct arow *x = &arm_rows[r];
        uint8_t code[16];
        size_t n;
        uint64_t snip = A64_BASE + CODE_OFF;
        if (x->arch == HV_ARCH_AARCH64) {
            uint32_t w[3] = { x->insn, 0xf9000083 /* str x3, [x4] */, 0xd65f03c0 /* ret */ };
            memcpy(code, w, sizeof w);
            n = sizeof w;
        } else if (!x->thumb) {
            uint32_t w[3] = { x->insn, 0xe5843000 /* str r3, [r4] */, 0xe12fff1e /* bx lr */ };
            memcpy(code, w, sizeof w);
            n = sizeof w;
        } else {
            uint16_t h[3] = { (uint16_t)x->insn, 0x6023 /* str r3, [r4] */, 0x4770 /* bx lr */ };
            memcpy(code, h, sizeof h);
            n = sizeof h;
        }
        uint64_t in[6] = { x->x0, x->x1, x->x2, 0x5a5a5a5a, FLAG, snip | (x->thumb ? 1 : 0) };
        uint64_t out[8] = { 0 }, zero[3] = { 0 };
        tm.nisv_act = x->nisv == STOP ? HV_ACT_STOP_VCPU
                      : x->nisv == SKIP ? HV_ACT_HANDLED
                                        : HV_ACT_DEFAULT;
        struct hv_vm *vm = run_snippet(x->arch, x->nisv == NO_OP ? &tm_model : &tm_model_nisv,
                                    code, n, in, 6, zero, 0, 0, out);
        TEST_CHECK(vm != NULL, "%s: the run failed", x->name);
        if (!vm)
            continue;
        TEST_CHECK(hv_vm_outcome(vm) == HV_OUT_DONE, "%s: outcome %s", x->name,
                   hv_outcome_name(hv_vm_outcome(vm)));
        check_exits(x->name, x->ex, x->nex, snip);
        TEST_CHECK(tm.ndabt == (x->dabt ? 1u : 0u), "%s: dabt_nisv called %u times", x->name,
                   tm.ndabt);
        if (x->dabt && tm.ndabt) {
            const struct hv_exit_dabt *d = &tm.dabt;
            TEST_CHECK(d->ipa == x->ipa && d->far == x->far && d->wnr == x->wnr &&
                           d->permission == x->permission && d->len == x->len &&
                           d->aarch32 == (x->arch == HV_ARCH_ARM),
                       "%s: ipa 0x%llx far 0x%llx wnr %d permission %d len %u", x->name,
                       (unsigned long long)d->ipa, (unsigned long long)d->far, d->wnr,
                       d->permission, d->len);
        }
        struct hv_vcpu *v = hv_vm_vcpu(vm, 0);
        const char *names[2][4] = { { "x0", "x1", "x2", "pc" }, { "r0", "r1", "r2", "pc" } };
        const uint64_t want[3] = { x->o_x0, x->o_x1, x->o_x2 };
        bool a32 = x->arch == HV_ARCH_ARM;
        for (unsigned i = 0; i < 3; i++) {
            uint64_t got = out[i];
            if (x->stopped)
                hv_vcpu_reg_by_name(v, names[a32][i], &got);
            TEST_CHECK(got == want[i], "%s: %s 0x%llx, expected 0x%llx", x->name,
                       names[a32][i], (unsigned long long)got, (unsigned long long)want[i]);
        }
        if (x->stopped) {
            uint64_t pc = 0;
            hv_vcpu_reg_by_name(v, "pc", &pc);
            TEST_CHECK((pc & ~1ULL) == snip, "%s: stopped at pc 0x%llx", x->name,
                       (unsigned long long)pc);
            TEST_CHECK(hv_vcpu_stopped(v), "%s: the vCPU is not stopped", x->name);
        }
        uint64_t flag = 0;
        hv_vm_read_gpa(vm, FLAG, &flag, 8);
        TEST_CHECK(flag == (x->stored ? 0x5a5a5a5aULL : 0), "%s: the store after it: 0x%llx",
                   x->name, (unsigned long long)flag);
        if (x->permission)
            TEST_CHECK(tm.ro[0] == 0, "%s: read-only RAM written", x->name);
        hv_vm_destroy(vm);
    }
}

void test_mmio_register(void)
{
    CU_pSuite s = CU_add_suite("mmio", NULL, NULL);
    CU_add_test(s, "x86_64: exits per element, page and 8 bytes, as KVM's emulator",
                test_x86_rows);
    CU_add_test(s, "aarch64 and arm: accesses without a valid syndrome", test_arm_rows);
}
