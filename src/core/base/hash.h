/* Hashing with a key chosen per process.  Names (function labels, file
 * names) come from profiled programs and from files plumb reads, so they
 * may be chosen by someone: with a fixed hash, names built to collide turn
 * each lookup into a scan and a read into quadratic time.  SipHash-1-3 (as
 * CPython and Rust hash strings) keyed with 128 random bits per process
 * leaves no way to build such names without knowing the key, and the
 * tables' integer keys are spread by a per-process random odd multiplier
 * (multiply-shift, a universal family) for the same reason.
 *
 * Nothing written depends on the key: every writer lists items in their
 * own order (first seen, or sorted), never in a table's slot order, so a
 * file written twice is the same file. */
#ifndef PLUMB_HASH_H
#define PLUMB_HASH_H

#include <stddef.h>
#include <stdint.h>

/* SipHash-1-3 of bytes, under this process's key. */
uint64_t plumb_hash_bytes(const void *data, size_t len);

/* The same, fed in pieces: hashing a label's file, separator, name and
 * line without building one string. */
typedef struct plumb_hasher {
    uint64_t v0, v1, v2, v3;
    uint64_t tail;        /* the bytes of an unfinished 8-byte word */
    uint64_t len;         /* bytes fed so far */
} plumb_hasher;

void plumb_hasher_init(plumb_hasher *h);
void plumb_hasher_add(plumb_hasher *h, const void *data, size_t len);
uint64_t plumb_hasher_end(const plumb_hasher *h);

/* The odd multiplier of the tables' integer hashing (base/map.h). */
uint64_t plumb_hash_multiplier(void);

/* Replaces the process's key and multiplier: for deterministic tests
 * only, before any table exists (tables hashed under the old key would no
 * longer find their entries). */
void plumb_hash_set_key_for_tests(uint64_t k0, uint64_t k1, uint64_t multiplier);

/* SipHash-c-d with an explicit key, for the tests' reference vectors. */
uint64_t plumb_siphash(uint64_t k0, uint64_t k1, int c_rounds, int d_rounds, const void *data,
                       size_t len);

#endif
