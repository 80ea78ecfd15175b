/*
 * explain.c - one plain sentence per event (explain.h).
 *
 * The detail is read once per event into (key, value) pairs: its top-level members, and
 * those of a `result` object as result.KEY; numbers keep their JSON text, so a u64 above
 * 2^63 stays exact (SQLite's JSON functions would turn it into a real). Each kind's function
 * then words its fields. Numbers a reader compares with addresses print in hex, counts in
 * decimal.
 */
#include "narrate/explain.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/hv_err.h"

#define EX_MAX_KEYS 48

struct explainer {
    char *text;              /* the current detail's unescaped strings and raw values */
    size_t size;
};

struct ex {
    const struct hv_event *ev;
    char *buf;
    size_t size, len;
    size_t n;
    const char *key[EX_MAX_KEYS], *val[EX_MAX_KEYS];   /* into the explainer's text */
    bool is_null[EX_MAX_KEYS];
};

static void put(struct ex *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct ex *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(e->buf + (e->len < e->size ? e->len : e->size),
                      e->len < e->size ? e->size - e->len : 0, fmt, ap);
    va_end(ap);
    if (k > 0)
        e->len += (size_t)k;
}

/* The value of key as text; NULL when absent or null. */
static const char *S(const struct ex *e, const char *key)
{
    for (size_t i = 0; i < e->n; i++)
        if (strcmp(e->key[i], key) == 0)
            return e->is_null[i] ? NULL : e->val[i];
    return NULL;
}

static const char *Sq(const struct ex *e, const char *key)
{
    const char *s = S(e, key);
    return s ? s : "?";
}

static uint64_t N(const struct ex *e, const char *key)
{
    const char *s = S(e, key);
    return s ? strtoull(s, NULL, 0) : 0;
}

static int64_t I(const struct ex *e, const char *key)
{
    const char *s = S(e, key);
    return s ? strtoll(s, NULL, 0) : 0;
}

static bool B(const struct ex *e, const char *key)
{
    const char *s = S(e, key);
    return s && strcmp(s, "true") == 0;
}

/* "vCPU n" of the event */
static void who(struct ex *e)
{
    put(e, "vCPU %" PRId32, e->ev->vcpu);
}

/* text, quoted, with line breaks and control bytes escaped, cut at 160 bytes */
static void quoted(struct ex *e, const char *s)
{
    put(e, "\"");
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++, n++) {
        if (n >= 160) {
            put(e, "...");
            break;
        }
        if (*p == '\n')
            put(e, "\\n");
        else if (*p == '\t')
            put(e, "\\t");
        else if (*p < 0x20 || *p == 0x7f)
            put(e, "\\x%02x", *p);
        else if (*p == '"')
            put(e, "\\\"");
        else
            put(e, "%c", *p);
    }
    put(e, "\"");
}

/* ---- one function per kind, named after it ---- */

static void ex_run_start(struct ex *e)
{
    uint64_t n = N(e, "vcpus");
    put(e, "The run of scenario %s begins: the %s model, %s, %" PRIu64 " vCPU%s, schedule seed %"
        PRIu64 ", slices of at most %" PRIu64 " instructions, %" PRIu64 " instructions in all "
        "at most.", Sq(e, "scenario"), Sq(e, "model"), Sq(e, "arch"), n, n == 1 ? "" : "s",
        N(e, "seed"), N(e, "quantum"), N(e, "limit"));
}

static void ex_sched(struct ex *e)
{
    put(e, "The scheduler gives ");
    who(e);
    put(e, " the CPU for %" PRIu64 " instructions (to the first block boundary past them), "
        "choosing among %" PRIu64 " runnable vCPU%s.", N(e, "budget"), N(e, "runnable"),
        N(e, "runnable") == 1 ? "" : "s");
}

static void ex_vcpu_state(struct ex *e)
{
    who(e);
    put(e, " goes from %s to %s: %s.", Sq(e, "from"), Sq(e, "to"), Sq(e, "why"));
}

static void ex_ucall_sync(struct ex *e)
{
    who(e);
    put(e, " calls GUEST_SYNC(%" PRIu64 "): it pauses, and the host steps waiting for sync %"
        PRIu64 " run now.", N(e, "n"), N(e, "n"));
}

