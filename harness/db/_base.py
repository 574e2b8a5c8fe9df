"""What every database adapter provides (layer: harness).

A DB adapter is built for one cluster (its Hosts) and acts on one node at a
time through that node's Remote, as Jepsen's db/DB protocol does. The run
path calls setup then start on every node, kill/pause/resume/start from the
nemesis (the process-control protocol), logs before teardown, and teardown at
the end. `status` asks a node for its role/term/leader/lsn from the control
node (states.jsonl); `client` makes the workload clients for one data model.

An adapter declares what it can do, honestly:
- `capabilities`: a subset of CAPABILITIES; a case that needs one the
  database lacks is refused before provisioning (harness.capabilities);
- `client_kinds`: the data models it has clients for ("register", "set");
- `options`: the `--db-opt KEY=VALUE` / case `db:` options it accepts, each an
  `Option` validated before anything starts.
To add a database: one file with a DB subclass and one line in
harness/db/__init__.py's DATABASES (docs/extending.md).
"""

from __future__ import annotations

import asyncio
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from remote import Host, Remote
from harness.errors import HarnessError

CAPABILITIES = {
    "kill": "SIGKILL and restart a node's process (kill, restart faults)",
    "pause": "SIGSTOP / SIGCONT a node's process (pause fault)",
    "clock": "skew a node's wall clock as the database sees it (clock faults)",
    "disk": "a WAL file at a known path that disk faults may corrupt (bitflip, truncate)",
    "local-reads": "read one replica's own state without redirects (final per-node reads)",
    "backup": "full backups, list, verify and restore to latest",
    "incremental-backup": "incremental backups chained on a parent",
    "regions": "ships backups and archive segments to region store hosts (TC-BR-003/004)",
    "pitr": "point-in-time restore to an LSN or a timestamp",
}


@dataclass(frozen=True)
class Option:
    """One database option: its type, bounds or choices, and whether it may repeat."""

    type: type
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple = ()
    repeat: bool = False

    def parse(self, key: str, raw) -> object:
        """The option's value from a string (command line) or a YAML scalar; ValueError why."""
        if self.type is bool:
            value = _bool(raw)
        elif isinstance(raw, str):
            try:
                value = self.type(raw)
            except ValueError:
                raise ValueError(f"{key} must be {_kind(self.type)}, got {raw!r}") from None
        else:
            value = raw
        if self.type in (int, float) and (isinstance(value, bool) or not isinstance(
                value, (int, float)) or (self.type is int and not isinstance(value, int))):
            raise ValueError(f"{key} must be {_kind(self.type)}, got {raw!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{key} must be finite, got {raw!r}")
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"{key} must be >= {self.minimum:g}, got {value!r}")
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"{key} must be <= {self.maximum:g}, got {value!r}")
        if self.choices and value not in self.choices:
            raise ValueError(f"{key} must be one of {', '.join(map(str, self.choices))}, "
                             f"got {value!r}")
        return value


def _kind(t: type) -> str:
    return {int: "an integer", float: "a number", str: "a string"}.get(t, t.__name__)


def _bool(raw) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.lower() in ("true", "1", "yes", "on", "false", "0", "no",
                                                 "off"):
        return raw.lower() in ("true", "1", "yes", "on")
    raise ValueError(f"must be true or false, got {raw!r}")


class DB(ABC):
    name: str = "db"
    capabilities: frozenset = frozenset()
    client_kinds: tuple = ()
    options: dict = {}

    def __init__(self, hosts: list[Host], **options):
        self.hosts = list(hosts)
        self.settings = dict(options)

    # -- process control (the protocol the nemesis drives) -------------------------------
    @abstractmethod
    async def setup(self, remote: Remote) -> None:
        """Install the database on the node (idempotent); raise HarnessError if it cannot."""

    @abstractmethod
    async def start(self, remote: Remote) -> None:
        """Start the node's database process daemonized; return once it was launched."""

    @abstractmethod
    async def kill(self, remote: Remote) -> None:
        """SIGKILL the node's database process (no clean shutdown); no error if not running."""

    @abstractmethod
    async def pause(self, remote: Remote) -> None:
        """SIGSTOP the node's database process."""

    @abstractmethod
    async def resume(self, remote: Remote) -> None:
        """SIGCONT the node's database process."""

    @abstractmethod
    async def logs(self, remote: Remote, local_dir: Path) -> list[Path]:
        """Download the node's log files into local_dir; return the paths written."""

    @abstractmethod
    async def teardown(self, remote: Remote) -> None:
        """Kill the process and remove everything setup/start left on the node."""

    # -- observation -------------------------------------------------------------------
    @abstractmethod
    async def status(self, host: Host, timeout: float = 2.0) -> dict | None:
        """The node's status, or None if it does not answer. Keys the checkers read:
        node, role ("leader"/"follower"/"candidate"/...), term, leader (name or None),
        and where known commit/applied positions (lsn) and a state digest."""

    @abstractmethod
    def client(self, kind: str, home: str, timeout: float = 1.0, max_hops: int = 3):
        """A workloads.Client of data model `kind` whose first node is `home`."""

    def describe(self) -> dict:
        """What cluster.json and run.json record: the name and every setting."""
        return {"name": self.name, **self.settings}

    async def set_clock_offset(self, host: Host, offset_ms: float) -> dict:
        """Skew the node's wall clock (capability "clock")."""
        raise HarnessError(f"{self.name}: clock faults are not supported")

    async def alive(self, remote: Remote) -> bool:
        """True while the node's database process runs; by default: it answers status."""
        return await self.status(remote.host, 1.0) is not None

    async def node_log_tail(self, remote: Remote, lines: int = 5) -> str:
        """The last lines of the node's log, for reports; empty if there is none."""
        return ""

    def connect(self, kind: str):
        """connect(home, timeout, max_hops) -> Client: the factory workloads take."""
        if kind not in self.client_kinds:
            raise HarnessError(f"{self.name} has no {kind!r} client "
                               f"(it offers {', '.join(self.client_kinds) or 'none'})")

        def connect(home: str, timeout: float = 1.0, max_hops: int = 3):
            return self.client(kind, home, timeout, max_hops)
        return connect

    async def wait_for_leader(self, timeout: float = 15.0) -> str:
        """Poll every node until all that answer agree on one leader; return its name."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        seen: list = []
        while loop.time() < deadline:
            seen = await asyncio.gather(*(self.status(h, 1.0) for h in self.hosts))
            leaders = {s.get("leader") for s in seen if s}
            roles = [s.get("role") for s in seen if s]
            if all(seen) and len(leaders) == 1 and None not in leaders and "leader" in roles:
                return leaders.pop()
            await asyncio.sleep(0.05)
        summary = ", ".join(f"{h.name}={s.get('role') if s else 'no answer'}"
                            for h, s in zip(self.hosts, seen))
        raise HarnessError(f"no leader elected within {timeout:g} s ({summary})")
