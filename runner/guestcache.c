/*
 * guestcache.c - guest builds stored under the SHA-256 of their inputs (guestcache.h).
 *
 * SHA-256 is FIPS 180-4's, written out here (a few dozen lines) rather than adding a crypto
 * library for one hash. Every input goes into the hash as a tag, its length and its bytes, so
 * no two different input lists hash the same bytes.
 */
#include "runner/guestcache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runner/guestbuild.h"

extern char **environ;

/* ---- SHA-256 ----------------------------------------------------------------------------- */

struct sha256 {
    uint32_t h[8];
    uint8_t buf[64];
    size_t nbuf;
    uint64_t total;
};

static const uint32_t sha_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2,
};

static uint32_t ror(uint32_t x, unsigned n) { return x >> n | x << (32 - n); }

static void sha_block(struct sha256 *s, const uint8_t *p)
{
    uint32_t w[64], v[8];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    memcpy(v, s->h, sizeof v);
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = v[7] + (ror(v[4], 6) ^ ror(v[4], 11) ^ ror(v[4], 25)) +
                      ((v[4] & v[5]) ^ (~v[4] & v[6])) + sha_k[i] + w[i];
        uint32_t t2 = (ror(v[0], 2) ^ ror(v[0], 13) ^ ror(v[0], 22)) +
                      ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));
        memmove(v + 1, v, 7 * sizeof v[0]);
        v[4] += t1;
        v[0] = t1 + t2;
    }
    for (int i = 0; i < 8; i++)
        s->h[i] += v[i];
}

