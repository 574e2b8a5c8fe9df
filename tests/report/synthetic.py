"""A synthetic but realistic stored run, for report tests and benchmarks without a cluster.

`make_run(store, ...)` writes store/<case>/<stamp>-<seed>/ as `harness run`
does: case.yaml (the catalogue's TC-AF-002), run.json, history.jsonl (register
and set workloads, leader-kill faults as nemesis events, final reads),
states.jsonl, nodes/<n>/events.jsonl, and results.json from the REAL checkers
(`harness.analysis.analyze`), so the report renders genuine checker output.

The history is linearizable by construction (each op takes effect at the
middle of its interval; ops with no leader then fail). Planted anomalies:
`stale_read` makes one read return the value its key held before a write that
completed before the read began (a real linearizability violation);
`lost_write` drops one acknowledged add from every final read (an RPO
violation).
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

NS = 1_000_000_000
WALL_START = 1_800_000_000.0
ELECTION_S, CATCH_UP_S, SAMPLE_S = 0.7, 0.2, 0.1
CASE_YAML = Path(__file__).resolve().parents[2] / "harness" / "cases" / "tc-af-002.yaml"


class Cluster:
    """Who leads when: node i leads from each election; the leader is killed at each fault."""

    def __init__(self, nodes, faults):
        self.nodes, self.eras = list(nodes), [(0.0, nodes[0], 1)]   # (from, leader, term)
        self.down = []                                             # (node, t0, t1)
        for i, (t0, t1) in enumerate(faults):
            killed = self.eras[-1][1]
            nxt = [n for n in nodes if n != killed][i % (len(nodes) - 1)]
            self.eras += [(t0, None, self.eras[-1][2]), (t0 + ELECTION_S, nxt,
                                                          self.eras[-1][2] + 1)]
            self.down.append((killed, t0, t1))

    def leader_at(self, t):
        era = [e for e in self.eras if e[0] <= t][-1]
        return era[1], era[2]

    def is_down(self, node, t):
        return any(n == node and a <= t < b for n, a, b in self.down)


def _op_times(rng, ops, duration_s, procs):
    """(process, invoke_s, latency_s) of `ops` ops spread over `procs` client processes."""
    gap = duration_s * procs / ops
    out = []
    for p in range(procs):
        t = 1.0 + rng.random() * gap
        while t < duration_s + 1.0:
            lat = min(rng.lognormvariate(-5.5, 0.5), 0.2)
            out.append((p, t, lat))
            t += lat + rng.expovariate(1 / gap)
    return out


def _history(rng, cluster, ops, duration_s, stale_read):
    procs, retired, lsn = 8, {}, 0
    events, regs, sets, acked, pending = [], {}, {}, {}, []
    for p, t, lat in _op_times(rng, ops, duration_s, procs):
        pid = retired.get(p, p)
        register = p % 2 == 0
        key = f"k{rng.randrange(8)}" if register else f"s{rng.randrange(3)}"
        f = rng.choice(("read", "write", "cas")) if register else "add"
        leader, term = cluster.leader_at(t + lat / 2)
        kind = "ok" if leader else "fail"
        if kind == "ok" and rng.random() < 0.002:
            kind, lat = "info", 0.5
            retired[p] = pid + procs * (1 + pid // procs)
        pending.append([t + lat / 2, pid, t, lat, key, f, kind, leader, term, register])
    pending.sort()
    value_seq = 0
    for mid, pid, t, lat, key, f, kind, leader, term, register in pending:
        value_seq += 1
        inv, done, extra = _apply(f, key, value_seq, kind, regs, sets, acked, rng)
        wl = "register" if register else "set"
        events.append({"process": pid, "type": "invoke", "f": f, "key": key, "value": inv,
                       "time": int(t * NS), "workload": wl})
        comp = {"process": pid, "type": kind, "f": f, "key": key, "value": done,
                "time": int((t + lat) * NS), "workload": wl}
        if kind == "ok":
            if f != "read":
                lsn += 1
            comp.update(node=leader, term=term, lsn=lsn, **extra)
        elif kind == "fail":
            comp["error"] = "no leader"
        events.append(comp)
    if stale_read:
        _plant_stale_read(events)
    return events, acked


def _apply(f, key, seq, kind, regs, sets, acked, rng):
    """(invoke value, completion value, extra) and the model's new state."""
    if f == "add":
        if kind == "ok":
            sets.setdefault(key, []).append(seq)
            acked.setdefault(key, []).append(seq)
        return seq, seq, {}
    cur = regs.get(key)
    if f == "read":
        return None, cur if kind == "ok" else None, {}
    if f == "write":
        if kind == "ok":
            regs[key] = seq
        return seq, seq, {}
    expect = cur if rng.random() < 0.5 else -1
    value = [expect, seq]
    if kind == "ok" and expect == cur:
        regs[key] = seq
    return value, value, {}


def _plant_stale_read(events):
    """One ok read returns the value its key had before a write completed before it began."""
    by_key, mid = {}, len(events) // 2
    for i, e in enumerate(events):
        if e["type"] == "ok" and e["f"] == "write":
            by_key.setdefault(e["key"], []).append((e["time"], e["value"]))
        if i > mid and e["type"] == "ok" and e["f"] == "read":
            inv = next(x for x in reversed(events[:i]) if x["process"] == e["process"])
            done = [v for t, v in by_key.get(e["key"], []) if t < inv["time"]]
            if len(done) >= 2:
                e["value"] = done[-2]
                return


