#include "packspan.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "medium.h"
#include "state.h"

#define HOOK_OUTPUT_MAX 4096

extern char **environ;

/* ------------------------------------------------------------------ */
/* The command                                                         */

/* environ, and the four COLDMAIL_* variables (in ${vars}) in front. */
static char **
hook_env(const struct setw_part *done, char vars[4][4200], struct cm_err *err)
{
    size_t n = 0, k = 0;
    char **env;

    while (environ[n] != NULL)
        n++;
    if ((env = cm_calloc(n + 5, sizeof *env, err)) == NULL)
        return NULL;
    snprintf(vars[0], sizeof vars[0], "COLDMAIL_PART=%" PRIu32, done->part + 1);
    snprintf(vars[1], sizeof vars[1], "COLDMAIL_SET=%s",
             strrchr(done->set_dir, '/') ? strrchr(done->set_dir, '/') + 1
                                         : done->set_dir);
    snprintf(vars[2], sizeof vars[2], "COLDMAIL_FULL_MEDIUM=%s",
             done->medium_dir);
    snprintf(vars[3], sizeof vars[3], "COLDMAIL_FULL_LABEL=%s", done->label);
    for (int i = 0; i < 4; i++)
        env[k++] = vars[i];
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "COLDMAIL_PART=", 14) != 0 &&
            strncmp(environ[i], "COLDMAIL_SET=", 13) != 0 &&
            strncmp(environ[i], "COLDMAIL_FULL_", 14) != 0)
            env[k++] = environ[i];
    return env;
}

/* Read what the command prints, at most HOOK_OUTPUT_MAX bytes. */
static int
read_output(int fd, char *out, size_t outlen, struct cm_err *err)
{
    size_t len = 0;
    ssize_t n;

    for (;;) {
        char sink[512];
        int full = len + 1 >= outlen;
        n = read(fd, full ? sink : out + len,
                 full ? sizeof sink : outlen - 1 - len);
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (full)
            return cm_fail(err, CM_EUSAGE,
                           "--next-medium: printed more than %d bytes",
                           HOOK_OUTPUT_MAX);
        len += (size_t)n;
    }
    out[len] = '\0';
    return n == -1 ? cm_fail_errno(err, errno,
                                   "--next-medium: reading its "
                                   "output")
                   : 0;
}

