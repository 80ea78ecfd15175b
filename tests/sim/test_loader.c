/*
 * test_loader.c - loading ELF images into guest RAM (sim/loader.c through hv_vm_load_elf).
 *
 * Every image is built in memory: one good ELF64 file (ELF32 for arm) with two PT_LOAD
 * segments and a PT_NOTE, that the hostile rows patch field by field, so each row differs from a loadable file in one
 * way. A hostile image must give HV_EGUEST with a detail naming the problem and must not
 * change any vCPU's entry point. The good image must put its bytes at p_paddr (never p_vaddr),
 * zero the part of each segment beyond p_filesz, and set the entry of every vCPU.
 *
 * The entry is read from struct hv_vcpu (sim/sim_int.h): before the first run no public call
 * shows it.
 */
#include <CUnit/CUnit.h>
#include <elf.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "tests/test_util.h"
#include "scenarios/lib/hv_abi.h"
#include "sim/model.h"
#include "sim/sim_int.h"

void test_loader_register(void);

#define TL_N(a) (sizeof(a) / sizeof((a)[0]))

#define TL_CHECK(cond, ...) TEST_CHECK((cond), __VA_ARGS__)

/* ---- the good image ---------------------------------------------------------------------- */

/*
 * Layout: ELF header, three program headers, then the file bytes of the two PT_LOADs.
 *   text: file 0x100..0x140 -> paddr base+0x200000 (vaddr far away), memsz = filesz
 *   data: file 0x180..0x190 -> paddr base+0x300000, memsz 0x3000 (0x2ff0 bytes of bss)
 *   note: offset and size point nowhere; only PT_LOAD is read, so this is harmless
 */
#define TL_PH        sizeof(Elf64_Ehdr)
#define TL_TEXT_OFF  0x100
#define TL_TEXT_LEN  0x40
#define TL_DATA_OFF  0x180
#define TL_DATA_LEN  0x10
#define TL_DATA_MEM  0x3000
#define TL_LEN       0x200
#define TL_TEXT_PA   0x200000ULL
#define TL_DATA_PA   0x300000ULL
#define TL_ENTRY     0x200010ULL
#define TL_VA_HIGH   0xffffffff80000000ULL

struct tl_img {
    uint8_t b[TL_LEN];
    size_t len;
};

static uint8_t tl_text_byte(size_t i) { return (uint8_t)(0x11 + 3 * i); }
static uint8_t tl_data_byte(size_t i) { return (uint8_t)(0xc0 ^ i); }

static uint64_t tl_ram_base(enum hv_arch a)
{
    switch (a) {
    case HV_ARCH_X86_64: return HV_RAM_BASE_X86_64;
    case HV_ARCH_AARCH64: return HV_RAM_BASE_AARCH64;
    default: return HV_RAM_BASE_ARM;
    }
}

#define TL_VA_HIGH32 0x80000000u

/* arm: the same image as ELF32 (EM_ARM): header, three program headers, the same bytes. */
static void tl_build32(struct tl_img *img, uint32_t base)
{
    Elf32_Ehdr eh = { .e_type = ET_EXEC, .e_machine = EM_ARM, .e_version = EV_CURRENT,
                      .e_entry = base + (uint32_t)TL_ENTRY, .e_phoff = sizeof(Elf32_Ehdr),
                      .e_ehsize = sizeof(Elf32_Ehdr), .e_phentsize = sizeof(Elf32_Phdr),
                      .e_phnum = 3 };
    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS32;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    const Elf32_Phdr ph[3] = {
        { .p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_offset = TL_TEXT_OFF,
          .p_vaddr = TL_VA_HIGH32 + (uint32_t)TL_TEXT_PA, .p_paddr = base + (uint32_t)TL_TEXT_PA,
          .p_filesz = TL_TEXT_LEN, .p_memsz = TL_TEXT_LEN, .p_align = 0x1000 },
        { .p_type = PT_LOAD, .p_flags = PF_R | PF_W, .p_offset = TL_DATA_OFF,
          .p_vaddr = TL_VA_HIGH32 + (uint32_t)TL_DATA_PA, .p_paddr = base + (uint32_t)TL_DATA_PA,
          .p_filesz = TL_DATA_LEN, .p_memsz = TL_DATA_MEM, .p_align = 0x1000 },
        { .p_type = PT_NOTE, .p_offset = UINT32_MAX - 4, .p_paddr = UINT32_MAX - 4,
          .p_filesz = UINT32_MAX, .p_memsz = 1 },
    };
    memcpy(img->b, &eh, sizeof eh);
    memcpy(img->b + sizeof eh, ph, sizeof ph);
}

