/* The stack walker against hostile memory.  A synthetic interpreter layout
 * (not CPython's: offsets chosen here) is built in this process's memory and
 * walked through process_vm_readv, as the sampler walks a real one: the
 * happy path, then cycles, wrong types, absurd lengths, unmapped pointers,
 * and rounds of random bytes.  Built plain and with ASan+UBSan; passing
 * means bounded, crash-free and leak-free walks. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"
#include "sampler/debug_offsets.h"
#include "base/errors.h"
#include "sampler/sampler.h"


/* The synthetic layout.  Objects: [refcount, type] then fields. */
enum { OB_TYPE = 8 };
typedef struct { uintptr_t refcnt, type; } fake_type;
typedef struct { uintptr_t refcnt, type; int64_t length; uint64_t hash; uint32_t state, pad; char data[64]; } fake_str;
typedef struct { uintptr_t refcnt, type, filename, name; int32_t firstlineno, pad; } fake_code;
typedef struct { uintptr_t previous, code; unsigned char owner; } fake_frame;
typedef struct { uintptr_t next, thread_id, native_id, frame, chunk; } fake_tstate;
/* The thread's data stack: one chunk whose data holds the frames. */
typedef struct { uintptr_t previous, size; fake_frame data[3]; } fake_chunk;
typedef struct { uintptr_t pad, threads_head; } fake_interp;

static fake_type code_type, str_type;

static plumb_py_offsets layout(void)
{
    plumb_py_offsets o = {0};
    o.version_hex = 0x030C0000;
    o.interp_threads_head = offsetof(fake_interp, threads_head);
    o.tstate_size = sizeof(fake_tstate);
    o.tstate_next = offsetof(fake_tstate, next);
    o.tstate_thread_id = offsetof(fake_tstate, thread_id);
    o.tstate_native_thread_id = offsetof(fake_tstate, native_id);
    o.pthread_tid = -1;
    o.tstate_frame = offsetof(fake_tstate, frame);
    o.tstate_cframe = -1;
    o.cframe_current_frame = -1;
    o.frame_size = sizeof(fake_frame);
    o.frame_previous = offsetof(fake_frame, previous);
    o.frame_code = offsetof(fake_frame, code);
    o.frame_owner = offsetof(fake_frame, owner);
    o.frame_owned_by_cstack = 3;
    o.frame_owned_by_generator = 1;
    o.skip_init_cleanup = 1;
    o.tstate_datastack_chunk = offsetof(fake_tstate, chunk);
    o.chunk_previous = offsetof(fake_chunk, previous);
    o.chunk_size = offsetof(fake_chunk, size);
    o.object_type = OB_TYPE;
    o.code_size = sizeof(fake_code);
    o.code_filename = offsetof(fake_code, filename);
    o.code_name = offsetof(fake_code, name);
    o.code_firstlineno = offsetof(fake_code, firstlineno);
    o.unicode_length = offsetof(fake_str, length);
    o.unicode_state = offsetof(fake_str, state);
    o.unicode_ascii_data = offsetof(fake_str, data);
    o.unicode_compact_data = offsetof(fake_str, data);
    o.unicode_kind_shift = 2;
    o.unicode_compact_bit = 5;
    o.unicode_ascii_bit = 6;
    o.code_type = (uintptr_t)&code_type;
    o.unicode_type = (uintptr_t)&str_type;
    return o;
}

static void make_str(fake_str *s, const char *text)
{
    memset(s, 0, sizeof *s);
    s->type = (uintptr_t)&str_type;
    s->length = (int64_t)strlen(text);
    s->state = 1u << 5 | 1u << 6 | 1u << 2;   /* compact, ascii, kind 1 */
    memcpy(s->data, text, strlen(text));
}

static fake_str file_s, names_s[3];
static fake_code codes[3];
static fake_chunk stack_chunk;
#define frames (stack_chunk.data)
static fake_tstate tstate;
static fake_interp interp;

