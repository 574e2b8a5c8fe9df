"""The workload driver: C concurrent client processes, a total rate limit, a time limit
(layer: workloads).

`run_workload` records each op's invoke before sending it and its completion
after (ok / fail / info, see workloads._client). After an `info` the process
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
from workloads._client import Client


@dataclass
class _Run:
    workload: Workload
    nodes: dict
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


async def run_workload(workload: Workload, nodes: dict, concurrency: int, rate: float,
                       duration: float, record, clock, seed: int,
                       op_timeout: float = 1.0) -> dict:
    """Drive `workload` against `nodes` (name -> (host, port)); returns the outcome counts.
    `rate` is ops/s over all processes (0 or None: unlimited); `clock()` gives history ns."""
    if concurrency < 1 or duration <= 0 or not nodes:
        raise ValueError(f"run_workload: need concurrency >= 1 (got {concurrency}), duration > 0 "
                         f"(got {duration}) and at least one node (got {len(nodes)})")
    loop = asyncio.get_running_loop()
    run = _Run(workload, dict(nodes), record, clock, random.Random(seed),
               1.0 / rate if rate else 0.0, loop.time() + duration, op_timeout,
               next_slot=loop.time())
    async with asyncio.timeout(duration + 2 * op_timeout + 5):
        async with asyncio.TaskGroup() as tg:
            for slot in range(concurrency):
                tg.create_task(_worker(run, sorted(run.nodes)[slot % len(run.nodes)]))
    return dict(run.counts)


async def _worker(run: _Run, home: str) -> None:
    client = Client(run.nodes, home=home, timeout=run.op_timeout)
    process = next(run.ids)
    names = sorted(run.nodes)
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
        out = await client.call(run.workload.request(op))
    except asyncio.CancelledError:
        run.record({"process": process, "type": "info", "f": op["f"], "key": op["key"],
                    "value": op["value"], "time": run.clock(), "error": "cancelled"})
        raise
    value = run.workload.ok_value(op, out.reply) if out.type == "ok" else None
    run.record(completion(process, op, out, value, run.clock))
    return out.type
