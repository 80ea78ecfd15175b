/* memslot_rows.c - the rows of memslot_rows.h. */
#include "tests/models/memslot_rows.h"

#include <errno.h>
#include <string.h>

static unsigned host_vma(void *ctx, uint64_t hva, uint64_t len)
{
    (void)ctx;
    unsigned v = 0;
    if (hva < PFN_BASE + 256 * MB && hva + len > PFN_BASE)
        v |= KVMM_VMA_PFNMAP;
    if (hva < NOMTE_BASE + 256 * MB && hva + len > NOMTE_BASE)
        v |= KVMM_VMA_NO_MTE;
    return v;
}


void memslot_rows_params(enum cfg c, struct kvmm_slots_params *p)
{
    bool arm = c == ARM64 || c == ARM64_MTE || c == ARM64_VA52;
    kvmm_slots_params_default(p, arm ? KVMM_ARCH_ARM64 : KVMM_ARCH_X86);
    p->host_vma = host_vma;
    switch (c) {
    case X86_NORO: p->readonly_mem = false; break;
    case X86_PRIV: p->private_mem = true; p->nr_as = 1; break;
    case X86_KVMGT: p->x86_external_tracker = true; break;
    case X86_OLD: p->max_user_slots = KVMM_USER_SLOTS_OLD_X86; break;
    case ARM64_MTE: p->arm64_mte = true; break;
    case X86_LA57: p->user_va_limit = kvmm_task_size_max(KVMM_ARCH_X86, 56); break;
    case ARM64_VA52: p->user_va_limit = kvmm_task_size_max(KVMM_ARCH_ARM64, 52); break;
    default: break;
    }
}

static struct kvmm_region region(uint32_t slot, uint32_t flags, uint64_t gpa, uint64_t size,
                                 uint64_t hva)
{
    return (struct kvmm_region){ .slot = slot, .flags = flags, .guest_phys_addr = gpa,
                                 .memory_size = size, .userspace_addr = hva };
}

size_t memslot_rows_prior(enum cfg c, struct kvmm_region out[4])
{
    size_t n = 0;
    out[n++] = region(1, 0, MB, MB, HVA + MB);              /* [0x100, 0x200) */
    out[n++] = region(2, LOG, 2 * MB, MB, HVA + 2 * MB);    /* [0x200, 0x300), adjacent */
    if (c == X86_PRIV) {
        out[n] = region(3, GMEM, 4 * MB, MB, HVA + 4 * MB);
        out[n++].guest_memfd = 7;
    }
    if (c == ARM64 || c == ARM64_MTE)
        out[n++] = region(4, 0, 8 * MB, MB, PFN_BASE);      /* backed by a VM_PFNMAP mapping */
    return n;
}

