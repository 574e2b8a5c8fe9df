"""The harness's own verification of backups: never the database's word (layer: harness).

`verify_backup(remote, repo, id)` re-hashes a backup with BLAKE3 (docs/protocol.md
"Backups, WAL archive and restore" is the contract): the manifest's checksum over its
canonical JSON, each chunk's size and BLAKE3, and a full backup's state digest.
No database code is involved. By default the harness sends its own small program
(`node_program`: this module's _node_scan_files, _StateDigest, _Records and _values as
source) to the node over the Remote, one round trip: it returns the manifest's bytes
and, per chunk, the size and BLAKE3 it found, reading the page cache in place (mmap)
with a thread per chunk; the control node checks the manifest itself and compares every
chunk with it. Where the node has no python3 or no blake3 module, it falls back to fetching
every chunk over the Remote and hashing it here, and says so (`method`, `fallback`).
From the content it also reads (on the node, with the same code) what a checker needs
to judge the backup without trusting its manifest:
- incremental: the LSNs of the records it really holds (first, last, count, the
  first missing or out-of-place ones);
- full: the state digest of the content (`_StateDigest`: the status digest at `end_lsn`
  if the cut is consistent; from the chunk hashes themselves where the chunks are the
  digest's 4 MiB pieces, so each byte is hashed once) and, for content up to VALUES_MAX_BYTES, the value of every key
  outside the load prefix (the workload keys), so the restore oracle can judge the
  cut against the history.
The result is recorded in the history (workloads/backup.py) and judged by
checker/backup_chain.py. `host_ceilings` measures a node's disk write (fsync) and
in-memory BLAKE3 rates in the same run, for honest throughput figures.
"""

from __future__ import annotations

import asyncio
import json
import os
import time

from blake3 import blake3

from remote import Remote, RemoteCommandError

VALUES_MAX_BYTES = 64 << 20
LOAD_PREFIX = "load/"
MAX_LISTED = 5
DIGEST_PIECE = 4 << 20


