/* Reading plumb's JSON profile (docs/json-format.md, written by
 * write_json.c) from untrusted bytes: every index is checked against its
 * table, every column against its siblings' length, every count against
 * 2^53, and a tree's parents must come before their children, so no file
 * makes a cycle, a dangling index or an unbounded allocation. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/json_in.h"
#include "formats/read_checks.h"
#include "formats/readers.h"

#define MAX_EXACT 9007199254740992.0   /* 2^53: the largest count a double holds exactly */

typedef struct reader {
    plumb_json j;
    plumb_json_profile *out;
    plumb_read_error *err;
    char **strings;
    uint32_t nstrings;
    uint32_t *func_of;      /* the file's function index -> the stats' */
    uint32_t nfuncs;
    uint32_t *node_of;      /* the file's node index -> the tree's */
} reader;

static int fail(reader *r, const char *what)
{
    return plumb_read_fail(r->err, NULL, 0, what);
}

static uint32_t member(reader *r, uint32_t obj, const char *key)
{
    return plumb_json_member(&r->j, obj, key);
}

static int kind_of(reader *r, uint32_t node)
{
    return node == PLUMB_JSON_NONE ? -1 : r->j.nodes[node].kind;
}

/* obj[key] as an array of n entries (n == UINT32_MAX: any length, stored
 * in *n_out); its first entry in *first. */
static int column(reader *r, uint32_t obj, const char *key, uint32_t n, uint32_t *first,
                  uint32_t *n_out)
{
    uint32_t a = member(r, obj, key);
    if (kind_of(r, a) != PLUMB_JSON_ARRAY) {
        snprintf(r->err->message, sizeof r->err->message, "\"%s\" is missing or not a list", key);
        return PLUMB_EFORMAT;
    }
    if (n != UINT32_MAX && r->j.nodes[a].count != n) {
        snprintf(r->err->message, sizeof r->err->message,
                 "\"%s\" has %u entries where %u were expected", key, r->j.nodes[a].count, n);
        return PLUMB_EFORMAT;
    }
    if (n_out)
        *n_out = r->j.nodes[a].count;
    *first = r->j.nodes[a].first;
    return PLUMB_OK;
}

/* The number at *node, which must be an integer in [lo, hi]; moves *node on. */
static int next_int(reader *r, uint32_t *node, double lo, double hi, const char *what,
                    double *v)
{
    if (plumb_json_number(&r->j, *node, v) < 0 || !(*v >= lo && *v <= hi) || *v != floor(*v)) {
        snprintf(r->err->message, sizeof r->err->message, "%s out of range or not an integer",
                 what);
        return PLUMB_EFORMAT;
    }
    *node = r->j.nodes[*node].next;
    return PLUMB_OK;
}

static int next_real(reader *r, uint32_t *node, const char *what, double *v)
{
    if (plumb_json_number(&r->j, *node, v) < 0 || !isfinite(*v) || fabs(*v) > 1e15) {
        snprintf(r->err->message, sizeof r->err->message, "%s is not a number", what);
        return PLUMB_EFORMAT;
    }
    *node = r->j.nodes[*node].next;
    return PLUMB_OK;
}

static int read_strings(reader *r, uint32_t root)
{
    uint32_t s;
    int rc = column(r, root, "strings", UINT32_MAX, &s, &r->nstrings);
    if (rc < 0)
        return rc;
    r->strings = calloc((size_t)r->nstrings + 1, sizeof *r->strings);
    if (!r->strings)
        return PLUMB_ENOMEM;
    for (uint32_t i = 0; i < r->nstrings; i++, s = r->j.nodes[s].next) {
        if (kind_of(r, s) != PLUMB_JSON_STRING)
            return fail(r, "\"strings\" holds something other than a string");
        size_t size = (size_t)r->j.nodes[s].len + 1;
        if (!(r->strings[i] = malloc(size)))
            return PLUMB_ENOMEM;
        if (plumb_json_string(&r->j, s, r->strings[i], size) < 0)
            return fail(r, "a string holds a NUL character");
    }
    return PLUMB_OK;
}

