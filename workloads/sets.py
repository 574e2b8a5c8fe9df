"""Set workload: unique adds per key, final reads on every replica, checked for zero RPO
(layer: workloads).

`add` of a unique int per key; `read` is a linearizable read returning the
list (absent = []); the adapter's "set" client carries them to the database.
After the heal, `final_reads` records, as process "final":
- one local read per (node, key), of that node's own replica without following
  redirects, recorded with mode "local" and the node; a node that cannot serve
  a local read answers with a fail, and the RPO checker then says "unknown" for
  that node, never valid;
- one linearizable read per key through the leader (mode "linearizable"), retried
  a few times while a leader is being elected.
"""

from __future__ import annotations

import asyncio
import random

from workloads._base import Workload, final_read

LINEARIZABLE_ATTEMPTS = 5
RETRY_PAUSE_S = 0.25


def parse_set(value) -> list:
    """A key's value as a list of ints: null (absent) is empty."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"set key holds {value!r}, not a list")
    return value


class SetWorkload(Workload):
    name = "set"
    kind = "set"
    checkers = ("rpo",)
    model = None
    needs = ("local-reads",)

    def __init__(self, keys: int = 3, read_ratio: float = 0.1):
        if keys < 1:
            raise ValueError(f"set workload: keys must be at least 1, got {keys}")
        self.keys = [f"s{i}" for i in range(keys)]
        self.read_ratio = read_ratio
        self._next = {k: 0 for k in self.keys}

    def generate(self, rng: random.Random) -> dict:
        key = rng.choice(self.keys)
        if rng.random() < self.read_ratio:
            return {"f": "read", "key": key, "value": None}
        self._next[key] += 1
        return {"f": "add", "key": key, "value": self._next[key]}

    async def final_reads(self, nodes: list, connect, record, clock,
                          timeout: float = 2.0) -> None:
        for name in sorted(nodes):
            client = connect(name, timeout=timeout, max_hops=0)
            try:
                for key in self.keys:
                    await final_read(client, record, clock, {"f": "read", "key": key},
                                     {"node": name, "mode": "local"}, False, True)
            finally:
                await client.close()
        await self._linearizable_reads(nodes, connect, record, clock, timeout)

    async def _linearizable_reads(self, nodes, connect, record, clock, timeout) -> None:
        client = connect(sorted(nodes)[0], timeout=timeout, max_hops=len(nodes) + 1)
        try:
            for key in self.keys:
                for attempt in range(LINEARIZABLE_ATTEMPTS):
                    await asyncio.sleep(RETRY_PAUSE_S * attempt)  # give an election time
                    out = await final_read(client, record, clock, {"f": "read", "key": key},
                                           {"mode": "linearizable"}, True, False)
                    if out.type == "ok":
                        break
        finally:
            await client.close()
