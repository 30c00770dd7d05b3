/*
 * chain: the chain of custody over synthetic MANIFESTs (formatted by
 * manifest_format, linked by their real SHA-256): a good chain, gaps, a
 * replaced predecessor, a fork, a recorded break, an unrecorded restart,
 * a key change, a duplicate, two hosts, order independence, a rolled-back
 * medium and a set signed by an unknown key.
 */
#include "chain.h"

#include "blockhash.h"
#include "check.h"
#include "manifest.h"

#define KEY1 "17DB41211E4F1182"
#define KEY2 "BEF28120FF14C493"

/* One synthetic set: its MANIFEST's facts and hash. */
struct fake {
    char name[96];
    char host[32];
    char key[17];
    char brk[64];
    uint64_t seq;
    int64_t created;
    int has_previous;
    uint8_t previous[32];
    uint8_t sha[32];
    uint8_t id[16];
};

static int fake_counter;

/* A set of ${host}, following ${prev} (NULL: previous none). */
static struct fake
mk(const char *host, uint64_t seq, const struct fake *prev, const char *key,
   int64_t created, const char *brk)
{
    struct cm_err err = CM_ERR_INIT;
    struct manifest m;
    struct buf text;
    struct fake f;

    memset(&f, 0, sizeof f);
    manifest_init(&m);
    fake_counter++;
    for (int i = 0; i < 16; i++)
        m.set_id[i] = (uint8_t)(fake_counter * 7 + i);
    memcpy(f.id, m.set_id, 16);
    manifest_set_text(&m.host, host, "host", &err);
    manifest_set_text(&m.kind, "full", "kind", &err);
    if (brk != NULL)
        manifest_set_text(&m.chain_break, brk, "chain break", &err);
    m.created = created;
    m.sequence = seq;
    m.has_previous = prev != NULL;
    if (prev != NULL)
        memcpy(m.previous, prev->sha, 32);
    manifest_add_store(&m, "vmail", "/var/vmail", &err);
    manifest_add_recipient(
        &m, "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p",
        &err);
    memcpy(m.signer_key_id, key, 17);
    memcpy(m.signer_public_key,
           "RWQBI0VniavN7/vKjm6HrYNs3y3bQXZpPNowuz0aRg2D5TklTUXmQzm3", 57);
    buf_init(&text, MANIFEST_MAX);
    CHECK(manifest_format(&m, &text, &err) == 0);
    CHECK_INT_EQ(err.code, CM_OK);
    blockhash_sha256(text.data, text.len, f.sha);
    buf_free(&text);
    manifest_free(&m);
    snprintf(f.name, sizeof f.name, "coldmail-%s-seq%llu-%d", host,
             (unsigned long long)seq, fake_counter);
    snprintf(f.host, sizeof f.host, "%s", host);
    snprintf(f.key, sizeof f.key, "%s", key);
    if (brk != NULL)
        snprintf(f.brk, sizeof f.brk, "%s", brk);
    f.seq = seq;
    f.created = created;
    f.has_previous = prev != NULL;
    if (prev != NULL)
        memcpy(f.previous, prev->sha, 32);
    return f;
}

static void
add(struct chain *c, const struct fake *f, const char *where)
{
    struct cm_err err = CM_ERR_INIT;
    struct chain_set s;

    memset(&s, 0, sizeof s);
    s.name = f->name;
    s.where = where;
    s.host = f->host;
    s.sequence = f->seq;
    s.created = f->created;
    memcpy(s.set_id, f->id, 16);
    s.has_previous = f->has_previous;
    memcpy(s.previous, f->previous, 32);
    memcpy(s.manifest_sha256, f->sha, 32);
    memcpy(s.key_id, f->key, 17);
    s.chain_break = f->brk[0] ? f->brk : NULL;
    s.authentic = 1;
    CHECK(chain_add(c, &s, &err) == 0);
}

/* Build, add ${n} sets (in the order given) and check. */
static struct chain *
run(const struct fake *const *sets, size_t n)
{
    struct cm_err err = CM_ERR_INIT;
    struct chain *c = NULL;

    CHECK(chain_new(&c, &err) == 0);
    for (size_t i = 0; i < n; i++)
        add(c, sets[i], "/media/a");
    CHECK(chain_check(c, &err) == 0);
    CHECK_INT_EQ(err.code, CM_OK);
    return c;
}

