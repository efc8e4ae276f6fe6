/* Collapsed ("folded") stacks, the input of flamegraph.pl, inferno and
 * speedscope: one line per distinct stack, frames from the outermost to the
 * innermost joined by ';', a space, the number of samples:
 *
 *     <module> (prog.py:1);busy (prog.py:3) 80
 *
 * A frame is "name (file:line)", line being the function's first line, or
 * just "name" for a built-in (file "~") or a frame with no file (read from
 * another tool's stacks).  Threads are merged: the same stack
 * in two threads is one line with the samples of both.
 *
 * The format has no unit: a count is a sample, of an interval the reader
 * must be told (--rate).  A tree whose counts are finer times than any
 * sampler's interval (a deterministic profile's nanoseconds; --rate stops
 * at 100 kHz) is written in microseconds instead, after a first line
 *
 *     # unit: microseconds
 *
 * which plumb's reader takes; flamegraph.pl skips it (with a warning),
 * as it skips Austin's "# key: value" lines.  (speedscope recognises
 * collapsed stacks only when every line is one: its own format, which
 * has units, is the one for it.)  Each line's microseconds
 * are rounded from the running total, so the file's total is the tree's
 * to the microsecond; stacks that round to nothing are left out.
 *
 * The format has no escaping, so a ';' in a name or file (which would split
 * the frame) is written as ',' and a control character (which could end the
 * line) as '?'.
 *
 * Order: a stack comes before the stacks that extend it, and sibling frames
 * are in byte order of their text.  The output is deterministic, and its
 * lines are in byte order unless a frame's text begins with a sibling's
 * whole text (which takes a name or file with ')' in it, or two labels
 * that sanitize alike).  Ordering the tree, not the text, keeps memory
 * linear in the nodes: the lines themselves can be far larger. */
#define _GNU_SOURCE   /* qsort_r */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "formats/sample_writers.h"

static void put_clean(char *dst, size_t *n, const char *src)
{
    for (const unsigned char *p = (const unsigned char *)src; *p; p++)
        dst[(*n)++] = *p == ';' ? ',' : *p < 0x20 || *p == 0x7f ? '?' : (char)*p;
}

static char *frame_text(const plumb_func *f)
{
    /* Built-ins (file "~") and frames read with no file are bare names. */
    int builtin = strcmp(f->file, "~") == 0 || f->file[0] == 0;
    size_t size = strlen(f->name) + strlen(f->file) + 32;
    char *text = malloc(size);
    if (!text)
        return NULL;
    size_t n = 0;
    put_clean(text, &n, f->name);
    if (!builtin) {
        text[n++] = ' ';
        text[n++] = '(';
        put_clean(text, &n, f->file);
        n += (size_t)snprintf(text + n, size - n, ":%" PRId64 ")", f->line);
    }
    text[n] = 0;
    return text;
}

/* The merged tree: the threads' trees laid over one another. */
typedef struct merged {
    uint32_t *parent, *func;
    uint64_t *self;
    uint32_t count;
    uint32_t *first, *child;
    char **text;       /* per function */
} merged;

static void merged_free(merged *m, uint32_t nfuncs)
{
    if (m->text)
        for (uint32_t f = 0; f < nfuncs; f++)
            free(m->text[f]);
    free(m->text);
    free(m->parent);
    free(m->func);
    free(m->self);
    free(m->first);
    free(m->child);
}

