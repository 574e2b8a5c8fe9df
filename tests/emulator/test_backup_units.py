"""Pure pieces of backups: the state machine's incremental dump equals the JSON encoding
of the map (the status digest and the full-backup content depend on it), manifests
detect tampering, chunks cut and hash content, restore's chain and archive planning."""

import json

from hypothesis import given, settings
from hypothesis import strategies as st

import os
import threading

import pytest

from emulator import repo as R
from emulator.backup import _ahead
from emulator.restore import archive_runs, chains, reach
from emulator.statemachine import DIGEST_PIECE, KV, StateDigest, dump_pieces, state_digest

values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
                      | st.text(max_size=8),
                      lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=6)
keys = st.integers(-5, 5) | st.text(max_size=4)
ops = st.lists(st.tuples(st.sampled_from(["put", "append", "cas", "load"]), keys, values),
               max_size=40)


@settings(max_examples=200, deadline=None)
@given(ops)
def test_dump_is_the_sorted_json_of_the_map_after_any_writes(script):
    kv = KV()
    for op, key, value in script:
        cmd = {"put": {"op": "put", "key": key, "value": value},
               "append": {"op": "append", "key": key, "value": value},
               "cas": {"op": "cas", "key": key, "from": kv.get(key), "to": value},
               "load": {"op": "load", "prefix": str(key), "start": 0, "count": 2,
                        "value_size": 3}}[op]
        try:
            kv.apply(cmd)
        except Exception as e:  # wrong_type only
            assert getattr(e, "code", None) == "wrong_type"
    assert kv.dump() == json.dumps(kv.data, separators=(",", ":"), sort_keys=True).encode()
    copy = KV()
    copy.load(kv.dump())
    assert (copy.items, copy.digest()) == (kv.items, kv.digest())


def test_manifest_checksum_detects_any_changed_field():
    m = R.sealed({"id": "n1-000001-full", "end_lsn": 9, "chunks": [{"name": "c", "size": 1}]})
    assert R.checksum_ok(m)
    for field, value in (("end_lsn", 10), ("chunks", []), ("extra", 1)):
        assert not R.checksum_ok({**m, field: value})
    assert not R.checksum_ok({k: v for k, v in m.items() if k != "checksum"})
    assert R.sealed({**m, "end_lsn": 10})["checksum"] != m["checksum"]


def test_chunks_cut_content_and_hash_each_piece(tmp_path):
    chunks = R.write_chunks(str(tmp_path), b"abcdefghij", 4)
    assert [(c["name"], c["size"]) for c in chunks] == [
        ("chunk-000000", 4), ("chunk-000001", 4), ("chunk-000002", 2)]
    assert b"".join((tmp_path / c["name"]).read_bytes() for c in chunks) == b"abcdefghij"
    assert R.check_file(str(tmp_path / "chunk-000001"), 4, chunks[1]["blake3"]) is None
    assert R.check_file(str(tmp_path / "chunk-000001"), 4, chunks[0]["blake3"]).startswith(
        "blake3 mismatch")
    (tmp_path / "empty").mkdir()
    assert R.write_chunks(str(tmp_path / "empty"), b"", 4) == [
        {"name": "chunk-000000", "size": 0, "blake3": R.blake3(b"").hexdigest()}]


@given(ops, st.integers(1, 64))
@settings(max_examples=50, deadline=None)
def test_dump_pieces_in_blocks_are_the_dump(seq, block):
    kv = KV()
    for op, key, value in seq:
        if op == "put":
            kv.apply({"op": "put", "key": key, "value": value})
    assert b"".join(dump_pieces(kv.items, block)) == kv.dump()


@pytest.mark.parametrize("chunk", [DIGEST_PIECE, 1 << 20, 3 << 20, 5 << 20])
def test_chunks_written_give_the_state_digest_of_their_content(tmp_path, chunk):
    """Whatever the chunk size (pieces of the digest when 4 MiB, not otherwise), the digest
    fed while writing is the content's; the files hold the content and hash as listed."""
    content = os.urandom(2 * DIGEST_PIECE + 12345)
    pieces = [content[:7], content[7:DIGEST_PIECE + 5], content[DIGEST_PIECE + 5:]]
    digest = StateDigest()
    chunks = R.write_pieces(str(tmp_path), pieces, chunk, digest)
    assert digest.hexdigest() == state_digest(content)
    assert b"".join((tmp_path / c["name"]).read_bytes() for c in chunks) == content
    assert all(R.check_file(str(tmp_path / c["name"]), c["size"], c["blake3"]) is None
               for c in chunks)
    assert [c["name"] for c in chunks] == [f"chunk-{i:06d}" for i in range(len(chunks))]


def test_dump_made_ahead_in_order_stops_when_left_and_passes_errors():
    assert list(_ahead(iter(range(100)), depth=3)) == list(range(100))
    before = threading.active_count()
    gen = _ahead(iter(range(10 ** 9)), depth=2)
    assert next(gen) == 0
    gen.close()                                      # the consumer leaves early
    assert threading.active_count() == before

    def failing():
        yield b"{"
        raise ValueError("boom")
    with pytest.raises(ValueError, match="boom"):
        list(_ahead(failing()))


def _m(bid, kind, parent, start, end):
    return {"id": bid, "kind": kind, "parent": parent, "start_lsn": start, "end_lsn": end}


def test_chains_follow_contiguous_parents_to_a_full_backup():
    ms = {m["id"]: m for m in (
        _m("f", "full", None, 1, 10), _m("i1", "incremental", "f", 11, 20),
        _m("i2", "incremental", "i1", 21, 30), _m("gap", "incremental", "i1", 22, 30),
        _m("orphan", "incremental", "missing", 31, 40))}
    got = {k: [m["id"] for m in v] for k, v in chains(ms).items()}
    assert got == {"f": ["f"], "i1": ["f", "i1"], "i2": ["f", "i1", "i2"]}


def test_archive_reach_stops_at_a_gap():
    segs = [{"first_lsn": a, "last_lsn": b} for a, b in ((1, 5), (6, 9), (12, 20))]
    runs = archive_runs(segs)
    assert [[(s["first_lsn"], s["last_lsn"]) for s in r] for r in runs] == [
        [(1, 5), (6, 9)], [(12, 20)]]
    assert reach(3, runs)[0] == 9 and reach(9, runs) == (9, [])
    assert reach(11, runs)[0] == 20 and reach(10, runs) == (10, [])


def test_load_of_a_non_compact_json_object_falls_back_to_parsing_and_re_encoding():
    kv = KV()
    kv.load(b'{"\\"b\\"": [1, 2], "\\"a\\"": {"y": 1, "x": 2}}')
    assert kv.get("a") == {"y": 1, "x": 2} and kv.get("b") == [1, 2]
    assert kv.dump() == b'{"\\"a\\"":{"x":2,"y":1},"\\"b\\"":[1,2]}'
