"""Histories: the `Op` and `History` types and the JSON Lines reader (layer: checker).

A history file holds one event per line (DESIGN.md "History format"): an
`invoke` and later exactly one completion (`ok`, `fail` or `info`) from the same
process. The reader pairs them into `Op`s. It knows nothing about models: which
`f` values are legal is decided by the model (checker/_models.py).

Rules enforced here, each failure naming `file:line`:
- every line is a JSON object with `process`, `type`, `f` and `time`;
- a completion needs an outstanding invoke from its process, with the same f/key;
- a process never has two invokes outstanding.
A last line that is not valid JSON is a truncated write (the writer crashed):
it is skipped with a warning. Events of process "nemesis" are not client
operations and are ignored. An invoke with no completion becomes `info`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

TYPES = ("invoke", "ok", "fail", "info")
NEMESIS = "nemesis"


class BadHistory(ValueError):
    """The history cannot be read; the message names file:line and the problem."""


@dataclass(frozen=True, slots=True)
class Op:
    """One client operation: its invoke and its completion.

    `type` is "ok", "fail" or "info" (info: indeterminate, includes invokes that
    never completed). `value` is the completion's value for ok ops (it carries
    what was read) and the invoke's value otherwise. `complete_time` is None
    when the op never completed.
    """

    index: int
    process: object
    f: str
    key: object
    value: object
    type: str
    invoke_time: int
    complete_time: int | None
    line: int
    invoke_value: object = None
    extra: dict = field(default_factory=dict)

    def describe(self) -> dict:
        """A JSON-ready summary for counterexamples."""
        return {"index": self.index, "process": self.process, "type": self.type, "f": self.f,
                "key": self.key, "value": self.value, "invoke_time": self.invoke_time,
                "complete_time": self.complete_time, "line": self.line}


@dataclass(slots=True)
class History:
    """Client operations in invoke order, plus reader warnings and the source name."""

    ops: list[Op]
    source: str = "<memory>"
    warnings: list[str] = field(default_factory=list)
    events: int = 0


_EXTRA_SKIP = {"process", "type", "f", "key", "value", "time"}


def read_history(path) -> History:
    """Read a JSON Lines history file; raise BadHistory (file:line: problem) on bad input."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadHistory(f"{path}: cannot read history: {exc}") from None
    return parse_lines(text.splitlines(), source=str(path))


def parse_lines(lines, source="<memory>") -> History:
    """Parse JSON Lines text (a list of lines) into a History; see the module docstring."""
    events, warnings = [], []
    numbered = [(n, ln) for n, ln in enumerate(lines, 1) if ln.strip()]
    for pos, (lineno, line) in enumerate(numbered):
        try:
            event = json.loads(line)
        except json.JSONDecodeError as exc:
            if pos == len(numbered) - 1:
                warnings.append(f"{source}:{lineno}: skipped truncated last line ({exc.msg})")
                break
            raise BadHistory(f"{source}:{lineno}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        events.append((lineno, event))
    history = parse_events(events, source=source)
    history.warnings[:0] = warnings
    return history


def parse_events(events, source="<memory>") -> History:
    """Pair (line, event-dict) items into Ops; raise BadHistory naming source:line."""
    pending: dict = {}
    ops: list = []
    count = 0
    for lineno, event in events:
        where = f"{source}:{lineno}"
        _validate_event(event, where)
        count += 1
        if event["process"] == NEMESIS:
            continue
        if event["type"] == "invoke":
            _add_invoke(pending, event, lineno, where)
        else:
            ops.append(_complete(pending, event, lineno, where))
    for invoke_line, invoke in pending.values():
        ops.append(_make_op(invoke, invoke_line, invoke, "info", None))
    if not ops:
        raise BadHistory(f"{source}: no client operations in the history (empty file?)")
    ops.sort(key=lambda op: (op.invoke_time, op.line))
    ops = [_with_index(op, i) for i, op in enumerate(ops)]
    return History(ops=ops, source=source, events=count)


def _validate_event(event, where):
    if not isinstance(event, dict):
        raise BadHistory(f"{where}: expected a JSON object, got {type(event).__name__}")
    for name in ("process", "type", "f", "time"):
        if name not in event:
            raise BadHistory(f"{where}: missing field {name!r}")
    if event["type"] not in TYPES:
        raise BadHistory(f"{where}: type {event['type']!r} is not one of {', '.join(TYPES)}")
    time = event["time"]
    if not isinstance(time, int) or isinstance(time, bool):
        raise BadHistory(f"{where}: time {time!r} is not an integer")
    process = event["process"]
    if isinstance(process, (dict, list, float, bool)) or process is None:
        raise BadHistory(f"{where}: process {process!r} is not an integer or string id")
    if not isinstance(event["f"], str):
        raise BadHistory(f"{where}: f {event['f']!r} is not a string")
    if isinstance(event.get("key"), (dict, list)):
        raise BadHistory(f"{where}: key {event['key']!r} is not a string, number or null")


def _add_invoke(pending, event, lineno, where):
    process = event["process"]
    if process in pending:
        first = pending[process][0]
        raise BadHistory(f"{where}: process {process!r} invokes again while its invoke at "
                         f"line {first} has not completed")
    pending[process] = (lineno, event)


def _complete(pending, event, lineno, where):
    process = event["process"]
    if process not in pending:
        raise BadHistory(f"{where}: {event['type']} completion from process {process!r} "
                         f"with no outstanding invoke")
    invoke_line, invoke = pending.pop(process)
    if invoke["f"] != event["f"] or invoke.get("key") != event.get("key"):
        raise BadHistory(f"{where}: completion f={event['f']!r} key={event.get('key')!r} does not "
                         f"match the invoke at line {invoke_line} (f={invoke['f']!r} "
                         f"key={invoke.get('key')!r})")
    if event["time"] < invoke["time"]:
        raise BadHistory(f"{where}: completion time {event['time']} is before its invoke's "
                         f"time {invoke['time']} (line {invoke_line})")
    return _make_op(invoke, invoke_line, event, event["type"], event["time"])


def _make_op(invoke, line, completion, type_, complete_time):
    value = completion.get("value") if type_ == "ok" else invoke.get("value")
    extra = {k: v for k, v in completion.items() if k not in _EXTRA_SKIP}
    return Op(index=-1, process=invoke["process"], f=invoke["f"], key=invoke.get("key"),
              value=value, type=type_, invoke_time=invoke["time"], complete_time=complete_time,
              line=line, invoke_value=invoke.get("value"), extra=extra)


def _with_index(op, index):
    return Op(index=index, process=op.process, f=op.f, key=op.key, value=op.value, type=op.type,
              invoke_time=op.invoke_time, complete_time=op.complete_time, line=op.line,
              invoke_value=op.invoke_value, extra=op.extra)
