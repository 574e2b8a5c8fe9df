"""Backup impact checker: foreground throughput and p99 latency while backups run,
against baseline windows of the same run (layer: checker).

The backup workload records its windows as f "window" ops (invoke at the start, ok
at the end, value {"phase": "baseline" | "backup", "index"}). Foreground ops are
the client ops of every other workload (not the final reads). Per window: ok ops
completed in it per second, and the p99 latency of those ops. A window is used
only if foreground ops ran through it (between the first foreground invoke and the
last foreground completion) and no fault was active in it or in the RECOVERY_S
before it: a leader kill would otherwise be counted as backup overhead.

The overhead is the relative difference of the window medians: throughput
1 - median(backup) / median(baseline); p99 median(backup) / median(baseline) - 1.
Each is tested with a two-sided Mann-Whitney U test over the windows (exact
distribution for small samples, ties given mid-ranks) and given a 95 % bootstrap
confidence interval (seeded, so the result is reproducible). The case's
ctx.thresholds["incremental_overhead_pct"] (the seed's < 5 %) is judged only where
the difference is significant: an overhead above the bar that the windows cannot
tell from noise is reported as "not significant", never as a pass of the bar or a
failure.

Two metrics are tested on the same windows, so "significant" is decided by Holm's
step-down procedure over both (the smallest p against ALPHA / 2, then the other
against ALPHA): a backup schedule that costs nothing fails the SLA by chance in at
most ALPHA of runs, not in up to twice that, as two uncorrected tests would.
Holm rather than Bonferroni: same guarantee, never less power.

Not judged (verdict "unknown" if the case sets the bar and neither metric is
judged): fewer than MIN_WINDOWS usable windows of either phase, or so few that even
the most extreme split of the ranks could not reach the corrected level (with 4
windows of each phase the exact test's smallest p is 2/70 = 0.029, above
ALPHA / 2): such a run could never fail, so it must not be reported as a pass.
"""

from __future__ import annotations

import math
import random
import statistics
from itertools import combinations

from checker._api import Checker, RunContext
from checker._history import parse_events
from checker.runlog import client_events
from checker._stats import mid_ranks

SLA_METRICS = ("incremental_overhead_pct",)
ALPHA = 0.05
MIN_WINDOWS = 3
RECOVERY_S = 5.0
BOOTSTRAP = 2000
NS = 1e9


def check(history: list, ctx: RunContext) -> dict:
    cev = client_events(history)
    ops = parse_events(cev).ops if cev else []
    windows = [o for o in ops if o.f == "window" and o.type == "ok" and o.complete_time]
    fg = [o for o in ops if o.extra.get("workload") not in (None, "backup")
          and o.process != "final" and o.f not in ("window",)]
    faults = [(f.start, f.end) for f in ctx.fault_timeline(history)]
    rows = window_rows(windows, fg, faults)
    base = [r for r in rows if r["phase"] == "baseline"]
    busy = [r for r in rows if r["phase"] == "backup"]
    threshold = ctx.thresholds.get("incremental_overhead_pct")
    tput = compare([r["ops_per_s"] for r in base], [r["ops_per_s"] for r in busy], True)
    p99 = compare([r["p99_ms"] for r in base if r["p99_ms"] is not None],
                  [r["p99_ms"] for r in busy if r["p99_ms"] is not None], False)
    holm((tput, p99))
    verdicts = [_judge(m, threshold) for m in (tput, p99)]
    if any(v is False for v in verdicts):
        valid = False
    elif threshold is not None and all(v is None for v in verdicts):
        valid = "unknown"
    else:
        valid = True
    lines = [f"    {_mark(v)} {name}: {_text(m, threshold)}"
             for name, m, v in (("throughput", tput, verdicts[0]), ("p99 latency", p99,
                                                                    verdicts[1]))]
    summary = (f"{len(base)} baseline and {len(busy)} backup window(s) used of "
               f"{len(windows)}; throughput {_pct(tput.get('overhead'))}, p99 "
               f"{_pct(p99.get('overhead'))} (Mann-Whitney, alpha {ALPHA}, Holm over both)")
    errors = [f"foreground {n} overhead {_pct(m['overhead'])} > {threshold:g} % and "
              f"significant (p = {m['p']:.3g} < Holm level {m['level']:.3g})" for n, m, v in
              (("throughput", tput, verdicts[0]), ("p99 latency", p99, verdicts[1]))
              if v is False]
    return {"valid": valid, "summary": summary, "errors": errors, "windows": rows,
            "throughput": tput, "p99": p99, "lines": lines,
            "slas": [{"name": "incremental_overhead_pct", "threshold": threshold,
                      "measured": _worst(tput, p99), "pass": None if valid == "unknown"
                      else valid}]}


