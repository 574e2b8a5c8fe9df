"""Heal on every way out: `nemesis_session` and `heal_from_ledger` (layer: nemesis).

`async with nemesis_session(nem):` installs SIGINT and SIGTERM handlers
that cancel the task running the block; on leaving the block for any reason
(normal end, error, cancellation, signal) it heals the cluster before the
exception propagates. A signal turns into `Interrupted(signum)` (exit code
128+signum) after the heal. A second signal during the heal is recorded but
does not stop it: a half-healed cluster is the one outcome to avoid.
SIGKILL cannot be caught; that is what the ledger and `heal_from_ledger`
(`harness heal`) are for.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Mapping

from remote import Remote

from ._errors import Interrupted
from ._ledger import Ledger
from ._nemesis import Nemesis


@contextlib.asynccontextmanager
async def nemesis_session(nem: Nemesis, signals=(signal.SIGINT, signal.SIGTERM)):
    """Yield `nem`; heal on exit. Must run in the main thread's event loop."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    received: list[int] = []

    def on_signal(signum: int) -> None:
        received.append(signum)
        if len(received) == 1:
            task.cancel()

    for sig in signals:
        loop.add_signal_handler(sig, on_signal, sig)
    try:
        yield nem
    except asyncio.CancelledError:
        if not received:
            raise
        task.uncancel()
    finally:
        try:
            await asyncio.shield(nem.heal())
        finally:
            for sig in signals:
                loop.remove_signal_handler(sig)
    if received:
        raise Interrupted(received[0])


async def heal_from_ledger(remotes: Mapping[str, Remote], run_dir, *, record, clock,
                           db=None) -> dict:
    """Replay every open entry of `<run_dir>/nemesis-ledger.jsonl` and verify.

    For a harness that died without healing. Returns the verification value
    ({"ok", "reachability", "leftover_rules", ...})."""
    nem = Nemesis(remotes, Ledger(run_dir), record=record, clock=clock, db=db)
    return await nem.heal()
