"""Nemesis schedules as data (layer: nemesis, pure).

A schedule is a seed plus a list of steps `{"at": s, "fault": name,
"params": {...}, "duration": s}`: the fault starts `at` seconds after the
workload starts and is ended (undone) `duration` seconds later (0: a
one-shot fault such as restart or bitflip). Random choices (partition
shapes, target nodes, clock offsets) are resolved here from the seed, so a
schedule written to the run directory replays exactly; only "leader"/
"followers" targets and isolate-leader are resolved when the step runs.

The case forms that produce schedules, and their validation, are in
`_forms` (`check_section`, `build_schedule`); each fault's own parameters
are checked by its entry in the registry (`_faults.FAULTS`).
"""

from __future__ import annotations

import json
import math
import os
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

from . import _params as P
from ._errors import BadSchedule
from ._faults import FAULTS, check_params, resolve
from ._grudge import SHAPES

NETEM = ("netem",)
STEP_KEYS = ("at", "fault", "duration")
# Shorthand names usable in `faults:` lists.
SHORTHAND = {f"partition-{s}": {"fault": "partition", "shape": s} for s in SHAPES}
SHORTHAND.update({f"{op}-{t}": {"fault": op, "targets": t}
                  for op in ("kill", "pause", "restart")
                  for t in ("one", "minority", "majority", "all", "leader", "followers")})
SHORTHAND.update({"loss": {"fault": "loss", "probability": 0.3, "targets": "one"},
                  "bandwidth": {"fault": "bandwidth", "rate": "1mbit", "targets": "one"},
                  "clock-skew": {"fault": "clock", "mode": "skew", "max_ms": 500},
                  "clock-bump": {"fault": "clock", "mode": "bump", "delta_ms": 2000,
                                 "targets": "one"},
                  "clock-strobe": {"fault": "clock-strobe", "delta_ms": 1000, "period_s": 0.2,
                                   "targets": "one"},
                  "netem-delay": {"fault": "netem", "delay_ms": 50, "jitter_ms": 10,
                                  "targets": "all"}})


@dataclass(frozen=True)
class Step:
    at: float
    fault: str
    params: dict = field(default_factory=dict)
    duration: float = 0.0


@dataclass(frozen=True)
class Schedule:
    seed: int | None
    steps: tuple[Step, ...]

    def to_json(self) -> dict:
        return {"seed": self.seed, "steps": [asdict(s) for s in self.steps]}

    @classmethod
    def from_json(cls, data: dict) -> "Schedule":
        return cls(data.get("seed"), tuple(Step(**s) for s in data.get("steps", [])))

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=1, sort_keys=True)

    def needs_netem(self) -> bool:
        return any(s.fault in NETEM for s in self.steps)

    def shifted(self, by: float) -> "Schedule":
        return Schedule(self.seed, tuple(Step(s.at + by, s.fault, s.params, s.duration)
                                         for s in self.steps))


def end_time(schedule: Schedule) -> float:
    """When the schedule's last fault ends (s from the workload start)."""
    return max((s.at + s.duration for s in schedule.steps), default=0.0)


def fault_spec(entry, where: str, step_keys: Sequence[str] = ("duration",)) -> dict:
    """A `faults:` list entry or a timeline step as {"fault", params..., step keys...},
    every key and value checked by the fault's registry entry."""
    if isinstance(entry, str):
        if entry not in SHORTHAND and entry not in FAULTS:
            names = sorted(SHORTHAND) + list(FAULTS)
            raise BadSchedule(f"{where}: unknown fault {P.shown(entry)}"
                              f"{P.suggest(entry, names)}; expected one of {', '.join(names)}")
        spec = dict(SHORTHAND.get(entry, {"fault": entry}))
    elif not isinstance(entry, dict):
        raise BadSchedule(f"{where}: a fault must be a name or a mapping with 'fault', "
                          f"got {type(entry).__name__} {P.shown(entry)}")
    else:
        spec = dict(entry)
        if "fault" not in spec:
            raise BadSchedule(f"{where}: a fault mapping needs 'fault' (one of "
                              f"{', '.join(FAULTS)})")
        fault = spec["fault"]
        if not isinstance(fault, str) or fault not in FAULTS:
            raise BadSchedule(f"{where}.fault: a fault must be one of {', '.join(FAULTS)}, "
                              f"got {P.shown(fault)}{P.suggest(fault, FAULTS)}")
    entry_ = FAULTS[spec["fault"]]
    params = {k: v for k, v in spec.items() if k not in ("fault", *step_keys)}
    step = {k: v for k, v in spec.items() if k in step_keys}
    P.keys(params, [*entry_.params, *step_keys], where)   # suggests step keys too
    check_params(entry_, params, where)
    if "duration" in step:
        P.seconds(step["duration"], f"{where}.duration")
    return spec


