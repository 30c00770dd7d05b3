/* manifest: format/parse round trip, and strictness with line numbers. */
#include "manifest.h"

#include "check.h"

static void
sample(struct manifest *m)
{
    struct cm_err err = CM_ERR_INIT;
    struct manifest_file *f;

    manifest_init(m);
    for (int i = 0; i < MANIFEST_SET_ID_SIZE; i++)
        m->set_id[i] = (uint8_t)(i * 11);
    manifest_set_text(&m->host, "mail.example.org", "host", &err);
    manifest_set_text(&m->label, "weekly disk 3", "label", &err);
    manifest_set_text(&m->kind, "full", "kind", &err);
    m->created = 1764369758;
    m->sequence = 7;
    m->has_previous = 1;
    memset(m->previous, 0xab, 32);
    manifest_add_store(m, "vmail", "/var/vmail", &err);
    manifest_add_recipient(m, "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p", &err);
    memcpy(m->signer_key_id, "0123456789ABCDEF", 17);
    memcpy(m->signer_public_key,
           "RWQBI0VniavN7/vKjm6HrYNs3y3bQXZpPNowuz0aRg2D5TklTUXmQzm3", 57);
    m->volumes = 1;
    m->objects = 10;
    m->messages = 8;
    m->bytes_in = 12345;
    f = manifest_add_file(m, "vol-0001.tar.zst.age", 3u << 20 | 5, &err);
    CHECK(f != NULL && f->nblocks == 4);
    for (uint64_t i = 0; f && i < f->nblocks; i++)
        memset(f->blocks[i], (int)i + 1, 32);
    f = manifest_add_file(m, "RESTORE.txt", 0, &err);
    CHECK(f != NULL && f->nblocks == 0);
    CHECK_INT_EQ(err.code, CM_OK);
}

static void
test_round_trip(void)
{
    struct cm_err err = CM_ERR_INIT;
    struct manifest m, back;
    struct buf text, again;

    sample(&m);
    buf_init(&text, MANIFEST_MAX);
    buf_init(&again, MANIFEST_MAX);
    CHECK(manifest_format(&m, &text, &err) == 0);
    CHECK(manifest_parse((const char *)text.data, text.len, "MANIFEST", &back,
                         &err) == 0);
    CHECK_STR_EQ(err.msg, "");
    CHECK(manifest_format(&back, &again, &err) == 0);
    CHECK_INT_EQ(text.len, again.len);
    if (text.len == again.len)
        CHECK_MEM_EQ(text.data, again.data, text.len);
    CHECK_STR_EQ(back.label, "weekly disk 3");
    CHECK_INT_EQ(back.sequence, 7);
    CHECK(back.has_previous);
    CHECK_INT_EQ(back.nfiles, 2);
    CHECK_INT_EQ(back.files[0].blocks[3][0], 4);
    CHECK(manifest_find_file(&back, "RESTORE.txt") != NULL);
    CHECK_STR_HAS(buf_cstr(&text, &err), "\nblock 3 0404");
    manifest_free(&m);
    manifest_free(&back);
    buf_free(&text);
    buf_free(&again);
}

