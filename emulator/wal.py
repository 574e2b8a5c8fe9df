"""Write-ahead log on disk: checksummed records, fsync before ack, torn-tail repair (layer: emulator shell).

File `DIR/wal.log` is a sequence of records:

    b"W1" | u32 LE payload length | header check: blake3(b"W1" + length)[:4]
          | blake3(length bytes + payload), 32 bytes | payload

The payload is JSON: {"snap": [index, term]} (a snapshot installed from the
leader: the log restarts after it), {"e": [[term, index, data_b64|null], ...]}
(entries; an entry whose index already exists replaces it and all after it),
{"hs": [term, voted_for, commit]}. One record holds one whole Ready batch
(snapshot marker, then entries, then hard state), so a batch is atomic on disk.

Recovery: a record cut short by the end of the file (or a bad last record, or a
zero-filled tail) is a torn write of an unacknowledged batch and is truncated;
a bad record with data after it is corruption: `WalCorrupt` naming the file and
offset, never a guess. The header check keeps a flipped length field from
passing for a record cut short by the end of the file.

The Wal also mirrors the log in memory (entries after the last snapshot), so
compaction can rewrite the file without asking the Raft core.

Planted bug `wal-skip-checksum` (`verify=False`): recovery replays a record whose
checksum does not match as long as its payload parses, so a bit flip in a committed
record (one the format's structure cannot see) is served as data.

Planted bug `no-fsync` (`buffered=True`): `append` only adds the record to a
process-memory buffer; `flush_buffer()` (called about once a second) writes it
to the file without fsync. A kill -9 loses every acknowledged-but-buffered batch.
"""

from __future__ import annotations

import base64
import json
import os
import struct

from blake3 import blake3

from .errors import WalCorrupt
from .raft._types import Entry, HardState

MAGIC = b"W1"
_HDR = struct.Struct("<2sI4s32s")
HEADER = _HDR.size
FILE = "wal.log"


def encode_record(payload: dict) -> bytes:
    body = json.dumps(payload, separators=(",", ":")).encode()
    length = struct.pack("<I", len(body))
    return _HDR.pack(MAGIC, len(body), _header_check(length),
                     blake3(length + body).digest()) + body


def _header_check(length: bytes) -> bytes:
    return blake3(MAGIC + length).digest()[:4]


def _entry_json(e: Entry) -> list:
    return [e.term, e.index, None if e.data is None else base64.b64encode(e.data).decode()]


def _entry_from(v: list) -> Entry:
    return Entry(term=v[0], index=v[1], data=None if v[2] is None else base64.b64decode(v[2]))


