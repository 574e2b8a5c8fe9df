"""Failover timing SLAs measured per fault episode, compared with the case's thresholds
(layer: checker).

Inputs (formats in checker.runlog): history events (client ops, nemesis events),
ctx.states (state samples), ctx.node_events (node events on the run clock),
ctx.thresholds (the case's `sla:` mapping, metric -> seconds; the figures live with
the cases, none here), ctx.required (metrics that must be measured). All measures are
in seconds on the control node's clock, from the moment a fault took effect (the
nemesis `info` time, t0).

A *leader episode* is a fault that hit the node leading at t0 (leader L, term T):
a kill or pause naming L, or a partition leaving L without a majority. It lasts
until the next leader episode starts (or the run ends). Per leader episode:
- failure_detection_s: first sign another node noticed: its election_timeout /
  became_(pre_)candidate event, or a sample of it as (pre_)candidate or with term > T;
- leader_election_s: first moment a majority of nodes' latest samples name the same
  leader with term > T;
- client_redirect_s: first ok client op served in a term > T (L itself may win that
  term again after the fault; without terms: by a node other than L);
- total_rto_s: first ok write completed in a term > T (or, without terms, not by L);
- failback_s: from the fault's end (start / resume / heal) until L's applied index
  reaches the leader's commit index at that moment; fails too if replicas diverged
  (two digests at one applied index).
Per killed node (any kill that was later undone by start):
- cascade_recovery_s_per_node: from its start until its applied index reaches the
  leader's commit index at that moment.
And split_brain_detect_s: the isolated leader's step-down time (checker.splitbrain).

A metric is reported as {"name", "measured", "median", "episodes", "missed",
"threshold", "pass"}. measured: the worst episode in seconds, "never" when some
episode never completed it, None when there was no episode. pass: None when nothing
was measured (never a pass of 0) or the case sets no threshold; False when it exceeded
the threshold or never happened in some episode. Election and RTO (ALWAYS_JUDGED)
that never complete fail even when the case sets no threshold for them: a cluster
that elects no leader after a fault has failed over to nothing.
"""

from __future__ import annotations

import statistics

from checker._api import Checker, RunContext, merge_verdicts
from checker._history import parse_events
from checker.runlog import StateIndex, client_events
from checker.splitbrain import (READS, cluster_nodes, leader_at, leader_isolated,
                                step_down_episodes)

NS = 1e9
NEVER = "never"
DETECT_KINDS = ("election_timeout", "became_candidate", "became_pre_candidate")
METRICS = ("failure_detection_s", "leader_election_s", "client_redirect_s", "total_rto_s",
           "cascade_recovery_s_per_node", "split_brain_detect_s", "failback_s")
ALWAYS_JUDGED = ("leader_election_s", "total_rto_s")
EPISODE_METRICS = ("failure_detection_s", "leader_election_s", "client_redirect_s",
                   "total_rto_s", "failback_s")


def check(history: list, ctx: RunContext) -> dict:
    """Measure every metric of METRICS and compare with ctx.thresholds; a metric of
    ctx.required that was not measured makes the verdict "unknown"."""
    events, states, node_events = history, list(ctx.states), list(ctx.node_events)
    thresholds = ctx.thresholds
    cev = client_events(events)
    ops = [op for op in (parse_events(cev).ops if cev else []) if op.process != "final"]
    index = StateIndex(states)
    faults = ctx.fault_timeline(events)
    nodes = cluster_nodes(states, node_events, faults)
    episodes = leader_episodes(faults, index, node_events, nodes)
    samples = {m: [] for m in METRICS}
    for ep in episodes:
        _measure_episode(ep, ops, index, node_events, nodes)
        for m in EPISODE_METRICS:
            if m in ep:
                samples[m].append(ep[m])
    recoveries = cascade_recoveries(faults, index)
    samples["cascade_recovery_s_per_node"] = [r["seconds"] for r in recoveries]
    # only the seconds are used here; the split-brain checker judges the step-down itself
    step_downs = step_down_episodes(faults, states, node_events)
    samples["split_brain_detect_s"] = [s["seconds"] for s in step_downs]
    divergence = replica_divergence(states)
    slas = [_sla(m, samples[m], thresholds.get(m)) for m in METRICS]
    if divergence:
        failback = slas[METRICS.index("failback_s")]
        failback["pass"], failback["diverged"] = False, True
    result = {"checker": "sla", "valid": _verdict(slas, ctx.required), "slas": slas,
              "episodes": episodes, "recoveries": recoveries, "step_downs": step_downs,
              "replica_divergence": divergence,
              "errors": [f"{s['name']}: {_why(s)}" for s in slas if s["pass"] is False]}
    result["summary"] = summary(result)
    result["lines"] = [sla_line(s) for s in slas]
    return result


