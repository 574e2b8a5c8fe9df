"""The etcd adapter's process control on this machine (layer: tests): setup, start
(daemonized, pid file), pause/resume, kill, restart on the same data, logs and teardown,
through a LocalRemote on loopback with a one-member cluster; a missing binary is one
line saying how to install it."""

import asyncio

import pytest

from etcd_ports import free_port
from harness.control import LocalRemote, local_host
from harness.db.etcd import Etcd
from harness.errors import HarnessError

WRITE = {"f": "write", "key": "a", "value": 1}
READ = {"f": "read", "key": "a", "value": None}


def member(tmp_path) -> tuple[Etcd, LocalRemote]:
    host = local_host("n1", str(tmp_path / "node"))
    db = Etcd([host])
    db.client_port, db.peer_port = free_port(), free_port()
    return db, LocalRemote(host)


async def invoke(db, op, timeout=2.0):
    client = db.client("register", "n1", timeout=timeout)
    try:
        return await client.invoke(op)
    finally:
        await client.close()


async def lifecycle(db, remote, tmp_path):
    await db.setup(remote)
    await db.start(remote)
    try:
        leader = await db.wait_for_leader(20)
        wrote = await invoke(db, WRITE)
        await db.pause(remote)
        paused = await invoke(db, READ, timeout=0.5)
        status_paused = await db.status(db.hosts[0], 0.3)
        await db.resume(remote)
        after_resume = await invoke(db, READ)
        await db.kill(remote)
        alive_after_kill = await db.alive(remote)
        await db.start(remote)                      # restart on the same data directory
        await db.wait_for_leader(20)
        after_restart = await invoke(db, READ)
        logs = await db.logs(remote, tmp_path / "logs")
    finally:
        await db.teardown(remote)
        await db.close()
    return leader, wrote, paused, status_paused, after_resume, alive_after_kill, \
        after_restart, logs


def test_start_pause_resume_kill_restart_logs_teardown(tmp_path):
    db, remote = member(tmp_path)
    leader, wrote, paused, status_paused, after_resume, alive, after_restart, logs = \
        asyncio.run(lifecycle(db, remote, tmp_path))
    assert leader == "n1"
    assert (wrote.type, wrote.value) == ("ok", 1)
    assert paused.type == "fail" and "timeout" in paused.error, "a read of a paused node fails"
    assert status_paused is None, "a paused member does not answer status"
    assert (after_resume.type, after_resume.value) == ("ok", 1)
    assert alive is False
    assert (after_restart.type, after_restart.value) == ("ok", 1), "data survives SIGKILL"
    assert [p.name for p in logs] == ["node.log"] and "became leader" in logs[0].read_text()
    assert not (tmp_path / "node").exists(), "teardown removes the workdir"


def test_missing_binary_is_one_line_saying_how_to_install(tmp_path):
    db, remote = member(tmp_path)
    db.binary = "etcd-not-installed-here"
    with pytest.raises(HarnessError) as info:
        asyncio.run(db.setup(remote))
    message = str(info.value)
    assert message == ("n1: etcd is not installed on the host (install it: apt-get install "
                       "etcd-server etcd-client)")


def test_argv_names_urls_cluster_timeouts_and_pre_vote(tmp_path):
    hosts = [local_host(f"n{i}", f"/w/n{i}") for i in (1, 2)]
    hosts[1] = type(hosts[1])(name="n2", address="10.0.0.2", ssh_host="10.0.0.2", workdir="/w/n2")
    db = Etcd(hosts, election_timeout_ms=1500, heartbeat_ms=150, pre_vote=True)
    argv = db.argv(hosts[1])
    flags = dict(zip(argv[1::2], argv[2::2]))
    assert flags["--name"] == "n2" and flags["--data-dir"] == "/w/n2/data"
    assert flags["--listen-client-urls"] == flags["--advertise-client-urls"] == \
        "http://10.0.0.2:2379"
    assert flags["--listen-peer-urls"] == "http://10.0.0.2:2380"
    assert flags["--initial-cluster"] == "n1=http://127.0.0.1:2380,n2=http://10.0.0.2:2380"
    assert (flags["--heartbeat-interval"], flags["--election-timeout"]) == ("150", "1500")
    assert "--pre-vote=true" in argv
    assert "--pre-vote=false" in Etcd(hosts).argv(hosts[0])
    again = Etcd.from_record(hosts, db.describe())
    assert again.describe() == db.describe()
