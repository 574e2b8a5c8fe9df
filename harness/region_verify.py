"""The harness's own reading of a backup repository copy, file by file (layer: harness).

`repo_files(remote, repo)` fetches a repository (a node's, or a region's copy of
it) in one round trip (tar over the Remote, base64 on the wire) and hashes every
file here with BLAKE3: never the database's or the region store's word. It
returns {"files": {relative path: blake3}, "backups": [ids with a manifest whose
own checksum is right and whose every chunk has the size and hash it lists],
"segments": [likewise], "bad": [{"path", "reason"}], "bytes_hashed"}. Two copies
hold byte-identical backups iff their `files` agree on every path both list under
a good manifest (`compare_copies`).
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import tarfile

from blake3 import blake3

from remote import Remote
from harness.backup_verify import canonical


async def repo_files(remote: Remote, repo: str) -> dict:
    res = await remote.exec(["sh", "-c", f"cd {repo} 2>/dev/null && tar cf - --exclude='*.tmp' "
                             "$(ls -d backups archive 2>/dev/null) | base64 -w0 || true"],
                            timeout=300)
    return await asyncio.to_thread(judge_files, _untar(res.stdout))


def _untar(text: str) -> dict[str, bytes]:
    data = base64.b64decode(text.strip() or b"")
    if not data:
        return {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name.removeprefix("./"): tar.extractfile(m).read()
                for m in tar.getmembers() if m.isfile()}


def _manifest(data: bytes) -> dict | None:
    try:
        m = json.loads(data)
        body = {k: v for k, v in m.items() if k != "checksum"}
    except (ValueError, AttributeError):
        return None
    return m if blake3(canonical(body)).hexdigest() == m.get("checksum") else None


def judge_files(members: dict[str, bytes]) -> dict:
    """The verdict on a repository's files (see the module docstring); pure."""
    out = {"files": {p: blake3(d).hexdigest() for p, d in sorted(members.items())},
           "backups": [], "segments": [], "bad": [],
           "bytes_hashed": sum(len(d) for d in members.values())}
    for path in sorted(out["files"]):
        if path.startswith("backups/") and path.endswith("/manifest.json"):
            base = path[:-len("manifest.json")]
            wanted = [(base + c.get("name", "?"), c.get("size"), c.get("blake3"))
                      for c in (_manifest(members[path]) or {}).get("chunks", [])]
            kind, key = "backups", path.split("/")[1]
        elif path.startswith("archive/") and path.endswith(".json"):
            m = _manifest(members[path]) or {}
            wanted = [(f"archive/{m['file']}", m.get("size"), m.get("blake3"))] if m else []
            kind, key = "segments", path[len("archive/"):-5]
        else:
            continue
        if not wanted:
            out["bad"].append({"path": path, "reason": "manifest checksum mismatch or no chunks"})
            continue
        bad = [_fault(p, size, digest, members, out["files"]) for p, size, digest in wanted]
        bad = [b for b in bad if b]
        out["bad"] += bad
        if not bad:
            out[kind].append(key)
    return out


def _fault(path, size, digest, members, files) -> dict | None:
    if path not in members:
        return {"path": path, "reason": "missing"}
    if len(members[path]) != size:
        return {"path": path, "reason": f"size: manifest says {size}, found "
                f"{len(members[path])}"}
    if files[path] != digest:
        return {"path": path, "reason": f"blake3 mismatch: manifest {str(digest)[:16]}..., "
                f"found {files[path][:16]}..."}
    return None


def good_files(copy: dict) -> dict[str, str]:
    """The files of a copy's good backups and segments (path -> blake3)."""
    keep = {f"backups/{b}/" for b in copy["backups"]}
    segs = {f"archive/{s}." for s in copy["segments"]}
    return {p: h for p, h in copy["files"].items()
            if any(p.startswith(k) for k in keep) or any(p.startswith(s) for s in segs)}


def compare_copies(source: dict, copies: dict[str, dict]) -> list[str]:
    """One line per difference: an item of `source` a copy lacks, a file whose hash
    differs between a copy and the source, a bad file in a copy. Empty: identical."""
    want = good_files(source)
    errors = []
    for name, copy in sorted(copies.items()):
        have = copy["files"]
        for path, digest in sorted(want.items()):
            if path not in have:
                errors.append(f"{name}: lacks {path}")
            elif have[path] != digest:
                errors.append(f"{name}: {path} blake3 {have[path][:16]}... differs from the "
                              f"source's {digest[:16]}...")
        errors += [f"{name}: {b['path']}: {b['reason']}" for b in copy["bad"]]
    return errors
