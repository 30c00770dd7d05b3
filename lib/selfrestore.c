#include "selfrestore.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "blockhash.h"
#include "buf.h"
#include "enc.h"
#include "io.h"

#ifndef COLDMAIL_LIBEXECDIR
#define COLDMAIL_LIBEXECDIR "/usr/local/libexec/coldmail"
#endif
#ifndef COLDMAIL_STATIC_REPAIRS
#define COLDMAIL_STATIC_REPAIRS 1
#endif
#define SUMS_MAX (64u << 10)
#define README "README.txt"

/* One file of COLDMAIL-TOOLS: its name and content. */
struct tool {
    const char *name;
    mode_t mode;
    struct buf data;
    uint8_t sha256[32];
};

/* Where to look for the tools, in order: ${dirs}, and as text in ${out}. */
static void
search_dirs(char *out, size_t outlen, size_t *n, char dirs[][PATH_MAX])
{
    const char *env = getenv("COLDMAIL_TOOLS_DIR");
    char exe[PATH_MAX];
    ssize_t len;

    *n = 0;
    if (env != NULL) {
        snprintf(dirs[(*n)++], PATH_MAX, "%s", env);
    } else {
        len = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (len > 0) {
            char *slash;
            exe[len] = '\0';
            if ((slash = strrchr(exe, '/')) != NULL)
                *slash = '\0';
            snprintf(dirs[(*n)++], PATH_MAX, "%s", exe);
            snprintf(dirs[(*n)++], PATH_MAX, "%.*s/../libexec/coldmail",
                     PATH_MAX - 32, exe);
        }
        snprintf(dirs[(*n)++], PATH_MAX, "%s", COLDMAIL_LIBEXECDIR);
    }
    out[0] = '\0';
    for (size_t i = 0; i < *n; i++)
        snprintf(out + strlen(out), outlen - strlen(out), "%s%s", i ? ", " : "",
                 dirs[i]);
}

/* Load ${name} from the first of ${dirs} that has it: 1, or 0 if none. */
static int
find_tool(char dirs[][PATH_MAX], size_t n, struct tool *t, struct cm_err *err)
{
    char path[PATH_MAX + 128];
    struct stat st;

    for (size_t i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s", dirs[i], t->name);
        if (stat(path, &st) == -1 || !S_ISREG(st.st_mode))
            continue;
        if (io_read_file(path, SELFRESTORE_FILE_MAX, &t->data, err) == -1)
            return -1;
        blockhash_sha256(t->data.data, t->data.len, t->sha256);
        return 1;
    }
    return 0;
}

static int
readme(struct tool *t, struct cm_err *err)
{
    static const char text[] =
        "COLDMAIL TOOLS\n"
        "==============\n\n"
        "With what is here, the sets on this medium can be checked, "
        "repaired and\nrestored on a machine where coldmail is not "
        "installed.\n\n"
        "  " COLDMAIL_STATIC_RESTORE_NAME "\n"
        "      coldmail-restore " COLDMAIL_VERSION ", statically linked: "
        "it needs no library.\n"
        "  " SELFRESTORE_SOURCE_NAME "\n"
        "      its source, to build coldmail anywhere.\n"
        "  " SELFRESTORE_SUMS ", " SELFRESTORE_SUMS ".minisig\n"
        "      their SHA-256, signed with the key that signs the sets.\n\n"
        "1. Check them.  The signing public key is in every set's "
        "RESTORE.txt: compare it\n   with the copy you keep elsewhere, "
        "then, in this directory:\n"
        "     minisign -Vm " SELFRESTORE_SUMS " -P PUBLIC_KEY\n"
        "     sha256sum -c " SELFRESTORE_SUMS "\n\n"
        "2. Use the static program (copy this directory to a local disk "
        "first if the\n   medium is mounted noexec):\n"
        "     ./" COLDMAIL_STATIC_RESTORE_NAME " verify -P PUBLIC_KEY "
        "../coldmail-*\n"
        "     ./" COLDMAIL_STATIC_RESTORE_NAME " repair -P PUBLIC_KEY "
        "../SET -o /other/disk\n"
        "     ./" COLDMAIL_STATIC_RESTORE_NAME " restore -i IDENTITY_FILE "
        "-P PUBLIC_KEY ../SET \\\n         -o /path/to/target\n"
#if !COLDMAIL_STATIC_REPAIRS
        "   This static build cannot repair (no static Intel ISA-L was at "
        "hand when it\n   was built); build coldmail from the source to "
        "repair.\n"
#endif
        "\n3. Build from the source (Debian 12: apt-get install "
        "build-essential cmake\n   pkg-config libarchive-dev libssl-dev "
        "libzstd-dev libpopt-dev libjansson-dev\n   libsqlite3-dev "
        "libisal-dev):\n"
        "     tar -xzf " SELFRESTORE_SOURCE_NAME "\n"
        "     cd coldmail-" COLDMAIL_VERSION "\n"
        "     cmake -B build && cmake --build build\n"
        "   which makes build/coldmail-restore.\n\n"
        "4. Without any of these, every set restores with age, zstd and "
        "tar: see\n   RESTORE.txt in each set.\n";

    if (buf_append(&t->data, text, sizeof text - 1, README, err) == -1)
        return -1;
    blockhash_sha256(t->data.data, t->data.len, t->sha256);
    return 0;
}

