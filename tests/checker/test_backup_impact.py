"""The backup-impact checker: judged only where the difference is significant."""

from checker import RunContext, run_check
from checker.backup_impact import mann_whitney_p, min_p

S = 1_000_000_000


def history(windows, per_window, lat_ms=5, nemesis=None):
    """`windows` phases of 1 s each; `per_window[i]` ok register ops completing in window i,
    plus an info op (indeterminate ops are not throughput)."""
    ev, p, t = [], 1000, S
    ev.append({"process": 1, "type": "invoke", "f": "write", "key": "k", "value": 0,
               "time": t - S // 2, "workload": "register"})
    ev.append({"process": 1, "type": "info", "f": "write", "key": "k", "value": 0,
               "time": t - S // 4, "workload": "register", "error": "timeout"})
    for i, (phase, n) in enumerate(zip(windows, per_window)):
        a = t + i * S
        ev.append({"process": 2, "type": "invoke", "f": "window", "key": None,
                   "value": {"phase": phase, "index": i}, "time": a, "workload": "backup"})
        for j in range(n):
            p += 1
            start = a + (j * S) // (n + 1)
            ev.append({"process": p, "type": "invoke", "f": "write", "key": "k", "value": p,
                       "time": start, "workload": "register"})
            ev.append({"process": p, "type": "ok", "f": "write", "key": "k", "value": p,
                       "time": start + lat_ms * 1_000_000, "workload": "register", "lsn": p})
        ev.append({"process": 2, "type": "ok", "f": "window", "key": None,
                   "value": {"phase": phase, "index": i}, "time": a + S, "workload": "backup"})
    last = t + len(windows) * S
    ev.append({"process": 3, "type": "invoke", "f": "read", "key": "k", "value": None,
               "time": last, "workload": "register"})
    ev.append({"process": 3, "type": "ok", "f": "read", "key": "k", "value": 1,
               "time": last + 1, "workload": "register"})
    return sorted(ev + (nemesis or []), key=lambda e: e["time"])


PHASES = ["baseline", "backup"] * 5


def check(ev, bar=5):
    return run_check("backup-impact", ev, RunContext(thresholds={"incremental_overhead_pct": bar}))


def test_no_difference_passes():
    r = check(history(PHASES, [100, 100, 101, 99, 100, 100, 99, 101, 100, 100]))
    assert r["valid"] is True, r
    assert abs(r["throughput"]["overhead"]) < 0.02 and r["errors"] == []


def test_significant_overhead_over_the_bar_fails():
    r = check(history(PHASES, [100, 50, 101, 49, 99, 51, 100, 50, 102, 48]))
    assert r["valid"] is False
    assert r["throughput"]["p"] == 2 / 252
    assert r["errors"][0].startswith("foreground throughput overhead +50.")
    assert "significant (p = 0.00794 < Holm level 0.025)" in r["errors"][0]


def test_overhead_that_is_not_significant_is_reported_not_judged():
    # 5 vs 5, one backup window nearly as fast as the baseline: p = 4/252 = 0.016 < 0.025.
    r = check(history(PHASES, [100, 50, 101, 49, 99, 51, 100, 50, 102, 99]))
    assert r["valid"] is False and r["throughput"]["p"] == 4 / 252
    # One backup window faster than a baseline one: p = 0.056, above ALPHA itself.
    r = check(history(PHASES, [100, 50, 101, 49, 99, 51, 100, 101, 102, 50]))
    assert r["valid"] is True and r["errors"] == []
    assert "not significant" in r["lines"][0] and "not judged" in r["lines"][0]


def test_holm_a_p_below_alpha_alone_is_not_enough_for_two_metrics():
    """p = 0.032 on throughput (< ALPHA, but > ALPHA / 2) with p99 unchanged: one of two
    tests, so not significant; uncorrected it would have failed the SLA."""
    r = check(history(PHASES, [100, 50, 101, 49, 99, 51, 100, 50, 102, 100]))
    assert 0.025 < r["throughput"]["p"] < 0.05 and r["p99"]["p"] > 0.5, r
    assert r["throughput"]["level"] == 0.025 and r["p99"]["level"] == 0.05
    assert r["valid"] is True, r["lines"]
    assert "not significant at the Holm-corrected level 0.025" in r["lines"][0]


def test_holm_second_metric_uses_the_full_alpha_once_the_first_is_rejected():
    from checker.backup_impact import holm
    a = {"p": 0.001, "min_p": 0.0}
    b = {"p": 0.04, "min_p": 0.0}
    holm((b, a))
    assert (a["level"], a["significant"]) == (0.025, True)
    assert (b["level"], b["significant"]) == (0.05, True)
    a["p"] = 0.03
    holm((a, b))
    assert a["significant"] is False and b["significant"] is False


def test_windows_too_few_to_reach_the_corrected_level_are_unknown_not_pass():
    """4 vs 4 windows: the exact test's smallest p is 2/70 = 0.029 > 0.025, so even a
    halved throughput could not fail: not judged (unknown), never reported as a pass."""
    r = check(history(PHASES[:8], [100, 50, 101, 49, 99, 51, 100, 50]))
    assert r["valid"] == "unknown", r
    assert "too few windows to reach the corrected level" in r["lines"][0]
    assert r["slas"][0]["pass"] is None


def test_too_few_windows_is_unknown_and_fault_windows_are_left_out():
    r = check(history(PHASES[:4], [100, 50, 100, 50]))
    assert r["valid"] == "unknown"
    kill = [{"process": "nemesis", "type": "info", "f": "kill", "value": {"nodes": ["n1"]},
             "time": S + S // 2},
            {"process": "nemesis", "type": "info", "f": "start", "value": {"nodes": ["n1"]},
             "time": S + S // 2 + 1}]
    r2 = check(history(PHASES, [100, 100, 101, 99, 100, 100, 99, 101, 100, 100], nemesis=kill))
    assert len(r2["windows"]) < 10


def test_mann_whitney_exact_values():
    assert mann_whitney_p([1, 2, 3], [4, 5, 6]) == 0.1
    assert mann_whitney_p([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]) == 2 / 252
    assert mann_whitney_p([1, 2, 3], [1, 2, 3]) == 1.0
    assert min_p(5, 5) == 2 / 252 and min_p(4, 4) == 2 / 70 and min_p(10, 10) == 0.0
