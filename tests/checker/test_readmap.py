"""The read-mapping fast path (checker/_readmap.py) against the brute-force oracle and the
search, and its certificates as proofs.

Properties on histories from a simulated register (unique values; info, fail and cas ops),
with stale reads planted and reads mutated to other values (which makes every kind of
violation: a read before its write, two cas of one value, cas cycles, two-chain cycles):
- where the read-mapping decides, it agrees with brute force (small) and the search (larger);
- a valid verdict's witness replays through the model and respects real time;
- the run-time replay of a witness (over the register view) and the replay through the
  model's transitions agree on every order, the witness and orders broken from it;
- an invalid verdict's certificate is closed and invalid by brute force, and minimal:
  dropping any op it may drop (one no other op reads from) makes it linearizable;
- histories with duplicate values read fall back to the search and say so.
"""

import itertools
import json

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from checker import check_linearizable, get_model, parse_lines
from checker._partition import partition
from checker._readmap import decide
from checker._readmap_proof import order_problem, witness_problem
from linear_sim import ACTIONS, brute_force, events_of, mutate_read, plant_stale_read, simulate

picks = st.lists(st.tuples(st.integers(0, 9), st.integers(0, ACTIONS - 1)), max_size=16)
long_picks = st.lists(st.tuples(st.integers(0, 9), st.integers(0, ACTIONS - 1)), max_size=80)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MODEL = get_model("cas-register")


def _history(events):
    return parse_lines([json.dumps(e) for e in events])


def _key_ops(events):
    [ops] = partition(_history(events)).values()
    return ops


def _variant(events, kind, pick, choice):
    if kind == "stale":
        return plant_stale_read(events)
    if kind == "mutate":
        return mutate_read(events, pick, choice)
    return events


def _invokes(events):
    return sum(e["type"] == "invoke" for e in events)


variants = st.tuples(st.sampled_from(["none", "stale", "mutate"]), st.integers(0, 50),
                     st.integers(0, 50))


@SETTINGS
@given(picks, st.integers(2, 4), variants, st.sampled_from(["absent", "unknown"]))
def test_agrees_with_brute_force_and_proves_its_verdict(choices, processes, variant, null_read):
    events = _variant(simulate(choices, processes), *variant)
    assume(0 < _invokes(events) <= 7)
    ops = _key_ops(events)
    found = decide(MODEL, ops, None, null_read)
    assert found.valid is not None, found.reason          # unique values: always decided
    assert found.valid is brute_force(events, null_read=null_read)
    if found.valid:
        assert witness_problem(MODEL, ops, found.order, None, null_read) == ""
        assert order_problem(found.key, ops, found.order) == ""
    else:
        _assert_minimal_proof(ops, found.certificate, null_read)


@settings(SETTINGS, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.lists(st.tuples(st.integers(0, 9), st.integers(0, ACTIONS - 1)), min_size=4,
                max_size=80),
       st.integers(2, 5), st.sampled_from(["absent", "unknown"]),
       st.lists(st.tuples(st.sampled_from(["swap", "drop", "twice", "move", "stray"]),
                          st.integers(0, 200), st.integers(0, 200)), min_size=1, max_size=3))
def test_both_witness_replays_agree_on_every_order(choices, processes, null_read, edits):
    """order_problem (run time: the register view) rejects exactly the orders that
    witness_problem (the model's transitions) rejects: so the run-time check trusts only
    that register_view and the transitions describe the same register."""
    events = simulate(choices, processes)
    assume(_invokes(events) > 1)
    ops = _key_ops(events)
    found = decide(MODEL, ops, None, null_read)
    assume(found.valid is True and found.order)
    order = list(found.order)
    for kind, a, b in edits:
        a, b = a % len(order), b % len(order)
        if kind == "swap":
            order[a], order[b] = order[b], order[a]
        elif kind == "drop":
            del order[a]
        elif kind == "twice":
            order.insert(b, order[a])
        elif kind == "move":
            order.insert(b, order.pop(a))
        else:
            order.insert(b, (a % len(ops)))
        if not order:
            break
    by_model = witness_problem(MODEL, ops, order, None, null_read)
    by_view = order_problem(found.key, ops, order)
    assert bool(by_model) == bool(by_view), (by_model, by_view, order)


def _assert_minimal_proof(ops, certificate, null_read):
    cert = [ops[i] for i in certificate]
    assert brute_force(events_of(cert), null_read=null_read) is False, cert
    for op in cert:
        others = [o for o in cert if o is not op]
        if not _read_from(op, others):
            assert brute_force(events_of(others), null_read=null_read) is True, (op, cert)


def _read_from(op, others):
    """Does an op of `others` read the value `op` wrote?"""
    written = op.value if op.f == "write" else op.value[1] if op.f == "cas" else object()
    return any((o.f == "read" and o.value == written) or (o.f == "cas" and o.value[0] == written)
               for o in others)


@SETTINGS
@given(long_picks, st.integers(2, 8), variants)
def test_agrees_with_the_search_on_larger_histories(choices, processes, variant):
    events = _variant(simulate(choices, processes), *variant)
    assume(_invokes(events) > 0)
    fast = check_linearizable(_history(events), "cas-register", time_limit=30)
    slow = check_linearizable(_history(events), "cas-register", time_limit=30, method="search")
    assert fast["method"] == "read-mapping" and slow["method"] == "search"
    assert fast["valid"] is slow["valid"], (fast, slow)
    if fast["valid"] is False:
        ce = fast["counterexample"]
        assert ce["certificate"]["confirmed_by_search"] is True
        assert ce["not_placeable_next"]


def _duplicates(start):
    return itertools.cycle(range(start, start + 3))


@SETTINGS
@given(picks, st.integers(2, 4), variants)
def test_duplicate_values_fall_back_to_the_search(choices, processes, variant):
    events = _variant(simulate(choices, processes, fresh=_duplicates), *variant)
    assume(0 < _invokes(events) <= 7)
    result = check_linearizable(_history(events), "cas-register", time_limit=30)
    assert result["valid"] is brute_force(events)
    found = decide(MODEL, _key_ops(events))
    if found.valid is None:
        assert result["method"] == "search"
        assert list(result["fallback"]) == [found.reason]
    else:
        assert result["method"] == "read-mapping" and result["fallback"] == {}



def test_a_wrong_witness_at_run_time_falls_back_to_the_search_and_says_so(monkeypatch):
    """If the graph reasoning ever returned a wrong order, the run-time replay rejects it,
    the key goes to the search (which still decides it) and the result names the bug."""
    import checker._linear as linear
    events = simulate([(p % 10, p % ACTIONS) for p in range(40)], 3)
    real = linear.decide

    def reversed_witness(*args):
        found = real(*args)
        found.order = list(reversed(found.order))
        return found

    monkeypatch.setattr(linear, "decide", reversed_witness)
    result = check_linearizable(_history(events))
    assert result["valid"] is True and result["method"] == "search", result
    [reason] = result["fallback"]
    assert reason.startswith("read-mapping witness rejected (a bug): "), reason
