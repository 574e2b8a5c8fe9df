"""The workload driver: C concurrent client processes, a total rate limit, a time limit
(layer: workloads).

`run_workload` records each op's invoke before sending it and its completion
after (ok / fail / info, see workloads._client), through clients made by the
adapter's `connect(home, timeout, max_hops)`. A client that raises is a bug in
the client, not the database's doing: the op is recorded as `info` with the
error and the process retired, and the run goes on. After an `info` the process
id is retired and a fresh one (never used before in the run) takes its place,
as DESIGN.md requires. The run is bounded: no op starts after `duration`
seconds, each op is bounded by `op_timeout`, and the whole driver by
duration + 2 * op_timeout + 5 s. Ops are drawn from a `random.Random(seed)`.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from dataclasses import dataclass, field

from workloads._base import Workload, completion
from workloads._client import Client, Outcome


@dataclass
class _Run:
    workload: Workload
    nodes: list
    connect: object
    record: object
    clock: object
    rng: random.Random
    interval: float
    deadline: float
    op_timeout: float
    next_slot: float = 0.0
    ids: itertools.count = field(default_factory=itertools.count)
    counts: dict = field(default_factory=lambda: {"ok": 0, "fail": 0, "info": 0})

    async def pace(self) -> bool:
        """Wait for this op's slot under the rate limit; False once the time limit is reached."""
        loop = asyncio.get_running_loop()
        slot = max(self.next_slot, loop.time())
        self.next_slot = slot + self.interval
        if slot >= self.deadline:
            return False
        await asyncio.sleep(slot - loop.time())
        return True


async def run_workload(workload: Workload, nodes, connect, concurrency: int, rate: float,
                       duration: float, record, clock, seed: int,
                       op_timeout: float = 1.0) -> dict:
    """Drive `workload` against the named `nodes` through `connect(home, timeout, max_hops)`
    clients; returns the outcome counts. `rate` is ops/s over all processes (0 or None:
    unlimited); `clock()` gives history ns."""
    if concurrency < 1 or duration <= 0 or not nodes:
        raise ValueError(f"run_workload: need concurrency >= 1 (got {concurrency}), duration > 0 "
                         f"(got {duration}) and at least one node (got {len(nodes)})")
    loop = asyncio.get_running_loop()
    run = _Run(workload, sorted(nodes), connect, record, clock, random.Random(seed),
               1.0 / rate if rate else 0.0, loop.time() + duration, op_timeout,
               next_slot=loop.time())
    async with asyncio.timeout(duration + 2 * op_timeout + 5):
        async with asyncio.TaskGroup() as tg:
            for slot in range(concurrency):
                tg.create_task(_worker(run, run.nodes[slot % len(run.nodes)]))
    return dict(run.counts)


async def _worker(run: _Run, home: str) -> None:
    client = run.connect(home, timeout=run.op_timeout)
    process = next(run.ids)
    names = run.nodes
    try:
        while await run.pace():
            op = run.workload.generate(run.rng)
            # Each op starts at a node drawn at random, as Jepsen's clients spread over
            # nodes: a client stuck to the leader would never see what a follower or an
            # isolated old leader answers (stale reads), and redirects would go untested.
            client.home = run.rng.choice(names)
            out = await _one_op(run, client, process, op)
            run.counts[out] += 1
            if out == "info":
                process = next(run.ids)
    finally:
        await client.close()


async def _one_op(run: _Run, client: Client, process, op: dict) -> str:
    run.record({"process": process, "type": "invoke", "f": op["f"], "key": op["key"],
                "value": op["value"], "time": run.clock()})
    try:
        out = await client.invoke(op)
    except asyncio.CancelledError:
        run.record({"process": process, "type": "info", "f": op["f"], "key": op["key"],
                    "value": op["value"], "time": run.clock(), "error": "cancelled"})
        raise
    except Exception as exc:   # a client bug must not end the run; the op may have happened
        out = Outcome("info", error=f"client error: {type(exc).__name__}: {exc}")
    if out.type not in ("ok", "fail", "info"):
        out = Outcome("info", error=f"client returned outcome type {out.type!r}")
    run.record(completion(process, op, out, run.clock))
    return out.type
