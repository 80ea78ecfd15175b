/*
 * sim_int.h - sim/'s internal structures, shared by its files only.
 *
 * A VM owns N vCPUs; each vCPU owns one Unicorn engine. Guest physical memory is a sorted
 * table of RAM regions (host buffers); every engine maps those buffers, so all vCPUs see one
 * memory. What an engine maps depends on the arch (see mem.c):
 *   - aarch64, and x86_64 with paging off: the physical layout itself (RAM at its GPA, every
 *     hole an MMIO region that reports to the model);
 *   - x86_64 with paging on: a shadow of the vCPU's own page tables (Unicorn 2.0.1 ignores
 *     the physical address in x86 PTEs), re-derived at CR writes, invlpg and faults.
 *
 * Instruction counting (vcpu.c): a block hook adds each translation block's instruction count
 * as the block starts, and stops the engine at the first block boundary where the slice's
 * budget is spent. Exits inside a block recover the exact pc and instruction index.
 */
#ifndef HV_SIM_INT_H
#define HV_SIM_INT_H

#include <capstone/capstone.h>
#include <unicorn/unicorn.h>

#include "scenarios/lib/hv_abi.h"
#include "sim/migrate.h"
#include "sim/model.h"

/* Address passed as `until` to uc_emu_start, never executed. Unicorn ignores it: engines run
 * with its exit list on and empty (vcpu_open), so that no run ends by invalidating the
 * translated code at until - 1, a probe that on x86 walks the guest's page tables and leaves a
 * #PF behind (x86cpu.c: every run would then restore a whole context to clear it). */
#define HV_UNTIL 0x7ffedead0000ULL
/* Unicorn's UC_CTL macro shifts a signed int into the sign bit (undefined behaviour that UBSan
 * reports); the same encoding, computed unsigned. */
#define HV_UC_CTL(type, nr, rw)                                                              \
    ((uc_control_type)((unsigned)(type) | ((unsigned)(nr) << 26) | ((unsigned)(rw) << 30)))
#define hv_uc_request_cache(uc, addr, tb)                                                    \
    uc_ctl(uc, HV_UC_CTL(UC_CTL_TB_REQUEST_CACHE, 2, UC_CTL_IO_READ_WRITE), (addr), (tb))

/* Physical address space covered by hole MMIO regions. */
#define HV_PA_LIMIT_X86   (1ULL << 32)
#define HV_PA_LIMIT_ARM64 (1ULL << 40)
#define HV_PA_LIMIT_ARM   (1ULL << 32)

/* AArch32 CPSR bits hvsim reads or sets. */
#define A32_CPSR_T     (1u << 5)
#define A32_CPSR_MODE  0x1fu
#define A32_MODE_SVC   0x13u
#define A32_MODE_ABT   0x17u
#define A32_MODE_UND   0x1bu

/* x86cpu.c: the x86 state Unicorn keeps in its context only (segment caches, hidden flags) */
enum { X86_SEG_ES, X86_SEG_CS, X86_SEG_SS, X86_SEG_DS, X86_SEG_FS, X86_SEG_GS, X86_NSEG };
/* Descriptor attribute bits as QEMU keeps them in a segment cache's flags (the descriptor's
 * high word). */
#define X86_DESC_TYPE_SHIFT 8
#define X86_DESC_S         (1u << 12)
#define X86_DESC_DPL_SHIFT 13
#define X86_DESC_P         (1u << 15)
#define X86_DESC_L         (1u << 21)
#define X86_DESC_B         (1u << 22)
#define X86_DESC_G         (1u << 23)
#define X86_DESC_CS        (1u << 11)  /* code segment */
#define X86_DESC_C         (1u << 10)  /* code: conforming */
#define X86_DESC_W         (1u << 9)   /* data: writable */
struct x86_seg {
    uint32_t sel;
    uint64_t base;
    uint32_t limit;
    uint32_t flags;
};
struct x86_cpu {
    struct x86_seg seg[X86_NSEG];
    uint32_t hflags;   /* QEMU's hidden flags */
    uint64_t rflags;   /* the registers the mode also depends on */
    uint64_t cr0;
};
struct hv_region {
    uint64_t gpa, size;
    uint8_t *host;
    bool owned;       /* allocated by hv_vm_add_ram, freed with the VM */
    bool readonly;    /* guest stores become MMIO exits */
};

