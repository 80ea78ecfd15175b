/*
 * test_caps.c - KVM_CHECK_EXTENSION on a VM fd (models/kvm/caps.c), per arch, as rows taken
 * from Linux v6.12: include/uapi/linux/kvm.h (the numbers), virt/kvm/kvm_main.c
 * kvm_vm_ioctl_check_extension_generic(), arch/x86/kvm/x86.c and arch/arm64/kvm/arm.c
 * kvm_vm_ioctl_check_extension(), the arch Kconfigs (HAVE_KVM_DIRTY_RING_TSO on x86 only,
 * HAVE_KVM_DIRTY_RING_ACQ_REL on both, NEED_KVM_DIRTY_RING_WITH_BITMAP on arm64 only).
 */
#include <CUnit/CUnit.h>
#include <string.h>

#include "models/kvm/caps.h"
#include "tests/test_util.h"

void test_caps_register(void);

enum host { X86, X86_PRIV, X86_OLD, X86_NOSMM, ARM64 };

static const struct {
    enum host host;
    const char *name;
    unsigned nr;
    int value;
} rows[] = {
    { X86, "nr_memslots", 10, 32764 },                 /* KVM_USER_MEM_SLOTS: 32767 - 3 */
    { X86_OLD, "nr_memslots", 10, 509 },               /* the kvm.max_slots knob */
    { ARM64, "nr_memslots", 10, 32767 },
    { X86, "readonly_mem", 81, 1 },
    { ARM64, "readonly_mem", 81, 1 },
    { X86, "multi_address_space", 118, 2 },            /* kvm_arch_nr_memslot_as_ids() */
    { X86_PRIV, "multi_address_space", 118, 1 },       /* private memory: no SMM */
    { X86_NOSMM, "multi_address_space", 118, 0 },      /* CONFIG_KVM_SMM off: compiled out */
    { ARM64, "multi_address_space", 118, 0 },          /* KVM_MAX_NR_ADDRESS_SPACES 1 */
    { X86, "manual_dirty_log_protect2", 168, 3 },      /* KVM_DIRTY_LOG_MANUAL_CAPS */
    { ARM64, "manual_dirty_log_protect2", 168, 3 },
    { X86, "arm_nisv_to_user", 177, 0 },
    { ARM64, "arm_nisv_to_user", 177, 1 },
    { X86, "dirty_log_ring", 192, 65536 * 16 },        /* KVM_DIRTY_RING_MAX_ENTRIES x 16 */
    { ARM64, "dirty_log_ring", 192, 0 },
    { X86, "exit_hypercall", 201, 0x1000 },            /* 1 << KVM_HC_MAP_GPA_RANGE */
    { ARM64, "exit_hypercall", 201, 0 },
    { X86, "dirty_log_ring_acq_rel", 223, 65536 * 16 },
    { ARM64, "dirty_log_ring_acq_rel", 223, 65536 * 16 },
    { X86, "dirty_log_ring_with_bitmap", 225, 0 },
    { ARM64, "dirty_log_ring_with_bitmap", 225, 1 },
    { X86, "user_memory2", 231, 1 },
    { ARM64, "user_memory2", 231, 1 },
    { X86, "user_memory", 3, 1 },
    { X86, NULL, 0, 0 },                               /* unknown numbers: 0 */
    { ARM64, NULL, 9999, 0 },
    { ARM64, NULL, 0x7fffffff, 0 },
};

static void test_check_extension(void)
{
    for (size_t i = 0; i < TEST_N(rows); i++) {
        struct kvmm_slots_params p;
        kvmm_slots_params_default(&p, rows[i].host == ARM64 ? KVMM_ARCH_ARM64 : KVMM_ARCH_X86);
        if (rows[i].host == X86_PRIV) {
            p.private_mem = true;
            p.nr_as = 1;
        }
        if (rows[i].host == X86_OLD)
            p.max_user_slots = KVMM_USER_SLOTS_OLD_X86;
        if (rows[i].host == X86_NOSMM) {   /* the kvm.smm knob at 0 */
            p.x86_no_smm = true;
            p.nr_as = 1;
        }
        int v = kvmm_check_extension(&p, rows[i].nr);
        TEST_CHECK(v == rows[i].value, "row %zu (%s %u): %d, want %d", i,
                   rows[i].name ? rows[i].name : "?", rows[i].nr, v, rows[i].value);
        if (rows[i].name) {
            TEST_CHECK(kvmm_cap_number(rows[i].name) == (int)rows[i].nr, "row %zu: number of %s",
                       i, rows[i].name);
            TEST_CHECK(kvmm_cap_name(rows[i].nr) &&
                       strcmp(kvmm_cap_name(rows[i].nr), rows[i].name) == 0,
                       "row %zu: name of %u", i, rows[i].nr);
        } else {
            TEST_CHECK(kvmm_cap_name(rows[i].nr) == NULL, "row %zu: %u has no name", i,
                       rows[i].nr);
        }
    }
    TEST_CHECK(kvmm_cap_number("nope") == -1, "an unknown name");
}

void test_caps_register(void)
{
    CU_pSuite s = CU_add_suite("caps", NULL, NULL);
    CU_add_test(s, "KVM_CHECK_EXTENSION per arch", test_check_extension);
}
