/* The verbs of coldmail-restore; each returns the process exit status. */
#ifndef COLDMAIL_RESTORE_CMDS_H
#define COLDMAIL_RESTORE_CMDS_H

int cmd_keygen(int argc, const char **argv);
int cmd_decrypt(int argc, const char **argv);

#endif
