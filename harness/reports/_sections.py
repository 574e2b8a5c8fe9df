"""The text sections of a run report, built from results.json (layer: harness).

Each function takes parts of results.json (as `harness.analysis.analyze`
writes it) and returns HTML. Missing parts give a short note, never an error:
a report must render for an interrupted run or one whose checkers crashed.
"""

from __future__ import annotations

import json
import math

from harness.reports._html import Raw, banner, esc, fmt, table

ROWS_MAX = 50
SLA_SOURCES = {"cascade_recovery_s_per_node": ("recoveries", "seconds"),
               "split_brain_detect_s": ("step_downs", "seconds")}


def verdicts(checks: dict) -> str:
    """One row per checker: verdict, then its first errors."""
    rows, classes = [], []
    for name, res in checks.items():
        errs = list(res.get("errors") or [])
        if res.get("error"):
            errs.insert(0, res["error"])
        shown = "; ".join(str(e) for e in errs[:3]) + (" ..." if len(errs) > 3 else "")
        rows.append([name, Raw(banner(res.get("valid"))), shown or "-"])
        classes.append("")
    if not rows:
        return "<p class=\"muted\">No checker results (results.json missing or empty).</p>"
    return table(["checker", "verdict", "violations / notes"], rows, classes)


def sla_table(sla: dict) -> str:
    """The seed-style SLA lines as a table: PASS / FAIL / n/a / info per metric."""
    if not sla:
        return "<p class=\"muted\">This case has no SLA check.</p>"
    if sla.get("error"):
        return f"<p class=\"fail\">SLA check could not decide: {esc(sla['error'])}</p>"
    rows, classes = [], []
    for s in sla.get("slas") or []:
        status, cls = _sla_status(s)
        rows.append([s.get("name"), f"< {s['threshold']} s" if s.get("threshold") is not None
                     else "-", _secs(s.get("measured")), _secs(s.get("median")),
                     s.get("episodes", "-"), s.get("missed", 0) or 0, status])
        classes.append(cls)
    return table(["SLA", "threshold", "measured (max)", "median", "episodes", "missed",
                  "status"], rows, classes)


def _sla_status(s: dict) -> tuple[str, str]:
    if s.get("pass") is True:
        return "✓ PASS", "pass"
    if s.get("pass") is False:
        return ("✗ FAIL (never)" if s.get("measured") == "never" else "✗ FAIL"), "fail"
    if s.get("threshold") is None:
        return "info (not an SLA of this case)", "info"
    return "n/a (not measured)", "none"


def _secs(v) -> str:
    return "-" if v is None else v if isinstance(v, str) else f"{v:.3f} s"


def quantile(values: list, q: float):
    """Nearest-rank quantile (as the perf checker computes), None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]


def sla_samples(sla: dict) -> dict:
    """metric -> measured seconds per episode (the samples behind each SLA line)."""
    out: dict = {}
    for s in sla.get("slas") or []:
        name = s.get("name")
        source, field = SLA_SOURCES.get(name, ("episodes", name))
        out[name] = [x[field] for x in sla.get(source) or []
                     if isinstance(x, dict) and isinstance(x.get(field), (int, float))]
    return out


def sla_metrics(sla: dict) -> str:
    """The seed's PerformanceMetrics per SLA metric: p50 p95 p99 avg min max (seconds)."""
    rows = []
    for name, vals in sla_samples(sla).items():
        if vals:
            rows.append([name, len(vals), quantile(vals, .5), quantile(vals, .95),
                         quantile(vals, .99), sum(vals) / len(vals), min(vals), max(vals)])
    if not rows:
        return "<p class=\"muted\">No SLA episode was measured in this run.</p>"
    return table(["metric (s)", "episodes", "p50", "p95", "p99", "avg", "min", "max"], rows)


def chaos(m: dict) -> str:
    """The seed's Chaos Metrics block."""
    rec, cu = m.get("recovery_s"), m.get("catch_up_s")
    lost = "unknown (no RPO check)" if m.get("lost_writes") is None else (
        f"{m['lost_writes']} acknowledged write(s) of {fmt(m.get('acknowledged'))}, "
        f"{m['lost_bytes']} bytes of value payload")
    rows = [
        ["failures injected", f"{m['injected']} (of {m['attempted']} requested)"],
        ["failures handled", f"{m['handled']} of {m['injected']}"],
        ["recovery time (total RTO per leader fault)",
         "-" if not rec else f"avg {rec['avg']:.3f} s, max {rec['max']:.3f} s ({rec['n']})"],
        ["node catch-up after restart",
         "-" if not cu else f"avg {cu['avg']:.3f} s, max {cu['max']:.3f} s ({cu['n']})"],
        ["data lost", lost],
    ]
    return table(["chaos metric", "value"], rows)


