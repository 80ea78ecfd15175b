/*
 * guestbuild.c - compiles a guest program with the guest library (clang, ld.lld).
 *
 * Each source is compiled by its own clang process, all of them at once, in a private
 * temporary folder (mkdtemp); then ld.lld links the objects in a fixed order with the arch's
 * linker script. Tools run through posix_spawnp, never a shell, with a small fixed environment
 * (PATH, TMPDIR, LC_ALL=C) so that variables such as CPATH cannot change the image.
 *
 * Determinism: clang runs in the folder of the scenario's file (for library files, in the
 * library's parent folder) and is given the file's name relative to it ("spinlock.c",
 * "lib/x86_64/setup.c"); -fdebug-compilation-dir=. and -ffile-prefix-map rewrite the remaining
 * absolute paths (the library's include folder becomes "lib"); objects are named by index.
 * Nothing of the temporary folder, the current directory or the checkout location reaches the
 * image.
 */
#include "runner/guestbuild.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MISSING_TOOLS "install clang and lld (scripts/install-deps.sh)"

static const char *const lib_x86_64[] = {
    "guest.c", "ucall.c", "printf.c", "string.c",
    "x86_64/boot.S", "x86_64/setup.c", "x86_64/paging.c", "x86_64/exception.c",
    "x86_64/modes.S", "x86_64/modes.c",
};

static const char *const lib_aarch64[] = {
    "guest.c", "ucall.c", "printf.c", "string.c",
    "aarch64/boot.S", "aarch64/setup.c", "aarch64/paging.c", "aarch64/exception.c",
};

static const char *const lib_arm[] = {
    "guest.c", "ucall.c", "printf.c", "string.c",
    "arm/boot.S", "arm/setup.c", "arm/paging.c", "arm/exception.c", "arm/aeabi.c",
};

#define MAX_SOURCES 16

struct arch_build {
    const char *target;          /* clang --target */
    const char *flags[4];        /* arch code-generation flags, NULL-terminated */
    const char *dir;             /* folder of boot code and linker script under the library */
    uint16_t machine;            /* ELF e_machine */
    uint8_t elfclass;            /* ELF EI_CLASS: 1 = 32-bit, 2 = 64-bit */
    const char *const *lib;
    size_t nlib;
};

static const struct arch_build *arch_build(enum hv_arch arch)
{
    static const struct arch_build x86_64 = {
        "x86_64-none-elf", { "-mno-red-zone", "-mgeneral-regs-only", NULL }, "x86_64",
        62 /* EM_X86_64 */, 2, lib_x86_64, sizeof lib_x86_64 / sizeof lib_x86_64[0],
    };
    static const struct arch_build aarch64 = {
        "aarch64-none-elf", { "-march=armv8-a", "-mgeneral-regs-only", NULL }, "aarch64",
        183 /* EM_AARCH64 */, 2, lib_aarch64, sizeof lib_aarch64 / sizeof lib_aarch64[0],
    };
    /* A32 code (-marm), no FP instructions at all (-mfloat-abi=soft: clang's ARM target has no
     * -mgeneral-regs-only). */
    static const struct arch_build arm = {
        "armv7a-none-eabi", { "-march=armv7-a", "-marm", "-mfloat-abi=soft", NULL }, "arm",
        40 /* EM_ARM */, 1, lib_arm, sizeof lib_arm / sizeof lib_arm[0],
    };
    switch (arch) {
    case HV_ARCH_X86_64: return &x86_64;
    case HV_ARCH_AARCH64: return &aarch64;
    case HV_ARCH_ARM: return &arm;
    default: return NULL;
    }
}

int guest_lib_sources(enum hv_arch arch, const char *const **out, size_t *n)
{
    const struct arch_build *ab = arch_build(arch);
    if (!ab)
        return HV_EUNSUPP;
    *out = ab->lib;
    *n = ab->nlib;
    return 0;
}

/* ---- log --------------------------------------------------------------------------------- */

struct log {
    char *buf;
    size_t size;
    size_t len;
};

