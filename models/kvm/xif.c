/*
 * xif.c - the 2009 KVM "xinterface" series next to what mainline KVM does instead
 * (docs/sources.md E), as scenario steps run by a host kernel module at guest sync points:
 * xif_copy_to, xif_copy_from, xif_vmap, xif_vmap_write, xif_vmap_read, xif_vmap_put; and
 * kvm_write_guest, a write KVM itself makes for a vCPU (kvm_vcpu_write_guest(), A.5, A.7).
 *
 * patch (alacrity:virt/kvm/xinterface.c):
 *   gpa_to_hva(): slotcache[cpu] is used if it holds the gfn, else gfn_to_memslot() refills
 *   it. The cache is a raw pointer, never compared with the memslot generation. After a
 *   MOVE or DELETE it still points at the replaced slot: memslot.c keeps replaced slots
 *   readable until the VM is destroyed (retired, kvmm_memslot_current() false), so the stale
 *   translation uses exactly the base_gfn and userspace_addr the kernel's freed object held,
 *   where the kernel would read freed memory; the model never does.
 *   copy_to/copy_from translate the first byte only and then copy_to_user()/copy_from_user()
 *   the whole length linearly in the VMM's address space: a range crossing into the next
 *   slot continues in whatever host memory follows the first slot's page, and stops, with
 *   the remaining count returned, at the first host page that is not mapped (the guard page
 *   after a buffer here). access_ok() fails the whole copy for a range wrapping or passing
 *   the user address limit. A failed translation (or one giving host address 0) copies
 *   nothing. No mark_page_dirty(); read-only slots are ignored (it is the VMM's memory).
 *   vmap(): gfn_to_memslot() of the first gfn, else -EINVAL; then the check
 *   offset_in_page(gpa) + len <= slot size, which bounds the length but not where the range
 *   starts in the slot, so a range may run past the slot's end; more than PAGE_SIZE/8 pages
 *   (or none) -> -EFAULT; get_user_pages() must pin every page (else -EFAULT). The pinned
 *   pages stay mapped until xvmap_put, whatever happens to the memslots.
 *
 * mainline (linux:virt/kvm/kvm_main.c, virt/kvm/pfncache.c):
 *   copy_to/copy_from are kvm_write_guest_offset_cached()/kvm_read_guest_offset_cached() on a
 *   gfn_to_hva_cache per cpu index, initialised with kvm_gfn_to_hva_cache_init() whenever the
 *   module's gpa or len change. Init checks every slot the range touches with
 *   gfn_to_hva_many(..., write) (no slot, INVALID or read-only -> -EFAULT, nothing copied; a
 *   range whose end wraps -> -EINVAL), keeps the fast path for a single page only. An access
 *   re-inits when the generation moved; a cross-page range takes kvm_{write,read}_guest(),
 *   page by page through gfn_to_memslot(). Writes call mark_page_dirty_in_slot().
 *   vmap is a gfn_to_pfn_cache: kvm_gpc_activate() (offset_in_page(gpa) + len > PAGE_SIZE
 *   -> -EINVAL; no slot, read-only, unbacked -> -EFAULT); each access does kvm_gpc_check()
 *   (generation unchanged, valid) or kvm_gpc_refresh() (a new lookup, -EFAULT if the gpa lost
 *   its memory); writes are marked dirty (mark_page_dirty_in_slot, as the Xen users do).
 *
 * Invariants:
 *   1. slotcache[i] is NULL or a slot of k->slots, current or retired.
 *   2. A live vmap's host bytes [host, host + npages pages) lie in one buffer (patch).
 *   3. ghc[i].memslot and a vmap's memslot are only dereferenced while their generation is
 *      the address space's current one.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/kvm/kvm_int.h"
#include "sim/migrate.h"
#include "trace/event.h"

#define PAGE 4096ull
#define XIF_MAX_LEN 1024         /* bytes one step moves (the result is hex text) */

/* ---- translations ----------------------------------------------------------------------- */

static bool holds(const struct kvmm_memslot *m, uint64_t gfn)
{
    return m && gfn >= m->base_gfn && gfn - m->base_gfn < m->npages;
}

