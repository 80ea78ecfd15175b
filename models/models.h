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
/*
 * Guest memory of total bytes against the budget of c (run.max_memory, docs/limits.md): an
 * error located at `at` (the size that crosses it; NULL: the knob) if total exceeds it.
 */
int hv_model_memory_budget(const struct hv_check_ctx *c, const struct hv_node *at,
                           uint64_t total, struct hv_diag *d);

/*
 * Knob readers, for a model's check_config and its vm_init alike, so a value is parsed in one
 * place and refused at check time, located. Each reads key's effective value in c
 * (hv_config_lookup) and returns 0, or HV_ESCENARIO with d at the value as written (for
 * --set, the option): "'kvm.vendor': expected intel or amd, got 'arm'".
 *   hv_model_knob_word: the value is one of words (NULL-terminated); *index is its position.
 *   hv_model_knob_bool: "0" or "1".
 *   hv_model_knob_u64: an integer in [min, max], written as hv_node_u64 reads one (decimal,
 *     0x hex, 0b binary, `_` between digits).
 */
int hv_model_knob_word(const struct hv_check_ctx *c, const char *key, const char *const *words,
                       unsigned *index, struct hv_diag *d);
int hv_model_knob_bool(const struct hv_check_ctx *c, const char *key, bool *out,
                       struct hv_diag *d);
int hv_model_knob_u64(const struct hv_check_ctx *c, const char *key, uint64_t min, uint64_t max,
                      uint64_t *out, struct hv_diag *d);
/* The value of key and where it was written (NULL for a default), for a model's own rule. */
const char *hv_model_knob(const struct hv_check_ctx *c, const char *key,
                          const struct hv_node **where);

#endif
