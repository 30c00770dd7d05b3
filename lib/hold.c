#include "hold.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blockhash.h"
#include "enc.h"
#include "io.h"
#include "state.h"
#include "when.h"

int
hold_format(const struct hold *h, struct buf *out, struct cm_err *err)
{
    char id[33], sha[65], at[WHEN_ISO_LEN];

    manifest_set_id_hex(h->set_id, id);
    hex_encode(sha, h->manifest_sha256, 32);
    when_format_iso(at, h->held_at);
    return buf_printf(out, err,
                      "coldmail-hold 1\nset %s\nset-id %s\n"
                      "manifest-sha256 %s\nheld-at %s\nsigner-key-id %s\n"
                      "reason %s\nend\n",
                      h->set, id, sha, at, h->signer_key_id, h->reason);
}

/* The value of line "${key} VALUE\n" at *${p}, into ${out}. */
static int
take(const char **p, const char *end, const char *key, char *out, size_t outlen,
     int lineno, struct cm_err *err)
{
    size_t klen = strlen(key), vlen;
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));

    if (nl == NULL || (size_t)(nl - *p) <= klen ||
        strncmp(*p, key, klen) != 0 || (*p)[klen] != ' ')
        return cm_fail(err, CM_EFORMAT, "hold: line %d: expected \"%s\"",
                       lineno, key);
    vlen = (size_t)(nl - *p) - klen - 1;
    if (vlen == 0 || vlen >= outlen ||
        memchr(*p + klen + 1, '\0', vlen) != NULL)
        return cm_fail(err, CM_EFORMAT, "hold: line %d: bad %s", lineno, key);
    memcpy(out, *p + klen + 1, vlen);
    out[vlen] = '\0';
    *p = nl + 1;
    return 0;
}

static int
parse_values(struct hold *h, const char *id, const char *sha, const char *at,
             struct cm_err *err)
{
    char *check = NULL;
    int rc;

    if (manifest_set_id_parse(id, h->set_id, NULL) == -1)
        return cm_fail(err, CM_EFORMAT, "hold: line 3: bad set-id");
    if (hex_decode(h->manifest_sha256, 32, sha, strlen(sha), "sha", NULL) == -1)
        return cm_fail(err, CM_EFORMAT, "hold: line 4: bad manifest-sha256");
    if (when_parse(at, &h->held_at, NULL) == -1)
        return cm_fail(err, CM_EFORMAT, "hold: line 5: bad held-at");
    if (strlen(h->signer_key_id) != 16)
        return cm_fail(err, CM_EFORMAT, "hold: line 6: bad signer-key-id");
    rc = manifest_set_text(&check, h->reason, "reason", NULL);
    free(check);
    if (rc == -1 || strncmp(h->set, "coldmail-", 9) != 0 ||
        strchr(h->set, '/') != NULL)
        return cm_fail(err, CM_EFORMAT, "hold: bad set or reason");
    return 0;
}

int
hold_parse(const char *text, size_t len, struct hold *h, struct cm_err *err)
{
    const char *p = text, *end = text + len;
    char version[16], id[40], sha[72], at[40];
    struct hold tmp;

    memset(&tmp, 0, sizeof tmp);
    if (take(&p, end, "coldmail-hold", version, sizeof version, 1, err) == -1 ||
        take(&p, end, "set", tmp.set, sizeof tmp.set, 2, err) == -1 ||
        take(&p, end, "set-id", id, sizeof id, 3, err) == -1 ||
        take(&p, end, "manifest-sha256", sha, sizeof sha, 4, err) == -1 ||
        take(&p, end, "held-at", at, sizeof at, 5, err) == -1 ||
        take(&p, end, "signer-key-id", tmp.signer_key_id,
             sizeof tmp.signer_key_id, 6, err) == -1 ||
        take(&p, end, "reason", tmp.reason, sizeof tmp.reason, 7, err) == -1)
        return -1;
    if (strcmp(version, "1") != 0)
        return cm_fail(err, CM_EFORMAT, "hold: unsupported version %s",
                       version);
    if ((size_t)(end - p) != 4 || memcmp(p, "end\n", 4) != 0)
        return cm_fail(err, CM_EFORMAT, "hold: line 8: expected \"end\"");
    if (parse_values(&tmp, id, sha, at, err) == -1)
        return -1;
    *h = tmp;
    return 0;
}

static void
hold_paths(const char *medium_dir, const char *name, char *hold, char *sig,
           size_t len)
{
    snprintf(hold, len, "%s/%s%s", medium_dir, HOLD_PREFIX, name);
    snprintf(sig, len, "%s/%s%s%s", medium_dir, HOLD_PREFIX, name,
             HOLD_SIG_SUFFIX);
}