/* gfn_to_memslot() (the VM-wide cache), reported. A slot in an INVALID window is none. */
static const struct kvmm_memslot *vm_lookup(struct kvmm_vm *k, const char *user, uint64_t gfn,
                                            int *terr)
{
    enum kvmm_lookup_via via;
    const struct kvmm_memslot *m = kvmm_memslot_lookup(k->slots, 0, gfn, &via);
    if (!kvmm_memslot_usable(m)) {
        m = NULL;
        via = KVMM_LOOKUP_NONE;
    }
    *terr = kvmm_report_lookup(k, NULL, user, 0, gfn, kvmm_lookup_via_name(via), m);
    return m;
}

/* The patch's gpa_to_hva(): 0 when no slot holds the gfn. */
static uint64_t patch_gpa_to_hva(struct kvmm_vm *k, unsigned cpu, uint64_t gpa,
                                 const char *user, int *terr)
{
    uint64_t gfn = gpa >> 12;
    const struct kvmm_memslot *m = k->xif.slotcache[cpu];
    if (holds(m, gfn)) {
        *terr = kvmm_report_lookup(k, NULL, user, 0, gfn, "xif_cache", m);
    } else {
        m = vm_lookup(k, user, gfn, terr);
        if (!m)
            return 0;
        k->xif.slotcache[cpu] = m;
    }
    return kvmm_memslot_hva(m, gfn) + (gpa & (PAGE - 1));
}

/*
 * copy_to_user()/copy_from_user() at hva in the VMM's address space: access_ok() first,
 * then page by page until a host page is not mapped. Returns the bytes not copied.
 */
static size_t host_copy(struct kvmm_vm *k, uint64_t hva, uint8_t *buf, size_t len, bool to_host)
{
    if (!kvmm_access_ok(kvmm_slots_params(k->slots)->user_va_limit, hva, len))
        return len;
    size_t done = 0;
    while (done < len) {
        uint64_t a = hva + done;
        size_t seg = len - done < PAGE - (a & (PAGE - 1)) ? len - done : PAGE - (a & (PAGE - 1));
        uint8_t *h = kvmm_host_range(k, a, seg);
        if (!h)
            break;
        if (to_host)
            memcpy(h, buf + done, seg);
        else
            memcpy(buf + done, h, seg);
        done += seg;
    }
    return len - done;
}

/* gfn_to_hva_memslot_prot()'s failure cases: none, INVALID, or read-only for a write. */
static bool slot_hva_ok(const struct kvmm_memslot *m, bool write)
{
    return kvmm_memslot_usable(m) && !(write && (m->flags & KVMM_MEM_READONLY));
}

/* ---- mainline: gfn_to_hva_cache --------------------------------------------------------- */

/* __kvm_gfn_to_hva_cache_init(): 0, -EINVAL or -EFAULT. */
static int ghc_init(struct kvmm_vm *k, struct kvmm_hva_cache *g, uint64_t gpa, uint64_t len,
                    const char *user, int *terr)
{
    uint64_t start = gpa >> 12, end = (gpa + len - 1) >> 12;
    g->generation = kvmm_memslot_generation(k->slots, 0);
    g->used = false;
    g->hva_bad = true;
    g->memslot = NULL;
    if (start > end)
        return -EINVAL;
    uint64_t avail = 0;
    for (uint64_t gfn = start; gfn <= end; gfn += avail) {
        const struct kvmm_memslot *m = vm_lookup(k, user, gfn, terr);
        if (*terr)
            return 0;
        /* gfn_to_hva_many() asks for a writable address */
        if (!slot_hva_ok(m, true))
            return -EFAULT;
        g->memslot = m;
        g->hva = kvmm_memslot_hva(m, gfn);
        avail = m->base_gfn + m->npages - gfn;
        if (gfn + avail < gfn)
            break;
    }
    g->hva_bad = false;
    if (start == end)
        g->hva += gpa & (PAGE - 1);
    else
        g->memslot = NULL;   /* cross-page: the slow path */
    g->gpa = gpa;
    g->len = len;
    g->used = true;
    return 0;
}

