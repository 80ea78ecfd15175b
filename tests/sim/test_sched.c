/*
 * test_sched.c - the schedule's random numbers (sim/sched.c) and the scheduler they drive
 * (hv_vm_run in sim/vm.c).
 *
 * sched_next is checked against published splitmix64 outputs and against a reference written
 * here from the definition in docs/determinism.md, including its inverse, which lets a row put
 * any chosen value as the next draw: that is how the rejection boundary of sched_below is
 * tested exactly. The end-to-end check runs a hand-assembled two-vCPU guest under model
 * `none`: the same seed gives the same `sched` events, another seed other ones, and every
 * decision equals the reference stream's.
 */
#include <CUnit/CUnit.h>
#include <elf.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/test_util.h"
#include "scenarios/lib/hv_abi.h"
#include "sim/model.h"
#include "sim/sim_int.h"

void test_sched_register(void);

#define TS_N(a) (sizeof(a) / sizeof((a)[0]))

#define TS_CHECK(cond, ...) TEST_CHECK((cond), __VA_ARGS__)

/* ---- reference splitmix64, from the published definition ---------------------------------- */

#define TS_GAMMA 0x9e3779b97f4a7c15ULL
#define TS_M1    0xbf58476d1ce4e5b9ULL
#define TS_M2    0x94d049bb133111ebULL

static uint64_t ts_mix(uint64_t z)
{
    z ^= z >> 30;
    z *= TS_M1;
    z ^= z >> 27;
    z *= TS_M2;
    return z ^ (z >> 31);
}

static uint64_t ts_ref_next(uint64_t *state)
{
    *state += TS_GAMMA;
    return ts_mix(*state);
}

/* below(n) as docs/determinism.md words it: draw until the value is below 2^64 - (2^64 mod
 * n); for a power of two that bound is 2^64 and every draw is used. */
static uint64_t ts_ref_below(uint64_t *state, uint64_t n)
{
    if (n <= 1)
        return 0;
    uint64_t limit = 0 - ((0 - n) % n); /* 2^64 - (2^64 mod n) modulo 2^64: 0 means 2^64 */
    uint64_t r;
    do
        r = ts_ref_next(state);
    while (limit && r >= limit);
    return r % n;
}

/* Inverse of x ^= x >> k. */
static uint64_t ts_unxorshift(uint64_t y, unsigned k)
{
    uint64_t x = y;
    for (unsigned i = 0; i < 64 / k + 1; i++)
        x = y ^ (x >> k);
    return x;
}

/* Multiplicative inverse of an odd number modulo 2^64 (Newton's iteration). */
static uint64_t ts_inverse(uint64_t a)
{
    uint64_t x = a;
    for (int i = 0; i < 6; i++)
        x *= 2 - a * x;
    return x;
}

/* The state whose next draw is `out`: the mixer is a bijection, so every value has one. */
static uint64_t ts_state_before(uint64_t out)
{
    uint64_t z = ts_unxorshift(out, 31);
    z *= ts_inverse(TS_M2);
    z = ts_unxorshift(z, 27);
    z *= ts_inverse(TS_M1);
    z = ts_unxorshift(z, 30);
    return z - TS_GAMMA;
}

/* ---- sched_next ------------------------------------------------------------------------- */

static void test_next_vectors(void)
{
    /* Published outputs of splitmix64: seed 0 (Vigna's splitmix64.c) and seed 1234567. */
    static const struct {
        uint64_t seed;
        uint64_t out[5];
    } rows[] = {
        { 0, { 0xe220a8397b1dcdafULL, 0x6e789e6aa1b965f4ULL, 0x06c45d188009454fULL,
               0xf88bb8a8724c81ecULL, 0x1b39896a51a8749bULL } },
        { 1234567, { 6457827717110365317ULL, 3203168211198807973ULL, 9817491932198370423ULL,
                     4593380528125082431ULL, 16408922859458223821ULL } },
    };
    for (size_t i = 0; i < TS_N(rows); i++) {
        uint64_t s = rows[i].seed, ref = rows[i].seed;
        for (size_t k = 0; k < TS_N(rows[i].out); k++) {
            uint64_t got = sched_next(&s), want = ts_ref_next(&ref);
            TS_CHECK(got == rows[i].out[k], "seed %" PRIu64 " output %zu: 0x%016" PRIx64
                     ", published 0x%016" PRIx64, rows[i].seed, k, got, rows[i].out[k]);
            TS_CHECK(want == rows[i].out[k], "reference, seed %" PRIu64 " output %zu",
                     rows[i].seed, k);
            TS_CHECK(s == rows[i].seed + (k + 1) * TS_GAMMA, "seed %" PRIu64 ": state after "
                     "%zu draws", rows[i].seed, k + 1);
        }
    }
    /* A longer stretch against the reference, from seeds of different shapes. */
    static const uint64_t seeds[] = { 1, 42, UINT64_MAX, 0x8000000000000000ULL, TS_GAMMA };
    for (size_t i = 0; i < TS_N(seeds); i++) {
        uint64_t s = seeds[i], ref = seeds[i];
        for (int k = 0; k < 1000; k++) {
            uint64_t got = sched_next(&s), want = ts_ref_next(&ref);
            if (got != want) {
                TS_CHECK(false, "seed 0x%" PRIx64 " draw %d: 0x%" PRIx64 " != reference 0x%"
                         PRIx64, seeds[i], k, got, want);
                break;
            }
        }
    }
}