static void tl_build64(struct tl_img *img, enum hv_arch arch, uint64_t base)
{
    Elf64_Ehdr eh = { .e_type = ET_EXEC,
                      .e_machine = arch == HV_ARCH_X86_64 ? EM_X86_64 : EM_AARCH64,
                      .e_version = EV_CURRENT, .e_entry = base + TL_ENTRY, .e_phoff = TL_PH,
                      .e_ehsize = sizeof(Elf64_Ehdr), .e_phentsize = sizeof(Elf64_Phdr),
                      .e_phnum = 3 };
    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    const Elf64_Phdr ph[3] = {
        { .p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_offset = TL_TEXT_OFF,
          .p_vaddr = TL_VA_HIGH + TL_TEXT_PA, .p_paddr = base + TL_TEXT_PA,
          .p_filesz = TL_TEXT_LEN, .p_memsz = TL_TEXT_LEN, .p_align = 0x1000 },
        { .p_type = PT_LOAD, .p_flags = PF_R | PF_W, .p_offset = TL_DATA_OFF,
          .p_vaddr = TL_VA_HIGH + TL_DATA_PA, .p_paddr = base + TL_DATA_PA,
          .p_filesz = TL_DATA_LEN, .p_memsz = TL_DATA_MEM, .p_align = 0x1000 },
        { .p_type = PT_NOTE, .p_offset = UINT64_MAX - 4, .p_paddr = UINT64_MAX - 4,
          .p_filesz = UINT64_MAX, .p_memsz = 1 },
    };
    memcpy(img->b, &eh, sizeof eh);
    memcpy(img->b + TL_PH, ph, sizeof ph);
}

static void tl_build(struct tl_img *img, enum hv_arch arch)
{
    uint64_t base = tl_ram_base(arch);
    memset(img, 0, sizeof *img);
    if (arch == HV_ARCH_ARM)
        tl_build32(img, (uint32_t)base);
    else
        tl_build64(img, arch, base);
    for (size_t i = 0; i < TL_TEXT_LEN; i++)
        img->b[TL_TEXT_OFF + i] = tl_text_byte(i);
    for (size_t i = 0; i < TL_DATA_LEN; i++)
        img->b[TL_DATA_OFF + i] = tl_data_byte(i);
    img->len = TL_LEN;
}

/* ---- VMs --------------------------------------------------------------------------------- */

/* A VM of model `none` (16 MiB of RAM at the arch's base) with two vCPUs, or NULL. */
static struct hv_vm *tl_vm_raw(enum hv_arch arch)
{
    struct hv_vm_config cfg = { .arch = arch, .nr_vcpus = 2, .seed = 1, .quantum = 100,
                                .limit = 1000, .model = hv_model_lookup("none") };
    struct hv_vm *vm = NULL;
    if (!cfg.model || hv_vm_create(&vm, &cfg))
        return NULL;
    return vm;
}

static struct hv_vm *tl_vm(enum hv_arch arch)
{
    struct hv_vm *vm = tl_vm_raw(arch);
    TL_CHECK(vm != NULL, "creating a %s VM: %s", hv_arch_name(arch), hv_error_detail());
    return vm;
}

static int tl_load_raw(struct hv_vm *vm, const void *img, size_t len)
{
    hv_error_set(0, "%s", "");
    return hv_vm_load_elf(vm, img, len);
}

static void tl_load(struct hv_vm *vm, const void *img, size_t len)
{
    int err = tl_load_raw(vm, img, len);
    TL_CHECK(err == 0, "load: %s (%s)", hv_err_name(err), hv_error_detail());
}

/* ---- hostile images ---------------------------------------------------------------------- */

#define EH(f)  offsetof(Elf64_Ehdr, f)
#define PH0(f) (TL_PH + offsetof(Elf64_Phdr, f))
#define PH1(f) (TL_PH + sizeof(Elf64_Phdr) + offsetof(Elf64_Phdr, f))
#define PH2(f) (TL_PH + 2 * sizeof(Elf64_Phdr) + offsetof(Elf64_Phdr, f))
#define RAM_END (16ULL << 20)  /* model none's default RAM size */
/* the ELF32 (arm) image */
#define EH32(f)  offsetof(Elf32_Ehdr, f)
#define PH32_0(f) (sizeof(Elf32_Ehdr) + offsetof(Elf32_Phdr, f))
#define PH32_1(f) (sizeof(Elf32_Ehdr) + sizeof(Elf32_Phdr) + offsetof(Elf32_Phdr, f))