/* kvm_{write,read}_guest(): page by page through gfn_to_memslot(); 0 or -EFAULT. */
static int guest_rw(struct kvmm_vm *k, uint64_t gpa, uint8_t *buf, size_t len, bool write,
                    const char *user, size_t *left, int *terr)
{
    uint64_t gfn = gpa >> 12;
    size_t off = gpa & (PAGE - 1), done = 0;
    int e = 0;
    for (; done < len; gfn++, off = 0) {
        size_t seg = len - done < PAGE - off ? len - done : PAGE - off;
        const struct kvmm_memslot *m = vm_lookup(k, user, gfn, terr);
        if (*terr)
            break;
        uint8_t *h = slot_hva_ok(m, write) ?
                     kvmm_host_range(k, kvmm_memslot_hva(m, gfn) + off, seg) : NULL;
        if (!h) {
            e = -EFAULT;
            break;
        }
        if (write) {
            memcpy(h, buf + done, seg);
            kvmm_dirty_mark_in_slot(k->slots, m, gfn);
        } else {
            memcpy(buf + done, h, seg);
        }
        done += seg;
    }
    *left = len - done;
    return e;
}

/* kvm_gfn_to_hva_cache_init() when the target changed, then kvm_*_guest_offset_cached(). */
static int mainline_copy(struct kvmm_vm *k, unsigned cpu, uint64_t gpa, uint8_t *buf,
                         size_t len, bool write, struct kvmm_xif_res *res)
{
    const char *user = write ? "xif_copy_to" : "xif_copy_from";
    struct kvmm_hva_cache *g = &k->xif.ghc[cpu];
    int terr = 0;
    bool fresh = false;
    res->not_copied = len;
    if (!g->used || g->gpa != gpa || g->len != len) {
        res->err = ghc_init(k, g, gpa, len, user, &terr);
        if (terr || res->err)
            return terr;
        fresh = true;
    }
    if (g->generation != kvmm_memslot_generation(k->slots, 0)) {
        if (ghc_init(k, g, g->gpa, g->len, user, &terr) || terr) {
            res->err = -EFAULT;
            return terr;
        }
        fresh = true;
    }
    if (g->hva_bad) {
        res->err = -EFAULT;
        return 0;
    }
    if (!g->memslot) {
        size_t left;
        res->err = guest_rw(k, gpa, buf, len, write, user, &left, &terr);
        res->not_copied = left;
        return terr;
    }
    if (!fresh && (terr = kvmm_report_lookup(k, NULL, user, 0, gpa >> 12, "hva_cache",
                                             g->memslot)))
        return terr;
    uint8_t *h = kvmm_host_range(k, g->hva, len);
    if (!h) {
        res->err = -EFAULT;
        return 0;
    }
    if (write) {
        memcpy(h, buf, len);
        kvmm_dirty_mark_in_slot(k->slots, g->memslot, gpa >> 12);
    } else {
        memcpy(buf, h, len);
    }
    res->err = 0;
    res->not_copied = 0;
    return 0;
}

/* ---- copy_to / copy_from ---------------------------------------------------------------- */

static int xif_copy(struct kvmm_vm *k, unsigned cpu, uint64_t gpa, uint8_t *buf, size_t len,
                    bool write, struct kvmm_xif_res *res)
{
    *res = (struct kvmm_xif_res){ 0 };
    if (k->xif.mode == KVMM_XIF_MAINLINE) {
        int terr = mainline_copy(k, cpu, gpa, buf, len, write, res);
        if (write)
            hv_vm_note_write(k->vm, NULL, gpa, len - res->not_copied, "xinterface write");
        return terr;
    }
    int terr = 0;
    uint64_t hva = patch_gpa_to_hva(k, cpu, gpa, write ? "xif_copy_to" : "xif_copy_from",
                                    &terr);
    res->not_copied = hva ? host_copy(k, hva, buf, len, write) : len;
    if (write)
        hv_vm_note_write(k->vm, NULL, gpa, len - res->not_copied, "xinterface write");
    return terr;
}

int kvmm_xif_copy_to(struct kvmm_vm *k, unsigned cpu, uint64_t gpa, const uint8_t *src,
                     size_t len, struct kvmm_xif_res *res)
{
    /* the copy only reads src; one routine serves both directions */
    return xif_copy(k, cpu, gpa, (uint8_t *)(uintptr_t)src, len, true, res);
}

int kvmm_xif_copy_from(struct kvmm_vm *k, unsigned cpu, uint64_t gpa, uint8_t *dst, size_t len,
                       struct kvmm_xif_res *res)
{
    return xif_copy(k, cpu, gpa, dst, len, false, res);
}

/* ---- vmap ------------------------------------------------------------------------------- */

