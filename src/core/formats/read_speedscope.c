/* Reading speedscope's file format (https://www.speedscope.app/
 * file-format-schema.json): shared frames, then profiles, "sampled"
 * (stacks of frame indices with weights) or "evented" (open and close
 * events at times).  Each profile becomes a thread of a plumb_samples.
 *
 * Weights in a time unit become samples of s->interval seconds, summed per
 * stack before rounding (so many small weights do not round away); in unit
 * "none" a weight is a count of samples. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/json_in.h"
#include "formats/read_checks.h"
#include "formats/readers.h"

typedef struct reader {
    plumb_json j;
    plumb_samples *s;
    plumb_read_error *err;
    uint32_t *frame_func;      /* speedscope frame index -> function */
    uint32_t nframes;
    plumb_sample_weights weights;
    uint32_t funcs[PLUMB_MAX_SAMPLE_DEPTH];
    char text[4096], file[4096];
} reader;

static int fail(reader *r, const char *what)
{
    return plumb_read_fail(r->err, NULL, 0, what);
}

static int read_frames(reader *r, uint32_t root)
{
    uint32_t shared = plumb_json_member(&r->j, root, "shared");
    uint32_t frames = plumb_json_member(&r->j, shared, "frames");
    if (frames == PLUMB_JSON_NONE || r->j.nodes[frames].kind != PLUMB_JSON_ARRAY)
        return fail(r, "not a speedscope file: no shared.frames list");
    r->nframes = r->j.nodes[frames].count;
    r->frame_func = malloc(((size_t)r->nframes + 1) * sizeof *r->frame_func);
    if (!r->frame_func)
        return PLUMB_ENOMEM;
    uint32_t i = 0;
    for (uint32_t f = r->j.nodes[frames].first; f != PLUMB_JSON_NONE; f = r->j.nodes[f].next, i++) {
        uint32_t name = plumb_json_member(&r->j, f, "name");
        if (plumb_json_string(&r->j, name, r->text, sizeof r->text) < 0)
            return fail(r, "a frame without a name");
        uint32_t file = plumb_json_member(&r->j, f, "file");
        if (file == PLUMB_JSON_NONE)
            r->file[0] = 0;
        else if (plumb_json_string(&r->j, file, r->file, sizeof r->file) < 0)
            return fail(r, "a frame whose file is not a string");
        double line = 0;
        uint32_t ln = plumb_json_member(&r->j, f, "line");
        if (ln != PLUMB_JSON_NONE && (plumb_json_number(&r->j, ln, &line) < 0 || !(line >= 0)
                                      || line > 1e15))
            return fail(r, "a frame whose line is not a number");
        int rc = plumb_labels_intern(&r->s->names, r->file, (int64_t)line, r->text,
                                     &r->frame_func[i]);
        if (rc < 0)
            return rc;
    }
    return PLUMB_OK;
}

/* Adds w samples (before rounding) to the node of funcs[0..depth). */
static int add_weight(reader *r, uint32_t thread, uint32_t depth, double w)
{
    uint32_t node;
    const uint32_t *funcs = r->funcs;
    if (depth > PLUMB_MAX_SAMPLE_DEPTH) {   /* keep the innermost frames */
        funcs += depth - PLUMB_MAX_SAMPLE_DEPTH;
        depth = PLUMB_MAX_SAMPLE_DEPTH;
    }
    int rc = plumb_samples_node(r->s, thread, funcs, depth, &node);
    if (rc < 0)
        return rc;
    return plumb_sample_weights_add(&r->weights, node, w);
}

static int frame_index(reader *r, uint32_t node, uint32_t *func)
{
    double v;
    if (plumb_json_number(&r->j, node, &v) < 0 || !(v >= 0) || v >= r->nframes || v != floor(v))
        return fail(r, "a frame index that is not one of shared.frames");
    *func = r->frame_func[(uint32_t)v];
    return PLUMB_OK;
}

static int read_sampled(reader *r, uint32_t profile, uint32_t thread, double scale)
{
    uint32_t samples = plumb_json_member(&r->j, profile, "samples");
    uint32_t weights = plumb_json_member(&r->j, profile, "weights");
    if (samples == PLUMB_JSON_NONE || weights == PLUMB_JSON_NONE
        || r->j.nodes[samples].kind != PLUMB_JSON_ARRAY || r->j.nodes[weights].kind != PLUMB_JSON_ARRAY
        || r->j.nodes[samples].count != r->j.nodes[weights].count)
        return fail(r, "a sampled profile whose samples and weights do not pair up");
    uint32_t w = r->j.nodes[weights].first;
    for (uint32_t st = r->j.nodes[samples].first; st != PLUMB_JSON_NONE;
         st = r->j.nodes[st].next, w = r->j.nodes[w].next) {
        double weight;
        if (plumb_json_number(&r->j, w, &weight) < 0)
            return fail(r, "a weight that is not a number");
        const char *bad = plumb_check_weight(weight);
        if (bad)
            return fail(r, bad);
        if (r->j.nodes[st].kind != PLUMB_JSON_ARRAY)
            return fail(r, "a sample that is not a list of frame indices");
        uint32_t depth = 0;
        for (uint32_t f = r->j.nodes[st].first; f != PLUMB_JSON_NONE; f = r->j.nodes[f].next) {
            uint32_t func;
            int rc = frame_index(r, f, &func);
            if (rc < 0)
                return rc;
            if (depth == PLUMB_MAX_SAMPLE_DEPTH) {
                memmove(r->funcs, r->funcs + 1, (PLUMB_MAX_SAMPLE_DEPTH - 1) * sizeof *r->funcs);
                depth--;
                r->s->truncated++;
            }
            r->funcs[depth++] = func;
        }
        if (depth == 0)
            continue;   /* an empty stack names no function */
        int rc = add_weight(r, thread, depth, weight * scale);
        if (rc < 0)
            return rc;
    }
    return PLUMB_OK;
}

