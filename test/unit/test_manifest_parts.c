/* manifest: the lines of a set that spans media (part, parts-total,
 * part-medium), strictly; which part holds which file. */
#include "manifest.h"

#include "check.h"

static void
sample(struct manifest *m, int last)
{
    struct cm_err err = CM_ERR_INIT;
    uint8_t a[16], b[16];
    const char *names[] = {"vol-0001.tar.zst.age", "vol-0001.tar.zst.age.par",
                           "vol-0002.tar.zst.age", "vol-0003.tar.zst.age",
                           "catalog.jsonl.zst.age"};

    memset(a, 0xaa, sizeof a);
    memset(b, 0xbb, sizeof b);
    manifest_init(m);
    memset(m->set_id, 0x11, sizeof m->set_id);
    manifest_set_text(&m->host, "mail.example.org", "host", &err);
    manifest_set_text(&m->medium, "disk-2", "medium", &err);
    manifest_set_text(&m->kind, "full", "kind", &err);
    m->has_medium_id = 1;
    memcpy(m->medium_id, b, 16);
    m->created = 1764369758;
    m->sequence = 3;
    manifest_add_store(m, "vmail", "/var/vmail", &err);
    manifest_add_recipient(
        m, "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p",
        &err);
    memcpy(m->signer_key_id, "0123456789ABCDEF", 17);
    memcpy(m->signer_public_key,
           "RWQBI0VniavN7/vKjm6HrYNs3y3bQXZpPNowuz0aRg2D5TklTUXmQzm3", 57);
    m->volumes = 3;
    m->part = 2;
    m->last_part = last;
    CHECK(manifest_add_part(m, a, 1, "disk-1", &err) == 0);
    CHECK(manifest_add_part(m, b, 2, "disk-2", &err) == 0);
    for (size_t i = 0; i < CM_ARRAY_LEN(names) - (last ? 0 : 1); i++)
        CHECK(manifest_add_file(m, names[i], 100, &err) != NULL);
    CHECK_INT_EQ(err.code, CM_OK);
}

static char *
text_of(const struct manifest *m)
{
    struct cm_err err = CM_ERR_INIT;
    struct buf b;
    char *s;

    buf_init(&b, MANIFEST_MAX);
    CHECK(manifest_format(m, &b, &err) == 0);
    s = strdup(buf_cstr(&b, &err));
    buf_free(&b);
    return s;
}

static void
test_round_trip(void)
{
    struct cm_err err = CM_ERR_INIT;
    struct manifest m, back;
    char comment[1100], *t, *again;

    sample(&m, 1);
    t = text_of(&m);
    CHECK_STR_HAS(t, "\nkind full\npart 2\nparts-total 2\npart-medium 1 "
                     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 1 disk-1\npart-medium "
                     "2 bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb 2 disk-2\nstore ");
    CHECK(manifest_parse(t, strlen(t), "MANIFEST", &back, &err) == 0);
    CHECK_STR_EQ(err.msg, "");
    CHECK_INT_EQ(back.part, 2);
    CHECK(back.last_part);
    CHECK_INT_EQ(back.nparts, 2);
    CHECK_STR_EQ(back.parts[0].label, "disk-1");
    CHECK_INT_EQ(back.parts[1].volumes, 2);
    again = text_of(&back);
    CHECK_STR_EQ(again, t);
    CHECK_INT_EQ(manifest_file_part(&back, "vol-0001.tar.zst.age"), 1);
    CHECK_INT_EQ(manifest_file_part(&back, "vol-0001.tar.zst.age.par"), 1);
    CHECK_INT_EQ(manifest_file_part(&back, "vol-0002.tar.zst.age"), 2);
    CHECK_INT_EQ(manifest_file_part(&back, "vol-0003.tar.zst.age.par"), 2);
    CHECK_INT_EQ(manifest_file_part(&back, "catalog.jsonl.zst.age"), 2);
    manifest_trusted_comment(&back, comment, sizeof comment);
    CHECK_STR_HAS(comment, "\tseq:3\tpart:2");
    manifest_free(&back);
    free(again);
    free(t);
    manifest_free(&m);
    /* A part before the last: no parts-total, no catalog needed. */
    sample(&m, 0);
    t = text_of(&m);
    CHECK(strstr(t, "parts-total") == NULL);
    CHECK(manifest_parse(t, strlen(t), "MANIFEST", &back, &err) == 0);
    CHECK(!back.last_part);
    manifest_free(&back);
    free(t);
    manifest_free(&m);
    /* A set on one medium has no part. */
    manifest_init(&m);
    CHECK_INT_EQ(manifest_file_part(&m, "vol-0001.tar.zst.age"), 0);
}

static char *
edited(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    size_t n = strlen(text) - strlen(from) + strlen(to) + 1;
    char *s = malloc(n);

    CHECK(at != NULL);
    if (at == NULL) {
        snprintf(s, n, "%s", text);
        return s;
    }
    snprintf(s, n, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    return s;
}

static void
expect_bad_edit(const char *text, const char *from, const char *to,
                const char *needle)
{
    struct cm_err err = CM_ERR_INIT;
    struct manifest m;
    char *s = edited(text, from, to);

    CHECK(manifest_parse(s, strlen(s), "MANIFEST", &m, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    CHECK_STR_HAS(err.msg, needle);
    CHECK_STR_HAS(err.msg, "MANIFEST: line ");
    free(s);
}

static void
test_strict(void)
{
    struct manifest m;
    char *t;

    sample(&m, 1);
    t = text_of(&m);
    manifest_free(&m);
    expect_bad_edit(t, "part 2\n", "part 0\n", "part out of range");
    expect_bad_edit(t, "part 2\n", "part 257\n", "part out of range");
    expect_bad_edit(t, "parts-total 2\n", "parts-total 3\n", "parts-total");
    expect_bad_edit(t, "part-medium 1 ", "part-medium 2 ", "out of order");
    expect_bad_edit(t, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "two parts on one");
    expect_bad_edit(t, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb 2",
                    "cccccccccccccccccccccccccccccccc 2",
                    "not the medium-id above");
    expect_bad_edit(t, " 1 disk-1\n", " 2 disk-1\n", "more volumes");
    expect_bad_edit(t, " 1 disk-1\n", " 0 disk-1\n", "do not hold all");
    expect_bad_edit(t, " 1 disk-1\n", " 1 disk 1\n", "bad medium label");
    expect_bad_edit(t, " 1 disk-1\n", " 1\n", "expected \"part-medium");
    expect_bad_edit(t, " 1 disk-1\n", " x disk-1\n", "bad number");
    expect_bad_edit(t,
                    "part-medium 2 bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb 2 "
                    "disk-2\n",
                    "", "expected \"part-medium\"");
    expect_bad_edit(t, "medium-id bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n", "",
                    "not the medium-id above");
    expect_bad_edit(t, "part 2\nparts-total 2\n", "parts-total 2\npart 2\n",
                    "no store line");
    free(t);
}

int
main(void)
{
    test_round_trip();
    test_strict();
    return check_report();
}
