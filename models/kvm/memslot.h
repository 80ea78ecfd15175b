/*
 * memslot.h - the KVM model's memory slots and dirty log, as Linux v6.12 keeps them: the
 * memslot table of one VM (KVM_SET_USER_MEMORY_REGION and _REGION2 with every validation rule
 * in the kernel's order, the generation counter, gfn lookup through the VM-wide and per-vCPU
 * last-used-slot caches) and the dirty bitmap of each logging slot (KVM_GET_DIRTY_LOG,
 * KVM_CLEAR_DIRTY_LOG, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2) or, with the dirty ring, which
 * page a store must push into a vCPU's ring (the rings themselves are ring.h's).
 *
 * A pure data structure: no Unicorn, no running VM. "Host addresses" (userspace_addr) are
 * the numbers the scenario's VMM buffers give; nothing here dereferences them. Mapping slots
 * into the engines and feeding stores to kvmm_dirty_mark() belong to the model's ops, which
 * also keep dirty tracking armed for exactly the pages whose bit is clear in a logging slot.
 *
 * Modeled results are data (STYLE 8): a memslot update or dirty-log call reports what the
 * ioctl would return in an `int err` (0 or -errno, e.g. -EEXIST) and the function itself
 * returns 0. A negative HV_E* return is a simulator failure (HV_ENOMEM, HV_EINVAL for bad
 * parameters) and leaves the table as it was.
 *
 * Section numbers (A.3.4, A.7) refer to the hypervisor semantics reference; docs/models/kvm.md
 * has the rule table.
 */
#ifndef KVMM_MEMSLOT_H
#define KVMM_MEMSLOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* struct kvm_userspace_memory_region(2) flags (A.1), and the kernel-internal INVALID bit. */
#define KVMM_MEM_LOG_DIRTY_PAGES (1u << 0)
#define KVMM_MEM_READONLY        (1u << 1)
#define KVMM_MEM_GUEST_MEMFD     (1u << 2)   /* region2 only */
#define KVMM_MEM_V1_FLAGS        (KVMM_MEM_LOG_DIRTY_PAGES | KVMM_MEM_READONLY)
#define KVMM_MEMSLOT_INVALID     (1u << 16)  /* never accepted from userspace */

#define KVMM_PAGE_SHIFT          12
#define KVMM_PAGE_SIZE           (1ull << KVMM_PAGE_SHIFT)
#define KVMM_MAX_NR_AS           2           /* KVM_MAX_NR_ADDRESS_SPACES */
#define KVMM_MEM_SLOTS_NUM       32767u      /* SHRT_MAX: ids the table can hold (A.2) */
#define KVMM_MEM_MAX_NR_PAGES    ((1ull << 31) - 1)
#define KVMM_USER_SLOTS_X86      32764u      /* KVM_CAP_NR_MEMSLOTS on x86 */
#define KVMM_USER_SLOTS_ARM64    32767u      /* ... on arm64 */
#define KVMM_USER_SLOTS_OLD_X86  509u        /* ... on x86 before v5.x (knob) */
#define KVMM_MEMSLOT_GEN_UPDATE_IN_PROGRESS (1ull << 63)

/* KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 args[0] bits (A.7). */
#define KVMM_DIRTY_LOG_MANUAL_PROTECT_ENABLE (1u << 0)
#define KVMM_DIRTY_LOG_INITIALLY_SET         (1u << 1)

/* What the host mapping behind a range is (arm64 prepare hook, A.3.13). */
#define KVMM_VMA_PFNMAP 1u   /* VM_PFNMAP: no dirty logging over it */
#define KVMM_VMA_NO_MTE 2u   /* not MTE-capable: refused for MTE VMs */

/* Which kvm_arch_prepare_memory_region() runs (A.3.13). */
enum kvmm_arch_hooks { KVMM_HOOKS_X86, KVMM_HOOKS_ARM64 };

struct kvmm_memslot;

/*
 * Called once per 64-page word whose pages get dirty tracking re-armed (the kernel's
 * kvm_arch_mmu_enable_log_dirty_pt_masked): pages slot->base_gfn + gfn_offset + i for every
 * bit i set in mask. The slot is borrowed for the call.
 */
typedef void kvmm_rearm_fn(void *ctx, const struct kvmm_memslot *slot, uint64_t gfn_offset,
                           uint64_t mask);