static void build_happy(void)
{
    make_str(&file_s, "prog.py");
    const char *names[3] = {"leaf", "middle", "outer"};
    for (int i = 0; i < 3; i++) {
        make_str(&names_s[i], names[i]);
        codes[i] = (fake_code){.type = (uintptr_t)&code_type, .filename = (uintptr_t)&file_s,
                               .name = (uintptr_t)&names_s[i], .firstlineno = 10 * (i + 1)};
        frames[i] = (fake_frame){.previous = i < 2 ? (uintptr_t)&frames[i + 1] : 0,
                                 .code = (uintptr_t)&codes[i]};
    }
    stack_chunk.previous = 0;
    stack_chunk.size = sizeof stack_chunk;
    tstate = (fake_tstate){.next = 0, .thread_id = 77, .native_id = 0, .frame = (uintptr_t)&frames[0],
                           .chunk = (uintptr_t)&stack_chunk};
    interp = (fake_interp){.threads_head = (uintptr_t)&tstate};
}

static plumb_sampler *new_sampler(void)
{
    static plumb_sampler s;
    plumb_py_offsets o = layout();
    CHECK(plumb_sampler_init(&s, getpid(), &o, (uintptr_t)&interp, 1000, 0, 0) == PLUMB_OK);
    return &s;
}

static uint64_t total_samples(const plumb_samples *s)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < s->nnodes; i++)
        n += s->nodes[i].self;
    return n;
}

static void test_happy_path(void)
{
    build_happy();
    plumb_sampler *s = new_sampler();
    CHECK(plumb_sampler_sample_once(s) == PLUMB_OK);
    CHECK(total_samples(&s->samples) == 1 && s->samples.failed == 0);
    uint32_t path[8];
    uint32_t leaf = PLUMB_NONE;
    for (uint32_t i = 0; i < s->samples.nnodes; i++)
        if (s->samples.nodes[i].self)
            leaf = i;
    CHECK(leaf != PLUMB_NONE);
    uint32_t n = plumb_samples_path(&s->samples, leaf, path, 8);
    CHECK(n == 3);
    CHECK(strcmp(s->samples.names.funcs[path[0]].name, "outer") == 0);
    CHECK(strcmp(s->samples.names.funcs[path[2]].name, "leaf") == 0);
    CHECK(s->samples.names.funcs[path[2]].line == 10);
    CHECK(strcmp(s->samples.names.funcs[path[0]].file, "prog.py") == 0);
    plumb_sampler_free(s);
}

/* What a walk racing the thread can read: cycles and frames whose code is
 * not code are torn reads, tried again and then counted as failed, never
 * recorded as a stack. */
static void test_cycles_and_bad_objects(void)
{
    build_happy();
    frames[2].previous = (uintptr_t)&frames[0];              /* a cycle */
    plumb_sampler *s = new_sampler();
    CHECK(plumb_sampler_sample_once(s) == PLUMB_OK);
    CHECK(s->samples.failed == 1 && total_samples(&s->samples) == 0);
    CHECK(s->walker.retries == PLUMB_TORN_RETRIES);
    plumb_sampler_free(s);

    build_happy();
    frames[2].previous = (uintptr_t)&frames[2];              /* a frame its own parent */
    s = new_sampler();
    CHECK(plumb_sampler_sample_once(s) == PLUMB_OK);
    CHECK(s->samples.failed == 1 && total_samples(&s->samples) == 0);
    plumb_sampler_free(s);

    build_happy();
    codes[1].type = (uintptr_t)&str_type;                    /* not a code object */
    s = new_sampler();
    CHECK(plumb_sampler_sample_once(s) == PLUMB_OK);
    CHECK(s->samples.failed == 1 && total_samples(&s->samples) == 0);
    plumb_sampler_free(s);

    build_happy();
    names_s[0].length = 1 << 30;                             /* absurd: cut, not read */
    names_s[2].state = 0;                                    /* not compact: refused */
    s = new_sampler();
    CHECK(plumb_sampler_sample_once(s) == PLUMB_OK);
    CHECK(total_samples(&s->samples) == 1 && s->samples.failed == 0);
    /* outer's frame is left out; leaf's name is read up to the cut, from
     * whatever lies after it (or left out if that is unmapped). */
    CHECK(s->samples.names.nfuncs >= 1 && s->samples.names.nfuncs <= 2);
    for (uint32_t i = 0; i < s->samples.names.nfuncs; i++)
        CHECK(strlen(s->samples.names.funcs[i].name) <= PLUMB_MAX_NAME);
    plumb_sampler_free(s);

    build_happy();
    names_s[1].length = -5;
    codes[0].name = 0x10;                                    /* unreadable */
    tstate.next = (uintptr_t)&tstate;                        /* a cycle of threads */
    s = new_sampler();
    CHECK(plumb_sampler_sample_once(s) == PLUMB_OK);
    plumb_sampler_free(s);
}