static void test_next_inverse(void)
{
    /* The inverse lets a row choose the next draw; check it on the values the rows use. */
    static const uint64_t outs[] = { 0, 1, UINT64_MAX, UINT64_MAX - 1, 0x8000000000000000ULL,
                                     0x8000000000000001ULL, 0xfffffffffffffffaULL };
    for (size_t i = 0; i < TS_N(outs); i++) {
        uint64_t s = ts_state_before(outs[i]);
        uint64_t got = sched_next(&s);
        TS_CHECK(got == outs[i], "state_before(0x%" PRIx64 ") draws 0x%" PRIx64, outs[i], got);
    }
}

/* ---- sched_below ------------------------------------------------------------------------ */

static void test_below_bounds(void)
{
    static const uint64_t ns[] = { 2, 3, 5, 7, 10, 64, 1000, 0x8000000000000001ULL,
                                   UINT64_MAX };
    for (size_t i = 0; i < TS_N(ns); i++) {
        uint64_t s = 99 + i;
        bool seen[8] = { false };
        for (int k = 0; k < 2000; k++) {
            uint64_t r = sched_below(&s, ns[i]);
            if (r >= ns[i]) {
                TS_CHECK(false, "below(%" PRIu64 ") gave %" PRIu64, ns[i], r);
                break;
            }
            if (ns[i] <= TS_N(seen))
                seen[r] = true;
        }
        for (uint64_t v = 0; ns[i] <= TS_N(seen) && v < ns[i]; v++)
            TS_CHECK(seen[v], "below(%" PRIu64 ") never gave %" PRIu64 " in 2000 draws", ns[i],
                     v);
    }
    /* n = 0 and n = 1 have one answer and draw nothing. */
    static const uint64_t trivial[] = { 0, 1 };
    for (size_t i = 0; i < TS_N(trivial); i++) {
        uint64_t s = 7;
        TS_CHECK(sched_below(&s, trivial[i]) == 0, "below(%" PRIu64 ") != 0", trivial[i]);
        TS_CHECK(s == 7, "below(%" PRIu64 ") advanced the state", trivial[i]);
    }
}

static void test_below_rejection(void)
{
    /*
     * limit = 2^64 - (2^64 mod n): a draw of limit - 1 is used (one draw, value mod n); a draw
     * of limit is rejected and the next one decides. Powers of two are left out: there the
     * definition accepts every draw.
     */
    static const struct {
        uint64_t n, limit;
    } rows[] = {
        { 3, 0xffffffffffffffffULL },    { 6, 0xfffffffffffffffcULL },
        { 7, 0xfffffffffffffffeULL },    { 10, 0xfffffffffffffffaULL },
        { 1000, 0xfffffffffffffd98ULL }, { 0x8000000000000001ULL, 0x8000000000000001ULL },
    };
    for (size_t i = 0; i < TS_N(rows); i++) {
        uint64_t n = rows[i].n;
        uint64_t s0 = ts_state_before(rows[i].limit - 1), s = s0;
        uint64_t got = sched_below(&s, n);
        TS_CHECK(got == (rows[i].limit - 1) % n, "n %" PRIu64 ": draw limit-1 gave %" PRIu64,
                 n, got);
        TS_CHECK(s == s0 + TS_GAMMA, "n %" PRIu64 ": draw limit-1 was not used at once", n);

        s0 = ts_state_before(rows[i].limit);
        s = s0;
        uint64_t ref = s0 + TS_GAMMA;  /* after the rejected draw */
        uint64_t want = ts_ref_below(&ref, n);
        got = sched_below(&s, n);
        TS_CHECK(got == want, "n %" PRIu64 ": after a rejected draw %" PRIu64 ", reference %"
                 PRIu64, n, got, want);
        TS_CHECK(s == ref && s != s0 + TS_GAMMA, "n %" PRIu64 ": draw limit was not rejected",
                 n);
    }
}

