/* Tests of the C core alone: no Python.  Built twice by tests/c/Makefile,
 * plain and with ASan+UBSan. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lockstep.h"
#include "base/errors.h"
#include "base/grow.h"
#include "base/hash.h"
#include "base/map.h"
#include "base/string_table.h"
#include "formats/marshal_out.h"
#include "formats/read_checks.h"
#include "tracer/profile.h"
#include "tracer/tracer.h"
#include "formats/writers.h"


static void test_map(void)
{
    plumb_map m;
    CHECK(plumb_map_init(&m, 4) == PLUMB_OK);
    for (uint64_t k = 1; k <= 10000; k++)
        CHECK(plumb_map_put(&m, k * 64, (uint32_t)k) == PLUMB_OK);
    CHECK(m.count == 10000);
    int all = 1;
    for (uint64_t k = 1; k <= 10000; k++)
        all &= plumb_map_get(&m, k * 64) == (uint32_t)k;
    CHECK(all);
    CHECK(plumb_map_get(&m, 12345 * 64 + 1) == PLUMB_MAP_MISSING);
    CHECK(plumb_map_put(&m, 64, 7) == PLUMB_OK);
    CHECK(plumb_map_get(&m, 64) == 7 && m.count == 10000);
    plumb_map_free(&m);
}

/* The one growth helper: doubling clamped at the table's limit, the limit
 * and a byte size past size_t refused with the array left as it was. */
static void test_grow(void)
{
    int *a = NULL;
    uint32_t cap = 0;
    CHECK(PLUMB_GROW(a, &cap, 1, 4, 100) == PLUMB_OK && cap == 4 && a);
    CHECK(PLUMB_GROW(a, &cap, 3, 4, 100) == PLUMB_OK && cap == 4);
    CHECK(PLUMB_GROW(a, &cap, 5, 4, 100) == PLUMB_OK && cap == 8);
    CHECK(PLUMB_GROW(a, &cap, 33, 4, 100) == PLUMB_OK && cap == 64);
    CHECK(PLUMB_GROW(a, &cap, 65, 4, 100) == PLUMB_OK && cap == 100);   /* clamped, not 128 */
    int *before = a;
    CHECK(PLUMB_GROW(a, &cap, 101, 4, 100) == PLUMB_ELIMIT && cap == 100 && a == before);
    /* A uint32_t capacity never wraps: the limit is at most UINT32_MAX. */
    uint32_t big = UINT32_MAX - 1;
    CHECK(plumb_grow_u32(&a, &big, (size_t)UINT32_MAX + 1, sizeof *a, 4, SIZE_MAX, 0) == PLUMB_ELIMIT
          && big == UINT32_MAX - 1 && a == before);
    /* n * size past size_t: refused before realloc sees a wrapped size. */
    size_t scap = 0;
    char *c = NULL;
    CHECK(plumb_grow_size(&c, &scap, 8, SIZE_MAX / 4, 1, SIZE_MAX, 0) == PLUMB_ELIMIT
          && scap == 0 && c == NULL);
    free(a);
    /* Zeroed growth zeroes only the new part. */
    unsigned char *z = NULL;
    uint32_t zcap = 0;
    CHECK(PLUMB_GROW_ZEROED(z, &zcap, 3, 4, UINT32_MAX) == PLUMB_OK && zcap == 4);
    memset(z, 7, zcap);
    CHECK(PLUMB_GROW_ZEROED(z, &zcap, 5, 4, UINT32_MAX) == PLUMB_OK && zcap == 8);
    CHECK(z[3] == 7 && z[4] == 0 && z[7] == 0);
    free(z);
}

/* SipHash itself, against the reference implementation's vectors
 * (SipHash-2-4, key 00..0f, message 00..len-1); the 1-3 variant used for
 * tables differs in round counts only.  Fed in pieces, it hashes as whole. */
