/* The Callgrind Format (valgrind docs/callgrind-format), read by KCacheGrind
 * and callgrind_annotate.  One event, nanoseconds.  Files and functions are
 * written with name compression: "(id) name" the first time, "(id)" after. */
#define _GNU_SOURCE   /* qsort_r */
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "writers.h"

typedef struct callgrind_ids {
    uint32_t *file_of;      /* function -> file id (1-based) */
    unsigned char *file_named;  /* file id -> already written with its name */
    unsigned char *func_named;  /* function -> already written with its name */
} callgrind_ids;

static int by_file(const void *a, const void *b, void *profile)
{
    const plumb_profile *p = profile;
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    int c = strcmp(p->funcs[x].file, p->funcs[y].file);
    return c ? c : (x > y) - (x < y);
}

/* Gives functions that share a file the same file id. */
static int assign_file_ids(const plumb_profile *p, callgrind_ids *ids)
{
    uint32_t n = p->nfuncs;
    uint32_t *order = malloc(((size_t)n + 1) * sizeof *order);
    ids->file_of = malloc(((size_t)n + 1) * sizeof *ids->file_of);
    ids->file_named = calloc((size_t)n + 2, 1);
    ids->func_named = calloc((size_t)n + 1, 1);
    if (!order || !ids->file_of || !ids->file_named || !ids->func_named) {
        free(order);
        return PLUMB_ENOMEM;
    }
    for (uint32_t i = 0; i < n; i++)
        order[i] = i;
    qsort_r(order, n, sizeof *order, by_file, (void *)p);
    uint32_t id = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (i == 0 || strcmp(p->funcs[order[i]].file, p->funcs[order[i - 1]].file) != 0)
            id++;
        ids->file_of[order[i]] = id;
    }
    free(order);
    return PLUMB_OK;
}

/* Names run to the end of the line in this format, so line breaks in a
 * (hostile or odd) name become spaces. */
static void put_clean(FILE *out, const char *s)
{
    for (; *s; s++)
        putc(*s == '\n' || *s == '\r' ? ' ' : *s, out);
}

static void put_file(FILE *out, const char *key, const plumb_profile *p, callgrind_ids *ids,
                     uint32_t f)
{
    uint32_t id = ids->file_of[f];
    fprintf(out, "%s=(%u)", key, id);
    if (!ids->file_named[id]) {
        putc(' ', out);
        put_clean(out, p->funcs[f].file);
        ids->file_named[id] = 1;
    }
    putc('\n', out);
}

static void put_func(FILE *out, const char *key, const plumb_profile *p, callgrind_ids *ids,
                     uint32_t f)
{
    fprintf(out, "%s=(%u)", key, f + 1);
    if (!ids->func_named[f]) {
        putc(' ', out);
        put_clean(out, p->funcs[f].name);
        /* The line keeps apart functions of one file that share a name. */
        if (p->funcs[f].line > 0)
            fprintf(out, ":%lld", (long long)p->funcs[f].line);
        ids->func_named[f] = 1;
    }
    putc('\n', out);
}

static long long to_ns(int64_t ticks, double ticks_per_second)
{
    double ns = (double)ticks * 1e9 / ticks_per_second;
    return ns < 0 ? 0 : (long long)(ns + 0.5);
}

int plumb_write_callgrind(const plumb_profile *p, FILE *out, const plumb_callgrind_info *info)
{
    callgrind_ids ids = {0};
    plumb_edge_index callees = {0};
    int rc = assign_file_ids(p, &ids);
    if (rc == PLUMB_OK)
        rc = plumb_edge_index_by_caller(p, &callees);
    if (rc < 0)
        goto done;

    long long summary = 0;
    for (uint32_t f = 0; f < p->nfuncs; f++)
        if (p->func_counts[f].calls)
            summary += to_ns(p->func_counts[f].own, p->ticks_per_second);

    fputs("# callgrind format\nversion: 1\n", out);
    fprintf(out, "creator: %s\n", info && info->creator ? info->creator : "plumb");
    if (info && info->pid > 0)
        fprintf(out, "pid: %ld\n", info->pid);
    if (info && info->cmd) {
        fputs("cmd: ", out);
        put_clean(out, info->cmd);
        putc('\n', out);
    }
    fputs("positions: line\nevents: ns\n", out);
    fprintf(out, "summary: %lld\n\n", summary);

    for (uint32_t f = 0; f < p->nfuncs; f++) {
        if (p->func_counts[f].calls == 0)
            continue;
        long long line = (long long)p->funcs[f].line;
        put_file(out, "fl", p, &ids, f);
        put_func(out, "fn", p, &ids, f);
        fprintf(out, "%lld %lld\n", line, to_ns(p->func_counts[f].own, p->ticks_per_second));
        for (uint32_t i = callees.first[f]; i < callees.first[f + 1]; i++) {
            const plumb_edge *e = &p->edges[callees.edges[i]];
            if (e->counts.calls == 0)
                continue;
            put_file(out, "cfl", p, &ids, e->callee);
            put_func(out, "cfn", p, &ids, e->callee);
            fprintf(out, "calls=%llu %lld\n", (unsigned long long)e->counts.calls,
                    (long long)p->funcs[e->callee].line);
            fprintf(out, "%lld %lld\n", line, to_ns(e->counts.total, p->ticks_per_second));
        }
        putc('\n', out);
    }
    fprintf(out, "totals: %lld\n", summary);
    rc = ferror(out) ? PLUMB_EIO : PLUMB_OK;
done:
    free(ids.file_of);
    free(ids.file_named);
    free(ids.func_named);
    plumb_edge_index_free(&callees);
    return rc;
}
