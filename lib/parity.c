#include "parity.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blockhash.h"
#include "io.h"
#include "rs.h"

#define BS ((uint64_t)MANIFEST_BLOCK_SIZE)

static uint64_t
div_up(uint64_t a, uint64_t b)
{
    return a / b + (a % b != 0);
}

int
parity_layout_choose(uint64_t size, unsigned percent, struct parity_layout *l,
                     struct cm_err *err)
{
    uint64_t stripes;

    if (percent < 1 || percent > PARITY_PERCENT_MAX)
        return cm_fail(err, CM_EUSAGE, "parity must be 0 to %d percent",
                       PARITY_PERCENT_MAX);
    if (size == 0)
        return cm_fail(err, CM_EUSAGE, "no parity for an empty file");
    memset(l, 0, sizeof *l);
    l->size = size;
    l->nblocks = div_up(size, BS);
    /* As few stripes as k <= PARITY_K_MAX allows, then k as small as
     * those stripes allow, so that little of the last row is padding. */
    stripes = div_up(l->nblocks, PARITY_K_MAX);
    l->k = (uint32_t)div_up(l->nblocks, stripes);
    l->stripes = div_up(l->nblocks, l->k);
    l->m = (uint32_t)(((uint64_t)l->k * percent + 50) / 100);
    if (l->m < 1)
        l->m = 1;
    l->shard = l->nblocks == 1 ? (size_t)size : (size_t)BS;
    return 0;
}

uint64_t
parity_file_size(const struct parity_layout *l)
{
    return l->stripes * l->m * (uint64_t)l->shard;
}

int
parity_layout_of(const struct manifest *m, const struct manifest_file *par,
                 struct parity_layout *l, struct cm_err *err)
{
    const struct manifest_file *data;
    struct parity_layout got;

    if (par->parity_of == NULL ||
        (data = manifest_find_file(m, par->parity_of)) == NULL)
        return cm_fail(err, CM_EFORMAT, "%s: not a parity file", par->name);
    memset(&got, 0, sizeof got);
    got.size = data->size;
    got.nblocks = data->nblocks;
    got.k = par->parity_k;
    got.m = par->parity_m;
    got.stripes = par->parity_stripes;
    if (got.nblocks == 0 || got.k == 0 || got.m == 0 ||
        got.k + got.m > MANIFEST_PARITY_FRAGMENTS_MAX ||
        got.stripes != div_up(got.nblocks, got.k))
        return cm_fail(
            err, CM_EFORMAT,
            "%s: parity layout (k %" PRIu32 ", m %" PRIu32 ", %" PRIu64
            " stripes) does not fit %s (%" PRIu64 " blocks)",
            par->name, got.k, got.m, got.stripes, data->name, data->nblocks);
    got.shard = got.nblocks == 1 ? (size_t)got.size : (size_t)BS;
    if (par->size != parity_file_size(&got))
        return cm_fail(err, CM_EFORMAT,
                       "%s: %" PRIu64 " bytes, but its layout needs %" PRIu64,
                       par->name, par->size, parity_file_size(&got));
    *l = got;
    return 0;
}

uint64_t
parity_stripe_of(const struct parity_layout *l, uint64_t block, uint32_t *place)
{
    *place = (uint32_t)(block / l->stripes);
    return block % l->stripes;
}

uint64_t
parity_block_at(const struct parity_layout *l, uint64_t stripe, uint32_t place)
{
    return (uint64_t)place * l->stripes + stripe;
}

void
parity_fragment_blocks(const struct parity_layout *l, uint64_t stripe,
                       uint32_t j, uint64_t *first, uint64_t *last)
{
    uint64_t off = (stripe * l->m + j) * (uint64_t)l->shard;

    *first = off / BS;
    *last = (off + l->shard - 1) / BS;
}

