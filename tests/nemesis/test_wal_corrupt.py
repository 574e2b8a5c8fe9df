"""The wal-bitflip script (nemesis/_wal.py) on a real WAL written by the emulator's Wal:
it damages a committed record with records after it, in a way only the checksum catches,
and the node's recovery refuses it at the reported offset (layer: tests; the script runs
as its own python3 process, as it does on a node)."""

import json
import subprocess
import sys

import pytest

from emulator.errors import WalCorrupt
from emulator.raft._types import Entry, HardState
from emulator.wal import FILE, Wal
from nemesis._wal import SCRIPT


def _command(i: int) -> bytes:
    """Commands as the register and set workloads write them: small integer values."""
    return json.dumps({"rid": f"n1-ab12cd34-{i}", "op": "put" if i % 2 else "append",
                       "key": f"k{i % 4}", "value": i % 50, "ts": 1700000000.0 + i / 1000},
                      separators=(",", ":")).encode()


def _wal(d, batches=12, commit_lag=2):
    w = Wal(str(d))
    for b in range(batches):
        first = 3 * b + 1
        w.append([Entry(1, i, _command(i)) for i in range(first, first + 3)],
                 HardState(1, "n1", max(0, first + 2 - commit_lag)))
    w.close()
    return d / FILE


def _flip(path, seed):
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(path), str(seed)],
                          capture_output=True, text=True, timeout=60)
    return proc


@pytest.mark.parametrize("seed", [1, 2, 3, 7])
def test_flip_is_mid_file_committed_and_refused_at_its_offset(tmp_path, seed):
    path = _wal(tmp_path)
    before = path.read_bytes()
    intact = {e.index: e.data for e in Wal(str(tmp_path)).entries}
    proc = _flip(path, seed)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    after = path.read_bytes()
    diff = [i for i, (a, b) in enumerate(zip(before, after)) if a != b]
    assert diff == [out["byte_offset"]] and len(before) == len(after)
    assert out["records_after"] >= 1 and out["entries"][1] <= out["commit"]
    assert out["parses"] is True and out["changed"]["field"] == "value"
    with pytest.raises(WalCorrupt) as err:
        Wal(str(tmp_path))
    assert (err.value.path, err.value.offset) == (str(path), out["offset"])
    # What a node that skips the checksum would replay: the changed command, as data.
    served = {e.index: e.data for e in Wal(str(tmp_path), verify=False).entries}
    idx = out["changed"]["index"]
    assert served[idx] != intact[idx]
    assert str(json.loads(served[idx])["value"]) == out["changed"]["after"]
    assert json.loads(served[idx])["value"] != json.loads(intact[idx])["value"]
    assert {i for i in served if served[i] != intact[i]} == {idx}


def test_refuses_a_wal_without_a_committed_record_before_the_last(tmp_path):
    path = _wal(tmp_path, batches=3, commit_lag=100)       # nothing committed
    before = path.read_bytes()
    proc = _flip(path, 1)
    assert proc.returncode != 0 and "no committed record with records after it" in proc.stderr
    assert path.read_bytes() == before


def test_a_single_record_is_never_chosen(tmp_path):
    path = _wal(tmp_path, batches=1, commit_lag=0)         # committed, but nothing after it
    proc = _flip(path, 1)
    assert proc.returncode != 0 and "no committed record with records after it" in proc.stderr


@pytest.mark.parametrize("seed", range(6))
def test_never_picks_an_entry_a_later_record_replaced(tmp_path, seed):
    w = Wal(str(tmp_path))
    for i in range(1, 11):                                   # term 1: entries 1..10
        w.append([Entry(1, i, _command(i))], HardState(1, "n1", 3))
    w.append([Entry(2, 5, _command(50)), Entry(2, 6, _command(60))], HardState(2, "n2", 6))
    w.append([Entry(2, 7, _command(70))], HardState(2, "n2", 6))
    w.close()
    out = json.loads(_flip(tmp_path / FILE, seed).stdout)
    assert out["entries"][1] < 5 or out["entries"] == [5, 6], out   # 5..10 of term 1: replaced