static int
wait_hook(pid_t pid, struct cm_err *err)
{
    int status;

    while (waitpid(pid, &status, 0) == -1)
        if (errno != EINTR)
            return cm_fail_errno(err, errno, "--next-medium: waitpid");
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFEXITED(status))
        return cm_fail(err, CM_EUSAGE, "--next-medium exited with status %d",
                       WEXITSTATUS(status));
    return cm_fail(err, CM_EUSAGE, "--next-medium was killed by signal %d",
                   WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* Run the command: its first line of output into ${dir}. */
static int
run_hook(const char *cmd, const struct setw_part *done, char *dir,
         size_t dirlen, struct cm_err *err)
{
    char vars[4][4200];
    posix_spawn_file_actions_t fa;
    char *argv[] = {"sh", "-c", (char *)cmd, NULL};
    char out[HOOK_OUTPUT_MAX + 1], **env;
    int pipefd[2], rc = -1, r;
    pid_t pid;

    if ((env = hook_env(done, vars, err)) == NULL)
        return -1;
    if (pipe2(pipefd, O_CLOEXEC) == -1) {
        free(env);
        return cm_fail_errno(err, errno, "--next-medium: pipe");
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
    r = posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    close(pipefd[1]);
    free(env);
    if (r != 0) {
        close(pipefd[0]);
        return cm_fail_errno(err, r, "--next-medium: cannot run /bin/sh");
    }
    r = read_output(pipefd[0], out, sizeof out, err);
    close(pipefd[0]);
    if (wait_hook(pid, err) == -1 || r == -1)
        return -1;
    out[strcspn(out, "\n")] = '\0';
    if (out[0] == '\0')
        return cm_fail(err, CM_EUSAGE, "--next-medium printed no directory");
    if (strlen(out) >= dirlen)
        rc = cm_fail(err, CM_EUSAGE, "--next-medium: path too long");
    else
        rc = snprintf(dir, dirlen, "%s", out) < 0 ? -1 : 0;
    return rc;
}

/* ------------------------------------------------------------------ */
/* The operator                                                        */

/* 0 and ${dir}, or -1: the operator stopped (or standard input ended). */
static int
ask(struct packer *p, const struct setw_part *done, char *dir, size_t dirlen,
    struct cm_err *err)
{
    char line[4200];

    fprintf(stderr,
            "coldmail: mount the medium for part %" PRIu32 " of the set, "
            "then press Enter to use %s, or type its directory (q to "
            "stop): ",
            done->part + 1, done->medium_dir);
    fflush(stderr);
    if (fgets(line, sizeof line, stdin) == NULL ||
        (p->o->interrupted != NULL && *p->o->interrupted))
        return cm_fail(err, CM_EINTR, "no answer");
    line[strcspn(line, "\n")] = '\0';
    if (strcmp(line, "q") == 0)
        return cm_fail(err, CM_EUSAGE, "stopped by the operator");
    snprintf(dir, dirlen, "%s", line[0] != '\0' ? line : done->medium_dir);
    return 0;
}

/* ------------------------------------------------------------------ */
/* The medium offered                                                  */

static void
note_cleaned(void *ctx, const char *name)
{
    packobj_warn(ctx, name,
                 "removed: an incomplete set left by an "
                 "interrupted run");
}

static int
check_dir(const char *dir, char *real, struct cm_err *err)
{
    struct stat st;

    if (realpath(dir, real) == NULL || stat(real, &st) == -1)
        return cm_fail_errno(
            err, errno, "%s: the medium is not there (is it mounted?)", dir);
    if (!S_ISDIR(st.st_mode))
        return cm_fail(err, CM_EUSAGE, "%s: the medium is not a directory",
                       dir);
    if (access(real, W_OK) == -1)
        return cm_fail_errno(err, errno, "%s: the medium is not writable", dir);
    return 0;
}

/* Is ${dir} a medium the next part may go to?  Fills ${next}. */
static int
check_next(struct packer *p, const struct setw_part *done, const char *dir,
           struct setw_medium *next, struct cm_err *err)
{
    struct medium_label l;
    struct minisig_pubkey pk;
    struct statvfs vfs;
    char real[PATH_MAX];
    int r;

    if (check_dir(dir, real, err) == -1)
        return -1;
    minisig_seckey_pubkey(p->o->signer, &pk);
    if ((r = medium_read(real, &pk, &l, err)) == -1)
        return cm_err_prefix(err, "%s: the medium's label", dir);
    if (r == 0)
        return cm_fail(err, CM_EUSAGE,
                       "%s: not a coldmail medium (no %s); label it first "
                       "with 'coldmail media init %s --label NAME'",
                       dir, MEDIUM_LABEL_FILE, dir);
    if (strcmp(l.host, done->m->host) != 0)
        return cm_fail(err, CM_EUSAGE,
                       "%s: the medium \"%s\" belongs to host %s, not %s", dir,
                       l.label, l.host, done->m->host);
    for (size_t i = 0; i < done->m->nparts; i++)
        if (memcmp(done->m->parts[i].medium_id, l.id, 16) == 0)
            return cm_fail(err, CM_EUSAGE,
                           "%s: the medium \"%s\" already holds part %zu of "
                           "this set: give another medium",
                           dir, l.label, i + 1);
    if (setw_clean_incomplete(real, note_cleaned, p, err) == -1)
        return -1;
    if (statvfs(real, &vfs) == -1)
        memset(&vfs, 0, sizeof vfs);
    if (state_medium_seen(p->state, &l, real,
                          (uint64_t)vfs.f_blocks * vfs.f_frsize,
                          (uint64_t)vfs.f_bavail * vfs.f_frsize, err) == -1)
        return -1;
    snprintf(next->dir, sizeof next->dir, "%s", real);
    snprintf(next->label, sizeof next->label, "%s", l.label);
    memcpy(next->id, l.id, sizeof next->id);
    return 0;
}

int
packspan_next(void *ctx, const struct setw_part *done, struct setw_medium *next,
              struct cm_err *err)
{
    struct packer *p = ctx;
    char dir[4096], why[600];

    snprintf(why, sizeof why,
             "medium \"%s\" is full: part %" PRIu32 " of the set is "
             "committed on it",
             done->label, done->part);
    packobj_warn(p, done->medium_dir, why);
    for (;;) {
        struct cm_err refused = CM_ERR_INIT;
        if (p->o->next_medium != NULL) {
            if (run_hook(p->o->next_medium, done, dir, sizeof dir, err) == -1)
                return -1;
            return check_next(p, done, dir, next, err);
        }
        if (ask(p, done, dir, sizeof dir, err) == -1)
            return -1;
        if (check_next(p, done, dir, next, &refused) == 0)
            return 0;
        if (refused.code == CM_EINTERNAL) {
            *err = refused;
            return -1;
        }
        packobj_warn(p, "refused", refused.msg);
    }
}
