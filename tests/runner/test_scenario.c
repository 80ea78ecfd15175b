/*
 * test_scenario.c - scenario files (runner/scenario.c) and the located tree's typed reads
 * (sim/node.c): bad inputs as a table of {text, line, column, message}, good inputs field by
 * field, and every prefix and one-byte mutation of the good inputs parsed without a crash.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner/scenario.h"
#include "sim/node.h"
#include "tests/test_util.h"

void test_scenario_register(void);

#define PATH "/x/y/s.yaml"
/* The required keys, five lines; rows that add keys start at line 6. */
#define HDR "name: t\ndescription: d\nmodel: kvm\narch: x86_64\nguest: g.c\n"

static int parse(struct scenario **s, const char *text, struct hv_diag *d)
{
    return scenario_parse(s, PATH, text, strlen(text), d);
}

/* Parses text that must be valid; fails the test (and returns NULL) otherwise. */
static struct scenario *parse_ok(const char *text)
{
    struct scenario *s = NULL;
    struct hv_diag d;
    int rc = parse(&s, text, &d);
    if (rc) {
        char buf[1200];
        hv_diag_format(&d, buf, sizeof buf);
        fprintf(stderr, "\nunexpected error: %s\n", buf);
    }
    CU_ASSERT_EQUAL(rc, 0);
    return s;
}

