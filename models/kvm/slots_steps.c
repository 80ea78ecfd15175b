/*
 * slots_steps.c - the memslot, dirty-log and capability steps of the KVM model:
 * set_memory_region(2), get_dirty_log, clear_dirty_log, enable_cap and check_extension (A.3-A.7,
 * B.1's KVM_CAP_EXIT_HYPERCALL, the dirty ring's capabilities), and the expect helpers other
 * step sets share.
 *
 * Arguments are checked before the scenario runs (slot_check), so that a step reaches the
 * model with numbers of the ioctl's field widths; the model then validates them in the
 * kernel's own order, which is where an address-space or slot id out of range is refused,
 * before any slot table is read.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/kvm/caps.h"
#include "models/kvm/kvm_int.h"
#include "trace/event.h"

static const char *const kvm_actions[] = { "set_memory_region", "set_memory_region2",
                                           "get_dirty_log", "clear_dirty_log", "enable_cap",
                                           "check_extension", NULL };
/* enable_cap's capabilities in this set (arm.c owns its own) */
static const char *const caps_enabled[] = { "manual_dirty_log_protect2", "exit_hypercall",
                                            "dirty_log_ring", "dirty_log_ring_acq_rel",
                                            "dirty_log_ring_with_bitmap", NULL };

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

static bool in_list(const char *const *list, const char *s)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

/* Optional argument key, a number at most max. */
static int arg_max(const struct hv_node *args, const char *key, uint64_t max, struct hv_diag *d)
{
    const struct hv_node *x = hv_node_get(args, key);
    uint64_t u;
    int err = x ? hv_node_u64(x, key, &u, d) : 0;
    if (!err && x && u > max)
        err = hv_diag_at(d, x, "'%s': at most %#" PRIx64 " (the ioctl's field)", key, max);
    return err;
}

/* clear_dirty_log's `bitmap`: hex bytes, at most 512. */
static int check_hex_bitmap(const struct hv_node *n, struct hv_diag *d)
{
    const char *s;
    int err = hv_node_str(n, "bitmap", &s, d);
    if (err)
        return err;
    size_t len = strlen(s);
    if (len % 2 || len > 1024)
        return hv_diag_at(d, n, "'bitmap': an even number of hex digits, at most 512 bytes");
    for (size_t i = 0; i < len; i++)
        if (!strchr("0123456789abcdefABCDEF", s[i]))
            return hv_diag_at(d, n, "'bitmap': '%s' is not hex", s);
    return 0;
}

