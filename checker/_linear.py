"""Linearizability checker: history in, result dict out (layer: checker).

`check_linearizable` validates the history against the model, splits it per
key (checker/_partition.py), decides each register key whose values read map to
unique writes by the read-mapping (checker/_readmap.py, polynomial; every verdict
checked: a valid one by replaying its witness order, checker/_readmap_proof.py, an
invalid one by the search), searches the other keys
(checker/_search.py; in parallel worker processes when there is enough work to pay
for starting them), and for an invalid key builds a counterexample
(checker/_counterexample.py). `method` in the result says which path decided.

Three-valued verdict: False as soon as one key is invalid; True only if every
key is valid; otherwise "unknown" (time or memory limit), with coverage.
"""

from __future__ import annotations

import contextlib
import gc
import os
import time

from checker._counterexample import (build_counterexample, certificate_counterexample,
                                     counterexample_line)
from checker._history import History
from checker._models import get_model
from checker._partition import check_options, partition, to_calls
from checker._readmap import decide
from checker._readmap_proof import order_problem
from checker._schedule import HANDED_OFF, SKIPPED, run_keys, run_keys_parallel
from checker._search import SearchResult, search

DEFAULT_MEMO_BYTES = 1 << 30   # the whole check's memo budget (estimated), split across workers
SOLO_SECONDS = 0.3             # one-process time before the keys still running go to a pool
METHODS = ("auto", "search")   # auto: the read-mapping where it applies, else the search
READ_MAPPING, SEARCH = "read-mapping", "search"
CONFIRM_SECONDS = 5.0          # cap on the search confirming one read-mapping certificate


def check_linearizable(history: History, model="cas-register", *, initial_value=None,
                       null_read="absent", time_limit=None, workers=None,
                       max_memo_bytes=DEFAULT_MEMO_BYTES, method="auto",
                       minimal_counterexample=False) -> dict:
    """Check `history` for linearizability against `model` (a name, see MODELS).

    Returns the result dict (what `harness check --json` prints): valid (True,
    False or "unknown"), model, ops, keys, keys_decided, coverage, elapsed_s,
    and `counterexample` plus `errors` (one line naming the op that cannot be placed) when
    invalid. elapsed_s is the whole check; search_s the part
    up to the verdict (elapsed_s minus building the counterexample). `method` "auto"
    decides keys by the read-mapping where it applies and searches the others; "search"
    searches every key. The result's `method` says which path decided ("read-mapping",
    "search" or "read-mapping+search"), `keys_by_method` counts keys per path and
    `fallback` the searched keys per reason the read-mapping did not apply. Raises
    BadHistory for malformed ops and ValueError for bad options.
    The counterexample's window is shrunk within a budget proportional to the verdict's
    search (`window.minimal` says whether it is the smallest); `minimal_counterexample`
    lifts the budget (the time limit still holds).
    """
    with _no_gc():
        return _check(history, model, initial_value, null_read, time_limit, workers,
                      max_memo_bytes, method, minimal_counterexample)