struct tl_patch {
    size_t off;      /* 0 with width 0: no patch */
    unsigned width;  /* bytes, little-endian */
    uint64_t value;
};

static const struct {
    const char *name;
    enum hv_arch arch;
    struct tl_patch p[3];
    long len;        /* < 0: the image's own length */
    const char *detail;  /* part of hv_error_detail() */
} tl_hostile[] = {
    { "empty file", HV_ARCH_X86_64, { { 0 } }, 0, "not an ELF" },
    { "shorter than e_ident", HV_ARCH_X86_64, { { 0 } }, EI_NIDENT - 1, "not an ELF" },
    { "bad magic", HV_ARCH_X86_64, { { EH(e_ident) + 1, 1, 'X' } }, -1, "not an ELF" },
    { "wrong class (ELF32 for x86_64)", HV_ARCH_X86_64,
      { { EH(e_ident) + EI_CLASS, 1, ELFCLASS32 } }, -1, "class" },
    { "no class", HV_ARCH_X86_64, { { EH(e_ident) + EI_CLASS, 1, ELFCLASSNONE } }, -1,
      "class" },
    { "big-endian", HV_ARCH_X86_64, { { EH(e_ident) + EI_DATA, 1, ELFDATA2MSB } }, -1,
      "little-endian" },
    { "truncated ELF header", HV_ARCH_X86_64, { { 0 } }, sizeof(Elf64_Ehdr) - 1,
      "truncated" },
    { "aarch64 machine on x86_64", HV_ARCH_X86_64, { { EH(e_machine), 2, EM_AARCH64 } }, -1,
      "machine" },
    { "i386 machine on x86_64", HV_ARCH_X86_64, { { EH(e_machine), 2, EM_386 } }, -1,
      "machine" },
    { "x86_64 machine on aarch64", HV_ARCH_AARCH64, { { EH(e_machine), 2, EM_X86_64 } }, -1,
      "machine" },
    { "phentsize not Elf64_Phdr", HV_ARCH_X86_64, { { EH(e_phentsize), 2, 32 } }, -1,
      "program header" },
    { "phoff past the end", HV_ARCH_X86_64, { { EH(e_phoff), 8, TL_LEN + 8 } }, -1,
      "program header" },
    { "phoff at the end", HV_ARCH_X86_64, { { EH(e_phoff), 8, TL_LEN } }, -1,
      "program header" },
    { "phoff near 2^64", HV_ARCH_X86_64, { { EH(e_phoff), 8, UINT64_MAX - 8 } }, -1,
      "program header" },
    { "phnum overflowing the file", HV_ARCH_X86_64, { { EH(e_phnum), 2, 0xffff } }, -1,
      "program header" },
    { "program headers cut by the file's end", HV_ARCH_X86_64, { { 0 } }, TL_PH + 100,
      "program header" },
    { "segment offset beyond the file", HV_ARCH_X86_64,
      { { PH1(p_offset), 8, TL_LEN + 1 } }, -1, "exceeds the file" },
    { "segment offset near 2^64", HV_ARCH_X86_64, { { PH1(p_offset), 8, UINT64_MAX } }, -1,
      "exceeds the file" },
    { "filesz beyond the file", HV_ARCH_X86_64,
      { { PH1(p_filesz), 8, TL_LEN - TL_DATA_OFF + 1 }, { PH1(p_memsz), 8, 0x10000 } }, -1,
      "exceeds the file" },
    { "offset + filesz wrapping", HV_ARCH_X86_64,
      { { PH1(p_filesz), 8, UINT64_MAX - TL_DATA_OFF + 2 }, { PH1(p_memsz), 8, UINT64_MAX } },
      -1, "exceeds the file" },
    { "filesz > memsz", HV_ARCH_X86_64, { { PH0(p_memsz), 8, TL_TEXT_LEN - 1 } }, -1,
      "ELF segment" },
    { "paddr + memsz wrapping", HV_ARCH_X86_64,
      { { PH1(p_paddr), 8, UINT64_MAX - 0xfff }, { PH1(p_memsz), 8, 0x2000 } }, -1,
      "wraps" },
    { "paddr + memsz wrapping to 0", HV_ARCH_X86_64,
      { { PH1(p_paddr), 8, UINT64_MAX - 0xfff }, { PH1(p_memsz), 8, 0x1000 } }, -1,
      "wraps" },
    { "segment above guest RAM", HV_ARCH_X86_64, { { PH0(p_paddr), 8, 0x2000000 } }, -1,
      "is not RAM. Guest RAM is " },
    { "segment across the end of guest RAM", HV_ARCH_X86_64,
      { { PH1(p_paddr), 8, RAM_END - 0x1000 } }, -1, "is not RAM. Guest RAM is " },
    { "segment below aarch64 guest RAM", HV_ARCH_AARCH64, { { PH0(p_paddr), 8, 0x1000 } }, -1,
      "is not RAM. Guest RAM is " },
    { "no PT_LOAD (all PT_NOTE)", HV_ARCH_X86_64,
      { { PH0(p_type), 4, PT_NOTE }, { PH1(p_type), 4, PT_NOTE } }, -1, "no loadable" },
    { "no program headers", HV_ARCH_X86_64, { { EH(e_phnum), 2, 0 } }, -1, "no loadable" },
    { "PT_LOAD only beyond phnum", HV_ARCH_X86_64,
      { { EH(e_phnum), 2, 3 }, { PH0(p_type), 4, PT_NULL }, { PH1(p_type), 4, PT_DYNAMIC } },
      -1, "no loadable" },
    /* arm: ELF32 */
    { "ELF64 class on arm", HV_ARCH_ARM, { { EH32(e_ident) + EI_CLASS, 1, ELFCLASS64 } }, -1,
      "class" },
    { "ELF32 class on aarch64", HV_ARCH_AARCH64, { { EH(e_ident) + EI_CLASS, 1, ELFCLASS32 } },
      -1, "class" },
    { "truncated ELF32 header", HV_ARCH_ARM, { { 0 } }, sizeof(Elf32_Ehdr) - 1, "truncated" },
    { "x86_64 machine on arm", HV_ARCH_ARM, { { EH32(e_machine), 2, EM_X86_64 } }, -1,
      "machine" },
    { "aarch64 machine on arm", HV_ARCH_ARM, { { EH32(e_machine), 2, EM_AARCH64 } }, -1,
      "machine" },
    { "phentsize not Elf32_Phdr", HV_ARCH_ARM, { { EH32(e_phentsize), 2, 56 } }, -1,
      "program header" },
    { "ELF32 phoff past the end", HV_ARCH_ARM, { { EH32(e_phoff), 4, TL_LEN + 4 } }, -1,
      "program header" },
    { "ELF32 segment offset beyond the file", HV_ARCH_ARM,
      { { PH32_1(p_offset), 4, TL_LEN + 1 } }, -1, "exceeds the file" },
    { "ELF32 filesz > memsz", HV_ARCH_ARM, { { PH32_0(p_memsz), 4, TL_TEXT_LEN - 1 } }, -1,
      "ELF segment" },
    { "ELF32 segment reaching past 4 GiB", HV_ARCH_ARM,
      { { PH32_1(p_paddr), 4, 0xfffff000u }, { PH32_1(p_memsz), 4, 0x2000 } }, -1,
      "is not RAM. Guest RAM is " },
    { "segment below arm guest RAM", HV_ARCH_ARM, { { PH32_0(p_paddr), 4, 0x1000 } }, -1,
      "is not RAM. Guest RAM is " },
    { "ELF32 with no PT_LOAD", HV_ARCH_ARM,
      { { PH32_0(p_type), 4, PT_NOTE }, { PH32_1(p_type), 4, PT_NOTE } }, -1, "no loadable" },
};

