#include "sampler/tag_counts.h"

#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/grow.h"

int plumb_tag_counts_init(plumb_tag_counts *c, uint32_t limit)
{
    memset(c, 0, sizeof *c);
    c->limit = limit;
    if (plumb_map_init(&c->tag_index, 64) < 0 || plumb_map_init(&c->pair_index, 256) < 0) {
        plumb_tag_counts_free(c);
        return PLUMB_ENOMEM;
    }
    return PLUMB_OK;
}

void plumb_tag_counts_free(plumb_tag_counts *c)
{
    plumb_map_free(&c->tag_index);
    plumb_map_free(&c->pair_index);
    free(c->tags);
    free(c->pairs);
    memset(c, 0, sizeof *c);
}

static int no_room(plumb_tag_counts *c, uint64_t count, int rc)
{
    c->overflow += count;
    return rc;
}

int plumb_tag_counts_add(plumb_tag_counts *c, uint64_t tag, uint32_t leaf, uint64_t count)
{
    if (tag == 0 || count == 0)
        return PLUMB_OK;
    uint32_t t = plumb_map_get(&c->tag_index, tag);
    if (t != PLUMB_MAP_MISSING) {
        uint32_t p = plumb_map_get(&c->pair_index, ((uint64_t)t + 1) << 32 | leaf);
        if (p != PLUMB_MAP_MISSING) {
            c->pairs[p].count += count;
            return PLUMB_OK;
        }
    }
    /* A new pair (and maybe a new tag: never more tags than pairs). */
    if (c->npairs >= c->limit)
        return no_room(c, count, PLUMB_ELIMIT);
    int rc = PLUMB_GROW(c->pairs, &c->pairs_capacity, (size_t)c->npairs + 1, 256, c->limit);
    if (rc < 0)
        return no_room(c, count, rc);
    if (t == PLUMB_MAP_MISSING) {
        rc = PLUMB_GROW(c->tags, &c->tags_capacity, (size_t)c->ntags + 1, 64, c->limit);
        if (rc == PLUMB_OK)
            rc = plumb_map_put(&c->tag_index, tag, c->ntags);
        if (rc < 0)
            return no_room(c, count, rc);
        t = c->ntags;
        c->tags[c->ntags++] = tag;
    }
    if (plumb_map_put(&c->pair_index, ((uint64_t)t + 1) << 32 | leaf, c->npairs) < 0)
        return no_room(c, count, PLUMB_ENOMEM);
    c->pairs[c->npairs++] = (plumb_tag_count){.tag = t, .leaf = leaf, .count = count};
    return PLUMB_OK;
}
