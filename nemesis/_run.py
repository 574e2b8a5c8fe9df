"""Drive a Nemesis through a Schedule (layer: nemesis).

`run_schedule` starts each step at its offset, ends it `duration` later, and
returns when every step has ended. `leader()` is an async callable the runner
provides (asks the cluster); `sleep`/`now` are injectable so tests need no
wall-clock waits. Healing everything is the caller's job (nemesis_session).
"""

from __future__ import annotations

import asyncio
import random
from typing import Awaitable, Callable

from ._errors import NemesisError
from ._grudge import build_grudge, grudge_from_json
from ._nemesis import Nemesis
from ._network import check_netem
from ._schedule import Schedule, Step
from ._targets import select_targets

Leader = Callable[[], Awaitable[str | None]]


async def validate(nem: Nemesis, schedule: Schedule) -> None:
    """Fail before the run when a step needs a mechanism some host lacks (netem)."""
    if schedule.needs_netem():
        await check_netem(nem, nem.nodes)


async def _nodes(nem: Nemesis, params: dict, leader: Leader) -> list[str]:
    if "nodes" in params:
        return params["nodes"]
    return select_targets(params.get("targets", "one"), nem.nodes, random.Random(0),
                          await leader())


async def _partition(nem, p, leader):
    if "grudge" in p:
        return await nem.partition(grudge_from_json(p["grudge"]), shape=p.get("shape"))
    node = await leader()
    if node is None:
        raise NemesisError("isolate-leader: no leader is known to isolate")
    grudge = build_grudge("isolate-leader", nem.nodes, random.Random(0), node=node,
                          direction=p.get("direction", "symmetric"))
    return await nem.partition(grudge, shape="isolate-leader", node=node)


async def _clock(nem, p, leader):
    if "offsets_ms" in p:
        return await nem.clock(p["offsets_ms"])
    return await nem.clock({n: p.get("delta_ms", 1000) for n in await _nodes(nem, p, leader)})


HANDLERS = {
    "partition": _partition,
    "kill": lambda nem, p, l: _signal(nem, "kill", p, l),
    "pause": lambda nem, p, l: _signal(nem, "pause", p, l),
    "restart": lambda nem, p, l: _restart(nem, p, l),
    "loss": lambda nem, p, l: _with_nodes(nem, p, l, lambda ns: nem.packet_loss(
        ns, p.get("probability", 0.3), p.get("peers"))),
    "bandwidth": lambda nem, p, l: _with_nodes(nem, p, l, lambda ns: nem.bandwidth(
        ns, p.get("rate", "1mbit"))),
    "netem": lambda nem, p, l: _with_nodes(nem, p, l, lambda ns: nem.netem(ns, **{
        k: v for k, v in p.items() if k in ("delay_ms", "jitter_ms", "duplicate", "reorder")})),
    "clock": _clock,
    "clock-strobe": lambda nem, p, l: _with_nodes(nem, p, l, lambda ns: nem.clock_strobe(
        ns, p.get("delta_ms", 1000), p.get("period_s", 0.2), p.get("strobe_s", 1.0))),
    "bitflip": lambda nem, p, l: nem.bitflip(p["node"], p["path"], p.get("seed", 0)),
    "truncate": lambda nem, p, l: nem.truncate(p["node"], p["path"], p.get("drop_bytes", 1)),
}


async def _with_nodes(nem, p, leader, fn):
    return await fn(await _nodes(nem, p, leader))


async def _signal(nem, op, p, leader):
    return await nem.signal(op, await _nodes(nem, p, leader))


async def _restart(nem, p, leader):
    return await nem.restart(await _nodes(nem, p, leader))


async def start_step(nem: Nemesis, step: Step, leader: Leader) -> str:
    """Apply one step now; returns its fault id."""
    return await HANDLERS[step.fault](nem, step.params, leader)


async def run_schedule(nem: Nemesis, schedule: Schedule, *, leader: Leader,
                       now: Callable[[], float] | None = None, sleep=asyncio.sleep) -> None:
    """Run every step at its offset (seconds since this call) and end it after
    its duration. Steps run one after another: a cycle's faults never overlap."""
    loop = asyncio.get_running_loop()
    now = now or loop.time
    t0 = now()
    for step in schedule.steps:
        await sleep(max(0.0, t0 + step.at - now()))
        fault = await start_step(nem, step, leader)
        if step.duration > 0:
            await sleep(step.duration)
        await nem.end(fault)


SCHEDULE_FILE = "nemesis-schedule.json"


def write_schedule(run_dir, schedule: Schedule) -> None:
    """Record the schedule in the run directory (before the run starts), fsynced,
    so `--seed` or the file itself replays it."""
    import os
    from pathlib import Path
    path = Path(run_dir) / SCHEDULE_FILE
    with open(path, "w") as f:
        f.write(schedule.dumps() + "\n")
        f.flush()
        os.fsync(f.fileno())


def read_schedule(run_dir) -> Schedule:
    import json
    from pathlib import Path
    return Schedule.from_json(json.loads((Path(run_dir) / SCHEDULE_FILE).read_text()))
