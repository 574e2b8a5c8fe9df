"""Backups, WAL archive and restore on real emulator processes: a full + incremental chain
restores to exactly the acknowledged state at each backup's end LSN; point-in-time
recovery is exact to the record (LSN inclusive / exclusive, time); targets outside the
repository's range are refused definitely; a restored data directory serves reads."""

import json
import signal
import time

import pytest

from backup_helpers import ARGS, Writes, archived_records, repo_of, restore, restored_state
from emulator import repo as R
from emulator_cluster import Cluster, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def one(tmp_path):
    c = Cluster(tmp_path / "c", 1, args=ARGS)
    try:
        c.start_all()
        c.leader()
        yield c
    finally:
        c.close()


def _flush(c, nid="n1") -> int:
    r = c.request(nid, {"op": "archive_flush"})
    assert r["ok"] and r["archived_lsn"] == r["applied"], r
    return r["archived_lsn"]


def test_full_and_incremental_chain_restores_each_end_exactly(one, tmp_path):
    c, w, ids = one, Writes(), []
    for round_ in range(3):
        for i in range(15):
            w.put(c, "n1", f"k{i % 7}", [round_, i])
        r = c.request("n1", {"op": "backup", "kind": "full" if round_ == 0 else "incremental",
                             "chunk_size": 64})
        assert r["ok"], r
        ids.append(r)
    full, inc1, inc2 = ids
    assert (full["kind"], full["parent"], full["start_lsn"]) == ("full", None, 1)
    assert inc1["parent"] == full["backup"] and inc1["start_lsn"] == full["end_lsn"] + 1
    assert inc2["parent"] == inc1["backup"] and inc2["start_lsn"] == inc1["end_lsn"] + 1
    assert inc2["records"] == inc2["end_lsn"] - inc2["start_lsn"] + 1 == 15
    for b in ids:  # manifests on disk: own checksum right, chunks as the reply says
        m = json.loads((repo_of(c, "n1") / "backups" / b["backup"] / "manifest.json").read_bytes())
        assert R.checksum_ok(m) and len(m["chunks"]) == b["chunks"] > 1
        assert sum(ch["size"] for ch in m["chunks"]) == m["bytes"] == b["bytes"]
        code, out, err = restore(repo_of(c, "n1"), tmp_path / b["backup"], "--backup", b["backup"])
        assert code == 0, (out, err)
        lsn, state = restored_state(tmp_path / b["backup"])
        assert lsn == out["restored_lsn"] == b["end_lsn"]
        assert state == w.at(b["end_lsn"]) and state != w.at(b["end_lsn"] - 1)
        assert out["chain"] == [x["backup"] for x in ids[:ids.index(b) + 1]]
    assert full["digest"] == _digest_of(tmp_path / full["backup"])
    st = c.status("n1")
    code, out, _ = restore(repo_of(c, "n1"), tmp_path / "latest", "--latest")
    assert code == 0 and out["restored_lsn"] == _flush(c) == st["applied"]
    assert out["digest"] == c.status("n1")["digest"]


def _digest_of(data):
    from emulator.statemachine import KV
    kv = KV()
    kv.load(json.dumps(restored_state(data)[1]).encode())
    return kv.digest()


def test_multi_piece_state_digest_agrees_in_status_backups_and_restore(one, tmp_path):
    """A 9 MiB state spans three 4 MiB digest pieces: the status digest, the manifest's
    digest of a full backup in 4 MiB chunks (taken from the chunk hashes) and in 1 MiB
    chunks (pieces hashed apart), and the restore's digest are one value."""
    c = one
    assert c.request("n1", {"op": "load", "bytes": 9 << 20, "value_size": 4096},
                     timeout=120)["ok"]
    assert c.request("n1", {"op": "put", "key": "k", "value": 1})["ok"]
    status = c.status("n1")["digest"]
    fours = c.request("n1", {"op": "backup", "kind": "full"}, timeout=120)
    ones = c.request("n1", {"op": "backup", "kind": "full", "chunk_size": 1 << 20}, timeout=120)
    assert fours["ok"] and ones["ok"] and fours["chunks"] == 3 and ones["chunks"] == 10
    assert fours["bytes"] > 9 << 20 and fours["digest"] == ones["digest"] == status
    code, out, err = restore(repo_of(c, "n1"), tmp_path / "r", "--backup", ones["backup"])
    assert code == 0 and out["digest"] == status, err
    assert _digest_of(tmp_path / "r") == status


