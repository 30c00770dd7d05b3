/* catalog: JSON lines round trip, raw bytes, and hostile lines. */
#include "catalog.h"

#include "check.h"

static void
test_round_trip(void)
{
    struct cm_err err = CM_ERR_INIT;
    struct catalog_entry e, back;
    struct buf line;

    catalog_entry_init(&e);
    catalog_entry_init(&back);
    buf_init(&line, CATALOG_LINE_MAX);
    e.kind = CATALOG_MESSAGE;
    catalog_bytes_set(&e.path, "vmail/a/cur/1:2,S", 17, &err);
    e.size = e.len = 1234;
    e.mode = 0600;
    e.mtime = 1700000000;
    e.mtime_ns = 42;
    e.uid = e.gid = 5000;
    e.user = strdup("vmail");
    e.has_sha256 = 1;
    memset(e.sha256, 0x5a, 32);
    memset(e.set_id, 0x11, sizeof e.set_id);
    e.vol = 2;
    e.tar_off = 1024;
    e.off = 2048;
    e.store = strdup("maildir");
    e.folder = strdup("INBOX");
    e.flags = strdup("RS");
    e.message_id = strdup("<x@y>");
    e.has_date = 1;
    e.date = 1057049557;
    e.subject = strdup("Réunion");
    catalog_bytes_set(&e.subject_raw, "R\xe9union", 7, &err);
    CHECK(catalog_entry_format(&e, &line, &err) == 0);
    CHECK(line.data[line.len - 1] == '\n');
    CHECK_STR_HAS(buf_cstr(&line, &err), "\"subject_raw_b64\":\"Uul1bmlvbg==\"");
    CHECK(catalog_entry_parse((const char *)line.data, line.len - 1, 5, &back,
                              &err) == 0);
    CHECK_INT_EQ(err.code, CM_OK);
    CHECK_STR_EQ(back.path.p, "vmail/a/cur/1:2,S");
    CHECK_INT_EQ(back.kind, CATALOG_MESSAGE);
    CHECK_INT_EQ(back.mtime_ns, 42);
    CHECK_INT_EQ(back.vol, 2);
    CHECK_INT_EQ(back.off, 2048);
    CHECK_INT_EQ(back.date, 1057049557);
    CHECK_STR_EQ(back.subject, "Réunion");
    CHECK_INT_EQ(back.subject_raw.len, 7);
    CHECK_MEM_EQ(back.subject_raw.p, "R\xe9union", 7);
    CHECK_MEM_EQ(back.sha256, e.sha256, 32);
    catalog_entry_free(&e);
    catalog_entry_free(&back);
    buf_free(&line);
}

