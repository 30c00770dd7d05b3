/*
 * zframe: zstd in independent frames of bounded uncompressed size, ended by
 * a seek table in a skippable frame, laid out as zstd's published "seekable
 * format" (contrib/seekable_format/zstd_seekable_compression_format.md):
 *
 *   frame 1 .. frame n            ordinary zstd frames (content size set,
 *                                 content checksum on), each holding at most
 *                                 frame_size uncompressed bytes
 *   skippable frame               magic 0x184D2A5E, u32 frame size, then per
 *                                 frame {u32 compressed, u32 decompressed},
 *                                 then footer: u32 n, u8 descriptor (0: no
 *                                 per-frame checksums), u32 0x8F92EAB1
 *
 * All integers little-endian.  Plain `zstd -d` decodes the whole to the
 * original bytes (it skips the seek table).  The reader returns any byte
 * range by decompressing only the frames that hold it.
 */
#ifndef ZFRAME_H
#define ZFRAME_H

#include <stddef.h>
#include <stdint.h>

#include "cm.h"

#define ZFRAME_FRAME_SIZE (1u << 20) /* default uncompressed bytes a frame */
#define ZFRAME_FRAME_SIZE_MAX (8u << 20) /* largest frame read or written */
#define ZFRAME_FRAMES_MAX (1u << 24)     /* most frames in one seek table */
#define ZFRAME_SKIPPABLE_MAGIC 0x184D2A5Eu
#define ZFRAME_SEEKABLE_MAGIC 0x8F92EAB1u

/* ------------------------------------------------------------------ */
/* Writer                                                              */

struct zframe_writer_opts {
    int level;         /* zstd level; 0 means 3 */
    int threads;       /* compression threads; 0: compress in the caller */
    size_t frame_size; /* 0 means ZFRAME_FRAME_SIZE */
};

struct zframe_writer;

/*
 * A writer that delivers the compressed stream to ${sink}.  With threads
 * > 0, full frames are compressed by a pool of worker threads and ${sink}
 * is called from one output thread, in order, never concurrently (the seek
 * table, last, from the caller's zframe_writer_finish once every frame is
 * delivered); a sink or compression failure is reported by the next
 * zframe_writer_write or _finish.  With threads == 0 everything happens
 * inside the caller's calls.  At most 2 * threads + 2 frames are buffered
 * at once (the one being filled included): a write blocks until one is
 * delivered, so memory is bounded.  The output depends only on the input,
 * level and frame size, never on the thread count.  The writer's own calls
 * come from one thread.  CM_EUSAGE for a level outside zstd's range,
 * threads outside 0..256 or a frame size above ZFRAME_FRAME_SIZE_MAX, or
 * when a stream would pass ZFRAME_FRAMES_MAX frames; CM_EINTERNAL if out
 * of memory or a thread cannot start.  *${out} is freed with
 * zframe_writer_free.
 */
int zframe_writer_new(const struct zframe_writer_opts *opts, cm_write_fn sink,
                      void *sink_ctx, struct zframe_writer **out,
                      struct cm_err *err);

/*
 * Add ${len} uncompressed bytes.  May block while the frames in flight
 * reach the sink.  After any failure the writer only fails; free it.
 */
int zframe_writer_write(struct zframe_writer *w, const void *p, size_t len,
                        struct cm_err *err);

/*
 * Compress what is buffered, wait for every frame to reach the sink, then
 * write the seek table.  No more writes after this.
 */
int zframe_writer_finish(struct zframe_writer *w, struct cm_err *err);

/* Uncompressed bytes taken so far. */
uint64_t zframe_writer_bytes_in(const struct zframe_writer *w);

/*
 * An upper bound on the compressed bytes the stream will have if it were
 * finished now: bytes already given to the sink, plus ZSTD_compressBound of
 * everything not yet delivered, plus the seek table.  Used to end a volume
 * before it passes its size limit.
 */
uint64_t zframe_writer_size_bound(const struct zframe_writer *w);

/*
 * The most frames that were buffered at once (filled, in compression or
 * waiting for the sink), at most 2 * threads + 2.  For tests.
 */
size_t zframe_writer_peak_frames(const struct zframe_writer *w);

/*
 * Stop the threads and free, finished or not (frames not yet delivered are
 * dropped; a sink call in progress is waited for).  NULL-safe.
 */
void zframe_writer_free(struct zframe_writer *w);

/* ------------------------------------------------------------------ */
/* Random-access reader                                                */

struct zframe_info {
    uint64_t c_off, c_size; /* in the compressed stream */
    uint64_t d_off, d_size; /* in the uncompressed stream */
};

struct zframe_reader;

