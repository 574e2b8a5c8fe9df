"""What a workload needs from a database client: the `Client` protocol and `Outcome`
(layer: workloads).

A workload never speaks a wire protocol. The database adapter (harness/db/)
supplies a client factory for each data model it supports ("register",
"set", ...); the workload hands it abstract ops and gets outcomes back, so a
database with another wire protocol brings its own client without touching
workloads/. See docs/extending.md.

The outcome rules are STYLE.md 5: `ok` took effect and its result is known;
`fail` certainly did not take effect; `info` may or may not have. A client
must turn ANY reply it cannot understand (garbage, a half-closed connection,
a node that never answers) into `info` (or `fail` for a read, which has no
effect), never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol


@dataclass
class Outcome:
    """The result of one op: type ok/fail/info, the value observed (reads, on ok), the
    node that answered, the log position and term it reported, and an error text."""

    type: str
    value: object = None
    error: str | None = None
    node: str | None = None
    lsn: int | None = None
    term: int | None = None
    hops: int = 0

    def fields(self) -> dict:
        """History completion fields: node, lsn, term (when known) and error (unless ok)."""
        out = {name: getattr(self, name) for name in ("node", "lsn", "term")
               if getattr(self, name) is not None}
        if self.type != "ok":
            out["error"] = self.error
        return out


class Client(Protocol):
    """A client of one history process, for one data model. `home` is the node tried first.

    `invoke(op)` runs an abstract op ({"f", "key", "value"}, as the workload
    generated it): following redirects to the leader when `follow`, or reading
    the node's own replica only when `local` (final reads). Bounded by the
    client's timeout; never raises for anything the database does.
    """

    home: str

    async def invoke(self, op: dict, *, follow: bool = True, local: bool = False) -> Outcome: ...

    async def close(self) -> None: ...


# connect(home, timeout, max_hops) -> Client, bound to one data model by the adapter.
Connect = Callable[..., Client]
