#include "model/metrics.h"

#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/grow.h"

/* A new entry's histogram: room for 8 buckets at half load, which a
 * steady transaction's minute often stays within. */
#define HIST_FIRST_SLOTS 16u
#define FIRST_ENTRIES 64u

static uint64_t entry_key(uint64_t minute, uint32_t txn)
{
    /* Never 0 (the map's empty key): txn + 1 >= 1. */
    return minute << 32 | ((uint64_t)txn + 1);
}

static int index_init(plumb_map *index)
{
    return plumb_map_init(index, 2 * FIRST_ENTRIES);
}

int plumb_metrics_init(plumb_metrics *m, uint32_t max_entries)
{
    memset(m, 0, sizeof *m);
    if (max_entries == 0 || max_entries > PLUMB_METRICS_MAX_ENTRIES)
        return PLUMB_EINVAL;
    m->max_entries = max_entries;
    return index_init(&m->index);
}

static void free_entries(plumb_metrics_entry *entries, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++)
        free(entries[i].hist_slots);
    free(entries);
}

void plumb_metrics_free(plumb_metrics *m)
{
    free_entries(m->entries, m->count);
    plumb_map_free(&m->index);
    memset(m, 0, sizeof *m);
}

/* Keys are 0..1023 and a histogram's sit close together; Fibonacci
 * hashing spreads neighbours over the table.  Keys come from durations,
 * not from files, and a table holds at most 1024 of them, so a fixed
 * multiplier can cost no more than a bounded scan. */
static uint32_t hist_home(uint32_t key, uint32_t capacity)
{
    uint32_t bits = (uint32_t)__builtin_ctz(capacity);
    return (key * 2654435769u) >> (32 - bits);
}

static plumb_hist_slot *hist_slot(plumb_hist_slot *slots, uint32_t capacity, uint32_t key)
{
    uint32_t mask = capacity - 1;
    for (uint32_t i = hist_home(key, capacity);; i = (i + 1) & mask) {
        if (slots[i].key_plus_one == key + 1 || slots[i].key_plus_one == 0)
            return &slots[i];
    }
}

/* Doubles the histogram's slots: a rehash into a fresh array, which
 * base/grow.h (realloc in place) does not do.  At most PLUMB_HIST_KEYS
 * keys at half load: never more than 2048 slots, so nothing here can
 * overflow. */
static int hist_grow(plumb_metrics_entry *e)
{
    uint32_t capacity = e->hist_capacity * 2;
    plumb_hist_slot *slots = calloc(capacity, sizeof *slots);
    if (!slots)
        return PLUMB_ENOMEM;
    for (uint32_t i = 0; i < e->hist_capacity; i++) {
        const plumb_hist_slot *old = &e->hist_slots[i];
        if (old->key_plus_one)
            *hist_slot(slots, capacity, old->key_plus_one - 1u) = *old;
    }
    free(e->hist_slots);
    e->hist_slots = slots;
    e->hist_capacity = capacity;
    return PLUMB_OK;
}

/* Counts one value in key's bucket, or fails leaving the histogram as it
 * was. */
static int hist_add(plumb_metrics_entry *e, uint32_t key)
{
    plumb_hist_slot *s = hist_slot(e->hist_slots, e->hist_capacity, key);
    if (s->key_plus_one) {
        if (s->count == UINT32_MAX)
            return PLUMB_ELIMIT;
        s->count++;
        return PLUMB_OK;
    }
    /* Load at most one half; at 1024 keys in 2048 slots every key fits. */
    if ((e->hist_used + 1) * 2 > e->hist_capacity) {
        int rc = hist_grow(e);
        if (rc < 0)
            return rc;
        s = hist_slot(e->hist_slots, e->hist_capacity, key);
    }
    s->key_plus_one = (uint16_t)(key + 1);
    s->count = 1;
    e->hist_used++;
    return PLUMB_OK;
}

/* The entry for (minute, txn), made if new (with its first histogram
 * slots, so that its first record needs no more memory). */
