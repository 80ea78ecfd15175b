/*
 * test_bugs.c - the bug zoo (models/bugs.def) is complete and true: every knob of the model
 * knob tables whose name holds ".bug." has a row, every row names a knob of the model its
 * scenario uses, the scenario exists, a bugknob.<knob> ctest checks the row's scenario with
 * the row's values (scripts/check-bug-knob.sh), and docs/bug-zoo.md has a section per row.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/bugs.h"
#include "models/models.h"
#include "tests/test_util.h"

void test_bugs_register(void);

/* The model whose knob table has key, and the knob; NULL when no model has it. */
static const struct hv_knob *find_knob(const char *key, const struct hv_model_ops **model)
{
    const struct hv_model_ops *const *m = hv_model_list();
    for (size_t i = 0; m[i]; i++)
        for (const struct hv_knob *k = m[i]->knobs; k && k->key; k++)
            if (strcmp(k->key, key) == 0) {
                *model = m[i];
                return k;
            }
    return NULL;
}

static const struct hv_bug *find_row(const char *knob)
{
    size_t n;
    const struct hv_bug *b = hv_bugs(&n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(b[i].knob, knob) == 0)
            return &b[i];
    return NULL;
}

/* Every ".bug." knob of every model has a row, whose good value is the knob's default. */
static void test_bug_knobs_have_rows(void)
{
    const struct hv_model_ops *const *m = hv_model_list();
    unsigned seen = 0;
    for (size_t i = 0; m[i]; i++)
        for (const struct hv_knob *k = m[i]->knobs; k && k->key; k++) {
            if (!strstr(k->key, ".bug."))
                continue;
            seen++;
            const struct hv_bug *b = find_row(k->key);
            TEST_CHECK(b != NULL, "bug knob %s of model %s has no row in models/bugs.def",
                       k->key, m[i]->name);
            if (b)
                TEST_CHECK(strcmp(b->good, k->def) == 0,
                           "%s: the row's good value %s is not the default %s", k->key,
                           b->good, k->def);
        }
    TEST_CHECK(seen > 0, "no knob named *.bug.* in the model knob tables");
}

/* Each row: a knob of the model its scenario runs, a bad value other than the good one, an
 * existing scenario, one-line class and every field filled, and no knob twice. */
static void test_rows(void)
{
    size_t n;
    const struct hv_bug *b = hv_bugs(&n);
    TEST_CHECK(n > 0, "models/bugs.def has no row");
    for (size_t i = 0; i < n; i++) {
        const char *f[] = { b[i].knob, b[i].bad, b[i].good, b[i].scenario, b[i].bug_class,
                            b[i].source, b[i].command, b[i].fix };
        for (size_t j = 0; j < TEST_N(f); j++)
            TEST_CHECK(f[j][0] != '\0' && !strchr(f[j], '\n'),
                       "%s: field %zu is empty or more than one line", b[i].knob, j + 1);
        TEST_CHECK(strcmp(b[i].bad, b[i].good) != 0, "%s: bad and good value are both %s",
                   b[i].knob, b[i].bad);
        TEST_CHECK(find_row(b[i].knob) == &b[i], "%s: more than one row", b[i].knob);
        TEST_CHECK(strstr(b[i].command, "hvsim ") == b[i].command,
                   "%s: the command is not an hvsim command: %s", b[i].knob, b[i].command);
        const struct hv_model_ops *model = NULL;
        const struct hv_knob *k = find_knob(b[i].knob, &model);
        TEST_CHECK(k != NULL, "%s: no model has this knob", b[i].knob);
        char path[512];
        snprintf(path, sizeof path, "%s/scenarios/%s", HVSIM_SOURCE_DIR, b[i].scenario);
        size_t ylen;
        char *yaml = test_read_file(path, &ylen);
        TEST_CHECK(yaml != NULL, "%s: scenario %s does not exist", b[i].knob, path);
        if (yaml && k) {
            char want[64];
            snprintf(want, sizeof want, "\nmodel: %s\n", model->name);
            TEST_CHECK(strstr(yaml, want) != NULL, "%s: scenario %s is not a %s scenario",
                       b[i].knob, b[i].scenario, model->name);
        }
        free(yaml);
    }
}

