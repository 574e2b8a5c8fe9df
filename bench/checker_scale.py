"""Time the linearizability checker on a generated set (bench/checker_gen.py), one process
per file: read time, check time (elapsed_s, and search_s up to the verdict), peak RSS,
verdict against the expected one, and which path decided (read-mapping or search).

Usage: python3 bench/checker_scale.py DIR [--runs N] [--time-limit S] [--method auto|search]

Prints a Markdown table (medians of N runs) for BENCHMARKS.md. Each run is a fresh
process, so peak RSS is that check's alone (ru_maxrss of the child); CPU s is the
child's user+system time including its worker processes (on a shared, loaded machine
the wall time can be several times the CPU time).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
from checker import check_linearizable, read_history
t0 = time.perf_counter()
h = read_history({path!r})
t1 = time.perf_counter()
r = check_linearizable(h, {model!r}, time_limit={limit}, method={method!r})
print(json.dumps({{"read_s": t1 - t0, "elapsed_s": r["elapsed_s"], "search_s": r["search_s"],
                  "valid": r["valid"], "method": r["method"], "fallback": r["fallback"],
                  "reason": r.get("reason"), "wall_s": time.perf_counter() - t0,
                  "cpu_s": sum(getattr(resource.getrusage(w), f) for w in
                               (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
                               for f in ("ru_utime", "ru_stime")),
                  "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def run_one(path, model, limit, method):
    code = CHILD.format(root=str(ROOT), path=str(path), model=model, limit=limit, method=method)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if done.returncode != 0:
        return {"valid": f"crash: {done.stderr.strip()[-200:]}"}
    return json.loads(done.stdout)


def verdict(valid):
    return {True: "linearizable", False: "not-linearizable"}.get(valid, str(valid))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--time-limit", type=float, default=60)
    parser.add_argument("--method", default="auto", choices=("auto", "search"))
    args = parser.parse_args(argv)
    manifest = json.loads((args.dir / "MANIFEST.json").read_text())["files"]
    print("| file | ops | keys | processes | expected | verdict | method | read_s | check_s "
          "| search_s | read+check wall s | CPU s | peak RSS MiB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for e in manifest:
        runs = [run_one(args.dir / e["file"], e["model"], args.time_limit, args.method)
                for _ in range(args.runs)]
        got = {verdict(r["valid"]) for r in runs}
        med = {k: statistics.median(r[k] for r in runs) if "elapsed_s" in runs[0] else float("nan")
               for k in ("read_s", "elapsed_s", "search_s", "wall_s", "cpu_s", "rss_mib")}
        mark = "" if got == {e["expected"]} else " (WRONG)" if got - {"unknown"} else ""
        print(f"| {e['file']} | {e['ops']} | {e['keys']} | {e['processes']} | {e['expected']} | "
              f"{'/'.join(sorted(got))}{mark} | {runs[0].get('method')} | {med['read_s']:.2f} | "
              f"{med['elapsed_s']:.2f} | {med['search_s']:.2f} | {med['wall_s']:.2f} | "
              f"{med['cpu_s']:.2f} | {med['rss_mib']:.0f} |",
              flush=True)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"\n(runs per file: {args.runs}; medians; time limit {args.time_limit} s; "
          f"benchmark process max RSS {rss} MiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
