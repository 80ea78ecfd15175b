/*
 * test_divergence.c - the divergence report (debug/divergence.c) on hand-made event pairs.
 *
 * The "what differs" part is a rule over JSON: compare the two details leaf by leaf (a leaf is
 * a number, string, boolean, null, or an empty object or array; its key is the path from the
 * top, "a.b[0].c"), and list each leaf whose value differs or that one side lacks, in A's
 * order, then B's extra leaves; the event columns vm, vcpu, icount, kind and pc come first.
 * The rows below apply that rule by hand. A `step` event is reported with its scenario
 * line, action, trigger and arguments, read from a scenario text given here.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "debug/divergence.h"
#include "runner/scenario.h"
#include "tests/test_util.h"

void test_divergence_register(void);

/* The report's "what differs" lines, joined by ';' ("b: 2 | 3;c: (absent) | true"). */
static void dvt_differs(const struct divergence *d, char *out, size_t size)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    int err = divergence_print(d, f);
    fclose(f);
    TEST_CHECK(err == 0, "divergence_print: %d", err);
    out[0] = 0;
    const char *p = strstr(text, "  what differs (A | B):\n");
    if (p) {
        p = strchr(p, '\n') + 1;
        size_t o = 0;
        while (strncmp(p, "    ", 4) == 0) {
            const char *e = strchr(p, '\n');
            o += (size_t)snprintf(out + o, size - o, "%s%.*s", o ? ";" : "", (int)(e - p - 4),
                                  p + 4);
            p = e + 1;
        }
    }
    free(text);
}

static void test_what_differs(void)
{
    static const struct {
        uint64_t icount[2], pc[2];
        const char *detail[2];
        const char *want;
    } rows[] = {
        { { 5, 5 }, { 16, 16 }, { "{\"a\":1,\"b\":2}", "{\"a\":1,\"b\":3}" }, "b: 2 | 3" },
        { { 5, 5 }, { 16, 16 },
          { "{\"r\":{\"x\":\"0\",\"y\":\"1\"},\"ok\":true}",
            "{\"r\":{\"x\":\"0\",\"y\":\"2\"},\"ok\":false}" },
          "r.y: \"1\" | \"2\";ok: true | false" },
        { { 5, 5 }, { 16, 16 }, { "{\"a\":1}", "{\"a\":1,\"c\":true}" }, "c: (absent) | true" },
        { { 5, 5 }, { 16, 16 }, { "{\"a\":1,\"c\":null}", "{\"a\":1}" }, "c: null | (absent)" },
        { { 5, 5 }, { 16, 16 }, { "{\"next_cmd\":198,\"s\":2}", "{\"next_cmd\":134,\"s\":2}" },
          "next_cmd: 198 | 134" },
        { { 5, 5 }, { 16, 16 },
          { "{\"w\":[{\"off\":0,\"len\":8}]}", "{\"w\":[{\"off\":8,\"len\":8}]}" },
          "w[0].off: 0 | 8" },
        { { 5, 5 }, { 16, 16 }, { "{\"c\":[]}", "{\"c\":[1]}" },
          "c: [] | (absent);c[0]: (absent) | 1" },
        { { 5, 7 }, { 16, 32 }, { "{\"a\":1}", "{\"a\":1}" },
          "icount: 5 | 7;pc: \"0x10\" | \"0x20\"" },
        { { 5, 5 }, { 16, 16 }, { "{\"a\":1}", "{\"a\":1}" }, "" },
    };
    for (size_t i = 0; i < TEST_N(rows); i++) {
        struct divergence d = { .side = { { .label = "A" }, { .label = "B" } } };
        for (int s = 0; s < 2; s++) {
            struct hv_event ev = { .seq = 9, .vcpu = 0, .icount = rows[i].icount[s],
                                   .kind = HV_EV_kvm_lookup, .pc = rows[i].pc[s],
                                   .detail = rows[i].detail[s] };
            CU_ASSERT_FATAL(divergence_event_set(&d.side[s].ev, &ev) == 0);
        }
        char got[1024];
        dvt_differs(&d, got, sizeof got);
        TEST_CHECK(strcmp(got, rows[i].want) == 0, "row %zu: got '%s', want '%s'", i, got,
                   rows[i].want);
        for (int s = 0; s < 2; s++)
            divergence_event_fini(&d.side[s].ev);
    }
}

