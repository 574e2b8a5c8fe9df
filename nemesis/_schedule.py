"""Nemesis schedules as data (layer: nemesis, pure).

A schedule is a seed plus a list of steps `{"at": s, "fault": name,
"params": {...}, "duration": s}`: the fault starts `at` seconds after the
workload starts and is ended (undone) `duration` seconds later (0: a
one-shot fault such as restart or bitflip). Random choices (partition
shapes, target nodes, clock offsets) are resolved here from the seed, so a
schedule written to the run directory replays exactly; only "leader"/
"followers" targets and isolate-leader are resolved when the step runs.

Case YAML, either a seeded cycle:

    nemesis: {faults: [partition-majority-minority, kill-leader, loss],
              interval: 10, duration: 5, seed: 7}

or an explicit timeline:

    nemesis: {timeline: [{at: 5, fault: partition, shape: isolate-one,
                          node: n1, duration: 10}, ...]}
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass, field
from typing import Sequence

from ._errors import BadSchedule
from ._grudge import SHAPES, build_grudge, grudge_to_json
from ._targets import select_targets

FAULTS = ("partition", "kill", "pause", "restart", "loss", "bandwidth", "netem", "clock",
          "clock-strobe", "bitflip", "truncate")
NETEM = ("netem",)
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


def _spec(entry, where: str) -> dict:
    if isinstance(entry, str):
        if entry not in SHORTHAND and entry not in FAULTS:
            raise BadSchedule(f"{where}: unknown fault {entry!r}; expected one of "
                              f"{', '.join(sorted(SHORTHAND) + list(FAULTS))}")
        return dict(SHORTHAND.get(entry, {"fault": entry}))
    if not isinstance(entry, dict) or entry.get("fault") not in FAULTS:
        raise BadSchedule(f"{where}: a fault must be a name or a mapping with 'fault' in "
                          f"{', '.join(FAULTS)}, got {entry!r}")
    return dict(entry)


def resolve(spec: dict, nodes: Sequence[str], rng: random.Random, where: str) -> dict:
    """Fix the random parts of one fault spec (shapes, targets, offsets)."""
    fault, params = spec["fault"], {k: v for k, v in spec.items()
                                    if k not in ("fault", "at", "duration")}
    try:
        if fault == "partition":
            shape = params.get("shape", "majority-minority")
            if shape != "isolate-leader":
                params["grudge"] = grudge_to_json(build_grudge(
                    shape, nodes, rng, node=params.get("node"),
                    direction=params.get("direction", "symmetric")))
        elif fault == "clock" and params.get("mode") == "skew":
            top = int(params.get("max_ms", 500))
            params["offsets_ms"] = {n: rng.randint(-top, top) for n in sorted(nodes)}
        elif params.get("targets", "one") not in ("leader", "followers"):
            params["nodes"] = select_targets(params.pop("targets", "one"), nodes, rng)
    except ValueError as exc:
        raise BadSchedule(f"{where}: {exc}") from None
    return params


def _number(value, where: str, minimum: float = 0.0) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value < minimum:
        raise BadSchedule(f"{where}: must be a number >= {minimum:g}, got {value!r}")
    return float(value)


def generate(seed: int, nodes: Sequence[str], faults: list, *, interval: float,
             duration: float, total: float) -> Schedule:
    """Cycle through `faults`, one every `interval` s, each lasting `duration` s,
    until `total` s. Same seed and inputs -> the same schedule."""
    _number(interval, "nemesis.interval", 0.001)
    _number(duration, "nemesis.duration")
    if duration > interval:
        raise BadSchedule(f"nemesis.duration ({duration}) must not exceed nemesis.interval "
                          f"({interval}): faults of a cycle do not overlap")
    if not faults:
        raise BadSchedule("nemesis.faults: must list at least one fault")
    specs = [_spec(f, f"nemesis.faults[{i}]") for i, f in enumerate(faults)]
    rng, steps, i = random.Random(seed), [], 0
    while i * interval < total and i < 10_000:
        spec = specs[i % len(specs)]
        steps.append(Step(float(round(i * interval, 6)), spec["fault"],
                          resolve(spec, nodes, rng, f"nemesis.faults[{i % len(specs)}]"),
                          float(spec.get("duration", duration))))
        i += 1
    return Schedule(seed, tuple(steps))


def from_case(section: dict, nodes: Sequence[str], *, seed: int, total: float) -> Schedule:
    """The schedule described by a case's `nemesis:` mapping (see module doc)."""
    if not isinstance(section, dict):
        raise BadSchedule(f"nemesis: must be a mapping, got {type(section).__name__}")
    seed = section.get("seed", seed)
    if "timeline" in section:
        rng, steps = random.Random(seed), []
        for i, item in enumerate(section["timeline"] or []):
            where = f"nemesis.timeline[{i}]"
            spec = _spec(item, where)
            steps.append(Step(_number(spec.get("at"), f"{where}.at"), spec["fault"],
                              resolve(spec, nodes, rng, where),
                              _number(spec.get("duration", 0), f"{where}.duration")))
        return Schedule(seed, tuple(sorted(steps, key=lambda s: s.at)))
    return generate(seed, nodes, section.get("faults", []),
                    interval=section.get("interval", 10), duration=section.get("duration", 5),
                    total=total)
