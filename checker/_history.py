"""Histories: the `Op` and `History` types and the JSON Lines reader (layer: checker).

A history file holds one event per line (DESIGN.md "History format"): an
`invoke` and later exactly one completion (`ok`, `fail` or `info`) from the same
process. The reader pairs them into `Op`s. It knows nothing about models: which
`f` values are legal is decided by the model (checker/_models.py).

Rules enforced here, each failure naming `file:line`:
- every line is a UTF-8 JSON object with `process`, `type`, `f` and `time`;
  NaN / Infinity (and floats that overflow to them) are not JSON values and
  are rejected, as are integers over Python's digit limit and nesting deeper
  than MAX_DEPTH (so nothing downstream can recurse out of stack);
- a completion needs an outstanding invoke from its process, with the same f/key;
- a process never has two invokes outstanding.
Lines are split on b"\n" only (a raw U+2028 inside a JSON string is valid).
A torn last line (the writer crashed mid-write) is dropped with a warning,
but only if it is incomplete: no newline after it and its text is a prefix
of some JSON (truncated), never a complete line of junk. Events of process
"nemesis" are not client operations and are ignored. An invoke with no
completion becomes `info`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

TYPES = ("invoke", "ok", "fail", "info")
NEMESIS = "nemesis"


class BadHistory(ValueError):
    """The history cannot be read; the message names file:line and the problem."""


@dataclass(frozen=True, slots=True)
class Op:
    """One client operation: its invoke and its completion.

    `type` is "ok", "fail" or "info" (info: indeterminate, includes invokes that
    never completed). `value` is the completion's value for ok ops (it carries
    what was read) and the invoke's value otherwise. `complete_time` and
    `complete_line` are None when the op never completed; `line` is the invoke's.
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
    complete_line: int | None = None

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
    """Read a JSON Lines history file; raise BadHistory (file:line: problem) on bad input.

    Streams the file: only the events of ops still open are held, not every line."""
    warnings: list = []
    with _open(path) as f:
        history = parse_events(iter_events(_bounded_lines(f, path), str(path), warnings),
                               source=str(path))
    history.warnings[:0] = warnings
    return history


def read_events(path) -> tuple[list, list]:
    """([(line, event dict)], warnings) of a JSON Lines file, every line checked as the
    module docstring says (BadHistory naming file:line); no pairing."""
    warnings: list = []
    with _open(path) as f:
        return list(iter_events(_bounded_lines(f, path), str(path), warnings)), warnings


def _open(path):
    try:
        return open(path, "rb")
    except (OSError, ValueError) as exc:   # ValueError: a NUL in the path
        raise BadHistory(f"{path}: cannot read history: "
                         f"{getattr(exc, 'strerror', None) or exc}") from None


MAX_LINE_BYTES = 64 << 20   # one event; far beyond any real one, and it bounds memory on /dev/zero


def _bounded_lines(f, source):
    """The lines of binary file `f`; BadHistory naming the line for one over MAX_LINE_BYTES."""
    n = 0
    while True:
        try:
            raw = f.readline(MAX_LINE_BYTES + 1)
        except OSError as exc:   # a directory, a device that fails
            raise BadHistory(f"{source}:{n + 1}: cannot read history: {exc.strerror or exc}") from None
        if not raw:
            return
        n += 1
        if len(raw) > MAX_LINE_BYTES:
            raise BadHistory(f"{source}:{n}: line longer than {MAX_LINE_BYTES >> 20} MiB; "
                             f"not a history event")
        yield raw


def iter_events(lines, source, warnings: list):
    """(line number, JSON value) of each non-blank line of `lines` (bytes, each ending in
    b"\n" but maybe the last: a file opened "rb" or io.BytesIO); a torn last line is
    skipped with a message appended to `warnings`."""
    for n, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        if raw.endswith(b"\n"):
            yield n, decode_line(raw[:-1], source, n)
            continue
        try:
            value = decode_line(raw, source, n, last=True)
        except _Torn as exc:
            warnings.append(f"{source}:{n}: skipped truncated last line ({exc})")
            return
        yield n, value


def parse_lines(lines, source="<memory>") -> History:
    """Parse complete JSON Lines (a list of str, none torn) into a History."""
    events = [(n, decode_line(line.encode("utf-8", "surrogatepass"), source, n))
              for n, line in enumerate(lines, 1) if line.strip()]
    return parse_events(events, source=source)


MAX_DEPTH = 64   # nesting of a history event; real ones use 4 at most


class _Torn(Exception):
    """The last line is a truncated write (a prefix of JSON); the message says why."""


def _reject_constant(name):
    raise ValueError(f"{name} is not a JSON value")


def _finite_float(text):
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"number {text[:40]} is out of range (not a finite float)")
    return value


_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)
_SCAN = _DECODER.scan_once