def window_rows(windows, fg, faults) -> list[dict]:
    """Per usable window: phase, start/end (s), ok ops/s, p99 latency (ms)."""
    if not fg:
        return []
    first = min(o.invoke_time for o in fg)
    last = max(o.complete_time for o in fg if o.complete_time)
    rows = []
    for w in windows:
        a, b = w.invoke_time, w.complete_time
        if a < first or b > last or b - a <= 0:
            continue
        if any(s < b and (e is None or e + RECOVERY_S * NS > a) for s, e in faults):
            continue
        done = [o for o in fg if o.type == "ok" and o.complete_time and a <= o.complete_time < b]
        lat = sorted((o.complete_time - o.invoke_time) / 1e6 for o in done)
        rows.append({"phase": (w.value or {}).get("phase"), "start_s": a / NS, "end_s": b / NS,
                     "ops_per_s": len(done) / ((b - a) / NS),
                     "p99_ms": lat[max(math.ceil(0.99 * len(lat)) - 1, 0)] if lat else None})
    return rows


def compare(base: list, busy: list, higher_is_better: bool) -> dict:
    """Relative overhead of `busy` against `base` (positive: worse), Mann-Whitney p and a
    bootstrap 95 % CI of the overhead; {} fields None when there are too few windows."""
    out = {"n_baseline": len(base), "n_backup": len(busy), "overhead": None, "p": None,
           "ci95": None, "baseline_median": None, "backup_median": None, "min_p": None,
           "level": None, "significant": None}
    if len(base) < MIN_WINDOWS or len(busy) < MIN_WINDOWS:
        return out
    mb, mk = statistics.median(base), statistics.median(busy)
    out.update(baseline_median=mb, backup_median=mk, overhead=_overhead(mb, mk, higher_is_better),
               p=mann_whitney_p(base, busy), ci95=_bootstrap(base, busy, higher_is_better),
               min_p=min_p(len(base), len(busy)))
    return out


def min_p(n1: int, n2: int) -> float:
    """The smallest two-sided p the exact Mann-Whitney test can give for n1 and n2
    values (no ties: the two extreme rank splits out of C(n1+n2, n1)); 0.0 where the
    normal approximation is used, which has no floor worth stating."""
    if n1 + n2 > 16:
        return 0.0
    return min(1.0, 2 / math.comb(n1 + n2, n1))


def holm(ms) -> None:
    """Holm's step-down over the metrics that have a p: sets each one's `level` (the
    corrected level its p is compared with) and `significant`. A metric whose exact
    test cannot reach its level gets significant None: not judged."""
    tested = sorted((m for m in ms if m.get("p") is not None), key=lambda m: m["p"])
    rejecting = True
    for i, m in enumerate(tested):
        m["level"] = ALPHA / (len(tested) - i)
        rejecting = rejecting and m["p"] < m["level"]
        # Reachable only if it could be rejected whatever the order: below the strictest level.
        m["significant"] = rejecting if m["min_p"] < ALPHA / len(tested) else None


def _overhead(mb, mk, higher_is_better):
    if not mb:
        return None
    return (1 - mk / mb) if higher_is_better else (mk / mb - 1)