static void test_below_same_seed(void)
{
    static const uint64_t ns[] = { 2, 3, 64, 10000, 7 };
    static const uint64_t seeds[] = { 0, 1, 1234567, UINT64_MAX };
    for (size_t i = 0; i < TS_N(seeds); i++) {
        uint64_t a = seeds[i], b = seeds[i], ref = seeds[i];
        for (int k = 0; k < 500; k++) {
            uint64_t n = ns[k % TS_N(ns)];
            uint64_t x = sched_below(&a, n), y = sched_below(&b, n), z = ts_ref_below(&ref, n);
            if (x != y || x != z) {
                TS_CHECK(false, "seed %" PRIu64 " draw %d below(%" PRIu64 "): %" PRIu64 " / %"
                         PRIu64 ", reference %" PRIu64, seeds[i], k, n, x, y, z);
                break;
            }
        }
    }
    uint64_t a = 1, b = 2;
    int same = 0;
    for (int k = 0; k < 64; k++)
        same += sched_below(&a, 1000) == sched_below(&b, 1000);
    TS_CHECK(same < 8, "seeds 1 and 2 agree on %d of 64 draws", same);
}

/* ---- end to end: the scheduler of a two-vCPU VM ------------------------------------------ */

/*
 * The guest, loaded at 1 MiB with paging off; both vCPUs run it:
 *   100000: b9 xx xx xx xx   mov   ecx, TS_LOOPS
 *   100005: ff c9            dec   ecx
 *   100007: 75 fc            jnz   100005
 *   100009: ba 00 10 00 00   mov   edx, HV_UCALL_PORT
 *   10000e: b8 00 01 10 00   mov   eax, 0x100100      ; struct hv_ucall { cmd = DONE }
 *   100013: ef               out   dx, eax
 *   100014: eb fe            jmp   100014
 */
#define TS_LOAD   0x100000ULL
#define TS_UCALL  0x100100ULL
#define TS_LOOPS  600

struct ts_image {
    uint8_t bytes[sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr) + 0x200];
    size_t len;
};

static void ts_build_image(struct ts_image *img)
{
    memset(img, 0, sizeof *img);
    const size_t off = sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr);
    Elf64_Ehdr eh = { .e_type = ET_EXEC, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
                      .e_entry = TS_LOAD, .e_phoff = sizeof(Elf64_Ehdr),
                      .e_ehsize = sizeof(Elf64_Ehdr), .e_phentsize = sizeof(Elf64_Phdr),
                      .e_phnum = 1 };
    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    Elf64_Phdr ph = { .p_type = PT_LOAD, .p_flags = PF_R | PF_W | PF_X, .p_offset = off,
                      .p_vaddr = TS_LOAD, .p_paddr = TS_LOAD, .p_filesz = 0x200,
                      .p_memsz = 0x1000, .p_align = 0x1000 };
    memcpy(img->bytes, &eh, sizeof eh);
    memcpy(img->bytes + sizeof eh, &ph, sizeof ph);
    const uint8_t code[] = {
        0xb9, TS_LOOPS & 0xff, (TS_LOOPS >> 8) & 0xff, 0, 0,
        0xff, 0xc9, 0x75, 0xfc,
        0xba, HV_UCALL_PORT & 0xff, HV_UCALL_PORT >> 8, 0, 0,
        0xb8, TS_UCALL & 0xff, (TS_UCALL >> 8) & 0xff, (TS_UCALL >> 16) & 0xff, 0,
        0xef, 0xeb, 0xfe,
    };
    memcpy(img->bytes + off, code, sizeof code);
    struct hv_ucall done = { .cmd = HV_UCALL_DONE };
    memcpy(img->bytes + off + (TS_UCALL - TS_LOAD), &done, sizeof done.cmd);
    img->len = off + 0x200;
}

/* One `sched` decision as the VM recorded it. */
struct ts_decision {
    int32_t vcpu;
    enum hv_ev_kind kind;
    uint64_t budget, runnable;
};

