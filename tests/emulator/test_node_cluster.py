"""Real clusters of `python -m emulator` processes on loopback: reads and writes, redirects,
leader crash and failback, snapshot catch-up, WAL torn-tail repair and corruption refusal,
start-up errors. Slow: each test starts real processes."""

import json
import time

import pytest

from emulator import snapshot as snapfile
from emulator.errors import NodeError
from emulator.statemachine import KV
from emulator.wal import FILE as WAL_FILE, HEADER, Wal, encode_record
from emulator_cluster import FAST, Cluster, run_node, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def cluster3(tmp_path):
    c = Cluster(tmp_path, 3)
    try:
        yield c.start_all()
    finally:
        c.close()


def test_reads_writes_redirect_status_and_events(cluster3):
    c = cluster3
    ld = c.leader()
    assert c.request(ld, {"op": "put", "key": "k", "value": 1, "id": "a"}) == {
        "id": "a", "ok": True, "lsn": 2, "term": c.status(ld)["term"], "node": ld}
    assert c.request(ld, {"op": "cas", "key": "k", "from": 1, "to": 2})["ok"] is True
    bad = c.request(ld, {"op": "cas", "key": "k", "from": 1, "to": 3})
    assert (bad["error"], bad["definite"], bad["value"]) == ("precondition_failed", True, 2)
    assert c.request(ld, {"op": "append", "key": 9, "value": "x"})["value"] == ["x"]
    got = c.request(ld, {"op": "get", "key": "k"})
    assert (got["ok"], got["value"], got["node"]) == (True, 2, ld) and got["lsn"] >= 4
    follower = next(n for n in c.ids if n != ld)
    red = c.request(follower, {"op": "get", "key": "k", "id": 7})
    h, p = c.addr[ld]
    assert red == {"id": 7, "ok": False, "error": "not_leader", "definite": True,
                   "message": red["message"], "leader": ld, "leader_addr": f"{h}:{p}",
                   "node": follower}
    st = wait_for(lambda: (s := c.status(follower)) and s["applied"] >= 5 and s, 5, "apply")
    assert (st["role"], st["leader"], st["members"]) == ("follower", ld, c.ids)
    assert st["commit"] == st["applied"] == st["last_index"] == 5
    kinds = [(e["kind"], e["node"]) for e in c.events(ld)]
    assert ("became_leader", ld) in kinds and ("wal_recovered", ld) in kinds


def test_clock_offset_moves_event_timestamps_and_status(cluster3):
    c = cluster3
    r = c.request("n2", {"op": "set_clock_offset", "offset_ms": 3_600_000})
    assert r["ok"] and r["clock_offset_ms"] == 3_600_000
    st = c.status("n2")
    assert st["clock_offset_ms"] == 3_600_000
    assert st["wall_clock"] - c.status("n1")["wall_clock"] > 3500
    ev = [e for e in c.events("n2") if e["kind"] == "clock_offset_set"]
    assert len(ev) == 1 and ev[0]["detail"] == {"offset_ms": 3_600_000}
    assert 3500 < ev[0]["ts"] - time.time() < 3700
    c.kill("n2")
    c.start("n2")  # a skewed host clock stays skewed across a restart
    assert c.status("n2")["clock_offset_ms"] == 3_600_000
    assert c.events("n2")[-1]["ts"] - time.time() > 3500


def test_leader_sigkill_new_leader_then_old_leader_catches_up(cluster3):
    c = cluster3
    old = c.leader()
    old_term = c.status(old)["term"]
    c.write("a", 1)
    c.kill(old)
    new = c.leader(not_term=old_term)
    assert new != old and c.status(new)["term"] > old_term
    for i in range(10):
        assert c.request(new, {"op": "put", "key": "b", "value": i})["ok"]
    commit = c.status(new)["commit"]
    c.start(old)
    st = wait_for(lambda: (s := c.status(old)) and s["applied"] >= commit and s, 10, "catch-up")
    assert (st["role"], st["leader"]) == ("follower", new)
    assert c.request(new, {"op": "get", "key": "b"})["value"] == 9


def _state_on_disk(data_dir) -> dict:
    """A stopped node's applied state, rebuilt from its snapshot and WAL."""
    kv = KV()
    snap = snapfile.load(str(data_dir))
    if snap:
        kv.load(snap.data)
    wal = Wal(str(data_dir))
    for e in wal.entries_after(snap.index if snap else 0):
        if e.index <= wal.hard_state.commit and e.data is not None:
            try:
                kv.apply(json.loads(e.data))
            except NodeError:
                pass  # a failed cas/append is a no-op on every replica
    wal.close()
    return kv.data


