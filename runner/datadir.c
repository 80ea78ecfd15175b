/*
 * datadir.c - the data folder of an installed or a built hvsim (datadir.h).
 *
 * Resolved once, on first use, and kept: the executable does not move while it runs. Only
 * the folder of the guest library and of the scenarios depends on it; nothing of it reaches
 * a trace (guest builds rewrite the library's path to "lib", runner/guestbuild.c).
 */
#include "runner/datadir.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The installed layout: P/bin/hvsim and P/share/hvsim (CMakeLists.txt, install()). */
#define DATADIR_FROM_BIN "/../share/hvsim"

static char data[PATH_MAX];
static char scenarios[PATH_MAX + 16];
static char guest_lib[PATH_MAX + 16];

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* P/share/hvsim of the running executable P/bin/hvsim into data, if it has a guest library. */
static bool installed_dir(void)
{
    char exe[PATH_MAX], cand[PATH_MAX + 32], lib[PATH_MAX + 64];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return false;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return false;
    *slash = '\0';
    snprintf(cand, sizeof cand, "%s" DATADIR_FROM_BIN, exe);
    snprintf(lib, sizeof lib, "%s/scenarios/lib", cand);
    return is_dir(lib) && realpath(cand, data) != NULL;
}

const char *datadir_path(void)
{
    if (!data[0] && !installed_dir())
        snprintf(data, sizeof data, "%s", HVSIM_SOURCE_DIR);
    return data;
}

const char *datadir_scenarios(void)
{
    if (!scenarios[0])
        snprintf(scenarios, sizeof scenarios, "%s/scenarios", datadir_path());
    return scenarios;
}

const char *datadir_guest_lib(void)
{
    if (!guest_lib[0])
        snprintf(guest_lib, sizeof guest_lib, "%s/scenarios/lib", datadir_path());
    return guest_lib;
}
