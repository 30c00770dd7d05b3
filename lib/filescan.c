#include "filescan.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "io.h"

struct slot {
    uint8_t *data;
    size_t len;
    uint64_t index;
    int read_ok;
    int busy; /* filled, block hash not yet done */
};

struct scan {
    const struct manifest_file *f;
    struct filecheck_report *r;
    const char *path;
    int fd;
    uint64_t nblocks; /* of the file as it is */
    struct slot ring[FILESCAN_RING];
    EVP_MD_CTX *whole, *block;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int failed; /* the helper ran out of memory */
    int stop;   /* the caller gave up: the helper ends */
};

static int
note_bad(struct filecheck_report *r, uint64_t block)
{
    uint64_t *grown;

    if (r->nbad > 0 && r->bad_blocks[r->nbad - 1] == block)
        return 0;
    grown = realloc(r->bad_blocks, (r->nbad + 1) * sizeof *grown);
    if (grown == NULL)
        return -1;
    grown[r->nbad++] = block;
    r->bad_blocks = grown;
    return 0;
}

/* Hash one block on its own and compare it with MANIFEST. */
static int
check_block(struct scan *sc, const struct slot *s)
{
    uint8_t digest[32];

    if (s->index >= sc->f->nblocks)
        return 0;
    if (!s->read_ok)
        return note_bad(sc->r, s->index);
    if (EVP_DigestInit_ex(sc->block, NULL, NULL) != 1 ||
        EVP_DigestUpdate(sc->block, s->data, s->len) != 1 ||
        EVP_DigestFinal_ex(sc->block, digest, NULL) != 1)
        return -1;
    if (CRYPTO_memcmp(digest, sc->f->blocks[s->index], 32) != 0)
        return note_bad(sc->r, s->index);
    return 0;
}

static void *
helper(void *arg)
{
    struct scan *sc = arg;

    for (uint64_t i = 0; i < sc->nblocks; i++) {
        struct slot *s = &sc->ring[i % FILESCAN_RING];
        int ready;
        pthread_mutex_lock(&sc->mu);
        while (!sc->stop && !(s->busy && s->index == i))
            pthread_cond_wait(&sc->cv, &sc->mu);
        ready = s->busy && s->index == i;
        pthread_mutex_unlock(&sc->mu);
        if (!ready)
            break;
        if (check_block(sc, s) == -1)
            sc->failed = 1;
        pthread_mutex_lock(&sc->mu);
        s->busy = 0;
        pthread_cond_broadcast(&sc->cv);
        pthread_mutex_unlock(&sc->mu);
    }
    return NULL;
}

/* Read block ${i} into ${s}; a read error marks it, nothing more. */
static void
read_block(struct scan *sc, struct slot *s, uint64_t i, struct progress *p)
{
    struct cm_err ignored = CM_ERR_INIT;
    uint64_t off = i * MANIFEST_BLOCK_SIZE;
    size_t want = sc->r->size - off < MANIFEST_BLOCK_SIZE
                      ? (size_t)(sc->r->size - off)
                      : MANIFEST_BLOCK_SIZE;
    ssize_t n = io_pread_full(sc->fd, s->data, want, off, sc->path, &ignored);

    s->index = i;
    s->len = want;
    s->read_ok = n == (ssize_t)want;
    if (!s->read_ok) {
        sc->r->read_errors++;
        sc->r->sha256_ok = 0;
    }
    if (p != NULL)
        progress_add(p, 0, want);
}

/* The caller's side: read in order, feed the whole-file hash. */
static int
feed(struct scan *sc, int threaded, struct progress *p)
{
    for (uint64_t i = 0; i < sc->nblocks; i++) {
        struct slot *s = &sc->ring[threaded ? i % FILESCAN_RING : 0];
        if (threaded) {
            pthread_mutex_lock(&sc->mu);
            while (s->busy)
                pthread_cond_wait(&sc->cv, &sc->mu);
            pthread_mutex_unlock(&sc->mu);
        }
        read_block(sc, s, i, p);
        if (threaded) {
            pthread_mutex_lock(&sc->mu);
            s->busy = 1;
            pthread_cond_broadcast(&sc->cv);
            pthread_mutex_unlock(&sc->mu);
        }
        if (s->read_ok && EVP_DigestUpdate(sc->whole, s->data, s->len) != 1)
            return -1;
        if (!threaded && check_block(sc, s) == -1)
            return -1;
    }
    return 0;
}

