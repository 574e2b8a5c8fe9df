"""Backup workload: backups, verification and restores as history ops (layer: workloads).

Runs beside the register and set workloads of a TC-BR case. It is not a
generator of client ops: the runner calls `drive(db, nodes, record, clock,
duration, seed, connect)` for the timed part and `final_reads` after the heal. The
database adapter supplies the backup capability (harness/db/_base.py "backup",
"incremental-backup", "pitr": backup, archive_flush, load, verify, restore,
ceilings); the harness's own verifier stands behind `db.verify`.

Timed part: a load phase fills the store (`load_bytes`), the machine's ceilings are
measured on the repository node, a full backup starts the chain, then baseline
windows (no backup) alternate with backup windows of `window_s` seconds:
- mode "chain" (TC-BR-001): incrementals back to back on one node's chain;
- mode "pitr" (TC-BR-002): an incremental every second; the archive does the rest;
- mode "concurrent" (TC-BR-005): a full backup per node first, then each backup
  window fires `concurrent` backups at once across the nodes (full and incremental).
A marker key (`marker`) is written a few times a second by this workload: its
acknowledged LSNs are exact PITR targets. After the heal (`final_reads`): flush the
archives, verify every backup (the harness's verifier), restore.

History ops (process ints of this workload; `key` null except markers):
- f "window": invoke at a window's start, ok at its end; value {"phase", "index"}
  (phase "baseline", "backup", or "extension": a chain still short after `duration`);
- f "load", "ceiling": invoke / ok with the figures;
- f "backup": invoke value {"node", "kind", "parent"}; ok value the node's reply
  (`backup` id, start/end LSN, parent, bytes, seconds, ...), plus `elapsed_s` as the
  harness timed it; fail / info with `error` and `result` (the error reply);
- f "verify": ok value the verifier's result (harness.backup_verify); f "verify_archive":
  ok value the harness's reading of a node's WAL archive (segments, LSNs, bad ones);
- f "restore": invoke value {"node", "target", "out_of_range", "time_ns"}; ok value
  the restore (restored_lsn, digest, values, rto_s, ...); fail / info with `error`
  and `result`;
- f "write" on key `marker`: invoke / ok with `lsn`, like a register write.
"""

from __future__ import annotations

import asyncio
import random
import time

from workloads._base import Workload, check_ranges

MODES = ("chain", "pitr", "concurrent")
MARKER = "marker"
FAR_LSN = 10 ** 9