def mann_whitney_p(x: list, y: list) -> float:
    """Two-sided p of the Mann-Whitney U test: exact (all rank splits) up to 16 values,
    else the normal approximation with tie correction."""
    ranks = mid_ranks(list(x) + list(y))
    n1, n2 = len(x), len(y)
    r1 = sum(ranks[:n1])
    if n1 + n2 <= 16:
        total = 0
        extreme = 0
        observed = abs(r1 - n1 * (n1 + n2 + 1) / 2)
        for idx in combinations(range(n1 + n2), n1):
            total += 1
            if abs(sum(ranks[i] for i in idx) - n1 * (n1 + n2 + 1) / 2) >= observed - 1e-9:
                extreme += 1
        return extreme / total
    u = r1 - n1 * (n1 + 1) / 2
    n = n1 + n2
    ties = {}
    for v in list(x) + list(y):
        ties[v] = ties.get(v, 0) + 1
    sigma2 = n1 * n2 / 12 * ((n + 1) - sum(t ** 3 - t for t in ties.values()) / (n * (n - 1)))
    if sigma2 <= 0:
        return 1.0
    z = (abs(u - n1 * n2 / 2) - 0.5) / math.sqrt(sigma2)
    return math.erfc(max(z, 0) / math.sqrt(2))


def _bootstrap(base, busy, higher_is_better) -> list | None:
    rng = random.Random(0)
    stats = []
    for _ in range(BOOTSTRAP):
        b = statistics.median(rng.choices(base, k=len(base)))
        k = statistics.median(rng.choices(busy, k=len(busy)))
        v = _overhead(b, k, higher_is_better)
        if v is not None:
            stats.append(v)
    if not stats:
        return None
    stats.sort()
    return [stats[int(0.025 * len(stats))], stats[int(0.975 * len(stats)) - 1]]


def _judge(m: dict, threshold):
    """True / False against the bar (percent), None when not judged."""
    if threshold is None or m.get("overhead") is None or m.get("significant") is None:
        return None
    if m["overhead"] * 100 <= threshold:
        return True
    return not m["significant"]


def _worst(*ms):
    vals = [m["overhead"] * 100 for m in ms if m.get("overhead") is not None]
    return max(vals) if vals else None


def _mark(v) -> str:
    return {True: "✓", False: "✗"}.get(v, "-")


def _pct(v) -> str:
    return "n/a" if v is None else f"{v * 100:+.1f} %"


def _text(m: dict, threshold) -> str:
    if m.get("overhead") is None:
        return (f"not judged: {m['n_baseline']} baseline / {m['n_backup']} backup window(s) "
                f"usable, at least {MIN_WINDOWS} of each needed")
    ci = m.get("ci95")
    ci_text = f", 95 % CI [{ci[0] * 100:+.1f}, {ci[1] * 100:+.1f}] %" if ci else ""
    if m.get("significant") is None:
        sig = (f"too few windows to reach the corrected level {m['level']:.3g} (smallest "
               f"possible p {m['min_p']:.3g})")
        bar = "not judged"
    else:
        sig = (f"{'significant' if m['significant'] else 'not significant'} at the "
               f"Holm-corrected level {m['level']:.3g}")
        bar = "no bar set" if threshold is None else (
            f"bar < {threshold:g} %" + ("" if m["overhead"] * 100 <= threshold
                                        or m["significant"]
                                        else ": above it but not significant, so not judged"))
    return (f"overhead {_pct(m['overhead'])} (median {m['baseline_median']:.3g} -> "
            f"{m['backup_median']:.3g} over {m['n_baseline']}/{m['n_backup']} windows{ci_text});"
            f" Mann-Whitney p = {m['p']:.3g}, {sig}; {bar}")


CHECKER = Checker("backup-impact", "run", check,
                  "foreground throughput / p99 while backups run vs baseline windows")
