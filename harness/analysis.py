"""Run every checker of a case over a stored run directory (layer: harness).

Used at the end of `harness run` and by `harness check RUN_DIR`, so a run can
be re-analysed without any cluster, also one whose harness was killed (the
history's torn last line is skipped). A checker that crashes yields
"unknown", never valid.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

import checker
from checker.runlog import client_events
from harness.cases import parse_case
from harness.errors import BadInput, EXIT_INVALID, EXIT_UNKNOWN, EXIT_VALID

LINEAR_TIME_LIMIT_S = 120


def load_run(run_dir: Path) -> dict:
    """The run's files: case, run.json, history, states, node events (on the run clock)."""
    run_dir = Path(run_dir)
    try:
        case = parse_case(yaml.safe_load((run_dir / "case.yaml").read_text()),
                          str(run_dir / "case.yaml"))
        meta = json.loads((run_dir / "run.json").read_text())
        history = checker.read_jsonl(run_dir / "history.jsonl")
        states_path = run_dir / "states.jsonl"
        states = checker.read_jsonl(states_path) if states_path.exists() else []
        node_events = checker.read_node_events(run_dir, meta["wall_start"])
    except FileNotFoundError as exc:
        raise BadInput(f"run directory {run_dir}: missing {Path(exc.filename).name}") from None
    except (ValueError, KeyError, yaml.YAMLError) as exc:
        raise BadInput(f"run directory {run_dir}: {exc}") from None
    return {"case": case, "meta": meta, "history": history, "states": states,
            "node_events": node_events}


def _safe(name, fn):
    try:
        result = fn()
    except Exception as exc:  # STYLE.md: a crashing checker yields unknown, never valid
        result = {"valid": "unknown", "error": f"{type(exc).__name__}: {exc}"}
    result.setdefault("checker", name)
    return result


def _linearizable(history, workload: str, model: str) -> dict:
    events = [e for e in history if e.get("workload") == workload and e.get("process") != "final"]
    if not events:
        return {"valid": "unknown", "error": f"no {workload} operations in the history"}
    ops = checker.parse_events(client_events(events), source=f"history.jsonl ({workload})")
    result = checker.check_linearizable(ops, model, initial_value=None, null_read="absent",
                                        time_limit=LINEAR_TIME_LIMIT_S)
    result["workload"] = workload
    return result


def analyze(run_dir: Path) -> dict:
    """Results of every checker the case names, plus SLA lines and the overall verdict."""
    run = load_run(run_dir)
    case, history, states, nev = run["case"], run["history"], run["states"], run["node_events"]
    nodes = run["meta"].get("nodes")
    names = [w["name"] for w in case.workloads]
    checks: dict[str, dict] = {}
    if "linearizable" in case.checkers and "register" in names:
        checks["linearizable"] = _safe("linearizable",
                                       lambda: _linearizable(history, "register", "cas-register"))
    if "rpo" in case.checkers and "set" in names:
        set_events = [e for e in history if e.get("process") == "nemesis"
                      or e.get("workload") == "set"]
        checks["rpo"] = _safe("rpo", lambda: checker.check_rpo(set_events, states, nodes))
    if "split-brain" in case.checkers:
        checks["split-brain"] = _safe("split-brain", lambda: checker.check_split_brain(
            history, states, nev, step_down_sla_s=case.sla.get(
                "split_brain_detect_s", checker.SEED_THRESHOLDS["split_brain_detect_s"])))
    if "sla" in case.checkers:
        checks["sla"] = _safe("sla", lambda: checker.check_slas(
            history, states, nev, thresholds=case.sla, required=case.required_slas))
    if "perf" in case.checkers:
        checks["perf"] = _safe("perf", lambda: checker.check_perf(history))
    verdict = overall(checks)
    return {"case": case.id, "run_dir": str(Path(run_dir).resolve()), "valid": verdict,
            "exit_code": exit_code(verdict), "nodes": nodes, "seed": run["meta"].get("seed"),
            "interrupted": run["meta"].get("interrupted"), "checks": checks}


def overall(checks: dict) -> object:
    verdicts = [c.get("valid") for c in checks.values()]
    if any(v is False for v in verdicts):
        return False
    if all(v is True for v in verdicts) and verdicts:
        return True
    return "unknown"


def exit_code(verdict) -> int:
    return {True: EXIT_VALID, False: EXIT_INVALID}.get(verdict, EXIT_UNKNOWN)
