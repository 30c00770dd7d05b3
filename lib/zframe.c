#include "zframe.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "buf.h"

#define SKIP_HEADER 8u /* skippable magic + u32 size */
#define FOOTER_SIZE 9u /* u32 frames, u8 descriptor, u32 magic */
#define TABLE_FIXED (SKIP_HEADER + FOOTER_SIZE)
#define ENTRY_SIZE 8u
#define ENTRY_SIZE_CHECKSUM 12u
#define TABLE_MAX                                                              \
    ((size_t)TABLE_FIXED + (size_t)ENTRY_SIZE_CHECKSUM * ZFRAME_FRAMES_MAX)
#define DESC_CHECKSUM 0x80u
#define DESC_RESERVED 0x7cu
#define CSIZE_MAX ((size_t)ZSTD_COMPRESSBOUND(ZFRAME_FRAME_SIZE_MAX))
#define HEADER_MAX 18u /* ZSTD_FRAMEHEADERSIZE_MAX */
#define THREADS_MAX 256
#define WINDOW_LOG_MAX 23 /* windows up to ZFRAME_FRAME_SIZE_MAX */
#define NO_FRAME SIZE_MAX

static uint32_t
rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static void
wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static int
is_skippable(uint32_t magic)
{
    return (magic & ZSTD_MAGIC_SKIPPABLE_MASK) == ZSTD_MAGIC_SKIPPABLE_START;
}

static const char *
name_or_default(const char *name)
{
    return name != NULL ? name : "zstd stream";
}

/* ------------------------------------------------------------------ */
/* Writer                                                              */

/*
 * Frames are numbered from 0 as they are filled.  Frame k lives in
 * slots[k % nslots]; frames in [next_out, next_fill) are submitted and not
 * yet delivered, and frames in [next_compress, next_fill) still wait for a
 * worker.  The slot the caller fills is next_fill's, held while have_slot.
 */
struct slot {
    uint8_t *in;
    uint8_t *out;
    size_t in_len;
    size_t out_len;
    int done; /* compressed, not yet delivered */
};

struct worker {
    struct zframe_writer *w;
    ZSTD_CCtx *cctx;
    pthread_t tid;
};

struct zframe_writer {
    cm_write_fn sink;
    void *sink_ctx;
    int level;
    size_t frame_size;
    size_t out_cap;
    size_t nthreads;
    size_t nslots;
    struct slot *slots;
    ZSTD_CCtx *cctx; /* synchronous mode only */
    struct worker *workers;
    size_t nstarted;
    pthread_t output;
    int output_started;
    int sync_ready;
    pthread_mutex_t mu;
    pthread_cond_t work_cv; /* workers: a frame to compress, or stop */
    pthread_cond_t done_cv; /* output thread: a frame compressed, or stop */
    pthread_cond_t free_cv; /* caller: a frame delivered, or failure */
    uint64_t next_fill, next_compress, next_out;
    int have_slot;
    uint64_t bytes_in, bytes_out;
    size_t peak;
    struct buf table; /* skippable header, entries; footer at finish */
    int stop, finished, failed;
    struct cm_err ferr;
};

static ZSTD_CCtx *
cctx_new(int level, struct cm_err *err)
{
    ZSTD_CCtx *c = ZSTD_createCCtx();

    if (c == NULL) {
        cm_fail(err, CM_EINTERNAL, "out of memory (zstd context)");
        return NULL;
    }
    if (ZSTD_isError(
            ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 1))) {
        ZSTD_freeCCtx(c);
        cm_fail(err, CM_EINTERNAL, "zstd: cannot set compression parameters");
        return NULL;
    }
    return c;
}

static int
compress(ZSTD_CCtx *cctx, struct slot *s, size_t out_cap, const void *src,
         size_t len, struct cm_err *err)
{
    size_t n = ZSTD_compress2(cctx, s->out, out_cap, src, len);

    if (ZSTD_isError(n))
        return cm_fail(err, CM_EINTERNAL, "zstd: %s", ZSTD_getErrorName(n));
    s->out_len = n;
    return 0;
}

/* Called with w->mu held. */
static void
fail_locked(struct zframe_writer *w, const struct cm_err *e)
{
    if (!w->failed) {
        w->failed = 1;
        w->ferr = *e;
    }
    pthread_cond_broadcast(&w->work_cv);
    pthread_cond_broadcast(&w->done_cv);
    pthread_cond_broadcast(&w->free_cv);
}

/* Called with w->mu held. */
static int
failed_locked(const struct zframe_writer *w, struct cm_err *err)
{
    if (!w->failed)
        return 0;
    if (err != NULL && err->code == CM_OK)
        *err = w->ferr;
    return -1;
}

static int
check_failed(struct zframe_writer *w, struct cm_err *err)
{
    int rc;

    pthread_mutex_lock(&w->mu);
    rc = failed_locked(w, err);
    pthread_mutex_unlock(&w->mu);
    return rc;
}

/* Give one compressed frame to the sink and note it in the seek table. */
static int
deliver(struct zframe_writer *w, const struct slot *s, size_t d_size,
        struct cm_err *err)
{
    uint8_t entry[ENTRY_SIZE];

    if (w->sink(w->sink_ctx, s->out, s->out_len, err) == -1)
        return -1;
    wr32(entry, (uint32_t)s->out_len);
    wr32(entry + 4, (uint32_t)d_size);
    return buf_append(&w->table, entry, sizeof entry, "seek table", err);
}