static int read_evented(reader *r, uint32_t profile, uint32_t thread, double scale)
{
    uint32_t events = plumb_json_member(&r->j, profile, "events");
    uint32_t end_node = plumb_json_member(&r->j, profile, "endValue");
    if (events == PLUMB_JSON_NONE || r->j.nodes[events].kind != PLUMB_JSON_ARRAY)
        return fail(r, "an evented profile without events");
    double last = 0, end = 0;
    int started = 0;
    uint32_t depth = 0;
    for (uint32_t e = r->j.nodes[events].first; e != PLUMB_JSON_NONE; e = r->j.nodes[e].next) {
        char type[4];
        double at;
        uint32_t func;
        if (plumb_json_string(&r->j, plumb_json_member(&r->j, e, "type"), type, sizeof type) != 1
            || (type[0] != 'O' && type[0] != 'C')
            || plumb_json_number(&r->j, plumb_json_member(&r->j, e, "at"), &at) < 0
            || !(at >= last || !started) || !isfinite(at))
            return fail(r, "an event that is not {type O or C, at, frame} in time order");
        int rc = frame_index(r, plumb_json_member(&r->j, e, "frame"), &func);
        if (rc < 0)
            return rc;
        if (started && depth > 0 && at > last && (rc = add_weight(r, thread, depth, (at - last) * scale)) < 0)
            return rc;
        started = 1;
        last = at;
        if (type[0] == 'O') {
            if (depth == PLUMB_MAX_SAMPLE_DEPTH)
                return fail(r, "events nested deeper than plumb keeps stacks");
            r->funcs[depth++] = func;
        } else {
            if (depth == 0 || r->funcs[depth - 1] != func)
                return fail(r, "a close event that does not close the innermost open frame");
            depth--;
        }
    }
    if (depth > 0 && end_node != PLUMB_JSON_NONE && plumb_json_number(&r->j, end_node, &end) == 0
        && end > last && isfinite(end)) {
        int rc = add_weight(r, thread, depth, (end - last) * scale);
        if (rc < 0)
            return rc;
    }
    return PLUMB_OK;
}

/* Seconds per unit, or 0 for a unit whose weights are counts. */
static int unit_scale(reader *r, uint32_t profile, double *seconds)
{
    char unit[32];
    if (plumb_json_string(&r->j, plumb_json_member(&r->j, profile, "unit"), unit, sizeof unit) < 0)
        strcpy(unit, "none");
    static const struct {
        const char *name;
        double seconds;
    } units[] = {{"seconds", 1}, {"milliseconds", 1e-3}, {"microseconds", 1e-6},
                 {"nanoseconds", 1e-9}, {"none", 0}, {"bytes", 0}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(unit, units[i].name) == 0) {
            *seconds = units[i].seconds;
            return PLUMB_OK;
        }
    return fail(r, "a profile unit speedscope does not define");
}

int plumb_read_speedscope(plumb_samples *s, const void *buf, size_t len, plumb_read_error *err)
{
    reader *r = calloc(1, sizeof *r);
    if (!r)
        return PLUMB_ENOMEM;
    r->s = s;
    r->err = err;
    int rc = plumb_json_parse(&r->j, buf, len, err);
    uint32_t profiles = PLUMB_JSON_NONE;
    if (rc == PLUMB_OK) {
        profiles = plumb_json_member(&r->j, 0, "profiles");
        if (profiles == PLUMB_JSON_NONE || r->j.nodes[profiles].kind != PLUMB_JSON_ARRAY)
            rc = fail(r, "not a speedscope file: no profiles list");
    }
    if (rc == PLUMB_OK)
        rc = read_frames(r, 0);
    uint32_t index = 0;
    for (uint32_t p = rc == PLUMB_OK ? r->j.nodes[profiles].first : PLUMB_JSON_NONE;
         p != PLUMB_JSON_NONE && rc == PLUMB_OK; p = r->j.nodes[p].next, index++) {
        char type[16];
        double seconds = 0;
        uint32_t thread;
        if (plumb_json_string(&r->j, plumb_json_member(&r->j, p, "type"), type, sizeof type) < 0) {
            rc = fail(r, "a profile without a type");
            break;
        }
        if ((rc = unit_scale(r, p, &seconds)) < 0
            || (rc = plumb_samples_thread(s, (uint64_t)index + 1, 0, &thread)) < 0)
            break;
        if (plumb_json_string(&r->j, plumb_json_member(&r->j, p, "name"), r->text, sizeof r->text) > 0
            && (rc = plumb_samples_name_thread(s, thread, r->text)) < 0)
            break;
        double scale = seconds > 0 ? seconds / s->interval : 1.0;
        if (strcmp(type, "sampled") == 0)
            rc = read_sampled(r, p, thread, scale);
        else if (strcmp(type, "evented") == 0)
            rc = read_evented(r, p, thread, scale);
        else
            rc = fail(r, "a profile neither sampled nor evented");
    }
    /* The weights, rounded once per stack, become the samples. */
    if (rc == PLUMB_OK && plumb_sample_weights_finish(&r->weights, s) < 0)
        rc = fail(r, "weights too large");
    plumb_json_free(&r->j);
    free(r->frame_func);
    free(r->weights.weight);
    free(r);
    return rc;
}
