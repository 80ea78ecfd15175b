/*
 * test_exits.c - memory exits a model sees: stores into a read-only RAM region (an MMIO exit
 * with the bytes, memory unchanged, loads served), and guest-store tracking for dirty logging
 * (hv_vm_track_writes). A small model defined here maps a caller-owned buffer twice (an alias)
 * and records what reaches it; the guest is built with the guest library for each arch.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner/guestbuild.h"
#include "sim/model.h"

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

static void run_arch(enum hv_arch arch)
{
    char dir[] = "/tmp/hvsim-test-exits-XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    char src[128], elf[128];
    snprintf(src, sizeof src, "%s/g.c", dir);
    snprintf(elf, sizeof elf, "%s/g.elf", dir);
    FILE *f = fopen(src, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(guest_src, f);
    fclose(f);
    static char log[16384];
    int err = guest_build(arch, src, elf, log, sizeof log);
    if (err)
        fprintf(stderr, "%s\n", log);
    CU_ASSERT_EQUAL_FATAL(err, 0);
    f = fopen(elf, "rb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    static uint8_t image[1 << 20];
    size_t n = fread(image, 1, sizeof image, f);
    fclose(f);

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
    unlink(src);
    unlink(elf);
    rmdir(dir);
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

void test_exits_register(void)
{
    CU_pSuite s = CU_add_suite("exits", NULL, NULL);
    CU_add_test(s, "read-only region and write tracking, x86_64", test_x86);
    CU_add_test(s, "read-only region and write tracking, aarch64", test_aarch64);
    CU_add_test(s, "read-only region and write tracking, arm", test_arm);
}
