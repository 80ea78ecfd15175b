/*
 * fuzz_util.h - what the libFuzzer harnesses of tests/fuzz/ share: a minimal guest image, a
 * scenario parsed and checked as `hvsim run` would, and a sink that drops events.
 */
#ifndef HV_FUZZ_UTIL_H
#define HV_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "runner/scenario.h"
#include "sim/hv.h"

/* Where the guest library links a guest: the tiny image goes there too, inside the RAM of
 * every bundled scenario (docs/scenario-format.md, arch). */
uint64_t fuzz_code_gpa(enum hv_arch arch);

/*
 * A statically linked ELF image for arch with one PT_LOAD segment at fuzz_code_gpa(arch):
 * code[0..n) (n up to 64 bytes), then an endless branch to itself. Written to *image, whose
 * size is written to *len.
 */
void fuzz_image(enum hv_arch arch, const uint8_t *code, size_t n, uint8_t image[256],
                size_t *len);

/*
 * Parses text as the scenario file HVSIM_SOURCE_DIR/scenarios/<group>/fuzz.yaml (so the
 * guest: of a bundled scenario resolves) and checks it with runner_check(). NULL when either
 * refuses it (that is the located error hvsim prints, not a failure). Caller owns the result;
 * release with scenario_destroy().
 */
struct scenario *fuzz_scenario(const char *text, size_t len);

/* An hv_event_sink_fn that drops every event. */
int fuzz_sink(void *ctx, const struct hv_event *ev);

#endif