static void test_siphash(void)
{
    static const struct { size_t len; uint64_t hash; } vectors[] = {
        {0, 0x726fdb47dd0e0e31ull}, {1, 0x74f839c593dc67fdull}, {7, 0xab0200f58b01d137ull},
        {8, 0x93f5f5799a932462ull}, {15, 0xa129ca6149be45e5ull}, {16, 0x3f2acc7f57c29bdbull},
        {63, 0x958a324ceb064572ull},
    };
    unsigned char msg[64];
    for (int i = 0; i < 64; i++)
        msg[i] = (unsigned char)i;
    for (size_t i = 0; i < sizeof vectors / sizeof *vectors; i++)
        CHECK(plumb_siphash(0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull, 2, 4, msg,
                            vectors[i].len) == vectors[i].hash);
    for (size_t split = 0; split <= 63; split += 3) {
        plumb_hasher h;
        plumb_hasher_init(&h);
        plumb_hasher_add(&h, msg, split / 2);
        plumb_hasher_add(&h, msg + split / 2, split - split / 2);
        plumb_hasher_add(&h, msg + split, 63 - split);
        CHECK(plumb_hasher_end(&h) == plumb_hash_bytes(msg, 63));
    }
}

/* Hash flooding: names or ids built to share a slot must not make lookups
 * long.  Costs are counted in probes (slots examined), not timed.  Under
 * the old unkeyed hashes (FNV-1a's low bits for strings, a fixed Fibonacci
 * multiplier for integers) each set below lands in one slot; keyed, it
 * spreads.  A key the builder knows is as weak as no key: that is shown
 * too, so that the counts are known to see an attack. */
static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

static uint64_t inverse(uint64_t a)   /* of an odd a, mod 2^64 (Newton) */
{
    uint64_t x = a;
    for (int i = 0; i < 6; i++)
        x *= 2 - a * x;
    return x;
}

enum { FLOOD = 400 };

/* FLOOD names whose hash under hash_fn has its low 10 bits 0: one slot of
 * a 1024-slot string table (which holds 512). */
static char (*colliding_names(int keyed))[24]
{
    static char names[FLOOD][24];
    int n = 0;
    for (unsigned i = 0; n < FLOOD; i++) {
        char s[24];
        snprintf(s, sizeof s, "f%u", i);
        uint64_t h = keyed ? plumb_hash_bytes(s, strlen(s)) : fnv1a(s);
        if ((h & 1023) == 0)
            memcpy(names[n++], s, sizeof s);
    }
    return names;
}

static double string_table_probes(char (*names)[24])
{
    plumb_string_table t = {0};
    uint32_t index;
    size_t probes = 0;
    for (int i = 0; i < FLOOD; i++)
        CHECK(plumb_string_table_intern(&t, names[i], &index) == 1 && index == (uint32_t)i);
    for (int i = 0; i < FLOOD; i++)
        probes += plumb_string_table_probes(&t, names[i]);
    plumb_string_table_free(&t);
    return (double)probes / FLOOD;
}

static double map_probes(const uint64_t *keys, int n)
{
    plumb_map m;
    CHECK(plumb_map_init(&m, 16) == PLUMB_OK);
    size_t probes = 0;
    for (int i = 0; i < n; i++)
        CHECK(plumb_map_put(&m, keys[i], (uint32_t)i) == PLUMB_OK);
    for (int i = 0; i < n; i++) {
        CHECK(plumb_map_get(&m, keys[i]) == (uint32_t)i);
        probes += plumb_map_probes(&m, keys[i]);
    }
    plumb_map_free(&m);
    return (double)probes / n;
}

