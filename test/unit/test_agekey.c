#include "agekey.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "age.h"
#include "check.h"

/* The CCTV test identities and their recipients (from age-keygen -y). */
#define CCTV_ID                                                                \
    "AGE-SECRET-KEY-"                                                          \
    "1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0"
#define CCTV_R "age1xmwwc06ly3ee5rytxm9mflaz2u56jjj36s0mypdrwsvlul66mv4q47ryef"
#define CCTV_ID2                                                               \
    "AGE-SECRET-KEY-"                                                          \
    "143WN7DCXU4G8R5AXQSSYD9AEPYDNT3HXSLWSPK36CDU6E8M59SSSAGZ3KG"
#define CCTV_R2 "age1f3ygt5e2d2h7d6dae2tnwgy4y6f0kwhvpa64cre0k2gprv2r8qnst4j00y"

static char tmpdir[256];

static void
write_file(const char *name, const char *text, char *path, size_t pathlen)
{
    FILE *f;

    snprintf(path, pathlen, "%s/%s", tmpdir, name);
    f = fopen(path, "wb");
    if (f == NULL) {
        perror(path);
        exit(2);
    }
    fputs(text, f);
    fclose(f);
}

static void
test_bech32_vectors(void)
{
    /* BIP 173 valid strings. */
    static const char *const valid[] = {
        "A12UEL5L",
        "a12uel5l",
        "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
        ("11qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq"
         "qqqqqqqqqqqqqqqc8247j"),
        "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
        "?1ezyfcl",
    };
    /* BIP 173 invalid strings, and a mixed-case one. */
    static const char *const invalid[] = {
        "pzry9x0s0muk",
        "1pzry9x0s0muk",
        "x1b4n0q5v",
        "li1dgmt3",
        "de1lg7wt\xff",
        "A1G7SGD8",
        "10a06t8",
        "1qzzfhee",
        " 1nwldj5",
        ("\x7f"
         "1axkwrx"),
        "A12uEL5L",
        "a12uel5m",
        "",
        "1",
        "a1qqqqq",
    };

    for (size_t i = 0; i < CM_ARRAY_LEN(valid); i++) {
        struct cm_err err = CM_ERR_INIT;
        char hrp[100], again[200], low[200];
        uint8_t data[100];
        size_t n = 0, k;

        CHECK(agekey_bech32_decode(valid[i], hrp, sizeof hrp, data, sizeof data,
                                   &n, &err) == 0);
        CHECK(agekey_bech32_encode(again, sizeof again, hrp, data, n, &err) ==
              0);
        for (k = 0; valid[i][k] != '\0'; k++)
            low[k] = (char)(valid[i][k] >= 'A' && valid[i][k] <= 'Z'
                                ? valid[i][k] - 'A' + 'a'
                                : valid[i][k]);
        low[k] = '\0';
        CHECK_STR_EQ(again, low);
    }
    for (size_t i = 0; i < CM_ARRAY_LEN(invalid); i++) {
        struct cm_err err = CM_ERR_INIT;
        char hrp[100];
        uint8_t data[100];
        size_t n;

        CHECK(agekey_bech32_decode(invalid[i], hrp, sizeof hrp, data,
                                   sizeof data, &n, &err) == -1);
        CHECK_INT_EQ(err.code, CM_EFORMAT);
    }
}

