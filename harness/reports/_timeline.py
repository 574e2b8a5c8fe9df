"""A per-process timeline around the run's first violation (layer: harness).

As Jepsen's checker/timeline.clj, static HTML and CSS only: one column per
client process, each op a box from its invoke to its completion (time runs
downwards, to scale), coloured by outcome (info ops run to the window's end),
with the fault windows in a first "nemesis" column and a red line at the
violation. A box's tooltip gives latency, node and error.
"""

from __future__ import annotations

import bisect

from harness.reports._html import esc

NS = 1e9
COLORS = {"ok": "#6DB6FE", "fail": "#FFAA26", "info": "#FEB5DA"}
COL_PX, ROW_PX, HALF_WINDOW_S, MAX_OPS, MAX_PROCS = 110, 14, 1.0, 80, 24


def first_violation(checks: dict) -> tuple[float, str, object] | None:
    """(run-clock seconds, description, key or None) of the earliest violation any checker
    names."""
    found = []
    lin = checks.get("linearizable") or {}
    ce = lin.get("counterexample")
    if ce:
        stuck = [op["invoke_time"] for op in ce.get("not_placeable_next") or []
                 if isinstance(op.get("invoke_time"), int)]
        t = min(stuck) if stuck else (ce.get("window") or {}).get("to_time")
        if isinstance(t, int):
            found.append((t / NS, (lin.get("errors") or ["not linearizable"])[0],
                          ce.get("key")))
    for x in (checks.get("rpo") or {}).get("lost") or []:
        if isinstance(x.get("acked_at"), int):
            found.append((x["acked_at"] / NS, f"acknowledged add {x.get('key')}={x.get('value')} "
                          f"(acked by {x.get('acked_by')}) lost on {x.get('missing_on')}",
                          x.get("key")))
    for v in (checks.get("split-brain") or {}).get("violations") or []:
        t = _violation_time(v)
        if t is not None:
            found.append((t / NS, v.get("message") or v.get("kind"), None))
    found += _sla_misses(checks.get("sla") or {})
    return min(found, key=lambda x: x[0]) if found else None


SLA_EPISODES = {"cascade_recovery_s_per_node": ("recoveries", "seconds", "started"),
                "split_brain_detect_s": ("step_downs", "seconds", "fault_start")}


def _sla_misses(sla: dict) -> list:
    """(start of the episode, line) of each failed SLA's episodes over its threshold or
    where the measured event never happened."""
    out = []
    for s in sla.get("slas") or []:
        limit = s.get("threshold")
        if s.get("pass") is not False or limit is None:
            continue
        source, field, start = SLA_EPISODES.get(s["name"], ("episodes", s["name"], "t0"))
        for ep in sla.get(source) or []:
            value, t = ep.get(field), ep.get(start)
            if isinstance(t, int) and (value is None or value >= limit):
                what = "never happened" if value is None else f"{value:.3f} s"
                out.append((t / NS, f"SLA {s['name']}: {what} in the episode starting at "
                            f"{t / NS:.3f} s (threshold < {limit} s)", None))
    return out


def _violation_time(v: dict):
    times = [op.get("invoke_time") for op in v.get("ops") or []]
    times += [(v.get(k) or {}).get("invoke_time") for k in ("earlier", "later")]
    times += [v.get("fault_start")]
    times = [t for t in times if isinstance(t, int)]
    return min(times) if times else None


def window_around(t_s: float, end_s: float) -> tuple[float, float]:
    return max(t_s - HALF_WINDOW_S, 0.0), min(t_s + HALF_WINDOW_S, max(end_s, t_s))


def timeline_html(ops: list[dict], windows, t_s: float, lo: float, hi: float,
                  key=None) -> str:
    """The timeline of `ops` (from _scan.ops_between, within [lo, hi] seconds): one row per
    invoke or completion in time order, as Jepsen's; ops on `key` are outlined."""
    times = sorted([op["invoke_s"] for op in ops]
                   + [op["complete_s"] for op in ops if op["complete_s"] is not None])
    procs = []
    for op in ops:
        if op["process"] not in procs and len(procs) < MAX_PROCS:
            procs.append(op["process"])
    height = max(len(times), 1) * ROW_PX + ROW_PX

    def y(t):
        return bisect.bisect_left(times, t) * ROW_PX

    first, end = (times[0], times[-1] + 1e-9) if times else (lo, hi)
    cols = [_column("nemesis", 0, height, [_fault_box(w, y, end) for w in windows
                                           if w.end_s >= first and w.start_s <= end])]
    for i, proc in enumerate(procs, 1):
        cols.append(_column(f"p{proc}", i, height, [_op_box(op, y, end, key) for op in ops
                                                    if op["process"] == proc]))
    marker = (f"<div style=\"position:absolute;left:0;right:0;top:{y(t_s) + 19:.1f}px;"
              f"border-top:2px solid #d00\" title=\"violation at {t_s:.6f} s\"></div>")
    width = COL_PX * (len(procs) + 1)
    span = f"{times[0]:.3f} s to {times[-1]:.3f} s" if times else "no ops"
    return (f"<p class=\"muted\">{len(ops)} ops of {len(procs)} processes nearest the "
            f"violation ({span}), one row per invoke or completion; the red line is the "
            f"violation at {t_s:.6f} s. Hover a box for its latency, node and error.</p>"
            f"<div class=\"timeline\" style=\"position:relative;width:{width}px;"
            f"height:{height + 24}px;font-size:10px;overflow:hidden\">"
            + "".join(cols) + marker + "</div>")


def _column(title: str, i: int, height: int, boxes: list[str]) -> str:
    return (f"<div style=\"position:absolute;left:{i * COL_PX}px;top:0;width:{COL_PX - 6}px;"
            f"height:{height + 24}px\"><div style=\"height:18px;font-weight:bold\">"
            f"{esc(title)}</div>" + "".join(boxes) + "</div>")


def _box(top: float, height: float, color: str, tip: str, text: str,
         outline: bool = False) -> str:
    border = "outline:2px solid #000;outline-offset:-2px;" if outline else ""
    return (f"<div title=\"{esc(tip)}\" style=\"position:absolute;top:{top + 20:.1f}px;"
            f"height:{max(height - 2, 3):.1f}px;left:0;right:0;background:{color};overflow:hidden;"
            f"{border}white-space:nowrap\">{esc(text)}</div>")


def _op_box(op: dict, y, hi: float, key) -> str:
    done = op["complete_s"] is not None and op["type"] != "info"
    end = op["complete_s"] + 1e-9 if done else hi
    latency = "" if op["complete_s"] is None else \
        f"{(op['complete_s'] - op['invoke_s']) * 1e3:.2f} ms"
    tip = (f"p{op['process']} {op['type']} {op['f']} {op.get('key')} {op.get('value')!r} "
           f"{latency} node {op.get('node')} invoked {op['invoke_s']:.6f} s"
           + (f" error {op['error']}" if op.get("error") else ""))
    top = y(op["invoke_s"])
    return _box(top, y(end) - top, COLORS.get(op["type"], "#ccc"), tip,
                f"{op['f']} {op.get('key') or ''} {op.get('value')!r}",
                outline=key is not None and op.get("key") == key)


def _fault_box(w, y, hi: float) -> str:
    top = y(w.start_s)
    tip = f"{w.label} {w.start_s:.3f}-{w.end_s:.3f} s"
    return _box(top, max(y(min(w.end_s, hi)) - top, ROW_PX), "#cfcfcf", tip, w.label)
