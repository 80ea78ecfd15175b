/*
 * shrinkcmd.c - hvsim shrink TRACE.db [-o SMALL.db] [--max-runs N]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/shrinkcmd.h"
#include "explore/shrink.h"

/* TRACE.db -> TRACE-shrunk.db beside it. Caller frees. */
static char *default_out(const char *trace)
{
    size_t n = strlen(trace);
    if (n > 3 && strcmp(trace + n - 3, ".db") == 0)
        n -= 3;
    char *out = malloc(n + 12);
    if (out)
        snprintf(out, n + 12, "%.*s-shrunk.db", (int)n, trace);
    return out;
}

int shrinkcmd_main(int argc, char **argv)
{
    const char *trace = NULL, *out = NULL;
    unsigned long max_runs = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
            out = argv[++i];
        } else if (strcmp(argv[i], "--max-runs") == 0 && i + 1 < argc) {
            char *end;
            const char *v = argv[++i];
            errno = 0;
            max_runs = strtoul(v, &end, 10);
            if (errno || *end || !*v || v[0] == '-' || !max_runs || max_runs > 1000000) {
                fprintf(stderr, "hvsim shrink: --max-runs %s: expected 1..1000000\n", v);
                return 2;
            }
        } else if (argv[i][0] == '-' || trace) {
            fprintf(stderr, "hvsim shrink: unexpected argument '%s'\n"
                            "usage: hvsim shrink TRACE.db [-o SMALL.db] [--max-runs N]\n",
                    argv[i]);
            return 2;
        } else {
            trace = argv[i];
        }
    }
    if (!trace) {
        fprintf(stderr, "usage: hvsim shrink TRACE.db [-o SMALL.db] [--max-runs N]\n");
        return 2;
    }
    char *path = out ? strdup(out) : default_out(trace);
    if (!path)
        return 2;
    struct shrink_result res;
    int code = shrink_trace(trace, path, (unsigned)max_runs, stdout, stderr, &res);
    free(path);
    return code;
}
