"""Continuous WAL archiving: every applied log record goes into the repository's
archive as sealed, checksummed segments, for point-in-time recovery (layer: emulator shell).

The node calls `add` for each entry it applies (in log order); records wait in
memory until `flush` seals them into a segment file plus its manifest (the
segment fsynced first, the manifest written last). The node flushes every
`--archive-interval-ms`, before it compacts its WAL (so a record is never
dropped from the WAL before it is archived), on `archive_flush` and on shutdown.
After a crash the unarchived tail is still in the WAL and is applied, hence
archived, again; records at or below the archived LSN are skipped.

A node that installs a snapshot from its leader never applies the entries the
snapshot covers: its archive has a gap there, and the segments say so by their
LSN ranges (restore only replays contiguous records).

Segment manifest: {"format", "kind": "wal_segment", "node", "file", "first_lsn",
"last_lsn", "first_ts", "last_ts", "records", "size", "blake3", "created", "checksum"}.
"""

from __future__ import annotations

import asyncio
import os

from blake3 import blake3

from . import repo as R


class Archiver:
    def __init__(self, repo: str, node_id: str, clock):
        self.repo, self.node_id, self.clock = repo, node_id, clock
        self.dir = os.path.join(repo, R.ARCHIVE)
        os.makedirs(self.dir, exist_ok=True)
        self._remove_unsealed()
        segs, _ = R.load_segments(repo)
        self.archived_lsn = max((m["last_lsn"] for m in segs), default=0)
        self.last_ts = max((m["last_ts"] or 0 for m in segs), default=0.0)
        self.pending: list[tuple[int, float | None, bytes]] = []
        self.lock = asyncio.Lock()

    def _remove_unsealed(self) -> None:
        """A .seg without its manifest was being written when the node stopped."""
        names = set(os.listdir(self.dir))
        for n in names:
            if n.endswith(".tmp") or (n.endswith(".seg") and n[:-4] + ".json" not in names):
                os.remove(os.path.join(self.dir, n))

    @property
    def last_lsn(self) -> int:
        return self.pending[-1][0] if self.pending else self.archived_lsn

    def add(self, lsn: int, term: int, ts: float | None, cmd: dict | None) -> None:
        """Queue the record applied at `lsn` (records at or below the archive's end are
        already archived: skipped)."""
        if lsn <= self.last_lsn:
            return
        self.pending.append((lsn, ts, R.record_line(lsn, term, ts, cmd)))

    async def flush(self) -> int:
        """Seal every queued record into segments; returns the archived LSN."""
        async with self.lock:
            batch, self.pending = self.pending, []
            runs = _contiguous_runs(batch)
            for i, run in enumerate(runs):
                try:
                    await asyncio.to_thread(self._seal, run)
                except BaseException:  # keep what is not sealed: retried by the next flush
                    self.pending = [x for r in runs[i:] for x in r] + self.pending
                    raise
        return self.archived_lsn

    def flush_now(self) -> None:
        """Blocking flush, for shutdown (the event loop is gone)."""
        batch, self.pending = self.pending, []
        for run in _contiguous_runs(batch):
            self._seal(run)

    def _seal(self, run: list[tuple[int, float | None, bytes]]) -> None:
        first, last = run[0][0], run[-1][0]
        stamps = [ts for _, ts, _ in run if ts is not None]
        data = b"".join(line for _, _, line in run)
        name = R.segment_name(first, last)
        R.write_atomic(os.path.join(self.dir, name + ".seg"), data)
        m = {"format": R.FORMAT, "kind": "wal_segment", "node": self.node_id,
             "file": name + ".seg", "first_lsn": first, "last_lsn": last,
             "first_ts": stamps[0] if stamps else None, "last_ts": stamps[-1] if stamps else None,
             "records": len(run), "size": len(data), "blake3": blake3(data).hexdigest(),
             "created": self.clock.wall()}
        R.write_atomic(os.path.join(self.dir, name + ".json"), R.canonical(R.sealed(m)))
        self.archived_lsn = last
        if stamps:
            self.last_ts = max(self.last_ts, stamps[-1])


def _contiguous_runs(batch: list) -> list[list]:
    runs: list[list] = []
    for item in batch:
        if runs and item[0] == runs[-1][-1][0] + 1:
            runs[-1].append(item)
        else:
            runs.append([item])
    return runs