def leader_episodes(faults, index, node_events, nodes) -> list:
    """Faults that hit the then-leader, each {"kind", "t0", "end", "leader", "term", "until"}."""
    out = []
    for fault in faults:
        lead = leader_at(index, node_events, fault.start)
        if lead is None:
            continue
        hit = (fault.kind in ("kill", "pause") and lead[0] in fault.nodes) or (
            "grudge" in fault.value and leader_isolated(lead[0], fault, nodes))
        if hit:
            out.append({"kind": fault.kind, "t0": fault.start, "end": fault.end,
                        "leader": lead[0], "term": lead[1], "until": None})
    for a, b in zip(out, out[1:]):
        a["until"] = b["t0"]
    return out


def _in(t, ep) -> bool:
    return t >= ep["t0"] and (ep["until"] is None or t < ep["until"])


def _seconds(t, ep):
    return None if t is None else (t - ep["t0"]) / NS


def _measure_episode(ep, ops, index, node_events, nodes) -> None:
    """Adds each metric's seconds to ep (None: it never happened within the episode)."""
    ep["failure_detection_s"] = _seconds(_detected(ep, index, node_events), ep)
    ep["leader_election_s"] = _seconds(_elected(ep, index, nodes), ep)
    ep["client_redirect_s"] = _seconds(min((op.complete_time for op in ops
                                            if _new_regime(op, ep)), default=None), ep)
    ep["total_rto_s"] = _seconds(min((op.complete_time for op in ops
                                      if _new_write(op, ep)), default=None), ep)
    if ep["end"] is not None:
        t = _caught_up(ep["leader"], ep["end"], index)
        ep["failback_s"] = None if t is None else (t - ep["end"]) / NS


def _new_write(op, ep) -> bool:
    return op.f not in READS and _new_regime(op, ep)


def _new_regime(op, ep) -> bool:
    """An ok op served by the leadership that followed the fault: a later term (the old
    leader may win it again, then no redirect was needed), or without terms another node."""
    if op.type != "ok" or op.complete_time is None or not _in(op.complete_time, ep):
        return False
    term = op.extra.get("term")
    return term > ep["term"] if isinstance(term, int) else op.extra.get("node") != ep["leader"]


def _detected(ep, index, node_events):
    times = [e["time"] for e in node_events if e.get("node") != ep["leader"]
             and e.get("kind") in DETECT_KINDS and _in(e["time"], ep)]
    for node in index.nodes():
        if node == ep["leader"]:
            continue
        times += [s["time"] for s in index.after(node, ep["t0"]) if _in(s["time"], ep) and (
            s.get("role") in ("candidate", "pre_candidate") or s.get("term", 0) > ep["term"])][:1]
    return min(times, default=None)


def _elected(ep, index, nodes):
    """First sample time at which a majority's latest samples agree on a leader of term > T."""
    latest = {n: index.latest(n, ep["t0"]) for n in index.nodes()}
    need = len(nodes) // 2 + 1
    for s in index.samples:
        if not _in(s["time"], ep):
            continue
        latest[s["node"]] = s
        votes: dict = {}
        for x in latest.values():
            if x is not None and x.get("leader") is not None and x.get("term", 0) > ep["term"]:
                votes[x["leader"]] = votes.get(x["leader"], 0) + 1
        if votes and max(votes.values()) >= need:
            return s["time"]
    return None


def _caught_up(node, t_r, index):
    """First time at or after t_r that node's applied index reached the leader's commit at t_r
    (or, with no leader at t_r, the commit of the first leader sampled after it: a heal that
    completes mid-election is no reason to call a failback "never")."""
    first = index.first_leader_commit(t_r)
    if first is None or first[1] is None:
        return None
    target = first[1]
    return next((s["time"] for s in index.after(node, t_r) if s.get("applied", -1) >= target),
                None)