static size_t
count_kind(const struct chain *c, enum chain_kind k)
{
    size_t n = 0;

    for (size_t i = 0; i < chain_nfindings(c); i++)
        n += chain_finding(c, i)->kind == k;
    return n;
}

static const struct chain_finding *
find_kind(const struct chain *c, enum chain_kind k)
{
    for (size_t i = 0; i < chain_nfindings(c); i++)
        if (chain_finding(c, i)->kind == k)
            return chain_finding(c, i);
    return NULL;
}

static const struct chain_row *
row_of(const struct chain *c, const struct fake *f)
{
    for (size_t i = 0; i < chain_nrows(c); i++)
        if (strcmp(chain_row(c, i)->set.name, f->name) == 0)
            return chain_row(c, i);
    return NULL;
}

static void
test_good(void)
{
    struct fake a = mk("vm", 1, NULL, KEY1, 1000, NULL);
    struct fake b = mk("vm", 2, &a, KEY1, 2000, NULL);
    struct fake d = mk("vm", 3, &b, KEY1, 3000, NULL);
    const struct fake *sets[] = {&d, &a, &b};
    struct chain *c = run(sets, 3);
    struct cm_err err = CM_ERR_INIT;
    struct buf out;

    CHECK_INT_EQ(chain_problems(c), 0);
    CHECK_INT_EQ(chain_nfindings(c), 0);
    CHECK_INT_EQ(chain_nrows(c), 3);
    CHECK_STR_EQ(chain_row(c, 0)->set.name, a.name);
    CHECK_STR_EQ(chain_row(c, 2)->set.name, d.name);
    CHECK_INT_EQ(chain_row(c, 0)->link, CHAIN_LINK_FIRST);
    CHECK_INT_EQ(chain_row(c, 1)->link, CHAIN_LINK_OK);
    CHECK_INT_EQ(chain_row(c, 2)->link, CHAIN_LINK_OK);
    buf_init(&out, 1 << 20);
    CHECK(chain_format_text(c, &out, &err) == 0);
    CHECK_STR_HAS(buf_cstr(&out, &err), "HOST");
    CHECK_STR_HAS(buf_cstr(&out, &err), KEY1 "  first");
    CHECK(strstr(buf_cstr(&out, &err), "PROBLEM") == NULL);
    buf_free(&out);
    chain_free(c);
}

static void
test_gaps(void)
{
    struct fake s[6];
    const struct fake *some[] = {&s[1], &s[3]};
    const struct fake *wide[] = {&s[0], &s[5]};
    const struct fake *tail[] = {&s[3], &s[4]};
    struct chain *c;

    s[0] = mk("vm", 1, NULL, KEY1, 1000, NULL);
    for (int i = 1; i < 6; i++)
        s[i] = mk("vm", (uint64_t)i + 1, &s[i - 1], KEY1, 1000 + i, NULL);
    c = run(some, 2);
    CHECK_INT_EQ(chain_problems(c), 1);
    CHECK_INT_EQ(count_kind(c, CHAIN_GAP), 1);
    if (find_kind(c, CHAIN_GAP) != NULL) {
        CHECK_STR_HAS(find_kind(c, CHAIN_GAP)->text,
                      "sequence 3 missing between");
        CHECK_INT_EQ(find_kind(c, CHAIN_GAP)->sequence, 3);
        CHECK_STR_EQ(find_kind(c, CHAIN_GAP)->other, s[1].name);
    }
    CHECK_INT_EQ(row_of(c, &s[3])->link, CHAIN_LINK_UNKNOWN);
    CHECK_INT_EQ(row_of(c, &s[1])->link, CHAIN_LINK_UNKNOWN);
    chain_free(c);

    c = run(wide, 2);
    CHECK_INT_EQ(chain_problems(c), 1);
    if (find_kind(c, CHAIN_GAP) != NULL) {
        CHECK_STR_HAS(find_kind(c, CHAIN_GAP)->text, "sequences 2-5 missing");
        CHECK_INT_EQ(find_kind(c, CHAIN_GAP)->sequence, 2);
        CHECK_INT_EQ(find_kind(c, CHAIN_GAP)->sequence_last, 5);
    }
    chain_free(c);

    /* Older sets simply not given: fine. */
    c = run(tail, 2);
    CHECK_INT_EQ(chain_problems(c), 0);
    CHECK_INT_EQ(chain_nfindings(c), 0);
    chain_free(c);
}