static void sha_init(struct sha256 *s)
{
    static const uint32_t iv[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
    memset(s, 0, sizeof *s);
    memcpy(s->h, iv, sizeof iv);
}

static void sha_update(struct sha256 *s, const void *data, size_t len)
{
    const uint8_t *p = data;
    s->total += len;
    while (len > 0) {
        size_t take = 64 - s->nbuf < len ? 64 - s->nbuf : len;
        memcpy(s->buf + s->nbuf, p, take);
        s->nbuf += take;
        p += take;
        len -= take;
        if (s->nbuf == 64) {
            sha_block(s, s->buf);
            s->nbuf = 0;
        }
    }
}

static void sha_final_hex(struct sha256 *s, char out[65])
{
    uint64_t bits = s->total * 8;
    uint8_t pad[72] = { 0x80 };
    size_t padlen = (s->nbuf < 56 ? 56 : 120) - s->nbuf;
    for (int i = 0; i < 8; i++)
        pad[padlen + (size_t)i] = (uint8_t)(bits >> (56 - 8 * i));
    sha_update(s, pad, padlen + 8);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", (unsigned)(s->h[i / 4] >> (24 - 8 * (i % 4))) & 0xff);
}

/* One input: a tag, then its length and bytes. */
static void sha_item(struct sha256 *s, const char *tag, const void *data, size_t len)
{
    uint64_t n = len;
    sha_update(s, tag, strlen(tag) + 1);
    sha_update(s, &n, sizeof n);
    sha_update(s, data, len);
}

/* ---- inputs ------------------------------------------------------------------------------ */

static int read_all(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return HV_ENOENT;
    size_t cap = 4096, n = 0, got;
    char *buf = malloc(cap + 1);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *nb = realloc(buf, (cap *= 2) + 1);
            if (!nb)
                free(buf);
            buf = nb;
        }
    }
    int rc = ferror(f) ? HV_EIO : 0;
    fclose(f);
    if (!buf)
        return HV_ENOMEM;
    if (rc) {
        free(buf);
        return rc;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

static int hash_file(struct sha256 *s, const char *tag, const char *name, const char *path)
{
    char *data;
    size_t len;
    int rc = read_all(path, &data, &len);
    if (rc)
        return hv_error_set(rc, "cannot read %s", path);
    sha_item(s, tag, name, strlen(name));
    sha_item(s, "bytes", data, len);
    free(data);
    return 0;
}

/* What a tool says with --version (its first 4 KiB), "missing" if it cannot be run. */
static void tool_version(const char *tool, char *buf, size_t size)
{
    int fds[2];
    snprintf(buf, size, "missing");
    if (pipe(fds) != 0)
        return;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    char *argv[] = { (char *)tool, "--version", NULL };
    pid_t pid;
    int rc = posix_spawnp(&pid, tool, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc == 0) {
        size_t n = 0;
        ssize_t got;
        while (n + 1 < size && ((got = read(fds[0], buf + n, size - 1 - n)) > 0 ||
                                (got < 0 && errno == EINTR)))
            n += got > 0 ? (size_t)got : 0;
        buf[n] = '\0';
        char sink[256];
        while (read(fds[0], sink, sizeof sink) > 0)
            ;
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
    }
    close(fds[0]);
}

/* The tools' versions, asked once per process. */
static const char *tools_versions(void)
{
    static char text[8192];
    static bool done;
    if (!done) {
        char v[4096];
        tool_version("clang", v, sizeof v);
        size_t l = (size_t)snprintf(text, sizeof text, "clang: %s\n", v);
        tool_version("ld.lld", v, sizeof v);
        snprintf(text + l, sizeof text - l, "ld.lld: %s\n", v);
        done = true;
    }
    return text;
}

#define MAX_INCLUDED 128

struct seen {
    char *paths[MAX_INCLUDED];
    size_t n;
};

/*
 * Hashes path (named `name` in the key) and, recursively, every file it names in an
 * `#include "..."`: beside it first, then in the guest library (the library is hashed whole
 * anyway, so only files outside it matter). A file already hashed is skipped.
 */
static int hash_source(struct sha256 *s, struct seen *seen, const char *path, const char *name)
{
    char real[PATH_MAX];
    if (!realpath(path, real))
        return hv_error_set(HV_ENOENT, "cannot read %s", path);
    for (size_t i = 0; i < seen->n; i++)
        if (strcmp(seen->paths[i], real) == 0)
            return 0;
    if (seen->n == MAX_INCLUDED)
        return hv_error_set(HV_ELIMIT, "%s: more than %d included files", path, MAX_INCLUDED);
    if (!(seen->paths[seen->n] = strdup(real)))
        return HV_ENOMEM;
    seen->n++;
    char *text;
    size_t len;
    int rc = read_all(real, &text, &len);
    if (rc)
        return hv_error_set(rc, "cannot read %s", path);
    sha_item(s, "source", name, strlen(name));
    sha_item(s, "bytes", text, len);
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", real);
    *strrchr(dir, '/') = '\0';
    for (char *line = text; line && *line && !rc; line = strchr(line, '\n'), line += !!line) {
        char *p = line + strspn(line, " \t");
        if (*p != '#')
            continue;
        p += 1 + strspn(p + 1, " \t");
        if (strncmp(p, "include", 7) != 0)
            continue;
        p += 7 + strspn(p + 7, " \t");
        if (*p != '"')
            continue;
        size_t n = strcspn(p + 1, "\"\n");
        if (p[1 + n] != '"' || n == 0 || n >= 256)
            continue;
        char inc[2 * PATH_MAX], incname[2 * PATH_MAX];
        snprintf(incname, sizeof incname, "%s/%.*s", name, (int)n, p + 1);
        snprintf(inc, sizeof inc, "%s/%.*s", dir, (int)n, p + 1);
        if (access(inc, R_OK) != 0)
            snprintf(inc, sizeof inc, "%s/%.*s", GUEST_LIB_DIR, (int)n, p + 1);
        if (access(inc, R_OK) == 0)
            rc = hash_source(s, seen, inc, incname);
    }
    free(text);
    return rc;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file under root/rel, in name order, hashed with its path relative to root. */
static int hash_tree(struct sha256 *s, const char *root, const char *rel)
{
    char dirpath[PATH_MAX];
    snprintf(dirpath, sizeof dirpath, "%s%s%s", root, *rel ? "/" : "", rel);
    DIR *d = opendir(dirpath);
    if (!d)
        return hv_error_set(HV_ENOENT, "cannot read the guest library at %s", dirpath);
    char **names = NULL;
    size_t n = 0;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char **nn = realloc(names, (n + 1) * sizeof *nn);
        if (!nn || !(nn[n] = strdup(e->d_name))) {
            names = nn ? nn : names;
            rc = HV_ENOMEM;
            break;
        }
        names = nn;
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof *names, name_cmp);
    for (size_t i = 0; i < n && !rc; i++) {
        char sub[PATH_MAX], full[PATH_MAX * 2];
        snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", names[i]);
        snprintf(full, sizeof full, "%s/%s", root, sub);
        struct stat st;
        if (stat(full, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            rc = hash_tree(s, root, sub);
        else if (S_ISREG(st.st_mode))
            rc = hash_file(s, "lib", sub, full);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

int guest_cache_key(enum hv_arch arch, const char *src, char key[65])
{
    char recipe[4096];
    int rc = guest_build_recipe(arch, recipe, sizeof recipe);
    if (rc)
        return rc;
    struct sha256 s;
    struct seen seen = { .n = 0 };
    sha_init(&s);
    sha_item(&s, "hvsim guest cache", "1", 1);
    sha_item(&s, "recipe", recipe, strlen(recipe));
    const char *tv = tools_versions();
    sha_item(&s, "tools", tv, strlen(tv));
    const char *base = strrchr(src, '/');
    rc = hash_source(&s, &seen, src, base ? base + 1 : src);
    if (!rc)
        rc = hash_tree(&s, GUEST_LIB_DIR, "");
    for (size_t i = 0; i < seen.n; i++)
        free(seen.paths[i]);
    if (!rc)
        sha_final_hex(&s, key);
    return rc;
}

/* ---- the cache --------------------------------------------------------------------------- */

void guest_cache_dir(char *buf, size_t size)
{
    const char *v = getenv("HVSIM_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME"),
               *home = getenv("HOME");
    if (v && *v)
        snprintf(buf, size, "%s", strcmp(v, "off") == 0 ? "" : v);
    else if (xdg && *xdg == '/')
        snprintf(buf, size, "%s/hvsim/guests", xdg);
    else if (home && *home == '/')
        snprintf(buf, size, "%s/.cache/hvsim/guests", home);
    else if (size)
        buf[0] = '\0';
}

/* mkdir -p; 0 when the folder exists at the end. */
static int make_dirs(const char *path)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s", path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST)
            return -1;
        *s = '/';
    }
    return mkdir(p, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

int guest_cache_build(enum hv_arch arch, const char *src, void **elf, size_t *len, bool *hit,
                      char *log, size_t logsize)
{
    char dir[PATH_MAX - 200], key[65], entry[PATH_MAX], tmpdir[PATH_MAX];
    *hit = false;
    if (logsize)
        log[0] = '\0';
    guest_cache_dir(dir, sizeof dir);
    bool cached = dir[0] && guest_cache_key(arch, src, key) == 0;
    if (cached) {
        snprintf(entry, sizeof entry, "%s/%s.elf", dir, key);
        char *data;
        if (read_all(entry, &data, len) == 0) {
            *elf = data;
            *hit = true;
            return 0;
        }
    }
    /* Build in a private folder, then move the image into the cache (or just read it). */
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/hvsim-guest-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(tmpdir))
        return hv_error_set(HV_EIO, "cannot create a temporary folder: %s", strerror(errno));
    char out[PATH_MAX + 16];
    snprintf(out, sizeof out, "%s/guest.elf", tmpdir);
    int rc = guest_build(arch, src, out, log, logsize);
    if (rc == 0) {
        char *data;
        rc = read_all(out, &data, len);
        if (rc == 0) {
            *elf = data;
            if (cached && make_dirs(dir) == 0) {
                char tmp[PATH_MAX + 16];
                snprintf(tmp, sizeof tmp, "%s.%ld.tmp", entry, (long)getpid());
                FILE *f = fopen(tmp, "wb");
                bool ok = f && fwrite(data, 1, *len, f) == *len;
                if (f && fclose(f) != 0)
                    ok = false;
                if (!ok || rename(tmp, entry) != 0)
                    unlink(tmp);
            }
        } else {
            rc = hv_error_set(rc, "cannot read the built guest %s", out);
        }
    }
    unlink(out);
    rmdir(tmpdir);
    return rc;
}
