/*
 * test_walk: a scratch store with Maildir++, a provider tree, an mbox, MH
 * folders, symlinks, a FIFO, a socket and excluded paths; the exact
 * sequence of entries; renames during the walk; the error cases.
 */
#include "walk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "check.h"

static char scratch[256];

struct log {
    struct buf text;
    struct buf warnings;
    int fd_ok; /* every message could be fstatat'ed through dirfd */
    int (*hook)(const struct walk_entry *e);
};

static int sfd = -1;

static void
mkpath(const char *rel)
{
    CHECK(mkdirat(sfd, rel, 0700) == 0);
}

static void
put(const char *rel, const char *text)
{
    int fd = openat(sfd, rel, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    CHECK(fd != -1);
    if (fd == -1)
        return;
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
}

static void
maildir(const char *rel)
{
    char p[512];

    mkpath(rel);
    snprintf(p, sizeof p, "%s/cur", rel);
    mkpath(p);
    snprintf(p, sizeof p, "%s/new", rel);
    mkpath(p);
    snprintf(p, sizeof p, "%s/tmp", rel);
    mkpath(p);
}

static const char *
kind_name(enum walk_kind k)
{
    static const char *const names[] = {"dir", "file", "message", "mbox",
                                        "symlink"};
    return names[k];
}

static const char *
store_name(enum walk_store s)
{
    static const char *const names[] = {"-", "maildir", "mh", "mbox"};
    return names[s];
}

static int
on_entry(void *ctx, const struct walk_entry *e, struct cm_err *err)
{
    struct log *l = ctx;
    struct stat st;
    int vanished = e->st.st_mode == 0;

    if (e->kind == WALK_MESSAGE && !vanished &&
        (fstatat(e->dirfd, e->name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
         st.st_ino != e->st.st_ino))
        l->fd_ok = 0;
    if (buf_printf(&l->text, err, "%s %s %s %s %s %s%s%s%s\n", e->relpath,
                   kind_name(e->kind), store_name(e->store),
                   e->mailbox ? e->mailbox : "-", e->folder ? e->folder : "-",
                   e->subdir ? e->subdir : "-", e->link ? " -> " : "",
                   e->link ? e->link : "", vanished ? " (vanished)" : "") == -1)
        return -1;
    return l->hook != NULL ? l->hook(e) : 0;
}

static void
on_warn(void *ctx, const char *relpath, const char *why)
{
    struct log *l = ctx;

    buf_printf(&l->warnings, NULL, "%s: %s\n", relpath, why);
}

static int
walk(const char *root, const char *const *excludes, struct log *l,
     struct cm_err *err)
{
    struct walk_opts opts = {excludes};

    buf_init(&l->text, 1 << 20);
    buf_init(&l->warnings, 1 << 20);
    l->fd_ok = 1;
    return walk_store(root, &opts, on_entry, on_warn, l, err);
}

static void
log_free(struct log *l)
{
    buf_free(&l->text);
    buf_free(&l->warnings);
}

/* Compare line by line, so that a difference shows where it is. */
static void
check_lines(struct buf *got, const char *want)
{
    const char *g = buf_cstr(got, NULL), *w = want;
    int line = 1;

    while (g != NULL && (*g != '\0' || *w != '\0')) {
        size_t gl = strcspn(g, "\n"), wl = strcspn(w, "\n");
        if (gl != wl || memcmp(g, w, gl) != 0) {
            fprintf(stderr, "line %d:\n  got  %.*s\n  want %.*s\n", line,
                    (int)gl, g, (int)wl, w);
            CHECK(0);
            return;
        }
        g += gl + (g[gl] == '\n');
        w += wl + (w[wl] == '\n');
        line++;
    }
    CHECK(g != NULL);
}

static void
build_store(void)
{
    struct sockaddr_un sa;
    int s, cwd = open(".", O_RDONLY | O_DIRECTORY);

    maildir("Maildir");
    put("Maildir/cur/1700000001.M1P1.h:2,S", "Subject: 1\n\n");
    put("Maildir/cur/1700000002.M2P2.h:2,RS", "Subject: 2\n\n");
    put("Maildir/cur/.nfs000123", "");
    put("Maildir/new/1700000003.M3P3.h", "Subject: 3\n\n");
    put("Maildir/new/1700000004.M4P4.h", "Subject: 4\n\n");
    put("Maildir/tmp/1700000009.M9P9.h", "being delivered");
    put("Maildir/dovecot-uidlist", "3 V1700000000 N5 G0\n");
    put("Maildir/dovecot.index", "\x01\x02");
    put("Maildir/subscriptions", "Sent\nLists.foo\n");
    maildir("Maildir/.Sent");
    put("Maildir/.Sent/cur/1700000005.M5P5.h:2,S", "Subject: 5\n\n");
    put("Maildir/.Sent/maildirfolder", "");
    maildir("Maildir/.Lists.foo");
    mkpath("Maildir/.NotAFolder");
    put("Maildir/.NotAFolder/x", "x");
    mkpath("Maildir/Archive");
    maildir("Maildir/Archive/2023");
    put("Maildir/Archive/2023/cur/a:2,S", "Subject: a\n\n");
    mkpath("vmail");
    mkpath("vmail/example.com");
    mkpath("vmail/example.com/alice");
    maildir("vmail/example.com/alice/Maildir");
    put("vmail/example.com/alice/Maildir/cur/m1:2,S", "Subject: m1\n\n");
    mkpath("vmail/example.com/alice/sieve");
    put("vmail/example.com/alice/sieve/main.sieve", "keep;\n");
    mkpath("mail");
    put("mail/inbox", "From alice@example.org Mon Jan  1 00:00:00 2001\n"
                      "Subject: x\n\nbody\n");
    put("mail/notes.txt", "From here on\n");
    put("mail/old.bak", "From alice@example.org Mon Jan  1 00:00:00 2001\n");
    mkpath("Mail");
    mkpath("Mail/inbox");
    put("Mail/inbox/.mh_sequences", "unseen: 2\n");
    put("Mail/inbox/1", "Subject: 1\n\n");
    put("Mail/inbox/2", "Subject: 2\n\n");
    put("Mail/inbox/10", "Subject: 10\n\n");
    mkpath("Mail/inbox/sub");
    put("Mail/inbox/sub/1", "From: a@b\n\n");
    mkpath("excluded");
    put("excluded/secret", "x");
    CHECK(symlinkat("Maildir", sfd, "link") == 0);
    CHECK(symlinkat("/nonexistent/target", sfd, "Maildir/cur/dangling") == 0);
    CHECK(mkfifoat(sfd, "fifo", 0600) == 0);
    /* bind(2) takes a short path: bind relative to the scratch dir. */
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, "sock", 5);
    s = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(cwd != -1 && fchdir(sfd) == 0);
    CHECK(s != -1 && bind(s, (struct sockaddr *)&sa, sizeof sa) == 0);
    CHECK(fchdir(cwd) == 0);
    close(s);
    close(cwd);
}

static const char want_store[] =
    " dir - - - -\n"
    "Mail dir - - - -\n"
    "Mail/inbox dir mh Mail/inbox INBOX -\n"
    "Mail/inbox/.mh_sequences file mh Mail/inbox INBOX -\n"
    "Mail/inbox/1 message mh Mail/inbox INBOX -\n"
    "Mail/inbox/10 message mh Mail/inbox INBOX -\n"
    "Mail/inbox/2 message mh Mail/inbox INBOX -\n"
    "Mail/inbox/sub dir mh Mail/inbox sub -\n"
    "Mail/inbox/sub/1 message mh Mail/inbox sub -\n"
    "Maildir dir maildir Maildir INBOX -\n"
    "Maildir/.Lists.foo dir maildir Maildir Lists.foo -\n"
    "Maildir/.Lists.foo/new dir maildir Maildir Lists.foo new\n"
    "Maildir/.Lists.foo/cur dir maildir Maildir Lists.foo cur\n"
    "Maildir/.Lists.foo/tmp dir maildir Maildir Lists.foo tmp\n"
    "Maildir/.NotAFolder dir - - - -\n"
    "Maildir/.NotAFolder/x file - - - -\n"
    "Maildir/.Sent dir maildir Maildir Sent -\n"
    "Maildir/.Sent/new dir maildir Maildir Sent new\n"
    "Maildir/.Sent/cur dir maildir Maildir Sent cur\n"
    "Maildir/.Sent/cur/1700000005.M5P5.h:2,S message maildir Maildir Sent "
    "cur\n"
    "Maildir/.Sent/maildirfolder file maildir Maildir Sent -\n"
    "Maildir/.Sent/tmp dir maildir Maildir Sent tmp\n"
    "Maildir/Archive dir - - - -\n"
    "Maildir/Archive/2023 dir maildir Maildir Archive/2023 -\n"
    "Maildir/Archive/2023/new dir maildir Maildir Archive/2023 new\n"
    "Maildir/Archive/2023/cur dir maildir Maildir Archive/2023 cur\n"
    "Maildir/Archive/2023/cur/a:2,S message maildir Maildir Archive/2023 "
    "cur\n"
    "Maildir/Archive/2023/tmp dir maildir Maildir Archive/2023 tmp\n"
    "Maildir/new dir maildir Maildir INBOX new\n"
    "Maildir/new/1700000003.M3P3.h message maildir Maildir INBOX new\n"
    "Maildir/new/1700000004.M4P4.h message maildir Maildir INBOX new\n"
    "Maildir/cur dir maildir Maildir INBOX cur\n"
    "Maildir/cur/.nfs000123 file maildir Maildir INBOX cur\n"
    "Maildir/cur/1700000001.M1P1.h:2,S message maildir Maildir INBOX cur\n"
    "Maildir/cur/1700000002.M2P2.h:2,RS message maildir Maildir INBOX cur\n"
    "Maildir/cur/dangling symlink maildir Maildir INBOX cur -> "
    "/nonexistent/target\n"
    "Maildir/dovecot-uidlist file maildir Maildir INBOX -\n"
    "Maildir/dovecot.index file maildir Maildir INBOX -\n"
    "Maildir/subscriptions file maildir Maildir INBOX -\n"
    "Maildir/tmp dir maildir Maildir INBOX tmp\n"
    "link symlink - - - - -> Maildir\n"
    "mail dir - - - -\n"
    "mail/inbox mbox mbox - mail/inbox -\n"
    "mail/notes.txt file - - - -\n"
    "vmail dir - - - -\n"
    "vmail/example.com dir - - - -\n"
    "vmail/example.com/alice dir - - - -\n"
    "vmail/example.com/alice/Maildir dir maildir "
    "vmail/example.com/alice/Maildir INBOX -\n"
    "vmail/example.com/alice/Maildir/new dir maildir "
    "vmail/example.com/alice/Maildir INBOX new\n"
    "vmail/example.com/alice/Maildir/cur dir maildir "
    "vmail/example.com/alice/Maildir INBOX cur\n"
    "vmail/example.com/alice/Maildir/cur/m1:2,S message maildir "
    "vmail/example.com/alice/Maildir INBOX cur\n"
    "vmail/example.com/alice/Maildir/tmp dir maildir "
    "vmail/example.com/alice/Maildir INBOX tmp\n";

static const char *const excludes[] = {"excluded", "*.bak",
                                       "./vmail/*/alice/sieve/", NULL};

static void
test_store(void)
{
    struct cm_err err = CM_ERR_INIT;
    struct log l = {0};

    CHECK(walk(scratch, excludes, &l, &err) == 0);
    if (err.code != CM_OK)
        fprintf(stderr, "%s\n", err.msg);
    check_lines(&l.text, want_store);
    CHECK_STR_EQ(buf_cstr(&l.warnings, NULL), "fifo: FIFO\nsock: socket\n");
    CHECK(l.fd_ok);
    log_free(&l);
}

/* A device node is skipped with a warning (if one can be made here). */
static void
test_device(void)
{
    struct cm_err err = CM_ERR_INIT;
    struct log l = {0};
    char root[512];

    mkpath("dev");
    if (mknodat(sfd, "dev/null0", S_IFCHR | 0600, makedev(1, 3)) == -1) {
        fprintf(stderr, "skipped: cannot make a device node here\n");
        return;
    }
    snprintf(root, sizeof root, "%s/dev", scratch);
    CHECK(walk(root, NULL, &l, &err) == 0);
    check_lines(&l.text, " dir - - - -\n");
    CHECK_STR_EQ(buf_cstr(&l.warnings, NULL), "null0: device node\n");
    log_free(&l);
    CHECK(unlinkat(sfd, "dev/null0", 0) == 0);
}

static void
test_excluded(void)
{
    struct walk_opts o = {excludes};

    CHECK(walk_excluded(&o, "excluded"));
    CHECK(walk_excluded(&o, "a/excluded/b"));
    CHECK(walk_excluded(&o, "x/y.bak"));
    CHECK(walk_excluded(&o, "vmail/example.com/alice/sieve"));
    CHECK(walk_excluded(&o, "vmail/example.com/alice/sieve/main.sieve"));
    CHECK(!walk_excluded(&o, "vmail/example.com/bob/sieve"));
    CHECK(!walk_excluded(&o, "excluded2"));
    CHECK(!walk_excluded(&o, "Maildir/cur/x:2,S"));
    CHECK(!walk_excluded(NULL, "excluded"));
}

/* During the walk: a reader moves new mail to cur/, flags change. */
static int
mover(const struct walk_entry *e)
{
    if (strcmp(e->relpath, "Maildir/new/1700000003.M3P3.h") == 0) {
        CHECK(renameat(sfd, "Maildir/new/1700000004.M4P4.h", sfd,
                       "Maildir/cur/1700000004.M4P4.h:2,S") == 0);
        /* Moved by link and unlink: it was in both listings. */
        CHECK(unlinkat(sfd, "Maildir/new/1700000005.M5P5.h", 0) == 0);
    }
    if (strcmp(e->relpath, "Maildir/cur/.nfs000123") == 0) {
        CHECK(renameat(sfd, "Maildir/cur/1700000002.M2P2.h:2,RS", sfd,
                       "Maildir/cur/1700000002.M2P2.h:2,FRS") == 0);
        CHECK(unlinkat(sfd, "Maildir/cur/1700000001.M1P1.h:2,S", 0) == 0);
    }
    /* A directory swapped for a symlink after its parent was listed. */
    if (strcmp(e->relpath, "mail/inbox") == 0) {
        CHECK(renameat(sfd, "vmail", sfd, "vmail.moved") == 0);
        CHECK(symlinkat("vmail.moved", sfd, "vmail") == 0);
    }
    return 0;
}

static size_t
count_of(const char *hay, const char *needle)
{
    size_t n = 0;

    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static void
test_changes(void)
{
    struct cm_err err = CM_ERR_INIT;
    struct log l = {0};
    const char *t;

    put("Maildir/new/1700000005.M5P5.h", "Subject: 5\n\n");
    CHECK(linkat(sfd, "Maildir/new/1700000005.M5P5.h", sfd,
                 "Maildir/cur/1700000005.M5P5.h:2,S", 0) == 0);
    l.hook = mover;
    CHECK(walk(scratch, excludes, &l, &err) == 0);
    t = buf_cstr(&l.text, NULL);
    CHECK_STR_HAS(t, "Maildir/new/1700000003.M3P3.h message");
    /*
     * Moved to cur/ after cur/ was listed: visited under its old name, as
     * vanished, for the reader to find it; cur/ does not show it.
     */
    CHECK_STR_HAS(t, "Maildir/new/1700000004.M4P4.h message maildir Maildir "
                     "INBOX new (vanished)\n");
    CHECK(strstr(t, "Maildir/cur/1700000004") == NULL);
    /* In both listings, gone from new/: visited in cur/ only. */
    CHECK(strstr(t, "Maildir/new/1700000005") == NULL);
    CHECK_INT_EQ(count_of(t, "Maildir/cur/1700000005.M5P5.h:2,S message "
                             "maildir Maildir INBOX cur\n"),
                 1);
    /* Renamed or deleted after cur/ was listed: vanished, as listed. */
    CHECK_STR_HAS(t, "Maildir/cur/1700000002.M2P2.h:2,RS message maildir "
                     "Maildir INBOX cur (vanished)\n");
    CHECK_STR_HAS(t, "Maildir/cur/1700000001.M1P1.h:2,S message maildir "
                     "Maildir INBOX cur (vanished)\n");
    CHECK(strstr(t, ":2,FRS") == NULL);
    /* The swapped directory is a symlink now, and is not followed. */
    CHECK_STR_HAS(t, "vmail symlink - - - - -> vmail.moved\n");
    CHECK(strstr(t, "vmail/example.com") == NULL);
    CHECK(strstr(t, "vmail.moved/") == NULL);
    CHECK(l.fd_ok);
    log_free(&l);
}

/* Nest ${n} directories named ${name} below ${rel}. */
static void
nest(const char *rel, const char *name, int n)
{
    int fd = openat(sfd, rel, O_RDONLY | O_DIRECTORY), next;

    for (int i = 0; i < n && fd != -1; i++) {
        CHECK(mkdirat(fd, name, 0700) == 0);
        next = openat(fd, name, O_RDONLY | O_DIRECTORY);
        close(fd);
        fd = next;
    }
    if (fd != -1)
        close(fd);
}

/* Walk ${rel}: 0 if it fails with CM_EIO and ${text} in the message. */
static int
walk_fails(const char *rel, const char *text)
{
    struct cm_err err = CM_ERR_INIT;
    struct log l = {0};
    char root[512];
    int rc;

    snprintf(root, sizeof root, "%s/%s", scratch, rel);
    rc = walk(root, NULL, &l, &err) == -1 && err.code == CM_EIO &&
                 strstr(err.msg, text) != NULL
             ? 0
             : 1;
    if (rc != 0)
        fprintf(stderr, "%s: %s\n", rel, err.msg);
    log_free(&l);
    return rc;
}

/* 0 if unreadable things fail the walk, naming them; 77 to skip. */
static int
walk_unreadable(void)
{
    int fd = openat(sfd, "locked/inner", O_RDONLY | O_DIRECTORY);

    if (fd != -1) {
        close(fd);
        return 77;
    }
    return walk_fails("locked", "locked/inner: cannot open directory") |
           walk_fails("lockedf", "lockedf/secret: cannot open") |
           walk_fails("lockedmh", "lockedmh/inbox: 1: cannot open");
}

/*
 * An unreadable directory.  Root reads anything: then the walk runs in a
 * child that has become nobody.
 */
static void
test_unreadable(void)
{
    int status = 0, rc;
    pid_t pid;

    mkpath("locked");
    mkpath("locked/inner");
    mkpath("lockedf");
    put("lockedf/secret", "From a@b Mon Jan  1 00:00:00 2001\n");
    mkpath("lockedmh");
    mkpath("lockedmh/inbox");
    put("lockedmh/inbox/1", "Subject: x\n\n");
    CHECK(fchmodat(sfd, "locked/inner", 0, 0) == 0);
    CHECK(fchmodat(sfd, "lockedf/secret", 0, 0) == 0);
    CHECK(fchmodat(sfd, "lockedmh/inbox/1", 0, 0) == 0);
    CHECK(fchmod(sfd, 0755) == 0);
    CHECK(fchmodat(sfd, "locked", 0755, 0) == 0);
    CHECK(fchmodat(sfd, "lockedf", 0755, 0) == 0);
    CHECK(fchmodat(sfd, "lockedmh", 0755, 0) == 0);
    CHECK(fchmodat(sfd, "lockedmh/inbox", 0755, 0) == 0);
    if (geteuid() != 0) {
        rc = walk_unreadable();
    } else if ((pid = fork()) == 0) {
        if (setgid(65534) != 0 || setuid(65534) != 0)
            _exit(77);
        _exit(walk_unreadable());
    } else {
        CHECK(pid != -1 && waitpid(pid, &status, 0) == pid);
        rc = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
    }
    if (rc == 77)
        fprintf(stderr, "skipped: unreadable files can be read\n");
    else
        CHECK_INT_EQ(rc, 0);
    fchmodat(sfd, "locked/inner", 0700, 0);
    fchmodat(sfd, "lockedf/secret", 0600, 0);
    fchmodat(sfd, "lockedmh/inbox/1", 0600, 0);
    fchmod(sfd, 0700);
}

static void
test_errors(void)
{
    struct cm_err err = CM_ERR_INIT;
    struct log l = {0};
    char root[512], name[256];

    snprintf(root, sizeof root, "%s/missing", scratch);
    CHECK(walk(root, NULL, &l, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EIO);
    CHECK_STR_HAS(err.msg, "missing");
    log_free(&l);

    cm_err_clear(&err);
    snprintf(root, sizeof root, "%s/mail/inbox", scratch);
    CHECK(walk(root, NULL, &l, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EUSAGE);
    log_free(&l);

    /* Too deep. */
    cm_err_clear(&err);
    mkpath("deep");
    nest("deep", "d", WALK_DEPTH_MAX + 2);
    snprintf(root, sizeof root, "%s/deep", scratch);
    CHECK(walk(root, NULL, &l, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    CHECK_STR_HAS(err.msg, "d/d/d/d");
    CHECK_STR_HAS(err.msg, "nested deeper than");
    log_free(&l);

    /* Too long a path. */
    cm_err_clear(&err);
    mkpath("long");
    memset(name, 'n', 250);
    name[250] = '\0';
    nest("long", name, WALK_PATH_MAX / 251 + 2);
    snprintf(root, sizeof root, "%s/long", scratch);
    CHECK(walk(root, NULL, &l, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    CHECK_STR_HAS(err.msg, "path longer than");
    log_free(&l);

    test_unreadable();

    /* The visit callback stops the walk with its error. */
    cm_err_clear(&err);
    l.hook = NULL;
    snprintf(root, sizeof root, "%s/Mail", scratch);
    {
        struct log l2 = {0};
        CHECK(walk(root, NULL, &l2, &err) == 0);
        check_lines(&l2.text, " dir - - - -\n"
                              "inbox dir mh inbox INBOX -\n"
                              "inbox/.mh_sequences file mh inbox INBOX -\n"
                              "inbox/1 message mh inbox INBOX -\n"
                              "inbox/10 message mh inbox INBOX -\n"
                              "inbox/2 message mh inbox INBOX -\n"
                              "inbox/sub dir mh inbox sub -\n"
                              "inbox/sub/1 message mh inbox sub -\n");
        log_free(&l2);
    }
}

static int
fail_visit(void *ctx, const struct walk_entry *e, struct cm_err *err)
{
    (void)ctx;
    if (strcmp(e->relpath, "inbox/1") == 0)
        return cm_fail(err, CM_ENOSPC, "medium full");
    return 0;
}

static void
test_stop(void)
{
    struct cm_err err = CM_ERR_INIT;
    char root[512];

    snprintf(root, sizeof root, "%s/Mail", scratch);
    CHECK(walk_store(root, NULL, fail_visit, NULL, NULL, &err) == -1);
    CHECK_INT_EQ(err.code, CM_ENOSPC);
    /* A store that is itself a Maildir. */
    cm_err_clear(&err);
    {
        struct log l = {0};
        snprintf(root, sizeof root, "%s/vmail.moved/example.com/alice/Maildir",
                 scratch);
        CHECK(walk(root, NULL, &l, &err) == 0);
        check_lines(&l.text, " dir maildir  INBOX -\n"
                             "new dir maildir  INBOX new\n"
                             "cur dir maildir  INBOX cur\n"
                             "cur/m1:2,S message maildir  INBOX cur\n"
                             "tmp dir maildir  INBOX tmp\n");
        log_free(&l);
    }
}

int
main(void)
{
    const char *tmp = getenv("TMPDIR");
    char cmd[600];

    snprintf(scratch, sizeof scratch, "%s/test_walk.XXXXXX",
             tmp != NULL ? tmp : "/tmp");
    if (mkdtemp(scratch) == NULL ||
        (sfd = open(scratch, O_RDONLY | O_DIRECTORY)) == -1) {
        perror(scratch);
        return 1;
    }
    build_store();
    test_store();
    test_excluded();
    test_device();
    test_changes();
    test_errors();
    test_stop();
    close(sfd);
    snprintf(cmd, sizeof cmd, "chmod -R u+rwX '%s'; rm -rf '%s'", scratch,
             scratch);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", scratch);
    return check_report();
}
