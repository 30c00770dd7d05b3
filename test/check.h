/*
 * check.h: the few assertions the unit tests need.  A failed CHECK prints
 * file, line and expression, counts the failure and carries on; main()
 * ends with `return check_report();`, which exits non-zero on any failure.
 */
#ifndef CHECK_H
#define CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failures;
static int check_passes;

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (cond) {                                                            \
            check_passes++;                                                    \
        } else {                                                               \
            check_failures++;                                                  \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                    \
        }                                                                      \
    } while (0)

#define CHECK_INT_EQ(a, b)                                                     \
    do {                                                                       \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);        \
        if (check_a_ == check_b_) {                                            \
            check_passes++;                                                    \
        } else {                                                               \
            check_failures++;                                                  \
            fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%lld != %lld)\n",  \
                    __FILE__, __LINE__, #a, #b, check_a_, check_b_);           \
        }                                                                      \
    } while (0)

#define CHECK_STR_EQ(a, b)                                                     \
    do {                                                                       \
        const char *check_a_ = (a), *check_b_ = (b);                           \
        if (check_a_ != NULL && check_b_ != NULL &&                            \
            strcmp(check_a_, check_b_) == 0) {                                 \
            check_passes++;                                                    \
        } else {                                                               \
            check_failures++;                                                  \
            fprintf(stderr, "%s:%d: CHECK failed: %s == %s (\"%s\" != \"%s\")\n", \
                    __FILE__, __LINE__, #a, #b,                                \
                    check_a_ ? check_a_ : "(null)",                            \
                    check_b_ ? check_b_ : "(null)");                           \
        }                                                                      \
    } while (0)

#define CHECK_STR_HAS(hay, needle)                                             \
    do {                                                                       \
        const char *check_h_ = (hay), *check_n_ = (needle);                    \
        if (check_h_ != NULL && strstr(check_h_, check_n_) != NULL) {          \
            check_passes++;                                                    \
        } else {                                                               \
            check_failures++;                                                  \
            fprintf(stderr, "%s:%d: CHECK failed: \"%s\" contains \"%s\"\n",   \
                    __FILE__, __LINE__, check_h_ ? check_h_ : "(null)",        \
                    check_n_);                                                 \
        }                                                                      \
    } while (0)

#define CHECK_MEM_EQ(a, b, n)                                                  \
    do {                                                                       \
        if (memcmp((a), (b), (n)) == 0) {                                      \
            check_passes++;                                                    \
        } else {                                                               \
            check_failures++;                                                  \
            fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%zu bytes)\n",     \
                    __FILE__, __LINE__, #a, #b, (size_t)(n));                  \
        }                                                                      \
    } while (0)

static inline int
check_report(void)
{
    fprintf(stderr, "%d checks passed, %d failed\n", check_passes,
            check_failures);
    return check_failures == 0 ? 0 : 1;
}

#endif
