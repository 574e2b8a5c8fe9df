"""Self-test matrix: each planted emulator bug makes a short real run exit 1 and name
its violation (layer: tests).

Every run goes through `harness run` as a user would, on the default backend
(docker where an engine answers, else netns), 3 nodes, about 20 s of workload:

| bug | case | named violation |
|---|---|---|
| early-ack | tc-af-005 | rpo lost adds and/or split-brain divergent_lsn (acked writes overwritten) |
| lease-no-check-quorum | tc-af-005 | split-brain: isolated leader did not step down in 5 s |
| no-fsync | SELFTEST-CRASH-ALL | rpo: acknowledged adds lost after every node was killed |
| stale-read | tc-af-001 | linearizable: a read older than a completed write, with counterexample |

The same commands without the bug exit 0: tc-af-005 with seed 7 and --time-limit
20 is run by test_cases_short.py; SELFTEST-CRASH-ALL here. stale-read became reliable
once clients start each op at a random node (before, they stuck to the leader and saw
it in about 7 runs of 10). vote-twice (rarely seen in real runs: pre-vote leaves a
window of about a millisecond) is left out: a CI test must not be flaky; see
BENCHMARKS.md "Planted-bug self-test matrix" and tests/emulator/test_raft_bugs.py.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SEED = "7"            # the seed test_cases_short.py runs the TC-AF cases with (correct twins)
TIME_LIMIT = "20"
RUN_TIMEOUT_S = 300   # docker bring-up on shared cores plus the ~25 s run
CRASH_ALL = str(Path(__file__).parents[2] / "harness" / "cases" / "selftest-crash-all.yaml")


def harness(*argv, timeout=RUN_TIMEOUT_S):
    return subprocess.run([sys.executable, "-m", "harness", *argv], capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "store"
    try:
        yield path
    finally:  # the runner tears down; this catches a run killed by the timeout
        harness("cluster", "down", "--all", "--store", str(path), timeout=120)


def run_case(case, store, *bugs) -> tuple[int, dict, str]:
    """(exit code, results.json, report.txt) of one short 3-node run."""
    opts = [x for bug in bugs for x in ("--db-opt", f"bug={bug}")]
    proc = harness("run", case, "--nodes", "3", "--seed", SEED, "--time-limit", TIME_LIMIT,
                   "--store", str(store), "--quiet", "--json", *opts)
    assert proc.returncode in (0, 1), proc.stdout[-3000:] + proc.stderr[-3000:]
    results = json.loads(proc.stdout)
    run_dir = Path(results["run_dir"])
    replay = json.loads((run_dir / "run.json").read_text())["replay"]
    assert all(f"bug={bug}" in replay for bug in bugs), replay
    return proc.returncode, results, (run_dir / "report.txt").read_text()


def failed(code, results, report) -> dict:
    """The checks of a run that must have failed; the report is the assertion message."""
    assert code == 1 and results["valid"] is False, report
    assert f"=== {results['case']}: FAILED ===" in report
    return Checks(results["checks"], report)


class Checks(dict):
    """results.json `checks`, carrying the run's report for assertion messages."""

    def __init__(self, checks, report):
        super().__init__(checks)
        self.report = report


def test_early_ack_loses_acknowledged_writes(store):
    """Writes the leader acknowledged before a majority had them are overwritten after
    it loses leadership: lost set adds (rpo) and/or one lsn acknowledged for two writes
    (split-brain divergent_lsn, register writes too); which of the two shows varies."""
    checks = failed(*run_case("tc-af-005", store, "early-ack"))
    rpo, sb = checks["rpo"], checks["split-brain"]
    overwritten = [v for v in sb["violations"] if v["kind"] == "divergent_lsn"]
    assert overwritten or rpo["counts"]["lost"] > 0, checks.report
    assert rpo["counts"]["lost"] == len(rpo["lost"])
    if rpo["lost"]:
        assert rpo["valid"] is False and rpo["targets"]["linearizable"]["valid"] is False
        assert all(lost["acked_by"] in ("n1", "n2", "n3") for lost in rpo["lost"])
    for v in overwritten:
        assert "acknowledged for 2 writes" in v["message"] and len(v["ops"]) == 2


def test_lease_without_check_quorum_keeps_an_isolated_leader(store):
    code, results, report = run_case("tc-af-005", store, "lease-no-check-quorum")
    checks = failed(code, results, report)
    sb = checks["split-brain"]
    kinds = {v["kind"] for v in sb["violations"]}
    assert sb["valid"] is False and kinds <= {"no_step_down", "slow_step_down"} and kinds, report
    # TC-AF-005 is judged on failback, so the step-down shows as the split-brain checker's
    # violation (its own 5 s bar), named in the report, rather than as an SLA line.
    assert any(f"leader {v['leader']} (term {v['term']}) isolated" in report
               for v in sb["violations"]), report
    assert "✗ split-brain" in report


def test_no_fsync_loses_writes_when_every_node_crashes(store):
    checks = failed(*run_case(CRASH_ALL, store, "no-fsync"))
    rpo = checks["rpo"]
    assert rpo["valid"] is False and rpo["counts"]["lost"] == len(rpo["lost"]) > 0, checks.report
    # a replica that lost its WAL tail may not answer the final linearizable read: unknown
    assert any(t["valid"] is False for t in rpo["targets"].values())


def test_crash_all_passes_against_the_correct_emulator(store):
    code, results, report = run_case(CRASH_ALL, store)
    assert code == 0 and results["valid"] is True, {
        k: c.get("errors") or c.get("error") for k, c in results["checks"].items()}
    rpo = results["checks"]["rpo"]
    assert rpo["counts"]["lost"] == 0 and rpo["counts"]["acknowledged"] > 100
    kills = [e for e in map(json.loads, (Path(results["run_dir"]) / "history.jsonl")
                            .read_text().splitlines())
             if e.get("process") == "nemesis" and e.get("f") == "kill" and e["type"] == "info"]
    assert kills and all(sorted(k["value"]["nodes"]) == ["n1", "n2", "n3"] for k in kills)
    assert "=== SELFTEST-CRASH-ALL: PASSED ===" in report


def test_stale_read_from_a_follower_is_not_linearizable(store):
    checks = failed(*run_case("tc-af-001", store, "stale-read"))
    lin = checks["linearizable"]
    assert lin["valid"] is False and lin["counterexample"]["key"] in lin["invalid_keys"]
    assert any("not linearizable" in e for e in lin["errors"]), checks.report
    assert "linearizable   False" in checks.report
