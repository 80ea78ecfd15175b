/*
 * slots_steps.c - the memslot and dirty-log steps of the KVM model: set_memory_region(2),
 * get_dirty_log, clear_dirty_log and enable_cap (semantics.md A.3-A.7, B.1's
 * KVM_CAP_EXIT_HYPERCALL), and the expect helpers other step sets share.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/kvm/kvm_int.h"
#include "trace/event.h"


static const char *const kvm_actions[] = { "set_memory_region", "set_memory_region2",
                                           "get_dirty_log", "clear_dirty_log", "enable_cap",
                                           NULL };

int kvmm_check_expect_keys(const struct hv_node *e, const char *const *keys,
                           struct hv_diag *d)
{
    if (!e)
        return 0;
    int err = hv_node_expect(e, HV_NODE_MAP, "expect", d);
    if (!err)
        err = hv_node_check_keys(e, keys, "expect", d);
    return err;
}

bool kvmm_expect_str(const struct hv_node *e, const char *key, const char *actual)
{
    const struct hv_node *x = e ? hv_node_get(e, key) : NULL;
    if (!x || x->type != HV_NODE_SCALAR)
        return true;
    return actual && strcmp(x->str, actual) == 0;
}

static int check_errno_expect(const struct hv_node *e, struct hv_diag *d)
{
    static const char *const keys[] = { "errno", "change", "bitmap", NULL };
    return kvmm_check_expect_keys(e, keys, d);
}

static int slot_check(const char *action, const struct hv_node *args,
                          const struct hv_node *expect, struct hv_diag *d)
{
    size_t i = 0;
    while (kvm_actions[i] && strcmp(kvm_actions[i], action) != 0)
        i++;
    if (!kvm_actions[i])
        return HV_ENOENT;
    if (!args)
        return hv_diag_at(d, expect ? expect : NULL, "'%s' needs args", action);
    int err = check_errno_expect(expect, d);
    if (err)
        return err;
    if (strncmp(action, "set_memory_region", 17) == 0) {
        /* buffer names are checked against memory.buffers when the step runs */
        static const char *const keys[] = { "slot", "as", "gpa", "size", "buffer", "offset",
                                             "hva", "flags", NULL };
        uint32_t fl;
        if ((err = hv_node_expect(args, HV_NODE_MAP, "args", d)) ||
            (err = hv_node_check_keys(args, keys, "args", d)))
            return err;
        return kvmm_flags_of(hv_node_get(args, "flags"), &fl, d);
    }
    if (strcmp(action, "get_dirty_log") == 0) {
        static const char *const keys[] = { "slot", "as", NULL };
        return hv_node_expect(args, HV_NODE_MAP, "args", d) ?:
               hv_node_check_keys(args, keys, "args", d);
    }
    if (strcmp(action, "clear_dirty_log") == 0) {
        static const char *const keys[] = { "slot", "as", "first_page", "num_pages", "bitmap",
                                            NULL };
        return hv_node_expect(args, HV_NODE_MAP, "args", d) ?:
               hv_node_check_keys(args, keys, "args", d);
    }
    static const char *const keys[] = { "cap", "args0", "flags", NULL };
    if ((err = hv_node_expect(args, HV_NODE_MAP, "args", d)) ||
        (err = hv_node_check_keys(args, keys, "args", d)))
        return err;
    const char *cap;
    const struct hv_node *c = hv_node_get(args, "cap");
    if (!c || (err = hv_node_str(c, "cap", &cap, d)))
        return err ? err : hv_diag_at(d, args, "enable_cap needs 'cap'");
    if (strcmp(cap, "manual_dirty_log_protect2") != 0 && strcmp(cap, "exit_hypercall") != 0)
        return hv_diag_at(d, c, "'cap': manual_dirty_log_protect2 or exit_hypercall");
    return 0;
}

int kvmm_errno_name(int e, char *buf, size_t size)
{
    static const struct { int no; const char *name; } names[] = {
        { 0, "0" }, { EINVAL, "EINVAL" }, { EEXIST, "EEXIST" }, { EFAULT, "EFAULT" },
        { ENOENT, "ENOENT" }, { ENXIO, "ENXIO" }, { ENOMEM, "ENOMEM" },
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].no == -e || names[i].no == e)
            return snprintf(buf, size, "%s", names[i].name);
    return snprintf(buf, size, "%d", e);
}

/* Compares the step's expect {errno, change, bitmap} with what happened. */
static bool expect_matches(const struct hv_node *e, const char *eno, const char *change,
                           const char *bitmap)
{
    return kvmm_expect_str(e, "errno", eno) && kvmm_expect_str(e, "change", change) &&
           kvmm_expect_str(e, "bitmap", bitmap);
}

