#include "readback.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blockhash.h"
#include "io.h"
#include "manifest.h"

struct readback {
    pthread_t thread;
    int started;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int wfd, rfd;
    char *path, *name;
    int flip; /* the test hook applies to this file */

    /* Shared with the writer, under lock. */
    uint64_t written;
    uint64_t *crcs;
    uint64_t ncrcs, cap;
    int done;      /* the writer finished and fsync'd */
    uint64_t size; /* final size, once done */
    int stop;      /* give up (free without finish) */

    /* The checker's own. */
    uint64_t checked; /* blocks verified */
    uint64_t bad, first_bad;
    struct cm_err err;
    uint8_t *block;
};

static int
grow_crcs(struct readback *rb, uint64_t n)
{
    uint64_t cap = rb->cap ? rb->cap : 256;
    uint64_t *grown;

    while (cap < n)
        cap *= 2;
    if (cap == rb->cap)
        return 0;
    grown = realloc(rb->crcs, cap * sizeof *grown);
    if (grown == NULL)
        return -1;
    rb->crcs = grown;
    rb->cap = cap;
    return 0;
}

void
readback_wrote(struct readback *rb, uint64_t written, const uint64_t *crcs,
               uint64_t ncrcs)
{
    pthread_mutex_lock(&rb->lock);
    rb->written = written;
    if (ncrcs > rb->ncrcs && grow_crcs(rb, ncrcs) == 0) {
        memcpy(rb->crcs + rb->ncrcs, crcs + rb->ncrcs,
               (ncrcs - rb->ncrcs) * sizeof *crcs);
        rb->ncrcs = ncrcs;
    }
    if (rb->ncrcs - rb->checked >= READBACK_WINDOW / MANIFEST_BLOCK_SIZE)
        pthread_cond_signal(&rb->cond);
    pthread_mutex_unlock(&rb->lock);
}

/* Check blocks [first, last) against ${crc} (crc[0] is block ${first}). */
static int
check_blocks(struct readback *rb, uint64_t first, uint64_t last,
             const uint64_t *crc, uint64_t size)
{
    for (uint64_t i = first; i < last; i++) {
        uint64_t off = i * MANIFEST_BLOCK_SIZE;
        size_t want = size - off < MANIFEST_BLOCK_SIZE ? (size_t)(size - off)
                                                      : MANIFEST_BLOCK_SIZE;
        ssize_t got = io_pread_full(rb->rfd, rb->block, want, off, rb->path,
                                    &rb->err);
        if (got < 0)
            return -1;
        if (rb->flip && off <= 100 && 100 < off + (uint64_t)got)
            rb->block[100 - off] ^= 0x20;
        if ((size_t)got != want ||
            blockhash_crc64(rb->block, want) != crc[i - first]) {
            if (rb->bad++ == 0)
                rb->first_bad = i;
        }
    }
    return 0;
}

/* Force [first, last) blocks to the medium and out of the page cache. */
static void
flush_range(struct readback *rb, uint64_t first, uint64_t last)
{
    off_t off = (off_t)(first * MANIFEST_BLOCK_SIZE);
    off_t len = (off_t)((last - first) * MANIFEST_BLOCK_SIZE);

    sync_file_range(rb->wfd, off, len,
                    SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                        SYNC_FILE_RANGE_WAIT_AFTER);
    posix_fadvise(rb->rfd, off, len, POSIX_FADV_DONTNEED);
}

#define WINDOW_BLOCKS (READBACK_WINDOW / MANIFEST_BLOCK_SIZE)

