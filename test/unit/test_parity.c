/*
 * parity and rs: the stripe layout (choice, interleave, fragments), the
 * Reed-Solomon code (encode, decode any m erasures, refuse more), the parity
 * file written for a real file and listed, and the assessment of damage.
 */
#include "parity.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "blockhash.h"
#include "check.h"
#include "rs.h"

#define BS ((uint64_t)MANIFEST_BLOCK_SIZE)

static uint32_t seed = 12345;

static uint32_t
rnd(void)
{
    seed = seed * 1103515245u + 12345u;
    return seed >> 8;
}

static void
test_choose(void)
{
    struct cm_err err = CM_ERR_INIT;
    struct parity_layout l;

    CHECK(parity_layout_choose(4096 * BS, 5, &l, &err) == 0);
    CHECK_INT_EQ(l.nblocks, 4096);
    CHECK_INT_EQ(l.k, 64);
    CHECK_INT_EQ(l.m, 3);
    CHECK_INT_EQ(l.stripes, 64);
    CHECK_INT_EQ(l.shard, BS);
    CHECK_INT_EQ(parity_file_size(&l), 64 * 3 * BS);
    CHECK(parity_layout_choose(4096 * BS, 10, &l, &err) == 0);
    CHECK_INT_EQ(l.m, 6);
    /* 300 blocks and a bit: 5 stripes of 61. */
    CHECK(parity_layout_choose(300 * BS + 7, 5, &l, &err) == 0);
    CHECK_INT_EQ(l.nblocks, 301);
    CHECK_INT_EQ(l.stripes, 5);
    CHECK_INT_EQ(l.k, 61);
    CHECK_INT_EQ(l.m, 3);
    /* Small files: at least one parity block; one block: its own size. */
    CHECK(parity_layout_choose(3 * BS, 5, &l, &err) == 0);
    CHECK(l.k == 3 && l.m == 1 && l.stripes == 1);
    CHECK(parity_layout_choose(1000, 5, &l, &err) == 0);
    CHECK(l.k == 1 && l.m == 1 && l.stripes == 1 && l.shard == 1000);
    CHECK_INT_EQ(parity_file_size(&l), 1000);
    CHECK(parity_layout_choose(1000, 0, &l, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EUSAGE);
    /* Every size: k <= K_MAX, k * S covers N, S = ceil(N / k). */
    for (uint64_t n = 1; n < 3000; n += 1 + n / 7) {
        CHECK(parity_layout_choose(n * BS, 7, &l, &err) == 0);
        CHECK(l.k <= PARITY_K_MAX && l.k * l.stripes >= n &&
              (l.k * l.stripes - n) < l.k && l.stripes * l.k - n < l.stripes);
        CHECK(l.m >= 1 && l.m <= l.k);
    }
}

/* Every block is in exactly one place; neighbours are in other stripes. */
static void
test_interleave(void)
{
    struct cm_err err = CM_ERR_INIT;
    struct parity_layout l;
    uint32_t place;
    unsigned char *seen;

    CHECK(parity_layout_choose(1000 * BS, 5, &l, &err) == 0);
    seen = calloc(l.k * l.stripes, 1);
    for (uint64_t b = 0; b < l.nblocks; b++) {
        uint64_t s = parity_stripe_of(&l, b, &place);
        CHECK(s < l.stripes && place < l.k);
        CHECK_INT_EQ(parity_block_at(&l, s, place), b);
        seen[s * l.k + place]++;
        if (b > 0)
            CHECK(parity_stripe_of(&l, b - 1, &place) != s);
    }
    for (uint64_t i = 0; i < l.k * l.stripes; i++)
        CHECK(seen[i] <= 1);
    /* A run of m * S consecutive blocks costs each stripe at most m. */
    {
        uint32_t *hits = calloc(l.stripes, sizeof *hits), worst = 0;
        for (uint64_t b = 100; b < 100 + l.m * l.stripes; b++)
            hits[parity_stripe_of(&l, b, &place)]++;
        for (uint64_t s = 0; s < l.stripes; s++)
            worst = hits[s] > worst ? hits[s] : worst;
        CHECK_INT_EQ(worst, l.m);
        free(hits);
    }
    free(seen);
}

static void
test_fragments(void)
{
    struct parity_layout l = {0};
    uint64_t a, b;

    l.k = 4;
    l.m = 2;
    l.stripes = 3;
    l.shard = (size_t)BS;
    parity_fragment_blocks(&l, 2, 1, &a, &b);
    CHECK(a == 5 && b == 5);
    l.stripes = 1;
    l.shard = 700000; /* a file of one block */
    parity_fragment_blocks(&l, 0, 1, &a, &b);
    CHECK(a == 0 && b == 1);
}

static void
fill(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)rnd();
}