/* Parse ${text} and expect a format error mentioning ${needle}. */
static void
expect_bad(const char *text, const char *needle)
{
    struct cm_err err = CM_ERR_INIT;
    struct manifest m;

    CHECK(manifest_parse(text, strlen(text), "MANIFEST", &m, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    CHECK_STR_HAS(err.msg, needle);
}

static void
test_strict(void)
{
    struct cm_err err = CM_ERR_INIT;
    struct manifest m;
    struct buf text;
    char *s, *p;

    expect_bad("coldmail-manifest 1\ncoldmail-manifest 1\n", "line 2");
    expect_bad("coldmail-manifest 2\n", "unsupported format version");
    expect_bad("", "ends without");
    sample(&m);
    buf_init(&text, MANIFEST_MAX);
    manifest_format(&m, &text, &err);
    s = strdup(buf_cstr(&text, &err));
    /* A block out of order. */
    p = strstr(s, "block 1 ");
    p[6] = '2';
    expect_bad(s, "blocks out of order");
    free(s);
    /* Trailing garbage after end. */
    s = malloc(text.len + 8);
    memcpy(s, text.data, text.len);
    memcpy(s + text.len, "extra\n", 7);
    expect_bad(s, "text after");
    free(s);
    /* Truncated: no end line. */
    s = strndup((const char *)text.data, text.len - 4);
    expect_bad(s, "ends without");
    free(s);
    /* An unknown line. */
    s = strdup(buf_cstr(&text, &err));
    p = strstr(s, "kind full");
    memcpy(p, "kynd", 4);
    expect_bad(s, "expected \"kind\"");
    free(s);
    manifest_free(&m);
    buf_free(&text);
}

/* sample() plus a parity file for the volume, as MANIFEST text. */
static char *
with_parity(void)
{
    struct cm_err err = CM_ERR_INIT;
    struct manifest_file *f;
    struct manifest m;
    struct buf text;
    char *s;

    sample(&m);
    f = manifest_add_file(&m, "vol-0001.tar.zst.age.par", 1u << 20, &err);
    CHECK(f != NULL);
    CHECK(manifest_set_parity(&m, f, "vol-0001.tar.zst.age", 4, 1, 1,
                              &err) == 0);
    buf_init(&text, MANIFEST_MAX);
    CHECK(manifest_format(&m, &text, &err) == 0);
    s = strdup(buf_cstr(&text, &err));
    manifest_free(&m);
    buf_free(&text);
    return s;
}

/* ${text} with the first ${from} replaced by ${to}. */
static char *
edited(const char *text, const char *from, const char *to)
{
    const char *p = strstr(text, from);
    size_t n = strlen(text) + strlen(to) + 1;
    char *s = malloc(n);

    CHECK(p != NULL);
    snprintf(s, n, "%.*s%s%s", (int)(p - text), text, to, p + strlen(from));
    return s;
}

static void
expect_bad_edit(const char *text, const char *from, const char *to,
                const char *needle)
{
    char *s = edited(text, from, to);

    expect_bad(s, needle);
    free(s);
}

static void
test_parity_lines(void)
{
    struct cm_err err = CM_ERR_INIT;
    const struct manifest_file *par;
    struct manifest m;
    char *t = with_parity();
    const char *line = "parity-of vol-0001.tar.zst.age 4 1 1\nblock 0 ";

    CHECK_STR_HAS(t, "\nfile vol-0001.tar.zst.age.par 1048576 ");
    CHECK_STR_HAS(t, line);
    CHECK(manifest_parse(t, strlen(t), "MANIFEST", &m, &err) == 0);
    par = manifest_parity_for(&m, "vol-0001.tar.zst.age");
    CHECK(par != NULL && strcmp(par->name, "vol-0001.tar.zst.age.par") == 0);
    CHECK(par != NULL && par->parity_k == 4 && par->parity_m == 1 &&
          par->parity_stripes == 1);
    CHECK(manifest_parity_for(&m, "RESTORE.txt") == NULL);
    CHECK(manifest_find_file(&m, "RESTORE.txt")->parity_of == NULL);
    manifest_free(&m);
    expect_bad_edit(t, "parity-of vol-0001.tar.zst.age 4",
                    "parity-of vol-0009.tar.zst.age 4", "not a listed file");
    expect_bad_edit(t, "parity-of vol-0001.tar.zst.age 4",
                    "parity-of vol-0001.tar.zst.age.par 4",
                    "not a listed file");
    expect_bad_edit(t, " 4 1 1\n", " 0 1 1\n", "out of range");
    expect_bad_edit(t, " 4 1 1\n", " 4 0 1\n", "out of range");
    expect_bad_edit(t, " 4 1 1\n", " 4 1 0\n", "out of range");
    expect_bad_edit(t, " 4 1 1\n", " 200 56 1\n", "out of range");
    expect_bad_edit(t, " 4 1 1\n", " 4 1 1 7\n", "text after");
    expect_bad_edit(t, " 4 1 1\n", " 4 1\n", "expected \"parity-of");
    expect_bad_edit(t, " 4 1 1\n", " 4 x 1\n", "bad number");
    expect_bad_edit(t, " 4 1 1\n", " 4 1 1\nparity-of x 1 1 1\n",
                    "expected \"block\"");
    /* A second parity file for the same file, and parity after blocks. */
    {
        char *s = edited(t, "\nend\n",
                         "\nfile x.par 5 "
                         "0000000000000000000000000000000000000000000000000000"
                         "000000000000\nparity-of vol-0001.tar.zst.age 1 1 1"
                         "\nblock 0 "
                         "0000000000000000000000000000000000000000000000000000"
                         "000000000000\nend\n");
        expect_bad(s, "not a listed file without parity");
        free(s);
    }
    free(t);
}

int
main(void)
{
    test_round_trip();
    test_strict();
    test_parity_lines();
    return check_report();
}
