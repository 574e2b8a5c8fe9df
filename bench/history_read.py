"""Reading a large JSON Lines history: time and peak memory of checker.read_history.

    python3 bench/history_read.py [--ops 1000000] [--runs 3] [--before DIR]

Writes a kv history of --ops ops (concurrency 10, 1,000 keys, unique values), then reads
it --runs times in fresh processes (this checkout, and --before DIR's, interleaved) and
prints the median seconds and peak RSS of each.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHILD = ("import resource, sys, time; sys.path.insert(0, sys.argv[1]); import checker; "
         "t = time.perf_counter(); h = checker.read_history(sys.argv[2]); "
         "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "
         "len(h.ops))")


def write_history(path: Path, ops: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    with open(path, "w") as f:
        t = 0
        for i in range(ops):
            p, key = i % 10, f"k{rng.randrange(1000)}"
            f_ = rng.choice(("get", "put", "append"))
            value = None if f_ == "get" else f"v{i}"
            f.write(json.dumps({"process": p, "type": "invoke", "f": f_, "key": key,
                                "value": value, "time": t}) + "\n")
            f.write(json.dumps({"process": p, "type": "ok", "f": f_, "key": key,
                                "value": value if value else "", "time": t + 1}) + "\n")
            t += 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--before", help="another checkout to compare with")
    args = parser.parse_args()
    trees = {"this checkout": REPO, **({"before": Path(args.before)} if args.before else {})}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "kv.jsonl"
        write_history(path, args.ops)
        samples = {name: [] for name in trees}
        for _ in range(args.runs):
            for name, tree in trees.items():
                out = subprocess.run([sys.executable, "-c", CHILD, str(tree), str(path)],
                                     capture_output=True, text=True, check=True).stdout.split()
                samples[name].append((float(out[0]), int(out[1]) / 1024, int(out[2])))
    for name, runs in samples.items():
        print(f"{name:14s} {args.ops} ops: read {statistics.median(r[0] for r in runs):6.2f} s, "
              f"peak RSS {statistics.median(r[1] for r in runs):7.0f} MiB")


if __name__ == "__main__":
    main()
