"""Sample every node's role, term and leader into states.jsonl (layer: harness).

Samples are taken every `interval` seconds (40 ms by default, so gaps stay under the
50 ms needed to time elections) on the control node's run clock; a node that does not answer
within the timeout gives `{"ok": false, "error": ...}`. The latest sample per
node is kept in memory for the progress display and for "isolate the leader".
"""

from __future__ import annotations

import asyncio
from collections import Counter

FIELDS = ("role", "term", "leader", "commit", "applied", "last_index", "digest", "digest_index",
          "clock_offset_ms")


class StateSampler:
    def __init__(self, db, hosts, record, clock, interval: float = 0.04, timeout: float = 0.5):
        self.db, self.hosts, self.record, self.clock = db, list(hosts), record, clock
        self.interval, self.timeout = interval, timeout
        self.latest: dict[str, dict] = {}

    async def _sample(self, host) -> None:
        status = await self.db.status(host, self.timeout)
        sample = {"time": self.clock(), "node": host.name}
        if status is None:
            sample.update(ok=False, error="no answer")
        else:
            sample.update(ok=True, **{k: status.get(k) for k in FIELDS if k in status})
        self.latest[host.name] = sample
        self.record(sample)

    async def sample_all(self) -> None:
        """One sample of every node, now (written like the periodic ones)."""
        await asyncio.gather(*(self._sample(h) for h in self.hosts))

    async def run(self) -> None:
        """Sample until cancelled; each node on its own cadence so a slow node delays nobody."""
        async with asyncio.TaskGroup() as tg:
            for host in self.hosts:
                tg.create_task(self._loop(host))

    async def _loop(self, host) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await self._sample(host)
            await asyncio.sleep(max(0.0, self.interval - (loop.time() - started)))

    def leader(self) -> str | None:
        """The leader most answering nodes name, among those that claim to lead."""
        named = Counter(s.get("leader") for s in self.latest.values()
                        if s.get("ok") and s.get("leader"))
        leaders = {n for n, s in self.latest.items() if s.get("ok") and s.get("role") == "leader"}
        for name, _ in named.most_common():
            if name in leaders:
                return name
        return next(iter(sorted(leaders)), None)

    def converged(self, refused=frozenset()) -> bool:
        """Every node answers, one leader, and every node applied the leader's commit index;
        nodes in `refused` (that refused to start on a corrupted WAL, harness/revival.py)
        are not waited for."""
        latest = {n: s for n, s in self.latest.items() if n not in refused}
        if len(latest) < len(self.hosts) - len(refused) or \
                not all(s.get("ok") for s in latest.values()):
            return False
        lead = self.leader()
        if lead is None or lead not in latest:
            return False
        commit = latest[lead].get("commit") or 0
        return all((s.get("applied") or 0) >= commit and s.get("leader") == lead
                   for s in latest.values())
