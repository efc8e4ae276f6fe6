/* Reading the Callgrind Format (valgrind's docs/callgrind-format): files
 * from plumb, from valgrind's callgrind, from pyprof2calltree and the like,
 * into pstats' model, as far as the format says it:
 *   own time    = the function's cost lines (first event);
 *   calls       = the calls= counts into the function;
 *   cumulative  = own + the inclusive cost of its calls to other functions
 *                 (callgrind gives call costs, not pstats' recursion-once
 *                 total: with mutual recursion this counts some time twice);
 *   caller edge = (calls, calls, 0, inclusive cost): the callee's own time
 *                 per caller is not in the format, so it is 0.
 * Costs of an event in "ns", "us" or "ms" become seconds, and so do
 * yappi's "Ticks" (after "creator: yappi": it writes microseconds); any
 * other event (valgrind's Ir, say) is counted as if each unit were a
 * nanosecond.
 *
 * Function names: plumb writes "name:line"; yappi writes "name file:line",
 * file being the function's fl= file, and "name" is kept.  yappi also
 * names every function once up front (fn= lines with no costs): a
 * function is made when its first cost or calls= line comes, so such
 * declarations make none.
 * Name compression ("(id) name", then "(id)") is followed per kind: files
 * (fl, fi, fe, cfl, cfi) and functions (fn, cfn) have separate ids. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "formats/read_checks.h"
#include "formats/readers.h"

#define MAX_ID (1u << 24)
#define MAX_POSITIONS 4

typedef struct names {
    char **text;      /* by id */
    uint32_t cap;
    char **plain;     /* names given without an id, kept while reading */
    uint32_t nplain, plain_cap;
} names;

typedef struct reader {
    plumb_stats *st;
    plumb_read_error *err;
    size_t lineno;
    names files, funcs;
    const char *file;          /* current fl */
    const char *call_file;     /* cfl / cfi for the next call, or NULL */
    char *call_func;           /* cfn for the next call */
    uint32_t fn;               /* current function, PLUMB_NONE until a cost needs it */
    const char *fn_name;       /* the current fn= name (kept in names), NULL before any */
    const char *fn_file;       /* ... and its file */
    int64_t pending_calls;     /* after calls=: the next cost line is the call's */
    int npositions;
    double unit;
    int ticks, yappi;          /* events: Ticks; creator: yappi */
    double *self, *incl;       /* per function, in event units */
    uint32_t cap;
    char label[4096];
} reader;

static int fail(reader *r, const char *what)
{
    return plumb_read_fail(r->err, "line", r->lineno, what);
}

/* Keeps s (owned) until the end of the read. */
static int keep(names *t, char *s)
{
    int rc = PLUMB_GROW(t->plain, &t->plain_cap, (size_t)t->nplain + 1, 64, UINT32_MAX);
    if (rc < 0)
        return rc;
    t->plain[t->nplain++] = s;
    return PLUMB_OK;
}

/* "(id) name", "(id)" or "name": the name, remembered under its id. */
static int resolve(reader *r, names *t, char *spec, const char **out)
{
    if (spec[0] != '(') {
        /* The line buffer is reused: keep a copy. */
        char *copy = strdup(spec);
        if (!copy || keep(t, copy) < 0) {
            free(copy);
            return PLUMB_ENOMEM;
        }
        *out = copy;
        return PLUMB_OK;
    }
    char *close = strchr(spec, ')');
    char *end;
    unsigned long id = strtoul(spec + 1, &end, 10);
    if (!close || end != close || id >= MAX_ID)
        return fail(r, "a bad name id");
    char *name = close + 1;
    while (*name == ' ')
        name++;
    int rc = PLUMB_GROW_ZEROED(t->text, &t->cap, (size_t)id + 1, 64, MAX_ID);
    if (rc < 0)
        return rc;
    if (*name) {
        char *copy = strdup(name);
        if (!copy)
            return PLUMB_ENOMEM;
        /* A renamed id: the old name may still be the current file, so it
         * is kept (with the plain names) until the end. */
        if (t->text[id] && (keep(t, t->text[id]) < 0)) {
            free(copy);
            return PLUMB_ENOMEM;
        }
        t->text[id] = copy;
    } else if (!t->text[id]) {
        return fail(r, "a name id used before it was named");
    }
    *out = t->text[id];
    return PLUMB_OK;
}