/* Does ${path} hold exactly ${t}'s bytes? */
static int
same_file(const char *path, const struct tool *t)
{
    struct cm_err ignored = CM_ERR_INIT;
    struct buf b;
    int same;

    /* A byte comparison: the copy is here in memory, and memcmp is far
     * cheaper than hashing megabytes on every pack. */
    buf_init(&b, SELFRESTORE_FILE_MAX);
    same = io_read_file(path, SELFRESTORE_FILE_MAX, &b, &ignored) == 0 &&
           b.len == t->data.len && memcmp(b.data, t->data.data, b.len) == 0;
    buf_free(&b);
    return same;
}

/* Write ${len} bytes as ${dir}/${name}: temporary, fsync, read back,
 * rename. */
static int
put_file(const char *dir, const char *name, const void *p, size_t len,
         mode_t mode, struct cm_err *err)
{
    char tmp[PATH_MAX + 160], path[PATH_MAX + 160];
    struct buf back;
    int fd, rc = -1;

    snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    unlink(tmp); /* left by an interrupted run */
    buf_init(&back, SELFRESTORE_FILE_MAX);
    if (io_write_file_excl(tmp, p, len, mode, err) == -1)
        goto out;
    if (chmod(tmp, mode) == -1) {
        cm_fail_errno(err, errno, "%s: chmod", tmp);
        goto out;
    }
    if ((fd = open(tmp, O_RDONLY | O_CLOEXEC)) != -1) {
        posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        close(fd);
    }
    if (io_read_file(tmp, SELFRESTORE_FILE_MAX, &back, err) == -1)
        goto out;
    if (back.len != len || memcmp(back.data, p, len) != 0) {
        cm_fail(err, CM_EIO, "%s: read-back does not match what was written",
                tmp);
        goto out;
    }
    rc = io_rename(tmp, path, err);
out:
    if (rc == -1)
        unlink(tmp);
    buf_free(&back);
    return rc;
}

/* The SHA256SUMS text for the tools present. */
static int
sums_text(const struct tool *t, size_t n, struct buf *out, struct cm_err *err)
{
    char hex[65];

    for (size_t i = 0; i < n; i++) {
        if (t[i].data.len == 0)
            continue;
        hex_encode(hex, t[i].sha256, 32);
        if (buf_printf(out, err, "%s  %s\n", hex, t[i].name) == -1)
            return -1;
    }
    return 0;
}

/* Is ${dir}/SHA256SUMS already ${text}, signed by ${signer}? */
static int
sums_current(const char *dir, const struct buf *text,
             const struct minisig_seckey *signer)
{
    struct cm_err ignored = CM_ERR_INIT;
    char path[PATH_MAX + 64];
    struct minisig_pubkey pk;
    struct buf old, sig;
    int ok;

    buf_init(&old, SUMS_MAX);
    buf_init(&sig, MINISIG_FILE_MAX);
    snprintf(path, sizeof path, "%s/" SELFRESTORE_SUMS, dir);
    ok = io_read_file(path, SUMS_MAX, &old, &ignored) == 0 &&
         old.len == text->len && memcmp(old.data, text->data, old.len) == 0;
    snprintf(path, sizeof path, "%s/" SELFRESTORE_SUMS ".minisig", dir);
    minisig_seckey_pubkey(signer, &pk);
    ok = ok && io_read_file(path, MINISIG_FILE_MAX, &sig, &ignored) == 0 &&
         minisig_verify(&pk, old.data, old.len, (const char *)sig.data, sig.len,
                        NULL, &ignored) == 0;
    buf_free(&old);
    buf_free(&sig);
    return ok;
}

/* Remove the tools the old SHA256SUMS listed and the new one does not. */
static void
remove_stale(const char *dir, const struct buf *now)
{
    struct cm_err ignored = CM_ERR_INIT;
    char path[PATH_MAX + 160];
    struct buf old;
    const char *p, *end;

    buf_init(&old, SUMS_MAX);
    snprintf(path, sizeof path, "%s/" SELFRESTORE_SUMS, dir);
    if (io_read_file(path, SUMS_MAX, &old, &ignored) == -1 ||
        buf_cstr(&old, &ignored) == NULL) {
        buf_free(&old);
        return;
    }
    for (p = (const char *)old.data; (end = strchr(p, '\n')) != NULL;
         p = end + 1) {
        char name[128];
        const char *sp = strstr(p, "  ");
        size_t len;
        if (sp == NULL || sp > end || (len = (size_t)(end - sp - 2)) == 0 ||
            len >= sizeof name)
            continue;
        memcpy(name, sp + 2, len);
        name[len] = '\0';
        if (strchr(name, '/') != NULL || strncmp(name, "coldmail-", 9) != 0)
            continue;
        snprintf(path, sizeof path, "%s\n", name);
        if (memmem(now->data, now->len, path, strlen(path)) != NULL)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, name);
        unlink(path);
    }
    buf_free(&old);
}

