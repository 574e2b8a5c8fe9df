"""Zero-RPO checker for set workloads: no acknowledged add is lost (layer: checker).

Input (history.jsonl events as dicts, see checker.runlog for the side logs):
- adds: `{"process": p, "type": "invoke"|"ok"|"fail"|"info", "f": "add", "key": k,
  "value": int, "time": ns, "node"?, "term"?, "lsn"?}`; a value is unique per key.
- final reads, after the heal, by process "final", one at a time:
  `{"process": "final", "type": ..., "f": "read", "key": k, "value": [ints] (on ok),
  "node": n, "mode": "local"|"linearizable", "time": ns}`; `local` reads are node n's
  own replica (one per node and key), `linearizable` goes through the leader.

Every *target* (each node's local replica, and "linearizable") is judged alone:
- lost: acknowledged (ok) adds absent from the target's final read;
- unexpected: elements read that no add ever attempted;
- failed_present: elements of adds that failed definitely (fail) yet appear;
- duplicated: elements read more than once (an entry applied twice);
- recovered: indeterminate (info) adds that appear (allowed).
A target whose final read of some attempted key is missing or not ok is
"unknown", never valid. Each lost element carries forensics: who acknowledged
it, when, the leader and term the state samples showed then, and the faults
in effect then.
"""

from __future__ import annotations

from collections import Counter

from checker._api import Checker, RunContext, merge_verdicts
from checker._history import parse_events
from checker.corruption import refused_nodes
from checker.runlog import StateIndex, active_faults, client_events

FINAL = "final"
LINEARIZABLE = "linearizable"


def check(history: list, ctx: RunContext) -> dict:
    """Verdict on lost acknowledged adds of one set workload. `ctx.nodes` lists the nodes
    whose local final reads must exist (None: every node named in final reads or state
    samples); ctx.states and the fault timeline feed the forensics of lost adds."""
    events, states, nodes = history, list(ctx.states), ctx.nodes
    ops = parse_events(client_events(events)).ops
    adds = [op for op in ops if op.f == "add" and op.process != FINAL]
    finals = [op for op in ops if op.process == FINAL and op.f == "read"]
    attempts = _attempts(adds)
    reads = _final_reads(finals)
    if nodes is None:
        nodes = sorted({t for t, _ in reads if t != LINEARIZABLE}
                       | {s["node"] for s in states if "node" in s}, key=str)
    # a node that refused to start on its corrupted WAL has no replica to read (judged by
    # the corruption checker); its missing local reads are no unknown here
    refused = refused_nodes(events)
    targets = {t: _check_target(t, attempts, reads) for t in [*nodes, LINEARIZABLE]
               if t not in refused}
    lost = _lost_forensics(targets, attempts, ctx.fault_timeline(events), states)
    result = _summary(attempts, targets, lost)
    result["refused_to_start"] = sorted(refused)
    result["summary"] = summary(result)
    return result


def _attempts(adds) -> dict:
    """key -> {value: op} of every attempted add (ok, fail or info)."""
    out: dict = {}
    for op in adds:
        out.setdefault(op.key, {})[op.invoke_value] = op
    return out


def _final_reads(finals) -> dict:
    """(target, key) -> the last final read op for it (an ok one preferred)."""
    out: dict = {}
    for op in finals:
        target = LINEARIZABLE if op.extra.get("mode") == LINEARIZABLE else op.extra.get("node")
        prev = out.get((target, op.key))
        if prev is None or op.type == "ok" or prev.type != "ok":
            out[(target, op.key)] = op
    return out


def _check_target(target, attempts, reads) -> dict:
    res = {"valid": True, "lost": [], "unexpected": [], "failed_present": [],
           "duplicated": [], "recovered": [], "unknown": []}
    read_keys = {k for t, k in reads if t == target}
    for key in sorted(set(attempts) | read_keys, key=str):
        read = reads.get((target, key))
        if read is None or read.type != "ok" or not isinstance(read.value, list):
            why = "no final read" if read is None else f"final read {read.type}"
            res["unknown"].append({"key": key, "why": why,
                                   "error": None if read is None else read.extra.get("error")})
            continue
        _compare(res, key, attempts.get(key, {}), read.value)
    if any(res[k] for k in ("lost", "unexpected", "failed_present", "duplicated")):
        res["valid"] = False
    elif res["unknown"]:
        res["valid"] = "unknown"
    return res


def _compare(res, key, tried, read_values):
    counts = Counter(read_values)
    for value, op in sorted(tried.items(), key=lambda kv: str(kv[0])):
        present = value in counts
        if op.type == "ok" and not present:
            res["lost"].append({"key": key, "value": value})
        elif op.type == "fail" and present:
            res["failed_present"].append({"key": key, "value": value})
        elif op.type == "info" and present:
            res["recovered"].append({"key": key, "value": value})
    for value, n in sorted(counts.items(), key=lambda kv: str(kv[0])):
        if value not in tried:
            res["unexpected"].append({"key": key, "value": value})
        if n > 1:
            res["duplicated"].append({"key": key, "value": value, "times": n})


def _lost_forensics(targets, attempts, faults, states) -> list:
    missing: dict = {}
    for target, res in targets.items():
        for item in res["lost"]:
            missing.setdefault((item["key"], item["value"]), []).append(target)
    index = StateIndex(states)
    out = []
    for (key, value), where in sorted(missing.items(), key=lambda kv: str(kv[0])):
        op = attempts[key][value]
        t = op.complete_time
        leader = index.leader_at(t)
        out.append({"key": key, "value": value, "missing_on": where,
                    "acked_by": op.extra.get("node"), "term": op.extra.get("term"),
                    "lsn": op.extra.get("lsn"), "invoked_at": op.invoke_time, "acked_at": t,
                    "leader_then": None if leader is None else {"node": leader[0],
                                                                "term": leader[1]},
                    "faults_then": active_faults(faults, t)})
    return out


def _summary(attempts, targets, lost) -> dict:
    all_ops = [op for tried in attempts.values() for op in tried.values()]
    kinds = Counter(op.type for op in all_ops)
    valid = merge_verdicts(r["valid"] for r in targets.values())
    errors = [f"{t}: {len(r['lost'])} acknowledged add(s) lost" for t, r in targets.items()
              if r["lost"]]
    if valid is True and kinds["ok"] == 0:
        valid, errors = "unknown", ["no acknowledged add in the history: nothing to check"]
    uniq = _union(targets)
    return {"checker": "rpo", "valid": valid, "errors": errors,
            "counts": {"attempted": len(all_ops), "acknowledged": kinds["ok"],
                       "failed": kinds["fail"], "indeterminate": kinds["info"],
                       **{k: len(v) for k, v in uniq.items()}},
            "lost": lost, **{k: v for k, v in uniq.items() if k != "lost"},
            "targets": targets}


def _union(targets) -> dict:
    """Per kind, the distinct (key, value) items over all targets, each with its targets."""
    out = {}
    for kind in ("lost", "unexpected", "failed_present", "duplicated", "recovered"):
        seen: dict = {}
        for target, res in targets.items():
            for item in res[kind]:
                seen.setdefault((item["key"], item["value"]), []).append(target)
        out[kind] = [{"key": k, "value": v, "on": on}
                     for (k, v), on in sorted(seen.items(), key=lambda kv: str(kv[0]))]
    return out


def summary(result: dict) -> str:
    c = result["counts"]
    return (f"{c['acknowledged']} acknowledged adds, {c['lost']} lost, "
            f"{c['indeterminate']} indeterminate")


CHECKER = Checker("rpo", "workload", check,
                  "no acknowledged add of a set workload is missing from any replica's final read")
