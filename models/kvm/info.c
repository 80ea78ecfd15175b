/*
 * info.c - KVM_GET_VM_INFO (info.h): the VFIO-style query with its capability chain, and the
 * `vm_info` scenario step that runs it on a VM.
 *
 * The query follows vfio_iommu_type1_get_info() (docs/sources.md D) with a fixed struct whose
 * minimum size is its full size, so a call either fails before writing anything or writes
 * back all 16 fixed bytes. The chain is built as vfio_info_cap_add() builds it: each
 * capability appended at the end, rounded up to 8 bytes and zero-filled, and linked from the
 * previous one; then shifted by the fixed size, so every `next` is absolute.
 *
 * Capabilities a VM reports, in this order (docs/models/kvm.md draws their layouts):
 *   arm64/arm  SMCCC_HANDLED   kvmm_smccc_handled(): what the kernel answers itself now
 *   x86        X86_HYPERCALLS  KVM_HC_* numbers answered in-kernel and those that exit
 *   all        MEMSLOTS        one per address space, in address-space order
 *
 * Invariants of a chain built here:
 *   1. Every capability starts at a multiple of 8 from the chain's start, and its padding
 *      bytes are 0.
 *   2. Following next from the first header visits the capabilities in the order given and
 *      ends at a header whose next is 0; every next is larger than the offset holding it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/kvm/info.h"
#include "models/kvm/kvm_int.h"
#include "sim/le.h"
#include "trace/event.h"

/* ---- the pure query ---------------------------------------------------------------------- */

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static size_t align8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

int kvmm_info_chain(const struct kvmm_info_cap *caps, size_t ncaps, uint32_t base,
                    uint8_t **out, size_t *size)
{
    size_t total = 0;
    *out = NULL;
    *size = 0;
    for (size_t i = 0; i < ncaps; i++) {
        size_t one = align8(KVMM_VM_INFO_CAP_HDR + caps[i].len);
        if (one < caps[i].len || total + one < total || total + one > UINT32_MAX - base)
            return hv_error_set(HV_ELIMIT, "VM info: capability chain above 4 GiB");
        total += one;
    }
    if (!total)
        return 0;
    uint8_t *buf = calloc(1, total); /* the padding is zero (invariant 1) */
    if (!buf)
        return HV_ENOMEM;
    size_t at = 0;
    for (size_t i = 0; i < ncaps; i++) {
        size_t one = align8(KVMM_VM_INFO_CAP_HDR + caps[i].len);
        hv_put16(buf + at, caps[i].id);
        hv_put16(buf + at + 2, caps[i].version);
        /* vfio_info_cap_add links the new capability from the last one; the shift by base
         * (vfio_info_cap_shift) makes the offset absolute */
        hv_put32(buf + at + 4, i + 1 < ncaps ? (uint32_t)(base + at + one) : 0);
        if (caps[i].len)
            memcpy(buf + at + KVMM_VM_INFO_CAP_HDR, caps[i].body, caps[i].len);
        at += one;
    }
    *out = buf;
    *size = total;
    return 0;
}

int kvmm_info_query(const struct kvmm_info_cap *caps, size_t ncaps, uint8_t *user,
                    size_t user_len, struct kvmm_info_result *res)
{
    memset(res, 0, sizeof *res);
    /* copy_from_user of the fixed struct (minsz is its whole size) */
    if (user_len < KVMM_VM_INFO_SIZE) {
        res->err = -EFAULT;
        return 0;
    }
    uint32_t argsz = get32(user);
    if (argsz < KVMM_VM_INFO_SIZE) {
        res->err = -EINVAL;
        return 0;
    }
    uint8_t *chain;
    size_t size;
    int err = kvmm_info_chain(caps, ncaps, KVMM_VM_INFO_SIZE, &chain, &size);
    if (err)
        return err;
    uint32_t flags = 0, cap_offset = 0;
    res->caps_size = size;
    if (size) {
        flags |= KVMM_VM_INFO_FLAG_CAPS;
        if (argsz < KVMM_VM_INFO_SIZE + size) {
            argsz = (uint32_t)(KVMM_VM_INFO_SIZE + size);
        } else {
            size_t room = user_len - KVMM_VM_INFO_SIZE;
            memcpy(user + KVMM_VM_INFO_SIZE, chain, size < room ? size : room);
            if (size > room) { /* the copy faults at the end of the buffer */
                res->err = -EFAULT;
                res->written = user_len;
                free(chain);
                return 0;
            }
            cap_offset = KVMM_VM_INFO_SIZE;
            res->written = KVMM_VM_INFO_SIZE + size;
        }
    }
    free(chain);
    hv_put32(user, argsz);
    hv_put32(user + 4, flags);
    hv_put32(user + 8, cap_offset);
    hv_put32(user + 12, 0);
    if (res->written < KVMM_VM_INFO_SIZE)
        res->written = KVMM_VM_INFO_SIZE;
    res->argsz = argsz;
    res->flags = flags;
    res->cap_offset = cap_offset;
    return 0;
}

