/*
 * kvmhost.c - /dev/kvm for the real-kernel backend (kvmhost.h): the kernel's facts, one VM,
 * its vCPUs in long mode, KVM_RUN under a timer signal.
 *
 * Bounding KVM_RUN (api.rst 4.10 and 5, `immediate_exit`): a POSIX timer sends this thread a
 * signal slice_ms after KVM_RUN starts. The handler sets immediate_exit in the running vCPU's
 * kvm_run, so a signal that lands before the ioctl enters the guest still makes it return
 * -EINTR at once instead of being lost; one that lands inside the guest makes KVM_RUN return
 * -EINTR with exit_reason KVM_EXIT_INTR. A guest KVM never gives back (a VMCALL the instruction
 * emulator retries forever) therefore costs one slice, not the run.
 */
#include "kvmhost/kvmhost.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "models/kvm/caps.h"

struct kvmh_vcpu {
    int fd;
    struct kvm_run *run;
    struct kvm_dirty_gfn *ring;  /* mapped at KVM_DIRTY_LOG_PAGE_OFFSET when a ring is on */
};

struct kvmh {
    int sys_fd, vm_fd;
    size_t run_size;             /* KVM_GET_VCPU_MMAP_SIZE */
    uint32_t ring_bytes;         /* the dirty ring enabled on the VM, 0 if none */
    unsigned nr_vcpus;
    struct kvmh_vcpu vcpu[HV_MAX_VCPUS];
    timer_t timer;
    bool timer_ok;
};

/* The kvm_run of the KVM_RUN in progress, for the timer signal (invariant 3). */
static struct kvm_run *volatile kvmh_running;

static void slice_over(int sig)
{
    (void)sig;
    struct kvm_run *run = kvmh_running;
    if (run)
        run->immediate_exit = 1;
}

/* ---- the kernel ---- */

static int open_kvm(char *why, size_t size)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, size, "/dev/kvm: %s", strerror(errno));
        return -1;
    }
    int api = ioctl(fd, KVM_GET_API_VERSION, 0);
    if (api != KVM_API_VERSION) {
        snprintf(why, size, "/dev/kvm: KVM_GET_API_VERSION is %d, not %d", api, KVM_API_VERSION);
        close(fd);
        return -1;
    }
    return fd;
}

int kvmh_usable(char *why, size_t size)
{
#if !defined(__x86_64__)
    snprintf(why, size, "the kvm backend runs x86-64 guests on an x86-64 host");
    return HV_EUNSUPP;
#else
    int fd = open_kvm(why, size);
    if (fd < 0)
        return HV_EUNSUPP;
    close(fd);
    return 0;
#endif
}

/* KVM_GET_SUPPORTED_CPUID, leaf fn subleaf 0; false if absent. */
static bool supported_cpuid(int sys_fd, uint32_t fn, struct kvm_cpuid_entry2 *out)
{
    struct {
        struct kvm_cpuid2 c;
        struct kvm_cpuid_entry2 e[256];
    } cp;
    memset(&cp, 0, sizeof cp);
    cp.c.nent = 256;
    if (ioctl(sys_fd, KVM_GET_SUPPORTED_CPUID, &cp) < 0)
        return false;
    for (uint32_t i = 0; i < cp.c.nent; i++)
        if (cp.e[i].function == fn && cp.e[i].index == 0) {
            *out = cp.e[i];
            return true;
        }
    return false;
}

int kvmh_kernel_info(struct kvmh_kernel *out)
{
    static const struct { unsigned nr; const char *name; } known[] = {
#define X(NAME, nr, name) { nr, name },
        KVMM_CAP_MAP(X)
#undef X
    };
    char why[256];
    memset(out, 0, sizeof *out);
    struct utsname u;
    if (uname(&u) == 0) {
        snprintf(out->release, sizeof out->release, "%s", u.release);
        snprintf(out->version, sizeof out->version, "%s", u.version);
        snprintf(out->machine, sizeof out->machine, "%s", u.machine);
    }
    int fd = open_kvm(why, sizeof why);
    if (fd < 0)
        return hv_error_set(HV_EUNSUPP, "%s", why);
    int vm = ioctl(fd, KVM_CREATE_VM, 0);
    if (vm < 0) {
        int e = errno;
        close(fd);
        return hv_error_set(HV_EUNSUPP, "KVM_CREATE_VM: %s", strerror(e));
    }
    for (size_t i = 0; i < sizeof known / sizeof known[0] && i < KVMH_MAX_CAPS; i++) {
        int v = ioctl(vm, KVM_CHECK_EXTENSION, known[i].nr);
        out->caps[i].nr = known[i].nr;
        out->caps[i].name = known[i].name;
        out->caps[i].value = v < 0 ? -errno : v;
        out->ncaps = i + 1;
    }
    struct kvm_cpuid_entry2 e;
    if (supported_cpuid(fd, 0, &e)) {
        memcpy(out->vendor, &e.ebx, 4);
        memcpy(out->vendor + 4, &e.edx, 4);
        memcpy(out->vendor + 8, &e.ecx, 4);
    }
    if (supported_cpuid(fd, 0x80000008, &e)) {
        out->phys_bits = e.eax & 0xff;
        out->guest_phys_bits = (e.eax >> 16) & 0xff;
    }
    close(vm);
    close(fd);
    return 0;
}

