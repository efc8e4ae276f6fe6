/* The sampler's samples by thread tag (thread_tags.h): per (tag, leaf node
 * of the call tree), how many samples, counted with the tree's own weights.
 * Kept beside the tree in the sampler, not in plumb_samples: tags are what
 * a running program was doing, which only the in-process sampler knows;
 * the tree is what every reader and writer shares, and none of them has
 * tags.  The sampler hands both over together at a harvest, since leaf
 * indices are the tree's.
 *
 * Tag 0 (nothing) is not stored: a leaf's untagged samples are its self
 * count less its tagged ones.  So a sample that finds the table full is
 * counted under 0 simply by not being counted here (and in overflow). */
#ifndef PLUMB_TAG_COUNTS_H
#define PLUMB_TAG_COUNTS_H

#include <stdint.h>

#include "base/map.h"

/* Default bound on (tag, leaf) pairs: a minute at 1 kHz of 4 busy threads
 * whose every sample is a new pair. */
#define PLUMB_TAG_COUNTS_LIMIT (1u << 18)

typedef struct plumb_tag_count {
    uint32_t tag;        /* index into plumb_tag_counts.tags */
    uint32_t leaf;       /* node of the call tree */
    uint64_t count;
} plumb_tag_count;

typedef struct plumb_tag_counts {
    plumb_map tag_index;          /* tag (non-zero) -> index into tags */
    uint64_t *tags;
    uint32_t ntags, tags_capacity;
    plumb_map pair_index;         /* (tag index + 1) << 32 | leaf -> index into pairs */
    plumb_tag_count *pairs;
    uint32_t npairs, pairs_capacity;
    uint32_t limit;               /* pairs at most */
    uint64_t overflow;            /* samples counted under 0 for want of room */
} plumb_tag_counts;

int plumb_tag_counts_init(plumb_tag_counts *c, uint32_t limit);
void plumb_tag_counts_free(plumb_tag_counts *c);

/* Counts count samples of leaf under tag.  Tag 0 is a no-op.  Without room
 * (limit reached: PLUMB_ELIMIT; out of memory: PLUMB_ENOMEM) they are added
 * to overflow instead, and so stay under 0. */
int plumb_tag_counts_add(plumb_tag_counts *c, uint64_t tag, uint32_t leaf, uint64_t count);

#endif