static int grow(reader *r, uint32_t f)
{
    /* Two arrays, one capacity, recorded once both have grown. */
    uint32_t self_cap = r->cap, incl_cap = r->cap;
    int rc = PLUMB_GROW_ZEROED(r->self, &self_cap, (size_t)f + 1, 256, UINT32_MAX);
    if (rc == PLUMB_OK)
        rc = PLUMB_GROW_ZEROED(r->incl, &incl_cap, (size_t)f + 1, 256, UINT32_MAX);
    if (rc < 0)
        return rc;
    r->cap = self_cap;
    return PLUMB_OK;
}

/* A function label from a callgrind name: plumb writes "name:line". */
static int function(reader *r, const char *file, const char *name, uint32_t *f)
{
    size_t n = strlen(name);
    if (n >= sizeof r->label)
        n = sizeof r->label - 1;
    memcpy(r->label, name, n);
    r->label[n] = 0;
    long long line = 0;
    char *colon = strrchr(r->label, ':');
    if (colon && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1)
        && strlen(colon + 1) < 12) {
        line = strtoll(colon + 1, NULL, 10);
        *colon = 0;
        /* yappi's "name file:line": the file is the function's own. */
        size_t len = strlen(r->label), flen = file ? strlen(file) : 0;
        if (flen > 0 && len > flen + 1 && r->label[len - flen - 1] == ' '
            && strcmp(r->label + len - flen, file) == 0)
            r->label[len - flen - 1] = 0;
    }
    int rc = plumb_stats_func(r->st, file ? file : "", line, r->label, f);
    if (rc == PLUMB_OK)
        rc = grow(r, *f);
    return rc;
}

/* A cost line: positions, then costs; the first cost, or 0. */
static int cost_line(reader *r, char *line, double *cost)
{
    char *p = line;
    for (int i = 0; i < r->npositions; i++) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '*') {
            p++;
        } else {
            if (*p == '+' || *p == '-')
                p++;
            if (*p == '0' && (p[1] == 'x' || p[1] == 'X'))
                p += 2;
            if (!strchr("0123456789abcdefABCDEF", *p) || *p == 0)
                return fail(r, "a cost line without its positions");
            while (*p && strchr("0123456789abcdefABCDEF", *p))
                p++;
        }
    }
    while (*p == ' ' || *p == '\t')
        p++;
    *cost = 0;
    if (*p == 0)
        return PLUMB_OK;
    if (*p == '-')   /* strtoull would take it, and negate it */
        return fail(r, "a negative cost");
    char *end;
    unsigned long long v = strtoull(p, &end, 10);
    if (end == p || (*end && *end != ' ' && *end != '\t'))
        return fail(r, "a cost that is not a number");
    if (v > (1ull << 62))
        return fail(r, "a cost too large");
    *cost = (double)v;
    return PLUMB_OK;
}

/* The current function, made (and listed) when a cost first needs it. */
static int current(reader *r)
{
    if (r->fn != PLUMB_NONE)
        return PLUMB_OK;
    int rc = function(r, r->fn_file, r->fn_name, &r->fn);
    return rc < 0 ? rc : plumb_stats_list(r->st, r->fn);
}

