/* Reading pprof's profile.proto (github.com/google/pprof proto/
 * profile.proto), already decompressed (the caller gunzips it with a size
 * bound), into a plumb_samples: one thread per "thread" label value (one
 * thread if there is none), stacks from the samples' locations.
 *
 * Which value counts, and for how long, as `go tool pprof` reads them:
 * the sample type it shows by default (default_sample_type, else the
 * last), or if that is not a time (a count, bytes) the last that is.  A
 * time value is in its unit (nanoseconds, microseconds, ...); a count
 * stands for period x period_type's unit each.  The samples' interval is
 * the file's period when period_type is a time, so a sampler's counts
 * come back whole; with no period, the time unit itself (a deterministic
 * profile's nanoseconds stay exact).  Only a file that says nothing of
 * time (counts, no period) is counted in the caller's s->interval.
 *
 * A location with several lines is a function with others inlined into
 * it: the lines are innermost first, and each becomes a frame.
 *
 * Every length, index and id is checked; ids are looked up in maps, never
 * used as indices. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "base/map.h"
#include "formats/read_checks.h"
#include "formats/readers.h"

/* More sample types than any profile has (Go's heap profile has four). */
#define MAX_SAMPLE_TYPES 64

typedef struct span {
    const unsigned char *p;
    size_t len;
} span;

typedef struct fn_entry {
    uint64_t name, file;   /* string indices */
    int64_t line;
} fn_entry;

typedef struct reader {
    plumb_samples *s;
    plumb_read_error *err;
    span *strings;
    uint32_t nstrings, strings_cap;
    plumb_map func_ids, loc_ids;          /* pprof id -> index */
    uint32_t *func_index;                 /* our function per pprof function */
    uint32_t nfuncs, funcs_cap;
    struct loc {
        uint32_t first, count;            /* its frames in loc_frames */
    } *locs;
    uint32_t nlocs, locs_cap;
    uint32_t *loc_frames;
    uint32_t nloc_frames, loc_frames_cap;
    int value_index;
    double scale;                         /* samples of s->interval per unit of the value */
    uint64_t thread_key;                  /* string index of "thread", or UINT64_MAX */
    plumb_sample_weights weights;
    uint32_t frames[PLUMB_MAX_SAMPLE_DEPTH];
    char text[4096], file[4096];
} reader;

static int fail(reader *r, const char *what)
{
    return plumb_read_fail(r->err, NULL, 0, what);
}

/* One protobuf field: its number, wire type, and value (varint) or bytes. */
typedef struct field {
    uint32_t number;
    int wire;
    uint64_t value;
    span bytes;
} field;

static int varint(span *in, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (in->len == 0)
            return -1;
        unsigned char b = *in->p++;
        in->len--;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return 0;
    }
    return -1;
}

/* The next field of a message, or 0 at its end; -1 if malformed. */
static int next_field(span *in, field *f)
{
    if (in->len == 0)
        return 0;
    uint64_t key;
    if (varint(in, &key) < 0 || (key >> 3) == 0 || (key >> 3) > UINT32_MAX)
        return -1;
    f->number = (uint32_t)(key >> 3);
    f->wire = (int)(key & 7);
    if (f->wire == 0)
        return varint(in, &f->value) < 0 ? -1 : 1;
    if (f->wire == 2) {
        uint64_t n;
        if (varint(in, &n) < 0 || n > in->len)
            return -1;
        f->bytes = (span){in->p, (size_t)n};
        in->p += n;
        in->len -= (size_t)n;
        return 1;
    }
    size_t skip = f->wire == 1 ? 8 : f->wire == 5 ? 4 : SIZE_MAX;
    if (skip == SIZE_MAX || skip > in->len)
        return -1;
    in->p += skip;
    in->len -= skip;
    return 1;
}

static int grow_u32(uint32_t **a, uint32_t *cap, uint32_t need)
{
    return PLUMB_GROW(*a, cap, need, 256, UINT32_MAX);
}

/* A string-table entry as a NUL-terminated copy (cut to size). */
static int string_at(reader *r, uint64_t i, char *out, size_t size)
{
    if (i >= r->nstrings)
        return fail(r, "a string index outside the string table");
    span s = r->strings[i];
    size_t n = s.len < size - 1 ? s.len : size - 1;
    memcpy(out, s.p, n);
    out[n] = 0;
    if (memchr(out, 0, n))
        return fail(r, "a NUL byte in a string");
    return PLUMB_OK;
}

