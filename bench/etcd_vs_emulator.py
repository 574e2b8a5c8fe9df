"""etcd 3.4 versus the HeliosDB emulator on the same case, node count and machine, in one run.

For each database (--db heliosdb, then --db etcd, alternating for --rounds rounds, so
both see the same machine load), through `harness run --json` on --backend:

1. Failover: TC-AF-002's workloads and settings (election timeout 1000 ms, heartbeat
   100 ms) with the leader killed --kills times (one every --interval s, down --down s,
   then restarted) on --nodes nodes. Per leader episode, checker/sla.py's
   leader_election_s and total_rto_s (results.json checks.sla.episodes), pooled over
   rounds: median, p95, max.
2. Throughput: a register-only case on --nodes nodes at unlimited rate and
   --concurrency client processes for --rate-seconds, its only fault one node cut off
   for 0.5 s in the last 2 s; ok ops/s and latency of the ops before that fault (checks.perf
   phases.before), median over rounds. Every run's history is checked as usual.

    python bench/etcd_vs_emulator.py [--backend docker] [--nodes 3] [--rounds 1]

Prints a markdown section for BENCHMARKS.md and JSON on the last line.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DBS = ("heliosdb", "etcd")
METRICS = ("leader_election_s", "total_rto_s")
FIRST_FAULT_S = 3.0   # harness.cases: the first fault starts 3 s into the workload


def harness_run(case: Path, store: Path, *args: str) -> dict:
    """One `harness run --json`; the results dict. Exit 0, 1 or 2 (a verdict) all count."""
    cmd = [sys.executable, "-m", "harness", "run", str(case), "--store", str(store),
           "--quiet", "--json", *args]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=1800)
    if proc.returncode not in (0, 1, 2):
        raise SystemExit(f"bench: {' '.join(cmd[2:])} exited {proc.returncode}: "
                         f"{proc.stderr.strip()[-400:]}")
    results = json.loads(proc.stdout)
    results["wall_s"] = time.monotonic() - t0
    return results


def failover_case(path: Path, kills: int, interval: float, down: float) -> Path:
    raw = yaml.safe_load((ROOT / "harness/cases/tc-af-002.yaml").read_text())
    raw.update(id="BENCH-ETCD-FAILOVER", time_limit=FIRST_FAULT_S + kills * interval,
               nemesis={"faults": ["kill-leader"], "interval": interval, "duration": down})
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def rate_case(path: Path, seconds: float) -> Path:
    raw = {"id": "BENCH-ETCD-RATE", "title": "register, unlimited rate, no fault until the last 2 s", "nodes": 3,
           "time_limit": seconds, "recovery": 20,
           "workloads": [{"name": "register", "keys": 16}],
           # A case must have a fault: one node cut off for 0.5 s at the very end; the
           # figures are from perf's "before" phase (every op before that fault).
           "nemesis": {"timeline": [{"at": max(1.0, seconds - 2), "fault": "partition",
                                     "shape": "isolate-one", "duration": 0.5}]},
           "checkers": ["linearizable", "perf"],
           "db": {"election_timeout_ms": 1000, "heartbeat_ms": 100}}
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def dist(values: list[float]) -> dict:
    got = sorted(values)
    if not got:
        return {"n": 0, "median": None, "p95": None, "max": None}
    return {"n": len(got), "median": statistics.median(got),
            "p95": got[math.ceil(0.95 * len(got)) - 1], "max": got[-1]}


def failover(args, store: Path, db: str) -> dict:
    case = failover_case(store / "failover.yaml", args.kills, args.interval, args.down)
    res = harness_run(case, store, "--nodes", str(args.nodes), "--backend", args.backend,
                      "--seed", str(args.seed), "--db", db)
    episodes = [e for e in res["checks"]["sla"]["episodes"] if e["kind"] == "kill"]
    return {"valid": res["valid"], "run_dir": res["run_dir"], "wall_s": res["wall_s"],
            "checks": {k: v.get("valid") for k, v in res["checks"].items()},
            **{m: [e[m] for e in episodes if e.get(m) is not None] for m in METRICS},
            "episodes": len(episodes)}


def throughput(args, store: Path, db: str) -> dict:
    case = rate_case(store / "rate.yaml", args.rate_seconds)
    res = harness_run(case, store, "--nodes", str(args.nodes), "--backend", args.backend,
                      "--seed", str(args.seed), "--rate", "0", "--concurrency",
                      str(args.concurrency), "--db", db)
    perf = res["checks"]["perf"]["phases"]["before"]
    return {"ok_per_s": perf["ok_per_s"], "p50_ms": perf["latency_ms"]["p50"],
            "p99_ms": perf["latency_ms"]["p99"], "ops": perf["ops"], "fail": perf["fail"],
            "info": perf["info"], "linearizable": res["checks"]["linearizable"]["valid"],
            "run_dir": res["run_dir"]}


def measure(args) -> dict:
    out = {db: {"failover": [], "throughput": []} for db in DBS}
    with tempfile.TemporaryDirectory(prefix="bench-etcd-") as tmp:
        store = Path(tmp)
        for r in range(args.rounds):
            for db in DBS:
                if args.skip != "failover":
                    out[db]["failover"].append(failover(args, store, db))
                    print(f"round {r + 1} {db}: failover done", file=sys.stderr)
                if args.skip != "throughput":
                    out[db]["throughput"].append(throughput(args, store, db))
                    print(f"round {r + 1} {db}: throughput done", file=sys.stderr)
    return out


def summary(out: dict) -> dict:
    s = {}
    for db, parts in out.items():
        row = {m: dist([v for run in parts["failover"] for v in run[m]]) for m in METRICS}
        for k in ("ok_per_s", "p50_ms", "p99_ms"):
            vals = [t[k] for t in parts["throughput"]]
            row[k] = statistics.median(vals) if vals else None
        row["valid"] = [run["valid"] for run in parts["failover"]] + [
            t["linearizable"] for t in parts["throughput"]]
        s[db] = row
    return s


def _f(x, digits=2) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _ratio(a, b) -> str:
    return "-" if a is None or not b else f"{a / b:.2f}x"


def markdown(args, s: dict) -> str:
    h, e = s["heliosdb"], s["etcd"]
    lines = [f"{args.nodes} nodes on {args.backend}, seed {args.seed}, {args.rounds} round(s); "
             f"failover: {args.kills} leader kills every {args.interval:g} s, down "
             f"{args.down:g} s; throughput: {args.concurrency} clients, unlimited rate, "
             f"{args.rate_seconds:g} s, ops before the only fault (one node cut off in the last 2 s).", "",
             "| figure | emulator | etcd | etcd / emulator |", "|---|---|---|---|"]
    for m in METRICS:
        for stat in ("median", "p95", "max"):
            lines.append(f"| {m} {stat} (s) | {_f(h[m][stat])} | {_f(e[m][stat])} | "
                         f"{_ratio(e[m][stat], h[m][stat])} |")
        lines.append(f"| {m} episodes | {h[m]['n']} | {e[m]['n']} | |")
    for k, label, d in (("ok_per_s", "ok ops/s", 0), ("p50_ms", "latency p50 (ms)", 1),
                        ("p99_ms", "latency p99 (ms)", 1)):
        lines.append(f"| {label} | {_f(h[k], d)} | {_f(e[k], d)} | {_ratio(e[k], h[k])} |")
    lines.append(f"| verdicts (failover runs, then throughput linearizable) | {h['valid']} | "
                 f"{e['valid']} | |")
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--backend", default="docker")
    p.add_argument("--nodes", type=int, default=3)
    p.add_argument("--kills", type=int, default=8)
    p.add_argument("--interval", type=float, default=6.0)
    p.add_argument("--down", type=float, default=3.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--rate-seconds", type=float, default=20.0)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--skip", choices=("failover", "throughput"), help="leave one part out")
    args = p.parse_args()
    out = measure(args)
    s = summary(out)
    print(markdown(args, s))
    print(json.dumps({"args": vars(args), "summary": s, "runs": out}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
