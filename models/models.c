/* models.c - the registry of models, by name. */
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
