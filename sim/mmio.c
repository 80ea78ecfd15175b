/*
 * mmio.c - guest accesses to memory no RAM backs: Unicorn's pieces assembled into the
 * instruction's own accesses, the exits a model sees for them, and (Arm) the accesses a
 * hypervisor cannot emulate because their syndrome is not valid.
 *
 * Unicorn 2.0.1 delivers an MMIO access in pieces of at most 4 bytes (an 8-byte load is two
 * callbacks, a 16-byte SSE load four), an unaligned load as the aligned loads around it, and
 * an unaligned store as single bytes (accel/tcg/cputlb.c, load_helper / store_helper); a
 * store into read-only RAM reaches the write-protect hook the same way. A hypervisor sees the
 * instruction's access instead. So the first piece of an instruction execution locates the
 * instruction (pcfind_mmio: the registers are current at every piece) and opens an element
 * holding each of its accesses with the bytes that must reach the model (need): bytes on no
 * RAM, and for a store also bytes on read-only RAM. A load's exits are all made then, in the
 * instruction's order of accesses (cmps reads [rsi] before [rdi], which QEMU reads first),
 * and every piece is served from the answers; a store's exits are made once its last needed
 * byte has arrived. An exit carries up to 8 bytes of one page (struct hv_exit_mmio).
 *
 * Element state (v->mmio.state):
 *
 *     NONE --first piece (mmio_piece)--> OPEN --every needed byte seen--> DONE
 *       ^                                  |                               |
 *       +--- mmio_reset (new run, exception) or the next execution's piece +
 *
 * An element is one execution: (pc, icount). A piece of a DONE element (an over-read half of
 * an unaligned load) is served without an exit.
 *
 * Arm accesses without a valid syndrome (dabt.c), when the model has a dabt_nisv op: at the
 * first piece the vCPU's state is saved (nothing of the instruction is done yet: QEMU loads
 * a pair into temporaries and writes the base back last), the piece reads 0 or writes
 * nothing, and the engine is told to stop. Unicorn 2.0.1 checks for a stop request after every
 * guest load and store (tcg/tcg-op.c, check_exit_request()), so nothing after this access
 * runs, except inside a T32 IT block, where Unicorn does not check (target/arm/translate.c,
 * no_exit_request: the rest of the IT block runs, every hook here doing nothing, its stores to
 * RAM staying). mmio_nisv_finish() then restores the saved state, undoing what the
 * load itself wrote to its register, and asks the model.
 *
 * Invariants:
 *   1. While v->nisv.pending, nothing the engine does is recorded or reaches the model.
 *   2. In an OPEN element each access's have is a subset of its need; in a DONE one, equal.
 */
#include <string.h>

#include "sim/sim_int.h"

#define PAGE 4096ULL

void mmio_reset(struct hv_vcpu *v)
{
    v->mmio.state = MMIO_NONE;
    v->mmio.nacc = 0;
}

void mmio_fini(struct hv_vcpu *v)
{
    if (v->nisv.ctx)
        uc_context_free(v->nisv.ctx);
    v->nisv.ctx = NULL;
}

/* The page parts of access a, where the engine maps them and whether their bytes exit. */
static void acc_parts(struct hv_vcpu *v, struct hv_mmio_acc *a)
{
    a->nparts = 0;
    a->need = 0;
    a->have = 0;
    a->exited = false;
    unsigned off = 0;
    while (off < a->a.size && a->nparts < 2) {
        uint64_t va = a->a.va + off;
        unsigned len = (unsigned)(PAGE - (va & (PAGE - 1)));
        if (len > a->a.size - off)
            len = a->a.size - off;
        struct hv_mmio_part *p = &a->part[a->nparts++];
        *p = (struct hv_mmio_part){ .eaddr = va, .off = (uint8_t)off, .len = (uint8_t)len };
        if (v->vm->arch == HV_ARCH_X86_64) {
            const struct hv_run *r = mem_run_at(v, va);
            if (r) {
                p->gpa = r->gpa + (va - r->va);
                p->ram = r->host != NULL;
                p->exit = !r->host || (a->a.write && r->readonly);
            }
        } else if (mem_walk(v, va, &p->gpa, NULL) == 0) {
            const struct hv_region *reg = vm_region_find(v->vm, p->gpa);
            p->eaddr = p->gpa;
            p->ram = reg != NULL;
            p->exit = !reg || (a->a.write && reg->readonly);
        }
        if (p->exit)
            a->need |= ((1u << len) - 1) << off;
        off += len;
    }
}