static int read_functions(reader *r, uint32_t root)
{
    uint32_t obj = member(r, root, "functions");
    if (kind_of(r, obj) != PLUMB_JSON_OBJECT)
        return fail(r, "\"functions\" is missing or not an object");
    uint32_t file = 0, line = 0, name = 0;
    int rc = column(r, obj, "file", UINT32_MAX, &file, &r->nfuncs);
    if (rc == PLUMB_OK)
        rc = column(r, obj, "line", r->nfuncs, &line, NULL);
    if (rc == PLUMB_OK)
        rc = column(r, obj, "name", r->nfuncs, &name, NULL);
    if (rc < 0)
        return rc;
    r->func_of = malloc(((size_t)r->nfuncs + 1) * sizeof *r->func_of);
    if (!r->func_of)
        return PLUMB_ENOMEM;
    double hi = r->nstrings ? (double)r->nstrings - 1 : -1;
    for (uint32_t i = 0; i < r->nfuncs; i++) {
        double f, l, n;
        if ((rc = next_int(r, &file, 0, hi, "a function's file", &f)) < 0
            || (rc = next_int(r, &line, -1e15, 1e15, "a function's line", &l)) < 0
            || (rc = next_int(r, &name, 0, hi, "a function's name", &n)) < 0)
            return rc;
        rc = plumb_stats_func(&r->out->stats, r->strings[(uint32_t)f], (int64_t)l,
                              r->strings[(uint32_t)n], &r->func_of[i]);
        if (rc < 0)
            return rc;
    }
    return PLUMB_OK;
}

/* The four pstats numbers of row i of obj's columns. */
typedef struct counts_columns {
    uint32_t prim_calls, calls, own, total;
} counts_columns;

static int counts_begin(reader *r, uint32_t obj, uint32_t n, counts_columns *c)
{
    int rc = column(r, obj, "prim_calls", n, &c->prim_calls, NULL);
    if (rc == PLUMB_OK)
        rc = column(r, obj, "calls", n, &c->calls, NULL);
    if (rc == PLUMB_OK)
        rc = column(r, obj, "own", n, &c->own, NULL);
    if (rc == PLUMB_OK)
        rc = column(r, obj, "total", n, &c->total, NULL);
    return rc;
}

static int counts_next(reader *r, counts_columns *c, plumb_stat_counts *out)
{
    double prim = 0, calls = 0;
    int rc = next_int(r, &c->prim_calls, 0, MAX_EXACT, "a primitive call count", &prim);
    if (rc == PLUMB_OK)
        rc = next_int(r, &c->calls, 0, MAX_EXACT, "a call count", &calls);
    if (rc == PLUMB_OK)
        rc = next_real(r, &c->own, "an own time", &out->own);
    if (rc == PLUMB_OK)
        rc = next_real(r, &c->total, "a cumulative time", &out->total);
    if (rc == PLUMB_OK) {   /* in range only if read */
        out->prim_calls = (int64_t)prim;
        out->calls = (int64_t)calls;
    }
    return rc;
}

