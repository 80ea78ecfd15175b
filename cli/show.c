/*
 * show.c - prints a trace. The instruction at each event's pc is disassembled from the guest
 * image stored in the trace (its loadable segments, by virtual address), so `show` needs
 * nothing but the trace file.
 *
 * Lines are formatted by hand into one output buffer, and each pc is disassembled once (one
 * Capstone handle for the whole listing, and a table of the pcs already seen): printf and a
 * Capstone handle per event cost ten times the rest of the work.
 */
#include <elf.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli/show.h"
#include "narrate/explain.h"
#include "runner/runner.h"
#include "sim/hv.h"
#include "trace/json.h"

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

/* pc -> its instruction's text, each pc disassembled once. Open addressing on the pc. */
struct insn_cache {
    struct hv_disasm *dis;      /* NULL when Capstone would not open: no instruction text */
    const struct image *im;
    uint64_t *pcs;              /* [nslots]; 0 is empty (pc 0 has no instruction shown) */
    char (*text)[64];           /* [nslots]; longer texts are cut, as before */
    size_t nslots, used;
};

static int cache_grow(struct insn_cache *c)
{
    size_t n = c->nslots ? c->nslots * 2 : 1024;
    uint64_t *pcs = calloc(n, sizeof *pcs);
    char (*text)[64] = malloc(n * sizeof *text);
    if (!pcs || !text) {
        free(pcs);
        free(text);
        return -1;
    }
    for (size_t i = 0; i < c->nslots; i++) {
        if (!c->pcs[i])
            continue;
        size_t j = (size_t)(c->pcs[i] * 0x9e3779b97f4a7c15u >> 32) & (n - 1);
        while (pcs[j])
            j = (j + 1) & (n - 1);
        pcs[j] = c->pcs[i];
        memcpy(text[j], c->text[i], sizeof text[j]);
    }
    free(c->pcs);
    free(c->text);
    c->pcs = pcs;
    c->text = text;
    c->nslots = n;
    return 0;
}

/* The instruction at pc as "mnemonic operands", or "" when the image has no byte there. */
static const char *insn_text(struct insn_cache *c, uint64_t pc)
{
    if (!pc || !c->dis)
        return "";
    if (c->used * 2 >= c->nslots && cache_grow(c))
        return "";
    size_t i = (size_t)(pc * 0x9e3779b97f4a7c15u >> 32) & (c->nslots - 1);
    while (c->pcs[i] && c->pcs[i] != pc)
        i = (i + 1) & (c->nslots - 1);
    if (c->pcs[i])
        return c->text[i];
    size_t avail = 0;
    const uint8_t *p = image_at(c->im, pc, &avail);
    c->text[i][0] = 0;
    if (p)
        hv_disasm_insn(c->dis, p, avail < 16 ? avail : 16, pc, c->text[i], sizeof c->text[i]);
    c->pcs[i] = pc;
    c->used++;
    return c->text[i];
}

/* The output, written in blocks. */
struct out_buf {
    FILE *f;
    char buf[1 << 16];
    size_t len;
};

static void ob_flush(struct out_buf *o)
{
    fwrite(o->buf, 1, o->len, o->f);
    o->len = 0;
}

