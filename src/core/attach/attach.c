/* Finding a CPython interpreter in another process (attach.h).  The order
 * of the search follows what py-spy and Austin learned: the file holding
 * _PyRuntime is libpython (a shared build) or the executable (a static
 * one, as Debian's /usr/bin/python3.11); its version comes from 3.13's
 * _Py_DebugOffsets cookie, then the exported Py_Version (3.11+), then the
 * text Py_GetVersion() keeps, then the file's name; the interpreter is
 * _PyRuntime's first, accepted only when its thread list lies in the
 * target's mappings and the first thread state points back at it. */
#define _GNU_SOURCE
#include "attach/attach.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attach/elf_reader.h"
#include "sampler/debug_offsets.h"
#include "sampler/gil_holder.h"

static int refuse(int *refusal, int kind, plumb_read_error *err, const char *format, ...)
{
    *refusal = kind;
    if (err) {
        va_list ap;
        va_start(ap, format);
        vsnprintf(err->message, sizeof err->message, format, ap);
        va_end(ap);
    }
    return kind == PLUMB_ATTACH_NOT_PERMITTED || kind == PLUMB_ATTACH_NO_PROCESS ? PLUMB_EIO
                                                                                  : PLUMB_EINVAL;
}

void plumb_attach_version_text(uint32_t v, char *out, size_t size)
{
    if (v & 0xFFFF)
        snprintf(out, size, "%u.%u.%u", v >> 24, (v >> 16) & 0xFF, (v >> 8) & 0xFF);
    else
        snprintf(out, size, "%u.%u", v >> 24, (v >> 16) & 0xFF);
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* "python3.12", "libpython3.12.so.1.0", "python3.12d": major.minor << 16. */
static uint32_t version_from_name(const char *path)
{
    const char *name = base_name(path), *p = strstr(name, "python");
    unsigned major, minor;
    if (!p || sscanf(p, "python%u.%u", &major, &minor) != 2 || major != 3 || minor > 99)
        return 0;
    return major << 24 | minor << 16;
}

/* "3.12.1 (main, ...": the text Py_GetVersion() writes. */
static uint32_t version_from_text(const char *text)
{
    unsigned major, minor, micro;
    if (sscanf(text, "%u.%u.%u", &major, &minor, &micro) != 3 || major != 3 || minor > 99
        || micro > 99)
        return 0;
    return major << 24 | minor << 16 | micro << 8;
}

/* A file of the target, by its path in the target's mount namespace. */
static int open_in_target(int pid, const char *path)
{
    char full[PLUMB_MAX_MAP_PATH + 64];
    snprintf(full, sizeof full, "/proc/%d/root%s", pid, path);
    return open(full, O_RDONLY | O_CLOEXEC);
}

/* The candidates: every libpython mapped, then the executable's file. */
static int is_candidate(const char *path, const char *exe)
{
    if (path[0] != '/')
        return 0;
    if (strncmp(base_name(path), "libpython3", 10) == 0)
        return 1;
    return exe[0] && strcmp(path, exe) == 0;
}

/* The load bias of path: where the mapping of its first loadable segment
 * starts, less that segment's (page-aligned) address. */
static int load_bias(const plumb_maps *maps, const char *path, const plumb_elf *e, uintptr_t *bias)
{
    for (uint32_t i = 0; i < maps->count; i++) {
        const plumb_mapping *m = &maps->maps[i];
        if (m->offset == e->first_load_offset && strcmp(plumb_mapping_path(maps, m), path) == 0) {
            *bias = e->is_executable ? 0 : m->start - (uintptr_t)e->first_load_vaddr;
            return PLUMB_OK;
        }
    }
    return PLUMB_EINVAL;
}

static int read_remote(plumb_memsource *src, uintptr_t addr, void *buf, size_t len)
{
    return plumb_memread(src, addr, buf, len);
}

/* Finds the file holding _PyRuntime among the candidates; fills t->binary,
 * t->bias, t->runtime and the symbols' addresses. */
static int find_runtime(plumb_attach_target *t, const plumb_maps *maps, const char *exe,
                        plumb_elf *found)
{
    const char *tried = NULL;
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t i = 0; i < maps->count; i++) {
            const char *path = plumb_mapping_path(maps, &maps->maps[i]);
            /* libpython first (pass 0), then the executable (pass 1). */
            int lib = strncmp(base_name(path), "libpython3", 10) == 0;
            if (!is_candidate(path, exe) || lib != (pass == 0) || (tried && strcmp(tried, path) == 0))
                continue;
            tried = path;
            int fd = open_in_target(t->pid, path);
            if (fd < 0)
                continue;
            plumb_elf e;
            int rc = plumb_elf_open_fd(&e, fd, NULL);
            if (rc < 0)
                continue;
            uint64_t value = 0, size = 0;
            if (plumb_elf_symbol(&e, "_PyRuntime", &value, &size) < 0
                && plumb_elf_section_by_name(&e, ".PyRuntime", &value, &size) < 0) {
                plumb_elf_close(&e);
                continue;
            }
            if (load_bias(maps, path, &e, &t->bias) < 0) {
                plumb_elf_close(&e);
                continue;
            }
            snprintf(t->binary, sizeof t->binary, "%s", path);
            t->runtime = t->bias + (uintptr_t)value;
            *found = e;
            return PLUMB_OK;
        }
    }
    return PLUMB_EINVAL;
}

