/* The Callgrind Format (valgrind docs/callgrind-format), read by KCacheGrind
 * and callgrind_annotate, for a function-level profile.  One event,
 * nanoseconds; names compressed (callgrind_out.c). */
#include "formats/callgrind_out.h"
#include "base/errors.h"
#include "formats/writers.h"
#include "tracer/profile.h"

static long long to_ns(double seconds)
{
    double ns = seconds * 1e9;
    if (!(ns > 0))
        return 0;   /* negative or NaN: nothing a cost line can say */
    return ns >= 9e18 ? (long long)9e18 : (long long)(ns + 0.5);
}

int plumb_write_stats_callgrind(const plumb_stats *st, FILE *out, const plumb_callgrind_info *info)
{
    const plumb_labels *p = &st->names;
    plumb_callgrind_names names = {0};
    plumb_edge_index callees = {0};
    int rc = plumb_callgrind_names_init(&names, p);
    if (rc == PLUMB_OK)
        rc = plumb_stats_edges_by(st, 0, &callees);
    if (rc < 0)
        goto done;

    long long summary = 0;
    for (uint32_t f = 0; f < p->nfuncs; f++)
        if (st->listed[f])
            summary += to_ns(st->funcs[f].own);

    plumb_callgrind_header(out, info);
    fprintf(out, "summary: %lld\n\n", summary);
    for (uint32_t i = 0; i < st->norder; i++) {
        uint32_t f = st->order[i];
        long long line = (long long)p->funcs[f].line;
        plumb_callgrind_put_file(out, "fl", p, &names, f);
        plumb_callgrind_put_func(out, "fn", p, &names, f);
        fprintf(out, "%lld %lld\n", line, to_ns(st->funcs[f].own));
        for (uint32_t k = callees.first[f]; k < callees.first[f + 1]; k++) {
            const plumb_stat_edge *e = &st->edges[callees.edges[k]];
            if (e->counts.calls <= 0)
                continue;
            plumb_callgrind_put_file(out, "cfl", p, &names, e->callee);
            plumb_callgrind_put_func(out, "cfn", p, &names, e->callee);
            fprintf(out, "calls=%lld %lld\n", (long long)e->counts.calls,
                    (long long)p->funcs[e->callee].line);
            fprintf(out, "%lld %lld\n", line, to_ns(e->counts.total));
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

int plumb_write_callgrind(const plumb_profile *p, FILE *out, const plumb_callgrind_info *info)
{
    plumb_stats st;
    int rc = plumb_stats_from_profile(&st, p);
    if (rc == PLUMB_OK)
        rc = plumb_write_stats_callgrind(&st, out, info);
    plumb_stats_free(&st);
    return rc;
}
