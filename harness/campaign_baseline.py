"""Performance regressions of a campaign against a baseline campaign (layer: harness).

Pure: run records in, comparison rows out. For each case present in both
campaigns and each metric (every SLA metric measured, lower is better; ops/s,
higher is better) the values over the case's runs (its seeds and node counts,
runs carried out only) are compared:
- change: median now / median in the baseline - 1 (sign such that > 0 is worse);
- p: the exact one-sided Mann-Whitney U p-value that the values got worse
  (all splits of the pooled values enumerated; ties by mid-rank);
- a regression is a change worse than THRESHOLD (5%, the seed's "no performance
  regressions > 5%") that is also significant, p < ALPHA (0.05). So two or three
  seeds a side can never flag one (the smallest p with 3 + 3 runs is 1/20): the
  table says so rather than guessing; with 4 + 4 runs the smallest p is 1/70.
An explicit override (`--accept-regression CASE` or `CASE:METRIC`) keeps the
row but does not count it.
"""

from __future__ import annotations

import itertools
import math
import statistics

from checker._stats import mid_ranks

THRESHOLD, ALPHA = 0.05, 0.05
MAX_SPLITS = 200_000
HIGHER_IS_BETTER = ("ops_per_s",)


def _values(records: list[dict]) -> dict:
    """(case, nodes, metric) -> values over the runs carried out (cluster sizes apart: their
    figures differ by design)."""
    out: dict = {}
    for r in records:
        if r.get("outcome") == "not-run":
            continue
        key = (r["case_id"], r.get("nodes"))
        for name, sla in (r.get("slas") or {}).items():
            if isinstance(sla, dict) and isinstance(sla.get("measured"), (int, float)):
                out.setdefault((*key, name), []).append(float(sla["measured"]))
        if isinstance(r.get("ops_per_s"), (int, float)):
            out.setdefault((*key, "ops_per_s"), []).append(float(r["ops_per_s"]))
    return out


def worse_p(now: list[float], base: list[float]) -> float:
    """One-sided p-value that `now` is stochastically larger than `base` (Mann-Whitney U,
    exact by enumeration; the normal approximation past MAX_SPLITS splits)."""
    pooled = now + base
    ranks = mid_ranks(pooled)
    n, total = len(now), len(pooled)
    observed = sum(ranks[:n])
    splits = math.comb(total, n)
    if splits <= MAX_SPLITS:
        hits = sum(1 for idx in itertools.combinations(range(total), n)
                   if sum(ranks[i] for i in idx) >= observed - 1e-9)
        return hits / splits
    m = total - n
    mean, sd = n * (total + 1) / 2, math.sqrt(n * m * (total + 1) / 12)
    return 0.5 * math.erfc((observed - mean) / (sd * math.sqrt(2)))


def compare(records: list[dict], baseline: list[dict], accepted=()) -> list[dict]:
    """One row per (case, nodes, metric) present in both campaigns; see the module doc."""
    now, base = _values(records), _values(baseline)
    rows = []
    for key in sorted(set(now) & set(base), key=str):
        case, nodes, metric = key
        higher = metric in HIGHER_IS_BETTER
        sign = -1.0 if higher else 1.0
        a, b = [sign * v for v in now[key]], [sign * v for v in base[key]]
        med_now, med_base = statistics.median(now[key]), statistics.median(base[key])
        change = None if med_base == 0 else sign * (med_now / med_base - 1)
        p = worse_p(a, b)
        worse = change is not None and change > THRESHOLD
        rows.append({"case": case, "nodes": nodes, "metric": metric,
                     "baseline_median": med_base,
                     "median": med_now, "change": change, "p": p, "runs": len(a),
                     "baseline_runs": len(b), "regression": worse and p < ALPHA,
                     "accepted": case in accepted or f"{case}:{metric}" in accepted,
                     "note": "" if worse and p < ALPHA else (
                         "worse, not significant over these runs" if worse else "")})
    return rows


def regressions(rows: list[dict]) -> list[dict]:
    """The rows that count: significant regressions not explicitly accepted."""
    return [r for r in rows if r["regression"] and not r["accepted"]]
