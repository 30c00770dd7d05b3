#include "readahead.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum slot_state { SLOT_EMPTY, SLOT_LOADING, SLOT_FILLED, SLOT_FAILED };

struct slot {
    uint8_t *data;
    uint64_t chunk;
    uint64_t gen; /* of the volume it was read for */
    size_t len;
    enum slot_state state;
    struct cm_err err;
};

/*
 * Everything below the mutex is shared.  Only the thread writes slot data,
 * and only into slots of chunks in [low, low + READAHEAD_SLOTS): the
 * reader, which alone moves low, never reads a slot the thread may fill.
 */
struct readahead {
    struct setr *set; /* the thread's own */
    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    uint64_t gen; /* bumped when the volume changes */
    uint32_t vol;
    int size_known, vol_failed;
    uint64_t size;
    struct cm_err vol_err;
    uint64_t low, next; /* chunks: the reader's, and the next to read */
    struct slot slots[READAHEAD_SLOTS];
};

static struct slot *
slot_of(struct readahead *ra, uint64_t chunk)
{
    return &ra->slots[chunk % READAHEAD_SLOTS];
}

static uint64_t
nchunks(const struct readahead *ra)
{
    return (ra->size + READAHEAD_CHUNK - 1) / READAHEAD_CHUNK;
}

/* With the lock held: learn the volume's size.  Returns 0 if it changed
 * meanwhile (the caller looks again). */
static int
learn_size(struct readahead *ra)
{
    uint64_t gen = ra->gen, size = 0;
    uint32_t vol = ra->vol;
    struct cm_err err = CM_ERR_INIT;
    int rc;

    pthread_mutex_unlock(&ra->mu);
    rc = setr_volume_size(ra->set, vol, &size, &err);
    pthread_mutex_lock(&ra->mu);
    if (gen != ra->gen)
        return 0;
    ra->size_known = 1;
    ra->size = size;
    if (rc == -1) {
        ra->vol_failed = 1;
        ra->vol_err = err;
    }
    pthread_cond_broadcast(&ra->cv);
    return 1;
}

/* With the lock held: read chunk ra->next into its slot. */
static void
load_next(struct readahead *ra)
{
    uint64_t x = ra->next++, off = x * READAHEAD_CHUNK;
    struct slot *s = slot_of(ra, x);
    struct cm_err err = CM_ERR_INIT;
    uint64_t gen = ra->gen;
    uint32_t vol = ra->vol;
    size_t len = ra->size - off < READAHEAD_CHUNK ? (size_t)(ra->size - off)
                                                  : READAHEAD_CHUNK;
    int rc;

    s->chunk = x;
    s->gen = gen;
    s->len = len;
    s->state = SLOT_LOADING;
    pthread_mutex_unlock(&ra->mu);
    rc = setr_volume_pread(ra->set, vol, s->data, len, off, &err);
    pthread_mutex_lock(&ra->mu);
    if (s->chunk == x && s->gen == gen && s->state == SLOT_LOADING) {
        s->state = rc == 0 ? SLOT_FILLED : SLOT_FAILED;
        s->err = err;
    }
    pthread_cond_broadcast(&ra->cv);
}

static void *
run(void *arg)
{
    struct readahead *ra = arg;

    pthread_mutex_lock(&ra->mu);
    while (!ra->stop) {
        if (ra->vol == 0 || ra->vol_failed) {
            pthread_cond_wait(&ra->cv, &ra->mu);
        } else if (!ra->size_known) {
            learn_size(ra);
        } else if (ra->next >= nchunks(ra) ||
                   ra->next >= ra->low + READAHEAD_SLOTS ||
                   slot_of(ra, ra->next)->state == SLOT_LOADING) {
            pthread_cond_wait(&ra->cv, &ra->mu);
        } else {
            load_next(ra);
        }
    }
    pthread_mutex_unlock(&ra->mu);
    return NULL;
}