/* One MMIO mapping in an engine: what the callbacks need to turn an offset into a GPA. */
struct hv_mmio_map {
    struct hv_vcpu *v;
    uint64_t va;       /* where it is mapped in the engine */
    uint64_t gpa;      /* the GPA at offset 0 */
    uint64_t size;
};

/* A run of va -> gpa for size bytes; as a piece of the engine map, also what backs it. */
struct hv_run {
    uint64_t va, gpa, size;
    bool writable;
    uint8_t *host;              /* RAM piece: the host bytes; NULL for an MMIO piece */
    bool readonly;              /* RAM piece of a read-only region */
    struct hv_mmio_map *mmio;   /* MMIO piece: the callbacks' user data (owned) */
    bool kept;                  /* scratch for apply_pieces() */
};

struct hv_blk {
    uint64_t pc;
    uint32_t size;     /* bytes, as the block hook reports */
    uint32_t icount;
    uint16_t *offs;    /* x86 and T32: instruction start offsets, decoded on demand (icount
                        * entries) */
    bool thumb;        /* arm: a T32 block (instructions of 2 or 4 bytes) */
    uint8_t x86_bits;  /* x86: 16 or 32 for 16- or 32-bit code (real, protected or
                        * compatibility mode) as first seen; 0 for 64-bit code */
    uint64_t cs_base;  /* x86: CS.base when first seen (pc = CS.base + RIP) */
    uint8_t rep_len;   /* x86: the block starts with a REP string instruction this long */
    uint8_t rep_cnt_bits; /* and counts in CX, ECX or RCX (16, 32, 64: its address size) */
};

struct hv_blktab {
    struct hv_blk *slots;
    size_t cap, used;  /* open addressing, cap a power of two */
};

enum hv_vstate { VS_RUNNABLE, VS_HALTED, VS_DONE, VS_STOPPED, VS_FAILED };

/* One data access of an instruction (pcfind.c). */
struct pcfind_acc {
    uint64_t va;       /* guest-virtual address of its first byte */
    unsigned size;     /* 1..16 bytes */
    bool write;
    bool twice;        /* QEMU stores it twice, a dummy 0 first (x86 ins) */
};
#define PCFIND_MAX_ACC 16

/* The instruction behind an MMIO piece, and its accesses (pcfind_mmio). */
struct pcfind_hit {
    uint64_t pc;
    uint32_t index;    /* in the current block */
    unsigned len;      /* bytes */
    bool isv;          /* Arm: a data abort on it has a valid syndrome (dabt.c); x86: true */
    unsigned nacc;
    struct pcfind_acc acc[PCFIND_MAX_ACC]; /* in the order the hypervisor performs them */
};

/* An access being assembled from Unicorn's pieces (mmio.c): up to two page parts. */
struct hv_mmio_part {
    uint64_t eaddr;    /* engine address of its first byte (x86: virtual; Arm: physical) */
    uint64_t gpa;
    uint8_t off, len;  /* bytes [off, off + len) of the access */
    bool exit;         /* its bytes go to the model (no RAM, or a store to read-only RAM) */
    bool ram;          /* RAM backs it (read-only, if exit is set for a store) */
};

struct hv_mmio_acc {
    struct pcfind_acc a;
    struct hv_mmio_part part[2];
    unsigned nparts;
    uint32_t need;     /* bytes (bit i = byte i) that exits carry */
    uint32_t have;     /* of those, the bytes Unicorn has read or written so far */
    bool exited;       /* its exits are made */
    uint8_t data[16];  /* the bytes: answered (read), or collected (write) */
};

enum hv_mmio_state { MMIO_NONE, MMIO_OPEN, MMIO_DONE };

