"""Elections checker: how many elections each fault caused, during it and after its heal
(layer: checker).

Run-scoped. An *election* here is a term in which some node became leader: the
first moment a state sample (ctx.states, role "leader") or a `became_leader` node
event shows a leader of that term. Per fault of the timeline (ctx.fault_timeline):
- elections_during: leader terms first seen while the fault was in effect;
- elections_after_heal: leader terms first seen after the fault ended and before the
  next fault started (or the run ended). A member isolated for a while that forces a
  new election when it rejoins (Raft without pre-vote, e.g. etcd 3.4's default, whose
  rejoining member returns with a higher term: Raft thesis section 9.6) shows here.

Verdict: False when a node's term went down between two of its samples (currentTerm is
persistent and only increases, Raft paper Figure 2), with the node, times and terms;
"unknown" without any sample that carries a term; True otherwise (the counts are
figures, not judged).
"""

from __future__ import annotations

from checker._api import Checker, RunContext

NS = 1e9
MAX_LISTED = 20


def check(history: list, ctx: RunContext) -> dict:
    samples = [s for s in ctx.states if s.get("ok") and _is_int(s.get("term"))
               and _is_int(s.get("time"))]
    first_seen = leader_terms(samples, ctx.node_events)
    faults = sorted(ctx.fault_timeline(history), key=lambda f: f.start)
    episodes = [_episode(f, faults, first_seen) for f in faults]
    regressions = term_regressions(samples)
    after = sum(e["elections_after_heal"] for e in episodes)
    result = {"checker": "elections",
              "valid": False if regressions else (True if samples else "unknown"),
              "elections": max(0, len(first_seen) - 1),
              "elections_after_heal": after,
              "episodes_with_election_after_heal": sum(
                  1 for e in episodes if e["elections_after_heal"]),
              "episodes": episodes, "leader_terms": {str(t): _s(v) for t, v in
                                                     sorted(first_seen.items())},
              "term_regressions": regressions[:MAX_LISTED],
              "errors": [r["message"] for r in regressions][:MAX_LISTED]}
    if not samples:
        result["error"] = "no state samples with a term"
    if not regressions:
        result["lines"] = [episode_line(e) for e in episodes][:MAX_LISTED]
    result["summary"] = summary(result, len(episodes))
    return result


def summary(result: dict, n_faults: int) -> str:
    if result["term_regressions"]:
        return result["errors"][0]
    return (f"{result['elections']} election(s); {result['elections_after_heal']} after a "
            f"heal ({result['episodes_with_election_after_heal']} of {n_faults} fault(s))")


def episode_line(e: dict) -> str:
    """One report line per fault: its span, elections during it and after its heal."""
    end = "end of run" if e["end_s"] is None else f"{e['end_s']:.1f} s"
    terms = f" (term {', '.join(map(str, e['terms_after_heal']))})" if e["terms_after_heal"] else ""
    return (f"- {e['kind']} {e['start_s']:.1f} s to {end}: {e['elections_during']} election(s) "
            f"during, {e['elections_after_heal']} after the heal{terms}")


def leader_terms(samples, node_events=()) -> dict:
    """{term: first time (ns) a node was seen leading it}, from samples and node events."""
    out: dict = {}
    for s in samples:
        if s.get("role") == "leader":
            out[s["term"]] = min(out.get(s["term"], s["time"]), s["time"])
    for e in node_events:
        if e.get("kind") == "became_leader" and _is_int(e.get("term")) and _is_int(e.get("time")):
            out[e["term"]] = min(out.get(e["term"], e["time"]), e["time"])
    return out


def _episode(fault, faults, first_seen) -> dict:
    later = [f.start for f in faults if f.start > fault.start]
    if fault.end is None:
        during = [t for t, at in first_seen.items() if at >= fault.start]
        after = []
    else:
        until = min([s for s in later if s >= fault.end], default=None)
        during = [t for t, at in first_seen.items() if fault.start <= at < fault.end]
        after = [t for t, at in first_seen.items()
                 if at >= fault.end and (until is None or at < until)]
    return {"kind": fault.kind, "nodes": list(fault.nodes), "start_s": _s(fault.start),
            "end_s": _s(fault.end), "elections_during": len(during),
            "elections_after_heal": len(after), "terms_after_heal": sorted(after)}


def term_regressions(samples) -> list:
    """A node whose sampled term went down: [{node, time_s, term, previous_term, message}]."""
    last: dict = {}
    out = []
    for s in sorted(samples, key=lambda s: s["time"]):
        node, term = s.get("node"), s["term"]
        prev = last.get(node)
        if prev is not None and term < prev[1]:
            out.append({"node": node, "time_s": _s(s["time"]), "term": term,
                        "previous_term": prev[1], "previous_time_s": _s(prev[0]),
                        "message": f"{node}: term went down from {prev[1]} (at "
                                   f"{_s(prev[0])} s) to {term} (at {_s(s['time'])} s)"})
        last[node] = (s["time"], max(term, prev[1]) if prev else term)
    return out


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _s(ns) -> float | None:
    return None if ns is None else round(ns / NS, 3)


CHECKER = Checker("elections", "run", check,
                  "elections per fault: during it and after its heal; terms never go down")
