#include "setw.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "blockhash.h"
#include "filecheck.h"
#include "io.h"
#include "parity.h"
#include "restoretxt.h"
#include "rnd.h"
#include "sealed.h"
#include "when.h"

#define CATALOG_NAME "catalog.jsonl.zst.age"
#define INCOMPLETE_SUFFIX ".incomplete"
/* Tar end-of-archive: two zero blocks. */
#define TAR_TRAILER 1024

struct setw {
    struct setw_opts opts;
    struct manifest m;
    char name[SETW_NAME_MAX];
    char tmp_dir[4096];
    char final_dir[4096];
    int committed;
    int dir_created;
    struct sealed_opts sopts;
    struct age_recipient *recipients; /* array copy for sealed_opts */

    struct sealed *vol;         /* current volume, or NULL */
    struct tarw *tar;
    uint32_t vol_no;            /* number of the current or last volume */
    uint64_t vol_objects;       /* objects in the current volume */

    struct sealed *catalog;
    struct buf line;
    uint64_t catalog_count;
    uint64_t written;           /* bytes of finished files */
    size_t emitted;             /* files of m handed to opts.on_file */

    /* Spanning media (the section at the end). */
    char medium[4096];          /* the current medium, when it changed */
    char spool[4096];           /* where the catalog is written */
    int own_spool;              /* spool is a private directory */
    uint64_t vol_limit;         /* the current volume ends before this */
    uint64_t part_vols;         /* volumes of the current part */
    char **part_dirs;           /* the parts committed, in order */
    size_t nparts_done;
};

static int spanning(const struct setw *w);
static int span_begin(struct setw *w, struct cm_err *err);
static int volume_room(struct setw *w, const struct tarw_entry *e,
                       struct cm_err *err);
static int span_finish_catalog(struct setw *w, struct cm_err *err);
static int span_last_part(struct setw *w, struct cm_err *err);
static void span_free(struct setw *w);

static int
make_name(struct setw *w, struct cm_err *err)
{
    char stamp[WHEN_STAMP_LEN], id[33];
    int n;

    when_format_stamp(stamp, w->opts.created);
    manifest_set_id_hex(w->m.set_id, id);
    n = snprintf(w->name, sizeof w->name, "coldmail-%s-%s-%.8s",
                 w->opts.host, stamp, id);
    if (n < 0 || (size_t)n >= sizeof w->name)
        return cm_fail(err, CM_EUSAGE, "host name too long");
    snprintf(w->final_dir, sizeof w->final_dir, "%s/%s", w->opts.medium_dir,
             w->name);
    n = snprintf(w->tmp_dir, sizeof w->tmp_dir, "%s/%s%s", w->opts.medium_dir,
                 w->name, INCOMPLETE_SUFFIX);
    if (n < 0 || (size_t)n >= sizeof w->tmp_dir)
        return cm_fail(err, CM_EUSAGE, "medium path too long");
    return 0;
}

static int
fill_manifest_head(struct setw *w, struct cm_err *err)
{
    const struct setw_opts *o = &w->opts;
    char recipient[AGEKEY_RECIPIENT_LEN];
    struct minisig_pubkey pk;

    w->m.created = o->created;
    w->m.sequence = o->sequence;
    w->m.has_previous = o->has_previous;
    memcpy(w->m.previous, o->previous, 32);
    w->m.has_previous_medium = o->has_previous_medium;
    memcpy(w->m.previous_medium, o->previous_medium, 16);
    w->m.has_medium_id = o->has_medium_id;
    memcpy(w->m.medium_id, o->medium_id, 16);
    w->m.has_base = o->incremental;
    memcpy(w->m.base, o->base, 16);
    if (manifest_set_text(&w->m.host, o->host, "host name", err) == -1 ||
        manifest_set_text(&w->m.label, o->label ? o->label : "", "--label",
                          err) == -1 ||
        manifest_set_text(&w->m.medium,
                          o->medium_label ? o->medium_label : "",
                          "medium label", err) == -1 ||
        manifest_set_text(&w->m.kind, o->incremental ? "incremental" : "full",
                          "kind", err) == -1)
        return -1;
    if (o->chain_break != NULL &&
        manifest_set_text(&w->m.chain_break, o->chain_break, "chain break",
                          err) == -1)
        return -1;
    for (size_t i = 0; i < o->recipients->n; i++) {
        if (o->recipients->r[i].kind != AGEKEY_X25519)
            return cm_fail(err, CM_EUSAGE,
                           "sets are encrypted to age1... recipients only");
        agekey_recipient_format(&o->recipients->r[i], recipient);
        if (manifest_add_recipient(&w->m, recipient, err) == -1)
            return -1;
    }
    minisig_seckey_pubkey(o->signer, &pk);
    minisig_keyid_hex(pk.keyid, w->m.signer_key_id);
    minisig_pubkey_base64(&pk, w->m.signer_public_key);
    return 0;
}

