/*
 * bench_abi.h - where a benchmark guest leaves its result, shared by the guests and
 * bench/bench.c.
 *
 * Each vCPU writes one struct bench_result at RAM base + BENCH_RESULT_OFFSET + 32 * id: the
 * first MiB of RAM is below the image and unused by the guest library, and it is
 * identity-mapped on both architectures. The host reads it after the run, from the host buffer
 * (bare Unicorn) or through the VM (hvsim), to check that both executed the same work.
 */
#ifndef BENCH_ABI_H
#define BENCH_ABI_H

#define BENCH_RESULT_OFFSET 0x1000ULL
#define BENCH_MAGIC 0x68767362656e6368ULL /* "hvsbench" */
#define BENCH_MAX_VCPUS 4

struct bench_result {
    unsigned long long magic;  /* BENCH_MAGIC once the work is done */
    unsigned long long value;  /* the work's checksum */
    unsigned long long count;  /* iterations, or hypercalls made */
    unsigned long long pad;
};

#endif
