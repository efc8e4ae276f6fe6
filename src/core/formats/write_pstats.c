#include "base/errors.h"
#include "formats/marshal_out.h"
#include "formats/sample_writers.h"
#include "formats/writers.h"
#include "tracer/profile.h"

/* Names are written once and referred to after (a file's name is in every
 * label of its functions, a function's in every caller entry): files a
 * third the size. */
static int write_label(FILE *out, plumb_string_table *seen, const plumb_func *f)
{
    plumb_marshal_tuple(out, 3);
    int rc = plumb_marshal_str_shared(out, seen, f->file);
    plumb_marshal_int(out, f->line);
    return rc < 0 ? rc : plumb_marshal_str_shared(out, seen, f->name);
}

static void write_counts(FILE *out, int64_t first, int64_t second, const plumb_stat_counts *c)
{
    plumb_marshal_int(out, first);
    plumb_marshal_int(out, second);
    plumb_marshal_float(out, c->own);
    plumb_marshal_float(out, c->total);
}

int plumb_write_stats_pstats(const plumb_stats *st, FILE *out)
{
    plumb_edge_index callers;
    int rc = plumb_stats_edges_by(st, 1, &callers);
    if (rc < 0)
        return rc;
    const plumb_func *funcs = st->names.funcs;
    plumb_string_table seen = {0};
    plumb_marshal_dict_begin(out);
    for (uint32_t i = 0; i < st->norder && rc == PLUMB_OK; i++) {
        uint32_t f = st->order[i];
        const plumb_stat_counts *c = &st->funcs[f];
        if ((rc = write_label(out, &seen, &funcs[f])) < 0)
            break;
        /* (primitive calls, calls, own time, total time, callers) */
        plumb_marshal_tuple(out, 5);
        write_counts(out, c->prim_calls, c->calls, c);
        plumb_marshal_dict_begin(out);
        for (uint32_t k = callers.first[f]; k < callers.first[f + 1] && rc == PLUMB_OK; k++) {
            const plumb_stat_edge *e = &st->edges[callers.edges[k]];
            if ((rc = write_label(out, &seen, &funcs[e->caller])) < 0)
                break;
            if (e->count_only) {
                plumb_marshal_int(out, e->counts.calls);   /* as the profile module */
                continue;
            }
            /* Caller values put all calls first: (calls, primitive, own, total). */
            plumb_marshal_tuple(out, 4);
            write_counts(out, e->counts.calls, e->counts.prim_calls, &e->counts);
        }
        plumb_marshal_dict_end(out);
    }
    plumb_marshal_dict_end(out);
    plumb_edge_index_free(&callers);
    plumb_string_table_free(&seen);
    if (rc < 0)
        return rc;
    return ferror(out) ? PLUMB_EIO : PLUMB_OK;
}

int plumb_write_pstats(const plumb_profile *p, FILE *out)
{
    plumb_stats st;
    int rc = plumb_stats_from_profile(&st, p);
    if (rc == PLUMB_OK)
        rc = plumb_write_stats_pstats(&st, out);
    plumb_stats_free(&st);
    return rc;
}

/* A sampled profile as a pstats file, so that pstats, snakeviz, gprof2dot
 * and `plumb`'s own table read it like cProfile's.  The numbers are
 * plumb_stats_from_samples's (stats_from_samples.c says what they are). */
int plumb_write_sampled_pstats(const plumb_samples *s, FILE *out)
{
    plumb_stats st;
    int rc = plumb_stats_from_samples(&st, s);
    if (rc < 0)
        return rc;
    rc = plumb_write_stats_pstats(&st, out);
    plumb_stats_free(&st);
    return rc;
}
