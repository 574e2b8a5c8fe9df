"""Test cases: YAML files under harness/cases/, validated before anything starts (layer: harness).

A case names its workloads, nemesis, checkers and SLA thresholds (the seed
catalogue's figures are the pass bar). Every rule broken gives a BadInput
(exit 254) naming the file and the field. See harness/cases/*.yaml.

Nemesis forms (all recorded as an explicit schedule in the run directory):
- `{faults: [...], interval: s, duration: s}`: a seeded cycle (nemesis.from_case);
- `{timeline: [...]}`: explicit steps (nemesis.from_case);
- `{topologies: {hold: s, gap: s}}`: every partition topology for the node count
  (3 and 5 nodes: every majority/minority split; 7+: halves, each node isolated,
  bridge, majorities-ring, random splits), plus isolate-the-leader;
- `{cascade: {every: s, hold: s}}`: kill nodes one after another up to the tolerable
  minority, hold, then bring them back one after another (faults overlap).
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from harness.errors import BadInput
from nemesis import (BadSchedule, Schedule, Step, build_grudge, complete_grudge, from_case,
                     grudge_to_json)
from checker import CHECKERS, SLA_METRICS

CASES_DIR = Path(__file__).parent / "cases"
FIELDS = {"id", "title", "proves", "nodes", "node_counts", "time_limit", "recovery",
          "workloads", "nemesis", "checkers", "sla", "required_slas", "db"}
WORKLOAD_FIELDS = {"name", "keys", "concurrency", "rate"}
DB_FIELDS = {"election_timeout_ms", "heartbeat_ms"}
FIRST_FAULT_S = 3.0


@dataclass
class Case:
    id: str
    title: str
    source: str
    nodes: int
    time_limit: float
    recovery: float
    workloads: list[dict]
    nemesis: dict
    checkers: list[str]
    sla: dict
    required_slas: list[str]
    db: dict
    proves: str = ""
    node_counts: list[int] = field(default_factory=list)
    raw: dict = field(default_factory=dict)


def catalogue() -> list[Path]:
    return sorted(CASES_DIR.glob("*.yaml"))


def find_case(name: str) -> Path:
    """A catalogue id (any case) or a path to a case YAML."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise BadInput(f"case file {name}: not found")
        return path
    for p in catalogue():
        if p.stem == name.lower():
            return p
    known = ", ".join(p.stem for p in catalogue())
    raise BadInput(f"case {name!r}: not in the catalogue ({known}) and not a file")


def load_case(name: str) -> Case:
    path = find_case(name)
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise BadInput(f"case file {path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise BadInput(f"case file {path}{where}: not valid YAML: "
                       f"{getattr(exc, 'problem', exc)}") from None
    return parse_case(raw, str(path))


def _fail(src: str, fld: str, msg: str):
    raise BadInput(f"case {src}: field '{fld}': {msg}")


def _num(src, raw, fld, default=None, minimum=0.0, integer=False):
    value = raw.get(fld, default)
    ok = isinstance(value, int) if integer else isinstance(value, (int, float))
    if not ok or isinstance(value, bool) or value < minimum:
        kind = "an integer" if integer else "a number"
        _fail(src, fld, f"must be {kind} >= {minimum:g}, got {value!r}")
    return value


def parse_case(raw, src: str) -> Case:
    if not isinstance(raw, dict):
        raise BadInput(f"case {src}: must be a mapping of fields, got {type(raw).__name__}")
    unknown = sorted(set(raw) - FIELDS)
    if unknown:
        _fail(src, unknown[0], f"unknown field; expected one of {', '.join(sorted(FIELDS))}")
    for required in ("id", "workloads", "nemesis", "checkers"):
        if required not in raw:
            _fail(src, required, "is required")
    if not isinstance(raw["id"], str) or not raw["id"]:
        _fail(src, "id", f"must be a non-empty string, got {raw['id']!r}")
    return Case(
        id=raw["id"], title=str(raw.get("title", raw["id"])), source=src,
        proves=str(raw.get("proves", "")),
        nodes=_nodes(src, raw.get("nodes", 5), "nodes"),
        node_counts=[_nodes(src, n, f"node_counts[{i}]")
                     for i, n in enumerate(raw.get("node_counts", [3, 5, 7]))],
        time_limit=_num(src, raw, "time_limit", 60, 1),
        recovery=_num(src, raw, "recovery", 20, 1),
        workloads=_workloads(src, raw["workloads"]),
        nemesis=_nemesis(src, raw["nemesis"]),
        checkers=_checkers(src, raw["checkers"]),
        sla=_sla(src, raw.get("sla", {})),
        required_slas=_required(src, raw.get("required_slas", [])),
        db=_db(src, raw.get("db", {})), raw=raw)


def _nodes(src, n, fld) -> int:
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 9 or n % 2 == 0:
        _fail(src, fld, f"must be an odd number from 1 to 9, got {n!r}")
    return n