static const char dvt_scenario[] =
    "name: t\n"                                         /* 1 */
    "description: steps for the report\n"               /* 2 */
    "model: kvm\n"                                      /* 3 */
    "arch: x86_64\n"                                    /* 4 */
    "guest: g.c\n"                                      /* 5 */
    "steps:\n"                                          /* 6 */
    "  - at: {sync: 1}\n"                               /* 7 */
    "    do: get_dirty_log\n"                           /* 8 */
    "    args: {slot: 1}\n"                             /* 9 */
    "  - at: {sync: 2}\n"                               /* 10 */
    "    do: kvm_write_guest\n"                         /* 11 */
    "    args: {vcpu: 0, gpa: 0x1000, data: \"11\"}\n"; /* 12 */

static void test_step(void)
{
    struct scenario *sc = NULL;
    struct hv_diag dg;
    int err = scenario_parse(&sc, "t.yaml", dvt_scenario, strlen(dvt_scenario), &dg);
    char msg[1200];
    hv_diag_format(&dg, msg, sizeof msg);
    TEST_CHECK(err == 0, "scenario_parse: %s", msg);
    CU_ASSERT_FATAL(err == 0);
    static const struct {
        const char *detail[2];
        const char *want;   /* the report's step line */
    } rows[] = {
        { { "{\"index\":0,\"action\":\"get_dirty_log\",\"ok\":false,\"at\":{\"sync\":1}}",
            "{\"index\":0,\"action\":\"get_dirty_log\",\"ok\":true,\"at\":{\"sync\":1}}" },
          "  host step 0 at t.yaml:7: get_dirty_log, at {\"sync\":1}, args {\"slot\":1}\n" },
        { { "{\"index\":1,\"action\":\"kvm_write_guest\",\"ok\":true,\"at\":{\"sync\":2}}",
            "{\"index\":1,\"action\":\"kvm_write_guest\",\"ok\":false,\"at\":{\"sync\":2}}" },
          "  host step 1 at t.yaml:10: kvm_write_guest, at {\"sync\":2}, args "
          "{\"vcpu\":0,\"gpa\":4096,\"data\":\"11\"}\n" },
        { { "{\"index\":7,\"ok\":true,\"at\":\"end\"}", "{\"index\":7,\"ok\":false,\"at\":\"end\"}" },
          "  host step 7 (not in the trace's scenario)\n" },
    };
    for (size_t i = 0; i < TEST_N(rows); i++) {
        struct divergence d = { .side = { { .label = "A", .sc = sc }, { .label = "B", .sc = sc } },
                                .context = "code at pc\n" };
        for (int s = 0; s < 2; s++) {
            struct hv_event ev = { .seq = 3, .vcpu = -1, .kind = HV_EV_step,
                                   .detail = rows[i].detail[s] };
            CU_ASSERT_FATAL(divergence_event_set(&d.side[s].ev, &ev) == 0);
        }
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        TEST_CHECK(divergence_print(&d, f) == 0, "row %zu: print", i);
        fclose(f);
        TEST_CHECK(strstr(text, rows[i].want) != NULL, "row %zu: no '%s' in:\n%s", i,
                   rows[i].want, text);
        /* a host step has no guest code to show */
        TEST_CHECK(strstr(text, "code at pc") == NULL, "row %zu: guest code shown:\n%s", i,
                   text);
        free(text);
        for (int s = 0; s < 2; s++)
            divergence_event_fini(&d.side[s].ev);
    }
    scenario_destroy(sc);
}

void test_divergence_register(void)
{
    CU_pSuite s = CU_add_suite("divergence", NULL, NULL);
    CU_add_test(s, "only the columns and keys that differ", test_what_differs);
    CU_add_test(s, "a host step: its scenario line and arguments", test_step);
}
