"""A real 3-node docker cluster from DockerBackend: SSH with pinned keys, caps, iptables.

Slow: real Docker engine, real sshd in each container. The cluster is made
once for the module and removed in the fixture's finally.
"""

from __future__ import annotations

import asyncio
import dataclasses

import asyncssh
import pytest

from harness.control import HostUnreachable, SshRemote
from harness.provision._base import LABEL
from harness.provision.docker import NODE_LABEL, RUN_LABEL, DockerBackend
from dockertest_util import engine, labelled, make_spec, new_run_id, ssh_run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """(backend, run_id, hosts, client key, run_dir): three nodes, torn down afterwards."""
    run_dir = tmp_path_factory.mktemp("docker-run")
    run_id = new_run_id("c")
    spec, key = make_spec(run_id, 3, run_dir)
    backend = DockerBackend()
    try:
        hosts = asyncio.run(backend.up(spec, lambda _m: None))
        yield backend, run_id, hosts, key, run_dir
    finally:
        asyncio.run(backend.down(run_id))


def test_hosts_describe_the_containers(cluster):
    _backend, run_id, hosts, _key, _dir = cluster
    assert [h.name for h in hosts] == ["n1", "n2", "n3"]
    assert len({h.address for h in hosts}) == 3
    for h in hosts:
        assert (h.ssh_host, h.ssh_port, h.user, h.workdir) == (h.address, 22, "root",
                                                               "/var/lib/heliosdb")
        assert h.host_key.startswith("ssh-ed25519 ")
    assert len({h.host_key for h in hosts}) == 3        # one host key per node


def test_ssh_into_every_node_with_the_pinned_host_key(cluster):
    _backend, _run, hosts, _key, run_dir = cluster

    async def whoami(host):
        remote = await SshRemote(dataclasses.replace(
            host, key_path=str(run_dir / "id_ed25519"))).connect()
        try:
            result = await remote.exec(["sh", "-c", "hostname; id -u; pwd"])
            return result.stdout.split()
        finally:
            await remote.close()

    async def all_nodes():
        return await asyncio.gather(*(whoami(h) for h in hosts))

    assert asyncio.run(all_nodes()) == [[h.name, "0", "/root"] for h in hosts]


def test_a_different_host_key_is_refused(cluster):
    _backend, _run, hosts, _key, run_dir = cluster
    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
    wrong = dataclasses.replace(hosts[0], host_key=other, key_path=str(run_dir / "id_ed25519"))
    with pytest.raises(HostUnreachable, match="not the pinned key"):
        asyncio.run(SshRemote(wrong).connect())


def test_an_unauthorized_client_key_is_refused(cluster):
    _backend, _run, hosts, _key, _dir = cluster
    stranger = asyncssh.generate_private_key("ssh-ed25519")
    with pytest.raises(asyncssh.PermissionDenied):
        asyncio.run(ssh_run(hosts[0].address, hosts[0].host_key, stranger, "true"))


def test_containers_have_net_admin_and_are_not_privileged(cluster):
    _backend, run_id, hosts, _key, _dir = cluster
    containers, networks = labelled(engine(), run_id)
    assert len(containers) == 3 and len(networks) == 1
    for c in containers:
        hc = c.attrs["HostConfig"]
        assert hc["Privileged"] is False
        assert "NET_ADMIN" in (hc["CapAdd"] or []) or "CAP_NET_ADMIN" in (hc["CapAdd"] or [])
        assert c.labels[LABEL] == "1" and c.labels[RUN_LABEL] == run_id
        assert c.status == "running"
    assert sorted(c.labels[NODE_LABEL] for c in containers) == ["n1", "n2", "n3"]
    assert networks[0].attrs["Labels"][RUN_LABEL] == run_id


def test_iptables_inside_a_container_cuts_a_link(cluster):
    """An OUTPUT DROP rule on n1 towards n2 blocks n1 -> n2 only, and removing it heals."""
    _backend, _run, hosts, key, _dir = cluster
    n1, n2, n3 = hosts
    probe = "timeout 2 bash -c 'exec 3<>/dev/tcp/{}/22' && echo open || echo closed"
    rule = f"OUTPUT -d {n2.address} -p tcp --dport 22 -j DROP"

    async def run(cmd):
        result = await ssh_run(n1.address, n1.host_key, key, cmd)
        assert result.exit_status == 0, result.stderr
        return result.stdout.split()

    async def scenario():
        before = await run(probe.format(n2.address))
        await run(f"iptables -w 5 -A {rule}")
        cut = await run(f"{probe.format(n2.address)}; {probe.format(n3.address)}")
        await run(f"iptables -w 5 -D {rule}")
        after = await run(probe.format(n2.address))
        return before, cut, after

    assert asyncio.run(scenario()) == (["open"], ["closed", "open"], ["open"])


def test_nodes_resolve_each_other_by_name(cluster):
    _backend, _run, hosts, key, _dir = cluster
    result = asyncio.run(ssh_run(hosts[0].address, hosts[0].host_key, key,
                                 "getent hosts n2 n3 | awk '{print $1}'"))
    assert result.stdout.split() == [hosts[1].address, hosts[2].address]
