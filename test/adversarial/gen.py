#!/usr/bin/env python3
"""Adversarial media: damaged and hostile variants of a good coldmail set.

    gen.py --set SET --older OLDER --other OTHER --key SIGN.KEY
           --recipient AGE1... --store-name NAME --outside DIR --out DIR

SET is a good full set of two or more volumes (with parity files), OLDER an
earlier set of the same host (its MANIFEST is replayed), OTHER a set of
another store signed with the same key (its volume is swapped in).  Writes
one copy of the set per case under DIR/<case>/ and DIR/cases.json, a list
of cases:

    name       the case
    dir        the set directory to verify and restore
    what       one line for the table
    verify     the exit statuses `coldmail-restore verify -p KEY` may give
    verify_has text its report must hold (the damage, named), or null
    deep       the exit statuses of `verify --deep`, or null (not run)
    restore    the exit statuses of `coldmail-restore restore`
    expect     "source": every file restored is the source's, nothing
               else is there (what is missing was listed as lost);
               "hostile": the files of DIR/<case>/expected.json (path ->
               SHA-256) and nothing else; or "nothing": no file at all
    complete   true if everything must be restored

Two kinds.  Damage, as bit rot or a bad copy makes it: a flipped byte in
each position class (MANIFEST, its signature, each volume's age header,
the first, a middle and the last age chunk, the chunk holding the seek
table, the catalog, RESTORE.txt, a parity file), truncation at many
lengths, a zero-length volume, an extra file, reordered volumes, a
replayed older MANIFEST.  And hostile sets, as an insider holding the
signing key could make them: the files rebuilt (tar by python's tarfile,
zstd frames by tool_zframe or the zstd command, age by the age command)
and a MANIFEST with their hashes, signed again: a volume from another set,
volumes swapped, a huge declared length (MANIFEST, catalog, tar header),
a decompression bomb frame, and tar entries with `..', absolute paths, a
symlink and a file through it, hard links, device nodes and a FIFO.
"""
import argparse
import base64
import hashlib
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tarfile

BLOCK = 1 << 20
CHUNK = 65536
CHUNK_CT = CHUNK + 16


def sha(b):
    return hashlib.sha256(b).hexdigest()


def read(p):
    with open(p, "rb") as f:
        return f.read()


def write(p, b):
    with open(p, "wb") as f:
        f.write(b)