static int read_stats(reader *r, uint32_t root)
{
    plumb_stats *st = &r->out->stats;
    uint32_t obj = member(r, root, "stats");
    if (kind_of(r, obj) != PLUMB_JSON_OBJECT)
        return fail(r, "\"stats\" is missing or not an object");
    uint32_t fn = 0, n = 0;
    counts_columns c;
    int rc = column(r, obj, "function", UINT32_MAX, &fn, &n);
    if (rc == PLUMB_OK)
        rc = counts_begin(r, obj, n, &c);
    double hi = (double)r->nfuncs - 1;
    for (uint32_t i = 0; i < n && rc == PLUMB_OK; i++) {
        double f;
        plumb_stat_counts counts;
        if ((rc = next_int(r, &fn, 0, hi, "a listed function", &f)) < 0
            || (rc = counts_next(r, &c, &counts)) < 0)
            break;
        uint32_t func = r->func_of[(uint32_t)f];
        if (st->listed[func]) {   /* sums of repeats could pass every bound */
            rc = fail(r, "a function listed twice");
            break;
        }
        if ((rc = plumb_stats_list(st, func)) == PLUMB_OK) {
            st->funcs[func] = counts;
            st->own_sum += counts.own;
        }
    }
    if (rc < 0)
        return rc;
    obj = member(r, root, "edges");
    if (kind_of(r, obj) != PLUMB_JSON_OBJECT)
        return fail(r, "\"edges\" is missing or not an object");
    uint32_t caller = 0, callee = 0, count_only = 0;
    rc = column(r, obj, "caller", UINT32_MAX, &caller, &n);
    if (rc == PLUMB_OK)
        rc = column(r, obj, "callee", n, &callee, NULL);
    if (rc == PLUMB_OK)
        rc = column(r, obj, "count_only", n, &count_only, NULL);
    if (rc == PLUMB_OK)
        rc = counts_begin(r, obj, n, &c);
    for (uint32_t i = 0; i < n && rc == PLUMB_OK; i++) {
        double from, to, only;
        plumb_stat_counts counts;
        uint32_t e;
        if ((rc = next_int(r, &caller, 0, hi, "an edge's caller", &from)) < 0
            || (rc = next_int(r, &callee, 0, hi, "an edge's callee", &to)) < 0
            || (rc = next_int(r, &count_only, 0, 1, "an edge's count_only", &only)) < 0
            || (rc = counts_next(r, &c, &counts)) < 0)
            break;
        uint32_t before = st->nedges;
        rc = plumb_stats_edge(st, r->func_of[(uint32_t)from], r->func_of[(uint32_t)to], &e);
        if (rc == PLUMB_OK && e < before) {
            rc = fail(r, "an edge given twice");
            break;
        }
        if (rc == PLUMB_OK) {
            st->edges[e].counts = counts;
            st->edges[e].count_only = only != 0;
        }
    }
    return rc;
}

static int read_threads(reader *r, uint32_t tree, uint32_t nnodes)
{
    uint32_t obj = member(r, tree, "threads");
    if (kind_of(r, obj) != PLUMB_JSON_OBJECT)
        return fail(r, "\"tree\" has no \"threads\" object");
    uint32_t id = 0, name = 0, root = 0, n = 0;
    int rc = column(r, obj, "id", UINT32_MAX, &id, &n);
    if (rc == PLUMB_OK)
        rc = column(r, obj, "name", n, &name, NULL);
    if (rc == PLUMB_OK)
        rc = column(r, obj, "root", n, &root, NULL);
    plumb_samples *s = &r->out->tree;
    for (uint32_t i = 0; i < n && rc == PLUMB_OK; i++) {
        double tid, tname, troot;
        if ((rc = next_int(r, &id, 0, 18446744073709549568.0, "a thread id", &tid)) < 0
            || (rc = next_int(r, &name, -1, (double)r->nstrings - 1, "a thread name", &tname)) < 0
            || (rc = next_int(r, &root, 0, (double)nnodes - 1, "a thread root", &troot)) < 0)
            break;
        uint32_t t, before = s->nthreads;
        if ((rc = plumb_samples_thread(s, (uint64_t)tid, 0, &t)) < 0)
            break;
        if (t < before)
            return fail(r, "a thread listed twice");
        if (tname >= 0 && (rc = plumb_samples_name_thread(s, t, r->strings[(uint32_t)tname])) < 0)
            break;
        if (r->node_of[(uint32_t)troot] != PLUMB_NONE)
            return fail(r, "two threads share a root");
        r->node_of[(uint32_t)troot] = s->threads[t].root;
    }
    return rc;
}

