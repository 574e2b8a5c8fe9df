"""Pure analysis of histories: linearizability, RPO, split-brain, SLAs, availability.
Imports nothing of the other packages.

Checkers (checker._api): every checker is `check(history, ctx: RunContext) -> dict` with
`valid` True / False / "unknown" and a one-line `summary`; CHECKERS maps each name to
its Checker (name, scope "workload" or "run", check). `run_check(name, history, ctx)`
runs one through `check_safe` (a crash gives "unknown"); `compose` runs several and
`merge_verdicts` is the one verdict rule (False > "unknown" > True; none: "unknown").
A new checker is one module with a CHECKER plus one line in CHECKERS below.

Histories: `read_history`, `parse_lines`, `parse_events`, `Op`, `History`, `BadHistory`,
`check_linearizable` (the linearizability engine, returning the result dict), `MODELS` /
`get_model`, `render_text`. Run logs: `read_jsonl`, `read_node_events`, `fault_timeline`.
SLA metric names: `SLA_METRICS` (the figures live with the cases).
"""

from checker import availability, linearizable, perf, rpo, sla, splitbrain
from checker._api import Checker, RunContext, check_safe, compose, merge_verdicts
from checker._history import BadHistory, History, Op, parse_events, parse_lines, read_history
from checker._linear import check_linearizable
from checker._models import MODELS, NULL_READS, get_model
from checker._render import render_text
from checker.runlog import BadRunLog, fault_timeline, map_node_events, read_jsonl, read_node_events

CHECKERS: dict[str, Checker] = {c.name: c for c in (
    linearizable.CHECKER,
    rpo.CHECKER,
    splitbrain.CHECKER,
    sla.CHECKER,
    perf.CHECKER,
    availability.CHECKER,
)}
SLA_METRICS = sla.METRICS


def run_check(name: str, history, ctx: RunContext | None = None) -> dict:
    """The registered checker `name` on history and ctx, through check_safe.
    KeyError naming the known checkers if there is no such checker."""
    if name not in CHECKERS:
        raise KeyError(f"unknown checker {name!r}; expected one of {', '.join(CHECKERS)}")
    return check_safe(CHECKERS[name], history, ctx)


__all__ = [
    "BadHistory", "History", "MODELS", "NULL_READS", "Op", "check_linearizable", "get_model",
    "parse_events", "parse_lines", "read_history", "render_text",
    "CHECKERS", "Checker", "RunContext", "SLA_METRICS", "check_safe", "compose",
    "merge_verdicts", "run_check",
    "BadRunLog", "fault_timeline", "map_node_events", "read_jsonl", "read_node_events",
]