/* The instruction execution whose accesses are being assembled (mmio.c). */
struct hv_mmio_elem {
    enum hv_mmio_state state;
    uint64_t pc, icount;
    unsigned nacc;
    struct hv_mmio_acc acc[PCFIND_MAX_ACC];
};

/* Arm: an access without a valid syndrome, stopped and undone to report it (mmio.c). */
struct hv_nisv {
    bool pending;              /* the engine is stopping at the access */
    bool stop_next_block;      /* v->stop_next_block before it */
    uc_context *ctx;           /* the vCPU as the instruction found it */
    struct hv_exit_dabt exit;
    uint64_t pc, icount;
    bool bypass;               /* the model chose the default: this execution is plain MMIO */
    uint64_t bypass_pc, bypass_icount;
    uint64_t last_pc, last_icount;
    unsigned repeats;          /* the same instruction reported again without progress */
};

enum hv_stop {
    STOP_NONE = 0,
    STOP_SLICE,        /* budget spent at a block boundary */
    STOP_PAUSE,        /* a pause point for the runner (sync / icount) */
    STOP_REMAP,        /* re-derive mappings, then continue the slice */
    STOP_RETRANSLATE,  /* hooks were added for special instructions: flush and continue */
    STOP_EXCEPTION,    /* deliver v->pend_vec */
    STOP_VCPU,         /* the vCPU left the runnable set (done, halted, stopped) */
    STOP_END,          /* the run ended */
};

struct hv_vcpu {
    struct hv_vm *vm;
    unsigned id;
    uc_engine *uc;
    enum hv_vstate state;
    char state_why[64];       /* the reason of the last change of state (cut to fit) */
    uint64_t state_pc;        /* and the pc it happened at */
    uint64_t entry;
    uint64_t arg0;

    uint64_t icount;          /* retired instructions (counted at block starts) */
    uint64_t blk_pc;          /* current block */
    uint64_t blk_base;        /* icount before the current block */
    uint32_t blk_size;
    bool blk_thumb;           /* arm: the current block is T32 */
    uint8_t blk_x86_bits;     /* x86: the current block's hv_blk.x86_bits */
    uint64_t blk_cs_base;     /* x86: the current block's hv_blk.cs_base */
    uint64_t slice_end;
    uint64_t pause_icount;    /* pause when icount reaches this (0: never) */

    enum hv_stop stop;        /* why the engine stopped */
    bool stop_next_block;     /* stop at the next block start with reason `stop_next` */
    enum hv_stop stop_next;
    uint64_t resume_pc;
    bool resume_valid;

    /* exception pending delivery */
    bool pend;
    unsigned pend_vec;
    uint64_t pend_err;
    uint64_t pend_addr;
    uint64_t pend_pc;         /* x86: linear (CS.base + RIP), as every x86 pc in hvsim */
    bool pend_soft;           /* x86: raised by int n / int3 / into (pc after it, no error
                               * code, gate DPL checked) */

    /* exits: exact pc and icount of the instruction being handled */
    uint64_t exit_pc;
    uint64_t exit_icount;
    bool in_exit;
    /* inside the model's guest_write op: the store's address, located on the first event the
     * model emits (vm.c hv_vcpu_emit) */
    bool in_store;
    uint64_t store_va;

    /* MMIO accesses (mmio.c) */
    struct hv_mmio_elem mmio;
    struct hv_nisv nisv;

    /* engine map */
    struct hv_run *runs;      /* the mapped pieces, one entry per uc_mem_map/uc_mmio_map */
    size_t nruns;
    bool paging;              /* x86: CR0.PG seen set at the last remap */
    uint64_t root;            /* CR3 / TTBR0 at the last remap */
    bool remap_pending;
    const char *remap_why;