def decode_line(raw: bytes, source: str, lineno: int, last=False):
    """One line's JSON value; BadHistory naming source:lineno, or _Torn for a torn `last` line."""
    try:
        text = raw.decode("utf-8")
        value, end = _SCAN(text, 0)   # the whole decoder's work without its two regex calls
        if end == len(text) and (text.count("[") + text.count("{") <= MAX_DEPTH
                                 or _depth(value) <= MAX_DEPTH):
            return value
    except Exception:
        pass   # any problem: the full decoder below says which, or agrees
    return _decode_slowly(raw, f"{source}:{lineno}", last)


def _decode_slowly(raw: bytes, where: str, last: bool):
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        if last and exc.start >= len(raw) - 3 and exc.reason == "unexpected end of data":
            raise _Torn("cut inside a UTF-8 character") from None
        raise BadHistory(f"{where}: not UTF-8 (byte {exc.start + 1})") from None
    try:
        value = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        if last and _truncated(text, exc):
            raise _Torn(exc.msg) from None
        raise BadHistory(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise BadHistory(f"{where}: nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:   # NaN / Infinity, or an integer over Python's digit limit
        raise BadHistory(f"{where}: {_short(exc)}") from None
    if text.count("[") + text.count("{") > MAX_DEPTH and _depth(value) > MAX_DEPTH:
        raise BadHistory(f"{where}: nested deeper than {MAX_DEPTH} levels")
    return value


def _short(exc: ValueError) -> str:
    text = str(exc)
    if "integer string conversion" in text:
        return "an integer with more digits than Python converts (4300); not a history value"
    return text


_LITERALS = ("true", "false", "null")
_NUMBER_CHARS = set("+-.0123456789eE")


def _truncated(text: str, exc: json.JSONDecodeError) -> bool:
    """True if `text` can be the start of a longer JSON text: the parse failed only for
    lack of input, not on junk (a complete value followed by junk is not a torn write)."""
    if exc.msg == "Extra data":
        return False
    rest = text[exc.pos:].rstrip()
    return (not rest or exc.msg.startswith("Unterminated string")
            or (exc.msg.startswith("Invalid \\uXXXX") and len(rest) <= 6)
            or any(lit.startswith(rest) for lit in _LITERALS) or set(rest) <= _NUMBER_CHARS)


def _depth(value) -> int:
    """Nesting depth of a JSON value, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, dict)):
            deepest = max(deepest, depth)
            if depth > MAX_DEPTH:
                break
            stack.extend((v, depth + 1) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


def parse_events(events, source="<memory>") -> History:
    """Pair (line, event-dict) items into Ops; raise BadHistory naming source:line."""
    pending: dict = {}
    ops: list = []
    count = 0
    for lineno, event in events:
        _validate_event(event, source, lineno)
        count += 1
        if event["process"] == NEMESIS:
            continue
        if event["type"] == "invoke":
            _add_invoke(pending, event, lineno, source)
        else:
            ops.append(_complete(pending, event, lineno, source))
    for invoke_line, invoke in pending.values():
        ops.append(_make_op(invoke, invoke_line, invoke, "info", None))
    if not ops:
        raise BadHistory(f"{source}: no client operations in the history (empty file?)")
    ops.sort(key=lambda op: (op.invoke_time, op.line))
    for i, op in enumerate(ops):
        object.__setattr__(op, "index", i)   # frozen for users; set once here, without a copy
    return History(ops=ops, source=source, events=count)


def _validate_event(event, source, lineno):
    """The rules of the module docstring for one event; BadHistory naming source:lineno."""
    if type(event) is dict:   # the common case, in few operations
        process, key = event.get("process"), event.get("key")
        if (event.get("type") in TYPES and type(event.get("time")) is int
                and type(event.get("f")) is str and type(process) in (int, str)
                and type(key) not in (dict, list)):
            return
    _explain_event(event, f"{source}:{lineno}")


def _explain_event(event, where):
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


def _add_invoke(pending, event, lineno, source):
    process = event["process"]
    if process in pending:
        where = f"{source}:{lineno}"
        first = pending[process][0]
        raise BadHistory(f"{where}: process {process!r} invokes again while its invoke at "
                         f"line {first} has not completed")
    pending[process] = (lineno, event)


def _complete(pending, event, lineno, source):
    process = event["process"]
    where = f"{source}:{lineno}"   # cheap next to the Op built below
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
    return _make_op(invoke, invoke_line, event, event["type"], event["time"], lineno)


def _make_op(invoke, line, completion, type_, complete_time, complete_line=None):
    value = completion.get("value") if type_ == "ok" else invoke.get("value")
    extra = {k: v for k, v in completion.items() if k not in _EXTRA_SKIP}
    return Op(index=-1, process=invoke["process"], f=invoke["f"], key=invoke.get("key"),
              value=value, type=type_, invoke_time=invoke["time"], complete_time=complete_time,
              line=line, invoke_value=invoke.get("value"), extra=extra,
              complete_line=complete_line)
