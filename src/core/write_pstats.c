#include "errors.h"
#include "marshal_out.h"
#include "writers.h"

static void write_label(FILE *out, const plumb_func *f)
{
    plumb_marshal_tuple(out, 3);
    plumb_marshal_str(out, f->file);
    plumb_marshal_int(out, f->line);
    plumb_marshal_str(out, f->name);
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
    plumb_marshal_dict_begin(out);
    for (uint32_t i = 0; i < st->norder; i++) {
        uint32_t f = st->order[i];
        const plumb_stat_counts *c = &st->funcs[f];
        write_label(out, &funcs[f]);
        /* (primitive calls, calls, own time, total time, callers) */
        plumb_marshal_tuple(out, 5);
        write_counts(out, c->prim_calls, c->calls, c);
        plumb_marshal_dict_begin(out);
        for (uint32_t k = callers.first[f]; k < callers.first[f + 1]; k++) {
            const plumb_stat_edge *e = &st->edges[callers.edges[k]];
            write_label(out, &funcs[e->caller]);
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
