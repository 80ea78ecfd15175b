/*
 * loader.c - loads a statically linked ELF image (ELF64 for x86_64/aarch64, ELF32 for arm)
 * into guest RAM: each PT_LOAD segment's file bytes at its physical address, the rest of its
 * memory size zero-filled. Every offset and size is checked against the image and against
 * guest RAM, so a hostile file is an error, never an out-of-bounds access.
 */
#include <elf.h>
#include <string.h>

#include "sim/sim_int.h"

static int want_machine(enum hv_arch a)
{
    switch (a) {
    case HV_ARCH_X86_64: return EM_X86_64;
    case HV_ARCH_AARCH64: return EM_AARCH64;
    default: return EM_ARM;
    }
}

/* Checks a segment, and copies it when write is set (a first pass checks every segment, so a
 * bad image leaves guest RAM untouched). */
static int load_segment(struct hv_vm *vm, const uint8_t *img, size_t len, uint64_t off,
                        uint64_t filesz, uint64_t memsz, uint64_t paddr, bool write)
{
    if (filesz > memsz)
        return hv_error_set(HV_EGUEST, "ELF segment at offset 0x%llx has a file size larger "
                            "than its memory size", (unsigned long long)off);
    if (off > len || filesz > len - off)
        return hv_error_set(HV_EGUEST, "ELF segment at offset 0x%llx exceeds the file",
                            (unsigned long long)off);
    if (paddr + memsz < paddr)
        return hv_error_set(HV_EGUEST, "ELF segment at 0x%llx wraps",
                            (unsigned long long)paddr);
    if (memsz == 0)
        return 0;
    uint8_t *dst = hv_vm_gpa_ptr(vm, paddr, memsz);
    if (!dst)
        return hv_error_set(HV_EGUEST,
                            "ELF segment [0x%llx, 0x%llx) is not inside guest RAM",
                            (unsigned long long)paddr, (unsigned long long)(paddr + memsz));
    if (!write)
        return 0;
    memcpy(dst, img + off, filesz);
    memset(dst + filesz, 0, memsz - filesz);
    return 0;
}

/* The fields of a program header the loader uses, from either ELF class. */
struct phdr {
    uint32_t type;
    uint64_t offset, filesz, memsz, paddr;
};

static void read_phdr(const uint8_t *img, uint64_t at, bool is64, struct phdr *out)
{
    if (is64) {
        Elf64_Phdr ph;
        memcpy(&ph, img + at, sizeof ph);
        *out = (struct phdr){ ph.p_type, ph.p_offset, ph.p_filesz, ph.p_memsz, ph.p_paddr };
    } else {
        Elf32_Phdr ph;
        memcpy(&ph, img + at, sizeof ph);
        *out = (struct phdr){ ph.p_type, ph.p_offset, ph.p_filesz, ph.p_memsz, ph.p_paddr };
    }
}

int loader_load(struct hv_vm *vm, const void *image, size_t len, uint64_t *entry)
{
    const uint8_t *img = image;
    if (len < EI_NIDENT || memcmp(img, ELFMAG, SELFMAG) != 0)
        return hv_error_set(HV_EGUEST, "not an ELF file");
    bool is64 = img[EI_CLASS] == ELFCLASS64;
    if (img[EI_DATA] != ELFDATA2LSB)
        return hv_error_set(HV_EGUEST, "ELF file is not little-endian");
    if (is64 != (vm->arch != HV_ARCH_ARM))
        return hv_error_set(HV_EGUEST, "ELF class does not match arch %s",
                            hv_arch_name(vm->arch));
    uint64_t phoff, e_entry;
    unsigned machine, phnum, phentsize;
    size_t want_phentsize;
    if (is64) {
        Elf64_Ehdr eh;
        if (len < sizeof eh)
            return hv_error_set(HV_EGUEST, "truncated ELF header");
        memcpy(&eh, img, sizeof eh);
        machine = eh.e_machine, phoff = eh.e_phoff, phnum = eh.e_phnum;
        phentsize = eh.e_phentsize, e_entry = eh.e_entry;
        want_phentsize = sizeof(Elf64_Phdr);
    } else {
        Elf32_Ehdr eh;
        if (len < sizeof eh)
            return hv_error_set(HV_EGUEST, "truncated ELF header");
        memcpy(&eh, img, sizeof eh);
        machine = eh.e_machine, phoff = eh.e_phoff, phnum = eh.e_phnum;
        phentsize = eh.e_phentsize, e_entry = eh.e_entry;
        want_phentsize = sizeof(Elf32_Phdr);
    }
    if (machine != (unsigned)want_machine(vm->arch))
        return hv_error_set(HV_EGUEST, "ELF machine %u does not match arch %s", machine,
                            hv_arch_name(vm->arch));
    if (phentsize != want_phentsize || phoff > len ||
        (uint64_t)phnum * want_phentsize > len - phoff)
        return hv_error_set(HV_EGUEST, "bad ELF program header table");
    int loaded = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (unsigned i = 0; i < phnum; i++) {
            struct phdr ph;
            read_phdr(img, phoff + (uint64_t)i * want_phentsize, is64, &ph);
            if (ph.type != PT_LOAD)
                continue;
            int err = load_segment(vm, img, len, ph.offset, ph.filesz, ph.memsz, ph.paddr,
                                   pass == 1);
            if (err)
                return err;
            loaded += pass;
        }
    }
    if (!loaded)
        return hv_error_set(HV_EGUEST, "ELF file has no loadable segment");
    *entry = e_entry;
    return 0;
}