    /* special-instruction hooks (x86: msr, cr writes, invlpg, rdtsc, rdtscp; arm:
     * conditional SMC/HVC) */
    uint64_t *hooked;
    size_t nhooked;
    uint64_t *to_hook;
    size_t nto_hook;
    struct hv_blktab blocks;
    struct hv_blk *last_blk;  /* the last block seen; NULL whenever the table changes */
    uc_context *fault_ctx;    /* x86: scratch context for x86cpu.c */
    struct x86_cpu xc;        /* x86: the state hook_invalid() read (x86cpu_sync), valid while */
    bool xc_fresh;            /* xc_fresh: until the next uc_emu_start or delivery of the same
                               * slice, so the restart after a vmcall needs no second read */
    uc_context *reset_ctx;    /* Arm: the engine before its first run, for hv_vcpu_start */
    uint64_t iobs_last;       /* the count hook_insn() last reported + 1 (0: none yet) */
    bool iobs_hooked;         /* this engine has the instruction observer's code hook */
    bool robs_hooked;         /* this engine has the read observer's load hook */
    uc_hook write_hook;       /* UC_HOOK_MEM_WRITE while write tracking is on */
    bool write_hooked;
    uint64_t last_fault_pc;
    uint64_t last_fault_icount;
    unsigned same_fault;
};

/* The last write to one page (migrate.h). */
struct hv_prov {
    uint64_t key;             /* gfn + 1; 0 = empty slot */
    struct hv_write_rec rec;
};

/* A pending hv_vm_after() callback. */
struct hv_after {
    uint64_t id;
    uint64_t due;             /* VM-wide instruction count */
    char what[64];
    hv_after_fn fn;
    void *ctx;
};

struct hv_vm {
    struct hv_vm_config cfg;
    enum hv_arch arch;
    const struct hv_model_ops *model;
    void *model_data;
    struct hv_vcpu *vcpus;
    unsigned nr;

    struct hv_region *regions;
    size_t nregions, regions_cap;

    uint64_t seq;
    uint64_t ev_bytes;        /* what the trace-size budget counts (hv_vm_config) */
    struct hv_vm *seq_owner;  /* a migration's destination numbers its events with its
                               * source's counter until it takes over (migrate.h) */
    uint64_t prng;
    enum hv_outcome outcome;
    int err;                  /* the hv_err that ended the run, if any */

    bool track_writes;
    bool prov_on;             /* write provenance (migrate.h) */
    struct hv_prov *prov;     /* open addressing by gfn + 1; 0 = empty */
    size_t prov_cap, prov_n;
    hv_write_observer_fn wobs;  /* hv_vm_observe_writes(), NULL = none */
    hv_write_want_fn wobs_want;
    void *wobs_ctx;
    hv_insn_observer_fn iobs;   /* hv_vm_observe_insns(), NULL = none */
    void *iobs_ctx;
    hv_write_observer_fn robs;  /* hv_vm_observe_reads(), NULL = none */
    hv_write_want_fn robs_want;
    void *robs_ctx;
    uint64_t pause_total;     /* hv_vm_pause_at_total(), 0 = none */
    uint64_t pause_seq;       /* hv_vm_pause_at_seq(), 0 = none */
    uint64_t legs;            /* continuation legs so far (HV_ACT_YIELD) */
    uint64_t pause_legs;      /* hv_vm_pause_at_leg(), 0 = none */
    struct hv_vcpu *current;  /* the vCPU running a slice, or NULL */
    struct hv_vcpu *last_run; /* the vCPU that ran the last slice (sched_switch), or NULL */
    enum hv_desched last_why; /* and how that slice left it */
    bool pause_on_sync;
    bool paused;
    struct hv_vcpu *paused_vcpu;
    uint64_t paused_sync;
    bool started;

    char *output;             /* GUEST_PRINTF text */
    size_t output_len, output_cap;
    char *assert_file, *assert_expr, *assert_text;
    uint64_t assert_line;

    struct hv_after *afters;  /* pending callbacks, sorted by (due, id) */
    size_t nafters;
    uint64_t after_ids;       /* ids handed out so far */

    csh cs;                   /* capstone handle for the arch (arm: A32, x86: 64-bit) */
    csh cs_thumb;             /* arm: a second handle for T32 code, else 0 */
    csh cs32, cs16;           /* x86: handles for 32- and 16-bit code, else 0 */
    char *evbuf;
    size_t evbuf_size;
};