def test_restored_directory_serves_reads_on_a_fresh_single_node(one, tmp_path):
    c, w = one, Writes()
    for i in range(10):
        w.put(c, "n1", f"k{i}", i)
    assert c.request("n1", {"op": "backup", "kind": "full"})["ok"]
    code, out, err = restore(repo_of(c, "n1"), tmp_path / "r", "--latest")
    assert code == 0, err
    r = Cluster(tmp_path / "rc", 1, args=ARGS)
    r.base.mkdir(parents=True, exist_ok=True)
    (tmp_path / "r").rename(r.data("n1"))
    try:
        r.start_all()
        r.leader()
        for i in range(10):
            got = r.request("n1", {"op": "get", "key": f"k{i}"})
            assert got["ok"] and got["value"] == i, got
        st = r.status("n1")
        assert st["digest"] == out["digest"] and st["snapshot_index"] == out["restored_lsn"]
        assert r.request("n1", {"op": "put", "key": "after", "value": 1})["ok"]
    finally:
        r.close()


def test_pitr_lsn_inclusive_exclusive_and_time_are_exact(one, tmp_path):
    c, w = one, Writes()
    w.put(c, "n1", "k0", "base")
    assert c.request("n1", {"op": "backup", "kind": "full"})["ok"]
    marks = []  # (client wall clock after the ack, lsn)
    for i in range(1, 21):
        r = w.put(c, "n1", f"k{i % 4}", i)
        marks.append((time.time(), r["lsn"]))
        time.sleep(0.003)
    _flush(c)
    recs = {r["lsn"]: r for r in archived_records(repo_of(c, "n1"))}
    stamps = [recs[n]["ts"] for n in sorted(recs) if recs[n]["ts"] is not None]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    for k, (acked_at, lsn) in enumerate(marks[2::6]):
        cases = {"incl": (["--to-lsn", str(lsn)], lsn),
                 "excl": (["--to-lsn", str(lsn), "--exclusive"], lsn - 1),
                 "ts": (["--to-time", repr(recs[lsn]["ts"])], lsn),
                 "ts-": (["--to-time", repr(recs[lsn]["ts"] - 1e-6)], lsn - 1),
                 "acked": (["--to-time", repr(acked_at)], lsn)}  # acked before T: present
        for name, (argv, want) in cases.items():
            code, out, err = restore(repo_of(c, "n1"), tmp_path / f"{k}{name}", *argv)
            assert code == 0, (name, out, err)
            got_lsn, state = restored_state(tmp_path / f"{k}{name}")
            assert (name, got_lsn, state) == (name, want, w.at(want))


def test_targets_outside_the_range_are_refused_definitely(one, tmp_path):
    c, w = one, Writes()
    for i in range(5):
        w.put(c, "n1", f"k{i}", i)
    full = c.request("n1", {"op": "backup", "kind": "full"})
    w.put(c, "n1", "k9", 9)
    last = _flush(c)
    recs = archived_records(repo_of(c, "n1"))
    for argv in (["--to-lsn", str(last + 1)], ["--to-lsn", str(full["end_lsn"] - 1)],
                 ["--to-lsn", str(full["end_lsn"]), "--exclusive"],
                 ["--to-time", repr(recs[-1]["ts"] + 0.001)],
                 ["--to-time", repr(full["end_ts"] - 0.001)]):
        code, out, err = restore(repo_of(c, "n1"), tmp_path / "r", *argv)
        assert (code, out["ok"], out["error"], out["definite"]) == (
            1, False, "target_out_of_range", True), (argv, out, err)
        assert out["restorable"]["lsn"] == [full["end_lsn"], last]
        assert not (tmp_path / "r").exists()
    for argv in (["--to-lsn", str(last)], ["--to-lsn", str(full["end_lsn"])]):
        code, out, _ = restore(repo_of(c, "n1"), tmp_path / f"ok{argv[1]}", *argv)
        assert code == 0 and out["restored_lsn"] == int(argv[1])
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "f").write_text("x")
    for repo, data, argv, named in (
            (repo_of(c, "n1"), tmp_path / "x", ["--to-lsn", "-3"], "--to-lsn"),
            (repo_of(c, "n1"), tmp_path / "x", [], "no target"),
            (repo_of(c, "n1"), tmp_path / "full", ["--latest"], "not empty"),
            (tmp_path / "nope", tmp_path / "x", ["--latest"], "--repo")):
        code, out, err = restore(repo, data, *argv)
        assert code == 254 and out is None and named in err and len(err.splitlines()) == 1