const struct rule_row memslot_rule_rows[] = {
    /* A.1: v1 checks its flags before anything else. */
    { "A.1 GUEST_MEMFD is v2-only", X86_PRIV, false, R(9, GMEM, 16 * MB, MB, HVA),
      NO(EINVAL, V1_FLAGS) },
    { "A.1 v1 flag beats slot id and size", X86, false, R(40000, 1u << 3, 16 * MB, 0x1001, HVA),
      NO(EINVAL, V1_FLAGS) },
    { "A.1 INVALID bit via v1", X86, false, R(9, KVMM_MEMSLOT_INVALID, 16 * MB, MB, HVA),
      NO(EINVAL, V1_FLAGS) },
    { "A.1 v1 accepts LOG|READONLY", X86, false, R(9, LOG | RO, 16 * MB, MB, HVA), OK(CREATE, 1) },
    /* A.2: the outer ioctl's id check, before slots_lock and before the flags of A.3.1. */
    { "A.2 x86 id 32764", X86, true, R(32764, 0, 16 * MB, MB, HVA), NO(EINVAL, USER_SLOT_ID) },
    { "A.2 x86 id 32763", X86, true, R(32763, 0, 16 * MB, MB, HVA), OK(CREATE, 1) },
    { "A.2 id is bits 15:0 only", X86, true, R(AS1 | 32764, 0, 16 * MB, MB, HVA),
      NO(EINVAL, USER_SLOT_ID) },
    { "A.2 id beats A.3.1 flags", X86, true, R(40000, 1u << 5, 16 * MB, 0x1001, HVA),
      NO(EINVAL, USER_SLOT_ID) },
    { "A.2 old x86 id 509", X86_OLD, true, R(509, 0, 16 * MB, MB, HVA), NO(EINVAL, USER_SLOT_ID) },
    { "A.2 old x86 id 508", X86_OLD, true, R(508, 0, 16 * MB, MB, HVA), OK(CREATE, 1) },
    { "A.2 arm64 id 32767", ARM64, true, R(32767, 0, 16 * MB, MB, HVA), NO(EINVAL, USER_SLOT_ID) },
    { "A.2 arm64 id 32766", ARM64, true, R(32766, 0, 16 * MB, MB, HVA), OK(CREATE, 1) },
    /* A.3.1 flags. */
    { "A.3.1 bit 3", X86, true, R(9, 1u << 3, 16 * MB, MB, HVA), NO(EINVAL, FLAGS) },
    { "A.3.1 INVALID bit via v2", X86, true, R(9, KVMM_MEMSLOT_INVALID, 16 * MB, MB, HVA),
      NO(EINVAL, FLAGS) },
    { "A.3.1 GUEST_MEMFD without private memory", X86, true, R(9, GMEM, 16 * MB, MB, HVA),
      NO(EINVAL, FLAGS) },
    { "A.3.1 READONLY unsupported (v2)", X86_NORO, true, R(9, RO, 16 * MB, MB, HVA),
      NO(EINVAL, FLAGS) },
    { "A.3.1 READONLY unsupported (v1)", X86_NORO, false, R(9, RO, 16 * MB, MB, HVA),
      NO(EINVAL, FLAGS) },
    { "A.3.1 READONLY supported", X86, true, R(9, RO, 16 * MB, MB, HVA), OK(CREATE, 1) },
    { "A.3.1 GUEST_MEMFD|LOG", X86_PRIV, true, RG(9, GMEM | LOG, 16 * MB, MB, HVA, 0),
      NO(EINVAL, FLAGS) },
    { "A.3.1 GUEST_MEMFD|READONLY", X86_PRIV, true, RG(9, GMEM | RO, 16 * MB, MB, HVA, 0),
      NO(EINVAL, FLAGS) },
    { "A.3.1 GUEST_MEMFD", X86_PRIV, true, RG(9, GMEM, 16 * MB, MB, HVA, 0), OK(CREATE, 1) },
    { "A.3.1 flag beats size, gpa, hva", X86, true, R(9, 1u << 4, 16 * MB + 0x800, 0x1001, HVA + 1),
      NO(EINVAL, FLAGS) },
    /* A.3.2 size. */
    { "A.3.2 size 0x1001", X86, true, R(9, 0, 16 * MB, 0x1001, HVA), NO(EINVAL, SIZE) },
    { "A.3.2 size beats gpa, hva", X86, true, R(9, 0, 16 * MB + 0x800, 0x1800, HVA + 0x800),
      NO(EINVAL, SIZE) },
    /* A.3.3 gpa alignment. */
    { "A.3.3 gpa unaligned, beats hva", X86, true, R(9, 0, 16 * MB + 0x800, MB, HVA + 0x800),
      NO(EINVAL, GPA_ALIGN) },
    /* A.3.4 hva: alignment and access_ok, EINVAL not EFAULT. */
    { "A.3.4 hva unaligned", X86, true, R(9, 0, 16 * MB, MB, HVA + 0x800), NO(EINVAL, HVA) },
    { "A.3.4 x86 last page below TASK_SIZE_MAX", X86, true,
      R(9, 0, 16 * MB, MB, VA_LIMIT - MB), OK(CREATE, 1) },
    { "A.3.4 x86 last page at TASK_SIZE_MAX", X86, true,
      R(9, 0, 16 * MB, MB, VA_LIMIT - MB + KB4), NO(EINVAL, HVA) },
    { "A.3.4 x86 range ends at 2^47", X86, true, R(9, 0, 16 * MB, MB, (1ull << 47) - MB),
      NO(EINVAL, HVA) },
    { "A.3.4 x86 one page at TASK_SIZE_MAX - 4096", X86, true,
      R(9, 0, 16 * MB, KB4, VA_LIMIT - KB4), OK(CREATE, 1) },
    { "A.3.4 x86 one page at TASK_SIZE_MAX", X86, true, R(9, 0, 16 * MB, KB4, VA_LIMIT),
      NO(EINVAL, HVA) },
    { "A.3.4 x86 5-level: ends at 2^56 - 4096", X86_LA57, true,
      R(9, 0, 16 * MB, MB, VA_LIMIT_LA57 - MB), OK(CREATE, 1) },
    { "A.3.4 x86 5-level: ends at 2^56", X86_LA57, true,
      R(9, 0, 16 * MB, MB, VA_LIMIT_LA57 - MB + KB4), NO(EINVAL, HVA) },
    { "A.3.4 x86 5-level: past 2^47 is fine", X86_LA57, true,
      R(9, 0, 16 * MB, MB, 1ull << 47), OK(CREATE, 1) },
    { "A.3.4 arm64 range ends at 2^48", ARM64, true, R(9, 0, 16 * MB, MB, VA_LIMIT_A64 - MB),
      OK(CREATE, 1) },
    { "A.3.4 arm64 last page at 2^48", ARM64, true,
      R(9, 0, 16 * MB, MB, VA_LIMIT_A64 - MB + KB4), NO(EINVAL, HVA) },
    { "A.3.4 arm64 VA_BITS 52: ends at 2^52", ARM64_VA52, true,
      R(9, 0, 16 * MB, MB, VA_LIMIT_A64_52 - MB), OK(CREATE, 1) },
    { "A.3.4 arm64 VA_BITS 52: last page at 2^52", ARM64_VA52, true,
      R(9, 0, 16 * MB, MB, VA_LIMIT_A64_52 - MB + KB4), NO(EINVAL, HVA) },
    { "A.3.4 size alone past the bound", X86, true, R(9, 0, 16 * MB, 1ull << 48, 0),
      NO(EINVAL, HVA) },
    { "A.3.4 hva range wraps", X86, true, R(9, 0, 16 * MB, MB2, 0xfffffffffff00000ull),
      NO(EINVAL, HVA) },
    { "A.3.4 hva beats as_id", X86, true, R(AS2 | 9, 0, 16 * MB, MB, HVA + 0x800),
      NO(EINVAL, HVA) },
    { "A.3.4 checked for a delete too", X86, true, R(1, 0, 0, 0, VA_LIMIT + KB4), NO(EINVAL, HVA) },
    /* A.3.5 guest_memfd_offset (GUEST_MEMFD only). */
    { "A.3.5 offset unaligned", X86_PRIV, true, RG(9, GMEM, 16 * MB, MB, HVA, 0x800),
      NO(EINVAL, GMEM_OFFSET) },
    { "A.3.5 offset + size wraps", X86_PRIV, true,
      RG(9, GMEM, 16 * MB, MB2, HVA, 0xfffffffffff00000ull),
      NO(EINVAL, GMEM_OFFSET) },
    { "A.3.5 ignored without GUEST_MEMFD", X86_PRIV, true, RG(9, 0, 16 * MB, MB, HVA, 0x800),
      OK(CREATE, 1) },
    { "A.3.5 beats as_id", X86_PRIV, true, RG(AS1 | 9, GMEM, 16 * MB, MB, HVA, 0x800),
      NO(EINVAL, GMEM_OFFSET) },
    /* A.3.6 address space id. */
    { "A.3.6 x86 as_id 2", X86, true, R(AS2 | 9, 0, 16 * MB, MB, HVA), NO(EINVAL, AS_ID) },
    { "A.3.6 x86 as_id 1, over AS 0's slot 1", X86, true, R(AS1 | 9, 0, MB, MB, HVA + MB),
      OK(CREATE, 1) },
    { "A.3.6 arm64 as_id 1", ARM64, true, R(AS1 | 9, 0, 16 * MB, MB, HVA), NO(EINVAL, AS_ID) },
    { "A.3.6 private x86 VM has one AS", X86_PRIV, true, R(AS1 | 9, 0, 16 * MB, MB, HVA),
      NO(EINVAL, AS_ID) },
    /* A.3.7 gpa + size wraps. */
    { "A.3.7 gpa wraps", X86, true, R(9, 0, 0xfffffffffff00000ull, MB2, HVA),
      NO(EINVAL, GPA_WRAP) },
    { "A.3.7 as_id beats wrap", X86, true, R(AS2 | 9, 0, 0xfffffffffff00000ull, MB2, HVA),
      NO(EINVAL, AS_ID) },
    /* A.3.8 at most 2^31 - 1 pages. */
    { "A.3.8 2^31 pages", X86, true, R(9, 0, 1ull << 36, 1ull << 43, 1ull << 44),
      NO(EINVAL, NPAGES) },
    { "A.3.8 2^31 - 1 pages", X86, true, R(9, 0, 1ull << 36, (1ull << 43) - KB4, 1ull << 44),
      OK(CREATE, 1) },
    { "A.3.8 wrap beats npages", X86, true, R(9, 0, 0xfffffffffff00000ull, 1ull << 43, 1ull << 44),
      NO(EINVAL, GPA_WRAP) },
    /* A.3.9 delete. */
    { "A.3.9 delete absent slot", X86, true, R(9, 0, 0, 0, 0), NO(EINVAL, DELETE_ABSENT) },
    { "A.3.9 delete in the wrong AS", X86, true, R(AS1 | 1, 0, 0, 0, 0),
      NO(EINVAL, DELETE_ABSENT) },
    { "A.3.9 delete: gpa/hva not compared", X86, true, R(1, 0, 0x5000, 0, HVA), OK(DELETE, 2) },
    { "A.3.9 delete: flags checked, not compared", X86, true, R(1, RO, 0, 0, 0), OK(DELETE, 2) },
    { "A.3.9 delete: invalid flag refuses", X86, true, R(1, 1u << 3, 0, 0, 0), NO(EINVAL, FLAGS) },
    { "A.3.9 delete of a logging slot", X86, true, R(2, 0, 0, 0, 0), OK(DELETE, 2) },
    { "A.3.9 delete: gpa alignment checked first (A.3.3)", X86, true, R(1, 0, 0x5800, 0, 0),
      NO(EINVAL, GPA_ALIGN) },
    { "A.3.9 delete: as_id checked first (A.3.6)", X86, true, R(AS2 | 1, 0, 0, 0, 0),
      NO(EINVAL, AS_ID) },
    { "A.3.9 delete: id checked first (A.2)", X86, true, R(32764, 0, 0, 0, 0),
      NO(EINVAL, USER_SLOT_ID) },
    /* A.3.10 cannot fire on a 64-bit host (at most 2^31 - 1 pages x 65534 slots). */
    /* A.3.11 modify. */
    { "A.3.11 different hva", X86, true, R(1, 0, MB, MB, HVA + MB + KB4), NO(EINVAL, MODIFY) },
    { "A.3.11 no resizing", X86, true, R(1, 0, MB, MB2, HVA + MB), NO(EINVAL, MODIFY) },
    { "A.3.11 READONLY cannot change", X86, true, R(1, RO, MB, MB, HVA + MB), NO(EINVAL, MODIFY) },
    { "A.3.11 identical re-issue", X86, true, R(1, 0, MB, MB, HVA + MB), OK(NONE, 0) },
    { "A.3.11 logging on", X86, true, R(1, LOG, MB, MB, HVA + MB), OK(FLAGS_ONLY, 1) },
    { "A.3.11 logging off", X86, true, R(2, 0, 2 * MB, MB, HVA + 2 * MB), OK(FLAGS_ONLY, 1) },
    { "A.3.11 new base", X86, true, R(1, 0, 16 * MB, MB, HVA + MB), OK(MOVE, 2) },
    { "A.3.11 new base and flags", X86, true, R(1, LOG, 16 * MB, MB, HVA + MB), OK(MOVE, 2) },
    { "A.3.11 beats A.3.12 overlap", X86, true, R(1, 0, 2 * MB, MB, HVA + MB + KB4),
      NO(EINVAL, MODIFY) },
    { "A.3.11 GUEST_MEMFD slot immutable", X86_PRIV, true, RG(3, GMEM, 4 * MB, MB, HVA + 4 * MB, 0),
      NO(EINVAL, MODIFY_GMEM) },
    { "A.3.11 GUEST_MEMFD cannot be dropped", X86_PRIV, true, R(3, 0, 4 * MB, MB, HVA + 4 * MB),
      NO(EINVAL, MODIFY) },
    { "A.3.11 GUEST_MEMFD slot deleted", X86_PRIV, true, R(3, 0, 0, 0, 0), OK(DELETE, 2) },
    /* A.3.12 overlap: EEXIST against other ids of the same AS. */
    { "A.3.12 partial overlap", X86, true, R(9, 0, MB + MB / 2, MB, HVA),
      NO_AS(EEXIST, OVERLAP, CREATE, 0) },
    { "A.3.12 covers two slots", X86, true, R(9, 0, 0, 4 * MB, HVA),
      NO_AS(EEXIST, OVERLAP, CREATE, 0) },
    { "A.3.12 last page of slot 1", X86, true, R(9, 0, 2 * MB - KB4, KB4, HVA),
      NO_AS(EEXIST, OVERLAP, CREATE, 0) },
    { "A.3.12 adjacent after", X86, true, R(9, 0, 3 * MB, MB, HVA), OK(CREATE, 1) },
    { "A.3.12 adjacent before", X86, true, R(9, 0, 0, MB, HVA), OK(CREATE, 1) },
    { "A.3.12 MOVE over its own range", X86, true, R(1, 0, MB - 0x40000, MB, HVA + MB),
      OK(MOVE, 2) },
    { "A.3.12 MOVE onto slot 2", X86, true, R(1, 0, MB + MB / 2, MB, HVA + MB),
      NO_AS(EEXIST, OVERLAP, MOVE, 0) },
    { "A.3.12 other AS", X86, true, R(AS1 | 9, 0, MB + MB / 2, MB, HVA), OK(CREATE, 1) },
    /* A.3.13 arch hooks, after the INVALID window opened for a MOVE (2 swaps: in and back). */
    { "A.3.13 x86 last gfn = max", X86, true, R(9, 0, (1ull << 46) - MB, MB, HVA), OK(CREATE, 1) },
    { "A.3.13 x86 last gfn > max", X86, true, R(9, 0, (1ull << 46) - MB + KB4, MB, HVA),
      NO_AS(EINVAL, X86_MAX_GFN, CREATE, 0) },
    { "A.3.13 x86 MOVE past max", X86, true, R(1, 0, 1ull << 46, MB, HVA + MB),
      NO_AS(EINVAL, X86_MAX_GFN, MOVE, 2) },
    { "A.3.13 x86 KVMGT refuses MOVE", X86_KVMGT, true, R(1, 0, 16 * MB, MB, HVA + MB),
      NO_AS(EINVAL, X86_MOVE_TRACKED, MOVE, 2) },
    { "A.3.13 x86 KVMGT: overlap first", X86_KVMGT, true, R(1, 0, MB + MB / 2, MB, HVA + MB),
      NO_AS(EEXIST, OVERLAP, MOVE, 0) },
    { "A.3.13 x86 KVMGT allows CREATE", X86_KVMGT, true, R(9, 0, 16 * MB, MB, HVA), OK(CREATE, 1) },
    { "A.3.13 x86 KVMGT allows FLAGS_ONLY", X86_KVMGT, true, R(1, LOG, MB, MB, HVA + MB),
      OK(FLAGS_ONLY, 1) },
    { "A.3.13 arm64 ends at IPA size", ARM64, true, R(9, 0, (1ull << 40) - MB, MB, HVA),
      OK(CREATE, 1) },
    { "A.3.13 arm64 past IPA: EFAULT", ARM64, true, R(9, 0, (1ull << 40) - MB + KB4, MB, HVA),
      NO_AS(EFAULT, ARM64_IPA, CREATE, 0) },
    { "A.3.13 arm64 MOVE past IPA", ARM64, true, R(1, 0, 1ull << 40, MB, HVA + MB),
      NO_AS(EFAULT, ARM64_IPA, MOVE, 2) },
    { "A.3.13 arm64 LOG over PFNMAP", ARM64, true, R(9, LOG, 16 * MB, MB, PFN_BASE + MB),
      NO_AS(EINVAL, ARM64_PFNMAP_LOG, CREATE, 0) },
    { "A.3.13 arm64 PFNMAP without LOG", ARM64, true, R(9, 0, 16 * MB, MB, PFN_BASE + MB),
      OK(CREATE, 1) },
    { "A.3.13 arm64 FLAGS_ONLY LOG on PFNMAP", ARM64, true, R(4, LOG, 8 * MB, MB, PFN_BASE),
      NO_AS(EINVAL, ARM64_PFNMAP_LOG, FLAGS_ONLY, 0) },
    { "A.3.13 arm64 MTE VM, non-MTE mapping", ARM64_MTE, true, R(9, 0, 16 * MB, MB, NOMTE_BASE),
      NO_AS(EINVAL, ARM64_MTE, CREATE, 0) },
    { "A.3.13 arm64 no MTE: any mapping", ARM64, true, R(9, 0, 16 * MB, MB, NOMTE_BASE),
      OK(CREATE, 1) },
};