static void test_bad_inputs(void)
{
    static const struct {
        const char *yaml;
        int line, col;
        const char *msg;
    } rows[] = {
        /* the document */
        { "", 1, 1, "empty scenario" },
        { "# only a comment\n", 1, 1, "empty scenario" },
        { "- a\n- b\n", 1, 1, "must be a map of keys, got a sequence" },
        { "hello\n", 1, 1, "must be a map of keys, got a scalar" },
        { "name: t\n---\nname: u\n", 2, 1, "one YAML document" },
        { "name: t\n\tdescription: d\n", 2, 1, "YAML syntax error" },
        { HDR "seed: [1, 2\n", 7, 1, "YAML syntax error" },
        { HDR "x: \xff\n", 6, 4, "invalid input" },
        { HDR "x: a\x01\n", 6, 5, "invalid input" },
        { HDR "x: &a 1\n", 6, 4, "anchors are not allowed" },
        { HDR "seed: *a\n", 6, 7, "aliases are not allowed" },
        { HDR "seed: !!int 5\n", 6, 7, "tags are not allowed" },
        { HDR "name: u\n", 6, 1, "duplicate key 'name' (first at line 1, column 1)" },
        { HDR "\"name\": u\n", 6, 1, "duplicate key 'name'" },
        { HDR "memory:\n  a: 1\n  a: 2\n", 8, 3, "duplicate key 'a'" },
        { HDR "? [a]\n: 1\n", 6, 3, "map keys must be plain strings" },
        { HDR "x: \"a\\0b\"\n", 6, 4, "NUL character" },
        /* top-level keys */
        { HDR "foo: 1\n", 6, 1, "unknown key 'foo' in scenario (allowed: name, " },
        { HDR "vcpu: 2\n", 6, 1, "unknown key 'vcpu' in scenario (did you mean 'vcpus'?)" },
        { "description: d\nmodel: kvm\narch: x86_64\nguest: g.c\n", 1, 1,
          "missing required key 'name' in scenario" },
        { "name: t\ndescription: d\nmodel: kvm\narch: x86_64\n", 1, 1,
          "missing required key 'guest'" },
        { "name: [a]\ndescription: d\nmodel: kvm\narch: x86_64\nguest: g\n", 1, 7,
          "'name': expected a string, got a sequence" },
        { "name: t\ndescription:\nmodel: kvm\narch: x86_64\nguest: g\n", 2, 13,
          "'description': must not be empty" },
        { "name: t\ndescription: d\nmodel: hyperv\narch: x86_64\nguest: g\n", 3, 8,
          "'model': expected kvm, xen or none, got 'hyperv'" },
        { "name: t\ndescription: d\nmodel: kvm\narch: riscv\nguest: g\n", 4, 7,
          "'arch': expected x86_64, aarch64 or arm, got 'riscv'" },
        { "name: t\ndescription: d\nmodel: kvm\narch: x86_64\nguest: \"\"\n", 5, 8,
          "'guest': must not be empty" },
        { HDR "vcpus: abc\n", 6, 8, "'vcpus': expected an unsigned integer, got 'abc'" },
        { HDR "vcpus: 0\n", 6, 8, "'vcpus': must be between 1 and 64, got 0" },
        { HDR "vcpus: 65\n", 6, 8, "between 1 and 64, got 65" },
        { HDR "vcpus: -1\n", 6, 8, "expected an unsigned integer, got '-1'" },
        { HDR "vcpus: \"2\"\n", 6, 8, "got a quoted string '2'" },
        { HDR "vcpus:\n", 6, 7, "expected an unsigned integer, got nothing" },
        { HDR "seed: 18446744073709551616\n", 6, 7, "larger than 2^64-1" },
        { HDR "seed: 12abc\n", 6, 7, "got '12abc'" },
        { HDR "seed: {a: 1}\n", 6, 7, "expected an unsigned integer, got a map" },
        { HDR "quantum: 0\n", 6, 10, "'quantum': must be at least 1" },
        { HDR "limit: 0\n", 6, 8, "'limit': must be at least 1" },
        /* config */
        { HDR "config: [1]\n", 6, 9, "'config': expected a map, got a sequence" },
        { HDR "config:\n  a: [1]\n", 7, 6, "config 'a': expected a scalar or a map" },
        { HDR "config:\n  kvm:\n    slots: [1]\n", 8, 12, "config 'kvm.slots'" },
        { HDR "config:\n  kvm:\n    max_slots: 1\n  kvm.max_slots: 2\n", 9, 3,
          "duplicate config key 'kvm.max_slots' (first set at line 8, column 16)" },
        { HDR "config:\n  a:\n", 7, 5, "config 'a': missing value" },
        { HDR "config:\n  \"a b\": 1\n", 7, 3, "config key 'a b'" },
        /* expect */
        { HDR "expect: 1\n", 6, 9, "'expect': expected a map, got '1'" },
        /* steps */
        { HDR "steps: {}\n", 6, 8, "'steps': expected a sequence, got a map" },
        { HDR "steps:\n  - 5\n", 7, 5, "'steps[0]': expected a map, got '5'" },
        { HDR "steps:\n  - do: x\n", 7, 5, "steps[0]: missing required key 'at'" },
        { HDR "steps:\n  - at: start\n    do: a\n  - at: end\n", 9, 5,
          "steps[1]: missing required key 'do'" },
        { HDR "steps:\n  - at: start\n    do: x\n    when: 1\n", 9, 5,
          "unknown key 'when' in steps[0]" },
        { HDR "steps:\n  - at: middle\n    do: x\n", 7, 9,
          "'at': expected start, end, {sync: N} or {icount: N, vcpu: V}, got 'middle'" },
        { HDR "steps:\n  - at: Start\n    do: x\n", 7, 9, "'at': expected start" },
        { HDR "steps:\n  - at: [1]\n    do: x\n", 7, 9, "got a sequence" },
        { HDR "steps:\n  - at: {}\n    do: x\n", 7, 9, "'at': needs sync: N, icount: N, seq: N or leg: N" },
        { HDR "steps:\n  - at: {sync: 1, icount: 2, vcpu: 0}\n    do: x\n", 7, 19,
          "give one of sync, icount, seq and leg" },
        { HDR "steps:\n  - at: {seq: 3, vcpu: 0}\n    do: x\n", 7, 24,
          "'vcpu': seq and leg triggers are VM-wide" },
        { HDR "steps:\n  - at: {seq: [5, 2]}\n    do: x\n", 7, 19,
          "'seq': the range's top is below its bottom" },
        { HDR "steps:\n  - at: {seq: [5]}\n    do: x\n", 7, 15,
          "'seq': a number, or a range [LO, HI] drawn from the seed" },
        { HDR "steps:\n  - at: {leg: 1, sync: 2}\n    do: x\n", 7, 18,
          "give one of sync, icount, seq and leg" },
        { HDR "steps:\n  - at: {icount: 5}\n    do: x\n", 7, 9, "icount needs vcpu" },
        { HDR "steps:\n  - at: {sync: 1, vcpu: 1}\n    do: x\n", 7, 25,
          "'vcpu': 1 is out of range (the scenario has 1 vCPU)" },
        { HDR "vcpus: 2\nsteps:\n  - at: {icount: 1, vcpu: 2}\n    do: x\n", 8, 27,
          "the scenario has 2 vCPUs" },
        { HDR "steps:\n  - at: {sync: x}\n    do: x\n", 7, 16,
          "'sync': expected an unsigned integer, got 'x'" },
        { HDR "steps:\n  - at: {sync: 1, cpu: 0}\n    do: x\n", 7, 19,
          "unknown key 'cpu' in 'at' (did you mean 'vcpu'?)" },
        { HDR "steps:\n  - at: start\n    do: [x]\n", 8, 9, "'do': expected a string" },
        { HDR "steps:\n  - at: start\n    do:\n", 8, 8, "'do': must not be empty" },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct scenario *s = (struct scenario *)1;
        struct hv_diag d;
        int rc = parse(&s, rows[i].yaml, &d);
        bool ok = rc == HV_ESCENARIO && s == NULL && d.line == rows[i].line &&
                  d.col == rows[i].col && strstr(d.msg, rows[i].msg) != NULL &&
                  strcmp(d.file, PATH) == 0;
        if (!ok)
            fprintf(stderr, "\nrow %zu: rc %d, got %s:%d:%d: %s\n  want %d:%d: ...%s...\n", i,
                    rc, d.file, d.line, d.col, d.msg, rows[i].line, rows[i].col, rows[i].msg);
        CU_ASSERT(ok);
        if (rc == 0)
            scenario_destroy(s);
    }
}

/* A map of n keys "kNNNN: 1" under `memory:`, parsed; returns the result, fills d. */
static int parse_wide(size_t n, struct hv_diag *d)
{
    size_t size = strlen(HDR) + 16 + n * 16;
    char *text = malloc(size);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    size_t len = (size_t)snprintf(text, size, "%smemory:\n", HDR);
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(text + len, size - len, "  k%zu: 1\n", i);
    struct scenario *s = NULL;
    int rc = scenario_parse(&s, PATH, text, len, d);
    scenario_destroy(s);
    free(text);
    return rc;
}