/* Read, parse and (with ${pk}) verify; 0 or -1 with ${why}. */
static int
read_hold(const char *hold_path, const char *sig_path,
          const struct minisig_pubkey *pk, struct hold *h, struct cm_err *why)
{
    struct buf text, sig;
    int rc = -1;

    buf_init(&text, HOLD_FILE_MAX);
    buf_init(&sig, MINISIG_FILE_MAX);
    if (io_read_file(hold_path, HOLD_FILE_MAX, &text, why) == -1 ||
        hold_parse((const char *)text.data, text.len, h, why) == -1)
        goto out;
    if (pk != NULL &&
        (io_read_file(sig_path, MINISIG_FILE_MAX, &sig, why) == -1 ||
         minisig_verify(pk, text.data, text.len, (const char *)sig.data,
                        sig.len, NULL, why) == -1))
        goto out;
    rc = 0;
out:
    buf_free(&text);
    buf_free(&sig);
    return rc;
}

enum hold_state
hold_check(const char *medium_dir, const char *name,
           const struct minisig_pubkey *pk, const uint8_t manifest_sha256[32],
           struct hold *h, struct cm_err *why)
{
    char path[4096], sig[4200];
    struct stat st;

    hold_paths(medium_dir, name, path, sig, sizeof path);
    if (lstat(path, &st) == -1 && errno == ENOENT)
        return HOLD_NONE;
    memset(h, 0, sizeof *h);
    if (read_hold(path, sig, pk, h, why) == -1) {
        cm_err_prefix(why, "%s", path);
        return HOLD_BAD;
    }
    if (strcmp(h->set, name) != 0 ||
        (manifest_sha256 != NULL &&
         memcmp(h->manifest_sha256, manifest_sha256, 32) != 0)) {
        cm_fail(why, CM_EFORMAT,
                "%s: names another set than %s (or its MANIFEST changed)", path,
                name);
        return HOLD_BAD;
    }
    return pk != NULL ? HOLD_VALID : HOLD_UNCHECKED;
}

/* ------------------------------------------------------------------ */
/* Placing and releasing                                               */

struct target {
    char medium[4096];
    char name[HOLD_NAME_MAX + 1];
    struct manifest m;
    uint8_t sha[32];
};

static int
split_set_dir(const char *set_dir, struct target *t, struct cm_err *err)
{
    char dir[4096];
    size_t n = strlen(set_dir);
    char *slash;

    if (n == 0 || n >= sizeof dir)
        return cm_fail(err, CM_EUSAGE, "bad set directory \"%s\"", set_dir);
    memcpy(dir, set_dir, n + 1);
    while (n > 1 && dir[n - 1] == '/')
        dir[--n] = '\0';
    slash = strrchr(dir, '/');
    snprintf(t->name, sizeof t->name, "%s", slash ? slash + 1 : dir);
    if (slash == NULL)
        snprintf(t->medium, sizeof t->medium, ".");
    else if (slash == dir)
        snprintf(t->medium, sizeof t->medium, "/");
    else
        snprintf(t->medium, sizeof t->medium, "%.*s", (int)(slash - dir), dir);
    if (strncmp(t->name, "coldmail-", 9) != 0 || strlen(t->name) < 10 ||
        strstr(t->name, ".incomplete") || strstr(t->name, ".removing"))
        return cm_fail(err, CM_EUSAGE,
                       "%s: not a set directory (coldmail-HOST-DATE-ID)",
                       set_dir);
    return 0;
}

static int
read_target(const char *set_dir, struct target *t, struct cm_err *err)
{
    char path[4200];
    struct buf text;
    int rc = -1;

    manifest_init(&t->m);
    if (split_set_dir(set_dir, t, err) == -1)
        return -1;
    snprintf(path, sizeof path, "%s/%s/MANIFEST", t->medium, t->name);
    buf_init(&text, MANIFEST_MAX);
    if (io_read_file(path, MANIFEST_MAX, &text, err) == 0 &&
        manifest_parse((const char *)text.data, text.len, path, &t->m, err) ==
            0) {
        blockhash_sha256(text.data, text.len, t->sha);
        rc = 0;
    }
    buf_free(&text);
    if (rc == -1 && err->code == CM_EIO)
        err->code = CM_EUSAGE;
    return rc;
}

static int
fill_hold(const struct hold_opts *o, const struct target *t, struct hold *h,
          struct cm_err *err)
{
    struct minisig_pubkey pk;
    char *check = NULL;
    int rc;

    if (o->reason == NULL || o->reason[0] == '\0')
        return cm_fail(err, CM_EUSAGE, "hold needs --reason TEXT");
    rc = manifest_set_text(&check, o->reason, "--reason", err);
    free(check);
    if (rc == -1)
        return -1;
    memset(h, 0, sizeof *h);
    snprintf(h->set, sizeof h->set, "%s", t->name);
    memcpy(h->set_id, t->m.set_id, sizeof h->set_id);
    memcpy(h->manifest_sha256, t->sha, 32);
    h->held_at = when_now();
    minisig_seckey_pubkey(o->signer, &pk);
    minisig_keyid_hex(pk.keyid, h->signer_key_id);
    snprintf(h->reason, sizeof h->reason, "%s", o->reason);
    return 0;
}