static int slot_check(const char *action, const struct hv_node *args,
                      const struct hv_node *expect, struct hv_diag *d)
{
    if (!in_list(kvm_actions, action))
        return HV_ENOENT;
    if (!args)
        return hv_diag_at(d, expect ? expect : NULL, "'%s' needs args", action);
    static const char *const set_expect[] = { "errno", "change", NULL };
    static const char *const log_expect[] = { "errno", "bitmap", NULL };
    static const char *const errno_expect[] = { "errno", NULL };
    static const char *const cap_expect[] = { "errno", "rule", NULL };
    static const char *const ext_expect[] = { "value", NULL };
    int err;
    if ((err = hv_node_expect(args, HV_NODE_MAP, "args", d)))
        return err;
    if (strncmp(action, "set_memory_region", 17) == 0) {
        /* buffer names are checked against memory.buffers when the step runs */
        static const char *const keys[] = { "slot", "as", "gpa", "size", "buffer", "offset",
                                             "hva", "flags", "window", NULL };
        uint32_t fl;
        if ((err = kvmm_check_expect_keys(expect, set_expect, d)) ||
            (err = hv_node_check_keys(args, keys, "args", d)) ||
            (err = arg_max(args, "slot", 0xffff, d)) || (err = arg_max(args, "as", 0xffff, d)) ||
            (err = arg_max(args, "gpa", UINT64_MAX, d)) ||
            (err = arg_max(args, "size", UINT64_MAX, d)) ||
            (err = arg_max(args, "offset", UINT64_MAX, d)) ||
            (err = arg_max(args, "hva", UINT64_MAX, d)) ||
            (err = arg_max(args, "window", UINT64_MAX, d)))
            return err;
        if (!hv_node_get(args, "slot"))
            return hv_diag_at(d, args, "missing 'slot'");
        return kvmm_flags_of(hv_node_get(args, "flags"), &fl, d);
    }
    if (strcmp(action, "get_dirty_log") == 0) {
        static const char *const keys[] = { "slot", "as", NULL };
        return kvmm_check_expect_keys(expect, log_expect, d) ?:
               hv_node_check_keys(args, keys, "args", d) ?:
               arg_max(args, "slot", 0xffff, d) ?: arg_max(args, "as", 0xffff, d);
    }
    if (strcmp(action, "clear_dirty_log") == 0) {
        static const char *const keys[] = { "slot", "as", "first_page", "num_pages", "bitmap",
                                            NULL };
        const struct hv_node *b = hv_node_get(args, "bitmap");
        return kvmm_check_expect_keys(expect, errno_expect, d) ?:
               hv_node_check_keys(args, keys, "args", d) ?:
               arg_max(args, "slot", 0xffff, d) ?: arg_max(args, "as", 0xffff, d) ?:
               arg_max(args, "first_page", UINT64_MAX, d) ?:
               arg_max(args, "num_pages", UINT32_MAX, d) ?: (b ? check_hex_bitmap(b, d) : 0);
    }
    const struct hv_node *c = hv_node_get(args, "cap");
    if (strcmp(action, "check_extension") == 0) {
        static const char *const keys[] = { "cap", NULL };
        if ((err = kvmm_check_expect_keys(expect, ext_expect, d)) ||
            (err = hv_node_check_keys(args, keys, "args", d)) ||
            (expect && (err = arg_max(expect, "value", INT32_MAX, d))))
            return err;
        if (!c)
            return hv_diag_at(d, args, "check_extension needs 'cap'");
        const char *name;
        uint64_t u;
        struct hv_diag nd;
        if ((err = hv_node_str(c, "cap", &name, d)))
            return err;
        if (kvmm_cap_number(name) >= 0)
            return 0;
        if (hv_node_u64(c, "cap", &u, &nd) != 0)   /* not a number either */
            return hv_diag_at(d, c, "'cap': unknown capability '%s' (a name or a number)", name);
        return arg_max(args, "cap", INT32_MAX, d);  /* KVM_CHECK_EXTENSION's int argument */
    }
    /* enable_cap */
    static const char *const keys[] = { "cap", "args0", "flags", NULL };
    const char *cap;
    if ((err = kvmm_check_expect_keys(expect, cap_expect, d)) ||
        (err = hv_node_check_keys(args, keys, "args", d)) ||
        (err = arg_max(args, "args0", UINT64_MAX, d)) ||
        (err = arg_max(args, "flags", UINT32_MAX, d)))
        return err;
    if (!c || (err = hv_node_str(c, "cap", &cap, d)))
        return err ? err : hv_diag_at(d, args, "enable_cap needs 'cap'");
    if (!in_list(caps_enabled, cap))
        return hv_diag_at(d, c, "'cap': manual_dirty_log_protect2, exit_hypercall, "
                                "dirty_log_ring, dirty_log_ring_acq_rel or "
                                "dirty_log_ring_with_bitmap");
    return 0;
}

