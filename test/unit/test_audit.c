#include "audit.h"

#include <jansson.h>

#include "buf.h"
#include "check.h"

static void
test_splitmix(void)
{
    struct audit_rng r;

    /* Reference outputs of SplitMix64 from state 0. */
    audit_rng_seed(&r, 0);
    CHECK(audit_rng_next(&r) == 0xe220a8397b1dcdafull);
    CHECK(audit_rng_next(&r) == 0x6e789e6aa1b965f4ull);
    CHECK(audit_rng_next(&r) == 0x06c45d188009454full);
}

static void
test_below(void)
{
    struct audit_rng r;
    unsigned counts[10] = {0};

    audit_rng_seed(&r, 42);
    for (int i = 0; i < 100000; i++) {
        uint64_t x = audit_rng_below(&r, 10);
        CHECK(x < 10);
        if (x < 10)
            counts[x]++;
    }
    for (int i = 0; i < 10; i++)
        CHECK(counts[i] > 9500 && counts[i] < 10500);
    audit_rng_seed(&r, 1);
    for (int i = 0; i < 1000; i++)
        CHECK(audit_rng_below(&r, 1) == 0);
    /* A bound just above 2^63 rejects about half the draws; still below. */
    for (int i = 0; i < 1000; i++)
        CHECK(audit_rng_below(&r, (1ull << 63) + 1) <= (1ull << 63));
}

/* The items kept when sampling ${n} of ${total} with ${seed}. */
static void
sample(uint64_t n, uint64_t total, uint64_t seed, uint64_t *kept)
{
    struct audit_reservoir s;

    audit_reservoir_init(&s, n, seed);
    for (uint64_t i = 0; i < total; i++) {
        int64_t slot = audit_reservoir_offer(&s);
        CHECK(slot < (int64_t)n);
        if (slot >= 0)
            kept[slot] = i;
    }
}

static void
test_reservoir_reproducible(void)
{
    uint64_t a[5], b[5], c[5];

    sample(5, 1000, 7, a);
    sample(5, 1000, 7, b);
    sample(5, 1000, 8, c);
    CHECK_MEM_EQ(a, b, sizeof a);
    CHECK(memcmp(a, c, sizeof a) != 0);
    /* Distinct items. */
    for (int i = 0; i < 5; i++)
        for (int j = i + 1; j < 5; j++)
            CHECK(a[i] != a[j]);
}

static void
test_reservoir_small(void)
{
    uint64_t kept[8];

    memset(kept, 0xff, sizeof kept);
    sample(8, 3, 1, kept);
    CHECK_INT_EQ(kept[0], 0);
    CHECK_INT_EQ(kept[1], 1);
    CHECK_INT_EQ(kept[2], 2);
    CHECK(kept[3] == UINT64_MAX);
}

/* 3 of 10, over 30000 seeds: each item about 9000 times. */
static void
test_reservoir_uniform(void)
{
    unsigned hits[10] = {0};
    uint64_t kept[3];

    for (uint64_t seed = 0; seed < 30000; seed++) {
        sample(3, 10, seed, kept);
        for (int i = 0; i < 3; i++)
            hits[kept[i]]++;
    }
    for (int i = 0; i < 10; i++) {
        if (hits[i] <= 8600 || hits[i] >= 9400)
            fprintf(stderr, "item %d picked %u times\n", i, hits[i]);
        CHECK(hits[i] > 8600 && hits[i] < 9400);
    }
}

static void
test_json(void)
{
    struct cm_err err = CM_ERR_INIT;
    struct audit_item items[2];
    struct audit_report rep;
    json_error_t jerr;
    struct buf out;
    json_t *j, *m;

    memset(&rep, 0, sizeof rep);
    memset(items, 0, sizeof items);
    snprintf(rep.set_id, sizeof rep.set_id, "%032x", 7);
    memset(rep.manifest_sha256, 'a', 64);
    snprintf(rep.signer_key_id, sizeof rep.signer_key_id, "0123456789ABCDEF");
    rep.seed = UINT64_MAX;
    rep.requested = 2;
    rep.population = 10;
    rep.items = items;
    rep.nitems = 2;
    rep.passed = rep.failed = 1;
    items[0].path = "s/m/cur/1";
    items[0].message_id = "<a@b>";
    items[0].has_date = 1;
    items[0].date = 1057049557;
    items[1].path = "s/m/cur/\xff";
    items[1].result = AUDIT_MISMATCH;
    items[1].has_actual = 1;
    items[1].error = "s/m/cur/x: content does not match";
    buf_init(&out, 1 << 20);
    CHECK(audit_report_json(&rep, &out, &err) == 0);
    j = json_loadb((const char *)out.data, out.len, 0, &jerr);
    CHECK(j != NULL);
    if (j == NULL)
        return;
    CHECK_STR_EQ(json_string_value(json_object_get(j, "seed")),
                 "18446744073709551615");
    CHECK_STR_EQ(json_string_value(json_object_get(j, "signer_key_id")),
                 "0123456789ABCDEF");
    CHECK(json_is_false(json_object_get(j, "trusted")));
    m = json_object_get(j, "messages");
    CHECK_INT_EQ(json_array_size(m), 2);
    CHECK_STR_EQ(
        json_string_value(json_object_get(json_array_get(m, 0), "date")),
        "2003-07-01T08:52:37Z");
    CHECK_STR_EQ(
        json_string_value(json_object_get(json_array_get(m, 0), "result")),
        "ok");
    CHECK_STR_EQ(
        json_string_value(json_object_get(json_array_get(m, 1), "result")),
        "mismatch");
    CHECK(json_object_get(json_array_get(m, 1), "actual_sha256") != NULL);
    CHECK(json_is_object(json_object_get(json_array_get(m, 1), "path")));
    CHECK_INT_EQ(json_integer_value(
                     json_object_get(json_object_get(j, "summary"), "failed")),
                 1);
    json_decref(j);
    buf_free(&out);
}

int
main(void)
{
    test_splitmix();
    test_below();
    test_reservoir_reproducible();
    test_reservoir_small();
    test_reservoir_uniform();
    test_json();
    return check_report();
}
