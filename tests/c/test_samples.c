/* Tests of the sampled-profile writers (sample_writers.h), no Python.
 * Built plain and with ASan+UBSan by tests/c/Makefile.  With a directory
 * argument the written files are kept there, for the Makefile's checks
 * with python's json and pstats and with callgrind_annotate; without one
 * they go to a temporary directory that is removed. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "base/errors.h"
#include "formats/sample_writers.h"
#include "model/samples.h"


static char dir[4096];

/* ---- the fixture ---------------------------------------------------------- */

typedef struct fixture {
    plumb_samples s;
    uint32_t module, busy, idle, rec, helper, run, weird, hello;
} fixture;

static uint32_t func(plumb_samples *s, const char *file, int64_t line, const char *name)
{
    uint32_t f = PLUMB_NONE;
    CHECK(plumb_labels_intern(&s->names, file, line, name, &f) == PLUMB_OK);
    return f;
}

static void add(plumb_samples *s, uint32_t thread, uint64_t count, uint32_t depth, ...)
{
    uint32_t stack[16];
    va_list ap;
    va_start(ap, depth);
    for (uint32_t i = 0; i < depth; i++)
        stack[i] = va_arg(ap, uint32_t);
    va_end(ap);
    CHECK(plumb_samples_add(s, thread, stack, depth, count) == PLUMB_OK);
}

/* Two threads, 18 samples with frames at 1 ms:
 *   MainThread (14): <module>>busy x6, <module>>busy>helper x2, <module>>idle x1,
 *                    <module>>rec>rec>helper x3, <module> x1, <module>>rec x1
 *   thread 7 (4):    <module>>busy x2, run>weird x1, run>héllo x1,
 *                    and one sample with no frame (left out everywhere). */
static void make_fixture(fixture *x)
{
    plumb_samples *s = &x->s;
    CHECK(plumb_samples_init(s, 0.001, 0) == PLUMB_OK);
    x->module = func(s, "prog.py", 1, "<module>");
    x->busy = func(s, "prog.py", 3, "busy");
    x->idle = func(s, "prog.py", 9, "idle");
    x->rec = func(s, "prog.py", 20, "rec");
    x->helper = func(s, "util.py", 5, "helper");
    x->run = func(s, "threading.py", 900, "run");
    x->weird = func(s, "we\"ird\\.py", 7, "a;b\nc\td");
    x->hello = func(s, "prog.py", 40, "h\xc3\xa9llo");
    uint32_t main_thread, other;
    CHECK(plumb_samples_thread(s, 1, 100, &main_thread) == PLUMB_OK);
    CHECK(plumb_samples_name_thread(s, main_thread, "MainThread") == PLUMB_OK);
    CHECK(plumb_samples_thread(s, 7, 0, &other) == PLUMB_OK);
    add(s, main_thread, 6, 2, x->module, x->busy);
    add(s, main_thread, 2, 3, x->module, x->busy, x->helper);
    add(s, main_thread, 1, 2, x->module, x->idle);
    add(s, main_thread, 3, 4, x->module, x->rec, x->rec, x->helper);
    add(s, main_thread, 1, 1, x->module);
    add(s, main_thread, 1, 2, x->module, x->rec);
    add(s, other, 2, 2, x->module, x->busy);
    add(s, other, 1, 2, x->run, x->weird);
    add(s, other, 1, 2, x->run, x->hello);
    add(s, other, 1, 0);
    s->taken = 20;
    s->missed = 1;
}

/* ---- writing and reading back ------------------------------------------- */

typedef int (*writer_fn)(const plumb_samples *s, FILE *out, const void *arg);

