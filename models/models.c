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