/* Pass 1: the string table. */
static int read_strings(reader *r, span msg)
{
    field f;
    int k;
    while ((k = next_field(&msg, &f)) > 0) {
        if (f.number != 6 || f.wire != 2)
            continue;
        int rc = PLUMB_GROW(r->strings, &r->strings_cap, (size_t)r->nstrings + 1, 256, UINT32_MAX);
        if (rc < 0)
            return rc;
        r->strings[r->nstrings++] = f.bytes;
    }
    return k < 0 ? fail(r, "not a pprof profile (malformed protobuf)") : PLUMB_OK;
}

/* Seconds per unit of the string at index unit (pprof's time units, as
 * Go's measurement package spells them), 0 if it is not a time. */
static int unit_seconds(reader *r, uint64_t unit, double *seconds)
{
    char u[32];
    int rc = string_at(r, unit, u, sizeof u);
    if (rc < 0)
        return rc;
    static const struct {
        const char *name;
        double seconds;
    } units[] = {{"nanoseconds", 1e-9}, {"nanosecond", 1e-9}, {"ns", 1e-9},
                 {"microseconds", 1e-6}, {"microsecond", 1e-6}, {"us", 1e-6},
                 {"\xc2\xb5s", 1e-6}, {"milliseconds", 1e-3}, {"millisecond", 1e-3},
                 {"ms", 1e-3}, {"seconds", 1}, {"second", 1}, {"s", 1}, {"minutes", 60},
                 {"minute", 60}, {"hours", 3600}, {"hour", 3600}};
    *seconds = 0;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(u, units[i].name) == 0)
            *seconds = units[i].seconds;
    return PLUMB_OK;
}

/* A ValueType message's type and unit string indices. */
static int value_type(reader *r, span vt, uint64_t *type, uint64_t *unit)
{
    field g;
    int j;
    *type = *unit = 0;
    while ((j = next_field(&vt, &g)) > 0) {
        if (g.number == 1 && g.wire == 0)
            *type = g.value;
        else if (g.number == 2 && g.wire == 0)
            *unit = g.value;
    }
    return j < 0 ? fail(r, "a malformed sample type") : PLUMB_OK;
}

/* Pass 2: sample types, functions, then locations (which name functions). */
static int read_tables(reader *r, span msg)
{
    field f;
    int k, rc, ntypes = 0;
    uint64_t types[MAX_SAMPLE_TYPES];
    double type_seconds[MAX_SAMPLE_TYPES];
    uint64_t default_type = 0, period_unit = 0;
    int64_t period = 0;
    while ((k = next_field(&msg, &f)) > 0) {
        if (f.number == 1 && f.wire == 2) {   /* sample_type */
            uint64_t unit;
            if (ntypes == MAX_SAMPLE_TYPES)
                return fail(r, "more sample types than any profile has");
            if ((rc = value_type(r, f.bytes, &types[ntypes], &unit)) < 0
                || (rc = unit_seconds(r, unit, &type_seconds[ntypes])) < 0)
                return rc;
            ntypes++;
        } else if (f.number == 11 && f.wire == 2) {   /* period_type */
            uint64_t type;
            if ((rc = value_type(r, f.bytes, &type, &period_unit)) < 0)
                return rc;
        } else if (f.number == 12 && f.wire == 0) {   /* period */
            period = (int64_t)f.value;
        } else if (f.number == 14 && f.wire == 0) {   /* default_sample_type */
            default_type = f.value;
        } else if (f.number == 5 && f.wire == 2) {   /* function */
            field g;
            span fm = f.bytes;
            uint64_t id = 0, name = 0, file = 0, line = 0;
            int j;
            while ((j = next_field(&fm, &g)) > 0) {
                if (g.wire != 0)
                    continue;
                if (g.number == 1)
                    id = g.value;
                else if (g.number == 2)
                    name = g.value;
                else if (g.number == 4)
                    file = g.value;
                else if (g.number == 5)
                    line = g.value;
            }
            if (j < 0 || id == 0)
                return fail(r, "a malformed function");
            if ((rc = string_at(r, name, r->text, sizeof r->text)) < 0
                || (rc = string_at(r, file, r->file, sizeof r->file)) < 0
                || (rc = grow_u32(&r->func_index, &r->funcs_cap, r->nfuncs + 1)) < 0)
                return rc;
            if ((rc = plumb_labels_intern(&r->s->names, r->file,
                                          (int64_t)(line > (1ull << 40) ? 0 : line), r->text,
                                          &r->func_index[r->nfuncs])) < 0
                || (rc = plumb_map_put(&r->func_ids, id, r->nfuncs)) < 0)
                return rc;
            r->nfuncs++;
        }
    }
    if (k < 0)
        return fail(r, "not a pprof profile (malformed protobuf)");
    /* The type pprof shows by default; a time rather than anything else. */
    int chosen = ntypes - 1;
    for (int i = 0; default_type != 0 && default_type < r->nstrings && i < ntypes; i++)
        if (types[i] < r->nstrings && r->strings[types[i]].len == r->strings[default_type].len
            && memcmp(r->strings[types[i]].p, r->strings[default_type].p,
                      r->strings[default_type].len) == 0)
            chosen = i;
    for (int i = ntypes - 1; chosen >= 0 && type_seconds[chosen] == 0 && i >= 0; i--)
        if (type_seconds[i] > 0)
            chosen = i;
    double per_period = 0, seconds = chosen >= 0 ? type_seconds[chosen] : 0;
    if (period_unit != 0 && (rc = unit_seconds(r, period_unit, &per_period)) < 0)
        return rc;
    /* A period beyond a nanosecond .. a day says nothing usable. */
    double period_seconds = (double)period * per_period;
    if (!(period_seconds >= 1e-9 && period_seconds <= 86400))
        period_seconds = 0;
    if (period_seconds > 0)
        r->s->interval = period_seconds;
    else if (seconds > 0)
        r->s->interval = seconds;
    if (seconds == 0)   /* a count: one period each, or one interval if none */
        seconds = period_seconds > 0 ? period_seconds : r->s->interval;
    r->value_index = chosen < 0 ? 0 : chosen;
    r->scale = seconds / r->s->interval;
    return PLUMB_OK;
}

