"""Soak: memory of a long `harness run` (issue 14). Runs one case for --minutes with the
history streamed to disk, samples the harness process's RSS (and its children's) every
--every seconds with psutil, and prints the series' start, median, max and the growth
from the first to the last quarter, plus the run's ops and history size.

    python bench/soak.py --case tc-af-002 --minutes 30 --backend netns
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--case", default="tc-af-002")
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--backend", default="netns")
    ap.add_argument("--every", type=float, default=10)
    ap.add_argument("--store", default=None)
    a = ap.parse_args()
    store = Path(a.store or tempfile.mkdtemp(prefix="soak-"))
    cmd = [sys.executable, "-m", "harness", "run", a.case, "--nodes", str(a.nodes),
           "--backend", a.backend, "--time-limit", str(a.minutes * 60), "--seed", "1",
           "--store", str(store), "--quiet", "--json"]
    out_path = store / "soak-results.json"
    # stdout to a file, not a pipe: results.json of a long run is larger than a pipe's
    # buffer, and a pipe nobody reads until the end would block the harness at exit.
    proc = subprocess.Popen(cmd, stdout=out_path.open("w"), text=True)
    me = psutil.Process(proc.pid)
    samples = []
    started = time.monotonic()
    while proc.poll() is None:
        try:
            rss = me.memory_info().rss
            samples.append((time.monotonic() - started, rss / 2**20))
        except psutil.Error:
            pass
        time.sleep(a.every)
    out = out_path.read_text()
    results = json.loads(out) if out.strip() else {}
    run_dir = Path(results.get("run_dir", store))
    history = run_dir / "history.jsonl"
    q = max(1, len(samples) // 4)
    first, last = [m for _, m in samples[:q]], [m for _, m in samples[-q:]]
    print(f"soak {a.case} {a.nodes} nodes {a.backend} {a.minutes:g} min: exit {proc.returncode}, "
          f"verdict {results.get('valid')}")
    print(f"harness RSS MiB: start {samples[0][1]:.1f}, median {statistics.median(m for _, m in samples):.1f}, "
          f"max {max(m for _, m in samples):.1f}; first-quarter median {statistics.median(first):.1f} "
          f"-> last-quarter median {statistics.median(last):.1f} ({len(samples)} samples)")
    if history.exists():
        lines = sum(1 for _ in history.open("rb"))
        print(f"history: {lines} events, {history.stat().st_size / 2**20:.1f} MiB on disk")
    return 0


if __name__ == "__main__":
    sys.exit(main())
