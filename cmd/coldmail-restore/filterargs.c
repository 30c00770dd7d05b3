#include "filterargs.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct poptOption filterargs_options[] = {
    {"folder", 0, POPT_ARG_STRING, NULL, FILTERARGS_FOLDER,
     "only this folder (INBOX, Sent, Lists.x, an mbox file's path)", "NAME"},
    {"path", 0, POPT_ARG_STRING, NULL, FILTERARGS_PATH,
     "only paths matching GLOB, or below a directory matching it", "GLOB"},
    {"since", 0, POPT_ARG_STRING, NULL, FILTERARGS_SINCE,
     "only messages dated DATE or later (YYYY-MM-DD[Thh:mm[:ss]Z])", "DATE"},
    {"until", 0, POPT_ARG_STRING, NULL, FILTERARGS_UNTIL,
     "only messages dated DATE or earlier (a bare date: that whole day)",
     "DATE"},
    {"from", 0, POPT_ARG_STRING, NULL, FILTERARGS_FROM,
     "only messages whose From contains TEXT (any case)", "TEXT"},
    {"subject", 0, POPT_ARG_STRING, NULL, FILTERARGS_SUBJECT,
     "only messages whose Subject contains TEXT (any case)", "TEXT"},
    {"message-id", 0, POPT_ARG_STRING, NULL, FILTERARGS_MESSAGE_ID,
     "only the message(s) with this Message-ID (<> optional)", "ID"},
    POPT_TABLEEND};

int
filterargs_take(struct filterargs *a, poptContext pc, int val,
                struct cm_err *err)
{
    static const struct {
        int val;
        size_t off;
        const char *name;
    } slots[] = {
        {FILTERARGS_FOLDER, offsetof(struct filterargs, folder), "--folder"},
        {FILTERARGS_PATH, offsetof(struct filterargs, path), "--path"},
        {FILTERARGS_SINCE, offsetof(struct filterargs, since), "--since"},
        {FILTERARGS_UNTIL, offsetof(struct filterargs, until), "--until"},
        {FILTERARGS_FROM, offsetof(struct filterargs, from), "--from"},
        {FILTERARGS_SUBJECT, offsetof(struct filterargs, subject), "--subject"},
        {FILTERARGS_MESSAGE_ID, offsetof(struct filterargs, message_id),
         "--message-id"},
    };

    for (size_t i = 0; i < CM_ARRAY_LEN(slots); i++)
        if (slots[i].val == val)
            return cli_take_once(pc, (char **)((char *)a + slots[i].off),
                                 slots[i].name, err) == -1
                       ? -1
                       : 1;
    return 0;
}

int
filterargs_build(const struct filterargs *a, struct filter **out,
                 struct cm_err *err)
{
    struct filter_opts o = {a->folder, a->path,    a->since,     a->until,
                            a->from,   a->subject, a->message_id};

    return filter_new(&o, out, err);
}

void
filterargs_free(struct filterargs *a)
{
    free(a->folder);
    free(a->path);
    free(a->since);
    free(a->until);
    free(a->from);
    free(a->subject);
    free(a->message_id);
    memset(a, 0, sizeof *a);
}
