/* Thread tags (sampler/thread_tags.h) and the sampler's counts by tag
 * (sampler/tag_counts.h), without Python: many threads writing their tags
 * while one reads them all, slots given up when threads end (and not
 * inherited by a thread that gets a dead one's id), a fork, more threads
 * than slots, and a full table of tag counts.  Built plain and with ASan+UBSan by the Makefile;
 * run it also under -fsanitize=thread by hand (see the Makefile). */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "base/errors.h"
#include "sampler/tag_counts.h"
#include "sampler/thread_tags.h"

#define WRITERS 16
#define WRITES 200000

static uint64_t writer_ids[WRITERS];
static pthread_barrier_t started;
static atomic_int writers_done;
static atomic_int seen_by_reader[WRITERS];

/* Writer i's tags: i + 1 in the top 16 bits, a counter below. */
static void *writer(void *arg)
{
    uint64_t i = (uint64_t)(uintptr_t)arg;
    writer_ids[i] = (uint64_t)pthread_self();
    pthread_barrier_wait(&started);
    uint64_t previous = 0;
    int ok = 1;
    for (uint64_t n = 1; n <= WRITES; n++) {
        /* Halfway, wait until the reader has seen one of our tags: a host
         * that runs the writers first (a loaded CI machine) would
         * otherwise let them all finish before the reader reads at all. */
        if (n == WRITES / 2)
            while (atomic_load(&seen_by_reader[i]) == 0)
                sched_yield();
        uint64_t tag = (i + 1) << 48 | n;
        ok &= plumb_thread_tag_set(tag) == previous;
        ok &= plumb_thread_tag() == tag;
        previous = tag;
    }
    CHECK(ok);
    atomic_fetch_add(&writers_done, 1);
    return NULL;
}

/* The reader sees each writer's own tags only, and never going back. */
static void test_many_writers_one_reader(void)
{
    uint32_t held_before = plumb_thread_tags_held();
    pthread_t threads[WRITERS];
    pthread_barrier_init(&started, NULL, WRITERS + 1);
    for (uintptr_t i = 0; i < WRITERS; i++)
        CHECK(pthread_create(&threads[i], NULL, writer, (void *)i) == 0);
    pthread_barrier_wait(&started);
    uint64_t last[WRITERS] = {0};
    int foreign = 0, backwards = 0;
    uint64_t tagged = 0;
    while (atomic_load(&writers_done) < WRITERS) {
        for (int i = 0; i < WRITERS; i++) {
            uint64_t tag = plumb_thread_tag_of(writer_ids[i]);
            if (tag == 0)
                continue;       /* before its first write */
            tagged++;
            atomic_store(&seen_by_reader[i], 1);
            foreign += (tag >> 48) != (uint64_t)i + 1;
            backwards += tag < last[i];
            last[i] = tag;
        }
    }
    for (int i = 0; i < WRITERS; i++)
        CHECK(pthread_join(threads[i], NULL) == 0);
    pthread_barrier_destroy(&started);
    CHECK(foreign == 0);
    CHECK(backwards == 0);
    CHECK(tagged >= WRITERS);
    /* Ended threads gave their slots up and read as untagged. */
    CHECK(plumb_thread_tags_held() == held_before);
    for (int i = 0; i < WRITERS; i++)
        CHECK(plumb_thread_tag_of(writer_ids[i]) == 0);
    CHECK(plumb_thread_tags_lost() == 0);
}

static void *tag_and_end(void *arg)
{
    *(uint64_t *)arg = (uint64_t)pthread_self();
    plumb_thread_tag_set(0xDEAD);
    return NULL;
}

static pthread_barrier_t reused_checked;

static void *wait_untagged(void *arg)
{
    *(uint64_t *)arg = (uint64_t)pthread_self();
    pthread_barrier_wait(&reused_checked);   /* id published */
    pthread_barrier_wait(&reused_checked);   /* main has read our tag */
    return NULL;
}

/* A thread that gets a dead thread's id (glibc reuses the stack, and so
 * the id, of a joined thread) does not inherit its tag. */
static void test_a_reused_id_has_no_tag(void)
{
    int reused = 0;
    for (int attempt = 0; attempt < 20; attempt++) {
        uint64_t dead = 0, alive = 0;
        pthread_t t;
        CHECK(pthread_create(&t, NULL, tag_and_end, &dead) == 0);
        CHECK(pthread_join(t, NULL) == 0);
        pthread_barrier_init(&reused_checked, NULL, 2);
        CHECK(pthread_create(&t, NULL, wait_untagged, &alive) == 0);
        pthread_barrier_wait(&reused_checked);
        CHECK(plumb_thread_tag_of(alive) == 0);
        reused += alive == dead;
        pthread_barrier_wait(&reused_checked);
        CHECK(pthread_join(t, NULL) == 0);
        pthread_barrier_destroy(&reused_checked);
    }
    printf("thread ids reused in %d of 20 attempts\n", reused);
}

static pthread_barrier_t fork_ready;
static uint64_t other_id;

static void *tagged_during_fork(void *arg)
{
    (void)arg;
    other_id = (uint64_t)pthread_self();
    plumb_thread_tag_set(0xF0F0);
    pthread_barrier_wait(&fork_ready);   /* tagged */
    pthread_barrier_wait(&fork_ready);   /* forked */
    return NULL;
}

/* In a forked child the forking thread keeps its slot and tag; the other
 * threads' slots are free (those threads are not in the child). */
