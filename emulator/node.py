"""The node's driver: owns the Raft core, the WAL, the snapshot and the state machine
(layer: emulator shell).

Everything that touches the core runs in one coroutine (`_drive`): ticks, peer
messages, proposals and read-index requests are queued in an inbox and fed to
the core between Ready batches, so the core is never re-entered. Each Ready is
handled strictly in the order of `emulator.raft._types.Ready`: persist (one WAL
record, one fsync, off the event loop) then send, apply, serve reads, write
events, advance. Whatever arrives while a batch is being fsynced goes into the
next one: that is the group commit.

Client-facing request handling lives in `emulator.service`; this module only
resolves the futures it registers (`pending` writes by log index, reads by id).
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging

from . import snapshot as snapfile
from .archive import Archiver
from .errors import NodeError, StartupError
from .events import EventLog
from .options import CORE_BUGS
from .raft import Config, RaftCore
from .raft._types import HardState, NotLeader, Ready, Role, Snapshot
from .statemachine import KV
from .wal import Wal

log = logging.getLogger("emulator.node")


class Node:
    def __init__(self, opts, clock, rng):
        self.opts, self.clock = opts, clock
        self.events = EventLog(opts.data, opts.id, clock)
        self.kv = KV()
        self.archive = Archiver(opts.backup_dir, opts.id, clock)
        self.region_links: dict = {}        # region name -> shipper.RegionLink
        self.applied_ts: float | None = self.archive.last_ts or None
        self.last_ts, self._ts_term = self.archive.last_ts, -1
        self.wal = Wal(opts.data, buffered="no-fsync" in opts.bugs,
                       verify="wal-skip-checksum" not in opts.bugs)
        self.core = self._recover(rng)
        self.links: dict = {}
        self.inbox: collections.deque = collections.deque()
        self.wake = asyncio.Event()
        self.pending: dict[int, tuple[str, dict, asyncio.Future]] = {}
        self.reads: dict[int, tuple[object, asyncio.Future]] = {}
        self.waiting_reads: list[tuple[int, int]] = []
        self.was_leader = False

    def _config(self) -> Config:
        # The core draws each election timeout from [E, 2E) ticks; E = 2/3 of the flag makes
        # --election-timeout-ms the mean of that range ([2/3 T, 4/3 T)), as operators expect.
        tick_ms = self.opts.heartbeat_ms / 2
        election_ticks = max(3, round(self.opts.election_timeout_ms * 2 / 3 / tick_ms))
        return Config(id=self.opts.id, peers=tuple(sorted(self.opts.peers)),
                      election_ticks=election_ticks,
                      heartbeat_ticks=2, bugs=self.opts.bugs & frozenset(CORE_BUGS))

    def _recover(self, rng) -> RaftCore:
        snap = snapfile.load(self.opts.data)
        base = (snap.index, snap.term) if snap else (0, 0)
        entries = self.wal.entries_after(*base) if snap else list(self.wal.entries)
        hs = self.wal.hard_state
        if snap:
            self.kv.load(snap.data)
            hs = HardState(hs.term, hs.voted_for, max(hs.commit, snap.index))
        self.applied, self.applied_term = base
        self.snap_index = base[0]
        try:
            core = RaftCore(self._config(), hard_state=hs, entries=tuple(entries),
                            snapshot=snap, applied=self.applied, rng=rng)
        except ValueError as e:
            raise StartupError(f"--data {self.opts.data!r}: cannot start Raft: {e}") from None
        self.events.write("wal_recovered", hs.term, records=self.wal.records,
                          entries=len(entries), truncated_bytes=self.wal.truncated_bytes,
                          snapshot_index=base[0], last_index=core.last_index)
        if self.wal.truncated_bytes:
            log.warning("WAL %s: torn tail of %d bytes truncated", self.wal.path,
                        self.wal.truncated_bytes)
        return core

    # ---- inbox ----------------------------------------------------------------------

    def post(self, item: tuple) -> None:
        self.inbox.append(item)
        self.wake.set()

    def _drain_inbox(self) -> None:
        while self.inbox:
            kind, *args = self.inbox.popleft()
            getattr(self, "_in_" + kind)(*args)

    def _in_tick(self) -> None:
        self.core.tick()

    def _in_msg(self, msg) -> None:
        self.core.step(msg)

    def _in_propose(self, data: bytes, rid: str, cmd: dict, fut: asyncio.Future) -> None:
        if fut.done():
            return
        try:
            index = self.core.propose(self._stamped(data))
        except NotLeader as e:
            fut.set_exception(self.not_leader(e.leader))
            return
        self.pending[index] = (rid, cmd, fut)

    def _stamped(self, data: bytes) -> bytes:
        """The command with `ts`: this leader's wall clock as it appends the entry (after the
        client's request, before its ack), kept strictly increasing along the log so a
        point-in-time target cuts the log at one place. Every replica archives the same ts."""
        if self._ts_term != self.core.term:
            self._ts_term = self.core.term
            self.last_ts = max(self.last_ts, self.applied_ts or 0.0, _tail_ts(self.wal.entries))
        self.last_ts = max(round(self.clock.wall(), 6), round(self.last_ts + 1e-6, 6))
        return json.dumps({**json.loads(data), "ts": self.last_ts}, separators=(",", ":")).encode()

    def _in_read(self, ctx: int, key, fut: asyncio.Future) -> None:
        if fut.done():
            return
        try:
            self.core.read_index(ctx)
        except NotLeader as e:
            fut.set_exception(self.not_leader(e.leader))
            return
        self.reads[ctx] = (key, fut)

    def not_leader(self, leader: str | None) -> NodeError:
        addr = self.opts.peers.get(leader) if leader else None
        return NodeError("not_leader", f"node {self.opts.id} is not the leader; "
                         f"try {leader or 'another node'}", leader=leader,
                         leader_addr=f"{addr[0]}:{addr[1]}" if addr else None)

    # ---- driver ---------------------------------------------------------------------

    async def drive(self) -> None:
        """Feed the core and handle its Ready batches until cancelled."""
        while True:
            await self.wake.wait()
            self.wake.clear()
            self._drain_inbox()
            for _ in range(64):  # bounded: yield to the loop so clients get served
                if not self.core.has_ready():
                    break
                rd = self.core.ready()
                await self._handle_ready(rd)
                self.core.advance(rd)
                await self._maybe_snapshot()
                self._drain_inbox()
            else:
                self.wake.set()

    async def _handle_ready(self, rd: Ready) -> None:
        if rd.snapshot is not None:
            await asyncio.to_thread(snapfile.save, self.opts.data, rd.snapshot)
        if rd.snapshot is not None or rd.entries or rd.hard_state is not None:
            await asyncio.to_thread(self.wal.append, rd.entries, rd.hard_state, rd.snapshot)
        if "early-ack" in self.opts.bugs:
            self._ack_early(rd.entries)
        for m in rd.messages:
            link = self.links.get(m.dst)
            if link is not None:
                link.send(m)
        if rd.snapshot is not None:
            self._restore(rd.snapshot)
        for e in rd.committed:
            self._apply(e)
        for rs in rd.read_states:
            self.waiting_reads.append((rs.index, rs.request))
        for ctx in getattr(rd, "dropped_reads", ()) or ():
            self._fail_read(ctx, self.not_leader(self.core.leader))
        self._serve_reads()
        for ev in rd.events:
            self.events.write(ev.kind, ev.term, **ev.detail)
        self._check_leadership()

    # ---- apply ----------------------------------------------------------------------

    def _restore(self, snap: Snapshot) -> None:
        self.kv.load(snap.data)
        self.applied, self.applied_term, self.snap_index = snap.index, snap.term, snap.index
        for index in [i for i in self.pending if i <= snap.index]:
            self._fail_pending(index, "superseded", "log replaced by a snapshot from the leader")
        log.info("installed snapshot at index %d term %d", snap.index, snap.term)

    def _apply(self, e) -> None:
        result: dict | NodeError
        cmd = None
        if e.data is not None:
            cmd = json.loads(e.data)
            try:
                result = self.kv.apply(cmd)
            except NodeError as err:
                result = err
        self.applied, self.applied_term = e.index, e.term
        ts = cmd.get("ts") if cmd else None
        self.applied_ts = ts if ts is not None else self.applied_ts
        self.archive.add(e.index, e.term, ts, cmd)
        entry = self.pending.pop(e.index, None)
        if entry is None:
            return
        rid, _, fut = entry
        if fut.done():
            return
        if cmd is None or cmd.get("rid") != rid:
            fut.set_exception(NodeError("superseded", f"another entry committed at index "
                                        f"{e.index} (term {e.term})"))
        elif isinstance(result, NodeError):
            result.fields.update(lsn=e.index, term=e.term)
            fut.set_exception(result)
        else:
            fut.set_result({**result, "lsn": e.index, "term": e.term})

    def _ack_early(self, entries) -> None:
        """Planted bug early-ack: reply as soon as the entry is in the leader's own log."""
        for e in entries:
            entry = self.pending.get(e.index)
            if entry is None or entry[2].done():
                continue
            try:
                entry[2].set_result({**self.kv.preview(entry[1]), "lsn": e.index, "term": e.term})
            except NodeError as err:
                entry[2].set_exception(err)

    def _fail_pending(self, index: int, code: str, why: str) -> None:
        _, _, fut = self.pending.pop(index)
        if not fut.done():
            fut.set_exception(NodeError(code, why))

    def _check_leadership(self) -> None:
        leader = self.core.role == Role.LEADER
        if self.was_leader and not leader:
            for index in list(self.pending):
                self._fail_pending(index, "leadership_lost",
                                   f"node {self.opts.id} lost leadership (term {self.core.term})")
            for ctx in list(self.reads):
                self._fail_read(ctx, self.not_leader(self.core.leader))
            self.waiting_reads = []
        self.was_leader = leader

    # ---- reads ----------------------------------------------------------------------

    def _serve_reads(self) -> None:
        still = []
        for index, ctx in self.waiting_reads:
            if self.applied < index:
                still.append((index, ctx))
                continue
            key, fut = self.reads.pop(ctx, (None, None))
            if fut is not None and not fut.done():
                fut.set_result({"value": self.kv.get(key), "lsn": self.applied,
                                "term": self.core.term})
        self.waiting_reads = still

    def _fail_read(self, ctx: int, err: NodeError) -> None:
        _, fut = self.reads.pop(ctx, (None, None))
        if fut is not None and not fut.done():
            fut.set_exception(err)

    # ---- snapshots ------------------------------------------------------------------

    async def _maybe_snapshot(self) -> None:
        if self.applied - self.snap_index < self.opts.snapshot_every:
            return
        try:  # never compact a record out of the WAL before it is archived
            await self.archive.flush()
        except OSError as e:
            log.error("WAL archive: cannot seal a segment (%s); WAL compaction postponed", e)
            return
        snap = Snapshot(index=self.applied, term=self.applied_term, data=self.kv.dump())
        await asyncio.to_thread(snapfile.save, self.opts.data, snap)
        await asyncio.to_thread(self.wal.compact, snap.index)
        self.core.compact(snap.index, snap.data)
        self.snap_index = snap.index
        self.events.write("snapshot_taken", self.core.term, index=snap.index)

    def shutdown(self) -> None:
        for index in list(self.pending):
            self._fail_pending(index, "shutting_down", f"node {self.opts.id} is stopping")
        self.archive.flush_now()
        self.wal.close()
        self.events.write("stopped", self.core.term)
        self.events.close()


def _tail_ts(entries) -> float:
    """The `ts` of the last command in `entries` (0.0 if none has one)."""
    for e in reversed(entries):
        if e.data is not None:
            return json.loads(e.data).get("ts") or 0.0
    return 0.0