static void test_hash_flooding(void)
{
    const uint64_t known = 0x2545f4914f6cdd1dull, secret = 0xd6e8feb86659fd93ull;
    plumb_hash_set_key_for_tests(1, 2, known);

    /* Strings: FNV-1a colliders spread under the key. */
    char (*names)[24] = colliding_names(0);
    CHECK(string_table_probes(names) < 2.0);
    /* Colliders built with the key itself: long probes, which the count
     * sees; under another key the same names spread. */
    static char keyed[FLOOD][24];
    memcpy(keyed, colliding_names(1), sizeof keyed);
    CHECK(string_table_probes(keyed) > 50.0);
    plumb_hash_set_key_for_tests(3, 4, secret);
    CHECK(string_table_probes(keyed) < 2.0);

    /* Labels (the function index of the tracer, the stats and the trees):
     * every one found, in few probes. */
    plumb_labels l;
    CHECK(plumb_labels_init(&l) == PLUMB_OK);
    for (int i = 0; i < FLOOD; i++) {
        uint32_t f;
        CHECK(plumb_labels_intern(&l, i % 2 ? keyed[i] : "file.py", i,
                                  i % 2 ? "name" : keyed[i], &f) == PLUMB_OK);
        CHECK(f == (uint32_t)i);
    }
    size_t probes = 0;
    for (int i = 0; i < FLOOD; i++) {
        CHECK(plumb_labels_find(&l, i % 2 ? keyed[i] : "file.py", i,
                                i % 2 ? "name" : keyed[i]) == (uint32_t)i);
        probes += plumb_map_probes(&l.by_hash, l.funcs[i].hash);
    }
    CHECK((double)probes / FLOOD < 2.0);
    CHECK(l.nfuncs == FLOOD);
    plumb_labels_free(&l);

    /* Integers: ids a file could give (pprof's) that all had home 0 under
     * the old (key * golden ratio) >> 29, and ids built for a multiplier
     * that is known.  1500 keys fill a 4096-slot map. */
    enum { IDS = 1500 };
    static uint64_t old_colliders[IDS], known_colliders[IDS];
    for (int i = 0; i < IDS; i++) {
        old_colliders[i] = ((uint64_t)(i + 1) << 41) * inverse(0x9E3779B97F4A7C15ull);
        CHECK(((old_colliders[i] * 0x9E3779B97F4A7C15ull) >> 29 & 4095) == 0);
        known_colliders[i] = (uint64_t)(i + 1) * inverse(known);
    }
    CHECK(map_probes(old_colliders, IDS) < 3.0);
    CHECK(map_probes(known_colliders, IDS) < 3.0);
    plumb_hash_set_key_for_tests(1, 2, known);
    CHECK(map_probes(known_colliders, IDS) > 100.0);
    plumb_hash_set_key_for_tests(3, 4, secret);
}

static uint32_t add(plumb_profile *p, uintptr_t key, const char *name, int64_t line)
{
    uint32_t f = PLUMB_NONE;
    CHECK(plumb_profile_add_key(p, key, "prog.py", line, name, &f) == PLUMB_OK);
    return f;
}

static void test_labels_shared(void)
{
    plumb_profile p;
    CHECK(plumb_profile_init(&p, 1) == PLUMB_OK);
    uint32_t a = add(&p, 0x1000, "f", 1);
    uint32_t b = add(&p, 0x2000, "f", 1);   /* another code object, same label */
    uint32_t c = add(&p, 0x3000, "f", 2);
    CHECK(a == b && a != c && p.labels.nfuncs == 2);
    CHECK(plumb_profile_func_for_key(&p, 0x2000) == a);
    CHECK(plumb_profile_func_for_key(&p, 0x4000) == PLUMB_NONE);
    CHECK(plumb_profile_add_key(&p, 0, "x", 1, "y", &a) == PLUMB_EINVAL);
    plumb_profile_free(&p);

    /* The counts grow with the labels, past their first capacity, and a
     * new function's are zero; a label found again is the same function. */
    CHECK(plumb_profile_init(&p, 0) == PLUMB_OK);
    for (int i = 0; i < 1000; i++) {
        CHECK(plumb_profile_func_for_label(&p, "many.py", i, "f", &a) == PLUMB_OK);
        CHECK(a == (uint32_t)i && p.counts_capacity >= p.labels.nfuncs);
        CHECK(p.func_counts[a].calls == 0 && p.func_counts[a].total == 0);
        p.func_counts[a].calls = 1;
    }
    CHECK(plumb_profile_func_for_label(&p, "many.py", 7, "f", &a) == PLUMB_OK && a == 7);
    CHECK(plumb_profile_find_label(&p, "many.py", 999, "f") == 999);
    CHECK(plumb_profile_find_label(&p, "many.py", 1000, "f") == PLUMB_NONE);
    plumb_profile_reset_counts(&p);
    CHECK(p.labels.nfuncs == 1000 && p.func_counts[999].calls == 0);
    plumb_profile_free(&p);
}

