"""A real campaign on a real cluster: campaigns/planted.yaml (a correct run and a run with a
planted stale-read bug) exits 1, and its JUnit failure names the linearizability violation."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def harness(*argv, timeout):
    return subprocess.run([sys.executable, "-m", "harness", *argv], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def test_planted_bug_campaign_exits_1_and_junit_names_the_violation(tmp_path):
    import junitparser   # a real JUnit parser (test extra in pyproject.toml)
    store, junit = tmp_path / "store", tmp_path / "out" / "junit.xml"
    try:
        done = harness("campaign", "campaigns/planted.yaml", "--store", str(store),
                       "--junit", str(junit), "--markdown", str(tmp_path / "summary.md"),
                       timeout=1200)
    finally:
        harness("cluster", "down", "--all", "--store", str(store), timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    suites = list(junitparser.JUnitXml.fromfile(str(junit)))
    cases = {c.name: c.result for s in suites for c in s}
    assert set(cases) == {"TC-AF-001[n=3,seed=7]", "TC-AF-001[n=3,seed=7,bug=stale-read]"}
    assert cases["TC-AF-001[n=3,seed=7]"] == []
    (failure,) = cases["TC-AF-001[n=3,seed=7,bug=stale-read]"]
    assert type(failure).__name__ == "Failure"
    assert failure.message.startswith("linearizable: key ") and "not linearizable" in \
        failure.message
    (data_file,) = store.glob("campaigns/planted/*/campaign.json")
    data = json.loads(data_file.read_text())
    assert data["gates"]["release"]["verdict"] == "fail" and data["exit_code"] == 1
    for run in data["runs"]:
        assert (Path(run["run_dir"]) / "report.html").exists()
        assert run["replay"].startswith("harness run ")
    assert "**FAIL**" in (tmp_path / "summary.md").read_text()
