/*
 * minisig: round trips, golden files made by minisign 0.11, tampering,
 * malformed input (each with its code and message), and key files.
 */
#include "minisig.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "enc.h"
#include "io.h"

#define MSG "coldmail minisig test message\n"

static void
data_path(char *out, size_t size, const char *name)
{
    const char *dir = getenv("TESTDATA");

    snprintf(out, size, "%s/minisig/%s", dir ? dir : "test/data", name);
}

static void
read_data(const char *name, struct buf *b)
{
    struct cm_err err = CM_ERR_INIT;
    char path[4096];

    data_path(path, sizeof path, name);
    buf_init(b, MINISIG_FILE_MAX);
    CHECK(io_read_file(path, MINISIG_FILE_MAX, b, &err) == 0);
    CHECK(buf_cstr(b, &err) != NULL);
    if (err.code != CM_OK)
        fprintf(stderr, "%s\n", err.msg);
}

static void
load_pub(const char *name, struct minisig_pubkey *pk)
{
    struct cm_err err = CM_ERR_INIT;
    char path[4096];

    data_path(path, sizeof path, name);
    CHECK(minisig_pubkey_load(path, pk, &err) == 0);
}

static void
load_sec(const char *name, struct minisig_seckey *sk)
{
    struct cm_err err = CM_ERR_INIT;
    char path[4096];

    data_path(path, sizeof path, name);
    CHECK(minisig_seckey_load(path, sk, &err) == 0);
    if (err.code != CM_OK)
        fprintf(stderr, "%s\n", err.msg);
}

static int
verify_str(const struct minisig_pubkey *pk, const char *msg, const char *sig,
           char *comment, struct cm_err *err)
{
    cm_err_clear(err);
    return minisig_verify(pk, msg, strlen(msg), sig, strlen(sig), comment, err);
}

static void
sign_str(const struct minisig_seckey *sk, const char *msg, const char *tc,
         struct buf *out)
{
    struct cm_err err = CM_ERR_INIT;

    buf_init(out, MINISIG_FILE_MAX);
    CHECK(minisig_sign(sk, msg, strlen(msg), "test", tc, out, &err) == 0);
    CHECK(buf_cstr(out, &err) != NULL);
}

/* Signatures made by the real minisign, prehashed and legacy, and ours. */
static void
test_golden(void)
{
    static const struct {
        const char *pub, *sig, *comment;
    } cases[] = {
        {"minisign.pub", "msg.txt.minisig", "golden: minisign 0.11, prehashed"},
        {"minisign.pub", "msg.txt.legacy.minisig",
         "golden: minisign 0.11, legacy"},
        {"coldmail.key.pub", "msg.txt.coldmail.minisig", "golden: coldmail"},
    };
    char comment[MINISIG_COMMENT_MAX + 1];
    struct cm_err err = CM_ERR_INIT;

    for (size_t i = 0; i < CM_ARRAY_LEN(cases); i++) {
        struct minisig_pubkey pk;
        struct buf sig;

        load_pub(cases[i].pub, &pk);
        read_data(cases[i].sig, &sig);
        CHECK(verify_str(&pk, MSG, (char *)sig.data, comment, &err) == 0);
        CHECK_STR_EQ(comment, cases[i].comment);
        CHECK(verify_str(&pk, MSG "x", (char *)sig.data, NULL, &err) == -1);
        CHECK_INT_EQ(err.code, CM_EAUTH);
        buf_free(&sig);
    }
}