/* The version, by the first source that gives one. */
static uint32_t find_version(plumb_attach_target *t, plumb_elf *e, plumb_memsource *src)
{
    unsigned char head[24];
    uint64_t value, size;
    if (read_remote(src, t->runtime, head, sizeof head) == 0 && memcmp(head, "xdebugpy", 8) == 0) {
        uint64_t v;
        memcpy(&v, head + 8, sizeof v);
        if ((v >> 24) == 3) {
            t->version_source = "_Py_DebugOffsets";
            return (uint32_t)v;
        }
    }
    if (plumb_elf_symbol(e, "Py_Version", &value, &size) == 0) {
        uint64_t v = 0;
        if (read_remote(src, t->bias + (uintptr_t)value, &v, sizeof v) == 0 && (v >> 24) == 3) {
            t->version_source = "Py_Version";
            return (uint32_t)v;
        }
    }
    /* Py_GetVersion()'s buffer, a local symbol: only in an unstripped file. */
    if (plumb_elf_symbol(e, "version", &value, &size) == 0 && size >= 16) {
        char text[32] = {0};
        if (read_remote(src, t->bias + (uintptr_t)value, text, sizeof text - 1) == 0) {
            uint32_t v = version_from_text(text);
            if (v) {
                t->version_source = "the version string";
                return v;
            }
        }
    }
    uint32_t v = version_from_name(t->binary);
    t->version_source = v ? "the file name" : NULL;
    return v;
}

static int layout_for(plumb_attach_target *t, plumb_memsource *src, int *refusal,
                      plumb_read_error *err)
{
    char version[16];
    plumb_attach_version_text(t->version_hex, version, sizeof version);
    uint32_t minor = t->version_hex >> 16;
    if (minor < 0x0309 || minor > 0x030D)
        return refuse(refusal, PLUMB_ATTACH_UNSUPPORTED, err,
                      "process %d runs Python %s: plumb attaches to CPython 3.9 to 3.13", t->pid,
                      version);
    if (minor == 0x030D) {
        unsigned char raw[1024];
        size_t n = plumb_debug_offsets_size();
        uint32_t full;
        plumb_read_error why = {{0}};
        if (n > sizeof raw || read_remote(src, t->runtime, raw, n) < 0)
            return refuse(refusal, PLUMB_ATTACH_NOT_READY, err,
                          "process %d: its _Py_DebugOffsets could not be read", t->pid);
        if (plumb_layout_from_debug_offsets(raw, n, &t->layout, &full, &why) < 0)
            return refuse(refusal, PLUMB_ATTACH_UNSUPPORTED, err, "process %d (Python %s): %s",
                          t->pid, version, why.message);
        return PLUMB_OK;
    }
    const plumb_py_layout *row = plumb_py_layout_find(minor);
    if (!row)
        return refuse(refusal, PLUMB_ATTACH_UNSUPPORTED, err,
                      "process %d runs Python %s, whose layout plumb does not have", t->pid, version);
    t->layout = *row;
    return PLUMB_OK;
}

/* Before 3.11: where struct pthread holds the tid.  The thread whose
 * struct holds the pid (the main thread's tid) within its first 4 KiB
 * gives the offset; none found leaves it unknown. */
static void find_pthread_tid(plumb_attach_target *t, plumb_memsource *src)
{
    const plumb_py_layout *l = &t->layout;
    uintptr_t tstate = 0;
    if (read_remote(src, t->interp + (uintptr_t)l->interp_threads_head, &tstate, sizeof tstate) < 0)
        return;
    for (int n = 0; tstate && n < 4096; n++) {
        uintptr_t thread = 0, next = 0;
        if (read_remote(src, tstate + (uintptr_t)l->tstate_thread_id, &thread, sizeof thread) < 0
            || read_remote(src, tstate + (uintptr_t)l->tstate_next, &next, sizeof next) < 0)
            return;
        int32_t words[1024];
        if (thread && read_remote(src, thread, words, sizeof words) == 0)
            for (int i = 0; i < 1024; i++)
                if (words[i] == t->pid) {
                    t->off.pthread_tid = (int64_t)i * 4;
                    return;
                }
        tstate = next;
    }
}