static int
run_threads(struct scan *sc, int threaded, struct progress *p)
{
    pthread_t t;
    int rc;

    if (!threaded)
        return feed(sc, 0, p);
    if (pthread_create(&t, NULL, helper, sc) != 0)
        return feed(sc, 0, p);
    rc = feed(sc, 1, p);
    if (rc == -1) {
        pthread_mutex_lock(&sc->mu);
        sc->stop = 1;
        pthread_cond_broadcast(&sc->cv);
        pthread_mutex_unlock(&sc->mu);
    }
    pthread_join(t, NULL);
    return rc;
}

static int
scan_setup(struct scan *sc, int threaded, struct cm_err *err)
{
    int n = threaded ? FILESCAN_RING : 1;

    pthread_mutex_init(&sc->mu, NULL);
    pthread_cond_init(&sc->cv, NULL);
    sc->whole = EVP_MD_CTX_new();
    sc->block = EVP_MD_CTX_new();
    if (sc->whole == NULL || sc->block == NULL ||
        EVP_DigestInit_ex(sc->whole, EVP_sha256(), NULL) != 1 ||
        EVP_DigestInit_ex(sc->block, EVP_sha256(), NULL) != 1)
        return cm_fail(err, CM_EINTERNAL, "out of memory");
    for (int i = 0; i < n; i++)
        if ((sc->ring[i].data = cm_malloc(MANIFEST_BLOCK_SIZE, err)) == NULL)
            return -1;
    return 0;
}

static void
scan_teardown(struct scan *sc)
{
    for (int i = 0; i < FILESCAN_RING; i++)
        free(sc->ring[i].data);
    EVP_MD_CTX_free(sc->whole);
    EVP_MD_CTX_free(sc->block);
    pthread_cond_destroy(&sc->cv);
    pthread_mutex_destroy(&sc->mu);
}

static int
scan_open_file(struct scan *sc, const struct filescan_opts *o,
               struct cm_err *err)
{
    uint8_t digest[32];
    int threaded = o->threads >= 2 && sc->nblocks >= 2, rc = -1;

    if (scan_setup(sc, threaded, err) == -1)
        goto out;
    if (o->uncached)
        posix_fadvise(sc->fd, 0, 0, POSIX_FADV_DONTNEED);
    posix_fadvise(sc->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    sc->r->size_ok = sc->r->size == sc->f->size;
    sc->r->sha256_ok = 1;
    if (run_threads(sc, threaded, o->progress) == -1 || sc->failed) {
        cm_fail(err, CM_EINTERNAL, "%s: out of memory", sc->path);
        goto out;
    }
    for (uint64_t i = sc->nblocks; i < sc->f->nblocks; i++)
        if (note_bad(sc->r, i) == -1) {
            cm_fail(err, CM_EINTERNAL, "out of memory");
            goto out;
        }
    EVP_DigestFinal_ex(sc->whole, digest, NULL);
    if (!sc->r->size_ok || CRYPTO_memcmp(digest, sc->f->sha256, 32) != 0)
        sc->r->sha256_ok = 0;
    rc = 0;
out:
    scan_teardown(sc);
    return rc;
}

int
filescan_file(const char *dir, const struct manifest_file *f,
              const struct filescan_opts *o, struct filecheck_report *r,
              struct cm_err *err)
{
    char path[4096];
    struct scan sc;
    struct stat st;
    int rc;

    memset(r, 0, sizeof *r);
    memset(&sc, 0, sizeof sc);
    snprintf(path, sizeof path, "%s/%s", dir, f->name);
    sc.fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (sc.fd == -1) {
        if (errno == ENOENT)
            r->missing = 1;
        else
            r->not_regular = 1;
        return 0;
    }
    if (fstat(sc.fd, &st) == -1 || !S_ISREG(st.st_mode)) {
        r->not_regular = 1;
        close(sc.fd);
        return 0;
    }
    r->size = (uint64_t)st.st_size;
    sc.f = f;
    sc.r = r;
    sc.path = path;
    sc.nblocks =
        r->size / MANIFEST_BLOCK_SIZE + (r->size % MANIFEST_BLOCK_SIZE != 0);
    rc = scan_open_file(&sc, o, err);
    close(sc.fd);
    if (rc == -1)
        filecheck_report_free(r);
    return rc;
}
