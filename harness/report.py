"""The end-of-run summary in the seed's style, and report.txt (layer: harness).

    === TC-AF-004: PASSED ===
    ✓ linearizable   True: 1820 ops on 8 keys in 0.42 s
    ✓ sla            True: 1 SLA(s) met, 0 failed, 6 not judged
    ✓ PASS split_brain_detect_s: 1.21 s (max, median 1.05 s, 4 episode(s)) < 5 s

Nothing here knows a checker: every result brings its own one-line `summary`, and
optionally `lines` (printed under it, e.g. one per SLA) or else `errors` (the first
MAX_ERRORS printed).
"""

from __future__ import annotations

BANNER = {True: "PASSED", False: "FAILED", "unknown": "UNKNOWN"}
MARK = {True: "✓", False: "✗", "unknown": "?"}
MAX_ERRORS = 5


def summary_lines(results: dict) -> list[str]:
    lines = [f"=== {results['case']}: {BANNER.get(results['valid'], 'UNKNOWN')} ==="]
    lines.append(f"nodes {results.get('nodes') and len(results['nodes'])}, "
                 f"seed {results.get('seed')}, run {results.get('run_dir')}")
    for name, res in results.get("checks", {}).items():
        lines += check_lines(name, res)
    if results.get("interrupted"):
        lines.append(f"! run interrupted: {results['interrupted']}")
    return lines


def check_lines(name: str, res: dict) -> list[str]:
    """The header line of one check (mark, name, verdict, summary), then its own lines."""
    valid = res.get("valid")
    summary = res.get("summary") or res.get("error") or ""
    out = [f"{MARK.get(valid, '?')} {name:<14} {valid}: {summary}"]
    if res.get("lines"):
        out += [str(line) for line in res["lines"]]
    else:
        errors = [e for e in res.get("errors") or [] if e != summary]   # said once
        out += [f"    - {e}" for e in errors[:MAX_ERRORS]]
    return out