static int
open_catalog(struct setw *w, struct cm_err *err)
{
    struct catalog_header h = {1, {0}, w->m.host, w->m.created};
    struct sealed_opts copts = w->sopts;

    /* The catalog is small next to the volumes: compress it in place. */
    copts.threads = 0;
    memcpy(h.set_id, w->m.set_id, sizeof h.set_id);
    if (sealed_create(w->spool, CATALOG_NAME, &copts, &w->catalog, err) == -1)
        return -1;
    buf_reset(&w->line);
    if (catalog_header_format(&h, &w->line, err) == -1)
        return -1;
    return sealed_write(w->catalog, w->line.data, w->line.len, err);
}

int
setw_begin(const struct setw_opts *opts, struct setw **out,
           struct cm_err *err)
{
    struct setw *w = cm_calloc(1, sizeof *w, err);

    if (w == NULL)
        return -1;
    w->opts = *opts;
    manifest_init(&w->m);
    buf_init(&w->line, CATALOG_LINE_MAX);
    w->sopts.recipients = opts->recipients->r;
    w->sopts.nrecipients = opts->recipients->n;
    w->sopts.level = opts->level;
    w->sopts.threads = opts->threads;
    if (rnd_bytes(w->m.set_id, sizeof w->m.set_id, err) == -1 ||
        make_name(w, err) == -1 || fill_manifest_head(w, err) == -1)
        goto fail;
    if (mkdir(w->tmp_dir, 0755) == -1) {
        cm_fail_errno(err, errno, "%s: cannot create the set directory",
                      w->tmp_dir);
        goto fail;
    }
    w->dir_created = 1;
    if (span_begin(w, err) == -1 || open_catalog(w, err) == -1)
        goto fail;
    *out = w;
    return 0;
fail:
    setw_free(w);
    return -1;
}

const uint8_t *
setw_set_id(const struct setw *w)
{
    return w->m.set_id;
}

int
setw_add_store(struct setw *w, const char *name, const char *path,
               struct cm_err *err)
{
    return manifest_add_store(&w->m, name, path, err);
}

/*
 * Test hook: COLDMAIL_TEST_READBACK_FLIP=NAME flips a byte of file NAME
 * on the medium after it is written, as a failing medium would.
 */
static void
test_flip_hook(const char *dir, const char *name)
{
    const char *target = getenv("COLDMAIL_TEST_READBACK_FLIP");
    char path[4096];
    uint8_t c;
    int fd;

    if (target == NULL || strcmp(target, name) != 0)
        return;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd == -1)
        return;
    if (pread(fd, &c, 1, 100) == 1) {
        c ^= 0x20;
        if (pwrite(fd, &c, 1, 100) == 1)
            fsync(fd);
    }
    close(fd);
}

/* Read ${f} back from the medium and compare with what was written. */
static int
read_back(struct setw *w, const struct manifest_file *f, const uint64_t *crcs,
          struct cm_err *err)
{
    test_flip_hook(w->tmp_dir, f->name);
    if (filecheck_readback(w->tmp_dir, f->name, f->size, crcs, f->nblocks,
                           err) == -1)
        return -1;
    w->written += f->size;
    return 0;
}

/* Parity for the file just read back, the last listed (parity.h). */
static int
add_parity(struct setw *w, struct cm_err *err)
{
    size_t before = w->m.nfiles;

    if (w->opts.parity_percent == 0)
        return 0;
    if (parity_write(w->tmp_dir, &w->m, w->m.nfiles - 1,
                     w->opts.parity_percent, err) == -1)
        return -1;
    if (w->m.nfiles > before)
        w->written += w->m.files[w->m.nfiles - 1].size;
    return 0;
}