__attribute__((format(printf, 2, 3)))
static void log_printf(struct log *lg, const char *fmt, ...)
{
    if (lg->size == 0 || lg->len + 1 >= lg->size)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(lg->buf + lg->len, lg->size - lg->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        lg->len = lg->len + (size_t)n < lg->size ? lg->len + (size_t)n : lg->size - 1;
}

/* Appends a file's text (a tool's captured output). */
static void log_file(struct log *lg, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char chunk[1024];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        log_printf(lg, "%.*s", (int)n, chunk);
    fclose(f);
}

/* Records a one-line detail for hv_error_detail() and returns err. */
static int fail(int err, const char *what, const char *src)
{
    return hv_error_set(err, "%s %s", what, src);
}

/* ---- files ------------------------------------------------------------------------------- */

static int read_whole(const char *path, uint8_t **out, size_t *len)
{
    int rc = HV_ENOENT;
    uint8_t *buf = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        goto out;
    rc = HV_EIO;
    if (fseek(f, 0, SEEK_END) != 0)
        goto out;
    long size = ftell(f);
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0)
        goto out;
    rc = HV_ENOMEM;
    buf = malloc(size > 0 ? (size_t)size : 1);
    if (!buf)
        goto out;
    rc = HV_EIO;
    if (fread(buf, 1, (size_t)size, f) != (size_t)size)
        goto out;
    *out = buf;
    *len = (size_t)size;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    if (f)
        fclose(f);
    return rc;
}

/* Writes out whole or not at all: a temporary file beside it, then rename. */
static int write_whole(const char *path, const uint8_t *data, size_t len, struct log *lg)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.XXXXXX", path) >= (int)sizeof tmp) {
        log_printf(lg, "output path too long: %s\n", path);
        return fail(HV_EINVAL, "output path too long:", path);
    }
    int fd = mkstemp(tmp);
    if (fd < 0) {
        log_printf(lg, "cannot write %s: %s\n", path, strerror(errno));
        return fail(HV_EIO, "cannot write", path);
    }
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, data + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    int saved = errno;
    if (close(fd) != 0 && done == len) {
        done = 0;
        saved = errno;
    }
    if (done != len || fchmodat(AT_FDCWD, tmp, 0644, 0) != 0 || rename(tmp, path) != 0) {
        if (done == len)
            saved = errno;
        unlink(tmp);
        log_printf(lg, "cannot write %s: %s\n", path, strerror(saved));
        return fail(HV_EIO, "cannot write", path);
    }
    return 0;
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* An .elf guest: checked (the arch's class, little-endian, the arch's machine) and copied. */
static int copy_elf(const struct arch_build *ab, const char *src, const char *out_elf,
                    struct log *lg)
{
    uint8_t *img = NULL;
    size_t len = 0;
    int rc = read_whole(src, &img, &len);
    if (rc != 0) {
        log_printf(lg, "cannot read %s: %s\n", src, strerror(errno));
        return fail(rc, "cannot read", src);
    }
    if (len < (ab->elfclass == 2 ? 64u : 52u) || memcmp(img, "\177ELF", 4) != 0 ||
        img[4] != ab->elfclass || img[5] != 1 /* ELFDATA2LSB */ ||
        (uint16_t)(img[18] | img[19] << 8) != ab->machine) {
        log_printf(lg, "%s is not a %d-bit little-endian ELF file for %s\n", src,
                   ab->elfclass == 2 ? 64 : 32, ab->dir);
        free(img);
        return fail(HV_EGUEST, "not an ELF image for this arch:", src);
    }
    rc = write_whole(out_elf, img, len, lg);
    free(img);
    return rc;
}

/* ---- processes --------------------------------------------------------------------------- */

/* The environment tools run with: PATH and TMPDIR from ours, messages untranslated. */
struct tool_env {
    char path[4096];
    char tmpdir[PATH_MAX + 8];
    char *envp[4];
};

