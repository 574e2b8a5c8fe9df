"""Revival checker: every node the nemesis brought back answered again (layer: checker).

The harness's revival watcher (harness/revival.py) records a nemesis `info`
event with f "revive" and `ok: false` when a node did not answer its status
within the bound after a kill or pause ended or a restart: the database
refused to restart, crashed on recovery, or hung. Any such event is a finding:
the verdict is False, one line per node naming the fault it did not come back
from, when, how long it was given, and the last line of its log. Without such
events the verdict is True (the watcher reports only failures, so a history
recorded without a watcher also checks True: the availability checker still
judges whether the cluster recovered).
"""

from __future__ import annotations

from checker._api import Checker, RunContext
from checker._history import parse_events
from checker.runlog import client_events

NS = 1e9


def check(history: list, ctx: RunContext) -> dict:
    # A history whose client events contradict each other is judged by no checker:
    # BadHistory here makes check_safe answer "unknown", as every checker does.
    events = client_events(history)
    if events:
        parse_events(events, source="history")
    down = [e.get("value") for e in history
            if isinstance(e, dict) and e.get("process") == "nemesis" and e.get("f") == "revive"
            and isinstance(e.get("value"), dict) and e["value"].get("ok") is False]
    errors = [_line(v) for v in down]
    nodes = sorted({str(v.get("node")) for v in down})
    summary = ("every node brought back answered" if not down else
               f"{len(nodes)} node(s) did not come back: {', '.join(nodes)}")
    return {"valid": not down, "summary": summary, "errors": errors, "not_back": down}


def _line(v: dict) -> str:
    since = v.get("since_ns")
    at = f" at {since / NS:.1f} s" if isinstance(since, (int, float)) else ""
    tail = [x for x in str(v.get("log_tail") or "").splitlines() if x.strip()]
    last = f" (last log line: {tail[-1][:200]})" if tail else " (no log)"
    return (f"{v.get('node')} did not come back after the {v.get('after')}{at}: no answer "
            f"within {v.get('bound_s')} s{last}")


CHECKER = Checker("revival", "run", check,
                  "nodes brought back after kill/pause/restart answer again within the bound")
