#include "pack.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stddef.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "blockhash.h"
#include "catalog.h"
#include "enc.h"
#include "medium.h"
#include "mediumscan.h"
#include "packobj.h"
#include "packspan.h"
#include "io.h"
#include "maildir.h"
#include "mbox.h"
#include "mh.h"
#include "msghdr.h"
#include "selfrestore.h"
#include "setr.h"
#include "setw.h"
#include "state.h"
#include "tape.h"
#include "walk.h"
#include "when.h"




/* ------------------------------------------------------------------ */
/* The walk                                                            */

static void
count_entry(struct packer *p, const struct walk_entry *e)
{
    uint64_t size = (uint64_t)e->st.st_size;

    p->prog.objects_total++;
    if (e->kind != WALK_FILE && e->kind != WALK_MESSAGE &&
        e->kind != WALK_MBOX)
        return;
    p->store_files++;
    p->prog.bytes_total += size;
    if (e->kind == WALK_MESSAGE)
        p->res->messages++;
    else if (e->kind == WALK_MBOX)
        p->res->mbox_files++;
    else
        p->res->files++;
    p->res->bytes_in += size;
    if (size >= p->res->largest) {
        p->res->largest = size;
        snprintf(p->res->largest_path, sizeof p->res->largest_path, "%s/%s",
                 p->store_name, e->relpath);
    }
}

static int
visit(void *ctx, const struct walk_entry *e, struct cm_err *err)
{
    struct packer *p = ctx;

    if (p->o->interrupted != NULL && *p->o->interrupted)
        return cm_fail(err, CM_EINTR, "interrupted");
    if (p->counting) {
        count_entry(p, e);
        return 0;
    }
    if (packobj_set_path(p, e->relpath, err) == -1)
        return -1;
    switch (e->kind) {
    case WALK_DIR:
        return packobj_add_dir(p, e, err);
    case WALK_SYMLINK:
        return packobj_add_symlink(p, e, err);
    case WALK_FILE:
    case WALK_MESSAGE:
    case WALK_MBOX:
        return packobj_add_file(p, e, err);
    }
    return 0;
}

static void
on_skip(void *ctx, const char *relpath, const char *why)
{
    struct packer *p = ctx;
    char path[4096];

    if (p->counting)
        return;
    p->res->skipped++;
    snprintf(path, sizeof path, "%s/%s", p->store_name, relpath);
    {
        char why_skipped[256];
        snprintf(why_skipped, sizeof why_skipped, "%s, skipped", why);
        packobj_warn(p, path, why_skipped);
    }
}

/* ------------------------------------------------------------------ */
/* Stores, checks, and the run                                         */

struct store {
    char real[PATH_MAX];
    const char *name;
};

static int
resolve_stores(const struct pack_opts *o, struct store **out, size_t *n,
               struct cm_err *err)
{
    struct store *s;
    size_t count = 0;

    while (o->stores[count] != NULL)
        count++;
    if (count == 0)
        return cm_fail(err, CM_EUSAGE, "no STORE given");
    if ((s = cm_calloc(count, sizeof *s, err)) == NULL)
        return -1;
    for (size_t i = 0; i < count; i++) {
        struct stat st;
        if (realpath(o->stores[i], s[i].real) == NULL ||
            stat(s[i].real, &st) == -1) {
            cm_fail_errno(err, errno, "%s: cannot read the store",
                          o->stores[i]);
            goto fail;
        }
        if (!S_ISDIR(st.st_mode)) {
            cm_fail(err, CM_EUSAGE, "%s: the store is not a directory",
                    o->stores[i]);
            goto fail;
        }
        s[i].name = strrchr(s[i].real, '/') + 1;
        if (*s[i].name == '\0') {
            cm_fail(err, CM_EUSAGE, "%s: cannot pack the root directory",
                    o->stores[i]);
            goto fail;
        }
        for (size_t k = 0; k < i; k++)
            if (strcmp(s[k].name, s[i].name) == 0) {
                cm_fail(err, CM_EUSAGE,
                        "two stores are named \"%s\" (%s and %s): the set "
                        "keeps each under its name",
                        s[i].name, s[k].real, s[i].real);
                goto fail;
            }
    }
    *out = s;
    *n = count;
    return 0;
fail:
    free(s);
    return -1;
}

static int
check_medium(const struct pack_opts *o, const struct store *s, size_t n,
             struct cm_err *err)
{
    char real[PATH_MAX];
    struct stat st;

