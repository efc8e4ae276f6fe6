#define _GNU_SOURCE
#include "base/hash.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static struct {
    uint64_t k0, k1, multiplier;
} key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static uint64_t mix64(uint64_t x)
{
    /* splitmix64's finalizer: spreads a weak seed's few varying bits. */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* The key, drawn once.  getrandom never blocks with GRND_NONBLOCK; where it
 * fails (no entropy yet at early boot, a seccomp filter, an old kernel)
 * /dev/urandom is tried, then the clock, pid and an address (ASLR): weaker,
 * but still not known in advance to someone writing a file. */
static void draw_key(void)
{
    uint64_t k[3];
    size_t got = 0;
    while (got < sizeof k) {
        ssize_t n = getrandom((char *)k + got, sizeof k - got, GRND_NONBLOCK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got < sizeof k) {
        int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        got = 0;
        while (fd >= 0 && got < sizeof k) {
            ssize_t n = read(fd, (char *)k + got, sizeof k - got);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            got += (size_t)n;
        }
        if (fd >= 0)
            close(fd);
    }
    if (got < sizeof k) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t seed = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
        seed ^= (uint64_t)getpid() << 32 ^ (uint64_t)(uintptr_t)&seed;
        for (int i = 0; i < 3; i++)
            k[i] = mix64(seed + 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1));
    }
    key.k0 = k[0];
    key.k1 = k[1];
    key.multiplier = k[2] | 1;
}

static void ensure_key(void)
{
    pthread_once(&key_once, draw_key);
}

uint64_t plumb_hash_multiplier(void)
{
    ensure_key();
    return key.multiplier;
}

void plumb_hash_set_key_for_tests(uint64_t k0, uint64_t k1, uint64_t multiplier)
{
    ensure_key();
    key.k0 = k0;
    key.k1 = k1;
    key.multiplier = multiplier | 1;
}

/* SipHash (Aumasson and Bernstein), one word at a time. */
static inline uint64_t rotl(uint64_t x, int b)
{
    return x << b | x >> (64 - b);
}

typedef struct sip {
    uint64_t v0, v1, v2, v3;
} sip;

static inline void round_(sip *s)
{
    s->v0 += s->v1;
    s->v1 = rotl(s->v1, 13);
    s->v1 ^= s->v0;
    s->v0 = rotl(s->v0, 32);
    s->v2 += s->v3;
    s->v3 = rotl(s->v3, 16);
    s->v3 ^= s->v2;
    s->v0 += s->v3;
    s->v3 = rotl(s->v3, 21);
    s->v3 ^= s->v0;
    s->v2 += s->v1;
    s->v1 = rotl(s->v1, 17);
    s->v1 ^= s->v2;
    s->v2 = rotl(s->v2, 32);
}

static inline void compress(sip *s, uint64_t m, int c_rounds)
{
    s->v3 ^= m;
    for (int i = 0; i < c_rounds; i++)
        round_(s);
    s->v0 ^= m;
}

static inline sip start(uint64_t k0, uint64_t k1)
{
    return (sip){.v0 = k0 ^ 0x736f6d6570736575ull, .v1 = k1 ^ 0x646f72616e646f6dull,
                 .v2 = k0 ^ 0x6c7967656e657261ull, .v3 = k1 ^ 0x7465646279746573ull};
}

static inline uint64_t finish(sip s, uint64_t tail, uint64_t len, int c_rounds, int d_rounds)
{
    compress(&s, tail | len << 56, c_rounds);
    s.v2 ^= 0xff;
    for (int i = 0; i < d_rounds; i++)
        round_(&s);
    return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

/* Little-endian, as SipHash is defined, whatever the machine. */
static inline uint64_t load64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

uint64_t plumb_siphash(uint64_t k0, uint64_t k1, int c_rounds, int d_rounds, const void *data,
                       size_t len)
{
    const unsigned char *p = data;
    sip s = start(k0, k1);
    size_t words = len / 8;
    for (size_t i = 0; i < words; i++)
        compress(&s, load64(p + 8 * i), c_rounds);
    uint64_t tail = 0;
    for (size_t i = 0; i < len % 8; i++)
        tail |= (uint64_t)p[8 * words + i] << (8 * i);
    return finish(s, tail, len, c_rounds, d_rounds);
}

uint64_t plumb_hash_bytes(const void *data, size_t len)
{
    ensure_key();
    return plumb_siphash(key.k0, key.k1, 1, 3, data, len);
}

void plumb_hasher_init(plumb_hasher *h)
{
    ensure_key();
    sip s = start(key.k0, key.k1);
    *h = (plumb_hasher){.v0 = s.v0, .v1 = s.v1, .v2 = s.v2, .v3 = s.v3};
}

void plumb_hasher_add(plumb_hasher *h, const void *data, size_t len)
{
    const unsigned char *p = data;
    sip s = {h->v0, h->v1, h->v2, h->v3};
    unsigned fill = (unsigned)(h->len % 8);
    h->len += len;
    /* Top up an unfinished word first, then whole words, then keep the
     * rest as the new unfinished word. */
    while (fill != 0 && len > 0) {
        h->tail |= (uint64_t)*p++ << (8 * fill);
        len--;
        if (++fill == 8) {
            compress(&s, h->tail, 1);
            h->tail = 0;
            fill = 0;
        }
    }
    for (; len >= 8; p += 8, len -= 8)
        compress(&s, load64(p), 1);
    for (unsigned i = 0; i < len; i++)
        h->tail |= (uint64_t)p[i] << (8 * (fill + i));
    h->v0 = s.v0;
    h->v1 = s.v1;
    h->v2 = s.v2;
    h->v3 = s.v3;
}

uint64_t plumb_hasher_end(const plumb_hasher *h)
{
    sip s = {h->v0, h->v1, h->v2, h->v3};
    return finish(s, h->tail, h->len, 1, 3);
}
