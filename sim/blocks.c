/*
 * blocks.c - per-engine table of translation blocks: (start pc, byte size) -> instruction
 * count, filled the first time the block hook sees a block, so counting costs one hash probe
 * per block. The table is cleared whenever hvsim flushes the engine's translation cache.
 *
 * Invariants:
 *   1. cap is 0 or a power of two, and used <= cap / 2.
 *   2. A slot is empty iff its size is 0 (a block always has at least one byte).
 */
#include <stdlib.h>
#include <string.h>

#include "sim/sim_int.h"



static int blk_grow(struct hv_blktab *t)
{
    size_t ncap = t->cap ? t->cap * 2 : 1024;
    struct hv_blk *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return HV_ENOMEM;
    for (size_t i = 0; i < t->cap; i++) {
        struct hv_blk *b = &t->slots[i];
        if (!b->size)
            continue;
        size_t j = blk_hash(b->pc, b->size) & (ncap - 1);
        while (ns[j].size)
            j = (j + 1) & (ncap - 1);
        ns[j] = *b;
    }
    free(t->slots);
    t->slots = ns;
    t->cap = ncap;
    return 0;
}

struct hv_blk *blk_insert(struct hv_blktab *t, uint64_t pc, uint32_t size, uint32_t icount)
{
    if ((t->used + 1) * 2 > t->cap && blk_grow(t))
        return NULL;
    size_t mask = t->cap - 1;
    size_t i = blk_hash(pc, size) & mask;
    while (t->slots[i].size)
        i = (i + 1) & mask;
    t->slots[i] = (struct hv_blk){ .pc = pc, .size = size, .icount = icount };
    t->used++;
    return &t->slots[i];
}

void blk_clear(struct hv_blktab *t)
{
    for (size_t i = 0; i < t->cap; i++)
        free(t->slots[i].offs);
    if (t->cap)
        memset(t->slots, 0, t->cap * sizeof *t->slots);
    t->used = 0;
}

void blk_fini(struct hv_blktab *t)
{
    blk_clear(t);
    free(t->slots);
    t->slots = NULL;
    t->cap = 0;
}

/* x86 and T32: decode the block once and remember where each instruction starts. */
static int blk_decode(struct hv_vcpu *v, struct hv_blk *b)
{
    uint8_t code[4096];
    uint32_t n = b->size < sizeof code ? b->size : sizeof code;
    if (uc_mem_read(v->uc, b->pc, code, n) != UC_ERR_OK)
        return HV_EUNICORN;
    b->offs = calloc(b->icount ? b->icount : 1, sizeof *b->offs);
    if (!b->offs)
        return HV_ENOMEM;
    csh cs = sim_blk_cs(v->vm, b->thumb, b->x86_bits);
    cs_insn *insn = cs_malloc(cs);
    const uint8_t *p = code;
    size_t left = n;
    uint64_t a = b->pc;
    for (uint32_t i = 0; i < b->icount; i++) {
        b->offs[i] = (uint16_t)(a - b->pc);
        if (!cs_disasm_iter(cs, &p, &left, &a, insn))
            break;
    }
    cs_free(insn, 1);
    return 0;
}

int blk_index(struct hv_vcpu *v, struct hv_blk *b, uint64_t pc, uint32_t *index)
{
    if (pc < b->pc || pc >= b->pc + b->size)
        return HV_EINVAL;
    if (v->vm->arch != HV_ARCH_X86_64 && !b->thumb) {
        *index = (uint32_t)((pc - b->pc) / 4);
        return 0;
    }
    if (!b->offs) {
        int err = blk_decode(v, b);
        if (err)
            return err;
    }
    for (uint32_t i = 0; i < b->icount; i++) {
        if (b->pc + b->offs[i] == pc) {
            *index = i;
            return 0;
        }
    }
    return HV_EINVAL;
}
