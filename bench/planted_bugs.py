"""Planted-bug matrix: bug x case x nodes x seed -> caught?, the violation named (layer: bench).

Each cell is one `harness run CASE --nodes N --seed S --time-limit T --db-opt bug=BUG`
as a user would type it, one at a time (the runs share the machine). "caught" means
exit 1 with at least one checker invalid; the violation named is each invalid checker's
summary. By default a (bug, case, nodes) row stops at its first catching seed (the goal
is "caught within 3 seeds"); --all-seeds runs every seed.

    python3 bench/planted_bugs.py --backend netns --time-limit 20 [--nodes 3 5 7]
        [--seeds 1 2 3] [--only BUG[:CASE]] [--all-seeds] [--jsonl FILE]

Prints a Markdown table (one line per run) and a summary per (bug, case): node counts
caught, seeds needed. Each run's row is also appended to --jsonl as it finishes.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# (bug, case, expected): "caught" rows are the goal; "physics" rows document a case that
# cannot catch the bug (the BENCHMARKS.md section says why).
MATRIX = [
    ("stale-read", "tc-af-001", "caught"),
    ("early-ack", "tc-af-005", "caught"),
    ("early-ack", "tc-af-002", "physics"),
    ("no-fsync", "selftest-crash-all", "caught"),
    ("no-fsync", "tc-af-002", "caught"),
    ("vote-twice", "selftest-contested-election", "caught"),
    ("vote-twice", "tc-af-001", "physics"),
    ("lease-no-check-quorum", "tc-af-005", "caught"),
]


def named(results: dict) -> str:
    """Each invalid checker and what it names: violation kinds with counts and the first
    message, else its first error, else its summary; the harness error of a 255."""
    if results.get("harness_error"):
        return f"harness error: {results['harness_error'][:160]}"
    out = []
    for name, check in sorted(results.get("checks", {}).items()):
        if check.get("valid") is not False:
            continue
        violations = check.get("violations") or []
        if violations:
            kinds = Counter(v.get("kind", "?") for v in violations)
            first = str(violations[0].get("message", ""))[:140]
            out.append(f"{name}: {', '.join(f'{k} x{n}' for k, n in kinds.items())} "
                       f"(\"{first}\")")
        elif check.get("errors"):
            out.append(f"{name}: {str(check['errors'][0])[:160]}")
        else:
            out.append(f"{name}: {str(check.get('summary') or check.get('error'))[:160]}")
    return "; ".join(out) or "-"


def run_one(bug: str, case: str, nodes: int, seed: int, args, store: Path) -> dict:
    argv = [sys.executable, "-m", "harness", "run", case, "--nodes", str(nodes),
            "--backend", args.backend, "--seed", str(seed), "--time-limit",
            str(args.time_limit), "--store", str(store), "--quiet", "--json",
            "--db-opt", f"bug={bug}"]
    start = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=900)
    wall = time.monotonic() - start
    try:
        results = json.loads(proc.stdout)
    except ValueError:
        results = {}
    caught = proc.returncode == 1 and results.get("valid") is False
    return {"bug": bug, "case": case, "nodes": nodes, "seed": seed, "exit": proc.returncode,
            "caught": caught, "named": named(results) if results else proc.stderr.strip()[-200:],
            "wall_s": round(wall, 1), "run_dir": results.get("run_dir")}


def rows(args):
    store = Path(args.store or tempfile.mkdtemp(prefix="planted-"))
    for bug, case, expected in MATRIX:
        if args.only and not any(o == bug or o == f"{bug}:{case}" for o in args.only):
            continue
        for nodes in args.nodes:
            for seed in args.seeds:
                row = {**run_one(bug, case, nodes, seed, args, store), "expected": expected}
                if args.jsonl:
                    with open(args.jsonl, "a") as f:
                        f.write(json.dumps(row) + "\n")
                yield row
                if row["caught"] and not args.all_seeds:
                    break


def table(all_rows: list[dict]) -> str:
    lines = ["| bug | case | nodes | seed | exit | caught | violation named | run time |",
             "|---|---|---|---|---|---|---|---|"]
    for r in all_rows:
        lines.append(f"| {r['bug']} | {r['case']} | {r['nodes']} | {r['seed']} | {r['exit']} "
                     f"| {'yes' if r['caught'] else 'no'} | {r['named'].replace('|', '/')} "
                     f"| {r['wall_s']:.0f} s |")
    return "\n".join(lines)


def summary(all_rows: list[dict]) -> str:
    out = ["| bug | case | expected | caught at nodes (seeds run until caught) |",
           "|---|---|---|---|"]
    keys = list(dict.fromkeys((r["bug"], r["case"], r["expected"]) for r in all_rows))
    for bug, case, expected in keys:
        cells = []
        counts = {r["nodes"] for r in all_rows if (r["bug"], r["case"]) == (bug, case)}
        for nodes in sorted(counts):
            mine = [r for r in all_rows if (r["bug"], r["case"], r["nodes"]) == (bug, case, nodes)]
            hit = [r["seed"] for r in mine if r["caught"]]
            cells.append(f"{nodes}: {'seed ' + str(hit[0]) if hit else 'missed'} "
                         f"({sum(r['caught'] for r in mine)}/{len(mine)})")
        out.append(f"| {bug} | {case} | {expected} | {', '.join(cells)} |")
    return "\n".join(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", default="netns")
    p.add_argument("--time-limit", type=float, default=20)
    p.add_argument("--nodes", type=int, nargs="+", default=[3, 5, 7])
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--only", nargs="+", help="BUG or BUG:CASE")
    p.add_argument("--all-seeds", action="store_true")
    p.add_argument("--store", help="result store (default: a new temp dir)")
    p.add_argument("--jsonl", help="append each run's row here as it finishes")
    args = p.parse_args()
    all_rows = []
    for row in rows(args):
        all_rows.append(row)
        print(f"{row['bug']} {row['case']} n={row['nodes']} seed={row['seed']}: exit "
              f"{row['exit']} {'caught' if row['caught'] else 'missed'} ({row['wall_s']} s)",
              file=sys.stderr, flush=True)
    print(table(all_rows))
    print()
    print(summary(all_rows))


if __name__ == "__main__":
    main()
