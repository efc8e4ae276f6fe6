/* The format table (format_table.h): one adapter per format from a view of a
 * profile to that format's writer. */
#include "formats/format_table.h"

#include <string.h>

#include "base/errors.h"
#include "formats/sample_writers.h"
#include "formats/writers.h"

/* Function-level formats: from the numbers when the view has them (a
 * deterministic profile, a pstats file), else from the tree's. */
static int write_pstats(FILE *out, const plumb_profile_view *v, plumb_read_error *err)
{
    (void)err;
    if (v->stats)
        return plumb_write_stats_pstats(v->stats, out);
    return v->tree ? plumb_write_sampled_pstats(v->tree, out) : PLUMB_EINVAL;
}

static int write_callgrind(FILE *out, const plumb_profile_view *v, plumb_read_error *err)
{
    (void)err;
    plumb_callgrind_info info = {.creator = "plumb", .cmd = v->command, .pid = v->pid};
    if (v->stats)
        return plumb_write_stats_callgrind(v->stats, out, &info);
    return v->tree ? plumb_write_sampled_callgrind(v->tree, out, &info) : PLUMB_EINVAL;
}

/* Both the numbers and the tree; whichever the view lacks is derived, and a
 * tree rebuilt from edges is marked so (the report then says it is a guess). */
static int write_json(FILE *out, const plumb_profile_view *v, plumb_read_error *err)
{
    (void)err;
    plumb_stats own_stats;
    plumb_samples own_tree;
    const plumb_stats *st = v->stats;
    const plumb_samples *tree = v->tree;
    int rc = PLUMB_OK;
    if (!st && !tree)
        return PLUMB_EINVAL;
    if (!st && (rc = plumb_stats_from_samples(&own_stats, tree)) == PLUMB_OK)
        st = &own_stats;
    if (rc == PLUMB_OK && !tree && (rc = plumb_tree_from_stats(&own_tree, st)) == PLUMB_OK)
        tree = &own_tree;
    if (rc == PLUMB_OK) {
        plumb_json_info info = {.kind = v->kind, .creator = v->creator,
                                .tree_exact = v->tree && v->tree_exact,
                                .lost_events = v->lost_events, .folded_calls = v->folded_calls};
        rc = plumb_write_json(out, st, tree, &info);
    }
    if (st == &own_stats)
        plumb_stats_free(&own_stats);
    if (tree == &own_tree)
        plumb_samples_free(&own_tree);
    return rc;
}

/* Stack formats need real stacks: a tree rebuilt from a pstats file's
 * callers and callees would invent them. */
static int real_stacks(const plumb_profile_view *v, plumb_read_error *err)
{
    if (v->tree && v->tree_exact)
        return PLUMB_OK;
    return plumb_read_fail(err, NULL, 0,
                           v->tree ? "its call tree was rebuilt from callers and callees, so it "
                                     "holds no real stacks to write"
                                   : "it holds callers and callees, not stacks");
}

static int write_collapsed(FILE *out, const plumb_profile_view *v, plumb_read_error *err)
{
    int rc = real_stacks(v, err);
    return rc < 0 ? rc : plumb_write_collapsed(v->tree, out);
}

static int write_speedscope(FILE *out, const plumb_profile_view *v, plumb_read_error *err)
{
    int rc = real_stacks(v, err);
    return rc < 0 ? rc : plumb_write_speedscope(v->tree, out, v->command);
}

/* A text tree leaves out what is under half a percent of its thread. */
static int write_tree(FILE *out, const plumb_profile_view *v, plumb_read_error *err)
{
    int rc = real_stacks(v, err);
    return rc < 0 ? rc : plumb_write_tree(v->tree, out, 0.5);
}

static int write_pprof(FILE *out, const plumb_profile_view *v, plumb_read_error *err)
{
    int rc = real_stacks(v, err);
    return rc < 0 ? rc : plumb_write_pprof(v->tree, out);
}

#define STATS PLUMB_FORMAT_STATS
#define TREE PLUMB_FORMAT_TREE

const plumb_format plumb_formats[] = {
    {"callgrind", "*.callgrind callgrind.out*", STATS, 0, write_callgrind,
     plumb_read_callgrind, NULL},
    {"collapsed", "*.folded *.collapsed", TREE, 0, write_collapsed, NULL, plumb_read_collapsed},
    {"speedscope", "*.speedscope.json", TREE, 0, write_speedscope, NULL, plumb_read_speedscope},
    {"tree", "*.txt", TREE, 0, write_tree, NULL, NULL},
    {"pprof", "*.pb.gz *.pprof", TREE, 1, write_pprof, NULL, plumb_read_pprof},
    {"json", "*.json", STATS | TREE, 0, write_json, plumb_read_json_stats, NULL},
    /* Anything else is pstats, as cProfile's -o writes. */
    {"pstats", NULL, STATS, 0, write_pstats, plumb_read_pstats, NULL},
};
const size_t plumb_nformats = sizeof plumb_formats / sizeof plumb_formats[0];

const plumb_format *plumb_format_named(const char *name)
{
    for (size_t i = 0; i < plumb_nformats; i++)
        if (strcmp(plumb_formats[i].name, name) == 0)
            return &plumb_formats[i];
    return NULL;
}
