"""Process and clock faults through the DB adapter (layer: nemesis).

The adapter implements the leaf's `remote.ProcessControl` (kill/start/
pause/resume, each taking the node's Remote) and `remote.ClockControl`.
Undo of kill is start, of pause is resume,
of a clock offset is offset 0; all are journaled like network faults.
"""

from __future__ import annotations

import asyncio
from typing import Iterable, Mapping

from ._core import NemesisCore
from ._errors import NemesisError

UNDO = {"kill": {"db": "start"}, "pause": {"db": "resume"}}


def _need_db(core: NemesisCore, what: str) -> None:
    if core.db is None:
        raise NemesisError(f"{what} needs a DB adapter (kill/start/pause/resume/"
                           "set_clock_offset); the nemesis was built without one")


async def signal_nodes(core: NemesisCore, fault: str, op: str, nodes: Iterable[str]) -> None:
    """op is kill, pause, start or resume; kill and pause are undone at end/heal."""
    _need_db(core, op)
    undo = [UNDO[op]] if op in UNDO else []
    if op in UNDO:
        core.stopped[fault] = set(nodes)
    await asyncio.gather(*(core.journaled(fault, n, [{"db": op}], undo) for n in sorted(nodes)))


async def restart(core: NemesisCore, fault: str, nodes: Iterable[str]) -> None:
    """kill -9 then start again at once."""
    _need_db(core, "restart")
    await asyncio.gather(*(core.journaled(fault, n, [{"db": "kill"}, {"db": "start"}], [])
                           for n in sorted(nodes)))


async def clock_offsets(core: NemesisCore, fault: str, offsets: Mapping[str, int]) -> None:
    """Set each node's clock offset (ms); undone by offset 0."""
    _need_db(core, "clock")
    await asyncio.gather(*(core.journaled(fault, n, [{"db": "clock", "ms": int(ms)}],
                                          [{"db": "clock", "ms": 0}])
                           for n, ms in sorted(offsets.items())))


async def clock_strobe(core: NemesisCore, fault: str, nodes: Iterable[str], delta_ms: int,
                       period_s: float, duration_s: float, sleep=asyncio.sleep) -> int:
    """Flip the nodes' clock offset between +delta and 0 every period for
    `duration_s`; returns the number of flips. Ends at offset 0."""
    nodes = sorted(nodes)
    flips = max(1, int(duration_s / period_s))
    for i in range(flips):
        await clock_offsets(core, fault, {n: delta_ms if i % 2 == 0 else 0 for n in nodes})
        await sleep(period_s)
    await clock_offsets(core, fault, {n: 0 for n in nodes})
    return flips
