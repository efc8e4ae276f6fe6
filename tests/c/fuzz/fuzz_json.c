/* Fuzz target: the plumb JSON reader (read_json.c) and the JSON parser
 * under it.  On any bytes it must return 0, PLUMB_EFORMAT with a one-line
 * reason, or PLUMB_ENOMEM, and never crash or read out of bounds; what it
 * accepts must keep every count of its tree, be written again as JSON that
 * reads back, and as pstats. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/readers.h"
#include "formats/sample_writers.h"

static void die(const char *what)
{
    fprintf(stderr, "fuzz json: %s\n", what);
    abort();
}

static int read_checked(const uint8_t *data, size_t size, plumb_json_profile *jp)
{
    plumb_read_error err = {{0}};
    int rc = plumb_read_json_profile(jp, data, size, &err);
    if (rc == PLUMB_EFORMAT && (err.message[0] == 0 || strchr(err.message, '\n')))
        die("a refusal without a one-line reason");
    if (rc != PLUMB_OK && rc != PLUMB_EFORMAT && rc != PLUMB_ENOMEM)
        die("an unexpected error code");
    if (rc == PLUMB_OK && jp->has_tree) {
        uint64_t total = 0;
        for (uint32_t i = 0; i < jp->tree.nnodes; i++)
            total += jp->tree.nodes[i].self;
        if (total != jp->tree.taken)
            die("counts lost between reading and the tree");
    }
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    plumb_json_profile jp;
    if (read_checked(data, size, &jp) != PLUMB_OK)
        return 0;
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    plumb_json_info info = {.kind = jp.kind, .creator = "fuzz", .tree_exact = jp.tree_exact};
    if (!out || plumb_write_json(out, &jp.stats, jp.has_tree ? &jp.tree : NULL, &info) != PLUMB_OK
        || fclose(out) != 0)
        die("could not write what was read");
    plumb_json_profile again;
    if (read_checked((const uint8_t *)buf, len, &again) != PLUMB_OK)
        die("what was written does not read back");
    if (again.stats.norder != jp.stats.norder || again.has_tree != jp.has_tree
        || (jp.has_tree && again.tree.taken != jp.tree.taken))
        die("the round trip changed the profile");
    plumb_json_profile_free(&again);
    free(buf);
    buf = NULL;
    out = open_memstream(&buf, &len);
    if (!out || plumb_write_stats_pstats(&jp.stats, out) != PLUMB_OK || fclose(out) != 0)
        die("could not write pstats");
    free(buf);
    plumb_json_profile_free(&jp);
    return 0;
}
