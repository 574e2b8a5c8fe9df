"""DB adapter for etcd 3.4 (Debian's etcd-server / etcd-client) (layer: harness).

On each node, under Host.workdir:
  data/      etcd's data directory (WAL and snapshots)
  node.log   etcd's stderr (zap JSON log lines)
  node.pid   the pid of the daemonized etcd (setsid)
Member names are the node names (n1, n2, ...), peer URLs http://ADDR:2380 and
client URLs http://ADDR:2379 on each node's address, one --initial-cluster.
The binary is /usr/bin/etcd: in the node image (docker), the machine's own
package (netns), the lab host's (ssh); setup says how to install it if missing.

Options: election_timeout_ms and heartbeat_ms (etcd wants the first at least
5 times the second), pre_vote (default false, etcd 3.4's default) and
serializable_reads (register reads served by any member from its own state,
possibly stale; the default is linearizable). Status comes from the member's
own raft status (GET /debug/vars, expvar raft.status: role, current term, leader
id, commit and applied index), the leader id mapped to a node name through
/v3/cluster/member/list (cached).
"""

from __future__ import annotations

import asyncio
import shlex

from harness.control import Host, Remote, RemoteCommandError
from harness.db._base import DB, Option
from harness.db._daemon import Daemon
from harness.db._http import BadReply, HttpConnection, NotSent
from harness.db.etcd_client import EtcdClient
from harness.errors import BadInput, HarnessError

CLIENT_PORT = 2379
PEER_PORT = 2380
ETCD = "etcd"