def canonical(obj) -> bytes:
    """The manifest checksum's input: sorted keys, no spaces, ASCII (docs/protocol.md)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def blake3_hex(data: bytes) -> str:
    """BLAKE3 of `data`, on every core for a chunk-sized input (it releases the GIL)."""
    return blake3(data, max_threads=blake3.AUTO if len(data) >= (1 << 20) else 1).hexdigest()


class _StateDigest:
    """The state digest (docs/protocol.md, `status` and a full backup's `digest`), the
    harness's own code: 16 hex of BLAKE3 over the concatenated BLAKE3s (32 bytes each) of
    the content's consecutive DIGEST_PIECE-byte pieces (the last may be shorter; empty
    content is one empty piece). A chunk that is exactly a piece gives its own hash (the
    one just computed from its bytes): the content is not hashed a second time.
    `hashed`: the bytes this hasher read itself (pieces that were not chunks)."""

    def __init__(self):
        self.leaves, self.piece, self.filled, self.hashed = [], blake3(max_threads=1), 0, 0

    def update(self, data) -> None:
        view = memoryview(data)
        self.hashed += len(view)
        while view:
            take = min(len(view), DIGEST_PIECE - self.filled)
            self.piece.update(view[:take])
            self.filled, view = self.filled + take, view[take:]
            if self.filled == DIGEST_PIECE:
                self.leaves.append(self.piece.digest())
                self.piece, self.filled = blake3(max_threads=1), 0

    def chunk(self, data, leaf: bytes, last: bool) -> None:
        """The next chunk of the content, whose BLAKE3 (found here) is `leaf`."""
        if not self.filled and len(data) and (len(data) == DIGEST_PIECE or
                                              (last and len(data) < DIGEST_PIECE)):
            self.leaves.append(leaf)
        else:
            self.update(data)

    def hexdigest(self) -> str:
        tail = [self.piece.digest()] if self.filled or not self.leaves else []
        return blake3(b"".join(self.leaves + tail)).hexdigest()[:16]


def state_digest(content: bytes) -> str:
    """The state digest of `content` (a restored snapshot's body, say)."""
    d = _StateDigest()
    d.update(content)
    return d.hexdigest()


class _Records:
    """Scans incremental content (JSON lines) as it streams: which LSNs it really holds."""

    def __init__(self):
        self.rest, self.lsns, self.garbage = b"", [], 0

    def feed(self, data: bytes) -> None:
        lines = (self.rest + data).split(b"\n")
        self.rest = lines.pop()
        for line in lines:
            self._line(line)

    def _line(self, line: bytes) -> None:
        if not line.strip():
            return
        try:
            self.lsns.append(int(json.loads(line)["lsn"]))
        except (ValueError, KeyError, TypeError):
            self.garbage += 1

    def summary(self, start, end) -> dict:
        if self.rest:
            self._line(self.rest)
            self.rest = b""
        lsns, want = self.lsns, list(range(start, end + 1)) if isinstance(start, int) and \
            isinstance(end, int) else []
        have = set(lsns)
        return {"first": lsns[0] if lsns else None, "last": lsns[-1] if lsns else None,
                "count": len(lsns), "garbage": self.garbage,
                "missing": [n for n in want if n not in have][:MAX_LISTED],
                "extra": [n for n in lsns if not want or not start <= n <= end][:MAX_LISTED],
                "ordered": lsns == sorted(set(lsns))}


async def verify_backup(remote: Remote, repo: str, backup_id: str) -> dict:
    """{"backup", "node", "manifest" (its fields, or None), "bad": [{chunk, reason}],
    "bytes_hashed", "digest" (full), "records" (incremental) | "values" (full), "seconds",
    "method" ("node": the harness's program hashed on the node | "sftp": fetched and hashed
    here), "fallback" (why not "node"), "node_seconds" (the program's own hashing time),
    "node_blake3_bytes" (bytes it ran through BLAKE3: more than the chunks' only where a
    full backup's chunks are not the digest's pieces), "node_threads" (its hashing
    threads)}."""
    started = time.monotonic()
    base = f"{repo}/backups/{backup_id}"
    out = {"backup": backup_id, "node": remote.host.name, "manifest": None, "bad": [],
           "bytes_hashed": 0}
    scan, why = await _node_scan(remote, base)
    if scan is not None:
        out["method"] = "node"
        m = _checked_manifest(scan, out)
        if m is not None:
            _judge_scan(m, scan, out)
    else:
        out["method"], out["fallback"] = "sftp", why
        m = await _manifest(remote, f"{base}/manifest.json", out)
        if m is not None:
            out["manifest"] = _manifest_fields(m)
            await _chunks(remote, base, m, out)
    out["seconds"] = round(time.monotonic() - started, 6)
    return out


def _manifest_fields(m: dict) -> dict:
    f = {k: m.get(k) for k in ("id", "kind", "parent", "node", "start_lsn", "end_lsn", "term",
                               "end_ts", "bytes", "chunk_size", "digest", "records")}
    f["chunks"] = len(m.get("chunks") or [])
    return f


# --- on the node: the harness's own program (its source is shipped, never the database's) --

NODE_MISSING = 97   # exit status of the node program's wrapper when python3 is absent


def _node_scan_files(base: str, window: int = 0) -> dict:
    """Runs on the node (shipped as source with _StateDigest, _Records and _values): reads
    `base`'s manifest.json (returned raw, base64, for the control node to check), then maps
    every chunk it lists (no copy: the page cache is hashed in place) and hashes each in a
    thread of its own (one per core, 2 x cores in flight, taken in manifest order); a full
    backup's state digest takes each chunk's hash as a piece's where the chunk is one, else
    hashes the bytes here while the threads hash the next chunks. Returns {"manifest_b64" |
    "manifest_error", "chunks": [[size, blake3] | None], "digest" (full: of all chunks
    found, in order), "records" (incremental), "values" (full, small), "bytes_hashed" (chunk
    bytes read), "blake3_bytes" (bytes through BLAKE3), "threads", "seconds"}. Judges
    nothing: the control node compares."""
    import base64
    import collections
    import concurrent.futures
    import mmap
    import os
    t0 = time.perf_counter()
    try:
        with open(os.path.join(base, "manifest.json"), "rb") as f:
            raw = f.read()
    except OSError as exc:
        return {"manifest_error": f"{type(exc).__name__}: {exc.strerror or exc}"}
    threads = max(1, window or os.cpu_count() or 2)
    out = {"manifest_b64": base64.b64encode(raw).decode(), "chunks": [], "bytes_hashed": 0,
           "blake3_bytes": 0, "threads": threads}
    try:
        m = json.loads(raw)
        names = [str(c["name"]) for c in m["chunks"]]
    except (ValueError, KeyError, TypeError, AttributeError):
        return out
    kind = m.get("kind")
    content = _StateDigest() if kind == "full" else None
    records = _Records() if kind == "incremental" else None
    small = kind == "full" and isinstance(m.get("bytes"), int) and m["bytes"] <= VALUES_MAX_BYTES
    parts = [] if small else None

    def one(name):
        """(size, BLAKE3, the mapped file) of one chunk."""
        try:
            f = open(os.path.join(base, name), "rb")
        except OSError:
            return None
        with f:
            size = os.fstat(f.fileno()).st_size
            view = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        return size, blake3(view, max_threads=1).digest(), view

    def ordered(pool):
        todo, running = collections.deque(names), collections.deque()
        while todo or running:
            while todo and len(running) < 2 * threads:
                running.append(pool.submit(one, todo.popleft()))
            yield running.popleft().result()

    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        for i, got in enumerate(ordered(pool)):
            if got is None:
                out["chunks"].append(None)
                continue
            size, leaf, view = got
            out["chunks"].append([size, leaf.hex()])
            out["bytes_hashed"] += size
            if content is not None:
                content.chunk(view, leaf, i == len(names) - 1)
            if records is not None:
                records.feed(bytes(view))
            if parts is not None and sum(map(len, parts)) + size <= VALUES_MAX_BYTES:
                parts.append(bytes(view))
            elif parts is not None:
                parts = None
            if size:
                view.close()
    out["blake3_bytes"] = out["bytes_hashed"] + (content.hashed if content is not None else 0)
    if content is not None:
        out["digest"] = content.hexdigest()
    if records is not None:
        out["records"] = records.summary(m.get("start_lsn"), m.get("end_lsn"))
    if parts and parts[0][:1] == b"{":
        out["values"] = _values(b"".join(parts))
    out["seconds"] = round(time.perf_counter() - t0, 6)
    return out


def node_program(base: str) -> bytes:
    """The self-contained program verify_backup runs on the node: this module's own
    _StateDigest, _Records, _values and _node_scan_files, printing one JSON line."""
    import inspect
    head = ("import json, sys, time\n"
            "try:\n    from blake3 import blake3\n"
            "except ImportError:\n"
            "    print(json.dumps({'unavailable': 'the node has no blake3 module'}))\n"
            "    sys.exit(0)\n"
            f"VALUES_MAX_BYTES, LOAD_PREFIX, MAX_LISTED, DIGEST_PIECE = {VALUES_MAX_BYTES!r}, "
            f"{LOAD_PREFIX!r}, {MAX_LISTED!r}, {DIGEST_PIECE!r}\n")
    body = "\n\n".join(inspect.getsource(x) for x in (_StateDigest, _Records, _values,
                                                         _node_scan_files))
    return (head + body + f"\n\nprint(json.dumps(_node_scan_files({base!r})))\n").encode()


async def _node_scan(remote: Remote, base: str) -> tuple[dict | None, str | None]:
    """(the node program's reply, None), or (None, why the SFTP path is used instead)."""
    import shlex
    res = await remote.exec(["sh", "-c", f"command -v python3 >/dev/null 2>&1 || exit "
                             f"{NODE_MISSING}; exec python3 - {shlex.quote(base)}"],
                            stdin=node_program(base), timeout=1800, check=False)
    if res.exit_status == NODE_MISSING:
        return None, "the node has no python3"
    try:
        reply = json.loads(res.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        tail = " | ".join(res.stderr.strip().splitlines()[-2:])
        return None, f"the node program failed (exit {res.exit_status}): {tail[-300:]}"
    if not isinstance(reply, dict) or reply.get("unavailable"):
        return None, str((reply or {}).get("unavailable") if isinstance(reply, dict) else reply)
    return reply, None


def _checked_manifest(scan: dict, out: dict) -> dict | None:
    """The manifest the node program read, parsed and checked here (checksum, chunk list)."""
    import base64
    if "manifest_b64" not in scan:
        out["bad"].append({"chunk": "manifest.json",
                           "reason": f"missing or unreadable: {scan.get('manifest_error')}"})
        return None
    return _parse_manifest(base64.b64decode(scan["manifest_b64"]), out)


def _judge_scan(m: dict, scan: dict, out: dict) -> None:
    """Every chunk the manifest lists against the size and BLAKE3 the node program found."""
    out["manifest"] = _manifest_fields(m)
    out["node_seconds"], out["node_blake3_bytes"] = scan.get("seconds"), scan.get("blake3_bytes")
    out["node_threads"] = scan.get("threads")
    found = scan.get("chunks") or []
    intact = len(found) == len(m["chunks"])
    for i, c in enumerate(m["chunks"]):
        got = found[i] if i < len(found) else None
        if got is None:
            out["bad"].append({"chunk": c.get("name"), "reason": "missing"})
            intact = False
            continue
        why = _chunk_fault(c, got[0], got[1])
        if why:
            out["bad"].append({"chunk": c.get("name"), "reason": why})
            intact = False
        else:
            out["bytes_hashed"] += got[0]
    if m.get("kind") == "incremental":
        out["records"] = scan.get("records")
    if m.get("kind") == "full" and intact and scan.get("digest"):
        out["digest"] = scan["digest"]
        if "values" in scan:
            out["values"] = scan["values"]


# --- the fallback: fetch every chunk over the Remote and hash it here --------------------


async def _manifest(remote: Remote, path: str, out: dict) -> dict | None:
    try:
        raw = await remote.read_file(path)
    except RemoteCommandError as exc:
        out["bad"].append({"chunk": "manifest.json", "reason": f"missing or unreadable: {exc}"})
        return None
    return _parse_manifest(raw, out)


def _parse_manifest(raw: bytes, out: dict) -> dict | None:
    try:
        m = json.loads(raw)
        body = {k: v for k, v in m.items() if k != "checksum"}
    except (ValueError, AttributeError):
        out["bad"].append({"chunk": "manifest.json", "reason": "unreadable: not a JSON object"})
        return None
    if blake3(canonical(body)).hexdigest() != m.get("checksum"):
        out["bad"].append({"chunk": "manifest.json",
                           "reason": "manifest checksum mismatch (tampered or torn manifest)"})
        return None
    if not isinstance(m.get("chunks"), list) or not m["chunks"]:
        out["bad"].append({"chunk": "manifest.json", "reason": "no chunk list"})
        return None
    return m


async def _chunks(remote: Remote, base: str, m: dict, out: dict) -> None:
    content = _StateDigest() if m.get("kind") == "full" else None
    records = _Records() if m.get("kind") == "incremental" else None
    parts: list[bytes] | None = [] if m.get("kind") == "full" and \
        (m.get("bytes") or 0) <= VALUES_MAX_BYTES else None
    chunks = m["chunks"]

    def fetch(i):
        return asyncio.create_task(remote.read_file(f"{base}/{chunks[i]['name']}"))

    pending, intact = fetch(0), True
    try:
        for i, c in enumerate(chunks):
            try:
                data = await pending
            except RemoteCommandError:
                data = None
            pending = fetch(i + 1) if i + 1 < len(chunks) else None
            if data is None:
                out["bad"].append({"chunk": c.get("name"), "reason": "missing"})
                intact = False
                continue
            found = await _hash(data, content, records, parts, i == len(chunks) - 1)
            why = _chunk_fault(c, len(data), found)
            if why:
                out["bad"].append({"chunk": c.get("name"), "reason": why})
                intact = False
            else:
                out["bytes_hashed"] += len(data)
    finally:
        if pending is not None:
            pending.cancel()
    if records is not None:
        out["records"] = records.summary(m.get("start_lsn"), m.get("end_lsn"))
    if m.get("kind") == "full" and intact:
        out["digest"] = content.hexdigest()
        if parts:
            out["values"] = await asyncio.to_thread(_values, b"".join(parts))


async def _hash(data: bytes, content, records, parts, last: bool) -> str:
    """The chunk's BLAKE3, given to a full backup's state digest, in a worker thread (the
    chunk's hash uses every core: blake3 releases the GIL and splits a large input)."""
    if parts is not None and (parts or data[:1] == b"{"):
        parts.append(data)
    if records is not None:
        records.feed(data)
    return await asyncio.to_thread(_chunk_and_digest, data, content, last)


def _chunk_and_digest(data: bytes, content, last: bool) -> str:
    found = blake3_hex(data)
    if content is not None:
        content.chunk(data, bytes.fromhex(found), last)
    return found


def _chunk_fault(c: dict, size: int, found: str) -> str | None:
    if size != c.get("size"):
        return f"size: manifest says {c.get('size')} bytes, found {size}"
    if found != c.get("blake3"):
        return f"blake3 mismatch: manifest {str(c.get('blake3'))[:16]}..., found {found[:16]}..."
    return None


def _values(content: bytes) -> dict | None:
    """{key: value} of a full backup's state outside the load prefix (None: not a JSON map)."""
    try:
        state = json.loads(content)
        return {str(k): v for k, v in ((json.loads(ek), v) for ek, v in state.items())
                if not (isinstance(k, str) and k.startswith(LOAD_PREFIX))}
    except (ValueError, AttributeError):
        return None


async def verify_archive(remote: Remote, repo: str) -> dict:
    """The node's WAL archive as the harness reads it: every segment manifest (checksum),
    its .seg (size, BLAKE3) and the LSNs its records really hold, fetched in one round trip
    (tar over the Remote, base64 on the wire) and hashed here. {"node", "segments": [{file,
    first_lsn, last_lsn, records, lsns: [first, last, count, contiguous]}], "bad",
    "bytes_hashed", "seconds"}."""
    started = time.monotonic()
    res = await remote.exec(["sh", "-c", f"cd {repo} && [ -d archive ] && tar cf - archive | "
                             "base64 -w0 || true"], timeout=300)
    members = await asyncio.to_thread(_untar, res.stdout)
    out = {"node": remote.host.name, "segments": [], "bad": [], "bytes_hashed": 0}
    for name in sorted(n for n in members if n.endswith(".json")):
        seg = name[:-5] + ".seg"
        try:
            m = json.loads(members[name])
            body = {k: v for k, v in m.items() if k != "checksum"}
        except (ValueError, AttributeError):
            out["bad"].append({"segment": name, "reason": "unreadable manifest"})
            continue
        if blake3(canonical(body)).hexdigest() != m.get("checksum"):
            out["bad"].append({"segment": name, "reason": "manifest checksum mismatch"})
            continue
        out["segments"].append(await asyncio.to_thread(_segment, m, members.get(seg), out))
    out["seconds"] = round(time.monotonic() - started, 6)
    return out


def _untar(text: str) -> dict:
    import base64
    import io
    import tarfile
    data = base64.b64decode(text.strip() or b"")
    if not data:
        return {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name.rsplit("/", 1)[-1]: tar.extractfile(m).read() for m in tar.getmembers()
                if m.isfile() and not m.name.endswith(".tmp")}


def _segment(m: dict, data: bytes | None, out: dict) -> dict:
    row = {"file": m.get("file"), "first_lsn": m.get("first_lsn"), "last_lsn": m.get("last_lsn"),
           "records": m.get("records")}
    if data is None:
        out["bad"].append({"segment": m.get("file"), "reason": "missing"})
        return row
    found = blake3_hex(data)
    why = _chunk_fault({"size": m.get("size"), "blake3": m.get("blake3")}, len(data), found)
    if why:
        out["bad"].append({"segment": m.get("file"), "reason": why})
        return row
    out["bytes_hashed"] += len(data)
    rec = _Records()
    rec.feed(data)
    row["lsns"] = rec.summary(m.get("first_lsn"), m.get("last_lsn"))
    return row


CEILING_SCRIPT = r"""
import os, sys, time, json
from blake3 import blake3
size, d = int(sys.argv[1]), sys.argv[2]
os.makedirs(d, exist_ok=True)
chunk, buf = 4 << 20, os.urandom(4 << 20)
t0 = time.perf_counter()
for i in range(0, size, chunk):
    with open(os.path.join(d, f"c{i // chunk}"), "wb") as f:
        f.write(buf[:min(chunk, size - i)]); f.flush(); os.fsync(f.fileno())
fd = os.open(d, os.O_RDONLY); os.fsync(fd); os.close(fd)
disk = size / (time.perf_counter() - t0)
for n in os.listdir(d): os.remove(os.path.join(d, n))
os.rmdir(d)
mem = os.urandom(min(size, 64 << 20)); done = 0; t0 = time.perf_counter()
while done < size or time.perf_counter() - t0 < 0.2:
    blake3(mem).digest(); done += len(mem)
mem_rate = done / (time.perf_counter() - t0)
print(json.dumps({"disk_write_bytes_per_s": disk, "blake3_bytes_per_s": mem_rate, "bytes": size}))
"""


async def host_ceilings(remote: Remote, workdir: str, size: int) -> dict:
    """A node's disk write rate (4 MiB files, fsync each, as a backup writes) and its
    single-process in-memory BLAKE3 rate, measured now on that host."""
    res = await remote.exec(["sh", "-c", f"cd {workdir} && python3 - {int(size)} "
                             f"{workdir}/ceiling-probe"], stdin=CEILING_SCRIPT.encode(),
                            timeout=120)
    return json.loads(res.stdout.strip().splitlines()[-1])


def local_blake3_rate(size: int = 64 << 20) -> float:
    """This (control) machine's single-process in-memory BLAKE3 bytes/s, over random bytes
    like the node's (a zero buffer reads the kernel's one zero page: 1.4x faster, not RAM)."""
    buf, done = os.urandom(min(size, 64 << 20)), 0
    t0 = time.perf_counter()
    while done < size or time.perf_counter() - t0 < 0.2:
        blake3(buf, max_threads=1).digest()
        done += len(buf)
    return done / (time.perf_counter() - t0)