/*
 * Open the compressed stream of ${size} bytes readable through ${src}
 * (e.g. an age_reader) by its seek table.  The table is bounded
 * (ZFRAME_FRAMES_MAX, ZFRAME_FRAME_SIZE_MAX) and must tile the stream
 * exactly; anything else is CM_EFORMAT naming ${name}.  Errors from ${src}
 * pass through.
 */
int zframe_reader_open(cm_pread_fn src, void *src_ctx, uint64_t size,
                       const char *name, struct zframe_reader **out,
                       struct cm_err *err);

/*
 * As zframe_reader_open, but build the frame index by walking the frame
 * headers from the start, for a stream whose seek table is damaged or
 * missing.  Skippable frames (the seek table among them) are passed over.
 * Stops at the first frame it cannot read (bad header, unknown content
 * size, more than ZFRAME_FRAME_SIZE_MAX bytes, truncated, or a source
 * error other than CM_EINTR/CM_EINTERNAL, which pass through); what was
 * indexed before that stays readable, and zframe_reader_size tells how
 * much that is.  Each frame is read whole to find its end.
 */
int zframe_reader_open_scan(cm_pread_fn src, void *src_ctx, uint64_t size,
                            const char *name, struct zframe_reader **out,
                            struct cm_err *err);

/* Total uncompressed size of the frames indexed. */
uint64_t zframe_reader_size(const struct zframe_reader *r);

/* Number of frames, and the placement of frame ${i}. */
size_t zframe_reader_nframes(const struct zframe_reader *r);
void zframe_reader_frame(const struct zframe_reader *r, size_t i,
                         struct zframe_info *info);

/*
 * Index of the frame holding uncompressed offset ${off}; nframes if ${off}
 * is at or past the end.
 */
size_t zframe_reader_frame_of(const struct zframe_reader *r, uint64_t off);

/*
 * Read exactly ${len} uncompressed bytes at ${off}, decompressing only the
 * frames that hold them (the last frame decompressed is cached).  A frame
 * that fails to decompress, or whose size differs from the table, is
 * CM_EFORMAT naming the frame; a range past the end is CM_EFORMAT; errors
 * from the source pass through.  A reader is not safe for concurrent use.
 */
int zframe_reader_pread(struct zframe_reader *r, void *p, size_t len,
                        uint64_t off, struct cm_err *err);

/* A cm_pread_fn over a zframe_reader (ctx is the reader). */
int zframe_reader_pread_fn(void *ctx, void *p, size_t len, uint64_t off,
                           struct cm_err *err);

/* Free.  NULL-safe. */
void zframe_reader_free(struct zframe_reader *r);

/* ------------------------------------------------------------------ */
/* Sequential decompression (pipes, tape)                              */

struct zframe_stream;

/*
 * Decompress the stream read from ${src}: frames in order, the seek table
 * checked against the frames seen (mismatch: CM_EFORMAT), output bounded by
 * ${max_output} bytes (0: no bound) against decompression bombs.  A stream
 * without a seek table, or several concatenated streams each ended by its
 * table, decode too.  Frames whose window is larger than
 * ZFRAME_FRAME_SIZE_MAX are refused, bounding memory.
 */
int zframe_stream_new(cm_read_fn src, void *src_ctx, const char *name,
                      uint64_t max_output, struct zframe_stream **out,
                      struct cm_err *err);

/*
 * Up to ${len} bytes; 0 at the end of the stream (or if ${len} is 0); -1
 * on error, which is then returned by every later call: CM_EFORMAT for a
 * corrupt, truncated or oversized stream, or the source's error.  Bytes
 * decoded in a call that fails are not counted and must not be used.
 */
long zframe_stream_read(struct zframe_stream *s, void *p, size_t len,
                        struct cm_err *err);

/* Free.  NULL-safe. */
void zframe_stream_free(struct zframe_stream *s);

/* ------------------------------------------------------------------ */
/* Seek table, exposed for tests and fuzzing                           */

/*
 * Parse a seek table from the last ${len} bytes of a stream of
 * ${stream_size} bytes (${p} ends where the stream ends).  On success
 * *${frames} (caller frees) holds *${nframes} entries with offsets filled
 * in, and *${table_size} the skippable frame's total size.  Entries with
 * per-frame checksums (descriptor bit 7) are accepted; the checksums are
 * not checked here (every frame carries its own content checksum).
 * CM_EFORMAT naming ${name} if the table is missing, malformed, past the
 * bounds, or does not tile the stream exactly; CM_EINTERNAL if out of
 * memory.
 */
int zframe_seektable_parse(const uint8_t *p, size_t len, uint64_t stream_size,
                           const char *name, struct zframe_info **frames,
                           size_t *nframes, size_t *table_size,
                           struct cm_err *err);

#endif
