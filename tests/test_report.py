"""The end-of-run summary: banner, one line per check from the check's own summary, then its
lines (SLAs) or its first errors; nothing in the report knows a checker."""

from checker import RunContext, run_check
from harness.report import MAX_ERRORS, summary_lines

MS = 1_000_000


def results(checks, valid=True, **extra):
    return {"case": "TC-AF-001", "valid": valid, "nodes": ["n1", "n2", "n3"], "seed": 7,
            "run_dir": "/store/tc-af-001/x", "checks": checks, **extra}


def test_banner_and_one_line_per_check_from_its_summary():
    lines = summary_lines(results({
        "linearizable": {"valid": True, "summary": "120 ops on 8 keys in 0.01 s"},
        "perf": {"valid": "unknown", "summary": "no ops"}}))
    assert lines == ["=== TC-AF-001: PASSED ===",
                     "nodes 3, seed 7, run /store/tc-af-001/x",
                     "✓ linearizable   True: 120 ops on 8 keys in 0.01 s",
                     "? perf           unknown: no ops"]


def test_a_failed_check_lists_its_first_errors_and_a_crash_its_error():
    errors = [f"lost add {i}" for i in range(MAX_ERRORS + 3)]
    lines = summary_lines(results({
        "rpo": {"valid": False, "summary": "9 acknowledged adds, 8 lost", "errors": errors},
        "split-brain": {"valid": "unknown", "error": "BadHistory: line 3"}}, valid=False,
        interrupted="SIGINT"))
    assert lines[0] == "=== TC-AF-001: FAILED ==="
    assert lines[2:] == (["✗ rpo            False: 9 acknowledged adds, 8 lost"]
                         + [f"    - lost add {i}" for i in range(MAX_ERRORS)]
                         + ["? split-brain    unknown: BadHistory: line 3",
                            "! run interrupted: SIGINT"])


def test_an_error_that_is_the_summary_is_said_once():
    lines = summary_lines(results({"availability": {
        "valid": False, "summary": "no leader from 3.0 s to the end",
        "errors": ["no leader from 3.0 s to the end", "another finding"]}}, valid=False))
    assert lines[2:] == ["✗ availability   False: no leader from 3.0 s to the end",
                         "    - another finding"]


def test_lines_replace_errors_and_unknown_verdicts_say_unknown():
    lines = summary_lines(results({"x": {"valid": False, "summary": "s", "errors": ["e"],
                                         "lines": ["✗ FAIL thing"]}}, valid="bogus"))
    assert lines[0] == "=== TC-AF-001: UNKNOWN ==="
    assert lines[2:] == ["✗ x              False: s", "✗ FAIL thing"]


def _kill_without_election():
    """n1 leads term 2 and is killed at 1 s; nobody is ever elected."""
    h = [{"process": 1, "type": "invoke", "f": "write", "key": "k", "value": 1, "time": 0},
         {"process": 1, "type": "ok", "f": "write", "key": "k", "value": 1, "time": 10 * MS,
          "node": "n1", "term": 2, "lsn": 1},
         {"process": "nemesis", "type": "invoke", "f": "kill", "value": {"nodes": ["n1"]},
          "time": 999 * MS},
         {"process": "nemesis", "type": "info", "f": "kill", "value": {"nodes": ["n1"]},
          "time": 1000 * MS}]
    states = [{"time": t * MS, "node": n, "ok": True, "term": 2,
               "role": "leader" if n == "n1" else "follower", "leader": "n1"}
              for t in range(0, 1000, 50) for n in ("n1", "n2", "n3")]
    states += [{"time": t * MS, "node": n, "ok": True, "term": 2, "role": "follower",
                "leader": "n1"} for t in range(1000, 1500, 50) for n in ("n2", "n3")]
    states += [{"time": t * MS, "node": n, "ok": True, "term": 3, "role": "candidate",
                "leader": None} for t in range(1500, 4000, 50) for n in ("n2", "n3")]
    return h, states


def test_sla_lines_print_fail_never_and_the_other_metrics():
    h, states = _kill_without_election()
    sla = run_check("sla", h, RunContext(states=states, thresholds={"leader_election_s": 5}))
    lines = summary_lines(results({"sla": sla}, valid=False))
    assert lines[2] == ("✗ sla            False: 0 SLA(s) met, 2 failed "
                        "(leader_election_s, total_rto_s), 5 not judged")
    assert "✗ FAIL (never) leader_election_s: never happened in 1 of 1 episode(s) < 5 s" in lines
    assert ("✗ FAIL (never) total_rto_s: never happened in 1 of 1 episode(s) "
            "(no threshold in this case: never completing fails)") in lines
    assert "- info failure_detection_s: 0.50 s (max) (not an SLA of this case)" in lines
    assert "- info client_redirect_s: never in 1 of 1 episode(s) (not an SLA of this case)" in lines
    assert "- info split_brain_detect_s: not measured (not an SLA of this case)" in lines


def test_sla_lines_print_pass_and_not_measured():
    h, states = _kill_without_election()
    states += [{"time": t * MS, "node": n, "ok": True, "term": 3,
                "role": "leader" if n == "n2" else "follower", "leader": "n2"}
               for t in range(4000, 5000, 50) for n in ("n2", "n3")]
    sla = run_check("sla", h, RunContext(states=states, thresholds={
        "leader_election_s": 5, "split_brain_detect_s": 5}))
    lines = summary_lines(results({"sla": sla}))
    assert ("✓ PASS leader_election_s: 3.00 s (max, median 3.00 s, 1 episode(s)) < 5 s"
            in lines)
    assert "- n/a  split_brain_detect_s: not measured (no episode), threshold < 5 s" in lines
