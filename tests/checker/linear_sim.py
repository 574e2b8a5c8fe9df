"""Test helpers: a simulated linearizable register and a brute-force reference checker.

`simulate` drives a single atomic register with concurrent client processes
from a list of choices (drawn by hypothesis): each op takes effect at one
instant between its invoke and its completion, so the history it writes is
linearizable by construction. Written values are unique, which makes a
planted stale read provably illegal.
"""

from __future__ import annotations

import itertools

ACTIONS = 10


def simulate(choices, processes=3, fresh=itertools.count):
    """Events (dicts, time = index) from (process, action) choices."""
    values = fresh(1)
    register = None
    pending = {}     # process -> [invoke event, applied?, result]
    events = []
    next_id = {p: p for p in range(processes)}   # a process retires after info

    def emit(process, type_, f, value):
        events.append({"process": process, "type": type_, "f": f, "key": None, "value": value,
                       "time": len(events)})

    for slot, action in choices:
        slot %= processes
        pid = next_id[slot]
        if pid not in pending:
            f = ("read", "write", "cas")[action % 3]
            value = (None if f == "read" else next(values) if f == "write"
                     else [register if action % 2 else next(values), next(values)])
            pending[pid] = [f, value, False, None]
            emit(pid, "invoke", f, value)
            continue
        f, value, applied, result = pending[pid]
        if not applied and action < 5:
            register, result, took = _apply(register, f, value)
            pending[pid] = [f, value, True, (result, took)]
        elif applied and action < 8:
            result, took = result
            emit(pid, "ok" if took else "fail", f, result)
            del pending[pid]
        elif not applied and action < 8:
            emit(pid, "fail", f, value)
            del pending[pid]
        else:
            emit(pid, "info", f, value)
            del pending[pid]
            next_id[slot] = pid + processes
    return events


def _apply(register, f, value):
    """(new register, completion value, took effect?)."""
    if f == "read":
        return register, register, True
    if f == "write":
        return value, value, True
    if register == value[0]:
        return value[1], value, True
    return register, value, False


def plant_stale_read(events):
    """A copy of `events` with one provably stale ok read.

    Picks an ok read R and an ok write W that completed before R was invoked;
    R's new value is the register's initial value (None) or a value written by
    an ok op that completed before W was invoked. Values are unique, so after
    W nothing can set the register back to it. If no such R exists, appends a
    fresh process's ok write W then another's ok read of such a stale value.
    """
    ops = _ops(events)
    for r in (o for o in ops if o["f"] == "read" and o["type"] == "ok"):
        for w in (o for o in ops if o["f"] == "write" and o["type"] == "ok" and o["end"] < r["start"]):
            stale = [v for v in _older_values(ops, w["start"]) if v != r["value"]]
            if stale:
                out = [dict(e) for e in events]
                out[r["end"]]["value"] = stale[-1]
                return out
    stale = _older_values(ops, len(events))[-1]
    fresh = 1 + max([e["process"] for e in events] + [0])
    new = max([_written(o) for o in ops if o["f"] != "read"] + [0]) + 1
    out = [dict(e) for e in events]
    for process, f, type_, value in ((fresh, "write", "invoke", new), (fresh, "write", "ok", new),
                                     (fresh + 1, "read", "invoke", None),
                                     (fresh + 1, "read", "ok", stale)):
        out.append({"process": process, "type": type_, "f": f, "key": None, "value": value,
                    "time": len(out)})
    return out


def _older_values(ops, before):
    """None and the values written by ok ops that completed before event `before`."""
    return [None] + [_written(o) for o in ops
                     if o["type"] == "ok" and o["f"] != "read" and o["end"] < before]


def _written(op):
    return op["value"] if op["f"] == "write" else op["value"][1]


def _ops(events):
    """Ops as dicts with start/end event indices; end None for never completed."""
    open_, ops = {}, []
    for e in events:
        if e["type"] == "invoke":
            open_[e["process"]] = {"f": e["f"], "value": e["value"], "start": e["time"],
                                   "end": None, "type": "info"}
            ops.append(open_[e["process"]])
        else:
            op = open_.pop(e["process"])
            op["type"] = e["type"]
            op["end"] = e["time"]
            if e["type"] == "ok":
                op["value"] = e["value"]
    return ops


def brute_force(events, initial=None, null_read="absent"):
    """Reference: try every order of every subset holding all ok ops (fail ops dropped)."""
    ops = [o for o in _ops(events) if o["type"] != "fail"]
    required = [o for o in ops if o["type"] == "ok"]
    optional = [o for o in ops if o["type"] == "info"]
    for k in range(len(optional) + 1):
        for extra in itertools.combinations(optional, k):
            for order in itertools.permutations(required + list(extra)):
                if _respects_real_time(order) and _legal(order, initial, null_read):
                    return True
    return False


def _respects_real_time(order):
    for i, a in enumerate(order):
        for b in order[i + 1:]:
            if b["type"] == "ok" and a["start"] > b["end"]:
                return False
    return True


def _legal(order, state, null_read):
    for op in order:
        v = op["value"]
        if op["f"] == "read":
            if op["type"] == "info" or (v is None and null_read == "unknown"):
                continue
            if state != v:
                return False
        elif op["f"] == "write":
            state = v
        elif state == v[0]:
            state = v[1]
        else:
            return False
    return True


def mutate_read(events, pick, choice):
    """A copy of `events` where one ok read or cas (the `pick`-th, modulo) reads another value:
    `choice` indexes [None, -5 (never written), every value written]. Often illegal in ways
    a stale read is not (a read before its write, two cas of one value, a cas cycle)."""
    readers = [i for i, e in enumerate(events) if e["type"] == "ok" and e["f"] in ("read", "cas")]
    if not readers:
        return [dict(e) for e in events]
    written = sorted({_written(o) for o in _ops(events) if o["f"] != "read"})
    value = ([None, -5] + written)[choice % (len(written) + 2)]
    at = readers[pick % len(readers)]
    out = [dict(e) for e in events]
    target = out[at]
    if target["f"] == "read":
        target["value"] = value
    else:
        target["value"] = [value, target["value"][1]]
        invoke = max(i for i in range(at) if out[i]["process"] == target["process"])
        out[invoke]["value"] = target["value"]
    return out


def events_of(ops):
    """Events (time-ordered dicts, one fresh process per op) for a list of checker Ops: a
    sub-history such as a certificate, for brute_force."""
    events = []
    for n, op in enumerate(ops):
        events.append({"process": n, "type": "invoke", "f": op.f, "key": op.key,
                       "value": op.invoke_value, "time": op.invoke_time, "_order": 0})
        if op.complete_time is not None:
            events.append({"process": n, "type": op.type, "f": op.f, "key": op.key,
                           "value": op.value, "time": op.complete_time, "_order": 1})
    events.sort(key=lambda e: (e["time"], e["_order"]))
    for e in events:
        del e["_order"]
    return events
