"""harness/wal_verify.py: the harness's own WAL reading on files the emulator's Wal wrote
(layer: tests): intact, a flipped payload bit mid-file, a flipped header, a torn tail."""

from emulator.raft._types import Entry, HardState
from emulator.wal import FILE, HEADER, Wal
from harness.wal_verify import judge_wal


def _wal(d, n=6):
    w = Wal(str(d))
    for i in range(1, n + 1):
        w.append([Entry(1, i, f"value {i}".encode())], HardState(1, "n1", i - 1))
    w.close()
    data = (d / FILE).read_bytes()
    return data, len(data) // n


def _flip(data, at, mask=0x01):
    return data[:at] + bytes([data[at] ^ mask]) + data[at + 1:]


def test_an_intact_wal_has_no_finding(tmp_path):
    data, _ = _wal(tmp_path)
    assert judge_wal(data) == {"bytes": len(data), "records": 6, "bad": [],
                               "torn_tail_bytes": 0}


def test_every_mid_file_checksum_mismatch_is_named_at_its_record(tmp_path):
    data, rec = _wal(tmp_path)
    data = _flip(_flip(data, rec + HEADER + 3), 3 * rec + HEADER + 5)
    out = judge_wal(data)
    assert out["bad"] == [{"offset": rec, "reason": "checksum mismatch"},
                          {"offset": 3 * rec, "reason": "checksum mismatch"}]
    assert out["records"] == 6


def test_a_bad_header_stops_the_scan_and_a_torn_tail_is_no_finding(tmp_path):
    data, rec = _wal(tmp_path)
    assert judge_wal(_flip(data, 2 * rec + 3, 0x40))["bad"] == [
        {"offset": 2 * rec, "reason": "bad record header"}]
    torn = judge_wal(data[:-5])
    assert torn["bad"] == [] and torn["torn_tail_bytes"] == rec - 5
    last = judge_wal(_flip(data, len(data) - 2))          # a bad last record: torn, too
    assert last["bad"] == [] and last["records"] == 5
