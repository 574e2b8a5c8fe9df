"""The netns backend: one network namespace + sshd per node on a private bridge (layer: harness).

Root only. Each node gets a namespace with a veth (eth0) on a per-run bridge
and its own /24 address, a private /run and hostname (mount and UTS
namespaces), and an sshd that listens only on the node address with a host
key generated for this run. The bridge holds .254 so the control node
reaches every node's sshd and DB port. Nothing forwards traffic off the
machine: nodes have no default route, and the only iptables rule added
accepts bridge-to-same-bridge traffic (needed where br_netfilter and a
FORWARD DROP policy, as Docker installs, would drop node-to-node packets).

The nodes share the host's filesystem, including root's home. Inside each
node's private mount namespace an empty file is bind-mounted over root's
shell startup files (sshd runs every command as `bash -c`, and bash sourced
~/.bashrc for SSH sessions: on a machine whose .bashrc initialises pyenv
that cost ~75 ms to ~250 ms per command), and sshd's SetEnv gives sessions a
PATH that starts with the directory of the python3 running the harness (the
DB adapter runs `python3 -m emulator`, which needs blake3). The host's own
files are never touched.

Names and places: see _netns_names. `down`/`sweep` work from those alone.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import pwd
import shlex
import shutil
import sys
from pathlib import Path

from harness.control import Host, generate_keypair, run_local, write_private
from harness.errors import HarnessError
from harness.provision import _netns_names as nm
from harness.provision._base import Backend, ClusterSpec, Progress
from harness.provision._netns_cleanup import remove_run, sweep_runs

SSHD = "/usr/sbin/sshd"
_SSHD_CONFIG = """\
# heliosdb-harness: minimal, key-only sshd for one netns node
ListenAddress {address}:22
HostKey {host_key}
PidFile /run/sshd.pid
AuthorizedKeysFile {authorized_keys}
AuthenticationMethods publickey
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowUsers root
UsePAM no
StrictModes no
PermitTunnel no
X11Forwarding no
AllowAgentForwarding no
AllowTcpForwarding no
PrintMotd no
UseDNS no
MaxStartups 100
LogLevel VERBOSE
Subsystem sftp internal-sftp
SetEnv "PATH={path}"
"""
# Shell startup files masked inside every node: bash reads .bashrc for SSH
# commands, the others for login sessions.
_STARTUP_FILES = (".bashrc", ".profile", ".bash_profile", ".bash_login")
_SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def node_path() -> str:
    """PATH for node sessions: the harness's python3 first, then the system dirs."""
    return f"{os.path.dirname(sys.executable)}:{_SYSTEM_PATH}"


def _mask_startup_files(empty: Path) -> str:
    """Shell commands bind-mounting `empty` over root's existing startup files
    (run inside the node's mount namespace only)."""
    home = Path(pwd.getpwnam("root").pw_dir)
    return "".join(f" && mount --bind {shlex.quote(str(empty))} {shlex.quote(str(home / f))}"
                   for f in _STARTUP_FILES if (home / f).is_file())


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "netns backend needs root (run as root, or use --backend docker)"
    for tool, pkg in (("ip", "iproute2"), ("iptables", "iptables"), ("unshare", "util-linux"),
                      (SSHD, "openssh-server")):
        if shutil.which(tool) is None:
            return f"netns backend needs {tool}: apt-get install {pkg}"
    if not Path("/proc/self/ns/net").exists():
        return "netns backend needs kernel network namespaces (CONFIG_NET_NS)"
    return None


