"""Region replication and corruption figures for BENCHMARKS.md (TC-BR-003, TC-BR-004).

    python3 bench/regions.py [--runs N] [--backend netns] [--store /tmp/bench-regions]

Runs, one at a time, N times each:
- TC-BR-003 with its r1 partition stretched to 30 s (a copy of the case in the store):
  region lag median / p99 of the backups shipped with no fault on their region's
  link, and of r2's backups shipped through its 1 mbit/s tc tbf link; catch-up time
  of r1 after the 30 s partition;
- TC-BR-004: detection k/k per corruption kind (database verify and the harness's own),
  repaired / refused, verification and repair bytes/s next to the same run's ceilings.
Prints one JSON object with every run's figures and the medians.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def run(case: str, store: Path, seed: int, backend: str) -> dict:
    proc = subprocess.run([sys.executable, "-m", "harness", "run", case, "--nodes", "3",
                           "--seed", str(seed), "--backend", backend, "--store", str(store),
                           "--quiet", "--json"], capture_output=True, text=True, cwd=ROOT,
                          timeout=1200)
    out = json.loads(proc.stdout)
    out["exit_code"] = proc.returncode
    return out


def partition_30s(store: Path) -> Path:
    case = yaml.safe_load((ROOT / "harness/cases/tc-br-003.yaml").read_text())
    case["time_limit"] = 60
    for step in case["nemesis"]["timeline"]:
        if step["fault"] == "partition":
            step["duration"] = 30
        if step["fault"] == "bandwidth":
            step["at"] = 45
    path = store / "tc-br-003-partition30.yaml"
    store.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(case, sort_keys=False))
    return path


def shaped_sources(store: Path, rate: str) -> Path:
    """TC-BR-003 with the shaping on the nodes' egress (the shipping direction) instead of
    r2's: on this kernel a region host cannot shape its ingress (no act_police), and tbf
    on a region's egress shapes only its acknowledgements."""
    case = yaml.safe_load((ROOT / "harness/cases/tc-br-003.yaml").read_text())
    case["nemesis"]["timeline"] = [{"at": 10, "fault": "bandwidth", "targets": "all",
                                    "rate": rate, "duration": 15}]
    path = store / f"tc-br-003-sources-{rate}.yaml"
    store.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(case, sort_keys=False))
    return path


def window_lags(run_dir: str) -> dict:
    """Lag (s) of the backups completed inside vs outside the shaped window, every region."""
    events = [json.loads(x) for x in Path(run_dir, "history.jsonl").read_text().splitlines()]
    win = [e["time"] for e in events if e.get("process") == "nemesis" and
           e.get("f") in ("bandwidth", "end") and e.get("type") in ("info", "invoke")]
    lo, hi = win[0], win[-1]
    done = {e["value"]["backup"]: e["time"] for e in events if e.get("f") == "backup"
            and e.get("type") == "ok" and isinstance(e.get("value"), dict)}
    arr = next(e["value"] for e in events if e.get("f") == "region-arrivals"
               and e.get("type") == "ok")
    inside = sorted(lag for per in arr.values() for b, lag in per.items()
                    if b in done and lo <= done[b] <= hi)
    outside = sorted(lag for per in arr.values() for b, lag in per.items()
                     if b in done and not lo <= done[b] <= hi + 10e9)

    def q(v, p):
        return v[min(len(v) - 1, int(round(p * (len(v) - 1))))] if v else None
    return {"shaped": {"n": len(inside), "median_s": q(inside, 0.5), "p99_s": q(inside, 0.99)},
            "unshaped": {"n": len(outside), "median_s": q(outside, 0.5),
                         "p99_s": q(outside, 0.99)}}


def lag_figures(res: dict) -> dict:
    c = res["checks"]["region-lag"]
    return {"exit_code": res["exit_code"], "lag": c["lag"],
            "catchup_s": [e["catchup_s"] for e in c["episodes"]],
            "partition_s": [round(((e["end"] or 0) - e["start"]) / 1e9, 1) for e in c["episodes"]],
            "max_sample_gap_s": c["max_sample_gap_s"], "summary": c["summary"]}


def corruption_figures(res: dict) -> dict:
    c = res["checks"]["corruption"]
    return {"exit_code": res["exit_code"], "per_kind": c["per_kind"],
            "throughput": c["throughput"], "summary": c["summary"]}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--backend", default="netns")
    ap.add_argument("--store", default="/tmp/bench-regions")
    ap.add_argument("--shape-sources", metavar="RATE",
                    help="only: one TC-BR-003 run with the nodes' egress shaped to RATE")
    a = ap.parse_args()
    store = Path(a.store)
    if a.shape_sources:
        res = run(str(shaped_sources(store, a.shape_sources)), store, 300, a.backend)
        print(json.dumps({"exit_code": res["exit_code"], "run_dir": res["run_dir"],
                          **window_lags(res["run_dir"])}, indent=1))
        return 0
    case = partition_30s(store)
    lags = [lag_figures(run(str(case), store, 100 + i, a.backend)) for i in range(a.runs)]
    cors = [corruption_figures(run("tc-br-004", store, 200 + i, a.backend))
            for i in range(a.runs)]

    def med(values):
        values = [v for v in values if v is not None]
        return statistics.median(values) if values else None
    calm_med = med([r["lag"][g]["calm_median_s"] for r in lags for g in r["lag"]])
    calm_p99 = med([max(v["calm_p99_s"] or 0 for v in r["lag"].values()) for r in lags])
    shaped_med = med([r["lag"]["r2"]["faulted_median_s"] for r in lags])
    shaped_p99 = med([r["lag"]["r2"]["faulted_p99_s"] for r in lags])
    print(json.dumps({"tc_br_003": lags, "tc_br_004": cors, "medians": {
        "calm_lag_median_s": calm_med, "calm_lag_p99_s": calm_p99,
        "shaped_r2_lag_median_s": shaped_med, "shaped_r2_lag_p99_s": shaped_p99,
        "catchup_after_30s_partition_s": med([x for r in lags for x in r["catchup_s"]])}},
        indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