static void test_unmapped_memory(void)
{
    long page = sysconf(_SC_PAGESIZE);
    char *gone = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(gone != MAP_FAILED);
    munmap(gone, (size_t)page);
    build_happy();
    frames[1].previous = (uintptr_t)gone;
    plumb_sampler *s = new_sampler();
    CHECK(plumb_sampler_sample_once(s) == PLUMB_OK);
    CHECK(s->samples.failed == 1 && total_samples(&s->samples) == 0);
    plumb_sampler_free(s);

    interp.threads_head = (uintptr_t)gone;
    s = new_sampler();
    CHECK(plumb_sampler_sample_once(s) == PLUMB_OK);
    CHECK(s->samples.failed >= 1);
    plumb_sampler_free(s);
}

/* From 3.11 a frame outside the thread's data stack is a shim (on the C
 * stack) or a running generator's; any other such frame is C-stack memory
 * reused under the walk, and the read is torn. */
static void test_frames_outside_the_data_stack(void)
{
    static fake_frame outside;
    build_happy();
    outside = (fake_frame){.previous = (uintptr_t)&frames[2], .code = (uintptr_t)&codes[1]};
    frames[1].previous = (uintptr_t)&outside;
    plumb_sampler *s = new_sampler();
    CHECK(plumb_sampler_sample_once(s) == PLUMB_OK);
    CHECK(s->samples.failed == 1 && total_samples(&s->samples) == 0);
    plumb_sampler_free(s);

    outside.owner = 3;                                       /* a shim: left out of the stack */
    s = new_sampler();
    CHECK(plumb_sampler_sample_once(s) == PLUMB_OK);
    CHECK(s->samples.failed == 0 && total_samples(&s->samples) == 1);
    plumb_sampler_free(s);

    outside.owner = 1;                                       /* a generator's frame: kept */
    s = new_sampler();
    CHECK(plumb_sampler_sample_once(s) == PLUMB_OK);
    CHECK(s->samples.failed == 0 && total_samples(&s->samples) == 1);
    plumb_sampler_free(s);

    /* An older chunk holds the outer frames. */
    static fake_chunk older;
    build_happy();
    older = (fake_chunk){.previous = 0, .size = sizeof older};
    older.data[0] = frames[2];
    frames[1].previous = (uintptr_t)&older.data[0];
    stack_chunk.previous = (uintptr_t)&older;
    s = new_sampler();
    CHECK(plumb_sampler_sample_once(s) == PLUMB_OK);
    CHECK(s->samples.failed == 0 && total_samples(&s->samples) == 1);
    plumb_sampler_free(s);

    stack_chunk.size = 4;                                    /* a nonsense chunk: torn */
    s = new_sampler();
    CHECK(plumb_sampler_sample_once(s) == PLUMB_OK);
    CHECK(s->samples.failed == 1);
    plumb_sampler_free(s);
}

/* 3.12+'s _Py_InitCleanup: one string as name and file, line 0. */
static void test_interpreter_shim_code(void)
{
    build_happy();
    codes[1].name = codes[1].filename;
    codes[1].firstlineno = 0;
    plumb_sampler *s = new_sampler();
    CHECK(plumb_sampler_sample_once(s) == PLUMB_OK);
    CHECK(s->samples.failed == 0 && total_samples(&s->samples) == 1);
    uint32_t path[8], leaf = PLUMB_NONE;
    for (uint32_t i = 0; i < s->samples.nnodes; i++)
        if (s->samples.nodes[i].self)
            leaf = i;
    CHECK(leaf != PLUMB_NONE && plumb_samples_path(&s->samples, leaf, path, 8) == 2);
    plumb_sampler_free(s);
}

/* Prefetching pages in one call: an unmapped page ends the batch but costs
 * nothing else; the pages after it are read on demand. */
