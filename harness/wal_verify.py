"""The harness's own reading of a node's write-ahead log (layer: harness).

`wal_check(remote, path)` fetches the WAL file over the Remote and checks every
record here, from the format docs/protocol.md ("Data directory") gives, with
code of its own (never the emulator's recovery, never the node's word): `b"W1"`,
u32 LE payload length, a 4-byte header check (blake3 of magic and length), the
blake3 of length and payload, the payload. It returns {"path", "bytes",
"records", "bad": [{"offset", "reason"}], "torn_tail_bytes", "seconds"}:

- a record whose header check fails: "bad record header"; its length cannot be
  trusted, so the scan stops there;
- a record whose payload does not match its checksum and that has data after it:
  "checksum mismatch" (the scan goes on: the length was checked);
- a record cut short by the end of the file, or a bad last record, or a zero
  tail: `torn_tail_bytes` (an unacknowledged write a crash interrupted, or one the
  running node is writing as the file is read), never "bad".
"""

from __future__ import annotations

import asyncio
import struct
import time

from blake3 import blake3

from remote import Remote

MAGIC = b"W1"
HEADER = struct.Struct("<2sI4s32s")


def judge_wal(data: bytes) -> dict:
    """The verdict on one WAL file's bytes (see the module docstring)."""
    off, records, bad = 0, 0, []
    while off < len(data):
        if len(data) - off < HEADER.size or not data[off:].strip(b"\0"):
            break
        magic, n, check, digest = HEADER.unpack_from(data, off)
        length = struct.pack("<I", n)
        if magic != MAGIC or check != blake3(MAGIC + length).digest()[:4]:
            bad.append({"offset": off, "reason": "bad record header"})
            return {"bytes": len(data), "records": records, "bad": bad, "torn_tail_bytes": 0}
        end = off + HEADER.size + n
        if end > len(data):
            break
        if blake3(length + data[off + HEADER.size:end]).digest() != digest:
            if end == len(data):
                break
            bad.append({"offset": off, "reason": "checksum mismatch"})
        records += 1
        off = end
    return {"bytes": len(data), "records": records, "bad": bad,
            "torn_tail_bytes": len(data) - off}


async def wal_check(remote: Remote, path: str) -> dict:
    started = time.monotonic()
    data = await remote.read_file(path)
    out = await asyncio.to_thread(judge_wal, data)
    return {"path": path, **out, "seconds": round(time.monotonic() - started, 6)}
