/* models.c - the registry of models, by name. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "models/models.h"

static const struct hv_model_ops *const all_models[] = { &hv_model_none, &hv_model_kvm, &hv_model_xen, NULL };

const struct hv_model_ops *const *hv_model_list(void)
{
    return all_models;
}

const struct hv_model_ops *hv_model_lookup(const char *name)
{
    for (size_t i = 0; all_models[i]; i++)
        if (strcmp(all_models[i]->name, name) == 0)
            return all_models[i];
    return NULL;
}

int hv_model_parse_ram(const struct hv_node *mem, uint64_t *base, uint64_t *size,
                       struct hv_diag *d)
{
    static const char *const keys[] = { "size", "base", NULL };
    if (!mem)
        return 0;
    int err = hv_node_expect(mem, HV_NODE_MAP, "memory", d);
    if (!err)
        err = hv_node_check_keys(mem, keys, "memory", d);
    const struct hv_node *n;
    if (!err && (n = hv_node_get(mem, "size"))) {
        err = hv_node_u64(n, "memory.size", size, d);
        if (!err && (*size == 0 || *size % 4096 || *size > (1ULL << 32)))
            err = hv_diag_at(d, n, "'memory.size': must be a non-zero multiple of 4096 "
                                   "up to 4 GiB");
    }
    if (!err && (n = hv_node_get(mem, "base"))) {
        err = hv_node_u64(n, "memory.base", base, d);
        if (!err && (*base % 4096 || *base >= (1ULL << 40)))
            err = hv_diag_at(d, n, "'memory.base': a multiple of 4096 below 1 TiB");
    }
    return err;
}

int hv_model_memory_budget(const struct hv_check_ctx *c, const struct hv_node *at,
                           uint64_t total, struct hv_diag *d)
{
    if (!c->max_memory || total <= c->max_memory)
        return 0;
    const struct hv_node *knob = NULL;
    for (size_t i = 0; i < c->nconfig; i++)
        if (strcmp(c->config[i].key, "run.max_memory") == 0)
            knob = c->config[i].node;
    return hv_diag_at(d, at ? at : knob, "%" PRIu64 " bytes of guest memory exceed the memory "
                      "budget of %" PRIu64 " bytes (run.max_memory; raise it with --set "
                      "run.max_memory=BYTES)", total, c->max_memory);
}

const char *hv_model_knob(const struct hv_check_ctx *c, const char *key,
                          const struct hv_node **where)
{
    return hv_config_lookup(c->model, c->config, c->nconfig, key, where);
}

int hv_model_knob_word(const struct hv_check_ctx *c, const char *key, const char *const *words,
                       unsigned *index, struct hv_diag *d)
{
    const struct hv_node *at;
    const char *s = hv_model_knob(c, key, &at);
    for (unsigned i = 0; s && words[i]; i++) {
        if (strcmp(s, words[i]) == 0) {
            *index = i;
            return 0;
        }
    }
    /* "a, b or c" */
    char list[160];
    size_t l = 0;
    list[0] = '\0';
    for (unsigned i = 0; words[i] && l < sizeof list; i++)
        l += (size_t)snprintf(list + l, sizeof list - l, "%s%s",
                              i == 0 ? "" : words[i + 1] ? ", " : " or ", words[i]);
    const char *close = s ? hv_suggest(s, words) : NULL;
    return hv_diag_at(d, at, "'%s': expected %s, got '%s'%s%s%s", key, list, s ? s : "",
                      close ? " (did you mean '" : "", close ? close : "", close ? "'?)" : "");
}

int hv_model_knob_bool(const struct hv_check_ctx *c, const char *key, bool *out,
                       struct hv_diag *d)
{
    static const char *const words[] = { "0", "1", NULL };
    unsigned i = 0;
    int err = hv_model_knob_word(c, key, words, &i, d);
    *out = i == 1;
    return err;
}

int hv_model_knob_u64(const struct hv_check_ctx *c, const char *key, uint64_t min, uint64_t max,
                      uint64_t *out, struct hv_diag *d)
{
    const struct hv_node *at;
    const char *s = hv_model_knob(c, key, &at);
    struct hv_node n = { .type = HV_NODE_SCALAR, .str = (char *)(s ? s : "") };
    if (hv_node_u64(&n, key, out, NULL) || *out < min || *out > max)
        return hv_diag_at(d, at, "'%s': expected an integer from %" PRIu64 " to %" PRIu64
                          ", got '%s'", key, min, max, s ? s : "");
    return 0;
}
