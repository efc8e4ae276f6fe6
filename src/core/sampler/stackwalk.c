#include "sampler/stackwalk.h"

#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/grow.h"
#include "sampler/remote_str.h"

int plumb_walker_init(plumb_walker *w, plumb_memsource *source, const plumb_py_offsets *off,
                      uintptr_t interp)
{
    memset(w, 0, sizeof *w);
    w->source = source;
    w->off = *off;
    w->interp = interp;
    if (plumb_py_offsets_check(off) < 0)
        return PLUMB_EINVAL;
    w->cache = malloc(sizeof *w->cache);
    if (!w->cache)
        return PLUMB_ENOMEM;
    plumb_page_cache_clear(w->cache);
    return plumb_map_init(&w->code_index, 1024);
}

void plumb_walker_free(plumb_walker *w)
{
    plumb_map_free(&w->code_index);
    free(w->codes);
    free(w->cache);
    memset(w, 0, sizeof *w);
}

void plumb_walker_forget_functions(plumb_walker *w)
{
    plumb_map_clear(&w->code_index);
    w->ncodes = 0;
}

static uintptr_t field_ptr(const unsigned char *buf, int64_t off)
{
    uintptr_t v;
    memcpy(&v, buf + off, sizeof v);
    return v;
}

static int64_t field_i32(const unsigned char *buf, int64_t off)
{
    int32_t v;
    memcpy(&v, buf + off, sizeof v);
    return v;
}

static uintptr_t innermost_frame(plumb_walker *w, const unsigned char *tstate)
{
    const plumb_py_offsets *o = &w->off;
    if (o->tstate_cframe < 0)
        return field_ptr(tstate, o->tstate_frame);
    uintptr_t cframe = field_ptr(tstate, o->tstate_cframe), frame = 0;
    if (!cframe || plumb_memread_cached(w->source, w->cache, cframe + (uintptr_t)o->cframe_current_frame,
                                        &frame, sizeof frame) < 0)
        return 0;
    return frame;
}

/* Before 3.11 a thread state has no kernel id, but its thread_id is the
 * thread's pthread_t, glibc's struct pthread, which holds the tid at
 * pthread_tid (found by attach: plumb_attach_find). 0 if unreadable. */
static uint64_t pthread_tid(plumb_walker *w, uintptr_t thread)
{
    int32_t tid = 0;
    if (plumb_memread_cached(w->source, w->cache, thread + (uintptr_t)w->off.pthread_tid, &tid,
                             sizeof tid) < 0 || tid <= 0)
        return 0;
    return (uint64_t)tid;
}

/* Reads the thread's data stack chunks into w->chunk_start/end: 0, or
 * PLUMB_EFAULT if the list cannot be read or makes no sense.  More chunks
 * than PLUMB_MAX_CHUNKS: the check is left off for this read. */
static int read_chunks(plumb_walker *w, const unsigned char *tstate)
{
    const plumb_py_offsets *o = &w->off;
    w->nchunks = 0;
    if (o->tstate_datastack_chunk < 0)
        return PLUMB_OK;
    uintptr_t chunk = field_ptr(tstate, o->tstate_datastack_chunk);
    while (chunk) {
        if (w->nchunks == PLUMB_MAX_CHUNKS) {
            w->nchunks = 0;
            return PLUMB_OK;
        }
        unsigned char head[16];
        if (plumb_memread_cached(w->source, w->cache, chunk, head, sizeof head) < 0)
            return PLUMB_EFAULT;
        uintptr_t size = field_ptr(head, o->chunk_size);
        if (size < sizeof head || size > (uintptr_t)1 << 40 || chunk + size < chunk)
            return PLUMB_EFAULT;
        w->chunk_start[w->nchunks] = chunk;
        w->chunk_end[w->nchunks++] = chunk + size;
        chunk = field_ptr(head, o->chunk_previous);
    }
    return PLUMB_OK;
}

static int in_data_stack(const plumb_walker *w, uintptr_t frame)
{
    if (w->nchunks == 0)
        return 1;   /* not checked */
    for (uint32_t i = 0; i < w->nchunks; i++)
        if (frame >= w->chunk_start[i] && frame < w->chunk_end[i])
            return 1;
    return 0;
}

/* Reads one thread's frames into stack: 0, or PLUMB_EFAULT if a read
 * failed or what was read cannot be one moment's stack.  The thread runs on
 * while the walk reads its frames, and from 3.11 the frames it has popped
 * are overwritten at once (entry and shim frames live on the C stack,
 * whose memory is reused by every C call): a frame pointer read a few
 * microseconds before the frame can lead into reused memory.  Such a walk
 * most often loops (a spilled pointer to a newer frame), so a frame seen
 * twice (Brent's cycle test: constant space, found within twice the
 * cycle's reach) marks the read as torn, as does a frame whose code is the
 * shim's code but which is no longer marked a shim, or a frame that is not
 * a shim but lies outside the thread's data stack. */