static int find_entry(plumb_metrics *m, uint64_t minute, uint32_t txn, plumb_metrics_entry **out)
{
    uint64_t key = entry_key(minute, txn);
    uint32_t i = plumb_map_get(&m->index, key);
    if (i != PLUMB_MAP_MISSING) {
        *out = &m->entries[i];
        return PLUMB_OK;
    }
    if (m->count >= m->max_entries)
        return PLUMB_ELIMIT;
    int rc = PLUMB_GROW(m->entries, &m->capacity, (size_t)m->count + 1, FIRST_ENTRIES,
                        m->max_entries);
    if (rc < 0)
        return rc;
    plumb_hist_slot *slots = calloc(HIST_FIRST_SLOTS, sizeof *slots);
    if (!slots)
        return PLUMB_ENOMEM;
    rc = plumb_map_put(&m->index, key, m->count);
    if (rc < 0) {
        free(slots);
        return rc;
    }
    plumb_metrics_entry *e = &m->entries[m->count++];
    memset(e, 0, sizeof *e);
    e->minute = minute;
    e->txn = txn;
    e->hist_slots = slots;
    e->hist_capacity = HIST_FIRST_SLOTS;
    e->min_us = UINT64_MAX;
    *out = e;
    return PLUMB_OK;
}

static inline void add_saturating(uint64_t *sum, uint64_t v)
{
    if (__builtin_add_overflow(*sum, v, sum))
        *sum = UINT64_MAX;
}

int plumb_metrics_record(plumb_metrics *m, const plumb_request_measures *r)
{
    if (r->minute >= PLUMB_METRICS_MINUTE_LIMIT || r->txn == UINT32_MAX
        || (r->error != 0 && r->error != 1))
        return PLUMB_EINVAL;
    plumb_metrics_entry *e;
    int rc = find_entry(m, r->minute, r->txn, &e);
    if (rc == PLUMB_OK)
        rc = hist_add(e, plumb_hist_key(r->duration_us));
    if (rc < 0) {
        m->dropped++;
        return rc;
    }
    uint64_t d = r->duration_us, t = r->apdex_t_us;
    uint64_t four_t = t > UINT64_MAX / 4 ? UINT64_MAX : 4 * t;
    e->count++;
    e->errors += (uint64_t)r->error;
    add_saturating(&e->total_us, d);
    if (d < e->min_us)
        e->min_us = d;
    if (d > e->max_us)
        e->max_us = d;
    if (r->error || d > four_t)
        e->frustrated++;
    else if (d > t)
        e->tolerating++;
    else
        e->satisfied++;
    if (r->queue_us >= 0) {
        add_saturating(&e->queue_us, (uint64_t)r->queue_us);
        e->queue_count++;
    }
    add_saturating(&e->sql_us, r->sql_us);
    add_saturating(&e->sql_count, r->sql_count);
    add_saturating(&e->template_us, r->template_us);
    add_saturating(&e->template_count, r->template_count);
    add_saturating(&e->http_us, r->http_us);
    add_saturating(&e->http_count, r->http_count);
    return PLUMB_OK;
}

int plumb_metrics_take(plumb_metrics *m, plumb_metrics_batch *out)
{
    plumb_map fresh;
    int rc = index_init(&fresh);
    if (rc < 0)
        return rc;
    plumb_map_free(&m->index);
    m->index = fresh;
    out->entries = m->entries;
    out->count = m->count;
    m->entries = NULL;
    m->count = m->capacity = 0;
    return PLUMB_OK;
}

void plumb_metrics_batch_free(plumb_metrics_batch *b)
{
    free_entries(b->entries, b->count);
    b->entries = NULL;
    b->count = 0;
}

static int by_key(const void *a, const void *b)
{
    uint32_t x = ((const plumb_hist_pair *)a)->key, y = ((const plumb_hist_pair *)b)->key;
    return (x > y) - (x < y);
}

uint32_t plumb_metrics_entry_buckets(const plumb_metrics_entry *e, plumb_hist_pair *out)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < e->hist_capacity; i++) {
        if (e->hist_slots[i].key_plus_one) {
            out[n].key = e->hist_slots[i].key_plus_one - 1u;
            out[n].count = e->hist_slots[i].count;
            n++;
        }
    }
    qsort(out, n, sizeof *out, by_key);
    return n;
}
