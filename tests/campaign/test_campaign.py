"""Campaigns without a cluster: the matrix and its shards, pass rates and bounds, gates,
Jepsen's exit codes, merge, and JUnit XML a JUnit parser accepts."""

import json
import math
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness._cmd_campaign import merged
from harness.campaign import load_campaign, parse_shard, shard
from harness.campaign_report import junit, markdown, write_outputs
from harness.campaign_stats import exit_code, fail_rate_upper95, summarize
from harness.errors import BadInput

ROOT = Path(__file__).resolve().parents[2]
MATRIX = """
name: small
time_limit: 10
seeds: [1, 2]
cases:
  - {case: tc-af-001, nodes: [3, 5, 7]}
  - {case: tc-af-005, nodes: [3, 5, 7], db_opt: [bug=early-ack]}
"""


@pytest.fixture
def small(tmp_path):
    path = tmp_path / "small.yaml"
    path.write_text(MATRIX)
    return str(path)


def record(cell, outcome="pass", violation=None):
    code = {"pass": 0, "fail": 1, "unknown": 2, "not-run": 255}[outcome]
    return {**cell.to_json(), "exit_code": code, "outcome": outcome, "seconds": 20.0,
            "violation": violation, "run_dir": f"/store/{cell.case_id.lower()}/r{cell.index}",
            "replay": f"harness run {cell.case} --nodes {cell.nodes} --seed {cell.seed}",
            "slas": {"leader_election_s": {"measured": 1.2, "pass": True}}, "stderr": ""}


def test_matrix_is_cases_by_nodes_by_seeds_in_file_order(small):
    c = load_campaign(small)
    assert [cell.name for cell in c.cells] == [
        f"{case}[n={n},seed={s}{opt}]" for case, opt in (("TC-AF-001", ""),
                                                         ("TC-AF-005", ",bug=early-ack"))
        for n in (3, 5, 7) for s in (1, 2)]
    assert [cell.index for cell in c.cells] == list(range(12))
    assert {cell.priority for cell in c.cells[:6]} == {"P0"}   # the seed's catalogue
    assert {cell.priority for cell in c.cells[6:]} == {"P1"}
    assert c.cells[7].db_opt == ["bug=early-ack"] and c.cells[0].time_limit == 10
    again = load_campaign(small, count=3)
    assert len(again.cells) == 36 and again.cells[1].name == "TC-AF-001[n=3,seed=1,rep=1]"


@pytest.mark.parametrize("n", [1, 2, 3, 5, 12, 13])
def test_shards_cover_the_matrix_exactly_once(small, n):
    cells = load_campaign(small).cells
    slices = [shard(cells, i, n) for i in range(1, n + 1)]
    indices = sorted(c.index for s in slices for c in s)
    assert indices == list(range(len(cells)))
    assert max(map(len, slices)) - min(map(len, slices)) <= 1