static void *
worker_main(void *arg)
{
    struct worker *wk = arg;
    struct zframe_writer *w = wk->w;
    struct cm_err e = CM_ERR_INIT;
    struct slot *s;
    int rc;

    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->stop && !w->failed && w->next_compress == w->next_fill)
            pthread_cond_wait(&w->work_cv, &w->mu);
        if (w->stop || w->failed)
            break;
        s = &w->slots[w->next_compress++ % w->nslots];
        pthread_mutex_unlock(&w->mu);
        rc = compress(wk->cctx, s, w->out_cap, s->in, s->in_len, &e);
        pthread_mutex_lock(&w->mu);
        if (rc == -1) {
            fail_locked(w, &e);
            break;
        }
        s->done = 1;
        pthread_cond_signal(&w->done_cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Called with w->mu held. */
static int
next_out_ready(const struct zframe_writer *w)
{
    return w->next_out < w->next_compress &&
           w->slots[w->next_out % w->nslots].done;
}

static void *
output_main(void *arg)
{
    struct zframe_writer *w = arg;
    struct cm_err e = CM_ERR_INIT;
    struct slot *s;
    int rc;

    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->stop && !w->failed && !next_out_ready(w))
            pthread_cond_wait(&w->done_cv, &w->mu);
        if (w->stop || w->failed)
            break;
        s = &w->slots[w->next_out % w->nslots];
        pthread_mutex_unlock(&w->mu);
        rc = deliver(w, s, s->in_len, &e);
        pthread_mutex_lock(&w->mu);
        if (rc == -1) {
            fail_locked(w, &e);
            break;
        }
        s->done = 0;
        w->bytes_out += s->out_len;
        w->next_out++;
        pthread_cond_signal(&w->free_cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static int
check_opts(const struct zframe_writer_opts *o, struct cm_err *err)
{
    int level = o->level == 0 ? 3 : o->level;

    if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel())
        return cm_fail(err, CM_EUSAGE, "zstd level %d is out of range (%d..%d)",
                       o->level, ZSTD_minCLevel(), ZSTD_maxCLevel());
    if (o->threads < 0 || o->threads > THREADS_MAX)
        return cm_fail(err, CM_EUSAGE, "%d threads: must be 0..%d", o->threads,
                       THREADS_MAX);
    if (o->frame_size > ZFRAME_FRAME_SIZE_MAX)
        return cm_fail(err, CM_EUSAGE, "frame size %zu is larger than %u bytes",
                       o->frame_size, ZFRAME_FRAME_SIZE_MAX);
    return 0;
}

static int
sync_init(struct zframe_writer *w, struct cm_err *err)
{
    if (pthread_mutex_init(&w->mu, NULL) != 0)
        return cm_fail(err, CM_EINTERNAL, "cannot create a mutex");
    if (pthread_cond_init(&w->work_cv, NULL) != 0)
        goto cv0;
    if (pthread_cond_init(&w->done_cv, NULL) != 0)
        goto cv1;
    if (pthread_cond_init(&w->free_cv, NULL) != 0)
        goto cv2;
    w->sync_ready = 1;
    return 0;
cv2:
    pthread_cond_destroy(&w->done_cv);
cv1:
    pthread_cond_destroy(&w->work_cv);
cv0:
    pthread_mutex_destroy(&w->mu);
    return cm_fail(err, CM_EINTERNAL, "cannot create a condition variable");
}

static int
start_threads(struct zframe_writer *w, struct cm_err *err)
{
    int e;

    w->workers = cm_calloc(w->nthreads, sizeof *w->workers, err);
    if (w->workers == NULL)
        return -1;
    for (size_t i = 0; i < w->nthreads; i++) {
        w->workers[i].w = w;
        w->workers[i].cctx = cctx_new(w->level, err);
        if (w->workers[i].cctx == NULL)
            return -1;
    }
    for (size_t i = 0; i < w->nthreads; i++) {
        e = pthread_create(&w->workers[i].tid, NULL, worker_main,
                           &w->workers[i]);
        if (e != 0)
            return cm_fail_errno(err, e, "cannot start a zstd thread");
        w->nstarted++;
    }
    e = pthread_create(&w->output, NULL, output_main, w);
    if (e != 0)
        return cm_fail_errno(err, e, "cannot start the zstd output thread");
    w->output_started = 1;
    return 0;
}

int
zframe_writer_new(const struct zframe_writer_opts *opts, cm_write_fn sink,
                  void *sink_ctx, struct zframe_writer **out,
                  struct cm_err *err)
{
    struct zframe_writer *w = NULL;
    static const uint8_t header[SKIP_HEADER];
    int rc = -1;

    if (check_opts(opts, err) == -1)
        return -1;
    if ((w = cm_calloc(1, sizeof *w, err)) == NULL)
        return -1;
    w->sink = sink;
    w->sink_ctx = sink_ctx;
    w->level = opts->level == 0 ? 3 : opts->level;
    w->frame_size = opts->frame_size ? opts->frame_size : ZFRAME_FRAME_SIZE;
    w->out_cap = ZSTD_compressBound(w->frame_size);
    w->nthreads = (size_t)opts->threads;
    w->nslots = w->nthreads ? 2 * w->nthreads + 2 : 1;
    buf_init(&w->table, TABLE_FIXED + (size_t)ENTRY_SIZE * ZFRAME_FRAMES_MAX);
    if (sync_init(w, err) == -1 ||
        buf_append(&w->table, header, sizeof header, "seek table", err) == -1 ||
        (w->slots = cm_calloc(w->nslots, sizeof *w->slots, err)) == NULL)
        goto out;
    if (w->nthreads == 0 && (w->cctx = cctx_new(w->level, err)) == NULL)
        goto out;
    if (w->nthreads > 0 && start_threads(w, err) == -1)
        goto out;
    *out = w;
    w = NULL;
    rc = 0;
out:
    zframe_writer_free(w);
    return rc;
}

/* The slot for frame next_fill, once it is free; its buffers allocated. */
static struct slot *
acquire(struct zframe_writer *w, struct cm_err *err)
{
    struct slot *s = &w->slots[w->next_fill % w->nslots];
    size_t in_use;

    pthread_mutex_lock(&w->mu);
    while (!w->failed && w->next_fill - w->next_out >= w->nslots)
        pthread_cond_wait(&w->free_cv, &w->mu);
    in_use = (size_t)(w->next_fill - w->next_out) + 1;
    if (in_use > w->peak)
        w->peak = in_use;
    if (failed_locked(w, err) == -1)
        s = NULL;
    pthread_mutex_unlock(&w->mu);
    if (s == NULL)
        return NULL;
    if (s->in == NULL && (s->in = cm_malloc(w->frame_size, err)) == NULL)
        return NULL;
    if (s->out == NULL && (s->out = cm_malloc(w->out_cap, err)) == NULL)
        return NULL;
    s->in_len = 0;
    w->have_slot = 1;
    return s;
}

static int
frame_limit(struct zframe_writer *w, struct cm_err *err)
{
    struct cm_err e = CM_ERR_INIT;

    if (w->next_fill < ZFRAME_FRAMES_MAX)
        return 0;
    cm_fail(&e, CM_EUSAGE, "more than %u zstd frames in one stream",
            ZFRAME_FRAMES_MAX);
    pthread_mutex_lock(&w->mu);
    fail_locked(w, &e);
    failed_locked(w, err);
    pthread_mutex_unlock(&w->mu);
    return -1;
}

/* Compress ${len} bytes at ${src} into one frame; deliver it from here. */
static int
sync_frame(struct zframe_writer *w, const void *src, size_t len,
           struct cm_err *err)
{
    struct slot *s = &w->slots[0];
    struct cm_err e = CM_ERR_INIT;
    int rc;

    if (frame_limit(w, err) == -1)
        return -1;
    if (s->out == NULL && (s->out = cm_malloc(w->out_cap, err)) == NULL)
        return -1;
    rc = compress(w->cctx, s, w->out_cap, src, len, &e);
    if (rc == 0)
        rc = deliver(w, s, len, &e);
    pthread_mutex_lock(&w->mu);
    if (rc == -1) {
        fail_locked(w, &e);
        failed_locked(w, err);
    } else {
        w->bytes_out += s->out_len;
        w->next_fill++;
        w->next_compress++;
        w->next_out++;
    }
    pthread_mutex_unlock(&w->mu);
    w->have_slot = 0;
    return rc;
}

static int
submit(struct zframe_writer *w, struct cm_err *err)
{
    struct slot *s = &w->slots[w->next_fill % w->nslots];

    if (w->nthreads == 0)
        return sync_frame(w, s->in, s->in_len, err);
    if (frame_limit(w, err) == -1)
        return -1;
    pthread_mutex_lock(&w->mu);
    s->done = 0;
    w->next_fill++;
    pthread_cond_signal(&w->work_cv);
    pthread_mutex_unlock(&w->mu);
    w->have_slot = 0;
    return 0;
}

int
zframe_writer_write(struct zframe_writer *w, const void *p, size_t len,
                    struct cm_err *err)
{
    const uint8_t *src = p;
    struct slot *s;
    size_t n;

    if (w->finished)
        return cm_fail(err, CM_EINTERNAL, "zstd stream: write after finish");
    if (check_failed(w, err) == -1)
        return -1;
    while (len > 0) {
        if (!w->have_slot && w->nthreads == 0 && len >= w->frame_size) {
            /* A whole frame from the caller's buffer: no copy. */
            if (sync_frame(w, src, w->frame_size, err) == -1)
                return -1;
            n = w->frame_size;
        } else {
            s = w->have_slot ? &w->slots[w->next_fill % w->nslots]
                             : acquire(w, err);
            if (s == NULL)
                return -1;
            n = w->frame_size - s->in_len < len ? w->frame_size - s->in_len
                                                : len;
            memcpy(s->in + s->in_len, src, n);
            s->in_len += n;
            if (s->in_len == w->frame_size && submit(w, err) == -1)
                return -1;
        }
        src += n;
        len -= n;
        w->bytes_in += n;
    }
    return 0;
}

static int
write_table(struct zframe_writer *w, struct cm_err *err)
{
    uint8_t footer[FOOTER_SIZE];
    size_t len;

    wr32(footer, (uint32_t)w->next_fill);
    footer[4] = 0;
    wr32(footer + 5, ZFRAME_SEEKABLE_MAGIC);
    if (buf_append(&w->table, footer, sizeof footer, "seek table", err) == -1)
        return -1;
    len = w->table.len;
    wr32(w->table.data, ZFRAME_SKIPPABLE_MAGIC);
    wr32(w->table.data + 4, (uint32_t)(len - SKIP_HEADER));
    if (w->sink(w->sink_ctx, w->table.data, len, err) == -1)
        return -1;
    pthread_mutex_lock(&w->mu);
    w->bytes_out += len;
    pthread_mutex_unlock(&w->mu);
    return 0;
}

int
zframe_writer_finish(struct zframe_writer *w, struct cm_err *err)
{
    struct cm_err e = CM_ERR_INIT;

    if (w->finished)
        return cm_fail(err, CM_EINTERNAL, "zstd stream: finished twice");
    if (check_failed(w, err) == -1)
        return -1;
    if (w->have_slot && w->slots[w->next_fill % w->nslots].in_len > 0 &&
        submit(w, err) == -1)
        return -1;
    w->have_slot = 0;
    pthread_mutex_lock(&w->mu);
    while (!w->failed && w->next_out != w->next_fill)
        pthread_cond_wait(&w->free_cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
    if (check_failed(w, err) == -1)
        return -1;
    if (write_table(w, &e) == -1) {
        pthread_mutex_lock(&w->mu);
        fail_locked(w, &e);
        failed_locked(w, err);
        pthread_mutex_unlock(&w->mu);
        return -1;
    }
    w->finished = 1;
    return 0;
}

uint64_t
zframe_writer_bytes_in(const struct zframe_writer *w)
{
    return w->bytes_in;
}

uint64_t
zframe_writer_size_bound(const struct zframe_writer *w)
{
    pthread_mutex_t *mu = (pthread_mutex_t *)&w->mu;
    const struct slot *s;
    uint64_t b, nframes;

    pthread_mutex_lock(mu);
    b = w->bytes_out;
    if (!w->finished) {
        for (uint64_t k = w->next_out; k < w->next_fill; k++) {
            s = &w->slots[k % w->nslots];
            b += s->done ? s->out_len : ZSTD_compressBound(s->in_len);
        }
        nframes = w->next_fill;
        s = &w->slots[w->next_fill % w->nslots];
        if (w->have_slot && s->in_len > 0) {
            b += ZSTD_compressBound(s->in_len);
            nframes++;
        }
        b += TABLE_FIXED + ENTRY_SIZE * nframes;
    }
    pthread_mutex_unlock(mu);
    return b;
}

size_t
zframe_writer_peak_frames(const struct zframe_writer *w)
{
    pthread_mutex_t *mu = (pthread_mutex_t *)&w->mu;
    size_t peak;

    pthread_mutex_lock(mu);
    peak = w->peak;
    pthread_mutex_unlock(mu);
    return peak;
}

static void
stop_threads(struct zframe_writer *w)
{
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_broadcast(&w->work_cv);
    pthread_cond_broadcast(&w->done_cv);
    pthread_cond_broadcast(&w->free_cv);
    pthread_mutex_unlock(&w->mu);
    for (size_t i = 0; i < w->nstarted; i++)
        pthread_join(w->workers[i].tid, NULL);
    if (w->output_started)
        pthread_join(w->output, NULL);
}

void
zframe_writer_free(struct zframe_writer *w)
{
    if (w == NULL)
        return;
    if (w->sync_ready) {
        stop_threads(w);
        pthread_cond_destroy(&w->free_cv);
        pthread_cond_destroy(&w->done_cv);
        pthread_cond_destroy(&w->work_cv);
        pthread_mutex_destroy(&w->mu);
    }
    for (size_t i = 0; w->workers != NULL && i < w->nthreads; i++)
        ZSTD_freeCCtx(w->workers[i].cctx);
    for (size_t i = 0; w->slots != NULL && i < w->nslots; i++) {
        free(w->slots[i].in);
        free(w->slots[i].out);
    }
    free(w->workers);
    free(w->slots);
    ZSTD_freeCCtx(w->cctx);
    buf_free(&w->table);
    free(w);
}

/* ------------------------------------------------------------------ */
/* Seek table                                                          */

struct footer {
    uint32_t nframes;
    size_t entry_size;
    size_t table_size;
};

static int
footer_parse(const uint8_t f[FOOTER_SIZE], uint64_t stream_size,
             const char *name, struct footer *out, struct cm_err *err)
{
    uint8_t desc = f[4];

    if (rd32(f + 5) != ZFRAME_SEEKABLE_MAGIC)
        return cm_fail(err, CM_EFORMAT, "%s: no seek table at the end", name);
    if (desc & DESC_RESERVED)
        return cm_fail(err, CM_EFORMAT,
                       "%s: seek table descriptor 0x%02x has reserved bits set",
                       name, desc);
    out->nframes = rd32(f);
    if (out->nframes > ZFRAME_FRAMES_MAX)
        return cm_fail(err, CM_EFORMAT,
                       "%s: seek table lists %u frames, more than %u", name,
                       out->nframes, ZFRAME_FRAMES_MAX);
    out->entry_size = desc & DESC_CHECKSUM ? ENTRY_SIZE_CHECKSUM : ENTRY_SIZE;
    out->table_size = TABLE_FIXED + out->entry_size * out->nframes;
    /* Every frame takes at least one byte, so n is bounded by the stream. */
    if ((uint64_t)out->table_size + out->nframes > stream_size)
        return cm_fail(err, CM_EFORMAT,
                       "%s: seek table of %u frames is larger than the stream "
                       "(%llu bytes)",
                       name, out->nframes, (unsigned long long)stream_size);
    return 0;
}

static int
entries_parse(const uint8_t *e, const struct footer *ft, uint64_t data_size,
              const char *name, struct zframe_info *frames, struct cm_err *err)
{
    uint64_t c_off = 0, d_off = 0;
    uint32_t c, d;

    for (size_t i = 0; i < ft->nframes; i++, e += ft->entry_size) {
        c = rd32(e);
        d = rd32(e + 4);
        if (c == 0 || c > CSIZE_MAX || d > ZFRAME_FRAME_SIZE_MAX)
            return cm_fail(err, CM_EFORMAT,
                           "%s: seek table entry %zu: bad sizes (%u "
                           "compressed, %u uncompressed)",
                           name, i, c, d);
        if (c > data_size - c_off)
            return cm_fail(err, CM_EFORMAT,
                           "%s: seek table entry %zu: frames run past the "
                           "seek table",
                           name, i);
        frames[i] = (struct zframe_info){c_off, c, d_off, d};
        c_off += c;
        d_off += d;
    }
    if (c_off != data_size)
        return cm_fail(err, CM_EFORMAT,
                       "%s: seek table covers %llu bytes, the frames take "
                       "%llu",
                       name, (unsigned long long)c_off,
                       (unsigned long long)data_size);
    return 0;
}

int
zframe_seektable_parse(const uint8_t *p, size_t len, uint64_t stream_size,
                       const char *name, struct zframe_info **frames,
                       size_t *nframes, size_t *table_size, struct cm_err *err)
{
    struct zframe_info *f = NULL;
    struct footer ft;
    const uint8_t *t;

    name = name_or_default(name);
    if (len < TABLE_FIXED || len > stream_size)
        return cm_fail(err, CM_EFORMAT, "%s: no seek table at the end", name);
    if (footer_parse(p + len - FOOTER_SIZE, stream_size, name, &ft, err) == -1)
        return -1;
    if (ft.table_size > len)
        return cm_fail(err, CM_EFORMAT, "%s: seek table is truncated", name);
    t = p + len - ft.table_size;
    if (rd32(t) != ZFRAME_SKIPPABLE_MAGIC ||
        rd32(t + 4) != ft.table_size - SKIP_HEADER)
        return cm_fail(err, CM_EFORMAT,
                       "%s: seek table has a bad skippable frame header", name);
    if ((f = cm_calloc(ft.nframes, sizeof *f, err)) == NULL)
        return -1;
    if (entries_parse(t + SKIP_HEADER, &ft, stream_size - ft.table_size, name,
                      f, err) == -1) {
        free(f);
        return -1;
    }
    *frames = f;
    *nframes = ft.nframes;
    *table_size = ft.table_size;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Random-access reader                                                */

struct zframe_reader {
    cm_pread_fn src;
    void *src_ctx;
    char *name;
    uint64_t size;
    struct zframe_info *frames;
    size_t nframes;
    uint64_t d_total;
    ZSTD_DCtx *dctx;
    uint8_t *cbuf, *dbuf;
    size_t cbuf_cap, dbuf_cap;
    size_t cached; /* frame held in dbuf, or NO_FRAME */
};

static struct zframe_reader *
reader_new(cm_pread_fn src, void *src_ctx, uint64_t size, const char *name,
           struct cm_err *err)
{
    struct zframe_reader *r = cm_calloc(1, sizeof *r, err);

    if (r == NULL)
        return NULL;
    r->src = src;
    r->src_ctx = src_ctx;
    r->size = size;
    r->cached = NO_FRAME;
    if ((r->name = cm_strdup(name_or_default(name), err)) == NULL)
        goto fail;
    if ((r->dctx = ZSTD_createDCtx()) == NULL) {
        cm_fail(err, CM_EINTERNAL, "out of memory (zstd context)");
        goto fail;
    }
    return r;
fail:
    zframe_reader_free(r);
    return NULL;
}

static int
grow_to(uint8_t **p, size_t *cap, size_t need, struct cm_err *err)
{
    uint8_t *n;

    if (need <= *cap)
        return 0;
    if ((n = realloc(*p, need)) == NULL)
        return cm_fail(err, CM_EINTERNAL, "out of memory (%zu bytes)", need);
    *p = n;
    *cap = need;
    return 0;
}

static void
reader_set_frames(struct zframe_reader *r, struct zframe_info *f, size_t n)
{
    r->frames = f;
    r->nframes = n;
    r->d_total = n ? f[n - 1].d_off + f[n - 1].d_size : 0;
}

static int
read_table(struct zframe_reader *r, struct cm_err *err)
{
    uint8_t foot[FOOTER_SIZE], *t = NULL;
    struct zframe_info *f = NULL;
    size_t n, tsize;
    struct footer ft;
    int rc = -1;

    if (r->size < TABLE_FIXED)
        return cm_fail(err, CM_EFORMAT, "%s: no seek table at the end",
                       r->name);
    if (r->src(r->src_ctx, foot, sizeof foot, r->size - sizeof foot, err) ==
            -1 ||
        footer_parse(foot, r->size, r->name, &ft, err) == -1)
        return -1;
    if ((t = cm_malloc(ft.table_size, err)) == NULL ||
        r->src(r->src_ctx, t, ft.table_size, r->size - ft.table_size, err) ==
            -1 ||
        zframe_seektable_parse(t, ft.table_size, r->size, r->name, &f, &n,
                               &tsize, err) == -1)
        goto out;
    reader_set_frames(r, f, n);
    rc = 0;
out:
    free(t);
    return rc;
}

int
zframe_reader_open(cm_pread_fn src, void *src_ctx, uint64_t size,
                   const char *name, struct zframe_reader **out,
                   struct cm_err *err)
{
    struct zframe_reader *r = reader_new(src, src_ctx, size, name, err);

    if (r == NULL)
        return -1;
    if (read_table(r, err) == -1) {
        zframe_reader_free(r);
        return -1;
    }
    *out = r;
    return 0;
}

/* Source errors that end a scan rather than mark the end of what is good. */
static int
scan_fatal(const struct cm_err *e)
{
    return e->code == CM_EINTR || e->code == CM_EINTERNAL;
}

/* Bytes in the zstd frame header starting with ${h} (magic included). */
static size_t
header_size(const uint8_t *h)
{
    static const size_t did[4] = {0, 1, 2, 4}, fcs[4] = {0, 2, 4, 8};
    uint8_t fhd = h[4];
    int single = fhd >> 5 & 1;

    return 5 + !single + did[fhd & 3] +
           (fhd >> 6 == 0 && single ? 1 : fcs[fhd >> 6]);
}

/*
 * Walk the block headers of the frame at ${off}, whose header is ${h}, to
 * its end.  The frame's size, 0 if it is malformed or truncated, or -1.
 */
static int64_t
walk_blocks(struct zframe_reader *r, uint64_t off, const uint8_t *h,
            struct cm_err *e)
{
    uint64_t pos = off + header_size(h), end = r->size;
    uint8_t b[3];
    uint32_t bh, bsize;

    if (end - off > CSIZE_MAX + HEADER_MAX)
        end = off + CSIZE_MAX + HEADER_MAX;
    do {
        if (pos + sizeof b > end)
            return 0;
        if (r->src(r->src_ctx, b, sizeof b, pos, e) == -1)
            return -1;
        bh = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16;
        bsize = bh >> 3;
        if ((bh >> 1 & 3) == 3 || bsize > ZSTD_BLOCKSIZE_MAX)
            return 0;
        pos += sizeof b + ((bh >> 1 & 3) == 1 ? 1 : bsize);
    } while (!(bh & 1));
    pos += h[4] & 4 ? 4 : 0; /* content checksum */
    return pos <= end ? (int64_t)(pos - off) : 0;
}

/*
 * The next frame at ${off}: *${c} its compressed size, *${d} its content
 * size (0 for a skippable frame).  1 if found, 0 if unreadable, -1 fatal.
 */
static int
scan_one(struct zframe_reader *r, uint64_t off, uint64_t *c, uint64_t *d,
         struct cm_err *err)
{
    uint8_t hdr[HEADER_MAX];
    struct cm_err e = CM_ERR_INIT;
    uint64_t left = r->size - off;
    size_t hl = left < sizeof hdr ? (size_t)left : sizeof hdr;
    unsigned long long fcs;
    int64_t n;

    if (hl < SKIP_HEADER || r->src(r->src_ctx, hdr, hl, off, &e) == -1)
        goto stop;
    if (is_skippable(rd32(hdr))) {
        *c = SKIP_HEADER + (uint64_t)rd32(hdr + 4);
        *d = 0;
        return *c <= left;
    }
    fcs = ZSTD_getFrameContentSize(hdr, hl);
    if (fcs == ZSTD_CONTENTSIZE_ERROR || fcs == ZSTD_CONTENTSIZE_UNKNOWN ||
        fcs > ZFRAME_FRAME_SIZE_MAX)
        return 0;
    if ((n = walk_blocks(r, off, hdr, &e)) <= 0)
        goto stop;
    *c = (uint64_t)n;
    *d = fcs;
    return 1;
stop:
    if (scan_fatal(&e)) {
        if (err != NULL && err->code == CM_OK)
            *err = e;
        return -1;
    }
    return 0;
}

static int
scan(struct zframe_reader *r, struct cm_err *err)
{
    struct zframe_info *f = NULL, *nf;
    size_t n = 0, cap = 0;
    uint64_t off = 0, d_off = 0, c, d;
    int rc;

    while (off < r->size && n < ZFRAME_FRAMES_MAX) {
        if ((rc = scan_one(r, off, &c, &d, err)) == -1)
            goto fail;
        if (rc == 0)
            break;
        if (d > 0) {
            if (n == cap) {
                cap = cap ? 2 * cap : 64;
                if ((nf = realloc(f, cap * sizeof *f)) == NULL) {
                    cm_fail(err, CM_EINTERNAL, "out of memory");
                    goto fail;
                }
                f = nf;
            }
            f[n++] = (struct zframe_info){off, c, d_off, d};
            d_off += d;
        }
        off += c;
    }
    reader_set_frames(r, f, n);
    return 0;
fail:
    free(f);
    return -1;
}

int
zframe_reader_open_scan(cm_pread_fn src, void *src_ctx, uint64_t size,
                        const char *name, struct zframe_reader **out,
                        struct cm_err *err)
{
    struct zframe_reader *r = reader_new(src, src_ctx, size, name, err);

    if (r == NULL)
        return -1;
    if (scan(r, err) == -1) {
        zframe_reader_free(r);
        return -1;
    }
    *out = r;
    return 0;
}

uint64_t
zframe_reader_size(const struct zframe_reader *r)
{
    return r->d_total;
}

size_t
zframe_reader_nframes(const struct zframe_reader *r)
{
    return r->nframes;
}

void
zframe_reader_frame(const struct zframe_reader *r, size_t i,
                    struct zframe_info *info)
{
    static const struct zframe_info none;

    *info = i < r->nframes ? r->frames[i] : none;
}

size_t
zframe_reader_frame_of(const struct zframe_reader *r, uint64_t off)
{
    size_t lo = 0, hi = r->nframes, mid;

    if (off >= r->d_total)
        return r->nframes;
    /* The last frame starting at or before off; it holds off. */
    while (hi - lo > 1) {
        mid = lo + (hi - lo) / 2;
        if (r->frames[mid].d_off <= off)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* Decompress frame ${i} into ${dst}, which holds its d_size bytes. */
static int
load_frame(struct zframe_reader *r, size_t i, uint8_t *dst, struct cm_err *err)
{
    const struct zframe_info *f = &r->frames[i];
    size_t c = (size_t)f->c_size, n;

    if (grow_to(&r->cbuf, &r->cbuf_cap, c, err) == -1 ||
        r->src(r->src_ctx, r->cbuf, c, f->c_off, err) == -1)
        return -1;
    n = ZSTD_findFrameCompressedSize(r->cbuf, c);
    if (ZSTD_isError(n) || n != c)
        return cm_fail(err, CM_EFORMAT,
                       "%s: frame %zu (offset %llu): not one zstd frame of "
                       "%zu bytes",
                       r->name, i, (unsigned long long)f->c_off, c);
    n = ZSTD_decompressDCtx(r->dctx, dst, (size_t)f->d_size, r->cbuf, c);
    if (ZSTD_isError(n))
        return cm_fail(err, CM_EFORMAT, "%s: frame %zu (offset %llu): %s",
                       r->name, i, (unsigned long long)f->c_off,
                       ZSTD_getErrorName(n));
    if (n != f->d_size)
        return cm_fail(err, CM_EFORMAT,
                       "%s: frame %zu (offset %llu): %zu bytes, seek table "
                       "says %llu",
                       r->name, i, (unsigned long long)f->c_off, n,
                       (unsigned long long)f->d_size);
    return 0;
}

static int
cache_frame(struct zframe_reader *r, size_t i, struct cm_err *err)
{
    if (r->cached == i)
        return 0;
    r->cached = NO_FRAME;
    if (grow_to(&r->dbuf, &r->dbuf_cap, (size_t)r->frames[i].d_size, err) ==
            -1 ||
        load_frame(r, i, r->dbuf, err) == -1)
        return -1;
    r->cached = i;
    return 0;
}

int
zframe_reader_pread(struct zframe_reader *r, void *p, size_t len, uint64_t off,
                    struct cm_err *err)
{
    uint8_t *dst = p;
    const struct zframe_info *f;
    size_t i, skip, n;

    if (off > r->d_total || len > r->d_total - off)
        return cm_fail(err, CM_EFORMAT,
                       "%s: %zu bytes at %llu: past the end (%llu bytes)",
                       r->name, len, (unsigned long long)off,
                       (unsigned long long)r->d_total);
    for (i = zframe_reader_frame_of(r, off); len > 0; i++) {
        f = &r->frames[i];
        if (f->d_size == 0)
            continue;
        skip = (size_t)(off - f->d_off);
        n = f->d_size - skip < len ? (size_t)f->d_size - skip : len;
        if (n == f->d_size && r->cached != i) {
            /* A whole frame: straight into the caller's buffer. */
            if (load_frame(r, i, dst, err) == -1)
                return -1;
        } else {
            if (cache_frame(r, i, err) == -1)
                return -1;
            memcpy(dst, r->dbuf + skip, n);
        }
        dst += n;
        off += n;
        len -= n;
    }
    return 0;
}

int
zframe_reader_pread_fn(void *ctx, void *p, size_t len, uint64_t off,
                       struct cm_err *err)
{
    return zframe_reader_pread(ctx, p, len, off, err);
}

void
zframe_reader_free(struct zframe_reader *r)
{
    if (r == NULL)
        return;
    ZSTD_freeDCtx(r->dctx);
    free(r->frames);
    free(r->cbuf);
    free(r->dbuf);
    free(r->name);
    free(r);
}

/* ------------------------------------------------------------------ */
/* Sequential decompression                                            */

/*
 * Frames are found by their magic numbers: regular frames go through
 * ZSTD_decompressStream, which stops at each frame's end; skippable frames
 * are read here, so that a seek table can be checked against the frames
 * seen since the start (or since the previous table, for concatenated
 * streams).
 */
struct zframe_stream {
    cm_read_fn src;
    void *src_ctx;
    char *name;
    uint64_t max_output, total_out;
    ZSTD_DCtx *dctx;
    uint8_t *in;
    size_t in_pos, in_len, in_cap;
    int src_eof, done, failed, in_frame;
    struct cm_err ferr;
    uint64_t frame_c, frame_d; /* of the frame being decompressed */
    uint64_t in_total;         /* compressed bytes consumed */
    uint64_t seg_c;            /* compressed bytes since the last table */
    struct buf seen;           /* u32 c, u32 d for each frame since then */
    int untabled;              /* a frame since then no table can list */
    struct buf skip;           /* a skippable frame that may be a table */
};

int
zframe_stream_new(cm_read_fn src, void *src_ctx, const char *name,
                  uint64_t max_output, struct zframe_stream **out,
                  struct cm_err *err)
{
    struct zframe_stream *s = cm_calloc(1, sizeof *s, err);

    if (s == NULL)
        return -1;
    s->src = src;
    s->src_ctx = src_ctx;
    s->max_output = max_output;
    s->in_cap = ZSTD_DStreamInSize();
    buf_init(&s->seen, (size_t)ENTRY_SIZE * ZFRAME_FRAMES_MAX);
    buf_init(&s->skip, TABLE_MAX);
    if ((s->name = cm_strdup(name_or_default(name), err)) == NULL ||
        (s->in = cm_malloc(s->in_cap, err)) == NULL)
        goto fail;
    if ((s->dctx = ZSTD_createDCtx()) == NULL ||
        ZSTD_isError(ZSTD_DCtx_setParameter(s->dctx, ZSTD_d_windowLogMax,
                                            WINDOW_LOG_MAX))) {
        cm_fail(err, CM_EINTERNAL, "out of memory (zstd context)");
        goto fail;
    }
    *out = s;
    return 0;
fail:
    zframe_stream_free(s);
    return -1;
}

/* At least ${need} (<= in_cap) bytes buffered, unless the source ends. */
static int
fill(struct zframe_stream *s, size_t need, struct cm_err *err)
{
    long n;

    if (s->in_pos > 0 && s->in_len - s->in_pos < need) {
        memmove(s->in, s->in + s->in_pos, s->in_len - s->in_pos);
        s->in_len -= s->in_pos;
        s->in_pos = 0;
    }
    while (!s->src_eof && s->in_len - s->in_pos < need) {
        n = s->src(s->src_ctx, s->in + s->in_len, s->in_cap - s->in_len, err);
        if (n < 0)
            return -1;
        if (n == 0)
            s->src_eof = 1;
        s->in_len += (size_t)n;
    }
    return 0;
}

static int
truncated(struct zframe_stream *s, struct cm_err *err)
{
    return cm_fail(err, CM_EFORMAT, "%s: truncated at byte %llu", s->name,
                   (unsigned long long)s->in_total);
}

/* Move ${n} bytes of input to ${dst} (NULL: drop them). */
static int
take(struct zframe_stream *s, uint8_t *dst, uint64_t n, struct cm_err *err)
{
    size_t k;

    while (n > 0) {
        if (s->in_pos == s->in_len && fill(s, 1, err) == -1)
            return -1;
        if (s->in_pos == s->in_len)
            return truncated(s, err);
        k = s->in_len - s->in_pos < n ? s->in_len - s->in_pos : (size_t)n;
        if (dst != NULL) {
            memcpy(dst, s->in + s->in_pos, k);
            dst += k;
        }
        s->in_pos += k;
        s->in_total += k;
        s->seg_c += k;
        n -= k;
    }
    return 0;
}

static void
note_frame(struct zframe_stream *s, uint64_t c, uint64_t d)
{
    uint8_t entry[ENTRY_SIZE];

    if (c > UINT32_MAX || d > UINT32_MAX || s->untabled) {
        s->untabled = 1;
        return;
    }
    wr32(entry, (uint32_t)c);
    wr32(entry + 4, (uint32_t)d);
    if (buf_append(&s->seen, entry, sizeof entry, "frame list", NULL) == -1)
        s->untabled = 1;
}

static int
table_mismatch(struct zframe_stream *s, struct cm_err *err)
{
    return cm_fail(err, CM_EFORMAT,
                   "%s: seek table does not match the %zu frames before it",
                   s->name, s->seen.len / ENTRY_SIZE);
}

/* The skippable frame in s->skip is a seek table: compare it, start anew. */
static int
check_table(struct zframe_stream *s, struct cm_err *err)
{
    struct zframe_info *f = NULL;
    size_t n, tsize;
    const uint8_t *e = s->seen.data;
    int rc = -1;

    if (s->untabled)
        return table_mismatch(s, err);
    if (zframe_seektable_parse(s->skip.data, s->skip.len, s->seg_c, s->name, &f,
                               &n, &tsize, NULL) == -1)
        return table_mismatch(s, err);
    if (tsize != s->skip.len || n != s->seen.len / ENTRY_SIZE)
        goto out;
    for (size_t i = 0; i < n; i++, e += ENTRY_SIZE)
        if (f[i].c_size != rd32(e) || f[i].d_size != rd32(e + 4))
            goto out;
    buf_reset(&s->seen);
    s->seg_c = 0;
    rc = 0;
out:
    free(f);
    return rc == 0 ? 0 : table_mismatch(s, err);
}

/* Read a skippable frame; check it if it is a seek table. */
static int
skippable(struct zframe_stream *s, struct cm_err *err)
{
    uint8_t hdr[SKIP_HEADER], tail[4] = {0};
    uint32_t size;
    size_t limit = s->seen.len / ENTRY_SIZE * ENTRY_SIZE_CHECKSUM + FOOTER_SIZE;

    if (take(s, hdr, sizeof hdr, err) == -1)
        return -1;
    size = rd32(hdr + 4);
    if (rd32(hdr) == ZFRAME_SKIPPABLE_MAGIC && size >= FOOTER_SIZE &&
        size <= limit) {
        buf_reset(&s->skip);
        if (buf_append(&s->skip, hdr, sizeof hdr, "seek table", err) == -1 ||
            buf_reserve(&s->skip, size, "seek table", err) == -1 ||
            take(s, s->skip.data + SKIP_HEADER, size, err) == -1)
            return -1;
        s->skip.len += size;
        if (rd32(s->skip.data + s->skip.len - 4) == ZFRAME_SEEKABLE_MAGIC)
            return check_table(s, err);
    } else {
        if (take(s, NULL, size < 4 ? size : size - 4u, err) == -1 ||
            take(s, tail, size < 4 ? 0 : 4, err) == -1)
            return -1;
        if (rd32(hdr) == ZFRAME_SKIPPABLE_MAGIC &&
            rd32(tail) == ZFRAME_SEEKABLE_MAGIC)
            return table_mismatch(s, err);
    }
    note_frame(s, SKIP_HEADER + (uint64_t)size, 0);
    return 0;
}

/* Between frames: find what comes next, or the end of the stream. */
static int
boundary(struct zframe_stream *s, struct cm_err *err)
{
    if (fill(s, 4, err) == -1)
        return -1;
    if (s->in_len - s->in_pos == 0) {
        s->done = 1;
        return 0;
    }
    if (s->in_len - s->in_pos < 4)
        return truncated(s, err);
    if (is_skippable(rd32(s->in + s->in_pos)))
        return skippable(s, err);
    s->in_frame = 1;
    s->frame_c = 0;
    s->frame_d = 0;
    return 0;
}

/* Decompress some of the current frame into ${p}; *${got} grows. */
static int
step(struct zframe_stream *s, uint8_t *p, size_t len, size_t *got,
     struct cm_err *err)
{
    ZSTD_outBuffer out = {p, len, 0};
    ZSTD_inBuffer in;
    uint64_t room = s->max_output ? s->max_output - s->total_out : UINT64_MAX;
    size_t ret;

    if (s->in_pos == s->in_len && fill(s, 1, err) == -1)
        return -1;
    if (s->in_pos == s->in_len)
        return truncated(s, err);
    if (out.size > room)
        out.size = (size_t)room + 1; /* one byte over reveals a bomb */
    in = (ZSTD_inBuffer){s->in + s->in_pos, s->in_len - s->in_pos, 0};
    ret = ZSTD_decompressStream(s->dctx, &out, &in);
    s->in_pos += in.pos;
    s->in_total += in.pos;
    s->seg_c += in.pos;
    s->frame_c += in.pos;
    s->frame_d += out.pos;
    s->total_out += out.pos;
    *got += out.pos;
    if (ZSTD_isError(ret))
        return cm_fail(err, CM_EFORMAT, "%s: frame %zu: %s", s->name,
                       s->seen.len / ENTRY_SIZE, ZSTD_getErrorName(ret));
    if (s->max_output && s->total_out > s->max_output)
        return cm_fail(err, CM_EFORMAT,
                       "%s: decompresses to more than %llu bytes", s->name,
                       (unsigned long long)s->max_output);
    if (ret == 0) {
        note_frame(s, s->frame_c, s->frame_d);
        s->in_frame = 0;
    }
    return 0;
}

long
zframe_stream_read(struct zframe_stream *s, void *p, size_t len,
                   struct cm_err *err)
{
    struct cm_err e = CM_ERR_INIT;
    size_t got = 0;
    int rc = 0;

    if (s->failed) {
        if (err != NULL && err->code == CM_OK)
            *err = s->ferr;
        return -1;
    }
    if (len > LONG_MAX)
        len = LONG_MAX;
    while (rc == 0 && got < len && !s->done) {
        if (s->in_frame)
            rc = step(s, (uint8_t *)p + got, len - got, &got, &e);
        else
            rc = boundary(s, &e);
    }
    if (rc == -1) {
        s->failed = 1;
        s->ferr = e;
        if (err != NULL && err->code == CM_OK)
            *err = e;
        return -1;
    }
    return (long)got;
}

void
zframe_stream_free(struct zframe_stream *s)
{
    if (s == NULL)
        return;
    ZSTD_freeDCtx(s->dctx);
    buf_free(&s->seen);
    buf_free(&s->skip);
    free(s->in);
    free(s->name);
    free(s);
}
