#include "verify.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blockhash.h"
#include "enc.h"
#include "filecheck.h"
#include "filescan.h"
#include "io.h"
#include "parity.h"
#include "setr.h"
#include "verify_internal.h"
#include "when.h"

#define CATALOG_NAME "catalog.jsonl.zst.age"
#define INCOMPLETE_SUFFIX ".incomplete"

/* A set to check, as found. */
struct target {
    char *dir;
    char *name;  /* last component */
    char *where; /* the directory holding it */
};

struct run {
    const struct verify_opts *o;
    struct verify_result *r;
    uint64_t total; /* bytes the progress display expects */
    struct target *targets;
    size_t ntargets;
    struct verify_peer *peers;
    const char **dirs; /* the targets' directories, NULL-terminated */
};

/* ------------------------------------------------------------------ */
/* Findings                                                            */

static int
code_rank(enum cm_code c)
{
    switch (c) {
    case CM_OK:
        return 0;
    case CM_DAMAGED:
        return 1;
    case CM_EFORMAT:
        return 3;
    case CM_EAUTH:
        return 4;
    default:
        return 2;
    }
}

enum cm_code
verify_worse(enum cm_code a, enum cm_code b)
{
    return code_rank(b) > code_rank(a) ? b : a;
}

static int
copy_str(char **to, const char *from, struct cm_err *err)
{
    *to = NULL;
    return from == NULL || (*to = cm_strdup(from, err)) != NULL ? 0 : -1;
}

static void
finding_free(struct verify_finding *f)
{
    free(f->file);
    free(f->path);
    free(f->message_id);
    free(f->text);
}

int
verify_add(struct verify_set *vs, const struct verify_finding *proto,
           struct cm_err *err, const char *fmt, ...)
{
    struct verify_finding *f, *grown;
    char text[2048];
    va_list ap;

    vs->code = verify_worse(vs->code, proto->code);
    if (vs->nfindings >= VERIFY_FINDINGS_MAX) {
        vs->omitted++;
        return 0;
    }
    grown = realloc(vs->findings, (vs->nfindings + 1) * sizeof *grown);
    if (grown == NULL)
        return cm_fail(err, CM_EINTERNAL, "out of memory");
    vs->findings = grown;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    f = &grown[vs->nfindings];
    *f = *proto;
    f->file = f->path = f->message_id = f->text = NULL;
    if (copy_str(&f->file, proto->file, err) == -1 ||
        copy_str(&f->path, proto->path, err) == -1 ||
        copy_str(&f->message_id, proto->message_id, err) == -1 ||
        copy_str(&f->text, text, err) == -1) {
        finding_free(f);
        return -1;
    }
    vs->nfindings++;
    return 0;
}

