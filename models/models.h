/* models.h - the models compiled into hvsim. */
#ifndef HV_MODELS_H
#define HV_MODELS_H

#include "sim/model.h"

extern const struct hv_model_ops hv_model_none;
extern const struct hv_model_ops hv_model_kvm;
extern const struct hv_model_ops hv_model_xen;

#endif
