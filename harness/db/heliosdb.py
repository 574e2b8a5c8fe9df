"""DB adapter for the HeliosDB emulator (`python3 -m emulator`) (layer: harness).

On each node, under Host.workdir:
  lib/emulator/   the emulator package source, uploaded as a tarball
  data/           the node's data directory (WAL, snapshot, events.jsonl)
  node.log        the node's stdout and stderr
  node.pid        the pid of the daemonized node process (setsid)
The node needs python3 with the blake3 module; setup checks and says so.
"""

from __future__ import annotations

import io
import shlex
import tarfile
from pathlib import Path

from emulator import options as _emulator_options
from remote import Host, Remote, RemoteCommandError
from harness import wal_verify
from harness.db import _wire
from harness.db._base import DB, Option
from harness.db._daemon import Daemon
from harness.db.heliosdb_backup import BackupOps
from harness.db.heliosdb_client import HeliosClient
from harness.db.heliosdb_regions import RegionOps
from harness.errors import HarnessError

PORT = 7000
EMULATOR_SRC = Path(__file__).resolve().parents[2] / "emulator"
# Every planted bug the emulator knows (emulator/options.py *_BUGS tuples).
BUGS = tuple(b for name in sorted(vars(_emulator_options)) if name.endswith("_BUGS")
             for b in getattr(_emulator_options, name))


def emulator_tarball(src: Path = EMULATOR_SRC) -> bytes:
    """The emulator package source (no caches) as a gzipped tar with top dir `emulator/`."""
    if not (src / "__main__.py").is_file():
        raise HarnessError(f"emulator source not found at {src} (expected {src}/__main__.py)")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(src, arcname="emulator",
                filter=lambda info: None if "__pycache__" in info.name else info)
    return buf.getvalue()


class HeliosDB(RegionOps, BackupOps, Daemon, DB):
    name = "heliosdb"
    process = "node process"
    log_files = ("node.log", "data/events.jsonl")
    start_env = "PYTHONPATH={wd}/lib"
    capabilities = frozenset({"kill", "pause", "clock", "disk", "local-reads", "backup",
                              "incremental-backup", "pitr", "regions"})
    client_kinds = ("register", "set")
    options = {
        "election_timeout_ms": Option(int, "mean randomized election timeout", 10, 600_000),
        "heartbeat_ms": Option(int, "leader heartbeat interval", 1, 60_000),
        "bug": Option(str, "enable a planted bug (repeatable)", choices=BUGS, repeat=True),
        "port": Option(int, "the node's client and peer port", 1, 65535),
    }

    def __init__(self, hosts: list[Host], *, port: int = PORT, election_timeout_ms: int = 1000,
                 heartbeat_ms: int = 100, bugs: tuple[str, ...] = (), bug: tuple = ()):
        bugs = tuple(bugs) + tuple(bug)
        super().__init__(hosts, port=port, election_timeout_ms=election_timeout_ms,
                         heartbeat_ms=heartbeat_ms, bugs=list(bugs))
        self.port = port
        self.election_timeout_ms = election_timeout_ms
        self.heartbeat_ms = heartbeat_ms
        self.bugs = bugs
        self._tarball: bytes | None = None

    @classmethod
    def from_record(cls, hosts: list[Host], record: dict) -> "HeliosDB":
        """The adapter described by `describe()` (cluster.json), for heal and status."""
        return cls(hosts, port=record.get("port", PORT),
                   election_timeout_ms=record.get("election_timeout_ms", 1000),
                   heartbeat_ms=record.get("heartbeat_ms", 100), bugs=tuple(record.get("bugs", ())))

    def addresses(self) -> dict:
        return {h.name: (h.address, self.port) for h in self.hosts}

    def client(self, kind: str, home: str, timeout: float = 1.0, max_hops: int = 3):
        return HeliosClient(kind, self.addresses(), home, timeout, max_hops)

    def argv(self, host: Host) -> list[str]:
        """The node's command line (docs/protocol.md "Node command line")."""
        peers = ",".join(f"{h.name}={h.address}:{self.port}" for h in self.hosts)
        argv = ["python3", "-m", "emulator", "--id", host.name,
                "--listen", f"{host.address}:{self.port}", "--peers", peers,
                "--data", f"{host.workdir}/data",
                "--election-timeout-ms", str(self.election_timeout_ms),
                "--heartbeat-ms", str(self.heartbeat_ms)]
        for bug in self.bugs:
            argv += ["--bug", bug]
        return argv + self.region_flags()

    async def wal_verify_harness(self, node: str) -> dict:
        """The harness's own reading of `node`'s WAL (harness/wal_verify.py): every record's
        checksum checked here; works on a node whose process refused to start."""
        r = self.remote(node)
        return await wal_verify.wal_check(r, f"{r.host.workdir}/data/wal.log")

    async def setup(self, remote: Remote) -> None:
        """Check python3 and blake3, then unpack the emulator into workdir/lib: one round trip."""
        wd = shlex.quote(remote.host.workdir)
        if self._tarball is None:
            self._tarball = emulator_tarball()
        script = ("command -v python3 >/dev/null || exit 10; "
                  "python3 -c 'import blake3' 2>/dev/null || exit 11; "
                  f"mkdir -p {wd}/lib {wd}/data && cd {wd}/lib && rm -rf emulator && tar -xzf -")
        res = await remote.exec(["sh", "-c", script], stdin=self._tarball, check=False)
        if res.exit_status in (10, 11):
            what = "python3" if res.exit_status == 10 else "the python3 module blake3"
            raise HarnessError(f"{remote.host.name}: {what} is missing on the host "
                               "(install it: apt-get install python3; pip install blake3)")
        if res.exit_status != 0:
            raise RemoteCommandError(remote.host.name, ["sh", "-c", script], res.exit_status,
                                     res.stdout, res.stderr)

    async def status(self, host: Host, timeout: float = 2.0) -> dict | None:
        try:
            reply = await _wire.request(host.address, self.port, {"op": "status"}, timeout)
        except (OSError, TimeoutError, ValueError, RecursionError):
            return None
        return reply if isinstance(reply, dict) and reply.get("ok") is True else None

    async def set_clock_offset(self, host: Host, offset_ms: float) -> dict:
        try:
            return await _wire.request(host.address, self.port,
                                       {"op": "set_clock_offset", "offset_ms": offset_ms})
        except (OSError, TimeoutError, ValueError, RecursionError) as exc:
            raise HarnessError(f"{host.name}: set_clock_offset failed: {exc}") from None