static void test_hostile(void)
{
    for (size_t i = 0; i < TL_N(tl_hostile); i++) {
        struct tl_img img;
        tl_build(&img, tl_hostile[i].arch);
        for (size_t k = 0; k < TL_N(tl_hostile[i].p); k++) {
            const struct tl_patch *p = &tl_hostile[i].p[k];
            for (unsigned b = 0; b < p->width; b++)
                img.b[p->off + b] = (uint8_t)(p->value >> (8 * b));
        }
        size_t len = tl_hostile[i].len < 0 ? img.len : (size_t)tl_hostile[i].len;
        struct hv_vm *vm = tl_vm(tl_hostile[i].arch);
        if (!vm)
            continue;
        for (unsigned c = 0; c < hv_vm_nr_vcpus(vm); c++)
            hv_vm_vcpu(vm, c)->entry = 0x5a5a;
        int err = tl_load_raw(vm, img.b, len);
        const char *detail = hv_error_detail();
        TL_CHECK(err == HV_EGUEST, "%s: %s, expected HV_EGUEST", tl_hostile[i].name,
                 hv_err_name(err));
        TL_CHECK(strstr(detail, tl_hostile[i].detail) != NULL, "%s: detail '%s' lacks '%s'",
                 tl_hostile[i].name, detail, tl_hostile[i].detail);
        for (unsigned c = 0; c < hv_vm_nr_vcpus(vm); c++)
            TL_CHECK(hv_vm_vcpu(vm, c)->entry == 0x5a5a, "%s: vCPU %u entry changed to 0x%"
                     PRIx64, tl_hostile[i].name, c, hv_vm_vcpu(vm, c)->entry);
        hv_vm_destroy(vm);
    }
}

