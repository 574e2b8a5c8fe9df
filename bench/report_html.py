"""Wall time and peak memory of `harness report RUN_DIR` on synthetic runs of N ops.

    python3 bench/report_html.py [--ops 4000 100000] [--repeat 3] [--dir /tmp/report-bench]

Each run directory is written once by tests/report/synthetic.py (register + set
workloads, two leader kills, results.json from the real checkers), then
`python3 -m harness report RUN_DIR` runs --repeat times in a fresh process;
prints the median wall time and the peak RSS of the report process (wait4's ru_maxrss).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SYNTHETIC = ROOT / "tests" / "report"


def _generate(store: Path, n: int) -> None:
    """Write the run in a child process: the generator holds the whole history in memory,
    and a report process forked from a big parent would count those pages in its peak RSS."""
    code = (f"import sys; sys.path[:0] = [{str(ROOT)!r}, {str(SYNTHETIC)!r}]\n"
            "from synthetic import make_run\n"
            f"make_run({str(store)!r}, ops={n}, duration_s={max(20.0, n / 200)}, "
            "stale_read=True, lost_write=True)")
    subprocess.run([sys.executable, "-c", code], check=True)


def _one(run_dir: Path) -> tuple[float, float]:
    """(wall s, peak RSS MiB) of one `harness report` process (its own rusage, via wait4)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "harness", "report", str(run_dir)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"harness report {run_dir} exited {proc.returncode}")
    return wall, usage.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ops", type=int, nargs="+", default=[4000, 100_000])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dir", default="/tmp/report-bench")
    args = ap.parse_args()
    base = None
    for n in args.ops:
        store = Path(args.dir) / f"ops-{n}"
        if not list(store.glob("*/*/results.json")):
            _generate(store, n)
        run = next(store.glob("*/*/results.json")).parent
        lines = sum(1 for _ in open(run / "history.jsonl", "rb"))
        walls, peaks = zip(*(_one(run) for _ in range(args.repeat)))
        med = statistics.median(walls)
        base = base or med
        size = (run / "report.html").stat().st_size / 1e6
        print(f"{n:>8} ops ({lines} history lines): median {med:.2f} s "
              f"(runs {', '.join(f'{w:.2f}' for w in walls)}), x{med / base:.1f} vs first, "
              f"peak RSS {max(peaks):.0f} MiB, report.html {size:.2f} MB")


if __name__ == "__main__":
    main()