/* Node 0 is the common root; nodes keep the parent-before-child order. */
static int merge(const plumb_samples *s, merged *m)
{
    uint32_t n = s->nnodes;
    uint32_t *to = malloc(((size_t)n + 1) * sizeof *to);   /* node -> merged node */
    m->parent = malloc(((size_t)n + 1) * sizeof *m->parent);
    m->func = malloc(((size_t)n + 1) * sizeof *m->func);
    m->self = malloc(((size_t)n + 1) * sizeof *m->self);
    plumb_map ids = {0};
    int rc = to && m->parent && m->func && m->self ? plumb_map_init(&ids, 1024) : PLUMB_ENOMEM;
    if (rc == PLUMB_OK) {
        m->parent[0] = m->func[0] = PLUMB_NONE;
        m->self[0] = 0;
        m->count = 1;
    }
    for (uint32_t i = 0; i < n && rc == PLUMB_OK; i++) {
        const plumb_node *x = &s->nodes[i];
        if (x->func == PLUMB_NONE) {
            to[i] = 0;   /* a thread's root; its own samples have no frame */
            continue;
        }
        uint32_t up = to[x->parent];
        uint64_t key = ((uint64_t)up + 1) << 32 | x->func;
        uint32_t id = plumb_map_get(&ids, key);
        if (id == PLUMB_MAP_MISSING) {
            id = m->count++;
            m->parent[id] = up;
            m->func[id] = x->func;
            m->self[id] = 0;
            rc = plumb_map_put(&ids, key, id);
        }
        m->self[id] += x->self;
        to[i] = id;
    }
    free(to);
    plumb_map_free(&ids);
    return rc;
}

static int by_text(const void *a, const void *b, void *merged_tree)
{
    const merged *m = merged_tree;
    uint32_t x = m->func[*(const uint32_t *)a], y = m->func[*(const uint32_t *)b];
    int c = strcmp(m->text[x], m->text[y]);
    return c ? c : (x > y) - (x < y);
}

static int prepare(const plumb_samples *s, merged *m)
{
    int rc = merge(s, m);
    if (rc == PLUMB_OK)
        rc = plumb_tree_children(m->parent, m->count, &m->first, &m->child);
    if (rc < 0)
        return rc;
    m->text = calloc((size_t)s->names.nfuncs + 1, sizeof *m->text);
    if (!m->text)
        return PLUMB_ENOMEM;
    for (uint32_t f = 0; f < s->names.nfuncs; f++)
        if (!(m->text[f] = frame_text(&s->names.funcs[f])))
            return PLUMB_ENOMEM;
    for (uint32_t i = 0; i < m->count; i++)
        qsort_r(m->child + m->first[i], m->first[i + 1] - m->first[i], sizeof *m->child, by_text,
                m);
    return PLUMB_OK;
}

int plumb_write_collapsed(const plumb_samples *s, FILE *out)
{
    merged m = {0};
    plumb_tree_walk w = {0};
    /* Finer than 200 kHz: no --rate (at most 100 kHz, which rounding
     * may make a hair under 10 us) can say it. */
    int timed = s->calls != NULL || s->interval < 5e-6;
    double us_per_count = s->interval * 1e6, us_total = 0;
    uint64_t us_written = 0;
    if (timed)
        fputs("# unit: microseconds\n", out);
    int rc = prepare(s, &m);
    if (rc == PLUMB_OK)
        rc = plumb_tree_walk_begin(&w, m.first, m.child, 0);
    uint32_t node;
    int step;
    while (rc == PLUMB_OK && (step = plumb_tree_walk_next(&w, &node)) != PLUMB_WALK_DONE) {
        if (step < 0) {
            rc = step;
            break;
        }
        if (step != PLUMB_WALK_ENTER || m.self[node] == 0)
            continue;
        uint64_t value = m.self[node];
        if (timed) {
            us_total += (double)value * us_per_count;
            uint64_t upto = (uint64_t)(us_total + 0.5);
            value = upto - us_written;
            us_written = upto;
            if (value == 0)
                continue;
        }
        for (uint32_t level = 1; level < w.depth; level++) {
            if (level > 1)
                putc(';', out);
            fputs(m.text[m.func[w.path[level]]], out);
        }
        fprintf(out, " %" PRIu64 "\n", value);
    }
    plumb_tree_walk_free(&w);
    merged_free(&m, s->names.nfuncs);
    if (rc < 0)
        return rc;
    return ferror(out) ? PLUMB_EIO : PLUMB_OK;
}