/* f calls g twice; g recurses once: the counts cProfile would give. */
static void test_recursion_counts(void)
{
    plumb_profile p;
    CHECK(plumb_profile_init(&p, 1) == PLUMB_OK);
    plumb_thread *t = plumb_profile_new_thread(&p, 1);
    uint32_t f = add(&p, 0x10, "f", 1), g = add(&p, 0x20, "g", 5);
    plumb_tracer_enter(&p, t, 0x10, f, 0);
    for (int i = 0; i < 2; i++) {
        int64_t base = 10 + i * 100;
        plumb_tracer_enter(&p, t, 0x20, g, base);
        plumb_tracer_enter(&p, t, 0x20, g, base + 10);
        plumb_tracer_exit(&p, t, 0x20, base + 30);
        plumb_tracer_exit(&p, t, 0x20, base + 50);
    }
    plumb_tracer_exit(&p, t, 0x10, 300);
    CHECK(plumb_thread_depth(t) == 0);
    CHECK(plumb_profile_sync_counts(&p) == PLUMB_OK);
    CHECK(p.func_counts[g].calls == 4 && p.func_counts[g].recursive_calls == 2);
    CHECK(p.func_counts[g].total == 100);     /* outermost activations only: 2 x 50 */
    CHECK(p.func_counts[g].own == 100);       /* per round: 30 outer + 20 inner */
    CHECK(p.func_counts[f].calls == 1 && p.func_counts[f].total == 300);
    CHECK(p.func_counts[f].own == 200);
    CHECK(p.nedges == 2);
    uint32_t fg, gg;
    CHECK(plumb_profile_edge(&p, f, g, &fg) == PLUMB_OK && plumb_profile_edge(&p, g, g, &gg) == PLUMB_OK);
    CHECK(p.edges[fg].counts.calls == 2 && p.edges[fg].counts.recursive_calls == 0);
    CHECK(p.edges[gg].counts.calls == 2 && p.edges[gg].counts.total == 40);
    plumb_profile_free(&p);
}

/* Two threads inside the same function at once: neither call is recursive. */
static void test_threads_are_not_recursion(void)
{
    plumb_profile p;
    CHECK(plumb_profile_init(&p, 1) == PLUMB_OK);
    plumb_thread *a = plumb_profile_new_thread(&p, 1), *b = plumb_profile_new_thread(&p, 2);
    uint32_t f = add(&p, 0x10, "f", 1);
    plumb_tracer_enter(&p, a, 0x10, f, 0);
    plumb_tracer_enter(&p, b, 0x10, f, 5);
    plumb_tracer_exit(&p, b, 0x10, 15);
    plumb_tracer_exit(&p, a, 0x10, 20);
    CHECK(plumb_profile_sync_counts(&p) == PLUMB_OK);
    CHECK(p.func_counts[f].calls == 2 && p.func_counts[f].recursive_calls == 0);
    CHECK(p.func_counts[f].total == 30);
    plumb_profile_free(&p);
}

/* Returns that match no frame are ignored; one that matches a frame below
 * the top closes the frames above it. */
static void test_unmatched_returns(void)
{
    plumb_profile p;
    CHECK(plumb_profile_init(&p, 1) == PLUMB_OK);
    plumb_thread *t = plumb_profile_new_thread(&p, 1);
    uint32_t f = add(&p, 0x10, "f", 1), g = add(&p, 0x20, "g", 2);
    plumb_tracer_exit(&p, t, 0x10, 1);           /* entered before profiling */
    CHECK(plumb_profile_sync_counts(&p) == PLUMB_OK && p.func_counts[f].calls == 0);
    plumb_tracer_enter(&p, t, 0x10, f, 2);
    plumb_tracer_enter(&p, t, 0x20, g, 3);
    plumb_tracer_exit(&p, t, 0x99, 4);           /* unknown: ignored */
    CHECK(plumb_thread_depth(t) == 2);
    plumb_tracer_exit(&p, t, 0x10, 10);          /* g's return was missed */
    CHECK(plumb_profile_sync_counts(&p) == PLUMB_OK);
    CHECK(plumb_thread_depth(t) == 0 && p.func_counts[g].calls == 1 && p.func_counts[f].calls == 1);
    plumb_tracer_enter(&p, t, 0x10, f, 20);
    plumb_tracer_close_all(&p, 25);
    CHECK(plumb_profile_sync_counts(&p) == PLUMB_OK);
    CHECK(p.func_counts[f].calls == 2 && p.func_counts[f].total == 8 + 5);
    plumb_profile_free(&p);
}