/* One exit to the model: its answer, the `mmio` event, and the stop it asks for. */
static void mmio_exit(struct hv_vcpu *v, uint64_t gpa, unsigned size, bool write, uint64_t *data)
{
    struct hv_exit_mmio e = { .gpa = gpa, .size = (uint8_t)size, .write = write, .data = *data };
    const struct hv_model_ops *m = v->vm->model;
    enum hv_exit_action act = m->mmio ? m->mmio(v, &e) : HV_ACT_DEFAULT;
    if (act == HV_ACT_DEFAULT && !write)
        e.data = 0;
    if (size < 8)
        e.data &= (1ULL << (size * 8)) - 1;
    if (!write)
        *data = e.data;
    struct hv_ev_mmio ev = { .gpa = gpa, .size = size, .write = write, .data = e.data };
    hv_vcpu_emit(v, HV_EV_mmio, &ev);
    if (act == HV_ACT_END_RUN) {
        vm_end(v->vm, HV_OUT_DONE);
        vcpu_stop_next(v, STOP_END);
    } else if (act == HV_ACT_STOP_VCPU) {
        hv_vcpu_stop(v, "model");
        vcpu_stop_next(v, STOP_VCPU);
    }
}

/* Exits for every needed byte of a: per page part, pieces of up to 8 bytes. */
static void acc_exits(struct hv_vcpu *v, struct hv_mmio_elem *el, struct hv_mmio_acc *a)
{
    v->exit_pc = el->pc;
    v->exit_icount = el->icount;
    v->in_exit = true;
    for (unsigned i = 0; i < a->nparts; i++) {
        const struct hv_mmio_part *p = &a->part[i];
        for (unsigned done = 0; p->exit && done < p->len;) {
            unsigned len = p->len - done < 8 ? p->len - done : 8;
            uint64_t data = 0;
            memcpy(&data, &a->data[p->off + done], len);
            mmio_exit(v, p->gpa + done, len, a->a.write, &data);
            if (!a->a.write)
                memcpy(&a->data[p->off + done], &data, len);
            done += len;
        }
    }
    v->in_exit = false;
    a->exited = true;
}

/*
 * Serves (load) or collects (store) the bytes of the piece [addr, addr + n) that fall in the
 * element's accesses of that direction; a store access complete with this piece makes its
 * exits. Returns true if the piece touched a byte still awaited.
 */
static bool serve(struct hv_vcpu *v, struct hv_mmio_elem *el, uint64_t addr, unsigned n,
                  bool write, uint64_t *data)
{
    uint8_t bytes[8];
    bool awaited = false;
    memcpy(bytes, data, sizeof bytes);
    if (!write)
        memset(bytes, 0, sizeof bytes);
    for (unsigned k = 0; k < el->nacc; k++) {
        struct hv_mmio_acc *a = &el->acc[k];
        if (a->a.write != write)
            continue;
        for (unsigned i = 0; i < a->nparts; i++) {
            const struct hv_mmio_part *p = &a->part[i];
            for (unsigned j = 0; j < n; j++) {
                uint64_t b = addr + j;
                if (b < p->eaddr || b - p->eaddr >= p->len)
                    continue;
                unsigned idx = p->off + (unsigned)(b - p->eaddr);
                uint32_t bit = 1u << idx;
                if ((a->need & bit) && !(a->have & bit))
                    awaited = true;
                if (write)
                    a->data[idx] = bytes[j];
                else
                    bytes[j] = a->data[idx];
                a->have |= a->need & bit;
            }
        }
        if (write && !a->exited && a->have == a->need && a->need) {
            if (a->a.twice) {
                a->a.twice = false; /* the dummy store: the real one follows */
                a->have = 0;
            } else {
                acc_exits(v, el, a);
            }
        }
    }
    if (!write)
        memcpy(data, bytes, sizeof bytes);
    return awaited;
}

