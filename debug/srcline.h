/*
 * srcline.h - a guest pc's function and source file:line, from the guest ELF a trace holds.
 *
 * Guests are built with -g (runner/guestbuild.c), so their ELF carries DWARF line tables;
 * libdw (elfutils) reads them. The function is the ELF symbol that contains the pc (a sized
 * STT_FUNC symbol, else the nearest symbol before it in the same executable section, which
 * covers labels of assembly files); the file and line are the DWARF line-table row that
 * covers the pc. File names are as the build wrote them: the guest's source relative to its
 * scenario's folder ("spinlock.c") and the guest library as "lib/..." (scenarios/lib).
 */
#ifndef HV_SRCLINE_H
#define HV_SRCLINE_H

#include <stddef.h>
#include <stdint.h>

struct srcline;

struct srcline_loc {
    char func[128];       /* "" when no symbol covers the pc */
    uint64_t func_off;    /* pc - the symbol's address */
    char file[256];       /* "" when no line-table row covers the pc */
    unsigned line;        /* 0 when file is "" */
};

/*
 * Reads the ELF image elf[0..len) (copied: the caller's buffer may go). An image without
 * DWARF still gives function names. Caller owns *out; release with srcline_close().
 * HV_EINVAL when the bytes are not an ELF file, HV_ENOMEM.
 */
int srcline_open(struct srcline **out, const void *elf, size_t len);
/* NULL is a no-op. */
void srcline_close(struct srcline *s);
/*
 * Fills *loc for pc. Returns 0 when a function or a line was found, HV_ENOENT when neither
 * (loc then holds empty strings).
 */
int srcline_lookup(struct srcline *s, uint64_t pc, struct srcline_loc *loc);
/*
 * Writes "func+0xOFF (file:line)" (or the part that is known, or "?") to buf, always
 * NUL-terminated. Returns buf.
 */
char *srcline_format(const struct srcline_loc *loc, char *buf, size_t size);

#endif
