"""The nemesis core: journaled steps, history events, heal and its verification (layer: nemesis).

Every fault is a set of ledger entries (one per host) grouped under a fault
id. A step is journaled (fsynced) before it is applied. `end(fault)` undoes
one fault; `heal()` undoes every open entry, removes the harness chain from
every host, and verifies: an N x N reachability probe plus a listing of
harness-owned rules and qdiscs. Both verifications become history events.
"""

from __future__ import annotations

import asyncio
from typing import Callable, Mapping

from remote import ControlError, Remote, RemoteCommandError

from . import _argv
from ._batch import run_steps
from ._errors import NemesisError
from ._ledger import Entry, Ledger
from ._probe import Matrix, detect_iptables, survey

Record = Callable[[dict], None]
Clock = Callable[[], int]


class NemesisCore:
    """Holds the remotes, ledger, event sink and the per-host facts.

    `record(event)` receives history events; `clock()` returns run time in
    ns. `db` implements `remote.ProcessControl` (kill/start/pause/resume on a
    node's Remote) and, for clock faults, `remote.ClockControl`; None when
    only network faults are used.
    """

    def __init__(self, remotes: Mapping[str, Remote], ledger: Ledger, *, record: Record,
                 clock: Clock, db=None, probe_port: int = 22, probe_timeout: float = 0.5):
        self.remotes = dict(remotes)
        self.nodes = sorted(self.remotes)
        self.address = {n: r.host.address for n, r in self.remotes.items()}
        self.ledger, self.record, self.now, self.db = ledger, record, clock, db
        self.probe_port, self.probe_timeout = probe_port, probe_timeout
        self._iptables: dict[str, str] = {}
        self._chain_ready: set[str] = set()
        self.blocked: dict[str, set[tuple[str, str]]] = {}   # fault -> (src, dst) pairs cut
        self.lossy: dict[str, set[tuple[str, str]]] = {}     # fault -> pairs with random drops
        self.qdiscs: dict[str, set[str]] = {}                # fault -> nodes with our root qdisc
        self.stopped: dict[str, set[str]] = {}               # fault -> nodes killed or paused
        self._faults = len({e.fault for e in ledger.open_entries()})
        self._lock = asyncio.Lock()

    def down_nodes(self) -> set[str]:
        """Nodes this nemesis killed or paused and has not yet brought back."""
        return set().union(*self.stopped.values())

    def new_fault_id(self) -> str:
        self._faults += 1
        return f"f{self.ledger._next}-{self._faults}"

    def event(self, type_: str, f: str, value: dict, time: int | None = None) -> dict:
        ev = {"process": "nemesis", "type": type_, "f": f, "value": value,
              "time": self.now() if time is None else time}
        self.record(ev)
        return ev

    async def iptables(self, node: str) -> str:
        if node not in self._iptables:
            self._iptables[node] = await detect_iptables(self.remotes[node])
        return self._iptables[node]

    async def run_step(self, node: str, step) -> None:
        """Run one argv (on the node) or one {"db": ...} step (through the adapter)."""
        if isinstance(step, dict):
            await self._db_step(node, step)
        else:
            await self.remotes[node].exec(step, timeout=30)

    async def _db_step(self, node: str, step: dict) -> None:
        if self.db is None:
            raise NemesisError(f"{node}: step {step} needs a DB adapter, and none was given")
        remote, op = self.remotes[node], step["db"]
        if op == "clock":
            # The adapter addresses the node's admin port by Host (harness.db.DB).
            await self.db.set_clock_offset(remote.host, step.get("ms", 0))
        elif op in ("kill", "start", "pause", "resume"):
            await getattr(self.db, op)(remote)
        else:
            raise NemesisError(f"{node}: unknown DB step {op!r} in the ledger")

    async def journaled(self, fault: str, node: str, apply: list, undo: list, *,
                        chain: Entry | None = None, **extra) -> Entry:
        """Journal (fsync) then apply the steps on one node; mark applied.
        argv-only steps run in one exec (see _batch); `chain` is a pending
        chain-setup entry whose steps go first in the same exec."""
        entry = self.ledger.record(fault, node, apply, undo, **extra)
        steps = (chain.apply if chain else []) + list(apply)
        if all(isinstance(s, list) for s in steps):
            for argv, (rc, err) in zip(steps, await run_steps(self.remotes[node], steps,
                                                              stop_on_error=True)):
                if rc != 0:
                    raise RemoteCommandError(node, argv, rc, "", err)
        else:
            for step in steps:
                await self.run_step(node, step)
        if chain is not None:
            self.ledger.mark(chain, "applied")
            self._chain_ready.add(node)
        self.ledger.mark(entry, "applied")
        return entry

    async def chain_entry(self, node: str) -> Entry | None:
        """A pending ledger entry creating the harness chain and its one INPUT
        jump on `node` (idempotently), or None when that is already done."""
        if node in self._chain_ready:
            return None
        ipt = await self.iptables(node)
        setup = (f"{ipt} -w -N {_argv.CHAIN} 2>/dev/null; "
                 f"{ipt} -w -C INPUT -j {_argv.CHAIN} 2>/dev/null || "
                 f"{ipt} -w -I INPUT 1 -j {_argv.CHAIN}")
        return self.ledger.record("chain", node, [["sh", "-c", setup]], _argv.chain_teardown(ipt))

    async def undo(self, entries: list[Entry]) -> list[str]:
        """Replay undo steps, newest entry first, hosts in parallel; "already
        gone" errors are expected after a crash and ignored. Returns the other
        errors; entries that met one stay open in the ledger."""
        per_host: dict[str, list[Entry]] = {}
        for e in entries:
            per_host.setdefault(e.host, []).append(e)
        results = await asyncio.gather(*(self._undo_host(h, es) for h, es in per_host.items()))
        return [err for errs in results for err in errs]

    async def _undo_host(self, node: str, entries: list[Entry]) -> list[str]:
        errors = []
        batch = [e for e in entries if all(isinstance(s, list) for s in e.undo)]
        steps = [(e, argv) for e in batch for argv in e.undo]
        try:
            results = await run_steps(self.remotes[node], [a for _, a in steps],
                                      stop_on_error=False)
        except (ControlError, OSError) as exc:  # host unreachable: the entries stay open
            return [f"{node}: undo failed: {exc}"]
        failed = set()
        for (entry, argv), (rc, err) in zip(steps, results):
            if rc != 0 and not _argv.is_gone_error(err):
                errors.append(f"{node}: {' '.join(argv)}: exit status {rc}: {err.strip()}")
                failed.add(entry.seq)
        for entry in entries:
            if any(entry is b for b in batch):
                continue
            for step in entry.undo:
                try:
                    await self.run_step(node, step)
                except ControlError as exc:     # RemoteCommandError and NemesisError
                    errors.append(str(exc))
                    failed.add(entry.seq)
        for entry in entries:
            if entry.seq not in failed:
                self.ledger.mark(entry, "healed")
        return errors

    def _forget(self, fault: str | None) -> None:
        for table in (self.blocked, self.lossy, self.qdiscs, self.stopped):
            for key in list(table):
                if fault is None or key == fault:
                    del table[key]
        if fault is None:
            self._chain_ready.clear()

    async def end(self, fault: str) -> dict:
        """Undo one fault and verify; returns the verification value."""
        async with self._lock:
            errors = await self.undo(self.ledger.open_entries(fault))
            self._forget(fault)
            return await self.verify(fault, errors)

    async def heal(self) -> dict:
        """Undo every open ledger entry, remove the harness chain everywhere, verify."""
        async with self._lock:
            requested = self.now()
            self.event("invoke", "heal", {}, requested)
            errors = await self.undo(self.ledger.open_entries())
            self._forget(None)
            return await self.verify("all", errors)

    async def leftovers(self) -> dict[str, list[str]]:
        """{node: harness-owned iptables rules and qdiscs still present}."""
        return (await self._survey())[1]

    async def _survey(self) -> tuple[Matrix, dict[str, list[str]]]:
        for node in self.nodes:
            await self.iptables(node)
        matrix, listing = await survey(self.remotes, self._iptables, port=self.probe_port,
                                       timeout=self.probe_timeout)
        return matrix, {n: _argv.owned_rule_lines(text) + _argv.owned_qdisc_lines(text)
                        for n, text in listing.items()}

    def _allowed(self, node: str, line: str) -> bool:
        fault = _argv.rule_fault(line)
        if fault is not None:
            return fault in self.blocked or fault in self.lossy
        if f" {_argv.QDISC_HANDLE} " in line:
            return any(node in nodes for nodes in self.qdiscs.values())
        return node in self._chain_ready

    def expected_cut(self) -> set[tuple[str, str]]:
        """(src, dst) pairs a TCP connect should fail for: either direction dropped."""
        cut = set()
        for pairs in self.blocked.values():
            cut |= pairs | {(b, a) for a, b in pairs}
        return cut

    async def verify(self, fault: str, errors: list[str]) -> dict:
        """Probe reachability and list leftovers against what should still be
        in effect; record an f "heal" info event and return its value."""
        matrix, found = await self._survey()
        leftover = [f"{n}: {ln}" for n, lines in found.items() for ln in lines
                    if not self._allowed(n, ln)]
        cut, noisy = self.expected_cut(), set().union(*self.lossy.values(), set())
        wrong = [f"{s}->{d}: {'reachable' if ok else 'unreachable'}"
                 for s, row in matrix.items() for d, ok in row.items()
                 if (s, d) not in noisy and (d, s) not in noisy and ok == ((s, d) in cut)]
        value = {"fault": fault, "reachability": matrix, "leftover_rules": leftover,
                 "unexpected_reachability": wrong, "errors": errors,
                 "ok": not (leftover or wrong or errors)}
        self.event("info", "heal", value)
        return value