static int read_frames(plumb_walker *w, uintptr_t frame, plumb_raw_stack *stack)
{
    const plumb_py_offsets *o = &w->off;
    unsigned char buf[PLUMB_MAX_STRUCT];
    stack->depth = 0;
    stack->truncated = 0;
    uintptr_t saved = frame;
    uint32_t power = 1, since_saved = 0;
    /* Bounded: a cycle in a torn read ends here too. */
    for (uint32_t steps = 0; frame; steps++) {
        if (steps >= 4 * PLUMB_MAX_SAMPLE_DEPTH) {
            stack->truncated = 1;
            break;
        }
        if (plumb_memread_cached(w->source, w->cache, frame, buf, (size_t)o->frame_size) < 0)
            return PLUMB_EFAULT;
        int shim = o->frame_owner >= 0 && o->frame_owned_by_cstack >= 0
                   && buf[o->frame_owner] == (unsigned char)o->frame_owned_by_cstack;
        int in_generator = o->frame_owner >= 0 && o->frame_owned_by_generator >= 0
                           && buf[o->frame_owner] == (unsigned char)o->frame_owned_by_generator;
        uintptr_t code = field_ptr(buf, o->frame_code);
        if (!shim && code && code == o->shim_code)
            return PLUMB_EFAULT;
        /* Only shims and running generators' frames live outside the data
         * stack: anything else found there is C-stack memory reused since
         * it held a shim. */
        if (!shim && !in_generator && !in_data_stack(w, frame))
            return PLUMB_EFAULT;
        if (!shim && code) {
            if (stack->depth == PLUMB_MAX_SAMPLE_DEPTH) {
                stack->truncated = 1;
                break;
            }
            stack->instrs[stack->depth] = 0;
            if (o->bytes_type && o->frame_instr >= 0)
                stack->instrs[stack->depth] = field_ptr(buf, o->frame_instr);
            else if (o->bytes_type && o->frame_lasti >= 0)
                stack->instrs[stack->depth] = (uint64_t)(uint32_t)field_i32(buf, o->frame_lasti);
            stack->codes[stack->depth++] = code;
        }
        frame = field_ptr(buf, o->frame_previous);
        if (frame == saved)
            return PLUMB_EFAULT;
        if (++since_saved == power) {
            saved = frame;
            power *= 2;
            since_saved = 0;
        }
    }
    return PLUMB_OK;
}

/* Whether every frame's code is a code object: anything else is memory
 * reused under the walk (or 3.13's shim, whose None is left out above). */
static int codes_are_code(plumb_walker *w, const plumb_raw_stack *stack)
{
    const plumb_py_offsets *o = &w->off;
    /* One call for the pages of every code object; the visitor reads them
     * again to resolve names, from the cache. */
    plumb_memread_prefetch(w->source, w->cache, stack->codes, stack->depth, (size_t)o->code_size);
    for (uint32_t i = 0; i < stack->depth; i++) {
        uintptr_t type;
        if (plumb_memread_cached(w->source, w->cache, stack->codes[i] + (uintptr_t)o->object_type,
                                 &type, sizeof type) < 0 || type != o->code_type)
            return PLUMB_EFAULT;
    }
    return PLUMB_OK;
}

/* One thread's stack, read afresh up to PLUMB_TORN_RETRIES more times when
 * a read is torn: each attempt empties the page cache and starts again from
 * the thread state, so a failure says the thread moved too fast every
 * time, not once.  Sets *next to the next thread state.  0 or
 * PLUMB_EFAULT; *tstate_ok is 0 if the thread state itself was
 * unreadable (the thread list moved). */
