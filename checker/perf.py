"""Availability and latency of client ops, overall and per fault phase (layer: checker).

Input: history events (client ops and nemesis events; formats in checker.runlog).
Final reads (process "final") are left out: they measure recovery, not service.

Phases, from the nemesis fault timeline: "before" (invoked before the first fault
took effect), "faults" (from then until the last fault ended), "after" (invoked
once every fault had ended). An op belongs to the phase of its invoke time.

Per phase and overall, as the seed's PerformanceMetrics: counts (ok, fail, info),
availability (ok / completed-or-not), ops/s and ok/s over the phase's span, and
latency of ok ops in ms: min, avg, p50, p95, p99, max (nearest-rank percentiles).
The verdict is informational: True when there were ops, "unknown" otherwise,
or False when `min_availability` is given and some phase with ops fell below it.
"""

from __future__ import annotations

import math

from checker._api import Checker, RunContext
from checker._history import parse_events
from checker.runlog import client_events

NS = 1e9
PHASES = ("before", "faults", "after")


def check(history: list, ctx: RunContext) -> dict:
    """{"valid", "overall": stats, "phases": {phase: stats}, "fault_window": [start, end]}.
    ctx.options["min_availability"] (0..1), when given, is the floor every phase must meet."""
    events, min_availability = history, ctx.options.get("min_availability")
    cev = client_events(events)
    ops = [op for op in (parse_events(cev).ops if cev else []) if op.process != "final"]
    faults = ctx.fault_timeline(events)
    end_of_run = max((e["time"] for e in events if isinstance(e.get("time"), int)), default=0)
    window = fault_window(faults, end_of_run)
    groups = {p: [] for p in PHASES}
    for op in ops:
        groups[phase_of(op.invoke_time, window)].append(op)
    spans = _spans(ops, window, end_of_run)
    phases = {p: stats(groups[p], *spans[p]) for p in PHASES}
    overall = stats(ops, *spans["overall"])
    low = [p for p, s in phases.items() if min_availability is not None and s["ops"]
           and s["availability"] < min_availability]
    valid = "unknown" if not ops else (False if low else True)
    result = {"checker": "perf", "valid": valid, "overall": overall, "phases": phases,
              "fault_window": list(window) if window else None,
              "errors": [f"{p}: availability {phases[p]['availability']:.3f} < "
                         f"{min_availability}" for p in low]}
    result["summary"] = summary(result)
    return result


def summary(result: dict) -> str:
    o = result["overall"]
    lat = o["latency_ms"]
    return (f"{o['ops']} ops, ok {o['ok']} / fail {o['fail']} / info {o['info']}, "
            f"{o['ops_per_s'] or 0:.0f} ops/s, latency p50 {_ms(lat['p50'])} p99 {_ms(lat['p99'])}")


def _ms(v) -> str:
    return "-" if v is None else f"{v:.1f} ms"


def fault_window(faults, end_of_run):
    """(first fault start, last fault end) or None without faults; an open fault ends the run."""
    if not faults:
        return None
    return (min(f.start for f in faults),
            max(end_of_run if f.end is None else f.end for f in faults))


def phase_of(t, window) -> str:
    if window is None or t < window[0]:
        return "before"
    return "faults" if t < window[1] else "after"


def _spans(ops, window, end_of_run) -> dict:
    """(start, end) in ns of the whole run of ops and of each phase, clipped to it."""
    start = min((op.invoke_time for op in ops), default=0)
    end = max([op.complete_time or op.invoke_time for op in ops] + [start])
    w0, w1 = window if window else (end, end)
    a, b = (min(max(x, start), end) for x in (w0, w1))
    return {"overall": (start, end), "before": (start, a), "faults": (a, b), "after": (b, end)}


def percentile(sorted_values, q) -> float | None:
    """Nearest-rank percentile (q in 0..100) of an ascending list; None when empty."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def stats(ops, start, end) -> dict:
    """Counts, availability, rates over [start, end] (ns) and ok-op latency figures (ms)."""
    kinds = {"ok": 0, "fail": 0, "info": 0}
    for op in ops:
        kinds[op.type] += 1
    lat = sorted((op.complete_time - op.invoke_time) / 1e6 for op in ops
                 if op.type == "ok" and op.complete_time is not None)
    span = (end - start) / NS
    return {"ops": len(ops), **kinds, "span_s": span,
            "availability": kinds["ok"] / len(ops) if ops else None,
            "ops_per_s": len(ops) / span if span > 0 else None,
            "ok_per_s": kinds["ok"] / span if span > 0 else None,
            "latency_ms": {"min": lat[0] if lat else None,
                           "avg": sum(lat) / len(lat) if lat else None,
                           "p50": percentile(lat, 50), "p95": percentile(lat, 95),
                           "p99": percentile(lat, 99), "max": lat[-1] if lat else None}}


CHECKER = Checker("perf", "run", check,
                  "throughput, availability and latency of client ops before, during and after faults")