class Wal:
    """The log of one node. Not thread-safe: one batch at a time (the node's driver)."""

    def __init__(self, directory: str, *, buffered: bool = False, verify: bool = True):
        self.path = os.path.join(directory, FILE)
        self.directory = directory
        self.buffered = buffered
        self.verify = verify
        self.hard_state = HardState()
        self.entries: list[Entry] = []
        self.snapshot_mark: tuple[int, int] | None = None
        self.truncated_bytes = 0
        self.records = 0
        self._buffer = bytearray()
        self._recover()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    # ---- recovery -------------------------------------------------------------------

    def _recover(self) -> None:
        try:
            with open(self.path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return
        good = self._scan(data)
        if good < len(data):
            self.truncated_bytes = len(data) - good
            with open(self.path, "r+b") as f:
                f.truncate(good)
                f.flush()
                os.fsync(f.fileno())

    def _scan(self, data: bytes) -> int:
        """Replay records; return the offset where the valid log ends."""
        off, size = 0, len(data)
        while off < size:
            payload, end = self._read_record(data, off)
            if payload is None:
                return off
            self._replay(payload)
            self.records += 1
            off = end
        return off

    def _read_record(self, data: bytes, off: int) -> tuple[dict | None, int]:
        size = len(data)
        if size - off < HEADER or not data[off:].strip(b"\0"):
            return None, off  # torn header or zero-filled tail
        magic, length, hcheck, digest = _HDR.unpack_from(data, off)
        if magic != MAGIC or hcheck != _header_check(struct.pack("<I", length)):
            raise WalCorrupt(self.path, off, "bad record header (magic or length)")
        end = off + HEADER + length
        if end > size:
            return None, off  # cut short: the batch was never fully written, so never acked
        body = data[off + HEADER:end]
        why = None
        if self.verify and blake3(struct.pack("<I", length) + body).digest() != digest:
            why = "checksum mismatch"
        if why is None:
            try:
                return json.loads(body), end
            except ValueError:
                why = "checksum matches but payload is not JSON"
        if end == size:
            return None, off  # the last record is half-written: torn tail
        raise WalCorrupt(self.path, off, why)

    def _replay(self, p: dict) -> None:
        if "snap" in p:
            self._apply_snapshot_mark(*p["snap"])
        for v in p.get("e", ()):
            self._put_entry(_entry_from(v))
        if "hs" in p:
            t, v, c = p["hs"]
            self.hard_state = HardState(term=t, voted_for=v, commit=c)

    # ---- in-memory mirror -----------------------------------------------------------

    def _apply_snapshot_mark(self, index: int, term: int) -> None:
        self.snapshot_mark = (index, term)
        self.entries = []

    def _put_entry(self, e: Entry) -> None:
        if self.entries:
            pos = e.index - self.entries[0].index
            if pos < len(self.entries):
                del self.entries[max(pos, 0):]
            elif pos > len(self.entries):
                self.entries = []  # a gap: only after a snapshot, the log restarts at e
        self.entries.append(e)

    def entries_after(self, index: int, term: int | None = None) -> list[Entry]:
        """Entries with index > `index`; if the entry at `index` has another term than the
        snapshot's, the whole log is stale (a snapshot replaced it) and none are returned."""
        if term is not None and self.entries:
            pos = index - self.entries[0].index
            if 0 <= pos < len(self.entries) and self.entries[pos].term != term:
                return []
        return [e for e in self.entries if e.index > index]

    # ---- writing --------------------------------------------------------------------

    def append(self, entries, hard_state: HardState | None, snapshot=None) -> int:
        """Persist one Ready batch durably (fsync) before returning; returns bytes written.
        With the planted `no-fsync` bug the batch only reaches a memory buffer."""
        payload: dict = {}
        if snapshot is not None:
            payload["snap"] = [snapshot.index, snapshot.term]
            self._apply_snapshot_mark(snapshot.index, snapshot.term)
        if entries:
            payload["e"] = [_entry_json(e) for e in entries]
            for e in entries:
                self._put_entry(e)
        if hard_state is not None:
            payload["hs"] = [hard_state.term, hard_state.voted_for, hard_state.commit]
            self.hard_state = hard_state
        if not payload:
            return 0
        rec = encode_record(payload)
        if self.buffered:
            self._buffer += rec
        else:
            os.write(self._fd, rec)
            os.fsync(self._fd)
        self.records += 1
        return len(rec)

    def flush_buffer(self) -> None:
        """no-fsync bug only: move buffered records to the file (page cache, no fsync)."""
        if self._buffer:
            os.write(self._fd, bytes(self._buffer))
            self._buffer.clear()

    def compact(self, index: int) -> None:
        """Drop entries <= index (a snapshot at `index` is already durable): rewrite the file
        atomically (tmp, fsync, rename, fsync directory)."""
        self.flush_buffer()
        self.entries = [e for e in self.entries if e.index > index]
        hs = self.hard_state
        rec = encode_record({"e": [_entry_json(e) for e in self.entries],
                             "hs": [hs.term, hs.voted_for, hs.commit]})
        tmp = self.path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(rec)
            f.flush()
            os.fsync(f.fileno())
        os.close(self._fd)
        os.replace(tmp, self.path)
        fsync_dir(self.directory)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        self.records = 1

    def close(self) -> None:
        if not self.buffered:
            os.close(self._fd)
            return
        # Clean shutdown still writes the buffer: the bug only bites on a crash.
        self.flush_buffer()
        os.close(self._fd)


def fsync_dir(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
