/*
 * test_migrate.c - the simulator's side of a migration (sim/migrate.h) without running a
 * guest: write provenance as a table of writes and the last write expected per page (the
 * table grows past its first capacity), page copies and comparisons between two VMs, the
 * destination's event numbers continuing the source's, and its first slice being a context
 * switch (no vCPU has run on it, whichever ran the source's last slice).
 */
#include <CUnit/CUnit.h>
#include <string.h>

#include "tests/test_util.h"
#include "sim/migrate.h"
#include "sim/model.h"
#include "sim/sim_int.h"

void test_migrate_register(void);

static uint64_t next_seq_seen;
static uint32_t vm_seen;

static int mg_sink(void *ctx, const struct hv_event *ev)
{
    (void)ctx;
    next_seq_seen = ev->seq + 1;
    vm_seen = ev->vm;
    return 0;
}

static struct hv_vm *mg_vm(void)
{
    struct hv_vm_config cfg = { .arch = HV_ARCH_X86_64, .nr_vcpus = 1, .seed = 1,
                                .quantum = 100, .limit = 1000,
                                .model = hv_model_lookup("none"), .sink = mg_sink };
    struct hv_vm *vm = NULL;
    TEST_CHECK(hv_vm_create(&vm, &cfg) == 0, "creating a VM: %s", hv_error_detail());
    return vm;
}

/* Each write in order, then what hv_vm_last_write must say for each probe. */
struct mg_write {
    uint64_t gpa, len;
    const char *path;
};
struct mg_probe {
    uint64_t gpa;
    bool known;
    const char *path;
};

static const struct mg_write writes[] = {
    { 0x1000, 8, "guest store" },
    { 0x1ff8, 16, "model write" },          /* spans pages 1 and 2 */
    { 0x5000, 1, "host write" },
    { 0x1000, 4, "xinterface write" },      /* page 1 again: the last write wins */
    { 0x9000, 0, "host write" },            /* empty: nothing recorded */
};
static const struct mg_probe probes[] = {
    { 0x1abc, true, "xinterface write" },
    { 0x2000, true, "model write" },
    { 0x5fff, true, "host write" },
    { 0x3000, false, NULL },
    { 0x9000, false, NULL },
};

static void test_provenance_table(void)
{
    struct hv_vm *vm = mg_vm();
    if (!vm)
        return;
    struct hv_write_rec r;
    hv_vm_note_write(vm, NULL, 0x1000, 8, "guest store");     /* off: not recorded */
    TEST_CHECK(!hv_vm_last_write(vm, 0x1000, &r), "a write while provenance is off");
    TEST_CHECK(hv_vm_provenance(vm, true) == 0, "provenance on");
    for (size_t i = 0; i < TEST_N(writes); i++)
        hv_vm_note_write(vm, NULL, writes[i].gpa, writes[i].len, writes[i].path);
    for (size_t i = 0; i < TEST_N(probes); i++) {
        bool known = hv_vm_last_write(vm, probes[i].gpa, &r);
        TEST_CHECK(known == probes[i].known, "probe %zu (0x%llx): known %d", i,
                   (unsigned long long)probes[i].gpa, known);
        if (known && probes[i].known)
            TEST_CHECK(strcmp(r.path, probes[i].path) == 0 && r.vcpu == -1,
                       "probe %zu: path %s, vcpu %d", i, r.path, r.vcpu);
    }
    /* 3000 more pages: the table grows (from 1024 slots) and keeps every record */
    for (uint64_t p = 0; p < 3000; p++)
        hv_vm_note_write(vm, NULL, 0x100000000ULL + (p << 12), 1,
                         p % 2 ? "model write" : "guest store");
    for (uint64_t p = 0; p < 3000; p++) {
        bool known = hv_vm_last_write(vm, 0x100000000ULL + (p << 12) + 7, &r);
        TEST_CHECK(known && strcmp(r.path, p % 2 ? "model write" : "guest store") == 0,
                   "page %llu after growth", (unsigned long long)p);
    }
    TEST_CHECK(hv_vm_last_write(vm, 0x1000, &r) && strcmp(r.path, "xinterface write") == 0,
               "an early record survives growth");
    TEST_CHECK(hv_vm_provenance(vm, false) == 0 && !hv_vm_last_write(vm, 0x1000, &r),
               "provenance off forgets");
    hv_vm_destroy(vm);
}

static void test_pages_and_timeline(void)
{
    struct hv_vm *src = mg_vm(), *dst = NULL;
    if (!src)
        return;
    TEST_CHECK(hv_vm_emit(src, -1, HV_EV_halt, NULL) == 0, "an event on the source");
    uint64_t before = next_seq_seen;
    TEST_CHECK(hv_vm_create_incoming(&dst, src, NULL, 0) == 0, "incoming: %s",
               hv_error_detail());
    if (!dst) {
        hv_vm_destroy(src);
        return;
    }
    /* one timeline: the destination numbers on from the source, with its own vm number */
    TEST_CHECK(hv_vm_emit(dst, -1, HV_EV_halt, NULL) == 0 && next_seq_seen == before + 1 &&
               vm_seen == 1, "destination event seq %llu vm %u",
               (unsigned long long)next_seq_seen - 1, vm_seen);
    TEST_CHECK(hv_vm_emit(src, -1, HV_EV_halt, NULL) == 0 && next_seq_seen == before + 2 &&
               vm_seen == 0, "source event after it");
    uint8_t a[16] = "source page", b[16];
    TEST_CHECK(hv_vm_write_gpa(src, 0x3000, a, sizeof a) == 0, "writing the source");
    TEST_CHECK(!hv_vm_page_equal(src, dst, 0x3000), "pages differ before the copy");
    TEST_CHECK(hv_vm_copy_page(src, dst, 0x3000) == 0 && hv_vm_page_equal(src, dst, 0x3000),
               "pages equal after the copy");
    TEST_CHECK(hv_vm_read_gpa(dst, 0x3000, b, sizeof b) == 0 && memcmp(a, b, sizeof a) == 0,
               "the destination reads what the source wrote");
    TEST_CHECK(hv_vm_copy_page(src, dst, 0x7fff0000ULL) == HV_EINVAL,
               "copying a page no RAM backs");
    src->last_run = &src->vcpus[0]; /* vCPU 0 ran the source's last slice and may go on */
    src->last_why = HV_DESCHED_PREEMPTED;
    TEST_CHECK(hv_vm_move_vcpus(src, dst) == 0, "moving the vCPUs: %s", hv_error_detail());
    TEST_CHECK(dst->last_run == NULL, "the destination's first slice is a context switch");
    hv_vm_destroy(src);
    TEST_CHECK(hv_vm_emit(dst, -1, HV_EV_halt, NULL) == 0 && next_seq_seen == before + 3,
               "the destination took the sequence over");
    hv_vm_destroy(dst);
}

void test_migrate_register(void)
{
    CU_pSuite s = CU_add_suite("migrate", NULL, NULL);
    CU_add_test(s, "provenance table", test_provenance_table);
    CU_add_test(s, "pages and timeline", test_pages_and_timeline);
}