static int body_line(reader *r, char *line)
{
    int rc;
    const char *name;
    if (!strncmp(line, "fl=", 3) || !strncmp(line, "fi=", 3) || !strncmp(line, "fe=", 3)) {
        if ((rc = resolve(r, &r->files, line + 3, &name)) < 0)
            return rc;
        if (line[1] == 'l')
            r->file = name;
        return PLUMB_OK;
    }
    if (!strncmp(line, "cfl=", 4) || !strncmp(line, "cfi=", 4))
        return resolve(r, &r->files, line + 4, &r->call_file);
    if (!strncmp(line, "fn=", 3)) {
        if ((rc = resolve(r, &r->funcs, line + 3, &name)) < 0)
            return rc;
        r->fn_name = name;
        r->fn_file = r->file;
        r->fn = PLUMB_NONE;
        return PLUMB_OK;
    }
    if (!strncmp(line, "cfn=", 4)) {
        if ((rc = resolve(r, &r->funcs, line + 4, &name)) < 0)
            return rc;
        free(r->call_func);
        r->call_func = strdup(name);
        return r->call_func ? PLUMB_OK : PLUMB_ENOMEM;
    }
    if (!strncmp(line, "calls=", 6)) {
        char *end;
        long long n = strtoll(line + 6, &end, 10);
        if (end == line + 6)
            return fail(r, "a calls= line without a count");
        if (n < 0)
            return fail(r, "a negative call count");
        if (n > PLUMB_MAX_COUNT)
            return fail(r, "a call count beyond any profile's");
        if (!r->call_func || !r->fn_name)
            return fail(r, "a calls= line without fn= and cfn= before it");
        if ((rc = current(r)) < 0)
            return rc;
        r->pending_calls = n + 1;
        return PLUMB_OK;
    }
    if (!strncmp(line, "ob=", 3) || !strncmp(line, "cob=", 4) || !strncmp(line, "jump=", 5)
        || !strncmp(line, "jcnd=", 5))
        return PLUMB_OK;
    if (strchr("0123456789+-*", line[0])) {
        double cost;
        if ((rc = cost_line(r, line, &cost)) < 0)
            return rc;
        if (!r->fn_name)
            return fail(r, "a cost line before any fn=");
        if ((rc = current(r)) < 0)
            return rc;
        if (r->pending_calls) {
            uint32_t callee, e;
            const char *file = r->call_file ? r->call_file : r->file;
            if ((rc = function(r, file, r->call_func, &callee)) < 0
                || (rc = plumb_stats_edge(r->st, r->fn, callee, &e)) < 0)
                return rc;
            plumb_stat_edge *edge = &r->st->edges[e];
            if (edge->counts.calls > PLUMB_MAX_COUNT - (r->pending_calls - 1))
                return fail(r, "call counts adding up beyond any profile's");
            edge->count_only = 0;
            edge->counts.calls += r->pending_calls - 1;
            edge->counts.prim_calls += r->pending_calls - 1;
            edge->counts.total += cost * r->unit;
            if (callee != r->fn)
                r->incl[r->fn] += cost;
            r->pending_calls = 0;
            r->call_file = NULL;
            return PLUMB_OK;
        }
        r->self[r->fn] += cost;
        return PLUMB_OK;
    }
    return fail(r, "not a line of the callgrind format");
}