int
parity_read_block(int fd, const char *path, const struct parity_layout *l,
                  uint64_t block, uint8_t *buf, struct cm_err *err)
{
    uint64_t off = block * BS;
    size_t want;
    ssize_t got;

    if (block >= l->nblocks) {
        memset(buf, 0, l->shard);
        return 0;
    }
    want = l->size - off < l->shard ? (size_t)(l->size - off) : l->shard;
    got = io_pread_full(fd, buf, want, off, path, err);
    if (got < 0)
        return -1;
    if ((size_t)got != want)
        return cm_fail(err, CM_EIO, "%s: block %" PRIu64 ": file too short",
                       path, block);
    memset(buf + want, 0, l->shard - want);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Writing (pack)                                                      */

struct encoder {
    struct parity_layout l;
    struct rs *code;
    uint8_t *mem;
    uint8_t *data[RS_FRAGMENTS_MAX], *par[RS_FRAGMENTS_MAX];
    struct blockhash *h;
};

static int
encoder_init(struct encoder *e, struct cm_err *err)
{
    size_t n = (size_t)e->l.k + e->l.m;

    if (rs_new(e->l.k, e->l.m, &e->code, err) == -1 ||
        blockhash_new(MANIFEST_BLOCK_SIZE, &e->h, err) == -1 ||
        (e->mem = cm_malloc(n * e->l.shard, err)) == NULL)
        return -1;
    for (uint32_t i = 0; i < e->l.k; i++)
        e->data[i] = e->mem + (size_t)i * e->l.shard;
    for (uint32_t j = 0; j < e->l.m; j++)
        e->par[j] = e->mem + ((size_t)e->l.k + j) * e->l.shard;
    return 0;
}

static void
encoder_free(struct encoder *e)
{
    rs_free(e->code);
    blockhash_free(e->h);
    free(e->mem);
}

/* Ask the kernel for the blocks of ${stripe} ahead of their reads: they
 * are far apart, so read-ahead does not guess them. */
static void
prefetch(int fd, const struct parity_layout *l, uint64_t stripe)
{
    for (uint32_t i = 0; stripe < l->stripes && i < l->k; i++) {
        uint64_t b = parity_block_at(l, stripe, i);
        if (b < l->nblocks)
            posix_fadvise(fd, (off_t)(b * BS), (off_t)l->shard,
                          POSIX_FADV_WILLNEED);
    }
}

/* Every stripe, in order, into ${out}. */
static int
encode_all(struct encoder *e, int in, const char *src, int out, const char *dst,
           struct cm_err *err)
{
    prefetch(in, &e->l, 0);
    for (uint64_t s = 0; s < e->l.stripes; s++) {
        prefetch(in, &e->l, s + 1);
        for (uint32_t i = 0; i < e->l.k; i++)
            if (parity_read_block(in, src, &e->l, parity_block_at(&e->l, s, i),
                                  e->data[i], err) == -1)
                return -1;
        rs_encode(e->code, e->l.shard, e->data, e->par);
        for (uint32_t j = 0; j < e->l.m; j++)
            if (io_write_all(out, e->par[j], e->l.shard, dst, err) == -1 ||
                blockhash_update(e->h, e->par[j], e->l.shard, err) == -1)
                return -1;
    }
    return 0;
}

/* List ${name} (written, hashed by ${e->h}) in ${m} and read it back. */
static int
list_and_check(struct encoder *e, const char *dir, struct manifest *m,
               const char *name, const char *of, struct cm_err *err)
{
    const uint8_t(*blocks)[32];
    struct manifest_file *f;
    const uint64_t *crcs;
    uint64_t n;

    if ((f = manifest_add_file(m, name, parity_file_size(&e->l), err)) ==
            NULL ||
        blockhash_final(e->h, f->sha256, err) == -1)
        return -1;
    blocks = blockhash_blocks(e->h, &n);
    memcpy(f->blocks, blocks, n * 32);
    if (manifest_set_parity(m, f, of, e->l.k, e->l.m, e->l.stripes, err) == -1)
        return -1;
    crcs = blockhash_crcs(e->h, &n);
    return filecheck_readback(dir, name, f->size, crcs, n, err);
}

int
parity_write(const char *dir, struct manifest *m, size_t index,
             unsigned percent, struct cm_err *err)
{
    char of[64], name[64], src[4096], dst[4096];
    struct encoder e;
    int in = -1, out = -1, rc = -1, n;

    memset(&e, 0, sizeof e);
    if (m->files[index].size == 0)
        return 0;
    n = snprintf(name, sizeof name, "%s" PARITY_SUFFIX, m->files[index].name);
    if (n < 0 || (size_t)n >= sizeof name)
        return cm_fail(err, CM_EINTERNAL, "%s: name too long for parity",
                       m->files[index].name);
    snprintf(of, sizeof of, "%s", m->files[index].name);
    snprintf(src, sizeof src, "%s/%s", dir, of);
    snprintf(dst, sizeof dst, "%s/%s", dir, name);
    if (parity_layout_choose(m->files[index].size, percent, &e.l, err) == -1 ||
        encoder_init(&e, err) == -1)
        goto out;
    if ((in = io_open(src, O_RDONLY | O_NOFOLLOW, 0, err)) == -1 ||
        (out = io_open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0644,
                       err)) == -1)
        goto out;
    if (encode_all(&e, in, src, out, dst, err) == -1 ||
        io_fsync(out, dst, err) == -1)
        goto out;
    rc = io_close(out, dst, err);
    out = -1;
    if (rc == 0)
        rc = list_and_check(&e, dir, m, name, of, err);
out:
    if (out != -1) {
        close(out);
        unlink(dst);
    }
    if (in != -1)
        close(in);
    encoder_free(&e);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Assessment                                                          */

/* The bad blocks of ${f} per ${r} (all of them if it is missing). */
static int
bad_list(const struct manifest_file *f, const struct filecheck_report *r,
         uint64_t **out, size_t *n, struct cm_err *err)
{
    size_t count = 0;
    uint64_t *list;

    *out = NULL;
    *n = 0;
    if (r == NULL)
        return 0;
    if (r->missing || r->not_regular)
        count = (size_t)f->nblocks;
    else
        for (size_t i = 0; i < r->nbad; i++)
            count += r->bad_blocks[i] < f->nblocks;
    if (count == 0)
        return 0;
    if ((list = cm_calloc(count, sizeof *list, err)) == NULL)
        return -1;
    if (r->missing || r->not_regular)
        for (size_t i = 0; i < count; i++)
            list[i] = i;
    else
        for (size_t i = 0, j = 0; i < r->nbad; i++)
            if (r->bad_blocks[i] < f->nblocks)
                list[j++] = r->bad_blocks[i];
    *out = list;
    *n = count;
    return 0;
}

/* The damage of a file and its parity file, stripe by stripe. */
struct group {
    const struct manifest *m;
    size_t di, pi; /* file indexes; pi == SIZE_MAX: no parity */
    struct parity_layout l;
    int usable;
    uint64_t *dbad, *pbad; /* bad blocks of each */
    size_t ndbad, npbad;
    uint32_t *erasures; /* per stripe, data and parity */
};

/* Parity fragments overlapping parity block ${b}: *${first}..*${last}. */
static void
fragments_in(const struct parity_layout *l, uint64_t b, uint64_t *first,
             uint64_t *last)
{
    uint64_t total = l->stripes * l->m;

    *first = b * BS / l->shard;
    *last = ((b + 1) * BS - 1) / l->shard;
    if (*last >= total)
        *last = total - 1;
}

static int
count_erasures(struct group *g, struct cm_err *err)
{
    uint64_t q0, q1, counted = UINT64_MAX;
    uint32_t place;

    if ((g->erasures =
             cm_calloc((size_t)g->l.stripes, sizeof *g->erasures, err)) == NULL)
        return -1;
    for (size_t i = 0; i < g->ndbad; i++)
        g->erasures[parity_stripe_of(&g->l, g->dbad[i], &place)]++;
    /* Bad blocks ascend, and so do the fragments they hold: count each
     * fragment once even if two bad blocks hold it. */
    for (size_t i = 0; i < g->npbad; i++) {
        fragments_in(&g->l, g->pbad[i], &q0, &q1);
        for (uint64_t q = q0; q <= q1 && q0 < g->l.stripes * g->l.m; q++) {
            if (counted != UINT64_MAX && q <= counted)
                continue;
            g->erasures[q / g->l.m]++;
            counted = q;
        }
    }
    return 0;
}

static int
over(const struct group *g, uint64_t stripe)
{
    return g->erasures[stripe] > g->l.m;
}

/* Is parity block ${b} beyond repair (a fragment in it is in a stripe
 * with too many erasures)? */
static int
parity_block_lost(const struct group *g, uint64_t b)
{
    uint64_t q0, q1;

    fragments_in(&g->l, b, &q0, &q1);
    for (uint64_t q = q0; q <= q1 && q0 < g->l.stripes * g->l.m; q++)
        if (over(g, q / g->l.m))
            return 1;
    return 0;
}

static int
add_verdict(struct parity_assessment *a, struct parity_verdict *v,
            struct cm_err *err)
{
    struct parity_verdict *grown = realloc(a->v, (a->n + 1) * sizeof *grown);

    if (grown == NULL) {
        free(v->lost);
        return cm_fail(err, CM_EINTERNAL, "out of memory");
    }
    a->v = grown;
    a->v[a->n++] = *v;
    a->lost += v->nlost;
    a->repairable += v->bad - v->nlost;
    return 0;
}

/* The verdict on one file of ${g}, whose bad blocks are ${bad}. */
static int
judge(struct group *g, struct parity_assessment *a, size_t file, int is_parity,
      const uint64_t *bad, size_t nbad, struct cm_err *err)
{
    struct parity_verdict v;
    uint32_t place;

    memset(&v, 0, sizeof v);
    v.file = file;
    v.is_parity = is_parity;
    v.covered = g->usable;
    v.bad = nbad;
    if (nbad > 0 && (v.lost = cm_calloc(nbad, sizeof *v.lost, err)) == NULL)
        return -1;
    for (size_t i = 0; i < nbad; i++) {
        int lost =
            !g->usable ||
            (is_parity ? parity_block_lost(g, bad[i])
                       : over(g, parity_stripe_of(&g->l, bad[i], &place)));
        if (lost)
            v.lost[v.nlost++] = bad[i];
    }
    for (uint64_t s = 0; g->usable && s < g->l.stripes; s++)
        v.stripes_over += over(g, s);
    return add_verdict(a, &v, err);
}

static int
assess_group(struct group *g, const struct filecheck_report *const *reports,
             struct parity_assessment *a, struct cm_err *err)
{
    const struct manifest *m = g->m;
    const struct filecheck_report *rd = reports[g->di];
    const struct filecheck_report *rp =
        g->pi == SIZE_MAX ? NULL : reports[g->pi];
    struct cm_err ignored = CM_ERR_INIT;

    g->usable = g->pi != SIZE_MAX &&
                parity_layout_of(m, &m->files[g->pi], &g->l, &ignored) == 0;
    if (bad_list(&m->files[g->di], rd, &g->dbad, &g->ndbad, err) == -1 ||
        (rp != NULL &&
         bad_list(&m->files[g->pi], rp, &g->pbad, &g->npbad, err) == -1))
        return -1;
    if (g->usable && count_erasures(g, err) == -1)
        return -1;
    if (rd != NULL && judge(g, a, g->di, 0, g->dbad, g->ndbad, err) == -1)
        return -1;
    if (rp != NULL && judge(g, a, g->pi, 1, g->pbad, g->npbad, err) == -1)
        return -1;
    return 0;
}

int
parity_assess(const struct manifest *m,
              const struct filecheck_report *const *reports,
              struct parity_assessment *out, struct cm_err *err)
{
    struct parity_assessment a;

    memset(&a, 0, sizeof a);
    for (size_t i = 0; i < m->nfiles; i++) {
        const struct manifest_file *par;
        struct group g;
        int rc;
        if (m->files[i].parity_of != NULL)
            continue;
        memset(&g, 0, sizeof g);
        g.m = m;
        g.di = i;
        par = manifest_parity_for(m, m->files[i].name);
        g.pi = par == NULL ? SIZE_MAX : (size_t)(par - m->files);
        if (reports[i] == NULL && (par == NULL || reports[g.pi] == NULL))
            continue;
        rc = assess_group(&g, reports, &a, err);
        free(g.dbad);
        free(g.pbad);
        free(g.erasures);
        if (rc == -1) {
            parity_assessment_free(&a);
            return -1;
        }
    }
    *out = a;
    return 0;
}

void
parity_assessment_free(struct parity_assessment *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i].lost);
    free(a->v);
    memset(a, 0, sizeof *a);
}

int
parity_format_blocks(const uint64_t *blocks, size_t n, size_t max_ranges,
                     struct buf *out, struct cm_err *err)
{
    size_t ranges = 0, i = 0;

    while (i < n) {
        size_t j = i;
        while (j + 1 < n && blocks[j + 1] == blocks[j] + 1)
            j++;
        if (ranges == max_ranges)
            return buf_printf(out, err, ", ... (%zu more)", n - i);
        if (buf_printf(out, err, "%s%" PRIu64, ranges ? ", " : "", blocks[i]) ==
                -1 ||
            (j > i && buf_printf(out, err, "-%" PRIu64, blocks[j]) == -1))
            return -1;
        ranges++;
        i = j + 1;
    }
    return 0;
}
