/* speedscope's file format (https://www.speedscope.app/file-format-schema.json):
 * the functions as shared frames, and one "sampled" profile per thread whose
 * samples are stacks of frame indices, outermost first, with weights in
 * seconds.
 *
 * Each distinct stack is written once, weighted with all its samples
 * (self x interval), rather than once per sample: the call tree keeps no
 * time order to preserve, speedscope's views add equal stacks up anyway,
 * and the file then grows with the number of distinct stacks instead of
 * the length of the run.  Stacks come in depth-first order of the tree with
 * children in the order first seen, so the "Time Order" view reads like a
 * flame graph in the order code was first reached. */
#include <inttypes.h>
#include <string.h>

#include "base/errors.h"
#include "formats/json_out.h"
#include "formats/sample_writers.h"

static void write_frames(const plumb_samples *s, FILE *out)
{
    fputs("\"shared\":{\"frames\":[", out);
    for (uint32_t f = 0; f < s->names.nfuncs; f++) {
        const plumb_func *x = &s->names.funcs[f];
        fputs(f ? ",\n{\"name\":" : "\n{\"name\":", out);
        plumb_json_str(out, x->name);
        /* Built-ins ("~") have no file or line to show. */
        if (strcmp(x->file, "~") != 0) {
            fputs(",\"file\":", out);
            plumb_json_str(out, x->file);
            if (x->line > 0)
                fprintf(out, ",\"line\":%" PRId64, x->line);
        }
        putc('}', out);
    }
    fputs("]},\n", out);
}

/* The stacks (weights == 0) or the weights (weights == 1) of one thread,
 * in the same order. */
static int write_samples(const plumb_samples *s, const plumb_sample_index *ix, uint32_t root,
                         FILE *out, int weights)
{
    plumb_tree_walk w;
    int rc = plumb_tree_walk_begin(&w, ix->first, ix->child, root);
    if (rc < 0)
        return rc;
    int any = 0, step;
    uint32_t node;
    while ((step = plumb_tree_walk_next(&w, &node)) != PLUMB_WALK_DONE) {
        if (step < 0) {
            rc = step;
            break;
        }
        if (step != PLUMB_WALK_ENTER)
            continue;
        if (ix->inclusive[node] == 0) {
            plumb_tree_walk_skip(&w);
            continue;
        }
        if (s->nodes[node].self == 0)
            continue;
        fputs(any ? ",\n" : "\n", out);
        any = 1;
        if (weights) {
            plumb_json_num(out, (double)s->nodes[node].self * s->interval);
            continue;
        }
        putc('[', out);
        for (uint32_t level = 1; level < w.depth; level++)
            fprintf(out, level > 1 ? ",%" PRIu32 : "%" PRIu32, s->nodes[w.path[level]].func);
        putc(']', out);
    }
    plumb_tree_walk_free(&w);
    return rc;
}

static int write_profile(const plumb_samples *s, const plumb_sample_index *ix, uint32_t th,
                         const char *name, FILE *out)
{
    uint32_t root = th < s->nthreads ? s->threads[th].root : PLUMB_NONE;
    /* A root's own samples have no frame and are left out. */
    uint64_t samples = root != PLUMB_NONE ? ix->inclusive[root] - s->nodes[root].self : 0;
    fputs("{\"type\":\"sampled\",\"name\":", out);
    if (name) {
        plumb_json_str(out, name);
    } else {
        fprintf(out, "\"thread %" PRIu64 "\"", s->threads[th].id);
    }
    fputs(",\"unit\":\"seconds\",\"startValue\":0,\"endValue\":", out);
    plumb_json_num(out, (double)samples * s->interval);
    int rc = PLUMB_OK;
    for (int weights = 0; weights <= 1 && rc == PLUMB_OK; weights++) {
        fputs(weights ? "],\n\"weights\":[" : ",\n\"samples\":[", out);
        if (root != PLUMB_NONE)
            rc = write_samples(s, ix, root, out, weights);
    }
    fputs("]}", out);
    return rc;
}

int plumb_write_speedscope(const plumb_samples *s, FILE *out, const char *profile_name)
{
    plumb_sample_index ix;
    int rc = plumb_sample_index_build(s, &ix);
    if (rc < 0)
        return rc;
    if (!profile_name)
        profile_name = "plumb";
    fputs("{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",\n", out);
    fputs("\"name\":", out);
    plumb_json_str(out, profile_name);
    fputs(",\n\"exporter\":\"plumb\",\n\"activeProfileIndex\":0,\n", out);
    write_frames(s, out);
    fputs("\"profiles\":[\n", out);
    /* Threads without a sample with frames are left out: an empty profile
     * is no use to look at, and the first profile is the one shown. */
    uint32_t written = 0;
    for (uint32_t th = 0; th < s->nthreads && rc == PLUMB_OK; th++) {
        uint32_t root = s->threads[th].root;
        if (ix.inclusive[root] == s->nodes[root].self)
            continue;
        if (written++)
            fputs(",\n", out);
        rc = write_profile(s, &ix, th, s->threads[th].name, out);
    }
    /* speedscope needs at least one profile. */
    if (rc == PLUMB_OK && written == 0)
        rc = write_profile(s, &ix, PLUMB_NONE, profile_name, out);
    fputs("\n]}\n", out);
    plumb_sample_index_free(&ix);
    if (rc < 0)
        return rc;
    return ferror(out) ? PLUMB_EIO : PLUMB_OK;
}
