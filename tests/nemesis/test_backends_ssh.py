"""Nemesis faults over the real control path (SSH) on every local backend: netns and docker.

One 3-node cluster per backend (module scope: start-up dominates), with the
HeliosDB emulator running. The Nemesis drives each node through an
SshRemote; every observation is made from inside the nodes by probes run
over those same Remotes, never from the control node.
"""

import asyncio
import random
import subprocess
import time

import pytest

from nemesis import Ledger, Nemesis, build_grudge, read_entries

from nemesis_helpers import Events, _netns_available
from remote_probes import harness_rules, matrix, tcp_throughput, udp_delivered

pytestmark = pytest.mark.slow


def _unavailable(backend: str) -> str | None:
    if backend == "netns":
        return _netns_available()
    from harness.provision.docker import DockerBackend
    return DockerBackend.unavailable_reason()


def _leftovers(backend: str, run_id: str) -> list[str]:
    """What of the run is still on the machine, listed with the real tools."""
    if backend == "netns":
        from harness.provision import _netns_names as nm
        out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        return [n for n in out.split() if run_id in n] + (
            [str(nm.state_dir(run_id))] if nm.state_dir(run_id).exists() else [])
    from harness.provision.docker import RUN_LABEL
    found = []
    for kind in (["ps", "-a"], ["network", "ls"]):
        found += subprocess.run(["docker", *kind, "-q", "--filter", f"label={RUN_LABEL}={run_id}"],
                                capture_output=True, text=True, check=True).stdout.split()
    return found


@pytest.fixture(scope="module", params=["netns", "docker"])
def ssh_cluster(request, tmp_path_factory):
    """(loop, remotes by name, db) for a 3-node cluster of the given backend, emulator up."""
    why = _unavailable(request.param)
    if why:
        pytest.skip(f"{request.param}: {why}")
    from harness import cluster_state as cs
    from harness.control import close_all, connect_all
    from harness.db.heliosdb import HeliosDB
    loop = asyncio.new_event_loop()
    cluster, remotes = None, []
    try:
        cluster = loop.run_until_complete(cs.provision(
            request.param, 3, tmp_path_factory.mktemp(f"nem-{request.param}"),
            progress=lambda m: None))
        remotes = loop.run_until_complete(connect_all(cluster.hosts))
        db = HeliosDB(cluster.hosts, election_timeout_ms=300, heartbeat_ms=50)
        loop.run_until_complete(cs.start_db(db, remotes))
        yield loop, {r.host.name: r for r in remotes}, db
    finally:
        loop.run_until_complete(close_all(remotes))
        if cluster is not None:
            loop.run_until_complete(cs.teardown(cluster))
        loop.close()
    assert _leftovers(request.param, cluster.run_id) == []


@pytest.fixture
def nem(ssh_cluster, tmp_path):
    """A Nemesis over SshRemotes; healed and checked clean after the test, leader back."""
    loop, remotes, db = ssh_cluster
    events, start = Events(), time.monotonic_ns()
    nemesis = Nemesis(remotes, Ledger(tmp_path), record=events.append,
                      clock=lambda: time.monotonic_ns() - start, db=db, probe_timeout=0.3)
    try:
        yield loop, nemesis, events
    finally:
        result = loop.run_until_complete(nemesis.heal())
        assert result["ok"], result
        loop.run_until_complete(db.wait_for_leader(20))


def test_isolate_n1_observed_then_heal_restores_everything(nem):
    loop, nemesis, events = nem
    run = loop.run_until_complete
    grudge = build_grudge("isolate-one", nemesis.nodes, random.Random(0), node="n1")
    run(nemesis.partition(grudge, shape="isolate-one"))

    seen = run(matrix(nemesis.remotes))
    cut = {pair for pair, ok in seen.items() if not ok}
    assert cut == {("n1", "n2"), ("n1", "n3"), ("n2", "n1"), ("n3", "n1")}, seen
    assert seen[("n2", "n3")] and seen[("n3", "n2")]
    assert events.of("partition", "info")[0]["value"]["grudge"] == {
        "n1": ["n2", "n3"], "n2": ["n1"], "n3": ["n1"]}

    healed = run(nemesis.heal())
    assert healed["ok"] and healed["leftover_rules"] == [], healed
    assert all(run(matrix(nemesis.remotes)).values())
    for remote in nemesis.remotes.values():
        assert run(harness_rules(remote)) == []
    assert all(e.state == "healed" for e in read_entries(nemesis.ledger.path))


def test_one_way_partition_blocks_one_direction_only(nem):
    loop, nemesis, _ = nem
    r = nemesis.remotes
    grudge = build_grudge("isolate-one", nemesis.nodes, random.Random(0), node="n1",
                          direction="one-way")
    loop.run_until_complete(nemesis.partition(grudge))
    assert loop.run_until_complete(udp_delivered(r["n2"], r["n1"], 50, window=1.5)) == 0
    assert loop.run_until_complete(udp_delivered(r["n1"], r["n2"], 50)) == 50


