#define _GNU_SOURCE
#include "attach/proc_maps.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/grow.h"

void plumb_maps_init(plumb_maps *m)
{
    memset(m, 0, sizeof *m);
}

void plumb_maps_free(plumb_maps *m)
{
    free(m->maps);
    free(m->paths);
    memset(m, 0, sizeof *m);
}

/* A hexadecimal number of at most 16 digits at *p, up to end. */
static int hex(const char **p, const char *end, uint64_t *out)
{
    uint64_t v = 0;
    int digits = 0;
    while (*p < end) {
        char c = **p;
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            break;
        if (++digits > 16)
            return -1;
        v = v << 4 | (uint64_t)d;
        (*p)++;
    }
    *out = v;
    return digits ? 0 : -1;
}

static int expect(const char **p, const char *end, char c)
{
    if (*p >= end || **p != c)
        return -1;
    (*p)++;
    return 0;
}

static void skip_spaces(const char **p, const char *end)
{
    while (*p < end && **p == ' ')
        (*p)++;
}

static int add_path(plumb_maps *m, const char *path, size_t len, uint32_t *at)
{
    if (len == 0) {
        *at = 0;
        return PLUMB_OK;
    }
    if (m->paths_len + len + 1 > UINT32_MAX)
        return PLUMB_ELIMIT;
    int rc = PLUMB_GROW(m->paths, &m->paths_capacity, m->paths_len + len + 1, 4096,
                        (size_t)UINT32_MAX);
    if (rc < 0)
        return rc;
    *at = (uint32_t)m->paths_len;
    memcpy(m->paths + m->paths_len, path, len);
    m->paths[m->paths_len + len] = 0;
    m->paths_len += len + 1;
    return PLUMB_OK;
}

/* One line: "start-end perms offset dev inode [path]". */
static int parse_line(plumb_maps *m, const char *p, const char *end, plumb_mapping *out)
{
    uint64_t start, stop, offset, ignored;
    if (hex(&p, end, &start) < 0 || expect(&p, end, '-') < 0 || hex(&p, end, &stop) < 0
        || expect(&p, end, ' ') < 0 || stop < start)
        return -1;
    if (end - p < 5 || p[4] != ' ')
        return -1;
    for (int i = 0; i < 4; i++)
        if (!p[i] || !strchr("rwxps-", p[i]))
            return -1;
    memcpy(out->perms, p, 4);
    out->perms[4] = 0;
    p += 5;
    if (hex(&p, end, &offset) < 0 || expect(&p, end, ' ') < 0 || hex(&p, end, &ignored) < 0
        || expect(&p, end, ':') < 0 || hex(&p, end, &ignored) < 0 || expect(&p, end, ' ') < 0)
        return -1;
    while (p < end && *p >= '0' && *p <= '9')   /* inode, decimal */
        p++;
    skip_spaces(&p, end);
    size_t path_len = (size_t)(end - p);
    if (path_len > PLUMB_MAX_MAP_PATH || memchr(p, 0, path_len))
        return -1;
    out->start = (uintptr_t)start;
    out->end = (uintptr_t)stop;
    out->offset = offset;
    return add_path(m, p, path_len, &out->path) < 0 ? -2 : 0;
}

int plumb_maps_parse(plumb_maps *m, const char *text, size_t len, plumb_read_error *err)
{
    m->count = 0;
    m->paths_len = 0;
    int rc;
    if (PLUMB_GROW(m->paths, &m->paths_capacity, 1, 4096, (size_t)UINT32_MAX) < 0)
        return PLUMB_ENOMEM;
    m->paths[0] = 0;
    m->paths_len = 1;
    size_t line = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        line++;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        if (m->count == PLUMB_MAX_MAPPINGS)
            return PLUMB_ELIMIT;
        rc = PLUMB_GROW(m->maps, &m->capacity, (size_t)m->count + 1, 64, PLUMB_MAX_MAPPINGS);
        if (rc < 0)
            return rc;
        int got = parse_line(m, p, stop, &m->maps[m->count]);
        if (got == -2)
            return PLUMB_ENOMEM;
        if (got < 0)
            return plumb_read_fail(err, "maps line", line, "not \"start-end perms offset dev inode path\"");
        m->count++;
        p = nl ? nl + 1 : end;
    }
    return PLUMB_OK;
}

int plumb_maps_read(plumb_maps *m, int pid, plumb_read_error *err)
{
    char name[64];
    snprintf(name, sizeof name, "/proc/%d/maps", pid);
    int fd = open(name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return PLUMB_EIO;
    size_t cap = 0, len = 0;
    char *text = NULL;
    int rc = PLUMB_OK;
    for (;;) {
        if (len == PLUMB_MAX_MAPS_TEXT) {
            rc = PLUMB_ELIMIT;
            break;
        }
        rc = PLUMB_GROW(text, &cap, len + 65536, 65536, (size_t)PLUMB_MAX_MAPS_TEXT);
        if (rc < 0)
            break;
        ssize_t got = read(fd, text + len, cap - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = PLUMB_EIO;
            break;
        }
        if (got == 0)
            break;
        len += (size_t)got;
    }
    int saved = errno;
    close(fd);
    if (rc == PLUMB_OK && len == 0) {
        /* A process that has exited but not been reaped (a zombie) has an
         * empty map: nothing to attach to. */
        errno = ESRCH;
        rc = PLUMB_EIO;
    } else if (rc == PLUMB_OK) {
        rc = plumb_maps_parse(m, text, len, err);
    } else {
        errno = saved;
    }
    free(text);
    return rc;
}

const plumb_mapping *plumb_maps_find(const plumb_maps *m, uintptr_t addr)
{
    /* The kernel lists mappings in address order; a list that is not (a
     * forged one) is searched all the same, linearly. */
    for (uint32_t i = 0; i < m->count; i++)
        if (addr >= m->maps[i].start && addr < m->maps[i].end)
            return &m->maps[i];
    return NULL;
}

int plumb_maps_readable(const plumb_maps *m, uintptr_t addr, size_t len)
{
    while (len > 0) {
        const plumb_mapping *map = plumb_maps_find(m, addr);
        if (!map || map->perms[0] != 'r')
            return 0;
        size_t here = map->end - addr;
        if (here >= len)
            return 1;
        addr += here;
        len -= here;
    }
    return 1;
}
