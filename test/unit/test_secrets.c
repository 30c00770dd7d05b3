/*
 * test_secrets: secrets are wiped.  The test is linked with
 * -Wl,--wrap=free,--wrap=realloc (tests.cmake), so every free() and
 * realloc() that libcoldmail's own code makes passes through the wrappers
 * below while the block is still allocated: each block given back is
 * searched for the secrets of the test (the identity's bech32 string and
 * its X25519 scalar, the passphrase, the signing key's seed and its
 * base64 line in the key file).  A secret found in a block that is freed,
 * or that realloc() moves (the old copy would be left behind), is a
 * failure.  Structs wiped in place (agekey_identity_wipe,
 * minisig_seckey_wipe) are inspected after the wipe.
 */
#include <fcntl.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "age.h"
#include "agekey.h"
#include "buf.h"
#include "cm.h"
#include "enc.h"
#include "io.h"
#include "minisig.h"

#include "check.h"

void __real_free(void *p);
void *__real_realloc(void *p, size_t n);
void __wrap_free(void *p);
void *__wrap_realloc(void *p, size_t n);

#define SECRETS_MAX 8

static struct {
    const void *p;
    size_t len;
    const char *what;
} secrets[SECRETS_MAX];
static size_t nsecrets;
static int watching;
static unsigned long leaks, blocks_seen;

static void
watch(const void *p, size_t len, const char *what)
{
    if (nsecrets < SECRETS_MAX && len > 0) {
        secrets[nsecrets].p = p;
        secrets[nsecrets].len = len;
        secrets[nsecrets].what = what;
        nsecrets++;
    }
}

static void
scan(const void *p, const char *how)
{
    size_t size;

    if (!watching || p == NULL)
        return;
    blocks_seen++;
    size = malloc_usable_size((void *)p);
    for (size_t i = 0; i < nsecrets; i++)
        if (secrets[i].len <= size &&
            memmem(p, size, secrets[i].p, secrets[i].len) != NULL) {
            leaks++;
            fprintf(stderr,
                    "test_secrets: %s of a block of %zu bytes that "
                    "still holds %s\n",
                    how, size, secrets[i].what);
        }
}

void
__wrap_free(void *p)
{
    scan(p, "free()");
    __real_free(p);
}

void *
__wrap_realloc(void *p, size_t n)
{
    scan(p, "realloc()");
    return __real_realloc(p, n);
}

static int
to_buf(void *ctx, const void *p, size_t len, struct cm_err *err)
{
    return buf_append(ctx, p, len, "ciphertext", err);
}

struct mem {
    const uint8_t *p;
    size_t len, pos;
};

static long
from_mem(void *ctx, void *p, size_t len, struct cm_err *err)
{
    struct mem *m = ctx;
    size_t n = m->len - m->pos < len ? m->len - m->pos : len;

    (void)err;
    memcpy(p, m->p + m->pos, n);
    m->pos += n;
    return (long)n;
}

static char dir[] = "/tmp/coldmail-secrets.XXXXXX";

