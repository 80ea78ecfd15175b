/*
 * debug.c - `hvsim debug`: one gdb session over a trace's re-execution cursor.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "debug/cursor.h"
#include "debug/debug.h"
#include "debug/gdbcursor.h"
#include "debug/gdbserver.h"
#include "runner/runner.h"
#include "sim/hv_err.h"

int debug_main(const char *path, const struct debug_opts *o, FILE *out, FILE *err)
{
    struct hv_cursor *c = NULL;
    struct gdbc *g = NULL;
    char *elf = NULL, msg[512];
    int lfd = -1, port = 0, code = HV_EXIT_BADINPUT, e;
    struct hv_cursor_opts co = { .insns = true, .sets = o->sets, .nsets = o->nsets };
    if ((e = hv_cursor_open(&c, path, &co, msg, sizeof msg)) < 0) {
        fprintf(err, "%s%s\n", strncmp(msg, "hvsim: ", 7) ? "hvsim: " : "", msg);
        goto out;
    }
    /* gdb starts before vCPU 0's first instruction, or just after event --at */
    e = o->at ? hv_cursor_seek_seq(c, o->at_seq) : hv_cursor_seek_insn(c, 0, 0);
    if (e < 0 && e != HV_ENOENT) {
        fprintf(err, "hvsim debug: %s: seek to seq %" PRIu64 ": %s %s\n", path, o->at_seq,
                hv_strerror(e), hv_error_detail());
        goto out;
    }
    if (o->elf)
        elf = strdup(o->elf);
    else {
        size_t n = strlen(path);
        if (n > 3 && strcmp(path + n - 3, ".db") == 0)
            n -= 3;
        if ((elf = malloc(n + 5)))
            snprintf(elf, n + 5, "%.*s.elf", (int)n, path);
    }
    if (!elf || (e = hv_cursor_write_elf(c, elf)) < 0) {
        fprintf(err, "hvsim debug: cannot write the guest ELF to %s: %s\n", elf ? elf : "",
                elf ? hv_error_detail() : hv_strerror(HV_ENOMEM));
        goto out;
    }
    if ((e = gdbc_create(&g, c, path)) < 0)
        goto out;
    if ((lfd = gdbs_listen(o->port, &port)) < 0) {
        fprintf(err, "hvsim debug: cannot listen on 127.0.0.1:%d: %s\n", o->port,
                hv_error_detail());
        goto out;
    }
    fprintf(out, "hvsim debug: %s: guest ELF written to %s\n"
                 "hvsim debug: waiting for gdb on 127.0.0.1:%d\n"
                 "  gdb-multiarch %s -ex 'target remote 127.0.0.1:%d'\n",
            path, elf, port, elf, port);
    fflush(out);
    struct gdbs s;
    gdbs_init(&s, gdbc_target(g));
    s.log = o->verbose ? err : NULL;
    if ((e = gdbs_serve(&s, lfd)) < 0) {
        fprintf(err, "hvsim debug: %s: %s %s\n", path, hv_strerror(e), hv_error_detail());
        goto out;
    }
    code = HV_EXIT_OK;
out:
    if (lfd >= 0)
        close(lfd);
    gdbc_destroy(g);
    hv_cursor_close(c);
    free(elf);
    return code;
}

/* A number (decimal or 0x hex) in [0, max]. */
static bool parse_num(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end || !*s || *s == '-' || v > max)
        return false;
    *out = v;
    return true;
}

int debug_cli(int argc, char **argv)
{
    const char *trace = NULL;
    const char **sets = calloc((size_t)argc + 1, sizeof *sets);
    struct debug_opts o = { .sets = sets };
    uint64_t v;
    int code = HV_EXIT_BADINPUT;
    if (!sets)
        return code;
    for (int i = 0; i < argc; i++) {
        bool more = i + 1 < argc;
        if (strcmp(argv[i], "--set") == 0 && more)
            sets[o.nsets++] = argv[++i];
        else if (strcmp(argv[i], "--port") == 0 && more && parse_num(argv[i + 1], 65535, &v))
            o.port = (int)v, i++;
        else if (strcmp(argv[i], "--elf") == 0 && more)
            o.elf = argv[++i];
        else if (strcmp(argv[i], "--at") == 0 && more && parse_num(argv[i + 1], INT64_MAX, &v))
            o.at = true, o.at_seq = v, i++;
        else if (strcmp(argv[i], "--verbose") == 0)
            o.verbose = true;
        else if (argv[i][0] == '-' || trace) {
            fprintf(stderr, "hvsim debug: unexpected argument '%s'\n", argv[i]);
            trace = NULL;
            break;
        } else
            trace = argv[i];
    }
    if (trace)
        code = debug_main(trace, &o, stdout, stderr);
    else
        fputs("usage: hvsim debug TRACE.db [--port N] [--elf FILE] [--at SEQ] "
              "[--set KEY=VALUE]... [--verbose]\n", stderr);
    free(sets);
    return code;
}
