"""A case's `nemesis:` section: its four forms, validated here and only here (layer: nemesis, pure).

Exactly one form per section:

- `{faults: [...], interval: s, duration: s, seed: n}`: a seeded cycle
  (names from SHORTHAND or FAULTS, or mappings `{fault: ..., duration: s, ...}`);
- `{timeline: [{at: s, fault: ..., duration: s, ...}, ...], seed: n}`: explicit steps;
- `{topologies: {hold: s, gap: s}}`: every partition topology for the node
  count (3 and 5 nodes: every majority/minority split; 7+: halves, each node
  isolated, bridge, majorities-ring, random splits), plus isolate-the-leader;
- `{cascade: {every: s, hold: s}}`: kill nodes one after another up to the
  tolerable minority, hold, then bring them back one after another (the
  kills overlap).

`check_section` checks the structure (keys, types, ranges) without nodes;
`build_schedule` checks it again and builds the schedule for given nodes,
bounding the number of steps before generating any. Every error is a
BadSchedule naming the field, one line.
"""

from __future__ import annotations

import itertools
import math
import random
from typing import Sequence

from . import _params as P
from ._errors import BadSchedule
from ._grudge import build_grudge, complete_grudge, grudge_to_json
from ._schedule import Schedule, Step, generate, timeline

FIRST_FAULT_S = 3.0     # a quiet phase before the first fault: a baseline for the checkers
FORMS = {"faults": ("interval", "duration", "seed"), "timeline": ("seed",),
         "topologies": ("seed",), "cascade": ("seed",)}
FORM_KEYS = {"topologies": ("hold", "gap"), "cascade": ("every", "hold")}
DEFAULTS = {"topologies": {"hold": 3.0, "gap": 1.5}, "cascade": {"every": 4.0, "hold": 4.0}}
MAX_LIST = 1_000


def check_section(section, where: str = "nemesis") -> tuple[str, dict]:
    """(form, its settings) of a valid section; BadSchedule naming the field otherwise."""
    P.mapping(section, where)
    allowed = {*FORMS, *(k for extra in FORMS.values() for k in extra)}
    P.keys(section, allowed, where)
    forms = [f for f in FORMS if f in section]
    if len(forms) > 1:
        raise BadSchedule(f"{where}: conflicting forms {' and '.join(map(repr, forms))}; "
                          "a nemesis uses exactly one of faults, timeline, topologies, cascade")
    if not forms:
        raise BadSchedule(f"{where}: needs one of faults, timeline, topologies, cascade")
    form = forms[0]
    for key in section:
        if key != form and key not in FORMS[form]:
            raise BadSchedule(f"{where}.{key}: not used with {form!r} (it takes "
                              f"{', '.join(FORMS[form])})")
    if "seed" in section:
        P.number(section["seed"], f"{where}.seed", minimum=0, integer=True)
    if form in FORM_KEYS:
        return form, _form_settings(section[form], f"{where}.{form}", form)
    if not isinstance(section[form], list) or not section[form]:
        raise BadSchedule(f"{where}.{form}: must be a non-empty list, got "
                          f"{P.shown(section[form])}")
    limit = P.MAX_STEPS if form == "timeline" else MAX_LIST
    if len(section[form]) > limit:
        raise BadSchedule(f"{where}.{form}: {len(section[form])} entries; at most {limit}")
    return form, {}


def _form_settings(value, where: str, form: str) -> dict:
    value = {} if value is None else P.mapping(value, where)
    P.keys(value, FORM_KEYS[form], where)
    return {**DEFAULTS[form],
            **{k: P.seconds(v, f"{where}.{k}", positive=True) for k, v in value.items()}}


def from_case(section, nodes: Sequence[str], *, seed: int, total: float) -> Schedule:
    """The schedule of a `faults:` or `timeline:` section, offsets from the workload start
    (no quiet phase; `build_schedule` adds it)."""
    form, _ = check_section(section)
    seed = section.get("seed", seed)
    if form == "timeline":
        return timeline(seed, nodes, section["timeline"])
    if form != "faults":
        raise BadSchedule(f"nemesis.{form}: use build_schedule for this form")
    return generate(seed, nodes, section["faults"], interval=section.get("interval", 10),
                    duration=section.get("duration", 5), total=total)