/* A finding about ${file} of the set, with no more detail than its text. */
static int add_simple(struct verify_set *vs, enum verify_what what,
                      enum cm_code code, const char *file, struct cm_err *err,
                      const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static int
add_simple(struct verify_set *vs, enum verify_what what, enum cm_code code,
           const char *file, struct cm_err *err, const char *fmt, ...)
{
    struct verify_finding proto;
    char text[2048];
    va_list ap;

    memset(&proto, 0, sizeof proto);
    proto.what = what;
    proto.code = code;
    proto.file = (char *)file;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    return verify_add(vs, &proto, err, "%s", text);
}

const char *
verify_strip_dir(const struct cm_err *e, const char *dir)
{
    size_t n = strlen(dir);

    if (strncmp(e->msg, dir, n) == 0 && e->msg[n] == '/')
        return e->msg + n + 1;
    return e->msg;
}

/* ------------------------------------------------------------------ */
/* Opening a set, and finding out why it does not open                 */

/* Read ${dir}/${name} if it is a regular file of at most ${max} bytes. */
static int
read_member(const char *dir, const char *name, size_t max, struct buf *out,
            struct cm_err *err)
{
    char path[4200];
    struct stat st;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (lstat(path, &st) == -1)
        return cm_fail_errno(err, errno, "%s", name);
    if (!S_ISREG(st.st_mode))
        return cm_fail(err, CM_EFORMAT, "%s: not a regular file", name);
    return io_read_file(path, max, out, err);
}

/* The signer key a MANIFEST names, found even if it does not parse. */
static int
scan_own_key(const struct buf *text, struct minisig_pubkey *pk)
{
    static const char key[] = "\nsigner-public-key ";
    const char *p =
        text->data ? memmem(text->data, text->len, key, sizeof key - 1) : NULL;
    const char *end, *stop = (const char *)text->data + text->len;
    struct cm_err ignored = CM_ERR_INIT;

    if (p == NULL)
        return -1;
    p += sizeof key - 1;
    end = memchr(p, '\n', (size_t)(stop - p));
    if (end == NULL || end - p > 200)
        return -1;
    return minisig_pubkey_parse(p, (size_t)(end - p), pk, &ignored);
}

static int
signature_finding(struct verify_set *vs, const struct buf *sig,
                  const struct cm_err *why, const struct verify_opts *o,
                  struct cm_err *err)
{
    uint8_t id[MINISIG_KEYID_SIZE];
    char have[MINISIG_KEYID_HEX_LEN], want[MINISIG_KEYID_HEX_LEN];
    struct cm_err ignored = CM_ERR_INIT;

    if (why->code == CM_ENOKEY && o->trusted != NULL &&
        minisig_sig_keyid((const char *)sig->data, sig->len, id, &ignored) ==
            0) {
        minisig_keyid_hex(id, have);
        minisig_keyid_hex(o->trusted->keyid, want);
        return add_simple(vs, VERIFY_SIGNATURE, CM_EAUTH, "MANIFEST.minisig",
                          err,
                          "MANIFEST.minisig: signed by key %s, not by the "
                          "trusted key %s",
                          have, want);
    }
    if (why->code == CM_ENOKEY)
        return add_simple(vs, VERIFY_SIGNATURE, CM_EAUTH, "MANIFEST.minisig",
                          err,
                          "MANIFEST.minisig: made with another key than "
                          "the signer-public-key in MANIFEST");
    if (why->code == CM_EAUTH)
        return add_simple(vs, VERIFY_SIGNATURE, CM_EAUTH, "MANIFEST.minisig",
                          err,
                          "MANIFEST.minisig: signature does not verify "
                          "(MANIFEST or its signature was changed)");
    return add_simple(vs, VERIFY_SIGNATURE, CM_EAUTH, "MANIFEST.minisig", err,
                      "MANIFEST.minisig: %s", why->msg);
}

/* Check the signature over ${text}; 1 if it holds, 0 if not (noted). */
static int
check_sig(struct verify_set *vs, const struct buf *text, const struct buf *sig,
          const struct manifest *m, const struct verify_opts *o,
          struct cm_err *err)
{
    char comment[MINISIG_COMMENT_MAX + 1], want[MINISIG_COMMENT_MAX + 1];
    struct cm_err why = CM_ERR_INIT;
    struct minisig_pubkey own;
    const struct minisig_pubkey *pk = o->trusted;

    if (pk == NULL && scan_own_key(text, &own) == 0)
        pk = &own;
    if (pk == NULL)
        return add_simple(vs, VERIFY_SIGNATURE, CM_EAUTH, "MANIFEST.minisig",
                          err,
                          "MANIFEST.minisig: not checked: MANIFEST names no "
                          "readable signer key, and no trusted key was "
                          "given") == -1
                   ? -1
                   : 0;
    if (minisig_verify(pk, text->data, text->len, (const char *)sig->data,
                       sig->len, comment, &why) == -1)
        return signature_finding(vs, sig, &why, o, err) == -1 ? -1 : 0;
    if (m == NULL)
        return 1;
    manifest_trusted_comment(m, want, sizeof want);
    if (strcmp(comment, want) == 0)
        return 1;
    return add_simple(vs, VERIFY_SIGNATURE, CM_EAUTH, "MANIFEST.minisig", err,
                      "MANIFEST.minisig: its trusted comment \"%s\" does not "
                      "describe this MANIFEST (a signature from another "
                      "set?)",
                      comment) == -1
               ? -1
               : 0;
}

static int
manifest_unreadable(struct verify_set *vs, const struct cm_err *why,
                    const char *dir, struct cm_err *err)
{
    if (why->sys_errno == ENOENT)
        return add_simple(vs, VERIFY_MANIFEST, CM_DAMAGED, "MANIFEST", err,
                          "MANIFEST: missing: nothing in this set can be "
                          "checked");
    return add_simple(vs, VERIFY_MANIFEST, CM_DAMAGED, "MANIFEST", err, "%s",
                      verify_strip_dir(why, dir));
}

/*
 * setr_open refused the set: say exactly why, and parse MANIFEST on its
 * own if it parses, so that damage elsewhere can still be located.
 */
static int
diagnose(const char *dir, const struct verify_opts *o, const struct cm_err *why,
         struct verify_set *vs, struct manifest *own, struct cm_err *err)
{
    struct cm_err rerr = CM_ERR_INIT, perr = CM_ERR_INIT;
    struct buf text, sig;
    size_t before = vs->nfindings + (size_t)vs->omitted;
    int parsed = 0, sig_ok = 0, rc = -1;

    buf_init(&text, MANIFEST_MAX);
    buf_init(&sig, MINISIG_FILE_MAX);
    if (read_member(dir, "MANIFEST", MANIFEST_MAX, &text, &rerr) == -1) {
        rc = manifest_unreadable(vs, &rerr, dir, err);
        goto out;
    }
    parsed = manifest_parse((const char *)text.data, text.len, "MANIFEST", own,
                            &perr) == 0;
    cm_err_clear(&rerr);
    if (read_member(dir, "MANIFEST.minisig", MINISIG_FILE_MAX, &sig, &rerr) ==
        -1) {
        if (add_simple(vs, VERIFY_SIGNATURE, CM_EAUTH, "MANIFEST.minisig", err,
                       "%s%s", verify_strip_dir(&rerr, dir),
                       rerr.sys_errno == ENOENT
                           ? ": the set cannot be authenticated"
                           : "") == -1)
            goto out;
    } else if ((sig_ok = check_sig(vs, &text, &sig, parsed ? own : NULL, o,
                                   err)) == -1)
        goto out;
    if (!parsed &&
        add_simple(vs, VERIFY_MANIFEST, sig_ok ? CM_EFORMAT : CM_DAMAGED,
                   "MANIFEST", err, "%s", perr.msg) == -1)
        goto out;
    if (vs->nfindings + (size_t)vs->omitted == before &&
        add_simple(vs, VERIFY_MANIFEST, verify_worse(CM_DAMAGED, why->code),
                   "MANIFEST", err, "%s", verify_strip_dir(why, dir)) == -1)
        goto out;
    if (parsed) {
        vs->m = own;
        blockhash_sha256(text.data, text.len, vs->manifest_sha256);
        if (sig_ok)
            vs->sig = o->trusted ? VERIFY_SIG_TRUSTED : VERIFY_SIG_OWN_KEY;
        else if (add_simple(vs, VERIFY_MANIFEST, CM_DAMAGED, "MANIFEST", err,
                            "MANIFEST: not authentic; the files are checked "
                            "against it as it stands") == -1)
            goto out;
    }
    rc = 0;
out:
    buf_free(&text);
    buf_free(&sig);
    return rc;
}

static int
is_regular(const char *dir, const char *name)
{
    char path[4200];
    struct stat st;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int
open_set(const char *dir, const struct verify_opts *o, struct verify_set *vs,
         struct setr **out, struct manifest *own, struct cm_err *err)
{
    struct setr_opts so;
    struct cm_err why = CM_ERR_INIT;

    so.trusted = o->trusted;
    so.ids = o->deep ? o->ids : NULL;
    *out = NULL;
    /* Opening a FIFO would wait forever: only regular files are read. */
    if (!is_regular(dir, "MANIFEST") || !is_regular(dir, "MANIFEST.minisig"))
        cm_fail(&why, CM_EFORMAT,
                "MANIFEST or its signature is not a regular file");
    else if (setr_open(dir, &so, out, &why) == 0) {
        vs->m = setr_manifest(*out);
        vs->sig = setr_trusted(*out) ? VERIFY_SIG_TRUSTED : VERIFY_SIG_OWN_KEY;
        memcpy(vs->manifest_sha256, setr_manifest_sha256(*out), 32);
        return 0;
    }
    *out = NULL;
    if (why.code == CM_EINTERNAL) {
        *err = why;
        return -1;
    }
    vs->sig = VERIFY_SIG_FAILED;
    return diagnose(dir, o, &why, vs, own, err);
}

/* ------------------------------------------------------------------ */
/* MANIFEST's own consistency                                          */

static int
check_signer(struct verify_set *vs, const struct verify_opts *o,
             struct cm_err *err)
{
    const struct manifest *m = vs->m;
    struct cm_err ignored = CM_ERR_INIT;
    struct minisig_pubkey pk;
    char id[MINISIG_KEYID_HEX_LEN];

    if (minisig_pubkey_parse(m->signer_public_key, strlen(m->signer_public_key),
                             &pk, &ignored) == -1)
        return add_simple(vs, VERIFY_MANIFEST, CM_EFORMAT, "MANIFEST", err,
                          "MANIFEST: signer-public-key is malformed");
    minisig_keyid_hex(pk.keyid, id);
    if (strcmp(id, m->signer_key_id) != 0 &&
        add_simple(vs, VERIFY_MANIFEST, CM_EFORMAT, "MANIFEST", err,
                   "MANIFEST: signer-key-id %s is not the id of "
                   "signer-public-key (%s)",
                   m->signer_key_id, id) == -1)
        return -1;
    if (vs->sig == VERIFY_SIG_TRUSTED &&
        (memcmp(pk.keyid, o->trusted->keyid, sizeof pk.keyid) != 0 ||
         memcmp(pk.key, o->trusted->key, sizeof pk.key) != 0))
        return add_simple(vs, VERIFY_MANIFEST, CM_EFORMAT, "MANIFEST", err,
                          "MANIFEST: signed with the trusted key, but its "
                          "signer-public-key is another key (%s)",
                          id);
    return 0;
}

/* Is ${name} "vol-NNNN.tar.zst.age"?  Its number, or 0. */
static uint64_t
volume_number(const char *name)
{
    char again[32];
    unsigned long n;
    char *end;

    if (strncmp(name, "vol-", 4) != 0)
        return 0;
    errno = 0;
    n = strtoul(name + 4, &end, 10);
    if (errno != 0 || n == 0 || n > UINT32_MAX ||
        strcmp(end, ".tar.zst.age") != 0)
        return UINT64_MAX;
    return strcmp(setr_volume_name((uint32_t)n, again), name) == 0 ? n
                                                                   : UINT64_MAX;
}

static int
check_volumes(struct verify_set *vs, struct cm_err *err)
{
    const struct manifest *m = vs->m;
    uint64_t listed = 0;
    char name[32];

    for (size_t i = 0; i < m->nfiles; i++) {
        uint64_t n =
            m->files[i].parity_of != NULL ? 0 : volume_number(m->files[i].name);
        if (n == 0)
            continue;
        if (n <= m->volumes) {
            listed++;
            continue;
        }
        if (add_simple(vs, VERIFY_MANIFEST, CM_EFORMAT, "MANIFEST", err,
                       "MANIFEST: lists %s, which is not one of volumes "
                       "1-%" PRIu64,
                       m->files[i].name, m->volumes) == -1)
            return -1;
    }
    if (listed == m->volumes)
        return 0;
    for (uint64_t v = 1; v <= m->volumes && v <= UINT32_MAX; v++) {
        if (manifest_find_file(m, setr_volume_name((uint32_t)v, name)))
            continue;
        return add_simple(vs, VERIFY_MANIFEST, CM_EFORMAT, "MANIFEST", err,
                          "MANIFEST: says volumes %" PRIu64 ", but %s is not "
                          "listed (%" PRIu64 " of %" PRIu64 " volumes listed)",
                          m->volumes, name, listed, m->volumes);
    }
    return 0;
}

static int
check_listing(struct verify_set *vs, struct cm_err *err)
{
    const struct manifest *m = vs->m;

    /* A set across media keeps its catalog on the last part. */
    if (manifest_find_file(m, CATALOG_NAME) == NULL &&
        (m->part == 0 || m->last_part) &&
        add_simple(vs, VERIFY_MANIFEST, CM_EFORMAT, "MANIFEST", err,
                   "MANIFEST: does not list " CATALOG_NAME) == -1)
        return -1;
    if ((manifest_find_file(m, "MANIFEST") != NULL ||
         manifest_find_file(m, "MANIFEST.minisig") != NULL) &&
        add_simple(vs, VERIFY_MANIFEST, CM_EFORMAT, "MANIFEST", err,
                   "MANIFEST: lists itself or its signature") == -1)
        return -1;
    return check_volumes(vs, err);
}

/* What pack names the set: coldmail-HOST-STAMP-XXXXXXXX. */
static void
expected_name(const struct manifest *m, char *out, size_t outlen)
{
    char stamp[WHEN_STAMP_LEN], id[33], host[MANIFEST_TEXT_MAX + 1];
    size_t i;

    for (i = 0; m->host[i] != '\0' && i < sizeof host - 1; i++) {
        char c = m->host[i];
        int plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
        host[i] = plain ? c : '-';
    }
    host[i] = '\0';
    when_format_stamp(stamp, m->created);
    manifest_set_id_hex(m->set_id, id);
    snprintf(out, outlen, "coldmail-%s-%s-%.8s", host, stamp, id);
}

static int
check_name(struct verify_set *vs, struct cm_err *err)
{
    char want[MANIFEST_TEXT_MAX + 64];

    if (strncmp(vs->name, "coldmail-", 9) != 0)
        return 0;
    expected_name(vs->m, want, sizeof want);
    if (strcmp(vs->name, want) == 0)
        return 0;
    return add_simple(vs, VERIFY_NAME, CM_DAMAGED, NULL, err,
                      "the directory name does not match its MANIFEST, "
                      "which names the set %s (a MANIFEST from another "
                      "set?)",
                      want);
}

/* ------------------------------------------------------------------ */
/* The files                                                           */

/* One line of filecheck_describe() for the part of ${r} in ${part}. */
static int
describe(struct verify_set *vs, const struct manifest_file *f,
         const struct filecheck_report *part, struct verify_finding *proto,
         struct cm_err *err)
{
    struct buf line;
    int rc = -1;

    buf_init(&line, 4096);
    if (filecheck_describe(f, part, &line, err) == 0 &&
        buf_cstr(&line, err) != NULL) {
        if (line.len > 0 && line.data[line.len - 1] == '\n')
            line.data[--line.len] = '\0';
        proto->file = f->name;
        rc = verify_add(vs, proto, err, "%s", (const char *)line.data);
    }
    buf_free(&line);
    return rc;
}

static int
block_findings(struct verify_set *vs, const struct manifest_file *f,
               const struct filecheck_report *r, struct cm_err *err)
{
    for (size_t i = 0, j; i < r->nbad; i = j + 1) {
        struct filecheck_report part;
        struct verify_finding proto;
        for (j = i;
             j + 1 < r->nbad && r->bad_blocks[j + 1] == r->bad_blocks[j] + 1;)
            j++;
        memset(&part, 0, sizeof part);
        part.size_ok = part.sha256_ok = 1;
        part.size = f->size;
        part.bad_blocks = &r->bad_blocks[i];
        part.nbad = j - i + 1;
        memset(&proto, 0, sizeof proto);
        proto.what = VERIFY_BLOCKS;
        proto.code = CM_DAMAGED;
        proto.first = r->bad_blocks[i];
        proto.last = r->bad_blocks[j];
        proto.first_byte = proto.first * MANIFEST_BLOCK_SIZE;
        proto.last_byte = (proto.last + 1) * MANIFEST_BLOCK_SIZE - 1;
        if (proto.last_byte >= f->size)
            proto.last_byte = f->size ? f->size - 1 : 0;
        if (describe(vs, f, &part, &proto, err) == -1)
            return -1;
    }
    return 0;
}

static int
file_findings(struct verify_set *vs, const struct manifest_file *f,
              const struct filecheck_report *r, struct cm_err *err)
{
    struct filecheck_report part;
    struct verify_finding proto;

    memset(&part, 0, sizeof part);
    memset(&proto, 0, sizeof proto);
    proto.code = CM_DAMAGED;
    part.size_ok = part.sha256_ok = 1;
    part.size = r->size;
    if (r->missing || r->not_regular) {
        part.missing = r->missing;
        part.not_regular = r->not_regular;
        proto.what = r->missing ? VERIFY_MISSING : VERIFY_NOT_REGULAR;
        return describe(vs, f, &part, &proto, err);
    }
    if (!r->size_ok) {
        part.size_ok = 0;
        proto.what = VERIFY_SIZE;
        if (describe(vs, f, &part, &proto, err) == -1)
            return -1;
        part.size_ok = 1;
    }
    if (block_findings(vs, f, r, err) == -1)
        return -1;
    if (r->nbad == 0 && r->size_ok && !r->sha256_ok) {
        part.sha256_ok = 0;
        proto.what = VERIFY_SHA256;
        if (describe(vs, f, &part, &proto, err) == -1)
            return -1;
    }
    if (r->read_errors > 0)
        return add_simple(vs, VERIFY_READ_ERROR, CM_DAMAGED, f->name, err,
                          "%s: %" PRIu64 " block(s) could not be read (I/O "
                          "errors)",
                          f->name, r->read_errors);
    return 0;
}

/* One line of repair advice for verdict ${v} (parity.h). */
static int
advise(struct verify_set *vs, const struct parity_verdict *v,
       struct cm_err *err)
{
    const char *name = vs->m->files[v->file].name;
    struct buf blocks;
    int rc;

    if (v->nlost == 0)
        return add_simple(vs, VERIFY_REPAIR, CM_DAMAGED, name, err,
                          "%s: repair can rebuild it from parity "
                          "(coldmail-restore repair)",
                          name);
    buf_init(&blocks, 4096);
    rc = parity_format_blocks(v->lost, v->nlost, 20, &blocks, err) == -1 ||
                 buf_cstr(&blocks, err) == NULL
             ? -1
         : v->nlost < v->bad
             ? add_simple(vs, VERIFY_REPAIR, CM_DAMAGED, name, err,
                          "%s: repair can rebuild %" PRIu64 " of %" PRIu64
                          " bad blocks; blocks %s are beyond repair",
                          name, v->bad - v->nlost, v->bad,
                          (const char *)blocks.data)
             : add_simple(vs, VERIFY_REPAIR, CM_DAMAGED, name, err,
                          "%s: beyond repair (%s): blocks %s", name,
                          v->covered ? "more bad blocks in a stripe than "
                                       "parity"
                                     : "no usable parity",
                          (const char *)blocks.data);
    buf_free(&blocks);
    return rc;
}

/* For the damage found, whether repair can rebuild it; nothing for a set
 * without parity. */
static int
repair_advice(struct verify_set *vs,
              const struct filecheck_report *const *reports, struct cm_err *err)
{
    struct parity_assessment a;
    int any = 0, rc = 0;

    for (size_t i = 0; i < vs->m->nfiles; i++)
        any |= vs->m->files[i].parity_of != NULL;
    if (!any)
        return 0;
    if (parity_assess(vs->m, reports, &a, err) == -1)
        return -1;
    for (size_t i = 0; i < a.n && rc == 0; i++)
        rc = advise(vs, &a.v[i], err);
    parity_assessment_free(&a);
    return rc;
}

static int
check_files(const char *dir, struct verify_set *vs, const struct verify_opts *o,
            struct cm_err *err)
{
    struct filecheck_report *r = NULL, **bad = NULL;
    struct filescan_opts fo;
    int rc = -1;

    memset(&fo, 0, sizeof fo);
    fo.threads = o->threads > 0 ? o->threads : 2;
    fo.progress = o->progress;
    if ((r = cm_calloc(vs->m->nfiles + 1, sizeof *r, err)) == NULL ||
        (bad = cm_calloc(vs->m->nfiles + 1, sizeof *bad, err)) == NULL)
        goto out;
    for (size_t i = 0; i < vs->m->nfiles; i++) {
        const struct manifest_file *f = &vs->m->files[i];
        if (manifest_file_part(vs->m, f->name) != vs->m->part)
            continue; /* on another medium */
        if (o->source != NULL
                ? o->source->scan(o->source->ctx, f, &r[i], err) == -1
                : filescan_file(dir, f, &fo, &r[i], err) == -1)
            goto out;
        vs->files++;
        vs->bytes += r[i].size;
        if (filecheck_ok(&r[i]))
            continue;
        bad[i] = &r[i];
        if (file_findings(vs, f, &r[i], err) == -1)
            goto out;
    }
    rc = repair_advice(vs, (const struct filecheck_report *const *)bad, err);
out:
    for (size_t i = 0; r != NULL && i < vs->m->nfiles; i++)
        filecheck_report_free(&r[i]);
    free(r);
    free(bad);
    return rc;
}

static int
by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static const char *
kind_of(const char *dir, const char *name)
{
    char path[4200];
    struct stat st;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (lstat(path, &st) == -1 || S_ISREG(st.st_mode))
        return "file";
    if (S_ISDIR(st.st_mode))
        return "directory";
    if (S_ISLNK(st.st_mode))
        return "symbolic link";
    return "special file";
}

static int
is_listed(const struct manifest *m, const char *name)
{
    return strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
           strcmp(name, "MANIFEST") == 0 ||
           strcmp(name, "MANIFEST.minisig") == 0 ||
           manifest_find_file(m, name) != NULL;
}

/* Names in ${dir} that MANIFEST does not list, sorted, at most ${max}. */
static int
list_extra(const char *dir, const struct manifest *m, char ***out, size_t *n,
           uint64_t *more, struct cm_err *err)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **names = NULL, **grown;
    int rc = -1;

    *n = 0;
    *more = 0;
    if (d == NULL)
        return cm_fail_errno(err, errno, "%s: cannot list", dir);
    while ((de = readdir(d)) != NULL) {
        if (is_listed(m, de->d_name))
            continue;
        if (*n >= VERIFY_FINDINGS_MAX) {
            (*more)++;
            continue;
        }
        grown = realloc(names, (*n + 1) * sizeof *names);
        if (grown == NULL || (grown[*n] = strdup(de->d_name)) == NULL) {
            names = grown ? grown : names;
            cm_fail(err, CM_EINTERNAL, "out of memory");
            goto out;
        }
        names = grown;
        (*n)++;
    }
    if (*n > 1)
        qsort(names, *n, sizeof *names, by_name);
    rc = 0;
out:
    closedir(d);
    *out = names;
    return rc;
}

static int
check_extra(const char *dir, struct verify_set *vs, const struct verify_opts *o,
            struct cm_err *err)
{
    struct cm_err lerr = CM_ERR_INIT;
    char **names = NULL, *shown;
    size_t n = 0;
    uint64_t more = 0;
    int rc = 0;

    if (o->source != NULL
            ? o->source->extra(o->source->ctx, vs->m, &names, &n, &lerr) == -1
            : list_extra(dir, vs->m, &names, &n, &more, &lerr) == -1) {
        if (lerr.code == CM_EINTERNAL) {
            *err = lerr;
            rc = -1;
        } else {
            rc = add_simple(vs, VERIFY_UNEXPECTED, CM_DAMAGED, NULL, err, "%s",
                            verify_strip_dir(&lerr, dir));
        }
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        if ((shown = verify_printable(names[i], strlen(names[i]), err)) == NULL)
            rc = -1;
        else
            rc = add_simple(vs, VERIFY_UNEXPECTED, CM_DAMAGED, shown, err,
                            "%s: unexpected %s, not in MANIFEST", shown,
                            kind_of(dir, names[i]));
        free(shown);
    }
    if (rc == 0 && more > 0)
        rc = add_simple(vs, VERIFY_UNEXPECTED, CM_DAMAGED, NULL, err,
                        "and %" PRIu64 " more unexpected files", more);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Printable names                                                     */

char *
verify_printable(const void *p, size_t len, struct cm_err *err)
{
    const unsigned char *s = p;
    char *out = cm_malloc(4 * len + 1, err), *o = out;

    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < len;) {
        size_t n = enc_utf8_len(s + i, len - i);
        if (n == 0 ||
            (n == 1 && (s[i] < 0x20 || s[i] == 0x7f || s[i] == '\\'))) {
            o += sprintf(o, "\\x%02x", s[i]);
            i++;
            continue;
        }
        memcpy(o, s + i, n);
        o += n;
        i += n;
    }
    *o = '\0';
    return out;
}

/* ------------------------------------------------------------------ */
/* Finding the sets                                                    */

static int add_note(struct verify_result *r, struct cm_err *err,
                    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
add_note(struct verify_result *r, struct cm_err *err, const char *fmt, ...)
{
    char text[4400];
    char **grown;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    grown = realloc(r->notes, (r->nnotes + 1) * sizeof *grown);
    if (grown == NULL)
        return cm_fail(err, CM_EINTERNAL, "out of memory");
    r->notes = grown;
    if ((grown[r->nnotes] = cm_strdup(text, err)) == NULL)
        return -1;
    r->nnotes++;
    return 0;
}

static int
add_target(struct run *run, const char *dir, const char *where,
           struct cm_err *err)
{
    struct target *grown, *t;
    const char *slash = strrchr(dir, '/');

    if (run->ntargets >= VERIFY_SETS_MAX)
        return cm_fail(err, CM_EUSAGE, "more than %d sets", VERIFY_SETS_MAX);
    grown = realloc(run->targets, (run->ntargets + 1) * sizeof *grown);
    if (grown == NULL)
        return cm_fail(err, CM_EINTERNAL, "out of memory");
    run->targets = grown;
    t = &grown[run->ntargets];
    t->name = t->where = NULL;
    if ((t->dir = cm_strdup(dir, err)) == NULL ||
        (t->name = cm_strdup(slash ? slash + 1 : dir, err)) == NULL ||
        (t->where = cm_strdup(where, err)) == NULL) {
        free(t->dir);
        free(t->name);
        return -1;
    }
    run->ntargets++;
    return 0;
}

static int
exists(const char *dir, const char *name)
{
    char path[4200];
    struct stat st;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    return lstat(path, &st) == 0;
}

static int
ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* The coldmail-* directories of a medium, in name order. */
static int
scan_medium(struct run *run, const char *medium, struct cm_err *err)
{
    char **names = NULL;
    size_t n = 0, found = 0;
    uint64_t more = 0;
    struct manifest none;
    char path[4200];
    int rc = -1;

    manifest_init(&none);
    if (list_extra(medium, &none, &names, &n, &more, err) == -1)
        goto out;
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (strncmp(names[i], "coldmail-", 9) != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", medium, names[i]);
        if (ends_with(names[i], INCOMPLETE_SUFFIX)) {
            if (add_note(run->r, err,
                         "ignored %s: an unfinished set "
                         "(*" INCOMPLETE_SUFFIX ")",
                         path) == -1)
                goto out;
        } else if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            if (add_target(run, path, medium, err) == -1)
                goto out;
            found++;
        } else if (add_note(run->r, err, "ignored %s: not a directory", path) ==
                   -1)
            goto out;
    }
    if (more > 0 &&
        add_note(run->r, err,
                 "%s: %" PRIu64 " more entries not examined (over %d)", medium,
                 more, VERIFY_FINDINGS_MAX) == -1)
        goto out;
    rc = found > 0 ? 0
                   : cm_fail(err, CM_EUSAGE,
                             "%s: neither a set (no MANIFEST) nor a medium "
                             "holding sets (no coldmail-* directory)",
                             medium);
out:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

static int
discover_one(struct run *run, const char *arg, struct cm_err *err)
{
    char dir[4096], where[4096];
    const char *base;
    struct stat st;
    size_t len = strlen(arg);

    if (len == 0 || len >= sizeof dir)
        return cm_fail(err, CM_EUSAGE, "bad path \"%s\"", arg);
    memcpy(dir, arg, len + 1);
    while (len > 1 && dir[len - 1] == '/')
        dir[--len] = '\0';
    if (stat(dir, &st) == -1)
        return cm_fail(err, CM_EUSAGE, "%s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return cm_fail(err, CM_EUSAGE, "%s: not a directory", dir);
    base = strrchr(dir, '/');
    base = base ? base + 1 : dir;
    if (!exists(dir, "MANIFEST") && !exists(dir, "MANIFEST.minisig") &&
        strncmp(base, "coldmail-", 9) != 0)
        return scan_medium(run, dir, err);
    if (base == dir)
        snprintf(where, sizeof where, ".");
    else
        snprintf(where, sizeof where, "%.*s", (int)(base - dir - 1), dir);
    return add_target(run, dir, where[0] ? where : "/", err);
}

/* The set id a MANIFEST claims on its second line (not checked). */
static void
peek_set_id(const char *dir, uint8_t id[MANIFEST_SET_ID_SIZE])
{
    char path[4200], head[128], hex[33];
    struct cm_err ignored = CM_ERR_INIT;
    const char *p;
    ssize_t n;
    int fd;

    memset(id, 0, MANIFEST_SET_ID_SIZE);
    snprintf(path, sizeof path, "%s/MANIFEST", dir);
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd == -1)
        return;
    n = read(fd, head, sizeof head - 1);
    close(fd);
    if (n <= 0)
        return;
    head[n] = '\0';
    if ((p = strstr(head, "\nset-id ")) == NULL || strlen(p + 8) < 32)
        return;
    memcpy(hex, p + 8, 32);
    hex[32] = '\0';
    manifest_set_id_parse(hex, id, &ignored);
}

static int
discover(struct run *run, const char *const *paths, size_t n,
         struct cm_err *err)
{
    for (size_t i = 0; i < n; i++)
        if (discover_one(run, paths[i], err) == -1)
            return -1;
    run->peers = cm_calloc(run->ntargets, sizeof *run->peers, err);
    run->dirs = cm_calloc(run->ntargets + 1, sizeof *run->dirs, err);
    if (run->peers == NULL || run->dirs == NULL)
        return -1;
    for (size_t i = 0; i < run->ntargets; i++)
        run->dirs[i] = run->targets[i].dir;
    for (size_t i = 0; i < run->ntargets; i++) {
        run->peers[i].dir = run->targets[i].dir;
        peek_set_id(run->targets[i].dir, run->peers[i].set_id);
    }
    return 0;
}

/* Bytes of the regular files in the sets' directories. */
static uint64_t
bytes_to_read(const struct run *run)
{
    uint64_t total = 0;

    for (size_t i = 0; i < run->ntargets; i++) {
        DIR *d = opendir(run->targets[i].dir);
        struct dirent *de;
        struct stat st;
        if (d == NULL)
            continue;
        while ((de = readdir(d)) != NULL)
            if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                S_ISREG(st.st_mode))
                total += (uint64_t)st.st_size;
        closedir(d);
    }
    return total;
}

/* ------------------------------------------------------------------ */
/* One set                                                             */

/* "part 1 (medium A) is" or "parts 1 (medium A) and 3 (medium C) are". */
static int
other_parts(const struct manifest *m, struct buf *out, struct cm_err *err)
{
    size_t n = m->nparts - 1, k = 0;

    if (buf_printf(out, err, "%s ", n == 1 ? "part" : "parts") == -1)
        return -1;
    for (size_t i = 0; i < m->nparts; i++) {
        if (i + 1 == m->part)
            continue;
        k++;
        if (buf_printf(out, err, "%s%zu (medium %s)",
                       k == 1   ? ""
                       : k == n ? " and "
                                : ", ",
                       i + 1, m->parts[i].label) == -1)
            return -1;
    }
    return buf_printf(out, err, " %s",
                      n == 1 ? "is on another medium" : "are on other media");
}

/* Which part of a set that spans media this is, and where the others are. */
static int
check_part(struct verify_set *vs, struct cm_err *err)
{
    const struct manifest *m = vs->m;
    struct buf others;
    int rc = -1;

    if (m->part == 0)
        return 0;
    buf_init(&others, 64u << 10);
    if ((m->nparts > 1 && other_parts(m, &others, err) == -1) ||
        buf_cstr(&others, err) == NULL)
        goto out;
    if (m->last_part)
        rc = add_simple(vs, VERIFY_PART, CM_OK, NULL, err,
                        "part %" PRIu32 " of %" PRIu32 " of a set that "
                        "spans media (the last, with the catalog); %s",
                        m->part, m->part, (const char *)others.data);
    else
        rc = add_simple(vs, VERIFY_PART, CM_OK, NULL, err,
                        "part %" PRIu32 " of a set that spans media; %s%sthe "
                        "parts after it, with the catalog, are on other "
                        "media (or the set was never finished)",
                        m->part, (const char *)others.data,
                        others.len > 0 ? "; " : "");
out:
    buf_free(&others);
    return rc;
}

static int
check_keyless(const char *dir, struct verify_set *vs,
              const struct verify_opts *o, struct cm_err *err)
{
    if (check_part(vs, err) == -1 || check_signer(vs, o, err) == -1 ||
        check_listing(vs, err) == -1 || check_name(vs, err) == -1 ||
        (!o->chain_only && check_files(dir, vs, o, err) == -1))
        return -1;
    return check_extra(dir, vs, o, err);
}

static int
check_deep(struct run *run, struct setr *s, struct verify_set *vs,
           struct cm_err *err)
{
    struct verify_peers peers;

    if (s == NULL)
        return add_simple(vs, VERIFY_SKIPPED, CM_DAMAGED, NULL, err,
                          "deep check not done: the set's MANIFEST could "
                          "not be authenticated");
    if (vs->m->part > 0 && !vs->m->last_part)
        return add_simple(vs, VERIFY_SKIPPED, CM_OK, NULL, err,
                          "deep check not done on this part: it is done "
                          "on the set's last part, with the other parts "
                          "given too");
    /* A set across media: its other parts are among the targets. */
    setr_set_holder_dirs(s, run->dirs);
    if (run->o->progress != NULL) {
        run->total += setr_manifest(s)->bytes_in;
        progress_set_total(run->o->progress, run->ntargets, run->total);
    }
    peers.list = run->peers;
    peers.n = run->ntargets;
    return verify_deep_set(s, vs, run->o, &peers, err);
}

static int
add_to_chain(struct chain *c, const struct target *t,
             const struct verify_set *vs, const struct verify_opts *o,
             struct cm_err *err)
{
    const struct manifest *m = vs->m;
    char trusted[MINISIG_KEYID_HEX_LEN];
    struct chain_set cs;

    memset(&cs, 0, sizeof cs);
    cs.name = t->name;
    cs.where = t->where;
    cs.medium = m->medium != NULL && *m->medium != '\0' ? m->medium : NULL;
    cs.host = m->host;
    cs.sequence = m->sequence;
    cs.created = m->created;
    memcpy(cs.set_id, m->set_id, sizeof cs.set_id);
    cs.has_previous = m->has_previous;
    memcpy(cs.previous, m->previous, 32);
    memcpy(cs.manifest_sha256, vs->manifest_sha256, 32);
    memcpy(cs.key_id, m->signer_key_id, sizeof cs.key_id);
    cs.chain_break = m->chain_break;
    cs.authentic = vs->sig != VERIFY_SIG_FAILED;
    if (o->trusted != NULL) {
        minisig_keyid_hex(o->trusted->keyid, trusted);
        cs.unknown_key = strcmp(trusted, m->signer_key_id) != 0;
    }
    if (m->has_medium_id)
        hex_encode(cs.medium_id, m->medium_id, 16);
    if (m->has_previous_medium)
        hex_encode(cs.previous_medium, m->previous_medium, 16);
    return chain_add(c, &cs, err);
}

static void
tally(struct verify_result *r, const struct verify_set *vs)
{
    r->sets++;
    r->ok += vs->code == CM_OK;
    r->auth_failed += vs->sig == VERIFY_SIG_FAILED;
    r->code = verify_worse(r->code, vs->code);
    r->bytes += vs->bytes;
    r->deep_total.done += vs->deep.done;
    r->deep_total.volumes += vs->deep.volumes;
    r->deep_total.entries += vs->deep.entries;
    r->deep_total.lines += vs->deep.lines;
    r->deep_total.checked += vs->deep.checked;
    r->deep_total.bad += vs->deep.bad;
    r->deep_total.elsewhere += vs->deep.elsewhere;
    r->deep_total.elsewhere_checked += vs->deep.elsewhere_checked;
}

static int
check_target(struct run *run, const struct target *t, struct cm_err *err)
{
    const struct verify_opts *o = run->o;
    struct verify_set vs;
    struct manifest own;
    struct setr *s = NULL;
    int rc = -1;

    memset(&vs, 0, sizeof vs);
    manifest_init(&own);
    vs.dir = t->dir;
    vs.name = t->name;
    if (o->source != NULL && o->source->problem != NULL &&
        add_simple(&vs, VERIFY_STREAM, CM_DAMAGED, NULL, err, "%s",
                   o->source->problem) == -1)
        goto out;
    if (open_set(t->dir, o, &vs, &s, &own, err) == -1 ||
        (vs.m != NULL && check_keyless(t->dir, &vs, o, err) == -1) ||
        (o->deep && check_deep(run, s, &vs, err) == -1) ||
        (vs.m != NULL && (vs.m->part == 0 || vs.m->last_part) &&
         add_to_chain(run->r->chain, t, &vs, o, err) == -1))
        goto out;
    tally(run->r, &vs);
    if (o->on_set != NULL && o->on_set(o->ctx, &vs, err) == -1)
        goto out;
    if (o->progress != NULL)
        progress_add(o->progress, 1, 0);
    rc = 0;
out:
    for (size_t i = 0; i < vs.nfindings; i++)
        finding_free(&vs.findings[i]);
    free(vs.findings);
    setr_close(s);
    manifest_free(&own);
    return rc;
}

int
verify_run(const char *const *paths, size_t n, const struct verify_opts *o,
           struct verify_result *r, struct cm_err *err)
{
    struct run run;
    int rc = -1;

    memset(r, 0, sizeof *r);
    memset(&run, 0, sizeof run);
    run.o = o;
    run.r = r;
    r->untrusted = o->trusted == NULL;
    r->deep = o->deep;
    r->chain_only = o->chain_only;
    if (o->trusted != NULL)
        minisig_keyid_hex(o->trusted->keyid, r->trusted_key);
    if (n == 0)
        return cm_fail(err, CM_EUSAGE, "no set given");
    if (o->deep && (o->ids == NULL || o->ids->n == 0))
        return cm_fail(err, CM_EUSAGE, "--deep needs an identity (-i)");
    if (o->deep && o->chain_only)
        return cm_fail(err, CM_EUSAGE, "--chain and --deep: one or the other");
    if (chain_new(&r->chain, err) == -1 || discover(&run, paths, n, err) == -1)
        goto out;
    if (o->progress != NULL) {
        run.total = bytes_to_read(&run);
        progress_set_total(o->progress, run.ntargets, run.total);
    }
    for (size_t i = 0; i < run.ntargets; i++)
        if (check_target(&run, &run.targets[i], err) == -1)
            goto out;
    if (chain_check(r->chain, err) == -1)
        goto out;
    if (chain_problems(r->chain) > 0)
        r->code = verify_worse(r->code, CM_DAMAGED);
    rc = 0;
out:
    for (size_t i = 0; i < run.ntargets; i++) {
        free(run.targets[i].dir);
        free(run.targets[i].name);
        free(run.targets[i].where);
    }
    free(run.targets);
    free(run.peers);
    free(run.dirs);
    return rc;
}

void
verify_result_free(struct verify_result *r)
{
    if (r == NULL)
        return;
    chain_free(r->chain);
    for (size_t i = 0; i < r->nnotes; i++)
        free(r->notes[i]);
    free(r->notes);
    memset(r, 0, sizeof *r);
}