    if (realpath(o->medium_dir, real) == NULL || stat(real, &st) == -1)
        return cm_fail_errno(err, errno,
                             "%s: the medium is not there (is it mounted?)",
                             o->medium_dir);
    if (!S_ISDIR(st.st_mode))
        return cm_fail(err, CM_EUSAGE, "%s: the medium is not a directory",
                       o->medium_dir);
    if (access(real, W_OK) == -1)
        return cm_fail_errno(err, errno, "%s: the medium is not writable",
                             o->medium_dir);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(s[i].real);
        if (strncmp(real, s[i].real, len) == 0 &&
            (real[len] == '/' || real[len] == '\0'))
            return cm_fail(err, CM_EUSAGE,
                           "%s: the medium is inside the store %s",
                           o->medium_dir, s[i].real);
    }
    return 0;
}

static int
walk_all(struct packer *p, const struct store *s, size_t n,
         struct cm_err *err)
{
    struct walk_opts wo = {p->o->excludes};

    for (size_t i = 0; i < n; i++) {
        p->store_root = s[i].real;
        p->store_name = s[i].name;
        p->store_files = 0;
        if (walk_store(s[i].real, &wo, visit, on_skip, p, err) == -1)
            return -1;
        if (p->counting && p->store_files == 0)
            return cm_fail(err, CM_EUSAGE,
                           "%s: the store is empty (no files to pack)",
                           s[i].real);
    }
    return 0;
}

static void
host_name(const struct pack_opts *o, char *out, size_t outlen)
{
    char raw[256] = "";

    if (o->host != NULL)
        snprintf(raw, sizeof raw, "%s", o->host);
    else if (gethostname(raw, sizeof raw - 1) == -1 || raw[0] == '\0')
        snprintf(raw, sizeof raw, "localhost");
    /* The name goes into a directory name: keep it plain. */
    for (char *c = raw; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
              (*c >= '0' && *c <= '9') || *c == '.' || *c == '-' ||
              *c == '_'))
            *c = '-';
    snprintf(out, outlen, "%.63s", raw);
}

static double
seconds_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* What this pack will write: where it goes in the chain, and its kind. */
struct plan {
    struct medium_label label;
    char medium_id[33];
    char host[64];
    uint64_t sequence;
    int has_previous, has_previous_medium;
    uint8_t previous[32], previous_medium[16];
    const char *chain_break;
    int incremental;
    uint8_t base[16];
};

static int
ensure_label(struct packer *p, struct plan *pl, struct cm_err *err)
{
    const char *dir = p->o->medium_dir;
    struct minisig_pubkey pk;
    struct statvfs vfs;
    char keyid[MINISIG_KEYID_HEX_LEN];
    int r;

    minisig_seckey_pubkey(p->o->signer, &pk);
    minisig_keyid_hex(pk.keyid, keyid);
    r = medium_read(dir, &pk, &pl->label, err);
    if (r == -1 && err->code == CM_ENOKEY) {
        cm_err_clear(err);
        return cm_fail(err, CM_ENOKEY,
                       "%s: the medium is labelled with another signing key "
                       "than %s; refusing to write to it",
                       dir, keyid);
    }
    if (r == -1)
        return -1;
    if (r == 0 && p->o->init_label == NULL)
        return cm_fail(err, CM_EUSAGE,
                       "%s: not a coldmail medium (no %s); label it first "
                       "with 'coldmail media init %s --label NAME', or pass "
                       "--init-label NAME",
                       dir, MEDIUM_LABEL_FILE, dir);
    if (r == 0 && medium_init(dir, p->o->init_label, pl->host, p->o->signer,
                              &pl->label, err) == -1)
        return -1;
    if (strcmp(pl->label.host, pl->host) != 0)
        return cm_fail(err, CM_EUSAGE,
                       "%s: the medium \"%s\" belongs to host %s, not %s; "
                       "refusing to write to it",
                       dir, pl->label.label, pl->label.host, pl->host);
    medium_id_hex(pl->label.id, pl->medium_id);
    snprintf(p->res->medium, sizeof p->res->medium, "%s", pl->label.label);
    if (statvfs(dir, &vfs) == -1)
        memset(&vfs, 0, sizeof vfs);
    return state_medium_seen(p->state, &pl->label, dir,
                             (uint64_t)vfs.f_blocks * vfs.f_frsize,
                             (uint64_t)vfs.f_bavail * vfs.f_frsize, err);
}