/* Hand the files finished since the last call to opts.on_file (tape). */
static int
emit_files(struct setw *w, struct cm_err *err)
{
    for (; w->emitted < w->m.nfiles; w->emitted++)
        if (w->opts.on_file != NULL &&
            w->opts.on_file(w->opts.on_file_ctx, w->tmp_dir, w->name,
                            w->m.files[w->emitted].name, err) == -1)
            return -1;
    return 0;
}

static int
finish_volume(struct setw *w, struct cm_err *err)
{
    if (w->vol == NULL)
        return 0;
    if (tarw_finish(w->tar, err) == -1 ||
        sealed_finish(w->vol, &w->m, NULL, err) == -1)
        return -1;
    tarw_free(w->tar);
    sealed_free(w->vol);
    w->tar = NULL;
    w->vol = NULL;
    w->written += w->m.files[w->m.nfiles - 1].size;
    if (add_parity(w, err) == -1)
        return -1;
    return emit_files(w, err);
}

static int
open_volume(struct setw *w, struct cm_err *err)
{
    char name[32];

    if (w->vol_no >= 9999)
        return cm_fail(err, CM_EUSAGE, "more than 9999 volumes: use a "
                                       "larger --volume-size");
    w->vol_no++;
    snprintf(name, sizeof name, "vol-%04" PRIu32 ".tar.zst.age", w->vol_no);
    if (sealed_create(w->tmp_dir, name, &w->sopts, &w->vol, err) == -1 ||
        tarw_new(sealed_write_fn, w->vol, &w->tar, err) == -1)
        return -1;
    w->vol_objects = 0;
    w->m.volumes = w->vol_no;
    w->part_vols++;
    return 0;
}

static uint64_t
object_bound(const struct tarw_entry *e)
{
    return sealed_extra_bound(tarw_entry_bound(e) + TAR_TRAILER);
}

int
setw_check_fits(uint64_t volume_size, size_t nrecipients, const char *path,
                uint64_t size, struct cm_err *err)
{
    struct tarw_entry e;
    uint64_t need;

    memset(&e, 0, sizeof e);
    e.path = path;
    e.kind = TARW_FILE;
    e.size = size;
    need = sealed_header_bound(nrecipients) + object_bound(&e);
    if (need > volume_size)
        return cm_fail(err, CM_EUSAGE,
                       "--volume-size %" PRIu64 " is too small for the "
                       "largest object, %s (%" PRIu64 " bytes), which needs "
                       "a volume of up to %" PRIu64 " bytes",
                       volume_size, path, size, need);
    return 0;
}

int
setw_object_begin(struct setw *w, const struct tarw_entry *e,
                  struct setw_place *place, struct cm_err *err)
{
    uint64_t need = object_bound(e);

    if (setw_check_fits(w->opts.volume_size, w->opts.recipients->n, e->path,
                        e->size, err) == -1)
        return -1;
    if (w->vol != NULL && w->vol_objects > 0 &&
        sealed_size_bound(w->vol) + need > w->vol_limit &&
        finish_volume(w, err) == -1)
        return -1;
    if (w->vol == NULL &&
        (volume_room(w, e, err) == -1 || open_volume(w, err) == -1))
        return -1;
    if (tarw_begin(w->tar, e, &place->tar_off, &place->data_off, err) == -1)
        return -1;
    place->vol = w->vol_no;
    w->vol_objects++;
    return 0;
}

int
setw_object_data(struct setw *w, const void *p, size_t len,
                 struct cm_err *err)
{
    return tarw_data(w->tar, p, len, err);
}

int
setw_object_end(struct setw *w, struct cm_err *err)
{
    return tarw_end(w->tar, err);
}

int
setw_catalog_add(struct setw *w, struct catalog_entry *e, struct cm_err *err)
{
    static const uint8_t none[CATALOG_SET_ID_SIZE];

    /* A line carried over from an earlier set keeps pointing there. */
    if (memcmp(e->set_id, none, sizeof none) == 0)
        memcpy(e->set_id, w->m.set_id, sizeof e->set_id);
    buf_reset(&w->line);
    if (catalog_entry_format(e, &w->line, err) == -1 ||
        sealed_write(w->catalog, w->line.data, w->line.len, err) == -1)
        return -1;
    w->catalog_count++;
    if (e->kind == CATALOG_MESSAGE)
        w->m.messages++;
    if (!e->in_mbox)
        w->m.objects++;
    return 0;
}

