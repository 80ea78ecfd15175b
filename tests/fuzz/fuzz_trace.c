/*
 * fuzz_trace.c - libFuzzer harness: a mutated trace file through everything that reads one
 * before a guest runs: trace_reader_open(), `hvsim show` as text and as JSON, and replay's
 * preparation (the stored scenario, seed, --set list and guest image; the scenario parsed and
 * checked; every event read in order). A bad trace must end in an error naming it (exit 2),
 * never a crash, a hang or undefined behaviour.
 *
 * The bytes go to a file in /dev/shm (memory, not disk) that is removed after each input,
 * with every side file SQLite or the reader might leave (-wal, -shm, -journal, -tail).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/show.h"
#include "runner/runner.h"
#include "trace/trace.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const side[] = { "", "-wal", "-shm", "-journal", "-tail" };

static void remove_all(const char *path)
{
    char p[256];
    for (size_t i = 0; i < sizeof side / sizeof side[0]; i++) {
        snprintf(p, sizeof p, "%s%s", path, side[i]);
        unlink(p);
    }
}

/* What replay reads before it runs the guest (replay/replay.c, replay_trace()). */
static void prepare_replay(const char *path)
{
    struct trace_reader *r = NULL;
    char *text = NULL, *spath = NULL, *seed = NULL, *sets = NULL;
    void *elf = NULL;
    size_t elf_len = 0;
    struct scenario *sc = NULL;
    struct hv_diag d;
    if (trace_reader_open(&r, path))
        goto out;
    trace_reader_complete(r);
    trace_reader_event_count(r);
    if (trace_reader_info(r, "scenario_text", &text) ||
        trace_reader_info(r, "scenario_path", &spath) ||
        trace_reader_info(r, "seed", &seed) ||
        trace_reader_blob(r, "guest.elf", &elf, &elf_len))
        goto out;
    if (trace_reader_info(r, "sets", &sets))
        sets = strdup("");
    if (sets && !scenario_parse(&sc, spath, text, strlen(text), &d)) {
        for (char *line = strtok(sets, "\n"); line; line = strtok(NULL, "\n"))
            if (scenario_set(sc, line))
                goto out;
        runner_check(sc, &d);
    }
    if (trace_reader_events_begin(r, NULL))
        goto out;
    struct hv_event ev;
    while (trace_reader_events_next(r, &ev) > 0)
        ;
out:
    scenario_destroy(sc);
    trace_reader_close(r);
    free(text);
    free(spath);
    free(seed);
    free(sets);
    free(elf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *null;
    static char path[128];
    if (!null) {
        null = fopen("/dev/null", "w");
        snprintf(path, sizeof path, "/dev/shm/hvsim-fuzz-trace-%d.db", (int)getpid());
    }
    remove_all(path);
    FILE *f = fopen(path, "wb");
    if (!f || !null || fwrite(data, 1, size, f) != size || fclose(f))
        abort();
    struct show_opts o;
    memset(&o, 0, sizeof o);
    o.filter = (struct trace_filter)TRACE_FILTER_ALL;
    /* exit 0, or 2 for a bad trace: nothing else (README.md, exit codes) */
    int text = show_trace(path, &o, null, null);
    o.json = true;
    int json = show_trace(path, &o, null, null);
    /* --explain reads each detail with its own scanner (narrate/explain.c) */
    o.json = false;
    o.explain = true;
    int explain = show_trace(path, &o, null, null);
    if ((text != 0 && text != 2) || (json != 0 && json != 2) || (explain != 0 && explain != 2))
        abort();
    prepare_replay(path);
    remove_all(path);
    return 0;
}