static inline void ob_put(struct out_buf *o, const char *s, size_t n)
{
    if (sizeof o->buf - o->len < n) {
        ob_flush(o);
        if (n > sizeof o->buf) {
            fwrite(s, 1, n, o->f);
            return;
        }
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

/* width - n spaces, when n < width. */
static void ob_pad(struct out_buf *o, size_t n, size_t width)
{
    static const char spaces[] = "                                        ";
    while (n < width) {
        size_t k = width - n < sizeof spaces - 1 ? width - n : sizeof spaces - 1;
        ob_put(o, spaces, k);
        n += k;
    }
}

/* s left-aligned in at least width columns (printf's %-Ns). */
static void ob_left(struct out_buf *o, const char *s, size_t width)
{
    size_t n = strlen(s);
    ob_put(o, s, n);
    ob_pad(o, n, width);
}

/* s right-aligned in at least width columns (printf's %Ns). */
static void ob_right(struct out_buf *o, const char *s, size_t n, size_t width)
{
    ob_pad(o, n, width);
    ob_put(o, s, n);
}

/* v in decimal (base 10) or hex (base 16, with "0x") into the end of tmp; returns its start. */
static char *num_text(char *end, uint64_t v, bool neg, unsigned base)
{
    static const char digits[] = "0123456789abcdef";
    char *p = end;
    uint64_t u = neg ? 0 - v : v;
    do
        *--p = digits[u % base];
    while (u /= base);
    if (base == 16) {
        *--p = 'x';
        *--p = '0';
    }
    if (neg)
        *--p = '-';
    return p;
}

static void ob_num(struct out_buf *o, uint64_t v, bool neg, unsigned base, size_t width)
{
    char tmp[24];
    char *p = num_text(tmp + sizeof tmp, v, neg, base);
    ob_right(o, p, (size_t)(tmp + sizeof tmp - p), width);
}

static void ob_put_cb(void *ctx, const char *s, size_t n)
{
    ob_put(ctx, s, n);
}

/* The reader checked that ev->detail is JSON; its strings may hold bytes that are not UTF-8
 * (what a guest printed), which become \ufffd so that every line parses. */
static void put_json(struct out_buf *o, const struct hv_event *ev, const char *kind)
{
    ob_put(o, "{\"seq\":", 7);
    ob_num(o, ev->seq, false, 10, 0);
    ob_put(o, ",\"vm\":", 6);
    ob_num(o, ev->vm, false, 10, 0);
    ob_put(o, ",\"vcpu\":", 8);
    ob_num(o, (uint64_t)(int64_t)ev->vcpu, ev->vcpu < 0, 10, 0);
    ob_put(o, ",\"icount\":", 10);
    ob_num(o, ev->icount, false, 10, 0);
    ob_put(o, ",\"kind\":\"", 9);
    ob_put(o, kind, strlen(kind));
    ob_put(o, "\",\"pc\":\"", 8);
    ob_num(o, ev->pc, false, 16, 0);
    ob_put(o, "\",\"detail\":", 11);
    json_utf8(ev->detail, ev->detail_len, ob_put_cb, o);
    ob_put(o, "}\n", 2);
}

/* One line: seq, vm, vcpu, icount, pc, kind, instruction, detail (the columns of the header). */
static void put_text(struct out_buf *o, const struct hv_event *ev, const char *kind,
                     const char *insn)
{
    ob_num(o, ev->seq, false, 10, 6);
    ob_put(o, " ", 1);
    ob_num(o, ev->vm, false, 10, 2);
    ob_put(o, " ", 1);
    ob_num(o, (uint64_t)(int64_t)ev->vcpu, ev->vcpu < 0, 10, 4);
    ob_put(o, " ", 1);
    ob_num(o, ev->icount, false, 10, 12);
    ob_put(o, " ", 1);
    if (ev->pc)
        ob_num(o, ev->pc, false, 16, 18);
    else
        ob_right(o, "-", 1, 18);
    ob_put(o, " ", 1);
    ob_left(o, kind, 13);
    ob_put(o, " ", 1);
    ob_left(o, insn, 34);
    ob_put(o, " ", 1);
    ob_put(o, ev->detail, ev->detail_len);
    ob_put(o, "\n", 1);
}

/* The reader's error: its detail names the trace (a detail of another layer gets the path). */
int show_trace(const char *path, const struct show_opts *o, FILE *out, FILE *errf)
{
    struct trace_reader *r = NULL;
    char *name = NULL, *arch = NULL, *outcome = NULL, *status = NULL;
    void *elf = NULL;
    size_t elf_len = 0;
    int code = HV_EXIT_BADINPUT;
    struct out_buf *ob = NULL;
    int err = trace_reader_open(&r, path);
    if (err) {
        hv_error_print(errf, "hvsim", path, err);
        return code;
    }
    struct image im = { NULL, 0, HV_ARCH_X86_64 };
    if (trace_reader_info(r, "arch", &arch) == 0)
        hv_arch_from_name(arch, &im.arch);
    if (trace_reader_blob(r, "guest.elf", &elf, &elf_len) == 0) {
        im.data = elf;
        im.len = elf_len;
    }
    struct insn_cache cache = { .im = &im };
    if (!(ob = malloc(sizeof *ob))) {
        fprintf(errf, "hvsim: %s: out of memory\n", path);
        goto out;
    }
    ob->f = out;
    ob->len = 0;
    if (!o->json) {
        bool complete = trace_reader_complete(r);
        bool interrupted = trace_reader_info(r, "status", &status) == 0 &&
                           strcmp(status, "interrupted") == 0;
        trace_reader_info(r, "scenario_name", &name);
        trace_reader_info(r, "outcome", &outcome);
        char *backend = NULL, *release = NULL;
        bool real = trace_reader_info(r, "backend", &backend) == 0 && strcmp(backend, "kvm") == 0;
        if (real)
            trace_reader_info(r, "kernel_release", &release);
        /* run_info is text anyone may have edited: no control byte reaches the terminal */
        char *texts[] = { name, arch, outcome, release };
        for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++)
            for (char *c = texts[t]; c && *c; c++)
                if ((unsigned char)*c < 0x20 || *c == 0x7f)
                    *c = '?';
        fprintf(out, "trace %s: scenario %s, arch %s, %s%s%s, %" PRId64 " events%s%s%s\n", path,
                name ? name : "?", arch ? arch : "?",
                complete      ? "complete"
                : interrupted ? "INTERRUPTED (the run was stopped by a signal; every event "
                                "up to then is here)"
                              : "INCOMPLETE (the run did not finish writing it)",
                outcome ? ", outcome " : "", outcome ? outcome : "",
                trace_reader_event_count(r),
                real ? ", recorded on Linux " : "", real && release ? release : "",
                real ? " (/dev/kvm: icount not counted, pc is RIP at each exit)" : "");
        free(backend);
        free(release);
        if (!o->explain)
            fprintf(out, "%6s %2s %4s %12s %18s %-13s %-34s %s\n", "seq", "vm", "vcpu",
                    "icount", "pc", "kind", "instruction", "detail");
        /* without Capstone the listing still has every event, without instructions */
        (void)hv_disasm_open(&cache.dis, im.arch);
    }
    if ((err = trace_reader_events_begin(r, &o->filter))) {
        hv_error_print(errf, "hvsim", path, err);
        goto out;
    }
    struct hv_event ev;
    int got;
    struct explainer *x = NULL;
    if (o->explain && explainer_open(&x)) {
        fprintf(errf, "hvsim: %s: out of memory\n", path);
        goto out;
    }
    ob_flush(ob);
    fflush(out);
    while ((got = trace_reader_events_next(r, &ev)) > 0) {
        if (o->nkinds && !o->kinds[ev.kind])
            continue;
        const struct hv_kind_desc *kd = hv_kind_desc(ev.kind);
        const char *kind = kd ? kd->name : "?";
        if (x)
            explain_line(x, &ev, out);
        else if (o->json)
            put_json(ob, &ev, kind);
        else
            put_text(ob, &ev, kind, insn_text(&cache, ev.pc));
    }
    explainer_close(x);
    ob_flush(ob);
    fflush(out);
    if (got < 0) {
        hv_error_print(errf, "hvsim", path, got);
        goto out;
    }
    code = 0;
out:
    trace_reader_close(r);
    hv_disasm_close(cache.dis);
    free(cache.pcs);
    free(cache.text);
    free(ob);
    free(name);
    free(arch);
    free(outcome);
    free(status);
    free(elf);
    return code;
}