/* Properties (KVMM_VMA_*) of the host mappings covering [hva, hva+len), ORed together. */
typedef unsigned kvmm_host_vma_fn(void *ctx, uint64_t hva, uint64_t len);

/*
 * The cache kvm_vcpu_gfn_to_memslot() consults (kvm.slot_cache): KVMM_SLOT_CACHE_VCPU is
 * mainline since David Matlack's 2021 patch "KVM: Cache the last used slot index per vCPU";
 * KVMM_SLOT_CACHE_VM is the kernel before it (vCPU lookups read and refill the VM-wide
 * last-used slot, as gfn_to_memslot() does); KVMM_SLOT_CACHE_NONE searches every time (a
 * design point of comparison, no kernel).
 */
enum kvmm_slot_cache { KVMM_SLOT_CACHE_VCPU, KVMM_SLOT_CACHE_VM, KVMM_SLOT_CACHE_NONE };

/* The VM's shape. kvmm_slots_params_default() fills a v6.12 host of each kind. */
struct kvmm_slots_params {
    unsigned nr_as;              /* 1 or 2 (x86: 2, or 1 with private memory) */
    unsigned max_user_slots;     /* KVM_USER_MEM_SLOTS: 1..KVMM_MEM_SLOTS_NUM */
    bool readonly_mem;           /* kvm_arch_has_readonly_mem(): READONLY accepted */
    bool private_mem;            /* kvm_arch_has_private_mem(): GUEST_MEMFD accepted */
    unsigned manual_caps;        /* KVM_DIRTY_LOG_MANUAL_CAPS: 3 on x86/arm64, 1 elsewhere */
    uint64_t user_va_limit;      /* TASK_SIZE_MAX of the VMM's host: kvmm_access_ok()'s bound */
    enum kvmm_arch_hooks hooks;
    unsigned x86_phys_bits;      /* kvm_mmu_max_gfn() = 2^(bits-12) - 1: the host MAXPHYADDR
                                  * with TDP (EPT/NPT), 52 with shadow paging */
    bool x86_no_smm;             /* CONFIG_KVM_SMM off: one address space, and
                                  * KVM_CAP_MULTI_ADDRESS_SPACE compiled out (answers 0) */
    bool x86_external_tracker;   /* KVMGT attached: MOVE refused */
    unsigned arm64_ipa_bits;     /* the VM's IPA size */
    bool arm64_mte;              /* MTE enabled for the VM */
    kvmm_host_vma_fn *host_vma;  /* NULL: every range is plain anonymous memory */
    void *host_vma_ctx;
    kvmm_rearm_fn *rearm;        /* NULL: nobody is told */
    void *rearm_ctx;
    /* Bug knob kvm.bug.stale_slot_cache: kvm_vcpu_gfn_to_memslot() skips the generation
     * check, so a vCPU's cached slot stays in use after the slot moved or was deleted. */
    bool bug_stale_slot_cache;
    /* kvm.slot_cache: which cache kvm_vcpu_gfn_to_memslot() uses (a design knob). */
    enum kvmm_slot_cache slot_cache;
};

enum kvmm_arch { KVMM_ARCH_X86, KVMM_ARCH_ARM64 };
void kvmm_slots_params_default(struct kvmm_slots_params *p, enum kvmm_arch arch);

/*
 * TASK_SIZE_MAX of a 64-bit host whose user addresses have va_bits bits (A.3.4):
 * x86-64 (arch/x86/include/asm/page_64_types.h, task_size_max()): (1 << __VIRTUAL_MASK_SHIFT)
 * - PAGE_SIZE, with va_bits 47 (4-level paging) or 56 (5-level); arm64
 * (arch/arm64/include/asm/processor.h): 1 << VA_BITS, with va_bits 48 or 52 (4 KiB pages).
 * 0 for any other combination.
 */
uint64_t kvmm_task_size_max(enum kvmm_arch arch, unsigned va_bits);
/*
 * access_ok(addr, size) of the VMM's process against limit = TASK_SIZE_MAX: the range neither
 * wraps nor ends past the limit, i.e. size <= limit && addr <= limit - size (asm-generic
 * __access_ok(); x86-64's __access_ok() in arch/x86/include/asm/uaccess_64.h computes the same:
 * sum = addr + size, sum <= USER_PTR_MAX (= TASK_SIZE_MAX) && sum >= addr).
 */
