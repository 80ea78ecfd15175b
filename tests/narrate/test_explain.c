/*
 * test_explain.c - `--explain`'s sentences (narrate/explain.c).
 *
 * Every kind of trace/events.def: a sentence that ends with a period, names the vCPU of a
 * vCPU's event, and changes when the event's fields change (it is built from them). Then
 * rows of exact sentences for events the reference rules produce.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "narrate/explain.h"
#include "tests/test_util.h"

int test_explain_register(void);
#include "trace/event.h"

/* Kinds whose events are about the VM or the host (vcpu -1), not one vCPU. */
static const char *const vm_kinds[] = { "run_start", "kvm_dirty_ring", "kvm_lookup", "after",
                                        "mig_start", "mig_round", "mig_escaped",
                                        "mig_switchover", "step", "expect", "run_end",
                                        "xen_console" };

static bool is_vm_kind(const char *name)
{
    for (size_t i = 0; i < sizeof vm_kinds / sizeof vm_kinds[0]; i++)
        if (strcmp(vm_kinds[i], name) == 0)
            return true;
    return false;
}

/* A detail with every field of kind: variant 0 or 1 of sample values. */
static void sample_detail(const struct hv_kind_desc *kd, int variant, char *buf, size_t size)
{
    size_t l = (size_t)snprintf(buf, size, "{");
    for (size_t f = 0; f < kd->nfields; f++) {
        const char *v;
        char num[32];
        switch (kd->fields[f].type) {
        case HV_FIELD_U64:
            snprintf(num, sizeof num, "%d", variant ? 7 : 2);
            v = num;
            break;
        case HV_FIELD_I64:
            v = variant ? "-22" : "5";
            break;
        case HV_FIELD_ADDR:
            v = variant ? "\"0x606100\"" : "\"0x1000\"";
            break;
        case HV_FIELD_STR:
            v = variant ? "\"other\"" : "\"sample\"";
            break;
        case HV_FIELD_BOOL:
            v = variant ? "false" : "true";
            break;
        case HV_FIELD_HEX:
            v = variant ? "\"ff00\"" : "\"0102\"";
            break;
        default:
            v = variant ? "{\"errno\":\"EINVAL\"}" : "{\"errno\":\"0\"}";
            break;
        }
        l += (size_t)snprintf(buf + l, size - l, "%s\"%s\":%s", f ? "," : "", kd->fields[f].name,
                              v);
    }
    snprintf(buf + l, size - l, "}");
}

static void every_kind(void)
{
    struct explainer *x = NULL;
    CU_ASSERT_EQUAL_FATAL(explainer_open(&x), 0);
    for (int k = 0; k < HV_EV__COUNT; k++) {
        const struct hv_kind_desc *kd = hv_kind_desc(k);
        char d0[2048], d1[2048], s0[2048], s1[2048];
        sample_detail(kd, 0, d0, sizeof d0);
        sample_detail(kd, 1, d1, sizeof d1);
        bool vm = is_vm_kind(kd->name);
        struct hv_event e0 = { .seq = 9, .vcpu = vm ? -1 : 2, .kind = k, .detail = d0,
                               .detail_len = strlen(d0) };
        struct hv_event e1 = e0;
        e1.detail = d1, e1.detail_len = strlen(d1);
        size_t n0 = explain_event(x, &e0, s0, sizeof s0);
        explain_event(x, &e1, s1, sizeof s1);
        TEST_CHECK(n0 > 20 && n0 < sizeof s0, "%s: a sentence, not '%s'", kd->name, s0);
        TEST_CHECK(n0 && s0[n0 - 1] == '.', "%s: '%s' does not end with a period", kd->name, s0);
        TEST_CHECK(vm || strstr(s0, "vCPU 2"), "%s: '%s' does not name vCPU 2", kd->name, s0);
        TEST_CHECK(!kd->nfields || strcmp(s0, s1) != 0,
                   "%s: the sentence does not change with the fields: '%s'", kd->name, s0);
        TEST_CHECK(!strstr(s0, "?"), "%s: '%s' misses a field", kd->name, s0);
    }
    explainer_close(x);
}

