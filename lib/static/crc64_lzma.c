/*
 * For the static coldmail-restore when no static Intel ISA-L library is at
 * hand: ISA-L's crc64_ecma_refl (blockhash.c) from liblzma, whose CRC-64 is
 * the same function (ECMA-182 polynomial, reflected, inverted in and out:
 * both give 0x995dc9bbdf1939fa for "123456789", and agree on chained
 * calls).  The restore side uses it only through blockhash; the pack's
 * read-back, its main user, is not in this binary.
 */
#include <stddef.h>
#include <stdint.h>

#include <lzma.h>

uint64_t crc64_ecma_refl(uint64_t seed, const unsigned char *buf, uint64_t len);

uint64_t
crc64_ecma_refl(uint64_t seed, const unsigned char *buf, uint64_t len)
{
    return lzma_crc64(buf, (size_t)len, seed);
}
