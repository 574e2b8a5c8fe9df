"""The backup repository on disk: layout, manifests, chunks, records, verification
(layer: emulator shell). Shared by the node (backup, archive, verify) and the offline
`python -m emulator restore|verify` commands; docs/protocol.md is the contract a
harness reads the repository by.

    REPO/repo.json                              {"format": 1, "node": ID, "bugs": [...]}
    REPO/backups/<id>/chunk-000000 ...          the backup's content cut in chunk_size pieces
    REPO/backups/<id>/manifest.json             written last: a directory without it is no backup
    REPO/archive/<first:012d>-<last:012d>.seg   archived log records, JSON lines
    REPO/archive/<first:012d>-<last:012d>.json  that segment's manifest, written after it

Every manifest carries `checksum`: blake3 (hex) of its canonical JSON (sorted keys,
no spaces, ASCII) without the `checksum` field, so a tampered manifest is detected.
Files are written to a temp name, fsynced, renamed, and the directory fsynced.
"""

from __future__ import annotations

import concurrent.futures
import json
import os

from blake3 import blake3

from .wal import fsync_dir

FORMAT = 1
BACKUPS, ARCHIVE, MANIFEST, REPO_FILE = "backups", "archive", "manifest.json", "repo.json"


def canonical(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def sealed(manifest: dict) -> dict:
    """`manifest` with its own `checksum` (any old one replaced)."""
    body = {k: v for k, v in manifest.items() if k != "checksum"}
    return {**body, "checksum": blake3(canonical(body)).hexdigest()}


def checksum_ok(manifest: dict) -> bool:
    return isinstance(manifest, dict) and sealed(manifest)["checksum"] == manifest.get("checksum")


def write_atomic(path: str, data: bytes) -> None:
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(os.path.dirname(path))


def write_chunks(directory: str, content: bytes, chunk_size: int) -> list[dict]:
    """Write `content` as chunk-000000, chunk-000001, ... of `chunk_size` bytes (the last
    may be shorter), each fsynced, then the directory; returns [{name, size, blake3}] in
    order. Empty content is one empty chunk, so every backup has at least one."""
    return write_pieces(directory, [content], chunk_size)


def write_pieces(directory: str, pieces, chunk_size: int, digest=None) -> list[dict]:
    """`write_chunks` of the concatenation of the byte strings `pieces`, without building
    it: each chunk goes to disk with writev straight from the pieces (few and large ones are
    fast: `statemachine.dump_pieces`), one file and one fsync per chunk in order, and is
    hashed from those same pieces in a second thread while the next chunk is written
    (blake3 releases the GIL). `digest` (a full backup's `statemachine.StateDigest`) is
    given every chunk, in order, with its hash."""
    chunks, batch, size, pending = [], [], 0, []
    with concurrent.futures.ThreadPoolExecutor(1) as hasher:
        def flush(last: bool) -> None:
            _write_chunk(directory, len(chunks) + len(pending), batch)
            pending.append(hasher.submit(_hash_chunk, batch, digest, last))
            if len(pending) > 2:  # at most two chunks' pieces held for the hasher
                chunks.append(pending.pop(0).result())
        for piece in pieces:
            view = memoryview(piece)
            while view:
                take = min(len(view), chunk_size - size)
                batch.append(view[:take])
                size, view = size + take, view[take:]
                if size == chunk_size:
                    flush(False)
                    batch, size = [], 0
        if batch or not (chunks or pending):
            flush(True)
        chunks += [f.result() for f in pending]
    fsync_dir(directory)
    return [{"name": f"chunk-{i:06d}", "size": n, "blake3": h} for i, (n, h) in enumerate(chunks)]


def _write_chunk(directory: str, i: int, batch: list[memoryview]) -> None:
    fd = os.open(os.path.join(directory, f"chunk-{i:06d}"),
                 os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        for j in range(0, len(batch), 512):  # IOV_MAX is 1024
            group = batch[j:j + 512]
            done = os.writev(fd, group)
            rest = b"".join(group)[done:] if done < sum(len(b) for b in group) else b""
            while rest:  # a short write: finish it plainly
                rest = rest[os.write(fd, rest):]
        os.fsync(fd)
    finally:
        os.close(fd)


def _hash_chunk(batch: list[memoryview], digest, last: bool) -> tuple[int, str]:
    """(size, BLAKE3 hex) of one chunk's pieces, given to `digest` if any."""
    h = blake3()
    for b in batch:
        h.update(b)
    if digest is not None:
        digest.chunk(batch, h.digest(), last)
    return sum(len(b) for b in batch), h.hexdigest()


# ---- records (incremental backups and archive segments) ---------------------------


def record_line(lsn: int, term: int, ts: float | None, cmd: dict | None) -> bytes:
    """One log record as a JSON line: the committed entry at `lsn` (cmd null: a leader's no-op)."""
    return json.dumps({"lsn": lsn, "term": term, "ts": ts, "cmd": cmd},
                      separators=(",", ":")).encode() + b"\n"


def parse_records(content: bytes) -> list[dict]:
    return [json.loads(line) for line in content.splitlines() if line.strip()]


# ---- reading and verifying ----------------------------------------------------------


def read_manifest(path: str) -> tuple[dict | None, str | None]:
    """(manifest, None) if readable with a right checksum, else (None, why)."""
    try:
        with open(path, "rb") as f:
            m = json.loads(f.read())
    except FileNotFoundError:
        return None, "missing"
    except (OSError, ValueError) as e:
        return None, f"unreadable: {e}"
    if not checksum_ok(m):
        return None, "manifest checksum mismatch (tampered or torn manifest)"
    return m, None


# Parsed manifests by path, for the node's own hot paths (an incremental finding its
# parent, the archive's segment list): keyed by (inode, mtime_ns, size), so a manifest
# replaced (atomic rename) or written in place (corruption) is read and checked again.
# Verification never uses it: `verify` re-reads every byte.
_CACHE: dict[str, tuple[tuple, dict]] = {}


def read_manifest_cached(path: str) -> tuple[dict | None, str | None]:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None, "missing"
    key = (st.st_ino, st.st_mtime_ns, st.st_size)
    hit = _CACHE.get(path)
    if hit is not None and hit[0] == key:
        return hit[1], None
    m, why = read_manifest(path)
    if m is not None:
        _CACHE[path] = (key, m)
    return m, why


def backup_ids(repo: str) -> list[str]:
    """Ids of complete backups (directories holding a manifest.json), sorted."""
    root = os.path.join(repo, BACKUPS)
    try:
        names = os.listdir(root)
    except FileNotFoundError:
        return []
    return sorted(n for n in names if os.path.exists(os.path.join(root, n, MANIFEST)))


def load_backups(repo: str, cached: bool = False) -> tuple[dict[str, dict], list[dict]]:
    """({id: manifest} of backups whose manifest checks out, [bad items for the others]).
    `cached`: reuse manifests parsed before and unchanged on disk (hot paths only)."""
    good, bad = {}, []
    read = read_manifest_cached if cached else read_manifest
    for bid in backup_ids(repo):
        m, why = read(os.path.join(repo, BACKUPS, bid, MANIFEST))
        if m is None:
            bad.append({"backup": bid, "chunk": MANIFEST, "reason": why})
        else:
            good[bid] = m
    return good, bad


def hash_file(path: str) -> tuple[int, str]:
    h = blake3()
    size = os.path.getsize(path)
    if size:
        h.update_mmap(path)
    return size, h.hexdigest()


def check_file(path: str, size: int, digest: str) -> str | None:
    """None if the file has this size and blake3, else why not."""
    try:
        found_size, found = hash_file(path)
    except FileNotFoundError:
        return "missing"
    except OSError as e:
        return f"unreadable: {e.strerror}"
    if found_size != size:
        return f"size: manifest says {size} bytes, found {found_size}"
    if found != digest:
        return f"blake3 mismatch: manifest {digest[:16]}..., found {found[:16]}..."
    return None


def verify_backup(repo: str, m: dict) -> tuple[list[dict], int]:
    """Re-hash every chunk of backup `m`: ([{backup, chunk, reason}], bytes hashed)."""
    bad, total = [], 0
    for c in m["chunks"]:
        why = check_file(os.path.join(repo, BACKUPS, m["id"], c["name"]), c["size"], c["blake3"])
        total += c["size"] if why is None else 0
        if why:
            bad.append({"backup": m["id"], "chunk": c["name"], "reason": why})
    return bad, total


def read_content(repo: str, m: dict) -> bytes:
    """A backup's content (its chunks concatenated), checked against the manifest;
    raises ValueError naming the first bad chunk."""
    parts = []
    for c in m["chunks"]:
        path = os.path.join(repo, BACKUPS, m["id"], c["name"])
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            raise ValueError(f"backup {m['id']} chunk {c['name']}: missing") from None
        if len(data) != c["size"] or blake3(data).hexdigest() != c["blake3"]:
            raise ValueError(f"backup {m['id']} chunk {c['name']}: size or blake3 differs "
                             f"from the manifest")
        parts.append(data)
    return b"".join(parts)


# ---- archive segments -----------------------------------------------------------------


def segment_name(first: int, last: int) -> str:
    return f"{first:012d}-{last:012d}"


def load_segments(repo: str, cached: bool = False) -> tuple[list[dict], list[dict]]:
    """(segment manifests with a right checksum sorted by first_lsn, bad items).
    `cached`: reuse manifests parsed before and unchanged on disk (hot paths only)."""
    read = read_manifest_cached if cached else read_manifest
    root = os.path.join(repo, ARCHIVE)
    try:
        names = sorted(n for n in os.listdir(root) if n.endswith(".json"))
    except FileNotFoundError:
        return [], []
    good, bad = [], []
    for n in names:
        m, why = read(os.path.join(root, n))
        if m is None:
            bad.append({"segment": n[:-5], "chunk": n, "reason": why})
        else:
            good.append(m)
    return sorted(good, key=lambda m: m["first_lsn"]), bad


def verify_segment(repo: str, m: dict) -> str | None:
    return check_file(os.path.join(repo, ARCHIVE, m["file"]), m["size"], m["blake3"])


def read_segment(repo: str, m: dict) -> list[dict]:
    """A segment's records, checked against its manifest; raises ValueError if bad."""
    path = os.path.join(repo, ARCHIVE, m["file"])
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        raise ValueError(f"archive segment {m['file']}: missing") from None
    if len(data) != m["size"] or blake3(data).hexdigest() != m["blake3"]:
        raise ValueError(f"archive segment {m['file']}: size or blake3 differs from its manifest")
    return parse_records(data)
