/* Reading a pstats file (marshal of {label: (cc, nc, tt, ct, callers)}) as
 * cProfile, the profile module, yappi and plumb write it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "formats/marshal_in.h"
#include "formats/read_checks.h"
#include "formats/readers.h"

/* How many of s's n bytes (UTF-8) to keep to keep at most max, cut
 * between characters. */
static int utf8_cut(const char *s, uint32_t n, uint32_t max)
{
    if (n <= max)
        return (int)n;
    while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
        max--;
    return (int)max;
}

/* A label (file, line, name) as a function of st. */
static int read_label(plumb_marshal_in *m, plumb_stats *st, char **scratch, size_t *cap,
                      uint32_t *func)
{
    uint32_t n, ref, label;
    int rc = plumb_mi_tuple(m, &n, &ref, &label);
    if (rc < 0)
        return rc;
    if (label != UINT32_MAX) {
        *func = label;
        return PLUMB_OK;
    }
    if (n != 3)
        return plumb_mi_fail(m, "a function label is not a (file, line, name) tuple");
    const char *file, *name = NULL;
    uint32_t file_len, name_len = 0;
    int64_t line;
    int is_code;
    plumb_mi_code code;
    if ((rc = plumb_mi_str(m, &file, &file_len)) < 0 || (rc = plumb_mi_int(m, &line)) < 0
        || (rc = plumb_mi_name(m, &name, &name_len, &is_code, &code)) < 0)
        return rc;
    /* The profile module's label for the code it ran is pstats'
     * "profile:0(<code object <module> at 0x..., file "x.py", line 1>)":
     * its name is the code's repr, here without the address (it is not in
     * the file), its name and file cut to a length a name can have. */
    char code_name[600];
    if (is_code) {
        int k = snprintf(code_name, sizeof code_name, "<code object %.*s, file \"%.*s\", line %lld>",
                         utf8_cut(code.name, code.name_len, 200), code.name,
                         utf8_cut(code.file, code.file_len, 300), code.file,
                         (long long)code.line);
        name = code_name;
        name_len = k < 0 ? 0 : (uint32_t)k;
    }
    /* The labels are NUL-terminated copies in one scratch buffer. */
    size_t want = (size_t)file_len + name_len + 2;
    if ((rc = PLUMB_GROW(*scratch, cap, want, want, SIZE_MAX)) < 0)
        return rc;
    memcpy(*scratch, file, file_len);
    (*scratch)[file_len] = 0;
    memcpy(*scratch + file_len + 1, name, name_len);
    (*scratch)[file_len + 1 + name_len] = 0;
    if ((rc = plumb_stats_func(st, *scratch, line, *scratch + file_len + 1, func)) < 0)
        return rc;
    if (ref != UINT32_MAX)
        plumb_mi_set_label(m, ref, *func);
    return PLUMB_OK;
}

/* The four numbers of a function's counts, after its tuple header. */
static int read_counts(plumb_marshal_in *m, int calls_first, plumb_stat_counts *c)
{
    int64_t a, b;
    int rc;
    if ((rc = plumb_mi_int(m, &a)) < 0 || (rc = plumb_mi_int(m, &b)) < 0
        || (rc = plumb_mi_number(m, &c->own)) < 0 || (rc = plumb_mi_number(m, &c->total)) < 0)
        return rc;
    /* Top level: (cc, nc, ...); callers: (nc, cc, ...). */
    c->prim_calls = calls_first ? b : a;
    c->calls = calls_first ? a : b;
    return PLUMB_OK;
}

/* The reader's working state: the label scratch buffer, and per function
 * the last callee it was seen calling (+1), which finds a caller listed
 * twice in one callers dict without an edge lookup. */
typedef struct reader {
    plumb_marshal_in m;
    plumb_stats *st;
    char *scratch;
    size_t scratch_cap;
    uint32_t *seen_calling;
    uint32_t seen_cap;
} reader;

static int caller_seen(reader *r, uint32_t caller, uint32_t callee, int *twice)
{
    int rc = PLUMB_GROW_ZEROED(r->seen_calling, &r->seen_cap, (size_t)caller + 1, 1024, UINT32_MAX);
    if (rc < 0)
        return rc;
    *twice = r->seen_calling[caller] == callee + 1;
    r->seen_calling[caller] = callee + 1;
    return PLUMB_OK;
}

