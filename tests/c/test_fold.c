/* A profile whose call paths reach their bound, built with a small
 * PLUMB_MAX_PATHS (tests/c/Makefile) so that the tracer's own switch to
 * per-event counting happens, with frames running on every thread: its
 * function and edge counts stay those of a profile without paths, before
 * the switch (derived from the paths), at it and after (counted per event,
 * folded calls included). */
#include <stdio.h>

#include "check.h"
#include "lockstep.h"

int main(void)
{
    lockstep l;
    lockstep_init(&l, 2);
    l.ps[1].track_paths = 0;
    lockstep_start(&l);
    int before = 0, after = 0;
    for (int step = 0; step < 100000; step++) {
        lockstep_step(&l);
        if (step % 499 == 0) {
            int switched = l.ps[0].count_per_event;
            CHECK(lockstep_agree(&l));
            before += !switched;
            after += switched;
        }
    }
    for (int k = 0; k < l.n; k++)
        plumb_tracer_close_all(&l.ps[k], l.now + 1);
    CHECK(lockstep_agree(&l));
    /* The bound was reached midway, by the tracer itself. */
    CHECK(l.ps[0].npaths == PLUMB_MAX_PATHS && l.ps[0].folded_calls > 0);
    CHECK(before > 10 && after > 10);
    CHECK(l.ps[0].lost_events == 0);
    printf("paths %u (%d compared before the bound, %d after), %llu folded calls\n",
           l.ps[0].npaths, before, after, (unsigned long long)l.ps[0].folded_calls);
    lockstep_free(&l);
    return check_report("fold tests passed");
}
