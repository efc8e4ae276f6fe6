/* Fuzz target: the /proc/PID/maps parser (attach/proc_maps.h).  On any
 * bytes it must return 0, PLUMB_EFORMAT with a one-line reason, or
 * PLUMB_ENOMEM/PLUMB_ELIMIT, never crash or read out of bounds; what it
 * accepts must hold ordered ranges and paths that end inside the table. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach/proc_maps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    plumb_maps m;
    plumb_read_error err = {{0}};
    plumb_maps_init(&m);
    int rc = plumb_maps_parse(&m, (const char *)data, size, &err);
    if (rc == PLUMB_EFORMAT && (err.message[0] == 0 || strchr(err.message, '\n')))
        abort();
    if (rc != PLUMB_OK && rc != PLUMB_EFORMAT && rc != PLUMB_ENOMEM && rc != PLUMB_ELIMIT)
        abort();
    if (rc == PLUMB_OK)
        for (uint32_t i = 0; i < m.count; i++) {
            const plumb_mapping *map = &m.maps[i];
            if (map->end < map->start || map->path >= m.paths_len
                || strlen(plumb_mapping_path(&m, map)) > PLUMB_MAX_MAP_PATH)
                abort();
            (void)plumb_maps_find(&m, map->start);
            (void)plumb_maps_readable(&m, map->start, 4096);
        }
    plumb_maps_free(&m);
    return 0;
}