static inline bool kvmm_access_ok(uint64_t limit, uint64_t addr, uint64_t size)
{
    return size <= limit && addr <= limit - size;
}

/*
 * One memory slot. Read-only to callers: every field changes only through kvmm_memslot_*.
 * A changed slot is a new object (as in the kernel); the old one is retired: it leaves the
 * table but stays readable, fields unchanged and without a dirty bitmap, until
 * kvmm_slots_destroy() (the kernel frees it; keeping it lets a cache that skips the
 * generation check read what the kernel's stale pointer held, without a use-after-free).
 * Per-vCPU caches hold a pointer together with the generation.
 */
struct kvmm_memslot {
    uint64_t base_gfn;
    uint64_t npages;             /* >= 1 */
    uint64_t userspace_addr;
    uint64_t guest_memfd_offset; /* GUEST_MEMFD slots only */
    uint32_t guest_memfd;
    uint32_t flags;              /* KVMM_MEM_* | KVMM_MEMSLOT_INVALID */
    uint16_t id;
    uint16_t as_id;
    uint64_t *dirty_bitmap;      /* ALIGN(npages, 64) bits; NULL unless LOG_DIRTY_PAGES (and,
                                  * with the dirty ring, unless the ring has bitmap backing) */
    uint64_t *ring_dirty;        /* dirty ring on, LOG_DIRTY_PAGES: bit i set = page i was pushed
                                  * since its tracking was last armed (its mappings are writable,
                                  * so guest stores to it are not logged); else NULL */
};

/* True if a vCPU may use the slot: present and not in the INVALID window (A.4). */
static inline bool kvmm_memslot_usable(const struct kvmm_memslot *slot)
{
    return slot && !(slot->flags & KVMM_MEMSLOT_INVALID);
}

/* Host address of gfn inside slot (__gfn_to_hva_memslot). */
static inline uint64_t kvmm_memslot_hva(const struct kvmm_memslot *slot, uint64_t gfn)
{
    return slot->userspace_addr + ((gfn - slot->base_gfn) << KVMM_PAGE_SHIFT);
}

struct kvmm_slots;

/* Caller owns *out; release with kvmm_slots_destroy(). HV_EINVAL for impossible params. */
int kvmm_slots_create(struct kvmm_slots **out, const struct kvmm_slots_params *p);
void kvmm_slots_destroy(struct kvmm_slots *s);
/* Borrowed; valid for the life of s. */
const struct kvmm_slots_params *kvmm_slots_params(const struct kvmm_slots *s);
/*
 * Checks every invariant listed at the top of memslot.c (which also draws the update states)
 * with assert() and returns true, so that callers can write assert(kvmm_slots_check(s)).
 * O(number of slots + max_user_slots).
 */
bool kvmm_slots_check(const struct kvmm_slots *s);

/* ---- KVM_SET_USER_MEMORY_REGION(2) ------------------------------------------------------ */

/* The fields of struct kvm_userspace_memory_region2 the kernel reads (A.1). */
struct kvmm_region {
    uint32_t slot;               /* as_id << 16 | id */
    uint32_t flags;
    uint64_t guest_phys_addr;
    uint64_t memory_size;        /* 0 = delete */
    uint64_t userspace_addr;
    uint64_t guest_memfd_offset; /* region2 only: zeroed for the v1 ioctl */
    uint32_t guest_memfd;        /* region2 only: zeroed for the v1 ioctl */
};

/*
 * Every check of A.1-A.3 that can refuse an update, in the kernel's order, declared once:
 * X(name, section, errno, text); the errno is a bare <errno.h> name (the result is -errno).
 */
