/* The Callgrind Format (valgrind docs/callgrind-format), read by KCacheGrind
 * and callgrind_annotate, for a function-level profile.  One event,
 * nanoseconds; names compressed (callgrind_out.c). */
#include "formats/callgrind_out.h"
#include "base/errors.h"
#include "formats/sample_writers.h"
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

/* A sampled profile in the Callgrind Format (both this and the
 * function-level writer above use callgrind_out.c).  The one event is
 * nanoseconds: a function's self cost is its self samples times the
 * interval.
 *
 * A sampler cannot see calls, so a call line's calls= counts samples: the
 * samples whose stack holds that caller->callee pair (once per sample,
 * however often the pair recurs on the stack), and the cost line after it
 * is those samples' time.  Counting a recursive pair once per sample keeps
 * every call cost within the program's total; tools that add call costs up
 * a recursive chain (callgrind_annotate --inclusive=yes) still count a
 * self-recursive function's time more than once, as they do for valgrind's
 * own profiles. */
/* Every cost is a whole number of samples times one rounded interval, so the
 * totals equal the sum of the functions' costs exactly. */
static long long interval_ns(double interval)
{
    double ns = interval * 1e9;
    return ns > 0 && ns < 9e15 ? (long long)(ns + 0.5) : 0;
}

int plumb_write_sampled_callgrind(const plumb_samples *s, FILE *out,
                                  const plumb_callgrind_info *info)
{
    const plumb_labels *p = &s->names;
    plumb_sample_index ix;
    plumb_sample_totals t = {0};
    plumb_callgrind_names names = {0};
    int rc = plumb_sample_index_build(s, &ix);
    if (rc < 0)
        return rc;
    rc = plumb_sample_totals_build(s, &ix, &t);
    if (rc == PLUMB_OK)
        rc = plumb_callgrind_names_init(&names, p);
    if (rc < 0)
        goto done;
    plumb_sample_totals_sort_edges(&t, 0);

    long long ns = interval_ns(s->interval);
    long long summary = (long long)t.samples * ns;
    plumb_callgrind_header(out, info);
    fprintf(out, "summary: %lld\n", summary);
    fputs("# sampled: costs are samples x interval; calls= counts samples, not calls\n\n", out);

    uint32_t e = 0;
    for (uint32_t f = 0; f < p->nfuncs; f++) {
        /* Edges are sorted by caller; skip those of unsampled callers. */
        if (t.total[f] == 0) {
            while (e < t.nedges && t.edges[e].caller == f)
                e++;
            continue;
        }
        long long line = (long long)p->funcs[f].line;
        plumb_callgrind_put_file(out, "fl", p, &names, f);
        plumb_callgrind_put_func(out, "fn", p, &names, f);
        fprintf(out, "%lld %lld\n", line, (long long)t.self[f] * ns);
        for (; e < t.nedges && t.edges[e].caller == f; e++) {
            const plumb_sample_edge *x = &t.edges[e];
            if (x->total == 0)
                continue;
            plumb_callgrind_put_file(out, "cfl", p, &names, x->callee);
            plumb_callgrind_put_func(out, "cfn", p, &names, x->callee);
            fprintf(out, "calls=%llu %lld\n", (unsigned long long)x->total,
                    (long long)p->funcs[x->callee].line);
            fprintf(out, "%lld %lld\n", line, (long long)x->total * ns);
        }
        putc('\n', out);
    }
    fprintf(out, "totals: %lld\n", summary);
    rc = ferror(out) ? PLUMB_EIO : PLUMB_OK;
done:
    plumb_callgrind_names_free(&names);
    plumb_sample_totals_free(&t);
    plumb_sample_index_free(&ix);
    return rc;
}