static void
test_codec(void)
{
    struct cm_err err = CM_ERR_INIT;
    enum { K = 10, M = 4, LEN = 4096 };
    uint8_t *orig = malloc((K + M) * LEN), *work = malloc((K + M) * LEN);
    uint8_t *frag[K + M], erased[K + M];
    struct rs *c = NULL;

    if (!rs_available()) {
        printf("rs: no codec in this build, skipped\n");
        free(orig);
        free(work);
        return;
    }
    CHECK(rs_new(0, 1, &c, &err) == -1);
    CHECK(rs_new(200, 56, &c, &err) == -1);
    err = (struct cm_err)CM_ERR_INIT;
    CHECK(rs_new(K, M, &c, &err) == 0);
    fill(orig, K * LEN);
    for (int i = 0; i < K + M; i++)
        frag[i] = orig + i * LEN;
    rs_encode(c, LEN, frag, frag + K);
    for (int i = 0; i < K + M; i++)
        frag[i] = work + i * LEN;
    for (int round = 0; round < 200; round++) {
        int lose = (int)(rnd() % (M + 1));
        memcpy(work, orig, (K + M) * LEN);
        memset(erased, 0, sizeof erased);
        for (int n = 0; n < lose;) {
            int i = (int)(rnd() % (K + M));
            if (!erased[i]) {
                erased[i] = 1;
                memset(frag[i], 0x5a, LEN);
                n++;
            }
        }
        CHECK(rs_decode(c, LEN, frag, erased, &err) == 0);
        CHECK_MEM_EQ(work, orig, K * LEN);
    }
    memset(erased, 0, sizeof erased);
    for (int i = 0; i <= M; i++)
        erased[i * 2] = 1;
    CHECK(rs_decode(c, LEN, frag, erased, &err) == -1);
    CHECK_INT_EQ(err.code, CM_DAMAGED);
    rs_free(c);
    free(orig);
    free(work);
}

/* A file of ${size} random bytes in ${dir}, listed in ${m}. */
static void
make_file(const char *dir, struct manifest *m, const char *name, uint64_t size)
{
    struct cm_err err = CM_ERR_INIT;
    struct manifest_file *f = manifest_add_file(m, name, size, &err);
    uint8_t *p = malloc(size ? size : 1);
    char path[4096];
    int fd;

    fill(p, size);
    for (uint64_t b = 0; f && b < f->nblocks; b++) {
        size_t len = size - b * BS < BS ? size - b * BS : BS;
        blockhash_sha256(p + b * BS, len, f->blocks[b]);
    }
    blockhash_sha256(p, size, f->sha256);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd != -1 && write(fd, p, size) == (ssize_t)size);
    close(fd);
    free(p);
}

static struct filecheck_report *
bad_report(const uint64_t *blocks, size_t n)
{
    struct filecheck_report *r = calloc(1, sizeof *r);

    r->size_ok = 1;
    r->bad_blocks = malloc((n ? n : 1) * sizeof *r->bad_blocks);
    memcpy(r->bad_blocks, blocks, n * sizeof *blocks);
    r->nbad = n;
    return r;
}