#define KVMM_RULE_MAP(X)                                                                           \
    X(OK,               "-",      0,      "accepted")                                              \
    X(V1_FLAGS,         "A.1",    EINVAL, "v1 ioctl: a flag outside LOG_DIRTY_PAGES|READONLY")     \
    X(USER_SLOT_ID,     "A.2",    EINVAL, "slot id >= KVM_USER_MEM_SLOTS")                         \
    X(FLAGS,            "A.3.1",  EINVAL, "a flag this VM does not accept")                        \
    X(SIZE,             "A.3.2",  EINVAL, "memory_size not a multiple of the page size")           \
    X(GPA_ALIGN,        "A.3.3",  EINVAL, "guest_phys_addr not page aligned")                      \
    X(HVA,              "A.3.4",  EINVAL, "userspace_addr unaligned or access_ok() fails")         \
    X(GMEM_OFFSET,      "A.3.5",  EINVAL, "guest_memfd_offset unaligned or offset+size wraps")     \
    X(AS_ID,            "A.3.6",  EINVAL, "address space id (or id) out of range")                 \
    X(GPA_WRAP,         "A.3.7",  EINVAL, "guest_phys_addr + memory_size wraps")                   \
    X(NPAGES,           "A.3.8",  EINVAL, "more than KVM_MEM_MAX_NR_PAGES pages")                  \
    X(DELETE_ABSENT,    "A.3.9",  EINVAL, "delete of a slot that does not exist")                  \
    X(PAGES_TOTAL,      "A.3.10", EINVAL, "VM-wide page total would overflow")                     \
    X(MODIFY_GMEM,      "A.3.11", EINVAL, "guest_memfd slots can only be deleted")                 \
    X(MODIFY,           "A.3.11", EINVAL, "userspace_addr, size, READONLY or GUEST_MEMFD changed") \
    X(OVERLAP,          "A.3.12", EEXIST, "overlaps another slot of the address space")            \
    X(X86_MOVE_TRACKED, "A.3.13", EINVAL, "x86: MOVE with an external page tracker")               \
    X(X86_MAX_GFN,      "A.3.13", EINVAL, "x86: last gfn above kvm_mmu_max_gfn()")                 \
    X(ARM64_IPA,        "A.3.13", EFAULT, "arm64: range ends beyond the IPA size")                 \
    X(ARM64_MTE,        "A.3.13", EINVAL, "arm64: MTE VM over a mapping without MTE")              \
    X(ARM64_PFNMAP_LOG, "A.3.13", EINVAL, "arm64: dirty logging over a VM_PFNMAP mapping")

enum kvmm_rule {
#define X(name, sec, eno, text) KVMM_RULE_##name,
    KVMM_RULE_MAP(X)
#undef X
    KVMM_RULE__COUNT
};
/* "A.3.4", "userspace_addr unaligned ...", "x86_max_gfn"; never NULL. */
const char *kvmm_rule_section(enum kvmm_rule r);
const char *kvmm_rule_text(enum kvmm_rule r);
const char *kvmm_rule_name(enum kvmm_rule r);

/* The kernel's enum kvm_mr_change, plus NONE (identical re-issue) and UNSET (refused first). */
enum kvmm_change {
    KVMM_CHANGE_UNSET = 0,
    KVMM_CHANGE_CREATE,
    KVMM_CHANGE_DELETE,
    KVMM_CHANGE_MOVE,
    KVMM_CHANGE_FLAGS_ONLY,
    KVMM_CHANGE_NONE,
};
/* "create", "delete", "move", "flags_only", "none", "unset". */
const char *kvmm_change_name(enum kvmm_change c);

/* What the update did to the slot's dirty bitmap (A.4). */
enum kvmm_bitmap_fate {
    KVMM_BITMAP_NONE = 0,        /* logging off afterwards, or the slot is gone */
    KVMM_BITMAP_REUSED,          /* logging on before and after: same bitmap, bits kept */
    KVMM_BITMAP_ZEROED,          /* newly on: every page's tracking is armed */
    KVMM_BITMAP_ALL_SET,         /* newly on with INITIALLY_SET: npages bits set, none armed */
};

struct kvmm_set_result {
    int err;                     /* the ioctl's result: 0 or -EINVAL, -EEXIST, -EFAULT */
    enum kvmm_rule rule;         /* the check that decided err; KVMM_RULE_OK when err == 0 */
    enum kvmm_change change;     /* as far as the kernel got; valid with err for A.3.10+ */
    enum kvmm_bitmap_fate bitmap;/* set when err == 0 and the update is complete */
    bool window;                 /* kvmm_memslot_begin(): a DELETE/MOVE INVALID window is open */
};

/*
 * KVM_SET_USER_MEMORY_REGION (v2 = false) or KVM_SET_USER_MEMORY_REGION2 (v2 = true), the
 * whole update at once: kvmm_memslot_begin() then, if a window opened, kvmm_memslot_finish().
 * The modeled result is in *res; returns 0, or HV_ENOMEM with nothing changed.
 */
int kvmm_memslot_set(struct kvmm_slots *s, const struct kvmm_region *r, bool v2,
                     struct kvmm_set_result *res);
