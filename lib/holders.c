#include "holders.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "setfind.h"

enum vol_state { VOL_UNKNOWN, VOL_OK, VOL_BAD };

/* An open set, with what is known of its volumes. */
struct held {
    struct setr *set; /* NULL: the slot is free */
    int owned;
    uint8_t id[MANIFEST_SET_ID_SIZE];
    uint64_t nvols;
    uint8_t *state;      /* enum vol_state per volume, from 1 */
    struct cm_err **why; /* for VOL_BAD */
    uint64_t used;       /* when last used, for closing the oldest */
};

/* A set of the base chain. */
struct link {
    uint8_t id[MANIFEST_SET_ID_SIZE];
    char *dir;         /* where it was found and checked; NULL: not */
    struct cm_err why; /* if not: why */
};

struct holders {
    const struct setr_opts *opts;
    struct held first;
    struct held open[HOLDERS_OPEN_MAX];
    uint64_t clock;
    int resolved;
    struct link *chain;
    size_t nchain;
    int complete;         /* the chain was followed to a full set */
    struct cm_err broken; /* if not: why it stops */
};

/* ------------------------------------------------------------------ */
/* Open sets                                                           */

static int
held_init(struct held *h, struct setr *set, int owned, struct cm_err *err)
{
    const struct manifest *m = setr_manifest(set);

    memset(h, 0, sizeof *h);
    h->set = set;
    h->owned = owned;
    memcpy(h->id, m->set_id, sizeof h->id);
    h->nvols = m->volumes;
    if ((h->state = cm_calloc(h->nvols + 1, 1, err)) == NULL ||
        (h->why = cm_calloc(h->nvols + 1, sizeof *h->why, err)) == NULL)
        return -1;
    return 0;
}

static void
held_free(struct held *h)
{
    for (uint64_t i = 0; h->why != NULL && i <= h->nvols; i++)
        free(h->why[i]);
    free(h->why);
    free(h->state);
    if (h->owned)
        setr_close(h->set);
    memset(h, 0, sizeof *h);
}

/* Is volume ${vol} of ${h} usable?  Probed once. */
static int
check_volume(struct held *h, uint32_t vol, struct cm_err *err)
{
    uint64_t size;

    if (vol == 0 || vol > h->nvols)
        return cm_fail(err, CM_EFORMAT, "volume %" PRIu32 " is not in the set",
                       vol);
    if (h->state[vol] == VOL_OK)
        return 0;
    if (h->state[vol] == VOL_BAD) {
        *err = *h->why[vol];
        return -1;
    }
    if (setr_volume_size(h->set, vol, &size, err) == 0) {
        h->state[vol] = VOL_OK;
        return 0;
    }
    if (err->code == CM_EINTERNAL)
        return -1;
    if ((h->why[vol] = malloc(sizeof *h->why[vol])) != NULL) {
        *h->why[vol] = *err;
        h->state[vol] = VOL_BAD;
    }
    return -1;
}

int
holders_new(struct setr *set, const struct setr_opts *opts,
            struct holders **out, struct cm_err *err)
{
    struct holders *h = cm_calloc(1, sizeof *h, err);

    if (h == NULL)
        return -1;
    h->opts = opts;
    if (held_init(&h->first, set, 0, err) == -1) {
        holders_free(h);
        return -1;
    }
    *out = h;
    return 0;
}

void
holders_free(struct holders *h)
{
    if (h == NULL)
        return;
    held_free(&h->first);
    for (size_t i = 0; i < HOLDERS_OPEN_MAX; i++)
        held_free(&h->open[i]);
    for (size_t i = 0; i < h->nchain; i++)
        free(h->chain[i].dir);
    free(h->chain);
    free(h);
}

/* ------------------------------------------------------------------ */
/* The base chain                                                      */

/* The directory holding ${dir} (its medium), "." if none is named. */
static void
parent_of(const char *dir, char *out, size_t len)
{
    const char *slash;
    size_t n = strlen(dir);

    while (n > 1 && dir[n - 1] == '/')
        n--;
    slash = memrchr(dir, '/', n);
    if (slash == NULL)
        snprintf(out, len, ".");
    else if (slash == dir)
        snprintf(out, len, "/");
    else
        snprintf(out, len, "%.*s", (int)(slash - dir), dir);
}

