"""The end-of-run summary in the seed's style, and report.txt (layer: harness).

    === TC-AF-004: PASSED ===
    ✓ linearizable   valid: 1820 ops on 8 keys
    ✓ PASS leader_election_s: 1.21 s (max, median 1.05 s, 4 episodes) < 5 s
"""

from __future__ import annotations

BANNER = {True: "PASSED", False: "FAILED", "unknown": "UNKNOWN"}
MARK = {True: "✓", False: "✗", "unknown": "?"}


def summary_lines(results: dict) -> list[str]:
    checks = results.get("checks", {})
    lines = [f"=== {results['case']}: {BANNER.get(results['valid'], 'UNKNOWN')} ==="]
    lines.append(f"nodes {results.get('nodes') and len(results['nodes'])}, "
                 f"seed {results.get('seed')}, run {results.get('run_dir')}")
    for name, res in checks.items():
        if name == "sla":
            continue
        lines.append(f"{MARK.get(res.get('valid'), '?')} {name:<14} {res.get('valid')}: "
                     f"{_detail(name, res)}")
        lines += [f"    - {e}" for e in (res.get("errors") or [])[:5]]
    for sla in checks.get("sla", {}).get("slas", []):
        lines.append(_sla_line(sla))
    if "error" in checks.get("sla", {}):
        lines.append(f"? sla: {checks['sla']['error']}")
    if results.get("interrupted"):
        lines.append(f"! run interrupted: {results['interrupted']}")
    return lines


def _sla_line(s: dict) -> str:
    if s.get("pass") is None and s.get("threshold") is None:
        got = "not measured" if s.get("measured") is None else f"{s['measured']:.2f} s (max)"
        return f"- info {s['name']}: {got} (not an SLA of this case)"
    if s.get("pass") is None:
        return f"- n/a  {s['name']}: not measured (no episode), threshold < {s.get('threshold')} s"
    word = "✓ PASS" if s["pass"] else "✗ FAIL"
    measured = "never happened" if s.get("measured") is None else f"{s['measured']:.2f} s"
    extra = f" (max, median {s['median']:.2f} s, {s.get('episodes')} episode(s)" \
        if s.get("median") is not None else " ("
    missed = f", {s['missed']} missed" if s.get("missed") else ""
    return f"{word} {s['name']}: {measured}{extra}{missed}) < {s.get('threshold')} s"


def _detail(name: str, res: dict) -> str:
    if "error" in res:
        return res["error"]
    if name == "linearizable":
        return f"{res.get('ops')} ops on {res.get('keys')} keys in {res.get('elapsed_s', 0):.2f} s"
    if name == "rpo":
        c = res.get("counts", {})
        return (f"{c.get('acknowledged')} acknowledged adds, {c.get('lost', 0)} lost, "
                f"{c.get('indeterminate')} indeterminate")
    if name == "split-brain":
        terms = len((res.get("leaders_per_term") or {}).get("events") or {})
        sd = res.get("max_step_down_s")
        return (f"{terms} terms, {res.get('violation_count', 0)} violations"
                + (f", slowest isolated-leader step-down {sd:.2f} s" if sd is not None else ""))
    if name == "perf":
        o = res.get("overall", {})
        lat = o.get("latency_ms") or {}
        return (f"{o.get('ops')} ops, ok {o.get('ok')} / fail {o.get('fail')} / info "
                f"{o.get('info')}, {o.get('ops_per_s') or 0:.0f} ops/s, latency p50 "
                f"{_ms(lat.get('p50'))} p99 {_ms(lat.get('p99'))}")
    return ""


def _ms(v) -> str:
    return "-" if v is None else f"{v:.1f} ms"