struct ts_rec {
    struct ts_decision d[4096];
    size_t n;
    bool overflow, bad_detail;
    uint64_t events;
    uint64_t icount;     /* instructions retired by both vCPUs */
};

static int ts_sink(void *ctx, const struct hv_event *ev)
{
    struct ts_rec *r = ctx;
    r->events++;
    if (ev->kind != HV_EV_sched)
        return 0;
    if (r->n == TS_N(r->d)) {
        r->overflow = true;
        return 0;
    }
    struct ts_decision *d = &r->d[r->n++];
    d->vcpu = ev->vcpu;
    d->kind = ev->kind;
    if (sscanf(ev->detail, "{\"budget\":%" SCNu64 ",\"runnable\":%" SCNu64 "}", &d->budget,
               &d->runnable) != 2)
        r->bad_detail = true;
    return 0;
}

#define TS_QUANTUM 37

/* Runs the guest on two vCPUs with seed; returns the outcome, or -1 if the VM failed. */
static int ts_run_raw(uint64_t seed, struct ts_rec *rec)
{
    memset(rec, 0, sizeof *rec);
    struct ts_image img;
    ts_build_image(&img);
    struct hv_vm_config cfg = { .arch = HV_ARCH_X86_64, .nr_vcpus = 2, .seed = seed,
                                .quantum = TS_QUANTUM, .limit = 1000000,
                                .model = hv_model_lookup("none"), .sink = ts_sink,
                                .sink_ctx = rec };
    struct hv_vm *vm = NULL;
    int ret = -1;
    if (!cfg.model || hv_vm_create(&vm, &cfg) || hv_vm_load_elf(vm, img.bytes, img.len))
        goto out;
    bool paused = true;
    if (hv_vm_run(vm, &paused) || paused)
        goto out;
    ret = (int)hv_vm_outcome(vm);
    rec->icount = hv_vm_icount(vm);
out:
    hv_vm_destroy(vm);
    return ret;
}

/* Runs with seed, asserting a clean run that ended with both vCPUs done. */
static void ts_run(uint64_t seed, struct ts_rec *rec)
{
    int out = ts_run_raw(seed, rec);
    TS_CHECK(out == HV_OUT_DONE, "seed %" PRIu64 ": outcome %s %s", seed,
             out < 0 ? "(VM failed)" : hv_outcome_name((enum hv_outcome)out),
             out < 0 ? hv_error_detail() : "");
    /* both vCPUs ran the whole guest: mov, the loop, then mov, mov, out, jmp */
    TS_CHECK(rec->icount == 2 * (1 + 2 * TS_LOOPS + 4), "seed %" PRIu64 ": %" PRIu64
             " instructions", seed, rec->icount);
    TS_CHECK(!rec->overflow && !rec->bad_detail && rec->n > 20, "seed %" PRIu64 ": %zu sched "
             "events%s%s", seed, rec->n, rec->overflow ? ", too many" : "",
             rec->bad_detail ? ", unreadable detail" : "");
}

static bool ts_same(const struct ts_rec *a, const struct ts_rec *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (a->d[i].vcpu != b->d[i].vcpu || a->d[i].kind != b->d[i].kind ||
            a->d[i].budget != b->d[i].budget)
            return false;
    return true;
}

/* Every decision equals the reference stream's: with two runnable, the vCPU among them (its
 * index is its id), then 1 + below(quantum); with one runnable, no draw and that vCPU runs on
 * (docs/determinism.md). */
static void ts_check_reference(uint64_t seed, const struct ts_rec *rec)
{
    uint64_t s = seed;
    int32_t last_alone = -1;
    for (size_t i = 0; i < rec->n; i++) {
        const struct ts_decision *d = &rec->d[i];
        uint64_t pick = 0, budget = 0;
        if (d->runnable > 1) {
            pick = ts_ref_below(&s, d->runnable);
            budget = 1 + ts_ref_below(&s, TS_QUANTUM);
        }
        bool ok = d->kind == HV_EV_sched &&
                  (d->runnable == 2 ? (uint64_t)d->vcpu == pick && d->budget == budget
                                    : d->runnable == 1 && d->budget >= 1 &&
                                          (last_alone < 0 || d->vcpu == last_alone));
        if (d->runnable == 1)
            last_alone = d->vcpu;
        if (!ok) {
            TS_CHECK(false, "seed %" PRIu64 " decision %zu: vcpu %d budget %" PRIu64
                     " of %" PRIu64 " runnable; reference pick %" PRIu64 " budget %" PRIu64,
                     seed, i, d->vcpu, d->budget, d->runnable, pick, budget);
            return;
        }
    }
}

