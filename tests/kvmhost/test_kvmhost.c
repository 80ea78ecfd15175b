/*
 * test_kvmhost.c - the real-kernel backend's parts that need no /dev/kvm: the ABI it defines
 * where Debian's header is older (include/uapi/linux/kvm.h of v6.12), the boot pages and
 * registers of a long-mode vCPU (tools/testing/selftests/kvm/lib/x86_64/processor.c
 * vcpu_setup(), the x86-64 4-level paging and descriptor formats), which scenarios it can run
 * and why not, and the capabilities it writes into a trace.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>

#include "kvmhost/kvmhost.h"
#include "kvmhost/kvmrun.h"
#include "runner/scenario.h"
#include "tests/test_util.h"

void test_kvmhost_register(void);

/* v6.12 include/uapi/linux/kvm.h: what kvm_uapi.h defines when the header lacks it. */
static void test_uapi(void)
{
    const struct { const char *what; unsigned long long have, want; } rows[] = {
        { "sizeof kvm_userspace_memory_region2", sizeof(struct kvm_userspace_memory_region2), 160 },
        { "guest_memfd_offset", offsetof(struct kvm_userspace_memory_region2, guest_memfd_offset),
          32 },
        { "guest_memfd", offsetof(struct kvm_userspace_memory_region2, guest_memfd), 40 },
        { "KVM_SET_USER_MEMORY_REGION2", KVM_SET_USER_MEMORY_REGION2, 0x40a0ae49 },
        { "KVM_CAP_USER_MEMORY2", KVM_CAP_USER_MEMORY2, 231 },
        { "KVM_MEM_GUEST_MEMFD", KVM_MEM_GUEST_MEMFD, 4 },
        { "KVM_CAP_DIRTY_LOG_RING_WITH_BITMAP", KVM_CAP_DIRTY_LOG_RING_WITH_BITMAP, 225 },
        { "KVM_CAP_DIRTY_LOG_RING_ACQ_REL", KVM_CAP_DIRTY_LOG_RING_ACQ_REL, 223 },
        { "KVM_EXIT_DIRTY_RING_FULL", KVM_EXIT_DIRTY_RING_FULL, 31 },
        { "KVM_RESET_DIRTY_RINGS", KVM_RESET_DIRTY_RINGS, 0xaec7 },
        { "sizeof kvm_dirty_gfn", sizeof(struct kvm_dirty_gfn), 16 },
    };
    for (size_t i = 0; i < TEST_N(rows); i++)
        TEST_CHECK(rows[i].have == rows[i].want, "%s: %#llx, want %#llx", rows[i].what,
                   rows[i].have, rows[i].want);
}

/* A 4-level walk of the boot pages (placed at gpa) as the CPU does it: the leaf's address
 * and flags, or false. */
static bool walk(const uint8_t *pages, uint64_t gpa, uint64_t va, uint64_t *pa, uint64_t *flags)
{
    uint64_t table = gpa + KVMH_BOOT_PML4 * 4096;
    for (int level = 4; level >= 2; level--) {
        uint64_t e;
        if (table < gpa || table >= gpa + KVMH_BOOT_PAGES * 4096)
            return false;
        memcpy(&e, pages + (table - gpa) + ((va >> (12 + 9 * (level - 1))) & 511) * 8, 8);
        if (!(e & 1))
            return false;
        if (level == 2) {   /* the boot tables end in 2 MiB pages */
            if (!(e & 0x80))
                return false;
            *pa = (e & 0x000fffffffe00000ULL) | (va & 0x1fffff);
            *flags = e & 0xfff;
            return true;
        }
        table = e & 0x000ffffffffff000ULL;
    }
    return false;
}

