#include "restoretxt.h"

#include <inttypes.h>

#include "when.h"

static int
head(const struct manifest *m, const char *set_name, struct buf *out,
     struct cm_err *err)
{
    char created[WHEN_ISO_LEN], id[33];

    when_format_iso(created, m->created);
    manifest_set_id_hex(m->set_id, id);
    if (buf_printf(out, err,
                   "HOW TO RESTORE THIS SET\n"
                   "=======================\n\n"
                   "Set:      %s\n"
                   "Set id:   %s\n"
                   "Host:     %s\n"
                   "Written:  %s by coldmail %s\n"
                   "Kind:     %s set, number %" PRIu64 " of this host's "
                   "chain\n",
                   set_name, id, m->host, created, COLDMAIL_VERSION,
                   m->kind, m->sequence) == -1)
        return -1;
    if (m->label != NULL && *m->label &&
        buf_printf(out, err, "Label:    %s\n", m->label) == -1)
        return -1;
    if (buf_printf(out, err,
                   "Holds:    %" PRIu64 " messages, %" PRIu64
                   " objects in all, %" PRIu64 " bytes before compression, "
                   "in %" PRIu64 " volume(s)\n",
                   m->messages, m->objects, m->bytes_in, m->volumes) == -1)
        return -1;
    for (size_t i = 0; i < m->nstores; i++)
        if (buf_printf(out, err, "Store:    %s/ (was %s on %s)\n",
                       m->stores[i].name, m->stores[i].path, m->host) == -1)
            return -1;
    return 0;
}

static int
keys(const struct manifest *m, struct buf *out, struct cm_err *err)
{
    if (buf_printf(out, err,
                   "\nThe volumes and the catalog are encrypted (age, "
                   "age-encryption.org/v1) to:\n") == -1)
        return -1;
    for (size_t i = 0; i < m->nrecipients; i++)
        if (buf_printf(out, err, "    %s\n", m->recipients[i]) == -1)
            return -1;
    return buf_printf(out, err,
                      "You need the matching identity file (it starts with "
                      "AGE-SECRET-KEY-1, or is\nitself a passphrase-encrypted "
                      "age file).  Nothing on this medium can decrypt\n"
                      "without it.\n\n"
                      "MANIFEST is signed (minisign) by key %s:\n"
                      "    %s\n"
                      "Check that this public key matches the copy you keep "
                      "elsewhere: anyone could\nhave written this file.\n",
                      m->signer_key_id, m->signer_public_key);
}

static int
commands(const struct manifest *m, struct buf *out, struct cm_err *err)
{
    return buf_printf(
        out, err,
        "\nWHAT IS HERE\n"
        "  MANIFEST               what the set holds: every file's size and "
        "SHA-256,\n"
        "                         and the SHA-256 of every 1 MiB block\n"
        "  MANIFEST.minisig       its signature\n"
        "  vol-NNNN.tar.zst.age   the mail: each volume is age(zstd(pax "
        "tar)) and\n"
        "                         restores on its own\n"
        "  catalog.jsonl.zst.age  one JSON line per message and file: path, "
        "SHA-256,\n"
        "                         Message-ID, Date, From, Subject, and "
        "where it is\n"
        "  RESTORE.txt            this note\n"
        "\n1. CHECK THE SET (no decryption key needed)\n\n"
        "  With coldmail-restore:\n"
        "    coldmail-restore verify -P %s .\n\n"
        "  Or with minisign and sha256sum, in this directory:\n"
        "    minisign -Vm MANIFEST -P %s\n"
        "    awk '$1 == \"file\" { print $4 \"  \" $2 }' MANIFEST | "
        "sha256sum -c -\n"
        "\n2. RESTORE WITH coldmail-restore\n\n"
        "    coldmail-restore restore -i IDENTITY_FILE . -o /path/to/target\n"
        "    coldmail-restore ls -i IDENTITY_FILE . --from alice\n"
        "    coldmail-restore cat -i IDENTITY_FILE . --message-id "
        "'<id@example>'\n"
        "\n3. RESTORE BY HAND with age, zstd and tar (Debian: apt-get install "
        "age zstd tar)\n\n"
        "    mkdir -p /path/to/target\n"
        "    for v in vol-*.tar.zst.age; do\n"
        "        age -d -i IDENTITY_FILE \"$v\" | zstd -d | "
        "tar -xpf - -C /path/to/target\n"
        "    done\n\n"
        "  Each volume is independent: a damaged volume loses only what it "
        "holds.\n"
        "  The catalog, as plain JSON Lines:\n"
        "    age -d -i IDENTITY_FILE catalog.jsonl.zst.age | zstd -d > "
        "catalog.jsonl\n"
        "%s",
        m->signer_public_key, m->signer_public_key,
        m->has_base ? "\n  This is an INCREMENTAL set: objects unchanged "
                      "since its base set are not in its\n  volumes; the "
                      "catalog names the set that holds each one.  Restore "
                      "the\n  base set first, then this one over it, "
                      "deleting what the catalog no\n  longer lists.\n"
                    : "");
}

int
restoretxt_format(const struct manifest *m, const char *set_name,
                  struct buf *out, struct cm_err *err)
{
    if (head(m, set_name, out, err) == -1 || keys(m, out, err) == -1 ||
        commands(m, out, err) == -1)
        return -1;
    return buf_printf(out, err,
                      "\nThe set format is described in coldmail-format(5); "
                      "the formats inside are\nstandard (age v1, minisign, "
                      "zstd, POSIX pax tar, JSON Lines), on purpose.\n");
}
