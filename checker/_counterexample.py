"""Readable counterexamples for a key that cannot be linearized (layer: checker).

The counterexample is a *window*: a contiguous run of the key's ops (invoke
order) that on its own cannot be linearized, shrunk from both ends, so that it
is a proof by itself:
- it ends at a cut: ops invoked after the cut are left out and ops still
  running at the cut become `info` (they may or may not take effect), so any
  linearization of the whole history restricts to one of the window;
- it starts at op 0 from the initial value, or at a quiescent point (every
  earlier ok op completed before the window's first invoke) from an unknown
  state; earlier `info` ops stay in as `info`.
Both cuts are monotone (a failing window stays failing when widened). The end
costs no search: the key's own search never looked past its `horizon`
(checker/_search.py), so the ops invoked by then fail as a window; probing one op
less confirms that end is the smallest (a passing search, usually cheap). The start
is found by galloping from the end (small windows first), then binary search.
Searches that fail are as dear as the key's own search, so by default the shrinking
spends at most SHRINK_FACTOR times the steps of the search that decided the key (at
least SHRINK_FLOOR): the counterexample costs a fraction of its verdict (on the
Porcupine corpus, 77 of its 82 invalid histories still get a minimal window).
`minimal=True` lifts the budget. Every window reported is proven to fail;
`window.minimal` says whether both cuts were also proven smallest, or the budget ran
out first (then the window is only shrunk as far as it was proven). For the window we
report the longest partial linearization the search found (with the state after each
op) and the ops that could not be placed next, each with why.

For a key the read-mapping (checker/_readmap.py) found invalid, the same is built
over its certificate (a small closed set of ops that cannot be linearized) instead
of the whole key, after the search has confirmed that the certificate fails.
"""

from __future__ import annotations

import bisect
import dataclasses
import time

from checker._models import ANY, ILLEGAL
from checker._partition import to_calls
from checker._search import CALL, RET, TRANSITION, SearchResult, search

SHRINK_SECONDS = 10.0    # cap on the time spent shrinking a window
SHRINK_FACTOR = 0.25     # shrinking steps per step of the search that decided the key
SHRINK_FLOOR = 500       # steps the shrinking may always spend (about 0.5 ms)


def build_counterexample(model, key, ops, result, initial_value, null_read, deadline,
                         minimal=False) -> dict:
    """JSON-ready counterexample for `key` whose full search returned `result` (invalid).
    `minimal`: shrink without a step budget (only SHRINK_SECONDS and `deadline` bound it)."""
    limit = time.monotonic() + SHRINK_SECONDS
    deadline = limit if deadline is None else min(deadline, limit)
    budget = None if minimal else max(int(result.steps * SHRINK_FACTOR), SHRINK_FLOOR)
    shrink = _Shrink(model, ops, initial_value, null_read, deadline, budget)
    start, end, window_result = shrink.smallest_window(result)
    window, init, calls, kept = shrink.window(start, end)
    return {
        "key": key,
        "window": {
            "first_op": start, "end_op": end, "ops_in_key": len(ops),
            "from_time": ops[start].invoke_time, "to_time": _end_time(window),
            "start_state": _state_json(init),
            "starts_from": "the initial value" if start == 0 else "any state (quiescent point)",
            "minimal": shrink.minimal,
            "shrink_steps": shrink.spent, "shrink_budget": shrink.budget,
            "ops": [op.describe() for op in window],
        },
        "longest_linearization": _replay(calls, kept, init, window_result.longest),
        "longest_in_full_history": len(result.longest),
        "state_after_longest": _state_json(window_result.state),
        "not_placeable_next": _stuck(calls, kept, window_result),
    }


def certificate_counterexample(model, key, ops, mapped, initial_value, null_read, deadline,
                               minimal=False):
    """Counterexample for `key` from the read-mapping's certificate (`mapped`, a
    checker._readmap.Mapped), or None if the search finds the certificate linearizable
    (the read-mapping was wrong: the caller then searches the whole key).

    A certificate that is only an op reading a value nobody wrote is shown with the last
    ok plain write completed before it (closed, so still a proof), which names the state
    the read contradicts."""
    limit = time.monotonic() + SHRINK_SECONDS
    deadline = limit if deadline is None else min(deadline, limit)
    shown = sorted(mapped.certificate + _context(ops, mapped))
    window = [ops[i] for i in shown]
    init, calls, _ = to_calls(model, window, initial_value, null_read)
    found = search(calls, init, deadline=deadline)
    if found.valid is True:
        return None
    ce = build_counterexample(model, key, window, found, initial_value, null_read, deadline,
                              minimal)
    ce["window"]["ops_in_key"] = len(ops)
    ce["window"]["of"] = "the certificate"
    ce["longest_in_full_history"] = None
    culprits = [ops[i].describe() if i >= 0 else None for i in mapped.culprits]
    ce["certificate"] = {
        "kind": mapped.kind, "why": _why(mapped.kind, culprits, model, initial_value),
        "ops": [ops[i].describe() for i in mapped.certificate],
        "confirmed_by_search": found.valid is False,
    }
    return ce


