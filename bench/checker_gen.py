"""Histories with verdicts known by construction, for the checker benchmarks.

Usage:
  python3 bench/checker_gen.py hard DIR     # register, 20-50 processes per key, info ops,
                                            # 2k-20k ops; multi-key with 50 processes
  python3 bench/checker_gen.py gen DIR      # moderate histories up to 20k ops (side by side)
  python3 bench/checker_gen.py scale DIR    # 1M-op kv over 1,000 keys at concurrency 10;
                                            # 100k-op single register, unique values, c=20
  python3 bench/checker_gen.py one FILE --ops N --keys K --processes P [--model kv]
                                   [--info 0.05] [--plant] [--seed S]

A simulated atomic store (one register per key, or kv strings with get/put/append)
serves P client processes: each op takes effect at one instant between its invoke and
its completion, so the history is linearizable. An `info` op retires its process; it
took effect, will take effect later, or never (a third each). Written values are unique.
`--plant` makes one late ok read return a stale value: one left by an op A that
completed before an ok write W was invoked, with W completed before the read was
invoked; values being unique, no linearization explains it.

Each set directory gets a MANIFEST.json ({"files": [{"file", "model", "expected", "ops",
...}]}) for ../shared/tools/porcupine/sidebyside.py and bench/checker_scale.py.
Times are event indices (as in the corpus).
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

INFO_FATES = ("took effect", "later", "never")


class Store:
    """The simulated store and its history, written as JSON lines to `out`."""

    def __init__(self, out, model, keys, seed):
        self.out, self.model, self.rng = out, model, random.Random(seed)
        self.keys = [f"k{i}" for i in range(keys)] if keys > 1 else [None]
        self.state = {k: (None if model == "cas-register" else "") for k in self.keys}
        self.time, self.counter = 0, 0
        self.done_writes = {k: [] for k in self.keys}   # (invoke, complete, state after)
        self.plant_at, self.planted = None, False

    def emit(self, process, type_, f, key, value):
        self.out.write(json.dumps({"process": process, "type": type_, "f": f, "key": key,
                                   "value": value, "time": self.time}) + "\n")
        self.time += 1

    def fresh(self):
        self.counter += 1
        return self.counter

    def new_op(self, weights):
        key = self.rng.choice(self.keys)
        if self.model == "cas-register":
            f = self.rng.choices(("read", "write", "cas"), weights=weights)[0]
            if f == "read":
                return {"f": f, "key": key, "value": None}
            if f == "write":
                return {"f": f, "key": key, "value": self.fresh()}
            cur = self.state[key]
            expected = cur if self.rng.random() < 0.7 else self.rng.randint(1, self.fresh())
            return {"f": f, "key": key, "value": [expected, self.fresh()]}
        f = self.rng.choices(("get", "put", "append"), weights=weights)[0]
        value = None if f == "get" else f"{'x' if f == 'put' else ' y'}{self.fresh()}"
        return {"f": f, "key": key, "value": value}

    def apply(self, op):
        """Take effect now: (took effect?, completion value)."""
        key, f, value, state = op["key"], op["f"], op["value"], self.state
        if f in ("read", "get"):
            return True, state[key]
        if f in ("write", "put"):
            state[key] = value
        elif f == "append":
            state[key] = state[key] + value
        elif state[key] == value[0]:
            state[key] = value[1]
        else:
            return False, value
        return True, value

    def complete_value(self, op, result):
        """The completion value; one planted stale read (see the module docstring)."""
        if (self.plant_at is not None and not self.planted and self.time >= self.plant_at
                and op["f"] in ("read", "get")):
            stale = self._stale(op)
            if stale is not None:
                self.planted = True
                return stale
        return result

    def _stale(self, op):
        done = self.done_writes[op["key"]]
        ws = [w for w in done if w[1] < op["invoked"]]
        if not ws:
            return None
        w = max(ws, key=lambda d: d[1])
        older = [a for a in done if a[1] < w[0]]
        return max(older, key=lambda a: a[1])[2] if older else None


def simulate(out, ops, keys, processes, model="cas-register", info=0.02, fail=0.02, seed=1,
             plant=False, weights=None):
    """Write a history of `ops` ops to `out`; returns (ops, planted?)."""
    weights = weights or ((0.5, 0.3, 0.2) if model == "cas-register" else (0.5, 0.25, 0.25))
    st = Store(out, model, keys, seed)
    rng = st.rng
    st.plant_at = int(ops * 1.8) if plant else None
    free, pending, later = list(range(processes)), {}, []
    next_pid, invoked = processes, 0
    while invoked < ops or pending:
        if later and rng.random() < 0.05:
            st.apply(later.pop(rng.randrange(len(later))))
        if free and invoked < ops and (not pending or rng.random() < 0.5):
            pid = free.pop(rng.randrange(len(free)))
            op = st.new_op(weights)
            op["invoked"] = st.time
            pending[pid] = op
            invoked += 1
            st.emit(pid, "invoke", op["f"], op["key"], op["value"])
            continue
        pid = rng.choice(list(pending))
        op = pending[pid]
        if "result" not in op and rng.random() < 0.6:
            op["result"] = st.apply(op)
            if op["result"][0] and op["f"] not in ("read", "get"):
                op["state"] = st.state[op["key"]]
            continue
        roll = rng.random()
        if roll < info:
            fate = rng.choice(INFO_FATES)
            if "result" not in op and fate == "took effect":
                st.apply(op)
            elif "result" not in op and fate == "later":
                later.append(op)
            st.emit(pid, "info", op["f"], op["key"], op["value"])
            free.append(next_pid)
            next_pid += 1
        elif "result" not in op:
            if roll >= info + fail:
                continue
            st.emit(pid, "fail", op["f"], op["key"], op["value"])
            free.append(pid)
        else:
            took, value = op["result"]
            if took and "state" in op:
                st.done_writes[op["key"]].append((op["invoked"], st.time, op["state"]))
            value = st.complete_value(op, value) if took else value
            st.emit(pid, "ok" if took else "fail", op["f"], op["key"], value)
            free.append(pid)
        del pending[pid]
    return invoked, st.planted


def write_history(path, ops, keys, processes, model="cas-register", plant=False, **kw):
    """Write one history file; returns its MANIFEST entry."""
    with open(path, "w") as out:
        n, planted = simulate(out, ops, keys, processes, model=model, plant=plant, **kw)
    if plant and not planted:
        raise SystemExit(f"{path}: could not plant a stale read (too few ops?)")
    return {"file": Path(path).name, "model": model, "ops": n, "keys": keys,
            "processes": processes, "info_rate": kw.get("info", 0.02),
            "expected": "not-linearizable" if plant else "linearizable"}


HARD = [  # (name, ops, keys, processes, info rate)
    ("reg-c20-2k", 2000, 1, 20, 0.05), ("reg-c30-5k", 5000, 1, 30, 0.05),
    ("reg-c40-10k", 10000, 1, 40, 0.05), ("reg-c50-20k", 20000, 1, 50, 0.05),
    ("mk16-c50-20k", 20000, 16, 50, 0.05), ("mk16-c800-20k", 20000, 16, 800, 0.05),
]
GEN = [  # (name, model, ops, keys, processes)
    ("reg-1k-c5", "cas-register", 1000, 1, 5), ("reg-5k-c10", "cas-register", 5000, 1, 10),
    ("reg-20k-c10", "cas-register", 20000, 1, 10), ("reg8-5k-c10", "cas-register", 5000, 8, 10),
    ("reg8-20k-c20", "cas-register", 20000, 8, 20),
    ("reg64-20k-c20", "cas-register", 20000, 64, 20),
    ("kv8-5k-c10", "kv", 5000, 8, 10), ("kv8-20k-c10", "kv", 20000, 8, 10),
    ("kv64-20k-c20", "kv", 20000, 64, 20),
]
SCALE = [  # (name, model, ops, keys, processes, weights)
    ("kv-1m-1000keys-c10", "kv", 1_000_000, 1000, 10, None),
    ("kv-putget-1m-1000keys-c10", "kv", 1_000_000, 1000, 10, (0.5, 0.5, 0.0)),
    ("reg-100k-c20", "cas-register", 100_000, 1, 20, None),
]


def make_set(kind, out_dir: Path):
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = []
    for seed, spec in enumerate(_specs(kind), 1):
        name, model, ops, keys, procs, info, weights = spec
        for plant in (False, True):
            path = out_dir / f"{name}-{'bad' if plant else 'ok'}.jsonl"
            entries.append(write_history(path, ops, keys, procs, model=model, plant=plant,
                                         info=info, seed=seed, weights=weights))
            print(f"wrote {path}", flush=True)
    (out_dir / "MANIFEST.json").write_text(json.dumps({"files": entries}, indent=1) + "\n")


def _specs(kind):
    if kind == "hard":
        return [(n, "cas-register", o, k, p, i, None) for n, o, k, p, i in HARD]
    if kind == "gen":
        return [(n, m, o, k, p, 0.02, None) for n, m, o, k, p in GEN]
    return [(n, m, o, k, p, 0.02, w) for n, m, o, k, p, w in SCALE]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=("hard", "gen", "scale", "one"))
    parser.add_argument("path", type=Path)
    parser.add_argument("--ops", type=int, default=1000)
    parser.add_argument("--keys", type=int, default=1)
    parser.add_argument("--processes", type=int, default=10)
    parser.add_argument("--model", default="cas-register", choices=("cas-register", "kv"))
    parser.add_argument("--info", type=float, default=0.02)
    parser.add_argument("--plant", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.kind != "one":
        make_set(args.kind, args.path)
        return 0
    entry = write_history(args.path, args.ops, args.keys, args.processes, model=args.model,
                          plant=args.plant, info=args.info, seed=args.seed)
    print(json.dumps(entry))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
