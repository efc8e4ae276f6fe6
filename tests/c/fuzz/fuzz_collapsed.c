/* Fuzz target: the collapsed-stacks reader, on any bytes.  It must return
 * 0, PLUMB_EFORMAT with a one-line reason, or PLUMB_ENOMEM, and never
 * crash or read out of bounds; what it accepts must be written out as
 * collapsed stacks with the same total. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../src/core/readers.h"
#include "../../../src/core/sample_writers.h"

static void die(const char *what)
{
    fprintf(stderr, "fuzz_collapsed: %s\n", what);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    plumb_samples s;
    plumb_read_error err = {{0}};
    if (plumb_samples_init(&s, 0.001, 0) < 0)
        return 0;
    int rc = plumb_read_collapsed(&s, data, size, &err);
    if (rc == PLUMB_EFORMAT && (err.message[0] == 0 || strchr(err.message, '\n')))
        die("a refusal without a one-line reason");
    if (rc != PLUMB_OK && rc != PLUMB_EFORMAT && rc != PLUMB_ENOMEM)
        die("an unexpected error code");
    if (rc == PLUMB_OK) {
        uint64_t total = 0;
        for (uint32_t i = 0; i < s.nnodes; i++)
            total += s.nodes[i].self;
        if (total != s.taken)
            die("samples lost between reading and the tree");
        char *buf = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&buf, &len);
        if (!out || plumb_write_collapsed(&s, out) != PLUMB_OK || fclose(out) != 0)
            die("could not write what was read");
        free(buf);
    }
    plumb_samples_free(&s);
    return 0;
}