static const struct {
    const char *kind;
    int vcpu;
    const char *detail;
    const char *sentence;
} rows[] = {
    /* A.6: an MMIO exit, the access's bytes as the guest wrote them */
    { "kvm_exit", 0,
      "{\"reason\":\"KVM_EXIT_MMIO\",\"phys_addr\":\"0xd0000000\",\"len\":4,\"is_write\":true,"
      "\"data\":\"78563412\",\"suberror\":0,\"esr_iss\":0,\"fault_ipa\":\"0x0\"}",
      "KVM_RUN of vCPU 0 returns KVM_EXIT_MMIO to the VMM: a write of 4 bytes, 78563412 in guest "
      "byte order, at 0xd0000000." },
    /* A.7: GET_DIRTY_LOG's bitmap, bit i of byte i/8 for page i */
    { "step", -1,
      "{\"index\":4,\"action\":\"get_dirty_log\",\"result\":{\"errno\":\"0\",\"bitmap\":\"8800\"},"
      "\"ok\":true,\"at\":{\"sync\":2},\"expected\":null}",
      "Host step 4 calls KVM_GET_DIRTY_LOG, which reports pages 3 and 7 of the slot as written "
      "since the last call." },
    /* A.3: an overlapping slot */
    { "step", -1,
      "{\"index\":1,\"action\":\"set_memory_region\",\"result\":{\"errno\":\"EEXIST\",\"rule\":"
      "\"OVERLAP\"},\"ok\":true,\"at\":\"start\",\"expected\":{\"errno\":\"EEXIST\"}}",
      "Host step 1 calls KVM_SET_USER_MEMORY_REGION, which fails with EEXIST (OVERLAP)." },
    { "step", -1,
      "{\"index\":2,\"action\":\"enable_cap\",\"result\":{\"errno\":\"EINVAL\"},\"ok\":false,"
      "\"at\":\"start\",\"expected\":{\"errno\":\"0\"}}",
      "Host step 2 calls KVM_ENABLE_CAP, which fails with EINVAL; that is not what the step "
      "expected." },
    /* C.3, C.5: a cross-vCPU area write through the caller's page tables */
    { "xen_area", 1,
      "{\"subject\":0,\"area\":\"runstate\",\"reg\":\"linear\",\"why\":\"register\",\"addr\":"
      "\"0x4000000100\",\"via\":1,\"gpa\":\"0x606100\",\"ok\":true,\"state\":0,\"value\":0,"
      "\"writes\":[]}",
      "On vCPU 1, Xen writes vCPU 0's runstate area at linear address 0x4000000100 (register) "
      "using vCPU 1's page tables, not the area owner's; it lands at guest-physical 0x606100." },
    /* C.4: a preempted leg: cmd = op | nr_done << 6 */
    { "xen_continuation", 0,
      "{\"cmd\":6,\"op\":6,\"start\":0,\"nr_extents\":8,\"done\":3,\"preempted\":true,"
      "\"next_cmd\":198,\"next_start\":3,\"tot_pages\":4099}",
      "A memory_op leg of vCPU 0 (op 6, cmd 0x6) starts at extent 0 of 8 and completes 3; "
      "preempted, it leaves a continuation: the vmcall re-executes with cmd 0xc6 (start "
      "extent 3)." },
    /* B.4: DENY answers NOT_SUPPORTED in x0 */
    { "kvm_smccc", 0,
      "{\"conduit\":\"hvc\",\"imm\":0,\"func_id\":\"0x84000000\",\"aarch32\":false,\"action\":"
      "\"deny\",\"rule\":\"the SMCCC filter denies it\",\"exit\":null,\"exit_data\":null,"
      "\"x0\":18446744073709551615,\"x1\":0,\"x2\":0,\"x3\":0}",
      "vCPU 0 calls SMCCC function 0x84000000 with hvc #0; KVM's decision is deny (the SMCCC "
      "filter denies it); the guest resumes with x0 = 0xffffffffffffffff." },
    /* C.6: an encrypted guest's miss */
    { "xen_stlb", 1,
      "{\"table\":1,\"va\":\"0x7000\",\"hit\":false,\"gpa\":\"0x0\",\"error\":\"stlb_miss\"}",
      "Xen looks up the hypercall buffer page at va 0x7000 in vCPU 1's software TLB for vCPU 1: "
      "stlb_miss, so the copy fails." },
    /* A.5: a lookup through a retired slot */
    { "kvm_lookup", -1,
      "{\"user\":\"kvm_write_guest\",\"as\":0,\"gfn\":\"0xc0000\",\"via\":\"vcpu_cache\",\"slot\":"
      "10,\"generation\":8,\"stale\":true,\"hva\":\"0x7f0001001000\"}",
      "kvm_write_guest translates gfn 0xc0000 (address space 0) via vcpu_cache to slot 10 (a slot "
      "already moved or deleted: stale), hva 0x7f0001001000 at memslot generation 8." },
    /* B.1: a forwarded KVM hypercall */
    { "kvm_hypercall", 0,
      "{\"nr\":12,\"a0\":1,\"a1\":2,\"a2\":3,\"a3\":0,\"ret\":0,\"exit\":true,\"flags\":1,"
      "\"rip\":\"0x1000\",\"mode\":8,\"rule\":\"KVM_HC_MAP_GPA_RANGE: to userspace\"}",
      "KVM handles vCPU 0's hypercall 12 (a0..a3 = 0x1, 0x2, 0x3, 0x0) by exiting to the VMM "
      "with KVM_EXIT_HYPERCALL (flags 0x1), which answers 0 (KVM_HC_MAP_GPA_RANGE: to "
      "userspace)." },
    { "mig_round", -1,
      "{\"round\":4,\"ran\":20000,\"dirty\":8,\"sent\":8,\"final\":true}",
      "Migration round 4: the source ran 20000 instructions, the sync found 8 dirty pages and 8 "
      "were sent with the vCPUs stopped (the final round)." },
    { "expect", -1,
      "{\"what\":\"events.kvm_exit\",\"expected\":\"3\",\"actual\":2,\"ok\":false}",
      "The expectation events.kvm_exit fails: expected 3, got 2." },
    { "exception", 0,
      "{\"vector\":13,\"name\":\"#GP\",\"error_code\":0,\"addr\":\"0x0\",\"handler\":\"0x0\","
      "\"delivered\":false}",
      "vCPU 0 takes #GP (vector 13, error code 0x0) with no handler to deliver it to, so the run "
      "ends." },
};

