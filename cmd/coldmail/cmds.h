/* The verbs of coldmail; each returns the process exit status. */
#ifndef COLDMAIL_CMDS_H
#define COLDMAIL_CMDS_H

int cmd_keygen(int argc, const char **argv);
int cmd_pack(int argc, const char **argv);
int cmd_media(int argc, const char **argv);
int cmd_status(int argc, const char **argv);
int cmd_prune(int argc, const char **argv);
int cmd_hold(int argc, const char **argv);
int cmd_state(int argc, const char **argv);

#endif
