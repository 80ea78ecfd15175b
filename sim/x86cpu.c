/*
 * x86cpu.c - the x86 CPU state Unicorn 2.0.1 keeps but does not expose through its registers:
 * the hidden part of the segment registers (base, limit, attributes) and QEMU's hidden flags
 * (CPL, code-segment size, long mode), which together are the CPU mode; and the remembered
 * contributory fault.
 *
 * Unicorn reads and writes segment registers as selectors only (writing CS in a UC_MODE_64
 * engine changes the selector, not the descriptor cache), yet it executes with the descriptor
 * cache: compatibility mode, real mode with CS != 0 and CPL 3 all live there. Its saved context
 * (uc_context_save) is a raw copy of QEMU's CPUX86State, so hvsim reads these fields from a
 * saved context and writes them by patching one and restoring it. The offsets are found once
 * per process in a scratch engine from values written through the register API (calibrate()):
 *   - segs[6] (QEMU SegmentCache {u32 selector; u64 base; u32 limit; u32 flags}, 24 bytes, in
 *     the order ES CS SS DS FS GS): the offset where the selectors written to ES, CS, SS, DS
 *     read back 24 bytes apart, confirmed by the FS base written as UC_X86_REG_FS_BASE;
 *   - hflags: the 32-bit word 8 bytes before segs (then hflags2), confirmed by a fresh
 *     UC_MODE_64 engine's PE, LMA and CS64 bits;
 *   - old_exception: the word that goes -1 -> 0 (#DE) -> 8 (#DF) over two faults.
 * If a calibration fails the Unicorn build is not the one hvsim was made for: every x86 engine
 * open fails with HV_EUNICORN instead of running guests in a mode hvsim cannot see.
 *
 * Invariants:
 *   1. x86cpu_get() describes the engine as it is at the call (nothing is cached: any guest
 *      instruction may change the mode).
 *   2. x86cpu_set() leaves the hidden flags consistent with the segments it loads, as QEMU's
 *      cpu_x86_load_seg_cache() does (x86cpu_load_seg()).
 */
#include <string.h>

#include "sim/sim_int.h"

/* QEMU target/i386/cpu.h: hidden flags hvsim reads or keeps consistent. */
#define HF_CPL_MASK    3u
#define HF_CS32_MASK   (1u << 4)
#define HF_SS32_MASK   (1u << 5)
#define HF_ADDSEG_MASK (1u << 6)
#define HF_PE_MASK     (1u << 7)
#define HF_LMA_MASK    (1u << 14)
#define HF_CS64_MASK   (1u << 15)
#define RFLAGS_VM      (1ULL << 17)

#define SEG_SIZE 24 /* sizeof(SegmentCache) with a 64-bit target_ulong */

static struct {
    bool done;
    bool ok;
    long segs;     /* offset of segs[0] in a saved context (uc_context header included) */
    long hflags;
    long old_exc;  /* -1: not found (then nothing is cleared) */
} layout;

/* ---- calibration ---- */

struct calib {
    uc_context *ctx[3];
    int hits;
};

/* Saves the context at each fault and skips the two-byte div, so both faults are seen. */
static void calib_intr(uc_engine *uc, uint32_t intno, void *ud)
{
    struct calib *c = ud;
    (void)intno;
    if (c->hits < 2)
        uc_context_save(uc, c->ctx[++c->hits]);
    uint64_t rip = 0;
    uc_reg_read(uc, UC_X86_REG_RIP, &rip);
    rip += 2;
    uc_reg_write(uc, UC_X86_REG_RIP, &rip);
}

static long calibrate_old_exception(uc_engine *uc, size_t size)
{
    static const uint8_t code[] = { 0x31, 0xc9, 0xf7, 0xf1, 0xf7, 0xf1 }; /* xor ecx; div x2 */
    struct calib c = { { NULL, NULL, NULL }, 0 };
    long found = -1;
    uc_hook h;
    for (int i = 0; i < 3; i++)
        if (uc_context_alloc(uc, &c.ctx[i]) != UC_ERR_OK)
            goto out;
    uc_mem_map(uc, 0x1000, 0x1000, UC_PROT_ALL);
    uc_mem_write(uc, 0x1000, code, sizeof code);
    uc_hook_add(uc, &h, UC_HOOK_INTR, (void *)calib_intr, &c, 1, 0);
    uc_context_save(uc, c.ctx[0]);
    /* #DE, then a second #DE that Unicorn turns into #DF */
    if (uc_emu_start(uc, 0x1000, 0x1000 + sizeof code, 0, 20) != UC_ERR_OK || c.hits != 2)
        goto out;
    for (size_t off = 0; off + 4 <= size; off += 4) {
        int32_t a, b, d;
        memcpy(&a, (char *)c.ctx[0] + off, 4);
        memcpy(&b, (char *)c.ctx[1] + off, 4);
        memcpy(&d, (char *)c.ctx[2] + off, 4);
        if (a == -1 && b == 0 && d == 8) {
            found = (long)off;
            break;
        }
    }
out:
    for (int i = 0; i < 3; i++)
        if (c.ctx[i])
            uc_context_free(c.ctx[i]);
    return found;
}

