"""Split-brain checker: one leader per term, one log, and isolated leaders step down (layer: checker).

Inputs (see checker.runlog for the formats): the history events (client ops
with `node`, `term`, `lsn` on ok completions; nemesis events), the state
samples, and the node events already on the run clock (`time` in ns).

Violations, each reported with times, nodes and terms:
- `two_leaders_in_term` (source "events", authoritative: `became_leader` events;
  source "samples": samples saying role leader) - two nodes led the same term;
- `two_nodes_acked_in_term` - acknowledged writes of one term came from two nodes;
- `divergent_lsn` - two acknowledged writes at the same lsn (different term or
  node: two logs; same term and node: one index used twice);
- `lsn_order` - a write acknowledged before another was invoked has an lsn not
  smaller than the later one's (the later one was not appended after it);
- `no_step_down` / `slow_step_down` - a partition cut the then-leader off from
  the majority and it did not stop leading (check_quorum_step_down, became_*
  event, or a sample with another role) within the case's split_brain_detect_s
  threshold, else DEFAULT_STEP_DOWN_S (the seed's < 5 s): a leader cut off longer than
  that while still leading is a second leader, whatever SLAs the case judges.
Reads (f read/get) carry no log position and are ignored by the lsn checks.
"""

from __future__ import annotations

from checker._api import Checker, RunContext
from checker._history import parse_events
from checker.runlog import Fault, StateIndex, client_events

READS = ("read", "get")
STEP_DOWN_KINDS = ("check_quorum_step_down", "became_follower", "became_candidate",
                   "became_pre_candidate")
MAX_REPORTED = 50
NS = 1e9
DEFAULT_STEP_DOWN_S = 5.0
STEP_DOWN_METRIC = "split_brain_detect_s"


def check(history: list, ctx: RunContext) -> dict:
    """Verdict and figures from the whole history, ctx.states and ctx.node_events; the
    step-down bar is ctx.thresholds["split_brain_detect_s"] (default DEFAULT_STEP_DOWN_S)."""
    events, states, node_events = history, list(ctx.states), list(ctx.node_events)
    sla_s = ctx.thresholds.get(STEP_DOWN_METRIC, DEFAULT_STEP_DOWN_S)
    cev = client_events(events)
    ops = parse_events(cev).ops if cev else []
    writes = [op for op in ops if op.type == "ok" and op.f not in READS
              and isinstance(op.extra.get("lsn"), int)]
    per_term = leaders_per_term(node_events, states)
    violations = _term_violations(per_term) + _acked_by_two(writes) + _divergent(writes)
    violations += _lsn_order(writes)
    step_downs = step_down_episodes(ctx.fault_timeline(events), states, node_events, sla_s)
    violations += [s["violation"] for s in step_downs if s.get("violation")]
    measured = [s["seconds"] for s in step_downs if s["seconds"] is not None]
    checked = bool(writes or node_events or states)
    valid = False if violations else (True if checked else "unknown")
    result = {"checker": "split-brain", "valid": valid,
              "errors": [v["message"] for v in violations][:MAX_REPORTED],
              "violations": violations[:MAX_REPORTED], "violation_count": len(violations),
              "leaders_per_term": per_term, "step_downs": step_downs,
              "max_step_down_s": max(measured) if measured else None,
              "counts": {"acked_writes_with_lsn": len(writes), "node_events": len(node_events),
                         "samples": len(states)}}
    result["summary"] = summary(result)
    return result


def summary(result: dict) -> str:
    terms = len((result.get("leaders_per_term") or {}).get("events") or {})
    sd = result.get("max_step_down_s")
    return (f"{terms} terms, {result.get('violation_count', 0)} violations"
            + (f", slowest isolated-leader step-down {sd:.2f} s" if sd is not None else ""))


def leaders_per_term(node_events, states) -> dict:
    """{"events": {term: [nodes]}, "samples": {term: [nodes]}} (terms as strings, JSON-ready)."""
    ev: dict = {}
    for e in node_events:
        if e.get("kind") == "became_leader":
            ev.setdefault(str(e.get("term")), set()).add(e.get("node"))
    sm: dict = {}
    for s in states:
        if s.get("ok") and s.get("role") == "leader":
            sm.setdefault(str(s.get("term")), set()).add(s.get("node"))
    return {src: {t: sorted(n, key=str) for t, n in sorted(d.items(), key=lambda kv: int(kv[0]))}
            for src, d in (("events", ev), ("samples", sm))}


def _term_violations(per_term) -> list:
    out = []
    for source, terms in per_term.items():
        for term, nodes in terms.items():
            if len(nodes) > 1:
                out.append({"kind": "two_leaders_in_term", "source": source, "term": int(term),
                            "nodes": nodes, "message": f"term {term}: {len(nodes)} leaders "
                            f"{', '.join(map(str, nodes))} (from {source})"})
    return out


def _desc(op) -> dict:
    return {**op.describe(), "node": op.extra.get("node"), "term": op.extra.get("term"),
            "lsn": op.extra.get("lsn")}


def _acked_by_two(writes) -> list:
    by_term: dict = {}
    for op in writes:
        if op.extra.get("term") is not None:
            by_term.setdefault(op.extra["term"], {}).setdefault(op.extra.get("node"), op)
    out = []
    for term, first in sorted(by_term.items(), key=lambda kv: str(kv[0])):
        if len(first) > 1:
            nodes = sorted(first, key=str)
            out.append({"kind": "two_nodes_acked_in_term", "term": term, "nodes": nodes,
                        "ops": [_desc(first[n]) for n in nodes],
                        "message": f"term {term}: writes acknowledged by {', '.join(map(str, nodes))}"
                                   f" (first at lines {', '.join(str(first[n].line) for n in nodes)})"})
    return out


