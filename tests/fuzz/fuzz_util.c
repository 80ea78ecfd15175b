/* fuzz_util.c - the helpers of fuzz_util.h. */
#include "tests/fuzz/fuzz_util.h"

#include <elf.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "runner/runner.h"

uint64_t fuzz_code_gpa(enum hv_arch arch)
{
    return arch == HV_ARCH_X86_64 ? 0x100000 : 0x40100000;
}

/* Little-endian stores into the image. */
static void put(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void fuzz_image(enum hv_arch arch, const uint8_t *code, size_t n, uint8_t image[256],
                size_t *len)
{
    /* x86: jmp .; aarch64: b .; arm (A32): b . */
    static const uint8_t loop_x86[] = { 0xeb, 0xfe };
    static const uint8_t loop_a64[] = { 0x00, 0x00, 0x00, 0x14 };
    static const uint8_t loop_a32[] = { 0xfe, 0xff, 0xff, 0xea };
    const uint8_t *loop = arch == HV_ARCH_X86_64 ? loop_x86
                          : arch == HV_ARCH_AARCH64 ? loop_a64 : loop_a32;
    size_t nloop = arch == HV_ARCH_X86_64 ? sizeof loop_x86 : 4;
    bool is64 = arch != HV_ARCH_ARM;
    size_t ehsize = is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
    size_t phsize = is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
    size_t off = ehsize + phsize;
    uint64_t gpa = fuzz_code_gpa(arch);
    if (n > 64)
        n = 64;
    memset(image, 0, 256);
    memcpy(image, ELFMAG, SELFMAG);
    image[EI_CLASS] = is64 ? ELFCLASS64 : ELFCLASS32;
    image[EI_DATA] = ELFDATA2LSB;
    image[EI_VERSION] = EV_CURRENT;
    if (n)
        memcpy(image + off, code, n);
    memcpy(image + off + n, loop, nloop);
    uint64_t size = n + nloop;
    unsigned machine = arch == HV_ARCH_X86_64 ? EM_X86_64
                       : arch == HV_ARCH_AARCH64 ? EM_AARCH64 : EM_ARM;
    put(image + 16, ET_EXEC, 2);                      /* e_type */
    put(image + 18, machine, 2);                      /* e_machine */
    put(image + 20, EV_CURRENT, 4);                   /* e_version */
    if (is64) {
        put(image + 24, gpa, 8);                      /* e_entry */
        put(image + 32, ehsize, 8);                   /* e_phoff */
        put(image + 52, ehsize, 2);                   /* e_ehsize */
        put(image + 54, phsize, 2);                   /* e_phentsize */
        put(image + 56, 1, 2);                        /* e_phnum */
        uint8_t *ph = image + ehsize;
        put(ph + 0, PT_LOAD, 4);
        put(ph + 4, PF_R | PF_X, 4);
        put(ph + 8, off, 8);                          /* p_offset */
        put(ph + 16, gpa, 8);                         /* p_vaddr */
        put(ph + 24, gpa, 8);                         /* p_paddr */
        put(ph + 32, size, 8);                        /* p_filesz */
        put(ph + 40, size, 8);                        /* p_memsz */
    } else {
        put(image + 24, gpa, 4);
        put(image + 28, ehsize, 4);
        put(image + 40, ehsize, 2);
        put(image + 42, phsize, 2);
        put(image + 44, 1, 2);
        uint8_t *ph = image + ehsize;
        put(ph + 0, PT_LOAD, 4);
        put(ph + 4, off, 4);
        put(ph + 8, gpa, 4);
        put(ph + 12, gpa, 4);
        put(ph + 16, size, 4);
        put(ph + 20, size, 4);
        put(ph + 24, PF_R | PF_X, 4);
    }
    *len = off + size;
}

struct scenario *fuzz_scenario(const char *text, size_t len)
{
    struct scenario *sc = NULL;
    struct hv_diag d;
    /* a bundled scenario's guest: lies beside it in its group's folder */
    const char *group = memmem(text, len, "model: xen", 10) ? "xen"
                        : memmem(text, len, "model: kvm", 10) ? "kvm" : "none";
    char path[1024];
    snprintf(path, sizeof path, "%s/scenarios/%s/fuzz.yaml", HVSIM_SOURCE_DIR, group);
    if (scenario_parse(&sc, path, text, len, &d))
        return NULL;
    if (runner_check(sc, &d)) {
        scenario_destroy(sc);
        return NULL;
    }
    return sc;
}

int fuzz_sink(void *ctx, const struct hv_event *ev)
{
    (void)ctx;
    (void)ev;
    return 0;
}
