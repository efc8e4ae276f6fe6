#define _GNU_SOURCE   /* qsort_r */
#include "formats/callgrind_out.h"

#include <stdlib.h>
#include <string.h>

#include "base/errors.h"

static int by_file(const void *a, const void *b, void *labels)
{
    const plumb_labels *p = labels;
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    int c = strcmp(p->funcs[x].file, p->funcs[y].file);
    return c ? c : (x > y) - (x < y);
}

int plumb_callgrind_names_init(plumb_callgrind_names *n, const plumb_labels *p)
{
    uint32_t count = p->nfuncs;
    uint32_t *order = malloc(((size_t)count + 1) * sizeof *order);
    n->file_of = malloc(((size_t)count + 1) * sizeof *n->file_of);
    n->file_named = calloc((size_t)count + 2, 1);
    n->func_named = calloc((size_t)count + 1, 1);
    if (!order || !n->file_of || !n->file_named || !n->func_named) {
        free(order);
        plumb_callgrind_names_free(n);
        return PLUMB_ENOMEM;
    }
    for (uint32_t i = 0; i < count; i++)
        order[i] = i;
    qsort_r(order, count, sizeof *order, by_file, (void *)p);
    uint32_t id = 0;
    for (uint32_t i = 0; i < count; i++) {
        if (i == 0 || strcmp(p->funcs[order[i]].file, p->funcs[order[i - 1]].file) != 0)
            id++;
        n->file_of[order[i]] = id;
    }
    free(order);
    return PLUMB_OK;
}

void plumb_callgrind_names_free(plumb_callgrind_names *n)
{
    free(n->file_of);
    free(n->file_named);
    free(n->func_named);
    memset(n, 0, sizeof *n);
}

/* Names run to the end of the line in this format, so line breaks in a
 * (hostile or odd) name become spaces. */
void plumb_callgrind_put_clean(FILE *out, const char *s)
{
    for (; *s; s++)
        putc(*s == '\n' || *s == '\r' ? ' ' : *s, out);
}

void plumb_callgrind_put_file(FILE *out, const char *key, const plumb_labels *p,
                              plumb_callgrind_names *n, uint32_t f)
{
    uint32_t id = n->file_of[f];
    fprintf(out, "%s=(%u)", key, id);
    if (!n->file_named[id]) {
        putc(' ', out);
        plumb_callgrind_put_clean(out, p->funcs[f].file);
        n->file_named[id] = 1;
    }
    putc('\n', out);
}

void plumb_callgrind_put_func(FILE *out, const char *key, const plumb_labels *p,
                              plumb_callgrind_names *n, uint32_t f)
{
    fprintf(out, "%s=(%u)", key, f + 1);
    if (!n->func_named[f]) {
        putc(' ', out);
        plumb_callgrind_put_clean(out, p->funcs[f].name);
        /* The line keeps apart functions of one file that share a name. */
        if (p->funcs[f].line > 0)
            fprintf(out, ":%lld", (long long)p->funcs[f].line);
        n->func_named[f] = 1;
    }
    putc('\n', out);
}

void plumb_callgrind_header(FILE *out, const plumb_callgrind_info *info)
{
    fputs("# callgrind format\nversion: 1\n", out);
    fprintf(out, "creator: %s\n", info && info->creator ? info->creator : "plumb");
    if (info && info->pid > 0)
        fprintf(out, "pid: %ld\n", info->pid);
    if (info && info->cmd) {
        fputs("cmd: ", out);
        plumb_callgrind_put_clean(out, info->cmd);
        putc('\n', out);
    }
    fputs("positions: line\nevents: ns\n", out);
}
