/*
 * guest_int.h - shared between the guest library's files; not for guest programs.
 *
 * Each arch's boot code (x86_64/, aarch64/) provides the page-table and exception pieces
 * below and ends by calling guest_start() on the vCPU's own stack, with paging on.
 */
#ifndef GUEST_INT_H
#define GUEST_INT_H

#include "guest.h"

/* Table pages per vCPU (boot tables, the private window, and guest_map's splits). */
#define GUEST_PT_PAGES 16

/* Page-aligned, laid out by the linker scripts: see README.md "Memory map". */
extern uint8_t guest_stacks[GUEST_MAX_VCPUS][GUEST_STACK_SIZE];
extern uint8_t guest_pt_pool[GUEST_MAX_VCPUS][GUEST_PT_PAGES][GUEST_PAGE_SIZE];
extern uint8_t guest_priv_pages[GUEST_MAX_VCPUS][GUEST_PAGE_SIZE];

/* Set once per vCPU by the boot code (every vCPU stores the same value). */
extern unsigned guest_nr_vcpus_;

/* Runs guest_main() and then GUEST_DONE(). */
_Noreturn void guest_start(void);

/* A zeroed table page from the calling vCPU's pool; asserts when the pool is empty. */
uint64_t *guest_pt_alloc(void);

/* The installed handler for vector, or NULL. */
guest_handler_fn guest_handler(unsigned vector);

#endif