static int read_tree(reader *r, uint32_t root)
{
    uint32_t tree = member(r, root, "tree");
    if (tree == PLUMB_JSON_NONE || kind_of(r, tree) == PLUMB_JSON_NULL)
        return PLUMB_OK;
    if (kind_of(r, tree) != PLUMB_JSON_OBJECT)
        return fail(r, "\"tree\" is neither an object nor null");
    double unit;
    uint32_t x = member(r, tree, "unit");
    if (plumb_json_number(&r->j, x, &unit) < 0 || !(unit > 0 && unit < 1e6))
        return fail(r, "the tree's \"unit\" is not a positive number of seconds");
    x = member(r, tree, "exact");
    if (kind_of(r, x) != PLUMB_JSON_TRUE && kind_of(r, x) != PLUMB_JSON_FALSE)
        return fail(r, "the tree's \"exact\" is not true or false");
    r->out->tree_exact = kind_of(r, x) == PLUMB_JSON_TRUE;
    uint32_t summary = member(r, root, "summary");
    uint32_t mode = member(r, summary, "mode");
    int cpu = mode != PLUMB_JSON_NONE && r->j.nodes[mode].len == 3
              && memcmp(r->j.text + r->j.nodes[mode].start, "cpu", 3) == 0;
    int rc = plumb_samples_init(&r->out->tree, unit, cpu);
    if (rc < 0)
        return rc;
    r->out->has_tree = 1;
    uint32_t parent = 0, func = 0, self = 0, calls = PLUMB_JSON_NONE, n = 0;
    rc = column(r, tree, "parent", UINT32_MAX, &parent, &n);
    if (rc == PLUMB_OK)
        rc = column(r, tree, "func", n, &func, NULL);
    if (rc == PLUMB_OK)
        rc = column(r, tree, "self", n, &self, NULL);
    int with_calls = member(r, tree, "calls") != PLUMB_JSON_NONE;
    if (rc == PLUMB_OK && with_calls)
        rc = column(r, tree, "calls", n, &calls, NULL);
    if (rc < 0)
        return rc;
    if (!(r->node_of = malloc(((size_t)n + 1) * sizeof *r->node_of)))
        return PLUMB_ENOMEM;
    for (uint32_t i = 0; i < n; i++)
        r->node_of[i] = PLUMB_NONE;
    if ((rc = read_threads(r, tree, n)) < 0)
        return rc;
    plumb_samples *s = &r->out->tree;
    uint64_t *node_calls = NULL;
    if (with_calls && !(node_calls = calloc((size_t)n + 1, sizeof *node_calls)))
        return PLUMB_ENOMEM;
    uint64_t counted = 0;
    for (uint32_t i = 0; i < n && rc == PLUMB_OK; i++) {
        double p, f, v, c = 0;
        if ((rc = next_int(r, &parent, -1, (double)i - 1, "a node's parent", &p)) < 0
            || (rc = next_int(r, &func, -1, (double)r->nfuncs - 1, "a node's function", &f)) < 0
            || (rc = next_int(r, &self, 0, MAX_EXACT, "a node's own value", &v)) < 0
            || (with_calls && (rc = next_int(r, &calls, 0, MAX_EXACT, "a node's calls", &c)) < 0))
            break;
        if ((p < 0) != (f < 0)) {
            rc = fail(r, "a node is a root without being a thread's, or has no function");
            break;
        }
        if (p < 0) {
            if (r->node_of[i] == PLUMB_NONE) {
                rc = fail(r, "a root node belongs to no thread");
                break;
            }
        } else {
            /* Functions of the tree are the stats' labels, so the names
             * table is the stats' own (a copy for the tree). */
            const plumb_func *fn = &r->out->stats.names.funcs[r->func_of[(uint32_t)f]];
            uint32_t g, before = s->nnodes;
            rc = plumb_labels_intern(&s->names, fn->file, fn->line, fn->name, &g);
            if (rc == PLUMB_OK)
                rc = plumb_samples_child(s, r->node_of[(uint32_t)p], g, &r->node_of[i]);
            if (rc == PLUMB_OK && s->nnodes == before)
                rc = fail(r, "a call path given twice");
            if (rc < 0)
                break;
        }
        plumb_samples_count(s, r->node_of[i], (uint64_t)v);
        counted += (uint64_t)v;
        if (node_calls)
            node_calls[i] = (uint64_t)c;
    }
    if (rc == PLUMB_OK && node_calls) {
        if (!(s->calls = calloc((size_t)s->nnodes + 1, sizeof *s->calls)))
            rc = PLUMB_ENOMEM;
        for (uint32_t i = 0; i < n && rc == PLUMB_OK; i++)
            s->calls[r->node_of[i]] += node_calls[i];
    }
    free(node_calls);
    s->taken = counted;
    return rc;
}