def build_schedule(section, nodes: Sequence[str], seed: int, total: float) -> Schedule:
    """The section as an explicit schedule (seconds from the workload start) for `nodes`
    and a workload of `total` seconds. Cycles start after FIRST_FAULT_S."""
    form, settings = check_section(section)
    nodes = list(nodes)
    seed = section.get("seed", seed)
    if form == "topologies":
        return topology_schedule(nodes, seed, **settings)
    if form == "cascade":
        return cascade_schedule(nodes, seed, **settings, total=total)
    if form == "timeline":
        return timeline(seed, nodes, section["timeline"]).shifted(FIRST_FAULT_S)
    return from_case(section, nodes, seed=seed,
                     total=max(0.0, total - FIRST_FAULT_S)).shifted(FIRST_FAULT_S)


def partition_topologies(nodes: list[str], rng: random.Random) -> list[dict]:
    """Every majority/minority split for up to 5 nodes; for more, halves, each node
    isolated, bridge, majorities-ring and random splits. Isolate-the-leader twice."""
    n, out = len(nodes), []
    if n <= 5:
        for size in range(1, (n - 1) // 2 + 1):
            for minority in itertools.combinations(nodes, size):
                rest = [x for x in nodes if x not in minority]
                out.append({"shape": "majority-minority", "minority": list(minority),
                            "grudge": grudge_to_json(complete_grudge([minority, rest]))})
    else:
        out += [{"shape": "halves", "grudge": grudge_to_json(build_grudge("halves", nodes, rng))}
                for _ in range(2)]
        out += [{"shape": "isolate-one", "node": x,
                 "grudge": grudge_to_json(build_grudge("isolate-one", nodes, rng, node=x))}
                for x in nodes]
        for shape in ("bridge", "majorities-ring", "random", "random"):
            out.append({"shape": shape, "grudge": grudge_to_json(build_grudge(shape, nodes, rng))})
    return out + [{"shape": "isolate-leader"}, {"shape": "isolate-leader"}]


def topology_schedule(nodes, seed, hold: float = 3.0, gap: float = 1.5) -> Schedule:
    """Each topology of `partition_topologies` for `hold` s, `gap` s apart, in turn."""
    if len(nodes) < 2:
        raise BadSchedule(f"nemesis.topologies: partitions need at least 2 nodes, "
                          f"got {len(nodes)}")
    shapes = partition_topologies(list(nodes), random.Random(seed))
    return Schedule(seed, tuple(Step(FIRST_FAULT_S + i * (hold + gap), "partition", p, hold)
                                for i, p in enumerate(shapes)))


def cascade_schedule(nodes, seed, every: float = 4.0, hold: float = 4.0,
                     total: float = 0.0) -> Schedule:
    """Kill (n-1)//2 nodes (seeded order) one every `every` s; after `hold` s bring them
    back one every `every` s, in the same order (the kills overlap). Cycles repeat, with
    fresh victims, while another whole cycle fits in `total` s (at least one cycle).
    BadSchedule, before building anything, beyond MAX_STEPS steps."""
    count = max(1, (len(nodes) - 1) // 2)
    span = (count - 1) * every + hold
    cycle = (count - 1) * every + span + every
    cycles = max(1, math.floor(max(0.0, total - FIRST_FAULT_S) / cycle))
    if cycles * count > P.MAX_STEPS:
        raise BadSchedule(f"nemesis.cascade.every: {every:g} s over {total:g} s makes "
                          f"{cycles * count:.0f} steps; at most {P.MAX_STEPS}")
    rng, steps, start = random.Random(seed), [], FIRST_FAULT_S
    while not steps or start + cycle <= total:
        victims = rng.sample(sorted(nodes), count)
        steps += [Step(start + i * every, "kill", {"nodes": [v]}, span)
                  for i, v in enumerate(victims)]
        start += cycle
    return Schedule(seed, tuple(steps))
