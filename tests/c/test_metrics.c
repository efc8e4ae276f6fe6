/* The histogram scheme at its edges (model/histogram.h) and the metrics
 * table's bounds (model/metrics.h). */
#include <stdint.h>
#include <string.h>

#include "base/errors.h"
#include "check.h"
#include "model/histogram.h"
#include "model/metrics.h"

#define B PLUMB_HIST_SUB_BITS

static void check_bucket(uint32_t key, uint64_t low, uint64_t high)
{
    uint64_t l = 0, h = 0;
    CHECK(plumb_hist_bounds(key, &l, &h) == PLUMB_OK);
    CHECK(l == low && h == high);
}

static void test_keys_at_the_edges(void)
{
    CHECK(plumb_hist_key(0) == 0);
    CHECK(plumb_hist_key(1) == 1);
    CHECK(plumb_hist_key((1u << B) - 1) == (1u << B) - 1);
    CHECK(plumb_hist_key(1u << B) == 1u << B);
    CHECK(plumb_hist_key((2u << B) - 1) == (2u << B) - 1);
    /* 64 starts the first octave of buckets two wide. */
    CHECK(plumb_hist_key(64) == 64 && plumb_hist_key(65) == 64 && plumb_hist_key(66) == 65);
    check_bucket(0, 0, 1);
    check_bucket(31, 31, 32);
    check_bucket(32, 32, 33);
    check_bucket(64, 64, 66);
    /* Each power of two from 2^B starts the octave's first bucket: key
     * (shift << B) + 32, and the value before it ends the octave below. */
    for (unsigned e = B; e < 36; e++) {
        uint64_t v = (uint64_t)1 << e;
        uint32_t key = ((e - B) << B) + (1u << B);
        CHECK(plumb_hist_key(v) == key);
        CHECK(plumb_hist_key(v - 1) == key - 1);
        check_bucket(key, v, v + ((uint64_t)1 << (e - B)));
    }
    /* The top: everything from 2^36 shares the last bucket. */
    CHECK(plumb_hist_key(PLUMB_HIST_LIMIT_US - 1) == PLUMB_HIST_KEYS - 1);
    CHECK(plumb_hist_key(PLUMB_HIST_LIMIT_US) == PLUMB_HIST_KEYS - 1);
    CHECK(plumb_hist_key((uint64_t)1 << 63) == PLUMB_HIST_KEYS - 1);
    CHECK(plumb_hist_key(UINT64_MAX) == PLUMB_HIST_KEYS - 1);
    check_bucket(PLUMB_HIST_KEYS - 1, PLUMB_HIST_LIMIT_US - ((uint64_t)1 << 30),
                 PLUMB_HIST_LIMIT_US);
    /* Keys outside the scheme are refused. */
    uint64_t l, h;
    double r;
    CHECK(!plumb_hist_key_valid(PLUMB_HIST_KEYS) && plumb_hist_key_valid(PLUMB_HIST_KEYS - 1));
    CHECK(plumb_hist_bounds(PLUMB_HIST_KEYS, &l, &h) == PLUMB_EINVAL);
    CHECK(plumb_hist_bounds(UINT64_MAX, &l, &h) == PLUMB_EINVAL);
    CHECK(plumb_hist_representative(PLUMB_HIST_KEYS, &r) == PLUMB_EINVAL);
    /* Every key's bucket starts where the last one ended. */
    uint64_t end = 0;
    for (uint32_t k = 0; k < PLUMB_HIST_KEYS; k++) {
        CHECK(plumb_hist_bounds(k, &l, &h) == PLUMB_OK);
        CHECK(l == end && plumb_hist_key(l) == k && plumb_hist_key(h - 1) == k);
        end = h;
    }
    CHECK(end == PLUMB_HIST_LIMIT_US);
}

static void test_quantile_edges(void)
{
    plumb_hist_pair pairs[] = {{3, 1}, {1000, 2}, {3, 1}};
    double us = -1;
    CHECK(plumb_hist_quantile(pairs, 3, 0, &us) == PLUMB_OK && us == 3);
    CHECK(plumb_hist_quantile(pairs, 3, 0.5, &us) == PLUMB_OK && us == 3);
    CHECK(plumb_hist_quantile(pairs, 3, 0.51, &us) == PLUMB_OK && us > 3);
    CHECK(plumb_hist_quantile(pairs, 0, 0.5, &us) == PLUMB_EINVAL);
    CHECK(plumb_hist_quantile(pairs, 3, 1.01, &us) == PLUMB_EINVAL);
    CHECK(plumb_hist_quantile(pairs, 3, -0.0001, &us) == PLUMB_EINVAL);
    plumb_hist_pair bad[] = {{PLUMB_HIST_KEYS, 1}};
    CHECK(plumb_hist_quantile(bad, 1, 0.5, &us) == PLUMB_EINVAL);
    plumb_hist_pair wrap[] = {{1, UINT64_MAX}, {2, 1}};
    CHECK(plumb_hist_quantile(wrap, 2, 0.5, &us) == PLUMB_EINVAL);
}