def _params_of(spec: dict) -> dict:
    return {k: v for k, v in spec.items() if k not in STEP_KEYS}


def generate(seed: int, nodes: Sequence[str], faults: list, *, interval: float,
             duration: float, total: float) -> Schedule:
    """Cycle through `faults`, one every `interval` s, each lasting `duration` s,
    until `total` s. Same seed and inputs -> the same schedule. BadSchedule
    (before building anything) when it would exceed MAX_STEPS steps."""
    P.seconds(interval, "nemesis.interval", positive=True)
    P.number(interval, "nemesis.interval", minimum=0.001)
    P.seconds(duration, "nemesis.duration")
    if duration > interval:
        raise BadSchedule(f"nemesis.duration ({duration}) must not exceed nemesis.interval "
                          f"({interval}): faults of a cycle do not overlap")
    if not isinstance(faults, list) or not faults:
        raise BadSchedule("nemesis.faults: must list at least one fault")
    count = math.ceil(max(0.0, total) / interval)
    if count > P.MAX_STEPS:
        raise BadSchedule(f"nemesis.interval: {interval:g} s over {total:g} s makes {count} "
                          f"steps; at most {P.MAX_STEPS}")
    specs = [fault_spec(f, f"nemesis.faults[{i}]") for i, f in enumerate(faults)]
    rng, steps = random.Random(seed), []
    for i in range(count):
        spec, where = specs[i % len(specs)], f"nemesis.faults[{i % len(specs)}]"
        steps.append(Step(float(round(i * interval, 6)), spec["fault"],
                          resolve(spec["fault"], _params_of(spec), nodes, rng, where),
                          float(spec.get("duration", duration))))
    return Schedule(seed, tuple(steps))


def timeline(seed, nodes: Sequence[str], items) -> Schedule:
    """Explicit steps (each with `at`, `fault`, optional `duration`), sorted by `at`."""
    if not isinstance(items, list) or not items:
        raise BadSchedule("nemesis.timeline: must be a non-empty list of steps")
    if len(items) > P.MAX_STEPS:
        raise BadSchedule(f"nemesis.timeline: {len(items)} steps; at most {P.MAX_STEPS}")
    rng, steps = random.Random(seed), []
    for i, item in enumerate(items):
        where = f"nemesis.timeline[{i}]"
        if isinstance(item, dict) and "at" not in item:
            raise BadSchedule(f"{where}.at: is required (seconds after the workload starts)")
        if not isinstance(item, dict):
            raise BadSchedule(f"{where}: a timeline step must be a mapping with 'at' and "
                              f"'fault', got {type(item).__name__} {P.shown(item)}")
        spec = fault_spec(item, where, STEP_KEYS)
        at = P.seconds(spec["at"], f"{where}.at")
        steps.append(Step(at, spec["fault"],
                          resolve(spec["fault"], _params_of(spec), nodes, rng, where),
                          P.seconds(spec.get("duration", 0), f"{where}.duration")))
    return Schedule(seed, tuple(sorted(steps, key=lambda s: s.at)))


SCHEDULE_FILE = "nemesis-schedule.json"


def write_schedule(run_dir, schedule: Schedule) -> None:
    """Record the schedule in the run directory (before the run starts), fsynced,
    so `--seed` or the file itself replays it."""
    path = Path(run_dir) / SCHEDULE_FILE
    with open(path, "w") as f:
        f.write(schedule.dumps() + "\n")
        f.flush()
        os.fsync(f.fileno())


def read_schedule(run_dir) -> Schedule:
    return Schedule.from_json(json.loads((Path(run_dir) / SCHEDULE_FILE).read_text()))
