/*
 * empty.c - boot, report, GUEST_DONE: nothing else. Its run time is the fixed cost of one run
 * (engine creation, loading, boot with paging, trace setup and teardown), which the
 * benchmarks' other figures include.
 */
#include "bench_guest.h"

void guest_main(void)
{
    bench_report(0, 0);
}
