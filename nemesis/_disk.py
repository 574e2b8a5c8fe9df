"""Disk faults: bit flips and truncation of WAL and backup files (layer: nemesis).

A small python3 script runs on the node (python3 is on every node), chooses
the position from the seed it is given, changes the file, fsyncs it and
prints what it did. These faults cannot be undone; they are journaled with
no undo steps so the ledger still tells what was done to which file.
"""

from __future__ import annotations

import json

from ._core import NemesisCore
from ._errors import NemesisError

BITFLIP = r"""
import json, os, random, sys
path, seed, lo, hi = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
size = os.path.getsize(path)
if size == 0:
    sys.exit(f"{path} is empty: nothing to flip")
rng = random.Random(seed)
a, b = int(size * lo), max(int(size * lo) + 1, int(size * hi))
off, bit = rng.randrange(a, min(b, size)), rng.randrange(8)
with open(path, "r+b") as f:
    f.seek(off); byte = f.read(1)[0]
    f.seek(off); f.write(bytes([byte ^ (1 << bit)])); f.flush(); os.fsync(f.fileno())
print(json.dumps({"path": path, "size": size, "offset": off, "bit": bit}))
"""

TRUNCATE = r"""
import json, os, sys
path, drop = sys.argv[1], int(sys.argv[2])
size = os.path.getsize(path)
new = max(0, size - drop)
with open(path, "r+b") as f:
    f.truncate(new); f.flush(); os.fsync(f.fileno())
print(json.dumps({"path": path, "size": size, "new_size": new}))
"""


async def bitflip(core: NemesisCore, fault: str, node: str, path: str, seed: int,
                  lo: float = 0.0, hi: float = 0.5) -> dict:
    """Flip one bit at a seeded position within [lo, hi) of the file's length.
    The default first half keeps the flip away from the tail, where a WAL
    would treat damage as a torn write rather than corruption."""
    if not 0.0 <= lo < hi <= 1.0:
        raise NemesisError(f"bitflip range [{lo}, {hi}) must lie within [0, 1]")
    return await _run(core, fault, node, ["python3", "-c", BITFLIP, path, str(seed),
                                          str(lo), str(hi)])


async def truncate(core: NemesisCore, fault: str, node: str, path: str, drop_bytes: int) -> dict:
    """Cut the last `drop_bytes` bytes off the file."""
    if drop_bytes <= 0:
        raise NemesisError(f"truncate drop_bytes must be positive, got {drop_bytes}")
    return await _run(core, fault, node, ["python3", "-c", TRUNCATE, path, str(drop_bytes)])


async def _run(core: NemesisCore, fault: str, node: str, argv: list[str]) -> dict:
    entry = core.ledger.record(fault, node, argv, [])
    res = await core.remotes[node].exec(argv, timeout=30)
    core.ledger.mark(entry, "applied")
    return json.loads(res.stdout)
