/* Sorting and naming functions as pstats does, so that `plumb stats` can
 * print a large profile's first rows without building pstats' dictionary. */
#define _GNU_SOURCE   /* qsort_r */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "model/stats_order.h"

int plumb_stats_std_name(const plumb_func *f, char *buf, size_t size)
{
    size_t n = strlen(f->name);
    if (strcmp(f->file, "~") == 0 && f->line == 0) {
        /* A built-in: "<built-in method len>" is shown as "{built-in method len}". */
        if (n >= 2 && f->name[0] == '<' && f->name[n - 1] == '>')
            return snprintf(buf, size, "{%.*s}", (int)(n - 2), f->name + 1);
        return snprintf(buf, size, "%s", f->name);
    }
    return snprintf(buf, size, "%s:%lld(%s)", f->file, (long long)f->line, f->name);
}

/* Characters (code points) of a UTF-8 string: Python's len(). */
static size_t chars(const char *s, size_t bytes)
{
    size_t n = 0;
    for (size_t i = 0; i < bytes; i++)
        n += ((unsigned char)s[i] & 0xc0) != 0x80;
    return n;
}

size_t plumb_stats_std_len(const plumb_func *f)
{
    char small[512];
    int n = plumb_stats_std_name(f, small, sizeof small);
    if (n < 0)
        return 0;
    if ((size_t)n < sizeof small)
        return chars(small, (size_t)n);
    char *big = malloc((size_t)n + 1);
    if (!big)
        return (size_t)n;
    plumb_stats_std_name(f, big, (size_t)n + 1);
    size_t c = chars(big, (size_t)n);
    free(big);
    return c;
}

typedef struct sort_ctx {
    const plumb_stats *st;
    const plumb_sort_field *fields;
    int nfields;
    char **std;   /* stdname strings by listing position, if sorted by it */
} sort_ctx;

static int cmp_num(double a, double b)
{
    return (a > b) - (a < b);
}

static int compare(const void *pa, const void *pb, void *arg)
{
    const sort_ctx *c = arg;
    uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
    uint32_t fa = c->st->order[a], fb = c->st->order[b];
    const plumb_stat_counts *ca = &c->st->funcs[fa], *cb = &c->st->funcs[fb];
    const plumb_func *la = &c->st->names.funcs[fa], *lb = &c->st->names.funcs[fb];
    for (int i = 0; i < c->nfields; i++) {
        int r = 0;
        switch (c->fields[i].index) {
        case 0: r = (ca->prim_calls > cb->prim_calls) - (ca->prim_calls < cb->prim_calls); break;
        case 1: r = (ca->calls > cb->calls) - (ca->calls < cb->calls); break;
        case 2: r = cmp_num(ca->own, cb->own); break;
        case 3: r = cmp_num(ca->total, cb->total); break;
        case 4: r = strcmp(la->file, lb->file); break;
        case 5: r = (la->line > lb->line) - (la->line < lb->line); break;
        case 6: r = strcmp(la->name, lb->name); break;
        case 7: r = strcmp(c->std[a], c->std[b]); break;
        }
        if (r)
            return r * c->fields[i].direction;
    }
    return (a > b) - (a < b);   /* stable: pstats sorts its dict's order */
}

int plumb_stats_sorted(const plumb_stats *st, const plumb_sort_field *fields, int nfields,
                       uint32_t *out)
{
    sort_ctx c = {.st = st, .fields = fields, .nfields = nfields};
    for (int i = 0; i < nfields; i++) {
        if (fields[i].index < 0 || fields[i].index > 7)
            return PLUMB_EINVAL;
        if (fields[i].index == 7 && !c.std) {
            c.std = calloc((size_t)st->norder + 1, sizeof *c.std);
            if (!c.std)
                return PLUMB_ENOMEM;
            for (uint32_t k = 0; k < st->norder; k++) {
                const plumb_func *f = &st->names.funcs[st->order[k]];
                int n = plumb_stats_std_name(f, NULL, 0);
                c.std[k] = n >= 0 ? malloc((size_t)n + 1) : NULL;
                if (!c.std[k]) {
                    for (uint32_t j = 0; j < k; j++)
                        free(c.std[j]);
                    free(c.std);
                    return PLUMB_ENOMEM;
                }
                plumb_stats_std_name(f, c.std[k], (size_t)n + 1);
            }
        }
    }
    for (uint32_t k = 0; k < st->norder; k++)
        out[k] = k;
    qsort_r(out, st->norder, sizeof *out, compare, &c);
    if (c.std) {
        for (uint32_t k = 0; k < st->norder; k++)
            free(c.std[k]);
        free(c.std);
    }
    return PLUMB_OK;
}
