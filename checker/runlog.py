"""A run's side logs: state samples, node events and the nemesis fault timeline (layer: checker).

Shared input model of the run checkers (rpo, splitbrain, sla, perf). Pure:
reads files when asked to, never writes, no clocks, no asyncio.

Inputs, as the runner writes them (all times: int nanoseconds on the control
node's monotonic clock since the run started):

- history.jsonl: client ops (see checker._history) and nemesis events
  `{"process": "nemesis", "type": "invoke", "f": F, "value": {...}, "time": requested}`
  then `{"process": "nemesis", "type": "info", "f": F, "value": {...}, "time": in effect}`.
  An info carrying `error` (top level or in value) did not take effect.
- states.jsonl: `{"time", "node", "ok": true, "role", "term", "leader", "commit",
  "applied", "last_index", "digest"?}` or `{"time", "node", "ok": false, "error"}`.
- nodes/<node>/events.jsonl: `{"ts": wall seconds, "node", "kind", "term", ...}`;
  mapped onto the run clock as time = (ts - wall_start) * 1e9.

Fault kinds: `kill` ends at `start`, `pause` at `resume`, `clock` at `clock_reset`
(or a `clock` whose value has offset 0). A `heal` info whose value names a fault id
ends that fault (the nemesis ends each fault that way); a heal of "all" (or with no
id) ends every fault. A fault with no end lasts to the end.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from pathlib import Path

NEMESIS = "nemesis"
ENDERS = {"start": ("kill",), "resume": ("pause",), "clock_reset": ("clock",)}


class BadRunLog(ValueError):
    """A side log cannot be read; the message names file:line and the problem."""


def read_jsonl(path) -> list[dict]:
    """Every JSON object line of `path`, read exactly as a history file is (checker._history:
    lines split on b"\n" only, NaN/Infinity, over-long integers and deep nesting refused,
    only a truncated last line skipped). BadRunLog names file:line."""
    from checker._history import BadHistory, read_events
    try:
        events, _warnings = read_events(path)
    except BadHistory as exc:
        raise BadRunLog(str(exc)) from None
    for n, obj in events:
        if not isinstance(obj, dict):
            raise BadRunLog(f"{path}:{n}: expected a JSON object, got {type(obj).__name__}")
    return [obj for _, obj in events]


def map_node_events(events, wall_start: float) -> list[dict]:
    """Node events with a run-clock `time` (ns) added from their wall-clock `ts`, sorted."""
    out = []
    for e in events:
        if isinstance(e.get("ts"), (int, float)):
            out.append({**e, "time": int(round((e["ts"] - wall_start) * 1e9))})
    return sorted(out, key=lambda e: e["time"])


def read_node_events(run_dir, wall_start: float) -> list[dict]:
    """All nodes/<node>/events.jsonl of a run directory, on the run clock."""
    events = []
    for path in sorted(Path(run_dir, "nodes").glob("*/events.jsonl")):
        events.extend({"node": path.parent.name, **e} for e in read_jsonl(path))
    return map_node_events(events, wall_start)


@dataclass
class Fault:
    """One fault in effect from `start` to `end` (ns; end None = until the run ended)."""

    kind: str
    nodes: list
    value: dict
    start: int
    end: int | None = None
    requested: int | None = None
    end_requested: int | None = None   # when its heal was asked for (the cut may lift from then on)

    def active_at(self, t: int) -> bool:
        return self.start <= t and (self.end is None or t < self.end)

    def describe(self) -> dict:
        return {"kind": self.kind, "nodes": self.nodes, "value": self.value,
                "start": self.start, "end": self.end}


def fault_nodes(value) -> list:
    """The nodes a nemesis value names: `nodes`, `node`, or the grudge's nodes."""
    if not isinstance(value, dict):
        return []
    if isinstance(value.get("nodes"), list):
        return sorted(value["nodes"], key=str)
    if isinstance(value.get("node"), str):
        return [value["node"]]
    grudge = value.get("grudge")
    if isinstance(grudge, dict):
        named = set(grudge)
        for dropped in grudge.values():
            named.update(dropped or ())
        return sorted(named, key=str)
    return []


# Nemesis-process events that are observations, not faults (harness/revival.py).
OBSERVATIONS = ("revive",)


def _took_effect(event) -> bool:
    value = event.get("value")
    if event.get("f") in OBSERVATIONS:
        return False
    return "error" not in event and not (isinstance(value, dict) and "error" in value)


def _is_clock_reset(event) -> bool:
    value = event.get("value")
    return event["f"] == "clock" and isinstance(value, dict) and value.get("offset") in (0, 0.0)