class NetnsBackend(Backend):
    name = "netns"

    def __init__(self):
        # run_id -> open lock file: while held, `sweep` treats the run as live, not a leftover.
        self._locks: dict[str, object] = {}

    @staticmethod
    def unavailable_reason() -> str | None:
        return _missing()

    async def up(self, spec: ClusterSpec, progress: Progress) -> list[Host]:
        if not nm.RUN_ID_RE.match(spec.run_id):
            raise HarnessError(f"netns: run id {spec.run_id!r} must match {nm.RUN_ID_RE.pattern}")
        self._claim(spec.run_id)
        try:
            return await self._up(spec, progress)
        except BaseException:
            await self.down(spec.run_id)
            raise

    async def _up(self, spec: ClusterSpec, progress: Progress) -> list[Host]:
        run_id, state = spec.run_id, nm.state_dir(spec.run_id)
        routes = await run_local(["ip", "-j", "-4", "route", "show", "table", "all"])
        addrs = await run_local(["ip", "-j", "-4", "addr"])
        subnet = nm.pick_subnet(run_id, routes.stdout, addrs.stdout)
        progress(f"netns: bridge {nm.bridge_name(run_id)} on {subnet}")
        authorized = state / "authorized_keys"
        write_private(authorized, (spec.public_key.strip() + "\n").encode())
        (state / "empty_rc").write_bytes(b"")
        await self._make_network(run_id, spec.hosts, subnet)
        hosts = [self._prepare_node(spec, i, subnet, authorized) for i in range(1, spec.hosts + 1)]
        await asyncio.gather(*(self._start_node(run_id, i, h) for i, h in enumerate(hosts, 1)))
        progress(f"netns: {spec.hosts} sshd started, waiting for them to answer")
        await asyncio.gather(*(wait_for_sshd(h.ssh_host, h.ssh_port) for h in hosts))
        return hosts

    def _claim(self, run_id: str) -> None:
        state = nm.state_dir(run_id)
        state.mkdir(parents=True, exist_ok=False, mode=0o700)
        lock = open(state / "lock", "w")
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._locks[run_id] = lock

    async def _make_network(self, run_id: str, nodes: int, subnet) -> None:
        br, label = nm.bridge_name(run_id), nm.alias(run_id)
        lines = [f"link add {br} type bridge", f'link set {br} alias "{label}"',
                 f"addr add {nm.bridge_address(subnet)}/24 dev {br}", f"link set {br} up"]
        for i in range(1, nodes + 1):
            ns, veth = nm.netns_name(run_id, i), nm.veth_name(run_id, i)
            lines += [f"netns add {ns}",
                      f"link add {veth} type veth peer name eth0 netns {ns}",
                      f'link set {veth} alias "{label}"',
                      f"link set {veth} master {br} up"]
        await run_local(["ip", "-batch", "-"], stdin="\n".join(lines).encode() + b"\n")
        await run_local(["iptables", "-w", "10", "-I", "FORWARD", "-i", br, "-o", br,
                         "-m", "comment", "--comment", label, "-j", "ACCEPT"])

    def _prepare_node(self, spec: ClusterSpec, i: int, subnet, authorized: Path) -> Host:
        name = spec.host_name(i)
        node_dir = nm.state_dir(spec.run_id) / name
        (node_dir / "work").mkdir(parents=True)
        host_key = node_dir / "ssh_host_ed25519_key"
        public = generate_keypair(host_key, f"{name}@{spec.run_id}")
        address = nm.node_address(subnet, i)
        (node_dir / "sshd_config").write_text(_SSHD_CONFIG.format(
            address=address, host_key=host_key, authorized_keys=authorized, path=node_path()))
        return Host(name=name, address=address, ssh_host=address, ssh_port=22,
                    user="root", host_key=public, workdir=str(node_dir / "work"),
                    extra={"backend": "netns", "netns": nm.netns_name(spec.run_id, i),
                           "bridge": nm.bridge_name(spec.run_id),
                           "gateway": nm.bridge_address(subnet)})

    async def _start_node(self, run_id: str, i: int, host: Host) -> None:
        ns, node_dir = nm.netns_name(run_id, i), nm.state_dir(run_id) / host.name
        batch = f"addr add {host.address}/24 dev eth0\nlink set eth0 up\nlink set lo up\n"
        await run_local(["ip", "-n", ns, "-batch", "-"], stdin=batch.encode())
        # ip netns exec gives a private mount namespace; a tmpfs /run there gives
        # sshd its /run/sshd without touching the host's /run, and the bind
        # mounts hide root's startup files from this node's shells only.
        masks = _mask_startup_files(nm.state_dir(run_id) / "empty_rc")
        script = (f"mount -t tmpfs -o mode=0755,size=8m tmpfs /run && mkdir -m 0755 /run/sshd"
                  f"{masks} && hostname {host.name} && exec {SSHD} -f {node_dir}/sshd_config "
                  f"-E {node_dir}/sshd.log")
        await run_local(["ip", "netns", "exec", ns, "unshare", "--uts", "sh", "-c", script],
                        name=host.name)

    async def down(self, run_id: str) -> None:
        await remove_run(run_id)
        lock = self._locks.pop(run_id, None)
        if lock is not None:
            lock.close()

    async def sweep(self) -> list[str]:
        return await sweep_runs(skip=set(self._locks))


async def wait_for_sshd(address: str, port: int = 22, timeout: float = 15.0) -> None:
    """Poll until an SSH banner comes back from address:port, or raise HarnessError."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: Exception | None = None
    while loop.time() < deadline:
        try:
            async with asyncio.timeout(max(0.1, deadline - loop.time())):
                reader, writer = await asyncio.open_connection(address, port)
                banner = await reader.readline()
                writer.close()
            if banner.startswith(b"SSH-"):
                return
        except (OSError, TimeoutError) as exc:
            last = exc
        await asyncio.sleep(0.02)
    raise HarnessError(f"sshd at {address}:{port} did not answer within {timeout:g} s ({last})")