/*
 * The first half of an update, for callers that let vCPUs run inside the DELETE/MOVE window
 * (the selftest of A.9.6 depends on it). Validates (A.1-A.3.12) and then:
 *   CREATE, FLAGS_ONLY: runs the prepare hook and commits; res->window = false.
 *   DELETE, MOVE: replaces the slot by an INVALID copy and makes that active (one swap, the
 *     generation advances); res->window = true. Lookups then find the INVALID copy, which is
 *     not usable (kvmm_memslot_usable()). Nothing but lookups and kvmm_dirty_mark*() may touch
 *     s until kvmm_memslot_finish() (the kernel holds slots_lock throughout).
 * Returns 0, or HV_ENOMEM with nothing changed.
 */
int kvmm_memslot_begin(struct kvmm_slots *s, const struct kvmm_region *r, bool v2,
                       struct kvmm_set_result *res);
/*
 * Closes the window: runs the prepare hook (dirty bitmap, then the arch hook of A.3.13) and
 * commits (second swap), or, if the hook refuses a MOVE, puts the old slot back (also a
 * swap) and sets res->err. Never fails.
 */
void kvmm_memslot_finish(struct kvmm_slots *s, struct kvmm_set_result *res);
/* True between a kvmm_memslot_begin() that opened a window and its kvmm_memslot_finish(). */
bool kvmm_memslot_in_window(const struct kvmm_slots *s);

/*
 * The generation of address space as_id (A.4): starts at as_id, advances by nr_as at every
 * swap of the active set: once for CREATE and FLAGS_ONLY, twice for DELETE and MOVE (into the
 * INVALID window and out of it, also when a refused MOVE is rolled back). Bit 63 is the
 * kernel's update-in-progress mark; a swap is atomic here, so it is never seen set.
 */
uint64_t kvmm_memslot_generation(const struct kvmm_slots *s, unsigned as_id);
/* Pages in all slots of all address spaces (kvm->nr_memslot_pages). */
uint64_t kvmm_memslot_total_pages(const struct kvmm_slots *s);
/* Slots of an address space, in increasing base_gfn order. Borrowed; valid until the next
 * change of that address space. */
size_t kvmm_memslot_count(const struct kvmm_slots *s, unsigned as_id);
const struct kvmm_memslot *kvmm_memslot_at(const struct kvmm_slots *s, unsigned as_id,
                                           size_t i);

/* ---- gfn -> slot (A.5) ------------------------------------------------------------------- */

/* Which path answered a lookup; the trace shows it. */
enum kvmm_lookup_via {
    KVMM_LOOKUP_NONE = 0,        /* searched; no slot holds the gfn */
    KVMM_LOOKUP_VM_CACHE,        /* the active set's last_used_slot */
    KVMM_LOOKUP_VCPU_CACHE,      /* the vCPU's last_used_slot */
    KVMM_LOOKUP_SEARCH,          /* binary search of the address space */
};
/* "none", "vm_cache", "vcpu_cache", "search". */
const char *kvmm_lookup_via_name(enum kvmm_lookup_via v);

/* A vCPU's last-used slot (kvm_vcpu.last_used_slot and last_used_slot_gen). */
struct kvmm_vcpu_slot_cache {
    const struct kvmm_memslot *slot;   /* only read when generation is current (unless
                                        * bug_stale_slot_cache) */
    uint64_t generation;
};
/* Zeroed, as the kernel's kzalloc'ed vCPU. */
void kvmm_vcpu_slot_cache_init(struct kvmm_vcpu_slot_cache *c);

/*
 * The lookups return the slot holding gfn in address space as_id, or NULL; the slot may be
 * the INVALID copy of an open window (check kvmm_memslot_usable()). Borrowed; current until
 * the next change of that address space, readable (retired) until kvmm_slots_destroy(). via
 * may be NULL. Results never depend on cache state
 * (except under the stale_slot_cache bug knob, below).
 */
/* True if slot is in the table now; false for NULL or a retired slot. */
bool kvmm_memslot_current(const struct kvmm_slots *s, const struct kvmm_memslot *slot);
/* id_to_memslot(). */
const struct kvmm_memslot *kvmm_memslot_by_id(const struct kvmm_slots *s, unsigned as_id,
                                              unsigned id);
