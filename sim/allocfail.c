/*
 * allocfail.c - the counting allocation wrappers of allocfail.h. One host thread runs hvsim,
 * so the counter is a plain static.
 */
#include "sim/allocfail.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#ifdef HVSIM_ALLOC_HOOK

static struct {
    bool armed, fired, env_read;
    uint64_t count, fail_at;
} af;

static void env_arm(void)
{
    af.env_read = true;
    const char *v = getenv("HVSIM_FAIL_ALLOC");
    char *end;
    if (!v || !*v)
        return;
    unsigned long long n = strtoull(v, &end, 10);
    if (!*end)
        allocfail_arm(n);
}

/* Whether this allocation is the one to fail. */
static bool fail_now(void)
{
    if (!af.env_read)
        env_arm();
    if (!af.armed)
        return false;
    if (++af.count != af.fail_at)
        return false;
    af.fired = true;
    errno = ENOMEM;
    return true;
}

bool allocfail_available(void)
{
    return true;
}

void allocfail_arm(uint64_t n)
{
    af.env_read = true;
    af.armed = true;
    af.fired = false;
    af.count = 0;
    af.fail_at = n;
}

uint64_t allocfail_disarm(void)
{
    af.env_read = true;
    af.armed = false;
    return af.count;
}

bool allocfail_fired(void)
{
    return af.fired;
}

uint64_t allocfail_count(void)
{
    return af.count;
}

/* The wrappers: -Wl,--wrap=NAME sends hvsim's calls of NAME here, and __real_NAME is libc's. */
void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
int __real_posix_memalign(void **p, size_t align, size_t size);
int __real_vasprintf(char **out, const char *fmt, va_list ap);
void *__real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);
int __wrap_posix_memalign(void **p, size_t align, size_t size);
int __wrap_vasprintf(char **out, const char *fmt, va_list ap);
int __wrap_asprintf(char **out, const char *fmt, ...);
void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);

void *__wrap_malloc(size_t size)
{
    return fail_now() ? NULL : __real_malloc(size);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return fail_now() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size)
{
    return fail_now() ? NULL : __real_realloc(p, size);
}

char *__wrap_strdup(const char *s)
{
    return fail_now() ? NULL : __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
    return fail_now() ? NULL : __real_strndup(s, n);
}

int __wrap_posix_memalign(void **p, size_t align, size_t size)
{
    return fail_now() ? ENOMEM : __real_posix_memalign(p, align, size);
}

int __wrap_vasprintf(char **out, const char *fmt, va_list ap)
{
    return fail_now() ? -1 : __real_vasprintf(out, fmt, ap);
}

int __wrap_asprintf(char **out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = fail_now() ? -1 : __real_vasprintf(out, fmt, ap);
    va_end(ap);
    return r;
}

/* Only anonymous mappings are allocations; a file mapping's failure is an I/O matter. */
void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    if ((flags & MAP_ANONYMOUS) && fail_now())
        return MAP_FAILED;
    return __real_mmap(addr, len, prot, flags, fd, off);
}

#else

bool allocfail_available(void)
{
    return false;
}

void allocfail_arm(uint64_t n)
{
    (void)n;
}

uint64_t allocfail_disarm(void)
{
    return 0;
}

bool allocfail_fired(void)
{
    return false;
}

uint64_t allocfail_count(void)
{
    return 0;
}

#endif