def test_cli_dry_run_shards_partition_the_matrix(small):
    def cells(*extra):
        out = subprocess.run([sys.executable, "-m", "harness", "campaign", small, "--dry-run",
                              *extra], cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        return out.stdout.splitlines()
    assert sorted(cells("--shard", "1/2") + cells("--shard", "2/2"), key=lambda l: int(
        l.split()[0])) == cells()
    assert all("TC-AF-005" not in line for line in cells("--gate", "beta"))


@pytest.mark.parametrize("text,problem", [
    ("name: x\ncases: []\n", "cases: expected a non-empty list"),
    ("name: x\ncases: [{case: tc-af-001, nodes: [4]}]\n", "cases[0].nodes: 4"),
    ("name: x\ncases: [{case: tc-af-001, sedes: [1]}]\n", "cases[0].sedes: unknown field"),
    ("name: x\ncases: [{case: tc-af-001, priority: P9}]\n", "cases[0].priority 'P9'"),
    ("name: x\ncases: [{case: tc-af-001, seeds: [a]}]\n", "cases[0].seeds"),
    ("name: x\ncases: [{case: tc-af-001, time_limit: 0}]\n", "cases[0].time_limit"),
    ("name: x\ncases: [tc-zz-999]\n", "tc-zz-999"),
    ("name: 'a b'\ncases: [tc-af-001]\n", "name 'a b'"),
    ("[1, 2]\n", "expected a mapping"),
])
def test_bad_campaign_files_name_the_field(tmp_path, text, problem):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(BadInput) as err:
        load_campaign(str(path))
    assert problem in str(err.value) and "\n" not in str(err.value)


def test_bad_shard_arguments():
    assert parse_shard("2/4") == (2, 4) and parse_shard(None) == (1, 1)
    for bad in ("0/2", "3/2", "1", "a/b", "1/0"):
        with pytest.raises(BadInput):
            parse_shard(bad)


def test_failure_rate_bound_is_the_rule_of_three_then_wilson():
    assert fail_rate_upper95(0, 60) == pytest.approx(0.05)
    assert fail_rate_upper95(0, 10) == pytest.approx(0.3)
    assert fail_rate_upper95(0, 0) is None and fail_rate_upper95(0, 2) == 1.0
    # Wilson 95% upper bound for 1 failure in 20 runs is about 0.236; for 10/10, 1.0.
    assert fail_rate_upper95(1, 20) == pytest.approx(0.2361, abs=1e-3)
    assert fail_rate_upper95(10, 10) == pytest.approx(1.0)
    # 96 passes of 100 do not support "> 95% pass": the bound is about 9.8%.
    assert fail_rate_upper95(4, 100) == pytest.approx(0.0984, abs=1e-3)


def test_summary_counts_not_run_apart_and_gates(small):
    cells = load_campaign(small).cells
    recs = [record(c) for c in cells]
    s = summarize(recs)
    assert s["exit_code"] == 0 and s["totals"] == {"pass": 12, "fail": 0, "unknown": 0,
                                                   "not-run": 0}
    assert [(c["case"], c["pass"], c["carried_out"], c["fail_rate_upper95"], c["supports_95"])
            for c in s["cases"]] == [("TC-AF-001", 6, 6, 0.5, False),
                                     ("TC-AF-005", 6, 6, 0.5, False)]
    assert s["gates"]["release"]["verdict"] == "pass" and s["gates"]["beta"]["runs"] == 6
    recs[7] = record(cells[7], "fail", "rpo: n1: 3 acknowledged add(s) lost")
    recs[2] = record(cells[2], "not-run", "could not be carried out (exit 255): docker")
    s = summarize(recs)
    assert s["exit_code"] == 255
    case1, case5 = s["cases"]
    assert (case1["pass"], case1["carried_out"], case1["not-run"], case1["fail"]) == (5, 5, 1, 0)
    assert (case5["pass"], case5["carried_out"], case5["fail"]) == (5, 6, 1)
    assert s["gates"]["beta"]["verdict"] == "incomplete"     # a P0 run could not be run
    assert s["gates"]["release"] == {"gate": "release", "priorities": ["P0", "P1"],
                                     "verdict": "fail", "runs": 12,
                                     "blocking": ["TC-AF-005[n=3,seed=2,bug=early-ack]"],
                                     "not_run": ["TC-AF-001[n=5,seed=1]"]}


@pytest.mark.parametrize("outcomes,code", [
    (["pass", "pass"], 0), (["pass", "unknown"], 2), (["unknown", "fail"], 1),
    (["fail", "not-run", "unknown"], 255), ([], 255)])
def test_exit_code_is_the_worst_outcome_as_jepsen(outcomes, code):
    assert exit_code([{"outcome": o} for o in outcomes]) == code


def _data(recs, name="small"):
    return {"name": name, "source": "small.yaml", "backend": "docker",
            "started": "2026-11-28T01:00:00+0000", "runs": recs, **summarize(recs)}


def test_junit_is_accepted_by_a_junit_parser_one_testcase_per_run(small, tmp_path):
    import junitparser   # a real JUnit parser (test extra in pyproject.toml)
    cells = load_campaign(small).cells
    recs = [record(c) for c in cells]
    recs[7] = record(cells[7], "fail", "split-brain: lsn 41 acknowledged for 2 writes")
    recs[8] = record(cells[8], "unknown", "linearizable: time limit")
    recs[9] = record(cells[9], "not-run", "could not be carried out (exit 255): ssh")
    path = tmp_path / "junit.xml"
    path.write_text(junit(_data(recs)))
    xml = junitparser.JUnitXml.fromfile(str(path))
    suites = list(xml)
    assert [s.name for s in suites] == ["TC-AF-001", "TC-AF-005"]
    cases = [(s.name, c.name, [type(r).__name__ for r in c.result]) for s in suites for c in s]
    assert len(cases) == 12 and len({c[1] for c in cases}) == 12
    assert cases[7] == ("TC-AF-005", "TC-AF-005[n=3,seed=2,bug=early-ack]", ["Failure"])
    assert [c[2] for c in cases[8:10]] == [["Error"], ["Error"]]
    failure = list(suites[1])[1].result[0]
    assert failure.message == "split-brain: lsn 41 acknowledged for 2 writes"
    props = {p.name: p.value for p in suites[1].properties()}
    assert props["seeds"] == "1,2" and props["backend"] == "docker" and props["priority"] == "P1"
    assert props["replay TC-AF-005[n=3,seed=2,bug=early-ack]"].startswith("harness run tc-af-005")
    root = ET.parse(path).getroot()
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("12", "1", "2")


def test_merge_of_shards_equals_the_unsharded_summary(small, tmp_path):
    cells = load_campaign(small).cells
    outcomes = ["pass"] * 12
    outcomes[3], outcomes[10] = "fail", "unknown"
    recs = [record(c, o, None if o == "pass" else "x") for c, o in zip(cells, outcomes)]
    whole = summarize(recs)
    dirs = []
    for i in (1, 2):
        part = [recs[c.index] for c in shard(cells, i, 2)]
        d = tmp_path / f"shard{i}"
        write_outputs({**_data(part), "matrix_indices": list(range(12)), "shard": [i, 2]}, d)
        dirs.append(str(d))
    out = tmp_path / "merged"
    done = subprocess.run([sys.executable, "-m", "harness", "campaign", "merge", *dirs,
                           "--out", str(out)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1, done.stderr
    data = json.loads((out / "campaign.json").read_text())
    assert {k: data[k] for k in whole} == json.loads(json.dumps(whole))
    assert data["missing"] == [] and len(data["runs"]) == 12
    # One shard alone: the other's cells have no result, so the campaign is not complete.
    alone = merged([json.loads((Path(dirs[0]) / "campaign.json").read_text())])
    assert alone["exit_code"] == 255 and alone["missing"] == [c.index for c in shard(cells, 2, 2)]
    with pytest.raises(BadInput, match="in two shards"):
        merged([json.loads((Path(d) / "campaign.json").read_text()) for d in dirs * 2])


def test_markdown_and_campaign_page_name_the_failing_runs(small, tmp_path):
    cells = load_campaign(small).cells
    recs = [record(c) for c in cells]
    recs[7] = record(cells[7], "fail", "rpo: n1: 3 acknowledged add(s) lost | more")
    text = markdown(_data(recs))
    assert "| release | P0 P1 | **FAIL** | 12 |" in text
    assert "| TC-AF-005 | P1 | 5/6 | 1 | 0 | 0 | 83.3% |" in text
    assert "`TC-AF-005[n=3,seed=2,bug=early-ack]`: rpo: n1: 3 acknowledged add(s) lost \\| more" in text
    write_outputs(_data(recs), tmp_path / "c")
    page = (tmp_path / "c" / "index.html").read_text()
    assert page.count('<tr class="pass">') >= 11 and page.count('<tr class="fail">') >= 2
    assert 'href="../../store/tc-af-005/r7/report.html"' in page or "r7/report.html" in page
    matrix = page.split("<h2>Matrix</h2>")[1].split("</table>")[0]
    assert "<th>n=7 seed=2</th>" in matrix and "<td>TC-AF-005 bug=early-ack</td>" in matrix
    assert re.search(r'<td class="fail" title="rpo: n1: 3 acknowledged[^"]*"><a href="[^"]*r7/'
                     r'report.html">FAIL</a></td>', matrix)


def test_mann_whitney_p_is_exact_for_small_samples():
    from harness.campaign_baseline import worse_p
    assert worse_p([5, 6, 7, 8], [1, 2, 3, 4]) == pytest.approx(1 / 70)
    assert worse_p([1, 2, 3, 4], [5, 6, 7, 8]) == 1.0
    assert worse_p([4, 5, 6], [1, 2, 3]) == pytest.approx(1 / 20)
    assert worse_p([2, 2], [2, 2]) == 1.0                      # ties: no evidence
    big = worse_p([float(i) + 0.5 for i in range(30)], [float(i) for i in range(30)])
    assert 0.3 < big < 0.6                                    # normal approximation


def _perf_runs(small, election, ops, n=8):
    """`n` runs of TC-AF-001 at 3 nodes with these figures (+ a small spread)."""
    cells = [c for c in load_campaign(small, count=n).cells if c.nodes == 3][:n]
    out = []
    for i, c in enumerate(cells):
        r = record(c)
        r["slas"] = {"leader_election_s": {"measured": election + 0.01 * (i % 4),
                                           "pass": True}}
        r["ops_per_s"] = ops + (i % 4)
        out.append(r)
    return out


def test_regression_needs_more_than_5_percent_and_significance(small):
    from harness.campaign_baseline import compare, regressions
    base = _perf_runs(small, election=1.0, ops=200)
    rows = compare(_perf_runs(small, election=1.5, ops=170), base)
    flagged = {(r["case"], r["metric"]) for r in regressions(rows)}
    assert flagged == {("TC-AF-001", "leader_election_s"), ("TC-AF-001", "ops_per_s")}
    row = next(r for r in rows if r["case"] == "TC-AF-001" and r["metric"] == "ops_per_s")
    assert row["change"] == pytest.approx(1 - 171.5 / 201.5)
    assert row["p"] == pytest.approx(1 / math.comb(16, 8))
    assert regressions(compare(_perf_runs(small, election=1.03, ops=198), base)) == []
    few = compare(_perf_runs(small, 1.5, 170, n=3), _perf_runs(small, 1.0, 200, n=3))
    assert regressions(few) == [] and {r["note"] for r in few} == {
        "worse, not significant over these runs"}
    accepted = compare(_perf_runs(small, 1.5, 170), base, {"TC-AF-001:ops_per_s"})
    assert {(r["case"], r["metric"]) for r in regressions(accepted)} == {
        ("TC-AF-001", "leader_election_s")}
    assert regressions(compare(_perf_runs(small, 1.5, 170), base, {"TC-AF-001"})) == []


def test_cli_baseline_flags_a_regression_unless_accepted(small, tmp_path):
    dirs = {}
    for name, runs in (("base", _perf_runs(small, 1.0, 200)), ("now", _perf_runs(small, 1.5, 200))):
        dirs[name] = tmp_path / name
        write_outputs({**_data(runs), "matrix_indices": [r["index"] for r in runs],
                       "shard": [1, 1]}, dirs[name])

    def merge(*extra):
        return subprocess.run([sys.executable, "-m", "harness", "campaign", "merge",
                               str(dirs["now"]), "--baseline", str(dirs["base"]), "--out",
                               str(tmp_path / "out"), "--markdown", str(tmp_path / "s.md"),
                               *extra], cwd=ROOT, capture_output=True, text=True, timeout=120)
    done = merge()
    assert done.returncode == 1, done.stderr
    assert "regression TC-AF-001 n=3 leader_election_s: 49.3% worse" in done.stdout
    assert "| TC-AF-001 | 3 | leader_election_s | 1.02 | 1.52 | 49.3% | 0.000 | REGRESSION |" \
        in (tmp_path / "s.md").read_text()
    ok = merge("--accept-regression", "TC-AF-001:leader_election_s")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "accepted regression TC-AF-001" in ok.stdout
    page = (tmp_path / "out" / "index.html").read_text()
    row = page.split("Against baseline")[1].split("</table>")[0]
    assert row.count("<tr class=") == 1 and "ops_per_s" not in row   # ops/s did not change
    assert ('<tr class="unknown"><td>TC-AF-001</td><td class="num">3</td><td>leader_election_s'
            '</td>') in row and "<td>accepted</td>" in row


def test_violation_line_prefers_a_failure_then_says_why_unknown():
    from harness.campaign_run import _violation
    checks = {"linearizable": {"valid": True, "errors": []},
              "sla": {"valid": "unknown", "errors": [], "summary": "7 not judged"},
              "rpo": {"valid": False, "errors": ["n1: 2 acknowledged add(s) lost"]}}
    assert _violation({"checks": checks}) == "rpo: n1: 2 acknowledged add(s) lost"
    del checks["rpo"]
    assert _violation({"checks": checks}) == "sla: unknown: 7 not judged"
    checks["sla"] = {"valid": "unknown", "error": "TypeError: boom"}
    assert _violation({"checks": checks}) == "sla: unknown: TypeError: boom"
    assert _violation({"checks": {"perf": {"valid": True}}}) is None


def test_ssh_backend_needs_an_inventory_passed_to_every_run(small, tmp_path):
    from harness.campaign_run import run_argv
    def dry(*extra):
        return subprocess.run([sys.executable, "-m", "harness", "campaign", small, "--dry-run",
                               "--backend", "ssh", *extra], cwd=ROOT, capture_output=True,
                              text=True, timeout=120)
    done = dry()
    assert done.returncode == 254 and "backend ssh needs an inventory" in done.stderr
    assert dry("--inventory", str(tmp_path / "lab.yaml")).returncode == 0
    path = tmp_path / "lab-campaign.yaml"
    path.write_text("name: lab\nbackend: ssh\ninventory: lab.yaml\ncases: [tc-af-001]\n")
    campaign = load_campaign(str(path))
    assert campaign.inventory == str(tmp_path / "lab.yaml")
    argv = run_argv(campaign.cells[0], "ssh", tmp_path, ["--inventory", campaign.inventory])
    assert argv[argv.index("--backend") + 1] == "ssh"
    assert argv[argv.index("--inventory") + 1] == str(tmp_path / "lab.yaml")