/* kvm_gpc_refresh(): a new translation of m->gpa; 0 or -EFAULT. */
static int gpc_refresh(struct kvmm_vm *k, struct kvmm_xvmap *m, const char *user, int *terr)
{
    uint64_t gfn = m->gpa >> 12;
    m->generation = kvmm_memslot_generation(k->slots, 0);
    m->valid = false;
    m->memslot = vm_lookup(k, user, gfn, terr);
    if (*terr || !slot_hva_ok(m->memslot, true))
        return -EFAULT;
    m->hva = kvmm_memslot_hva(m->memslot, gfn) + (m->gpa & (PAGE - 1));
    /* hva_to_pfn(): the host page must be there */
    m->host = kvmm_host_range(k, m->hva & ~(PAGE - 1), PAGE);
    if (!m->host)
        return -EFAULT;
    m->host += m->gpa & (PAGE - 1);
    m->valid = true;
    return 0;
}

int kvmm_xif_vmap(struct kvmm_vm *k, struct kvmm_xvmap *m, uint64_t gpa, uint64_t len,
                  struct kvmm_xif_res *res)
{
    uint64_t off = gpa & (PAGE - 1), gfn = gpa >> 12;
    int terr = 0;
    *res = (struct kvmm_xif_res){ 0 };
    m->live = false;
    m->gpa = gpa;
    m->len = len;
    if (k->xif.mode == KVMM_XIF_MAINLINE) {
        /* kvm_gpc_activate() */
        if (off + len > PAGE) {
            res->err = -EINVAL;
            return 0;
        }
        res->err = gpc_refresh(k, m, "xif_vmap", &terr);
        if (!terr && !res->err) {
            m->live = true;
            m->npages = 1;
            res->npages = 1;
        }
        return terr;
    }
    const struct kvmm_memslot *slot = vm_lookup(k, "xif_vmap", gfn, &terr);
    if (terr)
        return terr;
    /* the patch's "walks off the end of the slot" check: length only */
    if (!slot || off + len > slot->npages << 12 || off + len < off) {
        res->err = -EINVAL;
        return 0;
    }
    uint64_t npages = ((len + off + PAGE - 1) & ~(PAGE - 1)) >> 12;
    uint64_t hva = kvmm_memslot_hva(slot, gfn);
    /* _vmap(): too many pages for its one-page list, or nothing to map (vmap of 0 pages
     * fails); get_user_pages() of every page */
    uint8_t *host = npages && npages <= KVMM_XIF_VMAP_MAX_PAGES ?
                    kvmm_host_range(k, hva, npages << 12) : NULL;
    if (!host) {
        res->err = -EFAULT;
        return 0;
    }
    m->hva = hva + off;
    m->host = host + off;
    m->npages = npages;
    m->live = true;
    res->npages = npages;
    return 0;
}

int kvmm_xif_vmap_access(struct kvmm_vm *k, struct kvmm_xvmap *m, uint64_t off, uint8_t *buf,
                         size_t len, bool write, struct kvmm_xif_res *res)
{
    int terr = 0;
    *res = (struct kvmm_xif_res){ .not_copied = len };
    if (k->xif.mode == KVMM_XIF_MAINLINE) {
        const char *user = write ? "xif_vmap_write" : "xif_vmap_read";
        if (m->valid && m->generation == kvmm_memslot_generation(k->slots, 0)) {
            /* kvm_gpc_check() holds: the cached mapping serves the access */
            terr = kvmm_report_lookup(k, NULL, user, 0, m->gpa >> 12, "pfn_cache", m->memslot);
        } else {
            res->err = gpc_refresh(k, m, user, &terr);
            if (terr || res->err)
                return terr;
        }
        if (terr)
            return terr;
    }
    if (write) {
        memcpy(m->host + off, buf, len);
        hv_vm_note_write(k->vm, NULL, m->gpa + off, len, "xinterface write");
    } else {
        memcpy(buf, m->host + off, len);
    }
    if (write && k->xif.mode == KVMM_XIF_MAINLINE)
        kvmm_dirty_mark_in_slot(k->slots, m->memslot, m->gpa >> 12);
    res->not_copied = 0;
    return 0;
}

void kvmm_xif_vmap_put(struct kvmm_xvmap *m)
{
    memset(m, 0, sizeof *m);
}

/* ---- steps ------------------------------------------------------------------------------ */