/* The slot a ioctl's u32 `slot` names (as_id << 16 | id), or NULL: also for an as_id or id
 * out of range, which callers must have refused with the ioctl's own errno first. */
const struct kvmm_memslot *kvmm_memslot_by_slot(const struct kvmm_slots *s, uint32_t slot);
/* search_memslots(): no cache read or written. */
const struct kvmm_memslot *kvmm_memslot_search(const struct kvmm_slots *s, unsigned as_id,
                                               uint64_t gfn);
/* gfn_to_memslot(): the VM-wide cache first; a search hit refills it. */
const struct kvmm_memslot *kvmm_memslot_lookup(struct kvmm_slots *s, unsigned as_id,
                                               uint64_t gfn, enum kvmm_lookup_via *via);
/*
 * kvm_vcpu_gfn_to_memslot(): resets c when the address space's generation moved (which also
 * catches a switch of address space, as generations of different spaces never meet), tries
 * c, then searches and refills c only; the VM-wide cache is neither read nor written.
 * With params.bug_stale_slot_cache the reset is skipped: a cached slot that holds gfn is
 * returned even if it was replaced (a retired slot, kvmm_memslot_current() false), so this
 * one lookup's result can depend on the cache. With params.slot_cache VM this is
 * kvmm_memslot_lookup() (c unused), with NONE kvmm_memslot_search().
 */
const struct kvmm_memslot *kvmm_memslot_vcpu_lookup(struct kvmm_slots *s,
                                                    struct kvmm_vcpu_slot_cache *c,
                                                    unsigned as_id, uint64_t gfn,
                                                    enum kvmm_lookup_via *via);

/* ---- dirty log (A.7) --------------------------------------------------------------------- */

/* ALIGN(npages, 64) / 8: the size of the slot's KVM_GET_DIRTY_LOG bitmap. */
size_t kvmm_dirty_bitmap_bytes(const struct kvmm_memslot *slot);
/* True if slot has a bitmap and gfn's bit is set. */
bool kvmm_dirty_test(const struct kvmm_memslot *slot, uint64_t gfn);

/*
 * mark_page_dirty() with no vCPU running: a write to gfn of address space as_id happened.
 * Finds the slot through the VM-wide cache (via, may be NULL) and sets its bit if the slot
 * logs and has a bitmap. Returns true if the bit went from 0 to 1, i.e. the page's tracking is
 * no longer armed. With the dirty ring and no bitmap the mark is lost (the kernel's
 * WARN_ON_ONCE in mark_page_dirty_in_slot()): counted by kvmm_dirty_lost().
 */
bool kvmm_dirty_mark(struct kvmm_slots *s, unsigned as_id, uint64_t gfn,
                     enum kvmm_lookup_via *via);
/* mark_page_dirty_in_slot() with no vCPU running: the same for a caller that already holds
 * the slot. A retired slot has no bitmap: nothing is marked, false. */
bool kvmm_dirty_mark_in_slot(struct kvmm_slots *s, const struct kvmm_memslot *slot,
                             uint64_t gfn);
/*
 * mark_page_dirty_in_slot() with a vCPU running (a write KVM makes for it): with the dirty
 * ring, returns true and the entry to push into that vCPU's ring, *ring_slot = as_id << 16 |
 * id and *offset = gfn - base_gfn, whatever the page's tracking state (the write went through
 * the host mapping); without it, sets the bitmap bit as kvmm_dirty_mark_in_slot() and returns
 * false. Nothing for a slot that does not log, or a retired one.
 */
bool kvmm_dirty_mark_vcpu(struct kvmm_slots *s, const struct kvmm_memslot *slot, uint64_t gfn,
                          uint32_t *ring_slot, uint64_t *offset);
/*
 * A guest store to gfn of address space as_id: the write fault of a page whose tracking is
 * armed. Bitmap: kvmm_dirty_mark() (via NULL), false. Dirty ring: if the page is armed,
 * disarms it and returns true with the entry to push into the storing vCPU's ring (as above);
 * false if it is not armed (the store is not logged) or the slot does not log.
 */
bool kvmm_dirty_guest_store(struct kvmm_slots *s, unsigned as_id, uint64_t gfn,
                            uint32_t *ring_slot, uint64_t *offset);

