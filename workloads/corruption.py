"""Corruption workload: detect, repair and restore around the nemesis's corruptions (layer: workloads).

Runs beside the register and set workloads of TC-BR-004; the corruptions
themselves are nemesis faults of the case's timeline (backup-bitflip, -truncate,
-delete, -misdirect, -manifest on the repository node's copy or a region's copy),
so they are in the fault ledger and the history. This workload:

1. timed part: a small load, then `backups` backups on node `repo` (a full, then
   incrementals), then no more (the timeline's backup indexes stay fixed); it
   waits until every region holds them and verifies every copy itself
   (f "verify-intact": before any injection, so a false alarm shows as one);
2. after the heal, the harness's own reading of every database node's WAL
   (f "detect-wal": each record's checksum, docs/protocol.md; a node whose WAL the
   nemesis corrupted refused to start, and its file is read all the same), then
   for each copy (the node's and each region's): the database's
   verify (f "detect-db") and the harness's (f "detect-harness"); the database's
   repair of every copy the harness found damaged, from the other regions
   (f "repair"); the harness's verification of every backup of the node's copy
   (f "verify", as the backup workload records it: the restore checker reads end
   LSNs and content from it) and of every copy again (f "verify-after");
3. a restore of every backup the repair left intact (f "restore", judged by the
   restore checker), and of every backup still damaged (f "restore-corrupt":
   refusal expected, judged by the corruption checker);
4. from each region's copy, on the region's host, a restore of the last backup
   whose chain verifies clean there after the repairs (f "restore" with `copy`,
   judged exact by the restore checker like any other): a region copy is worth
   what it restores.
"""

from __future__ import annotations

import asyncio
import random

from workloads._base import Workload, check_ranges
from workloads.backup import _caught_up, _Env


class CorruptionWorkload(Workload):
    name = "corruption"
    kind = None
    checkers = ()
    model = None
    needs = ("backup", "incremental-backup", "regions")

    def __init__(self, repo: str = "n2", backups: int = 6, load_bytes: int = 1 << 20,
                 chunk_size: int = 64 << 10, settle_s: float = 30.0, keys: int | None = None):
        if not isinstance(repo, str) or not repo:
            raise ValueError(f"corruption workload: repo must be a node name, got {repo!r}")
        check_ranges("corruption", ints=(("backups", backups, 2, 1000),
                                         ("load_bytes", load_bytes, 0, 1 << 34),
                                         ("chunk_size", chunk_size, 1, 1 << 30)),
                     numbers=(("settle_s", settle_s, 1, 3600),))
        self.repo, self.backups, self.load_bytes = repo, backups, load_bytes
        self.chunk_size, self.settle_s = chunk_size, settle_s
        self.env: _Env | None = None

    def copies(self) -> list[str]:
        return [self.repo] + sorted(self.env.db.region_addrs)

    async def drive(self, db, nodes, record, clock, duration: float, seed: int, connect) -> None:
        env = self.env = _Env(db, sorted(nodes), record, clock, random.Random(seed), connect)
        if self.repo not in env.nodes:
            raise ValueError(f"corruption workload: repo {self.repo!r} is not a node "
                             f"({', '.join(env.nodes)})")
        env.repo = self.repo
        leader = await db.wait_for_leader(15.0)
        if self.load_bytes:
            await env.op("load", {"node": leader, "bytes": self.load_bytes}, lambda: db.load(
                leader, self.load_bytes, 1024, "load/"))
        await _caught_up(env, [env.repo])
        await env.backup(env.repo, "full", None, self.chunk_size)
        while len(env.chain) < self.backups:
            await asyncio.sleep(0.3)
            await env.backup(env.repo, "incremental", env.chain[-1], self.chunk_size)
        await _shipped(env, self.settle_s)
        await env.op("verify-intact", {"copies": self.copies()}, lambda: _verify_all(
            env, self.copies()))

    async def final_reads(self, nodes, connect, record, clock, timeout: float = 2.0) -> None:
        env = self.env
        if env is None:
            return
        db, damaged = env.db, []
        for n in env.nodes:
            await env.op("detect-wal", {"node": n}, lambda n=n: db.wal_verify_harness(n))
        for c in self.copies():
            await env.op("detect-db", {"copy": c}, lambda c=c: db.copy_verify_db(c, env.repo))
            found = await env.op("detect-harness", {"copy": c},
                                 lambda c=c: db.copy_verify_harness(c, env.repo))
            if found is None or found["bad"]:
                damaged.append(c)
        for c in damaged:
            await env.op("repair", {"copy": c}, lambda c=c: db.copy_repair(c, env.repo))
        for b in env.chain:
            await env.op("verify", {"node": env.repo, "backup": b},
                         lambda b=b: db.verify(env.repo, b))
        after = await env.op("verify-after", {"copies": self.copies()},
                             lambda: _verify_all(env, self.copies()))
        bad = _damaged(after, env.repo)
        for b in env.chain:
            target = {"kind": "backup", "backup": b}
            if b in bad:
                await env.op("restore-corrupt", {"node": env.repo, "target": target},
                             lambda t=target: db.restore(env.repo, t))
            else:
                await env.restore(env.repo, target, False)
        for r in sorted(db.region_addrs):
            await _restore_from_region(env, r, _damaged(after, r))
        # the machine's ceilings, measured last so they load nothing the run judges
        await env.op("ceiling", {"node": env.repo}, lambda: db.ceilings(env.repo, 16 << 20))


def _damaged(after, copy: str) -> set[str]:
    """Backup ids the harness found damaged in `copy` after the repairs."""
    return {p.split("/")[1] for b in ((after or {}).get(copy) or {}).get("bad", [])
            for p in [b["path"]] if p.startswith("backups/")}


async def _restore_from_region(env: _Env, region: str, bad: set[str]) -> None:
    """Restore the last backup of the chain whose every ancestor is clean in `region`'s copy,
    from that copy on the region's host; nothing when the full backup itself is damaged."""
    clean = []
    for b in env.chain:
        if b in bad:
            break
        clean.append(b)
    if not clean:
        return
    target = {"kind": "backup", "backup": clean[-1]}
    await env.op("restore", {"node": env.repo, "copy": region, "target": target,
                             "out_of_range": False},
                 lambda: env.db.restore(env.repo, target, copy=region))


async def _verify_all(env: _Env, copies: list[str]) -> dict:
    return {c: await env.db.copy_verify_harness(c, env.repo) for c in copies}


async def _shipped(env: _Env, bound: float) -> None:
    """Wait (bounded) until every region holds every backup of the chain."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + bound
    while loop.time() < deadline:
        st = await asyncio.gather(*(env.db.region_status(r) for r in env.db.region_addrs))
        if all(s is not None and set(env.chain) <= set(
                s["nodes"].get(env.repo, {}).get("backups", {})) for s in st):
            return
        await asyncio.sleep(0.2)