static void
test_write_and_assess(void)
{
    struct cm_err err = CM_ERR_INIT;
    char dir[] = "/tmp/coldmail-parity-XXXXXX";
    struct filecheck_report *reps[4] = {NULL, NULL, NULL, NULL}, check;
    struct parity_assessment a;
    struct parity_layout l;
    const struct manifest_file *par;
    struct manifest m;

    if (!rs_available())
        return;
    CHECK(mkdtemp(dir) != NULL);
    manifest_init(&m);
    /* 21 blocks at 10%: k 21, m 2, 1 stripe. */
    make_file(dir, &m, "vol-0001.tar.zst.age", 20 * BS + 12345);
    CHECK(parity_write(dir, &m, 0, 10, &err) == 0);
    CHECK_STR_EQ(err.msg, "");
    CHECK_INT_EQ(m.nfiles, 2);
    par = manifest_parity_for(&m, "vol-0001.tar.zst.age");
    CHECK(par != NULL && parity_layout_of(&m, par, &l, &err) == 0);
    CHECK(l.k == 21 && l.m == 2 && l.stripes == 1);
    CHECK(filecheck_file(dir, par, 1, &check, &err) == 0 &&
          filecheck_ok(&check));
    filecheck_report_free(&check);
    make_file(dir, &m, "RESTORE.txt", 100);
    /* Two bad data blocks: repairable.  Add a bad parity block: not. */
    reps[0] = bad_report((const uint64_t[]){3, 17}, 2);
    CHECK(parity_assess(&m, (const struct filecheck_report *const *)reps, &a,
                        &err) == 0);
    CHECK(a.n == 1 && a.repairable == 2 && a.lost == 0 && a.v[0].covered);
    parity_assessment_free(&a);
    reps[1] = bad_report((const uint64_t[]){1}, 1);
    reps[2] = bad_report((const uint64_t[]){0}, 1);
    CHECK(parity_assess(&m, (const struct filecheck_report *const *)reps, &a,
                        &err) == 0);
    CHECK(a.n == 3 && a.repairable == 0 && a.lost == 4);
    CHECK(a.v[0].nlost == 2 && a.v[0].lost[1] == 17 && a.v[0].stripes_over);
    CHECK(a.v[1].is_parity && a.v[1].nlost == 1);
    CHECK(!a.v[2].covered && a.v[2].nlost == 1);
    parity_assessment_free(&a);
    /* The parity file alone missing: rebuilt from intact data. */
    for (int i = 0; i < 3; i++) {
        filecheck_report_free(reps[i]);
        free(reps[i]);
        reps[i] = NULL;
    }
    reps[1] = calloc(1, sizeof *reps[1]);
    reps[1]->missing = 1;
    CHECK(parity_assess(&m, (const struct filecheck_report *const *)reps, &a,
                        &err) == 0);
    CHECK(a.n == 1 && a.v[0].is_parity && a.repairable == 2 && a.lost == 0);
    parity_assessment_free(&a);
    free(reps[1]);
    /* An inconsistent layout protects nothing. */
    m.files[1].parity_stripes = 2;
    CHECK(parity_layout_of(&m, &m.files[1], &l, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    manifest_free(&m);
    {
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        CHECK(system(cmd) == 0);
    }
}

static void
test_format_blocks(void)
{
    struct cm_err err = CM_ERR_INIT;
    const uint64_t b[] = {3, 7, 8, 9, 12, 20, 21};
    struct buf out;

    buf_init(&out, 4096);
    CHECK(parity_format_blocks(b, 7, 10, &out, &err) == 0);
    CHECK_STR_EQ(buf_cstr(&out, &err), "3, 7-9, 12, 20-21");
    buf_reset(&out);
    CHECK(parity_format_blocks(b, 7, 2, &out, &err) == 0);
    CHECK_STR_EQ(buf_cstr(&out, &err), "3, 7-9, ... (3 more)");
    buf_free(&out);
}

int
main(void)
{
    test_choose();
    test_interleave();
    test_fragments();
    test_codec();
    test_write_and_assess();
    test_format_blocks();
    return check_report();
}