int kvmh_kernel_cap(const struct kvmh_kernel *k, unsigned nr)
{
    for (size_t i = 0; i < k->ncaps; i++)
        if (k->caps[i].nr == nr)
            return k->caps[i].value;
    return -1;
}

int kvmh_kernel_caps_json(const struct kvmh_kernel *k, char *buf, size_t size)
{
    size_t l = 0;
    l += (size_t)snprintf(buf, size, "{");
    for (size_t i = 0; i < k->ncaps; i++)
        l += (size_t)snprintf(buf + (l < size ? l : size), l < size ? size - l : 0,
                              "%s\"%s\":%d", i ? "," : "", k->caps[i].name, k->caps[i].value);
    l += (size_t)snprintf(buf + (l < size ? l : size), l < size ? size - l : 0, "}");
    return (int)l;
}

/* ---- one VM ---- */

int kvmh_create(struct kvmh **out)
{
    char why[256];
    *out = NULL;
    struct kvmh *h = calloc(1, sizeof *h);
    if (!h)
        return HV_ENOMEM;
    h->vm_fd = -1;
    int err = HV_EUNSUPP;
    if ((h->sys_fd = open_kvm(why, sizeof why)) < 0) {
        err = hv_error_set(HV_EUNSUPP, "%s", why);
        goto out;
    }
    if ((h->vm_fd = ioctl(h->sys_fd, KVM_CREATE_VM, 0)) < 0) {
        err = hv_error_set(HV_EUNSUPP, "KVM_CREATE_VM: %s", strerror(errno));
        goto out;
    }
    int sz = ioctl(h->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (sz <= 0) {
        err = hv_error_set(HV_EUNSUPP, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
        goto out;
    }
    h->run_size = (size_t)sz;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = slice_over;   /* no SA_RESTART: KVM_RUN must return */
    sigemptyset(&sa.sa_mask);
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = SIGRTMIN;
    sev._sigev_un._tid = (pid_t)gettid();   /* glibc's name of sigev_notify_thread_id */
    if (sigaction(SIGRTMIN, &sa, NULL) || timer_create(CLOCK_MONOTONIC, &sev, &h->timer)) {
        err = hv_error_set(HV_EIO, "the KVM_RUN timer: %s", strerror(errno));
        goto out;
    }
    h->timer_ok = true;
    *out = h;
    h = NULL;
    err = 0;
out:
    kvmh_destroy(h);
    return err;
}

void kvmh_destroy(struct kvmh *h)
{
    if (!h)
        return;
    for (unsigned i = 0; i < h->nr_vcpus; i++) {
        struct kvmh_vcpu *v = &h->vcpu[i];
        if (v->ring)
            munmap(v->ring, h->ring_bytes);
        if (v->run)
            munmap(v->run, h->run_size);
        if (v->fd >= 0)
            close(v->fd);
    }
    if (h->timer_ok)
        timer_delete(h->timer);
    if (h->vm_fd >= 0)
        close(h->vm_fd);
    if (h->sys_fd >= 0)
        close(h->sys_fd);
    free(h);
}

static int result(int r)
{
    return r < 0 ? -errno : r;
}

int kvmh_check_extension(struct kvmh *h, uint64_t cap)
{
    return result(ioctl(h->vm_fd, KVM_CHECK_EXTENSION, (unsigned long)cap));
}

int kvmh_set_region(struct kvmh *h, bool v2, const struct kvmm_region *r)
{
    if (v2) {
        struct kvm_userspace_memory_region2 m = {
            .slot = r->slot, .flags = r->flags, .guest_phys_addr = r->guest_phys_addr,
            .memory_size = r->memory_size, .userspace_addr = r->userspace_addr,
            .guest_memfd_offset = r->guest_memfd_offset, .guest_memfd = r->guest_memfd,
        };
        return result(ioctl(h->vm_fd, KVM_SET_USER_MEMORY_REGION2, &m));
    }
    struct kvm_userspace_memory_region m = {
        .slot = r->slot, .flags = r->flags, .guest_phys_addr = r->guest_phys_addr,
        .memory_size = r->memory_size, .userspace_addr = r->userspace_addr,
    };
    return result(ioctl(h->vm_fd, KVM_SET_USER_MEMORY_REGION, &m));
}

int kvmh_get_dirty_log(struct kvmh *h, uint32_t slot, void *bitmap)
{
    struct kvm_dirty_log l;
    memset(&l, 0, sizeof l);
    l.slot = slot;
    l.dirty_bitmap = bitmap;
    return result(ioctl(h->vm_fd, KVM_GET_DIRTY_LOG, &l));
}

int kvmh_clear_dirty_log(struct kvmh *h, uint32_t slot, uint64_t first_page, uint32_t num_pages,
                         void *bitmap)
{
    struct kvm_clear_dirty_log l;
    memset(&l, 0, sizeof l);
    l.slot = slot;
    l.first_page = first_page;
    l.num_pages = num_pages;
    l.dirty_bitmap = bitmap;
    return result(ioctl(h->vm_fd, KVM_CLEAR_DIRTY_LOG, &l));
}

int kvmh_enable_cap(struct kvmh *h, uint32_t cap, uint64_t args0, uint32_t flags)
{
    struct kvm_enable_cap c;
    memset(&c, 0, sizeof c);
    c.cap = cap;
    c.flags = flags;
    c.args[0] = args0;
    int r = result(ioctl(h->vm_fd, KVM_ENABLE_CAP, &c));
    if (r == 0 && (cap == KVM_CAP_DIRTY_LOG_RING || cap == KVM_CAP_DIRTY_LOG_RING_ACQ_REL))
        h->ring_bytes = (uint32_t)args0;
    return r;
}

int kvmh_reset_dirty_rings(struct kvmh *h)
{
    return result(ioctl(h->vm_fd, KVM_RESET_DIRTY_RINGS, 0));
}

uint32_t kvmh_ring_bytes(const struct kvmh *h)
{
    return h->ring_bytes;
}

/* ---- vCPUs ---- */

#define PTE_P  (1ULL << 0)
#define PTE_W  (1ULL << 1)
#define PTE_A  (1ULL << 5)
#define PTE_D  (1ULL << 6)
#define PTE_PS (1ULL << 7)

void kvmh_boot_pages(uint8_t *pages, uint64_t gpa)
{
    memset(pages, 0, KVMH_BOOT_PAGES * 4096);
    uint64_t *pml4 = (uint64_t *)(pages + KVMH_BOOT_PML4 * 4096);
    uint64_t *pdpt = (uint64_t *)(pages + KVMH_BOOT_PDPT * 4096);
    pml4[0] = (gpa + KVMH_BOOT_PDPT * 4096) | PTE_P | PTE_W | PTE_A;
    for (uint64_t g = 0; g < 4; g++) {
        uint64_t *pd = (uint64_t *)(pages + (KVMH_BOOT_PD0 + g) * 4096);
        pdpt[g] = (gpa + (KVMH_BOOT_PD0 + g) * 4096) | PTE_P | PTE_W | PTE_A;
        for (uint64_t i = 0; i < 512; i++)
            pd[i] = (g << 30 | i << 21) | PTE_P | PTE_W | PTE_A | PTE_D | PTE_PS;
    }
    /* the descriptors kvm_seg_fill_gdt_64bit() writes for the segments below */
    uint64_t *gdt = (uint64_t *)(pages + KVMH_BOOT_GDT * 4096);
    gdt[1] = 0x00af9b000000ffffULL;   /* 0x08: code, DPL 0, L, G, accessed, readable */
    gdt[2] = 0x00cf93000000ffffULL;   /* 0x10: data, DPL 0, D/B, G, accessed, writable */
    uint64_t tss = gpa + KVMH_BOOT_TSS * 4096;
    gdt[3] = 0x67 | (tss & 0xffffff) << 16 | 0x8bULL << 40 | (tss >> 24 & 0xff) << 56;
    gdt[4] = tss >> 32;               /* 0x18: 64-bit busy TSS, 16 bytes */
}

static void seg_flat(struct kvm_segment *s, uint16_t selector, bool code)
{
    memset(s, 0, sizeof *s);
    s->selector = selector;
    s->limit = 0xffffffff;
    s->s = 1;
    s->g = 1;
    s->present = 1;
    s->type = code ? 0x0b : 0x03;     /* code: execute, read, accessed; data: write, accessed */
    s->l = code;
    s->db = !code;
}

void kvmh_boot_sregs(struct kvm_sregs *s, uint64_t gpa)
{
    s->cr0 = 1ULL << 0 | 1ULL << 5 | 1ULL << 31;         /* PE, NE, PG */
    s->cr4 = 1ULL << 5 | 1ULL << 9;                     /* PAE, OSFXSR */
    s->efer = 1ULL << 8 | 1ULL << 10 | 1ULL << 11;      /* LME, LMA, NX */
    s->cr3 = gpa + KVMH_BOOT_PML4 * 4096;
    seg_flat(&s->cs, 0x08, true);
    seg_flat(&s->ds, 0x10, false);
    s->es = s->fs = s->gs = s->ss = s->ds;
    memset(&s->ldt, 0, sizeof s->ldt);
    s->ldt.unusable = 1;
    memset(&s->tr, 0, sizeof s->tr);
    s->tr.selector = 0x18;
    s->tr.base = gpa + KVMH_BOOT_TSS * 4096;
    s->tr.limit = 0x67;
    s->tr.type = 0x0b;
    s->tr.present = 1;
    s->gdt.base = gpa + KVMH_BOOT_GDT * 4096;
    s->gdt.limit = 4095;
    s->idt.base = 0;
    s->idt.limit = 0;
}

int kvmh_vcpu_create(struct kvmh *h, unsigned id, uint64_t boot_gpa, uint64_t entry,
                     uint64_t nr)
{
    if (id != h->nr_vcpus || id >= HV_MAX_VCPUS)
        return hv_error_set(HV_EINVAL, "vCPU %u created out of order", id);
    struct kvmh_vcpu *v = &h->vcpu[id];
    v->fd = ioctl(h->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
    if (v->fd < 0)
        return hv_error_set(HV_EIO, "KVM_CREATE_VCPU %u: %s", id, strerror(errno));
    h->nr_vcpus++;
    v->run = mmap(NULL, h->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
    if (v->run == MAP_FAILED) {
        v->run = NULL;
        return hv_error_set(HV_EIO, "mapping vCPU %u's kvm_run: %s", id, strerror(errno));
    }
    if (h->ring_bytes) {
        void *r = mmap(NULL, h->ring_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd,
                       KVM_DIRTY_LOG_PAGE_OFFSET * (off_t)getpagesize());
        if (r == MAP_FAILED)
            return hv_error_set(HV_EIO, "mapping vCPU %u's dirty ring: %s", id, strerror(errno));
        v->ring = r;
    }
    struct {
        struct kvm_cpuid2 c;
        struct kvm_cpuid_entry2 e[256];
    } cp;
    memset(&cp, 0, sizeof cp);
    cp.c.nent = 256;
    if (ioctl(h->sys_fd, KVM_GET_SUPPORTED_CPUID, &cp) < 0 ||
        ioctl(v->fd, KVM_SET_CPUID2, &cp) < 0)
        return hv_error_set(HV_EIO, "CPUID of vCPU %u: %s", id, strerror(errno));
    struct kvm_sregs s;
    if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
        return hv_error_set(HV_EIO, "KVM_GET_SREGS %u: %s", id, strerror(errno));
    kvmh_boot_sregs(&s, boot_gpa);
    if (ioctl(v->fd, KVM_SET_SREGS, &s) < 0)
        return hv_error_set(HV_EIO, "KVM_SET_SREGS %u (long mode): %s", id, strerror(errno));
    struct kvm_regs r = { .rip = entry, .rflags = 2, .rdi = id, .rsi = nr };
    if (ioctl(v->fd, KVM_SET_REGS, &r) < 0)
        return hv_error_set(HV_EIO, "KVM_SET_REGS %u: %s", id, strerror(errno));
    return 0;
}

struct kvm_run *kvmh_vcpu_run_area(struct kvmh *h, unsigned id)
{
    return id < h->nr_vcpus ? h->vcpu[id].run : NULL;
}

struct kvm_dirty_gfn *kvmh_vcpu_ring(struct kvmh *h, unsigned id, uint32_t *entries)
{
    *entries = h->ring_bytes / sizeof(struct kvm_dirty_gfn);
    return id < h->nr_vcpus ? h->vcpu[id].ring : NULL;
}

int kvmh_vcpu_run(struct kvmh *h, unsigned id, unsigned slice_ms)
{
    struct kvmh_vcpu *v = &h->vcpu[id];
    struct itimerspec on = { .it_value = { .tv_sec = slice_ms / 1000,
                                           .tv_nsec = (long)(slice_ms % 1000) * 1000000 } };
    struct itimerspec off = { 0 };
    v->run->immediate_exit = 0;
    kvmh_running = v->run;
    timer_settime(h->timer, 0, &on, NULL);
    int r = ioctl(v->fd, KVM_RUN, 0);
    int e = errno;
    timer_settime(h->timer, 0, &off, NULL);
    kvmh_running = NULL;
    v->run->immediate_exit = 0;
    return r < 0 ? -e : 0;
}

int kvmh_vcpu_get_regs(struct kvmh *h, unsigned id, struct kvm_regs *r)
{
    return ioctl(h->vcpu[id].fd, KVM_GET_REGS, r) < 0
           ? hv_error_set(HV_EIO, "KVM_GET_REGS: %s", strerror(errno)) : 0;
}

int kvmh_vcpu_set_regs(struct kvmh *h, unsigned id, const struct kvm_regs *r)
{
    return ioctl(h->vcpu[id].fd, KVM_SET_REGS, r) < 0
           ? hv_error_set(HV_EIO, "KVM_SET_REGS: %s", strerror(errno)) : 0;
}

int kvmh_vcpu_get_sregs(struct kvmh *h, unsigned id, struct kvm_sregs *s)
{
    return ioctl(h->vcpu[id].fd, KVM_GET_SREGS, s) < 0
           ? hv_error_set(HV_EIO, "KVM_GET_SREGS: %s", strerror(errno)) : 0;
}

/* The general registers in struct kvm_regs order, and the rest by hand. */
static const char *const gpr_names[] = { "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rsp", "rbp",
                                         "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
                                         "rip", "rflags" };

static __u64 *gpr_slot(struct kvm_regs *r, const char *name)
{
    __u64 *f[] = { &r->rax, &r->rbx, &r->rcx, &r->rdx, &r->rsi, &r->rdi, &r->rsp, &r->rbp,
                   &r->r8, &r->r9, &r->r10, &r->r11, &r->r12, &r->r13, &r->r14, &r->r15,
                   &r->rip, &r->rflags };
    for (size_t i = 0; i < sizeof gpr_names / sizeof gpr_names[0]; i++)
        if (strcmp(gpr_names[i], name) == 0)
            return f[i];
    return NULL;
}

int kvmh_vcpu_reg(struct kvmh *h, unsigned id, const char *name, uint64_t *out)
{
    struct kvm_regs r;
    struct kvm_sregs s;
    int err;
    if (id >= h->nr_vcpus)
        return HV_EINVAL;
    if ((err = kvmh_vcpu_get_regs(h, id, &r)))
        return err;
    __u64 *g = gpr_slot(&r, name);
    if (g) {
        *out = *g;
        return 0;
    }
    if ((err = kvmh_vcpu_get_sregs(h, id, &s)))
        return err;
    const struct { const char *name; uint64_t v; } sr[] = {
        { "cr0", s.cr0 }, { "cr2", s.cr2 }, { "cr3", s.cr3 }, { "cr4", s.cr4 },
        { "efer", s.efer }, { "cs", s.cs.selector }, { "ds", s.ds.selector },
        { "es", s.es.selector }, { "fs", s.fs.selector }, { "gs", s.gs.selector },
        { "ss", s.ss.selector },
    };
    for (size_t i = 0; i < sizeof sr / sizeof sr[0]; i++)
        if (strcmp(sr[i].name, name) == 0) {
            *out = sr[i].v;
            return 0;
        }
    return HV_EINVAL;
}

int kvmh_vcpu_set_reg(struct kvmh *h, unsigned id, const char *name, uint64_t val)
{
    struct kvm_regs r;
    int err;
    if (id >= h->nr_vcpus)
        return HV_EINVAL;
    if ((err = kvmh_vcpu_get_regs(h, id, &r)))
        return err;
    __u64 *g = gpr_slot(&r, name);
    if (!g)
        return HV_EINVAL;
    *g = val;
    return kvmh_vcpu_set_regs(h, id, &r);
}