struct highest {
    const char *host;
    uint64_t sequence;
};

static int
note_sequence(void *ctx, const struct mediumscan_set *s, struct cm_err *err)
{
    struct highest *h = ctx;

    (void)err;
    if (strcmp(s->m->host, h->host) == 0 && s->m->sequence > h->sequence)
        h->sequence = s->m->sequence;
    return 0;
}

/*
 * Does the MANIFEST of ${dir} say, in its first lines, that it is set
 * ${sequence} of ${host}?  (A cheap look before a full check.)
 */
static int
claims(const char *dir, const char *host, uint64_t sequence)
{
    char path[4200], head[1024], want[128];
    ssize_t n;
    int fd;

    snprintf(path, sizeof path, "%s/MANIFEST", dir);
    if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) == -1)
        return 0;
    n = read(fd, head, sizeof head - 1);
    close(fd);
    if (n <= 0)
        return 0;
    head[n] = '\0';
    snprintf(want, sizeof want, "\nhost %s\n", host);
    if (strstr(head, want) == NULL)
        return 0;
    snprintf(want, sizeof want, "\nsequence %llu\n",
             (unsigned long long)sequence);
    return strstr(head, want) != NULL;
}

/*
 * ${dir} holds the set that follows the state's newest one (${head}),
 * signed with our key: record it, and forget the medium's listing (it
 * does not describe that set).  1 if so, 0 if not, -1.
 */
static int
adopt(struct packer *p, const struct plan *pl,
      const struct state_chain_head *head, const char *dir, struct cm_err *err)
{
    struct minisig_pubkey pk;
    struct setr_opts so = {&pk, NULL};
    const struct manifest *m;
    struct setr *r = NULL;
    int rc = 0;

    minisig_seckey_pubkey(p->o->signer, &pk);
    if (setr_open(dir, &so, &r, err) == -1) {
        cm_err_clear(err); /* not ours after all: the chain goes on */
        return 0;
    }
    m = setr_manifest(r);
    if (m->has_previous &&
        memcmp(m->previous, head->manifest_sha256, 32) == 0) {
        packobj_warn(p, dir,
                     "a set the state had not recorded (an interrupted run "
                     "committed it); recorded now, and this medium's next "
                     "set is a full one");
        rc = state_set_import(p->state, m, setr_manifest_sha256(r), dir,
                              pl->medium_id, 0, err) == -1 ||
                     state_forget_listing(p->state, pl->medium_id, err) == -1
                 ? -1
                 : 1;
    }
    setr_close(r);
    return rc;
}

/*
 * A run killed between renaming its set into place and recording it
 * leaves a set the state does not know: take it into the chain, lest the
 * next set claim its sequence.
 */
static int
adopt_orphan(struct packer *p, const struct plan *pl,
             struct state_chain_head *head, struct cm_err *err)
{
    const char *medium = p->o->medium_dir;
    char dir[4200];
    struct dirent *de;
    DIR *d;
    int r = 0;

