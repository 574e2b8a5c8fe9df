"""Backup verification names each damaged chunk, segment or manifest (and raises no false
alarm on an intact repository); a restore never uses damaged data; concurrent backups
either succeed, each a consistent restorable cut, or are refused with backup_busy."""

import json
import signal
import threading

import pytest

from backup_helpers import ARGS, Writer, Writes, mine, repo_of, restore, restored_state, run_tool
from emulator_cluster import Cluster, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def one(tmp_path):
    c = Cluster(tmp_path / "c", 1, args=ARGS + ("--backup-max-concurrent", "2"))
    try:
        c.start_all()
        c.leader()
        yield c
    finally:
        c.close()


def _flip(path, offset):
    before = path.read_bytes()
    data = bytearray(before)
    data[offset] ^= 0x40
    path.write_bytes(bytes(data))
    assert path.read_bytes() != before  # a flip that changes nothing is no corruption


def test_verify_names_a_flipped_chunk_a_tampered_manifest_and_a_bad_segment(one, tmp_path):
    c, w = one, Writes()
    for i in range(40):
        w.put(c, "n1", f"k{i}", "v" * 20)
    full = c.request("n1", {"op": "backup", "kind": "full", "chunk_size": 100})
    w.put(c, "n1", "k1", "x")
    inc = c.request("n1", {"op": "backup", "kind": "incremental"})
    assert c.request("n1", {"op": "archive_flush"})["ok"]
    repo = repo_of(c, "n1")
    clean = c.request("n1", {"op": "verify"})
    assert (clean["valid"], clean["bad"], clean["backups"]) == (True, [], 2)
    assert clean["bytes"] >= full["bytes"] + inc["bytes"]

    _flip(repo / "backups" / full["backup"] / "chunk-000002", 17)
    mpath = repo / "backups" / inc["backup"] / "manifest.json"
    m = json.loads(mpath.read_bytes())
    m["end_lsn"] += 1  # a tampered manifest keeps its old checksum
    mpath.write_text(json.dumps(m))
    seg = sorted((repo / "archive").glob("*.seg"))[0]
    seg.write_bytes(seg.read_bytes()[:-3])  # truncated

    r = c.request("n1", {"op": "verify"})
    assert r["valid"] is False
    got = sorted((b.get("backup") or b.get("segment"), b["chunk"], b["reason"].split(":")[0])
                 for b in r["bad"])
    assert got == sorted([(full["backup"], "chunk-000002", "blake3 mismatch"),
                          (inc["backup"], "manifest.json", "manifest checksum mismatch (tampered "
                           "or torn manifest)"),
                          (seg.stem, seg.name, "size")])
    one_only = c.request("n1", {"op": "verify", "backup": full["backup"]})
    assert [(b["backup"], b["chunk"]) for b in one_only["bad"]] == \
        [(full["backup"], "chunk-000002")]
    code, out, _ = run_tool("verify", "--repo", str(repo))
    assert code == 1 and out["bad"] == r["bad"]

    # restore refuses damaged data: the only base is the damaged full backup
    code, out, err = restore(repo, tmp_path / "r", "--backup", full["backup"])
    assert (code, out["error"], out["definite"]) == (1, "backup_corrupt", True), (out, err)
    assert "chunk-000002" in out["message"] and not (tmp_path / "r").exists()
    # the tampered manifest is no backup at all
    assert [b["id"] for b in c.request("n1", {"op": "list"})["backups"]] == [full["backup"]]


def test_restore_falls_back_to_an_intact_base_and_says_so(one, tmp_path):
    c, w = one, Writes()
    for i in range(10):
        w.put(c, "n1", f"k{i}", i)
    old = c.request("n1", {"op": "backup", "kind": "full"})
    w.put(c, "n1", "k1", "new")
    new = c.request("n1", {"op": "backup", "kind": "full"})
    last = c.request("n1", {"op": "archive_flush"})["archived_lsn"]
    _flip(repo_of(c, "n1") / "backups" / new["backup"] / "chunk-000000", 3)
    code, out, err = restore(repo_of(c, "n1"), tmp_path / "r", "--to-lsn", str(last))
    assert code == 0, err
    assert out["base"] == old["backup"] and [s["base"] for s in out["skipped"]] == [new["backup"]]
    assert restored_state(tmp_path / "r") == (last, w.at(last))


def test_concurrent_backups_all_succeed_or_are_refused_busy(one, tmp_path):
    """Eight backups at once on a node allowing two, while writes continue: each either
    succeeded and restores to exactly the acknowledged state at its end_lsn, or was refused
    with a definite backup_busy; refused ones leave nothing in the repository."""
    c, w = one, Writes()
    assert c.request("n1", {"op": "load", "bytes": 40 << 20, "value_size": 4096},
                     timeout=60)["ok"]
    writer = Writer(c, "n1", w)
    writer.start()
    replies = [None] * 8

    def one_backup(i):
        replies[i] = c.request("n1", {"op": "backup", "kind": "full"}, timeout=60)

    threads = [threading.Thread(target=one_backup, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    writer.stop.set()
    writer.join()
    ok = [r for r in replies if r["ok"]]
    busy = [r for r in replies if not r["ok"]]
    assert ok and busy, replies
    assert all((r["error"], r["definite"]) == ("backup_busy", True) for r in busy), busy
    assert len({r["backup"] for r in ok}) == len(ok) and len({r["end_lsn"] for r in ok}) >= 1
    assert writer.count > 0
    listed = c.request("n1", {"op": "list"})
    assert sorted(b["id"] for b in listed["backups"]) == sorted(r["backup"] for r in ok)
    assert sorted(p.name for p in (repo_of(c, "n1") / "backups").iterdir()) == \
        sorted(r["backup"] for r in ok)
    assert c.request("n1", {"op": "verify"})["valid"]
    for r in ok:
        code, out, err = restore(repo_of(c, "n1"), tmp_path / r["backup"], "--backup", r["backup"])
        assert code == 0, err
        lsn, state = restored_state(tmp_path / r["backup"])
        assert lsn == r["end_lsn"] and mine(state) == w.at(lsn)
        assert out["digest"] == r["digest"] and len(state) - len(mine(state)) == 10240


def test_a_backup_killed_midway_is_never_listed(tmp_path):
    c = Cluster(tmp_path / "c", 1, args=ARGS)
    try:
        c.start_all()
        c.leader()
        assert c.request("n1", {"op": "load", "bytes": 60 << 20}, timeout=60)["ok"]
        done = c.request("n1", {"op": "backup", "kind": "full"}, timeout=60)
        t = threading.Thread(target=c.request, args=("n1", {"op": "backup", "kind": "full",
                                                             "chunk_size": 65536}, 60))
        t.start()
        backups = repo_of(c, "n1") / "backups"
        wait_for(lambda: len(list(backups.iterdir())) > 1, 20, "the second backup to start")
        c.signal("n1", signal.SIGKILL)
        c.procs["n1"].wait(10)
        t.join()
        partial = [p.name for p in backups.iterdir() if p.name != done["backup"]]
        assert partial and not (backups / partial[0] / "manifest.json").exists()
        c.start("n1")
        assert [p.name for p in backups.iterdir()] == [done["backup"]]
        listed = c.request("n1", {"op": "list"})["backups"]
        assert [b["id"] for b in listed] == [done["backup"]]
    finally:
        c.close()
