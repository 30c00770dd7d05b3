/* The verbs of coldmail-restore; each returns the process exit status. */
#ifndef COLDMAIL_RESTORE_CMDS_H
#define COLDMAIL_RESTORE_CMDS_H

int cmd_keygen(int argc, const char **argv);
int cmd_decrypt(int argc, const char **argv);
int cmd_ls(int argc, const char **argv);
int cmd_cat(int argc, const char **argv);
int cmd_restore(int argc, const char **argv);
int cmd_audit(int argc, const char **argv);
int cmd_verify(int argc, const char **argv);
int cmd_repair(int argc, const char **argv);

#endif