/*
 * Open ${dir} with the first set's options and check that it is the set
 * ${id}, of the same host, signed by the same key.  CM_EIO (as setr_open,
 * or "is not that set"), CM_EINTERNAL.
 */
static int
open_checked(const struct holders *h, const char *dir, const uint8_t *id,
             struct setr **out, struct cm_err *err)
{
    const struct manifest *top = setr_manifest(h->first.set), *m;
    char hex[2 * MANIFEST_SET_ID_SIZE + 1];
    struct setr *s = NULL;

    manifest_set_id_hex(id, hex);
    if (setr_open(dir, h->opts, &s, err) == -1) {
        if (err->code != CM_EINTERNAL)
            err->code = CM_EIO;
        return -1;
    }
    m = setr_manifest(s);
    if (memcmp(m->set_id, id, MANIFEST_SET_ID_SIZE) != 0)
        cm_fail(err, CM_EIO, "%s is not the set %s", dir, hex);
    else if (strcmp(m->host, top->host) != 0)
        cm_fail(err, CM_EIO, "%s: set %s is of host %s, not %s", dir, hex,
                m->host, top->host);
    else if (strcmp(m->signer_public_key, top->signer_public_key) != 0)
        cm_fail(err, CM_EIO,
                "%s: set %s is signed by key %s, not by this set's key %s", dir,
                hex, m->signer_key_id, top->signer_key_id);
    else {
        *out = s;
        return 0;
    }
    setr_close(s);
    return -1;
}

/*
 * Find the link ${l} among the sets found: 1 (l->dir set; *${base} is its
 * base, if *${has_base}), 0 if no copy of it opens and checks (l->why
 * says why), -1 (CM_EINTERNAL).
 */
static int
find_link(struct holders *h, const struct setfind *f, struct link *l,
          int *has_base, uint8_t base[16], struct cm_err *err)
{
    char hex[2 * MANIFEST_SET_ID_SIZE + 1];
    struct setr *s = NULL;

    manifest_set_id_hex(l->id, hex);
    cm_fail(&l->why, CM_EIO,
            "held by set %s, of this set's base chain, which is neither "
            "among the sets given nor beside this set",
            hex);
    for (size_t i = 0; i < setfind_count(f); i++) {
        const struct setfind_set *c = setfind_get(f, i);
        struct cm_err why = CM_ERR_INIT;
        if (memcmp(c->id, l->id, sizeof l->id) != 0)
            continue;
        if (open_checked(h, c->dir, l->id, &s, &why) == -1) {
            if (why.code == CM_EINTERNAL) {
                *err = why;
                return -1;
            }
            cm_err_clear(&l->why);
            cm_fail(&l->why, CM_EIO, "held by set %s, which does not open: %s",
                    hex, why.msg);
            continue;
        }
        *has_base = setr_manifest(s)->has_base;
        memcpy(base, setr_manifest(s)->base, MANIFEST_SET_ID_SIZE);
        setr_close(s);
        return (l->dir = cm_strdup(c->dir, err)) == NULL ? -1 : 1;
    }
    return 0;
}

static int
in_chain(const struct holders *h, const uint8_t *id)
{
    if (memcmp(id, h->first.id, MANIFEST_SET_ID_SIZE) == 0)
        return 1;
    for (size_t i = 0; i < h->nchain; i++)
        if (memcmp(h->chain[i].id, id, MANIFEST_SET_ID_SIZE) == 0)
            return 1;
    return 0;
}

static struct link *
add_link(struct holders *h, const uint8_t id[16], struct cm_err *err)
{
    struct link *grown = realloc(h->chain, (h->nchain + 1) * sizeof *grown);

    if (grown == NULL) {
        cm_fail(err, CM_EINTERNAL, "out of memory");
        return NULL;
    }
    h->chain = grown;
    memset(&grown[h->nchain], 0, sizeof *grown);
    memcpy(grown[h->nchain].id, id, MANIFEST_SET_ID_SIZE);
    return &grown[h->nchain++];
}

