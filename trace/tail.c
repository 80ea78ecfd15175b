/* tail.c - the tail file: records since the last commit, in a shared file mapping. */
#include "trace/tail.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim/hv_err.h"

#define TAIL_MIN_CAP ((size_t)1 << 20)

static char *tail_path(const char *db_path)
{
    char *p = NULL;
    return asprintf(&p, "%s" TAIL_SUFFIX, db_path) < 0 ? NULL : p;
}

bool tail_check(const struct tail *t)
{
    return t->fd >= 0 && t->map && t->used >= TAIL_HEADER && t->used <= t->cap &&
           t->used % 4 == 0 && memcmp(t->map, TAIL_MAGIC, sizeof TAIL_MAGIC - 1) == 0;
}

int tail_open(struct tail *t, const char *db_path)
{
    int err = 0;
    char *path = tail_path(db_path);
    t->fd = -1;
    t->map = NULL;
    t->cap = t->used = 0;
    t->path = NULL;
    if (!path)
        return hv_error_set(HV_ENOMEM, "%s: out of memory", db_path);
    t->fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (t->fd < 0 || flock(t->fd, LOCK_EX | LOCK_NB) != 0 ||
        ftruncate(t->fd, (off_t)TAIL_MIN_CAP) != 0) {
        err = hv_error_set(HV_EIO, "%s: cannot create: %s", path, strerror(errno));
        goto out;
    }
    void *m = mmap(NULL, TAIL_MIN_CAP, PROT_READ | PROT_WRITE, MAP_SHARED, t->fd, 0);
    if (m == MAP_FAILED) {
        err = hv_error_set(HV_EIO, "%s: cannot map: %s", path, strerror(errno));
        goto out;
    }
    t->map = m;
    t->cap = TAIL_MIN_CAP;
    memcpy(t->map, TAIL_MAGIC, sizeof TAIL_MAGIC - 1);
    t->used = TAIL_HEADER;
out:
    if (err && t->fd >= 0) {
        close(t->fd);
        t->fd = -1;
        unlink(path);
    }
    if (err)
        free(path);
    else
        t->path = path;
    return err;
}

/* Doubles the file and its mapping until need more bytes fit. */
static int tail_grow(struct tail *t, size_t need)
{
    size_t cap = t->cap;
    while (cap - t->used < need)
        cap *= 2;
    if (ftruncate(t->fd, (off_t)cap) != 0)
        return hv_error_set(HV_EIO, "trace tail: cannot grow: %s", strerror(errno));
    void *m = mremap(t->map, t->cap, cap, MREMAP_MAYMOVE);
    if (m == MAP_FAILED)
        return hv_error_set(HV_EIO, "trace tail: cannot map: %s", strerror(errno));
    t->map = m;
    t->cap = cap;
    return 0;
}

int tail_put(struct tail *t, char type, const void *a, size_t alen, const void *b, size_t blen)
{
    size_t body = 1 + alen + blen;
    size_t total = (4 + body + 3) & ~(size_t)3;
    if (body > UINT32_MAX)
        return hv_error_set(HV_ELIMIT, "trace tail: record of %zu bytes", body);
    if (t->cap - t->used < total) {
        int err = tail_grow(t, total);
        if (err)
            return err;
    }
    unsigned char *p = t->map + t->used;
    p[4] = (unsigned char)type;
    if (alen)
        memcpy(p + 5, a, alen);
    if (blen)
        memcpy(p + 5 + alen, b, blen);
    /* The length goes last: until it is stored the record does not exist (invariant 2). */
    __atomic_store_n((uint32_t *)(void *)p, (uint32_t)body, __ATOMIC_RELEASE);
    t->used += total;
    return 0;
}

void tail_reset(struct tail *t)
{
    /* Zeroed front to back: a kill half way leaves a first length of 0, so readers see no
     * record, and every record was committed already. */
    memset(t->map + TAIL_HEADER, 0, t->used - TAIL_HEADER);
    t->used = TAIL_HEADER;
}

void tail_close(struct tail *t, bool remove)
{
    if (t->map)
        munmap(t->map, t->cap);
    if (remove && t->path)
        unlink(t->path);
    free(t->path);
    t->path = NULL;
    if (t->fd >= 0)
        close(t->fd);
    t->fd = -1;
    t->map = NULL;
    t->cap = t->used = 0;
}

int tail_load(const char *db_path, unsigned char **data, size_t *len, bool *live)
{
    int err = 0;
    char *path = tail_path(db_path);
    unsigned char *buf = NULL;
    *data = NULL;
    *len = 0;
    *live = false;
    if (!path)
        return hv_error_set(HV_ENOMEM, "%s: out of memory", db_path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < TAIL_HEADER)
        goto out;
    /* A writer that is alive holds LOCK_EX; a shared lock succeeds only once it is gone. */
    if (flock(fd, LOCK_SH | LOCK_NB) != 0)
        *live = true;
    else
        flock(fd, LOCK_UN);
    /* Only the records count: read up to the first zero length, in bounded steps. */
    size_t cap = (size_t)st.st_size, n = 0;
    buf = malloc(cap);
    if (!buf) {
        err = hv_error_set(HV_ENOMEM, "%s: out of memory reading the tail", path);
        goto out;
    }
    while (n < cap) {
        ssize_t got = pread(fd, buf + n, cap - n, (off_t)n);
        if (got < 0) {
            err = hv_error_set(HV_EIO, "%s: %s", path, strerror(errno));
            goto out;
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    if (n < TAIL_HEADER || memcmp(buf, TAIL_MAGIC, sizeof TAIL_MAGIC - 1) != 0)
        goto out;
    *data = buf;
    *len = n;
    buf = NULL;
out:
    if (fd >= 0)
        close(fd);
    free(buf);
    free(path);
    return err;
}

int tail_next(const unsigned char *data, size_t len, size_t *off, struct tail_rec *rec)
{
    size_t o = *off;
    uint32_t body;
    if (o < TAIL_HEADER || o > len || len - o < 5)
        return 0;
    memcpy(&body, data + o, sizeof body);
    if (body == 0 || body > len - o - 4)
        return 0;
    rec->type = (char)data[o + 4];
    rec->p = data + o + 5;
    rec->n = body - 1;
    *off = (o + 4 + body + 3) & ~(size_t)3;
    return 1;
}
