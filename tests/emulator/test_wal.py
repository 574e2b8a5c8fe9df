"""WAL and snapshot files: durability format, torn-tail repair, corruption refusal, compaction."""

import pytest

from emulator import snapshot as snapfile
from emulator.errors import StartupError, WalCorrupt
from emulator.raft._types import Entry, HardState, Snapshot
from emulator.wal import FILE, HEADER, Wal, encode_record


def _entries(first, last, term=1):
    return [Entry(term=term, index=i, data=f"v{i}".encode()) for i in range(first, last + 1)]


def _write_batches(d, n=5):
    w = Wal(str(d))
    for i in range(1, n + 1):
        w.append([Entry(term=1, index=i, data=f"v{i}".encode())], HardState(1, "n1", i - 1))
    w.close()
    return d / FILE


def test_round_trip_replays_entries_and_hard_state(tmp_path):
    w = Wal(str(tmp_path))
    w.append(_entries(1, 3), HardState(2, "n2", 1))
    w.append([Entry(term=2, index=4, data=None)], HardState(2, "n2", 3))
    w.close()
    r = Wal(str(tmp_path))
    assert r.entries == _entries(1, 3) + [Entry(2, 4, None)]
    assert r.hard_state == HardState(2, "n2", 3)
    assert (r.records, r.truncated_bytes) == (2, 0)


def test_conflicting_entry_replaces_it_and_all_after(tmp_path):
    w = Wal(str(tmp_path))
    w.append(_entries(1, 5), None)
    w.append([Entry(term=3, index=3, data=b"x")], None)
    w.close()
    assert Wal(str(tmp_path)).entries == _entries(1, 2) + [Entry(3, 3, b"x")]


@pytest.mark.parametrize("cut", [1, HEADER - 1, HEADER + 3])
def test_torn_tail_is_truncated(tmp_path, cut):
    path = _write_batches(tmp_path)
    size = path.stat().st_size
    with open(path, "ab") as f:  # a sixth batch, cut short by a crash mid-write
        f.write(encode_record({"e": [[1, 6, "djY="]], "hs": [1, "n1", 5]})[:cut])
    r = Wal(str(tmp_path))
    assert [e.index for e in r.entries] == [1, 2, 3, 4, 5]
    assert r.truncated_bytes == cut
    assert path.stat().st_size == size


def test_torn_last_record_with_bad_checksum_is_truncated(tmp_path):
    path = _write_batches(tmp_path)
    data = bytearray(path.read_bytes())
    data[-2] ^= 0xFF  # the last record's payload only half reached the disk
    path.write_bytes(bytes(data))
    r = Wal(str(tmp_path))
    assert [e.index for e in r.entries] == [1, 2, 3, 4]
    assert r.truncated_bytes > 0


def test_corrupt_middle_record_is_refused_with_file_and_offset(tmp_path):
    path = _write_batches(tmp_path)
    rec_len = path.stat().st_size // 5
    data = bytearray(path.read_bytes())
    data[rec_len + HEADER + 4] ^= 0x01  # one flipped bit in the second record's payload
    path.write_bytes(bytes(data))
    with pytest.raises(WalCorrupt) as e:
        Wal(str(tmp_path))
    assert (e.value.path, e.value.offset) == (str(path), rec_len)
    assert f"{path} at offset {rec_len}: checksum mismatch" in str(e.value)
    assert path.read_bytes() == bytes(data)  # never "repaired" by truncation


def test_planted_wal_skip_checksum_replays_a_flipped_record_that_still_parses(tmp_path):
    w = Wal(str(tmp_path))
    w.append([Entry(1, 1, b"v5")], HardState(1, "n1", 0))     # data base64 "djU="
    w.append([Entry(1, 2, b"v6")], HardState(1, "n1", 1))
    w.close()
    path = tmp_path / FILE
    data = path.read_bytes()
    at = data.index(b"djU=") + 2                              # "U" -> "E": b"v5" -> b"v1"
    path.write_bytes(data[:at] + bytes([data[at] ^ 0x10]) + data[at + 1:])
    with pytest.raises(WalCorrupt, match="at offset 0: checksum mismatch"):
        Wal(str(tmp_path))
    assert [e.data for e in Wal(str(tmp_path), verify=False).entries] == [b"v1", b"v6"]


@pytest.mark.parametrize("where", [0, 3])  # magic, length field
def test_corrupt_middle_record_header_is_refused_not_truncated(tmp_path, where):
    path = _write_batches(tmp_path)
    rec_len = path.stat().st_size // 5
    data = bytearray(path.read_bytes())
    data[2 * rec_len + where] ^= 0x40  # a length this large would look like a torn tail
    path.write_bytes(bytes(data))
    with pytest.raises(WalCorrupt, match=f"at offset {2 * rec_len}: bad record header"):
        Wal(str(tmp_path))


def test_compaction_keeps_only_entries_after_the_snapshot(tmp_path):
    w = Wal(str(tmp_path))
    w.append(_entries(1, 10), HardState(1, "n1", 8))
    w.compact(6)
    w.append(_entries(11, 12), HardState(1, "n1", 10))
    w.close()
    r = Wal(str(tmp_path))
    assert [e.index for e in r.entries] == [7, 8, 9, 10, 11, 12]
    assert r.hard_state == HardState(1, "n1", 10)


def test_snapshot_mark_restarts_the_log(tmp_path):
    w = Wal(str(tmp_path))
    w.append(_entries(1, 4), None)
    w.append(_entries(51, 52, term=3), HardState(3, None, 50), snapshot=Snapshot(50, 3, b"{}"))
    w.close()
    r = Wal(str(tmp_path))
    assert [e.index for e in r.entries] == [51, 52]
    assert r.snapshot_mark == (50, 3)


def test_entries_after_drops_a_log_that_disagrees_with_the_snapshot(tmp_path):
    w = Wal(str(tmp_path))
    w.append(_entries(1, 6, term=1), None)
    assert [e.index for e in w.entries_after(4, term=1)] == [5, 6]
    assert w.entries_after(4, term=2) == []


def test_no_fsync_bug_keeps_acked_records_in_memory_until_flush(tmp_path):
    w = Wal(str(tmp_path), buffered=True)
    w.append(_entries(1, 2), HardState(1, "n1", 0))
    assert (tmp_path / FILE).stat().st_size == 0  # "acknowledged", yet not in the file
    w.flush_buffer()
    assert Wal(str(tmp_path)).entries == _entries(1, 2)


def test_fsynced_wal_has_the_record_in_the_file_at_once(tmp_path):
    w = Wal(str(tmp_path))
    w.append(_entries(1, 2), HardState(1, "n1", 0))
    assert Wal(str(tmp_path)).entries == _entries(1, 2)


def test_snapshot_file_round_trip_and_corruption(tmp_path):
    snapfile.save(str(tmp_path), Snapshot(9, 2, b'{"a":1}'))
    assert snapfile.load(str(tmp_path)) == Snapshot(9, 2, b'{"a":1}')
    path = tmp_path / snapfile.FILE
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(StartupError, match="snapshot corrupt: .*snapshot.bin at offset 0"):
        snapfile.load(str(tmp_path))
