"""From a history to per-key search problems (layer: checker).

P-compositionality: linearizability is local, so each key is checked on its
own. `fail` ops are dropped (they did not take effect); ops the model says
constrain nothing (info reads, reads of an unknown value) are left out.
"""

from __future__ import annotations

from checker._history import BadHistory, History, Op
from checker._models import NULL_READS, SCALARS, freeze


def _validate(history, model, op) -> None:
    """BadHistory unless op's f belongs to the model and its value has the model's shape
    (`validate` runs on the ops whose f is in the model's `validated`)."""
    if op.f not in model.fs:
        raise BadHistory(f"{history.source}:{op.line}: f {op.f!r} is not an operation of model "
                         f"{model.name!r} (expected one of {', '.join(model.fs)})")
    if op.f in model.validated:
        try:
            model.validate(op)
        except BadHistory as exc:
            raise BadHistory(f"{history.source}: {exc}") from None


def check_options(model, initial_value, null_read) -> None:
    """ValueError naming the option if null_read or initial_value does not suit the model."""
    if model.name == "kv" and not isinstance(initial_value, (str, type(None))):
        raise ValueError(f"initial value {initial_value!r}: kv values are strings (or null for \"\")")
    if null_read not in NULL_READS:
        raise ValueError(f"null_read {null_read!r}: expected one of {', '.join(NULL_READS)}")
    try:
        hash(freeze(initial_value))
    except TypeError:
        raise ValueError(f"initial value {initial_value!r} is not a JSON value") from None


def partition(history: History, model=None) -> dict:
    """key -> ops of that key that took effect or may have (fail ops dropped), invoke order.

    Every key of the history is present, even one whose ops all failed. With `model`,
    checks each op against it in the same pass (BadHistory), as _validate."""
    keys: dict = {}
    # the fs that need no look at the value: any other f is unknown or validated
    plain = None if model is None else frozenset(model.fs) - frozenset(model.validated)
    for op in history.ops:
        if plain is not None and op.f not in plain:
            _validate(history, model, op)
        key = op.key
        if type(key) not in SCALARS:   # a scalar (the reader refuses others) needs no freeze
            key = freeze(key)
        ops = keys.get(key)
        if ops is None:
            ops = keys[key] = []
        if op.type != "fail":
            ops.append(op)
    return keys


def to_calls(model, ops: list[Op], initial_value, null_read, free_initial=False):
    """(initial state, [call], [Op] aligned with the calls): the search problem for one key
    (a call: the tuple checker/_search.py describes)."""
    init, transitions = model.bind(ops, initial_value, null_read, free_initial)
    calls, kept = [], []
    read_only = model.read_only
    for op, transition in zip(ops, transitions):
        if transition is None:
            continue
        ret = op.complete_time if op.type == "ok" else None
        calls.append((op.invoke_time, ret, transition, read_only(op)))
        kept.append(op)
    return init, calls, kept


