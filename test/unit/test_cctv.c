/*
 * Every CCTV age vector (test/data/cctv-age/testdata, or $TESTDATA/
 * cctv-age/testdata) through age_stream, and the random-access reader
 * and the armor decoder where they apply.  Vectors that need a
 * post-quantum identity are skipped and counted.
 */
#include "age.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <zlib.h>

#include "enc.h"

#define VECTOR_MAX (64 * 1024 * 1024)

enum expect {
    X_SUCCESS,
    X_NO_MATCH,
    X_HMAC,
    X_HEADER,
    X_PAYLOAD,
    X_ARMOR,
    X_UNKNOWN
};

static const char *const expect_names[] = {"success",
                                           "no match",
                                           "HMAC failure",
                                           "header failure",
                                           "payload failure",
                                           "armor failure",
                                           NULL};

struct vector {
    const char *name;
    enum expect expect;
    uint8_t payload[32];
    int armored, compressed, pq, usable;
    struct age_identities ids;
    uint8_t *data;
    size_t len;
};

struct memsrc {
    const uint8_t *p;
    size_t len, pos, step;
};

static long
mem_read(void *ctx, void *p, size_t len, struct cm_err *err)
{
    struct memsrc *m = ctx;
    size_t take = m->len - m->pos;

    (void)err;
    if (take > len)
        take = len;
    if (m->step > 0 && take > m->step)
        take = m->step;
    memcpy(p, m->p + m->pos, take);
    m->pos += take;
    return (long)take;
}

static uint8_t *
read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *p = NULL;
    long n;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
        fseek(f, 0, SEEK_SET) == 0 && (p = malloc((size_t)n + 1)) != NULL &&
        fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        p = NULL;
    }
    if (p != NULL)
        *len = (size_t)n;
    fclose(f);
    return p;
}

static uint8_t *
inflate_all(const uint8_t *in, size_t inlen, size_t *outlen)
{
    z_stream z;
    size_t cap = inlen * 4 + 1024, len = 0;
    uint8_t *out = malloc(cap);
    int r = Z_OK;

    memset(&z, 0, sizeof z);
    if (out == NULL || inflateInit(&z) != Z_OK) {
        free(out);
        return NULL;
    }
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)inlen;
    while (r == Z_OK) {
        if (len == cap) {
            uint8_t *q = cap < VECTOR_MAX ? realloc(out, cap * 2) : NULL;
            if (q == NULL)
                break;
            out = q;
            cap *= 2;
        }
        z.next_out = out + len;
        z.avail_out = (uInt)(cap - len);
        r = inflate(&z, Z_NO_FLUSH);
        len = cap - z.avail_out;
    }
    inflateEnd(&z);
    if (r != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    *outlen = len;
    return out;
}

static int
add_identity(struct vector *v, const char *val, int scrypt)
{
    struct cm_err err = CM_ERR_INIT;
    struct age_identity id;
    int rc;

    if (!scrypt && strncmp(val, "AGE-SECRET-KEY-PQ-", 18) == 0) {
        v->pq = 1;
        return 0;
    }
    rc = scrypt ? agekey_identity_scrypt(val, &id, &err)
                : agekey_identity_parse(val, &id, &err);
    if (rc == 0)
        rc = agekey_identities_add(&v->ids, &id, &err);
    agekey_identity_wipe(&id);
    if (rc == 0)
        v->usable = 1;
    else
        fprintf(stderr, "%s: bad identity: %s\n", v->name, err.msg);
    return rc;
}

static int
header_key(struct vector *v, const char *key, const char *val)
{
    struct cm_err err = CM_ERR_INIT;

    if (strcmp(key, "expect") == 0) {
        for (v->expect = 0; expect_names[v->expect] != NULL; v->expect++)
            if (strcmp(val, expect_names[v->expect]) == 0)
                break;
        return v->expect == X_UNKNOWN ? -1 : 0;
    }
    if (strcmp(key, "payload") == 0)
        return hex_decode(v->payload, 32, val, strlen(val), "payload", &err);
    if (strcmp(key, "identity") == 0)
        return add_identity(v, val, 0);
    if (strcmp(key, "passphrase") == 0)
        return add_identity(v, val, 1);
    if (strcmp(key, "armored") == 0)
        v->armored = strcmp(val, "yes") == 0;
    if (strcmp(key, "compressed") == 0) {
        if (strcmp(val, "zlib") != 0)
            return -1;
        v->compressed = 1;
    }
    return 0;
}

