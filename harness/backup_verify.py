"""The harness's own verification of backups: never the database's word (layer: harness).

`verify_backup(remote, repo, id)` reads a backup's manifest and every chunk over the
node's Remote and re-hashes them here, with BLAKE3 (docs/protocol.md "Backups, WAL
archive and restore" is the contract): the manifest's checksum over its canonical
JSON, each chunk's size and BLAKE3, and the whole content streamed through one
hasher. Fetching chunk i+1 overlaps hashing chunk i (hashing runs in a thread; the
blake3 module releases the GIL). From the content it also reads what a checker needs
to judge the backup without trusting its manifest:
- incremental: the LSNs of the records it really holds (first, last, count, the
  first missing or out-of-place ones);
- full: the 16-hex digest of the content (the state's digest at `end_lsn` if the cut
  is consistent) and, for content up to VALUES_MAX_BYTES, the value of every key
  outside the load prefix (the workload keys), so the restore oracle can judge the
  cut against the history.
The result is recorded in the history (workloads/backup.py) and judged by
checker/backup_chain.py. `host_ceilings` measures a node's disk write (fsync) and
in-memory BLAKE3 rates in the same run, for honest throughput figures.
"""

from __future__ import annotations

import asyncio
import json
import time

from blake3 import blake3

from remote import Remote, RemoteCommandError

VALUES_MAX_BYTES = 64 << 20
LOAD_PREFIX = "load/"
MAX_LISTED = 5


def canonical(obj) -> bytes:
    """The manifest checksum's input: sorted keys, no spaces, ASCII (docs/protocol.md)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def blake3_hex(data: bytes) -> str:
    """BLAKE3 of `data`, on every core for a chunk-sized input (it releases the GIL)."""
    return blake3(data, max_threads=blake3.AUTO if len(data) >= (1 << 20) else 1).hexdigest()


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
    "bytes_hashed", "digest" (full), "records" (incremental) | "values" (full), "seconds"}."""
    started = time.monotonic()
    base = f"{repo}/backups/{backup_id}"
    out = {"backup": backup_id, "node": remote.host.name, "manifest": None, "bad": [],
           "bytes_hashed": 0}
    m = await _manifest(remote, f"{base}/manifest.json", out)
    if m is not None:
        out["manifest"] = {k: m.get(k) for k in ("id", "kind", "parent", "node", "start_lsn",
                                                 "end_lsn", "term", "end_ts", "bytes",
                                                 "chunk_size", "digest", "records")}
        out["manifest"]["chunks"] = len(m.get("chunks") or [])
        await _chunks(remote, base, m, out)
    out["seconds"] = round(time.monotonic() - started, 6)
    return out


async def _manifest(remote: Remote, path: str, out: dict) -> dict | None:
    try:
        raw = await remote.read_file(path)
    except RemoteCommandError as exc:
        out["bad"].append({"chunk": "manifest.json", "reason": f"missing or unreadable: {exc}"})
        return None
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
    content = blake3(max_threads=blake3.AUTO) if m.get("kind") == "full" else None
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
            found = await _hash(data, content, records, parts)
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
        out["digest"] = content.hexdigest()[:16]
        if parts:
            out["values"] = await asyncio.to_thread(_values, b"".join(parts))


async def _hash(data: bytes, content, records, parts) -> str:
    """The chunk's BLAKE3 and, for a full backup, the whole-content hash, in a worker thread
    (each hash uses every core: blake3 releases the GIL and splits a large input)."""
    if parts is not None and (parts or data[:1] == b"{"):
        parts.append(data)
    if records is not None:
        records.feed(data)
    return await asyncio.to_thread(_both, data, content)


def _both(data: bytes, content) -> str:
    if content is not None:
        content.update(data)
    return blake3_hex(data)


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
    """This (control) machine's single-process in-memory BLAKE3 bytes/s."""
    buf, done = bytes(min(size, 64 << 20)), 0
    t0 = time.perf_counter()
    while done < size or time.perf_counter() - t0 < 0.2:
        blake3(buf, max_threads=1).digest()
        done += len(buf)
    return done / (time.perf_counter() - t0)
