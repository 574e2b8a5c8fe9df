"""The linearizability checker in the one checker signature (layer: checker).

Workload-scoped: it gets one workload's client events (plus nemesis events, which it
ignores) and checks them with checker._linear.check_linearizable. Options (ctx.options):
`model` (required, e.g. "cas-register"), `workload` (named in messages), `time_limit`
(seconds, default LINEAR_TIME_LIMIT_S), `initial_value` (default None) and `null_read`
(default "absent"). Final reads (process "final") are left out: they are not part of
the concurrent history the model explains.
"""

from __future__ import annotations

from checker._api import Checker, RunContext
from checker._history import parse_events
from checker._linear import check_linearizable
from checker.runlog import client_events

LINEAR_TIME_LIMIT_S = 120
FINAL = "final"


def check(history: list, ctx: RunContext) -> dict:
    opts = ctx.options
    model = opts.get("model")
    if not model:
        raise ValueError("the linearizable checker needs options['model'] (the workload's model)")
    name = opts.get("workload") or "history"
    events = [e for e in history if e.get("process") != FINAL]
    cev = client_events(events)
    if not cev:
        return {"valid": "unknown", "error": f"no {name} operations in the history",
                "summary": f"no {name} operations in the history"}
    ops = parse_events(cev, source=f"history.jsonl ({name})")
    result = check_linearizable(ops, model, initial_value=opts.get("initial_value"),
                                null_read=opts.get("null_read", "absent"),
                                time_limit=opts.get("time_limit", LINEAR_TIME_LIMIT_S))
    if opts.get("workload"):
        result["workload"] = opts["workload"]
    result["summary"] = summary(result)
    return result


def summary(result: dict) -> str:
    line = (f"{result.get('ops')} ops on {result.get('keys')} keys in "
            f"{result.get('elapsed_s', 0):.2f} s")
    if result["valid"] == "unknown":
        line += f", {result.get('keys_decided')} decided ({', '.join(result.get('reason', []))})"
    return line


CHECKER = Checker("linearizable", "workload", check,
                  "every workload op took effect at one instant between its invoke and completion")
