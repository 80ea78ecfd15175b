/*
 * export.c - `hvsim export TRACE.db [--format perfetto|csv|svg|png] [-o FILE] [--from SEQ]
 *             [--to SEQ]`.
 */
#include "export/export.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner/runner.h"
#include "sim/hv_err.h"

static const struct {
    const char *name, *ext;
} formats[] = { { "perfetto", ".json" }, { "csv", ".csv" }, { "svg", ".svg" }, { "png", ".png" } };
#define NFORMATS (sizeof formats / sizeof formats[0])

static int usage(void)
{
    fputs("usage: hvsim export TRACE.db [--format perfetto|csv|svg|png] [-o FILE]\n"
          "                    [--from SEQ] [--to SEQ]\n", stderr);
    return HV_EXIT_BADINPUT;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* TRACE without .db, then ext. Caller frees. */
static char *default_output(const char *trace, const char *ext)
{
    size_t n = strlen(trace);
    if (ends_with(trace, ".db"))
        n -= 3;
    char *s = malloc(n + strlen(ext) + 1);
    if (s) {
        memcpy(s, trace, n);
        strcpy(s + n, ext);
    }
    return s;
}

int export_main(int argc, char **argv)
{
    const char *trace = NULL, *format = NULL, *outp = NULL;
    uint64_t from = 0, to = UINT64_MAX;
    for (int i = 0; i < argc; i++) {
        char *end;
        if (strcmp(argv[i], "--format") == 0 && i + 1 < argc)
            format = argv[++i];
        else if ((strcmp(argv[i], "--from") == 0 || strcmp(argv[i], "--to") == 0) &&
                 i + 1 < argc) {
            bool is_from = argv[i][2] == 'f';
            i++;
            unsigned long long v = strtoull(argv[i], &end, 0);
            if (!*argv[i] || *end || argv[i][0] == '-') {
                fprintf(stderr, "hvsim export: %s takes an event seq, not '%s'\n",
                        is_from ? "--from" : "--to", argv[i]);
                return HV_EXIT_BADINPUT;
            }
            *(is_from ? &from : &to) = v;
        }
        else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
            outp = argv[++i];
        else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "hvsim export: unknown option %s\n", argv[i]);
            return usage();
        } else if (!trace)
            trace = argv[i];
        else
            return usage();
    }
    if (!trace)
        return usage();
    size_t f = NFORMATS;
    for (size_t i = 0; i < NFORMATS; i++)
        if (format ? strcmp(format, formats[i].name) == 0
                   : outp && ends_with(outp, formats[i].ext))
            f = i;
    if (f == NFORMATS) {
        if (format)
            fprintf(stderr, "hvsim export: unknown format '%s' (perfetto, csv, svg, png)\n",
                    format);
        else
            fprintf(stderr, "hvsim export: say --format perfetto, csv, svg or png (or give -o "
                            "a .json, .csv, .svg or .png file)\n");
        return HV_EXIT_BADINPUT;
    }
    char *dflt = outp ? NULL : default_output(trace, formats[f].ext);
    const char *path = outp ? outp : dflt;
    if (!path)
        return HV_EXIT_BADINPUT;
    bool to_stdout = strcmp(path, "-") == 0;
    int err = 0;
    if (to_stdout && f >= 2) {
        fprintf(stderr, "hvsim export: a picture is written to a file, not to -\n");
        free(dflt);
        return HV_EXIT_BADINPUT;
    }
    struct timeline *tl = NULL;
    if (f != 1 && (err = timeline_load(trace, &tl))) {
        hv_error_print(stderr, "hvsim export", trace, err);
        free(dflt);
        return HV_EXIT_BADINPUT;
    }
    if (tl && !timeline_window(tl, from, to)) {
        fprintf(stderr, "hvsim export: %s has no event in %" PRIu64 "..%" PRIu64 "\n", trace,
                from, to);
        timeline_free(tl);
        free(dflt);
        return HV_EXIT_BADINPUT;
    }
    if (f >= 2) {
        err = export_draw(tl, path, f == 3);
    } else {
        FILE *out = to_stdout ? stdout : fopen(path, "w");
        if (!out)
            err = hv_error_set(HV_EIO, "%s: cannot be written", path);
        else {
            err = f == 0 ? export_perfetto(tl, out) : export_csv(trace, from, to, out);
            if (!to_stdout && fclose(out) && !err)
                err = hv_error_set(HV_EIO, "%s: cannot be written", path);
        }
    }
    if (err)
        hv_error_print(stderr, "hvsim export", f == 1 && err != HV_EIO ? trace : path, err);
    else if (!to_stdout)
        fprintf(stderr, "hvsim export: wrote %s\n", path);
    timeline_free(tl);
    free(dflt);
    return err ? HV_EXIT_BADINPUT : 0;
}