def cascade_recoveries(faults, index) -> list:
    """Per node restarted after a kill: {"node", "started", "seconds" (None: never caught up)}."""
    out = []
    for fault in faults:
        if fault.kind != "kill" or fault.end is None:
            continue
        for node in fault.nodes:
            t = _caught_up(node, fault.end, index)
            out.append({"node": node, "started": fault.end,
                        "seconds": None if t is None else (t - fault.end) / NS})
    return out


def replica_divergence(states) -> list:
    """Applied indexes at which sampled replicas reported different state digests."""
    seen: dict = {}
    for s in states:
        if s.get("ok") and s.get("digest") is not None and isinstance(s.get("applied"), int):
            seen.setdefault(s["applied"], {}).setdefault(s["digest"], set()).add(s["node"])
    return [{"applied": a, "digests": {d: sorted(n, key=str) for d, n in ds.items()}}
            for a, ds in sorted(seen.items()) if len(ds) > 1]


def _sla(name, values, threshold) -> dict:
    got = [v for v in values if v is not None]
    missed = len(values) - len(got)
    if missed:
        measured = NEVER
    else:
        measured = max(got) if got else None
    if not values or (threshold is None and not (missed and name in ALWAYS_JUDGED)):
        passed = None
    else:
        passed = missed == 0 and measured < threshold
    return {"name": name, "measured": measured,
            "median": statistics.median(got) if got else None, "episodes": len(values),
            "missed": missed, "threshold": threshold, "pass": passed}


def _why(s) -> str:
    if s.get("diverged"):
        return "replicas reported different digests at the same applied index"
    if s["missed"]:
        return f"never happened in {s['missed']} of {s['episodes']} episode(s)"
    return f"measured {s['measured']:.3f}s, threshold < {s['threshold']}s"


def _verdict(slas, required):
    if any(s["pass"] is False for s in slas):
        return False
    by_name = {s["name"]: s for s in slas}
    if any(by_name.get(r, {}).get("pass") is None for r in required):
        return "unknown"
    judged = [s["pass"] for s in slas if s["pass"] is not None]
    return merge_verdicts(judged)


def summary(result: dict) -> str:
    slas = result["slas"]
    met = [s["name"] for s in slas if s["pass"] is True]
    failed = [s["name"] for s in slas if s["pass"] is False]
    line = f"{len(met)} SLA(s) met, {len(failed)} failed"
    if failed:
        line += f" ({', '.join(failed)})"
    return line + f", {len(slas) - len(met) - len(failed)} not judged"


def sla_line(s: dict) -> str:
    """The report line of one metric: PASS / FAIL / FAIL (never) / n/a / info."""
    threshold = s.get("threshold")
    bar = f" < {threshold} s" if threshold is not None else ""
    measured = s.get("measured")
    if s.get("pass") is None and threshold is None:
        got = ("not measured" if measured is None else f"never in {s['missed']} of "
               f"{s['episodes']} episode(s)" if measured == NEVER else f"{measured:.2f} s (max)")
        return f"- info {s['name']}: {got} (not an SLA of this case)"
    if s.get("pass") is None:
        return f"- n/a  {s['name']}: not measured (no episode), threshold{bar}"
    if measured == NEVER:
        done = (f"; completed ones: median {s['median']:.2f} s" if s.get("median") is not None
                else "")
        why = bar or " (no threshold in this case: never completing fails)"
        return (f"✗ FAIL (never) {s['name']}: never happened in {s['missed']} of "
                f"{s['episodes']} episode(s){done}{why}")
    word = "✓ PASS" if s["pass"] else "✗ FAIL"
    if s.get("diverged"):
        word += " (replicas diverged)"
    got = "not measured" if measured is None else f"{measured:.2f} s"
    extra = (f" (max, median {s['median']:.2f} s, {s.get('episodes')} episode(s))"
             if s.get("median") is not None else "")
    return f"{word} {s['name']}: {got}{extra}{bar}"


CHECKER = Checker("sla", "run", check,
                  "failover timings per fault episode against the case's SLA thresholds")
