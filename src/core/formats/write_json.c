/* plumb's own JSON profile (docs/json-format.md): the function-level
 * numbers pstats holds, and the call tree when there is one, in columns of
 * numbers with every string stored once, so that a 100,000-node profile
 * stays a few megabytes and the HTML report reads it without a parser of
 * its own.  Everything here is read back by read_json.c. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "formats/json_out.h"
#include "formats/sample_writers.h"
#include "base/string_table.h"

/* The functions of the stats, then those only the tree names. */
typedef struct func_table {
    const plumb_func **funcs;
    uint32_t n;
    uint32_t *of_tree;    /* the tree's function index -> ours */
} func_table;

static int build_funcs(func_table *ft, const plumb_stats *st, const plumb_samples *tree)
{
    uint32_t tree_funcs = tree ? tree->names.nfuncs : 0;
    ft->funcs = malloc(((size_t)st->names.nfuncs + tree_funcs + 1) * sizeof *ft->funcs);
    ft->of_tree = malloc(((size_t)tree_funcs + 1) * sizeof *ft->of_tree);
    if (!ft->funcs || !ft->of_tree)
        return PLUMB_ENOMEM;
    for (uint32_t f = 0; f < st->names.nfuncs; f++)
        ft->funcs[f] = &st->names.funcs[f];
    ft->n = st->names.nfuncs;
    for (uint32_t f = 0; f < tree_funcs; f++) {
        const plumb_func *fn = &tree->names.funcs[f];
        uint32_t g = plumb_labels_find(&st->names, fn->file, fn->line, fn->name);
        if (g == PLUMB_NONE) {
            g = ft->n++;
            ft->funcs[g] = fn;
        }
        ft->of_tree[f] = g;
    }
    return PLUMB_OK;
}

/* A double that reads back as the same double: 15 digits when they do
 * (0.003 rather than 0.0030000000000000001), else 17. */
static void write_exact(FILE *out, double v)
{
    char buf[40];
    snprintf(buf, sizeof buf, "%.15g", v);
    if (strtod(buf, NULL) != v)
        snprintf(buf, sizeof buf, "%.17g", v);
    if (strchr(buf, 'n') || strchr(buf, 'i'))   /* nan, inf: not JSON */
        strcpy(buf, "0");
    fputs(buf, out);
}

static void write_u32s(FILE *out, const char *key, const uint32_t *v, uint32_t n)
{
    fprintf(out, "\"%s\":[", key);
    for (uint32_t i = 0; i < n; i++)
        fprintf(out, i ? ",%" PRIu32 : "%" PRIu32, v[i]);
    putc(']', out);
}

static int intern(plumb_string_table *t, const char *s, uint32_t *index)
{
    int rc = plumb_string_table_intern(t, s, index);
    return rc < 0 ? rc : PLUMB_OK;
}

static int write_functions(FILE *out, const func_table *ft, plumb_string_table *strs)
{
    uint32_t *file = malloc(((size_t)ft->n + 1) * sizeof *file);
    uint32_t *name = malloc(((size_t)ft->n + 1) * sizeof *name);
    int rc = file && name ? PLUMB_OK : PLUMB_ENOMEM;
    for (uint32_t f = 0; f < ft->n && rc == PLUMB_OK; f++) {
        rc = intern(strs, ft->funcs[f]->file, &file[f]);
        if (rc == PLUMB_OK)
            rc = intern(strs, ft->funcs[f]->name, &name[f]);
    }
    if (rc == PLUMB_OK) {
        fputs("\"functions\":{", out);
        write_u32s(out, "file", file, ft->n);
        fputs(",\n\"line\":[", out);
        for (uint32_t f = 0; f < ft->n; f++)
            fprintf(out, f ? ",%" PRId64 : "%" PRId64, ft->funcs[f]->line);
        fputs("],\n", out);
        write_u32s(out, "name", name, ft->n);
        fputs("},\n", out);
    }
    free(file);
    free(name);
    return rc;
}