static void
test_replaced(void)
{
    struct fake a = mk("vm", 1, NULL, KEY1, 1000, NULL);
    struct fake b = mk("vm", 2, &a, KEY1, 2000, NULL);
    struct fake forged = mk("vm", 2, &a, KEY1, 2000, NULL);
    struct fake d = mk("vm", 3, &b, KEY1, 3000, NULL);
    const struct fake *sets[] = {&a, &forged, &d};
    struct chain *c = run(sets, 3);
    const struct chain_finding *f = find_kind(c, CHAIN_MISMATCH);

    CHECK_INT_EQ(chain_problems(c), 1);
    CHECK(f != NULL);
    if (f != NULL) {
        CHECK_STR_EQ(f->set, d.name);
        CHECK_STR_EQ(f->other, forged.name);
        CHECK_STR_HAS(f->text, "replaced or forged predecessor");
    }
    CHECK_INT_EQ(row_of(c, &d)->link, CHAIN_LINK_MISMATCH);
    CHECK_INT_EQ(row_of(c, &forged)->link, CHAIN_LINK_OK);
    chain_free(c);
}

static void
test_bad_sequence(void)
{
    struct fake a = mk("vm", 1, NULL, KEY1, 1000, NULL);
    struct fake skip = mk("vm", 3, &a, KEY1, 2000, NULL);
    const struct fake *sets[] = {&a, &skip};
    struct chain *c = run(sets, 2);

    CHECK_INT_EQ(count_kind(c, CHAIN_BAD_SEQUENCE), 1);
    CHECK_INT_EQ(count_kind(c, CHAIN_GAP), 1);
    CHECK_INT_EQ(row_of(c, &skip)->link, CHAIN_LINK_BAD_SEQUENCE);
    chain_free(c);
}

static void
test_fork(void)
{
    struct fake a = mk("vm", 1, NULL, KEY1, 1000, NULL);
    struct fake b1 = mk("vm", 2, &a, KEY1, 2000, NULL);
    struct fake b2 = mk("vm", 2, &a, KEY1, 2500, NULL);
    struct fake d = mk("vm", 3, &b1, KEY1, 3000, NULL);
    const struct fake *sets[] = {&b2, &d, &a, &b1};
    struct chain *c = run(sets, 4);
    const struct chain_finding *f = find_kind(c, CHAIN_FORK);
    struct cm_err err = CM_ERR_INIT;
    struct buf out;

    CHECK_INT_EQ(chain_problems(c), 1);
    CHECK(f != NULL);
    if (f != NULL) {
        CHECK_INT_EQ(f->sequence, 2);
        CHECK_STR_HAS(f->text, "(fork)");
        CHECK_STR_HAS(f->text, b1.name);
        CHECK_STR_HAS(f->text, b2.name);
    }
    CHECK(row_of(c, &b1)->fork && row_of(c, &b2)->fork);
    CHECK(!row_of(c, &d)->fork);
    CHECK_INT_EQ(row_of(c, &d)->link, CHAIN_LINK_OK);
    buf_init(&out, 1 << 20);
    CHECK(chain_format_text(c, &out, &err) == 0);
    CHECK_STR_HAS(buf_cstr(&out, &err), "ok, FORK");
    CHECK_STR_HAS(buf_cstr(&out, &err), "PROBLEM: host vm: sequence 2");
    buf_free(&out);
    chain_free(c);
}

