/*
 * compute.c - a compute-bound guest with a realistic mix of loads, stores and ALU work.
 *
 * Every vCPU runs the same rounds on its own data: fill a buffer from an LCG (stores), a sieve
 * of Eratosthenes over bytes (byte stores and loads), a 12x12 matrix product (loads and
 * multiplies, few stores) and a Fletcher-style checksum of the buffer (loads and ALU). It makes
 * no ucall until guest_main returns (GUEST_DONE), so bare Unicorn runs it with no hook at all;
 * the result goes to bench_abi.h's slot.
 */
#include "bench_guest.h"

#define ROUNDS 240
#define WORDS 4096
#define SIEVE 24576
#define MAT 12

struct work {
    uint64_t buf[WORDS];
    uint8_t sieve[SIEVE];
    uint32_t a[MAT][MAT], b[MAT][MAT], c[MAT][MAT];
};

static struct work works[BENCH_MAX_VCPUS];

static uint64_t fill(struct work *w, uint64_t x)
{
    for (unsigned i = 0; i < WORDS; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        w->buf[i] = x ^ (x >> 29);
    }
    return x;
}

static uint64_t sieve(struct work *w)
{
    uint64_t *s8 = (uint64_t *)(void *)w->sieve;
    for (unsigned i = 0; i < SIEVE / 8; i++)
        s8[i] = 0x0101010101010101ULL;
    w->sieve[0] = w->sieve[1] = 0;
    for (unsigned p = 2; p * p < SIEVE; p++)
        if (w->sieve[p])
            for (unsigned m = p * p; m < SIEVE; m += p)
                w->sieve[m] = 0;
    uint64_t n = 0;
    for (unsigned i = 0; i < SIEVE; i++)
        n += w->sieve[i];
    return n;
}

static uint64_t matmul(struct work *w, unsigned round)
{
    for (unsigned i = 0; i < MAT; i++)
        for (unsigned j = 0; j < MAT; j++) {
            w->a[i][j] = (uint32_t)w->buf[(i * MAT + j + round) % WORDS];
            w->b[i][j] = (uint32_t)(w->buf[(j * MAT + i + 7 * round) % WORDS] >> 32);
        }
    uint64_t trace = 0;
    for (unsigned i = 0; i < MAT; i++)
        for (unsigned j = 0; j < MAT; j++) {
            uint32_t sum = 0;
            for (unsigned k = 0; k < MAT; k++)
                sum += w->a[i][k] * w->b[k][j];
            w->c[i][j] = sum;
            trace += i == j ? sum : 0;
        }
    return trace;
}

static uint64_t checksum(const struct work *w)
{
    uint64_t s1 = 1, s2 = 0;
    for (unsigned i = 0; i < WORDS; i++) {
        s1 += w->buf[i] ^ (s2 >> 7);
        s2 += s1;
    }
    return s1 ^ (s2 << 1);
}

void guest_main(void)
{
    unsigned id = guest_vcpu_id();
    if (id >= BENCH_MAX_VCPUS)
        return;
    struct work *w = &works[id];
    uint64_t x = 0x2545f4914f6cdd1dULL, acc = 0;
    for (unsigned r = 0; r < ROUNDS; r++) {
        x = fill(w, x);
        acc = (acc << 5 | acc >> 59) ^ sieve(w);
        acc += matmul(w, r);
        acc ^= checksum(w);
    }
    bench_report(acc, ROUNDS);
}