static struct ts_rec ts_a, ts_b, ts_c;

static void test_vm_same_seed(void)
{
    ts_run(1234567, &ts_a);
    ts_run(1234567, &ts_b);
    TS_CHECK(ts_same(&ts_a, &ts_b), "seed 1234567 twice: %zu and %zu sched events differ",
             ts_a.n, ts_b.n);
    TS_CHECK(ts_a.events == ts_b.events, "seed 1234567 twice: %" PRIu64 " and %" PRIu64
             " events", ts_a.events, ts_b.events);
    ts_check_reference(1234567, &ts_a);
}

static void test_vm_other_seed(void)
{
    ts_run(1234567, &ts_a);
    ts_run(42, &ts_c);
    TS_CHECK(!ts_same(&ts_a, &ts_c), "seeds 1234567 and 42 gave the same %zu sched events",
             ts_a.n);
    ts_check_reference(42, &ts_c);
    /* both vCPUs got slices on both seeds */
    static const struct ts_rec *const recs[] = { &ts_a, &ts_c };
    for (size_t k = 0; k < TS_N(recs); k++) {
        size_t per[2] = { 0, 0 };
        for (size_t i = 0; i < recs[k]->n; i++)
            if (recs[k]->d[i].vcpu == 0 || recs[k]->d[i].vcpu == 1)
                per[recs[k]->d[i].vcpu]++;
        TS_CHECK(per[0] > 5 && per[1] > 5, "run %zu: slices per vCPU %zu / %zu", k, per[0],
                 per[1]);
    }
}

/* ---- deferred callbacks (hv_vm_after) ---------------------------------------------------- */

struct ta_log {
    char name[16][8];
    uint64_t at[16];
    size_t n;
    char details[16][256];   /* the `after` events' detail, in order */
    size_t nev;
    uint64_t seq[16];
};

struct ta_cb {
    struct ta_log *log;
    const char *name;
    bool chain;              /* registers "N" 50 instructions later */
};

static struct ta_cb ta_nested;

static int ta_fn(struct hv_vm *vm, void *ctx, char *result, size_t size)
{
    struct ta_cb *c = ctx;
    struct ta_log *l = c->log;
    if (l->n < TS_N(l->name)) {
        snprintf(l->name[l->n], sizeof l->name[0], "%s", c->name);
        l->at[l->n++] = hv_vm_icount(vm);
    }
    snprintf(result, size, "{\"cb\":\"%s\"}", c->name);
    if (c->chain) {
        ta_nested = (struct ta_cb){ l, "N", false };
        return hv_vm_after(vm, 50, "nested", ta_fn, &ta_nested, NULL);
    }
    return 0;
}

static int ta_sink(void *ctx, const struct hv_event *ev)
{
    struct ta_log *l = ctx;
    if (ev->kind == HV_EV_after && l->nev < TS_N(l->details)) {
        snprintf(l->details[l->nev], sizeof l->details[0], "%.*s", (int)ev->detail_len,
                 ev->detail);
        l->seq[l->nev++] = ev->seq;
    }
    return 0;
}

/* Runs the two-vCPU guest with callbacks A (+500), B (+100), C (+500, chains N +50), D
 * (+100000, past the run's end), E (+1000, run early before the VM starts). */