/* vm.c */
int vm_emit(struct hv_vm *vm, int32_t vcpu, uint64_t icount, uint64_t pc,
            enum hv_ev_kind kind, const void *fields);
void vm_end(struct hv_vm *vm, enum hv_outcome o);
/* Ends the run with a simulator error (out of memory, ...) that hv_vm_run() returns; the
 * first error is kept. Returns err. */
int vm_fail(struct hv_vm *vm, int err);
/* A vCPU's engine to its power-on state (and, Arm, that state kept for PSCI CPU_ON). */
int vm_power_on(struct hv_vcpu *v);
struct hv_region *vm_region_find(struct hv_vm *vm, uint64_t gpa);
/* Index of the first region that ends above gpa (nregions if none): the one holding gpa, or
 * else the next one up. O(log n). */
size_t vm_region_above(const struct hv_vm *vm, uint64_t gpa);
void vcpu_set_state(struct hv_vcpu *v, enum hv_vstate s, const char *why);
int vm_err_uc(uc_err e, const char *what);

/* vcpu.c */
int vm_write_hooks(struct hv_vm *vm);
int vcpu_open(struct hv_vcpu *v);
/* Adds the instruction observer's code hook to v's engine if the VM has one (migrate.h). */
int vcpu_insn_hook(struct hv_vcpu *v);
/* Adds the read observer's load hook to v's engine if the VM has one (migrate.h). */
int vcpu_read_hook(struct hv_vcpu *v);
void vcpu_close(struct hv_vcpu *v);
/* A new engine for v in the same state, with nothing mapped (mem.c maps it). */
int vcpu_reopen(struct hv_vcpu *v);
int vcpu_reset(struct hv_vcpu *v);
int vcpu_run_slice(struct hv_vcpu *v, uint64_t budget);
uint64_t vcpu_read_pc(struct hv_vcpu *v);
void vcpu_write_pc(struct hv_vcpu *v, uint64_t pc);
void vcpu_drop_code(struct hv_vcpu *v, uint64_t va, uint64_t len);
/* The guest's time-stamp counter (x86 rdtsc, rdtscp): hv_vm_now(), one tick per retired guest
 * instruction; the one place that computes it. */
uint64_t vcpu_tsc(struct hv_vcpu *v);

/* MMIO callbacks (vcpu.c), installed by mem.c */
uint64_t vcpu_mmio_read(uc_engine *uc, uint64_t off, unsigned size, void *ud);
void vcpu_mmio_write(uc_engine *uc, uint64_t off, unsigned size, uint64_t val, void *ud);
/* Requests a stop at the next block boundary (the strongest reason wins). */
void vcpu_stop_next(struct hv_vcpu *v, enum hv_stop why);
void vm_ucall(struct hv_vcpu *v, uint64_t gva);

/* mmio.c */
/*
 * One piece of a guest access as Unicorn delivers it: an MMIO callback, or a store into a
 * read-only region the write-protect hook caught. n bytes at engine address addr (x86: the
 * virtual address; Arm: the physical one), guest-physical gpa; *data in for a store, out for
 * a load.
 */
void mmio_piece(struct hv_vcpu *v, uint64_t addr, uint64_t gpa, unsigned n, bool write,
                uint64_t *data);
/* Forgets an access being assembled (a new run of the engine, an exception). */
void mmio_reset(struct hv_vcpu *v);
/* After the engine stopped with v->nisv.pending: restores the vCPU as the instruction found
 * it, reports the access to the model and applies its answer. Returns 0 or an hv_err. */
int mmio_nisv_finish(struct hv_vcpu *v);
void mmio_fini(struct hv_vcpu *v);

/* dabt.c: does a data abort on this instruction have a valid syndrome (ESR_ELx.ISV)? */
bool dabt_isv_a64(uint32_t insn);
bool dabt_isv_a32(const cs_insn *insn);   /* A32 or T32, decoded with details */

