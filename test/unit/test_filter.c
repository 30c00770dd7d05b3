#include "filter.h"

#include "check.h"

/* Records built on literals: never passed to catalog_entry_free. */
static struct catalog_entry
rec(enum catalog_kind kind, const char *path)
{
    struct catalog_entry e;

    catalog_entry_init(&e);
    e.kind = kind;
    e.path.p = (char *)path;
    e.path.len = strlen(path);
    return e;
}

static struct catalog_entry
msg(const char *path, const char *store, const char *folder)
{
    struct catalog_entry e = rec(CATALOG_MESSAGE, path);

    e.store = (char *)store;
    e.folder = (char *)folder;
    return e;
}

static struct filter *
make(const struct filter_opts *o)
{
    struct cm_err err = CM_ERR_INIT;
    struct filter *f = NULL;

    CHECK(filter_new(o, &f, &err) == 0);
    return f;
}

static void
test_path_glob(void)
{
    CHECK(filter_path_matches("store/maildir", "store/maildir/cur/1:2,S"));
    CHECK(filter_path_matches("store/maildir", "store/maildir"));
    CHECK(!filter_path_matches("store/mail", "store/maildir/cur/1"));
    CHECK(filter_path_matches("store/*/cur", "store/m/cur/1"));
    CHECK(filter_path_matches("*.eml", "a/b/c.eml"));
    CHECK(!filter_path_matches("*.eml", "a/b/c.emlx"));
    CHECK(filter_path_matches("s/.Sent*", "s/.Sent/cur/x"));
    CHECK(!filter_path_matches("s/.Sent", "s/.Sentx/cur/x"));
}

static void
test_fold(void)
{
    char s[] = "\xc3\x84\xc3\x96\xc3\x9c ABC \xce\xa9\xce\xbc "
               "\xd0\x9f\xd1\x80 \xc4\x8c\xc5\xbd \xe2\x82\xac X";

    filter_fold_case(s);
    CHECK_STR_EQ(s, "\xc3\xa4\xc3\xb6\xc3\xbc abc \xcf\x89\xce\xbc "
                    "\xd0\xbf\xd1\x80 \xc4\x8d\xc5\xbe \xe2\x82\xac x");
}

static void
test_message_id(void)
{
    const char *p;
    size_t n;

    filter_message_id_core("  <a@b>\t", &p, &n);
    CHECK(n == 3 && memcmp(p, "a@b", 3) == 0);
    filter_message_id_core("a@b", &p, &n);
    CHECK(n == 3 && memcmp(p, "a@b", 3) == 0);
    filter_message_id_core("<>", &p, &n);
    CHECK_INT_EQ(n, 0);
}