static void ex_ucall_printf(struct ex *e)
{
    who(e);
    put(e, " prints ");
    const char *t = S(e, "text");
    size_t n = t ? strlen(t) : 0;
    char *trim = t ? strndup(t, n && t[n - 1] == '\n' ? n - 1 : n) : NULL;
    quoted(e, trim ? trim : t);
    free(trim);
    put(e, " with GUEST_PRINTF.");
}

static void ex_ucall_assert(struct ex *e)
{
    who(e);
    put(e, " fails GUEST_ASSERT(%s) at %s:%" PRIu64, Sq(e, "expr"), Sq(e, "file"),
        N(e, "line"));
    if (S(e, "text") && *S(e, "text")) {
        put(e, ": ");
        quoted(e, S(e, "text"));
    }
    put(e, "; the run ends with outcome assert.");
}

static void ex_ucall_done(struct ex *e)
{
    who(e);
    put(e, " calls GUEST_DONE(): its guest code has finished.");
}

static void ex_hypercall(struct ex *e)
{
    who(e);
    put(e, " executes %s", Sq(e, "insn"));
    if (N(e, "imm"))
        put(e, " #%" PRIu64, N(e, "imm"));
    put(e, " with function number %" PRIu64 " (0x%" PRIx64 ")", N(e, "nr"), N(e, "nr"));
    if (B(e, "cond_failed"))
        put(e, "; its condition check fails, so it is reported but not taken.");
    else
        put(e, "; %s answers it.", strcmp(Sq(e, "handled_by"), "none") == 0
                                       ? "no model" : Sq(e, "handled_by"));
}

static void ex_pio(struct ex *e)
{
    who(e);
    if (B(e, "write"))
        put(e, " writes 0x%" PRIx64 " (%" PRIu64 " byte%s) to I/O port 0x%" PRIx64 ".",
            N(e, "data"), N(e, "size"), N(e, "size") == 1 ? "" : "s", N(e, "port"));
    else
        put(e, " reads %" PRIu64 " byte%s from I/O port 0x%" PRIx64 " and gets 0x%" PRIx64 ".",
            N(e, "size"), N(e, "size") == 1 ? "" : "s", N(e, "port"), N(e, "data"));
}

static void ex_mmio(struct ex *e)
{
    who(e);
    if (B(e, "write"))
        put(e, " writes %" PRIu64 " bytes (0x%" PRIx64 ") to guest-physical %s, which no RAM "
            "backs: the VMM takes the write.", N(e, "size"), N(e, "data"), Sq(e, "gpa"));
    else
        put(e, " reads %" PRIu64 " bytes at guest-physical %s, which no RAM backs: the VMM "
            "answers 0x%" PRIx64 ".", N(e, "size"), Sq(e, "gpa"), N(e, "data"));
}

static void ex_kvm_exit(struct ex *e)
{
    const char *r = Sq(e, "reason");
    put(e, "KVM_RUN of ");
    who(e);
    put(e, " returns %s to the VMM", r);
    if (strcmp(r, "KVM_EXIT_MMIO") == 0) {
        if (B(e, "is_write"))
            put(e, ": a write of %" PRIu64 " bytes, %s in guest byte order, at %s.",
                N(e, "len"), Sq(e, "data"), Sq(e, "phys_addr"));
        else
            put(e, ": a read of %" PRIu64 " bytes at %s, which the VMM answers with %s in "
                "guest byte order.", N(e, "len"), Sq(e, "phys_addr"), Sq(e, "data"));
    } else if (strcmp(r, "KVM_EXIT_INTERNAL_ERROR") == 0) {
        put(e, " with suberror %" PRIu64 "%s.", N(e, "suberror"),
            N(e, "suberror") == 1 ? " (KVM could not emulate the instruction)" : "");
    } else if (strcmp(r, "KVM_EXIT_ARM_NISV") == 0) {
        put(e, ": the data abort at IPA %s has no valid instruction syndrome (esr_iss 0x%"
            PRIx64 "), so userspace must decode it.", Sq(e, "fault_ipa"), N(e, "esr_iss"));
    } else if (strcmp(r, "KVM_EXIT_DIRTY_RING_FULL") == 0) {
        put(e, ": the vCPU's dirty ring reached its soft limit and must be harvested before "
            "the vCPU runs again.");
    } else {
        put(e, ".");
    }
}

