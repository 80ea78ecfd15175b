/*
 * guestbuild.h - turns a scenario's guest program into an ELF image.
 *
 * A .c, .S or .s file is compiled with clang for the scenario's arch together with the guest
 * library (scenarios/lib: boot code, ucall, printf, paging, exceptions) and linked with ld.lld
 * using the library's linker script for that arch. An .elf file is checked (ELF64, machine of
 * the arch) and copied as is.
 *
 * Builds are deterministic: the same source and toolchain give byte-identical images, wherever
 * the source, the build's temporary folder or the current directory are (paths in the debug
 * information are rewritten to "lib/..." and source-relative names).
 */
#ifndef HV_GUESTBUILD_H
#define HV_GUESTBUILD_H

#include <stddef.h>

#include "runner/datadir.h"
#include "sim/hv.h"

/* Where the guest library's sources are: scenarios/lib of the data folder (datadir.h). */
#define GUEST_LIB_DIR datadir_guest_lib()

/*
 * Builds src into out_elf (written whole or not at all). log receives the compiler's and the
 * linker's messages (warnings too, on success), truncated to logsize, always NUL-terminated.
 * Returns 0, HV_EGUEST when the build fails or a tool is missing (log says which), HV_ENOENT
 * when src cannot be read, HV_EIO when out_elf cannot be written, HV_EUNSUPP for an arch the
 * library does not support yet.
 */
int guest_build(enum hv_arch arch, const char *src, const char *out_elf, char *log,
                size_t logsize);

/*
 * The library sources compiled for arch, relative to GUEST_LIB_DIR, in build order. Borrowed
 * (static). HV_EUNSUPP for an arch without library support.
 */
int guest_lib_sources(enum hv_arch arch, const char *const **out, size_t *n);

/*
 * The build recipe for arch as text (clang target, code-generation and common flags, link
 * flags, library sources), written to buf (truncated to size, NUL-terminated): what the guest
 * cache's key covers besides the sources and the tools' versions. HV_EUNSUPP for an arch the
 * library does not support.
 */
int guest_build_recipe(enum hv_arch arch, char *buf, size_t size);

#endif