/* The "key: value" lines up to the blank line, then the age file. */
static int
load_vector(const char *path, struct vector *v)
{
    size_t len = 0, pos = 0;
    uint8_t *raw = read_all(path, &len);
    int rc = -1;

    v->expect = X_UNKNOWN;
    if (raw == NULL)
        return -1;
    raw[len] = '\0';
    while (pos < len && raw[pos] != '\n') {
        char *line = (char *)raw + pos, *nl = strchr(line, '\n'), *sep;
        if (nl == NULL)
            goto out;
        *nl = '\0';
        pos = (size_t)(nl - (char *)raw) + 1;
        if ((sep = strstr(line, ": ")) == NULL)
            goto out;
        *sep = '\0';
        if (header_key(v, line, sep + 2) == -1)
            goto out;
    }
    if (pos >= len)
        goto out;
    pos++;
    if (v->compressed) {
        v->data = inflate_all(raw + pos, len - pos, &v->len);
    } else if ((v->data = malloc(len - pos + 1)) != NULL) {
        memcpy(v->data, raw + pos, len - pos);
        v->len = len - pos;
    }
    rc = v->data != NULL && v->expect != X_UNKNOWN ? 0 : -1;
out:
    free(raw);
    return rc;
}

/* What happened: the class age's vectors use, from the code and phase. */
static enum expect
classify(int rc, int phase, const struct cm_err *err)
{
    if (rc == 0)
        return X_SUCCESS;
    if (err->code == CM_EFORMAT && strstr(err->msg, "invalid armor"))
        return X_ARMOR;
    if (phase == 0 && err->code == CM_EFORMAT)
        return X_HEADER;
    if (phase == 0 && err->code == CM_ENOKEY)
        return X_NO_MATCH;
    if (phase == 0 && err->code == CM_EAUTH && strstr(err->msg, "header MAC"))
        return X_HMAC;
    if (phase == 1 && err->code == CM_EAUTH)
        return X_PAYLOAD;
    return X_UNKNOWN;
}

static int
run_stream(const struct vector *v, size_t step)
{
    struct memsrc src = {v->data, v->len, 0, step};
    struct cm_err err = CM_ERR_INIT;
    struct age_stream *s = NULL;
    uint8_t buf[8192], hash[32];
    EVP_MD_CTX *sha = EVP_MD_CTX_new();
    enum expect got;
    int rc = -1, phase = 0;
    long n = -1;

    if (sha == NULL || EVP_DigestInit_ex(sha, EVP_sha256(), NULL) != 1)
        abort();
    if (age_stream_open(mem_read, &src, v->name, &v->ids, &s, &err) == 0) {
        phase = 1;
        while ((n = age_stream_read(s, buf, sizeof buf, &err)) > 0)
            EVP_DigestUpdate(sha, buf, (size_t)n);
        rc = n == 0 ? 0 : -1;
    }
    EVP_DigestFinal_ex(sha, hash, NULL);
    EVP_MD_CTX_free(sha);
    age_stream_free(s);
    got = classify(rc, phase, &err);
    if (got != v->expect) {
        fprintf(stderr, "%s (step %zu): expected %s, got %s: %s\n", v->name,
                step, expect_names[v->expect],
                got == X_UNKNOWN ? "?" : expect_names[got], err.msg);
        return -1;
    }
    if ((got == X_SUCCESS || got == X_PAYLOAD) &&
        memcmp(hash, v->payload, 32) != 0) {
        fprintf(stderr, "%s (step %zu): released plaintext does not match\n",
                v->name, step);
        return -1;
    }
    return 0;
}