static int read_callers(reader *r, uint32_t callee)
{
    plumb_marshal_in *m = &r->m;
    plumb_stats *st = r->st;
    int rc = plumb_mi_dict_begin(m), more;
    while (rc == PLUMB_OK && (rc = plumb_mi_dict_more(m, &more)) == PLUMB_OK && more) {
        uint32_t caller, e;
        int twice;
        if ((rc = read_label(m, st, &r->scratch, &r->scratch_cap, &caller)) < 0
            || (rc = caller_seen(r, caller, callee, &twice)) < 0)
            return rc;
        if (twice)
            return plumb_mi_fail(m, "a caller listed twice for one function");
        if ((rc = plumb_stats_append_edge(st, caller, callee, &e)) < 0)
            return rc;
        plumb_stat_edge *edge = &st->edges[e];
        int type = plumb_mi_peek(m);
        if (type == 'i' || type == 'l' || type == 'r') {
            /* The profile module: a bare call count (or a reference to one). */
            int64_t calls;
            if ((rc = plumb_mi_int(m, &calls)) < 0)
                return rc;
            edge->counts = (plumb_stat_counts){.prim_calls = calls, .calls = calls};
            edge->count_only = 1;
            continue;
        }
        uint32_t n, ref, label;
        if ((rc = plumb_mi_tuple(m, &n, &ref, &label)) < 0)
            return rc;
        if (n != 4 || label != UINT32_MAX)
            return plumb_mi_fail(m, "a caller's value is not a count or (nc, cc, tt, ct)");
        if ((rc = read_counts(m, 1, &edge->counts)) < 0)
            return rc;
        edge->count_only = 0;
    }
    return rc;
}

int plumb_read_pstats(plumb_stats *st, const void *buf, size_t len, plumb_read_error *err)
{
    if (st->names.nfuncs != 0)
        return PLUMB_EINVAL;   /* read into an empty stats; merge with plumb_stats_add */
    reader r = {.st = st};
    plumb_marshal_in *m = &r.m;
    plumb_mi_init(m, buf, len, err);
    int more, rc;
    if (len == 0)
        rc = plumb_mi_fail(m, "the file is empty");
    else if (plumb_mi_peek(m) != '{')
        rc = plumb_mi_fail(m, "not a pstats file (it does not hold a marshalled dict)");
    else
        rc = plumb_mi_dict_begin(m);
    while (rc == PLUMB_OK && (rc = plumb_mi_dict_more(m, &more)) == PLUMB_OK && more) {
        uint32_t f, n, ref, label;
        size_t at = m->pos;   /* where the entry starts, for a refusal of its numbers */
        if ((rc = read_label(m, st, &r.scratch, &r.scratch_cap, &f)) < 0)
            break;
        if (st->listed[f]) {
            rc = plumb_mi_fail(m, "a function listed twice");
            break;
        }
        if ((rc = plumb_stats_list(st, f)) < 0)
            break;
        if ((rc = plumb_mi_tuple(m, &n, &ref, &label)) < 0)
            break;
        if (n != 5 || label != UINT32_MAX) {
            rc = plumb_mi_fail(m, "a function's value is not (cc, nc, tt, ct, callers)");
            break;
        }
        uint32_t first_edge = st->nedges;
        if ((rc = read_counts(m, 0, &st->funcs[f])) < 0 || (rc = read_callers(&r, f)) < 0)
            break;
        /* Its callers are the edges just appended. */
        char why[sizeof err->message];
        if (plumb_check_function(st, f, first_edge, st->nedges, why, sizeof why) < 0) {
            rc = plumb_read_fail(err, "at byte", at, why);
            break;
        }
    }
    if (rc == PLUMB_OK) {
        st->profiles = 1;
        for (uint32_t i = 0; i < st->norder; i++)
            st->own_sum += st->funcs[st->order[i]].own;
    }
    free(r.scratch);
    free(r.seen_calling);
    plumb_mi_free(m);
    return rc;
}
