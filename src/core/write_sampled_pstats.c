/* A sampled profile as a pstats file, so that pstats, snakeviz, gprof2dot
 * and `plumb`'s own table read it like cProfile's.  Per function:
 *   tottime = samples with the function innermost x interval
 *   cumtime = samples with the function anywhere on the stack (once per
 *             sample, as cProfile counts recursion once) x interval
 *   calls   = primitive calls = 0: a sampler sees no calls, and a made-up
 *             count would look like a measurement (pstats leaves percall
 *             empty for 0).
 * Per caller->callee pair, the callee's own and cumulative time by the same
 * rules, restricted to stacks where the callee is called from that caller. */
#include "errors.h"
#include "marshal_out.h"
#include "sample_writers.h"

static void write_label(FILE *out, const plumb_func *f)
{
    plumb_marshal_tuple(out, 3);
    plumb_marshal_str(out, f->file);
    plumb_marshal_int(out, f->line);
    plumb_marshal_str(out, f->name);
}

int plumb_write_sampled_pstats(const plumb_samples *s, FILE *out)
{
    const plumb_profile *p = &s->names;
    plumb_sample_index ix;
    plumb_sample_totals t;
    int rc = plumb_sample_index_build(s, &ix);
    if (rc < 0)
        return rc;
    rc = plumb_sample_totals_build(s, &ix, &t);
    plumb_sample_index_free(&ix);
    if (rc < 0)
        return rc;
    plumb_sample_totals_sort_edges(&t, 1);

    double seconds = s->interval;
    uint32_t e = 0;
    plumb_marshal_dict_begin(out);
    for (uint32_t f = 0; f < p->nfuncs; f++) {
        uint32_t edges = e;
        while (e < t.nedges && t.edges[e].callee == f)
            e++;
        if (t.total[f] == 0)
            continue;
        write_label(out, &p->funcs[f]);
        /* (primitive calls, calls, own time, total time, callers) */
        plumb_marshal_tuple(out, 5);
        plumb_marshal_int(out, 0);
        plumb_marshal_int(out, 0);
        plumb_marshal_float(out, (double)t.self[f] * seconds);
        plumb_marshal_float(out, (double)t.total[f] * seconds);
        plumb_marshal_dict_begin(out);
        for (uint32_t i = edges; i < e; i++) {
            const plumb_sample_edge *x = &t.edges[i];
            if (x->total == 0)
                continue;
            write_label(out, &p->funcs[x->caller]);
            /* (calls, primitive calls, own time, total time) */
            plumb_marshal_tuple(out, 4);
            plumb_marshal_int(out, 0);
            plumb_marshal_int(out, 0);
            plumb_marshal_float(out, (double)x->self * seconds);
            plumb_marshal_float(out, (double)x->total * seconds);
        }
        plumb_marshal_dict_end(out);
    }
    plumb_marshal_dict_end(out);
    plumb_sample_totals_free(&t);
    return ferror(out) ? PLUMB_EIO : PLUMB_OK;
}