class Manifest:
    """A MANIFEST as head lines, files (name -> bytes) and tail."""

    def __init__(self, text):
        lines = text.decode().splitlines()
        self.head, self.files = [], []
        i = 0
        while not lines[i].startswith("file "):
            self.head.append(lines[i])
            i += 1
        while lines[i] != "end":
            parts = lines[i].split()
            if parts[0] == "file":
                self.files.append([parts[1], None, []])
            elif parts[0] == "parity-of":
                self.files[-1][2].append(lines[i])
            i += 1

    def set(self, key, value):
        for i, l in enumerate(self.head):
            if l.split(" ", 1)[0] == key:
                self.head[i] = "%s %s" % (key, value)
                return
        raise KeyError(key)

    def get(self, key):
        for l in self.head:
            if l.split(" ", 1)[0] == key:
                return l.split(" ", 1)[1]
        raise KeyError(key)

    def text(self, setdir, drop_parity=False, sizes=None):
        out = list(self.head)
        for name, _, extra in self.files:
            if drop_parity and name.endswith(".par"):
                continue
            data = read(os.path.join(setdir, name))
            size = len(data) if sizes is None or name not in sizes else sizes[name]
            out.append("file %s %d %s" % (name, size, sha(data)))
            if not drop_parity:
                out.extend(extra)
            # A huge declared size gets block lines for the real data and a
            # few more, not 2^43 of them.
            nblocks = min((size + BLOCK - 1) // BLOCK,
                          (len(data) + BLOCK - 1) // BLOCK + 64)
            for i in range(nblocks):
                out.append("block %d %s" % (i, sha(data[i * BLOCK:(i + 1) * BLOCK])))
        out.append("end")
        return ("\n".join(out) + "\n").encode()


class Gen:
    def __init__(self, a):
        self.a = a
        self.cases = []
        self.set_name = os.path.basename(a.set.rstrip("/"))
        self.tools = a.tools
        self.comment = None
        for l in read(os.path.join(a.set, "MANIFEST.minisig")).decode().splitlines():
            if l.startswith("trusted comment: "):
                self.comment = l[len("trusted comment: "):]
        self.m = Manifest(read(os.path.join(a.set, "MANIFEST")))
        self.vols = sorted(n for n, _, _ in self.m.files
                           if n.startswith("vol-") and n.endswith(".age"))
        assert len(self.vols) >= 2, "the set needs two volumes"

    # -- cases ------------------------------------------------------------
    def copy(self, name):
        d = os.path.join(self.a.out, name, self.set_name)
        shutil.copytree(self.a.set, d)
        return d

    def add(self, name, d, what, verify, verify_has, restore, expect="source",
            complete=False, deep=None):
        self.cases.append(dict(name=name, dir=d, what=what, verify=verify,
                               verify_has=verify_has, restore=restore,
                               expect=expect, complete=complete, deep=deep))

    def sign(self, d):
        subprocess.run([os.path.join(self.tools, "tool_minisig"), "sign",
                        self.a.key, os.path.join(d, "MANIFEST"), self.comment],
                       check=True, stdout=subprocess.DEVNULL)

    def resign(self, d, m=None, drop_parity=True, sizes=None):
        """MANIFEST from the files now in ${d}, signed: an insider's set."""
        m = m or Manifest(read(os.path.join(d, "MANIFEST")))
        if drop_parity:
            for n, _, _ in m.files:
                if n.endswith(".par") and os.path.exists(os.path.join(d, n)):
                    os.unlink(os.path.join(d, n))
            m.files = [f for f in m.files if not f[0].endswith(".par")]
        write(os.path.join(d, "MANIFEST"), m.text(d, drop_parity, sizes))
        self.sign(d)

    # -- age, zstd ----------------------------------------------------------
    @staticmethod
    def header_len(b):
        i = b.index(b"\n--- ")
        return b.index(b"\n", i + 1) + 1

    def encrypt(self, plain):
        r = subprocess.run(["age", "-r", self.a.recipient], input=plain,
                           stdout=subprocess.PIPE, check=True)
        return r.stdout

    def zframe(self, plain):
        r = subprocess.run([os.path.join(self.tools, "tool_zframe"), "compress"],
                           input=plain, stdout=subprocess.PIPE, check=True)
        return r.stdout

    @staticmethod
    def seektable(frames):
        """zstd seekable format: [(c_size, d_size)] -> skippable frame."""
        body = b"".join(struct.pack("<II", c, dd) for c, dd in frames)
        body += struct.pack("<IBI", len(frames), 0, 0x8F92EAB1)
        return struct.pack("<II", 0x184D2A5E, len(body)) + body

    # -- damage ---------------------------------------------------------------
    def flip(self, name, file, off, what, verify, verify_has, restore, **kw):
        d = self.copy(name)
        p = os.path.join(d, file)
        b = bytearray(read(p))
        off = off if off >= 0 else len(b) + off
        b[off] ^= 0x20
        write(p, bytes(b))
        self.add(name, d, "%s (byte %d of %d)" % (what, off, len(b)), verify,
                 verify_has, restore, **kw)

    def damage(self):
        s = self.a.set
        v1 = read(os.path.join(s, self.vols[0]))
        h1 = self.header_len(v1)
        nchunks = (len(v1) - h1 - 16 + CHUNK_CT - 1) // CHUNK_CT
        assert nchunks >= 3, "vol-0001 needs three age chunks"
        cat = "catalog.jsonl.zst.age"
        mf = read(os.path.join(s, "MANIFEST"))
        self.flip("flip-manifest", "MANIFEST", len(mf) // 2, "MANIFEST: a flipped byte",
                  [5], "MANIFEST", [5], expect="nothing")
        self.flip("flip-manifest-last", "MANIFEST", -3, "MANIFEST: a flipped byte at the end",
                  [5], "MANIFEST", [5], expect="nothing")
        sig = read(os.path.join(s, "MANIFEST.minisig"))
        self.flip("flip-signature", "MANIFEST.minisig", sig.index(b"\n") + 10,
                  "MANIFEST.minisig: a flipped byte in the signature",
                  [5], "MANIFEST.minisig", [5], expect="nothing")
        tc = sig.index(b"\ntrusted comment: ") + 30
        self.flip("flip-trusted-comment", "MANIFEST.minisig", tc,
                  "MANIFEST.minisig: a flipped byte in the trusted comment",
                  [5], "MANIFEST.minisig", [5], expect="nothing")
        self.flip("flip-untrusted-comment", "MANIFEST.minisig", 25,
                  "MANIFEST.minisig: a flipped byte in the untrusted comment "
                  "(not signed, by design)", [0], None, [0], complete=True)
        for i, v in enumerate(self.vols):
            b = read(os.path.join(s, v))
            self.flip("flip-%s-header" % v[:8], v, self.header_len(b) // 2,
                      "%s: a flipped byte in the age header" % v,
                      [1], v + ": block 0", [1])
            self.flip("flip-%s-mac" % v[:8], v, self.header_len(b) - 5,
                      "%s: a flipped byte in the header MAC" % v,
                      [1], v + ": block 0", [1])
        v = self.vols[0]
        self.flip("flip-nonce", v, h1 + 3, "%s: a flipped byte in the STREAM nonce" % v,
                  [1], v + ": block 0", [1])
        self.flip("flip-chunk-first", v, h1 + 16 + 100, "%s: first age chunk" % v,
                  [1], v + ": block 0", [1])
        mid = nchunks // 2
        self.flip("flip-chunk-middle", v, h1 + 16 + mid * CHUNK_CT + 4000,
                  "%s: middle age chunk (%d of %d)" % (v, mid, nchunks),
                  [1], v + ": block", [1])
        self.flip("flip-chunk-last", v, len(v1) - 40, "%s: last age chunk" % v,
                  [1], v + ": block", [1])
        self.flip("flip-chunk-tag", v, h1 + 16 + CHUNK_CT - 3,
                  "%s: the first chunk's tag" % v, [1], v + ": block 0", [1])
        # The seek table is the end of the plaintext: inside the last chunk,
        # its last bytes before the tag.
        self.flip("flip-seektable", v, len(v1) - 16 - 10,
                  "%s: the chunk that holds the seek table" % v,
                  [1], v + ": block", [1])
        c = read(os.path.join(s, cat))
        self.flip("flip-catalog-header", cat, self.header_len(c) // 2,
                  "catalog: a flipped byte in its age header", [1], cat, [1],
                  complete=True)
        self.flip("flip-catalog", cat, len(c) // 2, "catalog: a flipped byte",
                  [1], cat, [1], complete=True)
        self.flip("flip-restore-txt", "RESTORE.txt", 100, "RESTORE.txt: a flipped byte",
                  [1], "RESTORE.txt", [0], complete=True)
        pars = [n for n, _, _ in self.m.files if n.endswith(".par")]
        if pars:
            self.flip("flip-parity", pars[0], 10, "%s: a flipped byte" % pars[0],
                      [1], pars[0], [0], complete=True)

        # Truncations of vol-0001 at many lengths, and of the other files.
        cuts = sorted({0, 1, 20, h1 - 1, h1, h1 + 8, h1 + 16, h1 + 17,
                       h1 + 16 + CHUNK_CT - 1, h1 + 16 + CHUNK_CT,
                       h1 + 16 + CHUNK_CT + 1, h1 + 16 + 2 * CHUNK_CT + 999,
                       len(v1) // 2, len(v1) - CHUNK_CT, len(v1) - 17,
                       len(v1) - 16, len(v1) - 1})
        for n in cuts:
            name = "truncate-vol-0001-%d" % n
            d = self.copy(name)
            with open(os.path.join(d, v), "r+b") as f:
                f.truncate(n)
            what = "zero-length volume" if n == 0 else "truncated to %d of %d bytes" % (n, len(v1))
            self.add(name, d, "%s: %s" % (v, what), [1], v, [1])
        for f, n, vc, rc, kw in (
                ("MANIFEST", len(mf) - 10, 5, 5, dict(expect="nothing")),
                ("MANIFEST.minisig", len(sig) // 2, 5, 5, dict(expect="nothing")),
                (cat, len(c) - 100, 1, 1, dict(complete=True)),
                ("RESTORE.txt", 50, 1, 0, dict(complete=True))):
            name = "truncate-%s" % f.split(".")[0].lower()
            if f == "MANIFEST.minisig":
                name = "truncate-signature"
            d = self.copy(name)
            with open(os.path.join(d, f), "r+b") as fh:
                fh.truncate(n)
            self.add(name, d, "%s: truncated to %d bytes" % (f, n), [vc], f, [rc], **kw)
        # One byte more.
        d = self.copy("extend-vol-0001")
        with open(os.path.join(d, v), "ab") as f:
            f.write(b"\0")
        # The bytes MANIFEST declares are intact: restore may take them all.
        self.add("extend-vol-0001", d, "%s: one byte appended" % v, [1], v, [0, 1])
        # Missing files.
        d = self.copy("missing-vol-0002")
        os.unlink(os.path.join(d, self.vols[1]))
        self.add("missing-vol-0002", d, "%s: missing" % self.vols[1], [1],
                 self.vols[1] + ": missing", [1])
        d = self.copy("missing-catalog")
        os.unlink(os.path.join(d, cat))
        self.add("missing-catalog", d, "catalog: missing", [1], cat + ": missing", [1],
                 complete=True)
        d = self.copy("missing-signature")
        os.unlink(os.path.join(d, "MANIFEST.minisig"))
        self.add("missing-signature", d, "MANIFEST.minisig: missing", [5],
                 "MANIFEST.minisig", [5], expect="nothing")
        # Extra files.
        d = self.copy("extra-file")
        write(os.path.join(d, "notes.txt"), b"not part of the set\n")
        self.add("extra-file", d, "an extra file, notes.txt", [1], "notes.txt", [0],
                 complete=True)
        d = self.copy("extra-volume")
        shutil.copyfile(os.path.join(d, self.vols[0]),
                        os.path.join(d, "vol-%04d.tar.zst.age" % (len(self.vols) + 1)))
        self.add("extra-volume", d, "an extra volume, a copy of vol-0001", [1],
                 "vol-%04d.tar.zst.age" % (len(self.vols) + 1), [0], complete=True)
        # Reordered volumes (swapped names).
        d = self.copy("reordered-volumes")
        a, b = (os.path.join(d, x) for x in self.vols[:2])
        os.rename(a, a + ".tmp")
        os.rename(b, a)
        os.rename(a + ".tmp", b)
        self.add("reordered-volumes", d, "vol-0001 and vol-0002 swapped", [1],
                 self.vols[0], [1])
        # A replayed older MANIFEST (and its valid signature).
        d = self.copy("replayed-manifest")
        for f in ("MANIFEST", "MANIFEST.minisig"):
            shutil.copyfile(os.path.join(self.a.older, f), os.path.join(d, f))
        self.add("replayed-manifest", d, "the MANIFEST of an older set, with its signature",
                 [1, 4], "name", [1, 4, 5])

    # -- hostile, re-signed -----------------------------------------------------
    def hostile_resigned(self):
        s = self.a.set
        v1, v2 = self.vols[0], self.vols[1]
        d = self.copy("foreign-volume")
        shutil.copyfile(os.path.join(self.a.other, v2), os.path.join(d, v2))
        self.resign(d)
        self.add("foreign-volume", d,
                 "vol-0002 of another set, MANIFEST re-signed with its hashes",
                 [0], None, [1], deep=[1])
        d = self.copy("swapped-resigned")
        a, b = os.path.join(d, v1), os.path.join(d, v2)
        os.rename(a, a + ".tmp")
        os.rename(b, a)
        os.rename(a + ".tmp", b)
        self.resign(d)
        self.add("swapped-resigned", d,
                 "vol-0001 and vol-0002 swapped, MANIFEST re-signed", [0], None, [1],
                 deep=[1])
        # A huge declared length: every other line right, the size absurd.
        d = self.copy("huge-length-manifest")
        self.resign(d, sizes={v1: (1 << 63) - 1})
        self.add("huge-length-manifest", d,
                 "MANIFEST declares vol-0001 as 2^63-1 bytes, re-signed", [4],
                 v1, [4], expect="nothing")
        d = self.copy("huge-length-manifest2")
        self.resign(d, sizes={v1: 40 << 20})
        self.add("huge-length-manifest2", d,
                 "MANIFEST declares vol-0001 as 40 MiB (with 40 block lines), re-signed",
                 [1], v1, [1])
        # A MANIFEST that grants itself more volumes than there are.
        d = self.copy("volumes-count")
        m = Manifest(read(os.path.join(d, "MANIFEST")))
        m.set("volumes", str(len(self.vols) + 5))
        self.resign(d, m)
        self.add("volumes-count", d, "MANIFEST says 7 volumes, lists 2, re-signed",
                 [4], "volumes", [0, 4], complete=True)

    # -- hostile volumes and catalogs, built from scratch ----------------------
    def tar(self, entries):
        """entries: (TarInfo, bytes or None) -> (tar bytes, [(info, off, tar_off)])"""
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
            for info, data in entries:
                t.addfile(info, io.BytesIO(data) if data is not None else None)
        raw = buf.getvalue()
        placed = []
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r") as t:
            for m in t.getmembers():
                placed.append((m, m.offset_data, m.offset))
        return raw, placed

    @staticmethod
    def info(name, kind=tarfile.REGTYPE, size=0, link="", mode=0o644):
        i = tarfile.TarInfo(name)
        i.type, i.size, i.linkname, i.mode = kind, size, link, mode
        i.mtime, i.uid, i.gid, i.uname, i.gname = 1700000000, 0, 0, "root", "root"
        return i

    def record(self, m, off, tar_off, data, vol=1):
        r = {"kind": {tarfile.DIRTYPE: "dir", tarfile.SYMTYPE: "symlink"}.get(m.type, "file"),
             "path": m.name.rstrip("/"), "size": m.size if m.isfile() else 0,
             "mode": m.mode & 0o7777, "mtime": int(m.mtime), "mtime_ns": 0,
             "uid": 0, "gid": 0, "user": "root", "group": "root"}
        if m.isfile():
            r["sha256"] = sha(data.get(m.name, b""))
        if m.issym():
            r["link"] = m.linkname
        r.update({"set": self.m.get("set-id"), "vol": vol, "tar_off": tar_off,
                  "off": off, "len": m.size if m.isfile() else 0})
        return r

    def catalog(self, records):
        head = {"coldmail_catalog": 1, "set": self.m.get("set-id"),
                "host": self.m.get("host"), "created": self.m.get("created")}
        lines = [json.dumps(head, separators=(",", ":"))]
        lines += [json.dumps(r, separators=(",", ":")) for r in records]
        lines.append(json.dumps({"coldmail_catalog_end": len(records)},
                                separators=(",", ":")))
        return ("\n".join(lines) + "\n").encode()

    def hostile_set(self, name, what, entries, restore, want, verify=(0,),
                    deep=(1, 4), volume=None, catalog_records=None, may=None,
                    nocat=False):
        """A set of one volume (the tar of ${entries}, or ${volume}: the
        plaintext zstd stream) and its catalog (records of every entry the
        catalog can say, or ${catalog_records}), MANIFEST re-signed with the
        right counts.  Restore must write the files ${want} (path ->
        bytes), may write those of ${may}, and nothing else.  With
        ${nocat} the catalog is removed (MANIFEST still lists it), so that
        restore reads the tar stream itself."""
        d = self.copy(name)
        for v in self.vols:
            os.unlink(os.path.join(d, v))
        data = {i.name: b for i, b in entries if b is not None}
        raw, placed = self.tar(entries)
        if catalog_records is None:
            catalog_records = [self.record(m, off, toff, data) for m, off, toff in placed
                               if m.type in (tarfile.REGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE)]
        write(os.path.join(d, self.vols[0]),
              self.encrypt(volume if volume is not None else self.zframe(raw)))
        write(os.path.join(d, "catalog.jsonl.zst.age"),
              self.encrypt(self.zframe(self.catalog(catalog_records))))
        m = Manifest(read(os.path.join(d, "MANIFEST")))
        m.files = [f for f in m.files if f[0] not in self.vols[1:]]
        m.set("volumes", "1")
        m.set("objects", str(len(catalog_records)))
        m.set("messages", "0")
        self.resign(d, m)
        if nocat:
            os.unlink(os.path.join(d, "catalog.jsonl.zst.age"))
        exp = {"must": {p: sha(b) for p, b in want.items()},
               "may": {p: sha(b) for p, b in (may or {}).items()}}
        write(os.path.join(self.a.out, name, "expected.json"), json.dumps(exp).encode())
        self.add(name, d, what, list(verify), None, list(restore), expect="hostile",
                 deep=list(deep) if deep else None)

    def hostile_tar(self, name, what, entries, restore, want, **kw):
        """${entries} twice: with a catalog listing them (as far as a
        catalog can), and without a catalog (the tar stream read)."""
        self.hostile_set(name, what + " (catalog lists them)", entries, restore,
                         want, **kw)
        self.hostile_set(name + "-nocat", what + " (no catalog: the tar stream)",
                         entries, [1], want, verify=(1,), deep=(1, 4), nocat=True,
                         may=kw.get("may"))

    def hostile(self):
        st = self.a.store_name
        out = self.a.outside.rstrip("/")
        good = b"a good file, which must be restored\n"
        base = [(self.info(st, tarfile.DIRTYPE, mode=0o755), None),
                (self.info(st + "/good", tarfile.DIRTYPE, mode=0o755), None),
                (self.info(st + "/good/a.txt", size=len(good)), good)]
        want = {st + "/good/a.txt": good}
        bad = b"must never be written\n"

        def f(name, data=bad):
            return (self.info(name, size=len(data)), data)

        # A catalog that lists `..' or an absolute path does not parse: the
        # restore then reads the tar stream, as without a catalog.
        self.hostile_tar("tar-dotdot", "tar entries with `..'",
                         base + [f("../escape-dotdot"), f(st + "/../../escape-dotdot2"),
                                 f(st + "/good/../../../escape-dotdot3")],
                         [1], want, deep=(1, 4))
        self.hostile_tar("tar-absolute", "tar entries with absolute paths",
                         base + [f(out + "/escape-absolute"), f("/" + st + "/abs")],
                         [1], want, deep=(1, 4))
        self.hostile_tar("tar-symlink-file",
                         "a symlink out of the target, then a file through it",
                         base + [(self.info(st + "/evil", tarfile.SYMTYPE, link=out), None),
                                 f(st + "/evil/through-symlink"),
                                 (self.info(st + "/evil2", tarfile.SYMTYPE,
                                            link="../../../outside"), None),
                                 f(st + "/evil2/through-relative-symlink")],
                         [1], want, deep=(0, 1, 4))
        self.hostile_tar("tar-symlink-dir",
                         "a symlink out of the target, then a directory and a "
                         "file below it",
                         base + [(self.info(st + "/evil", tarfile.SYMTYPE, link=out), None),
                                 (self.info(st + "/evil/sub", tarfile.DIRTYPE, mode=0o755), None),
                                 f(st + "/evil/sub/deeper")],
                         [1], want, deep=(0, 1, 4))
        # Two entries of one name: the first is written, the second (a
        # symlink out) is left alone, listed.
        self.hostile_tar("tar-same-name",
                         "a file, then a symlink out of the target of the same name",
                         base + [f(st + "/good/twice", good),
                                 (self.info(st + "/good/twice", tarfile.SYMTYPE, link=out), None),
                                 f(st + "/good/twice", bad)],
                         [1, 11], want, may={st + "/good/twice": good})
        # Hard links and devices cannot be catalogued: the catalog-driven
        # restore never sees them (and restores everything); the tar stream
        # refuses them.
        self.hostile_tar("tar-hardlink", "hard links (to a file of the set, and out)",
                         base + [(self.info(st + "/hard", tarfile.LNKTYPE,
                                            link=st + "/good/a.txt"), None),
                                 (self.info(st + "/hard2", tarfile.LNKTYPE,
                                            link=out + "/precious"), None)],
                         [0], want)
        self.hostile_tar("tar-devices", "a character device, a block device, a FIFO",
                         base + [(self.info(st + "/null", tarfile.CHRTYPE), None),
                                 (self.info(st + "/sda", tarfile.BLKTYPE), None),
                                 (self.info(st + "/fifo", tarfile.FIFOTYPE), None)],
                         [0], want)
        # Hostile entries the catalog does not list: deep verify finds them.
        ents = base + [f("../escape-dotdot"),
                       (self.info(st + "/evil", tarfile.SYMTYPE, link=out), None),
                       (self.info(st + "/dev", tarfile.CHRTYPE), None)]
        raw, placed = self.tar(ents)
        data = {i.name: b for i, b in ents if b is not None}
        recs = [self.record(m, off, toff, data) for m, off, toff in placed
                if m.name.startswith(st + "/good") or m.name == st]
        self.hostile_set("tar-unlisted", "hostile tar entries the catalog does not list",
                         ents, [0], want, catalog_records=recs)
        # (verify --deep finds the catalog and the tar stream in agreement
        # when a file is below a symlink; only restore refuses it.)
        # A huge declared length in the catalog, and in a tar header.
        raw, placed = self.tar(base)
        data = {st + "/good/a.txt": good}
        recs = [self.record(m, off, toff, data) for m, off, toff in placed]
        recs.append({"kind": "file", "path": st + "/huge", "size": 1 << 50, "mode": 0o600,
                     "mtime": 1700000000, "mtime_ns": 0, "uid": 0, "gid": 0,
                     "sha256": "00" * 32, "set": self.m.get("set-id"), "vol": 1,
                     "tar_off": 0, "off": 512, "len": 1 << 50})
        self.hostile_set("huge-length-catalog", "a catalog record of 2^50 bytes",
                         base, [1], want, catalog_records=recs)
        ents = base + [f(st + "/big", b"x" * 1000)]
        raw, placed = self.tar(ents)
        big, off, toff = placed[-1]
        # The size field of its header block (124..136; 1 TiB needs the
        # base-256 form), in a stream that ends long before; the checksum
        # redone.
        hdr = off - 512
        raw = bytearray(raw)
        raw[hdr + 124:hdr + 136] = b"\x80" + (1 << 40).to_bytes(11, "big")
        chk = sum(raw[hdr:hdr + 148]) + 8 * 32 + sum(raw[hdr + 156:hdr + 512])
        raw[hdr + 148:hdr + 156] = b"%06o\0 " % chk
        recs = [self.record(m, o, t, data) for m, o, t in placed[:-1]]
        big_rec = {"kind": "file", "path": st + "/big", "size": 1 << 40,
                   "mode": 0o644, "mtime": 1700000000, "mtime_ns": 0, "uid": 0,
                   "gid": 0, "sha256": sha(b"x" * 1000), "set": self.m.get("set-id"),
                   "vol": 1, "tar_off": toff, "off": off, "len": 1 << 40}
        self.hostile_set("huge-length-tar", "a tar header declaring 1 TiB of content",
                         ents, [1], want, volume=self.zframe(bytes(raw)),
                         catalog_records=recs + [big_rec])
        self.hostile_set("huge-length-tar-nocat",
                         "a tar header declaring 1 TiB of content (no catalog)",
                         ents, [1], want, volume=self.zframe(bytes(raw)),
                         catalog_records=recs + [big_rec], verify=(1,), nocat=True)
        # A decompression bomb: after a frame with the good entries, one
        # zstd frame of 256 MiB (a small window, so that a stream decoder
        # takes it) holding one file of zeros.  The tar by hand: the bomb's
        # content, padding and end blocks are streamed into zstd.
        n = 256 << 20
        head, placed = b"", []
        for info, body in base:
            hb = info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
            placed.append((info, len(head) + len(hb), len(head)))
            head += hb
            if body:
                head += body + b"\0" * (-len(body) % 512)
        bomb = self.info(st + "/bomb", size=n)
        bomb_hdr = bomb.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
        z1 = subprocess.run(["zstd", "-q", "-c", "--stream-size=%d" % len(head)],
                            input=head, stdout=subprocess.PIPE, check=True).stdout
        total = len(bomb_hdr) + n + 1024
        z2 = subprocess.run(
            "{ cat; head -c %d /dev/zero; } | zstd -q -c --zstd=wlog=20 --stream-size=%d"
            % (n + 1024, total), shell=True, input=bomb_hdr, stdout=subprocess.PIPE,
            check=True).stdout
        recs = [self.record(m, off, toff, data) for m, off, toff in placed]
        recs.append({"kind": "file", "path": st + "/bomb", "size": n, "mode": 0o644,
                     "mtime": 1700000000, "mtime_ns": 0, "uid": 0, "gid": 0,
                     "sha256": sha(b"\0" * n), "set": self.m.get("set-id"), "vol": 1,
                     "tar_off": len(head), "off": len(head) + len(bomb_hdr), "len": n})
        for nm, d_size, what in (
                ("decompression-bomb", total, "its seek table says so"),
                ("decompression-bomb-lying", 1 << 20, "its seek table claims 1 MiB")):
            stream = z1 + z2 + self.seektable([(len(z1), len(head)),
                                               (len(z2), d_size & 0xffffffff)])
            self.hostile_set(nm, "one zstd frame inflating to 256 MiB (%s)" % what,
                             base, [1], want, volume=stream, catalog_records=recs)
        self.hostile_set("decompression-bomb-nocat",
                         "the bomb, without a catalog (the stream decoder)",
                         base, [1], want, volume=z1 + z2 + self.seektable(
                             [(len(z1), len(head)), (len(z2), total & 0xffffffff)]),
                         catalog_records=recs, verify=(1,), nocat=True)
        # Seek tables under authentic age, the frames intact: one that does
        # not parse (the reader then walks the frames: nothing is lost),
        # and one that parses but lies about a frame's size.
        raw, placed = self.tar(base)
        recs = [self.record(m, off, toff, data) for m, off, toff in placed]
        good_stream = self.zframe(raw)
        bad = bytearray(good_stream)
        bad[-1] ^= 0x40   # the seekable magic
        self.hostile_set("seektable-garbled", "a seek table with a bad magic number",
                         base, [0], want, volume=bytes(bad), catalog_records=recs,
                         deep=(0,))
        bad = bytearray(good_stream)
        bad[-9 - 4] ^= 0x40   # the last entry's uncompressed size
        self.hostile_set("seektable-lying", "a seek table whose frame sizes lie",
                         base, [1], {}, volume=bytes(bad), catalog_records=recs,
                         deep=(1,), may=want)

    def run(self):
        self.damage()
        self.hostile_resigned()
        self.hostile()
        write(os.path.join(self.a.out, "cases.json"),
              json.dumps(self.cases, indent=1).encode())
        return len(self.cases)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for o in ("set", "older", "other", "key", "recipient", "store-name",
              "outside", "out", "tools"):
        p.add_argument("--" + o, required=True)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    print("%d cases" % Gen(a).run())


if __name__ == "__main__":
    sys.exit(main())
