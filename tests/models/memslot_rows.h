/*
 * memslot_rows.h - the rule tables of the KVM model's memslot and dirty-log unit tests
 * (test_memslot.c), declared once: A.1-A.3 updates from a prior state, and A.7's
 * KVM_GET_DIRTY_LOG, KVM_CLEAR_DIRTY_LOG and KVM_ENABLE_CAP(MANUAL_DIRTY_LOG_PROTECT2). The
 * real-kernel crosscheck (tests/crosscheck/test_realkvm.c) runs the same rows on /dev/kvm.
 */
#ifndef HV_TESTS_MEMSLOT_ROWS_H
#define HV_TESTS_MEMSLOT_ROWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "models/kvm/memslot.h"

#define KB4 0x1000ull
#define MB 0x100000ull
#define MB2 0x200000ull
#define HVA 0x7f0000000000ull          /* the VMM's buffers: slot hva = HVA + gpa */
/* TASK_SIZE_MAX: x86-64 task_size_max() (arch/x86/include/asm/page_64_types.h) with 4-level
 * paging, (1 << 47) - PAGE_SIZE, and 5-level, (1 << 56) - PAGE_SIZE; arm64 1 << VA_BITS
 * (arch/arm64/include/asm/processor.h), VA_BITS 48 and 52. */
#define VA_LIMIT ((1ull << 47) - 4096)
#define VA_LIMIT_LA57 ((1ull << 56) - 4096)
#define VA_LIMIT_A64 (1ull << 48)
#define VA_LIMIT_A64_52 (1ull << 52)
#define PFN_BASE 0x600000000000ull     /* arm64 host: a VM_PFNMAP mapping (256 MiB) */
#define NOMTE_BASE 0x610000000000ull   /* arm64 host: a mapping without MTE (256 MiB) */
#define LOG KVMM_MEM_LOG_DIRTY_PAGES
#define RO KVMM_MEM_READONLY
#define GMEM KVMM_MEM_GUEST_MEMFD
#define AS1 (1u << 16)
#define AS2 (2u << 16)

/* The hosts the rows run on. */
enum cfg {
    X86,          /* v6.12 x86 host: 2 address spaces, 32764 slots, READONLY, MAXPHYADDR 46 */
    X86_NORO,     /* ... without read-only memslots */
    X86_PRIV,     /* ... a VM with private memory: GUEST_MEMFD, 1 address space */
    X86_KVMGT,    /* ... with an external page tracker attached */
    X86_OLD,      /* ... the 509-slot knob */
    ARM64,        /* v6.12 arm64 host: 1 address space, 32767 slots, 40-bit IPA */
    ARM64_MTE,    /* ... with MTE enabled for the VM */
    X86_LA57,     /* x86 host with 5-level paging */
    ARM64_VA52,   /* arm64 host with VA_BITS 52 */
};

/* The memslot table's shape for c (a v6.12 host of that kind); rearm left NULL. */
void memslot_rows_params(enum cfg c, struct kvmm_slots_params *p);
/* The slots every rule row starts from, in creation order (KVM_SET_USER_MEMORY_REGION2 each);
 * returns how many (at most 4). */
size_t memslot_rows_prior(enum cfg c, struct kvmm_region out[4]);

/* ---- A.1-A.3: one row per rule, in the kernel's order ---- */

struct rule_row {
    const char *why;             /* the reference section and what the row shows */
    enum cfg cfg;
    bool v2;
    struct kvmm_region r;
    int err;
    enum kvmm_rule rule;
    enum kvmm_change change;
    unsigned swaps;              /* generation steps of the region's address space */
};

#define R(slot, flags, gpa, size, hva) { slot, flags, gpa, size, hva, 0, 0 }
#define RG(slot, flags, gpa, size, hva, off) { slot, flags, gpa, size, hva, off, 7 }
#define OK(change, swaps) 0, KVMM_RULE_OK, KVMM_CHANGE_##change, swaps
#define NO(eno, rule) -eno, KVMM_RULE_##rule, KVMM_CHANGE_UNSET, 0
#define NO_AS(eno, rule, change, swaps) -eno, KVMM_RULE_##rule, KVMM_CHANGE_##change, swaps

extern const struct rule_row memslot_rule_rows[];
extern const size_t memslot_nrule_rows;

/* ---- A.7: GET and CLEAR from a logging table, ENABLE_CAP ---- */

/*
 * The table the GET rows start from: slot 1 [MB, 2 MB) without logging, slot 2 at 2 MB of
 * DIRTY_GET_PAGES pages with LOG_DIRTY_PAGES (manual protect off, then on). The CLEAR rows
 * start from the same with DIRTY_CLEAR_PAGES pages and slot 3 at 4 MB, 128 pages, logging.
 */
#define DIRTY_GET_PAGES 256
#define DIRTY_CLEAR_PAGES 200
#define DIRTY_SLOT3_PAGES 128
/* The slots of that table (clear: the CLEAR rows'), in creation order; returns how many. */
size_t dirty_rows_prior(bool clear, struct kvmm_region out[3]);

struct dirty_get_row {
    const char *why;
    uint32_t slot;
    bool nobuf;                  /* a NULL dirty_bitmap */
    size_t len;                  /* else the bytes the caller's buffer has */
    int err;
};
extern const struct dirty_get_row dirty_get_rows[];
extern const size_t dirty_nget_rows;

struct dirty_clear_row {
    const char *why;
    uint32_t slot;
    uint64_t first;
    uint32_t num;
    bool nobuf;
    size_t len;
    int err;
};
extern const struct dirty_clear_row dirty_clear_rows[];
extern const size_t dirty_nclear_rows;

/* KVM_ENABLE_CAP(MANUAL_DIRTY_LOG_PROTECT2) on a host whose KVM_DIRTY_LOG_MANUAL_CAPS is caps. */
struct manual_cap_row {
    unsigned caps;
    uint64_t args0;
    uint32_t flags;
    int err;
};
extern const struct manual_cap_row manual_cap_rows[];
extern const size_t manual_ncap_rows;

#endif