int
readahead_new(struct setr *set, struct readahead **out, struct cm_err *err)
{
    struct readahead *ra = cm_calloc(1, sizeof *ra, err);

    if (ra == NULL) {
        setr_close(set);
        return -1;
    }
    ra->set = set;
    pthread_mutex_init(&ra->mu, NULL);
    pthread_cond_init(&ra->cv, NULL);
    for (int i = 0; i < READAHEAD_SLOTS; i++)
        if ((ra->slots[i].data = cm_malloc(READAHEAD_CHUNK, err)) == NULL)
            goto fail;
    if (pthread_create(&ra->thread, NULL, run, ra) != 0) {
        cm_fail(err, CM_EINTERNAL, "cannot start the read-ahead thread");
        goto fail;
    }
    ra->started = 1;
    *out = ra;
    return 0;
fail:
    readahead_free(ra);
    return -1;
}

void
readahead_free(struct readahead *ra)
{
    if (ra == NULL)
        return;
    if (ra->started) {
        pthread_mutex_lock(&ra->mu);
        ra->stop = 1;
        pthread_cond_broadcast(&ra->cv);
        pthread_mutex_unlock(&ra->mu);
        pthread_join(ra->thread, NULL);
    }
    for (int i = 0; i < READAHEAD_SLOTS; i++)
        cm_free_secret(ra->slots[i].data, READAHEAD_CHUNK);
    pthread_cond_destroy(&ra->cv);
    pthread_mutex_destroy(&ra->mu);
    setr_close(ra->set);
    free(ra);
}

/* With the lock held: make the window start at ${chunk} of ${vol}. */
static void
move_window(struct readahead *ra, uint32_t vol, uint64_t chunk)
{
    if (vol != ra->vol) {
        ra->vol = vol;
        ra->gen++;
        ra->size_known = ra->vol_failed = 0;
        ra->next = chunk;
    } else if (chunk < ra->low || chunk >= ra->low + READAHEAD_SLOTS) {
        ra->next = chunk;
    } else if (ra->next < chunk) {
        ra->next = chunk;
    }
    ra->low = chunk;
    pthread_cond_broadcast(&ra->cv);
}

/* With the lock held: wait for ${chunk}; its slot, or NULL with ${err}. */
static struct slot *
wait_chunk(struct readahead *ra, uint64_t chunk, struct cm_err *err)
{
    for (;;) {
        struct slot *s = slot_of(ra, chunk);
        if (ra->vol_failed) {
            *err = ra->vol_err;
            return NULL;
        }
        if (ra->size_known && chunk >= nchunks(ra)) {
            cm_fail(err, CM_EFORMAT, "volume %" PRIu32 ": range past the end",
                    ra->vol);
            return NULL;
        }
        if (s->chunk == chunk && s->gen == ra->gen &&
            (s->state == SLOT_FILLED || s->state == SLOT_FAILED)) {
            if (s->state == SLOT_FAILED) {
                *err = s->err;
                return NULL;
            }
            return s;
        }
        pthread_cond_wait(&ra->cv, &ra->mu);
    }
}

int
readahead_pread(struct readahead *ra, uint32_t vol, void *p, size_t len,
                uint64_t off, struct cm_err *err)
{
    uint8_t *out = p;

    while (len > 0) {
        uint64_t chunk = off / READAHEAD_CHUNK;
        size_t in = (size_t)(off % READAHEAD_CHUNK), take;
        struct slot *s;

        pthread_mutex_lock(&ra->mu);
        if (vol != ra->vol || chunk != ra->low)
            move_window(ra, vol, chunk);
        s = wait_chunk(ra, chunk, err);
        pthread_mutex_unlock(&ra->mu);
        if (s == NULL)
            return -1;
        if (in >= s->len)
            return cm_fail(err, CM_EFORMAT,
                           "volume %" PRIu32 ": range past the end", vol);
        take = s->len - in < len ? s->len - in : len;
        /* Unlocked: the thread fills only chunks in [low, low + SLOTS)
         * other than this one, the window's first, into other slots. */
        memcpy(out, s->data + in, take);
        out += take;
        off += take;
        len -= take;
    }
    return 0;
}