/* ---- the good image ---------------------------------------------------------------------- */

static void tl_check_good(enum hv_arch arch)
{
    const char *an = hv_arch_name(arch);
    uint64_t base = tl_ram_base(arch);
    struct tl_img img;
    tl_build(&img, arch);
    struct hv_vm *vm = tl_vm(arch);
    if (!vm)
        return;
    /* dirty the RAM the data segment covers, and one page beyond it */
    uint8_t *ram = hv_vm_gpa_ptr(vm, base + TL_DATA_PA, TL_DATA_MEM + 0x1000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ram);
    memset(ram, 0xaa, TL_DATA_MEM + 0x1000);
    tl_load(vm, img.b, img.len);

    uint8_t text[TL_TEXT_LEN + 1];
    TL_CHECK(hv_vm_read_gpa(vm, base + TL_TEXT_PA, text, sizeof text) == 0, "%s: read text",
             an);
    for (size_t i = 0; i < TL_TEXT_LEN; i++)
        if (text[i] != tl_text_byte(i)) {
            TL_CHECK(false, "%s: text byte %zu at p_paddr is 0x%02x", an, i, text[i]);
            break;
        }
    TL_CHECK(text[TL_TEXT_LEN] == 0, "%s: byte after the text segment was written", an);
    for (size_t i = 0; i < TL_DATA_LEN; i++)
        if (ram[i] != tl_data_byte(i)) {
            TL_CHECK(false, "%s: data byte %zu at p_paddr is 0x%02x", an, i, ram[i]);
            break;
        }
    size_t dirty = 0;
    for (size_t i = TL_DATA_LEN; i < TL_DATA_MEM; i++)
        dirty += ram[i] != 0;
    TL_CHECK(dirty == 0, "%s: %zu bss bytes not zeroed", an, dirty);
    size_t beyond = 0;
    for (size_t i = TL_DATA_MEM; i < TL_DATA_MEM + 0x1000; i++)
        beyond += ram[i] != 0xaa;
    TL_CHECK(beyond == 0, "%s: %zu bytes beyond p_memsz changed", an, beyond);
    for (unsigned c = 0; c < hv_vm_nr_vcpus(vm); c++)
        TL_CHECK(hv_vm_vcpu(vm, c)->entry == base + TL_ENTRY, "%s: vCPU %u entry 0x%" PRIx64,
                 an, c, hv_vm_vcpu(vm, c)->entry);
    hv_vm_destroy(vm);
}

static void test_good_x86_64(void) { tl_check_good(HV_ARCH_X86_64); }
static void test_good_aarch64(void) { tl_check_good(HV_ARCH_AARCH64); }
static void test_good_arm(void) { tl_check_good(HV_ARCH_ARM); }

/* Edge cases that must load: an empty PT_LOAD, and a segment ending exactly at RAM's end. */
static void test_edges_accepted(void)
{
    static const struct {
        const char *name;
        struct tl_patch p[4];
    } rows[] = {
        { "PT_LOAD with memsz 0 anywhere",
          { { PH2(p_type), 4, PT_LOAD }, { PH2(p_offset), 8, 0 }, { PH2(p_filesz), 8, 0 },
            { PH2(p_memsz), 8, 0 } } },
        { "segment ending at the end of RAM", { { PH1(p_paddr), 8, RAM_END - TL_DATA_MEM } } },
        { "segment at GPA 0", { { PH1(p_paddr), 8, 0 } } },
        { "filesz 0, all bss", { { PH1(p_filesz), 8, 0 } } },
    };
    for (size_t i = 0; i < TL_N(rows); i++) {
        struct tl_img img;
        tl_build(&img, HV_ARCH_X86_64);
        for (size_t k = 0; k < TL_N(rows[i].p); k++)
            for (unsigned b = 0; b < rows[i].p[k].width; b++)
                img.b[rows[i].p[k].off + b] = (uint8_t)(rows[i].p[k].value >> (8 * b));
        struct hv_vm *vm = tl_vm(HV_ARCH_X86_64);
        if (!vm)
            continue;
        int err = tl_load_raw(vm, img.b, img.len);
        TL_CHECK(err == 0, "%s: %s (%s)", rows[i].name, hv_err_name(err), hv_error_detail());
        hv_vm_destroy(vm);
    }
}

