/*
 * show.c - prints a trace. The instruction at each event's pc is disassembled from the guest
 * image stored in the trace (its loadable segments, by virtual address), so `show` needs
 * nothing but the trace file.
 */
#include <elf.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli/show.h"
#include "runner/runner.h"
#include "sim/hv.h"

struct image {
    const uint8_t *data;
    size_t len;
    enum hv_arch arch;
};

/* Bytes of the image at virtual address va, or NULL. ELF64 (x86_64, aarch64) or ELF32 (arm). */
static const uint8_t *image_at(const struct image *im, uint64_t va, size_t *avail)
{
    if (im->len < EI_NIDENT)
        return NULL;
    bool is64 = im->data[EI_CLASS] == ELFCLASS64;
    if (!is64 && im->data[EI_CLASS] != ELFCLASS32)
        return NULL;
    uint64_t phoff;
    unsigned phnum;
    size_t phsize = is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
    if (is64) {
        Elf64_Ehdr eh;
        if (im->len < sizeof eh)
            return NULL;
        memcpy(&eh, im->data, sizeof eh);
        if (eh.e_phentsize != phsize)
            return NULL;
        phoff = eh.e_phoff, phnum = eh.e_phnum;
    } else {
        Elf32_Ehdr eh;
        if (im->len < sizeof eh)
            return NULL;
        memcpy(&eh, im->data, sizeof eh);
        if (eh.e_phentsize != phsize)
            return NULL;
        phoff = eh.e_phoff, phnum = eh.e_phnum;
    }
    if (phoff > im->len || (uint64_t)phnum * phsize > im->len - phoff)
        return NULL;
    for (unsigned i = 0; i < phnum; i++) {
        uint64_t type, vaddr, filesz, offset;
        if (is64) {
            Elf64_Phdr ph;
            memcpy(&ph, im->data + phoff + i * phsize, sizeof ph);
            type = ph.p_type, vaddr = ph.p_vaddr, filesz = ph.p_filesz, offset = ph.p_offset;
        } else {
            Elf32_Phdr ph;
            memcpy(&ph, im->data + phoff + i * phsize, sizeof ph);
            type = ph.p_type, vaddr = ph.p_vaddr, filesz = ph.p_filesz, offset = ph.p_offset;
        }
        if (type != PT_LOAD || va < vaddr || va - vaddr >= filesz)
            continue;
        uint64_t off = offset + (va - vaddr);
        if (off >= im->len || offset > im->len)
            return NULL;
        *avail = filesz - (va - vaddr);
        if (*avail > im->len - off)
            *avail = im->len - off;
        return im->data + off;
    }
    return NULL;
}

static void insn_text(const struct image *im, uint64_t pc, char *buf, size_t size)
{
    buf[0] = 0;
    size_t avail = 0;
    const uint8_t *p = pc ? image_at(im, pc, &avail) : NULL;
    if (!p)
        return;
    char tmp[256];
    hv_disasm(im->arch, p, avail < 16 ? avail : 16, pc, pc, 1, tmp, sizeof tmp);
    /* "> 0000000000100000: mov      rax, 1\n" -> "mov      rax, 1" */
    char *colon = strstr(tmp, ": ");
    if (!colon)
        return;
    snprintf(buf, size, "%s", colon + 2);
    buf[strcspn(buf, "\n")] = 0;
}

int show_trace(const char *path, const struct show_opts *o, FILE *out, FILE *errf)
{
    struct trace_reader *r = NULL;
    char *name = NULL, *arch = NULL, *outcome = NULL;
    void *elf = NULL;
    size_t elf_len = 0;
    int code = HV_EXIT_BADINPUT;
    int err = trace_reader_open(&r, path);
    if (err) {
        /* the reader's detail names the file already */
        if (*hv_error_detail())
            fprintf(errf, "hvsim: %s\n", hv_error_detail());
        else
            fprintf(errf, "hvsim: %s: %s\n", path, hv_strerror(err));
        return code;
    }
    struct image im = { NULL, 0, HV_ARCH_X86_64 };
    if (trace_reader_info(r, "arch", &arch) == 0)
        hv_arch_from_name(arch, &im.arch);
    if (trace_reader_blob(r, "guest.elf", &elf, &elf_len) == 0) {
        im.data = elf;
        im.len = elf_len;
    }
    bool complete = trace_reader_complete(r);
    if (!o->json) {
        trace_reader_info(r, "scenario_name", &name);
        trace_reader_info(r, "outcome", &outcome);
        char *backend = NULL, *release = NULL;
        bool real = trace_reader_info(r, "backend", &backend) == 0 && strcmp(backend, "kvm") == 0;
        if (real)
            trace_reader_info(r, "kernel_release", &release);
        fprintf(out, "trace %s: scenario %s, arch %s, %s%s%s, %" PRId64 " events%s%s%s\n", path,
                name ? name : "?", arch ? arch : "?",
                complete ? "complete" : "INCOMPLETE (the run did not finish writing it)",
                outcome ? ", outcome " : "", outcome ? outcome : "",
                trace_reader_event_count(r),
                real ? ", recorded on Linux " : "", real && release ? release : "",
                real ? " (/dev/kvm: icount not counted, pc is RIP at each exit)" : "");
        free(backend);
        free(release);
        fprintf(out, "%6s %2s %4s %12s %18s %-13s %-34s %s\n", "seq", "vm", "vcpu", "icount",
                "pc", "kind", "instruction", "detail");
    }
    if ((err = trace_reader_events_begin(r, &o->filter))) {
        fprintf(errf, "hvsim: %s: %s\n", path, hv_error_detail());
        goto out;
    }
    struct hv_event ev;
    int got;
    while ((got = trace_reader_events_next(r, &ev)) > 0) {
        if (o->nkinds && !o->kinds[ev.kind])
            continue;
        const struct hv_kind_desc *kd = hv_kind_desc(ev.kind);
        if (o->json) {
            fprintf(out, "{\"seq\":%" PRIu64 ",\"vm\":%" PRIu32 ",\"vcpu\":%d,\"icount\":%"
                         PRIu64 ",\"kind\":\"%s\",\"pc\":\"0x%" PRIx64 "\",\"detail\":%s}\n",
                    ev.seq, ev.vm, ev.vcpu, ev.icount, kd ? kd->name : "?", ev.pc, ev.detail);
            continue;
        }
        char insn[128];
        insn_text(&im, ev.pc, insn, sizeof insn);
        char pcs[24] = "-";
        if (ev.pc)
            snprintf(pcs, sizeof pcs, "0x%" PRIx64, ev.pc);
        fprintf(out, "%6" PRIu64 " %2" PRIu32 " %4d %12" PRIu64 " %18s %-13s %-34s %s\n",
                ev.seq, ev.vm, ev.vcpu, ev.icount, pcs, kd ? kd->name : "?", insn, ev.detail);
    }
    if (got < 0) {
        fprintf(errf, "hvsim: %s: %s\n", path, hv_error_detail());
        goto out;
    }
    code = 0;
out:
    trace_reader_close(r);
    free(name);
    free(arch);
    free(outcome);
    free(elf);
    return code;
}
