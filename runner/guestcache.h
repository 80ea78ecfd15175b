/*
 * guestcache.h - a content-addressed cache of guest builds.
 *
 * A guest image depends only on its sources, the build recipe and the tools, so a build is
 * stored under the SHA-256 of exactly those: the build recipe (guest_build_recipe()), the
 * output of `clang --version` and `ld.lld --version`, the guest's file (its name and bytes)
 * with every file it includes with `#include "..."` (followed recursively, resolved as clang
 * resolves them: beside the including file, then in the guest library), and every file of
 * the guest library. `hvsim run` and `hvsim explore` build through it, so a guest is compiled
 * once per change, not once per run.
 *
 * The folder: $HVSIM_CACHE_DIR if set (the value `off` turns the cache off), else
 * $XDG_CACHE_HOME/hvsim/guests, else $HOME/.cache/hvsim/guests. Entries are written whole or
 * not at all (a temporary file, then rename), so processes may share the folder; deleting
 * the folder at any time is safe.
 */
#ifndef HV_GUESTCACHE_H
#define HV_GUESTCACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "sim/hv.h"

/* The cache folder as described above, or "" when the cache is off or no folder is known. */
void guest_cache_dir(char *buf, size_t size);

/*
 * The key of src's build for arch: 64 lowercase hex digits and a NUL. HV_ENOENT when src or
 * a file it includes cannot be read, HV_EUNSUPP for an arch without library support.
 */
int guest_cache_key(enum hv_arch arch, const char *src, char key[65]);

/*
 * The image of src for arch: from the cache when it holds the key, else built with
 * guest_build() and stored. *hit says which. Caller owns *elf (free()). log and the errors
 * are guest_build()'s; a cache that cannot be written is not an error (the build is used).
 */
int guest_cache_build(enum hv_arch arch, const char *src, void **elf, size_t *len, bool *hit,
                      char *log, size_t logsize);

#endif
