"""One streaming pass over a run's history and state log, kept compact for plots (layer: harness).

The report must stay fast and bounded on long runs, so nothing here holds the
parsed history: `scan_history` reads history.jsonl line by line, pairs each
client invoke with its completion (one outstanding invoke per process, as the
history format guarantees) and keeps only fixed-size numbers per completed op
in typed arrays (about 10 bytes an op). Nemesis events, which are few, are kept
whole. `scan_states` keeps only the *changes* of each node's role and term.
`ops_between` is a second, filtered pass for the per-process timeline.

Times are seconds on the run clock (the history's ns / 1e9). Final reads
(process "final") are left out, as the perf checker does. A torn last line
(a crashed writer) is skipped; any other bad line is skipped and counted.
"""

from __future__ import annotations

import json
from array import array
from dataclasses import dataclass, field
from pathlib import Path

NS = 1e9
OUTCOMES = ("ok", "fail", "info")
NEMESIS = "nemesis"
FINAL = "final"


@dataclass
class OpDigest:
    """Completed client ops, one entry per op in completion order.

    `invoke_s` and `complete_s` are run-clock seconds, `latency_ms` the
    difference, `outcome` an index into OUTCOMES, `f` an index into `f_names`.
    """

    invoke_s: array = field(default_factory=lambda: array("d"))
    complete_s: array = field(default_factory=lambda: array("d"))
    latency_ms: array = field(default_factory=lambda: array("f"))
    outcome: array = field(default_factory=lambda: array("b"))
    f: array = field(default_factory=lambda: array("B"))
    f_names: list = field(default_factory=list)
    nemesis: list = field(default_factory=list)
    start_s: float | None = None
    end_s: float = 0.0
    bad_lines: int = 0
    pending: int = 0

    def __len__(self) -> int:
        return len(self.outcome)

    def f_index(self, name) -> int:
        name = str(name)
        try:
            return self.f_names.index(name)
        except ValueError:
            if len(self.f_names) >= 255:
                return 255
            self.f_names.append(name)
            return len(self.f_names) - 1


def _lines(path: Path):
    """JSON objects of a JSON Lines file, streamed; None for a line that is not one."""
    with open(path, "rb") as f:
        for raw in f:
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError):
                yield None
                continue
            yield obj if isinstance(obj, dict) else None


def scan_history(path: Path) -> OpDigest:
    """The digest of history.jsonl (see OpDigest); a missing file gives an empty digest."""
    digest, open_ops = OpDigest(), {}
    if not Path(path).exists():
        return digest
    for e in _lines(path):
        if e is None or not isinstance(e.get("time"), (int, float)):
            digest.bad_lines += 1
            continue
        t = e["time"] / NS
        digest.end_s = max(digest.end_s, t)
        digest.start_s = t if digest.start_s is None else min(digest.start_s, t)
        proc = e.get("process")
        if proc == NEMESIS:
            digest.nemesis.append(e)
        elif proc != FINAL:
            _pair(digest, open_ops, e)
    digest.pending = len(open_ops)
    return digest


def _pair(digest: OpDigest, open_ops: dict, e: dict) -> None:
    kind, proc = e.get("type"), str(e.get("process"))
    if kind == "invoke":
        open_ops[proc] = e["time"]
        return
    if kind not in OUTCOMES or proc not in open_ops:
        return
    t0 = open_ops.pop(proc)
    digest.invoke_s.append(t0 / NS)
    digest.complete_s.append(e["time"] / NS)
    digest.latency_ms.append(max(e["time"] - t0, 0) / 1e6)
    digest.outcome.append(OUTCOMES.index(kind))
    digest.f.append(digest.f_index(e.get("f")))


@dataclass
class StateDigest:
    """Per node: role segments [(start_s, end_s, role)] and term steps [(time_s, term)].

    A sample with ok false shows as role "down" (the node did not answer)."""

    roles: dict = field(default_factory=dict)
    terms: dict = field(default_factory=dict)
    samples: int = 0


def scan_states(path: Path) -> StateDigest:
    """Role segments and term changes from states.jsonl, streamed (missing file: empty)."""
    digest, current = StateDigest(), {}
    if not Path(path).exists():
        return digest
    for s in _lines(path):
        if s is None or not isinstance(s.get("time"), (int, float)) or "node" not in s:
            continue
        digest.samples += 1
        node, t = str(s["node"]), s["time"] / NS
        role = str(s.get("role") or "unknown") if s.get("ok") else "down"
        segs = digest.roles.setdefault(node, [])
        if node in current and current[node] == role:
            segs[-1][1] = t
        else:
            if segs:
                segs[-1][1] = t
            segs.append([t, t, role])
            current[node] = role
        term = s.get("term")
        steps = digest.terms.setdefault(node, [])
        if s.get("ok") and isinstance(term, int) and (not steps or steps[-1][1] != term):
            steps.append((t, term))
    return digest


def ops_between(path: Path, start_s: float, end_s: float, limit: int) -> list[dict]:
    """Client ops (invoke paired with completion) that overlap [start_s, end_s], at most
    `limit` of them, nearest the window's middle first kept; each a dict with process, f,
    key, value, type, invoke_s, complete_s (None: never completed), node, error."""
    if not Path(path).exists():
        return []
    lo, hi, open_ops, out = start_s * NS, end_s * NS, {}, []
    for e in _lines(path):
        if e is None or not isinstance(e.get("time"), (int, float)):
            continue
        proc = e.get("process")
        if proc in (NEMESIS, FINAL):
            continue
        if e.get("type") == "invoke":
            if e["time"] <= hi:  # later invokes cannot overlap the window
                open_ops[str(proc)] = e
        elif str(proc) in open_ops:
            inv = open_ops.pop(str(proc))
            if e["time"] >= lo:
                out.append(_op_row(inv, e))
        if e["time"] > hi and not open_ops:
            break
    out += [_op_row(inv, None) for inv in open_ops.values() if lo <= inv["time"] <= hi]
    mid = (start_s + end_s) / 2
    out.sort(key=lambda r: abs(r["invoke_s"] - mid))
    return sorted(out[:limit], key=lambda r: r["invoke_s"])


def _op_row(inv: dict, done: dict | None) -> dict:
    value = done.get("value") if done and done.get("type") == "ok" else inv.get("value")
    return {"process": inv.get("process"), "f": inv.get("f"), "key": inv.get("key"),
            "value": value, "type": done.get("type") if done else "info",
            "invoke_s": inv["time"] / NS, "complete_s": done["time"] / NS if done else None,
            "node": (done or {}).get("node"), "error": (done or {}).get("error")}
