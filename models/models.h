/* models.h - the models compiled into hvsim. */
#ifndef HV_MODELS_H
#define HV_MODELS_H

#include "sim/model.h"

extern const struct hv_model_ops hv_model_none;
extern const struct hv_model_ops hv_model_kvm;
extern const struct hv_model_ops hv_model_xen;

/*
 * The one-region `memory` section of models none and xen: { size: BYTES, base: GPA }. *base
 * and *size hold the defaults on entry and are overwritten by what the section gives: size a
 * non-zero multiple of 4096 up to 4 GiB, base a multiple of 4096 below 1 TiB. A NULL section
 * keeps the defaults. Errors are located through d.
 */
int hv_model_parse_ram(const struct hv_node *mem, uint64_t *base, uint64_t *size,
                       struct hv_diag *d);

#endif