/* Follow the base links from the first set, as far as they go. */
static int
follow(struct holders *h, const struct setfind *f, struct cm_err *err)
{
    const struct manifest *m = setr_manifest(h->first.set);
    char hex[2 * MANIFEST_SET_ID_SIZE + 1];
    int has_base = m->has_base, r = 1;
    uint8_t base[MANIFEST_SET_ID_SIZE];
    struct link *l;

    memcpy(base, m->base, sizeof base);
    while (has_base && r == 1) {
        manifest_set_id_hex(base, hex);
        if (in_chain(h, base)) {
            cm_fail(&h->broken, CM_EFORMAT,
                    "the base chain comes back to set %s", hex);
            return 0;
        }
        if (h->nchain >= HOLDERS_CHAIN_MAX) {
            cm_fail(&h->broken, CM_EFORMAT,
                    "the base chain is longer than %d sets", HOLDERS_CHAIN_MAX);
            return 0;
        }
        if ((l = add_link(h, base, err)) == NULL ||
            (r = find_link(h, f, l, &has_base, base, err)) == -1)
            return -1;
        if (r == 0)
            cm_fail(&h->broken, CM_EIO, "set %s was not found", hex);
    }
    h->complete = r == 1;
    return 0;
}

static int
resolve(struct holders *h, struct cm_err *err)
{
    const char *const *dirs = setr_holder_dirs(h->first.set);
    struct setfind *f = NULL;
    char parent[4096];
    int rc = -1;

    if (setfind_new(&f, err) == -1)
        return -1;
    for (size_t i = 0; dirs != NULL && dirs[i] != NULL; i++)
        if (setfind_add(f, dirs[i], 1, err) == -1)
            goto out;
    parent_of(setr_dir(h->first.set), parent, sizeof parent);
    if (setfind_add(f, parent, 1, err) == -1 || follow(h, f, err) == -1)
        goto out;
    h->resolved = 1;
    rc = 0;
out:
    setfind_free(f);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Reading                                                             */

static struct held *
open_link(struct holders *h, const struct link *l, struct cm_err *err)
{
    struct held *slot = &h->open[0];
    struct setr *s = NULL;

    for (size_t i = 0; i < HOLDERS_OPEN_MAX; i++) {
        if (h->open[i].set != NULL &&
            memcmp(h->open[i].id, l->id, MANIFEST_SET_ID_SIZE) == 0)
            return &h->open[i];
        if (h->open[i].set == NULL ||
            (slot->set != NULL && h->open[i].used < slot->used))
            slot = &h->open[i];
    }
    held_free(slot);
    if (open_checked(h, l->dir, l->id, &s, err) == -1)
        return NULL;
    if (held_init(slot, s, 1, err) == -1) {
        setr_close(s);
        held_free(slot);
        return NULL;
    }
    return slot;
}

static struct held *
find_held(struct holders *h, const uint8_t id[16], struct cm_err *err)
{
    char hex[2 * MANIFEST_SET_ID_SIZE + 1];

    if (memcmp(id, h->first.id, MANIFEST_SET_ID_SIZE) == 0)
        return &h->first;
    if (!h->resolved && resolve(h, err) == -1)
        return NULL;
    for (size_t i = 0; i < h->nchain; i++) {
        if (memcmp(h->chain[i].id, id, MANIFEST_SET_ID_SIZE) != 0)
            continue;
        if (h->chain[i].dir == NULL) {
            *err = h->chain[i].why;
            return NULL;
        }
        return open_link(h, &h->chain[i], err);
    }
    manifest_set_id_hex(id, hex);
    if (h->complete)
        cm_fail(err, CM_EAUTH,
                "held by set %s, which is not in this set's base chain: "
                "refused",
                hex);
    else
        cm_fail(err, CM_EIO,
                "held by set %s, which is not in the part of this set's "
                "base chain that was found (%s)",
                hex, h->broken.msg);
    return NULL;
}

struct setr *
holders_volume(struct holders *h, const uint8_t id[16], uint32_t vol,
               struct cm_err *err)
{
    struct held *held = find_held(h, id, err);

    if (held == NULL || check_volume(held, vol, err) == -1)
        return NULL;
    held->used = ++h->clock;
    return held->set;
}
