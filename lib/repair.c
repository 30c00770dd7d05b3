#include "repair.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "blockhash.h"
#include "filecheck.h"
#include "filescan.h"
#include "io.h"
#include "manifest.h"
#include "parity.h"
#include "rs.h"
#include "setr.h"

#define BS ((uint64_t)MANIFEST_BLOCK_SIZE)
#define INCOMPLETE_SUFFIX ".incomplete"

/* Reading a file whole and checking it: from the medium, two threads. */
static const struct filescan_opts scan_opts = {2, 1, NULL};

struct job {
    const struct repair_opts *o;
    const char *src; /* the set directory */
    struct setr *set;
    const struct manifest *m;
    char out[4200];   /* where outputs go: the new set, or src */
    char final[4200]; /* out_dir: the repaired set's final name */
    int made_out;
    struct filecheck_report **reports; /* per file; NULL: intact */
    struct repair_result *r;
};

/* ------------------------------------------------------------------ */
/* Lists of block numbers                                              */

static int
push_block(uint64_t **list, size_t *n, uint64_t b, struct cm_err *err)
{
    uint64_t *grown;

    if (*n > 0 && (*list)[*n - 1] == b)
        return 0;
    /* Room for 16, then doubled each time *n reaches a power of two. */
    if (*n == 0 || (*n >= 16 && (*n & (*n - 1)) == 0)) {
        size_t room = *n == 0 ? 16 : *n * 2;
        if ((grown = realloc(*list, room * sizeof *grown)) == NULL)
            return cm_fail(err, CM_EINTERNAL, "out of memory");
        *list = grown;
    }
    (*list)[(*n)++] = b;
    return 0;
}

static int
in_list(const uint64_t *list, size_t n, uint64_t b)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (list[mid] == b)
            return 1;
        if (list[mid] < b)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* The bad blocks of ${f} per ${r}: all of them if it is missing. */