static uint32_t ctx_u32(const uc_context *ctx, long off)
{
    uint32_t v;
    memcpy(&v, (const char *)ctx + off, 4);
    return v;
}

static uint64_t ctx_u64(const uc_context *ctx, long off)
{
    uint64_t v;
    memcpy(&v, (const char *)ctx + off, 8);
    return v;
}

/* The segment cache and hidden flags, from selectors and a base written through the API. */
static bool calibrate_segs(uc_engine *uc, size_t size)
{
    static const uint64_t sel[4] = { 0x1357, 0x2468, 0x3579, 0x468a }; /* ES CS SS DS */
    static const int regs[4] = { UC_X86_REG_ES, UC_X86_REG_CS, UC_X86_REG_SS, UC_X86_REG_DS };
    const uint64_t fs_base = 0x0123456789abcdefULL;
    uc_context *ctx = NULL;
    bool ok = false;
    if (uc_context_alloc(uc, &ctx) != UC_ERR_OK)
        return false;
    uc_context_save(uc, ctx); /* a fresh engine: 64-bit mode, CPL 0 */
    uc_context *fresh = NULL;
    if (uc_context_alloc(uc, &fresh) != UC_ERR_OK)
        goto out;
    uc_context_save(uc, fresh);
    for (int i = 0; i < 4; i++)
        uc_reg_write(uc, regs[i], &sel[i]);
    uc_reg_write(uc, UC_X86_REG_FS_BASE, &fs_base);
    uc_context_save(uc, ctx);
    for (long off = SEG_SIZE; off + 6 * SEG_SIZE <= (long)size; off += 4) {
        bool match = true;
        for (int i = 0; i < 4 && match; i++)
            match = ctx_u32(ctx, off + i * SEG_SIZE) == sel[i];
        if (!match || ctx_u64(ctx, off + 4 * SEG_SIZE + 8) != fs_base)
            continue;
        uint32_t hf = ctx_u32(fresh, off - 8);
        uint32_t need = HF_PE_MASK | HF_LMA_MASK | HF_CS64_MASK | HF_CS32_MASK;
        if ((hf & need) != need || (hf & HF_CPL_MASK))
            continue;
        layout.segs = off;
        layout.hflags = off - 8;
        ok = true;
        break;
    }
out:
    if (fresh)
        uc_context_free(fresh);
    uc_context_free(ctx);
    return ok;
}

static bool calibrate(void)
{
    if (layout.done)
        return layout.ok;
    layout.done = true;
    layout.old_exc = -1;
    uc_engine *uc = NULL;
    if (uc_open(UC_ARCH_X86, UC_MODE_64, &uc) != UC_ERR_OK)
        return false;
    size_t size = uc_context_size(uc);
    layout.ok = calibrate_segs(uc, size);
    uc_close(uc);
    if (uc_open(UC_ARCH_X86, UC_MODE_64, &uc) != UC_ERR_OK)
        return layout.ok = false;
    layout.old_exc = calibrate_old_exception(uc, size);
    uc_close(uc);
    return layout.ok;
}

int x86cpu_init(struct hv_vcpu *v)
{
    if (!calibrate())
        return hv_error_set(HV_EUNICORN, "this Unicorn build keeps the x86 segment state "
                                         "where hvsim cannot find it (Unicorn 2.0.1 expected)");
    if (!v->fault_ctx && uc_context_alloc(v->uc, &v->fault_ctx) != UC_ERR_OK)
        return hv_error_set(HV_EUNICORN, "allocating an x86 context");
    return 0;
}

/* ---- reading and writing ---- */

static void read_saved(const uc_context *ctx, struct x86_cpu *c)
{
    for (unsigned s = 0; s < X86_NSEG; s++) {
        long o = layout.segs + (long)s * SEG_SIZE;
        c->seg[s].sel = ctx_u32(ctx, o) & 0xffff;
        c->seg[s].base = ctx_u64(ctx, o + 8);
        c->seg[s].limit = ctx_u32(ctx, o + 16);
        c->seg[s].flags = ctx_u32(ctx, o + 20);
    }
    c->hflags = ctx_u32(ctx, layout.hflags);
}

static void read_regs(struct hv_vcpu *v, struct x86_cpu *c)
{
    uc_reg_read(v->uc, UC_X86_REG_RFLAGS, &c->rflags);
    uc_reg_read(v->uc, UC_X86_REG_CR0, &c->cr0);
}

int x86cpu_get(struct hv_vcpu *v, struct x86_cpu *c)
{
    memset(c, 0, sizeof *c);
    if (!v->fault_ctx || uc_context_save(v->uc, v->fault_ctx) != UC_ERR_OK)
        return HV_EUNICORN;
    read_saved(v->fault_ctx, c);
    read_regs(v, c);
    return 0;
}

