/* strtab.c - the trace's string table: texts by id, and an index from text to id. */
#include "trace/strtab.h"

#include <stdlib.h>
#include <string.h>

#include "sim/hv_err.h"

/* FNV-1a: the index only needs a spread, and the ids never depend on it. */
static uint64_t strtab_hash(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3u;
    return h;
}

void strtab_init(struct strtab *t)
{
    memset(t, 0, sizeof *t);
}

void strtab_fini(struct strtab *t)
{
    for (size_t i = 0; i < t->count; i++)
        free(t->strs[i].text);
    free(t->strs);
    free(t->slots);
    memset(t, 0, sizeof *t);
}

static int64_t strtab_lookup(const struct strtab *t, const char *s, size_t n, uint64_t h)
{
    if (!t->nslots)
        return -1;
    size_t mask = t->nslots - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        int64_t id = t->slots[i];
        if (id < 0)
            return -1;
        const struct strtab_str *e = &t->strs[id];
        if (e->hash == h && e->len == n && memcmp(e->text, s, n) == 0)
            return id;
    }
}

int64_t strtab_find(const struct strtab *t, const char *s, size_t n)
{
    return strtab_lookup(t, s, n, strtab_hash(s, n));
}

static void strtab_place(int64_t *slots, size_t nslots, uint64_t h, int64_t id)
{
    size_t mask = nslots - 1;
    size_t i = (size_t)h & mask;
    while (slots[i] >= 0)
        i = (i + 1) & mask;
    slots[i] = id;
}

/* Doubles the index (invariant 2: at most half full after the next add). */
static int strtab_grow_index(struct strtab *t)
{
    size_t n = t->nslots ? t->nslots * 2 : 64;
    int64_t *slots = malloc(n * sizeof *slots);
    if (!slots)
        return HV_ENOMEM;
    for (size_t i = 0; i < n; i++)
        slots[i] = -1;
    for (size_t id = 0; id < t->count; id++)
        strtab_place(slots, n, t->strs[id].hash, (int64_t)id);
    free(t->slots);
    t->slots = slots;
    t->nslots = n;
    return 0;
}

int64_t strtab_add(struct strtab *t, const char *s, size_t n)
{
    if (t->count == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        struct strtab_str *strs = realloc(t->strs, cap * sizeof *strs);
        if (!strs)
            return HV_ENOMEM;
        t->strs = strs;
        t->cap = cap;
    }
    if ((t->count + 1) * 2 > t->nslots && strtab_grow_index(t))
        return HV_ENOMEM;
    char *text = malloc(n + 1);
    if (!text)
        return HV_ENOMEM;
    memcpy(text, s, n);
    text[n] = 0;
    uint64_t h = strtab_hash(s, n);
    int64_t id = (int64_t)t->count;
    t->strs[t->count++] = (struct strtab_str){ text, n, h };
    strtab_place(t->slots, t->nslots, h, id);
    return id;
}

const char *strtab_get(const struct strtab *t, int64_t id, size_t *len)
{
    if (id < 0 || (uint64_t)id >= t->count)
        return NULL;
    *len = t->strs[id].len;
    return t->strs[id].text;
}

bool strtab_check(const struct strtab *t)
{
    if (t->count > t->cap || (t->count && (!t->strs || t->count * 2 > t->nslots)))
        return false;
    size_t used = 0;
    for (size_t i = 0; i < t->nslots; i++)
        used += t->slots[i] >= 0;
    if (used != t->count)
        return false;
    for (size_t id = 0; id < t->count; id++)
        if (strtab_find(t, t->strs[id].text, t->strs[id].len) != (int64_t)id)
            return false;
    return true;
}