static const char *const xif_actions[] = { "xif_copy_to", "xif_copy_from", "xif_vmap",
                                           "xif_vmap_write", "xif_vmap_read", "xif_vmap_put",
                                           "kvm_write_guest", NULL };

/* Hex text to bytes: at most max bytes; an even number of hex digits. */
static int parse_hex(const struct hv_node *n, uint8_t *out, size_t max, size_t *len,
                     struct hv_diag *d)
{
    const char *s;
    int err = hv_node_str(n, "data", &s, d);
    if (err)
        return err;
    size_t sl = strlen(s);
    if (sl % 2 || sl / 2 > max || !sl)
        return hv_diag_at(d, n, "'data': expected an even number of hex digits (1 to %zu "
                                "bytes)", max);
    for (size_t i = 0; i < sl / 2; i++) {
        unsigned v;
        char pair[3] = { s[2 * i], s[2 * i + 1], 0 };
        char *end;
        v = (unsigned)strtoul(pair, &end, 16);
        if (*end || pair[0] == '+' || pair[0] == '-' || pair[0] == ' ')
            return hv_diag_at(d, n, "'data': '%s' is not hex", s);
        if (out)
            out[i] = (uint8_t)v;
    }
    *len = sl / 2;
    return 0;
}

/* An optional unsigned argument below max (max 0: any). */
static int arg_u64(const struct hv_node *args, const char *key, bool required, uint64_t max,
                   uint64_t *out, struct hv_diag *d)
{
    const struct hv_node *x = hv_node_get(args, key);
    *out = 0;
    if (!x)
        return required ? hv_diag_at(d, args, "missing '%s'", key) : 0;
    int err = hv_node_u64(x, key, out, d);
    if (!err && max && *out >= max)
        err = hv_diag_at(d, x, "'%s': at most %" PRIu64, key, max - 1);
    return err;
}

static int arg_name(const struct hv_node *args, const char **name, struct hv_diag *d)
{
    const struct hv_node *x = hv_node_get(args, "name");
    if (!x)
        return hv_diag_at(d, args, "missing 'name'");
    int err = hv_node_str(x, "name", name, d);
    if (!err && (!**name || strlen(*name) >= sizeof((struct kvmm_xvmap *)0)->name))
        err = hv_diag_at(d, x, "'name': 1 to 31 characters");
    return err;
}

static int xif_check(const char *action, const struct hv_node *args,
                     const struct hv_node *expect, struct hv_diag *d)
{
    size_t i = 0;
    while (xif_actions[i] && strcmp(xif_actions[i], action) != 0)
        i++;
    if (!xif_actions[i])
        return HV_ENOENT;
    if (!args)
        return hv_diag_at(d, expect, "'%s' needs args", action);
    static const char *const copy_to[] = { "cpu", "gpa", "data", NULL };
    static const char *const copy_from[] = { "cpu", "gpa", "len", NULL };
    static const char *const vmap[] = { "name", "gpa", "len", NULL };
    static const char *const vwrite[] = { "name", "offset", "data", NULL };
    static const char *const vread[] = { "name", "offset", "len", NULL };
    static const char *const vput[] = { "name", NULL };
    static const char *const kwrite[] = { "vcpu", "gpa", "data", NULL };
    static const char *const *const keys[] = { copy_to, copy_from, vmap, vwrite, vread, vput,
                                                kwrite };
    static const char *const copy_exp[] = { "not_copied", "errno", "bytes", NULL };
    static const char *const vmap_exp[] = { "errno", "npages", NULL };
    static const char *const acc_exp[] = { "errno", "bytes", NULL };
    static const char *const put_exp[] = { NULL };
    static const char *const kw_exp[] = { "errno", "not_written", NULL };
    static const char *const *const exps[] = { copy_exp, copy_exp, vmap_exp, acc_exp, acc_exp,
                                               put_exp, kw_exp };
    int err;
    if ((err = hv_node_expect(args, HV_NODE_MAP, "args", d)) ||
        (err = hv_node_check_keys(args, keys[i], "args", d)) ||
        (err = kvmm_check_expect_keys(expect, exps[i], d)))
        return err;
    uint64_t v;
    const char *name;
    size_t n;
    switch (i) {
    case 0: case 1:
        if ((err = arg_u64(args, "cpu", false, KVMM_XIF_NR_CPUS, &v, d)) ||
            (err = arg_u64(args, "gpa", true, 0, &v, d)))
            return err;
        if (i == 0) {
            if (!hv_node_get(args, "data"))
                return hv_diag_at(d, args, "missing 'data'");
            return parse_hex(hv_node_get(args, "data"), NULL, XIF_MAX_LEN, &n, d);
        }
        return arg_u64(args, "len", true, XIF_MAX_LEN + 1, &v, d);
    case 2:
        return arg_name(args, &name, d) ?: arg_u64(args, "gpa", true, 0, &v, d) ?:
               arg_u64(args, "len", true, 0, &v, d);
    case 3: case 4:
        if ((err = arg_name(args, &name, d)) || (err = arg_u64(args, "offset", false, 0, &v, d)))
            return err;
        if (i == 3) {
            if (!hv_node_get(args, "data"))
                return hv_diag_at(d, args, "missing 'data'");
            return parse_hex(hv_node_get(args, "data"), NULL, XIF_MAX_LEN, &n, d);
        }
        return arg_u64(args, "len", true, XIF_MAX_LEN + 1, &v, d);
    case 5:
        return arg_name(args, &name, d);
    default:
        if ((err = arg_u64(args, "vcpu", false, HV_MAX_VCPUS, &v, d)) ||
            (err = arg_u64(args, "gpa", true, 0, &v, d)))
            return err;
        if (!hv_node_get(args, "data"))
            return hv_diag_at(d, args, "missing 'data'");
        return parse_hex(hv_node_get(args, "data"), NULL, XIF_MAX_LEN, &n, d);
    }
}

