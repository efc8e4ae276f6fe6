/* The fuzz target shared by the readers that fill a plumb_samples
 * (collapsed stacks, speedscope): on any bytes a reader must return 0,
 * PLUMB_EFORMAT with a one-line reason, or PLUMB_ENOMEM, and never crash
 * or read out of bounds (the sanitizers watch); what it accepts must keep
 * every sample it counted in its tree, and be written out as collapsed
 * stacks. */
#ifndef PLUMB_FUZZ_SAMPLE_READER_TARGET_H
#define PLUMB_FUZZ_SAMPLE_READER_TARGET_H

#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/readers.h"
#include "formats/sample_writers.h"

typedef int (*sample_reader)(plumb_samples *s, const void *buf, size_t len, plumb_read_error *err);

static void die(const char *reader, const char *what)
{
    fprintf(stderr, "fuzz %s: %s\n", reader, what);
    abort();
}

static int fuzz_sample_reader(sample_reader read, const char *name, const uint8_t *data,
                              size_t size)
{
    plumb_samples s;
    plumb_read_error err = {{0}};
    if (plumb_samples_init(&s, 0.001, 0) < 0)
        return 0;
    int rc = read(&s, data, size, &err);
    if (rc == PLUMB_EFORMAT && (err.message[0] == 0 || strchr(err.message, '\n')))
        die(name, "a refusal without a one-line reason");
    if (rc != PLUMB_OK && rc != PLUMB_EFORMAT && rc != PLUMB_ENOMEM)
        die(name, "an unexpected error code");
    if (rc == PLUMB_OK) {
        uint64_t total = 0;
        for (uint32_t i = 0; i < s.nnodes; i++)
            total += s.nodes[i].self;
        if (total != s.taken)
            die(name, "samples lost between reading and the tree");
        char *buf = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&buf, &len);
        if (!out || plumb_write_collapsed(&s, out) != PLUMB_OK || fclose(out) != 0)
            die(name, "could not write what was read");
        free(buf);
    }
    plumb_samples_free(&s);
    return 0;
}

#endif
