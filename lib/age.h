/*
 * age: the age v1 file format (age-encryption.org/v1) on OpenSSL 3.
 *
 * Header with X25519 and scrypt stanzas and HMAC-SHA-256 MAC; payload in
 * 64 KiB ChaCha20-Poly1305 STREAM chunks, the last one flagged.  Three ways
 * to use it:
 *
 *   age_writer   encrypt a stream to one or more recipients (constant memory)
 *   age_stream   decrypt a stream sequentially (pipes, stdin, tape)
 *   age_reader   decrypt any byte range of a seekable file, authenticating
 *                only the chunks that cover it
 *
 * No plaintext is ever released from a chunk whose tag has not been checked.
 * Errors name the file (the ${name} given when opening) and the chunk:
 *   CM_EFORMAT  malformed header, armor or payload framing
 *   CM_ENOKEY   no identity opens any stanza ("no identity matches")
 *   CM_EAUTH    header MAC or a chunk's tag does not verify, or a truncated
 *               or extended payload ("chunk 17: authentication failed")
 *   CM_EIO      the underlying read or write failed
 */
#ifndef AGE_H
#define AGE_H

#include <stddef.h>
#include <stdint.h>

#include "agekey.h"
#include "cm.h"

#define AGE_CHUNK_SIZE 65536
#define AGE_TAG_SIZE 16
#define AGE_CHUNK_CT_SIZE (AGE_CHUNK_SIZE + AGE_TAG_SIZE)
#define AGE_FILE_KEY_SIZE 16
#define AGE_NONCE_SIZE 16
/* Largest header accepted (bytes up to and including the MAC line). */
#define AGE_HEADER_MAX (64 * 1024)
/* Most stanzas accepted in one header. */
#define AGE_STANZAS_MAX 256

/* ------------------------------------------------------------------ */
/* Header                                                              */

struct age_stanza {
    char *type;
    char **args;
    size_t nargs;
    uint8_t *body;
    size_t body_len;
};

struct age_header {
    struct age_stanza *stanzas;
    size_t nstanzas;
    uint8_t mac[32];
    size_t mac_input_len; /* bytes covered by the MAC: up to "---" */
    size_t len;           /* whole header, through the MAC line's newline */
};

/*
 * Parse the header at the start of ${p} (${len} bytes, possibly followed by
 * payload).  On success fills ${h} (free with age_header_free) including
 * h->len, the offset where the payload nonce starts.  CM_EFORMAT naming
 * ${name} if the header is malformed, not canonical, or not complete within
 * ${len} bytes (or AGE_HEADER_MAX).
 */
int age_header_parse(const uint8_t *p, size_t len, const char *name,
                     struct age_header *h, struct cm_err *err);

/* Free what age_header_parse allocated.  NULL-safe. */
void age_header_free(struct age_header *h);

/*
 * Find the file key: try every identity on every stanza, then check the
 * header MAC over ${header_bytes} (the first h->mac_input_len bytes of the
 * file).  CM_ENOKEY if nothing opens, CM_EAUTH if the MAC fails,
 * CM_EFORMAT for a malformed stanza (a scrypt stanza not alone, a bad work
 * factor, ...).  ${file_key} is a secret: the caller wipes it.
 */
int age_header_unwrap(const struct age_header *h, const uint8_t *header_bytes,
                      const struct age_identities *ids, const char *name,
                      uint8_t file_key[AGE_FILE_KEY_SIZE], struct cm_err *err);

/* ------------------------------------------------------------------ */
/* Encryption                                                          */

struct age_writer;

/*
 * Start an age file to the ${n} recipients ${r}: writes the header to
 * ${sink} at once.  A scrypt recipient must be the only one (CM_EUSAGE).
 * Free with age_writer_free (which wipes the keys).
 */
int age_writer_new(const struct age_recipient *r, size_t n, cm_write_fn sink,
                   void *sink_ctx, struct age_writer **out, struct cm_err *err);

/* Encrypt ${len} bytes; full chunks go to the sink as they fill. */
int age_writer_write(struct age_writer *w, const void *p, size_t len,
                     struct cm_err *err);

/* Encrypt and write the last chunk.  No more writes after this. */
int age_writer_finish(struct age_writer *w, struct cm_err *err);

/* Ciphertext bytes given to the sink so far (header included). */
uint64_t age_writer_bytes_out(const struct age_writer *w);

/* Wipe and free.  NULL-safe. */
void age_writer_free(struct age_writer *w);

/*
 * Ciphertext size of an age file whose header is ${header_len} bytes and
 * whose plaintext is ${plaintext_len} bytes.
 */
uint64_t age_ciphertext_size(uint64_t header_len, uint64_t plaintext_len);

