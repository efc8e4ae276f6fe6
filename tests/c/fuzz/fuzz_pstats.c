/* Fuzz target: the pstats reader, on any bytes.  It must return 0 or
 * PLUMB_EFORMAT (with a reason) or PLUMB_ENOMEM, never crash, hang or
 * read out of bounds (the sanitizers watch); and what it accepts must
 * survive being written and read again unchanged.  Built with libFuzzer
 * where clang is installed, and always with fuzz_driver.c's own mutator. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/readers.h"
#include "formats/writers.h"

static void die(const char *what)
{
    fprintf(stderr, "fuzz_pstats: %s\n", what);
    abort();
}

static int same(const plumb_stats *a, const plumb_stats *b)
{
    if (a->norder != b->norder || a->nedges != b->nedges)
        return 0;
    for (uint32_t i = 0; i < a->norder; i++) {
        const plumb_func *fa = &a->names.funcs[a->order[i]], *fb = &b->names.funcs[b->order[i]];
        const plumb_stat_counts *ca = &a->funcs[a->order[i]], *cb = &b->funcs[b->order[i]];
        if (strcmp(fa->file, fb->file) || strcmp(fa->name, fb->name) || fa->line != fb->line
            || ca->calls != cb->calls || ca->prim_calls != cb->prim_calls
            || memcmp(&ca->own, &cb->own, sizeof ca->own) || memcmp(&ca->total, &cb->total, sizeof ca->total))
            return 0;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    plumb_stats st;
    plumb_read_error err = {{0}};
    if (plumb_stats_init(&st) < 0)
        return 0;
    int rc = plumb_read_pstats(&st, data, size, &err);
    if (rc == PLUMB_EFORMAT && (err.message[0] == 0 || strchr(err.message, '\n')))
        die("a refusal without a one-line reason");
    if (rc != PLUMB_OK && rc != PLUMB_EFORMAT && rc != PLUMB_ENOMEM)
        die("an unexpected error code");
    if (rc == PLUMB_OK) {
        char *buf = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&buf, &len);
        if (!out || plumb_write_stats_pstats(&st, out) != PLUMB_OK || fclose(out) != 0)
            die("could not write what was read");
        plumb_stats again;
        if (plumb_stats_init(&again) < 0)
            die("out of memory");
        if (plumb_read_pstats(&again, buf, len, &err) != PLUMB_OK || !same(&st, &again))
            die("what was read does not survive a write and a read");
        plumb_stats_free(&again);
        free(buf);
    }
    plumb_stats_free(&st);
    return 0;
}
