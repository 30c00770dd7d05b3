/*
 * verify: keyless checks on synthetic sets (files of random bytes, a
 * MANIFEST listing them, signed with a fresh key), without pack: a good
 * set, a flipped block (one and two hashing threads), an unexpected file,
 * a wrong trusted key, a MANIFEST that contradicts itself, a medium with
 * an unfinished set, the JSON report, and the helpers.
 */
#include "verify.h"

#include <fcntl.h>
#include <jansson.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blockhash.h"
#include "check.h"
#include "io.h"
#include "verify_internal.h"
#include "when.h"

static char root[] = "/tmp/test_verify.XXXXXX";
static struct minisig_seckey sk;
static struct minisig_pubkey pk;

static void
write_file(const char *path, const void *p, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

    CHECK(fd != -1);
    CHECK(write(fd, p, len) == (ssize_t)len);
    close(fd);
}

static void
list_file(struct manifest *m, const char *dir, const char *name, size_t size,
          unsigned seed)
{
    struct cm_err err = CM_ERR_INIT;
    uint8_t *p = malloc(size ? size : 1);
    struct manifest_file *f;
    char path[512];

    for (size_t i = 0; i < size; i++)
        p[i] = (uint8_t)((i * 2654435761u + seed) >> 13);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    write_file(path, p, size);
    f = manifest_add_file(m, name, size, &err);
    CHECK(f != NULL);
    if (f == NULL) {
        free(p);
        return;
    }
    blockhash_sha256(p, size, f->sha256);
    for (uint64_t b = 0; b < f->nblocks; b++) {
        size_t off = (size_t)b * MANIFEST_BLOCK_SIZE;
        size_t n =
            size - off < MANIFEST_BLOCK_SIZE ? size - off : MANIFEST_BLOCK_SIZE;
        blockhash_sha256(p + off, n, f->blocks[b]);
    }
    free(p);
}

/* A signed set in ${medium}; its directory into ${dir}.  ${volumes} is
 * what MANIFEST claims (one volume file is listed whatever it says). */
static void
make_set(const char *medium, int seq, uint64_t volumes, char *dir,
         size_t dirlen)
{
    struct cm_err err = CM_ERR_INIT;
    char stamp[WHEN_STAMP_LEN], id[33], path[600], comment[1100];
    struct buf text, sig;
    struct manifest m;

    manifest_init(&m);
    for (int i = 0; i < 16; i++)
        m.set_id[i] = (uint8_t)(seq * 31 + i);
    manifest_set_text(&m.host, "vm", "host", &err);
    manifest_set_text(&m.kind, "full", "kind", &err);
    m.created = 1790000000 + seq * 60;
    m.sequence = 1;
    manifest_add_store(&m, "store", "/srv/store", &err);
    manifest_add_recipient(
        &m, "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p",
        &err);
    minisig_keyid_hex(pk.keyid, m.signer_key_id);
    minisig_pubkey_base64(&pk, m.signer_public_key);
    m.volumes = volumes;
    when_format_stamp(stamp, m.created);
    manifest_set_id_hex(m.set_id, id);
    snprintf(dir, dirlen, "%s/coldmail-vm-%s-%.8s", medium, stamp, id);
    CHECK(mkdir(dir, 0755) == 0);
    list_file(&m, dir, "vol-0001.tar.zst.age", 2 * MANIFEST_BLOCK_SIZE + 777,
              (unsigned)seq);
    list_file(&m, dir, "catalog.jsonl.zst.age", 3000, 7);
    list_file(&m, dir, "RESTORE.txt", 0, 0);
    buf_init(&text, MANIFEST_MAX);
    buf_init(&sig, MINISIG_FILE_MAX);
    CHECK(manifest_format(&m, &text, &err) == 0);
    manifest_trusted_comment(&m, comment, sizeof comment);
    CHECK(minisig_sign(&sk, text.data, text.len, NULL, comment, &sig, &err) ==
          0);
    snprintf(path, sizeof path, "%s/MANIFEST", dir);
    write_file(path, text.data, text.len);
    snprintf(path, sizeof path, "%s/MANIFEST.minisig", dir);
    write_file(path, sig.data, sig.len);
    CHECK_INT_EQ(err.code, CM_OK);
    buf_free(&text);
    buf_free(&sig);
    manifest_free(&m);
}

/* What on_set saw of the last set. */
struct seen {
    int sets;
    enum cm_code code;
    enum verify_sig sig;
    size_t nfindings;
    struct verify_finding first;
    char texts[8192];
    struct buf json;
};