static int
check_armor(const struct vector *v)
{
    struct cm_err err = CM_ERR_INIT;
    uint8_t *out = malloc(v->len + 1);
    long n = age_armor_decode(v->data, v->len, out, v->len, v->name, &err);
    int ok = v->expect == X_ARMOR ? n == -1 && err.code == CM_EFORMAT : n >= 0;

    if (!ok)
        fprintf(stderr, "%s: age_armor_decode: %s\n", v->name,
                n < 0 ? err.msg : "succeeded");
    free(out);
    return ok ? 0 : -1;
}

/* A valid binary file reads the same through the random-access reader. */
static int
check_reader(const struct vector *v)
{
    const char *tmp = getenv("TMPDIR");
    struct cm_err err = CM_ERR_INIT;
    struct age_reader *r = NULL;
    uint8_t *buf = NULL, hash[32];
    uint64_t size = 0;
    char path[4096];
    int fd, ok = 0;

    snprintf(path, sizeof path, "%s/test_cctv.XXXXXX",
             tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
    fd = mkstemp(path);

    if (fd < 0 || write(fd, v->data, v->len) != (ssize_t)v->len)
        goto out;
    if (age_reader_open_fd(fd, v->name, &v->ids, &r, &err) == 0 &&
        age_reader_size(r, &size, &err) == 0 &&
        (buf = malloc(size + 1)) != NULL &&
        age_reader_pread(r, buf, size, 0, &err) == 0) {
        SHA256(buf, size, hash);
        ok = memcmp(hash, v->payload, 32) == 0;
    }
out:
    if (!ok)
        fprintf(stderr, "%s: random access: %s\n", v->name, err.msg);
    age_reader_free(r);
    free(buf);
    if (fd >= 0) {
        close(fd);
        unlink(path);
    }
    return ok ? 0 : -1;
}

static int
run_vector(const struct vector *v)
{
    if (run_stream(v, 0) == -1)
        return -1;
    /* One byte per read exercises every buffering path; skip the big
     * vectors, which only repeat what the small ones test. */
    if (v->len < 300000 && run_stream(v, 1) == -1)
        return -1;
    if (v->armored && check_armor(v) == -1)
        return -1;
    if (!v->armored && v->expect == X_SUCCESS && check_reader(v) == -1)
        return -1;
    return 0;
}

static const char *
find_dir(char *buf, size_t len)
{
    const char *env = getenv("TESTDATA");

    if (env != NULL && *env != '\0') {
        snprintf(buf, len, "%s/cctv-age/testdata", env);
        if (access(buf, R_OK) == 0)
            return buf;
        snprintf(buf, len, "%s", env);
        if (access(buf, R_OK) == 0)
            return buf;
    }
    return "test/data/cctv-age/testdata";
}

int
main(void)
{
    char dirbuf[4096], path[8192];
    const char *dir = find_dir(dirbuf, sizeof dirbuf);
    int passed = 0, failed = 0, skipped = 0, n;
    struct dirent **names;

    if ((n = scandir(dir, &names, NULL, alphasort)) < 0) {
        fprintf(stderr, "cctv: %s: cannot list\n", dir);
        return 1;
    }
    for (int i = 0; i < n; i++) {
        struct vector v;
        memset(&v, 0, sizeof v);
        v.name = names[i]->d_name;
        snprintf(path, sizeof path, "%s/%s", dir, v.name);
        if (v.name[0] == '.') {
        } else if (load_vector(path, &v) == -1) {
            fprintf(stderr, "%s: cannot load the vector\n", v.name);
            failed++;
        } else if (v.pq && !v.usable) {
            skipped++;
        } else if (run_vector(&v) == -1) {
            failed++;
        } else {
            passed++;
        }
        agekey_identities_free(&v.ids);
        free(v.data);
        free(names[i]);
    }
    free(names);
    printf("cctv: %d passed, %d failed, %d skipped (post-quantum)\n", passed,
           failed, skipped);
    return failed == 0 && passed > 0 ? 0 : 1;
}