/* mem.c */
int mem_fault_in(struct hv_vcpu *v, const struct hv_run *r);
/* The run of the engine map holding va, or NULL. */
const struct hv_run *mem_run_at(const struct hv_vcpu *v, uint64_t va);
int mem_remap(struct hv_vcpu *v, const char *why);
void mem_unmap_all(struct hv_vcpu *v);
int mem_walk(struct hv_vcpu *v, uint64_t va, uint64_t *gpa, bool *writable);
/* True if fetching at va reads guest-physical memory no RAM backs: va translates to a hole, or
 * a page-table entry on the way lies in one; *gpa is that address. False if va translates to
 * RAM or the tables have no mapping for it (a guest fault). */
bool mem_fetch_unbacked(struct hv_vcpu *v, uint64_t va, uint64_t *gpa);
/* arm: the short-descriptor fault status a fault at va has in the guest's tables (0x05 / 0x07
 * translation fault, section / page; 0x0d / 0x0f permission fault). */
unsigned mem_a32_fault_status(struct hv_vcpu *v, uint64_t va);

/* blocks.c */
static inline size_t blk_hash(uint64_t pc, uint32_t size)
{
    uint64_t h = (pc ^ ((uint64_t)size << 48)) * 0x9e3779b97f4a7c15ULL;
    return (size_t)(h >> 17);
}
/* The block (pc, size), or NULL. Inline: the block hook probes the table on every block. */
static inline struct hv_blk *blk_lookup(struct hv_blktab *t, uint64_t pc, uint32_t size)
{
    if (!t->cap)
        return NULL;
    size_t mask = t->cap - 1;
    for (size_t i = blk_hash(pc, size) & mask;; i = (i + 1) & mask) {
        struct hv_blk *b = &t->slots[i];
        if (!b->size)
            return NULL;
        if (b->pc == pc && b->size == size)
            return b;
    }
}
struct hv_blk *blk_insert(struct hv_blktab *t, uint64_t pc, uint32_t size, uint32_t icount);
void blk_clear(struct hv_blktab *t);
void blk_fini(struct hv_blktab *t);
/* Index of the instruction at pc within the block starting at b->pc (x86 decodes). */
int blk_index(struct hv_vcpu *v, struct hv_blk *b, uint64_t pc, uint32_t *index);

/* pcfind.c: exact pc of the instruction in the current block that made a data access */
int pcfind_access(struct hv_vcpu *v, uint64_t va, bool write, uint64_t *pc, uint32_t *index,
                  unsigned *size);
/* First instruction at or after hint in the current block whose Capstone id is in ids. */
int pcfind_insn(struct hv_vcpu *v, uint64_t hint, const unsigned *ids, size_t nids, uint64_t *pc,
                uint32_t *index);
/* Effective address of the (first) memory operand of the instruction at pc, and (write not
 * NULL) whether it is a store. */
int pcfind_ea(struct hv_vcpu *v, uint64_t pc, uint64_t *ea, bool *write);
/*
 * The instruction in the current block behind an MMIO piece of n bytes at engine address addr
 * (x86: virtual; Arm: physical) in direction write, with all its data accesses: the first
 * instruction one of whose accesses overlaps the piece (for a load, failing that, lies within
 * 8 bytes of it: QEMU's aligned halves of an unaligned access). HV_EINVAL if none.
 */
/*
 * What an earlier access of the same block execution rules out (mmio.c): instructions run in
 * order, so a later access is at index or after it, and at index only if that instruction
 * still has an access of this direction to make (a read never follows a write of one
 * instruction: read-modify-write reads first).
 */
struct pcfind_floor {
    bool on;
    uint32_t index;
    bool wrote;          /* the access at index included a write */
    unsigned same_dir;   /* its accesses in the direction being located */
};
int pcfind_mmio(struct hv_vcpu *v, uint64_t addr, unsigned n, bool write,
                const struct pcfind_floor *floor, struct pcfind_hit *out);

/* excp.c */
int excp_deliver(struct hv_vcpu *v);
const char *excp_name(enum hv_arch arch, unsigned vec);

