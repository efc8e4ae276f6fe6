/* A sampled profile as pprof's profile.proto (github.com/google/pprof,
 * proto/profile.proto), uncompressed: the caller gzips it, as `go tool
 * pprof` and continuous-profiling servers expect.
 *
 * Two sample types, samples/count and wall (or cpu)/nanoseconds; one
 * Sample per call-tree node with samples, its locations leaf first; one
 * Location and one Function per function (pprof's line is the function's
 * first line: samples do not record the line executing); a "thread" label
 * naming the sample's thread, then the thread's own labels (samples.h:
 * transaction, kind, host for a monitored site), which `go tool pprof
 * -tagfocus` filters on.  Field numbers are profile.proto's. */
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/grow.h"
#include "formats/sample_writers.h"
#include "base/string_table.h"

/* A growing byte buffer; a failed allocation sticks in `failed`. */
typedef struct pb {
    unsigned char *data;
    size_t len, cap;
    int failed;
} pb;

static void pb_put(pb *b, const void *src, size_t n)
{
    if (b->failed)
        return;
    if (n > SIZE_MAX - b->len
        || PLUMB_GROW(b->data, &b->cap, b->len + n, 256, SIZE_MAX) < 0) {
        b->failed = 1;
        return;
    }
    memcpy(b->data + b->len, src, n);
    b->len += n;
}

static void pb_varint(pb *b, uint64_t v)
{
    unsigned char out[10];
    size_t n = 0;
    do {
        out[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v)
            out[n] |= 0x80;
        n++;
    } while (v);
    pb_put(b, out, n);
}

/* Field `field` as a varint (wire type 0); zero is the default and left out. */
static void pb_int(pb *b, uint32_t field, uint64_t v)
{
    if (v == 0)
        return;
    pb_varint(b, (uint64_t)field << 3);
    pb_varint(b, v);
}

/* Field `field` as bytes (wire type 2): a string or a submessage. */
static void pb_bytes(pb *b, uint32_t field, const void *data, size_t n)
{
    pb_varint(b, (uint64_t)field << 3 | 2);
    pb_varint(b, n);
    pb_put(b, data, n);
}

/* The string table: every string once, "" first (pprof requires it). */
typedef struct strings {
    pb table;                   /* the encoded string_table fields */
    plumb_string_table index;
    int failed;
} strings;

/* The string's index in the table, added (and encoded) if new. */
static int64_t str_id(strings *t, const char *s)
{
    uint32_t i;
    int rc = plumb_string_table_intern(&t->index, s, &i);
    if (rc < 0) {
        t->failed = 1;
        return 0;
    }
    if (rc == 1)
        pb_bytes(&t->table, 6, s, strlen(s));
    return i;
}

/* A string label key=value (Sample.label: key, str) onto a sample. */
static void string_label(pb *sample, strings *t, const char *key, const char *value)
{
    pb label = {0};
    pb_int(&label, 1, (uint64_t)str_id(t, key));
    pb_int(&label, 2, (uint64_t)str_id(t, value));
    pb_bytes(sample, 3, label.data, label.len);
    sample->failed |= label.failed;
    free(label.data);
}

static void value_type(pb *out, uint32_t field, strings *t, const char *type, const char *unit)
{
    pb m = {0};
    pb_int(&m, 1, (uint64_t)str_id(t, type));
    pb_int(&m, 2, (uint64_t)str_id(t, unit));
    pb_bytes(out, field, m.data, m.len);
    out->failed |= m.failed;
    free(m.data);
}

int plumb_write_pprof(const plumb_samples *s, FILE *out)
{
    const plumb_labels *p = &s->names;
    strings t = {0};
    pb prof = {0};
    uint32_t *path = malloc(PLUMB_MAX_SAMPLE_DEPTH * sizeof *path);
    int rc = path ? PLUMB_OK : PLUMB_ENOMEM;
    if (rc < 0)
        goto done;
    str_id(&t, "");
    const char *kind = s->cpu_mode ? "cpu" : "wall";
    int64_t period = (int64_t)(s->interval * 1e9 + 0.5);
    value_type(&prof, 1, &t, "samples", "count");
    value_type(&prof, 1, &t, kind, "nanoseconds");

    /* Samples: one per node with samples of its own. */
    for (uint32_t n = 0; n < s->nnodes; n++) {
        const plumb_node *node = &s->nodes[n];
        if (node->self == 0 || node->func == PLUMB_NONE)
            continue;
        uint32_t depth = plumb_samples_path(s, n, path, PLUMB_MAX_SAMPLE_DEPTH);
        if (depth == 0)
            continue;
        pb sample = {0}, ids = {0}, values = {0};
        for (uint32_t i = depth; i-- > 0;)
            pb_varint(&ids, (uint64_t)path[i] + 1);   /* leaf first; ids start at 1 */
        pb_bytes(&sample, 1, ids.data, ids.len);
        pb_varint(&values, node->self);
        pb_varint(&values, (uint64_t)((double)node->self * (double)period));
        pb_bytes(&sample, 2, values.data, values.len);
        const plumb_sampled_thread *th = &s->threads[node->thread];
        char fallback[32];
        const char *name = th->name;
        if (!name) {
            snprintf(fallback, sizeof fallback, "thread %u", node->thread);
            name = fallback;
        }
        string_label(&sample, &t, "thread", name);
        for (uint32_t i = 0; i < th->nlabels; i++)
            string_label(&sample, &t, th->labels[i].key, th->labels[i].value);
        pb_bytes(&prof, 2, sample.data, sample.len);
        prof.failed |= sample.failed | ids.failed | values.failed;
        free(sample.data);
        free(ids.data);
        free(values.data);
    }
    /* Locations and functions: id f+1 for function f. */
    for (uint32_t f = 0; f < p->nfuncs; f++) {
        const plumb_func *fn = &p->funcs[f];
        pb loc = {0}, line = {0}, func = {0};
        pb_int(&line, 1, (uint64_t)f + 1);
        pb_int(&line, 2, (uint64_t)(fn->line > 0 ? fn->line : 0));
        pb_int(&loc, 1, (uint64_t)f + 1);
        pb_bytes(&loc, 4, line.data, line.len);
        pb_bytes(&prof, 4, loc.data, loc.len);
        int builtin = strcmp(fn->file, "~") == 0;
        pb_int(&func, 1, (uint64_t)f + 1);
        pb_int(&func, 2, (uint64_t)str_id(&t, fn->name));
        pb_int(&func, 3, (uint64_t)str_id(&t, fn->name));
        pb_int(&func, 4, (uint64_t)str_id(&t, builtin ? "" : fn->file));
        pb_int(&func, 5, (uint64_t)(fn->line > 0 ? fn->line : 0));
        pb_bytes(&prof, 5, func.data, func.len);
        prof.failed |= loc.failed | line.failed | func.failed;
        free(loc.data);
        free(line.data);
        free(func.data);
    }
    pb_put(&prof, t.table.data, t.table.len);   /* string_table, field 6 */
    value_type(&prof, 11, &t, kind, "nanoseconds");
    pb_int(&prof, 12, (uint64_t)period);
    if (prof.failed || t.failed || t.table.failed) {
        rc = PLUMB_ENOMEM;
        goto done;
    }
    /* period_type's strings were all interned earlier: the table is whole. */
    fwrite(prof.data, 1, prof.len, out);
    rc = ferror(out) ? PLUMB_EIO : PLUMB_OK;
done:
    plumb_string_table_free(&t.index);
    free(t.table.data);
    free(prof.data);
    free(path);
    return rc;
}