    if (head->sequence == 0 || !head->has_manifest ||
        (d = opendir(medium)) == NULL)
        return 0;
    while (r == 0 && (de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (strncmp(de->d_name, "coldmail-", 9) != 0 ||
            (n > 11 && strcmp(de->d_name + n - 11, ".incomplete") == 0))
            continue;
        snprintf(dir, sizeof dir, "%s/%s", medium, de->d_name);
        if (claims(dir, pl->host, head->sequence + 1))
            r = adopt(p, pl, head, dir, err);
    }
    closedir(d);
    if (r == 1)
        r = state_chain_head(p->state, head, err);
    return r;
}

/* The chain link: after the newest set this host wrote, anywhere. */
static int
plan_chain(struct packer *p, struct plan *pl, struct cm_err *err)
{
    struct state_chain_head head;
    struct highest h = {pl->host, 0};

    if (state_chain_head(p->state, &head, err) == -1 ||
        adopt_orphan(p, pl, &head, err) == -1)
        return -1;
    if (head.sequence > 0) {
        pl->sequence = head.sequence + 1;
        pl->has_previous = head.has_manifest;
        memcpy(pl->previous, head.manifest_sha256, 32);
        pl->has_previous_medium =
            hex_decode(pl->previous_medium, 16, head.medium_id,
                       strlen(head.medium_id), "medium id", NULL) == 0;
        return 0;
    }
    /* No record of any set: a new host, or one that lost its state.  If
     * this medium holds sets of this host, say that the chain restarts. */
    if (mediumscan_sets(p->o->medium_dir, note_sequence, NULL, &h, err) == -1)
        return -1;
    pl->sequence = h.sequence + 1;
    if (h.sequence > 0) {
        pl->chain_break = "the pack host has no record of earlier sets "
                          "(state lost or new); the chain restarts here";
        p->res->chain_break = 1;
    }
    return 0;
}

/* Is the newest set of this medium, as the state knows it, still there? */
static int
base_intact(struct packer *p, const struct state_set *base)
{
    const char *name = strrchr(base->set_dir, '/');
    char path[4200];
    uint8_t sha[32];
    struct buf text;
    int ok;

    snprintf(path, sizeof path, "%s/%s/MANIFEST", p->o->medium_dir,
             name ? name + 1 : base->set_dir);
    buf_init(&text, MANIFEST_MAX);
    ok = io_read_file(path, MANIFEST_MAX, &text, NULL) == 0;
    if (ok) {
        blockhash_sha256(text.data, text.len, sha);
        ok = memcmp(sha, base->manifest_sha256, 32) == 0;
    }
    buf_free(&text);
    return ok;
}

static int
plan_kind(struct packer *p, struct plan *pl, struct cm_err *err)
{
    struct state_set base;
    uint64_t incrementals;
    int found, has_index;

    if (p->o->full)
        return 0;
    if (state_newest_on_medium(p->state, pl->medium_id, &base, &found,
                               &incrementals, err) == -1 ||
        state_has_index(p->state, pl->medium_id, &has_index, err) == -1)
        return -1;
    if (!found || !has_index)
        return 0;
    if (incrementals >= (uint64_t)p->o->max_chain)
        return 0;
    if (!base_intact(p, &base)) {
        packobj_warn(p, p->o->medium_dir,
                     "the newest set the state knows on this medium is "
                     "missing or changed; writing a full set");
        return 0;
    }
    pl->incremental = 1;
    snprintf(p->res->base_set, sizeof p->res->base_set, "%s", base.set_id);
    return manifest_set_id_parse(base.set_id, pl->base, err);
}

/* A tape set: full, on no labelled medium (tape.h). */
static int
plan_tape(struct packer *p, struct plan *pl, struct cm_err *err)
{
    const char *label = p->o->tape_label;

    if (label != NULL && medium_label_check(label, err) == -1)
        return cm_err_prefix(err, "--tape-label");
    snprintf(pl->label.label, sizeof pl->label.label, "%s",
             label != NULL ? label : "");
    return 0;
}

/* The stream is complete once the spool's set directory is empty. */
static int
finish_tape(struct packer *p, struct tape *tape, struct setw_result *wr,
            struct cm_err *err)
{
    if (tape_close(tape, err) == -1)
        return -1;
    if (rmdir(wr->set_dir) == -1)
        packobj_warn(p, wr->set_dir, "cannot remove the spooled set directory");
    snprintf(wr->set_dir, sizeof wr->set_dir, "tape:%s/%s",
             strcmp(p->o->tape, TAPE_STDIO) == 0 ? "stdout" : p->o->tape,
             wr->set_name);
    p->res->tape_bytes = tape_bytes(tape);
    return 0;
}

static void
setw_options(const struct packer *p, const struct plan *pl,
             struct setw_opts *wo)
{
    memset(wo, 0, sizeof *wo);
    wo->medium_dir = p->o->medium_dir;
    wo->host = pl->host;
    wo->created = when_now();
    wo->recipients = p->o->recipients;
    wo->signer = p->o->signer;
    wo->volume_size = p->o->volume_size;
    wo->level = p->o->level;
    wo->threads = p->o->threads;
    wo->label = p->o->label;
    wo->medium_label = pl->label.label;
    wo->has_medium_id = 1;
    memcpy(wo->medium_id, pl->label.id, 16);
    wo->sequence = pl->sequence;
    wo->has_previous = pl->has_previous;
    memcpy(wo->previous, pl->previous, 32);
    wo->has_previous_medium = pl->has_previous_medium;
    memcpy(wo->previous_medium, pl->previous_medium, 16);
    wo->chain_break = pl->chain_break;
    wo->parity_percent = p->o->parity_percent;
    wo->incremental = pl->incremental;
    memcpy(wo->base, pl->base, 16);
}

/* The committed set into the state. */
static int
record_set(struct packer *p, const struct plan *pl,
           const struct setw_result *wr, struct cm_err *err)
{
    if (state_pack_commit(p->state, setw_manifest(p->w), wr->manifest_sha256,
                          wr->set_dir,
                          pl->medium_id[0] != '\0' ? pl->medium_id : NULL,
                          wr->bytes_written, err) == -1)
        return cm_err_prefix(err,
                             "the set %s is complete, but the state was not "
                             "updated",
                             wr->set_dir);
    return 0;
}

/*
 * A set across media is recorded on its last medium, whose next set is a
 * full one: an incremental set there would point into volumes on other
 * media.
 */
static int
record_spanning(struct packer *p, struct plan *pl, const struct setw_result *wr,
                struct cm_err *err)
{
    const struct manifest *m = setw_manifest(p->w);

