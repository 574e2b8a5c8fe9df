"""Helpers shared by the docker backend and compose tests: real engine, real sshd."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import asyncssh
import docker
import pytest

from harness.provision._base import LABEL, ClusterSpec
from harness.provision.docker import RUN_LABEL


def engine() -> docker.DockerClient:
    """The local engine; the test fails (not skips) without one: slow tests need it."""
    try:
        client = docker.from_env(timeout=120)
        client.ping()
        return client
    except docker.errors.DockerException as exc:
        pytest.fail(f"docker tests need a Docker engine: {exc}")


def new_run_id(prefix: str = "t") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def make_spec(run_id: str, nodes: int, run_dir: Path) -> tuple[ClusterSpec, asyncssh.SSHKey]:
    """A spec with a fresh client keypair; the private key is also written to run_dir."""
    key = asyncssh.generate_private_key("ssh-ed25519", comment=f"harness-{run_id}")
    path = run_dir / "id_ed25519"
    key.write_private_key(str(path))
    path.chmod(0o600)
    public = key.export_public_key("openssh").decode().strip()
    return ClusterSpec(run_id=run_id, nodes=nodes, run_dir=run_dir, public_key=public), key


def labelled(client: docker.DockerClient, run_id: str | None = None) -> tuple[list, list]:
    """(containers, networks) carrying the run label (or LABEL at all when run_id is None)."""
    filters = {"label": f"{RUN_LABEL}={run_id}" if run_id else LABEL}
    return (client.containers.list(all=True, filters=filters),
            client.networks.list(filters=filters))


async def ssh_run(address: str, host_key: str, key: asyncssh.SSHKey, command: str,
                  timeout: float = 20.0) -> asyncssh.SSHCompletedProcess:
    """Run `command` as root over SSH, accepting only `host_key` from the server."""
    async with asyncio.timeout(timeout):
        async with asyncssh.connect(
                address, username="root", client_keys=[key], agent_path=None, config=None,
                known_hosts=([asyncssh.import_public_key(host_key)], [], [])) as conn:
            return await conn.run(command, check=False)
