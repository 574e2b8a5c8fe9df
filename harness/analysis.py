"""Run every checker of a case over a stored run directory (layer: harness).

Used at the end of `harness run` and by `harness check RUN_DIR`, so a run can
be re-analysed without any cluster, also one whose harness was killed (the
history's torn last line is skipped). What runs comes from the registries, with no
per-checker code here: each workload class names its checkers (`checkers`, `model`),
the case names which of them it wants (`checkers`), checker.CHECKERS says each one's
scope. A checker that crashes yields "unknown", never valid (checker.check_safe).
"""

from __future__ import annotations

import json
from pathlib import Path


import checker
from harness.cases import parse_case, read_yaml
from harness.errors import BadInput, EXIT_INVALID, EXIT_UNKNOWN, EXIT_VALID
from workloads import WORKLOADS


REQUIRED_FILES = ("case.yaml", "run.json", "history.jsonl")


def load_run(run_dir: Path) -> dict:
    """The run's files: case, run.json, history, states, node events (on the run clock).
    BadInput naming the directory and the file for anything missing or malformed."""
    run_dir = Path(run_dir)
    for name in REQUIRED_FILES:
        if not (run_dir / name).is_file():
            raise BadInput(f"run directory {run_dir}: missing {name}")
    case = _load_case(run_dir / "case.yaml")
    meta = _load_meta(run_dir / "run.json")
    try:
        history = checker.read_jsonl(run_dir / "history.jsonl")
        states_path = run_dir / "states.jsonl"
        states = checker.read_jsonl(states_path) if states_path.exists() else []
        node_events = checker.read_node_events(run_dir, meta["wall_start"])
    except ValueError as exc:   # checker.BadRunLog names file:line
        raise BadInput(str(exc)) from None
    return {"case": case, "meta": meta, "history": history, "states": states,
            "node_events": node_events}


def _load_case(path: Path):
    """The run's case, read with the catalogue's bounds (size, encoding, aliases, depth)."""
    return parse_case(read_yaml(path), str(path))


def _load_meta(path: Path) -> dict:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BadInput(f"{path}: not a readable JSON object ({type(exc).__name__})") from None
    if not isinstance(meta, dict):
        raise BadInput(f"{path}: expected a JSON object, got {type(meta).__name__}")
    wall = meta.get("wall_start")
    if not isinstance(wall, (int, float)) or isinstance(wall, bool) or wall != wall \
            or wall in (float("inf"), float("-inf")):
        raise BadInput(f"{path}: field 'wall_start' must be a number (the run's wall-clock "
                       f"start in seconds), got {wall!r}")
    nodes = meta.get("nodes")
    if nodes is not None and not (isinstance(nodes, list)
                                  and all(isinstance(n, str) for n in nodes)):
        raise BadInput(f"{path}: field 'nodes' must be a list of node names, got {nodes!r}")
    return meta


def check_plan(case) -> list[tuple[str, str, dict, str | None]]:
    """(result key, checker name, options, workload name or None) for every checker the
    case names, in the case's order. A workload-scoped checker runs once per workload
    whose class lists it (options: that workload's model and name), keyed by its name, or
    "name:workload" when several workloads run it; a run-scoped one runs once (workload
    None). A workload-scoped checker no workload runs is planned with workload "" (no
    workload of the case can be checked by it)."""
    plan = []
    for name in case.checkers:
        checker_obj = checker.CHECKERS[name]
        if checker_obj.scope == "run":
            plan.append((name, name, {}, None))
            continue
        users = list(dict.fromkeys(w["name"] for w in case.workloads
                                   if name in WORKLOADS[w["name"]].checkers))
        if not users:
            plan.append((name, name, {}, ""))
        for w in users:
            key = name if len(users) == 1 else f"{name}:{w}"
            plan.append((key, name, {"model": WORKLOADS[w].model, "workload": w}, w))
    return plan


def workload_events(history, workload: str) -> list[dict]:
    """The events a workload-scoped checker sees: that workload's ops and the nemesis's."""
    return [e for e in history if e.get("process") == "nemesis" or e.get("workload") == workload]


def run_checks(case, history, ctx: checker.RunContext) -> dict[str, dict]:
    """Every planned check through check_safe: a crashing checker yields unknown."""
    checks: dict[str, dict] = {}
    for key, name, options, workload in check_plan(case):
        if workload == "":
            names = ", ".join(w["name"] for w in case.workloads)
            why = f"no workload of the case is checked by {name} (workloads: {names})"
            checks[key] = {"checker": name, "valid": "unknown", "error": why, "summary": why}
            continue
        events = history if workload is None else workload_events(history, workload)
        checks[key] = checker.check_safe(checker.CHECKERS[name], events,
                                         ctx.with_options(**options))
    return checks


def analyze(run_dir: Path) -> dict:
    """Results of every checker the case names (SLA lines included) and the overall verdict."""
    run = load_run(run_dir)
    case, history, meta = run["case"], run["history"], run["meta"]
    nodes = meta.get("nodes")
    ctx = checker.RunContext(states=run["states"], node_events=run["node_events"],
                             faults=_faults(history), nodes=nodes,
                             thresholds=dict(case.sla), required=tuple(case.required_slas))
    checks = run_checks(case, history, ctx)
    verdict = checker.merge_verdicts(c["valid"] for c in checks.values())
    return {"case": case.id, "run_dir": str(Path(run_dir).resolve()), "valid": verdict,
            "exit_code": exit_code(verdict), "nodes": nodes, "seed": meta.get("seed"),
            "interrupted": meta.get("interrupted"), "checks": checks}


def _faults(history):
    """The fault timeline, once for every checker; None when the nemesis events cannot be
    read, so each checker meets the problem inside check_safe (unknown, with the error)."""
    try:
        return checker.fault_timeline(history)
    except Exception:  # noqa: BLE001 - judged per checker, never a crash of the analysis
        return None


def exit_code(verdict) -> int:
    return {True: EXIT_VALID, False: EXIT_INVALID}.get(verdict, EXIT_UNKNOWN)