static void ex_kvm_dirty_ring(struct ex *e)
{
    bool exit = strcmp(Sq(e, "by"), "exit") == 0;
    put(e, "The VMM harvests %" PRIu64 " dirty-ring entr%s%s", N(e, "count"),
        N(e, "count") == 1 ? "y" : "ies",
        exit ? " to answer KVM_EXIT_DIRTY_RING_FULL" : " for a migration sync");
    if (I(e, "reset") < 0)
        put(e, "; with nothing harvested it does not call KVM_RESET_DIRTY_RINGS.");
    else
        put(e, " and KVM_RESET_DIRTY_RINGS re-arms %" PRId64 " of them.", I(e, "reset"));
}

static void ex_kvm_hypercall(struct ex *e)
{
    put(e, "KVM handles ");
    who(e);
    put(e, "'s hypercall %" PRIu64 " (a0..a3 = 0x%" PRIx64 ", 0x%" PRIx64 ", 0x%" PRIx64
        ", 0x%" PRIx64 ")", N(e, "nr"), N(e, "a0"), N(e, "a1"), N(e, "a2"), N(e, "a3"));
    if (B(e, "exit"))
        put(e, " by exiting to the VMM with KVM_EXIT_HYPERCALL (flags 0x%" PRIx64 "), which "
            "answers %" PRId64, N(e, "flags"), I(e, "ret"));
    else
        put(e, ": rax = %" PRId64, I(e, "ret"));
    put(e, " (%s).", Sq(e, "rule"));
}

static void ex_kvm_smccc(struct ex *e)
{
    who(e);
    put(e, " calls SMCCC function %s with %s%s #%" PRIu64 "; KVM's decision is %s (%s)",
        Sq(e, "func_id"), B(e, "aarch32") ? "AArch32 " : "", Sq(e, "conduit"), N(e, "imm"),
        Sq(e, "action"), Sq(e, "rule"));
    if (S(e, "exit"))
        put(e, ", and KVM_RUN returns %s to the VMM", S(e, "exit"));
    put(e, "; the guest resumes with x0 = 0x%" PRIx64 ".", N(e, "x0"));
}

static void ex_kvm_lookup(struct ex *e)
{
    put(e, "%s translates gfn %s (address space %" PRIu64 ") via %s", Sq(e, "user"),
        Sq(e, "gfn"), N(e, "as"), Sq(e, "via"));
    if (I(e, "slot") < 0)
        put(e, " and finds no memslot");
    else
        put(e, " to slot %" PRId64 "%s, hva %s", I(e, "slot"),
            B(e, "stale") ? " (a slot already moved or deleted: stale)" : "", Sq(e, "hva"));
    put(e, " at memslot generation %" PRIu64 ".", N(e, "generation"));
}

static void ex_xen_hypercall(struct ex *e)
{
    put(e, "Xen handles ");
    who(e);
    put(e, "'s hypercall %s (%" PRIu64 ") in the %s ABI with arguments 0x%" PRIx64 ", 0x%"
        PRIx64 ", 0x%" PRIx64 "; it returns %" PRId64 " (%s)",
        S(e, "name") ? S(e, "name") : "unknown", N(e, "nr"),
        N(e, "mode") == 8 ? "64-bit" : "32-bit", N(e, "a0"), N(e, "a1"), N(e, "a2"),
        I(e, "ret"), Sq(e, "rule"));
    if (!B(e, "advanced"))
        put(e, ", and rip stays on the instruction, which runs again");
    if (B(e, "clobbered"))
        put(e, ", and the debug build poisons the argument registers");
    put(e, ".");
}

static void ex_xen_continuation(struct ex *e)
{
    put(e, "A memory_op leg of ");
    who(e);
    put(e, " (op %" PRIu64 ", cmd 0x%" PRIx64 ") starts at extent %" PRIu64 " of %" PRIu64
        " and completes %" PRIu64, N(e, "op"), N(e, "cmd"), N(e, "start"), N(e, "nr_extents"),
        N(e, "done"));
    if (B(e, "preempted"))
        put(e, "; preempted, it leaves a continuation: the vmcall re-executes with cmd 0x%" PRIx64
            " (start extent %" PRIu64 ").", N(e, "next_cmd"), N(e, "next_start"));
    else
        put(e, ", ending the reservation; the domain has %" PRIu64 " pages.",
            N(e, "tot_pages"));
}