/* minisign -G -W writes a zero checksum; our own files carry a real one. */
static void
test_golden_keys(void)
{
    struct minisig_seckey sk;
    struct minisig_pubkey pk, from_sk;
    char comment[MINISIG_COMMENT_MAX + 1];
    struct cm_err err = CM_ERR_INIT;
    struct buf sig;

    load_sec("minisign.key", &sk);
    load_pub("minisign.pub", &pk);
    minisig_seckey_pubkey(&sk, &from_sk);
    CHECK_MEM_EQ(&pk, &from_sk, sizeof pk);
    sign_str(&sk, MSG, "ours, with minisign's key", &sig);
    CHECK(verify_str(&pk, MSG, (char *)sig.data, comment, &err) == 0);
    CHECK_STR_EQ(comment, "ours, with minisign's key");
    buf_free(&sig);
    minisig_seckey_wipe(&sk);

    load_sec("coldmail.key", &sk);
    load_pub("coldmail.key.pub", &pk);
    minisig_seckey_pubkey(&sk, &from_sk);
    CHECK_MEM_EQ(&pk, &from_sk, sizeof pk);
    minisig_seckey_wipe(&sk);

    load_sec("unwrapped.key", &sk);
    load_pub("unwrapped.pub", &pk);
    minisig_seckey_pubkey(&sk, &from_sk);
    CHECK_MEM_EQ(&pk, &from_sk, sizeof pk);
    minisig_seckey_wipe(&sk);
}

static void
seckey_bin(const char *text, uint8_t bin[158])
{
    struct cm_err err = CM_ERR_INIT;
    const char *line = strchr(text, '\n') + 1;

    CHECK(b64_decode(bin, 158, line, 212, B64_PADDED, "key", &err) == 158);
}

/*
 * unwrapped.key was encrypted by minisign and then unwrapped with -C -W,
 * so it carries minisign's own BLAKE2b-256 checksum: ours must be equal.
 */
static void
test_checksum_matches_minisign(void)
{
    uint8_t theirs[158], ours[158];
    struct minisig_seckey sk;
    struct cm_err err = CM_ERR_INIT;
    struct buf file, text;

    read_data("unwrapped.key", &file);
    seckey_bin((char *)file.data, theirs);
    load_sec("unwrapped.key", &sk);
    buf_init_secret(&text, MINISIG_FILE_MAX);
    CHECK(minisig_seckey_format(&sk, &text, &err) == 0);
    CHECK(buf_cstr(&text, &err) != NULL);
    seckey_bin((char *)text.data, ours);
    CHECK_MEM_EQ(ours + 126, theirs + 126, 32);
    CHECK_MEM_EQ(ours + 54, theirs + 54, 126 - 54); /* key id, key */
    minisig_seckey_wipe(&sk);
    buf_free(&text);
    buf_free(&file);
}

static void
test_keyid_hex(void)
{
    static const uint8_t id[MINISIG_KEYID_SIZE] = {0x99, 0x9d, 0xdf, 0xae,
                                                   0xbd, 0x4c, 0xfd, 0x0c};
    char hex[MINISIG_KEYID_HEX_LEN];

    /* As minisign prints it: a little-endian u64, zero-padded. */
    minisig_keyid_hex(id, hex);
    CHECK_STR_EQ(hex, "0CFD4CBDAEDF9D99");
}

static void
test_round_trip(void)
{
    struct minisig_seckey sk;
    struct minisig_pubkey pk;
    char comment[MINISIG_COMMENT_MAX + 1];
    struct cm_err err = CM_ERR_INIT;
    struct buf sig, again;
    uint8_t id[MINISIG_KEYID_SIZE];

    CHECK(minisig_keypair_generate(&sk, &pk, &err) == 0);
    sign_str(&sk, "", "empty\tmessage", &sig);
    CHECK(verify_str(&pk, "", (char *)sig.data, comment, &err) == 0);
    CHECK_STR_EQ(comment, "empty\tmessage");
    CHECK(minisig_verify(&pk, NULL, 0, (char *)sig.data, sig.len, NULL, &err) ==
          0);
    CHECK(minisig_sig_keyid((char *)sig.data, sig.len, id, &err) == 0);
    CHECK_MEM_EQ(id, pk.keyid, sizeof id);
    CHECK(strncmp((char *)sig.data, "untrusted comment: test\nRU", 26) == 0);
    /* Ed25519 is deterministic. */
    sign_str(&sk, "", "empty\tmessage", &again);
    CHECK_STR_EQ((char *)sig.data, (char *)again.data);
    buf_free(&sig);
    buf_free(&again);

    sign_str(&sk, "x", "", &sig);
    CHECK(verify_str(&pk, "x", (char *)sig.data, comment, &err) == 0);
    CHECK_STR_EQ(comment, "");
    buf_free(&sig);
    minisig_seckey_wipe(&sk);
}