static void
test_bech32_round_trip(void)
{
    struct cm_err err = CM_ERR_INIT;
    uint8_t data[64], back[64];
    char s[200], hrp[20];
    size_t n;

    for (size_t len = 0; len <= sizeof data; len++) {
        for (size_t i = 0; i < len; i++)
            data[i] = (uint8_t)(i * 73 + len);
        CHECK(agekey_bech32_encode(s, sizeof s, "test", data, len, &err) == 0);
        CHECK(agekey_bech32_decode(s, hrp, sizeof hrp, back, sizeof back, &n,
                                   &err) == 0);
        CHECK_INT_EQ(n, len);
        CHECK_MEM_EQ(data, back, len);
        CHECK_STR_EQ(hrp, "test");
    }
    /* Output too small, data too small, prefix too small. */
    CHECK(agekey_bech32_encode(s, 10, "test", data, 32, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    cm_err_clear(&err);
    CHECK(agekey_bech32_encode(s, sizeof s, "test", data, 32, &err) == 0);
    CHECK(agekey_bech32_decode(s, hrp, sizeof hrp, back, 31, &n, &err) == -1);
    cm_err_clear(&err);
    CHECK(agekey_bech32_decode(s, hrp, 4, back, sizeof back, &n, &err) == -1);
}

static void
test_cctv_keys(void)
{
    struct cm_err err = CM_ERR_INIT;
    struct age_identity id;
    struct age_recipient r, r2;
    char s[AGEKEY_IDENTITY_LEN], rs[AGEKEY_RECIPIENT_LEN];

    CHECK(agekey_identity_parse(CCTV_ID, &id, &err) == 0);
    CHECK_INT_EQ(id.kind, AGEKEY_X25519);
    agekey_identity_format(&id, s);
    CHECK_STR_EQ(s, CCTV_ID);
    CHECK(agekey_identity_recipient(&id, &r, &err) == 0);
    agekey_recipient_format(&r, rs);
    CHECK_STR_EQ(rs, CCTV_R);
    CHECK(agekey_recipient_parse(CCTV_R, &r2, &err) == 0);
    CHECK_MEM_EQ(r.public_key, r2.public_key, 32);

    CHECK(agekey_identity_parse(CCTV_ID2, &id, &err) == 0);
    CHECK(agekey_identity_recipient(&id, &r, &err) == 0);
    agekey_recipient_format(&r, rs);
    CHECK_STR_EQ(rs, CCTV_R2);
    agekey_identity_wipe(&id);
    CHECK_INT_EQ(err.code, CM_OK);
}

static void
check_bad_identity(const char *s)
{
    struct cm_err err = CM_ERR_INIT;
    struct age_identity id;

    CHECK(agekey_identity_parse(s, &id, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
}

static void
check_bad_recipient(const char *s)
{
    struct cm_err err = CM_ERR_INIT;
    struct age_recipient r;

    CHECK(agekey_recipient_parse(s, &r, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
}

static void
test_key_errors(void)
{
    char s[100];

    /* Case: identities upper, recipients lower. */
    snprintf(s, sizeof s, "%s", CCTV_ID);
    for (char *p = s; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    check_bad_identity(s);
    snprintf(s, sizeof s, "%s", CCTV_R);
    for (char *p = s; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    check_bad_recipient(s);
    /* Swapped kinds, flipped checksum character, truncation, extension. */
    check_bad_identity(CCTV_R);
    check_bad_recipient(CCTV_ID);
    snprintf(s, sizeof s, "%s", CCTV_R);
    s[10] = s[10] == 'q' ? 'p' : 'q';
    check_bad_recipient(s);
    snprintf(s, sizeof s, "%s", CCTV_R);
    s[strlen(s) - 1] = '\0';
    check_bad_recipient(s);
    snprintf(s, sizeof s, "%sq", CCTV_R);
    check_bad_recipient(s);
    check_bad_recipient("");
    check_bad_identity("AGE-SECRET-KEY-1");
    /* A valid Bech32 string of the wrong length. */
    {
        struct cm_err err = CM_ERR_INIT;
        uint8_t d[31] = {1};
        char t[100];
        CHECK(agekey_bech32_encode(t, sizeof t, "age", d, sizeof d, &err) == 0);
        check_bad_recipient(t);
    }
}

static void
test_generate(void)
{
    struct cm_err err = CM_ERR_INIT;
    struct age_identity a, b;
    struct age_recipient r;
    char s[AGEKEY_IDENTITY_LEN], rs[AGEKEY_RECIPIENT_LEN];

    CHECK(agekey_identity_generate(&a, &err) == 0);
    agekey_identity_format(&a, s);
    CHECK_INT_EQ(strlen(s), AGEKEY_IDENTITY_LEN - 1);
    CHECK(strncmp(s, "AGE-SECRET-KEY-1", 16) == 0);
    CHECK(agekey_identity_parse(s, &b, &err) == 0);
    CHECK_MEM_EQ(a.secret_key, b.secret_key, 32);
    CHECK(agekey_identity_recipient(&a, &r, &err) == 0);
    agekey_recipient_format(&r, rs);
    CHECK_INT_EQ(strlen(rs), AGEKEY_RECIPIENT_LEN - 1);
    CHECK(strncmp(rs, "age1", 4) == 0);
    agekey_identity_wipe(&a);
    agekey_identity_wipe(&b);
}

static void
test_scrypt_keys(void)
{
    struct cm_err err = CM_ERR_INIT;
    struct age_recipient r;
    struct age_identity id;
    char *long_pass = malloc(AGEKEY_PASSPHRASE_MAX + 2);

    CHECK(agekey_recipient_scrypt("hunter2", 10, &r, &err) == 0);
    CHECK_INT_EQ(r.kind, AGEKEY_SCRYPT);
    CHECK_STR_EQ(r.passphrase, "hunter2");
    CHECK(agekey_recipient_scrypt("", 10, &r, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EUSAGE);
    cm_err_clear(&err);
    CHECK(agekey_recipient_scrypt("x", 0, &r, &err) == -1);
    cm_err_clear(&err);
    CHECK(agekey_recipient_scrypt("x", AGEKEY_SCRYPT_MAX_LOG_N + 1, &r, &err) ==
          -1);
    CHECK_INT_EQ(err.code, CM_EUSAGE);
    cm_err_clear(&err);
    memset(long_pass, 'p', AGEKEY_PASSPHRASE_MAX + 1);
    long_pass[AGEKEY_PASSPHRASE_MAX + 1] = '\0';
    CHECK(agekey_identity_scrypt(long_pass, &id, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EUSAGE);
    cm_err_clear(&err);
    long_pass[AGEKEY_PASSPHRASE_MAX] = '\0';
    CHECK(agekey_identity_scrypt(long_pass, &id, &err) == 0);
    CHECK_INT_EQ(strlen(id.passphrase), AGEKEY_PASSPHRASE_MAX);
    CHECK(agekey_identity_recipient(&id, &r, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EUSAGE);
    agekey_identity_wipe(&id);
    free(long_pass);
}

static void
test_lists(void)
{
    struct cm_err err = CM_ERR_INIT;
    struct age_identities ids = {NULL, 0};
    struct age_recipients rs = {NULL, 0};
    struct age_identity id;
    struct age_recipient r;
    int ok = 1;

    for (int i = 0; i < 100; i++) {
        memset(&id, 0, sizeof id);
        memset(&r, 0, sizeof r);
        id.secret_key[0] = (uint8_t)i;
        r.public_key[0] = (uint8_t)i;
        ok &= agekey_identities_add(&ids, &id, &err) == 0;
        ok &= agekey_recipients_add(&rs, &r, &err) == 0;
    }
    CHECK(ok);
    CHECK_INT_EQ(ids.n, 100);
    CHECK_INT_EQ(rs.n, 100);
    for (int i = 0; i < 100; i++) {
        ok &= ids.ids[i].secret_key[0] == (uint8_t)i;
        ok &= rs.r[i].public_key[0] == (uint8_t)i;
    }
    CHECK(ok);
    agekey_identities_free(&ids);
    agekey_recipients_free(&rs);
    CHECK(ids.ids == NULL && ids.n == 0);
    CHECK(rs.r == NULL && rs.n == 0);
    agekey_identities_free(&ids);
    agekey_identities_free(NULL);
    agekey_recipients_free(NULL);
}

static void
test_identity_file(void)
{
    struct cm_err err = CM_ERR_INIT;
    struct age_identities ids = {NULL, 0};
    char path[512];

    write_file("ids.txt",
               "# created: 2024-01-01T00:00:00Z\n"
               "# public key: " CCTV_R "\n" CCTV_ID "\r\n"
               "\n"
               "# second\n" CCTV_ID2,
               path, sizeof path);
    CHECK(agekey_identities_load(path, NULL, &ids, &err) == 0);
    CHECK_INT_EQ(ids.n, 2);
    /* Appends. */
    CHECK(agekey_identities_load(path, NULL, &ids, &err) == 0);
    CHECK_INT_EQ(ids.n, 4);
    agekey_identities_free(&ids);

    /* A bad line: named by number, its text not quoted. */
    write_file("bad.txt",
               "# ok\n" CCTV_ID "\n\n"
               "AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48"
               "UAWX40Q2P2LM1\n",
               path, sizeof path);
    CHECK(agekey_identities_load(path, NULL, &ids, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    CHECK_STR_HAS(err.msg, "line 4");
    CHECK_STR_HAS(err.msg, "bad.txt");
    CHECK(strstr(err.msg, "EGTZVFF") == NULL);
    CHECK_INT_EQ(ids.n, 0);
    cm_err_clear(&err);

    write_file("long.txt", CCTV_ID CCTV_ID "\n", path, sizeof path);
    CHECK(agekey_identities_load(path, NULL, &ids, &err) == -1);
    CHECK_STR_HAS(err.msg, "line 1");
    cm_err_clear(&err);

    write_file("ssh.txt", "-----BEGIN OPENSSH PRIVATE KEY-----\n", path,
               sizeof path);
    CHECK(agekey_identities_load(path, NULL, &ids, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    CHECK_STR_HAS(err.msg, "line 1");
    cm_err_clear(&err);

    write_file("empty.txt", "# nothing here\n\n", path, sizeof path);
    CHECK(agekey_identities_load(path, NULL, &ids, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    cm_err_clear(&err);

    snprintf(path, sizeof path, "%s/missing.txt", tmpdir);
    CHECK(agekey_identities_load(path, NULL, &ids, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EIO);
    CHECK_STR_HAS(err.msg, "missing.txt");
    agekey_identities_free(&ids);
}

static void
test_recipients_file(void)
{
    struct cm_err err = CM_ERR_INIT;
    struct age_recipients rs = {NULL, 0};
    char path[512];

    write_file("r.txt", "# team\n" CCTV_R "\r\n\n# backup\n" CCTV_R2 "\n", path,
               sizeof path);
    CHECK(agekey_recipients_load(path, &rs, &err) == 0);
    CHECK_INT_EQ(rs.n, 2);
    agekey_recipients_free(&rs);

    write_file("rssh.txt",
               CCTV_R "\n# x\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI x@y\n",
               path, sizeof path);
    CHECK(agekey_recipients_load(path, &rs, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    CHECK_STR_HAS(err.msg, "line 3");
    CHECK_INT_EQ(rs.n, 0);
    cm_err_clear(&err);

    write_file("rbad.txt", CCTV_R "\nage1notakey\n", path, sizeof path);
    CHECK(agekey_recipients_load(path, &rs, &err) == -1);
    CHECK_STR_HAS(err.msg, "line 2");
    cm_err_clear(&err);

    write_file("rnone.txt", "# none\n", path, sizeof path);
    CHECK(agekey_recipients_load(path, &rs, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    agekey_recipients_free(&rs);
}

struct membuf {
    uint8_t *p;
    size_t len;
};

static int
mem_sink(void *ctx, const void *p, size_t len, struct cm_err *err)
{
    struct membuf *m = ctx;
    uint8_t *q = realloc(m->p, m->len + len + 1);

    if (q == NULL)
        return cm_fail(err, CM_EINTERNAL, "out of memory");
    memcpy(q + m->len, p, len);
    m->p = q;
    m->len += len;
    return 0;
}

static int
fixed_passphrase(void *ctx, char *buf, size_t size, const char *prompt,
                 struct cm_err *err)
{
    (void)prompt;
    (void)err;
    snprintf(buf, size, "%s", (const char *)ctx);
    return 0;
}

/* age's armor: 64-column padded base64 between BEGIN and END lines. */
static char *
armor(const uint8_t *p, size_t len)
{
    char *out = malloc(len * 2 + 200), *o = out;

    o += sprintf(o, "-----BEGIN AGE ENCRYPTED FILE-----\n");
    for (size_t off = 0; off < len; off += 48) {
        static const char a[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        size_t n = len - off < 48 ? len - off : 48;
        for (size_t i = 0; i < n; i += 3) {
            uint32_t v = (uint32_t)p[off + i] << 16;
            if (i + 1 < n)
                v |= (uint32_t)p[off + i + 1] << 8;
            if (i + 2 < n)
                v |= p[off + i + 2];
            *o++ = a[v >> 18];
            *o++ = a[(v >> 12) & 63];
            *o++ = i + 1 < n ? a[(v >> 6) & 63] : '=';
            *o++ = i + 2 < n ? a[v & 63] : '=';
        }
        *o++ = '\n';
    }
    sprintf(o, "-----END AGE ENCRYPTED FILE-----\n");
    return out;
}

static void
test_encrypted_identity_file(void)
{
    static const char text[] = "# encrypted\n" CCTV_ID "\n";
    struct cm_err err = CM_ERR_INIT;
    struct age_identities ids = {NULL, 0};
    struct agekey_passphrase_source good = {fixed_passphrase, "correct"};
    struct agekey_passphrase_source bad = {fixed_passphrase, "wrong"};
    struct age_recipient r;
    struct age_writer *w = NULL;
    struct membuf ct = {NULL, 0};
    char path[512], apath[512], *armored;
    FILE *f;

    CHECK(agekey_recipient_scrypt("correct", 10, &r, &err) == 0);
    CHECK(age_writer_new(&r, 1, mem_sink, &ct, &w, &err) == 0);
    CHECK(age_writer_write(w, text, strlen(text), &err) == 0);
    CHECK(age_writer_finish(w, &err) == 0);
    age_writer_free(w);
    snprintf(path, sizeof path, "%s/enc.age", tmpdir);
    f = fopen(path, "wb");
    fwrite(ct.p, 1, ct.len, f);
    fclose(f);
    armored = armor(ct.p, ct.len);
    write_file("enc.age.asc", armored, apath, sizeof apath);
    free(armored);

    CHECK(agekey_identities_load(path, &good, &ids, &err) == 0);
    CHECK_INT_EQ(ids.n, 1);
    CHECK(agekey_identities_load(apath, &good, &ids, &err) == 0);
    CHECK_INT_EQ(ids.n, 2);
    CHECK_INT_EQ(ids.ids[1].kind, AGEKEY_X25519);
    agekey_identities_free(&ids);

    CHECK(agekey_identities_load(path, &bad, &ids, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EAUTH);
    CHECK_STR_HAS(err.msg, "enc.age");
    cm_err_clear(&err);
    CHECK(agekey_identities_load(path, NULL, &ids, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EUSAGE);
    CHECK_INT_EQ(ids.n, 0);
    free(ct.p);
}

int
main(void)
{
    const char *t = getenv("TMPDIR");
    char cmd[300];

    snprintf(tmpdir, sizeof tmpdir, "%s/test_agekey.XXXXXX", t ? t : "/tmp");
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 2;
    }
    test_bech32_vectors();
    test_bech32_round_trip();
    test_cctv_keys();
    test_key_errors();
    test_generate();
    test_scrypt_keys();
    test_lists();
    test_identity_file();
    test_recipients_file();
    test_encrypted_identity_file();
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    return check_report();
}
