"""Short versions of every TC-AF case on a real 3-node cluster against the correct emulator.

Each run goes through `harness run` as a user would (default backend: docker where
an engine answers, else netns) and must exit 0 with every checker valid and every
SLA the case requires measured and met. The planted-bug counterparts, which must
exit 1, are in test_planted_bugs.py.
"""

import json
from functools import partial

import pytest
from harness_runs import harness as run_harness

from harness.cases import load_case

pytestmark = pytest.mark.slow

CASES = ["tc-af-001", "tc-af-002", "tc-af-003", "tc-af-004", "tc-af-005"]


harness = partial(run_harness, timeout=300)



@pytest.mark.parametrize("case", CASES)
def test_short_case_passes_against_the_correct_emulator(case, store):
    proc = harness("run", case, "--nodes", "3", "--time-limit", "20", "--seed", "7",
                   "--store", str(store), "--quiet", "--json")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = json.loads(proc.stdout)
    assert results["valid"] is True
    checks = results["checks"]
    assert all(c["valid"] is True for c in checks.values()), {
        k: c.get("errors") or c.get("error") for k, c in checks.items()}
    slas = {s["name"]: s for s in checks["sla"]["slas"]}
    required = load_case(case).required_slas
    assert required and all(slas[s]["pass"] is True for s in required), slas
    assert all(s["pass"] is not False for s in slas.values())
    run_dir = store / "latest"
    for name in ("history.jsonl", "states.jsonl", "case.yaml", "run.json", "results.json",
                 "report.txt", "nemesis-schedule.json", "nemesis-ledger.jsonl"):
        assert (run_dir / name).exists(), name
    assert sorted(p.name for p in (run_dir / "nodes").iterdir()) == ["n1", "n2", "n3"]
    assert "PASSED" in (run_dir / "report.txt").read_text()
    # the stored run re-checks to the same verdict without any cluster
    again = harness("check", str(run_dir), "--json")
    assert again.returncode == 0 and json.loads(again.stdout)["valid"] is True