static void tool_env_init(struct tool_env *te)
{
    size_t n = 0;
    const char *path = getenv("PATH");
    snprintf(te->path, sizeof te->path, "PATH=%s", path ? path : "/usr/bin:/bin");
    te->envp[n++] = te->path;
    const char *tmpdir = getenv("TMPDIR");
    if (tmpdir) {
        snprintf(te->tmpdir, sizeof te->tmpdir, "TMPDIR=%s", tmpdir);
        te->envp[n++] = te->tmpdir;
    }
    te->envp[n++] = "LC_ALL=C";
    te->envp[n] = NULL;
}

/*
 * Starts argv[0] (looked up in PATH) in folder cwd with stdin from /dev/null and stdout and
 * stderr into the file errpath. Returns 0 with *pid set, or the errno of the failure.
 */
static int spawn_tool(char *const argv[], const char *cwd, const char *errpath,
                      struct tool_env *te, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    int rc = posix_spawn_file_actions_init(&fa);
    if (rc != 0)
        return rc;
    if ((rc = posix_spawn_file_actions_addchdir_np(&fa, cwd)) != 0 ||
        (rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)) != 0 ||
        (rc = posix_spawn_file_actions_addopen(&fa, 2, errpath,
                                               O_WRONLY | O_CREAT | O_TRUNC, 0600)) != 0 ||
        (rc = posix_spawn_file_actions_adddup2(&fa, 2, 1)) != 0)
        goto out;
    rc = posix_spawnp(pid, argv[0], &fa, NULL, argv, te->envp);
out:
    posix_spawn_file_actions_destroy(&fa);
    return rc;
}