static void test_too_wide(void)
{
    struct hv_diag d;
    CU_ASSERT_EQUAL(parse_wide(4096, &d), 0);
    CU_ASSERT_EQUAL(parse_wide(4097, &d), HV_ESCENARIO);
    CU_ASSERT_EQUAL(d.line, 7 + 4096);
    CU_ASSERT_EQUAL(d.col, 3);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, "too many keys in one map"));
}

static void test_too_deep(void)
{
    char text[512] = HDR "memory: ";
    size_t n = strlen(text);
    for (int i = 0; i < 100; i++)
        text[n++] = '[';
    for (int i = 0; i < 100; i++)
        text[n++] = ']';
    text[n] = '\0';
    struct scenario *s;
    struct hv_diag d;
    CU_ASSERT_EQUAL(parse(&s, text, &d), HV_ESCENARIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, "nesting deeper than"));
    CU_ASSERT_EQUAL(d.line, 6);
}

static void test_defaults(void)
{
    struct scenario *s = parse_ok(HDR);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_STRING_EQUAL(s->name, "t");
    CU_ASSERT_STRING_EQUAL(s->description, "d");
    CU_ASSERT_STRING_EQUAL(s->model, "kvm");
    CU_ASSERT_EQUAL(s->arch, HV_ARCH_X86_64);
    CU_ASSERT_EQUAL(s->vcpus, 1);
    CU_ASSERT_EQUAL(s->seed, 0);
    CU_ASSERT_EQUAL(s->quantum, 10000);
    CU_ASSERT_EQUAL(s->limit, 100000000);
    CU_ASSERT_STRING_EQUAL(s->guest, "g.c");
    CU_ASSERT_STRING_EQUAL(s->path, PATH);
    CU_ASSERT_STRING_EQUAL(s->dir, "/x/y");
    CU_ASSERT_STRING_EQUAL(s->guest_path, "/x/y/g.c");
    CU_ASSERT_EQUAL(s->nconfig, 0);
    CU_ASSERT_EQUAL(s->nsteps, 0);
    CU_ASSERT_PTR_NULL(s->memory);
    CU_ASSERT_PTR_NULL(s->vmm);
    CU_ASSERT_PTR_NULL(s->expect);
    CU_ASSERT_EQUAL(s->text_len, strlen(HDR));
    CU_ASSERT_STRING_EQUAL(s->text, HDR);
    scenario_destroy(s);
    scenario_destroy(NULL);
}