def _workloads(src, items) -> list[dict]:
    from workloads import WORKLOADS
    if not isinstance(items, list) or not items:
        _fail(src, "workloads", "must be a non-empty list")
    out = []
    for i, w in enumerate(items):
        where = f"workloads[{i}]"
        if not isinstance(w, dict):
            _fail(src, where, f"must be a mapping, got {w!r}")
        if w.get("name") not in WORKLOADS:
            _fail(src, f"{where}.name", f"unknown workload {w.get('name')!r}; expected one of "
                  f"{', '.join(sorted(WORKLOADS))}")
        bad = sorted(set(w) - WORKLOAD_FIELDS)
        if bad:
            _fail(src, f"{where}.{bad[0]}", f"unknown; expected {', '.join(sorted(WORKLOAD_FIELDS))}")
        for k, lo in (("keys", 1), ("concurrency", 1), ("rate", 0)):
            if k in w:
                _num(src, w, k, minimum=lo, integer=(k != "rate"))
        out.append(dict(w))
    return out


def _nemesis(src, section) -> dict:
    if not isinstance(section, dict):
        _fail(src, "nemesis", f"must be a mapping, got {section!r}")
    for form in ("topologies", "cascade"):
        if form in section:
            sub = section[form] or {}
            if not isinstance(sub, dict):
                _fail(src, f"nemesis.{form}", "must be a mapping")
            for k, v in sub.items():
                if not isinstance(v, (int, float)) or isinstance(v, bool) or v <= 0:
                    _fail(src, f"nemesis.{form}.{k}", f"must be a number > 0, got {v!r}")
    try:  # validate the other forms with the nemesis's own parser, on a stand-in cluster
        if not ({"topologies", "cascade"} & set(section)):
            from_case(section, ["n1", "n2", "n3"], seed=0, total=60)
    except BadSchedule as exc:
        raise BadInput(f"case {src}: {exc}") from None
    return dict(section)


def _checkers(src, items) -> list[str]:
    if not isinstance(items, list) or not items:
        _fail(src, "checkers", "must be a non-empty list")
    for i, c in enumerate(items):
        if not isinstance(c, str) or c not in CHECKERS:
            _fail(src, f"checkers[{i}]", f"unknown checker {c!r}; expected one of "
                  f"{', '.join(CHECKERS)}")
    return list(items)


def _sla(src, sla) -> dict:
    if not isinstance(sla, dict):
        _fail(src, "sla", "must be a mapping of metric: seconds")
    for k, v in sla.items():
        if k not in SLA_METRICS:
            _fail(src, f"sla.{k}", f"unknown metric; expected one of {', '.join(SLA_METRICS)}")
        if not isinstance(v, (int, float)) or isinstance(v, bool) or v <= 0:
            _fail(src, f"sla.{k}", f"must be a number of seconds > 0, got {v!r}")
    # Only the metrics a case names are its pass bar (the seed ties each SLA to one case);
    # the others are still measured and reported, but not judged.
    return dict(sla)


def _required(src, items) -> list[str]:
    if not isinstance(items, list):
        _fail(src, "required_slas", "must be a list of metric names")
    for i, k in enumerate(items):
        if not isinstance(k, str) or k not in SLA_METRICS:
            _fail(src, f"required_slas[{i}]", f"unknown metric {k!r}")
    return list(items)


def _db(src, db) -> dict:
    if not isinstance(db, dict):
        _fail(src, "db", "must be a mapping")
    for k in db:
        if k not in DB_FIELDS:
            _fail(src, f"db.{k}", f"unknown; expected {', '.join(sorted(DB_FIELDS))}")
        _num(src, db, k, minimum=1, integer=True)
    return dict(db)


# ---- schedules -----------------------------------------------------------------------------

def build_schedule(case: Case, nodes: list[str], seed: int, total: float) -> Schedule:
    """The case's nemesis as an explicit schedule (seconds from the workload start)."""
    section = case.nemesis
    if "topologies" in section:
        return topology_schedule(nodes, seed, **(section["topologies"] or {}))
    if "cascade" in section:
        return cascade_schedule(nodes, seed, **(section["cascade"] or {}), total=total)
    shifted = dict(section)
    schedule = from_case(shifted, nodes, seed=seed, total=max(0.0, total - FIRST_FAULT_S))
    return Schedule(schedule.seed, tuple(Step(s.at + FIRST_FAULT_S, s.fault, s.params, s.duration)
                                         for s in schedule.steps))


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
    shapes = partition_topologies(list(nodes), random.Random(seed))
    return Schedule(seed, tuple(Step(FIRST_FAULT_S + i * (hold + gap), "partition", p, hold)
                                for i, p in enumerate(shapes)))


def cascade_schedule(nodes, seed, every: float = 4.0, hold: float = 4.0,
                     total: float = 0.0) -> Schedule:
    """Kill (n-1)//2 nodes (seeded order) one every `every` s; after `hold` s bring them
    back one every `every` s, in the same order (the kills overlap). Cycles repeat, with
    fresh victims, while another whole cycle fits in `total` s (at least one cycle)."""
    rng, steps, start = random.Random(seed), [], FIRST_FAULT_S
    count = max(1, (len(nodes) - 1) // 2)
    span = (count - 1) * every + hold
    cycle = (count - 1) * every + span + every
    while not steps or start + cycle <= total:
        victims = rng.sample(sorted(nodes), count)
        steps += [Step(start + i * every, "kill", {"nodes": [v]}, span)
                  for i, v in enumerate(victims)]
        start += cycle
    return Schedule(seed, tuple(steps))


def schedule_end(schedule: Schedule) -> float:
    return max((s.at + s.duration for s in schedule.steps), default=0.0)