static void test_fork(void)
{
    plumb_thread_tag_set(0xAB);
    pthread_barrier_init(&fork_ready, NULL, 2);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, tagged_during_fork, NULL) == 0);
    pthread_barrier_wait(&fork_ready);
    CHECK(plumb_thread_tag_of(other_id) == 0xF0F0);
    pid_t pid = fork();
    if (pid == 0) {
        int bad = 0;
        bad |= plumb_thread_tag() != 0xAB;
        bad |= plumb_thread_tag_of((uint64_t)pthread_self()) != 0xAB;
        bad |= plumb_thread_tag_of(other_id) != 0;
        bad |= plumb_thread_tags_held() != 1;
        bad |= plumb_thread_tag_set(0xAC) != 0xAB;
        bad |= plumb_thread_tag_of((uint64_t)pthread_self()) != 0xAC;
        _exit(bad);
    }
    CHECK(pid > 0);
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* The parent is untouched. */
    CHECK(plumb_thread_tag_of(other_id) == 0xF0F0);
    CHECK(plumb_thread_tag() == 0xAB);
    pthread_barrier_wait(&fork_ready);
    CHECK(pthread_join(t, NULL) == 0);
    pthread_barrier_destroy(&fork_ready);
    plumb_thread_tag_set(0);
}

#define CROWD (PLUMB_THREAD_TAG_SLOTS + 128)

static pthread_barrier_t crowd_tagged, crowd_checked;
static atomic_int crowd_round_trips;

static void *crowd_member(void *arg)
{
    uint64_t tag = (uint64_t)(uintptr_t)arg + 1;
    plumb_thread_tag_set(tag);
    /* Lost or not, a thread reads back its own tag. */
    if (plumb_thread_tag() == tag)
        atomic_fetch_add(&crowd_round_trips, 1);
    pthread_barrier_wait(&crowd_tagged);
    pthread_barrier_wait(&crowd_checked);
    return NULL;
}

/* More threads at once than slots: the ones that find no slot are counted
 * as lost, every thread still reads its own tag, and the slots come back
 * when they end. */
static void test_more_threads_than_slots(void)
{
    uint32_t held_before = plumb_thread_tags_held();
    uint64_t lost_before = plumb_thread_tags_lost();
    static pthread_t crowd[CROWD];
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    pthread_barrier_init(&crowd_tagged, NULL, CROWD + 1);
    pthread_barrier_init(&crowd_checked, NULL, CROWD + 1);
    for (uintptr_t i = 0; i < CROWD; i++)
        if (pthread_create(&crowd[i], &attr, crowd_member, (void *)i) != 0) {
            /* A limit on threads below CROWD: nothing to test here. */
            fprintf(stderr, "could not start %d threads; the crowded table is not tested\n", CROWD);
            exit(check_report("thread tags: checks passed (crowding not tested)"));
        }
    pthread_barrier_wait(&crowd_tagged);
    uint32_t held = plumb_thread_tags_held();
    uint64_t lost = plumb_thread_tags_lost() - lost_before;
    CHECK(held <= PLUMB_THREAD_TAG_SLOTS);
    CHECK(lost > 0 && held - held_before + lost == CROWD);
    CHECK(atomic_load(&crowd_round_trips) == CROWD);
    pthread_barrier_wait(&crowd_checked);
    for (int i = 0; i < CROWD; i++)
        CHECK(pthread_join(crowd[i], NULL) == 0);
    pthread_barrier_destroy(&crowd_tagged);
    pthread_barrier_destroy(&crowd_checked);
    pthread_attr_destroy(&attr);
    CHECK(plumb_thread_tags_held() == held_before);
    printf("%d threads at once: %llu found no slot\n", CROWD, (unsigned long long)lost);
}

static void test_tag_counts(void)
{
    plumb_tag_counts c;
    CHECK(plumb_tag_counts_init(&c, 3) == PLUMB_OK);
    CHECK(plumb_tag_counts_add(&c, 0, 5, 9) == PLUMB_OK && c.npairs == 0);   /* tag 0: not kept */
    CHECK(plumb_tag_counts_add(&c, 7, 5, 2) == PLUMB_OK);
    CHECK(plumb_tag_counts_add(&c, 7, 5, 3) == PLUMB_OK);
    CHECK(plumb_tag_counts_add(&c, 7, 6, 1) == PLUMB_OK);
    CHECK(plumb_tag_counts_add(&c, UINT64_MAX, 5, 4) == PLUMB_OK);
    CHECK(c.npairs == 3 && c.ntags == 2 && c.overflow == 0);
    /* Full: a new pair is counted in overflow; known pairs still count. */
    CHECK(plumb_tag_counts_add(&c, 8, 5, 10) == PLUMB_ELIMIT && c.overflow == 10);
    CHECK(plumb_tag_counts_add(&c, 7, 6, 1) == PLUMB_OK && c.overflow == 10);
    uint64_t sum[2] = {0, 0};
    for (uint32_t p = 0; p < c.npairs; p++)
        sum[c.tags[c.pairs[p].tag] == 7] += c.pairs[p].count;
    CHECK(sum[1] == 7 && sum[0] == 4);
    plumb_tag_counts_free(&c);
}

int main(void)
{
    test_tag_counts();
    test_many_writers_one_reader();
    test_a_reused_id_has_no_tag();
    test_fork();
    test_more_threads_than_slots();
    return check_report("thread tags: all checks passed");
}