static void update_state(struct hv_mmio_elem *el)
{
    for (unsigned k = 0; k < el->nacc; k++)
        if (el->acc[k].have != el->acc[k].need)
            return;
    el->state = MMIO_DONE;
}

/*
 * Arm: stops the engine at an access without a valid syndrome (see the top). Returns false
 * when it cannot (no context), and the access then proceeds as MMIO.
 */
static bool nisv_begin(struct hv_vcpu *v, const struct pcfind_hit *h, uint64_t icount)
{
    struct hv_nisv *n = &v->nisv;
    const struct hv_mmio_elem *el = &v->mmio;
    struct hv_exit_dabt e = { .len = h->len, .aarch32 = v->vm->arch == HV_ARCH_ARM };
    bool found = false;
    for (unsigned k = 0; k < el->nacc && !found; k++) {
        const struct hv_mmio_acc *a = &el->acc[k];
        for (unsigned i = 0; i < a->nparts && !found; i++) {
            const struct hv_mmio_part *p = &a->part[i];
            if (!p->exit)
                continue;
            e.ipa = p->gpa;
            e.far = a->a.va + p->off;
            e.wnr = a->a.write;
            e.permission = p->ram;
            found = true;
        }
    }
    if (!found || (!n->ctx && uc_context_alloc(v->uc, &n->ctx) != UC_ERR_OK))
        return false;
    if (v->vm->arch == HV_ARCH_AARCH64) {
        uint64_t pstate = 0;
        uc_reg_read(v->uc, UC_ARM64_REG_PSTATE, &pstate);
        e.el = (unsigned)((pstate >> 2) & 3);
    } else {
        e.far &= 0xffffffffULL;
    }
    uc_context_save(v->uc, n->ctx);
    n->exit = e;
    n->pc = h->pc;
    n->icount = icount;
    n->pending = true;
    n->stop_next_block = v->stop_next_block; /* a stop an earlier exit asked for */
    v->stop_next_block = true;               /* the block hook's slow path sees pending */
    uc_emu_stop(v->uc);
    return true;
}

