"""Did the database come back? A watcher over the nemesis's own events (layer: harness).

The nemesis verifies that the network heals; this verifies that the process
does. After every fault that brings a process back (the end of a kill or a
pause, a restart, the final heal), the watcher polls the database's status
on those nodes until each answers, for at most `bound_s` seconds. A node
that does not come back is recorded in the history as a nemesis `info`
event with f "revive", `ok: false`, how long it was given, and the last
lines of its log, and is kept in `findings`; the `revival` checker turns
such events into a failed verdict, so a database that refuses to restart
ends the run with exit 1 and the evidence in the report, never 255.

What a damaged node is expected to do is the fault's `node_after` in
nemesis.FAULTS. Nodes that had a disk fault injected ("down": bitflip,
truncate) are not expected to come back: refusing to start on a corrupted WAL
is correct behaviour. After a "refuse" fault (`wal-bitflip`: a committed
record in the middle of the node's WAL damaged, then the node restarted)
refusal is the expected outcome, so the
watcher records what the node did either way, as f "revive" with
`expect: "refusal"`, `answered` (its status answered: it started on a
corrupted WAL), `exited` (its process is gone) and its log tail, and no `ok`
field: the revival checker does not judge it, the corruption checker does
(the refusal must name the damaged file and offset). A node seen to exit is
in `refused`, so recovery does not wait for it.
"""

from __future__ import annotations

import asyncio

from nemesis import FAULTS

BRINGS_BACK = ("kill", "pause")          # ended by start / resume
POLL_S = 0.1


class RevivalWatcher:
    def __init__(self, db, remotes: dict, record, clock, bound_s: float = 15.0):
        self.db, self.remotes, self.record, self.clock = db, remotes, record, clock
        self.bound_s = bound_s
        self.down: dict[str, str] = {}       # fault id -> "kill"/"pause" for open faults
        self.nodes_of: dict[str, list] = {}  # fault id -> nodes
        self.corrupted: set[str] = set()
        self.refused: set[str] = set()       # exited after a "refuse" fault's restart
        self.findings: list[dict] = []
        self.tasks: set[asyncio.Task] = set()

    def observe(self, event: dict) -> None:
        """Feed every history event; starts checks for nemesis events that revive nodes."""
        if event.get("process") != "nemesis" or event.get("type") != "info":
            return
        f, value = event.get("f"), event.get("value") or {}
        if not isinstance(value, dict) or value.get("error"):
            return
        if f in BRINGS_BACK and "fault" in value:
            self.down[value["fault"]] = f
            self.nodes_of[value["fault"]] = list(value.get("nodes", []))
        elif _node_after(f) == "down" and value.get("node"):
            self.corrupted.add(value["node"])
        elif _node_after(f) == "refuse" and value.get("node") in self.remotes:
            self.corrupted.add(value["node"])
            self._spawn(self._refusal(value["node"]))
        elif f == "restart":
            self._check(value.get("nodes", []), "restart")
        elif f == "heal" and value.get("fault") in self.down:
            fault = value["fault"]
            self._check(self.nodes_of.pop(fault, []), f"end of {self.down.pop(fault)}")
        elif f == "heal" and value.get("fault") == "all":
            for fault in list(self.down):
                self._check(self.nodes_of.pop(fault, []), f"heal of {self.down.pop(fault)}")

    def _check(self, nodes, cause: str) -> None:
        for node in nodes:
            if node in self.remotes and node not in self.corrupted:
                self._spawn(self._wait(node, cause))

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _refusal(self, node: str) -> None:
        """Until the node answers, its process is gone, or bound_s: record which."""
        remote, started = self.remotes[node], self.clock()
        loop = asyncio.get_running_loop()
        deadline, answered, exited = loop.time() + self.bound_s, False, False
        while loop.time() < deadline and not (answered or exited):
            answered = await self._answers(remote)
            exited = not answered and not await self._alive(remote)
            await asyncio.sleep(POLL_S)
        if exited:
            self.refused.add(node)
        self.record({"process": "nemesis", "type": "info", "f": "revive", "time": self.clock(),
                     "value": {"node": node, "after": "restart on a corrupted WAL",
                               "expect": "refusal", "answered": answered, "exited": exited,
                               "since_ns": started, "bound_s": self.bound_s,
                               "log_tail": await self._tail(remote)}})

    async def _answers(self, remote) -> bool:
        try:
            return await self.db.status(remote.host, 1.0) is not None
        except Exception:   # a status that raises is a node that does not answer
            return False

    async def _alive(self, remote) -> bool:
        try:
            return await self.db.alive(remote)
        except Exception:   # the host did not answer: the process may live, keep watching
            return True

    async def _tail(self, remote) -> str:
        try:
            return await asyncio.wait_for(self.db.node_log_tail(remote, 5), 10)
        except Exception as exc:
            return f"(log not readable: {type(exc).__name__}: {exc})"

    async def _wait(self, node: str, cause: str) -> None:
        remote = self.remotes[node]
        started = self.clock()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.bound_s
        while loop.time() < deadline:
            if await self._answers(remote):
                return
            await asyncio.sleep(POLL_S)
        value = {"node": node, "ok": False, "after": cause, "since_ns": started,
                 "bound_s": self.bound_s, "log_tail": await self._tail(remote)}
        self.findings.append(value)
        self.record({"process": "nemesis", "type": "info", "f": "revive", "value": value,
                     "time": self.clock()})

    async def drain(self) -> None:
        """Wait for the checks in flight (each is bounded by bound_s + 10 s)."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)


def _node_after(f) -> str | None:
    fault = FAULTS.get(f) if isinstance(f, str) else None
    return fault.node_after if fault else None
