/*
 * hcalls.c - the hypercalls the Xen model handles, each as Xen's handler at c447b7308b does
 * for an HVM domU or the hardware domain (docs/models/xen.md has the rule table):
 *   console_io   xen/drivers/char/console.c do_console_io, guest_console_write; XSM dummy
 *   xen_version  xen/common/kernel.c do_xen_version
 *   sched_op     xen/common/sched/core.c do_sched_op; xen/common/domain.c domain_shutdown
 *   vcpu_op      xen/arch/x86/domain.c do_vcpu_op; xen/common/domain.c common_vcpu_op
 * Argument types follow xen/include/hypercall-defs.c: an `int` or `unsigned int` argument
 * is the low 32 bits of its register. A 32-bit caller (struct xenm_call.mode64 false) reaches
 * the HVM32 column: the same do_ handlers for console_io, xen_version and vm_assist, the
 * compat ones for sched_op and vcpu_op, whose layouts are the native ones for what is modeled
 * here except the runstate and time areas (docs/models/xen.md).
 * No softirq or event is ever pending in the model, so no handler here is preempted (C.4).
 */
#include <stdio.h>
#include <string.h>

#include "models/xen/xen_int.h"

enum { XENM_E2BIG = 7 };

/* ---- console_io ---- */

static bool control_domain(const struct xenm_vm *x)
{
    return x->domid == 0;
}

/* Xen's isprint (xen/lib/ctype.c: Latin-1) or '\n' / '\t'. */
static bool console_printable(unsigned char c)
{
    return (c >= 0x20 && c <= 0x7e) || c >= 0xa0 || c == '\n' || c == '\t';
}

/* The bytes as Latin-1 text, in UTF-8 for the trace. */
static void emit_console(struct xenm_call *c, const char *s, size_t n)
{
    char out[2 * 256 + 1];
    size_t o = 0;
    for (size_t i = 0; i < n && o + 2 < sizeof out; i++) {
        unsigned char b = (unsigned char)s[i];
        if (b < 0x80) {
            out[o++] = (char)b;
        } else {
            out[o++] = (char)(0xc0 | (b >> 6));
            out[o++] = (char)(0x80 | (b & 0x3f));
        }
    }
    out[o] = 0;
    struct hv_ev_xen_console ev = { .domid = c->x->domid, .text = out };
    hv_vcpu_emit(c->v, HV_EV_xen_console, &ev);
}

/* guest_console_write: 127-byte chunks; a domU's text is filtered and line-buffered. */
static int64_t console_write(struct xenm_call *c, uint64_t buffer, uint32_t count)
{
    struct xenm_vm *x = c->x;
    while (count > 0) {
        char kbuf[128];
        uint32_t kcount = count < sizeof kbuf - 1 ? count : (uint32_t)sizeof kbuf - 1;
        if (xenm_from_guest(c, kbuf, buffer, kcount))
            return -XENM_EFAULT;
        if (x->domid == 0) {
            emit_console(c, kbuf, kcount); /* console_send: the hardware domain's bytes as is */
        } else {
            char *kin = kbuf, *kout = kbuf, ch;
            do {
                ch = *kin++;
                if (ch == '\n')
                    break;
                if (console_printable((unsigned char)ch))
                    *kout++ = ch;
            } while (--kcount > 0);
            *kout = 0;
            kcount = (uint32_t)(kin - kbuf);
            size_t n = (size_t)(kout - kbuf);
            if (ch != '\n' && x->cons_idx + n < sizeof x->cons_buf - 1) {
                memcpy(x->cons_buf + x->cons_idx, kbuf, n);  /* buffer until a newline */
                x->cons_idx += (unsigned)n;
            } else {
                char line[sizeof x->cons_buf + sizeof kbuf];
                memcpy(line, x->cons_buf, x->cons_idx);
                memcpy(line + x->cons_idx, kbuf, n);
                emit_console(c, line, x->cons_idx + n);
                x->cons_idx = 0;
            }
        }
        buffer += kcount;
        count -= kcount;
    }
    return 0;
}

void xenm_console_io(struct xenm_call *c)
{
    uint32_t cmd = (uint32_t)c->args[0], count = (uint32_t)c->args[1];
    /* xsm_console_io (dummy XSM): is_console, or a write under VERBOSE_DEBUG, else PRIV */
    if (!c->x->is_console && !(c->x->verbose_debug && cmd == 0) && !control_domain(c->x)) {
        c->ret = -XENM_EPERM;
        c->rule = "XSM: not a console or control domain";
        return;
    }
    switch (cmd) {
    case 0: /* CONSOLEIO_write */
        c->ret = console_write(c, c->args[2], count);
        c->rule = c->ret ? "CONSOLEIO_write: copy_from_guest failed" : "CONSOLEIO_write";
        break;
    case 1: /* CONSOLEIO_read: the serial ring is always empty here */
        c->ret = count > INT32_MAX ? -XENM_E2BIG : 0;
        c->rule = c->ret ? "CONSOLEIO_read: count > INT_MAX" : "CONSOLEIO_read: nothing to read";
        break;
    default:
        c->ret = -XENM_ENOSYS;
        c->rule = "unknown console_io command";
        break;
    }
}

