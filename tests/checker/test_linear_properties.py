"""Property-based tests of the linearizability checker (issue 3 acceptance).

Histories from a simulated linearizable register (concurrency, fail and info
ops) must be judged valid; the same histories with one provably stale read
planted must be judged invalid; on small histories the checker must agree
with the brute-force reference in linear_sim.py.
"""

import json

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from checker import check_linearizable, parse_lines
from linear_sim import ACTIONS, brute_force, plant_stale_read, simulate

choices = st.lists(st.tuples(st.integers(0, 9), st.integers(0, ACTIONS - 1)), max_size=60)
small_choices = st.lists(st.tuples(st.integers(0, 9), st.integers(0, ACTIONS - 1)), max_size=14)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check(events, **kwargs):
    history = parse_lines([json.dumps(e) for e in events])
    return check_linearizable(history, "cas-register", time_limit=20, **kwargs)


def _has_ops(events):
    return any(e["type"] == "invoke" for e in events)


@SETTINGS
@given(choices, st.integers(2, 5))
def test_simulated_register_histories_are_valid(picks, processes):
    events = simulate(picks, processes)
    assume(_has_ops(events))
    result = _check(events)
    assert result["valid"] is True, result
    assert result["keys"] == 1 and result["invalid_keys"] == []
    assert result["method"] == "read-mapping"   # simulated values are unique


@SETTINGS
@given(choices, st.integers(2, 5))
def test_a_planted_stale_read_is_caught(picks, processes):
    events = plant_stale_read(simulate(picks, processes))
    result = _check(events)
    assert result["valid"] is False, result
    ce = result["counterexample"]
    assert ce["not_placeable_next"]
    assert ce["certificate"]["confirmed_by_search"] is True
    window_ops = [op["index"] for op in ce["window"]["ops"]]
    assert window_ops == sorted(window_ops)


@SETTINGS
@given(small_choices, st.integers(2, 4), st.sampled_from(["absent", "unknown"]), st.booleans())
def test_agrees_with_brute_force_on_small_histories(picks, processes, null_read, plant):
    events = simulate(picks, processes)
    if plant:
        events = plant_stale_read(events)
    assume(_has_ops(events) and sum(e["type"] == "invoke" for e in events) <= 7)
    expected = brute_force(events, null_read=null_read)
    assert _check(events, null_read=null_read)["valid"] is expected
    assert _check(events, null_read=null_read, method="search")["valid"] is expected


@SETTINGS
@given(small_choices, st.integers(2, 4), st.integers(0, 40), st.integers(0, 40),
       st.sampled_from([None, 0, 1, 2, 3, 4]))
def test_inserted_random_reads_agree_with_brute_force(picks, processes, at, length, value):
    """A read of a random value, inserted anywhere (often illegal), against the reference."""
    events = simulate(picks, processes)
    assume(sum(e["type"] == "invoke" for e in events) <= 6)
    start = at % (len(events) + 1)
    end = start + 1 + length % (len(events) - start + 1)
    read = {"process": 99, "f": "read", "key": None}
    events.insert(start, {**read, "type": "invoke", "value": None})
    events.insert(end, {**read, "type": "ok", "value": value})
    for i, e in enumerate(events):
        e["time"] = i
    assert _check(events)["valid"] is brute_force(events)