static void test_deep_stack_and_clear(void)
{
    plumb_profile p;
    CHECK(plumb_profile_init(&p, 0) == PLUMB_OK);
    plumb_thread *t = plumb_profile_new_thread(&p, 1);
    uint32_t f = add(&p, 0x10, "f", 1);
    for (int i = 0; i < 100000; i++)
        plumb_tracer_enter(&p, t, 0x10, f, i);
    CHECK(plumb_thread_depth(t) == 100000 && p.nedges == 0);
    plumb_tracer_close_all(&p, 200000);
    CHECK(plumb_profile_sync_counts(&p) == PLUMB_OK);
    CHECK(p.func_counts[f].calls == 100000 && p.func_counts[f].recursive_calls == 99999);
    CHECK(plumb_profile_clear(&p) == PLUMB_OK && p.labels.nfuncs == 0 && p.threads == NULL);
    plumb_profile_free(&p);
}

static size_t write_to_buffer(int (*writer)(const plumb_profile *, FILE *), const plumb_profile *p,
                              char *buf, size_t size)
{
    FILE *f = fmemopen(buf, size, "wb");
    CHECK(f != NULL);
    CHECK(writer(p, f) == PLUMB_OK);
    long n = ftell(f);
    fclose(f);
    return (size_t)n;
}

static int write_callgrind_default(const plumb_profile *p, FILE *out)
{
    plumb_callgrind_info info = {.creator = "test", .cmd = "prog\nwith newline", .pid = 42};
    return plumb_write_callgrind(p, out, &info);
}

static void test_writers(void)
{
    plumb_profile p;
    CHECK(plumb_profile_init(&p, 1) == PLUMB_OK);
    plumb_thread *t = plumb_profile_new_thread(&p, 1);
    uint32_t f = add(&p, 0x10, "f", 1);
    uint32_t g = PLUMB_NONE;
    CHECK(plumb_profile_add_key(&p, 0x20, "~", 0, "<built-in method builtins.len>", &g) == PLUMB_OK);
    plumb_tracer_enter(&p, t, 0x10, f, 0);
    plumb_tracer_enter(&p, t, 0x20, g, 100);
    plumb_tracer_exit(&p, t, 0x20, 400);
    plumb_tracer_exit(&p, t, 0x10, 1000);
    p.ticks_per_second = 1e9;
    CHECK(plumb_profile_sync_counts(&p) == PLUMB_OK);

    static char buf[8192];
    size_t n = write_to_buffer(plumb_write_pstats, &p, buf, sizeof buf);
    CHECK(n > 10 && buf[0] == '{' && buf[n - 1] == '0');

    n = write_to_buffer(write_callgrind_default, &p, buf, sizeof buf);
    buf[n < sizeof buf ? n : sizeof buf - 1] = 0;
    CHECK(strstr(buf, "events: ns\n") != NULL);
    CHECK(strstr(buf, "summary: 1000\n") != NULL);   /* 700 own in f + 300 in len */
    CHECK(strstr(buf, "fn=(1) f:1\n1 700\n") != NULL);
    CHECK(strstr(buf, "calls=1 0\n1 300\n") != NULL);
    CHECK(strstr(buf, "cmd: prog with newline\n") != NULL);
    plumb_profile_free(&p);
}

/* Files list items in their own order, never in a table's slot order:
 * the same profile written under two keys is the same bytes. */