static void test_all_keys(void)
{
    static const char text[] =
        "# comment kept in text\n"
        "name: \"all keys\"\n"
        "description: |\n"
        "  two\n"
        "  lines\n"
        "model: xen\n"
        "arch: aarch64\n"
        "vcpus: 4\n"
        "seed: 0xdead_beef\n"
        "quantum: 1_000\n"
        "limit: 0b1010\n"
        "guest: sub/g.S\n"
        "memory: {ram: 0x100000}\n"
        "vmm: [a, b]\n"
        "expect:\n"
        "  outcome: done\n";
    struct scenario *s = parse_ok(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_STRING_EQUAL(s->name, "all keys");
    CU_ASSERT_STRING_EQUAL(s->description, "two\nlines\n");
    CU_ASSERT_STRING_EQUAL(s->model, "xen");
    CU_ASSERT_EQUAL(s->arch, HV_ARCH_AARCH64);
    CU_ASSERT_EQUAL(s->vcpus, 4);
    CU_ASSERT_EQUAL(s->seed, 0xdeadbeef);
    CU_ASSERT_EQUAL(s->quantum, 1000);
    CU_ASSERT_EQUAL(s->limit, 10);
    CU_ASSERT_STRING_EQUAL(s->guest_path, "/x/y/sub/g.S");
    CU_ASSERT_PTR_NOT_NULL_FATAL(s->memory);
    CU_ASSERT_EQUAL(s->memory->type, HV_NODE_MAP);
    CU_ASSERT_EQUAL(s->memory->line, 13);
    CU_ASSERT_EQUAL(s->memory->col, 9);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s->vmm);
    CU_ASSERT_EQUAL(s->vmm->type, HV_NODE_SEQ);
    CU_ASSERT_EQUAL(s->vmm->n, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s->expect);
    const struct hv_node *outcome = hv_node_get(s->expect, "outcome");
    CU_ASSERT_PTR_NOT_NULL_FATAL(outcome);
    CU_ASSERT_STRING_EQUAL(outcome->str, "done");
    CU_ASSERT_EQUAL(outcome->line, 16);
    CU_ASSERT_EQUAL(outcome->col, 12);
    CU_ASSERT_STRING_EQUAL(hv_node_key(s->expect, 0)->str, "outcome");
    CU_ASSERT_PTR_NULL(hv_node_key(s->expect, 1));

    /* The stored text parses back to the same scenario. */
    CU_ASSERT_EQUAL(s->text_len, sizeof text - 1);
    CU_ASSERT_EQUAL(memcmp(s->text, text, sizeof text), 0);
    struct scenario *again = NULL;
    struct hv_diag d;
    CU_ASSERT_EQUAL(scenario_parse(&again, s->path, s->text, s->text_len, &d), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(again);
    CU_ASSERT_EQUAL(again->seed, s->seed);
    CU_ASSERT_STRING_EQUAL(again->description, s->description);
    CU_ASSERT_EQUAL(memcmp(again->text, s->text, s->text_len + 1), 0);
    scenario_destroy(again);
    scenario_destroy(s);
}

static void test_config(void)
{
    static const char text[] = HDR
        "config:\n"
        "  z: 1\n"
        "  kvm:\n"
        "    max_slots: 509\n"
        "    dirty:\n"
        "      ring: \"4096\"\n"
        "  a.b: yes\n"
        "  empty: {}\n"
        "  last: ''\n";
    struct scenario *s = parse_ok(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    static const struct { const char *key, *value; int line, col; } want[] = {
        { "z", "1", 7, 6 },
        { "kvm.max_slots", "509", 9, 16 },
        { "kvm.dirty.ring", "4096", 11, 13 },
        { "a.b", "yes", 12, 8 },
        { "last", "", 14, 9 },
    };
    CU_ASSERT_EQUAL_FATAL(s->nconfig, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < s->nconfig; i++) {
        CU_ASSERT_STRING_EQUAL(s->config[i].key, want[i].key);
        CU_ASSERT_STRING_EQUAL(s->config[i].value, want[i].value);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s->config[i].node);
        CU_ASSERT_EQUAL(s->config[i].node->line, want[i].line);
        CU_ASSERT_EQUAL(s->config[i].node->col, want[i].col);
        CU_ASSERT_PTR_NOT_NULL(s->config[i].key_node);
        CU_ASSERT_PTR_NULL(s->config[i].set_node);
        CU_ASSERT_STRING_EQUAL(scenario_config(s, want[i].key), want[i].value);
    }
    CU_ASSERT_PTR_NULL(scenario_config(s, "kvm"));
    CU_ASSERT_PTR_NULL(scenario_config(s, "nope"));

    /* --set: replace keeps the position in the list, append goes last. */
    CU_ASSERT_EQUAL(scenario_set(s, "kvm.max_slots=32"), 0);
    CU_ASSERT_STRING_EQUAL(scenario_config(s, "kvm.max_slots"), "32");
    CU_ASSERT_STRING_EQUAL(s->config[1].key, "kvm.max_slots");
    CU_ASSERT_PTR_NULL(s->config[1].key_node);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s->config[1].node);
    CU_ASSERT_PTR_EQUAL(s->config[1].node, s->config[1].set_node);
    CU_ASSERT_STRING_EQUAL(s->config[1].node->file, "--set kvm.max_slots=32");
    CU_ASSERT_EQUAL(s->config[1].node->line, 0);
    CU_ASSERT_EQUAL(scenario_set(s, "xen.evtchn=a=b"), 0);
    CU_ASSERT_EQUAL(s->nconfig, 6);
    CU_ASSERT_STRING_EQUAL(s->config[5].key, "xen.evtchn");
    CU_ASSERT_STRING_EQUAL(s->config[5].value, "a=b");
    CU_ASSERT_PTR_NOT_NULL_FATAL(s->config[5].node);
    CU_ASSERT_STRING_EQUAL(s->config[5].node->file, "--set xen.evtchn=a=b");
    CU_ASSERT_EQUAL(scenario_set(s, "z="), 0);
    CU_ASSERT_STRING_EQUAL(scenario_config(s, "z"), "");
    CU_ASSERT_EQUAL(scenario_set(s, "noequals"), HV_EINVAL);
    CU_ASSERT_EQUAL(scenario_set(s, "=v"), HV_EINVAL);
    CU_ASSERT_EQUAL(s->nconfig, 6);
    scenario_destroy(s);
}

