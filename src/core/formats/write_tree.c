/* A sampled profile as text: a summary line, then per thread a top-down
 * call tree in percent of the thread's samples (inclusive: a function and
 * everything it called).
 *
 *   Thread MainThread: 1,234 samples (wall)
 *   100.0%  <module>  prog.py:1
 *    80.1%  ├─ busy  prog.py:3
 *    19.9%  └─ idle  prog.py:9
 *
 * Children are sorted by samples, most first (ties: first seen first), so
 * once one child is under min_percent all later ones are too; they are
 * folded into one "… N more" line with their summed percentage.  Threads
 * with no sample are left out. */
#define _GNU_SOURCE   /* qsort_r */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/grow.h"
#include "formats/sample_writers.h"

/* 1234567 -> "1,234,567" */
static void put_count(FILE *out, uint64_t n)
{
    char digits[32];
    int len = snprintf(digits, sizeof digits, "%" PRIu64, n);
    for (int i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            putc(',', out);
        putc(digits[i], out);
    }
}

static void put_summary(const plumb_samples *s, FILE *out)
{
    if (s->calls) {   /* a deterministic profile's paths: times, not samples */
        fputs("Call paths of a deterministic profile; time including callees\n", out);
        return;
    }
    fputs("Samples: ", out);
    put_count(out, s->taken);
    fputs(" taken, ", out);
    put_count(out, s->missed);
    fputs(" missed, ", out);
    put_count(out, s->failed);
    fputs(" failed", out);
    if (s->truncated) {
        fputs(", ", out);
        put_count(out, s->truncated);
        fprintf(out, " stacks truncated at %d frames", PLUMB_MAX_SAMPLE_DEPTH);
    }
    double iv = s->interval;
    if (iv > 0 && iv < 1e6) {
        if (iv >= 1)
            fprintf(out, "; every %g s (", iv);
        else if (iv >= 1e-3)
            fprintf(out, "; every %g ms (", iv * 1e3);
        else
            fprintf(out, "; every %g us (", iv * 1e6);
        put_count(out, (uint64_t)(1 / iv + 0.5));
        fputs(" Hz)", out);
    }
    fputs(s->cpu_mode ? "; CPU time (threads on a CPU only)\n" : "; wall-clock time\n", out);
}

/* Names and files are printed as they are, but a control character could
 * break the tree's lines, so it is shown as '?'. */
static void put_clean(FILE *out, const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        putc(*p < 0x20 || *p == 0x7f ? '?' : *p, out);
}

static void put_func(FILE *out, const plumb_func *f)
{
    put_clean(out, f->name);
    if (strcmp(f->file, "~") != 0) {   /* built-ins have no place to show */
        fputs("  ", out);
        put_clean(out, f->file);
        fprintf(out, ":%" PRId64, f->line);
    }
}

static int by_samples(const void *a, const void *b, void *inclusive)
{
    const uint64_t *inc = inclusive;
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    if (inc[x] != inc[y])
        return inc[x] > inc[y] ? -1 : 1;
    return (x > y) - (x < y);
}

typedef struct tree_out {
    const plumb_samples *s;
    const plumb_sample_index *ix;
    uint32_t *sorted;        /* ix->child, each node's range sorted when it is shown */
    unsigned char *last;     /* per level: the node shown there is its parent's last line */
    uint32_t last_capacity;
    FILE *out;
} tree_out;

static void sort_children(tree_out *t, uint32_t node)
{
    uint32_t from = t->ix->first[node], to = t->ix->first[node + 1];
    qsort_r(t->sorted + from, to - from, sizeof *t->sorted, by_samples, t->ix->inclusive);
}

/* The percentage, then the branches of the levels above and this one's. */
static void put_prefix(tree_out *t, double percent, uint32_t level, int last)
{
    fprintf(t->out, "%5.1f%%  ", percent);
    for (uint32_t k = 2; k < level; k++)
        fputs(t->last[k] ? "   " : "\u2502  ", t->out);
    if (level > 1)
        fputs(last ? "\u2514\u2500 " : "\u251c\u2500 ", t->out);
}

