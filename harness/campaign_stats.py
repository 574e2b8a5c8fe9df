"""A campaign's verdict from its run records: pass rates, bounds, gates, exit code (layer: harness).

Pure: run records in (as harness.campaign_run writes them), a summary out. The
summary depends on the set of records only (sorted by matrix index), so the
merge of shard results equals the unsharded campaign's.

Outcomes as Jepsen's test-all: a run exiting 0 passed (every checker valid,
every SLA met), 1 failed, 2 is unknown; any other exit (255: could not be
carried out) is "not run", counted apart, never as a pass or as a failure of
the database. Pass rate per case = passed / runs carried out, with the 95%
upper bound on the non-pass rate: 3/n with no non-pass in n runs (the rule of
three), else the Wilson score bound; "> 95% pass" is supported only when that
bound is below 5% (so it needs at least 60 clean runs).
"""

from __future__ import annotations

import math

OUTCOME_OF_EXIT = {0: "pass", 1: "fail", 2: "unknown"}
OUTCOMES = ("pass", "fail", "unknown", "not-run")
GATES = {"release": ("P0", "P1"), "beta": ("P0",)}
Z95 = 1.959963984540054


def outcome(exit_code) -> str:
    return OUTCOME_OF_EXIT.get(exit_code, "not-run")


def fail_rate_upper95(bad: int, n: int) -> float | None:
    """95% upper bound on the non-pass rate after `bad` non-passes in `n` runs."""
    if n <= 0:
        return None
    if bad == 0:
        return min(3.0 / n, 1.0)
    p = bad / n
    centre = p + Z95 ** 2 / (2 * n)
    spread = Z95 * math.sqrt(p * (1 - p) / n + Z95 ** 2 / (4 * n * n))
    return min((centre + spread) / (1 + Z95 ** 2 / n), 1.0)


def case_summary(records: list[dict]) -> dict:
    """Counts, pass rate and bound of one case's runs."""
    counts = {o: sum(1 for r in records if r["outcome"] == o) for o in OUTCOMES}
    done = counts["pass"] + counts["fail"] + counts["unknown"]
    bound = fail_rate_upper95(done - counts["pass"], done)
    return {"case": records[0]["case_id"], "priority": records[0]["priority"],
            "runs": len(records), **counts, "carried_out": done,
            "pass_rate": counts["pass"] / done if done else None,
            "fail_rate_upper95": bound,
            "supports_95": bound is not None and bound < 0.05}


def gate(records: list[dict], name: str) -> dict:
    """pass: every run of the gate's priorities passed; fail: one failed or was unknown;
    incomplete: none failed but some could not be run (or the gate has no runs)."""
    scope = [r for r in records if r["priority"] in GATES[name]]
    bad = [r["name"] for r in scope if r["outcome"] in ("fail", "unknown")]
    missing = [r["name"] for r in scope if r["outcome"] == "not-run"]
    verdict = "fail" if bad else ("incomplete" if missing or not scope else "pass")
    return {"gate": name, "priorities": list(GATES[name]), "verdict": verdict,
            "runs": len(scope), "blocking": bad, "not_run": missing}


def exit_code(records: list[dict]) -> int:
    """The worst outcome, as Jepsen's test-all: 255 any not run, then 1, then 2, else 0;
    255 too when there is no run at all (nothing was carried out)."""
    if not records:
        return 255
    seen = {r["outcome"] for r in records}
    for out, code in (("not-run", 255), ("fail", 1), ("unknown", 2)):
        if out in seen:
            return code
    return 0


def summarize(records: list[dict]) -> dict:
    """The campaign summary: per case, gates, totals and the exit code."""
    records = sorted(records, key=lambda r: r["index"])
    by_case: dict = {}
    for r in records:
        by_case.setdefault(r["case_id"], []).append(r)
    totals = {o: sum(1 for r in records if r["outcome"] == o) for o in OUTCOMES}
    return {"runs_total": len(records), "totals": totals,
            "cases": [case_summary(rs) for rs in by_case.values()],
            "gates": {name: gate(records, name) for name in GATES},
            "exit_code": exit_code(records)}
