"""Corruption of backup repositories and region copies (layer: nemesis).

One python3 script runs on the host holding the copy (a node's repository or a
region's copy of it, `repo` relative to the host's workdir). It picks the backup
(`backup`: index into the complete backups sorted by id, negative from the end)
and, from the seed, a non-empty chunk, then:

- bitflip: flips one bit of the chunk;
- truncate: cuts the chunk to half its length (at least one byte less);
- delete: removes the chunk file;
- misdirect: overwrites the chunk with a real chunk of another backup whose bytes
  differ (a valid-looking chunk written to the wrong place);
- manifest: rewrites the manifest with `end_lsn` + 1 and the old checksum.

It reads the file back and refuses (exit 3) if the bytes did not change (a flip
that writes the same byte is no corruption), fsyncs the file and its directory,
and prints what it did: {kind, path, backup, chunk, offset, size_before,
size_after}. Journaled with no undo steps: the ledger still tells what was done.
"""

from __future__ import annotations

import json

from ._core import NemesisCore

KINDS = ("bitflip", "truncate", "delete", "misdirect", "manifest")

SCRIPT = r"""
import json, os, random, sys
kind, repo, index, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
root = os.path.join(repo, "backups")
ids = sorted(d for d in os.listdir(root) if os.path.exists(os.path.join(root, d, "manifest.json")))
if not ids or not -len(ids) <= index < len(ids):
    sys.exit(f"{repo}: no backup at index {index} ({len(ids)} complete backups)")
bid = ids[index]
mpath = os.path.join(root, bid, "manifest.json")
m = json.load(open(mpath, "rb"))
rng = random.Random(seed)
chunks = [c for c in m["chunks"] if c["size"] > 0] or m["chunks"]
c = chunks[rng.randrange(len(chunks))]
path, offset = os.path.join(root, bid, c["name"]), None
def read(p):
    try:
        return open(p, "rb").read()
    except FileNotFoundError:
        return None
if kind == "manifest":
    path, chunk = mpath, "manifest.json"
    body = dict(m); body["end_lsn"] = m["end_lsn"] + 1
    after = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
else:
    chunk = c["name"]
before = read(path)
if before is None:
    sys.exit(f"{path} is missing already")
if kind == "bitflip":
    if not before:
        sys.exit(f"{path} is empty: nothing to flip")
    offset, bit = rng.randrange(len(before)), rng.randrange(8)
    after = before[:offset] + bytes([before[offset] ^ (1 << bit)]) + before[offset + 1:]
elif kind == "truncate":
    offset = min(len(before) // 2, max(0, len(before) - 1))
    after = before[:offset]
elif kind == "misdirect":
    after = None
    for other in ids:
        if other == bid:
            continue
        om = json.load(open(os.path.join(root, other, "manifest.json"), "rb"))
        for oc in om["chunks"]:
            data = read(os.path.join(root, other, oc["name"]))
            if data is not None and data != before:
                after, offset = data, 0
                break
        if after is not None:
            break
    if after is None:
        sys.exit(f"{repo}: no chunk of another backup differs from {bid}/{chunk}")
if kind == "delete":
    os.remove(path)
else:
    with open(path, "r+b") as f:
        f.seek(0); f.write(after); f.truncate(len(after)); f.flush(); os.fsync(f.fileno())
fd = os.open(os.path.dirname(path), os.O_RDONLY); os.fsync(fd); os.close(fd)
now = read(path)
if now == before:
    sys.exit(3)
print(json.dumps({"kind": kind, "path": path, "backup": bid, "chunk": chunk, "offset": offset,
                  "size_before": len(before), "size_after": None if now is None else len(now)}))
"""


async def corrupt(core: NemesisCore, fault: str, kind: str, node: str, repo: str, backup: int,
                  seed: int) -> dict:
    """Corrupt one file of the copy `repo` (relative to the host's workdir) on `node`."""
    remote = core.remotes[node]
    path = repo if repo.startswith("/") else f"{remote.host.workdir}/{repo}"
    argv = ["python3", "-c", SCRIPT, kind, path, str(backup), str(seed)]
    entry = core.ledger.record(fault, node, argv, [])
    res = await remote.exec(argv, timeout=60)
    core.ledger.mark(entry, "applied")
    return json.loads(res.stdout)