static void test_steps(void)
{
    static const char text[] = HDR
        "vcpus: 2\n"
        "steps:\n"
        "  - at: start\n"
        "    do: mem_write\n"
        "    args: {gpa: 0x1000, u64: 7}\n"
        "  - at: {sync: 3}\n"
        "    do: mem_expect\n"
        "    args: {gpa: 0x1000}\n"
        "    expect: {u64: 7}\n"
        "  - at: {sync: 4, vcpu: 1}\n"
        "    do: \"quoted action\"\n"
        "    args: ~\n"
        "  - at: {vcpu: 1, icount: 1_000}\n"
        "    do: info\n"
        "  - do: dirty_log\n"
        "    at: \"end\"\n";
    struct scenario *s = parse_ok(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    static const struct {
        enum sc_trigger at;
        uint64_t value;
        int32_t vcpu;
        const char *action;
        bool args, expect;
        int line;
    } want[] = {
        { SC_AT_START, 0, -1, "mem_write", true, false, 8 },
        { SC_AT_SYNC, 3, -1, "mem_expect", true, true, 11 },
        { SC_AT_SYNC, 4, 1, "quoted action", true, false, 15 },
        { SC_AT_ICOUNT, 1000, 1, "info", false, false, 18 },
        { SC_AT_END, 0, -1, "dirty_log", false, false, 20 },
    };
    CU_ASSERT_EQUAL_FATAL(s->nsteps, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < s->nsteps; i++) {
        const struct sc_step *st = &s->steps[i];
        CU_ASSERT_EQUAL(st->at, want[i].at);
        CU_ASSERT_EQUAL(st->value, want[i].value);
        CU_ASSERT_EQUAL(st->vcpu, want[i].vcpu);
        CU_ASSERT_STRING_EQUAL(st->action, want[i].action);
        CU_ASSERT_EQUAL(st->args != NULL, want[i].args);
        CU_ASSERT_EQUAL(st->expect != NULL, want[i].expect);
        CU_ASSERT_PTR_NOT_NULL_FATAL(st->node);
        CU_ASSERT_EQUAL(st->node->line, want[i].line);
        CU_ASSERT_EQUAL(st->node->col, 5);
        CU_ASSERT_PTR_NOT_NULL_FATAL(st->action_node);
        CU_ASSERT_STRING_EQUAL(st->action_node->str, want[i].action);
    }
    CU_ASSERT_STRING_EQUAL(hv_node_get(s->steps[0].args, "gpa")->str, "0x1000");
    scenario_destroy(s);

    s = parse_ok(HDR "steps: []\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(s->nsteps, 0);
    scenario_destroy(s);
}

static void test_paths(void)
{
    static const struct { const char *path, *guest, *dir, *resolved; } rows[] = {
        { "/x/y/s.yaml", "g.c", "/x/y", "/x/y/g.c" },
        { "s.yaml", "g.c", ".", "./g.c" },
        { "/s.yaml", "g.c", "/", "/g.c" },
        { "rel/dir/s.yaml", "../lib/g.elf", "rel/dir", "rel/dir/../lib/g.elf" },
        { "/x/y/s.yaml", "/abs/g.elf", "/x/y", "/abs/g.elf" },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "name: t\ndescription: d\nmodel: none\narch: arm\n"
                 "guest: %s\n", rows[i].guest);
        struct scenario *s = NULL;
        struct hv_diag d;
        CU_ASSERT_EQUAL_FATAL(scenario_parse(&s, rows[i].path, text, strlen(text), &d), 0);
        CU_ASSERT_EQUAL(s->arch, HV_ARCH_ARM);
        CU_ASSERT_STRING_EQUAL(s->dir, rows[i].dir);
        CU_ASSERT_STRING_EQUAL(s->guest_path, rows[i].resolved);
        scenario_destroy(s);
    }
}

static void test_load(void)
{
    char path[] = "/tmp/hvsim-test-scenario-XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    static const char text[] = HDR "seed: 9\n";
    CU_ASSERT_EQUAL(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);
    struct scenario *s = NULL;
    struct hv_diag d;
    CU_ASSERT_EQUAL(scenario_load(&s, path, &d), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(s->seed, 9);
    CU_ASSERT_EQUAL(s->text_len, sizeof text - 1);
    CU_ASSERT_STRING_EQUAL(s->text, text);
    CU_ASSERT_STRING_EQUAL(s->guest_path, "/tmp/g.c");
    scenario_destroy(s);
    unlink(path);

    CU_ASSERT_EQUAL(scenario_load(&s, path, &d), HV_ENOENT);
    CU_ASSERT_PTR_NULL(s);
    char buf[1200];
    hv_diag_format(&d, buf, sizeof buf);
    CU_ASSERT_EQUAL(strncmp(buf, path, strlen(path)), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, ": cannot open: "));
}

static void test_diag_format(void)
{
    struct hv_node n = { .type = HV_NODE_SCALAR, .file = "a/b.yaml", .line = 3, .col = 7,
                         .str = "x" };
    struct hv_diag d;
    CU_ASSERT_EQUAL(hv_diag_at(&d, &n, "bad %s %d", "thing", 42), HV_ESCENARIO);
    char buf[1200];
    hv_diag_format(&d, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "a/b.yaml:3:7: bad thing 42");
    char small[8];
    hv_diag_format(&d, small, sizeof small);
    CU_ASSERT_STRING_EQUAL(small, "a/b.yam");
    CU_ASSERT_EQUAL(hv_diag_at(NULL, &n, "ignored"), HV_ESCENARIO);
}

enum read_kind { RD_U64, RD_I64, RD_BOOL, RD_STR };

static void test_node_reads(void)
{
    static const struct {
        enum read_kind kind;
        const char *text;
        bool quoted;
        bool ok;
        uint64_t value;        /* RD_U64, RD_BOOL; RD_I64 as two's complement */
        const char *msg;       /* substring of the error */
    } rows[] = {
        { RD_U64, "0", false, true, 0, NULL },
        { RD_U64, "42", false, true, 42, NULL },
        { RD_U64, "0x1F", false, true, 0x1f, NULL },
        { RD_U64, "0XfF", false, true, 0xff, NULL },
        { RD_U64, "0b101", false, true, 5, NULL },
        { RD_U64, "1_000_000", false, true, 1000000, NULL },
        { RD_U64, "0xffff_ffff_ffff_ffff", false, true, UINT64_MAX, NULL },
        { RD_U64, "18446744073709551615", false, true, UINT64_MAX, NULL },
        { RD_U64, "18446744073709551616", false, false, 0, "'v': '18446744073709551616' is "
          "larger than 2^64-1" },
        { RD_U64, "0x1_0000_0000_0000_0000", false, false, 0, "larger than 2^64-1" },
        { RD_U64, "99999999999999999999x", false, false, 0, "expected an unsigned integer" },
        { RD_U64, "-1", false, false, 0, "'v': expected an unsigned integer, got '-1'" },
        { RD_U64, "abc", false, false, 0, "'v': expected an unsigned integer, got 'abc'" },
        { RD_U64, "5", true, false, 0, "got a quoted string '5'" },
        { RD_U64, "", false, false, 0, "got nothing" },
        { RD_U64, "12abc", false, false, 0, "got '12abc'" },
        { RD_U64, "+5", false, false, 0, "expected an unsigned integer" },
        { RD_U64, "1.5", false, false, 0, "expected an unsigned integer" },
        { RD_U64, "0x", false, false, 0, "expected an unsigned integer" },
        { RD_U64, "0b102", false, false, 0, "expected an unsigned integer" },
        { RD_U64, "0xg", false, false, 0, "expected an unsigned integer" },
        { RD_U64, "1_", false, false, 0, "expected an unsigned integer" },
        { RD_U64, "_1", false, false, 0, "expected an unsigned integer" },
        { RD_U64, "1__0", false, false, 0, "expected an unsigned integer" },
        { RD_U64, "0x_1", false, false, 0, "expected an unsigned integer" },
        { RD_U64, "010", false, false, 0, "expected an unsigned integer" },
        { RD_U64, "0123456789012345678901234567890123456789012345", false, false, 0,
          "got '0123456789012345678901234567890123456789...'" },
        { RD_U64, "5\n", true, false, 0, "got a quoted string '5\\n'" },
        { RD_U64, "a\tb\x01", false, false, 0, "got 'a\\tb\\x01'" },
        { RD_I64, "-1", false, true, (uint64_t)-1, NULL },
        { RD_I64, "7", false, true, 7, NULL },
        { RD_I64, "-0x10", false, true, (uint64_t)-16, NULL },
        { RD_I64, "9223372036854775807", false, true, (uint64_t)INT64_MAX, NULL },
        { RD_I64, "-9223372036854775808", false, true, (uint64_t)INT64_MIN, NULL },
        { RD_I64, "9223372036854775808", false, false, 0, "does not fit in a signed 64-bit" },
        { RD_I64, "-9223372036854775809", false, false, 0, "does not fit" },
        { RD_I64, "--1", false, false, 0, "'v': expected an integer, got '--1'" },
        { RD_I64, "-", false, false, 0, "expected an integer" },
        { RD_I64, "-3", true, false, 0, "got a quoted string" },
        { RD_BOOL, "true", false, true, 1, NULL },
        { RD_BOOL, "false", false, true, 0, NULL },
        { RD_BOOL, "yes", false, false, 0, "'v': expected true or false, got 'yes'" },
        { RD_BOOL, "True", false, false, 0, "expected true or false" },
        { RD_BOOL, "true", true, false, 0, "got a quoted string 'true'" },
        { RD_STR, "5", false, true, 0, NULL },
        { RD_STR, "", true, true, 0, NULL },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct hv_node n = { .type = HV_NODE_SCALAR, .file = "f", .line = 2, .col = 3,
                             .str = (char *)rows[i].text, .quoted = rows[i].quoted };
        struct hv_diag d = { .msg = "" };
        uint64_t u = 0;
        int64_t s = 0;
        bool b = false;
        const char *str = NULL;
        int rc = 0;
        uint64_t got = 0;
        switch (rows[i].kind) {
        case RD_U64: rc = hv_node_u64(&n, "v", &u, &d); got = u; break;
        case RD_I64: rc = hv_node_i64(&n, "v", &s, &d); got = (uint64_t)s; break;
        case RD_BOOL: rc = hv_node_bool(&n, "v", &b, &d); got = b; break;
        case RD_STR: rc = hv_node_str(&n, "v", &str, &d); break;
        }
        bool ok = rows[i].ok
            ? rc == 0 && got == rows[i].value && (rows[i].kind != RD_STR || str == n.str)
            : rc == HV_ESCENARIO && d.line == 2 && d.col == 3 &&
              strstr(d.msg, rows[i].msg) != NULL;
        if (!ok)
            fprintf(stderr, "\nrow %zu (%s): rc %d value %llu msg '%s'\n", i, rows[i].text, rc,
                    (unsigned long long)got, d.msg);
        CU_ASSERT(ok);
    }
}

static void test_node_shapes(void)
{
    struct hv_node keys[] = {
        { .type = HV_NODE_SCALAR, .file = "f", .line = 1, .col = 1, .str = "a" },
        { .type = HV_NODE_SCALAR, .file = "f", .line = 2, .col = 1, .str = "bogus" },
    };
    struct hv_node items[] = {
        { .type = HV_NODE_SCALAR, .file = "f", .line = 1, .col = 4, .str = "1" },
        { .type = HV_NODE_SEQ, .file = "f", .line = 2, .col = 8 },
    };
    struct hv_node map = { .type = HV_NODE_MAP, .file = "f", .line = 1, .col = 1, .n = 2,
                           .items = items, .keys = keys };
    struct hv_diag d;
    CU_ASSERT_PTR_EQUAL(hv_node_get(&map, "a"), &items[0]);
    CU_ASSERT_PTR_NULL(hv_node_get(&map, "c"));
    CU_ASSERT_PTR_NULL(hv_node_get(&items[0], "a"));
    CU_ASSERT_PTR_EQUAL(hv_node_key(&map, 1), &keys[1]);
    CU_ASSERT_PTR_NULL(hv_node_key(&map, 2));

    static const char *const allowed[] = { "a", "b", NULL };
    CU_ASSERT_EQUAL(hv_node_check_keys(&map, allowed, "thing", &d), HV_ESCENARIO);
    CU_ASSERT_EQUAL(d.line, 2);
    CU_ASSERT_EQUAL(d.col, 1);
    CU_ASSERT_STRING_EQUAL(d.msg, "unknown key 'bogus' in thing (allowed: a, b)");
    static const char *const more[] = { "a", "bogus", NULL };
    CU_ASSERT_EQUAL(hv_node_check_keys(&map, more, "thing", &d), 0);
    CU_ASSERT_EQUAL(hv_node_check_keys(&items[0], more, "thing", &d), HV_ESCENARIO);
    CU_ASSERT_STRING_EQUAL(d.msg, "'thing': expected a map, got '1'");

    CU_ASSERT_EQUAL(hv_node_expect(&items[1], HV_NODE_SEQ, "s", &d), 0);
    CU_ASSERT_EQUAL(hv_node_expect(&items[1], HV_NODE_MAP, "s", &d), HV_ESCENARIO);
    CU_ASSERT_STRING_EQUAL(d.msg, "'s': expected a map, got a sequence");
    CU_ASSERT_EQUAL(d.line, 2);
    CU_ASSERT_EQUAL(d.col, 8);
    const char *str;
    CU_ASSERT_EQUAL(hv_node_str(&map, "m", &str, &d), HV_ESCENARIO);
    CU_ASSERT_STRING_EQUAL(d.msg, "'m': expected a string, got a map");
    hv_node_free(NULL);
}

/* Good inputs, for the truncation and mutation sweep. */
static const char *const fuzz_seeds[] = {
    HDR "vcpus: 2\nseed: 0x10\nconfig:\n  kvm: {max_slots: 509, dirty: {ring: 64}}\n"
        "memory:\n  - {gpa: 0x0, size: 0x10000}\nvmm: {mmio: [{gpa: 0xd000, read: 1}]}\n"
        "steps:\n  - at: {sync: 1, vcpu: 1}\n    do: mem_write\n    args: {gpa: 0x10, u8: 1}\n"
        "  - at: {icount: 100, vcpu: 0}\n    do: info\n  - at: end\n    do: x\n"
        "    expect: {u64: \"> 3\"}\n"
        "expect:\n  outcome: done\n  output: \"hi\\n\"\n  events: {mmio: \">= 1\"}\n",
    "name: 'q'\ndescription: >\n  folded\n  text\nmodel: none\narch: arm\nguest: /a/b.elf\n"
        "steps: [{at: start, do: a}, {at: {sync: 2}, do: b, args: [1, 2]}]\n",
};

/* Every prefix and a few one-byte mutations of each seed: never a crash, always located. */
static void test_fuzz_sweep(void)
{
    static const char subst[] = { '[', '{', ':', '-', '&', '*', '!', '"', '\'', '\n', ' ',
                                  '\t', '#', '\0', '\x80', '?', '|', ',' };
    size_t runs = 0, bad = 0;
    for (size_t f = 0; f < sizeof fuzz_seeds / sizeof fuzz_seeds[0]; f++) {
        const char *seed = fuzz_seeds[f];
        size_t len = strlen(seed);
        char *buf = malloc(len + 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
        for (size_t cut = 0; cut <= len; cut++) {
            for (size_t m = 0; m <= sizeof subst; m++) {
                memcpy(buf, seed, len + 1);
                size_t n = cut;
                if (m < sizeof subst) {     /* mutate byte `cut`, keep the whole text */
                    if (cut == len)
                        continue;
                    buf[cut] = subst[m];
                    n = len;
                }
                struct scenario *s = NULL;
                struct hv_diag d;
                int rc = scenario_parse(&s, PATH, buf, n, &d);
                runs++;
                if (rc == 0) {
                    CU_ASSERT_PTR_NOT_NULL(s);
                    scenario_destroy(s);
                } else if (rc != HV_ESCENARIO || s || d.line < 1 || d.col < 1 || !d.msg[0]) {
                    bad++;
                }
            }
        }
        free(buf);
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT(runs > 1000);
    for (size_t f = 0; f < sizeof fuzz_seeds / sizeof fuzz_seeds[0]; f++) {
        struct scenario *s = parse_ok(fuzz_seeds[f]);
        scenario_destroy(s);
    }
}

/* The --set keys that are not knobs (scenario_set), one row each, from scenario.h's rules. */
static void test_set_special(void)
{
    static const char text[] = HDR "quantum: 100\nsteps:\n"
                                   "  - at: {seq: [10, 20]}\n    do: migrate\n"
                                   "    args: {round_insns: 100}\n"
                                   "  - at: {sync: 3}\n    do: x\n";
    enum { Q, L, E, S0, S0HI, S1, ARG, NCFG };
    static const struct {
        const char *kv;
        int rc;
        int what;           /* which value the row checks */
        uint64_t want;
    } rows[] = {
        { "quantum=5", 0, Q, 5 },
        { "quantum=0", HV_EINVAL, Q, 100 },
        { "quantum=x", HV_EINVAL, Q, 100 },
        { "limit=77", 0, L, 77 },
        { "explore=1", 0, E, 1 },
        { "explore=2", HV_EINVAL, E, 0 },
        { "steps.0.at.seq=15", 0, S0, 15 },
        { "steps.0.at.seq=15", 0, S0HI, 0 },
        { "steps.0.at.sync=15", HV_EINVAL, S0, 10 },
        { "steps.1.at.sync=4", 0, S1, 4 },
        { "steps.2.at.sync=4", HV_EINVAL, S1, 3 },
        { "steps.x.at.seq=1", HV_EINVAL, S0, 10 },
        { "steps.0.args.round_insns=900", 0, ARG, 900 },
        { "steps.0.args.nope=1", HV_EINVAL, ARG, 100 },
        { "steps.1.args.x=1", HV_EINVAL, S1, 3 },
        { "steps.0.when=1", HV_EINVAL, S0, 10 },
        { "kvm.max_slots=3", 0, NCFG, 1 },
    };
    for (size_t i = 0; i < TEST_N(rows); i++) {
        struct scenario *sc = parse_ok(text);
        CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
        int rc = scenario_set(sc, rows[i].kv);
        uint64_t v = 0;
        switch (rows[i].what) {
        case Q: v = sc->quantum; break;
        case L: v = sc->limit; break;
        case E: v = sc->explore_mode; break;
        case S0: v = sc->steps[0].value; break;
        case S0HI: v = sc->steps[0].value_hi; break;
        case S1: v = sc->steps[1].value; break;
        case ARG: v = strtoull(hv_node_get(sc->steps[0].args, "round_insns")->str, NULL, 0); break;
        case NCFG: v = sc->nconfig; break;
        }
        TEST_CHECK(rc == rows[i].rc && v == rows[i].want,
                   "--set %s: rc %d (want %d), value %llu (want %llu)", rows[i].kv, rc,
                   rows[i].rc, (unsigned long long)v, (unsigned long long)rows[i].want);
        scenario_destroy(sc);
    }
}

/* `explore: {keep, runs}`: which failed expectations fail the run (scenario_keeps). */
static void test_explore_keep(void)
{
    struct scenario *sc = parse_ok(HDR "expect:\n  outcome: done\n  events: {sched: 3}\n"
                                       "explore:\n  keep: [outcome, events.sched]\n"
                                       "  runs: 50\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    CU_ASSERT_EQUAL(sc->explore_runs, 50);
    static const struct {
        const char *what;
        bool kept;      /* with explore_mode on; off, everything is kept */
    } rows[] = {
        { "outcome", true },         { "events.sched", true },  { "events.schedx", false },
        { "events.vcpu_state", false }, { "vcpus.0", false },   { "steps.1", false },
        { "memory[0x1000]", false },
    };
    for (int mode = 0; mode < 2; mode++) {
        sc->explore_mode = mode;
        for (size_t i = 0; i < TEST_N(rows); i++)
            TEST_CHECK(scenario_keeps(sc, rows[i].what) == (!mode || rows[i].kept),
                       "explore_mode %d: %s", mode, rows[i].what);
    }
    scenario_destroy(sc);

    static const struct {
        const char *yaml;
        int line, col;
        const char *msg;
    } bad[] = {
        { HDR "explore:\n  keep: [bogus]\n", 7, 10, "'keep': 'bogus' names no expectation" },
        { HDR "explore:\n  keep: [steps]\n", 7, 10, "'keep': 'steps' names no expectation" },
        { HDR "explore:\n  keep: outcome\n", 7, 9, "expected a sequence" },
        { HDR "explore:\n  runs: 0\n", 7, 9, "'runs'" },
        { HDR "explore:\n  run: 3\n", 7, 3, "unknown key 'run' in explore" },
    };
    for (size_t i = 0; i < TEST_N(bad); i++) {
        struct scenario *s2 = NULL;
        struct hv_diag d;
        int rc = parse(&s2, bad[i].yaml, &d);
        TEST_CHECK(rc == HV_ESCENARIO && d.line == bad[i].line && d.col == bad[i].col &&
                       strstr(d.msg, bad[i].msg),
                   "row %zu: rc %d at %d:%d: %s", i, rc, d.line, d.col, d.msg);
        scenario_destroy(s2);
    }
}

void test_scenario_register(void)
{
    CU_pSuite s = CU_add_suite("scenario", NULL, NULL);
    CU_add_test(s, "bad inputs", test_bad_inputs);
    CU_add_test(s, "too deep", test_too_deep);
    CU_add_test(s, "too wide", test_too_wide);
    CU_add_test(s, "defaults", test_defaults);
    CU_add_test(s, "all keys", test_all_keys);
    CU_add_test(s, "config and --set", test_config);
    CU_add_test(s, "steps", test_steps);
    CU_add_test(s, "paths", test_paths);
    CU_add_test(s, "load", test_load);
    CU_add_test(s, "diag format", test_diag_format);
    CU_add_test(s, "node reads", test_node_reads);
    CU_add_test(s, "node shapes", test_node_shapes);
    CU_add_test(s, "fuzz sweep", test_fuzz_sweep);
    CU_add_test(s, "--set keys that are not knobs", test_set_special);
    CU_add_test(s, "explore keep and runs", test_explore_keep);
}
