"""Linearizability search for the ops of one key (layer: checker).

Wing & Gong's search with Lowe's just-in-time linearization, as porcupine's
checkSingle: call and return entries in one time-ordered doubly linked list
(arrays `nxt`/`prv`, dancing links). Walking the list, a call entry whose
transition is legal in the current state is linearized: it is lifted out
(with its return) and pushed on a stack; reaching a return entry means the
op it closes can no longer be placed, so the search backtracks. A memo of
(set of linearized ops as an int bitset, state) prunes configurations seen
before (Lowe's cache).

Read-only ops are placed greedily: when an op that changes no state wherever it is
legal (a read, a get, a txn of reads: a call's read_only) is legal in the current state
and leaves it unchanged, the configuration is linearizable iff the one with that op
placed now is. (Any linearization that places it later stays one when it moves here:
every op that must precede it is placed already, or its call entry would not be
reached; moving it earlier breaks no real-time order; and removing it from its later
spot changes no state.) So when that branch fails the search backtracks past its
parent at once instead of trying the parent's other ops: on read-heavy histories
most of the orderings of reads are never tried. And an info op that would leave the
state as it is is not placed there: the configuration without it allows all the same
(an info op need never be placed) and the search reaches it anyway.

`info` ops have no return entry: they may take effect at any point after
their invoke or never, so the search succeeds as soon as every `ok` op is
linearized. Intervals are closed: at equal times calls sort before returns.

Bounded: the search gives up with verdict "unknown" at `deadline`
(time.monotonic) or when the memo would exceed `max_memo_bytes` (an estimate),
never with a wrong answer and never by exhausting memory.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from checker._models import ILLEGAL

CHECK_EVERY = 1 << 11   # steps (placements) between deadline / memory checks
BUDGET_EVERY = 1 << 8   # the same for a search with a step budget
READ_ONLY, INFO = 1, 2  # an op that leaves the state as it is: placed greedily / skipped


# A call (one op for the search) is a plain tuple (call, ret, transition, read_only):
# the closed interval [call, ret] (ret None: info), the op's transition, and whether that
# transition maps every concrete state where it is legal to itself. Built once per op by
# checker/_partition.to_calls; a plain tuple costs a quarter of a NamedTuple to build.
CALL, RET, TRANSITION = range(3)   # a call's fields by index (the 4th: read_only)


@dataclass(slots=True)
class SearchResult:
    """valid: True / False / "unknown"; longest: indices (into the calls) of the longest
    partial linearization found, in order; state: the model state after it; steps:
    the ops placed (configurations entered), the search's measure of work.
    horizon (valid False only): the latest time of an entry the search looked at. The
    search never looked past it, so the ops invoked up to then, with those still running
    then made info, fail just the same (checker/_counterexample.py cuts its window there)."""

    valid: object
    longest: list = field(default_factory=list)
    state: object = None
    memo: int = 0
    steps: int = 0
    reason: str = ""
    horizon: int | None = None


def _build_list(calls):
    """The linked list as arrays over time-ordered entries (entry 0 is the head, the last
    the tail): next, previous, is a return, call index (-1 for head and tail), the
    matching return of a call (-1 for none), time, transition, what an op that leaves the
    state as it is means (READ_ONLY, INFO or 0), bit.

    Entries sort by (time, return?, call index): one integer key per entry and a stable
    sort of calls-then-returns in call order (tuples cost 3x as much on small keys)."""
    n = len(calls)
    keys = [c[CALL] * 2 for c in calls]
    rets = [i for i, c in enumerate(calls) if c[RET] is not None]
    keys += [calls[i][RET] * 2 + 1 for i in rets]
    order = sorted(range(len(keys)), key=keys.__getitem__)
    size = len(keys) + 2
    nxt = list(range(1, size + 1))
    prv = list(range(-1, size - 1))
    is_ret = [False] * size
    is_ret[-1] = True          # reaching the tail means backtrack (cannot happen while ok ops remain)
    times = [None] * size
    op_of = [-1] * size
    match = [-1] * size
    trans = [None] * size
    same = [0] * size
    bits = [0] * size
    call_pos = [0] * n
    for pos, k in enumerate(order, 1):
        if k < n:
            call, ret, transition, read_only = calls[k]
            op_of[pos], times[pos], call_pos[k] = k, call, pos
            trans[pos], bits[pos] = transition, 1 << k
            same[pos] = INFO if ret is None else READ_ONLY if read_only else 0
        else:
            i = rets[k - n]
            op_of[pos], times[pos], is_ret[pos] = i, calls[i][RET], True
            match[call_pos[i]] = pos
    return nxt, prv, is_ret, op_of, match, times, trans, same, bits


def search(calls, init, *, deadline=None, max_memo_bytes=1 << 30, max_steps=None) -> SearchResult:
    """Decide whether `calls` (a list of calls, see above) linearize from state `init`, by `deadline` and
    within about `max_steps` steps (checked every BUDGET_EVERY steps; unknown beyond)."""
    every = CHECK_EVERY if max_steps is None else BUDGET_EVERY
    steps = search_steps(calls, init, max_memo_bytes=max_memo_bytes, check_every=every)
    try:
        while True:
            done = next(steps)
            if deadline is not None and time.monotonic() > deadline:
                steps.close()
                return SearchResult("unknown", steps=done, reason="time limit")
            if max_steps is not None and done >= max_steps:
                steps.close()
                return SearchResult("unknown", steps=done, reason="step budget")
    except StopIteration as done:
        return done.value


def search_steps(calls, init, *, max_memo_bytes=1 << 30, check_every=CHECK_EVERY):
    """The search as a generator: yields the steps done every `check_every` steps (so a
    caller can stop it, or interleave several keys) and returns the SearchResult.

    One long function on purpose: the loop is the hot path, and inlining the list
    operations (no helper calls) is what brings Python near Porcupine's speed."""
    if all(c[RET] is None for c in calls):
        return SearchResult(True, state=init)
    nxt, prv, is_ret, op_of, match, times, trans, same, bits = _build_list(calls)
    remaining = sum(is_ret) - 1   # ok ops not yet placed (the tail is no op)
    max_memo = max(1000, max_memo_bytes // (160 + len(calls) // 8))
    memo = set()   # configurations (ops placed as a bitset, state) seen
    stack = []
    longest, longest_state, deepest = [], init, 0
    state, lin, entry, steps, far = init, 0, nxt[0], 0, 0
    while True:
        t = trans[entry]
        if t is not None:   # a call entry (returns, head and tail have none)
            new = t(state)
            if new is ILLEGAL:
                entry = nxt[entry]
                continue
            forced = False
            if same[entry] and new == state:
                if same[entry] == INFO:   # never needed: not placing it leaves more choice
                    entry = nxt[entry]
                    continue
                forced = True   # placing this read-only op now is as good as any other choice
            new_lin = lin | bits[entry]
            key = (new_lin, new)
            if key not in memo:
                memo.add(key)
                steps += 1
                if not steps % check_every:
                    if len(memo) > max_memo:
                        return SearchResult("unknown", longest, longest_state, len(memo), steps,
                                            "memory limit")
                    yield steps
                stack.append((entry, state, lin, forced))
                state, lin = new, new_lin
                # lift the call and its return out of the list
                nxt[prv[entry]] = nxt[entry]
                prv[nxt[entry]] = prv[entry]
                m = match[entry]
                if m >= 0:
                    nxt[prv[m]] = nxt[m]
                    prv[nxt[m]] = prv[m]
                    remaining -= 1
                    if not remaining:
                        return SearchResult(True, [op_of[e[0]] for e in stack], state,
                                            len(memo), steps)
                entry = nxt[0]
                continue
            if not forced:
                entry = nxt[entry]
                continue
            # a forced op whose configuration was seen (so it failed): this one fails too
        if entry > far:
            far = entry
        if len(stack) > deepest:
            deepest = len(stack)
            longest, longest_state = [op_of[e[0]] for e in stack], state
        while True:   # the configuration (lin, state) failed: undo the last placement
            if not stack:
                return SearchResult(False, longest, longest_state, len(memo), steps,
                                    horizon=times[far])
            entry, state, lin, forced = stack.pop()
            m = match[entry]
            if m >= 0:
                nxt[prv[m]] = m
                prv[nxt[m]] = m
                remaining += 1
            nxt[prv[entry]] = entry
            prv[nxt[entry]] = entry
            if not forced:
                break   # try the next op in the configuration before it
            if entry > far:
                far = entry
        entry = nxt[entry]
