/* A process's memory map, /proc/PID/maps, parsed as untrusted text: which
 * address ranges are mapped, with what permissions, from which file.
 * Attach uses it to find the interpreter's binary or libpython and its
 * load address, and to check that what it reads lies in a mapping. */
#ifndef PLUMB_PROC_MAPS_H
#define PLUMB_PROC_MAPS_H

#include <stddef.h>
#include <stdint.h>

#include "base/errors.h"

#define PLUMB_MAX_MAPPINGS 1000000    /* lines kept of one map */
#define PLUMB_MAX_MAPS_TEXT (256u << 20)   /* bytes read of /proc/PID/maps */
#define PLUMB_MAX_MAP_PATH 4096

typedef struct plumb_mapping {
    uintptr_t start, end;         /* [start, end) */
    uint64_t offset;              /* in the file */
    char perms[5];                /* "r-xp" */
    uint32_t path;                /* into plumb_maps.paths; 0 = anonymous ("") */
} plumb_mapping;

typedef struct plumb_maps {
    plumb_mapping *maps;
    uint32_t count, capacity;
    char *paths;                  /* NUL-terminated paths, back to back; paths[0] = "" */
    size_t paths_len, paths_capacity;
} plumb_maps;

void plumb_maps_init(plumb_maps *m);
void plumb_maps_free(plumb_maps *m);

/* Parses maps text (len bytes, not NUL-terminated) into m: 0, PLUMB_ENOMEM,
 * PLUMB_ELIMIT (more than PLUMB_MAX_MAPPINGS lines), or PLUMB_EFORMAT with
 * err naming the line and what is wrong with it. */
int plumb_maps_parse(plumb_maps *m, const char *text, size_t len, plumb_read_error *err);

/* Reads and parses /proc/PID/maps: as plumb_maps_parse, or PLUMB_EIO with
 * errno set (ENOENT: no such process; EACCES: not permitted). */
int plumb_maps_read(plumb_maps *m, int pid, plumb_read_error *err);

/* The mapping holding addr, or NULL. */
const plumb_mapping *plumb_maps_find(const plumb_maps *m, uintptr_t addr);

/* Whether [addr, addr + len) lies in readable mappings, contiguous. */
int plumb_maps_readable(const plumb_maps *m, uintptr_t addr, size_t len);

static inline const char *plumb_mapping_path(const plumb_maps *m, const plumb_mapping *map)
{
    return m->paths + map->path;
}

#endif
