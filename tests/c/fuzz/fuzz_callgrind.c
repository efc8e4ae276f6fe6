/* Fuzz target: the callgrind reader, on any bytes.  It must return 0,
 * PLUMB_EFORMAT with a one-line reason, or PLUMB_ENOMEM, never crash or
 * read out of bounds, and what it accepts must be writable as pstats and
 * callgrind. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/readers.h"
#include "formats/writers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    plumb_stats st;
    plumb_read_error err = {{0}};
    if (plumb_stats_init(&st) < 0)
        return 0;
    int rc = plumb_read_callgrind(&st, data, size, &err);
    if (rc == PLUMB_EFORMAT && (err.message[0] == 0 || strchr(err.message, '\n')))
        abort();
    if (rc != PLUMB_OK && rc != PLUMB_EFORMAT && rc != PLUMB_ENOMEM)
        abort();
    if (rc == PLUMB_OK) {
        char *buf = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&buf, &len);
        plumb_callgrind_info info = {.creator = "fuzz"};
        if (!out || plumb_write_stats_pstats(&st, out) != PLUMB_OK
            || plumb_write_stats_callgrind(&st, out, &info) != PLUMB_OK || fclose(out) != 0)
            abort();
        free(buf);
    }
    plumb_stats_free(&st);
    return 0;
}