static void write_stats(FILE *out, const plumb_stats *st)
{
    fputs("\"stats\":{", out);
    write_u32s(out, "function", st->order, st->norder);
    static const char *const keys[] = {"prim_calls", "calls", "own", "total"};
    for (int k = 0; k < 4; k++) {
        fprintf(out, ",\n\"%s\":[", keys[k]);
        for (uint32_t i = 0; i < st->norder; i++) {
            const plumb_stat_counts *c = &st->funcs[st->order[i]];
            if (i)
                putc(',', out);
            if (k < 2)
                fprintf(out, "%" PRId64, k == 0 ? c->prim_calls : c->calls);
            else
                write_exact(out, k == 2 ? c->own : c->total);
        }
        putc(']', out);
    }
    fputs("},\n\"edges\":{\"caller\":[", out);
    for (uint32_t i = 0; i < st->nedges; i++)
        fprintf(out, i ? ",%" PRIu32 : "%" PRIu32, st->edges[i].caller);
    fputs("],\n\"callee\":[", out);
    for (uint32_t i = 0; i < st->nedges; i++)
        fprintf(out, i ? ",%" PRIu32 : "%" PRIu32, st->edges[i].callee);
    for (int k = 0; k < 4; k++) {
        fprintf(out, "],\n\"%s\":[", keys[k]);
        for (uint32_t i = 0; i < st->nedges; i++) {
            const plumb_stat_counts *c = &st->edges[i].counts;
            if (i)
                putc(',', out);
            if (k < 2)
                fprintf(out, "%" PRId64, k == 0 ? c->prim_calls : c->calls);
            else
                write_exact(out, k == 2 ? c->own : c->total);
        }
    }
    fputs("],\n\"count_only\":[", out);
    for (uint32_t i = 0; i < st->nedges; i++)
        fputs(i ? (st->edges[i].count_only ? ",1" : ",0") : (st->edges[i].count_only ? "1" : "0"),
              out);
    fputs("]},\n", out);
}

/* The tree's nodes that hold time or calls (and the threads' roots), in
 * index order, so that a parent still comes before its children. */
static int write_tree(FILE *out, const plumb_samples *tree, const func_table *ft,
                      plumb_string_table *strs, const plumb_json_info *info)
{
    plumb_sample_index ix;
    int rc = plumb_sample_index_build(tree, &ix);
    if (rc < 0)
        return rc;
    uint32_t *kept = malloc(((size_t)tree->nnodes + 1) * sizeof *kept);
    uint32_t *thread_name = malloc(((size_t)tree->nthreads + 1) * sizeof *thread_name);
    if (!kept || !thread_name)
        rc = PLUMB_ENOMEM;
    /* A thread with nothing counted (a reader's default thread that got no
     * stack) is left out with its root. */
    uint32_t n = 0;
    for (uint32_t i = 0; i < tree->nnodes && rc == PLUMB_OK; i++) {
        const plumb_node *x = &tree->nodes[i];
        int keep = ix.inclusive[i] > 0 || (x->parent != PLUMB_NONE && tree->calls
                                           && tree->calls[i] > 0);
        kept[i] = keep && (x->parent == PLUMB_NONE || kept[x->parent] != PLUMB_NONE)
                      ? n++ : PLUMB_NONE;
    }
    for (uint32_t t = 0; t < tree->nthreads && rc == PLUMB_OK; t++) {
        thread_name[t] = PLUMB_NONE;
        if (tree->threads[t].name)
            rc = intern(strs, tree->threads[t].name, &thread_name[t]);
    }
    if (rc == PLUMB_OK) {
        fputs("\"tree\":{\"exact\":", out);
        fputs(info->tree_exact ? "true" : "false", out);
        fputs(",\"unit\":", out);
        write_exact(out, tree->interval);
        fputs(",\n\"threads\":{\"id\":[", out);
        const char *sep = "";
        for (uint32_t t = 0; t < tree->nthreads; t++) {
            if (kept[tree->threads[t].root] == PLUMB_NONE)
                continue;
            fprintf(out, "%s%" PRIu64, sep, tree->threads[t].id);
            sep = ",";
        }
        fputs("],\"name\":[", out);
        sep = "";
        for (uint32_t t = 0; t < tree->nthreads; t++) {
            if (kept[tree->threads[t].root] == PLUMB_NONE)
                continue;
            if (thread_name[t] == PLUMB_NONE)
                fprintf(out, "%s-1", sep);
            else
                fprintf(out, "%s%" PRIu32, sep, thread_name[t]);
            sep = ",";
        }
        fputs("],\"root\":[", out);
        sep = "";
        for (uint32_t t = 0; t < tree->nthreads; t++) {
            if (kept[tree->threads[t].root] == PLUMB_NONE)
                continue;
            fprintf(out, "%s%" PRIu32, sep, kept[tree->threads[t].root]);
            sep = ",";
        }
        fputs("]},\n\"parent\":[", out);
        int first = 1;
        for (uint32_t i = 0; i < tree->nnodes; i++) {
            if (kept[i] == PLUMB_NONE)
                continue;
            uint32_t parent = tree->nodes[i].parent;
            if (parent == PLUMB_NONE)
                fputs(first ? "-1" : ",-1", out);
            else
                fprintf(out, first ? "%" PRIu32 : ",%" PRIu32, kept[parent]);
            first = 0;
        }
        fputs("],\n\"func\":[", out);
        first = 1;
        for (uint32_t i = 0; i < tree->nnodes; i++) {
            if (kept[i] == PLUMB_NONE)
                continue;
            uint32_t func = tree->nodes[i].func;
            if (func == PLUMB_NONE)
                fputs(first ? "-1" : ",-1", out);
            else
                fprintf(out, first ? "%" PRIu32 : ",%" PRIu32, ft->of_tree[func]);
            first = 0;
        }
        fputs("],\n\"self\":[", out);
        first = 1;
        for (uint32_t i = 0; i < tree->nnodes; i++) {
            if (kept[i] == PLUMB_NONE)
                continue;
            fprintf(out, first ? "%" PRIu64 : ",%" PRIu64, tree->nodes[i].self);
            first = 0;
        }
        putc(']', out);
        if (tree->calls) {
            fputs(",\n\"calls\":[", out);
            first = 1;
            for (uint32_t i = 0; i < tree->nnodes; i++) {
                if (kept[i] == PLUMB_NONE)
                    continue;
                fprintf(out, first ? "%" PRIu64 : ",%" PRIu64, tree->calls[i]);
                first = 0;
            }
            putc(']', out);
        }
        fputs("},\n", out);
    }
    free(kept);
    free(thread_name);
    plumb_sample_index_free(&ix);
    return rc;
}