@contextlib.contextmanager
def _no_gc():
    """The cyclic garbage collector off for the check: it allocates millions of small
    objects without cycles, and gen-2 collections rescanning them took 3-4x the check's
    own time on 100k-op histories (bench/checker_scale.py)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _check(history, model, initial_value, null_read, time_limit, workers, max_memo_bytes,
           method, minimal_counterexample) -> dict:
    started = time.perf_counter()
    deadline = None if time_limit is None else time.monotonic() + time_limit
    model_obj = get_model(model)
    check_options(model_obj, initial_value, null_read)
    if method not in METHODS:
        raise ValueError(f"method {method!r}: expected one of {', '.join(METHODS)}")
    keys = partition(history, model_obj)   # and validates every op against the model
    run = _Run(model_obj, keys, initial_value, null_read, deadline)
    mapped = run.read_map() if method == "auto" else {}
    results = run.search_rest(mapped, max_memo_bytes, workers)
    verdict = _verdict(results)
    search_s = time.perf_counter() - started
    out = _summary(history, model_obj, keys, results, verdict, initial_value, null_read)
    out.update(_methods(keys, mapped, run.fallback))
    if verdict is False:
        key = out["invalid_keys"][0]
        out["counterexample"] = run.counterexample(key, mapped.get(key), results[key],
                                                   minimal_counterexample)
        out["errors"] = [counterexample_line(out["counterexample"])]
    out["search_s"] = round(search_s, 6)
    out["elapsed_s"] = round(time.perf_counter() - started, 6)
    return out


def _summary(history, model_obj, keys, results, verdict, initial_value, null_read) -> dict:
    out = {
        "valid": verdict, "model": model_obj.name, "ops": len(history.ops), "keys": len(keys),
        "keys_decided": sum(1 for r in results.values() if r.valid != "unknown"),
        "initial_value": initial_value, "null_read": null_read,
        "invalid_keys": [k for k, r in results.items() if r.valid is False],
        "unknown_keys": [k for k, r in results.items() if r.valid == "unknown"],
        "memo_entries": sum(r.memo for r in results.values()),
        "warnings": list(history.warnings),
    }
    out["coverage"] = out["keys_decided"] / len(keys) if keys else 1.0
    if verdict == "unknown":
        out["reason"] = sorted({r.reason for r in results.values() if r.reason})
    if verdict is False:
        out["unknown_keys"] = [k for k in out["unknown_keys"] if results[k].reason != SKIPPED]
        out["keys_skipped"] = len(keys) - out["keys_decided"] - len(out["unknown_keys"])
    return out


def _methods(keys, mapped, fallback) -> dict:
    counts = {READ_MAPPING: len(mapped), SEARCH: len(keys) - len(mapped)}
    used = [m for m in (READ_MAPPING, SEARCH) if counts[m]] or [READ_MAPPING]
    reasons: dict = {}
    for reason in fallback.values():
        reasons[reason] = reasons.get(reason, 0) + 1
    return {"method": "+".join(used), "keys_by_method": counts, "fallback": reasons}


class _Run:
    """One check's keys and options: the read-mapping pass, the search of the rest, and
    the counterexample of an invalid key."""

    def __init__(self, model, keys, initial_value, null_read, deadline):
        self.model, self.keys, self.deadline = model, keys, deadline
        self.initial_value, self.null_read = initial_value, null_read
        self.fallback = {}   # key -> why the read-mapping did not decide it

    def read_map(self) -> dict:
        """key -> Mapped for the keys the read-mapping decided, each verdict checked: a
        valid one by replaying its witness, an invalid one by searching its certificate."""
        decided = {}
        for key, ops in self.keys.items():
            found = decide(self.model, ops, self.initial_value, self.null_read)
            problem = found.reason if found.valid is None else self._proof_problem(ops, found)
            found.key = None   # the register view's arrays are no longer needed
            if problem:
                self.fallback[key] = problem
            else:
                decided[key] = found
        return decided

    def _proof_problem(self, ops, found) -> str:
        if found.valid is True:
            problem = order_problem(found.key, ops, found.order)
            return problem and f"read-mapping witness rejected (a bug): {problem}"
        cert = [ops[i] for i in found.certificate]
        init, calls, _ = to_calls(self.model, cert, self.initial_value, self.null_read)
        if search(calls, init, deadline=self._soon()).valid is True:
            return "read-mapping certificate rejected by the search (a bug)"
        return ""

    def _soon(self):
        soon = time.monotonic() + CONFIRM_SECONDS
        return soon if self.deadline is None else min(soon, self.deadline)

    def search_rest(self, mapped, max_memo_bytes, workers) -> dict:
        """key -> SearchResult for every key (keys order): the read-mapping's verdicts, and
        the search's for the others (skipped if a key is already invalid)."""
        results = {k: SearchResult(m.valid) for k, m in mapped.items()}
        rest = {k: ops for k, ops in self.keys.items() if k not in mapped}
        if any(m.valid is False for m in mapped.values()):
            results.update({k: SearchResult("unknown", reason=SKIPPED) for k in rest})
        elif rest:
            results.update(_search_keys(self.model.name, rest, self.initial_value, self.null_read,
                                        self.deadline, max_memo_bytes, workers))
        return {k: results[k] for k in self.keys}

    def counterexample(self, key, mapped, result, minimal) -> dict:
        args = (self.initial_value, self.null_read, self.deadline, minimal)
        if mapped is not None:
            ce = certificate_counterexample(self.model, key, self.keys[key], mapped, *args)
            if ce is not None:
                return ce
        return build_counterexample(self.model, key, self.keys[key], result, *args)


def _verdict(results) -> object:
    values = [r.valid for r in results.values()]
    if False in values:
        return False
    return True if all(v is True for v in values) else "unknown"


def _search_keys(model, keys, initial_value, null_read, deadline, max_memo_bytes, workers):
    """key -> SearchResult: one process first; keys still running after SOLO_SECONDS
    go to a pool (restarted there) when there are several and more than one core."""
    workers = _worker_count(keys, workers)
    hand_off = time.monotonic() + SOLO_SECONDS if workers > 1 else None
    results = run_keys(model, keys, initial_value, null_read, deadline, max_memo_bytes, hand_off)
    rest = {k: keys[k] for k, r in results.items() if r.reason == HANDED_OFF}
    if rest:
        results.update(run_keys_parallel(model, rest, initial_value, null_read, deadline,
                                         max_memo_bytes, min(workers, len(rest))))
    return results


def _worker_count(keys, workers) -> int:
    """Processes the check may use: one unless there are several keys and cores."""
    if len(keys) == 1:
        return 1   # without asking os.cpu_count: about 20 us, a tenth of a small check
    if workers is None:
        workers = min(os.cpu_count() or 1, 4)
    return max(1, min(workers, len(keys)))
