"""What a workload is: a client kind, a generator, checker names and final reads
(layer: workloads).

A workload is blind to provisioning and to the wire protocol (STYLE.md 1): it
sees node names, a `connect(home, timeout, max_hops)` client factory that the
database adapter supplies for the workload's `kind` (workloads._client), a
`record(event)` callback and a `clock()` in ns. History events it produces
follow DESIGN.md "History format". To add one: a file with a subclass and one
line in `WORKLOADS` (workloads/__init__.py); see docs/extending.md.
"""

from __future__ import annotations

import random

from workloads._client import Outcome

FINAL = "final"


class Workload:
    """Base class. Subclasses set `name`, `kind`, `checkers`, `model` and `generate` ops.

    - `kind`: the data model whose client the adapter must supply ("register", "set");
    - `checkers`: names of the workload-scoped checkers that judge its ops
      (checker.CHECKERS); `model`: the linearizability model, if any;
    - `generate(rng)`: the next abstract op {"f", "key", "value"};
    - `final_reads(...)`: reads after the heal, recorded as process "final".
    """

    name = "workload"
    kind = "register"
    checkers: tuple = ()
    model: str | None = None
    needs: tuple = ()     # database capabilities beyond the client (harness/db/_base.py)

    def generate(self, rng: random.Random) -> dict:
        """The next op: {"f", "key", "value"} (value as recorded on the invoke)."""
        raise NotImplementedError

    async def final_reads(self, nodes: list, connect, record, clock,
                          timeout: float = 2.0) -> None:
        """Reads after the heal, recorded as process "final"; none by default."""
        return None


def check_ranges(workload: str, ints=(), numbers=()) -> None:
    """Options of a workload's constructor, each (name, value, lo, hi): `ints` must be
    integers (not bools), `numbers` integers or floats (NaN fails), all within [lo, hi];
    the first that is not raises ValueError naming the workload and the option."""
    for name, v, lo, hi in ints:
        if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
            raise ValueError(f"{workload} workload: {name} must be an integer from {lo} to "
                             f"{hi}, got {v!r}")
    for name, v, lo, hi in numbers:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:
            raise ValueError(f"{workload} workload: {name} must be a number in "
                             f"[{lo:g}, {hi:g}], got {v!r}")


def completion(process, op: dict, out: Outcome, clock) -> dict:
    """The history event completing `op` with outcome `out` (an ok read carries the value read)."""
    value = out.value if out.type == "ok" else op["value"]
    return {"process": process, "type": out.type, "f": op["f"], "key": op["key"],
            "value": value, "time": clock(), **out.fields()}


async def final_read(client, record, clock, op: dict, extra: dict, follow: bool,
                     local: bool) -> Outcome:
    """One recorded final read: invoke, call, completion (carrying `extra`, e.g. node/mode)."""
    record({"process": FINAL, "type": "invoke", "f": op["f"], "key": op["key"], "value": None,
            "time": clock(), **extra})
    out = await client.invoke({**op, "value": None}, follow=follow, local=local)
    done = completion(FINAL, {**op, "value": None}, out, clock)
    record({**done, **extra, **({"node": out.node} if out.type == "ok" and out.node else {})})
    return out