    medium_id_hex(m->medium_id, pl->medium_id);
    snprintf(p->res->medium, sizeof p->res->medium, "%s", m->medium);
    if (record_set(p, pl, wr, err) == -1)
        return -1;
    return state_forget_listing(p->state, pl->medium_id, err);
}

/* Pass 2: write the set and commit it. */
static int
write_set(struct packer *p, const struct store *s, size_t n, struct tape *tape,
          struct cm_err *err)
{
    struct plan pl;
    struct setw_opts wo;
    struct setw_result wr;

    memset(&pl, 0, sizeof pl);
    host_name(p->o, pl.host, sizeof pl.host);
    if ((tape != NULL ? plan_tape(p, &pl, err) : ensure_label(p, &pl, err)) ==
            -1 ||
        plan_chain(p, &pl, err) == -1 ||
        (tape == NULL && plan_kind(p, &pl, err) == -1))
        return -1;
    p->incremental = pl.incremental;
    snprintf(p->medium_id, sizeof p->medium_id, "%s", pl.medium_id);
    setw_options(p, &pl, &wo);
    if (tape != NULL) {
        wo.has_medium_id = 0;
        wo.on_file = tape_setw_file;
        wo.on_file_ctx = tape;
    } else if (!pl.incremental &&
               (p->o->next_medium != NULL || p->o->interactive)) {
        wo.next_medium = packspan_next;
        wo.next_medium_ctx = p;
        wo.spool_dir = p->o->spool_dir;
    }
    if (state_pack_begin(p->state, err) == -1 ||
        setw_begin(&wo, &p->w, err) == -1)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (setw_add_store(p->w, s[i].name, s[i].real, err) == -1)
            return -1;
    /* Pass 2 counts again what it actually packs; keep only the largest
     * object found by pass 1. */
    memset(p->res, 0, offsetof(struct pack_result, largest));
    snprintf(p->res->medium, sizeof p->res->medium, "%s", pl.label.label);
    p->res->chain_break = pl.chain_break != NULL;
    if (pl.incremental)
        manifest_set_id_hex(pl.base, p->res->base_set);
    p->prog.objects_done = p->prog.bytes_done = 0;
    if (walk_all(p, s, n, err) == -1 || setw_commit(p->w, &wr, err) == -1 ||
        (tape != NULL && finish_tape(p, tape, &wr, err) == -1))
        return -1;
    snprintf(p->res->set_dir, sizeof p->res->set_dir, "%s", wr.set_dir);
    snprintf(p->res->kind, sizeof p->res->kind, "%s",
             pl.incremental ? "incremental" : "full");
    manifest_set_id_hex(setw_set_id(p->w), p->res->set_id);
    p->res->sequence = wo.sequence;
    p->res->volumes = wr.volumes;
    p->res->bytes_written = wr.bytes_written;
    p->res->verified = 1;
    p->res->parts = wr.parts;
    if (wr.parts > 1)
        return record_spanning(p, &pl, &wr, err);
    return record_set(p, &pl, &wr, err);
}

/* The medium's own restorer (selfrestore.h): a warning, never a failure,
 * since the set is committed by now. */
static void
carry_tools(struct packer *p)
{
    struct cm_err err = CM_ERR_INIT;
    struct selfrestore_result sr;
    char why[1200], medium[4096];
    char *slash;

    /* A set across media: the last one is still mounted. */
    snprintf(medium, sizeof medium, "%s", p->o->medium_dir);
    if (p->res->parts > 1 && (slash = strrchr(p->res->set_dir, '/')) != NULL)
        snprintf(medium, sizeof medium, "%.*s", (int)(slash - p->res->set_dir),
                 p->res->set_dir);
    if (selfrestore_update(medium, p->o->signer, &sr, &err) == -1) {
        packobj_warn(p, SELFRESTORE_DIR, err.msg);
        return;
    }
    snprintf(why, sizeof why, "not found (looked in %s): %s", sr.looked_in,
             sr.binary == SELFRESTORE_STALE
                 ? "the medium keeps the copy it had"
                 : "this medium does not carry its own restorer");
    if (sr.binary != SELFRESTORE_CURRENT)
        packobj_warn(p, COLDMAIL_STATIC_RESTORE_NAME, why);
    snprintf(why, sizeof why, "not found (looked in %s): %s", sr.looked_in,
             sr.source == SELFRESTORE_STALE
                 ? "the medium keeps the copy it had"
                 : "this medium does not carry coldmail's source");
    if (sr.source != SELFRESTORE_CURRENT)
        packobj_warn(p, SELFRESTORE_SOURCE_NAME, why);
}

static void
note_cleaned(void *ctx, const char *name)
{
    packobj_warn(ctx, name, "removed: an incomplete set left by an "
                            "interrupted run");
}

static int
packer_init(struct packer *p, const struct pack_opts *o,
            struct pack_result *res, struct cm_err *err)
{
    memset(p, 0, sizeof *p);
    p->o = o;
    p->res = res;
    buf_init(&p->path, 8192);
    buf_init(&p->key, 16384);
    p->chunk = cm_malloc(PACKOBJ_READ_CHUNK, err);
    p->sha = EVP_MD_CTX_new();
    if (p->chunk == NULL || p->sha == NULL)
        return cm_fail(err, CM_EINTERNAL, "out of memory");
    return 0;
}

static void
packer_free(struct packer *p)
{
    setw_free(p->w);
    buf_free(&p->path);
    buf_free(&p->key);
    free(p->chunk);
    EVP_MD_CTX_free(p->sha);
    mh_sequences_free(p->mh_seq);
    free(p->mh_folder);
}

int
pack_run(const struct pack_opts *o, struct pack_result *res,
         struct cm_err *err)
{
    struct packer p;
    struct store *stores = NULL;
    struct state *st = NULL;
    struct tape *tape = NULL;
    double t0 = seconds_now();
    size_t n = 0;
    int rc = -1;

