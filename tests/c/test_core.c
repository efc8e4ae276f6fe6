/* Tests of the C core alone: no Python.  Built twice by tests/c/Makefile,
 * plain and with ASan+UBSan. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "base/errors.h"
#include "base/map.h"
#include "formats/marshal_out.h"
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
    CHECK(a == b && a != c && p.nfuncs == 2);
    CHECK(plumb_profile_func_for_key(&p, 0x2000) == a);
    CHECK(plumb_profile_func_for_key(&p, 0x4000) == PLUMB_NONE);
    CHECK(plumb_profile_add_key(&p, 0, "x", 1, "y", &a) == PLUMB_EINVAL);
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
    CHECK(t->depth == 0);
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
    CHECK(p.func_counts[f].calls == 0);
    plumb_tracer_enter(&p, t, 0x10, f, 2);
    plumb_tracer_enter(&p, t, 0x20, g, 3);
    plumb_tracer_exit(&p, t, 0x99, 4);           /* unknown: ignored */
    CHECK(t->depth == 2);
    plumb_tracer_exit(&p, t, 0x10, 10);          /* g's return was missed */
    CHECK(t->depth == 0 && p.func_counts[g].calls == 1 && p.func_counts[f].calls == 1);
    plumb_tracer_enter(&p, t, 0x10, f, 20);
    plumb_tracer_close_all(&p, 25);
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
    CHECK(t->depth == 100000 && p.nedges == 0);
    plumb_tracer_close_all(&p, 200000);
    CHECK(p.func_counts[f].calls == 100000 && p.func_counts[f].recursive_calls == 99999);
    CHECK(plumb_profile_clear(&p) == PLUMB_OK && p.nfuncs == 0 && p.threads == NULL);
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
    CHECK(t->depth == 0);
}

/* Every callee's edge from f counted `calls` times (0: no edge at all), and
 * its path under f's `path_calls` times. */
static void check_in_turn(plumb_profile *p, uint32_t f, const uint32_t *callees, uint32_t n,
                          uint64_t calls, uint64_t path_calls)
{
    int ok = 1;
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
        plumb_profile_set_track_edges(&p, 1);
        run_in_turn(&p, f, callees, N, 3, &now);
        check_in_turn(&p, f, callees, N, 3, 6);
        plumb_profile_set_track_edges(&p, 0);
        run_in_turn(&p, f, callees, N, 2, &now);
        check_in_turn(&p, f, callees, N, 3, 8);
        plumb_profile_set_track_edges(&p, 1);
        run_in_turn(&p, f, callees, N, 1, &now);
        check_in_turn(&p, f, callees, N, 4, 9);
        CHECK(p.lost_events == 0);
        plumb_profile_free(&p);
    }
}

int main(void)
{
    test_map();
    test_labels_shared();
    test_recursion_counts();
    test_threads_are_not_recursion();
    test_unmatched_returns();
    test_deep_stack_and_clear();
    test_call_caches();
    test_writers();
    test_marshal_ints();
    return check_report("core tests passed");
}
