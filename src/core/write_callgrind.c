/* The Callgrind Format (valgrind docs/callgrind-format), read by KCacheGrind
 * and callgrind_annotate, for a deterministic profile.  One event,
 * nanoseconds; names compressed (callgrind_out.c). */
#include "callgrind_out.h"
#include "errors.h"
#include "writers.h"

static long long to_ns(int64_t ticks, double ticks_per_second)
{
    double ns = (double)ticks * 1e9 / ticks_per_second;
    return ns < 0 ? 0 : (long long)(ns + 0.5);
}

int plumb_write_callgrind(const plumb_profile *p, FILE *out, const plumb_callgrind_info *info)
{
    plumb_callgrind_names names = {0};
    plumb_edge_index callees = {0};
    int rc = plumb_callgrind_names_init(&names, p);
    if (rc == PLUMB_OK)
        rc = plumb_edge_index_by_caller(p, &callees);
    if (rc < 0)
        goto done;

    long long summary = 0;
    for (uint32_t f = 0; f < p->nfuncs; f++)
        if (p->func_counts[f].calls)
            summary += to_ns(p->func_counts[f].own, p->ticks_per_second);

    plumb_callgrind_header(out, info);
    fprintf(out, "summary: %lld\n\n", summary);
    for (uint32_t f = 0; f < p->nfuncs; f++) {
        if (p->func_counts[f].calls == 0)
            continue;
        long long line = (long long)p->funcs[f].line;
        plumb_callgrind_put_file(out, "fl", p, &names, f);
        plumb_callgrind_put_func(out, "fn", p, &names, f);
        fprintf(out, "%lld %lld\n", line, to_ns(p->func_counts[f].own, p->ticks_per_second));
        for (uint32_t i = callees.first[f]; i < callees.first[f + 1]; i++) {
            const plumb_edge *e = &p->edges[callees.edges[i]];
            if (e->counts.calls == 0)
                continue;
            plumb_callgrind_put_file(out, "cfl", p, &names, e->callee);
            plumb_callgrind_put_func(out, "cfn", p, &names, e->callee);
            fprintf(out, "calls=%llu %lld\n", (unsigned long long)e->counts.calls,
                    (long long)p->funcs[e->callee].line);
            fprintf(out, "%lld %lld\n", line, to_ns(e->counts.total, p->ticks_per_second));
        }
        putc('\n', out);
    }
    fprintf(out, "totals: %lld\n", summary);
    rc = ferror(out) ? PLUMB_EIO : PLUMB_OK;
done:
    plumb_callgrind_names_free(&names);
    plumb_edge_index_free(&callees);
    return rc;
}
