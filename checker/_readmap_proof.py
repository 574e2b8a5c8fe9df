"""Independent checks of the read-mapping's answers (layer: checker).

checker/_readmap.py decides a key by graph reasoning; nothing here trusts that
reasoning. A valid verdict must come with a witness order that `witness_problem`
replays through the model's own transitions (the ones the search uses) and checks
against real time; an invalid one with a certificate that the search
(checker/_search.py) confirms cannot be linearized (checker/_counterexample.py).
"""

from __future__ import annotations

from checker._models import ILLEGAL


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
