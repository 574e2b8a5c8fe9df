"""Docker backend: nodes are containers on a private bridge network per run (layer: harness).

Each container runs the node image (harness.image, built offline when
missing) with sshd as its main process, CAP_NET_ADMIN for iptables and tc,
and is not privileged. A per-run ed25519 host key and the run's authorized
key are put into each container before it starts, so the host key returned
in Host.host_key is the one sshd serves. Containers and the network carry
LABEL and the run id as labels, so `down` and `sweep` find them from the
engine alone, also after the harness process was killed.
"""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import tarfile
import time

import asyncssh
import docker
import docker.errors
import psutil

from harness.control import Host
from harness.errors import HarnessError
from harness.image import NODE_REPO, ensure_image
from harness.provision._base import LABEL, Backend, ClusterSpec, Progress

RUN_LABEL = f"{LABEL}.run"
NODE_LABEL = f"{LABEL}.node"
# "<pid>:<process start time>" of the harness process that made the run: `sweep` spares
# runs whose maker is still alive in another process (a `harness run` in progress), as
# the netns backend's run lock does. A `cluster up` that exited, or a killed harness,
# leaves its run to be swept.
OWNER_LABEL = f"{LABEL}.owner"
WORKDIR = "/var/lib/heliosdb"
SSHD_TIMEOUT = 20.0


def resource_name(run_id: str, node: str | None = None) -> str:
    """Network name heliosdb-<run>, container name heliosdb-<run>-<node>."""
    return f"heliosdb-{run_id}" + (f"-{node}" if node else "")


def labels(run_id: str, node: str | None = None) -> dict[str, str]:
    out = {LABEL: "1", RUN_LABEL: run_id, OWNER_LABEL: _owner()}
    if node:
        out[NODE_LABEL] = node
    return out


class DockerBackend(Backend):
    name = "docker"

    def __init__(self, client: docker.DockerClient | None = None):
        self._client_obj = client
        self._active: set[str] = set()     # runs this instance is bringing up: sweep skips them
        self._aborted: set[str] = set()    # runs whose up failed or was cancelled

    @property
    def _client(self) -> docker.DockerClient:
        if self._client_obj is None:
            self._client_obj = docker.from_env(timeout=120, max_pool_size=16)
        return self._client_obj

    @staticmethod
    def unavailable_reason() -> str | None:
        try:
            client = docker.from_env(timeout=5)
            client.ping()
        except docker.errors.DockerException as exc:
            return (f"no Docker engine answers ({exc}); install docker.io and start it "
                    f"(systemctl start docker)")
        try:
            client.images.get(f"{NODE_REPO}:latest")
        except docker.errors.ImageNotFound:
            if shutil.which("debootstrap") is None:
                return ("the node image is not built and debootstrap (needed to build it "
                        "offline) is missing: apt-get install debootstrap")
        return None

    async def up(self, spec: ClusterSpec, progress: Progress) -> list[Host]:
        """Build the image if needed, start n1..nN, wait for every sshd; undo all on failure."""
        if spec.nodes < 1:
            raise HarnessError(f"nodes: need at least 1 node, got {spec.nodes}")
        self._active.add(spec.run_id)
        try:
            return await self._up(spec, progress)
        except BaseException:
            # Node threads outlive a cancelled up; they see this and undo their own work.
            self._aborted.add(spec.run_id)
            try:
                await self.down(spec.run_id)
            except docker.errors.DockerException as exc:
                progress(f"cleanup of run {spec.run_id} failed too ({exc}); "
                         f"`harness cluster down --all` removes what is left")
            raise
        finally:
            self._active.discard(spec.run_id)

    async def _up(self, spec: ClusterSpec, progress: Progress) -> list[Host]:
        image = await asyncio.to_thread(ensure_image, progress, client=self._client)
        started = time.monotonic()
        network = await asyncio.to_thread(self._create_network, spec.run_id)
        progress(f"starting {spec.hosts} containers on network {network}")
        hosts = await _all(asyncio.to_thread(self._start_node, spec, image, network, i)
                           for i in range(1, spec.hosts + 1))
        await _all(wait_for_sshd(h.name, h.ssh_host, h.ssh_port) for h in hosts)
        progress(f"{spec.nodes} nodes up in {time.monotonic() - started:.1f} s: "
                 + " ".join(f"{h.name}={h.address}" for h in hosts))
        return hosts

    def _create_network(self, run_id: str) -> str:
        name = resource_name(run_id)
        try:
            self._client.networks.create(name, driver="bridge", labels=labels(run_id),
                                         check_duplicate=True)
        except docker.errors.APIError as exc:
            raise HarnessError(f"docker network {name}: {exc.explanation or exc}") from None
        return name

    def _start_node(self, spec: ClusterSpec, image: str, network: str, i: int) -> Host:
        try:
            return self._make_node(spec, image, network, i)
        except docker.errors.APIError as exc:
            raise HarnessError(f"{spec.host_name(i)}: container "
                               f"{resource_name(spec.run_id, spec.host_name(i))}: "
                               f"{exc.explanation or exc}") from None

    def _make_node(self, spec: ClusterSpec, image: str, network: str, i: int) -> Host:
        node = spec.host_name(i)
        if spec.run_id in self._aborted:
            raise HarnessError(f"{node}: bring-up of run {spec.run_id} was abandoned")
        key = asyncssh.generate_private_key("ssh-ed25519", comment=f"{node}@{spec.run_id}")
        host_key = key.export_public_key("openssh").decode().strip()
        endpoint = self._client.api.create_endpoint_config(aliases=[node])
        container = self._client.containers.create(
            image, name=resource_name(spec.run_id, node), hostname=node,
            labels=labels(spec.run_id, node), cap_add=["NET_ADMIN"], privileged=False,
            network=network, networking_config={network: endpoint}, detach=True)
        if spec.run_id in self._aborted:
            container.remove(force=True)
            raise HarnessError(f"{node}: bring-up of run {spec.run_id} was abandoned")
        container.put_archive("/", _secrets_tar(key.export_private_key("openssh"),
                                                host_key, spec.public_key))
        container.start()
        container.reload()
        address = container.attrs["NetworkSettings"]["Networks"][network]["IPAddress"]
        if not address:
            raise HarnessError(f"{node}: container {container.name} got no address on {network}")
        return Host(name=node, address=address, ssh_host=address, ssh_port=22, user="root",
                    host_key=host_key, workdir=WORKDIR,
                    extra={"backend": "docker", "container": container.name,
                           "network": network})

    async def down(self, run_id: str) -> None:
        """Force-remove the run's containers, then its network; found by label only."""
        await _remove(self._client, {"label": f"{RUN_LABEL}={run_id}"})

    async def sweep(self) -> list[str]:
        """Remove every run's containers and networks (by LABEL) except runs this
        instance is bringing up right now; return the run ids removed, sorted."""
        runs = await asyncio.to_thread(_labelled_runs, self._client)
        swept = sorted(runs - self._active)
        for run_id in swept:
            await self.down(run_id)
        return swept