def _sort_cas_failures(events):
    """A cas whose expected value did not match completes as fail (it did not take effect)."""
    for e in events:
        if e["f"] == "cas" and e["type"] == "ok" and e["value"][0] == -1:
            e.update(type="fail", error="cas mismatch")
            for k in ("node", "term", "lsn"):
                e.pop(k, None)


def _final_reads(cluster, acked, end_s, lost_write):
    if lost_write:
        key = sorted(acked)[0]
        acked = {**acked, key: acked[key][:len(acked[key]) // 2] + acked[key][len(acked[key])
                                                                             // 2 + 1:]}
    leader, term = cluster.leader_at(end_s)
    out, t = [], end_s
    for target in [*cluster.nodes, None]:
        for key in sorted(acked):
            t += 0.001
            mode = "linearizable" if target is None else "local"
            node = target or leader
            base = {"process": "final", "f": "read", "key": key, "node": node, "mode": mode,
                    "workload": "set"}
            out.append({**base, "type": "invoke", "value": None, "time": int(t * NS)})
            out.append({**base, "type": "ok", "value": sorted(acked[key]), "term": term,
                        "time": int((t + 0.0005) * NS)})
    return out


def _nemesis(faults):
    out = []
    for i, (t0, t1) in enumerate(faults, 1):
        fid = f"f{i}-{i}"
        out.append((t0 - 0.02, {"process": "nemesis", "type": "invoke", "f": "kill",
                                "value": {"targets": "leader", "fault": fid}}))
        out.append((t0, {"process": "nemesis", "type": "info", "f": "kill",
                         "value": {"nodes": None, "fault": fid}}))
        out.append((t1 - 0.1, {"process": "nemesis", "type": "invoke", "f": "end",
                               "value": {"fault": fid}}))
        out.append((t1, {"process": "nemesis", "type": "info", "f": "heal",
                         "value": {"fault": fid, "ok": True}}))
    return out


def _states(cluster, end_s):
    out, t, commit = [], 1.0, 0
    while t < end_s:
        leader, term = cluster.leader_at(t)
        commit += 3
        for node in cluster.nodes:
            if cluster.is_down(node, t):
                out.append({"time": int(t * NS), "node": node, "ok": False, "error": "no answer"})
                continue
            role = "leader" if node == leader else ("candidate" if leader is None and
                                                    t > _era_start(cluster, t) + 0.4 else
                                                    "follower")
            lag = any(n == node and b <= t < b + CATCH_UP_S for n, a, b in cluster.down)
            out.append({"time": int(t * NS), "node": node, "ok": True, "role": role,
                        "term": term + (role == "candidate"), "leader": leader,
                        "commit": commit, "applied": commit - (50 if lag else 0),
                        "last_index": commit})
        t += SAMPLE_S
    return out


def _era_start(cluster, t):
    return [e for e in cluster.eras if e[0] <= t][-1][0]


def _node_events(cluster):
    out = {n: [] for n in cluster.nodes}
    for start, leader, term in cluster.eras:
        if leader:
            out[leader].append({"ts": WALL_START + start + 0.001, "node": leader,
                                "kind": "became_leader", "term": term, "detail": {}})
    return out


def make_run(store, *, seed=7, ops=4000, duration_s=20.0, nodes=("n1", "n2", "n3"),
             faults=((5.0, 10.0), (13.0, 18.0)), stale_read=False, lost_write=False,
             stamp="20261128T010000", analyze=True) -> Path:
    """Write one run directory under `store` and return its path (see the module doc)."""
    rng = random.Random(seed)
    faults = [(a * duration_s / 20, b * duration_s / 20) for a, b in faults]
    cluster = Cluster(nodes, faults)
    run = Path(store) / "tc-af-002" / f"{stamp}-{seed}"
    (run / "nodes").mkdir(parents=True)
    shutil.copy(CASE_YAML, run / "case.yaml")
    events, acked = _history(rng, cluster, ops, duration_s, stale_read)
    _sort_cas_failures(events)
    end_s = duration_s + 1.5
    nem = _nemesis(faults)
    for t, e in nem:
        e["time"] = int(t * NS)
        if e["f"] == "kill" and e["type"] == "info":
            e["value"]["nodes"] = [n for n, a, _ in cluster.down if abs(a - t) < 1e-9]
    merged = sorted(events + [e for _, e in nem], key=lambda e: e["time"])
    merged += _final_reads(cluster, acked, end_s, lost_write)
    _write_jsonl(run / "history.jsonl", merged)
    _write_jsonl(run / "states.jsonl", _states(cluster, end_s))
    for node, evs in _node_events(cluster).items():
        (run / "nodes" / node).mkdir()
        _write_jsonl(run / "nodes" / node / "events.jsonl", evs)
    meta = {"case": "TC-AF-002", "argv": ["harness", "run", "tc-af-002"], "seed": seed,
            "nodes": list(nodes), "backend": "docker", "wall_start": WALL_START,
            "duration_s": duration_s, "db": {"name": "heliosdb", "bugs": []},
            "started": "2026-11-28T01:00:00+0000", "finished": "2026-11-28T01:00:30+0000",
            "replay": f"harness run tc-af-002 --nodes {len(nodes)} --seed {seed}",
            "interrupted": None}
    (run / "run.json").write_text(json.dumps(meta, indent=2))
    if analyze:
        from harness import analysis
        results = analysis.analyze(run)
        (run / "results.json").write_text(json.dumps(results, indent=2, default=str))
    return run


def _write_jsonl(path, events):
    with open(path, "w", encoding="utf-8") as f:
        for e in events:
            f.write(json.dumps(e, separators=(",", ":")) + "\n")
