"""Fault windows and the seed's chaos metrics for a run report (layer: harness).

Fault windows come from the nemesis events of the history through the
checkers' own fault timeline (checker.runlog.fault_timeline), so the report
shades exactly the intervals the checkers judged. Chaos metrics, as the seed's
"Chaos Metrics" block (failures injected / handled, recovery time avg / max,
data loss), are derived from those windows, the client ops and results.json.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from checker.runlog import fault_timeline

NS = 1e9


@dataclass(frozen=True)
class Window:
    """A fault in effect from start_s to end_s (run-clock seconds; open faults end the run)."""

    label: str
    kind: str
    nodes: tuple
    start_s: float
    end_s: float
    open: bool


def fault_windows(nemesis_events: list, end_s: float) -> list[Window]:
    """Numbered windows F1, F2, ... in start order; the label names the fault and its shape
    (a partition's, e.g. majority-minority) or its nodes."""
    out = []
    for i, fault in enumerate(fault_timeline(nemesis_events), 1):
        nodes = tuple(str(n) for n in fault.nodes)
        shape = fault.value.get("shape") if isinstance(fault.value, dict) else None
        shown = str(shape) if shape else (" ".join(nodes) if len(nodes) <= 3
                                          else f"{len(nodes)} nodes")
        end = fault.end / NS if fault.end is not None else max(end_s, fault.start / NS)
        out.append(Window(label=f"F{i} {fault.kind} {shown}".strip(), kind=fault.kind,
                          nodes=nodes, start_s=fault.start / NS, end_s=end,
                          open=fault.end is None))
    return out


def attempted_faults(nemesis_events: list) -> int:
    """Nemesis requests that would inject a fault (not heals and ends)."""
    enders = ("heal", "end", "start", "resume", "clock_reset")
    return sum(1 for e in nemesis_events
               if e.get("type") == "invoke" and e.get("f") not in enders)


def chaos_metrics(windows: list[Window], nemesis_events: list, last_ok_s: float | None,
                  checks: dict) -> dict:
    """Failures injected / handled, recovery time avg / max, data lost; None where unknown.

    handled: the fault ended and the cluster acknowledged a client op after it took
    effect, and for a fault that hit the leader, the total RTO was measured (clients
    were served in a new term). Recovery time: the total RTO of each leader episode
    (checker.sla), and each restarted node's catch-up time."""
    sla = checks.get("sla") or {}
    episodes = sla.get("episodes") or []
    unrecovered = {round(ep["t0"] / NS, 6) for ep in episodes if ep.get("total_rto_s") is None}
    handled = sum(1 for w in windows if not w.open and last_ok_s is not None
                  and last_ok_s > w.start_s and round(w.start_s, 6) not in unrecovered)
    rto = [ep["total_rto_s"] for ep in episodes if ep.get("total_rto_s") is not None]
    catch_up = [r["seconds"] for r in sla.get("recoveries") or [] if r.get("seconds") is not None]
    rpo = checks.get("rpo") or {}
    lost = rpo.get("lost") if isinstance(rpo.get("lost"), list) else None
    return {
        "attempted": attempted_faults(nemesis_events),
        "injected": len(windows),
        "handled": handled,
        "recovery_s": _avg_max(rto),
        "catch_up_s": _avg_max(catch_up),
        "lost_writes": None if lost is None else (rpo.get("counts") or {}).get("lost", len(lost)),
        "lost_bytes": None if lost is None else sum(len(json.dumps(x.get("value")).encode())
                                                    for x in lost),
        "acknowledged": (rpo.get("counts") or {}).get("acknowledged"),
    }


def _avg_max(values: list) -> dict | None:
    if not values:
        return None
    return {"avg": sum(values) / len(values), "max": max(values), "n": len(values)}