void mmio_piece(struct hv_vcpu *v, uint64_t addr, uint64_t gpa, unsigned n, bool write,
                uint64_t *data)
{
    struct hv_mmio_elem *el = &v->mmio;
    if (v->nisv.pending) {
        if (!write)
            *data = 0;
        return;
    }
    if (el->state == MMIO_OPEN && serve(v, el, addr, n, write, data)) {
        update_state(el);
        return;
    }
    /* an earlier access of this block execution (its element stays after it is served) */
    struct pcfind_floor floor = { .on = el->state != MMIO_NONE || el->nacc };
    floor.on = floor.on && el->icount >= v->blk_base && el->icount - v->blk_base < UINT32_MAX;
    if (floor.on) {
        floor.index = (uint32_t)(el->icount - v->blk_base);
        for (unsigned k = 0; k < el->nacc; k++) {
            floor.wrote = floor.wrote || el->acc[k].a.write;
            floor.same_dir += el->acc[k].a.write == write;
        }
    }
    struct pcfind_hit h;
    bool located = pcfind_mmio(v, addr, n, write, &floor, &h) == 0;
    if (!located) /* no instruction of the block explains it: the piece is the access */
        h = (struct pcfind_hit){ .pc = v->blk_pc, .index = 0, .isv = true, .nacc = 1,
                                 .acc = { { addr, n, write } } };
    uint64_t icount = v->blk_base + h.index;
    if (write && v->vm->arch != HV_ARCH_X86_64 && (gpa & ~0xfffULL) == HV_UCALL_MMIO && n == 4) {
        v->exit_pc = h.pc;
        v->exit_icount = icount;
        v->in_exit = true;
        vm_ucall(v, *data);
        v->in_exit = false;
        return;
    }
    unsigned first = 0;
    if (el->state != MMIO_NONE && el->pc == h.pc && el->icount == icount) {
        /* the same execution: the store of a read-modify-write (its accesses are added), or
         * a piece beyond what it still awaits (an over-read half) */
        bool dir = false;
        for (unsigned k = 0; k < el->nacc; k++)
            dir = dir || el->acc[k].a.write == write;
        if (dir || el->nacc + h.nacc > PCFIND_MAX_ACC) {
            serve(v, el, addr, n, write, data);
            update_state(el);
            return;
        }
        first = el->nacc;
    }
    el->state = MMIO_OPEN;
    el->pc = h.pc;
    el->icount = icount;
    el->nacc = first + h.nacc;
    for (unsigned k = first; k < el->nacc; k++) {
        struct hv_mmio_acc *a = &el->acc[k];
        a->a = h.acc[k - first];
        memset(a->data, 0, sizeof a->data);
        if (located) {
            acc_parts(v, a);
        } else {
            const struct hv_region *reg = vm_region_find(v->vm, gpa);
            *a = (struct hv_mmio_acc){ .a = a->a, .nparts = 1, .need = (1u << n) - 1 };
            a->part[0] = (struct hv_mmio_part){ .eaddr = addr, .gpa = gpa, .len = (uint8_t)n,
                                                .exit = true, .ram = reg != NULL };
        }
    }
    if (!h.isv && v->vm->model->dabt_nisv) {
        struct hv_nisv *ns = &v->nisv;
        if (ns->bypass && ns->bypass_pc == h.pc && ns->bypass_icount == icount)
            ns->bypass = false;
        else if (nisv_begin(v, &h, icount)) {
            if (!write)
                *data = 0;
            return;
        }
    }
    for (unsigned k = first; k < el->nacc; k++)
        if (!el->acc[k].a.write && el->acc[k].need)
            acc_exits(v, el, &el->acc[k]);
    serve(v, el, addr, n, write, data);
    update_state(el);
}

int mmio_nisv_finish(struct hv_vcpu *v)
{
    struct hv_nisv *n = &v->nisv;
    n->pending = false;
    uc_err ue = uc_context_restore(v->uc, n->ctx);
    if (ue != UC_ERR_OK)
        return vm_err_uc(ue, "restoring a vCPU after an access without a syndrome");
    mmio_reset(v);
    v->icount = n->icount;
    v->exit_pc = n->pc;
    v->exit_icount = n->icount;
    v->stop_next_block = n->stop_next_block;
    struct hv_exit_dabt e = n->exit;
    uint64_t resume = n->pc;
    if (n->last_pc == n->pc && n->last_icount == n->icount) {
        /* reported again without an instruction retiring in between: the model's answer
         * cannot make progress */
        if (++n->repeats > 8) {
            v->in_exit = true;
            vcpu_set_state(v, VS_FAILED, "the same access without a syndrome, again and again");
            v->in_exit = false;
            vm_end(v->vm, HV_OUT_EXCEPTION);
            v->resume_pc = resume;
            v->resume_valid = true;
            return 0;
        }
    } else {
        n->repeats = 0;
    }
    n->last_pc = n->pc;
    n->last_icount = n->icount;
    v->in_exit = true; /* events, a stop and an injection are at the instruction */
    enum hv_exit_action act = v->vm->model->dabt_nisv(v, &e);
    switch (act) {
    case HV_ACT_STOP_VCPU:
        hv_vcpu_stop(v, e.why ? e.why : "model");
        break;
    case HV_ACT_HANDLED:
        v->icount = n->icount + 1;
        resume = n->pc + e.len;
        break;
    case HV_ACT_END_RUN:
        vm_end(v->vm, HV_OUT_DONE);
        break;
    case HV_ACT_DEFAULT:
        n->bypass = true;
        n->bypass_pc = n->pc;
        n->bypass_icount = n->icount;
        break;
    default: /* retry: an injected exception, if any, is delivered first */
        break;
    }
    v->in_exit = false;
    v->resume_pc = resume;
    v->resume_valid = true;
    return 0;
}