int kvmm_info_memslots_body(const struct kvmm_slots *s, unsigned as_id, uint8_t **out,
                            size_t *len)
{
    size_t n = kvmm_memslot_count(s, as_id);
    uint8_t *b = calloc(1, 8 + 32 * n);
    if (!b)
        return HV_ENOMEM;
    hv_put32(b, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        const struct kvmm_memslot *m = kvmm_memslot_at(s, as_id, i);
        uint8_t *e = b + 8 + 32 * i;
        hv_put32(e, (uint32_t)m->as_id << 16 | m->id);
        hv_put32(e + 4, m->flags & (KVMM_MEM_LOG_DIRTY_PAGES | KVMM_MEM_READONLY |
                                 KVMM_MEM_GUEST_MEMFD));
        hv_put64(e + 8, m->base_gfn << KVMM_PAGE_SHIFT);
        hv_put64(e + 16, m->npages << KVMM_PAGE_SHIFT);
        hv_put64(e + 24, m->userspace_addr);
    }
    *out = b;
    *len = 8 + 32 * n;
    return 0;
}

/* ---- the capabilities of a VM ------------------------------------------------------------ */

/* The x86 numbers answered in-kernel: KVMM_X86_HC_IN_KERNEL, next to the handler (x86.c). */
#define X86_HC_IN_KERNEL KVMM_X86_HC_IN_KERNEL

#define MAX_VM_CAPS (1 + KVMM_MAX_NR_AS)

struct vm_caps {
    struct kvmm_info_cap cap[MAX_VM_CAPS];
    uint8_t *owned[MAX_VM_CAPS];
    size_t n;
};

static void vm_caps_fini(struct vm_caps *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->owned[i]);
}

static void vm_caps_add(struct vm_caps *c, uint16_t id, uint8_t *body, size_t len)
{
    c->owned[c->n] = body;
    c->cap[c->n++] = (struct kvmm_info_cap){ id, KVMM_VM_INFO_CAP_VERSION, body, len };
}

/* Gathers the VM's capabilities in their order; on error c holds what to free. */
static int vm_caps_init(struct vm_caps *c, const struct hv_vm *vm, const struct kvmm_vm *k)
{
    memset(c, 0, sizeof *c);
    uint8_t *b;
    if (hv_vm_arch(vm) == HV_ARCH_X86_64) {
        if (!(b = calloc(1, 16)))
            return HV_ENOMEM;
        hv_put64(b, X86_HC_IN_KERNEL);
        hv_put64(b + 8, k->exit_hypercall);
        vm_caps_add(c, KVMM_VM_INFO_CAP_X86_HYPERCALLS, b, 16);
    } else {
        size_t n = kvmm_smccc_handled(vm, k, NULL, 0);
        struct kvmm_fn_range *r = calloc(n ? n : 1, sizeof *r);
        if (!r || !(b = calloc(1, 8 + 8 * n))) {
            free(r);
            return HV_ENOMEM;
        }
        n = kvmm_smccc_handled(vm, k, r, n);
        hv_put32(b, (uint32_t)n);
        for (size_t i = 0; i < n; i++) {
            hv_put32(b + 8 + 8 * i, r[i].first);
            hv_put32(b + 12 + 8 * i, r[i].last);
        }
        free(r);
        vm_caps_add(c, KVMM_VM_INFO_CAP_SMCCC_HANDLED, b, 8 + 8 * n);
    }
    unsigned nr_as = kvmm_slots_params(k->slots)->nr_as;
    for (unsigned as = 0; as < nr_as && as < KVMM_MAX_NR_AS; as++) {
        size_t len;
        int err = kvmm_info_memslots_body(k->slots, as, &b, &len);
        if (err)
            return err;
        vm_caps_add(c, KVMM_VM_INFO_CAP_MEMSLOTS, b, len);
    }
    return 0;
}