/* The interpreter: it and its first thread state lie in readable
 * mappings, and that thread state's interp points back at it. */
static int check_interpreter(plumb_attach_target *t, const plumb_maps *maps, plumb_memsource *src,
                             int *refusal, plumb_read_error *err)
{
    const plumb_py_layout *l = &t->layout;
    uintptr_t interp = 0, head = 0, back = 0;
    if (read_remote(src, t->runtime + (uintptr_t)l->runtime_interpreters_head, &interp,
                    sizeof interp) < 0)
        return refuse(refusal, PLUMB_ATTACH_NOT_PERMITTED, err,
                      "process %d: its memory could not be read", t->pid);
    if (!interp || !plumb_maps_readable(maps, interp, (size_t)l->interp_threads_head + 8))
        return refuse(refusal, PLUMB_ATTACH_NOT_READY, err,
                      "process %d has no interpreter running (starting or exiting?)", t->pid);
    if (read_remote(src, interp + (uintptr_t)l->interp_threads_head, &head, sizeof head) < 0 || !head
        || !plumb_maps_readable(maps, head, (size_t)t->off.tstate_size))
        return refuse(refusal, PLUMB_ATTACH_NOT_READY, err,
                      "process %d: its interpreter has no thread (starting or exiting?)", t->pid);
    if (read_remote(src, head + (uintptr_t)l->tstate_interp, &back, sizeof back) < 0 || back != interp)
        return refuse(refusal, PLUMB_ATTACH_UNSUPPORTED, err,
                      "process %d: its thread state does not point back at its interpreter "
                      "(a layout plumb does not know)", t->pid);
    t->interp = interp;
    return PLUMB_OK;
}

/* The object row: the generated one, on 3.13 with what the target's
 * _Py_DebugOffsets has laid over it.  None that passes its check leaves
 * t->has_objects 0 (no names, no lines). */
static void find_object_row(plumb_attach_target *t, plumb_memsource *src)
{
    const plumb_py_object_layout *row = plumb_py_object_layout_find(t->version_hex >> 16);
    t->has_objects = 0;
    if (!row || plumb_py_object_layout_check(row) < 0)
        return;
    t->objects = *row;
    if ((t->version_hex >> 16) == 0x030D) {
        unsigned char raw[1024];
        size_t n = plumb_debug_offsets_size();
        if (n > sizeof raw || read_remote(src, t->runtime, raw, n) < 0
            || plumb_object_layout_from_debug_offsets(raw, n, &t->objects) < 0)
            return;
    }
    t->has_objects = 1;
}

