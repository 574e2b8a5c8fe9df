"""Corruption of a node's write-ahead log, then a restart (layer: nemesis).

One python3 script runs on the node (its process may be running: the WAL is
append-only, so a write in the middle does not race the node's appends). It
reads the WAL (`path`, relative to the host's workdir; the format is
docs/protocol.md "Data directory": `b"W1"`, u32 LE length, 4-byte header check,
32-byte blake3, JSON payload) and picks, from the seed, a record that

- holds entries with data, all committed (index <= the highest commit any hard
  state in the file records), none replaced by a later record nor behind a later
  snapshot mark: data the node acknowledged and will apply again on restart;
- has records after it: damage there is corruption, never a torn tail, and the
  node must not truncate it away as an unacknowledged write.

It then flips one bit inside one entry's base64 data such that the record still
parses and the entry still decodes to a JSON command that differs from the
original in a field other than `rid` and `ts` (its value, preferably, still present): the flip
that only the record's checksum can catch, and the one a node that skipped the
checksum would serve as data. If no such flip exists in any candidate it flips
a seeded bit of the record's payload (`parses: false` in the result).

The script reads the byte back and refuses (exit 3) if it did not change, fsyncs
the file, and prints {path, offset (the record's, as the node reports it),
byte_offset, bit, record, records, records_after, entries [first, last], commit,
parses, changed {field, key, before, after}}. Then the node is killed (-9) and
started again through the DB adapter, the restart fault's own steps: on restart
the node must detect the damage and refuse to start (or repair from its peers);
harness/revival.py records what it did. Journaled with no undo steps.
"""

from __future__ import annotations

import json

from ._core import NemesisCore
from ._errors import NemesisError

SCRIPT = r"""
import base64, json, os, random, struct, sys
path, seed = sys.argv[1], int(sys.argv[2])
data = open(path, "rb").read()
HDR = struct.Struct("<2sI4s32s")
recs, off = [], 0
while off + HDR.size <= len(data):
    magic, n, _, _ = HDR.unpack_from(data, off)
    end = off + HDR.size + n
    if magic != b"W1" or end > len(data):
        break
    try:
        recs.append((off, end, json.loads(data[off + HDR.size:end])))
    except ValueError:
        break
    off = end
commit = max((p["hs"][2] for _, _, p in recs if "hs" in p), default=0)
def kept(i):
    es = recs[i][2].get("e", ())
    if not any(e[2] is not None for e in es) or max(e[1] for e in es) > commit:
        return False
    hi = max(e[1] for e in es)   # replaced by a later record, or behind a later snapshot?
    return not any("snap" in p or any(e[1] <= hi for e in p.get("e", ()))
                   for _, _, p in recs[i + 1:])
cands = [i for i in range(len(recs) - 1) if kept(i)]
if not cands:
    sys.exit(f"{path}: no committed record with records after it ({len(recs)} records, "
             f"commit {commit})")
rng = random.Random(seed)
rng.shuffle(cands)
def cmd(b64):
    try:
        return json.loads(base64.b64decode(b64, validate=True).decode())
    except ValueError:
        return None
B64 = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
def flips(i):
    start, end, p = recs[i]
    body = data[start + HDR.size:end]
    for e in p["e"]:
        at = body.find(b'"' + e[2].encode() + b'"') + 1 if e[2] is not None else 0
        was = cmd(e[2]) if at else None
        if not isinstance(was, dict):
            continue
        spots = [(k, bit) for k in range(len(e[2])) for bit in range(8)]
        rng.shuffle(spots)
        for k, bit in spots:
            c = body[at + k] ^ (1 << bit)
            if c not in B64:       # stays a base64 letter, so the JSON payload still parses
                continue
            now = cmd(e[2][:k] + chr(c) + e[2][k + 1:])
            if not isinstance(now, dict):
                continue
            diff = sorted(x for x in set(was) | set(now)
                          if x not in ("rid", "ts") and was.get(x) != now.get(x))
            if diff:
                field = "value" if "value" in diff else diff[0]
                yield (start + HDR.size + at + k, bit, {
                    "field": field, "key": was.get("key"), "index": e[1],
                    "before": str(was.get(field))[:80], "after": str(now.get(field))[:80]},
                    "value" in diff and "value" in was and "value" in now)
chosen, fallback = None, None
for i in cands[:64]:
    for pos, bit, changed, on_value in flips(i):
        if on_value:
            chosen = (i, pos, bit, changed)
            break
        fallback = fallback or (i, pos, bit, changed)
    if chosen is not None:
        break
chosen = chosen or fallback
parses = chosen is not None
if parses:   # the whole payload, flipped, must still parse: only the checksum can tell
    start, end, _ = recs[chosen[0]]
    json.loads(data[start + HDR.size:chosen[1]] + bytes([data[chosen[1]] ^ (1 << chosen[2])])
               + data[chosen[1] + 1:end])
if chosen is None:
    i = cands[0]
    start, end, _ = recs[i]
    chosen = (i, rng.randrange(start + HDR.size, end), rng.randrange(8), None)
i, pos, bit, changed = chosen
with open(path, "r+b") as f:
    f.seek(pos); f.write(bytes([data[pos] ^ (1 << bit)])); f.flush(); os.fsync(f.fileno())
with open(path, "rb") as f:
    f.seek(pos); now = f.read(1)
if now == data[pos:pos + 1]:
    sys.exit(3)
es = recs[i][2]["e"]
print(json.dumps({"path": os.path.abspath(path), "offset": recs[i][0], "byte_offset": pos,
                  "bit": bit, "record": i, "records": len(recs),
                  "records_after": len(recs) - 1 - i, "entries": [es[0][1], es[-1][1]],
                  "commit": commit, "parses": parses, "changed": changed}))
"""


async def corrupt_wal(core: NemesisCore, fault: str, node: str, path: str, seed: int) -> dict:
    """Flip one bit of a committed record in the middle of `node`'s WAL, then kill -9 and
    start the node. Returns the script's report."""
    if core.db is None:
        raise NemesisError("wal-bitflip restarts the node and needs a DB adapter (kill/start); "
                           "the nemesis was built without one")
    remote = core.remotes[node]
    full = path if path.startswith("/") else f"{remote.host.workdir}/{path}"
    argv = ["python3", "-c", SCRIPT, full, str(seed)]
    entry = core.ledger.record(fault, node, argv, [])
    res = await remote.exec(argv, timeout=60)
    core.ledger.mark(entry, "applied")
    out = json.loads(res.stdout)
    await core.journaled(fault, node, [{"db": "kill"}, {"db": "start"}], [])
    return {**out, "restarted": True}