static plumb_request_measures request(uint64_t minute, uint32_t txn, uint64_t us)
{
    plumb_request_measures r;
    memset(&r, 0, sizeof r);
    r.minute = minute;
    r.txn = txn;
    r.duration_us = us;
    r.apdex_t_us = 500000;
    r.queue_us = -1;
    return r;
}

static void test_metrics_bound(void)
{
    plumb_metrics m;
    CHECK(plumb_metrics_init(&m, 0) == PLUMB_EINVAL);
    CHECK(plumb_metrics_init(&m, PLUMB_METRICS_MAX_ENTRIES + 1) == PLUMB_EINVAL);
    CHECK(plumb_metrics_init(&m, 3) == PLUMB_OK);
    for (uint32_t txn = 0; txn < 5; txn++) {
        plumb_request_measures r = request(60, txn, 1000);
        CHECK(plumb_metrics_record(&m, &r) == (txn < 3 ? PLUMB_OK : PLUMB_ELIMIT));
    }
    plumb_request_measures again = request(60, 1, 2000);
    CHECK(plumb_metrics_record(&m, &again) == PLUMB_OK);
    CHECK(m.count == 3 && m.dropped == 2);
    /* Out of range: refused, not counted as dropped. */
    plumb_request_measures bad = request(PLUMB_METRICS_MINUTE_LIMIT, 0, 1);
    CHECK(plumb_metrics_record(&m, &bad) == PLUMB_EINVAL);
    bad = request(60, UINT32_MAX, 1);
    CHECK(plumb_metrics_record(&m, &bad) == PLUMB_EINVAL);
    bad = request(60, 0, 1);
    bad.error = 2;
    CHECK(plumb_metrics_record(&m, &bad) == PLUMB_EINVAL);
    CHECK(m.dropped == 2);

    /* A bucket's count stops at UINT32_MAX: the record beyond is dropped. */
    plumb_metrics_entry *e = &m.entries[0];
    uint32_t key = plumb_hist_key(1000);
    plumb_hist_slot *slot = NULL;
    for (uint32_t i = 0; i < e->hist_capacity; i++)
        if (e->hist_slots[i].key_plus_one == key + 1)
            slot = &e->hist_slots[i];
    CHECK(slot != NULL);
    if (slot) {
        slot->count = UINT32_MAX - 1;
        plumb_request_measures r = request(60, 0, 1000);
        CHECK(plumb_metrics_record(&m, &r) == PLUMB_OK);
        CHECK(plumb_metrics_record(&m, &r) == PLUMB_ELIMIT);
        CHECK(m.dropped == 3 && e->count == 2);
    }

    /* Every key fits in one entry's histogram. */
    plumb_metrics_batch batch;
    CHECK(plumb_metrics_take(&m, &batch) == PLUMB_OK);
    CHECK(batch.count == 3 && m.count == 0 && m.dropped == 3);
    plumb_metrics_batch_free(&batch);
    for (uint32_t k = 0; k < PLUMB_HIST_KEYS; k++) {
        uint64_t low, high;
        plumb_hist_bounds(k, &low, &high);
        plumb_request_measures r = request(120, 7, high - 1);
        CHECK(plumb_metrics_record(&m, &r) == PLUMB_OK);
    }
    CHECK(m.count == 1 && m.entries[0].hist_used == PLUMB_HIST_KEYS);
    CHECK(m.entries[0].hist_capacity == 2 * PLUMB_HIST_KEYS);
    static plumb_hist_pair buckets[PLUMB_HIST_KEYS];
    CHECK(plumb_metrics_entry_buckets(&m.entries[0], buckets) == PLUMB_HIST_KEYS);
    for (uint32_t k = 0; k < PLUMB_HIST_KEYS; k++)
        CHECK(buckets[k].key == k && buckets[k].count == 1);
    plumb_metrics_free(&m);
}

int main(void)
{
    test_keys_at_the_edges();
    test_quantile_edges();
    test_metrics_bound();
    return check_report("histogram and metrics tests passed");
}
