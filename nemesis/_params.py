"""Strict checks of the values a case gives the nemesis (layer: nemesis, pure).

Every check takes the value and `where` (the field's path, e.g.
`nemesis.timeline[2].duration`) and returns the value or raises BadSchedule
with one line naming the field, what was expected and what was given.
Unknown keys are errors that suggest the closest valid name. NaN, infinity,
booleans posing as numbers and absurd sizes are refused.
"""

from __future__ import annotations

import difflib
import math
import re
from typing import Iterable, Mapping

from ._errors import BadSchedule

MAX_SECONDS = 86_400.0        # no time in a case (offset, duration, interval) beyond a day
MAX_STEPS = 10_000            # no schedule longer than this: checked before generating it
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def shown(value, limit: int = 60) -> str:
    """repr(value), one line, cut to `limit` characters."""
    try:
        text = repr(value)
    except Exception:          # a hostile __repr__ must not end validation
        text = f"<{type(value).__name__}>"
    text = text.replace("\n", "\\n")
    return text if len(text) <= limit else text[:limit - 3] + "..."


def suggest(name, valid: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the closest valid name, or ''."""
    if not isinstance(name, str):
        return ""
    close = difflib.get_close_matches(name, list(valid), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def keys(mapping: Mapping, allowed: Iterable[str], where: str) -> None:
    """BadSchedule for the first key not in `allowed`, suggesting the closest."""
    allowed = sorted(allowed)
    for k in mapping:
        if not isinstance(k, str) or k not in allowed:
            raise BadSchedule(f"{where}: unknown key {shown(k)}{suggest(k, allowed)}; "
                              f"expected one of {', '.join(allowed)}")


def mapping(value, where: str) -> dict:
    if not isinstance(value, dict):
        raise BadSchedule(f"{where}: must be a mapping, got {type(value).__name__} {shown(value)}")
    return value


def number(value, where: str, *, minimum: float | None = 0.0, maximum: float | None = None,
           above: float | None = None, integer: bool = False):
    """A finite int (or float unless `integer`) within the bounds; bools are refused."""
    kind = "an integer" if integer else "a number"
    ok = isinstance(value, int) if integer else isinstance(value, (int, float))
    if not ok or isinstance(value, bool):
        raise BadSchedule(f"{where}: must be {kind}, got {type(value).__name__} {shown(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise BadSchedule(f"{where}: must be a finite number, got {shown(value)}")
    if isinstance(value, int) and abs(value) > 10 ** 15:
        raise BadSchedule(f"{where}: {shown(value, 30)} is out of range")
    if minimum is not None and value < minimum:
        raise BadSchedule(f"{where}: must be >= {minimum:g}, got {shown(value)}")
    if above is not None and value <= above:
        raise BadSchedule(f"{where}: must be > {above:g}, got {shown(value)}")
    if maximum is not None and value > maximum:
        raise BadSchedule(f"{where}: must be <= {maximum:g}, got {shown(value)}")
    return value


def seconds(value, where: str, *, positive: bool = False) -> float:
    """A time in seconds: >= 0 (> 0 if `positive`) and at most MAX_SECONDS."""
    return float(number(value, where, minimum=None if positive else 0.0,
                        above=0.0 if positive else None, maximum=MAX_SECONDS))


def fraction(value, where: str, *, zero: bool = True) -> float:
    """A probability: in [0, 1] (in (0, 1] when not `zero`)."""
    return float(number(value, where, minimum=0.0 if zero else None,
                        above=None if zero else 0.0, maximum=1.0))


def choice(value, where: str, choices: Iterable[str]) -> str:
    choices = list(choices)
    if not isinstance(value, str) or value not in choices:
        raise BadSchedule(f"{where}: unknown value {shown(value)}{suggest(value, choices)}; "
                          f"expected one of {', '.join(choices)}")
    return value


def name(value, where: str) -> str:
    """A node name: letters, digits, '.', '_' or '-' (no path separators)."""
    if not isinstance(value, str) or not NAME.match(value):
        raise BadSchedule(f"{where}: must be a node name like 'n1', got {shown(value)}")
    return value


def names(value, where: str) -> list[str]:
    """A non-empty list of distinct node names."""
    if not isinstance(value, list) or not value:
        raise BadSchedule(f"{where}: must be a non-empty list of node names, got {shown(value)}")
    out = [name(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if len(set(out)) != len(out):
        raise BadSchedule(f"{where}: names a node twice: {shown(value)}")
    return out


def text(value, where: str, pattern: re.Pattern | None = None, hint: str = "") -> str:
    if not isinstance(value, str) or not value or len(value) > 4096 or (
            pattern is not None and not pattern.match(value)):
        raise BadSchedule(f"{where}: must be {hint or 'a non-empty string'}, got {shown(value)}")
    return value
