"""Availability checker: how long the cluster had no leader and acknowledged no op
(layer: checker).

The worked example of a checker as an extension: this file plus one line in
checker/__init__.py's CHECKERS. Run-scoped: it reads the whole history (client ops and
nemesis events) and ctx.states (formats in checker.runlog).

- *No leader*: after each state sample, the cluster has a leader when some node's
  latest sample is ok, says role leader, and a majority of the nodes' latest ok samples
  name it as leader (a cut-off leader nobody follows is not one). A node whose latest
  sample is not ok (down, paused) counts for nobody. The majority is of ctx.nodes (else
  of the sampled nodes). Stretches are measured between sample times, once every
  sampled node has a sample.
- *No acknowledged op*: the gaps between ok completions of the workload's client ops
  (final reads excluded), from the first invoke to the last client event of the
  workload; idle time after the workload (recovery wait) is not counted.

Figures, for the whole run and per fault episode (a fault of the timeline, from its
start to its end or the run's end; a stretch counts for every episode it overlaps, in
full): longest_leaderless_s and longest_no_ok_s.

Verdict: False when the cluster never recovered: no leader from some moment to the last
state sample (at least one sample per node in that stretch), or no acknowledged op from
some moment to the end of the workload lasting at least GRACE_S (ctx.options
"grace_s") after every fault had ended, with no ok final read after it. "unknown"
without state samples and client ops; True otherwise (the longest gaps are figures,
judged by the SLA checker's election and RTO metrics, not here).
"""

from __future__ import annotations

from checker._api import Checker, RunContext
from checker._history import parse_events
from checker.runlog import client_events

NS = 1e9
GRACE_S = 5.0
FINAL = "final"
MAX_LISTED = 20


def check(history: list, ctx: RunContext) -> dict:
    cev = client_events(history)
    ops = parse_events(cev).ops if cev else []
    work = [op for op in ops if op.process != FINAL]
    faults = ctx.fault_timeline(history)
    leaderless, last_sample = leaderless_stretches(ctx.states, ctx.nodes)
    silences, work_end = silent_stretches(work)
    run_end = max([t for t in (last_sample, work_end) if t is not None], default=None)
    episodes = [_episode(f, leaderless, silences, run_end) for f in faults]
    never = _never(leaderless, silences, ops, faults, work_end, last_sample, ctx)
    result = {"checker": "availability",
              "valid": _verdict(never, ctx.states, work),
              "longest_leaderless_s": _longest(leaderless), "longest_no_ok_s": _longest(silences),
              "never_recovered": never, "episodes": episodes,
              "leaderless": _top(leaderless), "no_ok": _top(silences),
              "counts": {"samples": len(ctx.states), "ops": len(work),
                         "ok": sum(op.type == "ok" for op in work)},
              "errors": [never["message"]] if never else []}
    result["summary"] = summary(result)
    return result


def leaderless_stretches(states, nodes=None) -> tuple[list, int | None]:
    """([{"start", "end" (None: to the last sample), "seconds", "samples"}], last sample time)."""
    samples = sorted((s for s in states if isinstance(s.get("time"), int) and "node" in s),
                     key=lambda s: s["time"])
    names = {s["node"] for s in samples}   # judged once each sampled node has a sample
    need = len(nodes or names) // 2 + 1
    latest: dict = {}
    out, current = [], None
    for s in samples:
        latest[s["node"]] = s
        if not names <= set(latest):
            continue   # not every node sampled yet: no judgement
        if _has_leader(latest, need):
            if current is not None:
                current.update(end=s["time"], seconds=(s["time"] - current["start"]) / NS)
                out.append(current)
                current = None
        elif current is None:
            current = {"start": s["time"], "end": None, "seconds": None, "samples": 1}
        else:
            current["samples"] += 1
    last = samples[-1]["time"] if samples else None
    if current is not None:
        current["seconds"] = (last - current["start"]) / NS
        out.append(current)
    return out, last


def _has_leader(latest, need) -> bool:
    claims = {n for n, s in latest.items() if s.get("ok") and s.get("role") == "leader"}
    for node in claims:
        follow = sum(1 for s in latest.values() if s.get("ok") and s.get("leader") == node)
        if follow >= need:
            return True
    return False


