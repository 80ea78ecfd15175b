/*
 * test_strtab.c - the trace's string table (trace/strtab.c): ids in first-seen order, lookups
 * by text (texts that share a prefix, embedded NULs, the empty text), growth of the index past
 * many resizes, and out-of-range ids.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>

#include "tests/test_util.h"
#include "trace/strtab.h"

void test_strtab_register(void);

static void test_ids_and_lookups(void)
{
    static const struct {
        const char *text;
        size_t len;
        int64_t id;       /* the id it must get (or have, when it is already there) */
    } rows[] = {
        { "\"vmcall\"", 8, 0 }, { "\"none\"", 6, 1 }, { "\"vmcall\"", 8, 0 },
        { "\"vmcal\"", 7, 2 },  { "", 0, 3 },         { "a\0b", 3, 4 },
        { "a\0c", 3, 5 },       { "a", 1, 6 },        { "\"none\"", 6, 1 },
    };
    struct strtab t;
    strtab_init(&t);
    CU_ASSERT_EQUAL(strtab_find(&t, "x", 1), -1);
    for (size_t i = 0; i < TEST_N(rows); i++) {
        int64_t id = strtab_find(&t, rows[i].text, rows[i].len);
        if (id < 0)
            id = strtab_add(&t, rows[i].text, rows[i].len);
        TEST_CHECK(id == rows[i].id, "row %zu: id %lld, expected %lld", i, (long long)id,
                   (long long)rows[i].id);
        size_t len = 99;
        const char *s = strtab_get(&t, id, &len);
        TEST_CHECK(s && len == rows[i].len && memcmp(s, rows[i].text, len) == 0 && !s[len],
                   "row %zu: text of id %lld", i, (long long)id);
    }
    CU_ASSERT(strtab_check(&t));
    size_t len;
    CU_ASSERT_PTR_NULL(strtab_get(&t, -1, &len));
    CU_ASSERT_PTR_NULL(strtab_get(&t, 7, &len));
    strtab_fini(&t);
}

static void test_growth(void)
{
    struct strtab t;
    strtab_init(&t);
    char text[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(text, sizeof text, "\"s%d\"", i);
        CU_ASSERT_EQUAL_FATAL(strtab_add(&t, text, strlen(text)), i);
    }
    CU_ASSERT(strtab_check(&t));
    for (int i = 4999; i >= 0; i -= 7) {
        snprintf(text, sizeof text, "\"s%d\"", i);
        TEST_CHECK(strtab_find(&t, text, strlen(text)) == i, "\"s%d\" lost", i);
    }
    CU_ASSERT_EQUAL(strtab_find(&t, "\"s5000\"", 7), -1);
    strtab_fini(&t);
    strtab_fini(&t);   /* twice: a finished table is empty */
}

void test_strtab_register(void)
{
    CU_pSuite s = CU_add_suite("strtab", NULL, NULL);
    CU_add_test(s, "ids and lookups", test_ids_and_lookups);
    CU_add_test(s, "growth", test_growth);
}