static void ta_run(uint64_t seed, struct ta_log *log)
{
    memset(log, 0, sizeof *log);
    struct ts_image img;
    ts_build_image(&img);
    struct hv_vm_config cfg = { .arch = HV_ARCH_X86_64, .nr_vcpus = 2, .seed = seed,
                                .quantum = TS_QUANTUM, .limit = 1000000,
                                .model = hv_model_lookup("none"), .sink = ta_sink,
                                .sink_ctx = log };
    struct ta_cb a = { log, "A", false }, b = { log, "B", false }, c = { log, "C", true },
                 d = { log, "D", false }, e = { log, "E", false };
    struct hv_vm *vm = NULL;
    uint64_t ide = 0, ida = 0, idb = 0;
    bool paused = true;
    int err = hv_vm_create(&vm, &cfg);
    if (!err)
        err = hv_vm_load_elf(vm, img.bytes, img.len);
    if (!err)
        err = hv_vm_after(vm, 500, "a", ta_fn, &a, &ida);
    if (!err)
        err = hv_vm_after(vm, 100, "b", ta_fn, &b, &idb);
    if (!err)
        err = hv_vm_after(vm, 500, "c", ta_fn, &c, NULL);
    if (!err)
        err = hv_vm_after(vm, 100000, "d", ta_fn, &d, NULL);
    if (!err)
        err = hv_vm_after(vm, 1000, "e", ta_fn, &e, &ide);
    TS_CHECK(!err && ida != idb && idb != ide, "setting up: %s", hv_error_detail());
    if (!err) {
        TS_CHECK(hv_vm_after_now(vm, ide) == 0, "running E early");
        TS_CHECK(hv_vm_after_now(vm, ide) == HV_ENOENT, "E ran already: HV_ENOENT");
        err = hv_vm_run(vm, &paused);
        TS_CHECK(!err && !paused && hv_vm_outcome(vm) == HV_OUT_DONE, "seed %" PRIu64
                 ": run failed", seed);
    }
    hv_vm_destroy(vm);
}

static void test_after_order(void)
{
    struct ta_log l;
    ta_run(1234567, &l);
    static const char *const want[] = { "E", "B", "A", "C", "N" };
    static const uint64_t due[] = { 1000, 100, 500, 500, 0 };
    TS_CHECK(l.n == TS_N(want), "%zu callbacks ran, want %zu (D is past the end)", l.n,
             TS_N(want));
    for (size_t i = 0; i < l.n && i < TS_N(want); i++) {
        TS_CHECK(strcmp(l.name[i], want[i]) == 0, "callback %zu is %s, want %s", i, l.name[i],
                 want[i]);
        if (i == 0) {
            TS_CHECK(l.at[i] == 0, "E ran early, before any instruction: at %" PRIu64, l.at[i]);
            continue;
        }
        uint64_t d = i == 4 ? l.at[3] + 50 : due[i];
        /* the slice ends at the first block boundary at or past the due count; the guest's
         * longest block is 4 instructions */
        TS_CHECK(l.at[i] >= d && l.at[i] - d < 4, "%s ran at %" PRIu64 ", due %" PRIu64,
                 l.name[i], l.at[i], d);
    }
    TS_CHECK(l.nev == l.n, "%zu after events for %zu callbacks", l.nev, l.n);
    TS_CHECK(l.nev > 0 && strstr(l.details[0], "\"result\":{\"cb\":\"E\"}") &&
             strstr(l.details[0], "\"what\":\"e\",\"due\":1000,\"at\":0"),
             "E's event: %s", l.details[0]);
}

static void test_after_deterministic(void)
{
    static struct ta_log x, y, z;
    ta_run(1234567, &x);
    ta_run(1234567, &y);
    ta_run(42, &z);
    bool same = x.nev == y.nev;
    for (size_t i = 0; same && i < x.nev; i++)
        same = strcmp(x.details[i], y.details[i]) == 0 && x.seq[i] == y.seq[i];
    TS_CHECK(same && x.nev == 5, "same seed: the after events differ (%zu / %zu)", x.nev, y.nev);
    /* another schedule: the same callbacks in the same order, each still on time */
    TS_CHECK(z.n == x.n, "seed 42: %zu callbacks, seed 1234567: %zu", z.n, x.n);
    for (size_t i = 0; i < z.n && i < x.n; i++)
        TS_CHECK(strcmp(z.name[i], x.name[i]) == 0, "seed 42: callback %zu is %s", i,
                 z.name[i]);
}

void test_sched_register(void)
{
    CU_pSuite s = CU_add_suite("sched", NULL, NULL);
    CU_add_test(s, "sched_next: published splitmix64 outputs", test_next_vectors);
    CU_add_test(s, "sched_next: the inverse used by the rows", test_next_inverse);
    CU_add_test(s, "sched_below: bounds", test_below_bounds);
    CU_add_test(s, "sched_below: rejection boundary", test_below_rejection);
    CU_add_test(s, "sched_below: same seed, same sequence", test_below_same_seed);
    CU_add_test(s, "VM: same seed, same schedule", test_vm_same_seed);
    CU_add_test(s, "VM: another seed, another schedule", test_vm_other_seed);
    CU_add_test(s, "hv_vm_after: order, due counts, early run", test_after_order);
    CU_add_test(s, "hv_vm_after: same seed, same events", test_after_deterministic);
}