static void ex_xen_stlb(struct ex *e)
{
    put(e, "Xen looks up the hypercall buffer page at va %s in vCPU %" PRIu64
        "'s software TLB for ", Sq(e, "va"), N(e, "table"));
    who(e);
    if (S(e, "error"))
        put(e, ": %s, so the copy fails.", S(e, "error"));
    else if (B(e, "hit"))
        put(e, ": a hit, translated to %s.", Sq(e, "gpa"));
    else
        put(e, ": a miss, so it walks the page tables to %s.", Sq(e, "gpa"));
}

static void ex_xen_area(struct ex *e)
{
    bool linear = strcmp(Sq(e, "reg"), "linear") == 0;
    put(e, "On ");
    who(e);
    put(e, ", Xen writes vCPU %" PRIu64 "'s %s area at %s %s (%s)", N(e, "subject"),
        Sq(e, "area"), linear ? "linear address" : "guest-physical address", Sq(e, "addr"),
        Sq(e, "why"));
    if (linear)
        put(e, " using vCPU %" PRId64 "'s page tables%s", I(e, "via"),
            I(e, "via") != (int64_t)N(e, "subject") ? ", not the area owner's" : "");
    if (B(e, "ok"))
        put(e, "; it lands at guest-physical %s.", Sq(e, "gpa"));
    else
        put(e, "; %s.", N(e, "gpa") ? "only part of it lands" : "no write lands");
}

static void ex_xen_console(struct ex *e)
{
    put(e, "Xen's console prints for domain %" PRIu64 ": ", N(e, "domid"));
    quoted(e, S(e, "text"));
    put(e, ".");
}

static void ex_cpuid(struct ex *e)
{
    who(e);
    put(e, " executes cpuid leaf 0x%" PRIx64 " subleaf %" PRIu64 ": eax 0x%" PRIx64 ", ebx 0x%"
        PRIx64 ", ecx 0x%" PRIx64 ", edx 0x%" PRIx64 ".", N(e, "leaf"), N(e, "subleaf"),
        N(e, "eax"), N(e, "ebx"), N(e, "ecx"), N(e, "edx"));
}

static void ex_msr(struct ex *e)
{
    who(e);
    if (B(e, "write"))
        put(e, " writes 0x%" PRIx64 " to MSR %s", N(e, "value"), Sq(e, "index"));
    else
        put(e, " reads MSR %s: 0x%" PRIx64, Sq(e, "index"), N(e, "value"));
    put(e, "%s", B(e, "gp") ? ", which raises #GP." : ".");
}

static void ex_rdtsc(struct ex *e)
{
    who(e);
    put(e, " reads the time-stamp counter with %s: %" PRIu64 ".", B(e, "p") ? "rdtscp" : "rdtsc",
        N(e, "value"));
}

static void ex_halt(struct ex *e)
{
    who(e);
    put(e, " halts (hlt or wfi) until something wakes it.");
}

static void ex_invalid_insn(struct ex *e)
{
    who(e);
    put(e, " meets an instruction the CPU cannot execute (bytes %s).", Sq(e, "bytes"));
}

static void ex_exception(struct ex *e)
{
    who(e);
    put(e, " takes %s (vector %" PRIu64 ", error code 0x%" PRIx64, Sq(e, "name"),
        N(e, "vector"), N(e, "error_code"));
    if (N(e, "addr"))
        put(e, ", address %s", Sq(e, "addr"));
    if (B(e, "delivered"))
        put(e, "), delivered to its handler at %s.", Sq(e, "handler"));
    else
        put(e, ") with no handler to deliver it to, so the run ends.");
}

static void ex_paging(struct ex *e)
{
    put(e, "hvsim re-derives ");
    who(e);
    put(e, "'s mappings from its page tables at root %s (%s): %" PRIu64 " runs mapped.",
        Sq(e, "root"), Sq(e, "why"), N(e, "runs"));
}

static void ex_after(struct ex *e)
{
    put(e, "The model's deferred %s, due at instruction %" PRIu64 " of the VM, runs at %" PRIu64
        ".", Sq(e, "what"), N(e, "due"), N(e, "at"));
}

static void ex_mig_start(struct ex *e)
{
    put(e, "A live migration begins: %" PRIu64 " pages to copy, rounds of %" PRIu64
        " guest instructions, at most %" PRIu64 " rounds, stop and copy once a sync finds "
        "fewer than %" PRIu64 " dirty pages.", N(e, "pages"), N(e, "round_insns"),
        N(e, "max_rounds"), N(e, "threshold"));
}

