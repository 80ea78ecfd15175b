/*
 * fuzz_steps.c - libFuzzer harness: the step-argument handling of every model and of the
 * runner. The input is a scenario; one the checks accept (scenario_parse(), runner_check())
 * runs through runner_execute() as `hvsim run` runs it, with a guest that only loops
 * (fuzz_image()) and a small instruction budget, so its steps at start (and at a sync,
 * moved to the start), at an icount or seq, and at end (core mem_write / mem_read / reg_read / reg_write, migrate, and the model's own:
 * KVM's set_memory_region, dirty log, dirty ring, capabilities, SMCCC filter, vm_info,
 * xinterface) meet hostile argument nodes after the checks that guard them. A checked step
 * must give its modeled result, never a crash or undefined behaviour.
 */
#include <stdint.h>
#include <stdlib.h>

#include "runner/runner.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct scenario *sc = fuzz_scenario((const char *)data, size);
    if (!sc)
        return 0;
    /* bounded: the guest loops until the budget ends the run; many vCPUs only cost time */
    if (sc->limit > 20000)
        sc->limit = 20000;
    if (sc->vcpus > 4) {
        scenario_destroy(sc);
        return 0;
    }
    /* the guest never syncs: a step at a sync runs at start instead, as it would for a
     * guest whose first act is that GUEST_SYNC */
    for (size_t i = 0; i < sc->nsteps; i++)
        if (sc->steps[i].at == SC_AT_SYNC)
            sc->steps[i].at = SC_AT_START;
    uint8_t image[256];
    size_t len;
    fuzz_image(sc->arch, NULL, 0, image, &len);
    struct runner_result res;
    runner_execute(sc, image, len, fuzz_sink, NULL, NULL, &res);
    scenario_destroy(sc);
    return 0;
}