static void
expect_bad(const char *line, const char *needle)
{
    struct cm_err err = CM_ERR_INIT;
    struct catalog_entry e;

    catalog_entry_init(&e);
    CHECK(catalog_entry_parse(line, strlen(line), 9, &e, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    CHECK_STR_HAS(err.msg, needle);
    catalog_entry_free(&e);
}

#define BASE "\"size\":1,\"mode\":420,\"mtime\":0,\"uid\":0,\"gid\":0," \
             "\"sha256\":\"" \
             "0000000000000000000000000000000000000000000000000000000000000000" \
             "\",\"set\":\"00000000000000000000000000000000\",\"vol\":1," \
             "\"tar_off\":0,\"off\":512,\"len\":1"

static void
test_hostile(void)
{
    expect_bad("{\"kind\":\"file\",\"path\":\"../etc/passwd\"," BASE "}",
               "safe relative path");
    expect_bad("{\"kind\":\"file\",\"path\":\"/etc/passwd\"," BASE "}",
               "safe relative path");
    expect_bad("{\"kind\":\"file\",\"path\":\"a//b\"," BASE "}",
               "safe relative path");
    expect_bad("{\"kind\":\"file\",\"path\":\"a/./b\"," BASE "}",
               "safe relative path");
    expect_bad("{\"kind\":\"file\",\"path\":\"a\\u0000b\"," BASE "}",
               "line 9");
    expect_bad("{\"kind\":\"device\",\"path\":\"a\"," BASE "}", "kind");
    expect_bad("{\"kind\":\"file\",\"path\":\"a\"," BASE ",\"size\":2}",
               "line 9");
    expect_bad("[1,2]", "not a JSON object");
    expect_bad("{\"kind\":\"file\",\"path\":\"a\",\"size\":-1}", "size");
    expect_bad("{\"kind\":\"symlink\",\"path\":\"a\"," BASE "}", "link");
    CHECK(catalog_path_is_safe("a/b/c", 5));
    CHECK(!catalog_path_is_safe("a/b/", 4));
    CHECK(!catalog_path_is_safe("..", 2));
    CHECK(catalog_path_is_safe("..a/.b", 6));
}

/* An mbox file kept in pieces: round trip, and what is refused. */
static void
test_segments(void)
{
    struct cm_err err = CM_ERR_INIT;
    struct catalog_entry e, back;
    struct buf line;

    catalog_entry_init(&e);
    catalog_entry_init(&back);
    buf_init(&line, CATALOG_LINE_MAX);
    e.kind = CATALOG_FILE;
    catalog_bytes_set(&e.path, "store/mbox", 10, &err);
    e.size = 300;
    e.len = 100; /* only the new pieces are in this set */
    e.has_sha256 = 1;
    e.vol = 1;
    e.mbox_variant = strdup("mboxrd");
    e.nsegments = 2;
    e.segments = calloc(2, sizeof *e.segments);
    memset(e.segments[0].set_id, 0xab, 16);
    e.segments[0].vol = 3;
    e.segments[0].off = 1536;
    e.segments[0].len = 200;
    e.segments[1].vol = 1;
    e.segments[1].off = 512;
    e.segments[1].len = 100;
    CHECK(catalog_entry_format(&e, &line, &err) == 0);
    CHECK_STR_HAS(buf_cstr(&line, &err),
                  "\"segments\":[[\"abababababababababababababababab\",3,"
                  "1536,200],[\"00000000000000000000000000000000\",1,512,"
                  "100]]");
    CHECK(catalog_entry_parse((const char *)line.data, line.len - 1, 1, &back,
                              &err) == 0);
    CHECK_INT_EQ(back.nsegments, 2);
    CHECK_INT_EQ(back.segments[0].vol, 3);
    CHECK_INT_EQ(back.segments[0].off, 1536);
    CHECK_INT_EQ(back.segments[1].len, 100);
    CHECK(memcmp(back.segments[0].set_id, e.segments[0].set_id, 16) == 0);
    CHECK_INT_EQ(back.len, 100);
    catalog_entry_free(&e);
    catalog_entry_free(&back);
    buf_free(&line);

#define SEG(s) "{\"kind\":\"file\",\"path\":\"m\"," BASE ",\"segments\":" s "}"
#define ZID "\"00000000000000000000000000000000\""
    expect_bad(SEG("[[" ZID ",1,0,2]]"), "more than the size");
    expect_bad(
        "{\"kind\":\"file\",\"path\":\"m\",\"size\":3,\"mode\":420,"
        "\"mtime\":0,\"uid\":0,\"gid\":0,\"sha256\":\"00000000000000000"
        "00000000000000000000000000000000000000000000000\",\"set\":" ZID
        ",\"vol\":1,\"tar_off\":0,\"off\":512,\"len\":1,\"segments\":[[" ZID
        ",1,0,2]]}",
        "do not add up");
    expect_bad(SEG("[[" ZID ",1,0,1],[" ZID ",1,9,1]]"), "more than the size");
    expect_bad(SEG("[[" ZID ",1,0,0],[" ZID ",1,0,1]]"), "empty segment");
    expect_bad(SEG("[[" ZID ",0,0,1]]"), "bad volume");
    expect_bad(SEG("[[\"zz\",1,0,1]]"), "malformed segment");
    expect_bad(SEG("[[" ZID ",1,0]]"), "malformed segment");
    expect_bad(SEG("[]"), "1 to 8192");
    expect_bad("{\"kind\":\"message\",\"path\":\"m\"," BASE
               ",\"segments\":[[" ZID ",1,0,1]]}",
               "files only");
#undef SEG
#undef ZID
}

static void
test_trailer(void)
{
    struct cm_err err = CM_ERR_INIT;
    struct buf b;
    uint64_t n = 0;

    buf_init(&b, 1024);
    CHECK(catalog_trailer_format(42, &b, &err) == 0);
    CHECK(catalog_trailer_parse((const char *)b.data, b.len - 1, &n, &err) ==
          1);
    CHECK_INT_EQ(n, 42);
    CHECK(catalog_trailer_parse("{\"kind\":1}", 10, &n, &err) == 0);
    buf_free(&b);
}

int
main(void)
{
    test_round_trip();
    test_hostile();
    test_segments();
    test_trailer();
    return check_report();
}