async def db_put(db, host, key, value):
    from harness.db import _wire
    return await _wire.request(host.address, db.port, {"op": "put", "key": key, "value": value})


def _status(loop, db, remote):
    return loop.run_until_complete(db.status(remote.host, 0.5))


def _poll(loop, fn, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = loop.run_until_complete(fn())
        if value:
            return value
        time.sleep(0.05)
    return None


def test_kill_leader_observed_by_the_cluster(nem, ssh_cluster):
    loop, nemesis, events = nem
    db = ssh_cluster[2]
    old = loop.run_until_complete(db.wait_for_leader(20))
    fault = loop.run_until_complete(nemesis.signal("kill", [old]))
    assert _status(loop, db, nemesis.remotes[old]) is None

    async def new_leader():
        seen = [await db.status(nemesis.remotes[n].host, 0.5) for n in nemesis.nodes if n != old]
        leaders = {s["leader"] for s in seen if s and s.get("role") == "leader"}
        return leaders.pop() if leaders else None
    assert _poll(loop, new_leader) not in (None, old)
    loop.run_until_complete(nemesis.end(fault))
    assert _poll(loop, lambda: db.status(nemesis.remotes[old].host, 0.5)) is not None


def test_pause_stops_answers_until_resume(nem, ssh_cluster):
    loop, nemesis, _ = nem
    db, n2 = ssh_cluster[2], nemesis.remotes["n2"]
    fault = loop.run_until_complete(nemesis.signal("pause", ["n2"]))
    assert _status(loop, db, n2) is None
    loop.run_until_complete(nemesis.end(fault))
    assert "role" in _poll(loop, lambda: db.status(n2.host, 0.5))


def test_packet_loss_at_30_percent_is_measured_within_tolerance(nem):
    loop, nemesis, events = nem
    r = nemesis.remotes
    loop.run_until_complete(nemesis.packet_loss(["n1"], 0.3, peers=["n2"]))
    got = loop.run_until_complete(udp_delivered(r["n2"], r["n1"], 400, window=3.0))
    assert 0.2 <= 1 - got / 400 <= 0.4, f"{400 - got} of 400 datagrams lost"
    assert loop.run_until_complete(udp_delivered(r["n3"], r["n1"], 100)) == 100   # not a peer


def test_clock_skew_is_visible_in_the_node_status(nem, ssh_cluster):
    loop, nemesis, _ = nem
    db = ssh_cluster[2]
    fault = loop.run_until_complete(nemesis.clock({"n2": 4000, "n3": -1500}))
    offsets = {n: _status(loop, db, nemesis.remotes[n])["clock_offset_ms"] for n in nemesis.nodes}
    assert offsets == {"n1": 0, "n2": 4000, "n3": -1500}
    loop.run_until_complete(nemesis.end(fault))
    assert all(_status(loop, db, nemesis.remotes[n])["clock_offset_ms"] == 0
               for n in nemesis.nodes)


def test_tbf_limits_measured_bandwidth(nem):
    loop, nemesis, _ = nem
    r = nemesis.remotes
    free = loop.run_until_complete(tcp_throughput(r["n1"], r["n2"], 4_000_000))
    fault = loop.run_until_complete(nemesis.bandwidth(["n1"], "2mbit"))     # 250 kB/s
    limited = loop.run_until_complete(tcp_throughput(r["n1"], r["n2"], 300_000))
    assert limited < 250_000 * 1.5 and free > 10 * limited, (free, limited)
    assert loop.run_until_complete(nemesis.end(fault))["ok"]


def test_bitflip_in_the_wal_makes_the_node_refuse_it(nem, ssh_cluster):
    loop, nemesis, _ = nem
    db, run = ssh_cluster[2], loop.run_until_complete
    leader = run(db.wait_for_leader(20))
    for i in range(20):
        assert run(db_put(db, nemesis.remotes[leader].host, f"k{i}", i)).get("ok")
    victim = next(n for n in nemesis.nodes if n != leader)
    remote = nemesis.remotes[victim]
    wal = f"{remote.host.workdir}/data/wal.log"
    fault = run(nemesis.signal("kill", [victim]))
    run(nemesis.bitflip(victim, wal, seed=11, lo=0.1, hi=0.5))
    run(nemesis.end(fault))                                 # restarts it on the damaged WAL

    async def exited():
        return not await db.alive(remote)
    assert _poll(loop, exited, timeout=10)
    log = run(db.node_log_tail(remote, 5))
    assert "wal" in log.lower() and "corrupt" in log.lower(), log
    # repair for the tests after this one: a fresh data directory, then start again
    run(remote.exec(["sh", "-c", f"rm -rf {remote.host.workdir}/data && "
                                 f"mkdir -p {remote.host.workdir}/data"]))
    run(db.start(remote))