async def _all(coros) -> list:
    """Run coroutines together; on failure raise the first error as itself (a
    one-line HarnessError for the CLI), not as an ExceptionGroup."""
    try:
        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(c) for c in coros]
    except ExceptionGroup as group:
        errors = _leaves(group)
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        if isinstance(first, HarnessError) and not more:
            raise first from None
        what = "" if isinstance(first, HarnessError) else f"docker backend: {type(first).__name__}: "
        raise HarnessError(f"{what}{first}{more}") from first
    return [t.result() for t in tasks]


def _leaves(group: BaseExceptionGroup) -> list[BaseException]:
    out = []
    for exc in group.exceptions:
        out += _leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc]
    return out


def _secrets_tar(private_key: bytes, host_key: str, authorized: str) -> bytes:
    """A tar for put_archive at /: the host keypair and root's authorized_keys."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        _add_dir(tar, "root/.ssh", 0o700)
        for name, data, mode in (("etc/ssh/ssh_host_ed25519_key", private_key, 0o600),
                                 ("etc/ssh/ssh_host_ed25519_key.pub",
                                  host_key.encode() + b"\n", 0o644),
                                 ("root/.ssh/authorized_keys",
                                  authorized.strip().encode() + b"\n", 0o600)):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode, int(time.time())
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _add_dir(tar: tarfile.TarFile, name: str, mode: int) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime = tarfile.DIRTYPE, mode, int(time.time())
    tar.addfile(info)


def _owner(pid: int | None = None) -> str:
    proc = psutil.Process(pid)
    return f"{proc.pid}:{proc.create_time():.2f}"


def _owned_elsewhere(owner: str) -> bool:
    """True when `owner` names a live process other than this one."""
    try:
        pid = int(owner.split(":", 1)[0])
        return pid != os.getpid() and psutil.pid_exists(pid) and _owner(pid) == owner
    except (ValueError, psutil.Error):
        return False


def _labelled_runs(client: docker.DockerClient) -> set[str]:
    """Run ids with containers or networks left, except runs a live harness still owns."""
    found = client.containers.list(all=True, filters={"label": LABEL}, ignore_removed=True)
    found += client.networks.list(filters={"label": LABEL})
    runs, live = set(), set()
    for r in found:
        lab = r.attrs.get("Labels") or r.attrs.get("Config", {}).get("Labels") or {}
        run = lab.get(RUN_LABEL, "")
        runs.add(run)
        if _owned_elsewhere(lab.get(OWNER_LABEL, "")):
            live.add(run)
    return runs - live - {""}


async def _remove(client: docker.DockerClient, filters: dict) -> None:
    containers = await asyncio.to_thread(client.containers.list, all=True, filters=filters,
                                        ignore_removed=True)
    await asyncio.gather(*(asyncio.to_thread(_ignore_missing, c.remove, force=True)
                           for c in containers))
    networks = await asyncio.to_thread(client.networks.list, filters=filters)
    for n in networks:
        await asyncio.to_thread(_ignore_missing, n.remove)


def _ignore_missing(fn, **kwargs) -> None:
    try:
        fn(**kwargs)
    except docker.errors.NotFound:
        pass


async def wait_for_sshd(name: str, address: str, port: int = 22,
                        timeout: float = SSHD_TIMEOUT) -> None:
    """Poll until address:port sends an SSH banner; HarnessError naming the node after `timeout`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: BaseException | None = None
    while loop.time() < deadline:
        try:
            async with asyncio.timeout(max(0.1, min(2.0, deadline - loop.time()))):
                reader, writer = await asyncio.open_connection(address, port)
                try:
                    if (await reader.readline()).startswith(b"SSH-"):
                        return
                finally:
                    writer.close()
        except (OSError, TimeoutError) as exc:
            last = exc
        await asyncio.sleep(0.05)
    raise HarnessError(f"{name}: sshd at {address}:{port} did not answer within "
                       f"{timeout:g} s ({last!r})")
