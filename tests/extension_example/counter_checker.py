"""A counter checker: the worked example of docs/extending.md (layer: checker).

In the tree this would be checker/counter.py plus "counter" in checker/__init__.py's
_CHECKER_MODULES. Jepsen's counter checker, for a counter of unique adds: every ok
read must count at least every add acknowledged before the read was invoked, and
at most every add invoked before the read completed (acknowledged or
indeterminate); a read listing an add twice is a violation too.
"""

from __future__ import annotations

from checker import Checker, RunContext


def check(history: list, ctx: RunContext) -> dict:
    invoked, acked, errors, reads = {}, {}, [], 0
    for e in history:
        if e.get("process") == "nemesis" or e.get("f") not in ("add", "read"):
            continue
        key = (e.get("process"), e.get("f"))
        if e["type"] == "invoke":
            invoked[key] = e
        elif e["type"] == "ok" and e["f"] == "add":
            acked[e["value"]] = (invoked.pop(key)["time"], e["time"])
        elif e["type"] == "ok" and e["f"] == "read" and e.get("process") != "final":
            reads += 1
            start = invoked.pop(key)["time"]
            errors += _judge(e, start, history, acked)
        elif e["type"] in ("fail", "info"):
            invoked.pop(key, None)
    summary = (f"{reads} reads within bounds" if not errors else
               f"{len(errors)} of {reads} reads out of bounds")
    return {"valid": not errors, "summary": summary, "errors": errors[:20], "reads": reads}


def _judge(read, start, history, acked) -> list[str]:
    values = read.get("value") or []
    if len(values) != len(set(values)):
        return [f"read at {read['time'] / 1e9:.3f} s lists an add twice: {sorted(values)}"]
    lower = sum(1 for inv, done in acked.values() if done < start)
    upper = sum(1 for e in history if e.get("type") == "invoke" and e.get("f") == "add"
                and e["time"] < read["time"])
    if not lower <= len(values) <= upper:
        return [f"read at {read['time'] / 1e9:.3f} s counted {len(values)}, expected between "
                f"{lower} (acknowledged before it began) and {upper} (invoked before it ended)"]
    return []


CHECKER = Checker("counter", "workload", check, "reads of a counter of unique adds are in bounds")