static void sentences(void)
{
    struct explainer *x = NULL;
    CU_ASSERT_EQUAL_FATAL(explainer_open(&x), 0);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct hv_event ev = { .seq = 1, .vcpu = rows[i].vcpu,
                               .kind = (enum hv_ev_kind)hv_kind_lookup(rows[i].kind),
                               .detail = rows[i].detail, .detail_len = strlen(rows[i].detail) };
        char s[2048];
        explain_event(x, &ev, s, sizeof s);
        TEST_CHECK(strcmp(s, rows[i].sentence) == 0, "row %zu (%s):\n  got  %s\n  want %s", i,
                   rows[i].kind, s, rows[i].sentence);
    }
    explainer_close(x);
}

/* Strings are unescaped (a quote, a line break, a code point beyond the BMP and one within);
 * the kvm_smccc row above has a u64 above 2^63. */
static void detail_values(void)
{
    struct explainer *x = NULL;
    CU_ASSERT_EQUAL_FATAL(explainer_open(&x), 0);
    const char *d = "{\"text\":\"say \\\"hi\\\"\\n\\ud83d\\ude00\\u00e9\"}";
    struct hv_event ev = { .vcpu = 3, .kind = HV_EV_ucall_printf, .detail = d,
                           .detail_len = strlen(d) };
    char s[256];
    explain_event(x, &ev, s, sizeof s);
    CU_ASSERT_STRING_EQUAL(s, "vCPU 3 prints \"say \\\"hi\\\"\\n\xf0\x9f\x98\x80\xc3\xa9\" "
                              "with GUEST_PRINTF.");
    explainer_close(x);
}

/* A sentence longer than the buffer is cut and terminated; the length says how long. */
static void cut(void)
{
    struct explainer *x = NULL;
    CU_ASSERT_EQUAL_FATAL(explainer_open(&x), 0);
    const char *d = "{\"n\":1}";
    struct hv_event ev = { .vcpu = 0, .kind = HV_EV_ucall_sync, .detail = d,
                           .detail_len = strlen(d) };
    char s[16];
    size_t n = explain_event(x, &ev, s, sizeof s);
    CU_ASSERT(n > sizeof s);
    CU_ASSERT_EQUAL(strlen(s), sizeof s - 1);
    explainer_close(x);
}

int test_explain_register(void)
{
    CU_pSuite s = CU_add_suite("explain", NULL, NULL);
    return !s || !CU_add_test(s, "every kind has a sentence built from its fields", every_kind) ||
           !CU_add_test(s, "sentences of reference events", sentences) ||
           !CU_add_test(s, "escaped strings", detail_values) ||
           !CU_add_test(s, "a long sentence is cut", cut);
}