static void ex_mig_round(struct ex *e)
{
    put(e, "Migration round %" PRIu64 ": the source ran %" PRIu64 " instructions, the sync "
        "found %" PRIu64 " dirty pages and %" PRIu64 " were sent%s.", N(e, "round"),
        N(e, "ran"), N(e, "dirty"), N(e, "sent"),
        B(e, "final") ? " with the vCPUs stopped (the final round)" : "");
}

static void ex_mig_escaped(struct ex *e)
{
    put(e, "After the switch-over page %s differs between source and destination: ",
        Sq(e, "gpa"));
    if (I(e, "writer") >= 0)
        put(e, "its last write, a %s by vCPU %" PRId64 " at pc %s, escaped the dirty log.",
            Sq(e, "path"), I(e, "writer"), Sq(e, "pc"));
    else
        put(e, "its last write (%s) escaped the dirty log.", S(e, "path") ? S(e, "path")
                                                                          : "unknown");
}

static void ex_mig_switchover(struct ex *e)
{
    put(e, "The guest switches over to the destination after %" PRIu64 " rounds and %" PRIu64
        " pages sent (%" PRIu64 " with the vCPUs stopped: %" PRIu64 " instructions of "
        "downtime); ", N(e, "rounds"), N(e, "sent"), N(e, "final_pages"), N(e, "downtime"));
    if (B(e, "complete"))
        put(e, "all %" PRIu64 " pages are equal.", N(e, "pages"));
    else
        put(e, "%" PRIu64 " of %" PRIu64 " pages differ.", N(e, "mismatches"), N(e, "pages"));
}

/* The page numbers set in a hex bitmap (bit i of byte i/8 is page i), as "pages 3 and 7". */
static void dirty_pages(struct ex *e, const char *hex)
{
    size_t n = strlen(hex) / 2, count = 0, shown = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned v = (unsigned)strtoul((char[]){ hex[2 * i], hex[2 * i + 1], 0 }, NULL, 16);
        count += (size_t)__builtin_popcount(v);
    }
    if (!count) {
        put(e, "no page");
        return;
    }
    put(e, count == 1 ? "page " : "pages ");
    for (size_t i = 0; i < n; i++) {
        unsigned v = (unsigned)strtoul((char[]){ hex[2 * i], hex[2 * i + 1], 0 }, NULL, 16);
        for (unsigned b = 0; b < 8; b++) {
            if (!(v & (1u << b)))
                continue;
            shown++;
            if (shown > 12) {
                put(e, " and %zu more", count - 12);
                return;
            }
            put(e, "%s%zu", shown == 1 ? "" : shown == count ? " and " : ", ", 8 * i + b);
        }
    }
}

static const struct {
    const char *action, *ioctl;
} step_ioctls[] = {
    { "set_memory_region", "KVM_SET_USER_MEMORY_REGION" },
    { "set_memory_region2", "KVM_SET_USER_MEMORY_REGION2" },
    { "get_dirty_log", "KVM_GET_DIRTY_LOG" },
    { "clear_dirty_log", "KVM_CLEAR_DIRTY_LOG" },
    { "enable_cap", "KVM_ENABLE_CAP" },
    { "check_extension", "KVM_CHECK_EXTENSION" },
    { "reset_dirty_rings", "KVM_RESET_DIRTY_RINGS" },
    { "smccc_filter", "KVM_ARM_VM_SMCCC_FILTER" },
};

static void ex_step(struct ex *e)
{
    const char *action = Sq(e, "action");
    const char *ioctl = NULL;
    for (size_t i = 0; i < sizeof step_ioctls / sizeof step_ioctls[0]; i++)
        if (strcmp(step_ioctls[i].action, action) == 0)
            ioctl = step_ioctls[i].ioctl;
    const char *errno_ = S(e, "result.errno"), *rule = S(e, "result.rule");
    put(e, "Host step %" PRIu64 " ", N(e, "index"));
    if (strcmp(action, "get_dirty_log") == 0 && S(e, "result.bitmap")) {
        put(e, "calls KVM_GET_DIRTY_LOG, which reports ");
        dirty_pages(e, S(e, "result.bitmap"));
        put(e, " of the slot as written since the last call");
    } else if (strcmp(action, "migrate") == 0) {
        put(e, "migrates the guest to a new VM: %s after %" PRIu64 " rounds, %" PRIu64
            " pages differing", B(e, "result.complete") ? "complete" : "incomplete",
            N(e, "result.rounds"), N(e, "result.mismatches"));
    } else if (ioctl && errno_) {
        put(e, "calls %s, which ", ioctl);
        if (strcmp(errno_, "0") == 0)
            put(e, "succeeds");
        else
            put(e, "fails with %s", errno_);
        if (rule)
            put(e, " (%s)", rule);
    } else {
        put(e, "runs %s and gets %s", action, S(e, "result") ? S(e, "result") : "no result");
    }
    put(e, "%s", B(e, "ok") ? "." : "; that is not what the step expected.");
}

