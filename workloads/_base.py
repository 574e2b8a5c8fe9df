"""What a workload is: ops to generate, how they map onto requests, checkers, final reads
(layer: workloads).

A workload is blind to provisioning (STYLE.md 1): it sees node names and
(host, port) addresses, a `record(event)` callback and a `clock()` in ns.
History events it produces follow DESIGN.md "History format".
"""

from __future__ import annotations

import random

from workloads._client import Client, Outcome

FINAL = "final"


class Workload:
    """Base class. Subclasses set `name`, `checkers`, `model` and implement the op mapping."""

    name = "workload"
    checkers: tuple = ()
    model: str | None = None

    def generate(self, rng: random.Random) -> dict:
        """The next op: {"f", "key", "value"} (value as recorded on the invoke)."""
        raise NotImplementedError

    def request(self, op: dict) -> dict:
        """The protocol request for an op."""
        raise NotImplementedError

    def ok_value(self, op: dict, reply: dict):
        """The value recorded on the op's ok completion."""
        return op["value"]

    async def final_reads(self, nodes: dict, record, clock, timeout: float = 2.0) -> None:
        """Reads after the heal, recorded as process "final"; none by default."""
        return None


def completion(process, op: dict, out: Outcome, value, clock) -> dict:
    """The history event completing `op` with outcome `out`."""
    return {"process": process, "type": out.type, "f": op["f"], "key": op["key"],
            "value": value if out.type == "ok" else op["value"], "time": clock(), **out.fields()}


async def final_read(client: Client, record, clock, op: dict, req: dict, extra: dict,
                     follow: bool, parse) -> Outcome:
    """One recorded final read: invoke, call, completion (carrying `extra`, e.g. node/mode)."""
    record({"process": FINAL, "type": "invoke", "f": op["f"], "key": op["key"], "value": None,
            "time": clock(), **extra})
    out = await client.call(req, follow=follow)
    value = parse(out.reply.get("value")) if out.type == "ok" else None
    done = completion(FINAL, {**op, "value": None}, out, value, clock)
    record({**done, **extra, **({"node": out.reply.get("node")} if out.type == "ok"
                                and out.reply.get("node") else {})})
    return out
