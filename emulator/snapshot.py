"""Snapshot file: the state machine image at a log index, checksummed, replaced atomically
(layer: emulator shell).

`DIR/snapshot.bin` = b"S1" | u64 index | u64 term | blake3(index, term, data) 32 bytes | data.
Written to a temp file, fsynced, renamed over the old one, directory fsynced: a
crash leaves either the old or the new snapshot, never a mix. A snapshot file
that fails its checksum stops the node (`StartupError` naming the file).
"""

from __future__ import annotations

import os
import struct

from blake3 import blake3

from .errors import StartupError
from .raft._types import Snapshot
from .wal import fsync_dir

FILE = "snapshot.bin"
_HDR = struct.Struct("<2sQQ32s")


def _digest(index: int, term: int, data: bytes) -> bytes:
    return blake3(struct.pack("<QQ", index, term) + data).digest()


def save(directory: str, snap: Snapshot) -> None:
    path = os.path.join(directory, FILE)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(_HDR.pack(b"S1", snap.index, snap.term, _digest(snap.index, snap.term, snap.data)))
        f.write(snap.data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(directory)


def load(directory: str) -> Snapshot | None:
    path = os.path.join(directory, FILE)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return None
    if len(raw) < _HDR.size:
        raise StartupError(f"snapshot corrupt: {path} is {len(raw)} bytes, shorter than its "
                           f"{_HDR.size}-byte header; restore or wipe the data directory")
    magic, index, term, digest = _HDR.unpack_from(raw)
    data = raw[_HDR.size:]
    if magic != b"S1" or _digest(index, term, data) != digest:
        raise StartupError(f"snapshot corrupt: {path} at offset 0: checksum mismatch; "
                           f"restore or wipe the data directory")
    return Snapshot(index=index, term=term, data=data)