/* Waits for pid; true if it exited with status 0. */
static bool wait_tool(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return false;
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Reports a tool that could not be started. */
static void spawn_failed(struct log *lg, const char *tool, int err)
{
    if (err == ENOENT)
        log_printf(lg, "%s not found: " MISSING_TOOLS "\n", tool);
    else
        log_printf(lg, "cannot run %s: %s\n", tool, strerror(err));
}

/* ---- the build --------------------------------------------------------------------------- */

struct build {
    char dir[PATH_MAX];          /* the private temporary folder */
    size_t nobj;
};

static void build_path(const struct build *b, char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", b->dir, name);
}

static void build_cleanup(struct build *b)
{
    char p[PATH_MAX + 32];
    for (size_t i = 0; i < b->nobj; i++) {
        snprintf(p, sizeof p, "%s/%zu.o", b->dir, i);
        unlink(p);
        snprintf(p, sizeof p, "%s/%zu.err", b->dir, i);
        unlink(p);
    }
    build_path(b, p, sizeof p, "link.err");
    unlink(p);
    build_path(b, p, sizeof p, "guest.elf");
    unlink(p);
    rmdir(b->dir);
}

struct unit {
    const char *cwd;             /* folder clang runs in */
    const char *name;            /* source, relative to cwd */
    pid_t pid;
    bool started;
};

/* Text arguments of one compile command, owned here so argv can point into them. */
struct compile_args {
    char target[64];
    char libmap[PATH_MAX + 32];
    char cwdmap[PATH_MAX + 32];
    const char *argv[48];
};

static const char *const common[] = {
    "-ffreestanding", "-fno-builtin", "-nostdlib", "-nostdlibinc", "-fno-pic",
    "-fno-stack-protector", "-fno-asynchronous-unwind-tables", "-fno-unwind-tables",
    "-fno-common", "-O2", "-g", "-Wall", "-fdebug-compilation-dir=.",
};

static const char *const link_flags[] = {
    "-static", "-nostdlib", "--no-pie", "--build-id=none", "-z", "max-page-size=4096",
    "-z", "noexecstack",
};

int guest_build_recipe(enum hv_arch arch, char *buf, size_t size)
{
    const struct arch_build *ab = arch_build(arch);
    if (!ab)
        return HV_EUNSUPP;
    struct log lg = { buf, size, 0 };
    if (size > 0)
        buf[0] = '\0';
    log_printf(&lg, "target %s\nflags", ab->target);
    for (size_t i = 0; ab->flags[i]; i++)
        log_printf(&lg, " %s", ab->flags[i]);
    log_printf(&lg, "\ncommon");
    for (size_t i = 0; i < sizeof common / sizeof common[0]; i++)
        log_printf(&lg, " %s", common[i]);
    log_printf(&lg, "\nlink");
    for (size_t i = 0; i < sizeof link_flags / sizeof link_flags[0]; i++)
        log_printf(&lg, " %s", link_flags[i]);
    log_printf(&lg, "\nlib");
    for (size_t i = 0; i < ab->nlib; i++)
        log_printf(&lg, " %s", ab->lib[i]);
    log_printf(&lg, "\n");
    return 0;
}

/* Fills ca->argv for compiling u into obj with the library at lib. */
static void compile_argv(struct compile_args *ca, const struct arch_build *ab,
                         const struct unit *u, const char *obj, const char *lib)
{
    const char **argv = ca->argv;
    size_t n = 0;
    snprintf(ca->target, sizeof ca->target, "--target=%s", ab->target);
    snprintf(ca->libmap, sizeof ca->libmap, "-ffile-prefix-map=%s=lib", lib);
    snprintf(ca->cwdmap, sizeof ca->cwdmap, "-ffile-prefix-map=%s=.", u->cwd);
    argv[n++] = "clang";
    argv[n++] = ca->target;
    for (size_t i = 0; ab->flags[i]; i++)
        argv[n++] = ab->flags[i];
    if (has_suffix(u->name, ".c"))
        argv[n++] = "-std=c11";
    for (size_t i = 0; i < sizeof common / sizeof common[0]; i++)
        argv[n++] = common[i];
    argv[n++] = ca->libmap;
    argv[n++] = ca->cwdmap;
    argv[n++] = "-I";
    argv[n++] = lib;
    argv[n++] = "-c";
    argv[n++] = u->name;
    argv[n++] = "-o";
    argv[n++] = obj;
    argv[n] = NULL;
}

int guest_build(enum hv_arch arch, const char *src, const char *out_elf, char *log,
                size_t logsize)
{
    struct log lg = { log, logsize, 0 };
    if (logsize > 0)
        log[0] = '\0';

    const struct arch_build *ab = arch_build(arch);
    if (!ab) {
        log_printf(&lg, "the guest library does not support arch %s yet\n", hv_arch_name(arch));
        return fail(HV_EUNSUPP, "no guest library for arch", hv_arch_name(arch));
    }
    if (has_suffix(src, ".elf"))
        return copy_elf(ab, src, out_elf, &lg);
    if (!has_suffix(src, ".c") && !has_suffix(src, ".S") && !has_suffix(src, ".s")) {
        log_printf(&lg, "%s: a guest must be a .c, .S, .s or .elf file\n", src);
        return fail(HV_EGUEST, "unknown guest file type:", src);
    }

    int rc;
    struct build b = { .nobj = 0 };
    struct unit units[MAX_SOURCES + 1];
    size_t nunits = 0;
    char lib[PATH_MAX], srcabs[PATH_MAX], srcdir[PATH_MAX];
    struct tool_env te;
    tool_env_init(&te);

    if (!realpath(src, srcabs)) {
        log_printf(&lg, "cannot read %s: %s\n", src, strerror(errno));
        return fail(HV_ENOENT, "cannot read", src);
    }
    if (!realpath(GUEST_LIB_DIR, lib)) {
        log_printf(&lg, "guest library not found at %s: %s\n", GUEST_LIB_DIR, strerror(errno));
        return fail(HV_ENOENT, "guest library not found at", GUEST_LIB_DIR);
    }
    char *slash = strrchr(srcabs, '/');
    size_t dirlen = slash == srcabs ? 1 : (size_t)(slash - srcabs);
    memcpy(srcdir, srcabs, dirlen);
    srcdir[dirlen] = '\0';

    const char *tmp = getenv("TMPDIR");
    char tmpl[PATH_MAX];
    snprintf(tmpl, sizeof tmpl, "%s/hvsim-guest-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(tmpl) || !realpath(tmpl, b.dir)) {
        log_printf(&lg, "cannot create a temporary folder from %s: %s\n", tmpl, strerror(errno));
        return fail(HV_EIO, "cannot create a temporary folder for", src);
    }

    /*
     * Library sources compile from the library's parent folder, as "lib/x86_64/setup.c" and
     * so on: the names their assertions and debug information carry.
     */
    char libparent[PATH_MAX], libnames[MAX_SOURCES][256];
    const char *libbase = strrchr(lib, '/') + 1;
    snprintf(libparent, sizeof libparent, "%.*s", (int)(libbase - 1 - lib), lib);
    if (!libparent[0])
        strcpy(libparent, "/");
    for (size_t i = 0; i < ab->nlib; i++) {
        snprintf(libnames[i], sizeof libnames[i], "%s/%s", libbase, ab->lib[i]);
        units[nunits++] = (struct unit){ libparent, libnames[i], 0, false };
    }
    units[nunits++] = (struct unit){ srcdir, slash + 1, 0, false };
    b.nobj = nunits;

    /* Compile every unit at once. */
    rc = 0;
    for (size_t i = 0; i < nunits && rc == 0; i++) {
        char obj[PATH_MAX + 32], err[PATH_MAX + 32], name[32];
        struct compile_args ca;
        snprintf(name, sizeof name, "%zu.o", i);
        build_path(&b, obj, sizeof obj, name);
        snprintf(name, sizeof name, "%zu.err", i);
        build_path(&b, err, sizeof err, name);
        compile_argv(&ca, ab, &units[i], obj, lib);
        int e = spawn_tool((char *const *)ca.argv, units[i].cwd, err, &te, &units[i].pid);
        if (e != 0) {
            spawn_failed(&lg, "clang", e);
            rc = HV_EGUEST;
        } else {
            units[i].started = true;
        }
    }
    bool compiled = rc == 0;
    for (size_t i = 0; i < nunits; i++) {
        if (units[i].started && !wait_tool(units[i].pid))
            compiled = false;
    }
    /* Messages in source order: the scenario's own file last. */
    for (size_t i = 0; i < nunits; i++) {
        char err[PATH_MAX + 32], name[32];
        snprintf(name, sizeof name, "%zu.err", i);
        build_path(&b, err, sizeof err, name);
        if (units[i].started)
            log_file(&lg, err);
    }
    if (!compiled) {
        rc = fail(HV_EGUEST, "compiling failed:", src);
        goto out;
    }

    /* Link. */
    {
        char script[PATH_MAX + 32], elf[PATH_MAX + 32], err[PATH_MAX + 32];
        char objs[MAX_SOURCES + 1][PATH_MAX + 32];
        const char *argv[32 + MAX_SOURCES];
        size_t n = 0;
        snprintf(script, sizeof script, "%s/%s/guest.ld", lib, ab->dir);
        build_path(&b, elf, sizeof elf, "guest.elf");
        build_path(&b, err, sizeof err, "link.err");
        argv[n++] = "ld.lld";
        for (size_t i = 0; i < sizeof link_flags / sizeof link_flags[0]; i++)
            argv[n++] = link_flags[i];
        argv[n++] = "-T";
        argv[n++] = script;
        argv[n++] = "-o";
        argv[n++] = elf;
        for (size_t i = 0; i < nunits; i++) {
            char name[32];
            snprintf(name, sizeof name, "%zu.o", i);
            build_path(&b, objs[i], sizeof objs[i], name);
            argv[n++] = objs[i];
        }
        argv[n] = NULL;
        pid_t pid;
        int e = spawn_tool((char *const *)argv, b.dir, err, &te, &pid);
        if (e != 0) {
            spawn_failed(&lg, "ld.lld", e);
            rc = fail(HV_EGUEST, "cannot run ld.lld for", src);
            goto out;
        }
        bool linked = wait_tool(pid);
        log_file(&lg, err);
        if (!linked) {
            rc = fail(HV_EGUEST, "linking failed:", src);
            goto out;
        }

        uint8_t *img = NULL;
        size_t len = 0;
        rc = read_whole(elf, &img, &len);
        if (rc != 0) {
            log_printf(&lg, "cannot read the linked image %s\n", elf);
            goto out;
        }
        rc = write_whole(out_elf, img, len, &lg);
        free(img);
    }

out:
    build_cleanup(&b);
    return rc;
}