static void write_summary(FILE *out, const plumb_samples *tree, const plumb_json_info *info)
{
    fprintf(out, "\"summary\":{\"lost_events\":%" PRIu64 ",\"folded_calls\":%" PRIu64,
            info->lost_events, info->folded_calls);
    if (tree && !tree->calls) {
        fprintf(out,
                ",\"mode\":\"%s\",\"interval\":",
                tree->cpu_mode ? "cpu" : "wall");
        write_exact(out, tree->interval);
        fprintf(out,
                ",\"rounds\":%" PRIu64 ",\"missed\":%" PRIu64 ",\"failed\":%" PRIu64
                ",\"truncated\":%" PRIu64,
                tree->taken, tree->missed, tree->failed, tree->truncated);
    }
    fputs("},\n", out);
}

int plumb_write_json(FILE *out, const plumb_stats *st, const plumb_samples *tree,
                     const plumb_json_info *info)
{
    func_table ft = {0};
    plumb_string_table strs = {0};
    int rc = build_funcs(&ft, st, tree);
    fputs("{\"plumb_profile\":1,\"kind\":", out);
    plumb_json_str(out, info->kind);
    fputs(",\"creator\":", out);
    plumb_json_str(out, info->creator ? info->creator : "plumb");
    fputs(",\n", out);
    if (rc == PLUMB_OK)
        rc = write_functions(out, &ft, &strs);
    if (rc == PLUMB_OK) {
        write_stats(out, st);
        if (tree)
            rc = write_tree(out, tree, &ft, &strs, info);
        else
            fputs("\"tree\":null,\n", out);
    }
    if (rc == PLUMB_OK) {
        write_summary(out, tree, info);
        /* Last, since writing the rest is what fills it. */
        fputs("\"strings\":[", out);
        for (uint32_t i = 0; i < strs.n; i++) {
            fputs(i ? ",\n" : "\n", out);
            plumb_json_str(out, strs.strs[i]);
        }
        fputs("]}\n", out);
    }
    free(ft.funcs);
    free(ft.of_tree);
    plumb_string_table_free(&strs);
    if (rc < 0)
        return rc;
    return ferror(out) ? PLUMB_EIO : PLUMB_OK;
}