const struct manifest *
setw_manifest(const struct setw *w)
{
    return &w->m;
}

int
setw_catalog_add_line(struct setw *w, const char *line, size_t len,
                      int message, int in_mbox, struct cm_err *err)
{
    buf_reset(&w->line);
    if (buf_append(&w->line, line, len, "catalog line", err) == -1 ||
        buf_append_byte(&w->line, '\n', "catalog line", err) == -1 ||
        sealed_write(w->catalog, w->line.data, w->line.len, err) == -1)
        return -1;
    w->catalog_count++;
    w->m.messages += message != 0;
    w->m.objects += in_mbox == 0;
    return 0;
}

const char *
setw_last_line(const struct setw *w, size_t *len)
{
    *len = w->line.len ? w->line.len - 1 : 0;
    return (const char *)w->line.data;
}

void
setw_count_bytes_in(struct setw *w, uint64_t n)
{
    w->m.bytes_in += n;
}

uint64_t
setw_bytes_written(const struct setw *w)
{
    return w->written + (w->vol ? sealed_bytes_in(w->vol) : 0);
}

static int
finish_catalog(struct setw *w, struct cm_err *err)
{
    buf_reset(&w->line);
    if (catalog_trailer_format(w->catalog_count, &w->line, err) == -1 ||
        sealed_write(w->catalog, w->line.data, w->line.len, err) == -1)
        return -1;
    if (spanning(w))
        return span_finish_catalog(w, err);
    if (sealed_finish(w->catalog, &w->m, NULL, err) == -1)
        return -1;
    sealed_free(w->catalog);
    w->catalog = NULL;
    w->written += w->m.files[w->m.nfiles - 1].size;
    if (add_parity(w, err) == -1)
        return -1;
    return emit_files(w, err);
}

/* Write ${len} bytes as ${name} in the set and list it in MANIFEST. */
static int
write_listed_file(struct setw *w, const char *name, const void *p,
                  size_t len, struct cm_err *err)
{
    struct blockhash *h = NULL;
    struct manifest_file *f;
    const uint8_t(*blocks)[32];
    uint64_t n;
    char path[4096];
    int rc = -1;

    snprintf(path, sizeof path, "%s/%s", w->tmp_dir, name);
    if (io_write_file_excl(path, p, len, 0644, err) == -1 ||
        blockhash_new(MANIFEST_BLOCK_SIZE, &h, err) == -1 ||
        blockhash_update(h, p, len, err) == -1 ||
        (f = manifest_add_file(&w->m, name, len, err)) == NULL ||
        blockhash_final(h, f->sha256, err) == -1)
        goto out;
    blocks = blockhash_blocks(h, &n);
    memcpy(f->blocks, blocks, n * 32);
    rc = read_back(w, f, blockhash_crcs(h, &n), err);
out:
    blockhash_free(h);
    return rc;
}

static int
write_restore_txt(struct setw *w, struct cm_err *err)
{
    struct buf text;
    int rc = -1;

    buf_init(&text, 1 << 20);
    if (restoretxt_format(&w->m, w->name, &text, err) == 0)
        rc = write_listed_file(w, "RESTORE.txt", text.data, text.len, err);
    buf_free(&text);
    return rc == -1 ? -1 : emit_files(w, err);
}

