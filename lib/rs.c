#include "rs.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#ifndef COLDMAIL_NO_ISAL
#include <isa-l/erasure_code.h>
#endif

struct rs {
    unsigned k, m;
    uint8_t *matrix;  /* (k + m) x k: identity, then Cauchy rows */
    uint8_t *tables;  /* ISA-L's expanded tables for the m parity rows */
    uint8_t *sub;     /* k x k: the rows of the surviving fragments */
    uint8_t *inverse; /* k x k */
    uint8_t *rows;    /* m x k: the rows that give the erased data */
    uint8_t *dtables; /* expanded tables for those rows */
};

void
rs_free(struct rs *c)
{
    if (c == NULL)
        return;
    free(c->matrix);
    free(c->tables);
    free(c->sub);
    free(c->inverse);
    free(c->rows);
    free(c->dtables);
    free(c);
}

#ifdef COLDMAIL_NO_ISAL

int
rs_available(void)
{
    return 0;
}

int
rs_new(unsigned k, unsigned m, struct rs **out, struct cm_err *err)
{
    (void)k;
    (void)m;
    (void)out;
    return cm_fail(err, CM_EUSAGE,
                   "this coldmail-restore was built without Intel ISA-L "
                   "(no static ISA-L library was available), so it cannot "
                   "compute parity; build coldmail from its source archive "
                   "to repair");
}

void
rs_encode(const struct rs *c, size_t len, uint8_t *const *data,
          uint8_t *const *parity)
{
    (void)c;
    (void)len;
    (void)data;
    (void)parity;
}

int
rs_decode(struct rs *c, size_t len, uint8_t *const *frags,
          const uint8_t *erased, struct cm_err *err)
{
    (void)c;
    (void)len;
    (void)frags;
    (void)erased;
    return cm_fail(err, CM_EUSAGE, "no Reed-Solomon codec in this build");
}

#else

int
rs_available(void)
{
    return 1;
}

int
rs_new(unsigned k, unsigned m, struct rs **out, struct cm_err *err)
{
    struct rs *c;

    if (k < 1 || m < 1 || k + m > RS_FRAGMENTS_MAX)
        return cm_fail(err, CM_EUSAGE,
                       "Reed-Solomon code with %u data and %u parity "
                       "fragments: out of range",
                       k, m);
    if ((c = cm_calloc(1, sizeof *c, err)) == NULL)
        return -1;
    c->k = k;
    c->m = m;
    c->matrix = cm_malloc((size_t)(k + m) * k, err);
    c->tables = cm_malloc((size_t)32 * k * m, err);
    c->sub = cm_malloc((size_t)k * k, err);
    c->inverse = cm_malloc((size_t)k * k, err);
    c->rows = cm_malloc((size_t)m * k, err);
    c->dtables = cm_malloc((size_t)32 * k * m, err);
    if (c->matrix == NULL || c->tables == NULL || c->sub == NULL ||
        c->inverse == NULL || c->rows == NULL || c->dtables == NULL) {
        rs_free(c);
        return -1;
    }
    gf_gen_cauchy1_matrix(c->matrix, (int)(k + m), (int)k);
    ec_init_tables((int)k, (int)m, c->matrix + (size_t)k * k, c->tables);
    *out = c;
    return 0;
}

void
rs_encode(const struct rs *c, size_t len, uint8_t *const *data,
          uint8_t *const *parity)
{
    ec_encode_data((int)len, (int)c->k, (int)c->m, c->tables,
                   (unsigned char **)data, (unsigned char **)parity);
}

/*
 * The decode matrix, after ISA-L's ec_simple_example: the encode rows of
 * the first k surviving fragments form an invertible k x k matrix; the
 * rows of its inverse for the erased data fragments give them from those
 * survivors.  ${src} gets the survivors, ${dst} the erased data fragments.
 */
static int
plan(struct rs *c, uint8_t *const *frags, const uint8_t *erased, uint8_t **src,
     uint8_t **dst, unsigned *ndst, struct cm_err *err)
{
    unsigned n = 0, lost = 0;

    for (unsigned i = 0; i < c->k + c->m && n < c->k; i++) {
        if (erased[i])
            continue;
        memcpy(c->sub + (size_t)n * c->k, c->matrix + (size_t)i * c->k, c->k);
        src[n++] = frags[i];
    }
    if (n < c->k)
        return cm_fail(err, CM_DAMAGED,
                       "more fragments lost than the parity can rebuild");
    if (gf_invert_matrix(c->sub, c->inverse, (int)c->k) < 0)
        return cm_fail(err, CM_EINTERNAL,
                       "Reed-Solomon matrix not "
                       "invertible");
    for (unsigned i = 0; i < c->k; i++) {
        if (!erased[i])
            continue;
        memcpy(c->rows + (size_t)lost * c->k, c->inverse + (size_t)i * c->k,
               c->k);
        dst[lost++] = frags[i];
    }
    *ndst = lost;
    return 0;
}

int
rs_decode(struct rs *c, size_t len, uint8_t *const *frags,
          const uint8_t *erased, struct cm_err *err)
{
    uint8_t *src[RS_FRAGMENTS_MAX], *dst[RS_FRAGMENTS_MAX];
    unsigned ndst = 0;

    if (len > INT_MAX)
        return cm_fail(err, CM_EINTERNAL, "fragment too long");
    if (plan(c, frags, erased, src, dst, &ndst, err) == -1)
        return -1;
    if (ndst == 0)
        return 0;
    ec_init_tables((int)c->k, (int)ndst, c->rows, c->dtables);
    ec_encode_data((int)len, (int)c->k, (int)ndst, c->dtables, src, dst);
    return 0;
}

#endif
