/* The C tests' one assertion: report the failed condition and go on, so
 * that one run shows every failure; main returns check_report(). */
#ifndef PLUMB_TEST_CHECK_H
#define PLUMB_TEST_CHECK_H

#include <stdio.h>

static int check_failures;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            check_failures++;                                                        \
        }                                                                            \
    } while (0)

/* 0 if every check passed (printing `passed`), 1 otherwise. */
static inline int check_report(const char *passed)
{
    if (check_failures) {
        fprintf(stderr, "%d check(s) failed\n", check_failures);
        return 1;
    }
    printf("%s\n", passed);
    return 0;
}

#endif
