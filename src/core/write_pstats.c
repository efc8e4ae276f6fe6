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

int plumb_write_pstats(const plumb_profile *p, FILE *out)
{
    plumb_edge_index callers;
    int rc = plumb_edge_index_by_callee(p, &callers);
    if (rc < 0)
        return rc;
    double seconds = 1.0 / p->ticks_per_second;
    plumb_marshal_dict_begin(out);
    for (uint32_t f = 0; f < p->nfuncs; f++) {
        const plumb_counts *c = &p->func_counts[f];
        if (c->calls == 0)
            continue;
        write_label(out, &p->funcs[f]);
        /* (primitive calls, calls, own time, total time, callers) */
        plumb_marshal_tuple(out, 5);
        plumb_marshal_int(out, (int64_t)(c->calls - c->recursive_calls));
        plumb_marshal_int(out, (int64_t)c->calls);
        plumb_marshal_float(out, (double)c->own * seconds);
        plumb_marshal_float(out, (double)c->total * seconds);
        plumb_marshal_dict_begin(out);
        for (uint32_t i = callers.first[f]; i < callers.first[f + 1]; i++) {
            const plumb_edge *e = &p->edges[callers.edges[i]];
            if (e->counts.calls == 0)
                continue;
            write_label(out, &p->funcs[e->caller]);
            /* Caller values put all calls first: (calls, primitive, own, total). */
            plumb_marshal_tuple(out, 4);
            plumb_marshal_int(out, (int64_t)e->counts.calls);
            plumb_marshal_int(out, (int64_t)(e->counts.calls - e->counts.recursive_calls));
            plumb_marshal_float(out, (double)e->counts.own * seconds);
            plumb_marshal_float(out, (double)e->counts.total * seconds);
        }
        plumb_marshal_dict_end(out);
    }
    plumb_marshal_dict_end(out);
    plumb_edge_index_free(&callers);
    return ferror(out) ? PLUMB_EIO : PLUMB_OK;
}
