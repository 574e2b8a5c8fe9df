"""Independent checks of the read-mapping's answers (layer: checker).

checker/_readmap.py decides a key by graph reasoning; nothing here trusts that
reasoning. A valid verdict must come with a witness order, and an invalid one with a
certificate that the search (checker/_search.py) confirms cannot be linearized.

Two replays of a witness, with one difference: what they read the ops' meaning from.
- `order_problem` (every check): replays the order as a register, from the values the
  model's `register_view` gave each op (the key's arrays), and checks real time. It
  needs no transitions, so it costs a few percent of the check, where building the
  transitions for the replay below was a third of the whole check on real etcd
  histories.
- `witness_problem` (the tests, on every witness the property tests make): replays the
  order through the model's own transitions, the ones the search uses.
So what the run-time replay takes on trust is only that `register_view` and the
transitions describe the same register, a property of the model, not of the history;
tests/checker/test_readmap.py checks it for every kind of op.
"""

from __future__ import annotations

from checker._models import ILLEGAL, NOTHING


def order_problem(key, ops, order) -> str:
    """"" if `order` (indices into `ops`) is a linearization of the key's ops as the
    register `key` (checker._readmap.view) describes them: each op at most once and only
    ops that constrain the state, every ok one present, each read (a cas's expected
    value too) seeing the value the ops before it leave, and no op placed after one that
    was invoked after it completed. Otherwise the first problem found, in words."""
    rd, wr, s, f, ok = key.rd, key.wr, key.s, key.f, key.ok
    seen = bytearray(len(rd))
    state, latest_invoke, info = key.init, None, []
    for i in order:   # one pass; sets of the whole key cost more than the replay itself
        if seen[i]:
            return "an op appears twice"
        seen[i] = 1
        v, w = rd[i], wr[i]
        if v is NOTHING and w is NOTHING:   # the view left it out (an info read)
            return f"op at line {ops[i].line} constrains nothing and should not be placed"
        if v is not NOTHING and v != state:
            return f"op at line {ops[i].line} is not legal where the witness places it"
        if w is not NOTHING:
            state = w
            if not ok[i]:
                info.append(i)
        if latest_invoke is not None and f[i] < latest_invoke:
            return f"op at line {ops[i].line} completed before an op placed earlier was invoked"
        if latest_invoke is None or s[i] > latest_invoke:
            latest_invoke = s[i]
    for i in key.active:
        if ok[i] and not seen[i]:
            return f"ok op at line {ops[i].line} is missing"
    stray = [i for i in info if wr[i] not in key.read]   # an info write no op reads (as bind)
    if stray:
        return f"op at line {ops[min(stray)].line} constrains nothing and should not be placed"
    return ""


def witness_problem(model, ops, order, initial_value, null_read) -> str:
    """"" if `order` (indices into `ops`) is a linearization of `ops`: each op at most once,
    every ok op that constrains the state present, each op legal in the state the ops
    before it leave, and no op placed after one that was invoked after it completed.
    Otherwise the first problem found, in words."""
    state, transitions = model.bind(ops, initial_value, null_read)
    placed = set(order)
    if len(placed) != len(order):
        return "an op appears twice"
    for i, op in enumerate(ops):
        if op.type == "ok" and transitions[i] is not None and i not in placed:
            return f"ok op at line {op.line} is missing"
    latest_invoke = None
    for i in order:
        op = ops[i]
        if transitions[i] is None:
            return f"op at line {op.line} constrains nothing and should not be placed"
        state = transitions[i](state)
        if state is ILLEGAL:
            return f"op at line {op.line} is not legal where the witness places it"
        if op.type == "ok" and latest_invoke is not None and op.complete_time < latest_invoke:
            return f"op at line {op.line} completed before an op placed earlier was invoked"
        if latest_invoke is None or op.invoke_time > latest_invoke:
            latest_invoke = op.invoke_time
    return ""