static char *write_and_read(const plumb_samples *s, const char *name, writer_fn writer,
                            const void *arg, size_t *size)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f)
        return calloc(1, 1);
    CHECK(writer(s, f, arg) == PLUMB_OK);
    CHECK(fclose(f) == 0);
    f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    CHECK(fread(buf, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    buf[n] = 0;
    if (size)
        *size = (size_t)n;
    return buf;
}

static int collapsed(const plumb_samples *s, FILE *out, const void *arg)
{
    (void)arg;
    return plumb_write_collapsed(s, out);
}

static int speedscope(const plumb_samples *s, FILE *out, const void *arg)
{
    return plumb_write_speedscope(s, out, arg);
}

static int pstats(const plumb_samples *s, FILE *out, const void *arg)
{
    (void)arg;
    return plumb_write_sampled_pstats(s, out);
}

static int callgrind(const plumb_samples *s, FILE *out, const void *arg)
{
    return plumb_write_sampled_callgrind(s, out, arg);
}

static int tree(const plumb_samples *s, FILE *out, const void *arg)
{
    return plumb_write_tree(s, out, *(const double *)arg);
}

static int check_text(const char *got, const char *want)
{
    if (strcmp(got, want) == 0)
        return 1;
    fprintf(stderr, "--- want:\n%s--- got:\n%s---\n", want, got);
    return 0;
}

/* ---- the tests ------------------------------------------------------------ */

static void test_totals(void)
{
    fixture x;
    make_fixture(&x);
    plumb_sample_index ix;
    plumb_sample_totals t;
    CHECK(plumb_sample_index_build(&x.s, &ix) == PLUMB_OK);
    CHECK(plumb_sample_totals_build(&x.s, &ix, &t) == PLUMB_OK);
    CHECK(ix.inclusive[x.s.threads[0].root] == 14);
    CHECK(ix.inclusive[x.s.threads[1].root] == 5);   /* with the frameless sample */
    CHECK(t.samples == 18);
    CHECK(t.self[x.module] == 1 && t.total[x.module] == 16);
    CHECK(t.self[x.busy] == 8 && t.total[x.busy] == 10);
    CHECK(t.self[x.helper] == 5 && t.total[x.helper] == 5);
    CHECK(t.self[x.rec] == 1 && t.total[x.rec] == 4);   /* recursion counted once */
    CHECK(t.self[x.run] == 0 && t.total[x.run] == 2);
    CHECK(t.self[x.hello] == 1 && t.total[x.hello] == 1);
    plumb_sample_totals_sort_edges(&t, 0);
    CHECK(t.nedges == 8);
    struct { uint32_t caller, callee; uint64_t self, total; } want[] = {
        {x.module, x.busy, 8, 10}, {x.module, x.idle, 1, 1}, {x.module, x.rec, 1, 4},
        {x.busy, x.helper, 2, 2},  {x.rec, x.rec, 0, 3},     {x.rec, x.helper, 3, 3},
        {x.run, x.weird, 1, 1},    {x.run, x.hello, 1, 1},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        int found = 0;
        for (uint32_t e = 0; e < t.nedges; e++)
            if (t.edges[e].caller == want[i].caller && t.edges[e].callee == want[i].callee)
                found = t.edges[e].self == want[i].self && t.edges[e].total == want[i].total;
        CHECK(found);
    }
    for (uint32_t e = 1; e < t.nedges; e++)
        CHECK(t.edges[e - 1].caller <= t.edges[e].caller);
    plumb_sample_totals_free(&t);
    plumb_sample_index_free(&ix);
    plumb_samples_free(&x.s);
}

static void test_collapsed(void)
{
    fixture x;
    make_fixture(&x);
    char *got = write_and_read(&x.s, "profile.collapsed", collapsed, NULL, NULL);
    CHECK(check_text(got,
                     "<module> (prog.py:1) 1\n"
                     "<module> (prog.py:1);busy (prog.py:3) 8\n"
                     "<module> (prog.py:1);busy (prog.py:3);helper (util.py:5) 2\n"
                     "<module> (prog.py:1);idle (prog.py:9) 1\n"
                     "<module> (prog.py:1);rec (prog.py:20) 1\n"
                     "<module> (prog.py:1);rec (prog.py:20);rec (prog.py:20);helper (util.py:5) 3\n"
                     "run (threading.py:900);a,b?c?d (we\"ird\\.py:7) 1\n"
                     "run (threading.py:900);h\xc3\xa9llo (prog.py:40) 1\n"));
    free(got);
    plumb_samples_free(&x.s);
}

static void test_tree(void)
{
    fixture x;
    make_fixture(&x);
    double all = 0, some = 30;
    char *got = write_and_read(&x.s, "profile.tree.txt", tree, &all, NULL);
    CHECK(check_text(got,
                     "Samples: 20 taken, 1 missed, 0 failed; every 1 ms (1,000 Hz); wall-clock time\n"
                     "\n"
                     "Thread MainThread: 14 samples (wall)\n"
                     "100.0%  <module>  prog.py:1\n"
                     " 57.1%  \u251c\u2500 busy  prog.py:3\n"
                     " 14.3%  \u2502  \u2514\u2500 helper  util.py:5\n"
                     " 28.6%  \u251c\u2500 rec  prog.py:20\n"
                     " 21.4%  \u2502  \u2514\u2500 rec  prog.py:20\n"
                     " 21.4%  \u2502     \u2514\u2500 helper  util.py:5\n"
                     "  7.1%  \u2514\u2500 idle  prog.py:9\n"
                     "\n"
                     "Thread 7: 4 samples (wall)\n"
                     " 50.0%  <module>  prog.py:1\n"
                     " 50.0%  \u2514\u2500 busy  prog.py:3\n"
                     " 50.0%  run  threading.py:900\n"
                     " 25.0%  \u251c\u2500 a;b?c?d  we\"ird\\.py:7\n"
                     " 25.0%  \u2514\u2500 h\xc3\xa9llo  prog.py:40\n"));
    free(got);
    got = write_and_read(&x.s, "profile.tree30.txt", tree, &some, NULL);
    CHECK(check_text(got,
                     "Samples: 20 taken, 1 missed, 0 failed; every 1 ms (1,000 Hz); wall-clock time\n"
                     "\n"
                     "Thread MainThread: 14 samples (wall)\n"
                     "100.0%  <module>  prog.py:1\n"
                     " 57.1%  \u251c\u2500 busy  prog.py:3\n"
                     " 14.3%  \u2502  \u2514\u2500 \u2026 1 more\n"
                     " 35.7%  \u2514\u2500 \u2026 2 more\n"
                     "\n"
                     "Thread 7: 4 samples (wall)\n"
                     " 50.0%  <module>  prog.py:1\n"
                     " 50.0%  \u2514\u2500 busy  prog.py:3\n"
                     " 50.0%  run  threading.py:900\n"
                     " 50.0%  \u2514\u2500 \u2026 2 more\n"));
    free(got);
    plumb_samples_free(&x.s);
}

/* Thousands separators, CPU mode, a fold at the top level, truncation. */
static void test_tree_summary(void)
{
    plumb_samples s;
    CHECK(plumb_samples_init(&s, 0.0001, 1) == PLUMB_OK);
    uint32_t f = func(&s, "a.py", 1, "f"), g = func(&s, "a.py", 2, "g");
    uint32_t builtin = func(&s, "~", 0, "<built-in method time.sleep>");
    uint32_t th;
    CHECK(plumb_samples_thread(&s, 5, 0, &th) == PLUMB_OK);
    add(&s, th, 1234, 1, f);
    add(&s, th, 2, 1, g);
    add(&s, th, 1, 2, f, builtin);
    s.taken = 1234567;
    s.truncated = 3;
    double min = 1;
    char *got = write_and_read(&s, "small.tree.txt", tree, &min, NULL);
    CHECK(check_text(got,
                     "Samples: 1,234,567 taken, 0 missed, 0 failed, 3 stacks truncated at 1024 frames;"
                     " every 100 us (10,000 Hz); CPU time (threads on a CPU only)\n"
                     "\n"
                     "Thread 5: 1,237 samples (cpu)\n"
                     " 99.8%  f  a.py:1\n"
                     "  0.1%  \u2514\u2500 \u2026 1 more\n"
                     "  0.2%  \u2026 1 more\n"));
    free(got);
    min = 0;
    got = write_and_read(&s, "small.tree.txt", tree, &min, NULL);
    CHECK(strstr(got, "  0.1%  \u2514\u2500 <built-in method time.sleep>\n") != NULL);
    free(got);
    plumb_samples_free(&s);
}

static void test_speedscope(void)
{
    fixture x;
    make_fixture(&x);
    char *got = write_and_read(&x.s, "profile.speedscope.json", speedscope, "prog \"x\"", NULL);
    CHECK(strncmp(got, "{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",", 64) == 0);
    CHECK(strstr(got, "\"name\":\"prog \\\"x\\\"\"") != NULL);
    CHECK(strstr(got, "\"exporter\":\"plumb\"") != NULL);
    CHECK(strstr(got, "\"activeProfileIndex\":0") != NULL);
    CHECK(strstr(got, "{\"name\":\"a;b\\nc\\td\",\"file\":\"we\\\"ird\\\\.py\",\"line\":7}") != NULL);
    CHECK(strstr(got, "{\"name\":\"h\xc3\xa9llo\",\"file\":\"prog.py\",\"line\":40}") != NULL);
    CHECK(strstr(got, "\"name\":\"MainThread\",\"unit\":\"seconds\",\"startValue\":0,"
                      "\"endValue\":0.014,") != NULL);
    CHECK(strstr(got, "\"name\":\"thread 7\",\"unit\":\"seconds\",\"startValue\":0,"
                      "\"endValue\":0.004,") != NULL);
    /* MainThread's stacks in first-seen order, one per distinct stack. */
    char want[512];
    snprintf(want, sizeof want,
             "\"samples\":[\n[%u],\n[%u,%u],\n[%u,%u,%u],\n[%u,%u],\n[%u,%u],\n[%u,%u,%u,%u]],\n"
             "\"weights\":[\n0.001,\n0.006,\n0.002,\n0.001,\n0.001,\n0.003]}",
             x.module, x.module, x.busy, x.module, x.busy, x.helper, x.module, x.idle, x.module,
             x.rec, x.module, x.rec, x.rec, x.helper);
    CHECK(strstr(got, want) != NULL);
    int profiles = 0;
    for (const char *p = got; (p = strstr(p, "\"type\":\"sampled\"")); p++)
        profiles++;
    CHECK(profiles == 2);
    free(got);
    plumb_samples_free(&x.s);

    /* No sample at all: still one (empty) profile, as speedscope needs. */
    plumb_samples empty;
    CHECK(plumb_samples_init(&empty, 0.01, 0) == PLUMB_OK);
    got = write_and_read(&empty, "empty.speedscope.json", speedscope, NULL, NULL);
    CHECK(strstr(got, "\"profiles\":[\n{\"type\":\"sampled\",\"name\":\"plumb\",\"unit\":\"seconds\","
                      "\"startValue\":0,\"endValue\":0,\n\"samples\":[],\n\"weights\":[]}\n]}\n") != NULL);
    free(got);
    plumb_samples_free(&empty);
}

/* A reader of the marshal subset that pstats files use, enough to check
 * the numbers. */
typedef struct reader {
    const unsigned char *p, *end;
    int bad;
    const unsigned char *refs[64];   /* strings flagged for reference, where they start */
    int nrefs;
} reader;

static uint32_t u32(reader *r)
{
    if (r->end - r->p < 4) {
        r->bad = 1;
        return 0;
    }
    uint32_t v = r->p[0] | r->p[1] << 8 | r->p[2] << 16 | (uint32_t)r->p[3] << 24;
    r->p += 4;
    return v;
}

static int byte(reader *r)
{
    if (r->p >= r->end) {
        r->bad = 1;
        return 0;
    }
    return *r->p++;
}

/* A 'z' or 'u' string's text, at r's position (after the type byte). */
static void read_text(reader *r, int type, char *out, size_t size)
{
    size_t n = type == 'z' ? (size_t)byte(r) : type == 'u' ? u32(r) : (r->bad = 1, 0);
    if ((size_t)(r->end - r->p) < n || n >= size) {
        r->bad = 1;
        return;
    }
    memcpy(out, r->p, n);
    out[n] = 0;
    r->p += n;
}

static void read_str(reader *r, char *out, size_t size)
{
    int type = byte(r);
    if (type == 'r') {   /* a string written before: read it again where it was */
        uint32_t index = u32(r);
        if (r->bad || index >= (uint32_t)r->nrefs) {
            r->bad = 1;
            return;
        }
        reader again = *r;
        again.p = r->refs[index];
        read_text(&again, again.p[-1] & 0x7f, out, size);
        r->bad |= again.bad;
        return;
    }
    if (type & 0x80) {   /* FLAG_REF: later 'r' entries refer to it by number */
        if (r->nrefs == 64) {
            r->bad = 1;
            return;
        }
        r->refs[r->nrefs++] = r->p;
        type &= 0x7f;
    }
    read_text(r, type, out, size);
}

static int64_t read_int(reader *r)
{
    if (byte(r) != 'i')
        r->bad = 1;
    return (int32_t)u32(r);
}

static double read_float(reader *r)
{
    if (byte(r) != 'g' || r->end - r->p < 8) {
        r->bad = 1;
        return 0;
    }
    uint64_t bits = 0;
    for (int i = 7; i >= 0; i--)
        bits = bits << 8 | r->p[i];
    r->p += 8;
    double v;
    memcpy(&v, &bits, 8);
    return v;
}

static void tuple(reader *r, int size)
{
    if (byte(r) != ')' || byte(r) != size)
        r->bad = 1;
}

static void read_label(reader *r, char *file, int64_t *line, char *name)
{
    tuple(r, 3);
    read_str(r, file, 256);
    *line = read_int(r);
    read_str(r, name, 256);
}

static int near(double a, double b) { return fabs(a - b) < 1e-12; }

static void test_pstats(void)
{
    fixture x;
    make_fixture(&x);
    size_t size;
    char *got = write_and_read(&x.s, "profile.pstats", pstats, NULL, &size);
    reader r = {(const unsigned char *)got, (const unsigned char *)got + size, 0};
    CHECK(byte(&r) == '{');
    int functions = 0, callers = 0;
    double tottime = 0;
    while (!r.bad && r.p < r.end && *r.p != '0') {
        char file[256], name[256], cfile[256], cname[256];
        int64_t line, cline;
        read_label(&r, file, &line, name);
        tuple(&r, 5);
        int64_t cc = read_int(&r), nc = read_int(&r);
        double tt = read_float(&r), ct = read_float(&r);
        CHECK(cc == 0 && nc == 0);
        tottime += tt;
        functions++;
        if (strcmp(name, "busy") == 0)
            CHECK(near(tt, 0.008) && near(ct, 0.010));
        if (strcmp(name, "rec") == 0)
            CHECK(near(tt, 0.001) && near(ct, 0.004));
        if (strcmp(name, "<module>") == 0)
            CHECK(near(tt, 0.001) && near(ct, 0.016));
        CHECK(byte(&r) == '{');
        while (!r.bad && r.p < r.end && *r.p != '0') {
            read_label(&r, cfile, &cline, cname);
            tuple(&r, 4);
            int64_t cnc = read_int(&r), ccc = read_int(&r);
            double ctt = read_float(&r), cct = read_float(&r);
            CHECK(cnc == 0 && ccc == 0);
            callers++;
            if (strcmp(name, "helper") == 0 && strcmp(cname, "rec") == 0)
                CHECK(near(ctt, 0.003) && near(cct, 0.003));
            if (strcmp(name, "rec") == 0 && strcmp(cname, "rec") == 0)
                CHECK(near(ctt, 0.0) && near(cct, 0.003));
            if (strcmp(name, "busy") == 0)
                CHECK(strcmp(cname, "<module>") == 0 && near(ctt, 0.008) && near(cct, 0.010));
        }
        CHECK(byte(&r) == '0');
    }
    CHECK(byte(&r) == '0' && r.p == r.end && !r.bad);
    CHECK(functions == 8 && callers == 8);
    CHECK(near(tottime, 0.018));
    free(got);
    plumb_samples_free(&x.s);
}

static void test_callgrind(void)
{
    fixture x;
    make_fixture(&x);
    plumb_callgrind_info info = {.creator = "test", .cmd = "prog.py\narg", .pid = 42};
    char *got = write_and_read(&x.s, "profile.callgrind", callgrind, &info, NULL);
    CHECK(strncmp(got, "# callgrind format\n", 19) == 0);
    CHECK(strstr(got, "\nevents: ns\n") != NULL);
    CHECK(strstr(got, "\ncmd: prog.py arg\n") != NULL);
    CHECK(strstr(got, "\nsummary: 18000000\n") != NULL);
    CHECK(strstr(got, "\ntotals: 18000000\n") != NULL);
    CHECK(strstr(got, "cfn=(4) rec:20\ncalls=4 20\n1 4000000\n") != NULL);   /* named at first use */
    CHECK(strstr(got, "fn=(4)\n20 1000000\n") != NULL);
    /* rec -> rec: 3 samples hold the pair (once each, though it recurs). */
    CHECK(strstr(got, "cfn=(4)\ncalls=3 20\n20 3000000\n") != NULL);
    CHECK(strstr(got, "fn=(6) run:900\n900 0\n") != NULL);
    /* Self costs (the cost lines not after calls=) add up to the total. */
    long long self = 0, a, b;
    int after_calls = 0;
    for (char *line = strtok(got, "\n"); line; line = strtok(NULL, "\n")) {
        if (sscanf(line, "%lld %lld", &a, &b) == 2 && !after_calls)
            self += b;
        after_calls = strncmp(line, "calls=", 6) == 0;
    }
    CHECK(self == 18000000);
    free(got);
    plumb_samples_free(&x.s);
}

/* A deep recursive stack (past the walk's first allocation) and many
 * distinct stacks: every writer's total must be the samples added. */
static void test_large(void)
{
    plumb_samples s;
    CHECK(plumb_samples_init(&s, 0.002, 0) == PLUMB_OK);
    uint32_t funcs[50], th;
    for (int i = 0; i < 50; i++) {
        char name[16];
        snprintf(name, sizeof name, "f%d", i);
        funcs[i] = func(&s, "big.py", i + 1, name);
    }
    CHECK(plumb_samples_thread(&s, 1, 0, &th) == PLUMB_OK);
    static uint32_t stack[PLUMB_MAX_SAMPLE_DEPTH];
    for (uint32_t i = 0; i < PLUMB_MAX_SAMPLE_DEPTH; i++)
        stack[i] = funcs[0];
    CHECK(plumb_samples_add(&s, th, stack, PLUMB_MAX_SAMPLE_DEPTH, 7) == PLUMB_OK);
    uint64_t added = 7;
    unsigned seed = 1;
    for (int n = 0; n < 20000; n++) {
        uint32_t depth = 1 + (seed = seed * 1103515245 + 12345) % 60;
        for (uint32_t i = 0; i < depth; i++)
            stack[i] = funcs[(seed = seed * 1103515245 + 12345) >> 16 & 7 ? i % 50 : (seed >> 8) % 50];
        uint64_t count = 1 + (seed >> 20) % 3;
        CHECK(plumb_samples_add(&s, th, stack, depth, count) == PLUMB_OK);
        added += count;
    }
    CHECK(s.nnodes > 10000);

    plumb_sample_index ix;
    plumb_sample_totals t;
    CHECK(plumb_sample_index_build(&s, &ix) == PLUMB_OK);
    CHECK(plumb_sample_totals_build(&s, &ix, &t) == PLUMB_OK);
    CHECK(t.samples == added && t.total[funcs[0]] <= added);
    for (uint32_t f = 0; f < s.names.nfuncs; f++)
        CHECK(t.total[f] >= t.self[f] && t.total[f] <= added);
    plumb_sample_totals_free(&t);
    plumb_sample_index_free(&ix);

    char *got = write_and_read(&s, "large.collapsed", collapsed, NULL, NULL);
    uint64_t sum = 0;
    for (char *line = strtok(got, "\n"); line; line = strtok(NULL, "\n"))
        sum += strtoull(strrchr(line, ' ') + 1, NULL, 10);
    CHECK(sum == added);
    free(got);
    plumb_callgrind_info info = {0};
    got = write_and_read(&s, "large.callgrind", callgrind, &info, NULL);
    char want[64];
    snprintf(want, sizeof want, "\ntotals: %llu\n", (unsigned long long)added * 2000000);
    CHECK(strstr(got, want) != NULL);
    free(got);
    got = write_and_read(&s, "large.speedscope.json", speedscope, "large", NULL);
    free(got);
    got = write_and_read(&s, "large.pstats", pstats, NULL, NULL);
    free(got);
    double min = 0.5;
    got = write_and_read(&s, "large.tree.txt", tree, &min, NULL);
    CHECK(strstr(got, "Thread 1: ") != NULL);
    free(got);
    plumb_samples_free(&s);
}

static void test_empty(void)
{
    plumb_samples s;
    CHECK(plumb_samples_init(&s, 0.001, 0) == PLUMB_OK);
    double min = 0;
    char *got = write_and_read(&s, "empty.collapsed", collapsed, NULL, NULL);
    CHECK(got[0] == 0);
    free(got);
    got = write_and_read(&s, "empty.tree.txt", tree, &min, NULL);
    CHECK(strcmp(got, "Samples: 0 taken, 0 missed, 0 failed; every 1 ms (1,000 Hz); wall-clock time\n") == 0);
    free(got);
    got = write_and_read(&s, "empty.pstats", pstats, NULL, NULL);
    CHECK(strcmp(got, "{0") == 0);
    free(got);
    got = write_and_read(&s, "empty.callgrind", callgrind, NULL, NULL);
    CHECK(strstr(got, "\ntotals: 0\n") != NULL);
    free(got);
    plumb_samples_free(&s);
}

static int pprof(const plumb_samples *s, FILE *out, const void *arg)
{
    (void)arg;
    return plumb_write_pprof(s, out);
}

/* Whether the n bytes at buf hold needle (pprof's strings are not 0-ended). */
static int holds(const char *buf, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(buf + i, needle, k) == 0)
            return 1;
    return 0;
}

static void test_thread_labels(void)
{
    plumb_samples s;
    CHECK(plumb_samples_init(&s, 0.01, 0) == PLUMB_OK);
    uint32_t t = 0, f = func(&s, "/srv/shop/views.py", 10, "product");
    CHECK(plumb_samples_thread(&s, 1, 0, &t) == PLUMB_OK);
    CHECK(plumb_samples_label_thread(&s, t, "transaction", "shop.views.other") == PLUMB_OK);
    CHECK(plumb_samples_label_thread(&s, t, "transaction", "shop.views.product") == PLUMB_OK);
    CHECK(plumb_samples_label_thread(&s, t, "host", "web-1") == PLUMB_OK);
    CHECK(s.threads[t].nlabels == 2);      /* a key given again takes the new value */
    CHECK(strcmp(s.threads[t].labels[0].value, "shop.views.product") == 0);
    CHECK(plumb_samples_label_thread(&s, t + 1, "host", "x") == PLUMB_EINVAL);
    char key[16];
    int rc = PLUMB_OK;
    for (int i = 0; rc == PLUMB_OK && i < PLUMB_MAX_SAMPLE_LABELS + 1; i++) {
        snprintf(key, sizeof key, "k%d", i);
        rc = plumb_samples_label_thread(&s, t, key, "v");
    }
    CHECK(rc == PLUMB_ELIMIT && s.threads[t].nlabels == PLUMB_MAX_SAMPLE_LABELS);
    CHECK(plumb_samples_add(&s, t, &f, 1, 5) == PLUMB_OK);
    size_t n = 0;
    char *got = write_and_read(&s, "labels.pprof", pprof, NULL, &n);
    CHECK(holds(got, n, "transaction") && holds(got, n, "shop.views.product"));
    CHECK(holds(got, n, "host") && holds(got, n, "web-1") && !holds(got, n, "shop.views.other"));
    free(got);
    plumb_samples_free(&s);                /* the labels too (ASan says if not) */
}

static void remove_dir(void)
{
    static const char *names[] = {
        "profile.collapsed", "profile.tree.txt", "profile.tree30.txt", "small.tree.txt",
        "profile.speedscope.json", "empty.speedscope.json", "profile.pstats", "profile.callgrind",
        "large.collapsed", "large.callgrind", "large.speedscope.json", "large.pstats",
        "large.tree.txt", "empty.collapsed", "empty.tree.txt", "empty.pstats", "empty.callgrind",
        "labels.pprof",
    };
    char path[4200];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

int main(int argc, char **argv)
{
    int keep = argc > 1;
    if (keep) {
        snprintf(dir, sizeof dir, "%s", argv[1]);
        mkdir(dir, 0777);
    } else {
        snprintf(dir, sizeof dir, "/tmp/plumb_samples_XXXXXX");
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            return 1;
        }
    }
    test_totals();
    test_collapsed();
    test_tree();
    test_tree_summary();
    test_speedscope();
    test_pstats();
    test_callgrind();
    test_large();
    test_empty();
    test_thread_labels();
    if (!keep)
        remove_dir();
    return check_report("sample writer tests passed");
}