def fault_timeline(history_events) -> list[Fault]:
    """Faults from the nemesis `info` events, in start order, each with its end time."""
    faults: list[Fault] = []
    requested: dict = {}
    for e in history_events:
        if e.get("process") != NEMESIS:
            continue
        if e.get("type") == "invoke":
            requested[e.get("f")] = e.get("time")
            if e.get("f") in ("end", "heal"):
                requested[("end", _fault_id(e))] = e.get("time")
        elif e.get("type") == "info" and _took_effect(e):
            key = ("end", _fault_id(e)) if e.get("f") == "heal" else e.get("f")
            _apply_nemesis(faults, e, requested.pop(key, None))
    return faults


def _fault_id(event) -> str:
    value = event.get("value")
    fid = value.get("fault") if isinstance(value, dict) else None
    return "all" if fid in (None, "all") else fid


def _apply_nemesis(faults, e, requested):
    f, t, nodes = e["f"], e["time"], fault_nodes(e.get("value"))
    if f == "heal":
        # The nemesis ends one fault with a heal naming its id, or all ("all" / no id);
        # `requested` is when that heal was asked for.
        fid = _fault_id(e)
        ended = [x for x in faults if x.end is None and (fid == "all"
                                                         or x.value.get("fault") == fid)]
        for x in ended:
            x.end, x.end_requested = t, requested
    elif f in ENDERS or _is_clock_reset(e):
        kinds = ENDERS.get(f, ("clock",))
        _end(faults, t, lambda x: x.kind in kinds and (not nodes or set(x.nodes) & set(nodes)))
    else:
        value = e.get("value") if isinstance(e.get("value"), dict) else {}
        faults.append(Fault(kind=f, nodes=nodes, value=value, start=t, requested=requested))



def _end(faults, t, match):
    for x in faults:
        if x.end is None and match(x):
            x.end = t


def active_faults(faults, t: int) -> list[dict]:
    """Descriptions of the faults in effect at time t."""
    return [x.describe() for x in faults if x.active_at(t)]


@dataclass
class StateIndex:
    """State samples indexed per node, time-ordered; only `ok` samples are indexed."""

    samples: list
    by_node: dict = field(default_factory=dict)
    times: dict = field(default_factory=dict)

    def __post_init__(self):
        good = sorted((s for s in self.samples if s.get("ok") and isinstance(s.get("time"), int)),
                      key=lambda s: s["time"])
        self.samples = good
        for s in good:
            self.by_node.setdefault(s["node"], []).append(s)
        self.times = {n: [s["time"] for s in ss] for n, ss in self.by_node.items()}

    def nodes(self) -> list:
        return sorted(self.by_node, key=str)

    def latest(self, node, t: int):
        """The node's last ok sample at or before t, or None."""
        i = bisect.bisect_right(self.times.get(node, []), t)
        return self.by_node[node][i - 1] if i else None

    def after(self, node, t: int) -> list:
        """The node's ok samples at or after t, in time order."""
        i = bisect.bisect_left(self.times.get(node, []), t)
        return self.by_node.get(node, [])[i:]

    def leader_at(self, t: int, window_ns: int | None = None):
        """(node, term) of the highest-term node whose latest sample at or before t says
        leader (ignoring samples older than window_ns when given), or None."""
        best = None
        for node in self.by_node:
            s = self.latest(node, t)
            if s is None or s.get("role") != "leader":
                continue
            if window_ns is not None and t - s["time"] > window_ns:
                continue
            if best is None or s.get("term", 0) > best[1]:
                best = (node, s.get("term", 0))
        return best

    def leader_commit_at(self, t: int) -> int | None:
        """The commit index the leader at time t last reported, or None if no leader known."""
        lead = self.leader_at(t)
        return None if lead is None else self.latest(lead[0], t).get("commit")

    def first_leader_commit(self, t: int) -> tuple[int, int] | None:
        """(time, commit) of the first leader known at or after t: at t itself when a leader
        is known then (a heal often completes while an election is still running); None
        if no leader is ever sampled from t on."""
        if (commit := self.leader_commit_at(t)) is not None:
            return t, commit
        for s in self.samples[bisect.bisect_left([x["time"] for x in self.samples], t):]:
            if s.get("role") == "leader":
                return s["time"], s.get("commit")
        return None


def client_events(history_events) -> list:
    """(line, event) pairs of the client ops (not nemesis), for checker._history.parse_events."""
    return [(n, e) for n, e in enumerate(history_events, 1)
            if isinstance(e, dict) and e.get("process") != NEMESIS]
