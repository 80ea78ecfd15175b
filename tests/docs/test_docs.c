/*
 * test_docs.c - the documentation's scenario examples work as written, and the bundled
 * scenarios follow the naming rule docs/scenario-format.md states.
 *
 * Every ```yaml block of the pages in docs/ and docs/models/ is either a complete scenario (it has
 * name, model and guest at the top level: its guest, a bundled one named by file name, is
 * built and the scenario runs; every expectation must hold) or a fragment, checked as a
 * scenario would be (scenario_parse, then runner_check: the model's own checks included)
 * after merging it into a minimal scenario of the page's model: its top-level keys replace
 * the minimal scenario's, and a fragment that is a list item is a step.
 */
#include <CUnit/CUnit.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runner/guestbuild.h"
#include "runner/runner.h"
#include "tests/test_util.h"

void test_docs_register(void);

#define SRC HVSIM_SOURCE_DIR
static const char *const groups[] = { "kvm", "xen", "none", "migration", NULL };

/* SRC/scenarios/GROUP/name for the first group that has it, in path; false if none. */
static bool find_guest(const char *name, char *path, size_t size)
{
    for (size_t g = 0; groups[g]; g++) {
        struct stat st;
        snprintf(path, size, "%s/scenarios/%s/%s", SRC, groups[g], name);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
            return true;
    }
    return false;
}

/* The top-level key of a line ("" if it has none), in key. */
static void top_key(const char *line, size_t len, char *key, size_t size)
{
    key[0] = '\0';
    if (!len || line[0] == ' ' || line[0] == '#' || line[0] == '-')
        return;
    const char *colon = memchr(line, ':', len);
    if (colon && (size_t)(colon - line) < size)
        snprintf(key, size, "%.*s", (int)(colon - line), line);
}

/* Whether the block sets top-level key. */
static bool has_key(const char *block, const char *key)
{
    char k[64];
    for (const char *p = block; *p;) {
        size_t len = strcspn(p, "\n");
        top_key(p, len, k, sizeof k);
        if (strcmp(k, key) == 0)
            return true;
        p += len + (p[len] == '\n');
    }
    return false;
}

/* A complete example: its guest line rewritten to the bundled guest's path. */
static void run_complete(const char *doc, int line, const char *block)
{
    size_t cap = strlen(block) + 1024;
    char *text = malloc(cap), path[1024];
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    size_t l = 0;
    bool found = true;
    for (const char *p = block; *p;) {
        size_t len = strcspn(p, "\n");
        char k[64], name[256];
        top_key(p, len, k, sizeof k);
        if (strcmp(k, "guest") == 0 && sscanf(p, "guest: %255s", name) == 1) {
            found = find_guest(name, path, sizeof path);
            l += (size_t)snprintf(text + l, cap - l, "guest: %s\n", path);
        } else {
            l += (size_t)snprintf(text + l, cap - l, "%.*s\n", (int)len, p);
        }
        p += len + (p[len] == '\n');
    }
    TEST_CHECK(found, "%s:%d: the example's guest is not a bundled one", doc, line);
    struct scenario *sc = NULL;
    struct hv_diag d;
    char msg[1200], log[8192], elfpath[] = "/tmp/hvsim-doc-guest-XXXXXX";
    int err = scenario_parse(&sc, doc, text, l, &d);
    if (!err)
        err = runner_check(sc, &d);
    if (err) {
        hv_diag_format(&d, msg, sizeof msg);
        TEST_CHECK(false, "%s:%d: the example is refused: %s", doc, line, msg);
        goto out;
    }
    int fd = mkstemp(elfpath);
    if (fd >= 0)
        close(fd);
    err = guest_build(sc->arch, sc->guest_path, elfpath, log, sizeof log);
    TEST_CHECK(err == 0, "%s:%d: building the guest: %.300s", doc, line, log);
    size_t elf_len = 0;
    char *elf = err ? NULL : test_read_file(elfpath, &elf_len);
    if (elf) {
        struct runner_result res;
        err = runner_execute(sc, elf, elf_len, NULL, NULL, NULL, &res);
        TEST_CHECK(err == 0 && res.expect_ok, "%s:%d: the example ran with %s; expectations "
                   "%s; %s", doc, line, hv_strerror(err), res.expect_ok ? "held" : "FAILED",
                   res.summary);
    }
    free(elf);
    unlink(elfpath);
out:
    scenario_destroy(sc);
    free(text);
}

