"""Region replication workload: backups shipped to region stores, lag sampled (layer: workloads).

Runs beside the register and set workloads of TC-BR-003. Like the backup
workload it drives the adapter (`drive`, then `final_reads` after the heal); the
adapter's "regions" capability supplies the region stores (harness/db/
heliosdb_regions.py): their own `region_status`, and the harness's own reading
of every copy (`source_files`, `region_files`).

Timed part: a small load, a full backup on the repository node (a follower), then
an incremental every `interval_s`; meanwhile every `sample_s` (<= 1 s) each
region's status is sampled. After the heal: flush the archives, wait (at most
`settle_s`) until every region holds every backup and segment of every node,
still sampling; then the harness reads every copy itself and compares.

History ops (process ints of this workload, `key` null):
- f "backup" (as the backup workload: invoke value {"node", "kind", "parent"}, ok
  value the node's reply, which carries `created`, the backup's completion time);
- f "region-sample": invoke and ok at once, value {"wall": control wall clock,
  "regions": {r: {"up": bool, "backups": held of this run's ok backups,
  "segments": segments held (all nodes), "lag_s": age of the oldest ok backup it
  does not hold, 0 if none}}};
- f "region-arrivals" (after the heal): ok value {r: {backup id: arrival - created}}
  from each region's own arrival log;
- f "region-verify": ok value {"errors": [lines], "regions": {r: {"backups",
  "segments", "bytes_hashed"}}, "source": {node: {...}}, "acked": {node: {r:
  items the node counts acknowledged}}, "held": {node: {r: items the region holds}}}.
"""

from __future__ import annotations

import asyncio
import random
import time

from workloads._base import Workload, check_ranges
from workloads.backup import _caught_up, _Env


class RegionsWorkload(Workload):
    name = "regions"
    kind = None
    checkers = ()
    model = None
    needs = ("backup", "incremental-backup", "regions")

    def __init__(self, interval_s: float = 1.0, sample_s: float = 0.5,
                 load_bytes: int = 1 << 20, chunk_size: int = 256 << 10,
                 settle_s: float = 90.0, keys: int | None = None):
        check_ranges("regions", ints=(("load_bytes", load_bytes, 0, 1 << 34),
                                      ("chunk_size", chunk_size, 1, 1 << 30)),
                     numbers=(("interval_s", interval_s, 0.1, 600),
                              ("sample_s", sample_s, 0.05, 1.0),
                              ("settle_s", settle_s, 1, 3600)))
        self.interval_s, self.sample_s, self.settle_s = interval_s, sample_s, settle_s
        self.load_bytes, self.chunk_size = load_bytes, chunk_size
        self.env: _Env | None = None
        self._sampling: asyncio.Task | None = None

    async def drive(self, db, nodes, record, clock, duration: float, seed: int, connect) -> None:
        env = self.env = _Env(db, sorted(nodes), record, clock, random.Random(seed), connect)
        loop = asyncio.get_running_loop()
        end = loop.time() + duration
        leader = await db.wait_for_leader(15.0)
        env.repo = next((n for n in env.nodes if n != leader), leader)
        self._sampling = asyncio.create_task(_sample(env, self.sample_s))
        if self.load_bytes:
            await env.op("load", {"node": leader, "bytes": self.load_bytes}, lambda: db.load(
                leader, self.load_bytes, 1024, "load/"))
        await _caught_up(env, [env.repo])
        await env.backup(env.repo, "full", None, self.chunk_size)
        while loop.time() + self.interval_s < end:
            t = loop.time()
            parent = env.chain[-1] if env.chain else None
            await env.backup(env.repo, "incremental" if parent else "full", parent,
                             self.chunk_size)
            await asyncio.sleep(max(0.0, t + self.interval_s - loop.time()))

    async def final_reads(self, nodes, connect, record, clock, timeout: float = 2.0) -> None:
        env = self.env
        if env is None:
            return
        try:
            await _caught_up(env, env.nodes)
            for n in env.nodes:
                await env.op("archive_flush", {"node": n}, lambda n=n: env.db.archive_flush(n))
            await _settle(env, self.settle_s)
            await env.op("region-arrivals", {}, lambda: _arrivals(env))
            await env.op("region-verify", {"nodes": env.nodes}, lambda: _verify(env))
        finally:
            if self._sampling is not None:
                self._sampling.cancel()
                await asyncio.gather(self._sampling, return_exceptions=True)