/* x86cpu.c */
/* Calibrates once per process and gives v its scratch context; HV_EUNICORN if this Unicorn
 * keeps the state elsewhere. Called at every x86 engine open. */
int x86cpu_init(struct hv_vcpu *v);
/* The engine's state now. */
int x86cpu_get(struct hv_vcpu *v, struct x86_cpu *c);
/* The same, and Unicorn's remembered contributory fault cleared (before every run: a real CPU
 * keeps no such state between instructions, and without this the next fault becomes #DF). */
int x86cpu_sync(struct hv_vcpu *v, struct x86_cpu *c);
/* Writes c's segments and hidden flags into the engine (and clears the remembered fault). */
int x86cpu_set(struct hv_vcpu *v, const struct x86_cpu *c);
/* Loads one segment into c as cpu_x86_load_seg_cache() does, hidden flags included. */
void x86cpu_load_seg(struct x86_cpu *c, unsigned seg, uint32_t sel, uint64_t base,
                     uint32_t limit, uint32_t flags);
/* hvm_guest_x86_mode(): 0 real, 1 virtual-8086, 2 16-bit, 4 32-bit, 8 64-bit. */
unsigned x86cpu_mode(const struct x86_cpu *c);
/* How code decodes: 64, 32 or 16. */
unsigned x86cpu_bits(const struct x86_cpu *c);
/* CPL (SS.DPL; 3 in virtual-8086 mode). */
unsigned x86cpu_cpl(const struct x86_cpu *c);
/* EFER.LMA: IA-32e mode (64-bit or compatibility). */
bool x86cpu_long_mode(const struct x86_cpu *c);

/* arch.c */
int arch_reg_id(enum hv_arch a, const char *name);
int arch_gpr_id(enum hv_arch a, unsigned idx);
/* AArch64 system register by name, for UC_ARM64_REG_CP_REG; -1 if unknown. */
int arch_sysreg(enum hv_arch a, const char *name, uc_arm64_cp_reg *out);
/* AArch32 CP15 register by name ("sctlr", "ttbr0", ...), for UC_ARM_REG_CP_REG; -1 if
 * unknown. The Non-secure copy of banked registers: the guest runs Non-secure. */
int arch_cp15(enum hv_arch a, const char *name, uc_arm_cp_reg *out);
/* Reads / writes one CP15 register of an arm engine (0 if unreadable). */
uint32_t a32_cp15_read(uc_engine *uc, uint32_t crn, uint32_t opc1, uint32_t crm, uint32_t opc2);
void a32_cp15_write(uc_engine *uc, uint32_t crn, uint32_t opc1, uint32_t crm, uint32_t opc2,
                    uint32_t val);
/* Opens a Capstone handle with details on; variant: arm 1 = T32, x86 32 or 16 = 32- or
 * 16-bit code, 0 = the arch's default. */
int sim_cs_open(enum hv_arch arch, unsigned variant, csh *h);
/* The capstone handle for a block of that kind (T32, 16- or 32-bit x86, or the arch's own). */
csh sim_blk_cs(const struct hv_vm *vm, bool thumb, unsigned x86_bits);
/* The capstone handle that decodes v's current block. */
csh vcpu_cs(const struct hv_vcpu *v);

/* migrate.c */
void prov_record(struct hv_vm *vm, int32_t vcpu, uint64_t pc, uint64_t icount, uint64_t gpa,
                 uint64_t len, const char *path);

/* sched.c: splitmix64 */
uint64_t sched_next(uint64_t *state);
uint64_t sched_below(uint64_t *state, uint64_t n);
/* schedule.c: the next slice of vm: *vcpu among runnable[0..n) (n >= 2, in id order), *budget
 * >= 1, from vm->cfg.schedule when loaded, else drawn from vm->prng; recorded either way. */
void sched_slice(struct hv_vm *vm, const unsigned *runnable, unsigned n, unsigned *vcpu,
                 uint64_t *budget);

/* loader.c */
int loader_load(struct hv_vm *vm, const void *image, size_t len, uint64_t *entry);

#endif