/* ---- xen_version ---- */

/* XENVER_get_features submap 0 for this HVM domain (do_xen_version). */
static uint32_t features_submap0(const struct xenm_vm *x)
{
    uint32_t m = (1u << 13)   /* memory_op_vnode_supported */
                 | (1u << 19) /* vcpu_time_phys_area */
                 | (1u << 18) /* runstate_phys_area */
                 | (1u << 0)  /* writable_page_tables: paging_mode_translate */
                 | (1u << 2)  /* auto_translated_physmap */
                 | (1u << 9)  /* hvm_safe_pvclock */
                 | (1u << 8)  /* hvm_callback_vector; no hvm_pirqs: has_pirq is false */
                 | (1u << 20) /* dm_msix_all_writes */
                 | (1u << 16);/* not_direct_mapped */
    if (x->domid == 0)
        m |= 1u << 11;        /* dom0 */
    return m;
}

void xenm_xen_version(struct xenm_call *c)
{
    int32_t cmd = (int32_t)(uint32_t)c->args[0];
    uint64_t arg = c->args[1];
    switch (cmd) {
    case 0: /* XENVER_version */
        c->ret = (int64_t)(c->x->major << 16 | c->x->minor);
        c->rule = "XENVER_version";
        break;
    case 1: { /* XENVER_extraversion: char[16], zero padded */
        char ev[16] = { 0 };
        memcpy(ev, c->x->extraversion, strlen(c->x->extraversion));
        c->ret = xenm_to_guest(c, arg, ev, sizeof ev) ? -XENM_EFAULT : 0;
        c->rule = c->ret ? "XENVER_extraversion: copy_to_guest failed" : "XENVER_extraversion";
        break;
    }
    case 6: { /* XENVER_get_features: struct xen_feature_info { uint submap_idx, submap } */
        uint8_t fi[8];
        if (xenm_from_guest(c, fi, arg, sizeof fi)) {
            c->ret = -XENM_EFAULT;
            c->rule = "XENVER_get_features: copy_from_guest failed";
            break;
        }
        uint32_t idx = (uint32_t)fi[0] | (uint32_t)fi[1] << 8 | (uint32_t)fi[2] << 16 |
                       (uint32_t)fi[3] << 24;
        if (idx != 0) {
            c->ret = -XENM_EINVAL;
            c->rule = "XENVER_get_features: submap_idx != 0";
            break;
        }
        uint32_t m = features_submap0(c->x);
        for (unsigned i = 0; i < 4; i++)
            fi[4 + i] = (uint8_t)(m >> (8 * i));
        c->ret = xenm_to_guest(c, arg, fi, sizeof fi) ? -XENM_EFAULT : 0;
        c->rule = c->ret ? "XENVER_get_features: copy_to_guest failed" : "XENVER_get_features";
        break;
    }
    case 7: /* XENVER_pagesize */
        c->ret = arg ? -XENM_EINVAL : 4096;
        c->rule = arg ? "XENVER_pagesize: arg not NULL" : "XENVER_pagesize";
        break;
    default:
        c->ret = -XENM_ENOSYS;
        c->rule = cmd >= 2 && cmd <= 14 ? "xen_version subcommand not modeled"
                                        : "unknown xen_version subcommand";
        break;
    }
}

/* ---- sched_op ---- */

static const char *shutdown_name(unsigned r)
{
    static const char *const n[] = { "poweroff", "reboot", "suspend", "crash", "watchdog",
                                     "soft_reset" };
    return r < 6 ? n[r] : "unknown reason";
}

static void domain_shutdown(struct xenm_call *c, uint8_t reason)
{
    if (c->x->shutdown_code < 0)
        c->x->shutdown_code = reason;
    unsigned r = (unsigned)c->x->shutdown_code;
    snprintf(c->rule_buf, sizeof c->rule_buf, "domain_shutdown: %s (%u)", shutdown_name(r), r);
    c->rule = c->rule_buf;
    c->act = HV_ACT_END_RUN;
}

