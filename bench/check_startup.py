"""Process start-up of `harness check FILE` on a 2-op history: median wall and CPU time.

    python3 bench/check_startup.py [--runs 20] [--before DIR] [--command PROG ...]

Runs each command --runs times, interleaved (so machine load hits all alike), and prints
the median wall time and median CPU time (user+sys of the child) per command, with
`python -c pass` as the floor. Besides `python -m harness`, the `harness` command as a
user runs it: the console script installed with the package and, when `harness` on PATH
is another program (a pyenv shim, a bash script that execs the real one), that too;
--command PROG adds another (e.g. ~/.pyenv/shims/harness: under pyenv, the PATH a
Python process sees leads to the real script, not to the shim a shell runs).
--before DIR adds the same check run from another checkout (e.g. `git archive 84628df
| tar -x -C DIR`), for a side-by-side ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EVENTS = [{"process": 1, "type": "invoke", "f": "write", "key": None, "value": 1, "time": 0},
          {"process": 1, "type": "ok", "f": "write", "key": None, "value": 1, "time": 1}]


def measure(argv, cwd) -> tuple[float, float]:
    """(wall seconds, child CPU seconds) of one run; the exit code must be 0."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True,
                          env={**os.environ, "PYTHONPATH": str(cwd)})
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{argv} exited {done.returncode}: {done.stderr.decode()[:300]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--before", help="another checkout to compare with")
    parser.add_argument("--command", action="append", default=[], metavar="PROG",
                        help="another `harness` program to time (repeatable)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        small = Path(tmp) / "small.jsonl"
        small.write_text("".join(json.dumps(e) + "\n" for e in EVENTS))
        commands = {"python -c pass": ([sys.executable, "-c", "pass"], REPO),
                    "harness check small.jsonl": (
                        [sys.executable, "-m", "harness", "check", str(small)], REPO)}
        script = Path(sys.executable).with_name("harness")
        if script.exists():
            commands["harness script check small.jsonl"] = ([str(script), "check", str(small)], REPO)
        on_path = shutil.which("harness")
        for prog in [on_path] + args.command:
            if prog and Path(prog).resolve() != script.resolve():
                commands[f"{prog} check small.jsonl"] = ([prog, "check", str(small)], REPO)
        if args.before:
            commands["before: harness check small.jsonl"] = (
                [sys.executable, "-m", "harness", "check", str(small)], Path(args.before))
        samples = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, (argv, cwd) in commands.items():
                samples[name].append(measure(argv, cwd))
    floor = statistics.median(w for w, _ in samples["python -c pass"])
    for name, runs in samples.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        print(f"{name:40s} wall {wall * 1000:6.1f} ms  cpu {cpu * 1000:6.1f} ms  "
              f"(wall - python floor {1000 * (wall - floor):6.1f} ms)")


if __name__ == "__main__":
    main()
