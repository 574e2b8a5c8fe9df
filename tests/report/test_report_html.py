"""report.html of stored runs: what it shows for a clean run, a violating run, an unchecked
run and a torn history; the streaming digest agrees with the perf checker."""

import base64
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness.reports import write_html_report
from harness.reports._faults import chaos_metrics, fault_windows
from harness.reports._plots import scatter_sample
from harness.reports._scan import OUTCOMES, ops_between, scan_history, scan_states
from harness.reports._timeline import first_violation
from synthetic import make_run

ROOT = Path(__file__).resolve().parents[2]
IMG = re.compile(r'<img class="plot" alt="([^"]*)" src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory):
    return make_run(tmp_path_factory.mktemp("store"), seed=7)


@pytest.fixture(scope="module")
def bad_run(tmp_path_factory):
    return make_run(tmp_path_factory.mktemp("store"), seed=8, stale_read=True, lost_write=True)


def _plots(html: str) -> dict:
    return {alt.split(";")[0]: base64.b64decode(data) for alt, data in IMG.findall(html)}


def test_clean_run_report_has_plots_fault_windows_slas_and_no_violation(clean_run):
    html = write_html_report(clean_run).read_text()
    plots = _plots(html)
    assert set(plots) == {"latency scatter", "latency quantiles", "throughput",
                          "node roles and terms"}
    for name, png in plots.items():
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000, name
    assert "F1 kill n1" in html and "F2 kill n2" in html
    assert html.count("✓ PASS") >= 4 and "✗ FAIL" not in html
    assert ">PASSED<" in html and "First violation" not in html
    assert "<tr><td>failures handled</td><td>2 of 2</td></tr>" in html
    assert "0 acknowledged write(s) of" in html
    assert "<script" not in html and "http://" not in html and "https://" not in html


def test_sla_metrics_are_quantiles_of_the_episodes(clean_run):
    results = json.loads((clean_run / "results.json").read_text())
    eps = [e["leader_election_s"] for e in results["checks"]["sla"]["episodes"]]
    html = write_html_report(clean_run).read_text()
    row = re.search(r"<tr><td>leader_election_s</td>(.*?)</tr>", html.split("Per SLA metric")[1])
    cells = re.findall(r'<td class="num">([^<]*)</td>', row.group(1))
    assert cells == [str(len(eps)), f"{min(eps):.3f}", f"{max(eps):.3f}", f"{max(eps):.3f}",
                     f"{sum(eps) / len(eps):.3f}", f"{min(eps):.3f}", f"{max(eps):.3f}"]


def test_violating_run_shows_timeline_counterexample_and_lost_write(bad_run):
    results = json.loads((bad_run / "results.json").read_text())
    lin, rpo = results["checks"]["linearizable"], results["checks"]["rpo"]
    assert lin["valid"] is False and rpo["valid"] is False
    html = write_html_report(bad_run).read_text()
    assert ">FAILED<" in html and "First violation" in html
    assert "Counterexample for key <code>k6</code>" in html
    lost = rpo["lost"][0]
    assert f"<td class=\"num\">{lost['value']}</td>" in html or f">{lost['value']}<" in html
    assert "Lost acknowledged writes" in html
    stuck = lin["counterexample"]["not_placeable_next"][0]
    assert f"violation at {stuck['invoke_time'] / 1e9:.6f} s" in html
    assert "outline:2px solid" in html   # ops on the violating key are marked


def test_first_violation_is_the_earliest_of_all_checkers(bad_run):
    checks = json.loads((bad_run / "results.json").read_text())["checks"]
    t, what, key = first_violation(checks)
    lin_t = checks["linearizable"]["counterexample"]["not_placeable_next"][0]["invoke_time"]
    lost_t = checks["rpo"]["lost"][0]["acked_at"]
    assert t == min(lin_t, lost_t) / 1e9
    assert (key, "not linearizable" in what) == (("k6", True) if lin_t < lost_t else
                                                 (checks["rpo"]["lost"][0]["key"], False))
    assert first_violation({"linearizable": {"valid": True}, "rpo": {"lost": []}}) is None


def test_digest_counts_match_the_perf_checker(clean_run):
    overall = json.loads((clean_run / "results.json").read_text())["checks"]["perf"]["overall"]
    d = scan_history(clean_run / "history.jsonl")
    counts = {name: sum(1 for o in d.outcome if o == i) for i, name in enumerate(OUTCOMES)}
    assert counts == {k: overall[k] for k in OUTCOMES}
    assert d.bad_lines == 0 and set(d.f_names) == {"read", "write", "cas", "add"}
    assert max(d.latency_ms) == pytest.approx(max(overall["latency_ms"]["max"], 500.0), rel=1e-3)


def test_fault_windows_and_chaos_metrics_follow_the_nemesis_events(clean_run):
    d = scan_history(clean_run / "history.jsonl")
    windows = fault_windows(d.nemesis, d.end_s)
    assert [(w.label, round(w.start_s, 3), round(w.end_s, 3), w.open) for w in windows] == [
        ("F1 kill n1", 5.0, 10.0, False), ("F2 kill n2", 13.0, 18.0, False)]
    checks = json.loads((clean_run / "results.json").read_text())["checks"]
    m = chaos_metrics(windows, d.nemesis, 20.0, checks)
    assert (m["attempted"], m["injected"], m["handled"], m["lost_writes"]) == (2, 2, 2, 0)
    # A leader fault whose clients were never served again is not handled.
    checks["sla"]["episodes"][1]["total_rto_s"] = None
    assert chaos_metrics(windows, d.nemesis, 20.0, checks)["handled"] == 1
    # Nor is a fault after the last acknowledged op.
    assert chaos_metrics(windows, d.nemesis, 12.0, {})["handled"] == 1


def test_scatter_keeps_every_fail_and_info_first_within_the_cap(clean_run):
    d = scan_history(clean_run / "history.jsonl")
    fails = sum(1 for o in d.outcome if o == 1)
    infos = sum(1 for o in d.outcome if o == 2)
    picked = scatter_sample(d, cap=4 * fails + 100)
    assert len(picked["fail"]) == fails and len(picked["info"]) == infos
    assert sum(len(v) for v in picked.values()) == 4 * fails + 100
    small = scatter_sample(d, cap=40)
    assert sum(len(v) for v in small.values()) == 40 and len(small["fail"]) == 10


def test_states_digest_keeps_role_changes_only(clean_run):
    s = scan_states(clean_run / "states.jsonl")
    roles = [r for _, _, r in s.roles["n1"]]
    assert roles[:3] == ["leader", "down", "follower"]
    assert [term for _, term in s.terms["n2"]] == [1, 2, 3]
    assert sum(len(v) for v in s.roles.values()) < s.samples / 10


def test_unchecked_run_and_torn_history_still_render(tmp_path):
    run = make_run(tmp_path, seed=9, analyze=False)
    with open(run / "history.jsonl", "a") as f:
        f.write('{"process": 3, "type": "invo')
    html = write_html_report(run).read_text()
    assert "No results.json: this run was not checked" in html
    assert len(_plots(html)) == 4 and "F1 kill n1" in html
    assert scan_history(run / "history.jsonl").bad_lines == 1


def test_ops_between_pairs_ops_overlapping_the_window(clean_run):
    ops = ops_between(clean_run / "history.jsonl", 6.0, 6.5, limit=10_000)
    assert ops and all(op["invoke_s"] <= 6.5 and (op["complete_s"] or 99) >= 6.0 for op in ops)
    assert len(ops_between(clean_run / "history.jsonl", 6.0, 6.5, limit=5)) == 5


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_cli_report_writes_the_report_and_rejects_non_run_dirs(clean_run, tmp_path):
    (clean_run / "report.html").unlink(missing_ok=True)
    done = _cli("report", str(clean_run))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(clean_run / "report.html")
    assert len(_plots((clean_run / "report.html").read_text())) == 4
    bad = _cli("report", str(tmp_path))
    assert bad.returncode == 254 and "not a run directory" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    missing = _cli("report", str(tmp_path / "nope"))
    assert missing.returncode == 254 and "not a directory" in missing.stderr


def test_cli_report_checks_an_unchecked_run_first(tmp_path):
    run = make_run(tmp_path, seed=10, stale_read=True, analyze=False)
    done = _cli("report", str(run))
    assert done.returncode == 0, done.stderr
    assert "checking the run first" in done.stderr
    html = (run / "report.html").read_text()
    assert ">FAILED<" in html and "not linearizable" in html
    assert not (run / "results.json").exists()


def test_cli_report_on_a_run_that_cannot_be_checked_has_plots_but_no_verdicts(tmp_path):
    run = make_run(tmp_path, seed=11, analyze=False)
    (run / "case.yaml").unlink()          # killed before the case was written, say
    done = _cli("report", str(run))
    assert done.returncode == 0, done.stderr
    assert "cannot check the run" in done.stderr and "missing case.yaml" in done.stderr
    html = (run / "report.html").read_text()
    assert "this run was not checked" in html and len(_plots(html)) == 4


def test_a_failed_sla_is_a_violation_at_the_start_of_its_episode():
    sla = {"slas": [{"name": "leader_election_s", "threshold": 5, "pass": False},
                    {"name": "total_rto_s", "threshold": 60, "pass": False},
                    {"name": "failure_detection_s", "threshold": 10, "pass": True}],
           "episodes": [{"t0": 3_000_000_000, "leader_election_s": 1.2, "total_rto_s": 2.0,
                         "failure_detection_s": 0.5},
                        {"t0": 9_000_000_000, "leader_election_s": 11.9, "total_rto_s": None,
                         "failure_detection_s": 0.5}]}
    t, what, key = first_violation({"sla": sla})
    assert (t, key) == (9.0, None)
    assert what == ("SLA leader_election_s: 11.900 s in the episode starting at 9.000 s "
                    "(threshold < 5 s)")
    sla["slas"][0]["pass"] = True
    assert "total_rto_s: never happened" in first_violation({"sla": sla})[1]
    sla["slas"][1]["pass"] = None
    assert first_violation({"sla": sla}) is None


def test_partition_windows_are_labelled_by_their_shape():
    grudge = {"n1": ["n3"], "n2": ["n3"], "n3": ["n1", "n2"]}
    events = [{"process": "nemesis", "type": "info", "f": "partition", "time": 2_000_000_000,
               "value": {"grudge": grudge, "shape": "majority-minority", "fault": "f1-1"}},
              {"process": "nemesis", "type": "info", "f": "pause", "time": 3_000_000_000,
               "value": {"nodes": ["n1", "n2", "n3", "n4"], "fault": "f2-2"}},
              {"process": "nemesis", "type": "info", "f": "heal", "time": 5_000_000_000,
               "value": {"fault": "f1-1"}}]
    windows = fault_windows(events, 9.0)
    assert [(w.label, w.start_s, w.end_s, w.open) for w in windows] == [
        ("F1 partition majority-minority", 2.0, 5.0, False), ("F2 pause 4 nodes", 3.0, 9.0, True)]