def test_lagging_follower_catches_up_by_snapshot(tmp_path):
    c = Cluster(tmp_path, 3, args=(*FAST, "--snapshot-every", "20"))
    try:
        c.start_all()
        ld = c.leader()
        lag = next(n for n in c.ids if n != ld)
        c.kill(lag)
        for i in range(60):
            assert c.request(ld, {"op": "put", "key": f"k{i % 7}", "value": i})["ok"]
        assert c.status(ld)["snapshot_index"] >= 40
        c.start(lag)
        commit = c.status(ld)["commit"]
        wait_for(lambda: (s := c.status(lag)) and s["applied"] >= commit, 15, "snapshot catch-up")
        assert any(e["kind"] == "snapshot_installed" for e in c.events(lag))
        assert c.stop(lag) == 0
        assert _state_on_disk(c.data(lag)) == {f'"k{j}"': max(i for i in range(60) if i % 7 == j)
                                               for j in range(7)}
    finally:
        c.close()


def test_five_nodes_survive_two_failures_not_three(tmp_path):
    c = Cluster(tmp_path, 5)
    try:
        c.start_all()
        ld = c.leader()
        others = [n for n in c.ids if n != ld]
        c.kill(others[0])
        c.kill(others[1])
        assert c.request(ld, {"op": "put", "key": "x", "value": 1})["ok"]
        c.kill(others[2])
        r = c.request(ld, {"op": "put", "key": "x", "value": 2}, timeout=10)
        assert r is not None and r["ok"] is False and r["definite"] is False, r
    finally:
        c.close()


def test_torn_wal_tail_is_truncated_and_the_node_recovers(cluster3):
    c = cluster3
    ld = c.leader()
    c.write("t", 1)
    victim = next(n for n in c.ids if n != ld)
    wait_for(lambda: c.status(victim)["applied"] >= 2, 5, "replication")
    c.kill(victim)
    torn = encode_record({"e": [[99, 99, None]]})[:25]
    with open(c.data(victim) / WAL_FILE, "ab") as f:
        f.write(torn)
    c.start(victim)
    rec = [e for e in c.events(victim) if e["kind"] == "wal_recovered"][-1]
    assert rec["detail"]["truncated_bytes"] == 25
    assert c.request(ld, {"op": "put", "key": "t", "value": 2})["ok"]
    wait_for(lambda: c.status(victim)["applied"] >= 3, 5, "victim follows again")


def test_corrupt_wal_record_is_refused_naming_file_and_offset(cluster3):
    c = cluster3
    ld = c.leader()
    for i in range(5):
        c.write("c", i)
    victim = next(n for n in c.ids if n != ld)
    wait_for(lambda: c.status(victim)["applied"] >= 6, 5, "replication")
    assert c.stop(victim) == 0
    path = c.data(victim) / WAL_FILE
    data = bytearray(path.read_bytes())
    data[HEADER + 2] ^= 0x40  # inside the first record's payload; more records follow
    path.write_bytes(bytes(data))
    r = run_node(c.argv(victim)[3:])
    assert r.returncode == 254
    line = r.stderr.strip()
    assert "\n" not in line and f"WAL corrupt: {path} at offset 0: checksum mismatch" in line


def _with_data(argv: list[str], path) -> list[str]:
    i = argv.index("--data")
    return [*argv[:i + 1], str(path), *argv[i + 2:]]


def test_startup_errors_exit_254_with_one_line(tmp_path):
    c = Cluster(tmp_path, 3)
    argv = c.argv("n1")[3:]
    r = run_node(argv + ["--heartbeat-ms", "nope"])
    assert r.returncode == 254 and "--heartbeat-ms" in r.stderr and r.stderr.count("\n") == 1
    r = run_node([a.replace("n1=", "n9=") for a in argv])
    assert r.returncode == 254 and "--id 'n1' is not among --peers" in r.stderr
    try:
        c.start("n1")
        r = run_node(_with_data(argv, tmp_path / "fresh"))
        assert r.returncode == 254 and "cannot listen" in r.stderr, r.stderr
        assert c.stop("n1") == 0
        other = Cluster(tmp_path / "other", 3, first_ip=21)
        r = run_node(_with_data(other.argv("n1")[3:], c.data("n1")))
        assert r.returncode == 254 and "belongs to cluster" in r.stderr, r.stderr
        assert r.stderr.count("\n") == 1
    finally:
        c.close()


def test_sigterm_is_a_clean_shutdown(cluster3):
    c = cluster3
    ld = c.leader()
    c.write("s", 1)
    assert c.stop(ld) == 0
    assert c.events(ld)[-1]["kind"] == "stopped"
