/* Per-transaction metrics, as production monitoring keeps them between two
 * harvests: one accumulator per (minute, transaction), holding what
 * plumb/monitor/harvest.py's TransactionMinute holds (counts, errors,
 * times, apdex, queue time, SQL, templates, outbound HTTP) and a latency
 * histogram (model/histogram.h).
 *
 * A record runs inside every request of a production site, so it does no
 * allocation once its entry and bucket exist: one probe of the entry index,
 * one of the entry's histogram, a few adds.  Memory is bounded: at most
 * max_entries entries, each histogram at most PLUMB_HIST_KEYS buckets, and
 * a record that would go beyond (or that needs memory the system refuses)
 * is dropped and counted, never half applied.
 *
 * The table takes no lock: its one caller (the binding) holds the GIL. */
#ifndef PLUMB_METRICS_H
#define PLUMB_METRICS_H

#include <stdint.h>

#include "base/map.h"
#include "model/histogram.h"

/* The most entries a table may be given (an entry is 160 bytes
 * before its histogram). */
#define PLUMB_METRICS_MAX_ENTRIES ((uint32_t)1 << 24)
/* minute is below this (Unix seconds: until 2106), txn below UINT32_MAX. */
#define PLUMB_METRICS_MINUTE_LIMIT ((uint64_t)1 << 32)

/* What one request measured.  Times in microseconds. */
typedef struct plumb_request_measures {
    uint64_t minute;        /* the minute's start, Unix seconds */
    uint32_t txn;           /* the transaction's index (names are the caller's) */
    int error;              /* 0 or 1 */
    uint64_t duration_us;
    uint64_t apdex_t_us;    /* T: satisfied <= T, tolerating <= 4T, both without error */
    int64_t queue_us;       /* negative: the request carried no queue time */
    uint64_t sql_us, sql_count;
    uint64_t template_us, template_count;
    uint64_t http_us, http_count;
} plumb_request_measures;

/* One bucket of an entry's histogram: key + 1 (0 marks an empty slot). */
typedef struct plumb_hist_slot {
    uint16_t key_plus_one;
    uint32_t count;
} plumb_hist_slot;

typedef struct plumb_metrics_entry {
    uint64_t minute;
    uint32_t txn;
    uint32_t hist_used;        /* buckets in hist_slots */
    uint32_t hist_capacity;    /* slots: a power of two, at most 2 * PLUMB_HIST_KEYS */
    plumb_hist_slot *hist_slots;
    /* Sums saturate at UINT64_MAX rather than wrap. */
    uint64_t count, errors, total_us, min_us, max_us;
    uint64_t satisfied, tolerating, frustrated;
    uint64_t queue_us, queue_count;
    uint64_t sql_us, sql_count, template_us, template_count, http_us, http_count;
} plumb_metrics_entry;

/* What a take moved out: entries in the order they were first recorded. */
typedef struct plumb_metrics_batch {
    plumb_metrics_entry *entries;
    uint32_t count;
} plumb_metrics_batch;

typedef struct plumb_metrics {
    plumb_metrics_entry *entries;
    uint32_t count, capacity;
    uint32_t max_entries;
    plumb_map index;          /* (minute << 32 | txn + 1) -> entry */
    uint64_t dropped;         /* records dropped since init */
} plumb_metrics;

/* An empty table of at most max_entries (1 .. PLUMB_METRICS_MAX_ENTRIES)
 * entries.  PLUMB_EINVAL or PLUMB_ENOMEM. */
int plumb_metrics_init(plumb_metrics *m, uint32_t max_entries);
void plumb_metrics_free(plumb_metrics *m);

/* Adds one request to its (minute, txn) entry.  0; or, the record dropped
 * and counted in m->dropped: PLUMB_ELIMIT (max_entries reached, or a
 * bucket's count at UINT32_MAX), PLUMB_ENOMEM.  PLUMB_EINVAL (not counted)
 * for a minute or txn out of range, or error not 0 or 1. */
int plumb_metrics_record(plumb_metrics *m, const plumb_request_measures *r);

/* Moves every entry into *out and leaves the table empty (dropped is
 * kept).  PLUMB_ENOMEM (the table as it was) if the empty index cannot be
 * made. */
int plumb_metrics_take(plumb_metrics *m, plumb_metrics_batch *out);
void plumb_metrics_batch_free(plumb_metrics_batch *b);

/* The entry's buckets in key order, into out (room for PLUMB_HIST_KEYS);
 * returns how many. */
uint32_t plumb_metrics_entry_buckets(const plumb_metrics_entry *e, plumb_hist_pair *out);

#endif