/* Each row is the bugknob.<knob> ctest of scenarios/CMakeLists.txt, with the row's scenario
 * and values, and there is no other bugknob.* test. */
static void test_bugknob_ctests(void)
{
    size_t clen;
    char *ctest = test_read_file(HVSIM_BINARY_DIR "/scenarios/CTestTestfile.cmake", &clen);
    TEST_CHECK(ctest != NULL, "no %s/scenarios/CTestTestfile.cmake", HVSIM_BINARY_DIR);
    if (!ctest)
        return;
    size_t n;
    const struct hv_bug *b = hv_bugs(&n);
    for (size_t i = 0; i < n; i++) {
        char head[256], args[512], *at, *eol;
        snprintf(head, sizeof head, "\nadd_test([=[bugknob.%s]=] ", b[i].knob);
        snprintf(args, sizeof args, "/scenarios/%s\" \"%s\" ", b[i].scenario, b[i].knob);
        char tail[128];
        snprintf(tail, sizeof tail, "\"%s\" \"%s\")", b[i].bad, b[i].good);
        at = strstr(ctest, head);
        TEST_CHECK(at != NULL, "%s: no bugknob.%s ctest", b[i].knob, b[i].knob);
        if (!at)
            continue;
        eol = strchr(at + 1, '\n');
        size_t len = eol ? (size_t)(eol - at) : strlen(at);
        char *line = strndup(at, len);
        TEST_CHECK(line && strstr(line, args) && len > strlen(tail) &&
                       strcmp(line + len - strlen(tail), tail) == 0,
                   "%s: bugknob.%s does not run %s with %s", b[i].knob, b[i].knob,
                   b[i].scenario, tail);
        free(line);
    }
    size_t tests = 0;
    for (const char *p = ctest; (p = strstr(p, "\nadd_test([=[bugknob.")); p++)
        tests++;
    TEST_CHECK(tests == n, "%zu bugknob.* ctests for %zu rows of models/bugs.def", tests, n);
    free(ctest);
}

/* docs/bug-zoo.md: one "## `knob`" section per row, and no other knob section. */
static void test_doc_sections(void)
{
    size_t dlen;
    char *doc = test_read_file(HVSIM_SOURCE_DIR "/docs/bug-zoo.md", &dlen);
    TEST_CHECK(doc != NULL, "no docs/bug-zoo.md");
    if (!doc)
        return;
    size_t n;
    const struct hv_bug *b = hv_bugs(&n);
    for (size_t i = 0; i < n; i++) {
        char head[160];
        snprintf(head, sizeof head, "\n## `%s`", b[i].knob);
        const char *at = strstr(doc, head);
        TEST_CHECK(at != NULL && (at[strlen(head)] == '\n' || at[strlen(head)] == ' '),
                   "docs/bug-zoo.md has no section \"## `%s`\"", b[i].knob);
        TEST_CHECK(!at || !strstr(at + 1, head), "docs/bug-zoo.md: two sections for %s",
                   b[i].knob);
    }
    size_t sections = 0;
    for (const char *p = doc; (p = strstr(p, "\n## `")); p++)
        sections++;
    TEST_CHECK(sections == n, "docs/bug-zoo.md has %zu knob sections for %zu rows", sections, n);
    free(doc);
}

void test_bugs_register(void)
{
    CU_pSuite s = CU_add_suite("bugs", NULL, NULL);
    CU_add_test(s, "every .bug. knob has a row", test_bug_knobs_have_rows);
    CU_add_test(s, "rows name real knobs and scenarios", test_rows);
    CU_add_test(s, "every row is a bugknob ctest", test_bugknob_ctests);
    CU_add_test(s, "docs/bug-zoo.md has a section per row", test_doc_sections);
}
