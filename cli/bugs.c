/*
 * bugs.c - `hvsim list --bugs`: one block per bug knob of models/bugs.def, its fields wrapped
 * at word boundaries to the terminal's width (80 columns when stdout is not a terminal), or
 * with --tsv one line per knob: knob, bad, good, scenario, class, source, command, fix.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli/bugs.h"
#include "models/bugs.h"
#include "runner/runner.h"

#define BUGS_INDENT 13          /* the width of a block's field labels */

static unsigned term_width(void)
{
    struct winsize ws;
    if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
        return ws.ws_col;
    return 80;
}

/* "  label:" padded to BUGS_INDENT, then text's words, wrapped to width. */
static void field(const char *label, const char *text, unsigned width)
{
    int col = printf("  %s:", label);
    for (; col < BUGS_INDENT; col++)
        putchar(' ');
    bool first = true;
    while (*text) {
        while (*text == ' ')
            text++;
        size_t len = strcspn(text, " ");
        if (!len)
            break;
        if (!first && (unsigned)col + 1 + len > width) {
            printf("\n%*s", BUGS_INDENT, "");
            col = BUGS_INDENT;
        } else if (!first) {
            putchar(' ');
            col++;
        }
        printf("%.*s", (int)len, text);
        col += (int)len;
        text += len;
        first = false;
    }
    putchar('\n');
}

int bugs_list(int argc, char **argv)
{
    bool tsv = argc == 1 && strcmp(argv[0], "--tsv") == 0;
    if (argc > 1 || (argc == 1 && !tsv)) {
        fprintf(stderr, "hvsim list --bugs: unexpected argument '%s' (only --tsv)\n", argv[0]);
        return HV_EXIT_BADINPUT;
    }
    size_t n;
    const struct hv_bug *b = hv_bugs(&n);
    unsigned width = term_width();
    char line[512];
    for (size_t i = 0; i < n; i++, b++) {
        if (tsv) {
            printf("%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", b->knob, b->bad, b->good, b->scenario,
                   b->bug_class, b->source, b->command, b->fix);
            continue;
        }
        if (i)
            putchar('\n');
        printf("%s=%s (fixed: %s)\n", b->knob, b->bad, b->good);
        field("bug", b->bug_class, width);
        field("source", b->source, width);
        snprintf(line, sizeof line, "hvsim run scenarios/%s -o bug.db --set %s=%s", b->scenario,
                 b->knob, b->bad);
        field("caught by", line, width);
        field("pinpoint", b->command, width);
        field("the fix", b->fix, width);
    }
    return 0;
}