static void test_prefetch(void)
{
    enum { P = PLUMB_PAGE };
    unsigned char *pages = mmap(NULL, 3 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(pages != MAP_FAILED);
    for (int i = 0; i < 3; i++)
        memset(pages + i * P, 'a' + i, P);
    munmap(pages + P, P);
    plumb_process_source self;
    plumb_process_source_init(&self, getpid());
    plumb_memsource *r = &self.base;
    plumb_page_cache *c = malloc(sizeof *c);
    plumb_page_cache_clear(c);
    /* An object straddling pages 0 and 1, and one on page 2. */
    uintptr_t addrs[] = {(uintptr_t)pages + P - 8, (uintptr_t)pages + 2 * P + 16, 0};
    CHECK(plumb_memread_prefetch(r, c, addrs, 3, 32) == 1);
    CHECK(r->reads == 1);
    unsigned char buf[8];
    CHECK(plumb_memread_cached(r, c, (uintptr_t)pages + 4, buf, sizeof buf) == PLUMB_OK);
    CHECK(buf[0] == 'a' && r->reads == 1);            /* from the batch */
    CHECK(plumb_memread_cached(r, c, (uintptr_t)pages + 2 * P, buf, sizeof buf) == PLUMB_OK);
    CHECK(buf[7] == 'c' && r->reads == 2);            /* on demand */
    CHECK(plumb_memread_cached(r, c, addrs[0], buf, sizeof buf) == PLUMB_OK);
    CHECK(plumb_memread_cached(r, c, addrs[0], buf, sizeof buf + 1) == PLUMB_EFAULT);
    /* Everything cached: nothing to fetch, no call. */
    uint64_t before = r->reads;
    CHECK(plumb_memread_prefetch(r, c, addrs + 1, 1, 32) == 0 && r->reads == before);
    /* A new round fetches the pages the last one used (pages 0 and 2), in
     * one call, and sees their current contents. */
    pages[5] = 'x';
    plumb_page_cache_begin_round(r, c);
    CHECK(r->reads == before + 1);
    CHECK(plumb_memread_cached(r, c, (uintptr_t)pages + 2 * P + 9, buf, 1) == PLUMB_OK && buf[0] == 'c');
    CHECK(plumb_memread_cached(r, c, (uintptr_t)pages + 5, buf, 1) == PLUMB_OK && buf[0] == 'x');
    CHECK(r->reads == before + 1);
    /* A round that used nothing leaves nothing to fetch. */
    plumb_page_cache_begin_round(r, c);
    plumb_page_cache_begin_round(r, c);
    CHECK(r->reads == before + 2);
    munmap(pages, P);
    munmap(pages + 2 * P, P);
    free(c);
}

/* The walker sees memory only through its source (memread.h): a source
 * that hides bytes which are there, or fails now and then, is all the
 * walker knows.  Attach will be such a source, for another pid. */
typedef struct test_source {
    plumb_memsource base;
    plumb_process_source inner;
    uintptr_t hide_lo, hide_hi;   /* reads touching [lo, hi) fail */
    uint64_t calls, fail_every;   /* every fail_every-th call fails (0: none) */
} test_source;

static size_t test_source_read(plumb_memsource *self, const plumb_memrange *ranges, size_t n)
{
    test_source *s = (test_source *)self;
    s->calls++;
    if (s->fail_every && s->calls % s->fail_every == 0)
        return 0;
    size_t ok = 0;
    while (ok < n && !(ranges[ok].addr < s->hide_hi && ranges[ok].addr + ranges[ok].len > s->hide_lo))
        ok++;
    size_t got = ok ? s->inner.base.read(&s->inner.base, ranges, ok) : 0;
    s->base.reads = s->inner.base.reads;
    return got;
}

static void test_source_init(test_source *s)
{
    memset(s, 0, sizeof *s);
    s->base.read = test_source_read;
    plumb_process_source_init(&s->inner, getpid());
}

static int count_stack(void *ctx, plumb_raw_stack *stack)
{
    *(uint32_t *)ctx += stack->depth;
    return PLUMB_OK;
}

static void test_memory_source(void)
{
    static plumb_raw_stack scratch;
    plumb_py_offsets o = layout();
    test_source src;
    plumb_walker w;
    uint64_t failed = 0;
    uint32_t frames_seen = 0;

    build_happy();
    test_source_init(&src);
    CHECK(plumb_walker_init(&w, &src.base, &o, (uintptr_t)&interp) == PLUMB_OK);
    CHECK(plumb_walk_threads(&w, &scratch, count_stack, &frames_seen, &failed) == PLUMB_OK);
    CHECK(frames_seen == 3 && failed == 0 && src.calls > 0 && src.base.reads == src.calls);
    plumb_walker_free(&w);

    /* The middle code object hidden: its page (and whatever shares it)
     * cannot be read, so the walk yields no stack, as if it were unmapped. */
    test_source_init(&src);
    src.hide_lo = (uintptr_t)&codes[1];
    src.hide_hi = src.hide_lo + sizeof codes[1];
    frames_seen = 0;
    failed = 0;
    CHECK(plumb_walker_init(&w, &src.base, &o, (uintptr_t)&interp) == PLUMB_OK);
    int rc = plumb_walk_threads(&w, &scratch, count_stack, &frames_seen, &failed);
    CHECK(frames_seen == 0 && (rc == PLUMB_EFAULT || failed == 1));
    plumb_walker_free(&w);

    /* Faults injected at every k-th read: walks end, with a stack or not. */
    for (uint64_t k = 1; k <= 12; k++) {
        test_source_init(&src);
        src.fail_every = k;
        CHECK(plumb_walker_init(&w, &src.base, &o, (uintptr_t)&interp) == PLUMB_OK);
        for (int round = 0; round < 20; round++) {
            frames_seen = 0;
            rc = plumb_walk_threads(&w, &scratch, count_stack, &frames_seen, &failed);
            CHECK((rc == PLUMB_OK || rc == PLUMB_EFAULT) && (frames_seen == 0 || frames_seen == 3));
        }
        plumb_walker_free(&w);
    }
}

/* The walker's check, asked per thread before its frames are read. */
typedef struct check_log {
    int verdict;
    uint32_t asked, visited, unchanged, depth_seen;
} check_log;

static int check_says(void *ctx, const plumb_raw_stack *ids)
{
    check_log *log = ctx;
    log->asked++;
    CHECK(ids->depth == 0);   /* asked before anything of the frames is read */
    return log->verdict;
}

static int log_visit(void *ctx, plumb_raw_stack *stack)
{
    check_log *log = ctx;
    log->visited++;
    log->unchanged += stack->unchanged != 0;
    log->depth_seen += stack->depth;
    return PLUMB_OK;
}

static void test_thread_check(void)
{
    static plumb_raw_stack scratch;
    plumb_py_offsets o = layout();
    test_source src;
    plumb_walker w;
    uint64_t failed = 0;

    build_happy();
    int verdicts[] = {PLUMB_READ_FRAMES, PLUMB_FRAMES_UNCHANGED, PLUMB_THREAD_LEFT_OUT};
    for (int i = 0; i < 3; i++) {
        check_log log = {.verdict = verdicts[i]};
        test_source_init(&src);
        CHECK(plumb_walker_init(&w, &src.base, &o, (uintptr_t)&interp) == PLUMB_OK);
        w.check = check_says;
        CHECK(plumb_walk_threads(&w, &scratch, log_visit, &log, &failed) == PLUMB_OK);
        CHECK(log.asked == 1 && failed == 0);
        if (verdicts[i] == PLUMB_READ_FRAMES)
            CHECK(log.visited == 1 && log.unchanged == 0 && log.depth_seen == 3);
        else if (verdicts[i] == PLUMB_FRAMES_UNCHANGED)
            CHECK(log.visited == 1 && log.unchanged == 1 && log.depth_seen == 0);
        else
            CHECK(log.visited == 0);
        plumb_walker_free(&w);
    }
}

/* Random bytes, with pointers that mostly point back into the arena so the
 * walk goes somewhere, and type words that sometimes match. */
static void test_random_memory(void)
{
    enum { ARENA = 1 << 16, ROUNDS = 3000 };
    uintptr_t *arena = malloc(ARENA);
    size_t words = ARENA / sizeof *arena;
    srand(12345);
    for (int round = 0; round < ROUNDS; round++) {
        for (size_t i = 0; i < words; i++) {
            int r = rand() % 8;
            arena[i] = r < 4 ? (uintptr_t)&arena[(size_t)rand() % words]
                     : r == 4 ? (uintptr_t)&code_type
                     : r == 5 ? (uintptr_t)&str_type
                     : ((uintptr_t)rand() << 16) ^ (uintptr_t)rand();
        }
        interp.threads_head = (uintptr_t)&arena[(size_t)rand() % words];
        plumb_sampler *s = new_sampler();
        CHECK(plumb_sampler_sample_once(s) == PLUMB_OK);
        plumb_sampler_free(s);
    }
    free(arena);
}

/* 3.13.0's _Py_DebugOffsets as its x86-64 build publishes it (read from
 * _PyRuntime), word by word; word 0 is the cookie. */
static const uint64_t real_313[73] = {
    0, 0x030D00F0, 0,
    283320, 608, 632,                                               /* runtime_state */
    194968, 7272, 7264, 7344, 7400, 7656, 7640, 7648, 16, 7752, 0, 7768, 7760,
    304, 0, 8, 16, 72, 152, 160, 232, 32,                           /* thread_state */
    80, 8, 0, 56, 72, 70,                                           /* interpreter_frame */
    208, 112, 120, 128, 136, 68, 52, 96, 104, 200,                  /* code_object */
    16, 8, 416, 24, 88, 168, 32, 24, 16, 40, 24, 16, 48, 32, 40, 24, 16,
    32, 16, 24, 40, 16, 32,
    64, 32, 16, 40,                                                 /* unicode_object */
    240, 200,
};
enum { TSTATE_SIZE = 19, TSTATE_NEXT = 21, TSTATE_CHUNK = 26, CODE_FIRSTLINENO = 39,
       UNICODE_ASCII_SIZE = 70 };

/* One corrupted word: refused, and the message names the field. */
static void check_refused(uint64_t *raw, int word, uint64_t value, const char *named)
{
    size_t n = plumb_debug_offsets_size();
    uint64_t saved = raw[word];
    raw[word] = value;
    plumb_py_offsets o;
    plumb_read_error err = {{0}};
    CHECK(plumb_offsets_from_debug_offsets(raw, n, &o, &err) == PLUMB_EINVAL);
    if (!strstr(err.message, named)) {
        fprintf(stderr, "word %d = %llu: \"%s\" does not name %s\n", word,
                (unsigned long long)value, err.message, named);
        CHECK(!"the refusal names the field");
    }
    raw[word] = saved;
}

/* _Py_DebugOffsets as read from an interpreter is untrusted too: read by
 * field name, each field the walker uses checked against its section's
 * size and what the walker reads, a refusal naming the field. */
static void test_debug_offsets_parser(void)
{
    size_t n = plumb_debug_offsets_size();
    CHECK(n == sizeof real_313);
    uint64_t *raw = calloc(n / 8 + 1, 8);
    plumb_py_offsets o;
    plumb_read_error err = {{0}};
    memcpy(raw, real_313, n);
    memcpy(raw, "xdebugpy", 8);
    CHECK(plumb_offsets_from_debug_offsets(raw, n, &o, &err) == PLUMB_OK);
    CHECK(o.interp_threads_head == 7344 && o.tstate_next == 8 && o.tstate_frame == 72
          && o.tstate_thread_id == 152 && o.tstate_native_thread_id == 160
          && o.tstate_datastack_chunk == 232 && o.tstate_size == 240);
    CHECK(o.frame_previous == 8 && o.frame_code == 0 && o.frame_owner == 70 && o.frame_size == 78);
    CHECK(o.code_filename == 112 && o.code_name == 120 && o.code_firstlineno == 68
          && o.object_type == 8 && o.code_size == 128);
    CHECK(o.unicode_state == 32 && o.unicode_length == 16 && o.unicode_ascii_data == 40
          && o.unicode_compact_data == 56);

    /* The object row's fields the table has: as the row measured against
     * 3.13.0's headers says, and a huge one refused. */
    const plumb_py_object_layout *measured = plumb_py_object_layout_find(0x030D);
    CHECK(measured != NULL);
    if (measured) {
        plumb_py_object_layout row = *measured;
        CHECK(plumb_object_layout_from_debug_offsets(raw, n, &row) == PLUMB_OK);
        CHECK(row.interp_modules == measured->interp_modules
              && row.dict_keys == measured->dict_keys && row.dict_values == measured->dict_values
              && row.type_flags == measured->type_flags && row.long_size == measured->long_size
              && row.long_digits == measured->long_digits
              && row.bytes_size == measured->bytes_size && row.bytes_data == measured->bytes_data
              && row.code_linetable == measured->code_linetable
              && row.code_code == measured->code_code
              && row.frame_lasti == measured->frame_lasti);
        enum { IMPORTS_MODULES = 11 };
        raw[IMPORTS_MODULES] = (uint64_t)1 << 40;
        CHECK(plumb_object_layout_from_debug_offsets(raw, n, &row) == PLUMB_EINVAL);
        raw[IMPORTS_MODULES] = real_313[IMPORTS_MODULES];
    }

    check_refused(raw, TSTATE_NEXT, 300, "thread_state.next");            /* past thread_state.size */
    check_refused(raw, CODE_FIRSTLINENO, 206, "code_object.firstlineno"); /* its 4 bytes past 208 */
    check_refused(raw, UNICODE_ASCII_SIZE, 300, "unicode_object.asciiobject_size");
    check_refused(raw, TSTATE_CHUNK, UINT64_MAX - 3, "thread_state.datastack_chunk"); /* no wrap */
    /* A section claiming to be huge does not let a field lie beyond what
     * the walker reads of the structure. */
    raw[TSTATE_SIZE] = (uint64_t)1 << 40;
    check_refused(raw, TSTATE_NEXT, 5000, "thread_state.next");
    raw[TSTATE_SIZE] = real_313[TSTATE_SIZE];

    CHECK(plumb_offsets_from_debug_offsets(raw, n - 1, &o, &err) == PLUMB_EINVAL);  /* short */
    raw[1] = 0x030C00F0;                       /* 3.12: a layout this parser does not know */
    CHECK(plumb_offsets_from_debug_offsets(raw, n, &o, &err) == PLUMB_EINVAL
          && strstr(err.message, "version"));
    raw[1] = 0x030D00F0;
    raw[2] = 1;
    CHECK(plumb_offsets_from_debug_offsets(raw, n, &o, NULL) == PLUMB_EINVAL);
    memset(raw, 0, n);
    CHECK(plumb_offsets_from_debug_offsets(raw, n, &o, &err) == PLUMB_EINVAL
          && strstr(err.message, "cookie"));
    memcpy(raw, "xdebugpy", 8);
    srand(99);
    int accepted = 0;
    for (int round = 0; round < 100000; round++) {
        for (size_t i = 2; i < n / 8; i++)
            raw[i] = (uint64_t)(rand() % 300);
        raw[1] = 0x030D00F0;
        raw[2] = 0;
        if (plumb_offsets_from_debug_offsets(raw, n, &o, NULL) == PLUMB_OK) {
            accepted++;
            /* Whatever it accepts keeps every offset inside what a reader reads. */
            CHECK(o.tstate_next < o.tstate_size && o.frame_code < o.frame_size
                  && o.code_name < o.code_size && o.unicode_length < o.unicode_compact_data);
        }
    }
    (void)accepted;
    free(raw);
}

/* The sampler's thread filters.  Two threads (the happy path's and one
 * more with the same frames); --gil keeps only the thread state the GIL's
 * holder points at while the flag says it is locked; --no-idle keeps only
 * threads the kernel has running (R), here this test's own thread beside
 * one asleep in read(). */
static fake_tstate second;

static uint64_t samples_of_thread(const plumb_samples *s, uint64_t id)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < s->nnodes; i++)
        if (s->threads[s->nodes[i].thread].id == id)
            n += s->nodes[i].self;
    return n;
}