/* ------------------------------------------------------------------ */
/* Sequential decryption                                               */

struct age_stream;

/*
 * Read and unwrap the header from ${src} (binary, or ASCII-armored: the
 * armor is detected and decoded on the fly) with ${ids}.  ${name} names
 * the input in errors.  Free with age_stream_free.
 */
int age_stream_open(cm_read_fn src, void *src_ctx, const char *name,
                    const struct age_identities *ids, struct age_stream **out,
                    struct cm_err *err);

/*
 * Read up to ${len} bytes of authenticated plaintext.  Returns the count,
 * 0 once the final chunk has been read and authenticated and the input is at
 * its end, or -1 (CM_EAUTH for a bad, truncated or extended payload).
 */
long age_stream_read(struct age_stream *s, void *p, size_t len,
                     struct cm_err *err);

/* Wipe and free.  NULL-safe. */
void age_stream_free(struct age_stream *s);

/* Decrypt everything from ${src} to ${sink}; the plumbing of `decrypt`. */
int age_decrypt_stream(cm_read_fn src, void *src_ctx, const char *name,
                       const struct age_identities *ids, cm_write_fn sink,
                       void *sink_ctx, struct cm_err *err);

/* ------------------------------------------------------------------ */
/* Random access                                                       */

struct age_reader;

/*
 * Open the age file ${path} (binary, seekable) for random access: reads
 * and unwraps the header, checks its MAC, and derives the payload size from
 * the file size (a size no valid file can have is CM_EFORMAT).  The final
 * chunk is not yet read.  Free with age_reader_free.
 */
int age_reader_open(const char *path, const struct age_identities *ids,
                    struct age_reader **out, struct cm_err *err);

/* As age_reader_open, on an open descriptor (not closed by the reader). */
int age_reader_open_fd(int fd, const char *name,
                       const struct age_identities *ids,
                       struct age_reader **out, struct cm_err *err);

/*
 * As age_reader_open, reading the ${size} bytes of the file through ${src}
 * (which may check what it returns, e.g. against signed block hashes).
 */
int age_reader_open_src(cm_pread_fn src, void *src_ctx, uint64_t size,
                        const char *name, const struct age_identities *ids,
                        struct age_reader **out, struct cm_err *err);

/*
 * The plaintext size.  The first call reads and authenticates the final
 * chunk (so a truncated or extended file fails here with CM_EAUTH).
 */
int age_reader_size(struct age_reader *r, uint64_t *size, struct cm_err *err);

/*
 * The plaintext size implied by the file size, without authenticating
 * anything: for reading what is left of a damaged file.
 */
uint64_t age_reader_claimed_size(const struct age_reader *r);

/*
 * Read exactly ${len} plaintext bytes at ${off} into ${p}, decrypting and
 * authenticating only the chunks that cover the range (the last decrypted
 * chunk is cached, so sequential reads decrypt each chunk once).  A chunk
 * that fails fails the call with CM_EAUTH naming the chunk; nothing from it
 * is copied.  A range past the claimed size is CM_EFORMAT.
 */
int age_reader_pread(struct age_reader *r, void *p, size_t len, uint64_t off,
                     struct cm_err *err);

/* A cm_pread_fn over an age_reader (ctx is the reader). */
int age_reader_pread_fn(void *ctx, void *p, size_t len, uint64_t off,
                        struct cm_err *err);

/* Chunk index holding plaintext offset ${off}, and the chunk count. */
uint64_t age_reader_chunk_of(uint64_t off);
uint64_t age_reader_nchunks(const struct age_reader *r);

/* Ciphertext byte range [*start, *end) of chunk ${idx} in the file. */
void age_reader_chunk_span(const struct age_reader *r, uint64_t idx,
                           uint64_t *start, uint64_t *end);

/* Wipe and free (closes the file if opened by path).  NULL-safe. */
void age_reader_free(struct age_reader *r);

/* ------------------------------------------------------------------ */
/* ASCII armor (decoding only; coldmail writes binary files)           */

/*
 * Decode a whole armored file held in memory (${len} bytes) into ${out}
 * (room for ${outmax} bytes), following age's strict armor rules (64-column
 * lines, a short last line, canonical padded base64, the BEGIN/END lines,
 * optional surrounding white space).  Returns the decoded length or -1 with
 * CM_EFORMAT.  Exposed for tests and fuzzing; age_stream_open decodes armor
 * as a stream.
 */
long age_armor_decode(const uint8_t *p, size_t len, uint8_t *out, size_t outmax,
                      const char *name, struct cm_err *err);

/* Does ${p} start (after optional white space) with the armor BEGIN line? */
int age_is_armored(const uint8_t *p, size_t len);

#endif