/* ---- the vm_info step -------------------------------------------------------------------- */

#define INFO_MAX_USER 1024 /* bytes of the step's user buffer: its hex fits the step result */

static const char *const info_arg_keys[] = { "argsz", "size", "fill", NULL };
static const char *const info_expect_keys[] = { "errno", "argsz", "cap_offset", "flags",
                                                "bytes", NULL };

struct info_args {
    uint32_t argsz;
    size_t size;     /* the user buffer */
    uint8_t fill;    /* its bytes before the call (argsz then goes in its first four) */
};

static int info_parse_args(const struct hv_node *args, struct info_args *a, struct hv_diag *d)
{
    const struct hv_node *x, *at;
    uint64_t v;
    int err;
    if ((err = hv_node_expect(args, HV_NODE_MAP, "args", d)) ||
        (err = hv_node_check_keys(args, info_arg_keys, "args", d)))
        return err;
    if (!(x = hv_node_get(args, "argsz")))
        return hv_diag_at(d, args, "vm_info needs 'argsz'");
    if ((err = hv_node_u64(x, "argsz", &v, d)))
        return err;
    if (v > UINT32_MAX)
        return hv_diag_at(d, x, "'argsz': a 32-bit field");
    a->argsz = (uint32_t)v;
    a->size = a->argsz;
    at = x;
    if ((x = hv_node_get(args, "size"))) {
        at = x;
        if ((err = hv_node_u64(x, "size", &v, d)))
            return err;
        a->size = v > INFO_MAX_USER ? INFO_MAX_USER + 1 : (size_t)v;
    }
    if (a->size > INFO_MAX_USER)
        return hv_diag_at(d, at, "the user buffer ('size', default 'argsz') is at "
                                            "most %d bytes", INFO_MAX_USER);
    a->fill = 0;
    if ((x = hv_node_get(args, "fill"))) {
        if ((err = hv_node_u64(x, "fill", &v, d)))
            return err;
        if (v > 0xff)
            return hv_diag_at(d, x, "'fill': one byte, 0..0xff");
        a->fill = (uint8_t)v;
    }
    return 0;
}

/* Hex digits of s without blanks and underscores, lowercased, into out; false if not hex. */
static bool hex_norm(const char *s, char *out, size_t size)
{
    size_t n = 0;
    for (; *s; s++) {
        char c = *s;
        if (c == ' ' || c == '\n' || c == '\t' || c == '_')
            continue;
        if (c >= 'A' && c <= 'F')
            c = (char)(c - 'A' + 'a');
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) || n + 1 >= size)
            return false;
        out[n++] = c;
    }
    out[n] = 0;
    return n % 2 == 0;
}