/*
 * A segment over several RAM regions that touch (KVM: adjacent memslots) loads, byte for byte
 * across the seam; with a hole between them it is an error naming the segment, the first
 * address that is not RAM, the RAM layout and what to change.
 */
static void test_span(void)
{
    static const struct {
        const char *name;
        uint64_t second;     /* GPA of a second 1 MiB region after the first 16 MiB */
        const char *detail;  /* NULL: loads */
    } rows[] = {
        { "touching regions", RAM_END, NULL },
        { "a one-page hole", RAM_END + 0x1000,
          "ELF segment 1 (vaddr 0xffffffff80300000, paddr 0xfff000, 0x3000 bytes in memory) "
          "needs guest RAM over [0xfff000, 0x1002000), but 0x1000000 is not RAM. Guest RAM is "
          "[0x0, 0x1000000), [0x1001000, 0x1101000) (KVM: the usable memslots of address space "
          "0; slots that touch are one range). Give the scenario's `memory` RAM over the "
          "segment, or link the guest inside RAM" },
    };
    for (size_t i = 0; i < TL_N(rows); i++) {
        struct tl_img img;
        tl_build(&img, HV_ARCH_X86_64);
        /* the data segment's 0x3000 bytes start one page before the end of the first region */
        for (unsigned b = 0; b < 8; b++)
            img.b[PH1(p_paddr) + b] = (uint8_t)((RAM_END - 0x1000) >> (8 * b));
        struct hv_vm *vm = tl_vm(HV_ARCH_X86_64);
        if (!vm)
            continue;
        CU_ASSERT_EQUAL(hv_vm_add_ram(vm, rows[i].second, 0x100000), 0);
        uint8_t *hi = hv_vm_gpa_ptr(vm, rows[i].second, 0x100000);
        CU_ASSERT_PTR_NOT_NULL_FATAL(hi);
        memset(hi, 0xaa, 0x100000);
        int err = tl_load_raw(vm, img.b, img.len);
        if (!rows[i].detail) {
            TL_CHECK(err == 0, "%s: %s (%s)", rows[i].name, hv_err_name(err),
                     hv_error_detail());
            uint8_t got[TL_DATA_MEM];
            TL_CHECK(hv_vm_read_gpa(vm, RAM_END - 0x1000, got, sizeof got) == 0, "%s: read",
                     rows[i].name);
            size_t bad = 0;
            for (size_t k = 0; k < sizeof got; k++)
                bad += got[k] != (k < TL_DATA_LEN ? tl_data_byte(k) : 0);
            TL_CHECK(bad == 0, "%s: %zu bytes of the segment wrong across the seam",
                     rows[i].name, bad);
            TL_CHECK(hi[0x2000] == 0xaa, "%s: a byte past p_memsz changed", rows[i].name);
        } else {
            TL_CHECK(err == HV_EGUEST && strcmp(hv_error_detail(), rows[i].detail) == 0,
                     "%s: %s: '%s'", rows[i].name, hv_err_name(err), hv_error_detail());
            TL_CHECK(hi[0] == 0xaa, "%s: guest RAM changed by a refused image", rows[i].name);
        }
        hv_vm_destroy(vm);
    }
}

void test_loader_register(void)
{
    CU_pSuite s = CU_add_suite("loader", NULL, NULL);
    CU_add_test(s, "hostile images give HV_EGUEST", test_hostile);
    CU_add_test(s, "good image (x86_64)", test_good_x86_64);
    CU_add_test(s, "good image (aarch64)", test_good_aarch64);
    CU_add_test(s, "good image (arm, ELF32)", test_good_arm);
    CU_add_test(s, "edge cases that load", test_edges_accepted);
    CU_add_test(s, "segments across touching regions", test_span);
}