/* True if expect's `key` is absent or the unsigned integer actual. */
static bool expect_u64(const struct hv_node *e, const char *key, uint64_t actual)
{
    const struct hv_node *x = e ? hv_node_get(e, key) : NULL;
    struct hv_diag d;
    uint64_t v;
    return !x || (hv_node_u64(x, key, &v, &d) == 0 && v == actual);
}

/* The live vmap called name, or NULL with a located error. */
static struct kvmm_xvmap *vmap_named(struct kvmm_vm *k, const struct hv_node *args, int *err)
{
    const struct hv_node *x = hv_node_get(args, "name");
    for (size_t i = 0; i < KVMM_XIF_MAX_VMAPS; i++)
        if (k->xif.vmap[i].live && strcmp(k->xif.vmap[i].name, x->str) == 0)
            return &k->xif.vmap[i];
    *err = hv_error_set(HV_EINVAL, "%s:%d:%d: no live xif_vmap named '%s'", x->file, x->line,
                        x->col, x->str);
    return NULL;
}

static int xif_run(struct hv_vm *vm, struct kvmm_vm *k, const char *action,
                   const struct hv_node *args, const struct hv_node *expect, char *result,
                   size_t size)
{
    size_t i = 0;
    while (xif_actions[i] && strcmp(xif_actions[i], action) != 0)
        i++;
    if (!xif_actions[i])
        return HV_ENOENT;
    struct hv_diag d;
    uint8_t data[XIF_MAX_LEN], back[XIF_MAX_LEN];
    char hex[2 * XIF_MAX_LEN + 1], eno[16];
    size_t len = 0;
    uint64_t cpu = 0, gpa = 0, n = 0, off = 0;
    struct kvmm_xif_res res = { 0 };
    int err = 0;
    const struct hv_node *dn = hv_node_get(args, "data");
    if (dn)
        parse_hex(dn, data, sizeof data, &len, &d);
    arg_u64(args, "cpu", false, 0, &cpu, &d);
    arg_u64(args, "gpa", false, 0, &gpa, &d);
    arg_u64(args, "len", false, 0, &n, &d);
    arg_u64(args, "offset", false, 0, &off, &d);
    hex[0] = 0;
    bool ok;
    switch (i) {
    case 0: case 1:
        if (i == 0)
            err = kvmm_xif_copy_to(k, (unsigned)cpu, gpa, data, len, &res);
        else
            err = kvmm_xif_copy_from(k, (unsigned)cpu, gpa, back, len = (size_t)n, &res);
        if (err)
            return err;
        if (i == 1)
            hv_hex(back, len - (size_t)res.not_copied, hex);
        kvmm_errno_name(res.err, eno, sizeof eno);
        snprintf(result, size, "{\"not_copied\":%" PRIu64 ",\"errno\":\"%s\"%s%s%s}",
                 res.not_copied, eno, i == 1 ? ",\"bytes\":\"" : "", i == 1 ? hex : "",
                 i == 1 ? "\"" : "");
        ok = expect_u64(expect, "not_copied", res.not_copied) &&
             kvmm_expect_str(expect, "errno", eno) &&
             kvmm_expect_str(expect, "bytes", i == 1 ? hex : NULL);
        break;
    case 2: {
        const char *name = hv_node_get(args, "name")->str;
        struct kvmm_xvmap *slot = NULL;
        for (size_t j = 0; j < KVMM_XIF_MAX_VMAPS; j++) {
            if (k->xif.vmap[j].live && strcmp(k->xif.vmap[j].name, name) == 0)
                return hv_error_set(HV_EINVAL, "%s:%d:%d: xif_vmap '%s' is already live",
                                    args->file, args->line, args->col, name);
            if (!slot && !k->xif.vmap[j].live)
                slot = &k->xif.vmap[j];
        }
        if (!slot)
            return hv_error_set(HV_EINVAL, "%s:%d:%d: at most %d live xif_vmaps", args->file,
                                args->line, args->col, KVMM_XIF_MAX_VMAPS);
        if ((err = kvmm_xif_vmap(k, slot, gpa, n, &res)))
            return err;
        snprintf(slot->name, sizeof slot->name, "%s", name);
        kvmm_errno_name(res.err, eno, sizeof eno);
        snprintf(result, size, "{\"errno\":\"%s\",\"npages\":%" PRIu64 "}", eno, res.npages);
        ok = kvmm_expect_str(expect, "errno", eno) && expect_u64(expect, "npages", res.npages);
        break;
    }
    case 3: case 4: {
        struct kvmm_xvmap *m = vmap_named(k, args, &err);
        if (!m)
            return err;
        if (i == 4)
            len = (size_t)n;
        if (off > m->len || len > m->len - off)
            return hv_error_set(HV_EINVAL, "%s:%d:%d: offset %" PRIu64 " + %zu bytes passes the "
                                "end of xif_vmap '%s' (%" PRIu64 " bytes)", args->file,
                                args->line, args->col, off, len, m->name, m->len);
        if ((err = kvmm_xif_vmap_access(k, m, off, i == 3 ? data : back, len, i == 3, &res)))
            return err;
        kvmm_errno_name(res.err, eno, sizeof eno);
        if (i == 4 && !res.err)
            hv_hex(back, len, hex);
        snprintf(result, size, "{\"errno\":\"%s\"%s%s%s}", eno, i == 4 ? ",\"bytes\":\"" : "",
                 hex, i == 4 ? "\"" : "");
        ok = kvmm_expect_str(expect, "errno", eno) &&
             kvmm_expect_str(expect, "bytes", i == 4 ? hex : NULL);
        break;
    }
    case 5: {
        struct kvmm_xvmap *m = vmap_named(k, args, &err);
        if (!m)
            return err;
        kvmm_xif_vmap_put(m);
        snprintf(result, size, "{\"errno\":\"0\"}");
        ok = true;
        break;
    }
    default: {
        uint64_t vi = 0;
        arg_u64(args, "vcpu", false, 0, &vi, &d);
        struct hv_vcpu *v = vi < hv_vm_nr_vcpus(vm) ? hv_vm_vcpu(vm, (unsigned)vi) : NULL;
        if (!v) {
            const struct hv_node *x = hv_node_get(args, "vcpu");
            return hv_error_set(HV_EINVAL, "%s:%d:%d: 'vcpu': no vCPU %" PRIu64, x->file,
                                x->line, x->col, vi);
        }
        int e;
        size_t left;
        if ((err = kvmm_vcpu_write_guest(k, v, "kvm_write_guest", gpa, data, len, &e, &left)))
            return err;
        kvmm_errno_name(e, eno, sizeof eno);
        snprintf(result, size, "{\"errno\":\"%s\",\"not_written\":%zu}", eno, left);
        ok = kvmm_expect_str(expect, "errno", eno) && expect_u64(expect, "not_written", left);
        break;
    }
    }
    return ok ? 0 : HV_ESCENARIO;
}

const struct kvmm_steps kvmm_xif_steps = { xif_check, xif_run };