static int info_check(const char *action, const struct hv_node *args,
                      const struct hv_node *expect, struct hv_diag *d)
{
    if (strcmp(action, "vm_info") != 0)
        return HV_ENOENT;
    if (!args)
        return hv_diag_at(d, expect, "'vm_info' needs args ({argsz: N})");
    struct info_args a;
    int err = info_parse_args(args, &a, d);
    if (!err)
        err = kvmm_check_expect_keys(expect, info_expect_keys, d);
    if (err || !expect)
        return err;
    static const char *const numbers[] = { "argsz", "cap_offset", "flags" };
    for (size_t i = 0; i < 3; i++) {
        const struct hv_node *x = hv_node_get(expect, numbers[i]);
        uint64_t v;
        if (x && (err = hv_node_u64(x, numbers[i], &v, d)))
            return err;
    }
    const struct hv_node *x = hv_node_get(expect, "errno");
    const char *s;
    if (x && (err = hv_node_str(x, "errno", &s, d)))
        return err;
    if ((x = hv_node_get(expect, "bytes"))) {
        char hex[2 * INFO_MAX_USER + 1];
        if ((err = hv_node_str(x, "bytes", &s, d)))
            return err;
        if (!hex_norm(s, hex, sizeof hex))
            return hv_diag_at(d, x, "'bytes': an even number of hex digits (blanks and '_' "
                                    "allowed), at most the user buffer");
        if (strlen(hex) != 2 * a.size)
            return hv_diag_at(d, x, "'bytes': %zu bytes given, the user buffer has %zu",
                              strlen(hex) / 2, a.size);
    }
    return 0;
}

/* True if expect's numeric `key` is absent or equals v (has is false: never matches). */
static bool expect_u64(const struct hv_node *e, const char *key, bool has, uint64_t v)
{
    const struct hv_node *x = e ? hv_node_get(e, key) : NULL;
    struct hv_diag d;
    uint64_t want;
    if (!x)
        return true;
    return has && hv_node_u64(x, key, &want, &d) == 0 && want == v;
}

static int info_run(struct hv_vm *vm, struct kvmm_vm *k, const char *action,
                    const struct hv_node *args, const struct hv_node *expect, char *result,
                    size_t size)
{
    if (strcmp(action, "vm_info") != 0)
        return HV_ENOENT;
    struct hv_diag d;
    struct info_args a;
    int err = info_parse_args(args, &a, &d);
    if (err)
        return hv_error_set(err, "%s:%d:%d: %s", d.file, d.line, d.col, d.msg);
    uint8_t user[INFO_MAX_USER];
    memset(user, a.fill, sizeof user);
    for (size_t i = 0; i < 4 && i < a.size; i++) /* the caller sets argsz */
        user[i] = (uint8_t)(a.argsz >> (8 * i));
    struct vm_caps c;
    struct kvmm_info_result res;
    err = vm_caps_init(&c, vm, k);
    if (!err)
        err = kvmm_info_query(c.cap, c.n, user, a.size, &res);
    vm_caps_fini(&c);
    if (err)
        return err;
    /* the fixed struct as the caller reads it back: fields beyond the buffer are null */
    char eno[16], f[3][16], hex[2 * INFO_MAX_USER + 1];
    kvmm_errno_name(res.err, eno, sizeof eno);
    for (size_t i = 0; i < 3; i++) {
        if (a.size >= 4 * i + 4)
            snprintf(f[i], sizeof f[i], "%" PRIu32, get32(user + 4 * i));
        else
            snprintf(f[i], sizeof f[i], "null");
    }
    hv_hex(user, a.size, hex);
    int len = snprintf(result, size,
                       "{\"errno\":\"%s\",\"argsz\":%s,\"flags\":%s,\"cap_offset\":%s,"
                       "\"caps_size\":%zu,\"written\":%zu,\"bytes\":\"%s\"}",
                       eno, f[0], f[1], f[2], res.caps_size, res.written, hex);
    if (len < 0 || (size_t)len >= size)
        return hv_error_set(HV_ELIMIT, "vm_info: the step result does not fit %zu bytes", size);
    bool ok = kvmm_expect_str(expect, "errno", eno);
    static const char *const numbers[] = { "argsz", "flags", "cap_offset" };
    for (size_t i = 0; i < 3; i++)
        ok = ok && expect_u64(expect, numbers[i], a.size >= 4 * i + 4, get32(user + 4 * i));
    const struct hv_node *x = expect ? hv_node_get(expect, "bytes") : NULL;
    if (x) {
        char want[2 * INFO_MAX_USER + 1];
        ok = ok && x->type == HV_NODE_SCALAR && hex_norm(x->str, want, sizeof want) &&
             strcmp(want, hex) == 0;
    }
    return ok ? 0 : HV_ESCENARIO;
}

const struct kvmm_steps kvmm_info_steps = { info_check, info_run };