static int read_locations(reader *r, span msg)
{
    field f;
    int k, rc;
    while ((k = next_field(&msg, &f)) > 0) {
        if (f.number != 4 || f.wire != 2)
            continue;
        field g;
        span lm = f.bytes;
        uint64_t id = 0;
        uint32_t first = r->nloc_frames, count = 0;
        int j;
        while ((j = next_field(&lm, &g)) > 0) {
            if (g.number == 1 && g.wire == 0) {
                id = g.value;
            } else if (g.number == 4 && g.wire == 2) {   /* line: function_id, line */
                field h;
                span ln = g.bytes;
                uint64_t fid = 0;
                int m;
                while ((m = next_field(&ln, &h)) > 0)
                    if (h.number == 1 && h.wire == 0)
                        fid = h.value;
                uint32_t fi = fid ? plumb_map_get(&r->func_ids, fid) : PLUMB_MAP_MISSING;
                if (m < 0 || fi == PLUMB_MAP_MISSING)
                    return fail(r, "a location line naming no function");
                if ((rc = grow_u32(&r->loc_frames, &r->loc_frames_cap, r->nloc_frames + 1)) < 0)
                    return rc;
                r->loc_frames[r->nloc_frames++] = r->func_index[fi];
                count++;
            }
        }
        if (j < 0 || id == 0)
            return fail(r, "a malformed location");
        if ((rc = PLUMB_GROW(r->locs, &r->locs_cap, (size_t)r->nlocs + 1, 256, UINT32_MAX - 1)) < 0)
            return rc;
        r->locs[r->nlocs] = (struct loc){first, count};
        if ((rc = plumb_map_put(&r->loc_ids, id, r->nlocs)) < 0)
            return rc;
        r->nlocs++;
    }
    return k < 0 ? fail(r, "not a pprof profile (malformed protobuf)") : PLUMB_OK;
}

/* One Sample: its stack (locations leaf first, each location's lines
 * innermost first), the chosen value, and its thread label. */