const size_t memslot_nrule_rows = sizeof memslot_rule_rows / sizeof memslot_rule_rows[0];

size_t dirty_rows_prior(bool clear, struct kvmm_region out[3])
{
    uint64_t npages = clear ? DIRTY_CLEAR_PAGES : DIRTY_GET_PAGES;
    out[0] = region(1, 0, MB, MB, HVA + MB);
    out[1] = region(2, LOG, 2 * MB, npages * KB4, HVA + 2 * MB);
    if (!clear)
        return 2;
    out[2] = region(3, LOG, 4 * MB, DIRTY_SLOT3_PAGES * KB4, HVA + 4 * MB);
    return 3;
}

const struct dirty_get_row dirty_get_rows[] = {
    { "as_id 2", AS2 | 2, false, 32, -EINVAL },
    { "id >= KVM_USER_MEM_SLOTS", 32764, false, 32, -EINVAL },
    { "id 0xffff", 0xffff, false, 32, -EINVAL },
    { "as_id beats absent slot", AS2 | 9, false, 32, -EINVAL },
    { "no such slot", 9, false, 32, -ENOENT },
    { "logging off", 1, false, 32, -ENOENT },
    { "slot 2 is in AS 0 only", AS1 | 2, false, 32, -ENOENT },
    { "buffer too short", 2, false, 31, -EFAULT },
    { "no buffer", 2, true, 0, -EFAULT },
    { "ENOENT beats a missing buffer", 1, true, 0, -ENOENT },
    { "ok", 2, false, 32, 0 },
    { "larger buffer is fine", 2, false, 64, 0 },
};

