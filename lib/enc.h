/*
 * enc: hex and base64, strict.  Decoders reject anything that is not the
 * one canonical encoding (wrong alphabet, stray padding, non-zero unused
 * bits), because age and minisign both require canonical input.  And the
 * strict UTF-8 check that headers and printed names share.
 */
#ifndef ENC_H
#define ENC_H

#include <stddef.h>
#include <stdint.h>

#include "cm.h"

/* Characters needed for ${n} bytes in base64, without the NUL. */
size_t b64_encoded_len(size_t n, int pad);

/*
 * Encode ${n} bytes into ${out}, which holds b64_encoded_len(n, pad) + 1
 * characters; the result is NUL-terminated.  Standard alphabet; with '='
 * padding if ${pad}.
 */
void b64_encode(char *out, const uint8_t *in, size_t n, int pad);

enum b64_padding {
    B64_UNPADDED, /* '=' is an error (age) */
    B64_PADDED,   /* length must be a multiple of 4 (minisign, armor) */
};

/*
 * Decode ${inlen} characters at ${in} into ${out} (room for ${outmax}
 * bytes).  Returns the decoded length, or -1 with CM_EFORMAT naming
 * ${what} if the input is not canonical base64 or does not fit.
 */
long b64_decode(uint8_t *out, size_t outmax, const char *in, size_t inlen,
                enum b64_padding padding, const char *what,
                struct cm_err *err);

/* ${n} bytes as 2n lowercase hex digits and a NUL into ${out}. */
void hex_encode(char *out, const uint8_t *in, size_t n);

/*
 * Decode exactly 2${n} hex digits (either case) from ${in} into ${out}.
 * Returns 0, or -1 with CM_EFORMAT naming ${what}.
 */
int hex_decode(uint8_t *out, size_t n, const char *in, size_t inlen,
               const char *what, struct cm_err *err);

/*
 * Length of the strictly valid UTF-8 sequence at ${p} (at most ${n} bytes,
 * n >= 1): 1 to 4, or 0 if it is invalid, overlong, a surrogate, past
 * U+10FFFF or cut short.  *${bad} is then the length of the maximal
 * invalid subpart, to be replaced by one U+FFFD (as the Unicode Standard
 * recommends).
 */
size_t enc_utf8_check(const uint8_t *p, size_t n, size_t *bad);

/* The same, without the invalid subpart's length. */
size_t enc_utf8_len(const uint8_t *p, size_t n);

#endif