/* MANIFEST.minisig first: a MANIFEST without its signature never exists. */
static int
write_manifest(struct setw *w, struct setw_result *res, struct cm_err *err)
{
    char comment[MINISIG_COMMENT_MAX + 1], path[4096];
    struct buf text, sig, back;
    int rc = -1;

    buf_init(&text, MANIFEST_MAX);
    buf_init(&sig, MINISIG_FILE_MAX);
    buf_init(&back, MANIFEST_MAX);
    manifest_trusted_comment(&w->m, comment, sizeof comment);
    if (manifest_format(&w->m, &text, err) == -1 ||
        minisig_sign(w->opts.signer, text.data, text.len,
                     "coldmail set MANIFEST signature", comment, &sig,
                     err) == -1)
        goto out;
    snprintf(path, sizeof path, "%s/MANIFEST.minisig", w->tmp_dir);
    if (io_write_file_excl(path, sig.data, sig.len, 0644, err) == -1)
        goto out;
    snprintf(path, sizeof path, "%s/MANIFEST", w->tmp_dir);
    if (io_write_file_excl(path, text.data, text.len, 0644, err) == -1)
        goto out;
    /* Read it back: what the medium returns is what verify will see. */
    if (io_read_file(path, MANIFEST_MAX, &back, err) == -1)
        goto out;
    if (back.len != text.len || memcmp(back.data, text.data, text.len) != 0) {
        cm_fail(err, CM_EIO, "%s: read-back does not match what was written",
                path);
        goto out;
    }
    blockhash_sha256(text.data, text.len, res->manifest_sha256);
    w->written += text.len + sig.len;
    rc = 0;
out:
    buf_free(&text);
    buf_free(&sig);
    buf_free(&back);
    return rc;
}

int
setw_commit(struct setw *w, struct setw_result *res, struct cm_err *err)
{
    memset(res, 0, sizeof *res);
    if (finish_volume(w, err) == -1 || finish_catalog(w, err) == -1 ||
        span_last_part(w, err) == -1 || write_restore_txt(w, err) == -1 ||
        write_manifest(w, res, err) == -1)
        return -1;
    if (w->opts.on_file != NULL &&
        (w->opts.on_file(w->opts.on_file_ctx, w->tmp_dir, w->name,
                         "MANIFEST.minisig", err) == -1 ||
         w->opts.on_file(w->opts.on_file_ctx, w->tmp_dir, w->name, "MANIFEST",
                         err) == -1))
        return -1;
    if (io_fsync_dir(w->tmp_dir, err) == -1 ||
        io_rename(w->tmp_dir, w->final_dir, err) == -1)
        return -1;
    if (io_fsync_dir(w->opts.medium_dir, err) == -1) {
        /* Not durable: take it back rather than leave a set that may
         * vanish at the next power cut after the state recorded it. */
        if (rename(w->final_dir, w->tmp_dir) == -1)
            w->committed = 1;
        return -1;
    }
    w->committed = 1;
    snprintf(res->set_dir, sizeof res->set_dir, "%s", w->final_dir);
    snprintf(res->set_name, sizeof res->set_name, "%s", w->name);
    res->volumes = w->m.volumes;
    res->bytes_written = w->written;
    res->parts = w->m.part > 0 ? w->m.part : 1;
    return 0;
}

/* Remove a directory holding only regular files (a set's), then itself. */
static int
remove_set_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int rc = 0;

    if (d == NULL)
        return errno == ENOENT ? 0 : -1;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (unlinkat(dirfd(d), de->d_name, 0) == -1)
            rc = -1;
    }
    closedir(d);
    if (rmdir(dir) == -1)
        rc = -1;
    return rc;
}

void
setw_free(struct setw *w)
{
    if (w == NULL)
        return;
    tarw_free(w->tar);
    sealed_free(w->vol);
    sealed_free(w->catalog);
    if (w->dir_created && !w->committed)
        remove_set_dir(w->tmp_dir);
    span_free(w);
    buf_free(&w->line);
    manifest_free(&w->m);
    free(w);
}

static int
is_incomplete_set_name(const char *name)
{
    size_t n = strlen(name), s = strlen(INCOMPLETE_SUFFIX);

    return strncmp(name, "coldmail-", 9) == 0 && n > s &&
           strcmp(name + n - s, INCOMPLETE_SUFFIX) == 0 &&
           strchr(name, '/') == NULL;
}

int
setw_clean_incomplete(const char *medium_dir,
                      void (*note)(void *ctx, const char *name), void *ctx,
                      struct cm_err *err)
{
    DIR *d = opendir(medium_dir);
    struct dirent *de;
    char path[4096];

