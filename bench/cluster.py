"""Cluster bring-up benchmark: wall time of `harness cluster up --nodes N` and `down`.

`up` is timed until the command returns, i.e. until every node's sshd answers
with its banner, the emulator is installed and started over SSH on every node,
and every node reports the same elected leader. `down` until the command
returns with every namespace, link, rule and process removed.

    python bench/cluster.py [--nodes 7] [--runs 5] [--backends netns,docker]

Prints one line per run and the medians (JSON on the last line).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time


def timed(argv: list[str]) -> float:
    start = time.monotonic()
    res = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    elapsed = time.monotonic() - start
    if res.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({res.returncode}): {res.stderr.strip()}")
    return elapsed


def bench(backend: str, nodes: int, runs: int) -> dict:
    ups, downs = [], []
    harness = [sys.executable, "-m", "harness", "cluster"]
    for i in range(runs):
        with tempfile.TemporaryDirectory() as store:
            try:
                ups.append(timed([*harness, "up", "--nodes", str(nodes), "--backend", backend,
                                  "--store", store]))
            finally:
                downs.append(timed([*harness, "down", "--store", store]))
        print(f"{backend} run {i + 1}: up {ups[-1]:.2f} s, down {downs[-1]:.2f} s", flush=True)
    return {"backend": backend, "nodes": nodes, "runs": runs,
            "up_median_s": round(statistics.median(ups), 2),
            "down_median_s": round(statistics.median(downs), 2),
            "up_s": [round(x, 2) for x in ups], "down_s": [round(x, 2) for x in downs]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nodes", type=int, default=7)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--backends", default="netns")
    args = p.parse_args()
    results = [bench(b, args.nodes, args.runs) for b in args.backends.split(",")]
    print(json.dumps(results))


if __name__ == "__main__":
    main()