static void test_boot_pages(void)
{
    static uint8_t pages[KVMH_BOOT_PAGES * 4096];
    const uint64_t gpa = 0xffff8000;
    kvmh_boot_pages(pages, gpa);
    /* identity below 4 GiB, present + writable + accessed + dirty + 2 MiB; nothing above */
    const struct { uint64_t va; bool mapped; } rows[] = {
        { 0, true }, { 0x100000, true }, { 0x1fffff, true }, { 0xc0000010, true },
        { gpa, true }, { 0xffffffff, true }, { 0x100000000ULL, false },
        { 0x4000000000ULL, false }, { 0xffff800000000000ULL, false },
    };
    for (size_t i = 0; i < TEST_N(rows); i++) {
        uint64_t pa = 0, flags = 0;
        bool m = walk(pages, gpa, rows[i].va, &pa, &flags);
        TEST_CHECK(m == rows[i].mapped && (!m || (pa == rows[i].va && flags == 0xe3)),
                   "va %#llx: mapped %d pa %#llx flags %#llx", (unsigned long long)rows[i].va,
                   m, (unsigned long long)pa, (unsigned long long)flags);
    }
    /* the GDT: null, 0x08 code (L, DPL 0), 0x10 data, 0x18 the 16-byte TSS descriptor */
    uint64_t gdt[5], tss = gpa + KVMH_BOOT_TSS * 4096;
    memcpy(gdt, pages + KVMH_BOOT_GDT * 4096, sizeof gdt);
    const struct { unsigned i; uint64_t want; } desc[] = {
        { 0, 0 }, { 1, 0x00af9b000000ffffULL }, { 2, 0x00cf93000000ffffULL },
        { 3, 0x67 | (tss & 0xffffff) << 16 | 0x8bULL << 40 | (tss >> 24 & 0xff) << 56 },
        { 4, tss >> 32 },
    };
    for (size_t i = 0; i < TEST_N(desc); i++)
        TEST_CHECK(gdt[desc[i].i] == desc[i].want, "GDT[%u] = %#llx", desc[i].i,
                   (unsigned long long)gdt[desc[i].i]);
}

static void test_boot_sregs(void)
{
    struct kvm_sregs s;
    const uint64_t gpa = 0x7000;
    memset(&s, 0xa5, sizeof s);
    kvmh_boot_sregs(&s, gpa);
    const struct { const char *what; unsigned long long have, want; } rows[] = {
        { "cr0 (PE NE PG)", s.cr0, 0x80000021 }, { "cr4 (PAE OSFXSR)", s.cr4, 0x220 },
        { "efer (LME LMA NX)", s.efer, 0xd00 }, { "cr3", s.cr3, gpa },
        { "cs.selector", s.cs.selector, 8 }, { "cs.type", s.cs.type, 0xb }, { "cs.l", s.cs.l, 1 },
        { "cs.db", s.cs.db, 0 }, { "cs.dpl", s.cs.dpl, 0 }, { "cs.present", s.cs.present, 1 },
        { "ds.selector", s.ds.selector, 0x10 }, { "ds.type", s.ds.type, 3 },
        { "ds.db", s.ds.db, 1 }, { "ss.selector", s.ss.selector, 0x10 },
        { "gs.selector", s.gs.selector, 0x10 }, { "tr.selector", s.tr.selector, 0x18 },
        { "tr.type (busy 64-bit TSS)", s.tr.type, 0xb }, { "tr.s", s.tr.s, 0 },
        { "tr.base", s.tr.base, gpa + KVMH_BOOT_TSS * 4096 }, { "tr.limit", s.tr.limit, 0x67 },
        { "ldt.unusable", s.ldt.unusable, 1 },
        { "gdt.base", s.gdt.base, gpa + KVMH_BOOT_GDT * 4096 },
        { "gdt.limit", s.gdt.limit, 4095 }, { "idt.limit", s.idt.limit, 0 },
    };
    for (size_t i = 0; i < TEST_N(rows); i++)
        TEST_CHECK(rows[i].have == rows[i].want, "%s: %#llx, want %#llx", rows[i].what,
                   rows[i].have, rows[i].want);
}

