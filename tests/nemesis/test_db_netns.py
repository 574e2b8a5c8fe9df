"""Process, clock and disk faults observed by a real HeliosDB emulator cluster on netns."""

import asyncio
import secrets
import time

import pytest

from harness.db import _wire
from nemesis import read_entries
from nemesis_helpers import _netns_available, make_nemesis

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def db_cluster(tmp_path_factory):
    why = _netns_available()
    if why:
        pytest.skip(why)
    from harness import cluster_state as cs
    from harness.control import LocalRemote
    from harness.db.heliosdb import HeliosDB
    store = tmp_path_factory.mktemp("nemesis-db")
    run_id = f"nemd-{secrets.token_hex(4)}"
    cluster = None
    try:
        cluster = asyncio.run(cs.provision("netns", 3, store / run_id, run_id=run_id,
                                           progress=lambda m: None))
        db = HeliosDB(cluster.hosts, election_timeout_ms=300, heartbeat_ms=50)
        remotes = [LocalRemote(h, netns=h.extra["netns"]) for h in cluster.hosts]
        asyncio.run(cs.start_db(db, remotes))
        yield cluster, db
    finally:
        if cluster is not None:
            asyncio.run(cs.teardown(cluster))


@pytest.fixture
def dbnem(db_cluster, tmp_path):
    cluster, db = db_cluster
    nem, events = make_nemesis(cluster.hosts, tmp_path, db=db)
    try:
        yield nem, events, db
    finally:
        result = asyncio.run(nem.heal())
        assert result["ok"], result
        asyncio.run(db.wait_for_leader(20))


def poll(fn, timeout=15.0, every=0.05):
    """Call the coroutine factory fn until it returns a truthy value or the deadline passes."""
    async def loop():
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = await fn()
            if value:
                return value
            await asyncio.sleep(every)
        return None
    return asyncio.run(loop())


def host(nem, name):
    return nem.remotes[name].host


def test_kill_leader_elects_a_new_one_and_end_restarts_it(dbnem):
    nem, events, db = dbnem
    old = asyncio.run(db.wait_for_leader(20))
    fault = asyncio.run(nem.signal("kill", [old]))
    assert asyncio.run(db.status(host(nem, old), 0.5)) is None

    async def new_leader():
        seen = [await db.status(host(nem, n), 0.5) for n in nem.nodes if n != old]
        leaders = {s["leader"] for s in seen if s and s.get("role") == "leader"}
        return leaders.pop() if leaders else None
    assert poll(new_leader) not in (None, old)
    asyncio.run(nem.end(fault))
    assert poll(lambda: db.status(host(nem, old), 0.5)) is not None
    assert [e["f"] for e in events if e["f"] in ("kill", "end")] == ["kill", "kill", "end"]


def test_pause_stops_answers_until_resume(dbnem):
    nem, _, db = dbnem
    fault = asyncio.run(nem.signal("pause", ["n2"]))
    assert asyncio.run(db.status(host(nem, "n2"), 0.5)) is None
    asyncio.run(nem.end(fault))
    assert "role" in poll(lambda: db.status(host(nem, "n2"), 0.5))


def test_clock_skew_is_visible_in_status(dbnem):
    nem, _, db = dbnem
    fault = asyncio.run(nem.clock({"n3": 7000, "n1": -2500}))
    assert asyncio.run(db.status(host(nem, "n3")))["clock_offset_ms"] == 7000
    assert asyncio.run(db.status(host(nem, "n1")))["clock_offset_ms"] == -2500
    assert asyncio.run(db.status(host(nem, "n2")))["clock_offset_ms"] == 0
    asyncio.run(nem.end(fault))
    assert asyncio.run(db.status(host(nem, "n3")))["clock_offset_ms"] == 0
    assert all(e.state == "healed" for e in read_entries(nem.ledger.path))


def test_bitflip_in_wal_makes_the_node_refuse_it(dbnem):
    nem, _, db = dbnem
    leader = asyncio.run(db.wait_for_leader(20))
    addr = host(nem, leader).address
    for i in range(20):
        reply = asyncio.run(_wire.request(addr, db.port, {"op": "put", "key": f"k{i}", "value": i}))
        assert reply.get("ok"), reply
    victim = next(n for n in nem.nodes if n != leader)
    wal = f"{host(nem, victim).workdir}/data/wal.log"
    fault = asyncio.run(nem.signal("kill", [victim]))
    asyncio.run(nem.bitflip(victim, wal, seed=11, lo=0.1, hi=0.5))
    asyncio.run(nem.end(fault))                                    # start on the damaged WAL

    async def exited():
        return not await db.alive(nem.remotes[victim])
    assert poll(exited, timeout=10)
    log = asyncio.run(db.node_log_tail(nem.remotes[victim], 5))
    assert "wal" in log.lower() and "corrupt" in log.lower(), log
    # Repair for the next test: a fresh data dir, restart.
    asyncio.run(nem.remotes[victim].exec(["rm", "-rf", f"{host(nem, victim).workdir}/data"]))
    asyncio.run(nem.remotes[victim].exec(["mkdir", "-p", f"{host(nem, victim).workdir}/data"]))
    asyncio.run(db.start(nem.remotes[victim]))