class Etcd(Daemon, DB):
    name = "etcd"
    process = "etcd"
    log_files = ("node.log",)
    # start (harness/db/_daemon.py) after a kill reuses the data directory: it holds the WAL
    # and etcd then ignores the --initial-cluster flags.
    capabilities = frozenset({"kill", "pause", "local-reads"})
    lacks = {
        "clock": "Go reads the clock through the vDSO, so libfaketime does not reach it",
        "disk": "etcd's WAL segments have no fixed path and format the disk faults know",
        "backup": "not offered yet (etcdctl snapshot save/restore would be a full backup)",
        "incremental-backup": "etcd has full snapshots only, no incremental backup chain",
        "pitr": "etcd cannot restore to a point in time, only to a full snapshot",
    }
    client_kinds = ("register", "set")
    options = {
        "election_timeout_ms": Option(int, "etcd --election-timeout", 10, 50_000),
        "heartbeat_ms": Option(int, "etcd --heartbeat-interval", 1, 10_000),
        "pre_vote": Option(bool, "etcd --pre-vote (3.4 default: false)"),
        "serializable_reads": Option(bool, "register reads are serializable (may be stale)"),
    }

    def __init__(self, hosts: list[Host], *, election_timeout_ms: int = 1000,
                 heartbeat_ms: int = 100, pre_vote: bool = False,
                 serializable_reads: bool = False):
        if election_timeout_ms < 5 * heartbeat_ms:
            raise BadInput(f"etcd: election_timeout_ms ({election_timeout_ms}) must be at least "
                           f"5 x heartbeat_ms ({heartbeat_ms}); raise it or lower heartbeat_ms")
        super().__init__(hosts, election_timeout_ms=election_timeout_ms,
                         heartbeat_ms=heartbeat_ms, pre_vote=pre_vote,
                         serializable_reads=serializable_reads)
        self.election_timeout_ms, self.heartbeat_ms = election_timeout_ms, heartbeat_ms
        self.pre_vote, self.serializable_reads = pre_vote, serializable_reads
        self.client_port, self.peer_port, self.binary = CLIENT_PORT, PEER_PORT, ETCD
        self._members: dict[str, str] = {}       # member id -> node name
        self._status_conns: dict[str, HttpConnection] = {}
        self._status_locks: dict[str, asyncio.Lock] = {}

    @classmethod
    def from_record(cls, hosts: list[Host], record: dict) -> "Etcd":
        """The adapter described by `describe()` (cluster.json), for heal and status."""
        keys = ("election_timeout_ms", "heartbeat_ms", "pre_vote", "serializable_reads")
        return cls(hosts, **{k: record[k] for k in keys if k in record})

    def addresses(self) -> dict:
        return {h.name: (h.address, self.client_port) for h in self.hosts}

    def client(self, kind: str, home: str, timeout: float = 1.0, max_hops: int = 3):
        return EtcdClient(kind, self.addresses(), home, timeout, max_hops,
                          serializable=self.serializable_reads)

    def argv(self, host: Host) -> list[str]:
        """The member's etcd command line."""
        cluster = ",".join(f"{h.name}=http://{h.address}:{self.peer_port}" for h in self.hosts)
        client_url = f"http://{host.address}:{self.client_port}"
        peer_url = f"http://{host.address}:{self.peer_port}"
        return [self.binary, "--name", host.name, "--data-dir", f"{host.workdir}/data",
                "--listen-client-urls", client_url, "--advertise-client-urls", client_url,
                "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
                "--initial-cluster", cluster, "--initial-cluster-state", "new",
                "--initial-cluster-token", "heliosdb-harness",
                "--heartbeat-interval", str(self.heartbeat_ms),
                "--election-timeout", str(self.election_timeout_ms),
                f"--pre-vote={'true' if self.pre_vote else 'false'}",
                "--logger", "zap", "--log-outputs", "stderr"]

    # -- process control ----------------------------------------------------------------
    async def setup(self, remote: Remote) -> None:
        """Check that etcd is installed, make the data directory: one round trip."""
        wd = shlex.quote(remote.host.workdir)
        script = (f"command -v {shlex.quote(self.binary)} >/dev/null || exit 10; "
                  f"mkdir -p {wd}/data")
        res = await remote.exec(["sh", "-c", script], check=False)
        if res.exit_status == 10:
            raise HarnessError(f"{remote.host.name}: etcd is not installed on the host "
                               "(install it: apt-get install etcd-server etcd-client)")
        if res.exit_status != 0:
            raise RemoteCommandError(remote.host.name, ["sh", "-c", script], res.exit_status,
                                     res.stdout, res.stderr)

    # -- observation -------------------------------------------------------------------
    async def _call(self, host: Host, path: str, timeout: float):
        """One JSON call (GET /debug/..., else POST {}) on the host's kept status connection;
        None without a usable answer."""
        lock = self._status_locks.setdefault(host.name, asyncio.Lock())
        async with lock:
            conn = self._status_conns.get(host.name)
            if conn is None:
                conn = self._status_conns[host.name] = HttpConnection(host.address, self.client_port)
            try:
                async with asyncio.timeout(timeout):
                    status, reply = await (conn.get(path) if path.startswith("/debug/")
                                           else conn.post(path, {}))
            except (NotSent, OSError, EOFError, BadReply, TimeoutError):
                conn.close()
                return None
        return reply if status == 200 and isinstance(reply, dict) else None

    async def _member_names(self, host: Host, timeout: float) -> dict:
        """member id (decimal string) -> name, from the member list (asked while incomplete)."""
        if len(self._members) < len(self.hosts):
            reply = await self._call(host, "/v3/cluster/member/list", timeout)
            for m in (reply or {}).get("members") or []:
                if isinstance(m, dict) and isinstance(m.get("ID"), str) and m.get("name"):
                    self._members[m["ID"]] = str(m["name"])
        return self._members

    async def status(self, host: Host, timeout: float = 2.0) -> dict | None:
        """From the member's raft status (expvar raft.status on GET /debug/vars): the raft
        state, current term, leader, commit and applied index. Not /v3/maintenance/status:
        its raftTerm is the term of the last *applied* entry, so a new leader reports the
        previous term until its first entry applies and two "leaders" share a term."""
        reply = await self._call(host, "/debug/vars", timeout)
        if reply is None:
            return None
        return status_fields(host.name, reply.get("raft.status"),
                             await self._member_names(host, timeout))

    async def close(self) -> None:
        for conn in self._status_conns.values():
            await conn.aclose()
        self._status_conns.clear()


ROLES = {"StateLeader": "leader", "StateFollower": "follower", "StateCandidate": "candidate",
         "StatePreCandidate": "pre_candidate"}


def status_fields(node: str, raft, members: dict) -> dict | None:
    """states.jsonl fields from etcd's raft.status expvar ({"id", "term", "lead", "raftState",
    "commit", "applied"}, ids in hex): role, term, leader (node name; None while the member
    knows no leader), commit and applied. None if it is not such an object."""
    if not isinstance(raft, dict) or raft.get("raftState") not in ROLES:
        return None
    term, commit, applied = (raft.get(k) for k in ("term", "commit", "applied"))
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in (term, commit, applied)):
        return None
    try:
        lead = int(str(raft.get("lead", "0")), 16)
    except ValueError:
        return None
    leader = None if lead == 0 else members.get(str(lead), f"member-{lead:x}")
    if raft["raftState"] == "StateLeader" and leader is not None and leader.startswith("member-"):
        leader = node     # a leader leads itself, even before the member list is known
    return {"ok": True, "node": node, "role": ROLES[raft["raftState"]], "term": term,
            "leader": leader, "commit": commit, "applied": applied}
