/*
 * sched.c - the schedule's random numbers: splitmix64 (Steele, Lea, Flood 2014), a 64-bit
 * state advanced by a fixed odd constant and mixed. Small, fast, fully specified, and the
 * same on every host; docs/determinism.md gives the exact definition.
 */
#include "sim/sim_int.h"

uint64_t sched_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, n) by rejection, so every seed maps to the same choice on every host. */
uint64_t sched_below(uint64_t *state, uint64_t n)
{
    if (n <= 1)
        return 0;
    /* accept r below 2^64 - (2^64 mod n): rem values at the top are redrawn, none when n is a
     * power of two */
    uint64_t rem = (0 - n) % n;
    uint64_t r;
    do
        r = sched_next(state);
    while (rem && r > UINT64_MAX - rem);
    return r % n;
}