static void build_two_threads(void)
{
    build_happy();
    second = tstate;
    second.thread_id = 78;
    tstate.next = (uintptr_t)&second;
}

static void test_gil_filter(void)
{
    static uintptr_t holder;
    static int32_t locked;
    plumb_gil_probe probe = {.holder = (uintptr_t)&holder, .locked = (uintptr_t)&locked};
    build_two_threads();
    plumb_sampler *s = new_sampler();
    CHECK(plumb_sampler_filter_threads(s, 1, NULL, 0) == PLUMB_EINVAL);
    CHECK(plumb_sampler_filter_threads(s, 1, &probe, 0) == PLUMB_OK);
    holder = (uintptr_t)&second;
    locked = 1;
    for (int i = 0; i < 3; i++)
        CHECK(plumb_sampler_sample_once(s) == PLUMB_OK);
    CHECK(samples_of_thread(&s->samples, 78) == 3 && samples_of_thread(&s->samples, 77) == 0);
    holder = (uintptr_t)&tstate;   /* read afresh each round */
    CHECK(plumb_sampler_sample_once(s) == PLUMB_OK);
    CHECK(samples_of_thread(&s->samples, 77) == 1);
    locked = 0;                    /* released: its last holder holds nothing */
    CHECK(plumb_sampler_sample_once(s) == PLUMB_OK);
    CHECK(total_samples(&s->samples) == 4);
    probe = (plumb_gil_probe){.holder = 8};   /* unreadable: no thread, no fault */
    CHECK(plumb_sampler_filter_threads(s, 1, &probe, 0) == PLUMB_OK);
    CHECK(plumb_sampler_sample_once(s) == PLUMB_OK);
    CHECK(total_samples(&s->samples) == 4);
    plumb_sampler_free(s);

    /* Before 3.12 no flag: the current thread state, NULL while released. */
    probe = (plumb_gil_probe){.holder = (uintptr_t)&holder};
    holder = (uintptr_t)&tstate;
    s = new_sampler();
    CHECK(plumb_sampler_filter_threads(s, 1, &probe, 0) == PLUMB_OK);
    CHECK(plumb_sampler_sample_once(s) == PLUMB_OK);
    holder = 0;
    CHECK(plumb_sampler_sample_once(s) == PLUMB_OK);
    CHECK(samples_of_thread(&s->samples, 77) == 1 && total_samples(&s->samples) == 1);
    plumb_sampler_free(s);
}