static int
write_sums(const char *dir, const struct tool *t, size_t n,
           const struct minisig_seckey *signer, unsigned *copied,
           struct cm_err *err)
{
    char comment[128];
    struct buf text, sig;
    int rc = -1;

    buf_init(&text, SUMS_MAX);
    buf_init(&sig, MINISIG_FILE_MAX);
    if (sums_text(t, n, &text, err) == -1)
        goto out;
    if (sums_current(dir, &text, signer)) {
        rc = 0;
        goto out;
    }
    snprintf(comment, sizeof comment,
             "timestamp:%lld\tfile:" SELFRESTORE_SUMS "\tcoldmail:%s",
             (long long)time(NULL), COLDMAIL_VERSION);
    if (minisig_sign(signer, text.data, text.len, "coldmail tools signature",
                     comment, &sig, err) == -1)
        goto out;
    remove_stale(dir, &text);
    if (put_file(dir, SELFRESTORE_SUMS ".minisig", sig.data, sig.len, 0644,
                 err) == -1 ||
        put_file(dir, SELFRESTORE_SUMS, text.data, text.len, 0644, err) == -1)
        goto out;
    *copied += 2;
    rc = 0;
out:
    buf_free(&text);
    buf_free(&sig);
    return rc;
}

static int
update(const char *dir, struct tool *t, size_t n,
       const struct minisig_seckey *signer, struct selfrestore_result *res,
       struct cm_err *err)
{
    char path[PATH_MAX + 160];

    if (mkdir(dir, 0755) == -1 && errno != EEXIST)
        return cm_fail_errno(err, errno, "%s: cannot create", dir);
    for (size_t i = 0; i < n; i++) {
        if (t[i].data.len == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, t[i].name);
        if (same_file(path, &t[i]))
            continue;
        if (put_file(dir, t[i].name, t[i].data.data, t[i].data.len, t[i].mode,
                     err) == -1)
            return -1;
        res->copied++;
    }
    if (write_sums(dir, t, n, signer, &res->copied, err) == -1)
        return -1;
    return io_fsync_dir(dir, err);
}

/* Find ${t} in ${dirs}, or else keep the copy the medium's ${dir} has
 * (it stays listed as it is). */
static int
locate(char dirs[][PATH_MAX], size_t n, const char *dir, struct tool *t,
       enum selfrestore_state *state, struct cm_err *err)
{
    char medium[1][PATH_MAX];
    int found;

    if ((found = find_tool(dirs, n, t, err)) == -1)
        return -1;
    *state = SELFRESTORE_CURRENT;
    if (found)
        return 0;
    snprintf(medium[0], PATH_MAX, "%s", dir);
    if ((found = find_tool(medium, 1, t, err)) == -1)
        return -1;
    *state = found ? SELFRESTORE_STALE : SELFRESTORE_NONE;
    return 0;
}

int
selfrestore_update(const char *medium_dir, const struct minisig_seckey *signer,
                   struct selfrestore_result *res, struct cm_err *err)
{
    struct tool t[3] = {{COLDMAIL_STATIC_RESTORE_NAME, 0755, {0}, {0}},
                        {SELFRESTORE_SOURCE_NAME, 0644, {0}, {0}},
                        {README, 0644, {0}, {0}}};
    char dirs[4][PATH_MAX], dir[PATH_MAX + 64];
    size_t ndirs;
    int rc = -1;

    memset(res, 0, sizeof *res);
    for (size_t i = 0; i < 3; i++)
        buf_init(&t[i].data, SELFRESTORE_FILE_MAX);
    search_dirs(res->looked_in, sizeof res->looked_in, &ndirs, dirs);
    snprintf(dir, sizeof dir, "%s/" SELFRESTORE_DIR, medium_dir);
    if (locate(dirs, ndirs, dir, &t[0], &res->binary, err) == -1 ||
        locate(dirs, ndirs, dir, &t[1], &res->source, err) == -1)
        goto out;
    if (t[0].data.len == 0 && t[1].data.len == 0) {
        rc = 0;
        goto out;
    }
    if (readme(&t[2], err) == -1 || update(dir, t, 3, signer, res, err) == -1)
        goto out;
    rc = 0;
out:
    for (size_t i = 0; i < 3; i++)
        buf_free(&t[i].data);
    return rc;
}
