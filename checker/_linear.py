"""Linearizability checker: history in, result dict out (layer: checker).

`check_linearizable` validates the history against the model, splits it per
key (checker/_partition.py), searches each key (checker/_search.py; keys in
parallel worker processes when there is enough work to pay for starting them),
and for an invalid key builds a counterexample (checker/_counterexample.py).

Three-valued verdict: False as soon as one key is invalid; True only if every
key is valid; otherwise "unknown" (time or memory limit), with coverage.
"""

from __future__ import annotations

import os
import time

from checker._counterexample import build_counterexample, counterexample_line
from checker._history import History
from checker._models import get_model
from checker._partition import check_options, partition, validate_ops
from checker._schedule import HANDED_OFF, SKIPPED, run_keys, run_keys_parallel

DEFAULT_MEMO_BYTES = 1 << 30   # the whole check's memo budget (estimated), split across workers
SOLO_SECONDS = 0.3             # one-process time before the keys still running go to a pool


def check_linearizable(history: History, model="cas-register", *, initial_value=None,
                       null_read="absent", time_limit=None, workers=None,
                       max_memo_bytes=DEFAULT_MEMO_BYTES) -> dict:
    """Check `history` for linearizability against `model` (a name, see MODELS).

    Returns the result dict (what `harness check --json` prints): valid (True,
    False or "unknown"), model, ops, keys, keys_decided, coverage, elapsed_s,
    and `counterexample` plus `errors` (one line naming the op that cannot be placed) when
    invalid. elapsed_s is the whole check; search_s the part
    up to the verdict (elapsed_s minus building the counterexample). Raises BadHistory for malformed ops and
    ValueError for bad options.
    """
    started = time.perf_counter()
    deadline = None if time_limit is None else time.monotonic() + time_limit
    model_obj = get_model(model)
    check_options(model_obj, initial_value, null_read)
    validate_ops(history, model_obj)
    keys = partition(history)
    results = _search_keys(model_obj.name, keys, initial_value, null_read, deadline,
                           max_memo_bytes, workers)
    verdict = _verdict(results)
    search_s = time.perf_counter() - started
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
    if verdict is False:
        key = out["invalid_keys"][0]
        out["counterexample"] = build_counterexample(
            model_obj, key, keys[key], results[key], initial_value, null_read, deadline)
        out["errors"] = [counterexample_line(out["counterexample"])]
    out["search_s"] = round(search_s, 6)
    out["elapsed_s"] = round(time.perf_counter() - started, 6)
    return out


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
    if workers is None:
        workers = min(os.cpu_count() or 1, 4)
    return max(1, min(workers, len(keys)))