static void
test_break_and_restart(void)
{
    struct fake a = mk("vm", 1, NULL, KEY1, 1000, NULL);
    struct fake b = mk("vm", 2, &a, KEY1, 2000, NULL);
    struct fake a2 = mk("vm", 1, NULL, KEY2, 3000, "state directory lost");
    struct fake b2 = mk("vm", 2, &a2, KEY2, 4000, NULL);
    struct fake a3 = mk("vm", 1, NULL, KEY2, 5000, NULL);
    const struct fake *recorded[] = {&b2, &a2, &b, &a};
    const struct fake *unrecorded[] = {&a, &b, &a2, &b2, &a3};
    struct chain *c = run(recorded, 4);
    const struct chain_finding *f = find_kind(c, CHAIN_BREAK);

    /* A recorded break, with a new key there: notes only. */
    CHECK_INT_EQ(chain_problems(c), 0);
    CHECK(f != NULL && !f->problem);
    if (f != NULL)
        CHECK_STR_HAS(f->text, "state directory lost");
    CHECK_INT_EQ(count_kind(c, CHAIN_FORK), 0);
    CHECK_INT_EQ(count_kind(c, CHAIN_KEY_CHANGE), 1);
    CHECK_INT_EQ(row_of(c, &a2)->link, CHAIN_LINK_BREAK);
    CHECK_INT_EQ(row_of(c, &a2)->run, 1);
    CHECK_INT_EQ(row_of(c, &b2)->link, CHAIN_LINK_OK);
    CHECK_STR_EQ(chain_row(c, 1)->set.name, b.name);
    CHECK_STR_EQ(chain_row(c, 2)->set.name, a2.name);
    chain_free(c);

    c = run(unrecorded, 5);
    CHECK_INT_EQ(chain_problems(c), 1);
    CHECK_INT_EQ(count_kind(c, CHAIN_RESTART), 1);
    CHECK_INT_EQ(row_of(c, &a3)->link, CHAIN_LINK_RESTART);
    chain_free(c);
}

static void
test_key_change(void)
{
    struct fake a = mk("vm", 1, NULL, KEY1, 1000, NULL);
    struct fake b = mk("vm", 2, &a, KEY2, 2000, NULL);
    const struct fake *sets[] = {&a, &b};
    struct chain *c = run(sets, 2);
    const struct chain_finding *f = find_kind(c, CHAIN_KEY_CHANGE);

    CHECK_INT_EQ(chain_problems(c), 1);
    CHECK(f != NULL && f->problem);
    if (f != NULL) {
        CHECK_STR_HAS(f->text, "signed by key " KEY2);
        CHECK_STR_HAS(f->text, "by key " KEY1);
    }
    CHECK(row_of(c, &b)->key_changed);
    chain_free(c);
}