static int
on_set(void *ctx, const struct verify_set *s, struct cm_err *err)
{
    struct seen *sn = ctx;
    size_t n = 0;

    sn->code = s->code;
    sn->sig = s->sig;
    sn->nfindings = s->nfindings;
    memset(&sn->first, 0, sizeof sn->first);
    if (s->nfindings > 0) {
        sn->first = s->findings[0];
        sn->first.file = sn->first.path = sn->first.message_id = NULL;
        sn->first.text = NULL;
    }
    sn->texts[0] = '\0';
    for (size_t i = 0; i < s->nfindings && n < sizeof sn->texts; i++)
        n += (size_t)snprintf(sn->texts + n, sizeof sn->texts - n, "%s\n",
                              s->findings[i].text);
    return verify_format_json_set(s, sn->sets++ == 0, &sn->json, err);
}

static int
run(const char *path, const struct minisig_pubkey *trusted, int threads,
    struct seen *sn, struct verify_result *r)
{
    struct cm_err err = CM_ERR_INIT;
    struct verify_opts o;
    const char *paths[1] = {path};
    int rc;

    memset(&o, 0, sizeof o);
    memset(sn, 0, sizeof *sn);
    buf_init(&sn->json, 1 << 20);
    o.trusted = trusted;
    o.threads = threads;
    o.on_set = on_set;
    o.ctx = sn;
    CHECK(verify_format_json_begin(&o, &sn->json, &err) == 0);
    rc = verify_run(paths, 1, &o, r, &err);
    if (rc == 0)
        CHECK(verify_format_json_end(r, &sn->json, &err) == 0);
    CHECK_INT_EQ(err.code, rc == 0 ? CM_OK : err.code);
    return rc == 0 ? 0 : (int)err.code;
}

static void
flip(const char *dir, const char *name, off_t off)
{
    char path[600];
    uint8_t b;
    int fd;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    fd = open(path, O_RDWR);
    CHECK(pread(fd, &b, 1, off) == 1);
    b ^= 1;
    CHECK(pwrite(fd, &b, 1, off) == 1);
    close(fd);
}

static void
test_good_and_flipped(void)
{
    char medium[300], dir[600];
    struct verify_result r;
    struct seen sn;
    json_t *j;

    snprintf(medium, sizeof medium, "%s/m1", root);
    CHECK(mkdir(medium, 0755) == 0);
    make_set(medium, 1, 1, dir, sizeof dir);
    CHECK_INT_EQ(run(dir, NULL, 2, &sn, &r), 0);
    CHECK_INT_EQ(r.code, CM_OK);
    CHECK_INT_EQ(sn.sig, VERIFY_SIG_OWN_KEY);
    CHECK(r.untrusted);
    CHECK_INT_EQ(sn.nfindings, 0);
    CHECK_INT_EQ(r.bytes, 2 * MANIFEST_BLOCK_SIZE + 777 + 3000);
    j = json_loadb((const char *)sn.json.data, sn.json.len, 0, NULL);
    CHECK(j != NULL);
    CHECK(json_is_true(json_object_get(
              json_array_get(json_object_get(j, "sets"), 0), "findings")) == 0);
    CHECK_INT_EQ(json_integer_value(
                     json_object_get(json_object_get(j, "summary"), "exit")),
                 0);
    json_decref(j);
    buf_free(&sn.json);
    verify_result_free(&r);
    CHECK_INT_EQ(run(dir, &pk, 2, &sn, &r), 0);
    CHECK_INT_EQ(sn.sig, VERIFY_SIG_TRUSTED);
    buf_free(&sn.json);
    verify_result_free(&r);

    flip(dir, "vol-0001.tar.zst.age", 2 * MANIFEST_BLOCK_SIZE + 5);
    for (int threads = 1; threads <= 2; threads++) {
        CHECK_INT_EQ(run(medium, &pk, threads, &sn, &r), 0);
        CHECK_INT_EQ(r.code, CM_DAMAGED);
        CHECK_INT_EQ(sn.nfindings, 1);
        CHECK_INT_EQ(sn.first.what, VERIFY_BLOCKS);
        CHECK_INT_EQ(sn.first.first, 2);
        CHECK_INT_EQ(sn.first.last, 2);
        CHECK_INT_EQ(sn.first.first_byte, 2 * MANIFEST_BLOCK_SIZE);
        CHECK_INT_EQ(sn.first.last_byte, 2 * MANIFEST_BLOCK_SIZE + 776);
        CHECK_STR_EQ(sn.texts, "vol-0001.tar.zst.age: block 2 (bytes "
                               "2097152-2097928) does not match\n");
        j = json_loadb((const char *)sn.json.data, sn.json.len, 0, NULL);
        CHECK(j != NULL);
        json_decref(j);
        buf_free(&sn.json);
        verify_result_free(&r);
    }
}