/* A fragment, merged into a minimal scenario of model and checked. */
static void check_fragment(const char *doc, int line, const char *block, const char *model)
{
    char guest[1024];
    find_guest(strcmp(model, "none") == 0 ? "spinlock.c" : strcmp(model, "xen") == 0
                                                               ? "console.c" : "move.c",
               guest, sizeof guest);
    char base[1400];
    snprintf(base, sizeof base,
             "name: doc-example\ndescription: an example of the documentation\nmodel: %s\n"
             "arch: x86_64\nvcpus: 2\nguest: %s\n", model, guest);
    size_t cap = strlen(base) + strlen(block) + 16;
    char *text = malloc(cap);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    size_t l = 0;
    for (const char *p = base; *p;) {
        size_t len = strcspn(p, "\n");
        char k[64];
        top_key(p, len, k, sizeof k);
        if (!has_key(block, k))
            l += (size_t)snprintf(text + l, cap - l, "%.*s\n", (int)len, p);
        p += len + 1;
    }
    const char *first = block + strspn(block, " \n");
    if (*first == '-')
        l += (size_t)snprintf(text + l, cap - l, "steps:\n");
    l += (size_t)snprintf(text + l, cap - l, "%s", block);
    struct scenario *sc = NULL;
    struct hv_diag d;
    char msg[1200];
    int err = scenario_parse(&sc, doc, text, l, &d);
    if (!err)
        err = runner_check(sc, &d);
    hv_diag_format(&d, msg, sizeof msg);
    TEST_CHECK(err == 0, "%s:%d: the example is refused (as part of a %s scenario): %s", doc,
               line, model, msg);
    scenario_destroy(sc);
    free(text);
}

/* Every ```yaml block of SRC/rel; returns how many. */
static int check_doc(const char *rel, const char *model)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", SRC, rel);
    size_t doclen;
    char *doc = test_read_file(path, &doclen);
    TEST_CHECK(doc != NULL, "cannot read %s", path);
    if (!doc)
        return 0;
    int n = 0, lineno = 0, start = 0;
    char *block = NULL;
    size_t blen = 0;
    for (char *p = doc; *p;) {
        size_t len = strcspn(p, "\n");
        lineno++;
        if (!block && len == 7 && strncmp(p, "```yaml", 7) == 0) {
            block = calloc(1, strlen(doc) + 1);
            blen = 0;
            start = lineno;
        } else if (block && len >= 3 && strncmp(p, "```", 3) == 0) {
            if (has_key(block, "name") && has_key(block, "model") && has_key(block, "guest"))
                run_complete(rel, start, block);
            else
                check_fragment(rel, start, block, model);
            free(block);
            block = NULL;
            n++;
        } else if (block) {
            memcpy(block + blen, p, len);
            blen += len;
            block[blen++] = '\n';
        }
        p += len + (p[len] == '\n');
    }
    TEST_CHECK(block == NULL, "%s: a ```yaml block is not closed", rel);
    free(block);
    free(doc);
    return n;
}

static void test_examples(void)
{
    static const struct {
        const char *doc;
        const char *model;   /* of the minimal scenario fragments are merged into */
    } docs[] = {
        { "docs/scenario-format.md", "kvm" }, { "docs/migration.md", "kvm" },
        { "docs/models/kvm.md", "kvm" },      { "docs/models/xen.md", "xen" },
        { "docs/models/none.md", "none" },    { "docs/architecture.md", "kvm" },
        { "docs/trace-format.md", "kvm" },    { "docs/determinism.md", "kvm" },
        { "docs/sources.md", "kvm" },
    };
    int n = 0;
    for (size_t i = 0; i < TEST_N(docs); i++)
        n += check_doc(docs[i].doc, docs[i].model);
    CU_ASSERT(n >= 20);
}

/*
 * scenarios/GROUP/THING-ARCH.yaml is named GROUP-THING-ARCH, or THING-ARCH in group none
 * (docs/scenario-format.md, `name`).
 */
static void test_scenario_names(void)
{
    int n = 0;
    for (size_t g = 0; groups[g]; g++) {
        char dir[1024];
        snprintf(dir, sizeof dir, "%s/scenarios/%s", SRC, groups[g]);
        DIR *dp = opendir(dir);
        TEST_CHECK(dp != NULL, "cannot open %s", dir);
        if (!dp)
            continue;
        struct dirent *e;
        while ((e = readdir(dp))) {
            size_t len = strlen(e->d_name);
            if (len < 6 || strcmp(e->d_name + len - 5, ".yaml") != 0)
                continue;
            char path[2048], want[512], suffix[32];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            struct scenario *sc = NULL;
            struct hv_diag d;
            if (scenario_load(&sc, path, &d)) {
                TEST_CHECK(false, "%s: %s", path, d.msg);
                continue;
            }
            int stem = (int)len - 5;
            if (strcmp(groups[g], "none") == 0)
                snprintf(want, sizeof want, "%.*s", stem, e->d_name);
            else
                snprintf(want, sizeof want, "%s-%.*s", groups[g], stem, e->d_name);
            snprintf(suffix, sizeof suffix, "-%s", hv_arch_name(sc->arch));
            size_t sl = strlen(suffix);
            TEST_CHECK(strcmp(sc->name, want) == 0, "%s: named '%s', expected '%s'", path,
                       sc->name, want);
            TEST_CHECK((size_t)stem > sl && strncmp(e->d_name + stem - sl, suffix, sl) == 0,
                       "%s: the file name does not end with '%s' (its arch)", path, suffix);
            scenario_destroy(sc);
            n++;
        }
        closedir(dp);
    }
    CU_ASSERT(n > 50);
}

void test_docs_register(void)
{
    CU_pSuite s = CU_add_suite("docs", NULL, NULL);
    CU_add_test(s, "yaml examples", test_examples);
    CU_add_test(s, "bundled scenario names", test_scenario_names);
}