    memset(res, 0, sizeof *res);
    if (packer_init(&p, o, res, err) == -1 ||
        resolve_stores(o, &stores, &n, err) == -1)
        goto out;
    if (!o->dry_run && (check_medium(o, stores, n, err) == -1 ||
                        state_open(o->state_dir, 0, &st, err) == -1))
        goto out;
    p.state = st;
    p.counting = 1;
    if (walk_all(&p, stores, n, err) == -1)
        goto out;
    p.counting = 0;
    if (!o->dry_run &&
        setw_check_fits(o->volume_size, o->recipients->n, res->largest_path,
                        res->largest, err) == -1)
        goto out;
    if (!o->dry_run &&
        setw_clean_incomplete(o->medium_dir, note_cleaned, &p, err) == -1)
        goto out;
    if (!o->dry_run && o->tape != NULL &&
        tape_open(o->tape, o->block_size, &tape, err) == -1)
        goto out;
    if (!o->dry_run && write_set(&p, stores, n, tape, err) == -1) {
        if (err->code == CM_ENOSPC && tape == NULL && p.incremental)
            cm_err_prefix(err, "the medium is full (an incremental set "
                               "builds on this medium's sets and does not "
                               "span media: --full writes a full set, "
                               "which can)");
        else if (err->code == CM_ENOSPC && tape == NULL &&
                 o->next_medium == NULL && !o->interactive)
            cm_err_prefix(err, "the medium is full (to go on on another "
                               "medium, give --next-medium CMD, or run "
                               "at a terminal)");
        goto out;
    }
    if (!o->dry_run && tape == NULL)
        carry_tools(&p);
    rc = 0;
out:
    res->seconds = seconds_now() - t0;
    packer_free(&p);
    tape_free(tape);
    state_close(st);
    free(stores);
    return rc;
}
