"""Availability and latency per phase: figures checked exactly, paired verdict cases."""

from hypothesis import given, settings
from hypothesis import strategies as st

from checker import RunContext, run_check
from checker.perf import percentile

MS = 1_000_000


def check_perf(history, min_availability=None):
    """The perf checker through the registry (check_safe: a crash is unknown)."""
    options = {} if min_availability is None else {"min_availability": min_availability}
    return run_check("perf", history, RunContext(options=options))


def op(process, t0, t1, type_="ok", f="write"):
    inv = {"process": process, "type": "invoke", "f": f, "key": "k", "value": process,
           "time": t0 * MS}
    return [inv, {**inv, "type": type_, "time": t1 * MS, "node": "n1"}]


def nemesis(f, t):
    return [{"process": "nemesis", "type": "invoke", "f": f, "value": {"nodes": ["n1"]},
             "time": (t - 1) * MS},
            {"process": "nemesis", "type": "info", "f": f, "value": {"nodes": ["n1"]},
             "time": t * MS}]


def run():
    h = op(1, 0, 10) + op(1, 100, 120) + op(1, 200, 230)          # before: 3 ok, 10/20/30 ms
    h += nemesis("kill", 300)
    h += op(2, 310, 1310, "info") + op(3, 400, 405, "fail") + op(3, 500, 600)  # faults
    h += nemesis("start", 1000)
    h += op(4, 1000, 1004) + op(4, 1100, 1102)                     # after
    h += [{"process": "final", "type": "invoke", "f": "read", "key": "k", "value": None,
           "time": 1400 * MS},
          {"process": "final", "type": "ok", "f": "read", "key": "k", "value": [1],
           "time": 1401 * MS}]
    return h


def test_per_phase_counts_rates_and_latencies():
    r = check_perf(run())
    assert r["valid"] is True and r["errors"] == []
    assert r["fault_window"] == [300 * MS, 1000 * MS]
    before, faults, after = (r["phases"][p] for p in ("before", "faults", "after"))
    assert (before["ops"], before["ok"], before["fail"], before["info"]) == (3, 3, 0, 0)
    assert before["latency_ms"] == {"min": 10, "avg": 20, "p50": 20, "p95": 30, "p99": 30,
                                    "max": 30}
    assert before["span_s"] == 0.3 and abs(before["ops_per_s"] - 10) < 1e-9
    assert (faults["ops"], faults["ok"], faults["fail"], faults["info"]) == (3, 1, 1, 1)
    assert abs(faults["availability"] - 1 / 3) < 1e-9
    assert faults["latency_ms"]["max"] == 100
    assert (after["ops"], after["ok"], after["latency_ms"]["p99"]) == (2, 2, 4)
    overall = r["overall"]
    assert (overall["ops"], overall["ok"], overall["fail"], overall["info"]) == (8, 6, 1, 1)
    assert overall["span_s"] == 1.31  # from the first invoke to the info's completion


def test_without_faults_everything_is_before():
    r = check_perf(op(1, 0, 10) + op(2, 5, 8, "info"))
    assert r["fault_window"] is None
    assert r["phases"]["before"]["ops"] == 2 and r["phases"]["faults"]["ops"] == 0
    assert r["phases"]["faults"]["availability"] is None
    assert r["phases"]["faults"]["latency_ms"]["p50"] is None


def test_low_availability_under_faults_is_rejected_when_a_floor_is_given():
    r = check_perf(run(), min_availability=0.5)
    assert r["valid"] is False
    assert r["errors"] == ["faults: availability 0.333 < 0.5"]
    assert check_perf(run(), min_availability=0.3)["valid"] is True


def test_no_ops_is_unknown_and_bad_input_is_unknown():
    assert check_perf(nemesis("kill", 5))["valid"] == "unknown"
    r = check_perf([{"process": 1, "type": "ok", "f": "write", "time": 1}])
    assert r["valid"] == "unknown" and "BadHistory" in r["error"]


def test_percentile_nearest_rank():
    assert percentile([], 50) is None
    assert percentile([1, 2, 3, 4], 50) == 2 and percentile([1, 2, 3, 4], 99) == 4
    assert percentile([7], 1) == 7


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0, 1000, allow_nan=False), min_size=1, max_size=50),
       st.floats(0.1, 100))
def test_percentile_is_an_element_with_enough_values_at_or_below(values, q):
    values = sorted(values)
    p = percentile(values, q)
    assert p in values
    assert sum(v <= p for v in values) >= q / 100 * len(values)
