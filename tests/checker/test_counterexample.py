"""Counterexample windows (checker/_counterexample.py) against the brute-force oracle.

On small histories from a simulated register with a stale read planted or a read
mutated, values written up to three times (so the search decides, not the read-mapping),
the reported window must be a proof on its own: brute force finds no linearization of
its ops from its start state (the initial value, or any value for a window that starts
at a quiescent point). Small histories fit the shrink budget, so the window must also
say it is minimal, and be: one op less at the end, or the next quiescent start, and brute
force finds a linearization. On a corpus history whose shrink does not fit the default
budget, the budget holds, the window is still a proof (by the search) and the minimal one
(no budget) lies inside it.
"""

import itertools
import json
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from checker import check_linearizable, get_model, parse_lines, read_history
from checker._counterexample import _quiescent_starts, _window_ops
from checker._partition import partition, to_calls
from checker._search import BUDGET_EVERY, search
from linear_sim import ACTIONS, brute_force, events_of, mutate_read, plant_stale_read, simulate

picks = st.lists(st.tuples(st.integers(0, 9), st.integers(0, ACTIONS - 1)), max_size=18)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MODEL = get_model("cas-register")


def _triplicates(start):
    return itertools.cycle(range(start, start + 3))


def _fails(ops, start, end):
    """Brute force: window (start, end) of `ops` cannot be linearized from its start state."""
    window = _window_ops(ops, start, end)
    events = events_of(window)
    if start == 0:
        return brute_force(events) is False
    values = {None, -999}
    for op in window:
        value = op.value
        values.update(value if op.f == "cas" else [value])
    return not any(brute_force(events, initial=v) for v in values)


@SETTINGS
@given(picks, st.integers(2, 4), st.sampled_from(["stale", "mutate"]), st.integers(0, 50),
       st.integers(0, 50), st.sampled_from(["auto", "search"]))
def test_the_window_is_a_minimal_proof(choices, processes, kind, pick, choice, method):
    events = simulate(choices, processes, fresh=_triplicates)
    events = plant_stale_read(events) if kind == "stale" else mutate_read(events, pick, choice)
    assume(0 < sum(e["type"] == "invoke" for e in events) <= 8)
    history = parse_lines([json.dumps(e) for e in events])
    result = check_linearizable(history, "cas-register", time_limit=30, method=method)
    assert result["valid"] is brute_force(events)
    if result["valid"] is not False or "certificate" in result["counterexample"]:
        return   # certificates have their own minimality test (test_readmap.py)
    [ops] = partition(history).values()
    window = result["counterexample"]["window"]
    start, end = window["first_op"], window["end_op"]
    assert _fails(ops, start, end)
    assert window["minimal"] is True
    assert end == 1 or not _fails(ops, 0, end - 1)
    later = [s for s in _quiescent_starts(ops, end) if s > start]
    if later:
        assert not _fails(ops, later[0], end)


def test_the_budget_bounds_the_shrink_and_the_minimal_window_lies_inside():
    history = read_history(Path(__file__).resolve().parents[1] / "data" / "corpus" / "porcupine"
                           / "etcd_099.jsonl")
    [ops] = partition(history).values()
    cheap = check_linearizable(history)["counterexample"]["window"]
    full = check_linearizable(history, minimal_counterexample=True)["counterexample"]["window"]
    assert cheap["minimal"] is False and full["minimal"] is True
    assert cheap["shrink_steps"] <= cheap["shrink_budget"] + BUDGET_EVERY
    assert cheap["first_op"] <= full["first_op"] and full["end_op"] <= cheap["end_op"]
    assert len(full["ops"]) < len(cheap["ops"]) < len(ops)
    for window in (cheap, full):
        start, end = window["first_op"], window["end_op"]
        init, calls, _ = to_calls(MODEL, _window_ops(ops, start, end), None, "absent",
                                  free_initial=start > 0)
        assert search(calls, init).valid is False