class BackupWorkload(Workload):
    name = "backup"
    kind = None            # no data-model client of its own: it drives the adapter
    checkers = ()
    model = None
    needs = ("backup", "incremental-backup", "pitr")

    def __init__(self, mode: str = "chain", incrementals: int = 100, restore_points: int = 5,
                 pitr_targets: int = 10, concurrent: int = 10, load_bytes: int = 4 << 20,
                 value_size: int = 1024, window_s: float = 3.0, markers_per_s: float = 5.0,
                 chunk_size: int = 4 << 20, baseline_s: float | None = None,
                 extend_s: float = 120.0, keys: int | None = None,
                 interval_s: float | None = None):
        if mode not in MODES:
            raise ValueError(f"backup workload: mode must be one of {', '.join(MODES)}, "
                             f"got {mode!r}")
        baseline_s = window_s if baseline_s is None else baseline_s
        check_ranges("backup", ints=(("incrementals", incrementals, 1, 100_000),
                                     ("restore_points", restore_points, 0, 1000),
                                     ("pitr_targets", pitr_targets, 1, 1000),
                                     ("concurrent", concurrent, 1, 1000),
                                     ("load_bytes", load_bytes, 0, 1 << 40),
                                     ("value_size", value_size, 1, 1 << 24),
                                     ("chunk_size", chunk_size, 1, 1 << 30)),
                     numbers=(("window_s", window_s, 0.2, 600),
                              ("baseline_s", baseline_s, 0.2, 600),
                              ("markers_per_s", markers_per_s, 0.1, 100),
                              ("extend_s", extend_s, 0, 3600),
                              ("interval_s", 0.02 if interval_s is None else interval_s,
                               0.001, 3600)))
        self.baseline_s, self.extend_s = float(baseline_s), float(extend_s)
        self.mode, self.incrementals, self.restore_points = mode, incrementals, restore_points
        self.pitr_targets, self.concurrent, self.load_bytes = pitr_targets, concurrent, load_bytes
        self.value_size, self.window_s, self.markers_per_s = value_size, window_s, markers_per_s
        # 4 MiB by default: the state digest's piece size (docs/protocol.md), so a full
        # backup's chunk hashes give its digest and every byte is hashed once, on the node
        # and by the harness's verifier
        self.chunk_size = chunk_size
        # The pause between two incrementals of a backup window (pitr: 1 s): the backup
        # schedule whose foreground overhead the case judges.
        self.interval_s = (1.0 if mode == "pitr" else 0.02) if interval_s is None \
            else float(interval_s)
        self.env: _Env | None = None

    async def drive(self, db, nodes, record, clock, duration: float, seed: int, connect) -> None:
        """The timed part (see the module docstring); returns when `duration` is over."""
        env = self.env = _Env(db, sorted(nodes), record, clock, random.Random(seed), connect)
        loop = asyncio.get_running_loop()
        end = loop.time() + duration
        leader = await db.wait_for_leader(15.0)
        env.repo = next(n for n in env.nodes if n != leader) if len(env.nodes) > 1 else leader
        if self.load_bytes:
            await self._load(env)
        firsts = env.nodes if self.mode == "concurrent" else [env.repo]
        await _caught_up(env, firsts)
        await asyncio.gather(*(env.backup(n, "full", None, self.chunk_size) for n in firsts))
        markers = asyncio.create_task(_markers(env, self.markers_per_s, end + self.extend_s))
        try:
            index = 0
            while loop.time() + self.baseline_s + 0.2 < end:
                await env.window("baseline", index, loop.time() + self.baseline_s, None)
                await env.window("backup", index, loop.time() + self.window_s, self._backups)
                index += 1
            if self.mode == "chain" and self._short(env):
                await env.window("extension", index, end + self.extend_s, self._extend)
        finally:
            markers.cancel()
            await asyncio.gather(markers, return_exceptions=True)

    def _short(self, env: "_Env") -> bool:
        return len(env.chain) - 1 < self.incrementals

    async def _extend(self, env: "_Env", until: float) -> None:
        """A chain still shorter than `incrementals` when `duration` is over grows on (the
        markers still commit) for at most `extend_s`, backups back to back: a window of
        phase "extension", not a backup window of the overhead comparison."""
        loop = asyncio.get_running_loop()
        while self._short(env) and loop.time() < until:
            taken = await env.backup(env.repo, "incremental", env.chain[-1] if env.chain
                                     else None, self.chunk_size)
            await asyncio.sleep(0.02 if taken else 0.25)

    async def _load(self, env: "_Env", attempts: int = 3) -> None:
        """The load phase, on the leader; a fresh attempt (same keys, same values) when the
        leader changed under it."""
        for _ in range(attempts):
            try:
                leader = await env.db.wait_for_leader(15.0)
            except Exception:      # no leader now: the next attempt waits again
                continue
            if await env.op("load", {"node": leader, "bytes": self.load_bytes},
                            lambda: env.db.load(leader, self.load_bytes, self.value_size,
                                                "load/")):
                return

    async def _backups(self, env: "_Env", until: float) -> None:
        loop = asyncio.get_running_loop()
        if self.mode == "concurrent":
            kinds = ["full" if i % 2 == 0 else "incremental" for i in range(self.concurrent)]
            await asyncio.gather(*(env.backup(env.nodes[i % len(env.nodes)], k, None,
                                              self.chunk_size, burst=env.bursts)
                                   for i, k in enumerate(kinds)))
            env.bursts += 1
            return
        pause = self.interval_s
        while loop.time() < until:
            parent = env.chain[-1] if env.chain else None
            taken = await env.backup(env.repo, "incremental", parent, self.chunk_size)
            await asyncio.sleep(pause if taken else max(pause, 0.25))   # back off when refused

    async def final_reads(self, nodes, connect, record, clock, timeout: float = 2.0) -> None:
        """After the heal: flush the archives, verify every backup, restore."""
        env = self.env
        if env is None:
            return
        repos = sorted({b["node"] for b in env.backups} | {env.repo})
        await _settle(env, repos)
        sem = asyncio.Semaphore(3)

        async def verify(b):
            async with sem:
                await env.op("verify", {"node": b["node"], "backup": b["backup"]},
                             lambda: env.db.verify(b["node"], b["backup"]))
        await asyncio.gather(*(verify(b) for b in env.backups))
        for n in repos:
            await env.op("verify_archive", {"node": n}, lambda n=n: env.db.verify_archive(n))
        for node, target, far in await self._targets(env):
            await env.restore(node, target, far)
        # the machine's ceilings, measured last so they load nothing the run judges
        await env.op("ceiling", {"node": env.repo}, lambda: _ceiling(env.db, env.repo,
                                                                      self.load_bytes))

    async def _targets(self, env: "_Env") -> list:
        if self.mode == "chain":
            chain = [b for b in env.backups if b["backup"] in env.chain]
            picks = env.rng.sample(chain[:-1], min(self.restore_points, max(len(chain) - 1, 0)))
            return [(env.repo, {"kind": "backup", "backup": b["backup"]}, False)
                    for b in sorted(picks, key=lambda b: b["end_lsn"]) + chain[-1:]]
        if self.mode == "concurrent":
            first = [b for b in env.backups if b.get("burst") == 0]
            return [(b["node"], {"kind": "backup", "backup": b["backup"]}, False) for b in first]
        return await self._pitr_targets(env)

    async def _pitr_targets(self, env: "_Env") -> list:
        """Both ends (LSN and time), the latest, markers inclusive and exclusive, random
        times, and two targets outside any range (refusal expected)."""
        latest = await env.restore(env.repo, {"kind": "latest"}, False)
        rng = (latest or {}).get("restorable") or {}
        (lo, hi), (tlo, thi) = rng.get("lsn") or (None, None), rng.get("time") or (None, None)
        if lo is None or tlo is None:
            return []
        marks = [m for m in env.markers if lo < m["lsn"] <= hi]
        picks = env.rng.sample(marks, min(len(marks), max(2, (self.pitr_targets - 4) // 2)))
        out = [{"kind": "lsn", "lsn": lo, "exclusive": False},
               {"kind": "lsn", "lsn": hi, "exclusive": False},
               {"kind": "time", "time": tlo}, {"kind": "time", "time": thi}]
        for i, m in enumerate(sorted(picks, key=lambda m: m["lsn"])):
            out.append({"kind": "lsn", "lsn": m["lsn"], "exclusive": bool(i % 2)})
        start = min(max(tlo, env.wall0), thi)      # tlo is 0.0 when the base has no command
        while len(out) < self.pitr_targets + 1:
            out.append({"kind": "time", "time": round(env.rng.uniform(start, thi), 6)})
        out = [(env.repo, t, False) for t in out]
        # beyond every LSN, and a time after anything archived: both must be refused
        out += [(env.repo, {"kind": "lsn", "lsn": hi + FAR_LSN, "exclusive": False}, True),
                (env.repo, {"kind": "time", "time": time.time() + 86400.0}, True)]
        return out


class _Env:
    """One run of the workload: the adapter, the recorder, and what was taken so far."""

    def __init__(self, db, nodes, record, clock, rng, connect):
        self.db, self.nodes, self.record, self.clock, self.rng = db, nodes, record, clock, rng
        self.connect = connect
        self.repo = nodes[0]
        self.processes = iter(range(10 ** 6))
        self.backups: list[dict] = []       # ok backups: {"backup", "node", "end_lsn", ...}
        self.chain: list[str] = []          # ids on env.repo's chain, in order
        self.markers: list[dict] = []       # ok marker writes {"lsn", "value"}
        self.bursts = 0
        self.wall0, self.ns0 = time.time(), clock()

    def run_ns(self, wall: float) -> int:
        """A node wall-clock time (s) on the run clock (ns); one machine: one clock."""
        return int(self.ns0 + (wall - self.wall0) * 1e9)

    async def op(self, f: str, value: dict, action, key=None) -> dict | None:
        """invoke, await `action()` -> outcome {"type", "reply", "error"}, completion.
        Returns the ok reply, else None. An exception is an info completion."""
        p = next(self.processes)
        self.record({"process": p, "type": "invoke", "f": f, "key": key, "value": value,
                     "time": self.clock()})
        t0 = time.monotonic()
        try:
            out = await action()
        except asyncio.CancelledError:
            self.record({"process": p, "type": "info", "f": f, "key": key, "value": value,
                         "time": self.clock(), "error": "cancelled"})
            raise
        except Exception as exc:   # the harness could not tell what happened: indeterminate
            out = {"type": "info", "reply": None, "error": f"{type(exc).__name__}: {exc}"}
        if "type" not in out:
            out = {"type": "ok", "reply": out, "error": None}
        event = {"process": p, "type": out["type"], "f": f, "key": key, "time": self.clock(),
                 "elapsed_s": round(time.monotonic() - t0, 6)}
        if out["type"] == "ok":
            event["value"] = out["reply"]
        else:
            event.update(value=value, error=out["error"], result=out["reply"])
        self.record(event)
        return out["reply"] if out["type"] == "ok" else None

    async def backup(self, node, kind, parent, chunk_size, burst=None) -> bool:
        req = {"node": node, "kind": kind, "parent": parent, **({"burst": burst}
                                                                if burst is not None else {})}
        reply = await self.op("backup", req, lambda: self.db.backup(node, kind, parent,
                                                                   chunk_size))
        if reply:
            self.backups.append({**reply, "node": node, "burst": burst})
            if node == self.repo and (kind == "full" and not self.chain or
                                      parent == (self.chain[-1] if self.chain else None)):
                self.chain.append(reply["backup"])
        return reply is not None

    async def window(self, phase, index, until, work) -> None:
        p = next(self.processes)
        self.record({"process": p, "type": "invoke", "f": "window", "key": None,
                     "value": {"phase": phase, "index": index}, "time": self.clock()})
        try:
            if work is not None:
                await work(self, until)
            if phase != "extension":
                await asyncio.sleep(max(0.0, until - asyncio.get_running_loop().time()))
        finally:
            self.record({"process": p, "type": "ok", "f": "window", "key": None,
                         "value": {"phase": phase, "index": index}, "time": self.clock()})

    async def restore(self, node, target, out_of_range) -> dict | None:
        value = {"node": node, "target": target, "out_of_range": out_of_range}
        if target.get("kind") == "time":
            value["time_ns"] = self.run_ns(target["time"])
        return await self.op("restore", value, lambda: self.db.restore(node, target))


async def _ceiling(db, node, load_bytes) -> dict:
    return await db.ceilings(node, max(8 << 20, min(load_bytes, 64 << 20)))


async def _markers(env: _Env, per_s: float, end: float) -> None:
    """Write `marker` := 1, 2, ... through the register client; keep the acked LSNs."""
    loop = asyncio.get_running_loop()
    client = env.connect("register")(env.nodes[0], timeout=1.0, max_hops=len(env.nodes) + 1)
    n = 0
    try:
        while loop.time() < end:
            n += 1
            op = {"f": "write", "key": MARKER, "value": n}
            p = next(env.processes)
            env.record({"process": p, "type": "invoke", **op, "time": env.clock()})
            out = await client.invoke(op)
            env.record({"process": p, "type": out.type, **op, "time": env.clock(),
                        **out.fields()})
            if out.type == "ok" and out.lsn is not None:
                env.markers.append({"lsn": out.lsn, "value": n})
            await asyncio.sleep(1.0 / per_s)
    finally:
        await client.close()


async def _caught_up(env: _Env, nodes: list, timeout: float = 20.0) -> None:
    """Wait (bounded) until each of `nodes` applied the leader's commit index."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        states = await asyncio.gather(*(env.db.status(h, 1.0) for h in env.db.hosts))
        commit = max((s.get("commit") or 0 for s in states if s and s.get("role") == "leader"),
                     default=None)
        applied = {s["node"]: s.get("applied") or 0 for s in states if s}
        if commit is not None and all(applied.get(n, -1) >= commit for n in nodes):
            return
        await asyncio.sleep(0.1)


async def _settle(env: _Env, repos: list) -> None:
    """Each repository node caught up with the leader, then its archive flushed."""
    await _caught_up(env, repos)
    for n in repos:
        await env.op("archive_flush", {"node": n}, lambda n=n: env.db.archive_flush(n))