def _held(status: dict | None, env: _Env) -> tuple[set, int]:
    """(ids of this run's backups the region holds, segments it holds over all nodes)."""
    if status is None:
        return set(), 0
    nodes = status.get("nodes", {})
    held = set(nodes.get(env.repo, {}).get("backups", {}))
    return held, sum(v.get("segments", 0) for v in nodes.values())


async def _sample(env: _Env, every: float) -> None:
    db = env.db
    names = sorted(db.region_addrs)
    while True:
        t = asyncio.get_running_loop().time()
        statuses = await asyncio.gather(*(db.region_status(r, timeout=0.8) for r in names))
        now, row = time.time(), {}
        for r, st in zip(names, statuses):
            held, segments = _held(st, env)
            missing = [b for b in env.backups if b["backup"] not in held]
            lag = max((now - b["created"] for b in missing), default=0.0)
            row[r] = {"up": st is not None, "backups": len(env.backups) - len(missing),
                      "segments": segments, "lag_s": round(lag, 4)}
        p = next(env.processes)
        for type_ in ("invoke", "ok"):
            env.record({"process": p, "type": type_, "f": "region-sample", "key": None,
                        "value": {"wall": now, "regions": row}, "time": env.clock()})
        await asyncio.sleep(max(0.0, t + every - asyncio.get_running_loop().time()))


async def _want(env: _Env) -> dict:
    """{node: (backup ids, segment count)} each source's repository holds complete."""
    out = {}
    for n in env.nodes:
        listing = await env.db.backup_list(n)
        reply = listing.get("reply") or {}
        segs = (reply.get("archive") or {}).get("segments") or 0      # a count
        out[n] = ({b["id"] for b in reply.get("backups", [])}, segs)
    return out


async def _settle(env: _Env, bound: float) -> None:
    """Wait until every region holds every complete backup and segment of every node."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + bound
    want = await _want(env)
    while loop.time() < deadline:
        statuses = await asyncio.gather(*(env.db.region_status(r) for r in env.db.region_addrs))
        if all(st is not None and all(
                ids <= set(st["nodes"].get(n, {}).get("backups", {})) and
                segs <= st["nodes"].get(n, {}).get("segments", 0)
                for n, (ids, segs) in want.items()) for st in statuses):
            return
        await asyncio.sleep(0.2)


async def _arrivals(env: _Env) -> dict:
    created = {b["backup"]: b["created"] for b in env.backups}
    out = {}
    for r in sorted(env.db.region_addrs):
        st = await env.db.region_status(r) or {"nodes": {}}
        held = st["nodes"].get(env.repo, {}).get("backups", {})
        out[r] = {bid: round(info["arrived"] - created[bid], 4)
                  for bid, info in sorted(held.items()) if bid in created}
    return out


async def _verify(env: _Env) -> dict:
    """The harness's own comparison of every region copy with every source repository."""
    db, errors = env.db, []
    regions = sorted(db.region_addrs)
    out = {"regions": {r: {"backups": 0, "segments": 0, "bytes_hashed": 0} for r in regions},
           "source": {}, "acked": {}, "held": {}}
    states = {s["node"]: s for s in await asyncio.gather(*(db.status(h, 2.0) for h in db.hosts))
              if s}
    for n in env.nodes:
        cmp = await db.compare_regions(n)
        errors += [f"{n} -> {line}" for line in cmp["errors"]]
        out["source"][n] = cmp["source"]
        for r, c in cmp["copies"].items():
            for k in ("backups", "segments", "bytes_hashed"):
                out["regions"][r][k] += c[k]
        out["acked"][n] = {r: (v or {}).get("acked") for r, v in
                           ((states.get(n) or {}).get("regions") or {}).items()}
        out["held"][n] = {r: c["backups"] + c["segments"] for r, c in cmp["copies"].items()}
    out["errors"] = errors
    return out