static void
test_errors(void)
{
    struct cm_err err = CM_ERR_INIT;
    struct filter *f = NULL;
    struct filter_opts bad_date = {.since = "last week"};
    struct filter_opts reversed = {.since = "2024-02-01",
                                   .until = "2024-01-01"};
    struct filter_opts empty = {.from = ""};

    CHECK(filter_new(&bad_date, &f, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EUSAGE);
    CHECK_STR_HAS(err.msg, "--since");
    cm_err_clear(&err);
    CHECK(filter_new(&reversed, &f, &err) == -1);
    CHECK_STR_HAS(err.msg, "after --until");
    cm_err_clear(&err);
    CHECK(filter_new(&empty, &f, &err) == -1);
    CHECK_STR_HAS(err.msg, "--from");
    CHECK(f == NULL);
}

static void
test_message_fields(void)
{
    struct filter_opts o = {.since = "2024-01-01",
                            .until = "2024-01-31",
                            .from = "m\xc3\x9cller",
                            .subject = "REPORT"};
    struct filter *f = make(&o);
    struct catalog_entry m = msg("s/m/cur/1", "maildir", "INBOX");
    struct catalog_entry d = rec(CATALOG_DIR, "s/m/cur");

    m.has_date = 1;
    m.date = 1706745599; /* 2024-01-31T23:59:59Z: the last second */
    m.from = "Hans M\xc3\xbcller <h@example.org>";
    m.subject = "Monthly report";
    CHECK(filter_match(f, &m));
    m.date = 1706745600; /* 2024-02-01 */
    CHECK(!filter_match(f, &m));
    m.date = 1704067200; /* 2024-01-01T00:00:00Z */
    CHECK(filter_match(f, &m));
    m.date = 1704067199;
    CHECK(!filter_match(f, &m));
    m.date = 1704067200;
    m.has_date = 0;
    CHECK(!filter_match(f, &m));
    m.has_date = 1;
    m.from = "Hans Mueller <h@example.org>";
    CHECK(!filter_match(f, &m));
    m.from = NULL;
    CHECK(!filter_match(f, &m));
    /* Message-only criteria leave out every other kind of object. */
    CHECK(filter_messages_only(f));
    CHECK(!filter_match(f, &d));
    filter_free(f);
}

static void
test_message_id_filter(void)
{
    struct filter_opts o = {.message_id = "x.1@example.org"};
    struct filter *f = make(&o);
    struct catalog_entry m = msg("s/m/cur/1", "maildir", "INBOX");

    m.message_id = "<x.1@example.org>";
    CHECK(filter_match(f, &m));
    m.message_id = "<x.10@example.org>";
    CHECK(!filter_match(f, &m));
    m.message_id = NULL;
    CHECK(!filter_match(f, &m));
    filter_free(f);
}

/* Maildir++: INBOX at the root, Sent in .Sent; an empty .Drafts. */
static void
test_folder(void)
{
    struct cm_err err = CM_ERR_INIT;
    struct filter_opts o = {.folder = "INBOX"};
    struct filter *f = make(&o);
    struct catalog_entry in1 = msg("s/m/cur/1:2,S", "maildir", "INBOX");
    struct catalog_entry in2 = msg("s/m/new/2", "maildir", "INBOX");
    struct catalog_entry sent = msg("s/m/.Sent/cur/3", "maildir", "Sent");
    const struct {
        const char *path;
        enum catalog_kind kind;
        int in;
    } cases[] = {
        {"s/m", CATALOG_DIR, 1},
        {"s/m/cur", CATALOG_DIR, 1},
        {"s/m/new", CATALOG_DIR, 1},
        {"s/m/tmp", CATALOG_DIR, 1},
        {"s/m/dovecot-uidlist", CATALOG_FILE, 1},
        {"s/m/subscriptions", CATALOG_FILE, 1},
        {"s/m/cur/stray-symlink", CATALOG_SYMLINK, 1},
        {"s", CATALOG_DIR, 0},
        {"s/m/.Sent", CATALOG_DIR, 0},
        {"s/m/.Sent/cur", CATALOG_DIR, 0},
        {"s/m/.Sent/dovecot-uidlist", CATALOG_FILE, 0},
        {"s/m/.Drafts", CATALOG_DIR, 0},
        {"s/other/dovecot-uidlist", CATALOG_FILE, 0},
    };

    CHECK(filter_needs_learning(f));
    CHECK(filter_learn(f, &in1, &err) == 0);
    CHECK(filter_learn(f, &sent, &err) == 0);
    CHECK(filter_learn(f, &in2, &err) == 0);
    CHECK(filter_learn_done(f, &err) == 0);
    CHECK(filter_match(f, &in1));
    CHECK(!filter_match(f, &sent));
    for (size_t i = 0; i < CM_ARRAY_LEN(cases); i++) {
        struct catalog_entry e = rec(cases[i].kind, cases[i].path);
        if (filter_match(f, &e) != cases[i].in)
            fprintf(stderr, "%s: expected %s INBOX\n", cases[i].path,
                    cases[i].in ? "in" : "not in");
        CHECK_INT_EQ(filter_match(f, &e), cases[i].in);
    }
    filter_free(f);
}

static void
test_mbox_folder(void)
{
    struct cm_err err = CM_ERR_INIT;
    struct filter_opts o = {.folder = "mb/Trash"};
    struct filter *f = make(&o);
    struct catalog_entry m = msg("s/mb/Trash", "mbox", "mb/Trash");
    struct catalog_entry file = rec(CATALOG_FILE, "s/mb/Trash");
    struct catalog_entry other = rec(CATALOG_FILE, "s/mb/Sent");

    m.in_mbox = 1;
    CHECK(filter_learn(f, &m, &err) == 0);
    CHECK(filter_learn_done(f, &err) == 0);
    CHECK(filter_match(f, &file));
    CHECK(!filter_match(f, &other));
    CHECK(filter_match_mbox_file(f, &m));
    filter_free(f);
}

static void
test_mbox_file_selection(void)
{
    struct filter_opts by_path = {.path = "s/mb"};
    struct filter_opts by_subject = {.subject = "x"};
    struct filter *f1 = make(&by_path), *f2 = make(&by_subject);
    struct catalog_entry m = msg("s/mb/Trash", "mbox", "mb/Trash");

    m.in_mbox = 1;
    m.subject = "x";
    /* The whole file is selected: its messages need no record. */
    CHECK(filter_match_mbox_file(f1, &m));
    /* Only some messages: a partial mbox. */
    CHECK(!filter_match_mbox_file(f2, &m));
    CHECK(filter_match(f2, &m));
    CHECK(filter_path_only(f1) && !filter_is_empty(f1));
    CHECK(!filter_path_only(f2));
    filter_free(f1);
    filter_free(f2);
}

int
main(void)
{
    test_path_glob();
    test_fold();
    test_message_id();
    test_errors();
    test_message_fields();
    test_message_id_filter();
    test_folder();
    test_mbox_folder();
    test_mbox_file_selection();
    return check_report();
}
