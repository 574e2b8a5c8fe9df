"""What every database adapter provides (layer: harness).

A DB adapter is built for one cluster (its Hosts) and acts on one node at a
time through that node's Remote, as Jepsen's db/DB protocol does. The run
path calls setup then start on every node, kill/pause/resume from the
nemesis, logs before teardown, and teardown at the end. `status` asks a node
for its role/term/leader from the control node; `set_clock_offset` skews a
node's wall clock (clock faults).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

from harness.control import Host, Remote


class DB(ABC):
    name: str

    def __init__(self, hosts: list[Host]):
        self.hosts = list(hosts)

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

    @abstractmethod
    async def status(self, host: Host, timeout: float = 2.0) -> dict | None:
        """The node's status (role, term, leader, ...), or None if it does not answer."""

    @abstractmethod
    async def set_clock_offset(self, host: Host, offset_ms: float) -> dict:
        """Set the node's wall-clock offset; return the node's reply."""
