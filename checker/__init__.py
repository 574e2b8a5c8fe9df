"""Pure analysis of histories: linearizability, RPO, split-brain, SLAs, availability.
Imports nothing of the other packages.

Checkers (checker._api): every checker is `check(history, ctx: RunContext) -> dict` with
`valid` True / False / "unknown" and a one-line `summary`; CHECKERS maps each name to
its Checker (name, scope "workload" or "run", check). `run_check(name, history, ctx)`
runs one through `check_safe` (a crash gives "unknown"); `compose` runs several and
`merge_verdicts` is the one verdict rule (False > "unknown" > True; none: "unknown").
A new checker is one module with a CHECKER plus its name in _CHECKER_MODULES below
(imported on first use of CHECKERS).

Histories: `read_history`, `parse_lines`, `parse_events`, `Op`, `History`, `BadHistory`,
`check_linearizable` (the linearizability engine, returning the result dict), `MODELS` /
`get_model`, `render_text`. Run logs: `read_jsonl`, `read_node_events`, `fault_timeline`.
SLA metric names: `SLA_METRICS` (the figures live with the cases).
"""

import importlib

# Public name -> the module defining it, imported on first use (PEP 562) so that
# `harness check FILE` pays only for the linearizability checker, not every checker.
_LAZY = {
    **dict.fromkeys(("Checker", "RunContext", "check_safe", "compose", "merge_verdicts"),
                    "checker._api"),
    **dict.fromkeys(("BadHistory", "History", "Op", "parse_events", "parse_lines", "read_history"),
                    "checker._history"),
    "check_linearizable": "checker._linear",
    **dict.fromkeys(("MODELS", "NULL_READS", "get_model"), "checker._models"),
    "render_text": "checker._render",
    **dict.fromkeys(("BadRunLog", "fault_timeline", "map_node_events", "read_jsonl",
                     "read_node_events"), "checker.runlog"),
}
_CHECKER_MODULES = ("linearizable", "rpo", "splitbrain", "sla", "perf", "availability",
                    "elections", "revival", "backup_chain", "restore", "backup_impact", "region_lag",
                    "corruption")


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    elif name == "CHECKERS":
        value = {c.name: c for c in (importlib.import_module(f"checker.{m}").CHECKER
                                     for m in _CHECKER_MODULES)}
    elif name == "SLA_METRICS":     # the sla checker's, then any a checker module adds
        value = importlib.import_module("checker.sla").METRICS + tuple(
            m for mod in _CHECKER_MODULES
            for m in getattr(importlib.import_module(f"checker.{mod}"), "SLA_METRICS", ()))
    elif name in _CHECKER_MODULES:
        value = importlib.import_module(f"checker.{name}")
    else:
        raise AttributeError(f"module 'checker' has no attribute {name!r}")
    globals()[name] = value
    return value


def run_check(name: str, history, ctx=None) -> dict:
    """The registered checker `name` on history and ctx, through check_safe.
    KeyError naming the known checkers if there is no such checker."""
    checkers, check_safe = __getattr__("CHECKERS"), __getattr__("check_safe")
    if name not in checkers:
        raise KeyError(f"unknown checker {name!r}; expected one of {', '.join(checkers)}")
    return check_safe(checkers[name], history, ctx)


__all__ = [
    "BadHistory", "History", "MODELS", "NULL_READS", "Op", "check_linearizable", "get_model",
    "parse_events", "parse_lines", "read_history", "render_text",
    "CHECKERS", "Checker", "RunContext", "SLA_METRICS", "check_safe", "compose",
    "merge_verdicts", "run_check",
    "BadRunLog", "fault_timeline", "map_node_events", "read_jsonl", "read_node_events",
]