static size_t write_many(char *buf, size_t size, int callgrind)
{
    plumb_profile p;
    CHECK(plumb_profile_init(&p, 1) == PLUMB_OK);
    plumb_thread *t = plumb_profile_new_thread(&p, 1);
    int64_t now = 0;
    for (uint32_t i = 1; i <= 300; i++) {
        char name[32];
        snprintf(name, sizeof name, "func_%u", i * 7919 % 1000);
        uint32_t f = add(&p, 0x1000 + 16 * i, name, i);
        plumb_tracer_enter(&p, t, 0x1000 + 16 * i, f, now += 10);
        if (i % 3 == 0)
            for (uint32_t k = 0; k < 3; k++)
                plumb_tracer_exit(&p, t, t->top->key, now += 5);
    }
    while (plumb_thread_depth(t))
        plumb_tracer_exit(&p, t, t->top->key, now += 5);
    CHECK(plumb_profile_sync_counts(&p) == PLUMB_OK);
    size_t n = write_to_buffer(callgrind ? write_callgrind_default : plumb_write_pstats, &p, buf, size);
    plumb_profile_free(&p);
    return n;
}

static void test_files_do_not_depend_on_the_key(void)
{
    static char a[1 << 16], b[1 << 16];
    for (int callgrind = 0; callgrind < 2; callgrind++) {
        plumb_hash_set_key_for_tests(1, 2, 0x2545f4914f6cdd1dull);
        size_t na = write_many(a, sizeof a, callgrind);
        plumb_hash_set_key_for_tests(5, 6, 0xd6e8feb86659fd93ull);
        size_t nb = write_many(b, sizeof b, callgrind);
        CHECK(na > 1000 && na < sizeof a && na == nb && memcmp(a, b, na) == 0);
    }
}

static void test_marshal_ints(void)
{
    static char buf[64];
    FILE *f = fmemopen(buf, sizeof buf, "wb");
    plumb_marshal_int(f, 1);
    plumb_marshal_int(f, (int64_t)1 << 40);
    long n = ftell(f);
    fclose(f);
    CHECK(n == 5 + 1 + 4 + 3 * 2);
    CHECK(buf[0] == 'i' && buf[5] == 'l' && buf[6] == 3);
}

/* The meaning checks on numbers as readers leave them in a plumb_stats. */
static void test_read_checks(void)
{
    plumb_stats st;
    plumb_read_error err = {{0}};
    uint32_t f, g, e;
    CHECK(plumb_stats_init(&st) == PLUMB_OK);
    CHECK(plumb_stats_func(&st, "a.py", 1, "f", &f) == PLUMB_OK);
    CHECK(plumb_stats_func(&st, "a.py", 5, "g", &g) == PLUMB_OK);
    CHECK(plumb_stats_edge(&st, g, f, &e) == PLUMB_OK);
    st.funcs[g] = (plumb_stat_counts){1, 1, 0.5, 1.0};
    st.funcs[f] = (plumb_stat_counts){1, 3, 0.5, 0.5};
    st.edges[e].counts = (plumb_stat_counts){1, 2, 0.25, 0.25};
    CHECK(plumb_check_stats(&st, &err) == PLUMB_OK);
    /* yappi's order: (calls, primitive calls) = (3, 1), its callers made
     * the 2 recursive calls at least. */
    st.funcs[f] = (plumb_stat_counts){3, 1, 0.5, 0.5};
    CHECK(plumb_check_stats(&st, &err) == PLUMB_OK);
    st.edges[e].counts.calls = 1;   /* ... but not if they did not */
    st.edges[e].counts.prim_calls = 1;
    CHECK(plumb_check_stats(&st, &err) == PLUMB_EFORMAT);
    CHECK(strstr(err.message, "a.py:1(f): more primitive calls than calls") != NULL);
    st.funcs[f] = (plumb_stat_counts){1, 1, 0.5, 0.5};
    st.edges[e].counts.calls = 2;   /* more calls from g than f had */
    CHECK(plumb_check_stats(&st, &err) == PLUMB_EFORMAT);
    CHECK(strstr(err.message, "its callers made 2 calls of it, more than its 1") != NULL);
    st.edges[e].counts = (plumb_stat_counts){2, 1, 0.25, 0.25};
    CHECK(plumb_check_stats(&st, &err) == PLUMB_EFORMAT);
    CHECK(strstr(err.message, "its calls from g: more primitive calls than calls") != NULL);
    st.edges[e].counts = (plumb_stat_counts){1, 1, 0.25, 0.25};
    st.funcs[g].total = NAN;
    CHECK(plumb_check_stats(&st, &err) == PLUMB_EFORMAT);
    CHECK(strstr(err.message, "a.py:5(g): a time that is not a finite number") != NULL);
    st.funcs[g].total = -1e-300;
    CHECK(plumb_check_stats(&st, &err) == PLUMB_EFORMAT);
    st.funcs[g].total = 1;
    st.funcs[g].calls = PLUMB_MAX_COUNT + 1;
    CHECK(plumb_check_stats(&st, &err) == PLUMB_EFORMAT);
    plumb_stats_free(&st);
    CHECK(plumb_check_weight(0) == NULL && plumb_check_weight(1e9) == NULL);
    CHECK(plumb_check_weight(-1) != NULL && plumb_check_weight(INFINITY) != NULL);
    CHECK(plumb_check_weight(NAN) != NULL);
}