static void ex_expect(struct ex *e)
{
    put(e, "The expectation %s ", Sq(e, "what"));
    if (B(e, "ok"))
        put(e, "holds: %s.", Sq(e, "actual"));
    else
        put(e, "fails: expected %s, got %s.", Sq(e, "expected"), Sq(e, "actual"));
}

static void ex_run_end(struct ex *e)
{
    put(e, "The run ends with outcome %s after %" PRIu64 " guest instructions.",
        Sq(e, "outcome"), N(e, "instructions"));
}

/* Every kind's sentence: a kind of events.def without its ex_<kind> does not compile. */
static void (*const sentences[HV_EV__COUNT])(struct ex *) = {
#define EX_ENTRY_(k, kdoc, ...) [HV_EV_##k] = ex_##k,
#define EX_FIELD_(t, n, d)
    HV_EVENTS(EX_ENTRY_, EX_FIELD_)
#undef EX_ENTRY_
#undef EX_FIELD_
};

int explainer_open(struct explainer **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? 0 : HV_ENOMEM;
}

void explainer_close(struct explainer *x)
{
    if (!x)
        return;
    free(x->text);
    free(x);
}

/* ---- the detail's members ---- */

struct scan {
    const char *p, *end;
    char *out, *out_end;     /* where texts are copied, NUL-terminated */
};

static void skip_ws(struct scan *sc)
{
    while (sc->p < sc->end && strchr(" \t\r\n", *sc->p))
        sc->p++;
}

static bool emit(struct scan *sc, char c)
{
    if (sc->out >= sc->out_end)
        return false;
    *sc->out++ = c;
    return true;
}

/* a UTF-8 encoding of code point cp */
static bool emit_utf8(struct scan *sc, unsigned long cp)
{
    if (cp < 0x80)
        return emit(sc, (char)cp);
    if (cp < 0x800)
        return emit(sc, (char)(0xc0 | cp >> 6)) && emit(sc, (char)(0x80 | (cp & 0x3f)));
    if (cp < 0x10000)
        return emit(sc, (char)(0xe0 | cp >> 12)) && emit(sc, (char)(0x80 | (cp >> 6 & 0x3f))) &&
               emit(sc, (char)(0x80 | (cp & 0x3f)));
    return emit(sc, (char)(0xf0 | cp >> 18)) && emit(sc, (char)(0x80 | (cp >> 12 & 0x3f))) &&
           emit(sc, (char)(0x80 | (cp >> 6 & 0x3f))) && emit(sc, (char)(0x80 | (cp & 0x3f)));
}

/* A JSON string at sc->p, unescaped into the output; false when malformed. */
static bool scan_string(struct scan *sc)
{
    if (sc->p >= sc->end || *sc->p != '"')
        return false;
    for (sc->p++; sc->p < sc->end && *sc->p != '"'; sc->p++) {
        if (*sc->p != '\\') {
            if (!emit(sc, *sc->p))
                return false;
            continue;
        }
        if (++sc->p >= sc->end)
            return false;
        char c = *sc->p;
        const char *map = strchr("\"\"\\\\//b\bf\fn\nr\rt\t", c);
        if (c == 'u' && sc->end - sc->p > 4) {
            char hex[5] = { sc->p[1], sc->p[2], sc->p[3], sc->p[4], 0 };
            unsigned long cp = strtoul(hex, NULL, 16);
            sc->p += 4;
            if (cp >= 0xd800 && cp < 0xdc00 && sc->end - sc->p > 6 && sc->p[1] == '\\' &&
                sc->p[2] == 'u') {
                char lo[5] = { sc->p[3], sc->p[4], sc->p[5], sc->p[6], 0 };
                cp = 0x10000 + ((cp - 0xd800) << 10) + (strtoul(lo, NULL, 16) - 0xdc00);
                sc->p += 6;
            }
            if (!emit_utf8(sc, cp))
                return false;
        } else if (map && (map - "\"\"\\\\//b\bf\fn\nr\rt\t") % 2 == 0) {
            if (!emit(sc, map[1]))
                return false;
        } else {
            return false;
        }
    }
    if (sc->p >= sc->end)
        return false;
    sc->p++;
    return emit(sc, '\0');
}

