"""The one checker signature (checker._api): check_safe, compose, the verdict merge and the
registry. Every rule is checked on cases it must reject and accept."""

import itertools

import pytest

from checker import (CHECKERS, SLA_METRICS, Checker, RunContext, check_safe, compose,
                     merge_verdicts, run_check)
from checker.runlog import Fault

VERDICTS = (True, False, "unknown")


def fixed(name, verdict, **extra):
    return Checker(name, "run", lambda history, ctx: {"valid": verdict, **extra})


def crashing(history, ctx):
    raise ZeroDivisionError("division by zero in the checker")


def test_merge_false_beats_unknown_beats_true_and_nothing_is_unknown():
    assert merge_verdicts([]) == "unknown"
    assert merge_verdicts([True]) is True
    assert merge_verdicts([True, True]) is True
    assert merge_verdicts([True, "unknown"]) == "unknown"
    assert merge_verdicts(["unknown", False, True]) is False
    assert merge_verdicts(iter([True, False])) is False
    for combo in itertools.product(VERDICTS, repeat=3):
        expected = (False if False in combo else
                    "unknown" if "unknown" in combo else True)
        assert merge_verdicts(combo) == expected, combo


def test_merge_treats_anything_but_true_as_not_valid():
    assert merge_verdicts([True, None]) == "unknown"
    assert merge_verdicts([True, 1]) == "unknown"   # 1 == True, but it is not the verdict True


def test_check_safe_turns_a_crash_into_unknown_never_valid():
    r = check_safe(Checker("boom", "run", crashing), [{"process": 1}], RunContext())
    assert r == {"valid": "unknown", "checker": "boom",
                 "error": "ZeroDivisionError: division by zero in the checker",
                 "summary": "checker crashed: ZeroDivisionError: division by zero in the checker"}


@pytest.mark.parametrize("returned", [None, [], {"valid": "yes"}, {"valid": 1}, {"figures": 3}])
def test_check_safe_rejects_a_result_without_a_three_valued_verdict(returned):
    r = check_safe(Checker("odd", "run", lambda h, c: returned), [])
    assert r["valid"] == "unknown" and r["checker"] == "odd"
    assert r["error"].startswith("TypeError: returned ")


def test_check_safe_keeps_the_result_and_fills_checker_and_summary():
    r = check_safe(fixed("x", False, errors=["n1 lost 3 writes", "n2 lost 1"]), [])
    assert r == {"valid": False, "errors": ["n1 lost 3 writes", "n2 lost 1"], "checker": "x",
                 "summary": "n1 lost 3 writes"}
    r = check_safe(fixed("y", True, summary="12 ops", checker="y-own"), [])
    assert r == {"valid": True, "summary": "12 ops", "checker": "y-own"}
    assert check_safe(fixed("z", True), [])["summary"] == "valid: True"


def test_check_safe_gives_the_checker_a_list_and_a_default_context():
    seen = {}

    def spy(history, ctx):
        seen.update(history=history, ctx=ctx)
        return {"valid": True}
    check_safe(Checker("spy", "run", spy), (e for e in [{"a": 1}]))
    assert seen["history"] == [{"a": 1}] and seen["ctx"] == RunContext()


def test_compose_runs_every_checker_and_merges():
    r = compose([fixed("a", True), fixed("b", "unknown"), Checker("c", "run", crashing)], [])
    assert r["valid"] == "unknown"
    assert list(r["checks"]) == ["a", "b", "c"]
    assert r["checks"]["c"]["valid"] == "unknown" and "ZeroDivisionError" in r["checks"]["c"]["error"]
    r = compose({"first": fixed("a", True), "second": fixed("b", False)}, [])
    assert r["valid"] is False and r["checks"]["second"]["valid"] is False
    assert compose([fixed("a", True), fixed("b", True)], [])["valid"] is True
    assert compose([], [])["valid"] == "unknown"


def test_a_checker_scope_is_workload_or_run():
    with pytest.raises(ValueError, match="scope 'cluster'"):
        Checker("x", "cluster", crashing)
    assert Checker("x", "workload", crashing).scope == "workload"


OWN = {"linearizable": "workload", "rpo": "workload", "split-brain": "run", "sla": "run",
       "perf": "run", "availability": "run"}


def test_registry_names_each_checker_once_with_its_scope():
    assert {n: CHECKERS[n].scope for n in OWN} == OWN
    assert all(c.name == n and c.doc and c.scope in ("workload", "run")
               for n, c in CHECKERS.items())
    assert "leader_election_s" in SLA_METRICS and "total_rto_s" in SLA_METRICS
    with pytest.raises(KeyError, match="unknown checker 'psychic'"):
        run_check("psychic", [])


def test_context_fault_timeline_comes_from_the_context_or_the_history():
    history = [{"process": "nemesis", "type": "info", "f": "kill", "value": {"nodes": ["n1"]},
                "time": 5}]
    [derived] = RunContext().fault_timeline(history)
    assert (derived.kind, derived.nodes, derived.start, derived.end) == ("kill", ["n1"], 5, None)
    given = Fault(kind="pause", nodes=["n2"], value={}, start=1, end=2)
    assert RunContext(faults=[given]).fault_timeline(history) == [given]
    assert RunContext(faults=[]).fault_timeline(history) == []


def test_with_options_replaces_only_the_options():
    ctx = RunContext(nodes=("n1",), thresholds={"leader_election_s": 5}, options={"a": 1})
    other = ctx.with_options(model="cas-register")
    assert other.options == {"model": "cas-register"} and ctx.options == {"a": 1}
    assert (other.nodes, other.thresholds) == (("n1",), {"leader_election_s": 5})


def test_every_registered_checker_survives_garbage_as_unknown():
    garbage = [{"process": 1, "type": "ok", "f": "write", "time": 3}]   # ok without invoke
    ctx = RunContext(options={"model": "cas-register", "workload": "register"})
    for name in CHECKERS:
        r = run_check(name, garbage, ctx)
        assert r["valid"] == "unknown" and r["checker"] == name and r["summary"], (name, r)
        if name in OWN:   # those that read client ops say why
            assert "BadHistory" in r["error"], (name, r)


def test_linearizable_needs_a_model_and_names_its_workload():
    r = run_check("linearizable", [], RunContext())
    assert r["valid"] == "unknown" and "options['model']" in r["error"]
    r = run_check("linearizable", [], RunContext(options={"model": "cas-register",
                                                          "workload": "register"}))
    assert r["valid"] == "unknown" and r["error"] == "no register operations in the history"
    stale = [{"process": 0, "type": "invoke", "f": "write", "key": "k", "value": 1, "time": 1},
             {"process": 0, "type": "ok", "f": "write", "key": "k", "value": 1, "time": 2},
             {"process": 1, "type": "invoke", "f": "read", "key": "k", "value": None, "time": 3},
             {"process": 1, "type": "ok", "f": "read", "key": "k", "value": None, "time": 4},
             {"process": 2, "type": "invoke", "f": "write", "key": "k", "value": 2, "time": 5},
             {"process": 2, "type": "info", "f": "write", "key": "k", "value": 2, "time": 6}]
    ctx = RunContext(options={"model": "cas-register", "workload": "register"})
    bad = run_check("linearizable", stale, ctx)
    assert bad["valid"] is False and bad["workload"] == "register" and bad["errors"]
    assert bad["summary"].startswith("3 ops on 1 keys")
    good = run_check("linearizable", stale[:2] + stale[4:], ctx)
    assert good["valid"] is True and good["summary"].startswith("2 ops on 1 keys")