    if (d == NULL)
        return cm_fail_errno(err, errno, "%s: cannot list", medium_dir);
    while ((de = readdir(d)) != NULL) {
        struct stat st;
        if (!is_incomplete_set_name(de->d_name))
            continue;
        snprintf(path, sizeof path, "%s/%s", medium_dir, de->d_name);
        if (lstat(path, &st) == -1 || !S_ISDIR(st.st_mode))
            continue;
        if (remove_set_dir(path) == 0 && note != NULL)
            note(ctx, de->d_name);
    }
    closedir(d);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Spanning media                                                      */

/* Room kept free on a medium besides the volume: MANIFEST (which grows
 * with the set), RESTORE.txt, and the file system's own overhead. */
#define SPAN_SLACK (1u << 20)
#define SPAN_SMALL_FILES (64u << 10)

static int
spanning(const struct setw *w)
{
    return w->opts.next_medium != NULL;
}

static int
span_begin(struct setw *w, struct cm_err *err)
{
    int n;

    w->vol_limit = w->opts.volume_size;
    snprintf(w->spool, sizeof w->spool, "%s", w->tmp_dir);
    if (!spanning(w))
        return 0;
    n = snprintf(w->spool, sizeof w->spool, "%s/coldmail-spool.XXXXXX",
                 w->opts.spool_dir != NULL ? w->opts.spool_dir : "/var/tmp");
    if (n < 0 || (size_t)n >= sizeof w->spool)
        return cm_fail(err, CM_EUSAGE, "--spool-dir: path too long");
    if (mkdtemp(w->spool) == NULL)
        return cm_fail_errno(err, errno, "%s: cannot make a spool directory",
                             w->opts.spool_dir);
    w->own_spool = 1;
    return 0;
}

static void
span_free(struct setw *w)
{
    char path[4200];

    if (w->own_spool) {
        snprintf(path, sizeof path, "%s/%s", w->spool, CATALOG_NAME);
        unlink(path);
        rmdir(w->spool);
    }
    for (size_t i = 0; i < w->nparts_done; i++)
        free(w->part_dirs[i]);
    free(w->part_dirs);
}

const char *
setw_part_dir(const struct setw *w, uint32_t part)
{
    if (part >= 1 && part <= w->nparts_done)
        return w->part_dirs[part - 1];
    if (w->committed && part == (w->m.part > 0 ? w->m.part : 1))
        return w->final_dir;
    return NULL;
}

/* Bytes of the regular files under ${dir} (the test hook's "used"). */
static uint64_t
used_bytes(const char *dir, int depth)
{
    DIR *d = depth < 16 ? opendir(dir) : NULL;
    struct dirent *de;
    char path[4200];
    struct stat st;
    uint64_t sum = 0;

    if (d == NULL)
        return 0;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (lstat(path, &st) == -1)
            continue;
        if (S_ISREG(st.st_mode))
            sum += (uint64_t)st.st_size;
        else if (S_ISDIR(st.st_mode))
            sum += used_bytes(path, depth + 1);
    }
    closedir(d);
    return sum;
}

static uint64_t
medium_free(const char *dir)
{
    const char *cap = getenv("COLDMAIL_TEST_MEDIUM_SIZE");
    struct statvfs v;

    if (cap != NULL) {
        uint64_t size = strtoull(cap, NULL, 10), used = used_bytes(dir, 0);
        return size > used ? size - used : 0;
    }
    if (statvfs(dir, &v) == -1)
        return UINT64_MAX; /* unknown: the writes will tell */
    return (uint64_t)v.f_bavail * v.f_frsize;
}

/* What the medium can still take for this set's next files. */
static uint64_t
usable(const struct setw *w)
{
    uint64_t free_now = medium_free(w->opts.medium_dir);
    uint64_t keep = SPAN_SLACK + SPAN_SMALL_FILES + free_now / 100;

    /* MANIFEST lists every block of the set so far, 72 bytes each. */
    for (size_t i = 0; i < w->m.nfiles; i++)
        keep += 100 + w->m.files[i].nblocks * 72;
    return free_now > keep ? free_now - keep : 0;
}

/* A file of ${size} bytes with its parity file, and a margin. */
static uint64_t
with_parity(const struct setw *w, uint64_t size)
{
    struct parity_layout l;

    if (w->opts.parity_percent == 0 || size == 0 ||
        parity_layout_choose(size, w->opts.parity_percent, &l, NULL) == -1)
        return size;
    return size + parity_file_size(&l) + size / 100 + SPAN_SMALL_FILES;
}