/* One run: f calls each of n callees in turn, rounds times. */
static void run_in_turn(plumb_profile *p, uint32_t f, const uint32_t *callees, uint32_t n,
                        int rounds, int64_t *now)
{
    plumb_thread *t = p->threads ? p->threads : plumb_profile_new_thread(p, 1);
    CHECK(t != NULL);
    plumb_tracer_enter(p, t, 0x10, f, (*now)++);
    for (int r = 0; r < rounds; r++)
        for (uint32_t i = 0; i < n; i++) {
            plumb_tracer_enter(p, t, 0x1000 + 16 * i, callees[i], (*now)++);
            plumb_tracer_exit(p, t, 0x1000 + 16 * i, (*now)++);
        }
    plumb_tracer_exit(p, t, 0x10, (*now)++);
    CHECK(plumb_thread_depth(t) == 0);
}

/* Every callee's edge from f counted `calls` times (0: no edge at all), and
 * its path under f's `path_calls` times. */
static void check_in_turn(plumb_profile *p, uint32_t f, const uint32_t *callees, uint32_t n,
                          uint64_t calls, uint64_t path_calls)
{
    int ok = plumb_profile_sync_counts(p) == PLUMB_OK;
    uint32_t fpath = PLUMB_NONE;
    if (p->track_paths)
        ok &= plumb_profile_path(p, p->threads->root_path, f, &fpath) == PLUMB_OK;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t e = plumb_map_get(&p->by_edge, ((uint64_t)f + 1) << 32 | callees[i]);
        if (calls == 0)
            ok &= e == PLUMB_MAP_MISSING || p->edges[e].counts.calls == 0;
        else
            ok &= e != PLUMB_MAP_MISSING && p->edges[e].counts.calls == calls;
        if (p->track_paths) {
            uint32_t path = PLUMB_NONE;
            ok &= plumb_profile_path(p, fpath, callees[i], &path) == PLUMB_OK;
            ok &= p->paths[path].calls == path_calls;
        }
        ok &= p->func_counts[callees[i]].calls == path_calls;
    }
    CHECK(ok);
}

/* The tracer's call caches (direct-mapped, a few hundred slots) under a
 * caller of more callees than slots, taken in turn so that every slot is
 * fought over: the counts must not depend on hits and misses, with paths
 * or without, and across subcalls switched off and on between runs. */