static void *
run(void *arg)
{
    struct readback *rb = arg;
    uint64_t crc[WINDOW_BLOCKS];

    pthread_mutex_lock(&rb->lock);
    for (;;) {
        uint64_t first = rb->checked, last;
        while (!rb->stop && !rb->done &&
               rb->ncrcs - rb->checked < WINDOW_BLOCKS)
            pthread_cond_wait(&rb->cond, &rb->lock);
        if (rb->stop || rb->done)
            break;
        last = first + WINDOW_BLOCKS;
        memcpy(crc, rb->crcs + first, sizeof crc);
        pthread_mutex_unlock(&rb->lock);
        /* Blocks [first, last) are written: the writer only appends. */
        flush_range(rb, first, last);
        if (check_blocks(rb, first, last, crc, last * MANIFEST_BLOCK_SIZE) ==
            -1) {
            pthread_mutex_lock(&rb->lock);
            break;
        }
        pthread_mutex_lock(&rb->lock);
        rb->checked = last;
    }
    pthread_mutex_unlock(&rb->lock);
    return NULL;
}

int
readback_start(int wfd, const char *path, const char *name,
               struct readback **out, struct cm_err *err)
{
    struct readback *rb = cm_calloc(1, sizeof *rb, err);
    const char *flip = getenv("COLDMAIL_TEST_READBACK_FLIP");

    if (rb == NULL)
        return -1;
    rb->wfd = wfd;
    rb->rfd = -1;
    pthread_mutex_init(&rb->lock, NULL);
    pthread_cond_init(&rb->cond, NULL);
    rb->flip = flip != NULL && strcmp(flip, name) == 0;
    if ((rb->path = cm_strdup(path, err)) == NULL ||
        (rb->name = cm_strdup(name, err)) == NULL ||
        (rb->block = cm_malloc(MANIFEST_BLOCK_SIZE, err)) == NULL ||
        grow_crcs(rb, 256) == -1 ||
        (rb->rfd = io_open(path, O_RDONLY | O_NOFOLLOW, 0, err)) == -1)
        goto fail;
    if (pthread_create(&rb->thread, NULL, run, rb) != 0) {
        cm_fail(err, CM_EINTERNAL, "cannot start the read-back thread");
        goto fail;
    }
    rb->started = 1;
    *out = rb;
    return 0;
fail:
    readback_free(rb);
    return -1;
}

static void
stop_thread(struct readback *rb, int done)
{
    if (!rb->started)
        return;
    pthread_mutex_lock(&rb->lock);
    if (done)
        rb->done = 1;
    else
        rb->stop = 1;
    pthread_cond_signal(&rb->cond);
    pthread_mutex_unlock(&rb->lock);
    pthread_join(rb->thread, NULL);
    rb->started = 0;
}

int
readback_finish(struct readback *rb, uint64_t size, const uint64_t *crcs,
                uint64_t ncrcs, struct cm_err *err)
{
    stop_thread(rb, 1);
    if (rb->err.code != CM_OK) {
        *err = rb->err;
        return cm_err_prefix(err, "read-back");
    }
    /* The rest: written and fsync'd by the caller. */
    posix_fadvise(rb->rfd, (off_t)(rb->checked * MANIFEST_BLOCK_SIZE), 0,
                  POSIX_FADV_DONTNEED);
    if (rb->checked < ncrcs &&
        check_blocks(rb, rb->checked, ncrcs, crcs + rb->checked, size) == -1) {
        *err = rb->err;
        return cm_err_prefix(err, "read-back");
    }
    if (rb->bad > 0)
        return cm_fail(err, CM_EIO,
                       "read-back from the medium does not match what was "
                       "written: %s: %" PRIu64 " block(s) differ, the first "
                       "at byte %" PRIu64,
                       rb->name, rb->bad, rb->first_bad * MANIFEST_BLOCK_SIZE);
    return 0;
}

void
readback_free(struct readback *rb)
{
    if (rb == NULL)
        return;
    stop_thread(rb, 0);
    if (rb->rfd != -1)
        close(rb->rfd);
    pthread_mutex_destroy(&rb->lock);
    pthread_cond_destroy(&rb->cond);
    free(rb->crcs);
    free(rb->block);
    free(rb->path);
    free(rb->name);
    free(rb);
}