def _context(ops, mapped):
    if mapped.kind != "unwritten" or len(mapped.certificate) != 1:
        return []
    read = ops[mapped.certificate[0]]
    before = [i for i, op in enumerate(ops) if op.type == "ok" and op.f in ("write", "put")
              and op.complete_time < read.invoke_time]
    return [max(before, key=lambda i: ops[i].complete_time)] if before else []


def _why(kind, culprits, model, initial_value) -> str:
    """The violation the certificate shows, in words."""
    t = [_op_text(op) if op else "the initial value (written before every op)" for op in culprits]
    if kind == "unwritten":
        v = culprits[0]["value"]
        v = v[0] if culprits[0]["f"] == "cas" else v
        return (f"{t[0]} reads {v!r}, which no op wrote and is not the initial value "
                f"{model.initial_state(initial_value)!r}")
    if kind == "two-cas":
        return f"{t[0]} and {t[1]} expect the same value: only one of them can follow its write"
    if kind == "cas-cycle":
        return "each of these cas expects the value another writes: none of them can be first"
    if kind == "read-before-write":
        return f"{t[1]} completed before {t[0]}, which wrote the value it read, was invoked"
    if kind == "chain-order":
        return (f"{t[0]} completed before {t[1]} was invoked, but the values they access are "
                f"ordered the other way by cas")
    return (f"{t[0]} completed before {t[1]} was invoked, and {t[2]} before {t[3]}: of the two "
            f"groups they belong to (a write, the reads of its value, the cas chained to it), "
            f"each must come before the other")


def counterexample_line(ce: dict) -> str:
    """One line naming the violation: the op that cannot come next, why, and what the
    longest linearization before it ended with (the report prints it)."""
    stuck = ce.get("not_placeable_next") or []
    done = ce.get("longest_linearization") or []
    text = f"key {ce['key']}: not linearizable"
    if done:
        text += f": after {_op_text(done[-1])} the state is {ce.get('state_after_longest')!r}"
    if stuck:
        text += f"; {_op_text(stuck[0])} is {stuck[0]['why']}"
    return text


def _op_text(op: dict) -> str:
    return (f"{op['type']} {op['f']} {op['value']!r} (process {op['process']}, "
            f"history line {op['line']})")


