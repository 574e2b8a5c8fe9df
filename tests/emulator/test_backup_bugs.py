"""Each planted backup bug, exposed by the restore oracle (the state at an LSN implied by
acknowledged writes), paired with the same scenario on a correct node, which passes."""

import pytest

from backup_helpers import ARGS, Writer, Writes, mine, repo_of, restore, restored_state
from emulator_cluster import Cluster, wait_for

pytestmark = pytest.mark.slow


def _node(tmp_path, bug: str | None) -> Cluster:
    c = Cluster(tmp_path / "c", 1, args=ARGS, bugs=(bug,) if bug else ())
    c.start_all()
    c.leader()
    return c


def _restore_matches(c, tmp_path, w, name, *argv) -> tuple[bool, dict]:
    """Restore; True iff it succeeded with exactly the acknowledged state at its LSN."""
    code, out, err = restore(repo_of(c, "n1"), tmp_path / name, *argv)
    assert code in (0, 1), err
    if code:
        return False, out
    lsn, state = restored_state(tmp_path / name)
    return mine(state) == w.at(lsn), out


@pytest.mark.parametrize("bug", ["incr-drop-boundary", None], ids=["bug", "correct"])
def test_incr_drop_boundary_loses_the_first_record_of_an_incremental(tmp_path, bug):
    c = _node(tmp_path, bug)
    try:
        w = Writes()
        w.put(c, "n1", "k0", "old")
        full = c.request("n1", {"op": "backup", "kind": "full"})
        first = w.put(c, "n1", "k0", "boundary")  # the record at the incremental's start
        w.put(c, "n1", "k1", "later")
        inc = c.request("n1", {"op": "backup", "kind": "incremental"})
        assert inc["ok"] and inc["start_lsn"] == first["lsn"] == full["end_lsn"] + 1
        assert c.request("n1", {"op": "verify"})["valid"]  # hashes cannot see it
        exact, out = _restore_matches(c, tmp_path, w, "r", "--backup", inc["backup"])
        assert exact is (bug is None), out
        if bug:  # the restore itself notices the hole: refused, never a wrong state
            assert (out["error"], out["definite"]) == ("backup_corrupt", True)
            assert f"lacks record {first['lsn']}" in out["message"]
    finally:
        c.close()


@pytest.mark.parametrize("bug", ["pitr-off-by-one", None], ids=["bug", "correct"])
def test_pitr_off_by_one_applies_a_record_past_the_target(tmp_path, bug):
    c = _node(tmp_path, bug)
    try:
        w = Writes()
        w.put(c, "n1", "k0", 0)
        assert c.request("n1", {"op": "backup", "kind": "full"})["ok"]
        lsns = [w.put(c, "n1", "k1", i)["lsn"] for i in range(1, 6)]
        assert c.request("n1", {"op": "archive_flush"})["ok"]
        target = lsns[2]
        for argv in (["--to-lsn", str(target)], ["--to-lsn", str(lsns[3]), "--exclusive"]):
            exact, out = _restore_matches(c, tmp_path, w, "r" + argv[-1], *argv)
            assert out["restored_lsn"] == (target + 1 if bug else target), out
            assert exact is True  # self-consistent: only the target check catches it
            _, state = restored_state(tmp_path / ("r" + argv[-1]))
            assert (state == w.at(target)) is (bug is None)
    finally:
        c.close()


@pytest.mark.parametrize("bug", ["backup-torn-cut", None], ids=["bug", "correct"])
def test_backup_torn_cut_leaks_records_applied_during_the_copy(tmp_path, bug):
    """Writes keep coming while full backups of a 3000-key store run; a correct backup
    restores to exactly the acknowledged state at its end_lsn, a torn one holds values
    written after it (up to 3 tries, since the leak needs a write during the copy)."""
    c = _node(tmp_path, bug)
    try:
        # bulk keys "a/0".. sort before the written "k.." keys: the copy reaches those last
        assert c.request("n1", {"op": "load", "bytes": 3000 * 64, "value_size": 64,
                                "prefix": "a/"})["ok"]
        results, w = [], Writes()
        for attempt in range(3 if bug else 2):
            writer = Writer(c, "n1", w, n=50)
            writer.start()
            try:
                wait_for(lambda: writer.count >= 20, 10, "writes to flow")
                r = c.request("n1", {"op": "backup", "kind": "full"}, timeout=30)
                assert r["ok"], r
                during = writer.count
            finally:
                writer.stop.set()
                writer.join()
            assert writer.count > during or any(lsn > r["end_lsn"] for lsn, *_ in w.acked)
            lsn, state = restored_state(_restore_into(c, tmp_path, r["backup"]))
            results.append(mine(state) == w.at(lsn))
            if bug and not results[-1]:
                break
        assert (False in results) is (bug is not None), results
    finally:
        c.close()


def _restore_into(c, tmp_path, bid):
    code, out, err = restore(repo_of(c, "n1"), tmp_path / bid, "--backup", bid)
    assert code == 0, err
    return tmp_path / bid
