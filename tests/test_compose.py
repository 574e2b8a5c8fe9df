"""docker-compose.yml: valid, profiles select 3/5/7 nodes, and a 3-node cluster answers SSH.

Slow: runs this machine's compose (`docker compose` or `docker-compose`)
against the real engine; the project is torn down in finally.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

import asyncssh
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent / "provision"))
from dockertest_util import engine, new_run_id, ssh_run  # noqa: E402

from harness.image import REPO_ROOT, ensure_image  # noqa: E402
from harness.provision.docker import wait_for_sshd  # noqa: E402

pytestmark = pytest.mark.slow
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"


def compose_cmd() -> list[str]:
    """`docker compose` (v2 plugin) if it answers, else `docker-compose` (v1)."""
    for argv in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(argv[0]) and subprocess.run(
                [*argv, "version"], capture_output=True, timeout=30).returncode == 0:
            return argv
    pytest.fail("neither `docker compose` nor `docker-compose` works on this machine")


def compose(*args: str, project: str = "heliosdb-config", env: dict | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess:
    argv = [*compose_cmd(), "-f", str(COMPOSE_FILE), "-p", project, *args]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
    assert done.returncode == 0, f"{' '.join(argv)}: {done.stderr}"
    return done


@pytest.mark.parametrize("profiles, nodes", [("", 3), ("five", 5), ("seven", 7)])
def test_config_is_valid_and_profiles_select_the_node_count(profiles, nodes):
    config = yaml.safe_load(compose("config", env={"COMPOSE_PROFILES": profiles}).stdout)
    active = set(profiles.split(",")) - {""}
    enabled = sorted(name for name, svc in config["services"].items()
                     if not svc.get("profiles") or active & set(svc["profiles"]))
    assert enabled == [f"n{i}" for i in range(1, nodes + 1)]
    for name in enabled:
        svc = config["services"][name]
        assert svc["image"] == "heliosdb-node:latest" and svc["hostname"] == name
        assert svc["cap_add"] == ["NET_ADMIN"] and not svc.get("privileged")
        assert svc["build"]["dockerfile"] == "Dockerfile.node"
        assert "BASE" in svc["build"]["args"]


def test_three_node_cluster_comes_up_and_answers_ssh():
    client = engine()
    ensure_image(lambda _m: None, client=client)          # builds heliosdb-node:latest if missing
    key = asyncssh.generate_private_key("ssh-ed25519")
    project = f"heliosdb-{new_run_id('compose')}"
    env = {"HELIOSDB_AUTHORIZED_KEY": key.export_public_key().decode().strip(),
           "COMPOSE_PROFILES": ""}
    try:
        compose("up", "-d", "--no-build", project=project, env=env, timeout=180)
        containers = client.containers.list(
            filters={"label": f"com.docker.compose.project={project}"})
        assert sorted(c.labels["com.docker.compose.service"] for c in containers) == \
            ["n1", "n2", "n3"]
        assert asyncio.run(_hostnames(containers, key)) == ["n1", "n2", "n3"]
    finally:
        compose("down", "--remove-orphans", "--timeout", "1", project=project, env=env)
    assert client.containers.list(
        all=True, filters={"label": f"com.docker.compose.project={project}"}) == []


async def _hostnames(containers, key) -> list[str]:
    """SSH into each container, pinned to the host key the node generated, read hostname."""
    async def one(c):
        c.reload()
        address = next(iter(c.attrs["NetworkSettings"]["Networks"].values()))["IPAddress"]
        host_key = await _host_key(c)
        await wait_for_sshd(c.name, address)
        result = await ssh_run(address, host_key, key, "hostname", timeout=30)
        assert result.exit_status == 0, result.stderr
        return result.stdout.strip()

    return sorted(await asyncio.gather(*(one(c) for c in containers)))


async def _host_key(container, timeout: float = 20.0) -> str:
    """The node's public host key; the entrypoint writes it before exec'ing sshd."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        code, out = await asyncio.to_thread(
            container.exec_run, ["cat", "/etc/ssh/ssh_host_ed25519_key.pub"])
        if code == 0 and out.startswith(b"ssh-ed25519 "):
            return out.decode().strip()
        await asyncio.sleep(0.1)
    pytest.fail(f"{container.name}: no host key within {timeout} s")