static int
refuse_existing(const struct hold_opts *o, const struct target *t,
                struct cm_err *err)
{
    struct cm_err why = CM_ERR_INIT;
    struct minisig_pubkey pk;
    struct hold h;

    minisig_seckey_pubkey(o->signer, &pk);
    switch (hold_check(t->medium, t->name, &pk, NULL, &h, &why)) {
    case HOLD_NONE:
        return 0;
    case HOLD_BAD:
        return cm_fail(err, CM_EUSAGE,
                       "%s is already held, by a hold file that does not "
                       "verify: %s",
                       t->name, why.msg);
    default:
        return cm_fail(err, CM_EUSAGE,
                       "%s is already held (reason: %s); release it first",
                       t->name, h.reason);
    }
}

static int
place(const struct hold_opts *o, const struct target *t,
      struct hold_result *res, struct cm_err *err)
{
    char sig_path[4200], comment[MINISIG_COMMENT_MAX + 1];
    struct buf text, sig;
    int rc = -1;

    buf_init(&text, HOLD_FILE_MAX);
    buf_init(&sig, MINISIG_FILE_MAX);
    hold_paths(t->medium, t->name, res->hold_path, sig_path,
               sizeof res->hold_path);
    if (fill_hold(o, t, &res->hold, err) == -1 ||
        refuse_existing(o, t, err) == -1)
        goto out;
    /* A signature without its hold file is what a crash leaves. */
    if (unlink(sig_path) == -1 && errno != ENOENT) {
        cm_fail_errno(err, errno, "%s: cannot remove", sig_path);
        goto out;
    }
    snprintf(comment, sizeof comment, "coldmail hold %s", t->name);
    if (hold_format(&res->hold, &text, err) == -1 ||
        minisig_sign(o->signer, text.data, text.len, "coldmail hold", comment,
                     &sig, err) == -1 ||
        io_write_file_excl(sig_path, sig.data, sig.len, 0644, err) == -1)
        goto out;
    if (io_write_file_excl(res->hold_path, text.data, text.len, 0644, err) ==
        -1) {
        unlink(sig_path);
        goto out;
    }
    rc = io_fsync_dir(t->medium, err);
out:
    buf_free(&text);
    buf_free(&sig);
    return rc;
}

static int
release(const struct hold_opts *o, const struct target *t,
        struct hold_result *res, struct cm_err *err)
{
    char sig_path[4200];
    struct minisig_pubkey pk;

    hold_paths(t->medium, t->name, res->hold_path, sig_path,
               sizeof res->hold_path);
    minisig_seckey_pubkey(o->signer, &pk);
    switch (hold_check(t->medium, t->name, &pk, t->sha, &res->hold, err)) {
    case HOLD_NONE:
        return cm_fail(err, CM_EUSAGE, "%s is not held (no %s)", t->name,
                       res->hold_path);
    case HOLD_VALID:
        break;
    default:
        return cm_err_prefix(err, "not released (if you are sure, remove the "
                                  "hold file and its .minisig by hand)");
    }
    if (unlink(res->hold_path) == -1)
        return cm_fail_errno(err, errno, "%s: cannot remove", res->hold_path);
    if (unlink(sig_path) == -1 && errno != ENOENT)
        return cm_fail_errno(err, errno, "%s: cannot remove", sig_path);
    return io_fsync_dir(t->medium, err);
}

static int
record(const struct hold_opts *o, struct state *st, struct hold_result *res,
       struct cm_err *err)
{
    char id[33];
    int found;

    if (st == NULL)
        return 0;
    manifest_set_id_hex(res->hold.set_id, id);
    if (state_set_hold(st, id, !o->release,
                       o->release ? NULL : res->hold.reason, &found, err) == -1)
        return -1;
    res->in_state = found ? 1 : -1;
    return 0;
}

int
hold_run(const struct hold_opts *o, struct hold_result *res, struct cm_err *err)
{
    struct state *st = NULL;
    struct target t;
    int rc = -1;

    memset(res, 0, sizeof *res);
    if (read_target(o->set_dir, &t, err) == -1)
        goto out;
    if (o->state_dir != NULL && state_exists(o->state_dir) &&
        state_open(o->state_dir, 0, &st, err) == -1)
        goto out;
    if ((o->release ? release(o, &t, res, err) : place(o, &t, res, err)) == -1)
        goto out;
    rc = record(o, st, res, err);
    if (rc == -1)
        cm_err_prefix(err, "%s, but the state was not updated",
                      o->release ? "released" : "held");
out:
    state_close(st);
    manifest_free(&t.m);
    return rc;
}