int kvmm_errno_name(int e, char *buf, size_t size)
{
    static const struct { int no; const char *name; } names[] = {
        { 0, "0" }, { EINVAL, "EINVAL" }, { EEXIST, "EEXIST" }, { EFAULT, "EFAULT" },
        { ENOENT, "ENOENT" }, { ENXIO, "ENXIO" }, { ENOMEM, "ENOMEM" }, { EBUSY, "EBUSY" },
        { ENOTTY, "ENOTTY" }, { EPERM, "EPERM" }, { ENOEXEC, "ENOEXEC" }, { ENOSYS, "ENOSYS" },
        { E2BIG, "E2BIG" },
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

/*
 * The JSON of an update's result, without the closing brace; returns the change name or NULL.
 * generation is the named address space's, null when the request names one the VM does not
 * have (refused by A.3.6 before any table was read).
 */
static const char *format_set_result(const struct kvmm_vm *k, uint32_t slot,
                                     const struct kvmm_set_result *res, char *eno, size_t esz,
                                     char *result, size_t size)
{
    char gen[24] = "null";
    kvmm_errno_name(res->err, eno, esz);
    const char *change = res->err ? NULL : kvmm_change_name(res->change);
    if ((slot >> 16) < kvmm_slots_params(k->slots)->nr_as)
        snprintf(gen, sizeof gen, "%" PRIu64, kvmm_memslot_generation(k->slots, slot >> 16));
    snprintf(result, size,
             "{\"errno\":\"%s\",\"rule\":\"%s\",\"section\":\"%s\",\"change\":%s%s%s,"
             "\"generation\":%s",
             eno, kvmm_rule_name(res->rule), kvmm_rule_section(res->rule), change ? "\"" : "",
             change ? change : "null", change ? "\"" : "", gen);
    return change;
}

/* hv_vm_after callback: closes the INVALID window of a windowed DELETE or MOVE (A.4). */
static int window_close(struct hv_vm *vm, void *ctx, char *result, size_t size)
{
    struct kvmm_vm *k = ctx;
    char eno[16];
    kvmm_memslot_finish(k->slots, &k->window_res);
    k->window_open = false;
    int err = kvmm_sync_slot(vm, k, k->window_slot);
    size_t n;
    format_set_result(k, k->window_slot, &k->window_res, eno, sizeof eno, result, size);
    n = strlen(result);
    snprintf(result + n, size - n, "}");
    return err;
}

/*
 * An ioctl on the memslots while a window is open waits for the update holding slots_lock:
 * the window closes first (recorded as its `after` event, earlier than due).
 */
int kvmm_window_wait(struct hv_vm *vm, struct kvmm_vm *k)
{
    return k->window_open ? hv_vm_after_now(vm, k->window_id) : 0;
}

/*
 * set_memory_region(2). With `window: N` a DELETE or MOVE stops inside its INVALID window: the
 * slot's range is unmapped for the guest (accesses exit as MMIO) until the VM has retired N
 * more guest instructions, when window_close() finishes the update.
 */
static int set_region(struct hv_vm *vm, struct kvmm_vm *k, const char *action,
                      const struct hv_node *args, const struct hv_node *expect, char *result,
                      size_t size)
{
    struct hv_diag d;
    struct kvmm_region r;
    struct kvmm_set_result res;
    char eno[16];
    uint64_t window = 0;
    const struct hv_node *wn = hv_node_get(args, "window");
    int err = kvmm_parse_region(args, k->buf, k->nbuf, &r, &d);
    if (!err && wn)
        err = hv_node_u64(wn, "window", &window, &d);
    if (err)
        return hv_error_set(err, "%s:%d:%d: %s", d.file, d.line, d.col, d.msg);
    bool v2 = action[17] == '2';
    if ((err = wn ? kvmm_memslot_begin(k->slots, &r, v2, &res)
                  : kvmm_memslot_set(k->slots, &r, v2, &res)))
        return err;
    if (!res.err && (err = kvmm_sync_slot(vm, k, r.slot)))
        return err;
    const char *change = format_set_result(k, r.slot, &res, eno, sizeof eno, result, size);
    size_t n = strlen(result);
    if (wn && res.window) {
        char what[64];
        snprintf(what, sizeof what, "kvm: close the INVALID window of slot %" PRIu32, r.slot);
        k->window_open = true;
        k->window_slot = r.slot;
        k->window_res = res;
        if ((err = hv_vm_after(vm, window, what, window_close, k, &k->window_id)))
            return err;
        snprintf(result + n, size - n, ",\"window\":%" PRIu64 "}", window);
    } else {
        snprintf(result + n, size - n, wn ? ",\"window\":null}" : "}");
    }
    return expect_matches(expect, eno, change, NULL) ? 0 : HV_ESCENARIO;
}

/* A number argument already checked by slot_check(); def if absent. */
static uint64_t arg_u64(const struct hv_node *args, const char *key, uint64_t def)
{
    struct hv_diag d;
    const struct hv_node *x = hv_node_get(args, key);
    uint64_t u = def;
    if (x && hv_node_u64(x, key, &u, &d))
        u = def;
    return u;
}

/* enable_cap: KVM_ENABLE_CAP on the VM fd, for the capabilities of caps_enabled. */
static int enable_cap(struct hv_vm *vm, struct kvmm_vm *k, const struct hv_node *args,
                      const struct hv_node *expect, char *result, size_t size)
{
    uint64_t a0 = arg_u64(args, "args0", 0), fl = arg_u64(args, "flags", 0);
    const char *cap = hv_node_get(args, "cap")->str, *rule = NULL;
    char eno[16];
    int e = 0, err = 0;
    if (strcmp(cap, "exit_hypercall") == 0) {
        /* KVM_CAP_EXIT_HYPERCALL: args[0] must be a subset of 1 << KVM_HC_MAP_GPA_RANGE_NR */
        if (hv_vm_arch(vm) != HV_ARCH_X86_64 || (a0 & ~(1ULL << KVM_HC_MAP_GPA_RANGE_NR)))
            e = -EINVAL;
        else
            k->exit_hypercall = a0;
    } else if (strcmp(cap, "manual_dirty_log_protect2") == 0) {
        err = kvmm_dirty_enable_manual(k->slots, a0, (uint32_t)fl, &e);
    } else if (strcmp(cap, "dirty_log_ring_with_bitmap") == 0) {
        err = kvmm_dirty_ring_with_bitmap(k->slots, (uint32_t)fl, &e);
    } else {
        /* flags are not checked for the ring (kvm_vm_ioctl_enable_cap_generic()) */
        err = kvmm_ring_enable_cap(k, hv_vm_nr_vcpus(vm),
                                   (uint64_t)kvmm_cap_number(cap), a0, &e, &rule);
    }
    if (err)
        return err;
    kvmm_errno_name(e, eno, sizeof eno);
    if (rule)
        snprintf(result, size, "{\"errno\":\"%s\",\"rule\":\"%s\"}", eno, rule);
    else
        snprintf(result, size, "{\"errno\":\"%s\"}", eno);
    return kvmm_expect_str(expect, "errno", eno) && kvmm_expect_str(expect, "rule", rule)
           ? 0 : HV_ESCENARIO;
}

/* check_extension: KVM_CHECK_EXTENSION on the VM fd, by name or number. */
static int check_extension(struct kvmm_vm *k, const struct hv_node *args,
                           const struct hv_node *expect, char *result, size_t size)
{
    const struct hv_node *c = hv_node_get(args, "cap");
    int nr = kvmm_cap_number(c->str);
    uint64_t cap = nr >= 0 ? (uint64_t)nr : arg_u64(args, "cap", 0);
    const char *name = kvmm_cap_name(cap);
    int value = kvmm_check_extension(kvmm_slots_params(k->slots), cap);
    snprintf(result, size, "{\"cap\":%" PRIu64 ",\"name\":%s%s%s,\"value\":%d}", cap,
             name ? "\"" : "", name ? name : "null", name ? "\"" : "", value);
    bool ok = !expect || arg_u64(expect, "value", (uint64_t)value) == (uint64_t)value;
    return ok ? 0 : HV_ESCENARIO;
}

static int slot_run(struct hv_vm *vm, struct kvmm_vm *k, const char *action,
                    const struct hv_node *args, const struct hv_node *expect, char *result,
                    size_t size)
{
    char eno[16];
    int err = 0;
    if (!in_list(kvm_actions, action))
        return HV_ENOENT;
    if (strcmp(action, "check_extension") == 0)
        return check_extension(k, args, expect, result, size);
    /* every other one takes slots_lock */
    if ((err = kvmm_window_wait(vm, k)))
        return err;
    if (strncmp(action, "set_memory_region", 17) == 0)
        return set_region(vm, k, action, args, expect, result, size);
    if (strcmp(action, "enable_cap") == 0)
        return enable_cap(vm, k, args, expect, result, size);
    uint64_t id = arg_u64(args, "slot", 0), as = arg_u64(args, "as", 0);
    uint32_t slot = (uint32_t)(as << 16 | id);
    if (strcmp(action, "get_dirty_log") == 0) {
        /* userspace's buffer: as large as the slot's bitmap (QEMU rounds to 64 bits); 8
         * bytes when the request names no slot with one (the ioctl refuses it first) */
        const struct kvmm_memslot *s = kvmm_memslot_by_slot(k->slots, slot);
        size_t len = s && s->dirty_bitmap ? kvmm_dirty_bitmap_bytes(s) : 8;
        uint8_t *bm = calloc(1, len);
        char *hex = malloc(2 * len + 1);
        int e = 0;
        if (!bm || !hex || (err = kvmm_dirty_get_log(k->slots, slot, bm, len, &e))) {
            free(bm);
            free(hex);
            return err ? err : hv_error_set(HV_ENOMEM, "kvm: a dirty bitmap");
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
    uint64_t first = arg_u64(args, "first_page", 0), num = arg_u64(args, "num_pages", 0);
    uint8_t bm[512];
    size_t len = 0;
    const struct hv_node *x = hv_node_get(args, "bitmap");
    memset(bm, 0, sizeof bm);
    if (x) {
        for (const char *s = x->str; s[0] && s[1] && len < sizeof bm; s += 2, len++) {
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