int plumb_attach_find(plumb_attach_target *t, int pid, int *refusal, plumb_read_error *err)
{
    memset(t, 0, sizeof *t);
    *refusal = PLUMB_ATTACH_OK;
    t->pid = pid;
    char dir[64];
    struct stat st;
    snprintf(dir, sizeof dir, "/proc/%d", pid);
    if (pid <= 0 || stat(dir, &st) != 0)
        return refuse(refusal, PLUMB_ATTACH_NO_PROCESS, err, "no process %d", pid);
    plumb_maps maps;
    plumb_maps_init(&maps);
    int rc = plumb_maps_read(&maps, pid, err);
    if (rc == PLUMB_EIO) {
        int kind = errno == EACCES || errno == EPERM ? PLUMB_ATTACH_NOT_PERMITTED
                                                     : PLUMB_ATTACH_NO_PROCESS;
        plumb_maps_free(&maps);
        return kind == PLUMB_ATTACH_NO_PROCESS
                   ? refuse(refusal, kind, err, "no process %d (it has exited)", pid)
                   : refuse(refusal, kind, err, "not permitted to read process %d", pid);
    }
    if (rc < 0) {
        plumb_maps_free(&maps);
        return refuse(refusal, PLUMB_ATTACH_NOT_PYTHON, err, "process %d: its memory map: %s", pid,
                      err ? err->message : "unreadable");
    }
    char exe[PLUMB_MAX_MAP_PATH + 1] = {0}, link[64];
    snprintf(link, sizeof link, "/proc/%d/exe", pid);
    ssize_t n = readlink(link, exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    plumb_process_source memory;
    plumb_process_source_init(&memory, pid);
    plumb_elf elf;
    if (find_runtime(t, &maps, exe, &elf) < 0) {
        plumb_maps_free(&maps);
        return refuse(refusal, PLUMB_ATTACH_NOT_PYTHON, err,
                      "process %d is not a Python process (no libpython or python binary holding "
                      "_PyRuntime in its memory map)", pid);
    }
    /* Whether its memory may be read at all (ptrace access), before any
     * conclusion is drawn from what reads return. */
    unsigned char probe;
    if (read_remote(&memory.base, t->runtime, &probe, 1) < 0) {
        int denied = errno == EPERM || errno == EACCES;
        plumb_elf_close(&elf);
        plumb_maps_free(&maps);
        return denied ? refuse(refusal, PLUMB_ATTACH_NOT_PERMITTED, err,
                               "not permitted to read process %d's memory", pid)
                      : refuse(refusal, PLUMB_ATTACH_NO_PROCESS, err, "no process %d (it has exited)",
                               pid);
    }
    t->version_hex = find_version(t, &elf, &memory.base);
    uint64_t code_type = 0, str_type = 0, size;
    int have_types = plumb_elf_symbol(&elf, "PyCode_Type", &code_type, &size) == 0
                     && plumb_elf_symbol(&elf, "PyUnicode_Type", &str_type, &size) == 0;
    /* For thread names and lines only: a type not found leaves them unread. */
    uint64_t object_types[4] = {0, 0, 0, 0};
    const char *object_type_names[4] = {"PyDict_Type", "PyLong_Type", "PyModule_Type",
                                        "PyBytes_Type"};
    for (int i = 0; i < 4; i++)
        if (plumb_elf_symbol(&elf, object_type_names[i], &object_types[i], &size) < 0)
            object_types[i] = 0;
    plumb_elf_close(&elf);
    if (!t->version_hex)
        rc = refuse(refusal, PLUMB_ATTACH_UNSUPPORTED, err,
                    "process %d: the version of its Python (%s) could not be found", pid, t->binary);
    else if (!have_types)
        rc = refuse(refusal, PLUMB_ATTACH_NOT_PYTHON, err,
                    "process %d: %s has no PyCode_Type or PyUnicode_Type", pid, t->binary);
    else
        rc = layout_for(t, &memory.base, refusal, err);
    if (rc == PLUMB_OK && plumb_py_offsets_from_layout(&t->layout, t->version_hex, &t->off) < 0)
        rc = refuse(refusal, PLUMB_ATTACH_UNSUPPORTED, err,
                    "process %d: its layout is outside what the walker reads", pid);
    if (rc == PLUMB_OK)
        rc = check_interpreter(t, &maps, &memory.base, refusal, err);
    plumb_maps_free(&maps);
    if (rc < 0)
        return rc;
    t->off.code_type = t->bias + (uintptr_t)code_type;
    t->off.unicode_type = t->bias + (uintptr_t)str_type;
    t->dict_type = object_types[0] ? t->bias + (uintptr_t)object_types[0] : 0;
    t->long_type = object_types[1] ? t->bias + (uintptr_t)object_types[1] : 0;
    t->module_type = object_types[2] ? t->bias + (uintptr_t)object_types[2] : 0;
    find_object_row(t, &memory.base);
    if (t->has_objects && object_types[3])
        (void)plumb_py_offsets_add_lines(&t->off, &t->objects, t->bias + (uintptr_t)object_types[3]);
    if (t->layout.interp_trampoline >= 0)
        (void)read_remote(&memory.base, t->interp + (uintptr_t)t->layout.interp_trampoline,
                          &t->off.shim_code, sizeof t->off.shim_code);
    if (t->off.tstate_native_thread_id < 0)
        find_pthread_tid(t, &memory.base);
    return PLUMB_OK;
}

int plumb_attach_gil_holder(const plumb_attach_target *t, plumb_memsource *src, uintptr_t *tstate)
{
    plumb_gil_probe probe;
    *tstate = 0;
    if (plumb_gil_probe_from_layout(&t->layout, t->runtime, t->interp, &probe) < 0)
        return PLUMB_EFAULT;
    return plumb_gil_probe_read(&probe, src, NULL, tstate);
}

char plumb_attach_thread_state(int pid, uint64_t tid)
{
    char path[96], buf[512];
    snprintf(path, sizeof path, "/proc/%d/task/%llu/stat", pid, (unsigned long long)tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return '?';
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return '?';
    buf[n] = 0;
    /* "tid (comm) S ...": the state follows the last ')'. */
    char *paren = strrchr(buf, ')');
    return paren && paren[1] == ' ' && paren[2] ? paren[2] : '?';
}