static void test_call_caches(void)
{
    enum { N = 1500 };
    uint32_t callees[N];
    char name[32];
    for (int paths = 1; paths >= 0; paths--) {
        plumb_profile p;
        int64_t now = 0;
        CHECK(plumb_profile_init(&p, 0) == PLUMB_OK);
        p.track_paths = paths;
        uint32_t f = add(&p, 0x10, "f", 1);
        for (uint32_t i = 0; i < N; i++) {
            snprintf(name, sizeof name, "g%u", i);
            callees[i] = add(&p, 0x1000 + 16 * i, name, 2);
        }
        run_in_turn(&p, f, callees, N, 3, &now);       /* subcalls off: no edges */
        check_in_turn(&p, f, callees, N, 0, 3);
        CHECK(p.nedges == 0);
        CHECK(plumb_profile_set_track_edges(&p, 1) == PLUMB_OK);
        run_in_turn(&p, f, callees, N, 3, &now);
        check_in_turn(&p, f, callees, N, 3, 6);
        CHECK(plumb_profile_set_track_edges(&p, 0) == PLUMB_OK);
        run_in_turn(&p, f, callees, N, 2, &now);
        check_in_turn(&p, f, callees, N, 3, 8);
        CHECK(plumb_profile_set_track_edges(&p, 1) == PLUMB_OK);
        run_in_turn(&p, f, callees, N, 1, &now);
        check_in_turn(&p, f, callees, N, 4, 9);
        CHECK(p.lost_events == 0);
        plumb_profile_free(&p);
    }
}

/* The function and edge counts derived from the paths are those counted
 * per event, exactly: the same events (lockstep.h) go to a profile counting
 * from its paths, one counting per event from the start, one without
 * paths, and one switched to per-event counting midway with frames running
 * (as a path that cannot be kept does: test_fold.c reaches the bound
 * itself), compared at every sync point (frames still running) and after a
 * reset. */
static void test_counts_from_paths(void)
{
    lockstep l;
    lockstep_init(&l, 4);
    l.ps[2].track_paths = 0;
    CHECK(plumb_profile_count_per_event(&l.ps[1]) == PLUMB_OK);
    lockstep_start(&l);
    CHECK(!l.ps[0].count_per_event && l.ps[1].count_per_event && l.ps[2].count_per_event
          && !l.ps[3].count_per_event);
    int compared = 0, recursive = 0, open_at_sync = 0;
    for (int round = 0; round < 2; round++) {
        for (int step = 0; step < 60000; step++) {
            int i = lockstep_step(&l);
            if (round == 0 && step == 25000) {
                for (int j = 0; j < LOCKSTEP_THREADS; j++)
                    open_at_sync += plumb_thread_depth(l.threads[3][j]);
                CHECK(plumb_profile_count_per_event(&l.ps[3]) == PLUMB_OK);
            }
            if (step % 997 == 0) {
                open_at_sync += plumb_thread_depth(l.threads[0][i]);
                compared += lockstep_agree(&l);
            }
        }
        for (int k = 0; k < l.n; k++)
            plumb_tracer_close_all(&l.ps[k], l.now + 1);
        compared += lockstep_agree(&l);
        for (uint32_t f = 0; f < LOCKSTEP_FUNCS; f++)
            recursive += l.ps[0].func_counts[f].recursive_calls > 0;
        for (int k = 0; k < l.n; k++)
            plumb_profile_reset_counts(&l.ps[k]);
    }
    /* Back to the paths after the reset, but for the profile without them. */
    CHECK(!l.ps[0].count_per_event && !l.ps[1].count_per_event && l.ps[2].count_per_event
          && !l.ps[3].count_per_event);
    /* Every comparison agreed, and the script did what it is for. */
    CHECK(compared == 2 * (60000 / 997 + 2) && recursive > 0 && open_at_sync > 100);
    CHECK(l.ps[0].lost_events == 0 && l.ps[0].folded_calls == 0);
    lockstep_free(&l);
}

int main(void)
{
    test_grow();
    test_map();
    test_labels_shared();
    test_recursion_counts();
    test_threads_are_not_recursion();
    test_unmatched_returns();
    test_deep_stack_and_clear();
    test_call_caches();
    test_counts_from_paths();
    test_writers();
    test_marshal_ints();
    test_siphash();
    test_hash_flooding();
    test_files_do_not_depend_on_the_key();
    test_read_checks();
    return check_report("core tests passed");
}
