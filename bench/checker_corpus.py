"""Benchmark of the linearizability checker on the shared corpus and on large histories.

Usage: python3 bench/checker_corpus.py [--corpus DIR] [--runs N] [--quick] [--table-only]

Part 1 checks every corpus file (knossos with --initial-value 0 --null-read
unknown), N runs each, and prints per file the median elapsed_s (process
start-up excluded; includes building the counterexample), search_s (up to the
verdict), peak traced memory (tracemalloc, separate run), Porcupine's recorded
median from MANIFEST.json and the ratio; then the totals. Part 2 generates
large linearizable cas-register histories from a simulated register (many
keys, 10+ processes, info and fail ops) and records how check time grows with
history length and with concurrency. Output is a Markdown table for
BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import sys
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from checker import check_linearizable, parse_events, read_history  # noqa: E402

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
OPTIONS = {"porcupine": {}, "knossos": {"initial_value": 0, "null_read": "unknown"}}


def corpus_rows(corpus: Path, runs: int):
    """One row per corpus file: (name, expected ok?, verdict, elapsed, search, peak MiB, porcupine)."""
    rows = []
    for source, options in OPTIONS.items():
        manifest = json.loads((corpus / source / "MANIFEST.json").read_text())
        for entry in manifest["files"]:
            history = read_history(corpus / source / entry["file"])
            results = [check_linearizable(history, entry["model"], **options) for _ in range(runs)]
            peak = _peak_mib(lambda: check_linearizable(history, entry["model"], workers=1,
                                                        **options))
            rows.append((f"{source}/{entry['file']}", entry["expected"] == "linearizable",
                         results[0]["valid"], statistics.median(r["elapsed_s"] for r in results),
                         statistics.median(r["search_s"] for r in results), peak,
                         entry["porcupine_median_seconds"]))
    return rows


def _peak_mib(fn):
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def corpus_table(rows):
    out = ["| file | verdict | ok | elapsed_s | search_s | peak MiB | porcupine_s | ratio |",
           "|---|---|---|---|---|---|---|---|"]
    for name, expected, got, elapsed, search, peak, porc in rows:
        out.append(f"| {name} | {got} | {'yes' if got is expected else 'NO'} | {elapsed:.4f} | "
                   f"{search:.4f} | {peak:.1f} | {porc:.6f} | {elapsed / porc:.1f} |")
    return out


def corpus_summary(rows):
    total = sum(r[3] for r in rows)
    search = sum(r[4] for r in rows)
    porc = sum(r[6] for r in rows)
    worst = max(rows, key=lambda r: r[3] / r[6])
    worst_search = max(rows, key=lambda r: r[4] / r[6])
    wrong = [r[0] for r in rows if r[2] is not r[1]]
    return [
        f"- files: {len(rows)}, wrong verdicts: {len(wrong)} {wrong if wrong else ''}",
        f"- total elapsed_s {total:.3f} s (search_s {search:.3f} s) vs Porcupine {porc:.3f} s: "
        f"ratio {total / porc:.2f} (search {search / porc:.2f}); target <= 3",
        f"- worst file ratio (elapsed): {worst[3] / worst[6]:.1f} ({worst[0]}); "
        f"worst by search_s: {worst_search[4] / worst_search[6]:.1f} ({worst_search[0]}); target <= 10",
        f"- peak traced memory, largest file: {max(r[5] for r in rows):.1f} MiB; target < 2048",
    ]


def simulate(n_ops, processes, keys, seed=1, info_rate=0.02, fail_rate=0.03):
    """Events of a linearizable cas-register per key, from a simulated atomic store."""
    rng = random.Random(seed)
    store = {k: None for k in range(keys)}
    pending, events, counter, invoked = {}, [], [0], 0
    next_pid = processes
    free = list(range(processes))

    def emit(pid, type_, f, key, value):
        events.append((len(events) + 1, {"process": pid, "type": type_, "f": f, "key": key,
                                         "value": value, "time": len(events)}))

    while invoked < n_ops or pending:
        if free and invoked < n_ops and (not pending or rng.random() < 0.5):
            pid = free.pop(rng.randrange(len(free)))
            invoked += 1
            pending[pid] = _invoke(rng, pid, store, counter, emit, keys)
            continue
        pid = rng.choice(list(pending))
        op = pending[pid]
        if "result" not in op and rng.random() < 0.6:
            op["result"] = _apply(store, op)
            continue
        roll = rng.random()
        if roll < info_rate:
            emit(pid, "info", op["f"], op["key"], op["value"])
            free.append(next_pid)
            next_pid += 1
        elif "result" not in op and roll < info_rate + fail_rate:
            emit(pid, "fail", op["f"], op["key"], op["value"])
            free.append(pid)
        elif "result" in op:
            took, value = op["result"]
            emit(pid, "ok" if took else "fail", op["f"], op["key"], value)
            free.append(pid)
        else:
            continue
        del pending[pid]
    return events


def _invoke(rng, pid, store, counter, emit, keys):
    key = rng.randrange(keys)
    f = rng.choice(("read", "read", "write", "cas"))
    counter[0] += 1
    value = (None if f == "read" else counter[0] if f == "write"
             else [store[key] if rng.random() < 0.5 else rng.randrange(counter[0]), counter[0]])
    emit(pid, "invoke", f, key, value)
    return {"f": f, "key": key, "value": value}


def _apply(store, op):
    key, f, value = op["key"], op["f"], op["value"]
    if f == "read":
        return True, store[key]
    if f == "write":
        store[key] = value
        return True, value
    if store[key] == value[0]:
        store[key] = value[1]
        return True, value
    return False, value


def scaling_rows(quick):
    """(label, ops, processes, keys, verdict, elapsed_s, memo entries, peak MiB)."""
    lengths = (1000, 5000, 10000) if quick else (1000, 5000, 10000, 20000, 40000)
    one_key = (5, 10, 15) if quick else (5, 10, 15, 20)
    many_keys = (10, 40) if quick else (10, 20, 40, 80)
    cases = [("length", n, 10, 20) for n in lengths]
    cases += [("concurrency, 1 key", 1000, p, 1) for p in one_key]
    cases += [("concurrency, 20 keys", 10000, p, 20) for p in many_keys]
    rows = []
    for label, n, procs, keys in cases:
        history = parse_events(simulate(n, procs, keys), source=f"sim-{n}-{procs}-{keys}")
        result = check_linearizable(history, "cas-register", time_limit=60)
        peak = _peak_mib(lambda: check_linearizable(history, "cas-register", workers=1,
                                                    time_limit=60))
        rows.append((label, n, procs, keys, result["valid"], result["elapsed_s"],
                     result["memo_entries"], peak))
    return rows


def scaling_table(rows):
    out = ["| series | ops | processes | keys | verdict | elapsed_s | memo entries | peak MiB |",
           "|---|---|---|---|---|---|---|---|"]
    out += [f"| {a} | {b} | {c} | {d} | {e} | {f:.3f} | {g} | {h:.1f} |" for a, b, c, d, e, f, g, h
            in rows]
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="smaller scaling series")
    args = parser.parse_args(argv)
    rows = corpus_rows(args.corpus, args.runs)
    lines = ["### Corpus (elapsed_s: median of runs, process start-up excluded)", ""]
    lines += corpus_summary(rows) + [""] + corpus_table(rows)
    lines += ["", "### Large generated histories (cas-register, simulated linearizable store)", ""]
    lines += scaling_table(scaling_rows(args.quick))
    lines += ["", f"- max RSS of the benchmark process: "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
