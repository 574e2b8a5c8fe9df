"""etcd under the harness, as a user runs it (layer: tests, slow): short seeded 3-node runs
through `harness run ... --db etcd --json` on the default backend (docker where an engine
answers, else netns).

- a TC-AF case with etcd's defaults exits 0;
- serializable reads (`--db-opt serializable_reads=true`) are caught: the linearizability
  checker names an ok read of a stale value (TC-AF-001, seed 1: stale in 3 of 3 seeds
  tried, see BENCHMARKS.md "etcd");
- pre-vote: a member isolated for 5 s forces an election after the heal with etcd 3.4's
  default (pre_vote=false); with pre_vote=true no election follows any heal;
- a case with a clock fault is refused before provisioning (exit 254), naming the fault
  and the database, and leaves no run directory.
About 2 to 3 minutes in all (3 min 14 s on docker at load 30 on 2 cores).
"""

import json
from functools import partial
from pathlib import Path

import pytest
from harness_runs import harness as run_harness

pytestmark = pytest.mark.slow

CASES = Path(__file__).parent / "cases"
RUN_TIMEOUT_S = 300


harness = partial(run_harness, timeout=RUN_TIMEOUT_S)



def run_etcd(case, store, *opts, seed="7", time_limit="20") -> tuple[int, dict, str]:
    """(exit code, results.json, report.txt) of one short 3-node etcd run."""
    db_opts = [x for opt in opts for x in ("--db-opt", opt)]
    proc = harness("run", case, "--nodes", "3", "--db", "etcd", "--seed", seed,
                   "--time-limit", time_limit, "--store", str(store), "--quiet", "--json",
                   *db_opts)
    assert proc.returncode in (0, 1), proc.stdout[-3000:] + proc.stderr[-3000:]
    results = json.loads(proc.stdout)
    run_dir = Path(results["run_dir"])
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["db"]["name"] == "etcd" and "--db etcd" in meta["replay"]
    return proc.returncode, results, (run_dir / "report.txt").read_text()


def test_short_etcd_case_passes(store):
    code, results, report = run_etcd("tc-af-002", store)
    assert code == 0 and results["valid"] is True, report
    checks = results["checks"]
    assert checks["rpo"]["valid"] is True and checks["rpo"]["lost"] == [], report
    assert checks["split-brain"]["violation_count"] == 0, report
    sla = checks["sla"]
    assert sla["valid"] is True, report
    run_dir = Path(results["run_dir"])
    states = [json.loads(x) for x in (run_dir / "states.jsonl").read_text().splitlines()]
    leaders = {s["leader"] for s in states if s.get("ok") and s.get("role") == "leader"}
    assert leaders and leaders <= {"n1", "n2", "n3"}, leaders
    assert (run_dir / "nodes" / "n1" / "node.log").stat().st_size > 0


def test_serializable_reads_are_caught_as_stale(store):
    code, results, report = run_etcd("tc-af-001", store, "serializable_reads=true", seed="1")
    lin = results["checks"]["linearizable"]
    assert code == 1 and lin["valid"] is False, report
    stale = lin["counterexample"]["not_placeable_next"][0]
    assert (stale["f"], stale["type"]) == ("read", "ok"), lin["counterexample"]
    assert "ok read" in lin["errors"][0] and f"line {stale['line']}" in lin["errors"][0]
    history = [json.loads(x) for x in
               (Path(results["run_dir"]) / "history.jsonl").read_text().splitlines()]
    invoke = history[stale["line"] - 1]     # an op's line is its invoke's
    event = next(e for e in history[stale["line"]:] if e["process"] == invoke["process"])
    assert (invoke["type"], invoke["f"]) == ("invoke", "read")
    assert (event["type"], event["f"], event["value"]) == ("ok", "read", stale["value"])
    assert event["node"] in ("n1", "n2", "n3"), "the stale read names the member that served it"


REJOIN = str(CASES / "rejoin.yaml")


def test_rejoin_forces_an_election_without_pre_vote_and_not_with_it(store):
    code, results, report = run_etcd(REJOIN, store, time_limit="16")
    assert code == 0, report
    default = results["checks"]["elections"]
    assert default["episodes"], report
    assert default["elections_after_heal"] >= 1, report

    code, results, report = run_etcd(REJOIN, store, "pre_vote=true", time_limit="16")
    assert code == 0, report
    pre_vote = results["checks"]["elections"]
    assert pre_vote["episodes"], report
    assert pre_vote["elections_after_heal"] == 0, report


def test_clock_fault_is_refused_before_provisioning(store):
    proc = harness("run", str(CASES / "clock.yaml"), "--nodes", "3", "--db", "etcd",
                   "--store", str(store), timeout=60)
    assert proc.returncode == 254, proc.stdout + proc.stderr
    line = proc.stderr.strip().splitlines()[-1]
    assert "fault 'clock'" in line and "'etcd'" in line and "vDSO" in line, line
    assert not store.exists() or not any(store.glob("*/*")), "nothing was provisioned"