static int slot_run(struct hv_vm *vm, struct kvmm_vm *k, const char *action, const struct hv_node *args,
                    const struct hv_node *expect, char *result, size_t size)
{
    struct hv_diag d;
    char eno[16];
    int err = 0;
    size_t i = 0;
    while (kvm_actions[i] && strcmp(kvm_actions[i], action) != 0)
        i++;
    if (!kvm_actions[i])
        return HV_ENOENT;   /* another step set's action */
    if (strncmp(action, "set_memory_region", 17) == 0) {
        struct kvmm_region r;
        struct kvmm_set_result res;
        if ((err = kvmm_parse_region(args, k->buf, k->nbuf, &r, &d)))
            return hv_error_set(err, "%s:%d:%d: %s", d.file, d.line, d.col, d.msg);
        if ((err = kvmm_memslot_set(k->slots, &r, action[17] == '2', &res)))
            return err;
        if (!res.err && (err = kvmm_sync_regions(vm, k)))
            return err;
        kvmm_errno_name(res.err, eno, sizeof eno);
        const char *change = res.err ? NULL : kvmm_change_name(res.change);
        snprintf(result, size,
                 "{\"errno\":\"%s\",\"rule\":\"%s\",\"section\":\"%s\",\"change\":%s%s%s,"
                 "\"generation\":%" PRIu64 "}",
                 eno, kvmm_rule_name(res.rule), kvmm_rule_section(res.rule), change ? "\"" : "",
                 change ? change : "null", change ? "\"" : "",
                 kvmm_memslot_generation(k->slots, r.slot >> 16 < 2 ? r.slot >> 16 : 0));
        return expect_matches(expect, eno, change, NULL) ? 0 : HV_ESCENARIO;
    }
    if (strcmp(action, "enable_cap") == 0) {
        uint64_t a0 = 0, fl = 0;
        const struct hv_node *x;
        if ((x = hv_node_get(args, "args0")))
            hv_node_u64(x, "args0", &a0, &d);
        if ((x = hv_node_get(args, "flags")))
            hv_node_u64(x, "flags", &fl, &d);
        int e = 0;
        const char *cap = hv_node_get(args, "cap")->str;
        if (strcmp(cap, "exit_hypercall") == 0) {
            /* KVM_CAP_EXIT_HYPERCALL: args[0] must be a subset of 1 << KVM_HC_MAP_GPA_RANGE_NR */
            if (hv_vm_arch(vm) != HV_ARCH_X86_64 || (a0 & ~(1ULL << KVM_HC_MAP_GPA_RANGE_NR)))
                e = -EINVAL;
            else
                k->exit_hypercall = a0;
        } else if ((err = kvmm_dirty_enable_manual(k->slots, a0, (uint32_t)fl, &e))) {
            return err;
        }
        kvmm_errno_name(e, eno, sizeof eno);
        snprintf(result, size, "{\"errno\":\"%s\"}", eno);
        return expect_matches(expect, eno, NULL, NULL) ? 0 : HV_ESCENARIO;
    }
    uint64_t id = 0, as = 0;
    const struct hv_node *x;
    if ((x = hv_node_get(args, "slot")))
        hv_node_u64(x, "slot", &id, &d);
    if ((x = hv_node_get(args, "as")))
        hv_node_u64(x, "as", &as, &d);
    uint32_t slot = (uint32_t)((as & 0xffff) << 16 | (id & 0xffff));
    if (strcmp(action, "get_dirty_log") == 0) {
        /* userspace's buffer: as large as the slot's bitmap (QEMU rounds to 64 bits) */
        const struct kvmm_memslot *s = kvmm_memslot_by_id(k->slots, (unsigned)(as & 1),
                                                          (unsigned)id);
        size_t len = s && s->dirty_bitmap ? kvmm_dirty_bitmap_bytes(s) : 8;
        uint8_t *bm = calloc(1, len);
        char *hex = malloc(2 * len + 1);
        int e = 0;
        if (!bm || !hex || (err = kvmm_dirty_get_log(k->slots, slot, bm, len, &e))) {
            free(bm);
            free(hex);
            return err ? err : HV_ENOMEM;
        }
        hv_hex(bm, len, hex);
        kvmm_errno_name(e, eno, sizeof eno);
        if (e)
            snprintf(result, size, "{\"errno\":\"%s\",\"bitmap\":null}", eno);
        else
            snprintf(result, size, "{\"errno\":\"%s\",\"bitmap\":\"%s\"}", eno, hex);
        bool ok = expect_matches(expect, eno, NULL, e ? NULL : hex);
        free(bm);
        free(hex);
        return ok ? 0 : HV_ESCENARIO;
    }
    /* clear_dirty_log */
    uint64_t first = 0, num = 0;
    if ((x = hv_node_get(args, "first_page")))
        hv_node_u64(x, "first_page", &first, &d);
    if ((x = hv_node_get(args, "num_pages")))
        hv_node_u64(x, "num_pages", &num, &d);
    uint8_t bm[512];
    size_t len = 0;
    memset(bm, 0, sizeof bm);
    if ((x = hv_node_get(args, "bitmap")) && x->type == HV_NODE_SCALAR) {
        const char *s = x->str;
        for (; s[0] && s[1] && len < sizeof bm; s += 2, len++) {
            unsigned v;
            if (sscanf(s, "%2x", &v) != 1)
                break;
            bm[len] = (uint8_t)v;
        }
    } else {
        memset(bm, 0xff, sizeof bm); /* clear everything the range covers */
        len = sizeof bm;
    }
    int e = 0;
    if ((err = kvmm_dirty_clear_log(k->slots, slot, first, (uint32_t)num, bm, len, &e)))
        return err;
    kvmm_errno_name(e, eno, sizeof eno);
    snprintf(result, size, "{\"errno\":\"%s\"}", eno);
    return expect_matches(expect, eno, NULL, NULL) ? 0 : HV_ESCENARIO;
}


const struct kvmm_steps kvmm_slot_steps = { slot_check, slot_run };