static void
test_duplicate_and_hosts(void)
{
    struct cm_err err = CM_ERR_INIT;
    struct fake a = mk("vm", 1, NULL, KEY1, 1000, NULL);
    struct fake b = mk("vm", 2, &a, KEY1, 2000, NULL);
    struct fake x = mk("other", 1, NULL, KEY2, 1500, NULL);
    struct fake y = mk("other", 2, &x, KEY2, 2500, NULL);
    struct chain *c = NULL;

    CHECK(chain_new(&c, &err) == 0);
    add(c, &b, "/media/a");
    add(c, &y, "/media/a");
    add(c, &a, "/media/a");
    add(c, &b, "/media/b");
    add(c, &x, "/media/b");
    CHECK(chain_check(c, &err) == 0);
    CHECK_INT_EQ(chain_problems(c), 0);
    CHECK_INT_EQ(count_kind(c, CHAIN_DUPLICATE), 1);
    if (find_kind(c, CHAIN_DUPLICATE) != NULL)
        CHECK_STR_HAS(find_kind(c, CHAIN_DUPLICATE)->text,
                      "in /media/a and in /media/b");
    CHECK_INT_EQ(chain_nrows(c), 5);
    CHECK_STR_EQ(chain_row(c, 0)->set.host, "other");
    CHECK_STR_EQ(chain_row(c, 2)->set.host, "vm");
    CHECK_INT_EQ(chain_row(c, 4)->link, CHAIN_LINK_DUPLICATE);
    /* Checking twice, or adding after, is refused. */
    CHECK(chain_check(c, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EUSAGE);
    chain_free(c);
    chain_free(NULL);
}

/* ${f} found on medium ${label} (id ${id}), the set before it on ${prev}. */
static void
add_on(struct chain *c, const struct fake *f, const char *label, const char *id,
       const char *prev, int unknown_key)
{
    struct cm_err err = CM_ERR_INIT;
    struct chain_set s;

    memset(&s, 0, sizeof s);
    s.name = f->name;
    s.where = label;
    s.medium = label;
    s.host = f->host;
    s.sequence = f->seq;
    s.created = f->created;
    memcpy(s.set_id, f->id, 16);
    s.has_previous = f->has_previous;
    memcpy(s.previous, f->previous, 32);
    memcpy(s.manifest_sha256, f->sha, 32);
    memcpy(s.key_id, f->key, 17);
    s.authentic = 1;
    s.unknown_key = unknown_key;
    snprintf(s.medium_id, sizeof s.medium_id, "%s", id);
    snprintf(s.previous_medium, sizeof s.previous_medium, "%s", prev);
    CHECK(chain_add(c, &s, &err) == 0);
}

#define MA "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define MB "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

/* Sets 1-5 on media A (1, 3, 5) and B (2, 4); B given as it was after 2. */
static void
test_rollback(void)
{
    struct fake s[5];
    struct cm_err err = CM_ERR_INIT;
    const struct chain_finding *f;
    struct chain *c = NULL;

    s[0] = mk("vm", 1, NULL, KEY1, 1000, NULL);
    for (int i = 1; i < 5; i++)
        s[i] = mk("vm", (uint64_t)i + 1, &s[i - 1], KEY1, 1000 + i, NULL);
    CHECK(chain_new(&c, &err) == 0);
    add_on(c, &s[0], "A", MA, "", 0);
    add_on(c, &s[1], "B", MB, MA, 0);
    add_on(c, &s[2], "A", MA, MB, 0);
    add_on(c, &s[4], "A", MA, MB, 0);
    CHECK(chain_check(c, &err) == 0);
    CHECK_INT_EQ(count_kind(c, CHAIN_ROLLBACK), 1);
    CHECK_INT_EQ(count_kind(c, CHAIN_GAP), 1);
    if ((f = find_kind(c, CHAIN_ROLLBACK)) != NULL) {
        CHECK_STR_HAS(f->text, "medium B (B) rolled back: its newest set is "
                               "sequence 2");
        CHECK_STR_HAS(f->text, "but sequence 4 was written to it");
        CHECK_STR_EQ(f->set, s[4].name);
        CHECK_STR_EQ(f->other, s[1].name);
    }
    chain_free(c);

    /* B not given at all: nothing to say about it. */
    CHECK(chain_new(&c, &err) == 0);
    add_on(c, &s[2], "A", MA, MB, 0);
    add_on(c, &s[4], "A", MA, MB, 0);
    CHECK(chain_check(c, &err) == 0);
    CHECK_INT_EQ(count_kind(c, CHAIN_ROLLBACK), 0);
    chain_free(c);

    /* B with set 4: no rollback (set 3 is only missing). */
    CHECK(chain_new(&c, &err) == 0);
    add_on(c, &s[1], "B", MB, MA, 0);
    add_on(c, &s[3], "B", MB, MA, 0);
    add_on(c, &s[4], "A", MA, MB, 0);
    CHECK(chain_check(c, &err) == 0);
    CHECK_INT_EQ(count_kind(c, CHAIN_ROLLBACK), 0);
    CHECK_INT_EQ(chain_problems(c), 1);
    chain_free(c);
}

static void
test_unknown_key(void)
{
    struct fake a = mk("vm", 1, NULL, KEY1, 1000, NULL);
    struct fake b = mk("vm", 2, &a, KEY2, 2000, NULL);
    struct cm_err err = CM_ERR_INIT;
    struct chain *c = NULL;
    struct buf out;

    CHECK(chain_new(&c, &err) == 0);
    add_on(c, &a, "A", MA, "", 0);
    add_on(c, &b, "A", MA, MA, 1);
    CHECK(chain_check(c, &err) == 0);
    CHECK_INT_EQ(count_kind(c, CHAIN_UNKNOWN_KEY), 1);
    if (find_kind(c, CHAIN_UNKNOWN_KEY) != NULL)
        CHECK_STR_HAS(find_kind(c, CHAIN_UNKNOWN_KEY)->text,
                      "signed by key " KEY2 ", which is not the trusted key");
    buf_init(&out, 1 << 20);
    CHECK(chain_format_text(c, &out, &err) == 0);
    CHECK_STR_HAS(buf_cstr(&out, &err), "ok, KEY CHANGE, UNKNOWN KEY");
    buf_free(&out);
    chain_free(c);
}

int
main(void)
{
    test_good();
    test_gaps();
    test_replaced();
    test_bad_sequence();
    test_fork();
    test_break_and_restart();
    test_key_change();
    test_duplicate_and_hosts();
    test_rollback();
    test_unknown_key();
    return check_report();
}
