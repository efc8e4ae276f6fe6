/* A fuzzing driver for when libFuzzer is not at hand (gcc): mutates the
 * seed files given on the command line at random, with a fixed seed so a
 * failure can be replayed, and runs LLVMFuzzerTestOneInput on each input
 * until the time runs out.
 *
 *     fuzz_driver SECONDS SEED_FILE...
 *
 * Mutations favour what breaks readers of length-prefixed formats: bytes
 * set to the format's type codes, lengths made huge, cuts, repeats and
 * splices of two seeds. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT (1 << 20)

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *buf = malloc(MAX_INPUT);
    *len = buf ? fread(buf, 1, MAX_INPUT, f) : 0;
    fclose(f);
    return buf;
}

static uint32_t rnd(uint64_t *state)
{
    *state = *state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(*state >> 33);
}

static const unsigned char SPECIAL[] = {0, 0xff, 0x7f, 0x80, '{', '}', '(', ')', '0', 'r',
                                        'u', 'z', 'a', 'i', 'l', 'g', 'f', 't', 0x80 | 'r',
                                        0x80 | ')', 0x80 | 'z', 0x80 | 'u'};

static size_t mutate(unsigned char *buf, size_t len, size_t cap, const unsigned char *other,
                     size_t other_len, uint64_t *state)
{
    int steps = 1 + (int)(rnd(state) % 4);
    for (int s = 0; s < steps; s++) {
        size_t at = len ? rnd(state) % len : 0;
        switch (rnd(state) % 7) {
        case 0:   /* flip a bit */
            if (len)
                buf[at] ^= (unsigned char)(1u << (rnd(state) % 8));
            break;
        case 1:   /* a type code */
            if (len)
                buf[at] = SPECIAL[rnd(state) % sizeof SPECIAL];
            break;
        case 2: { /* a length: huge, negative, or off by one */
            static const uint32_t values[] = {0xffffffffu, 0x7fffffffu, 0x80000000u, 0, 1, 255, 256};
            uint32_t v = values[rnd(state) % 7];
            if (len >= 4 && at <= len - 4)
                memcpy(buf + at, &v, 4);
            break;
        }
        case 3:   /* cut */
            len = at;
            break;
        case 4: { /* repeat a chunk */
            size_t n = len - at < 64 ? len - at : 64;
            if (len + n <= cap) {
                memmove(buf + at + n, buf + at, len - at);
                len += n;
            }
            break;
        }
        case 5: { /* delete a chunk */
            size_t n = (rnd(state) % 16) + 1;
            if (at + n <= len) {
                memmove(buf + at, buf + at + n, len - at - n);
                len -= n;
            }
            break;
        }
        case 6: { /* splice in part of another seed */
            if (other_len) {
                size_t from = rnd(state) % other_len, n = other_len - from;
                if (at + n > cap)
                    n = cap - at;
                memcpy(buf + at, other + from, n);
                len = at + n;
            }
            break;
        }
        }
    }
    return len;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: fuzz_driver SECONDS SEED_FILE...\n");
        return 2;
    }
    double seconds = atof(argv[1]);
    int nseeds = argc - 2;
    unsigned char **seeds = calloc((size_t)nseeds, sizeof *seeds);
    size_t *lens = calloc((size_t)nseeds, sizeof *lens);
    for (int i = 0; i < nseeds; i++) {
        seeds[i] = read_file(argv[i + 2], &lens[i]);
        if (!seeds[i]) {
            fprintf(stderr, "fuzz_driver: cannot read %s\n", argv[i + 2]);
            return 2;
        }
        LLVMFuzzerTestOneInput(seeds[i], lens[i]);   /* the seeds as they are */
    }
    unsigned char *buf = malloc(MAX_INPUT);
    uint64_t state = 0x5eed;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    unsigned long runs = 0;
    for (;;) {
        int a = (int)(rnd(&state) % (uint32_t)nseeds), b = (int)(rnd(&state) % (uint32_t)nseeds);
        memcpy(buf, seeds[a], lens[a]);
        size_t len = mutate(buf, lens[a], MAX_INPUT, seeds[b], lens[b], &state);
        /* A copy of exactly len bytes, so reading past the end is caught. */
        unsigned char *input = malloc(len ? len : 1);
        memcpy(input, buf, len);
        LLVMFuzzerTestOneInput(input, len);
        free(input);
        runs++;
        if (runs % 256 == 0) {
            clock_gettime(CLOCK_MONOTONIC, &t);
            if ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 >= seconds)
                break;
        }
    }
    printf("fuzz_driver: %lu inputs from %d seeds, no failure\n", runs, nseeds);
    for (int i = 0; i < nseeds; i++)
        free(seeds[i]);
    free(seeds);
    free(lens);
    free(buf);
    return 0;
}
