#include "rnd.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

static struct {
    pthread_once_t once;
    pthread_mutex_t lock;
    int on;
    uint8_t key[32];
    uint64_t counter;
} test_rng = {PTHREAD_ONCE_INIT, PTHREAD_MUTEX_INITIALIZER, 0, {0}, 0};

static void
test_rng_init(void)
{
    const char *seed = getenv("COLDMAIL_TEST_SEED");

    if (seed == NULL || *seed == '\0')
        return;
    SHA256((const unsigned char *)seed, strlen(seed), test_rng.key);
    test_rng.on = 1;
}

int
rnd_is_deterministic(void)
{
    pthread_once(&test_rng.once, test_rng_init);
    return test_rng.on;
}

static void
test_rng_fill(uint8_t *p, size_t n)
{
    uint8_t block[SHA256_DIGEST_LENGTH], in[40];

    pthread_mutex_lock(&test_rng.lock);
    while (n > 0) {
        size_t take = n < sizeof block ? n : sizeof block;
        memcpy(in, test_rng.key, 32);
        for (int i = 0; i < 8; i++)
            in[32 + i] = (uint8_t)(test_rng.counter >> (8 * i));
        test_rng.counter++;
        SHA256(in, sizeof in, block);
        memcpy(p, block, take);
        p += take;
        n -= take;
    }
    pthread_mutex_unlock(&test_rng.lock);
    OPENSSL_cleanse(block, sizeof block);
}

int
rnd_bytes(void *p, size_t n, struct cm_err *err)
{
    if (rnd_is_deterministic()) {
        test_rng_fill(p, n);
        return 0;
    }
    while (n > 0) {
        int take = n > 1u << 20 ? 1 << 20 : (int)n;
        if (RAND_bytes(p, take) != 1)
            return cm_fail(err, CM_EINTERNAL,
                           "the random number generator failed");
        p = (uint8_t *)p + take;
        n -= (size_t)take;
    }
    return 0;
}