/*
 * KVM_GET_DIRTY_LOG for slot (as_id << 16 | id) into out (little-endian bit numbering, bit i =
 * page base_gfn + i; kvmm_dirty_bitmap_bytes() bytes written). *err: -ENXIO (the dirty ring
 * without bitmap backing, checked first), -EINVAL (as_id or id out of range), -ENOENT (no
 * slot, or logging off), -EFAULT (out NULL or shorter than the bitmap;
 * in default mode the bits are already cleared then, as in the kernel), else 0.
 * Default mode: snapshot-and-clear, re-arming exactly the pages that were set. Manual-protect
 * mode: the live bitmap, nothing cleared or re-armed. Returns 0.
 */
int kvmm_dirty_get_log(struct kvmm_slots *s, uint32_t slot, uint8_t *out, size_t outlen,
                       int *err);
/*
 * KVM_CLEAR_DIRTY_LOG: clears the bits of [first_page, first_page + num_pages) that are set
 * in bitmap (bit 0 = first_page; ALIGN(num_pages, 64) / 8 bytes read) and re-arms exactly the
 * pages whose bits were set. *err: -ENXIO (as GET), -EINVAL (as_id/id, first_page % 64,
 * range, num_pages not a multiple of 64 without reaching the slot's end), -ENOENT, -EFAULT
 * (bitmap shorter than needed), else 0. Works in both modes. Returns 0.
 */
int kvmm_dirty_clear_log(struct kvmm_slots *s, uint32_t slot, uint64_t first_page,
                         uint32_t num_pages, const uint8_t *bitmap, size_t len, int *err);
/*
 * KVM_ENABLE_CAP(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, args[0] = args0, flags). *err = -EINVAL if
 * flags != 0 or args0 has a bit outside ENABLE (outside manual_caps when ENABLE is set: so 2
 * alone is refused); else 0 and the mode is args0 (0 turns it off). Returns 0.
 */
int kvmm_dirty_enable_manual(struct kvmm_slots *s, uint64_t args0, uint32_t flags, int *err);
/* The current manual_dirty_log_protect value: 0, 1 or 3. */
uint64_t kvmm_dirty_manual(const struct kvmm_slots *s);

/* ---- the dirty ring's side of the table (A.7; the rings are ring.h's) ---------------------- */

/*
 * KVM_ENABLE_CAP(KVM_CAP_DIRTY_LOG_RING[_ACQ_REL]) succeeded (kvm->dirty_ring_size set; the
 * size checks are kvmm_ring_enable()'s): marks made for a vCPU go to its ring, slots that
 * start logging get no bitmap, and KVM_GET_DIRTY_LOG / KVM_CLEAR_DIRTY_LOG give ENXIO. Slots
 * logging already keep their bitmaps; their armed state is what the bitmap says. Returns 0 or
 * HV_ENOMEM (nothing changed). Idempotent.
 */
int kvmm_dirty_ring_on(struct kvmm_slots *s);
/*
 * KVM_ENABLE_CAP(KVM_CAP_DIRTY_LOG_RING_WITH_BITMAP) (kvm_vm_ioctl_enable_cap_generic()):
 * *err = -EINVAL unless the arch needs it (arm64: CONFIG_NEED_KVM_DIRTY_RING_WITH_BITMAP), the
 * ring is on, flags == 0 and no address space has a slot; else 0, and logging slots get a
 * bitmap again (written only by marks with no vCPU running). Returns 0.
 */
int kvmm_dirty_ring_with_bitmap(struct kvmm_slots *s, uint32_t flags, int *err);
bool kvmm_dirty_ring_enabled(const struct kvmm_slots *s);
/* kvm_use_dirty_bitmap(): no ring, or a ring with bitmap backing. */
bool kvmm_dirty_uses_bitmap(const struct kvmm_slots *s);
/*
 * kvm_reset_dirty_gfn() for one coalesced run of harvested entries: re-arms pages offset + i
 * (bit i of mask, mask != 0) of the slot named ring_slot, if that slot exists now and offset
 * + fls(mask) < npages (else nothing, as in the kernel); the rearm callback gets the run. May
 * be called in an open window (the kernel would wait for it; the result is the same).
 */
void kvmm_dirty_ring_rearm(struct kvmm_slots *s, uint32_t ring_slot, uint64_t offset,
                           uint64_t mask);
/* Marks lost so far: a write with no vCPU running, the dirty ring on, no bitmap to take it. */
uint64_t kvmm_dirty_lost(const struct kvmm_slots *s);

#endif
