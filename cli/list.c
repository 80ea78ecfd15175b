/*
 * list.c - `hvsim list`: every scenario under a folder (default: the bundled ones) with its
 * model, arch, file and whole description, or with --knobs every knob `--set` takes.
 *
 * Text is wrapped to the output's width (COLUMNS, else the terminal's width when stdout is
 * a terminal, else 80) with a hanging indent of four columns; a word wider than a line (a
 * long path) is written whole on a line of its own.
 */
#include "cli/list.h"
#include "cli/bugs.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runner/datadir.h"
#include "runner/runner.h"
#include "runner/scenario.h"
#include "sim/model.h"

#define LIST_INDENT 4
#define LIST_MIN_WIDTH 20
#define LIST_HEAD 43        /* the name (28), model (5) and arch (8) columns and their gaps */

/* The width to wrap to: COLUMNS if it is a positive number, the terminal's, else 80. */
static size_t list_width(void)
{
    const char *c = getenv("COLUMNS");
    char *end;
    long v = c ? strtol(c, &end, 10) : 0;
    struct winsize ws;
    if (c && *c && !*end && v > 0)
        return v < LIST_MIN_WIDTH ? LIST_MIN_WIDTH : (size_t)v;
    if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col < LIST_MIN_WIDTH ? LIST_MIN_WIDTH : ws.ws_col;
    return 80;
}

/*
 * Writes text's words (a run of blanks and newlines is one space) on lines that start at
 * column LIST_INDENT and end by column width, then a newline. Nothing for an empty text.
 */
static void list_wrap(const char *text, size_t width)
{
    size_t col = 0;
    for (const char *p = text;;) {
        p += strspn(p, " \t\r\n");
        if (!*p)
            break;
        size_t n = strcspn(p, " \t\r\n");
        if (col && col + 1 + n > width) {
            putchar('\n');
            col = 0;
        }
        if (col) {
            putchar(' ');
            col++;
        } else
            col = (size_t)printf("%*s", LIST_INDENT, "");
        col += fwrite(p, 1, n, stdout);
        p += n;
    }
    if (col)
        putchar('\n');
}

/* One scenario: "NAME MODEL ARCH PATH" (PATH on a line of its own if it does not fit). */
static void list_scenario(const char *path, const char *file, size_t width)
{
    struct scenario *sc;
    struct hv_diag dg;
    char head[200];
    if (scenario_load(&sc, path, &dg) == 0) {
        int n = snprintf(head, sizeof head, "%-28s %-5s %s", sc->name, sc->model,
                         hv_arch_name(sc->arch));
        size_t col = n < LIST_HEAD ? LIST_HEAD : (size_t)n;
        if (col + 1 + strlen(path) <= width)
            printf("%-*s %s\n", LIST_HEAD, head, path);
        else {
            printf("%s\n", head);
            list_wrap(path, width);
        }
        list_wrap(sc->description ? sc->description : "", width);
        scenario_destroy(sc);
    } else {
        char msg[1200];
        hv_diag_format(&dg, msg, sizeof msg);
        printf("%s (invalid)\n", file);
        list_wrap(msg, width);
    }
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The scenarios under dir and its subfolders but lib/ (the guest library), sorted by name so
 * that the listing is the same on every machine; *count grows by each. */
static void list_dir(const char *dir, size_t width, int *count)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char **names = NULL;
    size_t n = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char **nn = realloc(names, (n + 1) * sizeof *nn);
        if (!nn)
            break;
        names = nn;
        if (!(names[n] = strdup(e->d_name)))
            break;
        n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, by_name);
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        struct stat st;
        size_t len = strlen(names[i]);
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode) && strcmp(names[i], "lib") != 0) {
            list_dir(path, width, count);
        } else if (len > 5 && strcmp(names[i] + len - 5, ".yaml") == 0) {
            list_scenario(path, names[i], width);
            (*count)++;
        }
        free(names[i]);
    }
    free(names);
}

/* "KEY=DEFAULT" then the knob's help: every model's knobs, then the runner's. */
static void list_knobs(size_t width)
{
    for (const struct hv_model_ops *const *m = hv_model_list(); *m; m++)
        for (const struct hv_knob *k = (*m)->knobs; k && k->key; k++) {
            printf("%s=%s\n", k->key, k->def);
            list_wrap(k->help, width);
        }
    for (const struct hv_knob *k = runner_knob_list(); k->key; k++) {
        printf("%s=%s\n", k->key, k->def);
        list_wrap(k->help, width);
    }
}

int list_main(int argc, char **argv)
{
    if (argc > 0 && strcmp(argv[0], "--bugs") == 0)
        return bugs_list(argc - 1, argv + 1);   /* the bug zoo (cli/bugs.c) */
    const char *dir = NULL;
    bool knobs = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--knobs") == 0)
            knobs = true;
        else if (argv[i][0] == '-' || dir) {
            fprintf(stderr, "hvsim list: unexpected argument '%s' (hvsim help list)\n",
                    argv[i]);
            return HV_EXIT_BADINPUT;
        } else
            dir = argv[i];
    }
    size_t width = list_width();
    if (knobs) {
        list_knobs(width);
        return HV_EXIT_OK;
    }
    if (!dir)
        dir = datadir_scenarios();
    struct stat st;
    if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "hvsim list: %s: not a folder\n", dir);
        return HV_EXIT_BADINPUT;
    }
    int count = 0;
    list_dir(dir, width, &count);
    if (!count)
        printf("no scenarios under %s\n", dir);
    return HV_EXIT_OK;
}