const size_t dirty_nget_rows = sizeof dirty_get_rows / sizeof dirty_get_rows[0];

const struct dirty_clear_row dirty_clear_rows[] = {
    { "as_id 2", AS2 | 2, 0, 64, false, 8, -EINVAL },
    { "id >= KVM_USER_MEM_SLOTS", 32764, 0, 64, false, 8, -EINVAL },
    { "first_page % 64 beats ENOENT", 9, 1, 64, false, 8, -EINVAL },
    { "no such slot", 9, 0, 64, false, 8, -ENOENT },
    { "logging off", 1, 0, 64, false, 8, -ENOENT },
    { "ENOENT beats the range", 1, 512, 64, false, 8, -ENOENT },
    { "first_page % 64", 2, 1, 64, false, 8, -EINVAL },
    { "first_page 200 % 64", 2, 200, 0, false, 8, -EINVAL },
    { "first_page > npages", 2, 256, 0, false, 8, -EINVAL },
    { "first_page 2^63", 2, 1ull << 63, 0, false, 8, -EINVAL },
    { "past the end", 2, 192, 9, false, 8, -EINVAL },
    { "past the end, from 0", 2, 0, 201, false, 32, -EINVAL },
    { "partial word short of the end", 2, 0, 100, false, 16, -EINVAL },
    { "partial word short of the end (2)", 2, 64, 65, false, 16, -EINVAL },
    { "range beats a short buffer", 2, 0, 100, false, 0, -EINVAL },
    { "one word", 2, 0, 64, false, 8, 0 },
    { "partial word reaching the end", 2, 128, 72, false, 16, 0 },
    { "tail word", 2, 192, 8, false, 8, 0 },
    { "everything", 2, 0, 200, false, 32, 0 },
    { "nothing", 2, 0, 0, false, 0, 0 },
    { "nothing, no buffer", 2, 0, 0, true, 0, 0 },
    { "nothing at the end", 2, 192, 0, false, 0, 0 },
    { "buffer too short", 2, 0, 128, false, 8, -EFAULT },
    { "no buffer", 2, 0, 64, true, 0, -EFAULT },
    { "slot 3: first_page == npages", 3, 128, 0, true, 0, 0 },
    { "slot 3: first_page > npages", 3, 192, 0, true, 0, -EINVAL },
};

const size_t dirty_nclear_rows = sizeof dirty_clear_rows / sizeof dirty_clear_rows[0];

const struct manual_cap_row manual_cap_rows[] = {
    { 3, 0, 0, 0 },
    { 3, 1, 0, 0 },
    { 3, 3, 0, 0 },
    { 3, 2, 0, -EINVAL },                /* INITIALLY_SET needs ENABLE in the same call */
    { 3, 4, 0, -EINVAL },
    { 3, 5, 0, -EINVAL },
    { 3, 1ull << 63 | 1, 0, -EINVAL },
    { 3, 1, 1, -EINVAL },                /* flags must be 0 */
    { 3, 0, 0x80000000u, -EINVAL },
    { 1, 1, 0, 0 },                      /* KVM_DIRTY_LOG_MANUAL_CAPS = ENABLE only */
    { 1, 3, 0, -EINVAL },
    { 1, 2, 0, -EINVAL },
};

const size_t manual_ncap_rows = sizeof manual_cap_rows / sizeof manual_cap_rows[0];
