/*
 * progress.c - the progress line (progress.h).
 */
#include "runner/progress.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static bool disabled;

void progress_disable(void)
{
    disabled = true;
}

bool progress_enabled(void)
{
    const char *e = getenv("HVSIM_NO_PROGRESS");
    return !disabled && !(e && strcmp(e, "1") == 0);
}

uint64_t progress_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void progress_init(struct progress *p, FILE *out, bool tty, unsigned width, uint64_t delay_ms,
                   progress_clock_fn clock)
{
    memset(p, 0, sizeof *p);
    p->out = tty && progress_enabled() ? out : NULL;
    p->clock = clock ? clock : progress_wall_ms;
    p->start = p->clock();
    p->delay = delay_ms;
    p->width = width;
    if (!p->width) {
        struct winsize ws;
        int fd = out ? fileno(out) : -1;
        p->width = fd >= 0 && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col ? ws.ws_col : 80;
    }
}

void progress_init_stderr(struct progress *p, uint64_t delay_ms)
{
    progress_init(p, stderr, isatty(STDERR_FILENO), 0, delay_ms, NULL);
}

bool progress_due(const struct progress *p)
{
    if (!p->out)
        return false;
    uint64_t now = p->clock();
    return now - p->start >= p->delay && (!p->shown || now - p->last >= PROGRESS_INTERVAL_MS);
}

void progress_update(struct progress *p, const char *fmt, ...)
{
    if (!progress_due(p))
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    size_t max = p->width > 1 ? p->width - 1 : 1;
    fprintf(p->out, "\r%.*s\033[K", (int)(max < sizeof line ? max : sizeof line), line);
    fflush(p->out);
    p->last = p->clock();
    p->shown = true;
}

void progress_end(struct progress *p)
{
    if (!p->out || !p->shown)
        return;
    fputs("\r\033[K", p->out);
    fflush(p->out);
    p->shown = false;
}