static int read_thread(plumb_walker *w, uintptr_t t, plumb_raw_stack *stack, uintptr_t *next,
                       int *tstate_ok, void *ctx)
{
    const plumb_py_offsets *o = &w->off;
    unsigned char tstate[PLUMB_MAX_STRUCT];
    int rc = PLUMB_OK;
    for (int attempt = 0;; attempt++) {
        if (attempt > 0) {
            w->retries++;
            plumb_page_cache_begin_round(w->source, w->cache);
        }
        *tstate_ok = plumb_memread_cached(w->source, w->cache, t, tstate, (size_t)o->tstate_size) == 0;
        if (!*tstate_ok)
            return PLUMB_EFAULT;
        *next = field_ptr(tstate, o->tstate_next);
        stack->thread_id = field_ptr(tstate, o->tstate_thread_id);
        stack->native_id = o->tstate_native_thread_id >= 0
                               ? field_ptr(tstate, o->tstate_native_thread_id) : 0;
        stack->tstate = t;
        if (o->tstate_native_thread_id < 0 && o->pthread_tid >= 0 && stack->thread_id)
            stack->native_id = pthread_tid(w, stack->thread_id);
        stack->depth = 0;
        stack->unchanged = 0;
        if (attempt == 0 && w->check) {
            int verdict = w->check(ctx, stack);
            if (verdict != PLUMB_READ_FRAMES) {
                stack->unchanged = verdict == PLUMB_FRAMES_UNCHANGED;
                return PLUMB_OK;
            }
        }
        uintptr_t frame = innermost_frame(w, tstate);
        if (!frame)
            return PLUMB_OK;
        rc = read_chunks(w, tstate);
        if (rc == PLUMB_OK)
            rc = read_frames(w, frame, stack);
        if (rc == PLUMB_OK)
            rc = codes_are_code(w, stack);
        if (rc == PLUMB_OK || attempt == PLUMB_TORN_RETRIES || !w->cache)
            return rc;
    }
}

int plumb_walk_threads(plumb_walker *w, plumb_raw_stack *scratch, plumb_stack_visitor visit,
                       void *ctx, uint64_t *failed)
{
    const plumb_py_offsets *o = &w->off;
    uintptr_t t = 0;
    if (w->cache)
        plumb_page_cache_begin_round(w->source, w->cache);   /* memory read afresh */
    if (plumb_memread_cached(w->source, w->cache, w->interp + (uintptr_t)o->interp_threads_head,
                             &t, sizeof t) < 0)
        return PLUMB_EFAULT;
    for (int n = 0; t && n < PLUMB_MAX_THREADS; n++) {
        uintptr_t next = 0;
        int tstate_ok;
        if (read_thread(w, t, scratch, &next, &tstate_ok, ctx) < 0) {
            (*failed)++;
            if (!tstate_ok)
                return PLUMB_OK;   /* the list moved under us: the rest waits for the next round */
        } else if (scratch->depth > 0 || scratch->unchanged) {
            int rc = visit(ctx, scratch);
            if (rc < 0)
                return rc;
        }
        t = next;
    }
    return PLUMB_OK;
}

int plumb_walker_resolve(plumb_walker *w, plumb_labels *names, uintptr_t code, uint32_t *func)
{
    const plumb_py_offsets *o = &w->off;
    unsigned char buf[PLUMB_MAX_STRUCT];
    if (plumb_memread_cached(w->source, w->cache, code, buf, (size_t)o->code_size) < 0)
        return PLUMB_EFAULT;
    if (field_ptr(buf, o->object_type) != o->code_type)
        return PLUMB_EFAULT;
    uintptr_t name = field_ptr(buf, o->code_name), file = field_ptr(buf, o->code_filename);
    int64_t line = field_i32(buf, o->code_firstlineno);
    /* The interpreter's own _Py_InitCleanup (see pyoffsets.h): left out,
     * as the interpreter leaves it out of tracebacks. */
    if (o->skip_init_cleanup && name == file && line == 0) {
        *func = PLUMB_SKIP;
        return PLUMB_OK;
    }
    uint32_t e = plumb_map_get(&w->code_index, code);
    if (e != PLUMB_MAP_MISSING && w->codes[e].name == name && w->codes[e].file == file
        && w->codes[e].line == line) {
        *func = w->codes[e].func;
        return PLUMB_OK;
    }
    if (plumb_remote_str(w->source, w->cache, o, name, PLUMB_MAX_NAME, w->name_text,
                         sizeof w->name_text, NULL) < 0
        || plumb_remote_str(w->source, w->cache, o, file, PLUMB_MAX_NAME, w->file_text,
                            sizeof w->file_text, NULL) < 0)
        return PLUMB_EFAULT;
    int rc = plumb_labels_intern(names, w->file_text, line, w->name_text, func);
    if (rc < 0)
        return rc;
    if (e == PLUMB_MAP_MISSING) {
        rc = PLUMB_GROW(w->codes, &w->codes_capacity, (size_t)w->ncodes + 1, 256, UINT32_MAX - 1);
        if (rc < 0)
            return rc;
        e = w->ncodes++;
        if (plumb_map_put(&w->code_index, code, e) < 0)
            return PLUMB_ENOMEM;
    }
    w->codes[e] = (plumb_code_entry){.code = code, .name = name, .file = file, .line = line,
                                     .func = *func};
    return PLUMB_OK;
}
