"""The one checker signature, the run context, and the verdict rules (layer: checker).

Every checker is an object with `name`, `scope` and `check(history, ctx) -> dict`
(as Jepsen's one-method Checker in jepsen/src/jepsen/checker.clj):

- `history`: the run's history events as dicts (DESIGN.md "History format"), in
  order. A "workload"-scoped checker gets one workload's client events plus the
  nemesis events; a "run"-scoped checker gets the whole history.
- `ctx`: a RunContext (states, node events, fault timeline, nodes, thresholds,
  required SLAs, options); every field has an empty default.
- The result is a dict with `valid` (True, False or "unknown"), a one-line
  `summary` for people, optionally `errors` (one line per finding) and `lines`
  (extra report lines), plus the checker's own figures.

`check_safe` runs one checker so that a crash yields "unknown" with the error,
never valid (STYLE.md 5); `merge_verdicts` and `compose` are the only places
that combine verdicts: False beats "unknown" beats True, and nothing is "unknown".
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping, Sequence

from checker.runlog import Fault, fault_timeline

UNKNOWN = "unknown"
SCOPES = ("workload", "run")


@dataclass(frozen=True)
class RunContext:
    """What a checker may know besides the history (all optional).

    states: states.jsonl samples; node_events: node events on the run clock;
    faults: the fault timeline (checker.runlog.Fault), None to derive it from the history;
    nodes: the cluster's node names, None when unknown; thresholds: the case's SLA figures
    (metric -> seconds); required: metric names that must be measured; options: this
    checker's options (e.g. {"model": "cas-register", "workload": "register"}).
    """

    states: Sequence[dict] = ()
    node_events: Sequence[dict] = ()
    faults: Sequence[Fault] | None = None
    nodes: Sequence[str] | None = None
    thresholds: Mapping[str, float] = field(default_factory=dict)
    required: Sequence[str] = ()
    options: Mapping[str, Any] = field(default_factory=dict)

    def with_options(self, **options) -> RunContext:
        """A copy whose options are these (the other fields shared)."""
        return replace(self, options=dict(options))

    def fault_timeline(self, history) -> list[Fault]:
        """The run's faults: the context's, else those the history's nemesis events describe."""
        return list(self.faults) if self.faults is not None else fault_timeline(history)


@dataclass(frozen=True)
class Checker:
    """A named check: `scope` "workload" (one workload's events) or "run" (the whole history)."""

    name: str
    scope: str
    check: Callable[[list, RunContext], dict]
    doc: str = ""

    def __post_init__(self):
        if self.scope not in SCOPES:
            raise ValueError(f"checker {self.name!r}: scope {self.scope!r} is not one of "
                             f"{', '.join(SCOPES)}")


def is_verdict(value) -> bool:
    """True for exactly True, False and "unknown" (1 and 0 are not verdicts)."""
    return value is True or value is False or value == UNKNOWN


def merge_verdicts(verdicts) -> object:
    """False if any is False; else "unknown" if any is not True (or there are none); else True."""
    verdicts = list(verdicts)
    if any(v is False for v in verdicts):
        return False
    if verdicts and all(v is True for v in verdicts):
        return True
    return UNKNOWN


def check_safe(checker: Checker, history, ctx: RunContext | None = None) -> dict:
    """checker.check(history, ctx) with the guarantees every caller relies on: a crash (or a
    result that is not a dict with a three-valued `valid`) gives "unknown" with the error,
    never valid; the result names its checker and carries a one-line `summary`."""
    ctx = RunContext() if ctx is None else ctx
    try:
        result = checker.check(list(history), ctx)
        if not isinstance(result, dict) or not is_verdict(result.get("valid")):
            raise TypeError(f"returned {_brief(result)}, not a result with valid "
                            "True/False/\"unknown\"")
    except Exception as exc:  # STYLE.md 5: a crashing checker yields unknown, never valid
        error = f"{type(exc).__name__}: {exc}"
        result = {"valid": UNKNOWN, "error": error, "summary": f"checker crashed: {error}"}
    result.setdefault("checker", checker.name)
    if not result.get("summary"):
        result["summary"] = result.get("error") or _default_summary(result)
    return result


def compose(checkers: Mapping[str, Checker] | Sequence[Checker], history,
            ctx: RunContext | None = None) -> dict:
    """Every checker on the same history and context: {"valid": merged, "checks": {name: result}}."""
    items = checkers.items() if isinstance(checkers, Mapping) else ((c.name, c) for c in checkers)
    checks = {name: check_safe(c, history, ctx) for name, c in items}
    return {"valid": merge_verdicts(c["valid"] for c in checks.values()), "checks": checks}


def _default_summary(result) -> str:
    errors = result.get("errors") or []
    return errors[0] if errors else f"valid: {result['valid']}"


def _brief(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