static void
test_extra_and_wrong_key(void)
{
    struct minisig_seckey sk2;
    struct minisig_pubkey pk2;
    struct cm_err err = CM_ERR_INIT;
    char medium[300], dir[600], path[700];
    struct verify_result r;
    struct seen sn;

    snprintf(medium, sizeof medium, "%s/m2", root);
    CHECK(mkdir(medium, 0755) == 0);
    make_set(medium, 2, 1, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/extra\001name", dir);
    write_file(path, "x", 1);
    CHECK_INT_EQ(run(dir, &pk, 2, &sn, &r), 0);
    CHECK_INT_EQ(r.code, CM_DAMAGED);
    CHECK_STR_EQ(sn.texts,
                 "extra\\x01name: unexpected file, not in MANIFEST\n");
    buf_free(&sn.json);
    verify_result_free(&r);
    unlink(path);

    CHECK(minisig_keypair_generate(&sk2, &pk2, &err) == 0);
    CHECK_INT_EQ(run(dir, &pk2, 2, &sn, &r), 0);
    CHECK_INT_EQ(r.code, CM_EAUTH);
    CHECK_INT_EQ(sn.sig, VERIFY_SIG_FAILED);
    CHECK_INT_EQ(sn.first.what, VERIFY_SIGNATURE);
    CHECK_STR_HAS(sn.texts, "not by the trusted key");
    CHECK_INT_EQ(r.auth_failed, 1);
    buf_free(&sn.json);
    verify_result_free(&r);
    minisig_seckey_wipe(&sk2);
}

static void
test_inconsistent_and_medium(void)
{
    char medium[300], dir[600], path[700];
    struct verify_result r;
    struct seen sn;

    snprintf(medium, sizeof medium, "%s/m3", root);
    CHECK(mkdir(medium, 0755) == 0);
    make_set(medium, 3, 2, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/coldmail-vm-x.incomplete", medium);
    CHECK(mkdir(path, 0755) == 0);
    CHECK_INT_EQ(run(medium, &pk, 2, &sn, &r), 0);
    CHECK_INT_EQ(r.code, CM_EFORMAT);
    CHECK_STR_HAS(sn.texts, "MANIFEST: says volumes 2, but "
                            "vol-0002.tar.zst.age is not listed");
    CHECK_INT_EQ(r.nnotes, 1);
    if (r.nnotes == 1)
        CHECK_STR_HAS(r.notes[0], "an unfinished set");
    buf_free(&sn.json);
    verify_result_free(&r);
    /* Neither a set nor a medium. */
    snprintf(path, sizeof path, "%s/empty", root);
    CHECK(mkdir(path, 0755) == 0);
    CHECK_INT_EQ(run(path, &pk, 2, &sn, &r), CM_EUSAGE);
    buf_free(&sn.json);
    verify_result_free(&r);
}

static void
test_helpers(void)
{
    struct cm_err err = CM_ERR_INIT;
    char *p;

    p = verify_printable("a\\b\n\xc3\xa9\xff", 7, &err);
    CHECK_STR_EQ(p, "a\\x5cb\\x0a\xc3\xa9\\xff");
    free(p);
    p = verify_printable("\xe0\x80\x80", 3, &err);
    CHECK_STR_EQ(p, "\\xe0\\x80\\x80");
    free(p);
    CHECK_INT_EQ(verify_worse(CM_DAMAGED, CM_EAUTH), CM_EAUTH);
    CHECK_INT_EQ(verify_worse(CM_EAUTH, CM_EFORMAT), CM_EAUTH);
    CHECK_INT_EQ(verify_worse(CM_EFORMAT, CM_DAMAGED), CM_EFORMAT);
    CHECK_INT_EQ(verify_worse(CM_OK, CM_DAMAGED), CM_DAMAGED);
    CHECK_STR_EQ(verify_what_name(VERIFY_BLOCKS), "blocks");
    CHECK_STR_EQ(verify_problem_name(VERIFY_P_LOST), "lost");
}

int
main(void)
{
    struct cm_err err = CM_ERR_INIT;
    char cmd[100];

    CHECK(mkdtemp(root) != NULL);
    CHECK(minisig_keypair_generate(&sk, &pk, &err) == 0);
    test_helpers();
    test_good_and_flipped();
    test_extra_and_wrong_key();
    test_inconsistent_and_medium();
    minisig_seckey_wipe(&sk);
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    CHECK(system(cmd) == 0);
    return check_report();
}