static char *
path_in(const char *name)
{
    static char path[256];

    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

static int
all_zero(const void *p, size_t len)
{
    const uint8_t *q = p;

    for (size_t i = 0; i < len; i++)
        if (q[i] != 0)
            return 0;
    return 1;
}

/* Identities: loaded from a file, used, freed. */
static void
test_identities(void)
{
    struct age_identity id, copy;
    struct age_identities ids = {NULL, 0};
    struct age_recipient r;
    struct cm_err err = CM_ERR_INIT;
    char text[128], file[256];
    struct buf b;

    CHECK(agekey_identity_generate(&id, &err) == 0);
    agekey_identity_format(&id, text);
    snprintf(file, sizeof file, "# created: now\n%s\n", text);
    CHECK(io_write_file_excl(path_in("id.txt"), file, strlen(file), 0600,
                             &err) == 0);
    CHECK(agekey_identity_recipient(&id, &r, &err) == 0);
    nsecrets = 0;
    watch(text, strlen(text), "the identity (bech32)");
    watch(id.secret_key, sizeof id.secret_key, "the identity's scalar");
    watching = 1;
    CHECK(agekey_identities_load(path_in("id.txt"), NULL, &ids, &err) == 0);
    CHECK_INT_EQ(ids.n, 1);
    CHECK(ids.n == 1 && memcmp(ids.ids[0].secret_key, id.secret_key, 32) == 0);
    /* Encrypt to them and decrypt: the file key and payload keys come and
     * go; nothing the identity is copied into may be left unwiped. */
    {
        struct age_writer *w = NULL;
        struct age_stream *s = NULL;
        struct mem m = {NULL, 0, 0};
        uint8_t out[64];
        long n;
        buf_init(&b, 1 << 20);
        CHECK(age_writer_new(&r, 1, to_buf, &b, &w, &err) == 0 &&
              age_writer_write(w, "plaintext", 9, &err) == 0 &&
              age_writer_finish(w, &err) == 0);
        age_writer_free(w);
        m.p = b.data;
        m.len = b.len;
        CHECK(age_stream_open(from_mem, &m, "mem", &ids, &s, &err) == 0);
        n = s != NULL ? age_stream_read(s, out, sizeof out, &err) : -1;
        CHECK(n == 9 && memcmp(out, "plaintext", 9) == 0);
        age_stream_free(s);
        buf_free(&b);
    }
    agekey_identities_free(&ids);
    CHECK(ids.ids == NULL && ids.n == 0);

    /* agekey_identities_add copies; its copy is wiped on free too. */
    CHECK(agekey_identities_add(&ids, &id, &err) == 0);
    agekey_identities_free(&ids);

    /* In place: nothing of the secret is left in the struct. */
    copy = id;
    agekey_identity_wipe(&copy);
    CHECK(all_zero(copy.secret_key, sizeof copy.secret_key));
    CHECK(all_zero(&copy, sizeof copy));
    watching = 0;
    agekey_identity_wipe(&id);
    OPENSSL_cleanse(text, sizeof text);
    OPENSSL_cleanse(file, sizeof file);
}

/* A passphrase identity and recipient: the passphrase is wiped. */
static void
test_passphrase(void)
{
    static const char pass[] = "correct horse battery staple 7";
    struct age_identity id;
    struct age_identities ids = {NULL, 0};
    struct age_recipients rs = {NULL, 0};
    struct age_recipient r;
    struct cm_err err = CM_ERR_INIT;

    nsecrets = 0;
    watch(pass, strlen(pass), "the passphrase");
    watching = 1;
    CHECK(agekey_identity_scrypt(pass, &id, &err) == 0);
    CHECK(agekey_identities_add(&ids, &id, &err) == 0);
    agekey_identities_free(&ids);
    CHECK(agekey_recipient_scrypt(pass, 10, &r, &err) == 0);
    CHECK(agekey_recipients_add(&rs, &r, &err) == 0);
    agekey_recipients_free(&rs);
    agekey_identity_wipe(&id);
    CHECK(all_zero(&id, sizeof id));
    watching = 0;
    OPENSSL_cleanse(&r, sizeof r);
}

/* The signing key: made into files, loaded, used, wiped. */
static void
test_signing_key(void)
{
    struct minisig_seckey sk, copy;
    struct minisig_pubkey pk;
    struct cm_err err = CM_ERR_INIT;
    struct buf text, sig;
    char *line = NULL, *nl;

    CHECK(minisig_keygen_files(path_in("sign.key"), &pk, &err) == 0);
    buf_init_secret(&text, 4096);
    CHECK(io_read_file(path_in("sign.key"), 4096, &text, &err) == 0);
    /* The base64 line after the untrusted comment holds the seed. */
    if (text.len > 0 && (line = memchr(text.data, '\n', text.len)) != NULL) {
        line++;
        nl = memchr(line, '\n', text.len - (size_t)(line - (char *)text.data));
        if (nl != NULL)
            *nl = '\0';
    }
    CHECK(minisig_seckey_load(path_in("sign.key"), &sk, &err) == 0);
    nsecrets = 0;
    if (line != NULL)
        watch(line, strlen(line), "the signing key file's key line");
    watch(sk.seed, sizeof sk.seed, "the signing key's seed");
    watching = 1;
    {
        struct minisig_seckey again;
        CHECK(minisig_seckey_load(path_in("sign.key"), &again, &err) == 0);
        CHECK(memcmp(again.seed, sk.seed, 32) == 0);
        minisig_seckey_wipe(&again);
        CHECK(all_zero(&again, sizeof again));
    }
    buf_init(&sig, 4096);
    CHECK(minisig_sign(&sk, "message", 7, NULL, "trusted", &sig, &err) == 0);
    buf_free(&sig);
    {
        struct buf fmt;
        buf_init_secret(&fmt, 4096);
        CHECK(minisig_seckey_format(&sk, &fmt, &err) == 0);
        buf_free(&fmt);
    }
    copy = sk;
    minisig_seckey_wipe(&copy);
    CHECK(all_zero(copy.seed, sizeof copy.seed));
    watching = 0;
    minisig_seckey_wipe(&sk);
    buf_free(&text);
}

/* buf_init_secret: every copy, including those growth leaves, is wiped. */
static void
test_secret_buf(void)
{
    static const char pattern[] = "SECRET-PATTERN-0123456789";
    struct buf b;

    nsecrets = 0;
    watch(pattern, strlen(pattern), "a secret buffer's content");
    watching = 1;
    buf_init_secret(&b, 1 << 20);
    for (int i = 0; i < 2000; i++)
        CHECK(buf_append(&b, pattern, strlen(pattern), "test", NULL) == 0);
    buf_free(&b);
    {
        char *p = malloc(4096);
        if (p != NULL) {
            memcpy(p, pattern, strlen(pattern));
            cm_free_secret(p, 4096);
        }
    }
    watching = 0;
}

/* The wrappers see the frees at all (else the test proves nothing). */
static void
test_wrappers_work(void)
{
    static const char pattern[] = "UNWIPED-CANARY";
    unsigned long before = leaks;
    struct buf b;

    nsecrets = 0;
    watch(pattern, strlen(pattern), "the canary (expected)");
    watching = 1;
    buf_init(&b, 4096);
    CHECK(buf_append(&b, pattern, strlen(pattern), "test", NULL) == 0);
    fprintf(stderr, "(a canary that is not wiped, on purpose:)\n");
    buf_free(&b);
    watching = 0;
    CHECK_INT_EQ(leaks, before + 1);
    leaks = before;
}

int
main(void)
{
    CHECK(mkdtemp(dir) != NULL);
    test_wrappers_work();
    test_identities();
    test_passphrase();
    test_signing_key();
    test_secret_buf();
    fprintf(stderr, "test_secrets: %lu blocks searched\n", blocks_seen);
    CHECK(blocks_seen > 10);
    CHECK_INT_EQ(leaks, 0);
    unlink(path_in("id.txt"));
    unlink(path_in("sign.key"));
    unlink(path_in("sign.key.pub"));
    rmdir(dir);
    return check_report();
}