static int
bad_blocks(const struct manifest_file *f, const struct filecheck_report *r,
           uint64_t **out, size_t *n, struct cm_err *err)
{
    *out = NULL;
    *n = 0;
    if (r == NULL)
        return 0;
    for (uint64_t b = 0; (r->missing || r->not_regular) && b < f->nblocks; b++)
        if (push_block(out, n, b, err) == -1)
            return -1;
    for (size_t i = 0; !r->missing && !r->not_regular && i < r->nbad; i++)
        if (r->bad_blocks[i] < f->nblocks &&
            push_block(out, n, r->bad_blocks[i], err) == -1)
            return -1;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Scanning the set                                                    */

static int
scan(struct job *j, struct cm_err *err)
{
    const struct manifest *m = j->m;

    if ((j->reports = cm_calloc(m->nfiles + 1, sizeof *j->reports, err)) ==
        NULL)
        return -1;
    for (size_t i = 0; i < m->nfiles; i++) {
        struct filecheck_report rep;
        /* A part of a set that spans media: the other parts' files are
         * on other media. */
        if (manifest_file_part(m, m->files[i].name) != m->part)
            continue;
        if (filescan_file(j->src, &m->files[i], &scan_opts, &rep, err) == -1)
            return -1;
        j->r->bytes += m->files[i].size;
        if (filecheck_ok(&rep)) {
            filecheck_report_free(&rep);
            continue;
        }
        if ((j->reports[i] = cm_malloc(sizeof rep, err)) == NULL) {
            filecheck_report_free(&rep);
            return -1;
        }
        *j->reports[i] = rep;
    }
    j->r->files = m->nfiles;
    return 0;
}

static struct repair_file *
add_damaged(struct job *j, const struct manifest_file *f, struct cm_err *err)
{
    struct repair_result *r = j->r;
    struct repair_file *grown, *d;

    grown = realloc(r->damaged, (r->ndamaged + 1) * sizeof *grown);
    if (grown == NULL) {
        cm_fail(err, CM_EINTERNAL, "out of memory");
        return NULL;
    }
    r->damaged = grown;
    d = &grown[r->ndamaged];
    memset(d, 0, sizeof *d);
    if ((d->name = cm_strdup(f->name, err)) == NULL)
        return NULL;
    r->ndamaged++;
    d->is_parity = f->parity_of != NULL;
    d->size = f->size;
    return d;
}

/* A dry run: what parity_assess says. */
static int
assess_only(struct job *j, struct cm_err *err)
{
    struct parity_assessment a;
    int rc = -1;

    if (parity_assess(j->m, (const struct filecheck_report *const *)j->reports,
                      &a, err) == -1)
        return -1;
    for (size_t i = 0; i < a.n; i++) {
        const struct parity_verdict *v = &a.v[i];
        const struct manifest_file *f = &j->m->files[v->file];
        struct repair_file *d = add_damaged(j, f, err);
        uint64_t *bad = NULL;
        size_t nbad = 0;
        if (d == NULL ||
            bad_blocks(f, j->reports[v->file], &bad, &nbad, err) == -1)
            goto out;
        d->has_parity = v->covered;
        d->bad = v->bad;
        for (size_t k = 0; k < nbad; k++) {
            int lost = in_list(v->lost, v->nlost, bad[k]);
            if (push_block(lost ? &d->lost : &d->rebuilt,
                           lost ? &d->nlost : &d->nrebuilt, bad[k], err) == -1)
                break;
        }
        free(bad);
        if (err != NULL && err->code != CM_OK)
            goto out;
    }
    rc = 0;
out:
    parity_assessment_free(&a);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Writing one output file                                             */

static void
output_path(const struct job *j, const struct manifest_file *f, char *out,
            size_t outlen)
{
    if (j->o->in_place)
        snprintf(out, outlen, "%s/%s" REPAIR_TEMP_SUFFIX, j->src, f->name);
    else
        snprintf(out, outlen, "%s/%s", j->out, f->name);
}

/* Write ${len} bytes at ${off} of the output ${fd}. */
static int
put(int fd, const char *dst, const void *p, size_t len, uint64_t off,
    struct cm_err *err)
{
    const uint8_t *q = p;

    while (len > 0) {
        ssize_t n = pwrite(fd, q, len, (off_t)off);
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0)
            return cm_fail_errno(err, n == -1 ? errno : EIO, "%s: write", dst);
        q += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

/* Copy ${f} as it is (zeros where it cannot be read) to ${out}. */
static int
copy_as_is(const struct job *j, const struct manifest_file *f, int out,
           const char *dst, struct cm_err *err)
{
    char path[4200];
    uint8_t *block = NULL;
    int in, rc = -1;

    snprintf(path, sizeof path, "%s/%s", j->src, f->name);
    in = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if ((block = cm_malloc(BS, err)) == NULL)
        goto out;
    for (uint64_t b = 0; in != -1 && b < f->nblocks; b++) {
        struct cm_err ignored = CM_ERR_INIT;
        size_t want =
            f->size - b * BS < BS ? (size_t)(f->size - b * BS) : (size_t)BS;
        ssize_t got = io_pread_full(in, block, want, b * BS, path, &ignored);
        if (got > 0 && put(out, dst, block, (size_t)got, b * BS, err) == -1)
            goto out;
    }
    if (ftruncate(out, (off_t)f->size) == -1) {
        cm_fail_errno(err, errno, "%s: cannot set its size", dst);
        goto out;
    }
    rc = 0;
out:
    free(block);
    if (in != -1)
        close(in);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Rebuilding stripes                                                  */

/* A file and its parity file, their damage, and open descriptors. */
struct group {
    const struct manifest_file *d, *p; /* p may be NULL */
    struct parity_layout l;
    int usable;
    uint64_t *dbad, *pbad;
    size_t ndbad, npbad;
    int din, pin;   /* the set's files */
    int dout, pout; /* outputs, or -1 */
    char dsrc[4200], psrc[4200], ddst[4200], pdst[4200];
    struct rs *code;
    uint8_t *mem;
    uint8_t *frag[RS_FRAGMENTS_MAX]; /* k data, then m parity */
    uint8_t *enc[RS_FRAGMENTS_MAX];  /* m parity, computed again */
    uint8_t *blk;                    /* one parity file block */
    uint8_t erased[RS_FRAGMENTS_MAX];
};

static int
block_ok(const struct manifest_file *f, uint64_t b, const uint8_t *p,
         size_t len)
{
    uint8_t digest[32];

    blockhash_sha256(p, len, digest);
    return CRYPTO_memcmp(digest, f->blocks[b], 32) == 0;
}

static size_t
block_len(const struct manifest_file *f, uint64_t b)
{
    return f->size - b * BS < BS ? (size_t)(f->size - b * BS) : (size_t)BS;
}

/* Data place ${i} of stripe ${s}: read and checked, or erased. */
static void
load_data(struct group *g, uint64_t s, uint32_t i)
{
    struct cm_err ignored = CM_ERR_INIT;
    uint64_t b = parity_block_at(&g->l, s, i);

    g->erased[i] = 0;
    if (b >= g->l.nblocks) {
        memset(g->frag[i], 0, g->l.shard);
        return;
    }
    g->erased[i] = in_list(g->dbad, g->ndbad, b) || g->din == -1 ||
                   parity_read_block(g->din, g->dsrc, &g->l, b, g->frag[i],
                                     &ignored) == -1 ||
                   !block_ok(g->d, b, g->frag[i], block_len(g->d, b));
}

/* Parity fragment ${jj} of stripe ${s}: from parity blocks that match. */
static void
load_parity(struct group *g, uint64_t s, uint32_t jj)
{
    uint8_t *dst = g->frag[g->l.k + jj];
    uint64_t first, last, off = (s * g->l.m + jj) * (uint64_t)g->l.shard;
    uint8_t *bad = &g->erased[g->l.k + jj];

    parity_fragment_blocks(&g->l, s, jj, &first, &last);
    *bad = g->pin == -1;
    for (uint64_t pb = first; pb <= last && !*bad; pb++) {
        struct cm_err ignored = CM_ERR_INIT;
        size_t len = block_len(g->p, pb);
        uint64_t lo = pb * BS > off ? pb * BS : off;
        uint64_t hi =
            pb * BS + len < off + g->l.shard ? pb * BS + len : off + g->l.shard;
        *bad = in_list(g->pbad, g->npbad, pb) ||
               io_pread_full(g->pin, g->blk, len, pb * BS, g->psrc, &ignored) !=
                   (ssize_t)len ||
               !block_ok(g->p, pb, g->blk, len) || hi <= lo;
        if (!*bad)
            memcpy(dst + (lo - off), g->blk + (lo - pb * BS), hi - lo);
    }
}

/* Write the rebuilt data blocks that match MANIFEST. */
static int
put_data(struct group *g, uint64_t s, struct cm_err *err)
{
    for (uint32_t i = 0; i < g->l.k; i++) {
        uint64_t b = parity_block_at(&g->l, s, i);
        if (!g->erased[i] || b >= g->l.nblocks || g->dout == -1 ||
            !block_ok(g->d, b, g->frag[i], block_len(g->d, b)))
            continue;
        if (put(g->dout, g->ddst, g->frag[i], block_len(g->d, b), b * BS,
                err) == -1)
            return -1;
    }
    return 0;
}

/* Compute the stripe's parity again and write the fragments that were bad. */
static int
put_parity(struct group *g, uint64_t s, struct cm_err *err)
{
    int any = 0;

    for (uint32_t jj = 0; jj < g->l.m; jj++)
        any |= g->erased[g->l.k + jj];
    if (!any || g->pout == -1)
        return 0;
    rs_encode(g->code, g->l.shard, g->frag, g->enc);
    for (uint32_t jj = 0; jj < g->l.m; jj++)
        if (g->erased[g->l.k + jj] &&
            put(g->pout, g->pdst, g->enc[jj], g->l.shard,
                (s * g->l.m + jj) * (uint64_t)g->l.shard, err) == -1)
            return -1;
    return 0;
}

static int
rebuild_stripe(struct group *g, uint64_t s, struct cm_err *err)
{
    unsigned erased = 0;
    uint32_t data_erased = 0;

    for (uint32_t i = 0; i < g->l.k; i++) {
        load_data(g, s, i);
        data_erased += g->erased[i];
    }
    for (uint32_t jj = 0; jj < g->l.m; jj++)
        load_parity(g, s, jj);
    for (uint32_t i = 0; i < g->l.k + g->l.m; i++)
        erased += g->erased[i];
    if (erased == 0 || erased > g->l.m)
        return 0; /* nothing to do, or beyond repair: the check says so */
    if (data_erased > 0) {
        struct cm_err derr = CM_ERR_INIT;
        if (rs_decode(g->code, g->l.shard, g->frag, g->erased, &derr) == -1)
            return derr.code == CM_DAMAGED
                       ? 0
                       : cm_fail(err, derr.code, "%s", derr.msg);
        if (put_data(g, s, err) == -1)
            return -1;
    }
    return put_parity(g, s, err);
}

/* The stripes that have a bad data block or parity fragment, ascending. */
static int
damaged_stripes(const struct group *g, uint8_t **marks, struct cm_err *err)
{
    uint32_t place;

    if ((*marks = cm_calloc((size_t)g->l.stripes, 1, err)) == NULL)
        return -1;
    for (size_t i = 0; i < g->ndbad; i++)
        (*marks)[parity_stripe_of(&g->l, g->dbad[i], &place)] = 1;
    for (uint64_t s = 0; s < g->l.stripes && g->npbad > 0; s++)
        for (uint32_t jj = 0; jj < g->l.m && !(*marks)[s]; jj++) {
            uint64_t first, last;
            parity_fragment_blocks(&g->l, s, jj, &first, &last);
            for (uint64_t pb = first; pb <= last; pb++)
                if (in_list(g->pbad, g->npbad, pb))
                    (*marks)[s] = 1;
        }
    return 0;
}

static int
group_codec(struct group *g, struct cm_err *err)
{
    size_t k = g->l.k, m = g->l.m;

    if (rs_new(g->l.k, g->l.m, &g->code, err) == -1 ||
        (g->mem = cm_malloc((k + 2 * m) * g->l.shard + BS, err)) == NULL)
        return -1;
    for (size_t i = 0; i < k + m; i++)
        g->frag[i] = g->mem + i * g->l.shard;
    for (size_t i = 0; i < m; i++)
        g->enc[i] = g->mem + (k + m + i) * g->l.shard;
    g->blk = g->mem + (k + 2 * m) * g->l.shard;
    return 0;
}

static int
rebuild(struct group *g, struct cm_err *err)
{
    uint8_t *marks = NULL;
    int rc = -1;

    if (!g->usable || (g->ndbad == 0 && g->npbad == 0))
        return 0;
    if (group_codec(g, err) == -1 || damaged_stripes(g, &marks, err) == -1)
        goto out;
    for (uint64_t s = 0; s < g->l.stripes; s++)
        if (marks[s] && rebuild_stripe(g, s, err) == -1)
            goto out;
    rc = 0;
out:
    free(marks);
    return rc;
}

/* ------------------------------------------------------------------ */
/* One group: outputs, rebuild, check                                  */

static int
open_output(const struct job *j, const struct manifest_file *f, char *dst,
            size_t dstlen, int *fd, struct cm_err *err)
{
    output_path(j, f, dst, dstlen);
    if (j->o->in_place)
        unlink(dst); /* left by an interrupted repair */
    if ((*fd = io_open(dst, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, 0644,
                       err)) == -1)
        return -1;
    return copy_as_is(j, f, *fd, dst, err);
}

static int
close_output(int *fd, const char *dst, struct cm_err *err)
{
    int rc;

    if (*fd == -1)
        return 0;
    rc = io_fsync(*fd, dst, err);
    if (io_close(*fd, dst, err) == -1)
        rc = -1;
    *fd = -1;
    return rc;
}

static void
group_free(struct group *g)
{
    if (g->din != -1)
        close(g->din);
    if (g->pin != -1)
        close(g->pin);
    if (g->dout != -1)
        close(g->dout);
    if (g->pout != -1)
        close(g->pout);
    rs_free(g->code);
    free(g->mem);
    free(g->dbad);
    free(g->pbad);
}

/* Read the output of ${f} back and record what it holds now. */
static int
check_output(struct job *j, const struct manifest_file *f, const char *dst,
             int covered, struct cm_err *err)
{
    const struct filecheck_report *before = j->reports[f - j->m->files];
    struct manifest_file copy = *f;
    struct filecheck_report after;
    struct repair_file *d = NULL;
    uint64_t *bad = NULL;
    size_t nbad = 0;
    const char *slash = strrchr(dst, '/');
    char dir[4200];
    int rc = -1;

    snprintf(dir, sizeof dir, "%.*s", (int)(slash - dst), dst);
    copy.name = (char *)(slash + 1);
    if (filescan_file(dir, &copy, &scan_opts, &after, err) == -1)
        return -1;
    if (before == NULL && filecheck_ok(&after)) {
        filecheck_report_free(&after);
        return 0;
    }
    if ((d = add_damaged(j, f, err)) == NULL ||
        bad_blocks(f, before, &bad, &nbad, err) == -1 ||
        bad_blocks(f, &after, &d->lost, &d->nlost, err) == -1)
        goto out;
    d->bad = nbad;
    d->has_parity = covered;
    for (size_t i = 0; i < nbad; i++)
        if (!in_list(d->lost, d->nlost, bad[i]) &&
            push_block(&d->rebuilt, &d->nrebuilt, bad[i], err) == -1)
            goto out;
    if (!filecheck_ok(&after) && d->nlost == 0 &&
        push_block(&d->lost, &d->nlost, 0, err) == -1)
        goto out; /* wrong size or whole-file hash: count its first block */
    rc = 0;
out:
    free(bad);
    filecheck_report_free(&after);
    return rc;
}

static int
open_inputs(struct job *j, struct group *g, struct cm_err *err)
{
    struct cm_err ignored = CM_ERR_INIT;

    snprintf(g->dsrc, sizeof g->dsrc, "%s/%s", j->src, g->d->name);
    g->din = open(g->dsrc, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (g->p != NULL) {
        snprintf(g->psrc, sizeof g->psrc, "%s/%s", j->src, g->p->name);
        g->pin = open(g->psrc, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        g->usable = parity_layout_of(j->m, g->p, &g->l, &ignored) == 0;
    }
    if (bad_blocks(g->d, j->reports[g->d - j->m->files], &g->dbad, &g->ndbad,
                   err) == -1 ||
        (g->p != NULL && bad_blocks(g->p, j->reports[g->p - j->m->files],
                                    &g->pbad, &g->npbad, err) == -1))
        return -1;
    return 0;
}

static int
run_group(struct job *j, struct group *g, struct cm_err *err)
{
    int want_d = !j->o->in_place || j->reports[g->d - j->m->files] != NULL;
    int want_p = g->p != NULL &&
                 (!j->o->in_place || j->reports[g->p - j->m->files] != NULL);

    if (open_inputs(j, g, err) == -1)
        return -1;
    if (want_d &&
        open_output(j, g->d, g->ddst, sizeof g->ddst, &g->dout, err) == -1)
        return -1;
    if (want_p &&
        open_output(j, g->p, g->pdst, sizeof g->pdst, &g->pout, err) == -1)
        return -1;
    if (rebuild(g, err) == -1 || close_output(&g->dout, g->ddst, err) == -1 ||
        close_output(&g->pout, g->pdst, err) == -1)
        return -1;
    if ((want_d && check_output(j, g->d, g->ddst, g->usable, err) == -1) ||
        (want_p && check_output(j, g->p, g->pdst, g->usable, err) == -1))
        return -1;
    return 0;
}

/* In place: put each wholly repaired file over its original. */
static int
replace_repaired(struct job *j, struct cm_err *err)
{
    char from[4200], to[4200];
    int any = 0;

    for (size_t i = 0; i < j->r->ndamaged; i++) {
        struct repair_file *d = &j->r->damaged[i];
        snprintf(from, sizeof from, "%s/%s" REPAIR_TEMP_SUFFIX, j->src,
                 d->name);
        snprintf(to, sizeof to, "%s/%s", j->src, d->name);
        if (d->nlost > 0) {
            unlink(from);
            continue;
        }
        if (io_rename(from, to, err) == -1)
            return -1;
        d->replaced = 1;
        any = 1;
    }
    return any ? io_fsync_dir(j->src, err) : 0;
}

static int
repair_groups(struct job *j, struct cm_err *err)
{
    const struct manifest *m = j->m;

    for (size_t i = 0; i < m->nfiles; i++) {
        struct group g;
        int rc;
        if (m->files[i].parity_of != NULL ||
            manifest_file_part(m, m->files[i].name) != m->part)
            continue;
        memset(&g, 0, sizeof g);
        g.din = g.pin = g.dout = g.pout = -1;
        g.d = &m->files[i];
        g.p = manifest_parity_for(m, g.d->name);
        if (j->o->in_place && j->reports[i] == NULL &&
            (g.p == NULL || j->reports[g.p - m->files] == NULL))
            continue;
        rc = run_group(j, &g, err);
        group_free(&g);
        if (rc == -1)
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* The output set (out_dir)                                            */

static int
begin_output(struct job *j, struct cm_err *err)
{
    const char *name = j->r->set_name;
    struct stat st;
    int n;

    if (mkdir(j->o->out_dir, 0755) == -1 && errno != EEXIST)
        return cm_fail_errno(err, errno, "%s: cannot create", j->o->out_dir);
    n = snprintf(j->final, sizeof j->final, "%s/%s", j->o->out_dir, name);
    if (n < 0 || (size_t)n >= sizeof j->final - sizeof INCOMPLETE_SUFFIX)
        return cm_fail(err, CM_EUSAGE, "%s: path too long", j->o->out_dir);
    if (lstat(j->final, &st) == 0)
        return cm_fail(err, CM_EUSAGE, "%s: already exists", j->final);
    snprintf(j->out, sizeof j->out, "%s" INCOMPLETE_SUFFIX, j->final);
    if (mkdir(j->out, 0755) == -1)
        return cm_fail_errno(err, errno, "%s: cannot create", j->out);
    j->made_out = 1;
    return 0;
}

static int
copy_small(const char *from_dir, const char *to_dir, const char *name,
           size_t max, struct cm_err *err)
{
    char from[4200], to[4200];
    struct buf b;
    int rc;

    snprintf(from, sizeof from, "%s/%s", from_dir, name);
    snprintf(to, sizeof to, "%s/%s", to_dir, name);
    buf_init(&b, max);
    rc = io_read_file(from, max, &b, err);
    if (rc == 0)
        rc = io_write_file_excl(to, b.data, b.len, 0644, err);
    buf_free(&b);
    return rc;
}

/* MANIFEST and its signature, checked again in their new place. */
static int
finish_output(struct job *j, struct cm_err *err)
{
    struct setr_opts so = {.trusted = j->o->trusted, .ids = NULL};
    struct setr *again = NULL;
    int rc = -1;

    if (copy_small(j->src, j->out, "MANIFEST.minisig", MINISIG_FILE_MAX, err) ==
            -1 ||
        copy_small(j->src, j->out, "MANIFEST", MANIFEST_MAX, err) == -1 ||
        setr_open(j->out, &so, &again, err) == -1)
        return cm_err_prefix(err, "the repaired copy");
    if (memcmp(setr_manifest_sha256(again), setr_manifest_sha256(j->set), 32) !=
        0) {
        cm_fail(err, CM_EIO, "%s: MANIFEST changed while copied", j->out);
        goto out;
    }
    if (io_fsync_dir(j->out, err) == -1 ||
        io_rename(j->out, j->final, err) == -1 ||
        io_fsync_dir(j->o->out_dir, err) == -1)
        goto out;
    j->made_out = 0;
    snprintf(j->r->output, sizeof j->r->output, "%s", j->final);
    rc = 0;
out:
    setr_close(again);
    return rc;
}

/* In place, after a failure: no NAME.repairing is left behind. */
static void
remove_temps(const struct job *j)
{
    char path[4400];

    for (size_t i = 0; j->o->in_place && j->m != NULL && i < j->m->nfiles;
         i++) {
        snprintf(path, sizeof path, "%s/%s" REPAIR_TEMP_SUFFIX, j->src,
                 j->m->files[i].name);
        unlink(path);
    }
}

static void
remove_output(struct job *j)
{
    for (size_t i = 0; j->made_out && i < j->m->nfiles; i++) {
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", j->out, j->m->files[i].name);
        unlink(path);
    }
    if (j->made_out) {
        char path[4400];
        snprintf(path, sizeof path, "%s/MANIFEST", j->out);
        unlink(path);
        snprintf(path, sizeof path, "%s/MANIFEST.minisig", j->out);
        unlink(path);
        rmdir(j->out);
    }
}

/* ------------------------------------------------------------------ */

static int
check_opts(const struct repair_opts *o, struct cm_err *err)
{
    int modes = (o->out_dir != NULL) + (o->in_place != 0) + (o->dry_run != 0);

    if (modes != 1)
        return cm_fail(err, CM_EUSAGE,
                       "give exactly one of -o REPAIRED_DIR, "
                       "--in-place and --dry-run");
    return 0;
}

static void
count_totals(struct repair_result *r)
{
    r->rebuilt = r->lost = 0;
    for (size_t i = 0; i < r->ndamaged; i++) {
        r->rebuilt += r->damaged[i].nrebuilt;
        r->lost += r->damaged[i].nlost;
    }
    r->code = r->lost > 0 ? CM_DAMAGED : CM_OK;
}

/* The set directory's own name, also for "." and "..". */
static int
set_name(const char *dir, char *out, size_t outlen, struct cm_err *err)
{
    char *real = realpath(dir, NULL);
    const char *slash;

    if (real == NULL)
        return cm_fail_errno(err, errno, "%s", dir);
    slash = strrchr(real, '/');
    snprintf(out, outlen, "%s", slash && slash[1] ? slash + 1 : real);
    free(real);
    return 0;
}

static int
run(struct job *j, struct cm_err *err)
{
    struct setr_opts so = {.trusted = j->o->trusted, .ids = NULL};

    if (check_opts(j->o, err) == -1 ||
        set_name(j->src, j->r->set_name, sizeof j->r->set_name, err) == -1 ||
        setr_open(j->src, &so, &j->set, err) == -1)
        return -1;
    j->m = setr_manifest(j->set);
    j->r->trusted = setr_trusted(j->set);
    if (scan(j, err) == -1)
        return -1;
    if (j->o->dry_run)
        return assess_only(j, err);
    if (j->o->out_dir != NULL && begin_output(j, err) == -1)
        return -1;
    if (repair_groups(j, err) == -1)
        return -1;
    if (j->o->in_place)
        return replace_repaired(j, err);
    return finish_output(j, err);
}

int
repair_run(const char *set_dir, const struct repair_opts *o,
           struct repair_result *r, struct cm_err *err)
{
    char dir[4096];
    struct job j;
    size_t len = strlen(set_dir);
    int rc;

    memset(r, 0, sizeof *r);
    memset(&j, 0, sizeof j);
    if (len == 0 || len >= sizeof dir)
        return cm_fail(err, CM_EUSAGE, "bad set directory \"%s\"", set_dir);
    memcpy(dir, set_dir, len + 1);
    while (len > 1 && dir[len - 1] == '/')
        dir[--len] = '\0';
    j.o = o;
    j.src = dir;
    j.r = r;
    r->dry_run = o->dry_run;
    r->in_place = o->in_place;
    rc = run(&j, err);
    count_totals(r);
    remove_output(&j);
    if (rc == -1)
        remove_temps(&j);
    for (size_t i = 0; j.reports != NULL && j.m != NULL && i < j.m->nfiles;
         i++) {
        filecheck_report_free(j.reports[i]);
        free(j.reports[i]);
    }
    free(j.reports);
    setr_close(j.set);
    if (rc == -1) {
        repair_result_free(r);
        memset(r, 0, sizeof *r);
    }
    return rc;
}

void
repair_result_free(struct repair_result *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->ndamaged; i++) {
        free(r->damaged[i].name);
        free(r->damaged[i].rebuilt);
        free(r->damaged[i].lost);
    }
    free(r->damaged);
    r->damaged = NULL;
    r->ndamaged = 0;
}

/* ------------------------------------------------------------------ */
/* Report                                                              */

static const char *
lost_why(const struct repair_file *d)
{
    if (!d->has_parity)
        return d->is_parity ? "its layout in MANIFEST is inconsistent"
                            : "no usable parity protects this file";
    return d->is_parity ? "its stripe has more bad blocks than parity"
                        : "a stripe has more bad blocks than parity";
}

static int
format_file(const struct repair_result *r, const struct repair_file *d,
            struct buf *out, struct cm_err *err)
{
    const char *verb = r->dry_run ? "can rebuild" : "rebuilt";

    if (d->nrebuilt > 0 &&
        (buf_printf(out, err, "  %s: %s %s ", d->name, verb,
                    d->nrebuilt == 1 ? "block" : "blocks") == -1 ||
         parity_format_blocks(d->rebuilt, d->nrebuilt, 20, out, err) == -1 ||
         buf_printf(out, err, "%s\n",
                    d->is_parity ? " (parity, computed again)"
                                 : " from parity") == -1))
        return -1;
    if (d->nlost > 0 &&
        (buf_printf(out, err, "  %s: %s ", d->name,
                    d->nlost == 1 ? "block" : "blocks") == -1 ||
         parity_format_blocks(d->lost, d->nlost, 20, out, err) == -1 ||
         buf_printf(out, err, " beyond repair (%s)%s\n", lost_why(d),
                    r->in_place ? "; the file is left as it was" : "") == -1))
        return -1;
    if (d->nrebuilt == 0 && d->nlost == 0 &&
        buf_printf(out, err, "  %s: %s\n", d->name,
                   r->dry_run ? "only longer than listed: can be cut"
                              : "cut to its listed size") == -1)
        return -1;
    return 0;
}

static const char *
headline(const struct repair_result *r)
{
    if (r->ndamaged == 0)
        return "INTACT";
    if (r->dry_run)
        return r->lost ? "PARTLY REPAIRABLE" : "REPAIRABLE";
    return r->lost ? "PARTLY REPAIRED" : "REPAIRED";
}

int
repair_format_text(const struct repair_result *r, struct buf *out,
                   struct cm_err *err)
{
    if (buf_printf(out, err, "%s %s\n", headline(r), r->set_name) == -1)
        return -1;
    for (size_t i = 0; i < r->ndamaged; i++)
        if (format_file(r, &r->damaged[i], out, err) == -1)
            return -1;
    if (buf_printf(out, err,
                   "\nsummary: %" PRIu64 " files checked; %" PRIu64
                   " bad blocks %s, %" PRIu64 " beyond repair\n",
                   r->files, r->rebuilt,
                   r->dry_run ? "repair can rebuild" : "rebuilt and checked",
                   r->lost) == -1)
        return -1;
    if (*r->output && buf_printf(out, err,
                                 "repaired copy: %s (every file read back and "
                                 "checked against the signed MANIFEST)\n",
                                 r->output) == -1)
        return -1;
    if (r->in_place && r->ndamaged > 0 &&
        buf_printf(out, err, "in place: %s\n",
                   r->lost ? "the files repaired whole were replaced; the "
                             "others are as they were"
                           : "every damaged file was replaced by its "
                             "checked repair") == -1)
        return -1;
    return 0;
}
