#include "restoretxt.h"

#include <inttypes.h>
#include <stdio.h>

#include "selfrestore.h"
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
has_parity(const struct manifest *m)
{
    for (size_t i = 0; i < m->nfiles; i++)
        if (m->files[i].parity_of != NULL)
            return 1;
    return 0;
}

/* The medium's own tools (selfrestore.h), for when coldmail is gone. */
static int
tools(const struct manifest *m, const char *set_name, struct buf *out,
      struct cm_err *err)
{
    const char *bin = COLDMAIL_STATIC_RESTORE_NAME, *key = m->signer_public_key;

    return buf_printf(
        out, err,
        "\n4. IF coldmail-restore IS NOT INSTALLED\n\n"
        "  The medium carries it.  ../" SELFRESTORE_DIR "/ (at the medium "
        "root) holds\n"
        "    %s\n"
        "        coldmail-restore, statically linked: needs no library\n"
        "    " SELFRESTORE_SOURCE_NAME "\n"
        "        the source of coldmail, to build it anywhere (cmake; see "
        "README.md)\n"
        "    " SELFRESTORE_SUMS ", " SELFRESTORE_SUMS ".minisig, README.txt\n"
        "        their SHA-256, signed with the key above, and how to use "
        "them\n"
        "  Check them, then use the program (copy the directory to a local "
        "disk first\n  if the medium is mounted noexec):\n"
        "    cd ../" SELFRESTORE_DIR "\n"
        "    minisign -Vm " SELFRESTORE_SUMS " -P %s\n"
        "    sha256sum -c " SELFRESTORE_SUMS "\n"
        "    ./%s verify -P %s ../%s\n"
        "    ./%s restore -i IDENTITY_FILE -P %s ../%s \\\n"
        "        -o /path/to/target\n"
        "  Section 3 needs none of this.\n",
        bin, key, bin, key, set_name, bin, key, set_name);
}

static int
commands(const struct manifest *m, struct buf *out, struct cm_err *err)
{
    char repair[512] = "";

    if (has_parity(m))
        snprintf(repair, sizeof repair,
                 "\n  If blocks are damaged, rebuild them from the parity "
                 "files, without any key,\n  into a copy on another disk "
                 "(or --in-place, once the copy checks):\n"
                 "    coldmail-restore repair -P %s . -o /path/to/other/disk\n",
                 m->signer_public_key);
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
        "%s"
        "\n1. CHECK THE SET (no decryption key needed)\n\n"
        "  With coldmail-restore:\n"
        "    coldmail-restore verify -P %s .\n\n"
        "  Or with minisign and sha256sum, in this directory:\n"
        "    minisign -Vm MANIFEST -P %s\n"
        "    awk '$1 == \"file\" { print $4 \"  \" $2 }' MANIFEST | "
        "sha256sum -c -\n"
        "%s"
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
        has_parity(m) ? "  NAME.par               Reed-Solomon parity of NAME: "
                        "rebuilds its damaged\n"
                        "                         blocks without any key "
                        "(coldmail-restore repair)\n"
                      : "",
        m->signer_public_key, m->signer_public_key,
        repair,
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
        commands(m, out, err) == -1 || tools(m, set_name, out, err) == -1)
        return -1;
    return buf_printf(out, err,
                      "\nThe set format is described in coldmail-format(5); "
                      "the formats inside are\nstandard (age v1, minisign, "
                      "zstd, POSIX pax tar, JSON Lines), on purpose.\n");
}
