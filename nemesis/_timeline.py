"""Drive a Nemesis through a Schedule, as a run does (layer: nemesis).

`run_timeline` starts every step at its offset in its own task, so steps may
overlap (cascades), and ends each one `duration` later. A step is never
allowed to end the run:

- its targets cannot be chosen (no leader known, every target already down):
  recorded as a nemesis `invoke` + `info` carrying `skipped` (and `error`, so
  checkers do not count it as in effect), listed in `skipped`;
- applying or ending it raises anything else: recorded with its `error`
  (the Nemesis records its own failures; others are recorded here), listed
  in `failed`.

Healing everything is the caller's job (nemesis_session). `sleep` is
injectable so tests run on virtual time; `leader()` is an async callable the
runner provides (asks the cluster). `validate` fails before the run when a
step needs a mechanism some host lacks (netem).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Awaitable, Callable

from ._errors import NoTarget
from ._faults import Leader, apply_step
from ._network import check_netem
from ._schedule import Schedule, Step

Sleep = Callable[[float], Awaitable[None]]
Say = Callable[[str], None]


@dataclass
class TimelineOutcome:
    """Steps that did not run as scheduled: {"at", "fault", "reason"} / {"at", "fault", "error"}."""

    skipped: list[dict] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"skipped": self.skipped, "failed": self.failed}


async def validate(nem, schedule: Schedule) -> None:
    """Fail before the run when a step needs a mechanism some host lacks (netem)."""
    if schedule.needs_netem():
        await check_netem(nem, nem.nodes)


def _why(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


async def run_step(nem, step: Step, leader: Leader, outcome: TimelineOutcome,
                   sleep: Sleep = asyncio.sleep, say: Say | None = None) -> None:
    """Apply one step now, hold it for its duration, end it; record what went wrong."""
    try:
        fault = await apply_step(nem, step, leader)
    except NoTarget as exc:
        nem.event("invoke", step.fault, dict(step.params))
        nem.event("info", step.fault, {**step.params, "skipped": str(exc),
                                       "error": f"skipped: {exc}"})
        outcome.skipped.append({"at": step.at, "fault": step.fault, "reason": str(exc)})
        if say:
            say(f"fault {step.fault} at {step.at:g}s skipped: {exc}")
        return
    except Exception as exc:   # never CancelledError: an interrupt must stop the timeline
        if not getattr(exc, "nemesis_recorded", False):
            nem.event("invoke", step.fault, dict(step.params))
            nem.event("info", step.fault, {**step.params, "error": _why(exc)})
        outcome.failed.append({"at": step.at, "fault": step.fault, "error": _why(exc)})
        if say:
            say(f"fault {step.fault} at {step.at:g}s not applied: {exc}")
        return
    await sleep(step.duration)
    try:
        await nem.end(fault)
    except Exception as exc:
        outcome.failed.append({"at": step.at, "fault": step.fault, "fault_id": fault,
                               "error": f"ending it: {_why(exc)}"})
        if say:
            say(f"fault {step.fault} ({fault}) could not be ended: {exc}; the heal retries")


async def run_timeline(nem, schedule: Schedule, *, leader: Leader,
                       sleep: Sleep = asyncio.sleep, say: Say | None = None) -> TimelineOutcome:
    """Every step at its offset (seconds from this call) in its own task; returns when
    every step has ended, with the steps skipped and failed."""
    outcome = TimelineOutcome()

    async def one(step: Step) -> None:
        await sleep(step.at)
        await run_step(nem, step, leader, outcome, sleep, say)

    async with asyncio.TaskGroup() as tg:
        for step in schedule.steps:
            tg.create_task(one(step))
    return outcome