def perf(res: dict) -> str:
    """Availability and latency overall and per fault phase (perf checker)."""
    if not res or not res.get("overall"):
        return "<p class=\"muted\">No perf check in this run.</p>"
    rows = []
    for phase, s in [("overall", res["overall"]), *(res.get("phases") or {}).items()]:
        lat = s.get("latency_ms") or {}
        rows.append([phase, s.get("ops"), s.get("ok"), s.get("fail"), s.get("info"),
                     s.get("availability"), s.get("ops_per_s"), lat.get("p50"), lat.get("p95"),
                     lat.get("p99"), lat.get("avg"), lat.get("min"), lat.get("max")])
    return table(["phase", "ops", "ok", "fail", "info", "availability", "ops/s", "p50 ms",
                  "p95 ms", "p99 ms", "avg ms", "min ms", "max ms"], rows)


def fault_table(windows) -> str:
    if not windows:
        return "<p class=\"muted\">No fault took effect in this run.</p>"
    rows = [[w.label, w.kind, ", ".join(w.nodes) or "-", w.start_s, w.end_s,
             w.end_s - w.start_s, "open (never healed)" if w.open else "healed"]
            for w in windows[:ROWS_MAX * 4]]
    return table(["window", "fault", "nodes", "start s", "end s", "lasted s", "end"], rows)


def _op_cells(op: dict) -> list:
    return [op.get("index", "-"), op.get("process"), op.get("type"), op.get("f"),
            _json(op.get("value")), _t(op.get("invoke_time")), _t(op.get("complete_time")),
            op.get("line")]


def _json(value) -> str:
    """Values as JSON text (a string read as "" stays visible as "")."""
    return json.dumps(value, default=str)


def _t(ns) -> str:
    return "open" if ns is None else f"{ns / 1e9:.6f}"


OP_HEADERS = ["#", "process", "type", "f", "value", "invoke s", "complete s", "line"]


def counterexample(lin: dict) -> str:
    """The linearizability counterexample: the window, the longest linearization, the stuck ops."""
    ce = (lin or {}).get("counterexample")
    if not ce:
        return ""
    w = ce.get("window") or {}
    out = [f"<h3>Counterexample for key <code>{esc(ce.get('key'))}</code></h3>",
           f"<p>{len(w.get('ops') or [])} ops from {esc(w.get('starts_from'))} "
           f"<code>{esc(w.get('start_state'))}</code> cannot be linearized:</p>",
           table(OP_HEADERS, [_op_cells(op) for op in (w.get("ops") or [])[:ROWS_MAX]])]
    longest = ce.get("longest_linearization") or []
    out.append(f"<p>Longest partial linearization ({len(longest)} ops):</p>")
    out.append(table(OP_HEADERS + ["state after"],
                     [_op_cells(op) + [_json(op.get("state_after"))] for op in longest[:ROWS_MAX]]))
    out.append(f"<p>Then, in state <code>{esc(ce.get('state_after_longest'))}</code>, "
               "none of these can be placed next:</p>")
    out.append(table(OP_HEADERS + ["why"], [_op_cells(op) + [op.get("why")]
                                            for op in (ce.get("not_placeable_next") or [])]))
    return "\n".join(out)


def lost_writes(rpo: dict) -> str:
    """Forensics of each lost acknowledged write (checker.rpo)."""
    lost = (rpo or {}).get("lost") or []
    if not lost:
        return ""
    rows = []
    for x in lost[:ROWS_MAX]:
        lead = x.get("leader_then") or {}
        faults = "; ".join(f"{f.get('kind')} {','.join(map(str, f.get('nodes') or []))}"
                           for f in x.get("faults_then") or []) or "none"
        rows.append([_json(x.get("key")), _json(x.get("value")), ", ".join(map(str, x.get(
            "missing_on") or [])), x.get("acked_by"), x.get("term"), x.get("lsn"),
            _t(x.get("acked_at")), f"{lead.get('node', '-')} (term {lead.get('term', '-')})",
            faults])
    more = f"<p class=\"muted\">... and {len(lost) - ROWS_MAX} more</p>" \
        if len(lost) > ROWS_MAX else ""
    return ("<h3>Lost acknowledged writes</h3>"
            + table(["key", "value", "missing on", "acked by", "term", "lsn", "acked at s",
                     "leader then", "faults then"], rows) + more)
