/*
 * srcline.c - pc -> function and source file:line through libdw (elfutils).
 *
 * Invariants:
 *   1. s->image is the caller's ELF copied; s->elf reads it in place (elf_memory) and
 *      s->dwarf (NULL for an image without DWARF) reads s->elf. All three live until
 *      srcline_close(), in reverse order of creation.
 *   2. s->syms holds the symbols of executable sections that can name code (functions,
 *      untyped labels), nothing else; lookups scan it whole, so its order does not matter.
 */
#include <elfutils/libdw.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "debug/srcline.h"
#include "sim/hv_err.h"

struct srcline_sym {
    uint64_t addr, size;
    size_t shndx;
    const char *name;     /* borrowed from s->elf's string table */
    bool func;            /* STT_FUNC (else a label) */
};

struct srcline {
    char *image;
    Elf *elf;
    Dwarf *dwarf;
    struct srcline_sym *syms;
    size_t nsyms;
};

/* Whether section index shndx of e is code (SHF_EXECINSTR). */
static bool exec_section(Elf *e, size_t shndx)
{
    GElf_Shdr sh;
    Elf_Scn *scn = elf_getscn(e, shndx);
    return scn && gelf_getshdr(scn, &sh) && (sh.sh_flags & SHF_EXECINSTR);
}

static int read_symbols(struct srcline *s)
{
    GElf_Ehdr eh;
    if (!gelf_getehdr(s->elf, &eh))
        return HV_EINVAL;
    for (Elf_Scn *scn = elf_nextscn(s->elf, NULL); scn; scn = elf_nextscn(s->elf, scn)) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB || !sh.sh_entsize)
            continue;
        Elf_Data *data = elf_getdata(scn, NULL);
        if (!data)
            continue;
        size_t n = sh.sh_size / sh.sh_entsize;
        struct srcline_sym *grown = realloc(s->syms, (s->nsyms + n) * sizeof *grown);
        if (n && !grown)
            return HV_ENOMEM;
        s->syms = grown;
        for (size_t i = 0; i < n; i++) {
            GElf_Sym sym;
            if (!gelf_getsym(data, (int)i, &sym))
                continue;
            int type = GELF_ST_TYPE(sym.st_info);
            if ((type != STT_FUNC && type != STT_NOTYPE) || sym.st_shndx == SHN_UNDEF ||
                sym.st_shndx >= SHN_LORESERVE || !exec_section(s->elf, sym.st_shndx))
                continue;
            const char *name = elf_strptr(s->elf, sh.sh_link, sym.st_name);
            /* assembler mapping symbols ($x, $a, $d, $t) name no code */
            if (!name || !*name || name[0] == '$')
                continue;
            uint64_t addr = sym.st_value;
            if (eh.e_machine == EM_ARM && type == STT_FUNC)
                addr &= ~(uint64_t)1;   /* the Thumb bit */
            s->syms[s->nsyms++] = (struct srcline_sym){
                .addr = addr, .size = sym.st_size, .shndx = sym.st_shndx, .name = name,
                .func = type == STT_FUNC,
            };
        }
    }
    return 0;
}

int srcline_open(struct srcline **out, const void *elf, size_t len)
{
    *out = NULL;
    struct srcline *s = calloc(1, sizeof *s);
    int err = HV_ENOMEM;
    if (!s)
        return HV_ENOMEM;
    elf_version(EV_CURRENT);
    if (!(s->image = malloc(len ? len : 1)))
        goto fail;
    memcpy(s->image, elf, len);
    s->elf = elf_memory(s->image, len);
    err = HV_EINVAL;
    if (!s->elf || elf_kind(s->elf) != ELF_K_ELF)
        goto fail;
    if ((err = read_symbols(s)))
        goto fail;
    /* NULL when the image has no DWARF: names still work */
    s->dwarf = dwarf_begin_elf(s->elf, DWARF_C_READ, NULL);
    *out = s;
    return 0;
fail:
    srcline_close(s);
    return err;
}

void srcline_close(struct srcline *s)
{
    if (!s)
        return;
    if (s->dwarf)
        dwarf_end(s->dwarf);
    if (s->elf)
        elf_end(s->elf);
    free(s->syms);
    free(s->image);
    free(s);
}

/* The symbol naming pc: a sized symbol containing it, else the nearest symbol at or before
 * it when that one is an unsized label (a sized one that ends before pc does not name it). */
static const struct srcline_sym *find_symbol(const struct srcline *s, uint64_t pc)
{
    const struct srcline_sym *best = NULL;
    for (size_t i = 0; i < s->nsyms; i++) {
        const struct srcline_sym *y = &s->syms[i];
        if (y->size && pc >= y->addr && pc - y->addr < y->size)
            return y;
    }
    for (size_t i = 0; i < s->nsyms; i++) {
        const struct srcline_sym *y = &s->syms[i];
        if (y->addr > pc || (best && y->addr < best->addr))
            continue;
        /* between two symbols at one address prefer a function */
        if (best && y->addr == best->addr && (best->func || !y->func))
            continue;
        best = y;
    }
    if (best && best->size)
        return NULL;
    return best;
}

/* The line-table row covering pc, from the compile unit whose ranges contain it. */
static void find_line(struct srcline *s, uint64_t pc, struct srcline_loc *loc)
{
    if (!s->dwarf)
        return;
    Dwarf_CU *cu = NULL;
    Dwarf_Die cudie;
    uint8_t unit_type;
    Dwarf_Half version;
    while (dwarf_get_units(s->dwarf, cu, &cu, &version, &unit_type, &cudie, NULL) == 0) {
        if (dwarf_haspc(&cudie, pc) != 1)
            continue;
        Dwarf_Line *line = dwarf_getsrc_die(&cudie, pc);
        int lineno = 0;
        const char *file = line ? dwarf_linesrc(line, NULL, NULL) : NULL;
        if (!file || dwarf_lineno(line, &lineno) || lineno <= 0)
            continue;
        while (file[0] == '.' && file[1] == '/')
            file += 2;
        snprintf(loc->file, sizeof loc->file, "%s", file);
        loc->line = (unsigned)lineno;
        return;
    }
}

int srcline_lookup(struct srcline *s, uint64_t pc, struct srcline_loc *loc)
{
    memset(loc, 0, sizeof *loc);
    const struct srcline_sym *y = find_symbol(s, pc);
    if (y) {
        snprintf(loc->func, sizeof loc->func, "%s", y->name);
        loc->func_off = pc - y->addr;
    }
    find_line(s, pc, loc);
    return loc->func[0] || loc->file[0] ? 0 : HV_ENOENT;
}

char *srcline_format(const struct srcline_loc *loc, char *buf, size_t size)
{
    char fn[160] = "", fl[280] = "";
    if (loc->func[0])
        snprintf(fn, sizeof fn, loc->func_off ? "%s+0x%" PRIx64 : "%s", loc->func,
                 loc->func_off);
    if (loc->file[0])
        snprintf(fl, sizeof fl, "%s:%u", loc->file, loc->line);
    if (fn[0] && fl[0])
        snprintf(buf, size, "%s (%s)", fn, fl);
    else
        snprintf(buf, size, "%s", fn[0] ? fn : fl[0] ? fl : "?");
    return buf;
}