int x86cpu_sync(struct hv_vcpu *v, struct x86_cpu *c)
{
    int err = x86cpu_get(v, c);
    if (err || layout.old_exc < 0)
        return err;
    int32_t cur;
    memcpy(&cur, (char *)v->fault_ctx + layout.old_exc, 4);
    if (cur == -1)
        return 0;
    int32_t none = -1;
    memcpy((char *)v->fault_ctx + layout.old_exc, &none, 4);
    return uc_context_restore(v->uc, v->fault_ctx) == UC_ERR_OK ? 0 : HV_EUNICORN;
}

int x86cpu_set(struct hv_vcpu *v, const struct x86_cpu *c)
{
    if (!v->fault_ctx || uc_context_save(v->uc, v->fault_ctx) != UC_ERR_OK)
        return HV_EUNICORN;
    for (unsigned s = 0; s < X86_NSEG; s++) {
        long o = layout.segs + (long)s * SEG_SIZE;
        uint32_t sel = c->seg[s].sel;
        memcpy((char *)v->fault_ctx + o, &sel, 4);
        memcpy((char *)v->fault_ctx + o + 8, &c->seg[s].base, 8);
        memcpy((char *)v->fault_ctx + o + 16, &c->seg[s].limit, 4);
        memcpy((char *)v->fault_ctx + o + 20, &c->seg[s].flags, 4);
    }
    memcpy((char *)v->fault_ctx + layout.hflags, &c->hflags, 4);
    if (layout.old_exc >= 0) {
        int32_t none = -1; /* a delivered exception is over: nothing to turn into #DF */
        memcpy((char *)v->fault_ctx + layout.old_exc, &none, 4);
    }
    return uc_context_restore(v->uc, v->fault_ctx) == UC_ERR_OK ? 0 : HV_EUNICORN;
}

/*
 * QEMU's cpu_x86_load_seg_cache(): the segment, and the hidden flags that follow from CS
 * (CS32, CS64), SS (CPL, SS32) and the data-segment bases (ADDSEG). c->cr0 and c->rflags are
 * the values in force (real and virtual-8086 mode always add segment bases).
 */
void x86cpu_load_seg(struct x86_cpu *c, unsigned seg, uint32_t sel, uint64_t base,
                     uint32_t limit, uint32_t flags)
{
    c->seg[seg] = (struct x86_seg){ .sel = sel & 0xffff, .base = base, .limit = limit,
                                    .flags = flags };
    uint32_t hf = c->hflags;
    if (seg == X86_SEG_CS) {
        if ((hf & HF_LMA_MASK) && (flags & X86_DESC_L)) {
            hf |= HF_CS32_MASK | HF_SS32_MASK | HF_CS64_MASK;
            hf &= ~HF_ADDSEG_MASK;
        } else {
            hf = (hf & ~(HF_CS32_MASK | HF_CS64_MASK)) |
                 ((flags & X86_DESC_B) ? HF_CS32_MASK : 0);
        }
    }
    if (seg == X86_SEG_SS)
        hf = (hf & ~HF_CPL_MASK) | ((flags >> X86_DESC_DPL_SHIFT) & 3);
    uint32_t add = (c->seg[X86_SEG_SS].flags & X86_DESC_B) ? HF_SS32_MASK : 0;
    if (hf & HF_CS64_MASK) {
        /* long mode: zero bases assumed for DS, ES and SS */
    } else if (!(c->cr0 & 1) || (c->rflags & RFLAGS_VM) || !(hf & HF_CS32_MASK)) {
        add |= HF_ADDSEG_MASK;
    } else if (c->seg[X86_SEG_DS].base | c->seg[X86_SEG_ES].base | c->seg[X86_SEG_SS].base) {
        add |= HF_ADDSEG_MASK;
    }
    c->hflags = (hf & ~(HF_SS32_MASK | HF_ADDSEG_MASK)) | add;
}

unsigned x86cpu_mode(const struct x86_cpu *c)
{
    if (!(c->hflags & HF_PE_MASK))
        return 0;
    if (c->rflags & RFLAGS_VM)
        return 1;
    if (c->hflags & HF_CS64_MASK)
        return 8;
    return (c->hflags & HF_CS32_MASK) ? 4 : 2;
}

unsigned x86cpu_bits(const struct x86_cpu *c)
{
    if (c->hflags & HF_CS64_MASK)
        return 64;
    return (c->hflags & HF_CS32_MASK) ? 32 : 16;
}

unsigned x86cpu_cpl(const struct x86_cpu *c)
{
    return c->hflags & HF_CPL_MASK;
}

bool x86cpu_long_mode(const struct x86_cpu *c)
{
    return (c->hflags & HF_LMA_MASK) != 0;
}

int hv_vcpu_x86_mode(struct hv_vcpu *v, struct hv_x86_mode *out)
{
    struct x86_cpu c;
    memset(out, 0, sizeof *out);
    if (v->vm->arch != HV_ARCH_X86_64)
        return HV_EINVAL;
    int err = x86cpu_get(v, &c);
    if (err)
        return err;
    out->mode = x86cpu_mode(&c);
    out->cpl = x86cpu_cpl(&c);
    out->cs_base = c.seg[X86_SEG_CS].base;
    return 0;
}
