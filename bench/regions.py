"""Region replication and corruption figures for BENCHMARKS.md (TC-BR-003, TC-BR-004).

    python3 bench/regions.py [--runs N] [--lag-only] [--backend netns] [--store /tmp/bench-regions]

Runs, one at a time, N times each:
- TC-BR-003 with its r1 partition stretched to 30 s (a copy of the case in the store):
  region lag median / p99 of the backups shipped with no fault on their region's
  link, and of r2's backups shipped through its shaped link (the case's 128 kbit/s
  htb class on every other host's packets to r2: the shipping direction; the
  mechanism the nemesis used is printed with the figures); catch-up time of r1 after
  the 30 s partition;
- TC-BR-004 (unless --lag-only): detection k/k per corruption kind (database verify
  and the harness's own; the node's WAL: refused on restart), repaired / refused,
  verification and repair bytes/s next to the same run's ceilings.
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


def lag_figures(res: dict) -> dict:
    c = res["checks"]["region-lag"]
    return {"exit_code": res["exit_code"], "lag": c["lag"],
            "catchup_s": [e["catchup_s"] for e in c["episodes"]],
            "partition_s": [round(((e["end"] or 0) - e["start"]) / 1e9, 1) for e in c["episodes"]],
            "max_sample_gap_s": c["max_sample_gap_s"], "shaping": c.get("shaping"),
            "summary": c["summary"]}


def corruption_figures(res: dict) -> dict:
    c = res["checks"]["corruption"]
    return {"exit_code": res["exit_code"], "per_kind": c["per_kind"],
            "throughput": c["throughput"], "summary": c["summary"]}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--backend", default="netns")
    ap.add_argument("--store", default="/tmp/bench-regions")
    ap.add_argument("--lag-only", action="store_true", help="TC-BR-003 runs only")
    a = ap.parse_args()
    store = Path(a.store)
    case = partition_30s(store)
    lags = [lag_figures(run(str(case), store, 100 + i, a.backend)) for i in range(a.runs)]
    cors = [] if a.lag_only else [corruption_figures(run("tc-br-004", store, 200 + i, a.backend))
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