/* Which scenarios the backend runs, and the reason it gives for the others. */
static void test_runnable(void)
{
    const struct { const char *arch; const char *steps; const char *why; } rows[] = {
        { "x86_64", "", NULL },
        { "x86_64", "  - {at: start, do: set_memory_region, args: {slot: 1, size: 0}}\n"
                    "  - {at: {sync: 1}, do: get_dirty_log, args: {slot: 1}}\n"
                    "  - {at: end, do: mem_read, args: {gpa: 0, size: 8}}\n", NULL },
        { "aarch64", "", "x86_64 guests" },
        { "x86_64", "  - {at: {icount: 100, vcpu: 0}, do: mem_read, args: {gpa: 0, size: 1}}\n",
          "runs at {icount}" },
        { "x86_64", "  - {at: {seq: 10}, do: mem_read, args: {gpa: 0, size: 1}}\n",
          "runs at {seq}" },
        { "x86_64", "  - {at: {sync: 1}, do: kvm_write_guest, args: {gpa: 0, data: '00'}}\n",
          "kvm_vcpu_write_guest" },
        { "x86_64", "  - {at: {sync: 1}, do: xif_copy_to, args: {gpa: 0, data: '00'}}\n",
          "xinterface" },
        { "x86_64", "  - {at: {sync: 1}, do: vm_info, args: {argsz: 16}}\n", "proposal" },
        { "x86_64", "  - {at: {sync: 1}, do: migrate}\n", "pre-copy" },
        { "x86_64", "  - {at: {sync: 1}, do: set_memory_region, args: {slot: 1, size: 0, "
                    "window: 10}}\n", "INVALID window" },
    };
    for (size_t i = 0; i < TEST_N(rows); i++) {
        char text[1024], why[512] = "";
        struct scenario *sc = NULL;
        struct hv_diag d;
        snprintf(text, sizeof text, "name: t\ndescription: d\nmodel: kvm\narch: %s\nguest: g.c\n"
                 "%s%s", rows[i].arch, rows[i].steps[0] ? "steps:\n" : "", rows[i].steps);
        int perr = scenario_parse(&sc, "/t.yaml", text, strlen(text), &d);
        TEST_CHECK(perr == 0, "row %zu: %s", i, perr ? d.msg : "");
        if (perr)
            continue;
        int err = kvmrun_check(sc, why, sizeof why);
        TEST_CHECK(rows[i].why ? err == HV_EUNSUPP && strstr(why, rows[i].why) : err == 0,
                   "row %zu: %d '%s'", i, err, why);
        scenario_destroy(sc);
    }
}

static void test_caps_json(void)
{
    struct kvmh_kernel k;
    char buf[256];
    memset(&k, 0, sizeof k);
    k.ncaps = 2;
    k.caps[0].nr = 10;
    k.caps[0].name = "nr_memslots";
    k.caps[0].value = 32764;
    k.caps[1].nr = 118;
    k.caps[1].name = "multi_address_space";
    k.caps[1].value = 0;
    kvmh_kernel_caps_json(&k, buf, sizeof buf);
    TEST_CHECK(strcmp(buf, "{\"nr_memslots\":32764,\"multi_address_space\":0}") == 0, "%s", buf);
    TEST_CHECK(kvmh_kernel_cap(&k, 118) == 0 && kvmh_kernel_cap(&k, 10) == 32764 &&
               kvmh_kernel_cap(&k, 3) == -1, "kvmh_kernel_cap");
}

void test_kvmhost_register(void)
{
    CU_pSuite s = CU_add_suite("kvmhost", NULL, NULL);
    CU_add_test(s, "the v6.12 ABI kvm_uapi.h defines", test_uapi);
    CU_add_test(s, "boot pages: identity map, GDT, TSS", test_boot_pages);
    CU_add_test(s, "boot registers: long mode as selftests' vcpu_setup()", test_boot_sregs);
    CU_add_test(s, "scenarios the backend runs, and why not", test_runnable);
    CU_add_test(s, "the capabilities as run_info JSON", test_caps_json);
}