typedef struct sleeper {
    int pipe_fds[2];
    volatile pid_t tid;
} sleeper;

static void *sleep_in_read(void *arg)
{
    sleeper *z = arg;
    z->tid = (pid_t)syscall(SYS_gettid);
    char c;
    (void)read(z->pipe_fds[0], &c, 1);
    return NULL;
}

static void test_idle_filter(void)
{
    sleeper z = {.tid = 0};
    CHECK(pipe(z.pipe_fds) == 0);
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, sleep_in_read, &z) == 0);
    /* Until it sleeps: its state is S once it waits in read(). */
    char path[64], buf[512];
    for (int tries = 0; tries < 10000; tries++) {
        if (z.tid) {
            snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)z.tid);
            FILE *f = fopen(path, "r");
            size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
            if (f)
                fclose(f);
            buf[n] = 0;
            char *paren = strrchr(buf, ')');
            if (paren && paren[1] == ' ' && paren[2] == 'S')
                break;
        }
        usleep(1000);
    }
    build_two_threads();
    tstate.native_id = (uintptr_t)syscall(SYS_gettid);   /* running: this test */
    second.native_id = (uintptr_t)z.tid;
    plumb_sampler *s = new_sampler();
    CHECK(plumb_sampler_sample_once(s) == PLUMB_OK);
    CHECK(samples_of_thread(&s->samples, 77) == 1 && samples_of_thread(&s->samples, 78) == 1);
    CHECK(plumb_sampler_filter_threads(s, 0, NULL, 1) == PLUMB_OK);
    CHECK(plumb_sampler_sample_once(s) == PLUMB_OK);
    CHECK(samples_of_thread(&s->samples, 77) == 2 && samples_of_thread(&s->samples, 78) == 1);
    second.native_id = 0;          /* unknown: kept */
    CHECK(plumb_sampler_sample_once(s) == PLUMB_OK);
    CHECK(samples_of_thread(&s->samples, 78) == 2);
    plumb_sampler_free(s);
    CHECK(write(z.pipe_fds[1], "x", 1) == 1);
    pthread_join(thread, NULL);
    close(z.pipe_fds[0]);
    close(z.pipe_fds[1]);
}

int main(void)
{
    test_debug_offsets_parser();
    test_happy_path();
    test_cycles_and_bad_objects();
    test_unmapped_memory();
    test_frames_outside_the_data_stack();
    test_interpreter_shim_code();
    test_prefetch();
    test_memory_source();
    test_thread_check();
    test_gil_filter();
    test_idle_filter();
    test_random_memory();
    return check_report("stack walker tests passed");
}
