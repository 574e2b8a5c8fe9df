"""Running the per-key searches: interleaved, in one or several processes (layer: checker).

Porcupine checks keys in parallel and stops at the first invalid one; a
history is invalid as soon as one key is. `run_keys` gets the same effect in
one process by advancing every key's search generator a slice at a time
(round robin), so a key that fails quickly is not stuck behind a key whose
search is long. Several processes each run `run_keys` on a share of the keys
(balanced by op count) and share a stop flag. Starting processes costs
~0.1 s, so the caller first runs all keys in one process for a moment and hands
only the keys still running after it to the pool.

Keys left undecided get verdict "unknown" with the reason: "time limit",
"memory limit", or "skipped" (another key was already found invalid).
"""

from __future__ import annotations

import os
import time

from checker._models import get_model
from checker._partition import to_calls
from checker._search import SearchResult, search_steps

SKIPPED = "skipped: another key is invalid"
HANDED_OFF = "handed off to worker processes"
_stop_flag = None   # set in worker processes by _init_worker


def run_keys(model_name, keys: dict, initial_value, null_read, deadline, max_memo_bytes,
             hand_off=None) -> dict:
    """key -> SearchResult for `keys` (key -> ops), interleaving the searches.

    With `hand_off` (a time.monotonic instant), stops then if two or more keys are
    still running and marks them HANDED_OFF, so the caller can give them to a pool.
    """
    model = get_model(model_name)
    active = {}
    for key, ops in keys.items():
        init, calls, _ = to_calls(model, ops, initial_value, null_read)
        active[key] = search_steps(calls, init, max_memo_bytes=max_memo_bytes)
    results = {}
    while active:
        for key, steps in list(active.items()):
            try:
                next(steps)
            except StopIteration as done:
                results[key] = done.value
                del active[key]
                if done.value.valid is False:
                    _signal_stop()
                    return _close(active, results, SKIPPED)
        now = time.monotonic()
        if deadline is not None and now > deadline:
            return _close(active, results, "time limit")
        if hand_off is not None and now > hand_off and len(active) > 1:
            return _close(active, results, HANDED_OFF)
        if _stop_flag is not None and _stop_flag.is_set():
            return _close(active, results, SKIPPED)
    return results


def _close(active, results, reason):
    for key, steps in active.items():
        steps.close()
        results[key] = SearchResult("unknown", reason=reason)
    return results


def _signal_stop():
    if _stop_flag is not None:
        _stop_flag.set()


def _init_worker(flag):
    global _stop_flag
    _stop_flag = flag


def run_keys_parallel(model_name, keys, initial_value, null_read, deadline, max_memo_bytes,
                      workers) -> dict:
    """As run_keys, with the keys split across `workers` processes (fork where available)."""
    import multiprocessing   # here, not at the top: `harness check FILE` starts without them
    from concurrent.futures import ProcessPoolExecutor
    context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
    flag = context.Event()
    shares = _shares(keys, workers)
    budget = max_memo_bytes // workers
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_init_worker,
                             initargs=(flag,)) as pool:
        futures = [pool.submit(run_keys, model_name, share, initial_value, null_read, deadline,
                               budget) for share in shares]
        results = {}
        for future in futures:
            results.update(future.result())
    return {key: results[key] for key in keys}


def _shares(keys, workers):
    """Split keys into `workers` groups of about equal op count (largest first)."""
    shares = [{} for _ in range(workers)]
    sizes = [0] * workers
    for key in sorted(keys, key=lambda k: -len(keys[k])):
        i = sizes.index(min(sizes))
        shares[i][key] = keys[key]
        sizes[i] += len(keys[key])
    return [s for s in shares if s]