def _divergent(writes) -> list:
    by_lsn: dict = {}
    for op in writes:
        by_lsn.setdefault(op.extra["lsn"], []).append(op)
    out = []
    for lsn, group in sorted(by_lsn.items()):
        if len(group) > 1:
            a, b = group[0], group[1]
            same = (a.extra.get("term"), a.extra.get("node")) == (b.extra.get("term"),
                                                                 b.extra.get("node"))
            out.append({"kind": "divergent_lsn", "lsn": lsn, "same_term_and_node": same,
                        "ops": [_desc(op) for op in group],
                        "message": f"lsn {lsn} acknowledged for {len(group)} writes: line {a.line} "
                                   f"({a.extra.get('node')}, term {a.extra.get('term')}) and line "
                                   f"{b.line} ({b.extra.get('node')}, term {b.extra.get('term')})"})
    return out


def _lsn_order(writes) -> list:
    """A write completed before another was invoked must have a smaller lsn."""
    by_done = sorted(writes, key=lambda op: op.complete_time)
    out, i, best = [], 0, None
    for op in sorted(writes, key=lambda op: op.invoke_time):
        while i < len(by_done) and by_done[i].complete_time < op.invoke_time:
            if best is None or by_done[i].extra["lsn"] > best.extra["lsn"]:
                best = by_done[i]
            i += 1
        if best is not None and best.extra["lsn"] >= op.extra["lsn"]:
            out.append({"kind": "lsn_order", "earlier": _desc(best), "later": _desc(op),
                        "message": f"write at line {best.line} (lsn {best.extra['lsn']}) was "
                                   f"acknowledged before the write at line {op.line} was invoked, "
                                   f"yet the later one got lsn {op.extra['lsn']}"})
    return out


def cluster_nodes(states, node_events, faults) -> set:
    nodes = {s.get("node") for s in states} | {e.get("node") for e in node_events}
    for f in faults:
        nodes.update(f.nodes)
    return {n for n in nodes if n is not None}


def leader_isolated(leader, fault: Fault, nodes) -> bool:
    """True if the grudge leaves `leader` two-way links to fewer than a majority (itself counted)."""
    grudge = fault.value.get("grudge") or {}
    reach = [n for n in nodes if n != leader and n not in (grudge.get(leader) or ())
             and leader not in (grudge.get(n) or ())]
    return 1 + len(reach) < len(nodes) // 2 + 1


def leader_at(index: StateIndex, node_events, t: int):
    """(node, term) leading at t: the state samples first, else the last became_leader event."""
    found = index.leader_at(t)
    if found is not None:
        return found
    became = [e for e in node_events if e.get("kind") == "became_leader" and e["time"] <= t]
    if not became:
        return None
    e = max(became, key=lambda e: (e.get("term", 0), e["time"]))
    return e.get("node"), e.get("term", 0)


def step_down_episodes(faults, states, node_events, sla_s=DEFAULT_STEP_DOWN_S) -> list:
    """One entry per partition (of the fault timeline) that isolated the then-leader: start,
    leader, seconds to step down (None if not measurable), and a `violation` dict when it
    was slow or never came."""
    index = StateIndex(states)
    nodes = cluster_nodes(states, node_events, faults)
    out = []
    for fault in faults:
        if "grudge" not in fault.value:
            continue
        lead = leader_at(index, node_events, fault.start)
        if lead is None or not leader_isolated(lead[0], fault, nodes):
            continue
        out.append(_episode(fault, lead, index, node_events, sla_s))
    return out


def _stepped_down_at(node, t0, index, node_events):
    times = [e["time"] for e in node_events if e.get("node") == node and e["time"] >= t0
             and e.get("kind") in STEP_DOWN_KINDS]
    times += [s["time"] for s in index.after(node, t0) if s.get("role") != "leader"][:1]
    return min(times) if times else None


def _episode(fault, lead, index, node_events, sla_s) -> dict:
    node, term = lead
    t0 = fault.start
    at = _stepped_down_at(node, t0, index, node_events)
    # The cut may lift as soon as the heal is asked for: a step-down after that can be the
    # heal's doing (a higher term heard again), not the partition's.
    cut_until = fault.end_requested if fault.end_requested is not None else fault.end
    if at is not None and cut_until is not None and at > cut_until:
        at = None  # it stepped down only once the heal began: not because of the partition
    ep = {"fault_start": t0, "fault_end": fault.end, "leader": node, "term": term,
          "stepped_down_at": at, "seconds": None if at is None else (at - t0) / NS}
    if at is None:
        lasted = None if cut_until is None else (cut_until - t0) / NS
        if lasted is None or lasted >= sla_s:
            ep["violation"] = {"kind": "no_step_down", "leader": node, "term": term,
                               "fault_start": t0, "fault_end": fault.end,
                               "message": f"leader {node} (term {term}) isolated at "
                                          f"{t0 / NS:.3f}s never stepped down "
                                          f"(partition lasted {lasted if lasted is None else round(lasted, 3)}s)"}
    elif ep["seconds"] >= sla_s:
        ep["violation"] = {"kind": "slow_step_down", "leader": node, "term": term,
                           "fault_start": t0, "stepped_down_at": at, "seconds": ep["seconds"],
                           "message": f"leader {node} (term {term}) isolated at {t0 / NS:.3f}s "
                                      f"stepped down after {ep['seconds']:.3f}s (SLA < {sla_s}s)"}
    return ep


CHECKER = Checker("split-brain", "run", check,
                  "one leader per term, one log, and an isolated leader steps down in time")