static void
test_comment_limits(void)
{
    char tc[MINISIG_COMMENT_MAX + 2], comment[MINISIG_COMMENT_MAX + 1];
    struct minisig_seckey sk;
    struct minisig_pubkey pk;
    struct cm_err err = CM_ERR_INIT;
    struct buf sig;

    CHECK(minisig_keypair_generate(&sk, &pk, &err) == 0);
    memset(tc, 'c', MINISIG_COMMENT_MAX);
    tc[MINISIG_COMMENT_MAX] = '\0';
    sign_str(&sk, "m", tc, &sig);
    CHECK(verify_str(&pk, "m", (char *)sig.data, comment, &err) == 0);
    CHECK_STR_EQ(comment, tc);
    buf_free(&sig);

    buf_init(&sig, MINISIG_FILE_MAX);
    strcpy(tc + MINISIG_COMMENT_MAX, "c");
    CHECK(minisig_sign(&sk, "m", 1, NULL, tc, &sig, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EUSAGE);
    CHECK_STR_HAS(err.msg, "trusted comment is longer than 1024 bytes");
    cm_err_clear(&err);
    CHECK(minisig_sign(&sk, "m", 1, NULL, "two\nlines", &sig, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EUSAGE);
    CHECK_STR_HAS(err.msg, "trusted comment must be a single line");
    cm_err_clear(&err);
    /* minisign cannot read a longer untrusted comment line. */
    tc[MINISIG_UNTRUSTED_COMMENT_MAX] = '\0';
    CHECK(minisig_sign(&sk, "m", 1, tc, "", &sig, &err) == 0);
    buf_reset(&sig);
    strcpy(tc + MINISIG_UNTRUSTED_COMMENT_MAX, "c");
    CHECK(minisig_sign(&sk, "m", 1, tc, "", &sig, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EUSAGE);
    CHECK_STR_HAS(err.msg, "untrusted comment is longer than 1003 bytes");
    cm_err_clear(&err);
    CHECK(minisig_sign(&sk, "m", 1, "cr\r", "ok", &sig, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EUSAGE);
    CHECK_STR_HAS(err.msg, "untrusted comment must be a single line");
    CHECK_INT_EQ(sig.len, 0);
    buf_free(&sig);
    minisig_seckey_wipe(&sk);
}

/* The four lines of a signature, to be changed one at a time. */
#define SIG_LINE_SIZE (MINISIG_COMMENT_MAX + 64)
struct sig_lines {
    char line[4][SIG_LINE_SIZE];
};

static char scratch[4 * (SIG_LINE_SIZE + 2) + 1];

static void
split_sig(const char *text, struct sig_lines *s)
{
    for (int i = 0; i < 4; i++) {
        const char *nl = strchr(text, '\n');
        size_t n = nl ? (size_t)(nl - text) : strlen(text);
        snprintf(s->line[i], sizeof s->line[i], "%.*s", (int)n, text);
        text += nl ? n + 1 : n;
    }
}

static const char *
join_sig(const struct sig_lines *s, const char *eol)
{
    snprintf(scratch, sizeof scratch, "%s%s%s%s%s%s%s%s", s->line[0], eol,
             s->line[1], eol, s->line[2], eol, s->line[3], eol);
    return scratch;
}

static void
expect_fail(const struct minisig_pubkey *pk, const char *sig, enum cm_code code,
            const char *needle)
{
    struct cm_err err = CM_ERR_INIT;

    CHECK(verify_str(pk, MSG, sig, NULL, &err) == -1);
    CHECK_INT_EQ(err.code, code);
    CHECK_STR_HAS(err.msg, needle);
}

static void
test_tampering(void)
{
    struct minisig_pubkey pk, other;
    struct minisig_seckey sk;
    struct cm_err err = CM_ERR_INIT;
    struct sig_lines s, t;
    struct buf sig;

    load_pub("minisign.pub", &pk);
    read_data("msg.txt.minisig", &sig);
    split_sig((char *)sig.data, &s);

    t = s;
    strcpy(t.line[2], "trusted comment: golden: minisign 0.11, prehashed!");
    expect_fail(&pk, join_sig(&t, "\n"), CM_EAUTH,
                "trusted comment signature does not verify");
    t = s;
    t.line[3][5] = t.line[3][5] == 'A' ? 'B' : 'A';
    expect_fail(&pk, join_sig(&t, "\n"), CM_EAUTH,
                "trusted comment signature does not verify");
    /* A prehashed signature relabelled as legacy signs other bytes. */
    t = s;
    t.line[1][1] = 'W';
    expect_fail(&pk, join_sig(&t, "\n"), CM_EAUTH, "signature does not verify");

    CHECK(minisig_keypair_generate(&sk, &other, &err) == 0);
    expect_fail(&other, (char *)sig.data, CM_ENOKEY,
                "signature is by key 3BE8FC0640133981, but the public key "
                "is ");
    memcpy(other.keyid, pk.keyid, sizeof other.keyid);
    expect_fail(&other, (char *)sig.data, CM_EAUTH,
                "signature does not verify");
    minisig_seckey_wipe(&sk);
    buf_free(&sig);
}

static void
test_line_endings(void)
{
    struct minisig_pubkey pk;
    struct cm_err err = CM_ERR_INIT;
    struct sig_lines s;
    struct buf sig;
    char comment[MINISIG_COMMENT_MAX + 1];

    load_pub("minisign.pub", &pk);
    read_data("msg.txt.minisig", &sig);
    split_sig((char *)sig.data, &s);
    CHECK(verify_str(&pk, MSG, join_sig(&s, "\r\n"), comment, &err) == 0);
    CHECK_STR_EQ(comment, "golden: minisign 0.11, prehashed");
    /* The last line may lack its end, as minisign allows. */
    scratch[strlen(scratch) - 2] = '\0';
    CHECK(verify_str(&pk, MSG, scratch, comment, &err) == 0);
    CHECK_STR_EQ(comment, "golden: minisign 0.11, prehashed");
    buf_free(&sig);
}

/* Wrong prefixes, base64, algorithm, characters: one line at a time. */
static void
test_malformed_lines(void)
{
    struct minisig_pubkey pk;
    struct sig_lines s, t;
    struct buf sig;

    load_pub("minisign.pub", &pk);
    read_data("msg.txt.minisig", &sig);
    split_sig((char *)sig.data, &s);

    t = s;
    strcpy(t.line[0], "comment: x");
    expect_fail(&pk, join_sig(&t, "\n"), CM_EFORMAT,
                "signature: line 1 does not start with \"untrusted "
                "comment:\"");
    t = s;
    strcpy(t.line[2], "Trusted comment: x");
    expect_fail(&pk, join_sig(&t, "\n"), CM_EFORMAT,
                "line 3 does not start with \"trusted comment:\"");
    t = s;
    t.line[1][10] = '*';
    expect_fail(&pk, join_sig(&t, "\n"), CM_EFORMAT,
                "signature: line 2: invalid base64 character");
    t = s;
    t.line[1][40] = '\0';
    expect_fail(&pk, join_sig(&t, "\n"), CM_EFORMAT,
                "signature: line 2: expected 100 characters of base64");
    t = s;
    memcpy(t.line[1], "RXS", 3); /* algorithm "Et" */
    expect_fail(&pk, join_sig(&t, "\n"), CM_EFORMAT,
                "signature: unsupported signature algorithm");
    t = s;
    /* The last character of 64 bytes in base64 has 4 unused bits. */
    t.line[3][85]++;
    expect_fail(&pk, join_sig(&t, "\n"), CM_EFORMAT, "non-canonical base64");
    t = s;
    t.line[2][20] = '\r';
    expect_fail(&pk, join_sig(&t, "\n"), CM_EFORMAT,
                "line 3: stray carriage return");
    t = s;
    t.line[3][0] = '\0';
    expect_fail(&pk, join_sig(&t, "\n"), CM_EFORMAT, "line 4: expected 88");
    buf_free(&sig);
}

/* Missing and extra lines, and the size limits. */
static void
test_malformed_shape(void)
{
    struct minisig_pubkey pk;
    struct sig_lines s, t;
    struct buf sig;
    char big[MINISIG_FILE_MAX + 2];

    load_pub("minisign.pub", &pk);
    read_data("msg.txt.minisig", &sig);
    split_sig((char *)sig.data, &s);

    expect_fail(&pk, "", CM_EFORMAT, "signature: line 1 is missing");
    snprintf(big, sizeof big, "%s\n%s\n%s\n", s.line[0], s.line[1], s.line[2]);
    expect_fail(&pk, big, CM_EFORMAT, "signature: line 4 is missing");
    snprintf(big, sizeof big, "%s\n", join_sig(&s, "\n"));
    expect_fail(&pk, big, CM_EFORMAT, "unexpected text after line 4");

    t = s;
    strcpy(t.line[2], "trusted comment: ");
    memset(t.line[2] + 17, 'x', MINISIG_COMMENT_MAX + 1);
    t.line[2][17 + MINISIG_COMMENT_MAX + 1] = '\0';
    expect_fail(&pk, join_sig(&t, "\n"), CM_EFORMAT,
                "line 3: comment is longer than 1024 bytes");

    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    expect_fail(&pk, big, CM_EFORMAT, "signature: longer than 8192 bytes");
    buf_free(&sig);
}

/* A NUL inside the text is refused, not read as the end of a C string. */
static void
test_nul_byte(void)
{
    struct minisig_pubkey pk;
    struct cm_err err = CM_ERR_INIT;
    struct buf sig;
    char *copy;

    load_pub("minisign.pub", &pk);
    read_data("msg.txt.minisig", &sig);
    copy = malloc(sig.len);
    CHECK(copy != NULL);
    if (copy == NULL)
        return;
    memcpy(copy, sig.data, sig.len);
    copy[strchr(copy, '\n') - copy - 1] = '\0';
    CHECK(minisig_verify(&pk, MSG, strlen(MSG), copy, sig.len, NULL, &err) ==
          -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    CHECK_STR_HAS(err.msg, "signature: line 1: NUL byte");
    free(copy);
    buf_free(&sig);
}

static void
expect_pub_fail(const char *text, const char *needle)
{
    struct minisig_pubkey pk;
    struct cm_err err = CM_ERR_INIT;

    CHECK(minisig_pubkey_parse(text, strlen(text), &pk, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    CHECK_STR_HAS(err.msg, needle);
}

static void
test_pubkey_forms(void)
{
    struct minisig_pubkey pk, back;
    char b64[MINISIG_PUBKEY_B64_LEN];
    struct cm_err err = CM_ERR_INIT;
    struct buf file, text;

    read_data("minisign.pub", &file);
    CHECK(minisig_pubkey_parse((char *)file.data, file.len, &pk, &err) == 0);
    minisig_pubkey_base64(&pk, b64);
    CHECK_STR_EQ(b64,
                 "RWSBORNABvzoOwFooBXWC56FX+QYpus6WxI6b+qScRqykwW+mh6HMbCG");
    CHECK(minisig_pubkey_parse(b64, strlen(b64), &back, &err) == 0);
    CHECK_MEM_EQ(&pk, &back, sizeof pk);
    buf_init(&text, MINISIG_FILE_MAX);
    CHECK(minisig_pubkey_format(&pk, &text, &err) == 0);
    CHECK(buf_cstr(&text, &err) != NULL);
    CHECK_STR_EQ((char *)text.data,
                 "untrusted comment: minisign public key 3BE8FC0640133981\n"
                 "RWSBORNABvzoOwFooBXWC56FX+QYpus6WxI6b+qScRqykwW+mh6HMbCG\n");
    CHECK(minisig_pubkey_parse((char *)text.data, text.len, &back, &err) == 0);
    CHECK_MEM_EQ(&pk, &back, sizeof pk);
    buf_free(&text);
    buf_free(&file);

    expect_pub_fail("", "public key: line 1 is missing");
    expect_pub_fail("untrusted comment: truncated\n",
                    "public key: line 2 is missing");
    expect_pub_fail("RWSBORNABvzoOwFooBXWC56FX+QYpus6WxI6b+qScRqykwW+mh6HMbC",
                    "expected 56 characters of base64");
    expect_pub_fail("RUSBORNABvzoOwFooBXWC56FX+QYpus6WxI6b+qScRqykwW+mh6HMbCG",
                    "public key: unsupported signature algorithm");
    expect_pub_fail("comment\nRWSBORNABvzoOwFooBXWC56FX+QYpus6WxI6b+qScRqykwW+"
                    "mh6HMbCG\n",
                    "public key: line 1 does not start with \"untrusted "
                    "comment:\"");
    expect_pub_fail("untrusted comment: x\nRWSBORNABvzoOwFooBXWC56FX+QYpus6WxI"
                    "6b+qScRqykwW+mh6HMbCG\nmore\n",
                    "public key: unexpected text after line 2");
}

static void
test_pubkey_load_errors(void)
{
    struct minisig_pubkey pk;
    struct cm_err err = CM_ERR_INIT;
    char path[4096];

    CHECK(minisig_pubkey_load("/nonexistent/k.pub", &pk, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EIO);
    CHECK_STR_HAS(err.msg, "/nonexistent/k.pub");
    cm_err_clear(&err);
    data_path(path, sizeof path, "msg.txt");
    CHECK(minisig_pubkey_load(path, &pk, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    CHECK_STR_HAS(err.msg,
                  "msg.txt: public key: line 1: expected 56 characters");
}

/* Decode the secret key line, let ${edit} change the bytes, re-encode. */
static void
edit_seckey(const char *name, void (*edit)(uint8_t *bin), char *out,
            size_t size)
{
    uint8_t bin[158];
    char b64[213];
    struct cm_err err = CM_ERR_INIT;
    struct buf file;
    const char *line;

    read_data(name, &file);
    line = strchr((char *)file.data, '\n') + 1;
    CHECK(b64_decode(bin, sizeof bin, line, 212, B64_PADDED, "key", &err) ==
          158);
    edit(bin);
    b64_encode(b64, bin, sizeof bin, 1);
    snprintf(out, size, "untrusted comment: edited\n%s\n", b64);
    buf_free(&file);
}

static void
make_scrypt(uint8_t *bin)
{
    memcpy(bin + 2, "Sc", 2);
}

static void
bad_kdf(uint8_t *bin)
{
    memcpy(bin + 2, "Ar", 2);
}

static void
bad_chkalg(uint8_t *bin)
{
    memcpy(bin + 4, "B3", 2);
}

static void
flip_checksum(uint8_t *bin)
{
    bin[157] ^= 1;
}

static void
flip_public_half(uint8_t *bin)
{
    bin[100] ^= 1;
}

static void
flip_public_half_and_zero_checksum(uint8_t *bin)
{
    bin[100] ^= 1;
    memset(bin + 126, 0, 32);
}

static void
keep(uint8_t *bin)
{
    (void)bin;
}

static void
expect_sec(const char *name, void (*edit)(uint8_t *), enum cm_code code,
           const char *needle)
{
    struct minisig_seckey sk;
    struct cm_err err = CM_ERR_INIT;
    char text[1024];

    edit_seckey(name, edit, text, sizeof text);
    CHECK(minisig_seckey_parse(text, strlen(text), &sk, &err) ==
          (code == CM_OK ? 0 : -1));
    CHECK_INT_EQ(err.code, code);
    if (needle != NULL)
        CHECK_STR_HAS(err.msg, needle);
    minisig_seckey_wipe(&sk);
}

static void
test_seckey(void)
{
    struct minisig_seckey sk, back;
    struct cm_err err = CM_ERR_INIT;
    struct buf text;

    expect_sec("coldmail.key", keep, CM_OK, NULL);
    expect_sec("minisign.key", keep, CM_OK, NULL);
    expect_sec("unwrapped.key", keep, CM_OK, NULL);
    expect_sec("unwrapped.key", flip_checksum, CM_EFORMAT,
               "secret key: checksum does not match");
    expect_sec("coldmail.key", make_scrypt, CM_EUSAGE, "minisign -G -W");
    expect_sec("coldmail.key", make_scrypt, CM_EUSAGE, "coldmail keygen");
    expect_sec("coldmail.key", bad_kdf, CM_EFORMAT,
               "unsupported key derivation function");
    expect_sec("coldmail.key", bad_chkalg, CM_EFORMAT,
               "unsupported checksum function");
    expect_sec("coldmail.key", flip_checksum, CM_EFORMAT,
               "secret key: checksum does not match");
    expect_sec("coldmail.key", flip_public_half, CM_EFORMAT,
               "secret key: checksum does not match");
    expect_sec("minisign.key", flip_public_half_and_zero_checksum, CM_EFORMAT,
               "secret key: public half does not match");

    load_sec("coldmail.key", &sk);
    buf_init_secret(&text, MINISIG_FILE_MAX);
    CHECK(minisig_seckey_format(&sk, &text, &err) == 0);
    CHECK(minisig_seckey_parse((char *)text.data, text.len, &back, &err) == 0);
    CHECK_MEM_EQ(&sk, &back, sizeof sk);
    CHECK(strncmp((char *)text.data, "untrusted comment: ", 19) == 0);
    buf_free(&text);
    minisig_seckey_wipe(&sk);
    minisig_seckey_wipe(&back);

    CHECK(minisig_seckey_parse("untrusted comment: x\n", 21, &sk, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    CHECK_STR_HAS(err.msg, "secret key: line 2 is missing");
}

static int
file_mode(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

static void
test_keygen_files(void)
{
    char dir[] = "/tmp/test_minisig.XXXXXX", key[64], pub[64], other[64];
    struct minisig_pubkey pk, loaded;
    struct minisig_seckey sk;
    struct cm_err err = CM_ERR_INIT;

    CHECK(mkdtemp(dir) != NULL);
    snprintf(key, sizeof key, "%s/k", dir);
    snprintf(pub, sizeof pub, "%s/k.pub", dir);
    snprintf(other, sizeof other, "%s/o", dir);
    umask(0);
    CHECK(minisig_keygen_files(key, &pk, &err) == 0);
    umask(022);
    CHECK_INT_EQ(file_mode(key), 0600);
    CHECK_INT_EQ(file_mode(pub), 0644);
    CHECK(minisig_pubkey_load(pub, &loaded, &err) == 0);
    CHECK_MEM_EQ(&pk, &loaded, sizeof pk);
    CHECK(minisig_seckey_load(key, &sk, &err) == 0);
    CHECK_MEM_EQ(sk.public_key, pk.key, sizeof pk.key);
    minisig_seckey_wipe(&sk);

    /* Existing secret key: refused, both files untouched. */
    CHECK(minisig_keygen_files(key, &loaded, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EIO);
    CHECK_STR_HAS(err.msg, "already exists, refusing to overwrite");
    cm_err_clear(&err);
    CHECK(minisig_pubkey_load(pub, &loaded, &err) == 0);
    CHECK_MEM_EQ(&pk, &loaded, sizeof pk);

    /* Existing public key only: refused, and no secret key left behind. */
    CHECK(rename(pub, other) == 0);
    CHECK(unlink(key) == 0);
    CHECK(symlink("o", pub) == 0);
    CHECK(minisig_keygen_files(key, &loaded, &err) == -1);
    CHECK_STR_HAS(err.msg, "k.pub: already exists");
    CHECK_INT_EQ(file_mode(key), -1);

    CHECK(unlink(pub) == 0);
    CHECK(unlink(other) == 0);
    CHECK(rmdir(dir) == 0);
}

int
main(void)
{
    test_keyid_hex();
    test_golden();
    test_golden_keys();
    test_checksum_matches_minisign();
    test_round_trip();
    test_comment_limits();
    test_tampering();
    test_line_endings();
    test_malformed_lines();
    test_malformed_shape();
    test_nul_byte();
    test_pubkey_forms();
    test_pubkey_load_errors();
    test_seckey();
    test_keygen_files();
    return check_report();
}
