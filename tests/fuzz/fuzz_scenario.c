/*
 * fuzz_scenario.c - libFuzzer harness: YAML text -> scenario_parse() -> runner_check(), the
 * path every scenario file takes before anything is built or run. A hostile file must end in
 * a located error (file:line:column), never a crash, a leak or undefined behaviour; a file
 * that passes also goes through what `hvsim run` derives from it (the effective config and
 * its JSON for run_info).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runner/runner.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct scenario *sc = NULL;
    struct hv_diag d;
    memset(&d, 0, sizeof d);
    /* the parser alone, at a path of its own: every refusal must be located */
    if (scenario_parse(&sc, "fuzz.yaml", (const char *)data, size, &d)) {
        if (!d.file[0] || !d.msg[0])
            abort();
        return 0;
    }
    scenario_destroy(sc);
    /* then as a bundled scenario, checked against the model's vocabulary */
    if (!(sc = fuzz_scenario((const char *)data, size)))
        return 0;
    struct hv_kv *kv = runner_config(sc);
    char *json = runner_config_json(sc);
    free(kv);
    free(json);
    scenario_destroy(sc);
    return 0;
}