int plumb_read_callgrind(plumb_stats *st, const void *buf, size_t len, plumb_read_error *err)
{
    if (st->names.nfuncs != 0)
        return PLUMB_EINVAL;
    reader r = {.st = st, .err = err, .fn = PLUMB_NONE, .npositions = 1, .unit = 1e-9};
    const char *text = buf;
    char *line = malloc(len + 1);
    int rc = line ? PLUMB_OK : PLUMB_ENOMEM, events = 0;
    if (rc == PLUMB_OK && memchr(text, 0, len))
        rc = fail(&r, "a NUL byte: not a text file");
    for (size_t pos = 0; rc == PLUMB_OK && pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        memcpy(line, text + pos, n);
        line[n] = 0;
        if (n && line[n - 1] == '\r')
            line[n - 1] = 0;
        pos += n + 1;
        r.lineno++;
        if (line[0] == 0 || line[0] == '#')
            continue;
        if (!strncmp(line, "events:", 7)) {
            char *ev = line + 7;
            while (*ev == ' ')
                ev++;
            size_t k = strcspn(ev, " ");
            r.ticks = k == 5 && !strncmp(ev, "Ticks", 5);
            r.unit = k == 2 && !strncmp(ev, "ns", 2) ? 1e-9 : k == 2 && !strncmp(ev, "us", 2) ? 1e-6
                   : k == 2 && !strncmp(ev, "ms", 2) ? 1e-3 : r.ticks && r.yappi ? 1e-6 : 1e-9;
            events = k > 0;
            continue;
        }
        if (!strncmp(line, "creator:", 8)) {
            const char *who = line + 8;
            while (*who == ' ')
                who++;
            /* yappi's ticks are microseconds (it writes int(seconds * 1e6)). */
            r.yappi = !strncmp(who, "yappi", 5);
            if (r.yappi && r.ticks && st->nedges == 0 && st->norder == 0)   /* no cost read yet */
                r.unit = 1e-6;
            continue;
        }
        if (!strncmp(line, "positions:", 10)) {
            int count = 0;
            for (char *tok = strtok(line + 10, " "); tok; tok = strtok(NULL, " "))
                count++;
            if (count < 1 || count > MAX_POSITIONS)
                rc = fail(&r, "a positions: line plumb does not know");
            r.npositions = count;
            continue;
        }
        /* Other header lines ("version: 1", "cmd: ...", "summary: N"). */
        char *colon = strchr(line, ':');
        char *eq = strchr(line, '=');
        if (colon && (!eq || colon < eq) && colon[1] == ' ' && strspn(line, "abcdefghijklmnopqrstuvwxyz") == (size_t)(colon - line))
            continue;
        if (!events) {
            rc = fail(&r, "not a callgrind file (no events: line before the costs)");
            break;
        }
        rc = body_line(&r, line);
    }
    if (rc == PLUMB_OK && st->norder == 0)
        rc = fail(&r, "no functions: not a callgrind profile");
    /* Functions' counts from what was read. */
    for (uint32_t e = 0; rc == PLUMB_OK && e < st->nedges; e++) {
        plumb_stat_counts *c = &st->funcs[st->edges[e].callee];
        if (c->calls > PLUMB_MAX_COUNT - st->edges[e].counts.calls) {
            rc = fail(&r, "call counts adding up beyond any profile's");
            break;
        }
        c->calls += st->edges[e].counts.calls;
        if (st->edges[e].caller != st->edges[e].callee)
            c->prim_calls += st->edges[e].counts.calls;
    }
    for (uint32_t f = 0; rc == PLUMB_OK && f < st->names.nfuncs && f < r.cap; f++) {
        st->funcs[f].own = r.self[f] * r.unit;
        st->funcs[f].total = (r.self[f] + r.incl[f]) * r.unit;
        if (!st->listed[f] && (rc = plumb_stats_list(st, f)) < 0)
            break;
    }
    /* Sums of what was read: a file of many calls= lines can still add
     * up past the bounds. */
    if (rc == PLUMB_OK)
        rc = plumb_check_stats(st, err);
    if (rc == PLUMB_OK) {
        st->profiles = 1;
        for (uint32_t i = 0; i < st->norder; i++)
            st->own_sum += st->funcs[st->order[i]].own;
    }
    names *tables[] = {&r.files, &r.funcs};
    for (int k = 0; k < 2; k++) {
        for (uint32_t i = 0; i < tables[k]->cap; i++)
            free(tables[k]->text[i]);
        for (uint32_t i = 0; i < tables[k]->nplain; i++)
            free(tables[k]->plain[i]);
        free(tables[k]->text);
        free(tables[k]->plain);
    }
    free(r.call_func);
    free(r.self);
    free(r.incl);
    free(line);
    return rc;
}