static int read_sample(reader *r, span sm)
{
    field f;
    int k, rc;
    uint32_t depth = 0;          /* frames, innermost first */
    uint64_t value = 0, thread_name = UINT64_MAX;
    int values_seen = 0;
    while ((k = next_field(&sm, &f)) > 0) {
        if (f.number == 1) {   /* location_id, packed or not */
            span ids = f.bytes;
            uint64_t id;
            int packed = f.wire == 2;
            if (!packed && f.wire != 0)
                return fail(r, "a malformed sample");
            while (packed ? ids.len > 0 : 1) {
                if (packed) {
                    if (varint(&ids, &id) < 0)
                        return fail(r, "a malformed sample");
                } else {
                    id = f.value;
                }
                uint32_t li = plumb_map_get(&r->loc_ids, id);
                if (id == 0 || li == PLUMB_MAP_MISSING)
                    return fail(r, "a sample naming an unknown location");
                for (uint32_t i = 0; i < r->locs[li].count; i++) {
                    if (depth == PLUMB_MAX_SAMPLE_DEPTH) {
                        r->s->truncated++;
                        break;
                    }
                    r->frames[depth++] = r->loc_frames[r->locs[li].first + i];
                }
                if (!packed)
                    break;
            }
        } else if (f.number == 2) {   /* value, packed or not */
            span vs = f.bytes;
            int packed = f.wire == 2;
            if (!packed && f.wire != 0)
                return fail(r, "a malformed sample");
            while (packed ? vs.len > 0 : 1) {
                uint64_t v = f.value;
                if (packed && varint(&vs, &v) < 0)
                    return fail(r, "a malformed sample");
                if (values_seen++ == r->value_index)
                    value = v;
                if (!packed)
                    break;
            }
        } else if (f.number == 3 && f.wire == 2) {   /* label: key, str */
            field g;
            span lb = f.bytes;
            uint64_t key = UINT64_MAX, str = UINT64_MAX;
            int j;
            while ((j = next_field(&lb, &g)) > 0) {
                if (g.number == 1 && g.wire == 0)
                    key = g.value;
                else if (g.number == 2 && g.wire == 0)
                    str = g.value;
            }
            if (j < 0)
                return fail(r, "a malformed label");
            if (key == r->thread_key && str != UINT64_MAX)
                thread_name = str;
        }
    }
    if (k < 0)
        return fail(r, "a malformed sample");
    /* A negative value is a difference of profiles (pprof -diff_base),
     * which no call tree of samples can hold. */
    if ((int64_t)value < 0)
        return fail(r, "a negative sample value (a difference of two profiles?)");
    if (depth == 0 || value == 0)
        return PLUMB_OK;
    uint32_t thread;
    uint64_t tid = thread_name == UINT64_MAX ? 0 : thread_name + 1;
    if ((rc = plumb_samples_thread(r->s, tid, 0, &thread)) < 0)
        return rc;
    if (thread_name != UINT64_MAX && !r->s->threads[thread].name) {
        if ((rc = string_at(r, thread_name, r->text, sizeof r->text)) < 0
            || (rc = plumb_samples_name_thread(r->s, thread, r->text)) < 0)
            return rc;
    }
    /* Outermost first, as the call tree stores stacks. */
    uint32_t funcs[PLUMB_MAX_SAMPLE_DEPTH];
    for (uint32_t i = 0; i < depth; i++)
        funcs[i] = r->frames[depth - 1 - i];
    uint32_t node;
    if ((rc = plumb_samples_node(r->s, thread, funcs, depth, &node)) < 0)
        return rc;
    double w = (double)value * r->scale;
    const char *bad = plumb_check_weight(w);
    return bad ? fail(r, bad) : plumb_sample_weights_add(&r->weights, node, w);
}

int plumb_read_pprof(plumb_samples *s, const void *buf, size_t len, plumb_read_error *err)
{
    reader *r = calloc(1, sizeof *r);
    if (!r)
        return PLUMB_ENOMEM;
    r->s = s;
    r->err = err;
    r->thread_key = UINT64_MAX;
    span msg = {buf, len};
    int rc = plumb_map_init(&r->func_ids, 256);
    if (rc == PLUMB_OK)
        rc = plumb_map_init(&r->loc_ids, 256);
    if (rc == PLUMB_OK)
        rc = read_strings(r, msg);
    if (rc == PLUMB_OK && (r->nstrings == 0 || r->strings[0].len != 0))
        rc = fail(r, "not a pprof profile (its string table does not start with \"\")");
    for (uint32_t i = 0; rc == PLUMB_OK && i < r->nstrings; i++)
        if (r->strings[i].len == 6 && memcmp(r->strings[i].p, "thread", 6) == 0)
            r->thread_key = i;
    if (rc == PLUMB_OK)
        rc = read_tables(r, msg);
    if (rc == PLUMB_OK)
        rc = read_locations(r, msg);
    field f;
    int k = 1;
    span walk = msg;
    while (rc == PLUMB_OK && (k = next_field(&walk, &f)) > 0)
        if (f.number == 2 && f.wire == 2)
            rc = read_sample(r, f.bytes);
    if (rc == PLUMB_OK && k < 0)
        rc = fail(r, "not a pprof profile (malformed protobuf)");
    if (rc == PLUMB_OK && plumb_sample_weights_finish(&r->weights, s) < 0)
        rc = fail(r, "sample values too large");
    plumb_map_free(&r->func_ids);
    plumb_map_free(&r->loc_ids);
    free(r->strings);
    free(r->func_index);
    free(r->locs);
    free(r->loc_frames);
    free(r->weights.weight);
    free(r);
    return rc;
}
