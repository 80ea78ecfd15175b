/*
 * allocfail.h - the allocation-failure hook of test builds (HVSIM_ALLOC_HOOK, on in the
 * ASan/UBSan build of `make test`), after SQLite's fault injection (sqlite3_test_control
 * SQLITE_TESTCTRL_FAULT_INSTALL): every allocation hvsim's own code makes (malloc, calloc,
 * realloc, strdup, strndup, posix_memalign, asprintf, vasprintf, mmap) is counted, and the Nth
 * one fails once, as it would when the host is out of memory. The libraries hvsim links
 * (Unicorn, SQLite, libyaml) are not counted.
 *
 * The linker routes each call to the counting wrapper (-Wl,--wrap=malloc, ...); the release
 * build has no wrapper and allocfail_available() is false there. The environment variable
 * HVSIM_FAIL_ALLOC=N arms it for a whole process (`HVSIM_FAIL_ALLOC=37 hvsim run ...`).
 */
#ifndef HV_ALLOCFAIL_H
#define HV_ALLOCFAIL_H

#include <stdbool.h>
#include <stdint.h>

/* Whether this build has the hook. */
bool allocfail_available(void);

/* Starts counting from 0; allocation number n (1, 2, ...) fails. n == 0 counts, fails none. */
void allocfail_arm(uint64_t n);

/* Stops counting. Returns how many allocations were counted since allocfail_arm(). */
uint64_t allocfail_disarm(void);

/* How many allocations were counted since allocfail_arm(). */
uint64_t allocfail_count(void);

/* Whether the armed failure has happened. */
bool allocfail_fired(void);

#endif
