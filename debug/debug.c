/*
 * debug.c - `hvsim debug`: one gdb session over a trace's re-execution cursor.
 */
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
        fprintf(err, "hvsim debug: %s\n", msg);
        goto out;
    }
    if (o->at && (e = hv_cursor_seek_seq(c, o->at_seq)) < 0 && e != HV_ENOENT) {
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