def test_archive_stays_contiguous_across_compaction_and_kill9(tmp_path):
    """--snapshot-every 7 compacts the WAL often; a kill -9 loses the unsealed archive
    tail, which the WAL still holds and the restarted node archives again."""
    c = Cluster(tmp_path / "c", 1, args=ARGS + ("--snapshot-every", "7",
                                                 "--archive-interval-ms", "100000"))
    try:
        c.start_all()
        c.leader()
        w = Writes()
        w.put(c, "n1", "k0", 0)
        assert c.request("n1", {"op": "backup", "kind": "full"})["ok"]
        for i in range(40):
            w.put(c, "n1", f"k{i % 5}", i)
        c.signal("n1", signal.SIGKILL)
        c.procs["n1"].wait(10)
        c.start("n1")
        c.leader()
        for i in range(40, 45):
            w.put(c, "n1", f"k{i % 5}", i)
        last = _flush(c)
        lst = c.request("n1", {"op": "list"})["archive"]
        assert (lst["first_lsn"], lst["last_lsn"], lst["gaps"]) == (1, last, [])
        code, out, err = restore(repo_of(c, "n1"), tmp_path / "r", "--latest")
        assert code == 0, err
        assert restored_state(tmp_path / "r") == (last, w.at(last))
    finally:
        c.close()


def test_follower_backups_while_the_leader_takes_writes(tmp_path):
    c = Cluster(tmp_path / "c", 3, args=ARGS)
    try:
        c.start_all()
        ld = c.leader()
        f = next(n for n in c.ids if n != ld)
        w = Writes()
        for i in range(20):
            w.put(c, ld, f"k{i % 6}", i)
        wait_for(lambda: c.status(f)["applied"] >= c.status(ld)["applied"], 5, "catch up")
        full = c.request(f, {"op": "backup", "kind": "full"})
        for i in range(20, 30):
            w.put(c, ld, f"k{i % 6}", i)
        wait_for(lambda: c.status(f)["applied"] >= c.status(ld)["applied"], 5, "catch up")
        inc = c.request(f, {"op": "backup", "kind": "incremental", "parent": full["backup"]})
        assert full["ok"] and inc["ok"] and full["node"] == f and inc["start_lsn"] == \
            full["end_lsn"] + 1
        for b in (full, inc):
            code, out, err = restore(repo_of(c, f), tmp_path / b["backup"], "--backup", b["backup"])
            assert code == 0, err
            assert restored_state(tmp_path / b["backup"]) == (b["end_lsn"], w.at(b["end_lsn"]))
        for n in c.ids:
            _flush(c, n)
        by_node = {n: {r["lsn"]: r for r in archived_records(repo_of(c, n))} for n in c.ids}
        common = set.intersection(*(set(v) for v in by_node.values()))
        assert len(common) >= 30
        for lsn in common:  # every replica archives the same record with the same ts
            assert len({json.dumps(by_node[n][lsn], sort_keys=True) for n in c.ids}) == 1
    finally:
        c.close()


def test_backup_request_errors_are_definite(one):
    c = one
    for req, code in (({"op": "backup", "kind": "weekly"}, "bad_request"),
                      ({"op": "backup", "kind": "full", "chunk_size": 0}, "bad_request"),
                      ({"op": "backup", "kind": "incremental"}, "backup_not_found"),
                      ({"op": "verify", "backup": "nope"}, "backup_not_found"),
                      ({"op": "load", "bytes": -1}, "bad_request")):
        r = c.request("n1", req)
        assert (r["ok"], r["error"], r["definite"]) == (False, code, True), (req, r)
    full = c.request("n1", {"op": "backup", "kind": "full"})
    r = c.request("n1", {"op": "backup", "kind": "incremental", "parent": full["backup"]})
    assert (r["error"], r["definite"]) == ("backup_empty", True), r
    r = c.request("n1", {"op": "backup", "kind": "incremental", "parent": "n1-000099-full"})
    assert r["error"] == "backup_not_found", r
    assert [b["id"] for b in c.request("n1", {"op": "list"})["backups"]] == [full["backup"]]
