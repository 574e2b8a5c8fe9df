"""Offline repair of a backup repository copy from region copies (layer: emulator shell).

```
python -m emulator repair --repo DIR --node N --from r1=HOST:PORT[,r2=HOST:PORT...]
    [--bug repair-unverified-source]
```

Verifies DIR (every manifest checksum, chunk and segment, as `verify`), then for
each damaged backup or segment asks the region stores in turn (`get`) for that
item's manifest and files of node N's copy, and takes the first region whose copy
is intact: its manifest's own checksum is right (and equals DIR's manifest when
DIR's is intact), and every file has the size and BLAKE3 the manifest lists. Good
files are written atomically (tmp, fsync, rename, fsync dir). An item no region
has intact is left as it is and listed `unrepaired`; restore then refuses it.

Output: one JSON line {"ok", "repaired": [{"item", "files", "from"}], "unrepaired":
[{"item", "tried": {region: why}}], "bad_before", "valid_after", "bytes", "seconds"};
exit 0 iff the copy verifies clean afterwards.

Planted bug `repair-unverified-source`: the first region that answers is copied
from without checking its copy.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import socket
import sys
import time

from blake3 import blake3

from . import repo as R
from .backup import verify_repo
from .errors import EXIT_BAD_START, StartupError
from .options import parse_peers


def _get(addr, node: str, path: str, timeout: float = 10.0) -> bytes | None:
    with socket.create_connection(addr, timeout=timeout) as s:
        f = s.makefile("rwb")
        f.write(json.dumps({"op": "get", "node": node, "path": path}).encode() + b"\n")
        f.flush()
        reply = json.loads(f.readline())
    return base64.b64decode(reply["data"]) if reply.get("ok") else None


def _items(bad: list[dict]) -> list[str]:
    """Damaged items as repository paths: backups/<id> or archive/<first-last>."""
    out = []
    for b in bad:
        key = f"{R.BACKUPS}/{b['backup']}" if "backup" in b else f"{R.ARCHIVE}/{b['segment']}"
        if key not in out:
            out.append(key)
    return out


def _fetch_item(addr, node: str, key: str, local_manifest: bytes | None,
                check: bool) -> tuple[dict | None, str]:
    """({path: bytes} of an intact copy of item `key`, "") or (None, why not)."""
    mpath = f"{key}/{R.MANIFEST}" if key.startswith(R.BACKUPS) else f"{key}.json"
    raw = _get(addr, node, mpath)
    if raw is None:
        return None, "manifest not held"
    try:
        m = json.loads(raw)
    except ValueError:
        return None, "manifest unreadable"
    if check and not R.checksum_ok(m):
        return None, "manifest checksum mismatch"
    if check and local_manifest is not None and raw != local_manifest:
        return None, "manifest differs from the intact local one"
    wanted = ([(f"{key}/{c['name']}", c["size"], c["blake3"]) for c in m.get("chunks", [])]
              if key.startswith(R.BACKUPS) else
              [(f"{R.ARCHIVE}/{m.get('file')}", m.get("size"), m.get("blake3"))])
    files = {mpath: raw}
    for path, size, digest in wanted:
        data = _get(addr, node, path)
        if data is None:
            return None, f"{path} not held"
        if check and (len(data) != size or blake3(data).hexdigest() != digest):
            return None, f"{path} fails its manifest's size or BLAKE3"
        files[path] = data
    return files, ""


def _local_manifest(repo: str, key: str) -> bytes | None:
    mpath = f"{key}/{R.MANIFEST}" if key.startswith(R.BACKUPS) else f"{key}.json"
    m, _ = R.read_manifest(os.path.join(repo, mpath))
    return None if m is None else R.canonical(m)


def repair(repo: str, node: str, sources: dict, check: bool = True) -> dict:
    started = time.monotonic()
    before = verify_repo(repo, None)
    out = {"bad_before": before["bad"], "repaired": [], "unrepaired": [], "bytes": 0}
    for key in _items(before["bad"]):
        tried = {}
        for name, addr in sources.items():
            try:
                files, why = _fetch_item(addr, node, key, _local_manifest(repo, key), check)
            except (OSError, ValueError) as e:
                files, why = None, f"{type(e).__name__}: {e}"
            if files is None:
                tried[name] = why
                continue
            for path in sorted(files, key=lambda p: p.endswith(".json")):   # manifest last
                target = os.path.join(repo, path)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                R.write_atomic(target, files[path])
                out["bytes"] += len(files[path])
            out["repaired"].append({"item": key, "files": sorted(files), "from": name})
            break
        else:
            out["unrepaired"].append({"item": key, "tried": tried})
    after = verify_repo(repo, None)
    out["valid_after"], out["bad_after"] = after["valid"], after["bad"]
    out["seconds"] = round(time.monotonic() - started, 6)
    return out


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m emulator repair")
    p.add_argument("--repo", required=True)
    p.add_argument("--node", required=True, help="whose repository DIR is a copy of")
    p.add_argument("--from", dest="sources", required=True, help="r1=HOST:PORT,...")
    p.add_argument("--bug", action="append", default=[],
                   choices=("repair-unverified-source",))
    try:
        a = p.parse_args(argv)
        if not os.path.isdir(a.repo):
            raise StartupError(f"--repo {a.repo!r} is not a directory")
        sources = parse_peers(a.sources)
    except StartupError as e:
        print(f"emulator repair: {e}", file=sys.stderr)
        return EXIT_BAD_START
    out = repair(a.repo, a.node, sources, check="repair-unverified-source" not in a.bug)
    print(json.dumps({"ok": True, **out}))
    return 0 if out["valid_after"] else 1
