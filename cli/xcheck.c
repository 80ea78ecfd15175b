/*
 * xcheck.c - `hvsim crosscheck SCENARIO.yaml [--json] [--kernel auto|reference]`: argument
 * parsing and the report, as text (one row per line) or one JSON object.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/xcheck.h"
#include "crosscheck/crosscheck.h"
#include "runner/runner.h"

static const char *const status_names[] = { "same", "explained", "different" };

static const char *verdict(const struct crosscheck_report *r)
{
    if (!r->runnable)
        return "not_runnable";
    return r->different ? "differs" : r->explained ? "explained" : "match";
}

static void print_text(const struct scenario *sc, const struct crosscheck_report *r, FILE *out)
{
    fprintf(out, "crosscheck %s: the model and Linux %s (/dev/kvm)\n", sc->name, r->kernel);
    fprintf(out, "kernel facts%s:", r->apply_facts ? "" : " (not applied: --kernel reference)");
    for (unsigned f = 0; f < FACTS__COUNT; f++) {
        const struct facts_desc *d = facts_desc((enum facts_id)f);
        fprintf(out, " %s %s", d->name, r->facts.have[f] ? r->facts.value[f] : "?");
        if (r->applied[f])
            fprintf(out, " (scenario %s: applied)", r->scenario_value[f]);
        fprintf(out, f + 1 < FACTS__COUNT ? "," : "\n");
    }
    if (!r->runnable) {
        fprintf(out, "%s: not runnable on this kernel (%s)\n", sc->name, r->why_not);
        return;
    }
    for (size_t i = 0; i < r->nrows; i++) {
        const struct crosscheck_row *row = &r->rows[i];
        if (row->status == CROSSCHECK_SAME)
            fprintf(out, "%-10s %-34s %s\n", "same", row->what, row->model);
        else
            fprintf(out, "%-10s %-34s model %s, kernel %s%s%s%s\n", status_names[row->status],
                    row->what, row->model ? row->model : "(none)",
                    row->kernel ? row->kernel : "(none)",
                    row->status == CROSSCHECK_EXPLAINED ? " (kernel fact: " : "", row->facts,
                    row->status == CROSSCHECK_EXPLAINED ? ")" : "");
    }
    fprintf(out, "%s: %zu same, %zu explained by kernel facts, %zu different: %s\n", sc->name,
            r->same, r->explained, r->different, verdict(r));
}

static void json_str(FILE *out, const char *s)
{
    size_t len = 0, cap = strlen(s) * 6 + 3;
    char *buf = malloc(cap);
    if (!buf) {
        fputs("null", out);
        return;
    }
    hv_json_str(buf, cap, &len, s);
    fputs(buf, out);
    free(buf);
}

static void print_json(const struct scenario *sc, const struct crosscheck_report *r, FILE *out)
{
    fputs("{\"scenario\":", out);
    json_str(out, sc->name);
    fputs(",\"kernel\":", out);
    json_str(out, r->kernel);
    fprintf(out, ",\"facts_applied\":%s,\"facts\":[", r->apply_facts ? "true" : "false");
    for (unsigned f = 0; f < FACTS__COUNT; f++) {
        const struct facts_desc *d = facts_desc((enum facts_id)f);
        fprintf(out, "%s{\"name\":\"%s\",\"knob\":\"%s\",\"kernel\":", f ? "," : "", d->name,
                d->knob);
        if (r->facts.have[f])
            json_str(out, r->facts.value[f]);
        else
            fputs("null", out);
        fputs(",\"scenario\":", out);
        json_str(out, r->scenario_value[f]);
        fprintf(out, ",\"applied\":%s}", r->applied[f] ? "true" : "false");
    }
    fprintf(out, "],\"status\":\"%s\",\"reason\":", verdict(r));
    if (r->runnable)
        fputs("null", out);
    else
        json_str(out, r->why_not);
    fprintf(out, ",\"counts\":{\"same\":%zu,\"explained\":%zu,\"different\":%zu},\"rows\":[",
            r->same, r->explained, r->different);
    for (size_t i = 0; i < r->nrows; i++) {
        const struct crosscheck_row *row = &r->rows[i];
        fputs(i ? ",{\"what\":" : "{\"what\":", out);
        json_str(out, row->what);
        fprintf(out, ",\"status\":\"%s\",\"model\":%s,\"kernel\":%s,\"facts\":",
                status_names[row->status], row->model ? row->model : "null",
                row->kernel ? row->kernel : "null");
        if (row->status == CROSSCHECK_EXPLAINED)
            json_str(out, row->facts);
        else
            fputs("null", out);
        fputs("}", out);
    }
    fputs("]}\n", out);
}

int xcheck_main(int argc, char **argv, xcheck_build_fn build_guest)
{
    const char *path = NULL, *kernel = "auto";
    bool json = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (strcmp(argv[i], "--kernel") == 0 && i + 1 < argc)
            kernel = argv[++i];
        else if (argv[i][0] == '-' || path) {
            fprintf(stderr, "hvsim crosscheck: unexpected argument '%s'\n", argv[i]);
            return HV_EXIT_BADINPUT;
        } else
            path = argv[i];
    }
    if (!path || (strcmp(kernel, "auto") != 0 && strcmp(kernel, "reference") != 0)) {
        fprintf(stderr, "usage: hvsim crosscheck SCENARIO.yaml [--json] "
                        "[--kernel auto|reference]\n");
        return HV_EXIT_BADINPUT;
    }
    struct scenario *sc = NULL;
    struct hv_diag d;
    struct kvmh_kernel k;
    struct crosscheck_report r;
    char msg[1200];
    void *elf = NULL;
    size_t elf_len = 0;
    int code = HV_EXIT_BADINPUT;
    memset(&r, 0, sizeof r);
    if (scenario_load(&sc, path, &d) || runner_check(sc, &d)) {
        hv_diag_format(&d, msg, sizeof msg);
        fprintf(stderr, "hvsim: %s\n", msg);
        goto out;
    }
    if (kvmh_kernel_info(&k)) {
        fprintf(stderr, "hvsim crosscheck: %s\n", hv_error_detail());
        goto out;
    }
    if (build_guest(sc, &elf, &elf_len))
        goto out;
    int err = crosscheck_run(sc, elf, elf_len, &k, strcmp(kernel, "auto") == 0, &r);
    if (err) {
        fprintf(stderr, "hvsim crosscheck: %s: %s: %s\n", path, hv_strerror(err),
                hv_error_detail());
        goto out;
    }
    if (json)
        print_json(sc, &r, stdout);
    else
        print_text(sc, &r, stdout);
    code = crosscheck_exit_code(&r);
out:
    crosscheck_report_fini(&r);
    scenario_destroy(sc);
    free(elf);
    return code;
}