def silent_stretches(ops) -> tuple[list, int | None]:
    """Gaps with no ok completion, from the first invoke to the last client event:
    ([{"start", "end" (None for the tail), "seconds"}], workload end)."""
    if not ops:
        return [], None
    start = min(op.invoke_time for op in ops)
    end = max(max(op.invoke_time, op.complete_time or 0) for op in ops)
    oks = sorted(op.complete_time for op in ops if op.type == "ok" and op.complete_time)
    out, prev = [], start
    for t in oks:
        if t > prev:
            out.append({"start": prev, "end": t, "seconds": (t - prev) / NS})
        prev = max(prev, t)
    if end > prev or not oks:
        out.append({"start": prev, "end": None, "seconds": (end - prev) / NS})
    return out, end


def _overlaps(stretch, start, end, run_end) -> bool:
    s_end = stretch["end"] if stretch["end"] is not None else run_end
    return stretch["start"] <= end and (s_end is None or s_end >= start)


def _episode(fault, leaderless, silences, run_end) -> dict:
    end = fault.end if fault.end is not None else run_end
    end = fault.start if end is None else end
    return {"kind": fault.kind, "nodes": fault.nodes, "start": fault.start, "end": fault.end,
            "longest_leaderless_s": _longest([s for s in leaderless
                                              if _overlaps(s, fault.start, end, run_end)]),
            "longest_no_ok_s": _longest([s for s in silences
                                         if _overlaps(s, fault.start, end, run_end)])}


def _never(leaderless, silences, ops, faults, work_end, last_sample, ctx) -> dict | None:
    """The never-recovered finding, or None: a leaderless stretch reaching the last sample,
    and/or a workload tail with no ok op past every fault's end (no ok final read later)."""
    n_nodes = len(ctx.nodes) if ctx.nodes else len({s.get("node") for s in ctx.states})
    lead = next((s for s in leaderless if s["end"] is None
                 and s["samples"] >= max(1, n_nodes)), None)
    tail = next((s for s in silences if s["end"] is None), None)
    tail_s = None if tail is None else tail["seconds"]
    grace = ctx.options.get("grace_s", GRACE_S)
    calm = max([f.end if f.end is not None else work_end for f in faults] + [tail["start"]]) \
        if tail is not None else None
    rescued = tail is not None and any(op.process == FINAL and op.type == "ok"
                                       and op.complete_time > tail["start"] for op in ops)
    dead_ops = (tail is not None and not rescued and tail["start"] < work_end
                and (work_end - calm) / NS >= grace)
    if lead is None and not dead_ops:
        return None
    parts = []
    if lead is not None:
        parts.append(f"no leader from {lead['start'] / NS:.1f} s to the end")
    if tail_s is not None and (dead_ops or tail_s >= 1.0):
        parts.append(f"no acknowledged op in the last {tail_s:.0f} s")
    return {"leader_from": None if lead is None else lead["start"],
            "no_ok_from": None if tail is None else tail["start"],
            "no_ok_tail_s": tail_s, "message": "; ".join(parts)}


def _verdict(never, states, ops):
    if never:
        return False
    return True if (states or ops) else "unknown"


def _longest(stretches):
    return max((s["seconds"] for s in stretches), default=None)


def _top(stretches) -> list:
    """The longest stretches (at most MAX_LISTED), in time order."""
    top = sorted(stretches, key=lambda s: -s["seconds"])[:MAX_LISTED]
    return sorted(top, key=lambda s: s["start"])


def summary(result: dict) -> str:
    if result["never_recovered"]:
        return result["never_recovered"]["message"]
    lead, quiet = result["longest_leaderless_s"], result["longest_no_ok_s"]
    return (f"longest without a leader {_s(lead)}, without an acknowledged op {_s(quiet)} "
            f"({len(result['episodes'])} fault episode(s))")


def _s(v) -> str:
    return "-" if v is None else f"{v:.2f} s"


CHECKER = Checker("availability", "run", check,
                  "the cluster recovers: the longest time with no leader and with no "
                  "acknowledged op, per fault episode and for the run")