/* Any JSON value at sc->p, copied as its text (a string unescaped); false when malformed. */
static bool scan_value(struct scan *sc, bool *is_null)
{
    *is_null = false;
    if (sc->p < sc->end && *sc->p == '"')
        return scan_string(sc);
    const char *start = sc->p;
    int depth = 0;
    while (sc->p < sc->end) {
        char c = *sc->p;
        if (c == '"') {              /* a string inside an object or a list */
            for (sc->p++; sc->p < sc->end && *sc->p != '"'; sc->p++)
                if (*sc->p == '\\')
                    sc->p++;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (depth == 0)
                break;
            depth--;
        } else if (c == ',' && depth == 0) {
            break;
        }
        sc->p++;
    }
    const char *end = sc->p;
    while (end > start && strchr(" \t\r\n", end[-1]))
        end--;
    *is_null = end - start == 4 && memcmp(start, "null", 4) == 0;
    for (const char *q = start; q < end; q++)
        if (!emit(sc, *q))
            return false;
    return emit(sc, '\0');
}

/* The members of the object at [p, end) into e, each key after prefix. */
static void scan_object(struct ex *e, struct scan *sc, const char *prefix)
{
    skip_ws(sc);
    if (sc->p >= sc->end || *sc->p != '{')
        return;
    sc->p++;
    for (;;) {
        skip_ws(sc);
        if (sc->p >= sc->end || *sc->p == '}' || e->n >= EX_MAX_KEYS)
            return;
        char *key = sc->out;
        size_t pl = strlen(prefix);
        for (size_t i = 0; i < pl; i++)
            if (!emit(sc, prefix[i]))
                return;
        if (!scan_string(sc))
            return;
        skip_ws(sc);
        if (sc->p >= sc->end || *sc->p != ':')
            return;
        sc->p++;
        skip_ws(sc);
        const char *vstart = sc->p;
        char *val = sc->out;
        bool is_null;
        if (!scan_value(sc, &is_null))
            return;
        e->key[e->n] = key, e->val[e->n] = val, e->is_null[e->n] = is_null;
        e->n++;
        if (!*prefix && strcmp(key, "result") == 0 && *vstart == '{') {
            struct scan sub = { vstart, sc->p, sc->out, sc->out_end };
            scan_object(e, &sub, "result.");
            sc->out = sub.out;
        }
        skip_ws(sc);
        if (sc->p < sc->end && *sc->p == ',')
            sc->p++;
    }
}

size_t explain_event(struct explainer *x, const struct hv_event *ev, char *buf, size_t size)
{
    struct ex e = { .ev = ev, .buf = buf, .size = size };
    if (size)
        buf[0] = '\0';
    const char *detail = ev->detail && ev->detail_len ? ev->detail : "{}";
    size_t dl = ev->detail && ev->detail_len ? ev->detail_len : 2;
    /* unescaped texts are never longer than the JSON, and a result's members are copied
     * twice (as result and as result.KEY), with a prefix each */
    size_t need = 3 * dl + 8 * EX_MAX_KEYS + 16;
    if (need > x->size) {
        char *t = realloc(x->text, need);
        if (!t)
            return 0;
        x->text = t, x->size = need;
    }
    struct scan sc = { detail, detail + dl, x->text, x->text + x->size };
    scan_object(&e, &sc, "");
    if ((unsigned)ev->kind < HV_EV__COUNT && sentences[ev->kind])
        sentences[ev->kind](&e);
    return e.len;
}

void explain_line(struct explainer *x, const struct hv_event *ev, FILE *out)
{
    char buf[2048];
    explain_event(x, ev, buf, sizeof buf);
    if (ev->vm)
        fprintf(out, "seq %" PRIu64 ", VM %" PRIu32 ": ", ev->seq, ev->vm);
    else
        fprintf(out, "seq %" PRIu64 ": ", ev->seq);
    /* one line per event: a value's own line breaks (an expected output) are escaped */
    for (const unsigned char *p = (const unsigned char *)buf; *p; p++) {
        if (*p == '\n')
            fputs("\\n", out);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(out, "\\x%02x", *p);
        else
            fputc(*p, out);
    }
    fputc('\n', out);
}