void xenm_sched_op(struct xenm_call *c)
{
    int32_t cmd = (int32_t)(uint32_t)c->args[0];
    uint8_t b[4];
    switch (cmd) {
    case 0: /* SCHEDOP_yield */
        c->ret = 0;
        c->rule = "SCHEDOP_yield";
        break;
    case 1: /* SCHEDOP_block: no event can wake it in this model */
        c->ret = 0;
        c->rule = "SCHEDOP_block";
        c->act = HV_ACT_HALT;
        break;
    case 2: /* SCHEDOP_shutdown */
    case 5: /* SCHEDOP_shutdown_code */
        if (xenm_from_guest(c, b, c->args[1], sizeof b)) {
            c->ret = -XENM_EFAULT;
            c->rule = "sched_shutdown: copy_from_guest failed";
            break;
        }
        c->ret = 0;
        if (cmd == 2) {
            domain_shutdown(c, b[0]); /* (u8)sched_shutdown.reason */
        } else {
            if (c->x->shutdown_code < 0)
                c->x->shutdown_code = b[0];
            c->rule = "SCHEDOP_shutdown_code";
        }
        break;
    case 3: case 4: case 6: case 7:
        c->ret = -XENM_ENOSYS;
        c->rule = "sched_op command not modeled";
        break;
    default:
        c->ret = -XENM_ENOSYS;
        c->rule = "unknown sched_op command";
        break;
    }
}

/* ---- vcpu_op ---- */

void xenm_vcpu_op(struct xenm_call *c)
{
    int32_t cmd = (int32_t)(uint32_t)c->args[0];
    uint32_t id = (uint32_t)c->args[1];
    struct hv_vm *vm = hv_vcpu_vm(c->v);
    unsigned nr = hv_vm_nr_vcpus(vm);
    if (id >= nr) {
        c->ret = -XENM_ENOENT;
        c->rule = "no such vCPU";
        return;
    }
    struct xenm_vcpu *t = &c->x->vcpu[id];
    struct hv_vcpu *tv = hv_vm_vcpu(vm, id);
    c->ret = 0;
    switch (cmd) {
    case 1: /* VCPUOP_up: every vCPU is initialised (its boot context) */
        c->rule = t->down ? "VCPUOP_up: woken" : "VCPUOP_up: already up";
        if (t->down) {
            t->down = false;
            xenm_runstate_set(c->x, id, XENM_RS_runnable, hv_vm_now(vm));
            hv_vcpu_start(tv, t->rip, t->gpr[7]);
            for (unsigned i = 0; i < 16; i++)
                hv_vcpu_set_gpr(tv, i, t->gpr[i]);
        }
        break;
    case 2: { /* VCPUOP_down */
        bool other_up = false;
        for (unsigned i = 0; i < nr; i++)
            if (i != id && !c->x->vcpu[i].down)
                other_up = true;
        if (!other_up) {
            domain_shutdown(c, 0); /* the last vCPU going down: SHUTDOWN_poweroff */
            break;
        }
        if (t->down) {
            c->rule = "VCPUOP_down: already down";
            break;
        }
        t->down = true;
        c->rule = "VCPUOP_down";
        if (tv == c->v) {
            c->act = HV_ACT_STOP_VCPU; /* the entry saves where it resumes */
        } else {
            hv_vcpu_reg_by_name(tv, "rip", &t->rip);
            for (unsigned i = 0; i < 16; i++)
                t->gpr[i] = hv_vcpu_gpr(tv, i);
            hv_vcpu_stop(tv, "VCPUOP_down");
            xenm_runstate_set(c->x, id, XENM_RS_offline, hv_vm_now(vm));
        }
        break;
    }
    case 3: /* VCPUOP_is_up */
        c->ret = !t->down;
        c->rule = "VCPUOP_is_up";
        break;
    case 4: case 5: case 13: case 14:
        if (!c->mode64) {
            /* compat_vcpu_op: the 44-byte compat runstate layout, compat handles */
            c->ret = -XENM_ENOSYS;
            c->rule = "vcpu_op runstate or time area from the 32-bit ABI not modeled";
            break;
        }
        xenm_area_vcpu_op(c, cmd, id);
        break;
    case 15: /* compat_vcpu_op passes it to do_vcpu_op: the same layout */
        xenm_area_vcpu_op(c, cmd, id);
        break;
    case XENM_VCPUOP_stlb_insert:
    case XENM_VCPUOP_stlb_purge:
    case XENM_VCPUOP_stlb_share:
        if (c->x->stlb_capacity && c->mode64) {
            xenm_stlb_vcpu_op(c, cmd, id);
            break;
        }
        c->ret = -XENM_ENOSYS;
        c->rule = "unknown vcpu_op command";
        break;
    default:
        c->ret = -XENM_ENOSYS;
        c->rule = cmd >= 0 && cmd <= 15 ? "vcpu_op command not modeled"
                                        : "unknown vcpu_op command";
        break;
    }
}
