"""Failover benchmark through `harness run`: leader-kill timings, and the op rate the runner sustains.

1. Failover: a copy of TC-AF-002 whose nemesis kills the leader --kills times (one
   every --interval s, down --down s, then restarted), on --nodes nodes. Per leader
   episode, checker/sla.py's failure_detection_s, leader_election_s, client_redirect_s
   and total_rto_s (from results.json checks.sla.episodes): median, p95, max.
2. Op rate: a register-only case with no faults (an empty nemesis timeline) on 3
   nodes, --rate 0 (unlimited) at each --concurrency; ok ops/s and latency from
   checks.perf, with the history recorded and checked (linearizable) as in any run.

    python bench/failover.py [--backend docker] [--kills 20] [--concurrency 8,16,32]

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
METRICS = ("failure_detection_s", "leader_election_s", "client_redirect_s", "total_rto_s")
FIRST_FAULT_S = 3.0   # harness.cases: the first fault starts 3 s into the workload


def harness_run(case: Path, store: Path, *args: str) -> dict:
    """One `harness run --json`; the results dict. Exit 0 or 1 (a verdict) both count."""
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
    raw.update(id="BENCH-FAILOVER", time_limit=FIRST_FAULT_S + kills * interval,
               nemesis={"faults": ["kill-leader"], "interval": interval, "duration": down})
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def rate_case(path: Path, seconds: float) -> Path:
    raw = {"id": "BENCH-RATE", "title": "register, no faults, unlimited rate", "nodes": 3,
           "time_limit": seconds, "recovery": 20,
           "workloads": [{"name": "register", "keys": 16}],
           "nemesis": {"timeline": []}, "checkers": ["linearizable", "perf"]}
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def dist(values: list[float]) -> dict:
    """median, p95 (nearest rank) and max of the measured values."""
    got = sorted(values)
    if not got:
        return {"n": 0, "median": None, "p95": None, "max": None}
    return {"n": len(got), "median": statistics.median(got),
            "p95": got[math.ceil(0.95 * len(got)) - 1], "max": got[-1]}


def failover(args, store: Path) -> dict:
    case = failover_case(store / "failover.yaml", args.kills, args.interval, args.down)
    res = harness_run(case, store, "--nodes", str(args.nodes), "--backend", args.backend,
                      "--seed", str(args.seed))
    run_dir = Path(res["run_dir"])
    steps = json.loads((run_dir / "nemesis-schedule.json").read_text())["steps"]
    episodes = [e for e in res["checks"]["sla"]["episodes"] if e["kind"] == "kill"]
    out = {"run_dir": str(run_dir), "valid": res["valid"], "kill_steps": len(steps),
           "episodes": len(episodes), "wall_s": res["wall_s"]}
    for m in METRICS:
        values = [e[m] for e in episodes if e.get(m) is not None]
        out[m] = {**dist(values), "missed": len(episodes) - len(values)}
    out["checks"] = {k: v.get("valid") for k, v in res["checks"].items()}
    return out


def op_rate(args, store: Path) -> list[dict]:
    case = rate_case(store / "rate.yaml", args.rate_seconds)
    rows = []
    for c in args.concurrency:
        res = harness_run(case, store, "--nodes", "3", "--backend", args.backend,
                          "--seed", str(args.seed), "--rate", "0", "--concurrency", str(c))
        perf = res["checks"]["perf"]["overall"]
        rows.append({"concurrency": c, "ok_per_s": perf["ok_per_s"], "ops_per_s": perf["ops_per_s"],
                     "ops": perf["ops"], "fail": perf["fail"], "info": perf["info"],
                     "p50_ms": perf["latency_ms"]["p50"], "p99_ms": perf["latency_ms"]["p99"],
                     "linearizable": res["checks"]["linearizable"]["valid"],
                     "run_dir": res["run_dir"]})
        print(f"concurrency {c}: {perf['ok_per_s']:.0f} ok ops/s", file=sys.stderr)
    return rows


def _s(x) -> str:
    return "-" if x is None else f"{x:.2f}"


def markdown(args, fo: dict | None, rate: list[dict]) -> str:
    lines = []
    if fo:
        lines += [f"Failover: {fo['kill_steps']} leader kills scheduled, {fo['episodes']} leader "
                  f"episodes measured, {args.nodes} nodes on {args.backend}, run valid: "
                  f"{fo['valid']} ({fo['checks']}), {fo['wall_s']:.0f} s wall.", "",
                  "| metric | n | median s | p95 s | max s | missed |", "|---|---|---|---|---|---|"]
        lines += [f"| {m} | {fo[m]['n']} | {_s(fo[m]['median'])} | {_s(fo[m]['p95'])} | "
                  f"{_s(fo[m]['max'])} | {fo[m]['missed']} |" for m in METRICS]
        lines.append("")
    if rate:
        lines += ["| concurrency | ok ops/s | all ops/s | fail | info | p50 ms | p99 ms | "
                  "linearizable |", "|---|---|---|---|---|---|---|---|"]
        lines += [f"| {r['concurrency']} | {r['ok_per_s']:.0f} | {r['ops_per_s']:.0f} | "
                  f"{r['fail']} | {r['info']} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
                  f"{r['linearizable']} |" for r in rate]
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--backend", default="docker")
    p.add_argument("--nodes", type=int, default=5)
    p.add_argument("--kills", type=int, default=20)
    p.add_argument("--interval", type=float, default=6.0)
    p.add_argument("--down", type=float, default=3.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--concurrency", default="8,16,32")
    p.add_argument("--rate-seconds", type=float, default=20.0)
    p.add_argument("--skip", choices=("failover", "rate"), help="leave one part out")
    p.add_argument("--store", help="keep the runs here (default: a temp dir, removed)")
    args = p.parse_args()
    args.concurrency = [int(c) for c in args.concurrency.split(",") if c]
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(args.store or tmp)
        store.mkdir(parents=True, exist_ok=True)
        fo = failover(args, store) if args.skip != "failover" else None
        rate = op_rate(args, store) if args.skip != "rate" else []
    print(markdown(args, fo, rate))
    print(json.dumps({"failover": fo, "rate": rate}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
