/*
 * loader.c - loads a statically linked ELF image (ELF64 for x86_64/aarch64, ELF32 for arm)
 * into guest RAM: each PT_LOAD segment's file bytes at its physical address, the rest of its
 * memory size zero-filled. A segment may span several RAM regions that touch (KVM: adjacent
 * memslots). Every offset and size is checked against the image and against guest RAM, so a
 * hostile file is an error, never an out-of-bounds access; a segment outside RAM is an error
 * that names it, the RAM layout and what to change.
 */
#include <elf.h>
#include <inttypes.h>
#include <stdio.h>
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

/* The fields of a program header the loader uses, from either ELF class. */
struct phdr {
    uint32_t type;
    uint64_t offset, filesz, memsz, paddr, vaddr;
};

/* The end of the RAM that runs without a hole from gpa (gpa itself if it is not RAM): regions
 * that touch count as one, so a segment may span several of them (KVM: adjacent memslots). */
static uint64_t ram_end(struct hv_vm *vm, uint64_t gpa)
{
    struct hv_region *r;
    while ((r = vm_region_find(vm, gpa)))
        gpa = r->gpa + r->size;
    return gpa;
}

/* "[a, b), [c, d)": the guest RAM layout, for a message. */
static void ram_layout(const struct hv_vm *vm, char *buf, size_t size)
{
    size_t l = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < vm->nregions && l < size; i++)
        l += (size_t)snprintf(buf + l, size - l, "%s[0x%" PRIx64 ", 0x%" PRIx64 ")",
                              i ? ", " : "", vm->regions[i].gpa,
                              vm->regions[i].gpa + vm->regions[i].size);
    if (!vm->nregions)
        snprintf(buf, size, "empty");
}

/* Checks segment `index` (program header order), and copies it when write is set (a first
 * pass checks every segment, so a bad image leaves guest RAM untouched). */
static int load_segment(struct hv_vm *vm, const uint8_t *img, size_t len, unsigned index,
                        const struct phdr *ph, bool write)
{
    uint64_t off = ph->offset, filesz = ph->filesz, memsz = ph->memsz, paddr = ph->paddr;
    if (filesz > memsz)
        return hv_error_set(HV_EGUEST, "ELF segment %u has a file size larger than its memory "
                            "size", index);
    if (off > len || filesz > len - off)
        return hv_error_set(HV_EGUEST, "ELF segment %u (file offset 0x%" PRIx64 ", 0x%" PRIx64
                            " bytes) exceeds the file", index, off, filesz);
    if (paddr + memsz < paddr)
        return hv_error_set(HV_EGUEST, "ELF segment %u at 0x%" PRIx64 " wraps", index, paddr);
    if (memsz == 0)
        return 0;
    uint64_t end = ram_end(vm, paddr);
    if (end < paddr + memsz) {
        char layout[512];
        ram_layout(vm, layout, sizeof layout);
        return hv_error_set(HV_EGUEST,
                            "ELF segment %u (vaddr 0x%" PRIx64 ", paddr 0x%" PRIx64 ", 0x%" PRIx64
                            " bytes in memory) needs guest RAM over [0x%" PRIx64 ", 0x%" PRIx64
                            "), but 0x%" PRIx64 " is not RAM. Guest RAM is %s (KVM: the usable "
                            "memslots of address space 0; slots that touch are one range). Give "
                            "the scenario's `memory` RAM over the segment, or link the guest "
                            "inside RAM", index, ph->vaddr, paddr, memsz, paddr, paddr + memsz,
                            end, layout);
    }
    if (!write)
        return 0;
    static const uint8_t zeros[4096];
    int err = hv_vm_write_gpa(vm, paddr, img + off, filesz);
    for (uint64_t done = filesz; !err && done < memsz;) {
        uint64_t n = memsz - done < sizeof zeros ? memsz - done : sizeof zeros;
        err = hv_vm_write_gpa(vm, paddr + done, zeros, n);
        done += n;
    }
    return err;
}

static void read_phdr(const uint8_t *img, uint64_t at, bool is64, struct phdr *out)
{
    if (is64) {
        Elf64_Phdr ph;
        memcpy(&ph, img + at, sizeof ph);
        *out = (struct phdr){ ph.p_type, ph.p_offset, ph.p_filesz, ph.p_memsz, ph.p_paddr,
                              ph.p_vaddr };
    } else {
        Elf32_Phdr ph;
        memcpy(&ph, img + at, sizeof ph);
        *out = (struct phdr){ ph.p_type, ph.p_offset, ph.p_filesz, ph.p_memsz, ph.p_paddr,
                              ph.p_vaddr };
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
            int err = load_segment(vm, img, len, i, &ph, pass == 1);
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