int plumb_read_json_profile(plumb_json_profile *out, const void *buf, size_t len,
                            plumb_read_error *err)
{
    memset(out, 0, sizeof *out);
    reader r = {.out = out, .err = err};
    int rc = plumb_stats_init(&out->stats);
    if (rc < 0)
        return rc;
    rc = plumb_json_parse(&r.j, buf, len, err);
    uint32_t version = PLUMB_JSON_NONE, kind = PLUMB_JSON_NONE;
    double v = 0;
    if (rc == PLUMB_OK) {
        if (r.j.nodes[0].kind != PLUMB_JSON_OBJECT
            || (version = member(&r, 0, "plumb_profile")) == PLUMB_JSON_NONE)
            rc = fail(&r, "not a plumb JSON profile (no \"plumb_profile\" member)");
        else if (plumb_json_number(&r.j, version, &v) < 0 || v != 1)
            rc = fail(&r, "a plumb JSON profile of a version this plumb does not read (it reads 1)");
    }
    if (rc == PLUMB_OK) {
        kind = member(&r, 0, "kind");
        if (plumb_json_string(&r.j, kind, out->kind, sizeof out->kind) < 0
            || (strcmp(out->kind, "deterministic") != 0 && strcmp(out->kind, "sampled") != 0
                && strcmp(out->kind, "functions") != 0))
            rc = fail(&r, "\"kind\" is not deterministic, sampled or functions");
    }
    if (rc == PLUMB_OK)
        rc = read_strings(&r, 0);
    if (rc == PLUMB_OK)
        rc = read_functions(&r, 0);
    if (rc == PLUMB_OK)
        rc = read_stats(&r, 0);
    if (rc == PLUMB_OK)
        rc = plumb_check_stats(&out->stats, err);
    if (rc == PLUMB_OK)
        rc = read_tree(&r, 0);
    if (rc == PLUMB_OK)
        out->stats.profiles = 1;
    for (uint32_t i = 0; i < r.nstrings && r.strings; i++)
        free(r.strings[i]);
    free(r.strings);
    free(r.func_of);
    free(r.node_of);
    plumb_json_free(&r.j);
    if (rc < 0)
        plumb_json_profile_free(out);
    return rc;
}

void plumb_json_profile_free(plumb_json_profile *p)
{
    plumb_stats_free(&p->stats);
    if (p->has_tree)
        plumb_samples_free(&p->tree);
    p->has_tree = 0;
}

int plumb_read_json_stats(plumb_stats *st, const void *buf, size_t len, plumb_read_error *err)
{
    plumb_json_profile jp;
    int rc = plumb_read_json_profile(&jp, buf, len, err);
    if (rc < 0)
        return rc;
    plumb_stats_free(st);   /* empty, as every reader's target is */
    *st = jp.stats;
    if (jp.has_tree)
        plumb_samples_free(&jp.tree);
    return PLUMB_OK;
}
