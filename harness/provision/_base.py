"""What every provisioning backend provides (layer: harness).

A backend turns a node count into a list of SSH-reachable Hosts, and can
remove everything it made, from labels and names alone, even after the
harness process that made it was killed.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from harness.control import Host

# Every resource a backend creates carries this label/prefix plus the run id,
# so `cluster down --all` can find leftovers of any run.
LABEL = "heliosdb-harness"


@dataclass(frozen=True)
class ClusterSpec:
    """What to bring up. `run_dir` holds the run's SSH keypair and cluster.json."""

    run_id: str
    nodes: int
    run_dir: Path
    public_key: str          # "ssh-ed25519 AAAA... harness-<run_id>", authorized for the SSH user
    regions: int = 0         # backup-store hosts r1..rK after the nodes (TC-BR-003/004)

    @property
    def hosts(self) -> int:
        return self.nodes + self.regions

    def host_name(self, i: int) -> str:
        """Host i (1-based): n1..nN, then the region hosts r1..rK."""
        return f"n{i}" if i <= self.nodes else f"r{i - self.nodes}"


Progress = Callable[[str], None]


class Backend(ABC):
    name: str

    @staticmethod
    @abstractmethod
    def unavailable_reason() -> str | None:
        """None if this backend can run here, else what is missing and how to get it."""

    @abstractmethod
    async def up(self, spec: ClusterSpec, progress: Progress) -> list[Host]:
        """Create the hosts, start sshd on each with a host key generated for this run
        (returned pinned in Host.host_key), authorize spec.public_key. On failure,
        remove what was made before raising."""

    @abstractmethod
    async def down(self, run_id: str) -> None:
        """Remove everything run `run_id` created. Idempotent; needs no in-memory state."""

    @abstractmethod
    async def sweep(self) -> list[str]:
        """Remove leftovers of every run (by label/prefix); return the run ids swept."""