class _Shrink:
    """The window search of one counterexample, within its step budget."""

    def __init__(self, model, ops, initial_value, null_read, deadline, budget):
        self.model, self.ops, self.deadline = model, ops, deadline
        self.initial_value, self.null_read = initial_value, null_read
        self.budget = budget   # steps, or None: no budget
        self.spent = 0
        self.windows = {}
        self.minimal = True

    def smallest_window(self, result):
        """(start, end, SearchResult of that window): the smallest failing window found."""
        ops = self.ops
        end = _invoked_by(ops, result.horizon)
        best = (0, end, self._result_of(end, self.window(0, len(ops))[3], result))
        lo, hi = 1, end   # the smallest failing end is in [lo, hi]
        first = True
        while lo < hi:
            mid = hi - 1 if first else (lo + hi) // 2   # end - 1 first: it usually passes
            first = False
            found = self._fails(0, mid)
            if found is None:
                break
            if found is False:
                lo = mid + 1
                continue
            hi = min(mid, _invoked_by(ops, found.horizon))
            best = (0, hi, found if hi == mid else self._result_of(hi, self.window(0, mid)[3],
                                                                  found))
        starts = _quiescent_starts(ops, best[1])
        lo, hi = 0, len(starts) - 1   # the latest failing start is starts[i], i in [lo, hi]
        gap = 1
        while lo < hi:
            if gap:   # galloping down from the end: small windows first
                mid = max(hi + 1 - gap, lo + 1)
                gap *= 2
            else:
                mid = (lo + hi + 1) // 2
            found = self._fails(starts[mid], best[1])
            if found is None:
                break
            if found is False:
                hi = mid - 1
            else:
                lo, gap, best = mid, 0, (starts[mid], best[1], found)
        return best

    def window(self, start, end):
        """(window ops, initial state, calls, ops of the calls) of window (start, end); each
        window is built once (the one reported is also probed or mapped)."""
        got = self.windows.get((start, end))
        if got is None:
            window = _window_ops(self.ops, start, end)
            got = self.windows[start, end] = (window, *to_calls(
                self.model, window, self.initial_value, self.null_read, free_initial=start > 0))
        return got

    def _fails(self, start, end):
        """The failing SearchResult of the window, False if it passes, None if the budget or
        the time ran out (the window stays as it is, not proven minimal)."""
        left = None if self.budget is None else self.budget - self.spent
        if (left is not None and left <= 0) or time.monotonic() > self.deadline:
            self.minimal = False
            return None
        _, init, calls, _ = self.window(start, end)
        found = search(calls, init, deadline=self.deadline, max_steps=left)
        self.spent += found.steps
        if found.valid == "unknown":
            self.minimal = False
            return None
        return found if found.valid is False else False

    def _result_of(self, end, searched, found):
        """`found`, a failing search over the ops `searched` (a window from op 0 that holds
        window (0, end)), as the result of window (0, end): its longest partial
        linearization mapped to the window's calls. Every op it placed was invoked by the
        horizon, so is in the window; one left out there (an info op nobody in the window
        reads, an ok read running at the cut) is dropped if it changed no state, else the
        window is searched again."""
        _, init, calls, kept = self.window(0, end)
        where = {op.index: i for i, op in enumerate(kept)}
        longest, state = [], init
        for i in found.longest:
            op = searched[i]
            if op.index in where:
                longest.append(where[op.index])
                state = calls[where[op.index]][TRANSITION](state)
            elif not self.model.read_only(op):
                state = ILLEGAL
            if state is ILLEGAL:
                again = search(calls, init, deadline=self.deadline)
                return again if again.valid is False else SearchResult(False, [], init)
        return SearchResult(False, longest, state)


def _invoked_by(ops, horizon):
    """How many of `ops` (invoke order) were invoked at or before `horizon` (all if None)."""
    if horizon is None:
        return len(ops)
    return bisect.bisect_right([op.invoke_time for op in ops], horizon)


def _quiescent_starts(ops, end):
    """Indices i < end such that every ok op before i completed before op i's invoke."""
    starts, latest = [], None
    for i, op in enumerate(ops[:end]):
        if latest is None or latest < op.invoke_time:
            starts.append(i)
        if op.type == "ok":
            latest = op.complete_time if latest is None else max(latest, op.complete_time)
    return starts


def _window_ops(ops, start, end):
    """Ops[start:end] plus earlier info ops; ops running at the cut become info."""
    cut = ops[end].invoke_time if end < len(ops) else None
    out = [op for op in ops[:start] if op.type == "info"]
    for op in ops[start:end]:
        if cut is not None and op.type == "ok" and op.complete_time >= cut:
            op = dataclasses.replace(op, type="info", value=op.invoke_value, complete_time=None)
        out.append(op)
    return out


def _end_time(window):
    times = [op.complete_time for op in window if op.complete_time is not None]
    return max(times + [op.invoke_time for op in window])


def _replay(calls, kept, init, order):
    """The linearized ops in order, each with the state after it."""
    steps, state = [], init
    for i in order:
        state = calls[i][TRANSITION](state)
        steps.append({**kept[i].describe(), "state_after": _state_json(state)})
    return steps


def _stuck(calls, kept, window_result):
    """Ops that could be next after the longest prefix and why each cannot be."""
    placed = set(window_result.longest)
    rest = [i for i in range(len(calls)) if i not in placed]
    returns = [calls[i][RET] for i in rest if calls[i][RET] is not None]
    horizon = min(returns) if returns else None
    out = []
    for i in rest:
        if horizon is not None and calls[i][CALL] > horizon:
            continue
        legal = calls[i][TRANSITION](window_result.state) is not ILLEGAL
        why = ("legal here, but then the remaining ops cannot be linearized" if legal else
               f"not legal in state {_state_json(window_result.state)!r}")
        out.append({**kept[i].describe(), "why": why})
    return out


def _state_json(state):
    """A model state as JSON: ANY (unknown) becomes "<any>"."""
    if state is ANY:
        return "<any>"
    if isinstance(state, tuple):
        if len(state) == 2 and state[0] is ANY:
            return f"<any>+{state[1]!r}"
        return [_state_json(s) for s in state]
    return state