/* The largest volume (up to --volume-size) that fits in ${room}. */
static uint64_t
largest_volume(const struct setw *w, uint64_t room)
{
    uint64_t lo = 0,
             hi = w->opts.volume_size < room ? w->opts.volume_size : room;

    while (lo < hi) {
        uint64_t mid = lo + (hi - lo + 1) / 2;
        if (with_parity(w, mid) <= room)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

static int
record_part_dir(struct setw *w, struct cm_err *err)
{
    char **grown = realloc(w->part_dirs, (w->nparts_done + 1) * sizeof *grown);

    if (grown == NULL)
        return cm_fail(err, CM_EINTERNAL, "out of memory");
    w->part_dirs = grown;
    if ((grown[w->nparts_done] = cm_strdup(w->final_dir, err)) == NULL)
        return -1;
    w->nparts_done++;
    return 0;
}

/* The current part, signed and renamed into place on its medium. */
static int
commit_part(struct setw *w, struct cm_err *err)
{
    struct setw_result scratch;

    if (w->m.part == 0) {
        w->m.part = 1;
        if (manifest_add_part(&w->m, w->m.medium_id, 0, w->m.medium, err) == -1)
            return cm_err_prefix(err, "%s: spanning needs labelled media",
                                 w->opts.medium_dir);
    }
    w->m.parts[w->m.part - 1].volumes = w->part_vols;
    memset(&scratch, 0, sizeof scratch);
    if (write_manifest(w, &scratch, err) == -1 ||
        io_fsync_dir(w->tmp_dir, err) == -1 ||
        io_rename(w->tmp_dir, w->final_dir, err) == -1)
        return -1;
    w->dir_created = 0;
    if (record_part_dir(w, err) == -1)
        return -1;
    return io_fsync_dir(w->opts.medium_dir, err);
}

/* No next medium: the parts committed stay, without a catalog. */
static int
incomplete(struct setw *w, struct cm_err *err)
{
    struct cm_err why = *err;
    char parts[256] = "";

    for (size_t i = 0; i < w->nparts_done && strlen(parts) < 200; i++) {
        const char *slash = strrchr(w->part_dirs[i], '/');
        size_t len = slash ? (size_t)(slash - w->part_dirs[i]) : 0;
        snprintf(parts + strlen(parts), sizeof parts - strlen(parts), "%s%.*s",
                 i ? ", " : "", (int)(len < 60 ? len : 60), w->part_dirs[i]);
    }
    cm_err_clear(err);
    return cm_fail(err, CM_ENOSPC,
                   "the medium is full and no next medium came (%s): the "
                   "set %s is INCOMPLETE: its parts 1-%zu are committed on "
                   "%s, but hold no catalog, so no restore can use them; "
                   "remove them, or keep them as they are",
                   why.msg, w->name, w->nparts_done, parts);
}

static int
switch_medium(struct setw *w, const struct setw_medium *next,
              struct cm_err *err)
{
    snprintf(w->medium, sizeof w->medium, "%s", next->dir);
    w->opts.medium_dir = w->medium;
    memcpy(w->m.medium_id, next->id, 16);
    w->m.has_medium_id = 1;
    if (manifest_set_text(&w->m.medium, next->label, "medium label", err) ==
            -1 ||
        manifest_add_part(&w->m, next->id, 0, next->label, err) == -1)
        return -1;
    w->m.part++;
    w->part_vols = 0;
    if (make_name(w, err) == -1)
        return -1;
    if (mkdir(w->tmp_dir, 0755) == -1)
        return cm_fail_errno(err, errno, "%s: cannot create the set directory",
                             w->tmp_dir);
    w->dir_created = 1;
    return 0;
}

/* The medium is full: commit the part on it, and go on on the next one. */
static int
next_part(struct setw *w, struct cm_err *err)
{
    struct setw_medium next;
    struct setw_part done;

    if (commit_part(w, err) == -1)
        return -1;
    done.part = w->m.part;
    done.set_dir = w->final_dir;
    done.medium_dir = w->opts.medium_dir;
    done.label = w->m.medium;
    done.m = &w->m;
    memset(&next, 0, sizeof next);
    if (w->opts.next_medium(w->opts.next_medium_ctx, &done, &next, err) == -1)
        return incomplete(w, err);
    return switch_medium(w, &next, err);
}

/*
 * Before a volume: how large it may grow here (w->vol_limit), going on to
 * the next medium first if not even ${e} fits on this one.
 */
static int
volume_room(struct setw *w, const struct tarw_entry *e, struct cm_err *err)
{
    uint64_t need =
        sealed_header_bound(w->opts.recipients->n) + object_bound(e);

    w->vol_limit = w->opts.volume_size;
    if (!spanning(w) && getenv("COLDMAIL_TEST_MEDIUM_SIZE") == NULL)
        return 0;
    for (;;) {
        uint64_t room = usable(w), limit = largest_volume(w, room);
        if (limit >= need) {
            w->vol_limit = limit;
            return 0;
        }
        if (w->part_vols == 0 || !spanning(w))
            return cm_fail(err, CM_ENOSPC,
                           "%s: the medium has room for %llu bytes of the "
                           "set, and the next volume needs up to %llu with "
                           "its parity",
                           w->opts.medium_dir, (unsigned long long)room,
                           (unsigned long long)with_parity(w, need));
        if (next_part(w, err) == -1)
            return -1;
    }
}

/* Copy the finished catalog from the spool into the set directory. */
static int
copy_catalog(struct setw *w, uint64_t size, struct cm_err *err)
{
    char from[4200], to[4200];
    uint8_t *chunk = NULL;
    int in = -1, out = -1, rc = -1;
    uint64_t left = size;

    snprintf(from, sizeof from, "%s/%s", w->spool, CATALOG_NAME);
    snprintf(to, sizeof to, "%s/%s", w->tmp_dir, CATALOG_NAME);
    if ((chunk = cm_malloc(1u << 20, err)) == NULL ||
        (in = io_open(from, O_RDONLY | O_NOFOLLOW, 0, err)) == -1 ||
        (out = io_open(to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0644,
                       err)) == -1)
        goto out;
    while (left > 0) {
        size_t want = left < (1u << 20) ? (size_t)left : (1u << 20);
        ssize_t n = io_read_full(in, chunk, want, from, err);
        if (n < 0)
            goto out;
        if ((size_t)n != want) {
            cm_fail(err, CM_EIO, "%s: shrank while copied", from);
            goto out;
        }
        if (io_write_all(out, chunk, want, to, err) == -1)
            goto out;
        left -= want;
    }
    if (io_fsync(out, to, err) == -1)
        goto out;
    rc = io_close(out, to, err);
    out = -1;
out:
    if (out != -1)
        close(out);
    if (in != -1)
        close(in);
    free(chunk);
    return rc;
}

/*
 * The catalog is finished in the spool; it goes on the last part, so on a
 * medium with room for it (and what follows it): a part of its own if
 * need be.
 */
static int
span_finish_catalog(struct setw *w, struct cm_err *err)
{
    struct manifest scratch;
    struct manifest_file *f;
    uint64_t *crcs = NULL;
    int rc = -1;

    manifest_init(&scratch);
    if (sealed_finish(w->catalog, &scratch, &crcs, err) == -1)
        goto out;
    sealed_free(w->catalog);
    w->catalog = NULL;
    if (usable(w) < with_parity(w, scratch.files[0].size) &&
        next_part(w, err) == -1)
        goto out;
    if (usable(w) < with_parity(w, scratch.files[0].size)) {
        cm_fail(err, CM_ENOSPC, "%s: no room for the catalog (%llu bytes)",
                w->opts.medium_dir, (unsigned long long)scratch.files[0].size);
        goto out;
    }
    if (copy_catalog(w, scratch.files[0].size, err) == -1 ||
        filecheck_readback(w->tmp_dir, CATALOG_NAME, scratch.files[0].size,
                           crcs, scratch.files[0].nblocks, err) == -1 ||
        (f = manifest_add_file(&w->m, CATALOG_NAME, scratch.files[0].size,
                               err)) == NULL)
        goto out;
    memcpy(f->sha256, scratch.files[0].sha256, 32);
    memcpy(f->blocks, scratch.files[0].blocks, f->nblocks * 32);
    w->written += f->size;
    rc = add_parity(w, err) == -1 ? -1 : emit_files(w, err);
out:
    free(crcs);
    manifest_free(&scratch);
    return rc;
}

/* The last part of a set that spanned media says so. */
static int
span_last_part(struct setw *w, struct cm_err *err)
{
    (void)err;
    if (w->m.part == 0)
        return 0;
    w->m.parts[w->m.part - 1].volumes = w->part_vols;
    w->m.last_part = 1;
    return 0;
}
