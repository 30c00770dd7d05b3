/*
 * rnd: random bytes for keys, nonces and set ids.
 *
 * From OpenSSL's RAND_bytes, except in tests: when COLDMAIL_TEST_SEED is set
 * the bytes come from SHA-256 in counter mode over the seed, so that a test
 * can produce the same set twice and compare it with a golden copy.
 */
#ifndef RND_H
#define RND_H

#include <stddef.h>
#include <stdint.h>

#include "cm.h"

/* Fill ${p} with ${n} random bytes.  0, or -1 with CM_EINTERNAL. */
int rnd_bytes(void *p, size_t n, struct cm_err *err);

/* Is the deterministic test generator in use? */
int rnd_is_deterministic(void);

#endif
