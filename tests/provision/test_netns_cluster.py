"""A real 3-node netns cluster: sshd with pinned keys, the emulator over SSH, clean removal."""

import asyncio
import dataclasses
import filecmp

import pytest

from harness import cluster_state as cs
from harness.control import (HostUnreachable, RemoteCommandError, SshRemote, close_all,
                             connect_all, generate_keypair, on_all)
from harness.errors import HarnessError
from harness.db import _wire
from harness.db.heliosdb import HeliosDB

from netns_helpers import EMPTY, leftovers, needs_root

pytestmark = [pytest.mark.slow, needs_root]


def test_ssh_into_every_node(netns_cluster):
    cluster, remotes, loop = netns_cluster
    script = "hostname; ip -4 -o addr show dev eth0; id -u"
    results = loop.run_until_complete(on_all(remotes, lambda r: r.exec(["sh", "-c", script])))
    for host, res in zip(cluster.hosts, results):
        name, addr_line, uid = res.stdout.splitlines()
        assert name == host.name
        assert f"inet {host.address}/24" in addr_line
        assert uid == "0"
    assert len({h.address for h in cluster.hosts}) == 3


def test_wrong_pinned_host_key_is_refused(netns_cluster, tmp_path):
    cluster, _, loop = netns_cluster
    stranger = generate_keypair(tmp_path / "stranger", "not-the-node")
    host = dataclasses.replace(cluster.hosts[0], host_key=stranger)
    with pytest.raises(HostUnreachable) as info:
        loop.run_until_complete(SshRemote(host, connect_timeout=5).connect())
    assert "n1" in str(info.value) and "not the pinned key" in str(info.value)


def test_wrong_client_key_is_refused(netns_cluster, tmp_path):
    cluster, _, loop = netns_cluster
    generate_keypair(tmp_path / "intruder", "intruder")
    host = dataclasses.replace(cluster.hosts[1], key_path=str(tmp_path / "intruder"))
    with pytest.raises(HostUnreachable, match="n2.*Permission denied|n2.*PermissionDenied"):
        loop.run_until_complete(SshRemote(host, connect_timeout=5).connect())


def test_upload_download_roundtrip(netns_cluster, tmp_path):
    cluster, remotes, loop = netns_cluster
    src = tmp_path / "blob"
    src.write_bytes(bytes(range(256)) * 400)
    remote = remotes[2]
    target = f"{remote.host.workdir}/blob"
    loop.run_until_complete(remote.upload(str(src), target))
    loop.run_until_complete(remote.download(target, str(tmp_path / "back")))
    assert filecmp.cmp(src, tmp_path / "back", shallow=False)
    assert loop.run_until_complete(remote.read_file(target)) == src.read_bytes()


def test_failed_remote_command_carries_context(netns_cluster):
    _, remotes, loop = netns_cluster
    with pytest.raises(RemoteCommandError) as info:
        loop.run_until_complete(remotes[0].exec(["sh", "-c", "echo boom >&2; exit 4"]))
    assert (info.value.host, info.value.exit_status) == ("n1", 4)
    assert "boom" in str(info.value)
    with pytest.raises(RemoteCommandError, match="timed out after 0.5 s"):
        loop.run_until_complete(remotes[0].exec(["sleep", "20"], timeout=0.5))


async def _role_within(db, host, role, seconds):
    loop = asyncio.get_running_loop()
    deadline, seen = loop.time() + seconds, None
    while loop.time() < deadline:
        status = await db.status(host, timeout=0.5)
        seen = status and status.get("role")
        if seen == role:
            break
        await asyncio.sleep(0.05)
    return seen


def test_emulator_cluster_elects_and_serves(netns_cluster, tmp_path):
    cluster, remotes, loop = netns_cluster
    db = HeliosDB(cluster.hosts, election_timeout_ms=500, heartbeat_ms=50)
    leader = loop.run_until_complete(cs.start_db(db, remotes))
    by_name = {h.name: h for h in cluster.hosts}
    lh = by_name[leader]
    put = loop.run_until_complete(_wire.request(lh.address, db.port,
                                                {"op": "put", "key": "k", "value": "v1"}))
    got = loop.run_until_complete(_wire.request(lh.address, db.port, {"op": "get", "key": "k"}))
    assert put["ok"] is True and (got["ok"], got["value"], got["node"]) == (True, "v1", leader)
    follower = next(h for h in cluster.hosts if h.name != leader)
    redirect = loop.run_until_complete(_wire.request(follower.address, db.port,
                                                     {"op": "get", "key": "k"}))
    assert (redirect["error"], redirect["leader"]) == ("not_leader", leader)

    remote = next(r for r in remotes if r.host.name == follower.name)
    loop.run_until_complete(db.pause(remote))
    assert loop.run_until_complete(db.status(follower, timeout=0.5)) is None
    loop.run_until_complete(db.resume(remote))
    # Resumed, it answers again; its election timer may fire once on waking (pre-vote keeps
    # that harmless), so poll until it is back to follower.
    assert loop.run_until_complete(db.status(follower, timeout=3)) is not None
    assert loop.run_until_complete(_role_within(db, follower, "follower", 5.0)) == "follower"
    loop.run_until_complete(db.kill(remote))
    assert loop.run_until_complete(db.status(follower, timeout=0.5)) is None

    files = loop.run_until_complete(db.logs(remote, tmp_path / "logs"))
    assert sorted(p.name for p in files) == ["events.jsonl", "node.log"]
    assert follower.name in (tmp_path / "logs" / "node.log").read_text()
    loop.run_until_complete(on_all(remotes, db.teardown))
    ls = loop.run_until_complete(remote.exec(["ls", remote.host.workdir], check=False))
    assert ls.exit_status != 0


def test_missing_emulator_dependency_is_reported(netns_cluster, tmp_path):
    """setup names the host and the missing module (PATH without python3 fakes its absence)."""
    cluster, remotes, loop = netns_cluster
    db = HeliosDB(cluster.hosts)

    class NoPython:
        host = remotes[0].host

        async def exec(self, argv, **kw):
            return await remotes[0].exec(["env", "PATH=/nonexistent", "/bin/sh", *argv[1:]], **kw)

    with pytest.raises(HarnessError, match="n1: python3 is missing on the host"):
        loop.run_until_complete(db.setup(NoPython()))


def test_down_leaves_nothing_behind(tmp_path):
    async def go():
        cluster = await cs.provision("netns", 3, tmp_path, progress=lambda m: None)
        try:
            remotes = await connect_all(cluster.hosts)
            await cs.start_db(HeliosDB(cluster.hosts), remotes)
            await close_all(remotes)
            before = leftovers(cluster.run_id)
        finally:
            await cs.teardown(cluster)
        return cluster.run_id, before
    run_id, before = asyncio.run(go())
    assert len(before["netns"]) == 3 and len(before["links"]) == 4
    assert len(before["processes"]) >= 6 and len(before["rules"]) == 1 and before["state_dir"]
    assert leftovers(run_id) == EMPTY