static int write_thread(tree_out *t, uint32_t th, double min_percent)
{
    const plumb_samples *s = t->s;
    const uint64_t *inc = t->ix->inclusive;
    uint32_t root = s->threads[th].root;
    uint64_t total = inc[root] - s->nodes[root].self;   /* samples with frames */
    if (total == 0)
        return PLUMB_OK;
    fputs("\nThread ", t->out);
    if (s->threads[th].name)
        put_clean(t->out, s->threads[th].name);
    else
        fprintf(t->out, "%" PRIu64, s->threads[th].id);
    fputs(": ", t->out);
    if (s->calls) {
        fprintf(t->out, "%.6f s\n", (double)total * s->interval);
    } else {
        put_count(t->out, total);
        fputs(total == 1 ? " sample" : " samples", t->out);
        fputs(s->cpu_mode ? " (cpu)\n" : " (wall)\n", t->out);
    }

    sort_children(t, root);
    plumb_tree_walk w;
    int rc = plumb_tree_walk_begin(&w, t->ix->first, t->sorted, root);
    if (rc < 0)
        return rc;
    uint32_t node;
    int step;
    while ((step = plumb_tree_walk_next(&w, &node)) != PLUMB_WALK_DONE) {
        if (step < 0) {
            rc = step;
            break;
        }
        if (step != PLUMB_WALK_ENTER)
            continue;
        uint32_t level = w.depth - 1;              /* 1 for a thread's top functions */
        uint32_t parent = w.path[level - 1];
        uint32_t pos = w.next[level - 1] - 1;      /* node's place in sorted[] */
        uint32_t end = t->ix->first[parent + 1];
        double percent = 100.0 * (double)inc[node] / (double)total;
        if (inc[node] == 0 || percent < min_percent) {
            /* This sibling and all after it are folded into one line. */
            uint32_t folded = 0;
            uint64_t sum = 0;
            for (uint32_t i = pos; i < end && inc[t->sorted[i]] > 0; i++, folded++)
                sum += inc[t->sorted[i]];
            if (folded) {
                put_prefix(t, 100.0 * (double)sum / (double)total, level, 1);
                fprintf(t->out, "\u2026 %" PRIu32 " more\n", folded);
            }
            w.next[level - 1] = end;               /* no more siblings */
            plumb_tree_walk_skip(&w);
            continue;
        }
        int last = pos + 1 == end || inc[t->sorted[pos + 1]] == 0;
        rc = PLUMB_GROW(t->last, &t->last_capacity, (size_t)level + 1, 64, UINT32_MAX);
        if (rc < 0)
            break;
        t->last[level] = (unsigned char)last;
        put_prefix(t, percent, level, last);
        put_func(t->out, &s->names.funcs[s->nodes[node].func]);
        putc('\n', t->out);
        sort_children(t, node);
    }
    plumb_tree_walk_free(&w);
    return rc;
}

int plumb_write_tree(const plumb_samples *s, FILE *out, double min_percent)
{
    plumb_sample_index ix;
    int rc = plumb_sample_index_build(s, &ix);
    if (rc < 0)
        return rc;
    tree_out t = {.s = s, .ix = &ix, .out = out};
    t.sorted = malloc(((size_t)s->nnodes + 1) * sizeof *t.sorted);
    if (!t.sorted)
        rc = PLUMB_ENOMEM;
    else
        memcpy(t.sorted, ix.child, (size_t)ix.first[s->nnodes] * sizeof *t.sorted);
    if (rc == PLUMB_OK)
        put_summary(s, out);
    for (uint32_t th = 0; th < s->nthreads && rc == PLUMB_OK; th++)
        rc = write_thread(&t, th, min_percent);
    free(t.sorted);
    free(t.last);
    plumb_sample_index_free(&ix);
    if (rc < 0)
        return rc;
    return ferror(out) ? PLUMB_EIO : PLUMB_OK;
}
