"""The harness's own backup verifier (harness/backup_verify.py) on repositories written by
the emulator's code, read through a real local Remote: intact ones pass, damaged ones are
named (chunk, manifest, segment), and what the content really holds is reported."""

import asyncio
import json
import os

import pytest
from blake3 import blake3

from emulator import repo as R
from emulator.archive import Archiver
from emulator.statemachine import DIGEST_PIECE, state_digest
from harness import backup_verify
from harness.backup_verify import verify_archive, verify_backup
from harness.control._local import LocalRemote


class Clock:
    def wall(self):
        return 1700000000.0


def full_backup(repo, bid="n1-000001-full", state=None, chunk=8):
    state = state or {'"k1"': 1, '"load/0"': "abc", '"s0"': [1, 2]}
    content = json.dumps(state, separators=(",", ":"), sort_keys=True).encode()
    d = os.path.join(repo, R.BACKUPS, bid)
    os.makedirs(d)
    chunks = R.write_chunks(d, content, chunk)
    m = R.sealed({"format": 1, "id": bid, "kind": "full", "parent": None, "node": "n1",
                  "start_lsn": 1, "end_lsn": 5, "term": 1, "end_ts": None, "created": 0.0,
                  "chunk_size": chunk, "bytes": len(content), "chunks": chunks,
                  "digest": state_digest(content)})
    R.write_atomic(os.path.join(d, R.MANIFEST), R.canonical(m))
    return bid


def incremental(repo, start, end, drop=(), bid="n1-000002-incr"):
    lines = b"".join(R.record_line(n, 1, 1.0 + n, {"op": "put", "key": "k", "value": n})
                     for n in range(start, end + 1) if n not in drop)
    d = os.path.join(repo, R.BACKUPS, bid)
    os.makedirs(d)
    chunks = R.write_chunks(d, lines, 64)
    m = R.sealed({"format": 1, "id": bid, "kind": "incremental", "parent": "n1-000001-full",
                  "node": "n1", "start_lsn": start, "end_lsn": end, "term": 1, "end_ts": None,
                  "created": 0.0, "chunk_size": 64, "bytes": len(lines), "chunks": chunks,
                  "records": end - start + 1})
    R.write_atomic(os.path.join(d, R.MANIFEST), R.canonical(m))
    return bid


def verify(repo, bid):
    async def go():
        return await verify_backup(await LocalRemote().connect(), str(repo), bid)
    return asyncio.run(go())


def test_intact_full_backup_reports_digest_and_workload_values(tmp_path):
    bid = full_backup(str(tmp_path))
    out = verify(tmp_path, bid)
    assert out["method"] == "node" and "fallback" not in out   # hashed by the harness's program
    assert out["bad"] == [] and out["manifest"]["end_lsn"] == 5
    assert out["manifest"]["chunks"] > 3          # streamed over several chunks
    assert out["digest"] == out["manifest"]["digest"]
    assert out["values"] == {"k1": 1, "s0": [1, 2]}    # the load prefix is left out
    assert out["bytes_hashed"] == sum(os.path.getsize(p) for p in (
        tmp_path / R.BACKUPS / bid).glob("chunk-*"))


def test_damaged_chunk_and_tampered_manifest_are_named(tmp_path):
    bid = full_backup(str(tmp_path))
    victim = tmp_path / R.BACKUPS / bid / "chunk-000001"
    data = bytearray(victim.read_bytes())
    data[0] ^= 1
    victim.write_bytes(bytes(data))
    out = verify(tmp_path, bid)
    assert [b["chunk"] for b in out["bad"]] == ["chunk-000001"]
    assert out["bad"][0]["reason"].startswith("blake3 mismatch")
    assert "digest" not in out                        # no digest of content known to be bad
    (tmp_path / R.BACKUPS / bid / "chunk-000002").unlink()
    assert any(b == {"chunk": "chunk-000002", "reason": "missing"} for b in verify(
        tmp_path, bid)["bad"])
    mpath = tmp_path / R.BACKUPS / bid / R.MANIFEST
    m = json.loads(mpath.read_text())
    m["end_lsn"] = 6                                  # checksum no longer matches
    mpath.write_text(json.dumps(m))
    out = verify(tmp_path, bid)
    assert out["manifest"] is None
    assert out["bad"] == [{"chunk": "manifest.json",
                           "reason": "manifest checksum mismatch (tampered or torn manifest)"}]


def test_incremental_records_are_read_from_the_content_not_the_manifest(tmp_path):
    full_backup(str(tmp_path))
    ok = verify(tmp_path, incremental(str(tmp_path), 6, 30))
    assert ok["bad"] == [] and ok["records"]["missing"] == []
    assert (ok["records"]["first"], ok["records"]["last"], ok["records"]["count"]) == (6, 30, 25)
    bad = verify(tmp_path, incremental(str(tmp_path), 31, 40, drop=(31,), bid="n1-000003-incr"))
    assert bad["bad"] == []                           # hashes are right: the manifest lies
    assert bad["records"]["missing"] == [31] and bad["records"]["first"] == 32


def test_archive_segments_read_in_one_round_trip_and_damage_named(tmp_path):
    repo = str(tmp_path)
    arch = Archiver(repo, "n1", Clock())
    for n in range(1, 11):
        arch.add(n, 1, 1.0 + n, {"op": "put", "key": "k", "value": n})
        if n in (4, 10):
            arch.flush_now()

    def run():
        async def go():
            return await verify_archive(await LocalRemote().connect(), repo)
        return asyncio.run(go())
    out = run()
    assert out["bad"] == []
    assert [(s["first_lsn"], s["last_lsn"]) for s in out["segments"]] == [(1, 4), (5, 10)]
    assert all(s["lsns"]["missing"] == [] and s["lsns"]["ordered"] for s in out["segments"])
    seg = tmp_path / R.ARCHIVE / "000000000005-000000000010.seg"
    size = seg.stat().st_size
    seg.write_bytes(seg.read_bytes()[:-3])
    out = run()
    assert out["bad"] == [{"segment": "000000000005-000000000010.seg",
                           "reason": f"size: manifest says {size} bytes, found {size - 3}"}]


def python_without_blake3(tmp_path, monkeypatch, python=True):
    """PATH with only `sh` and, if `python`, a python3 that cannot import blake3 (-S)."""
    import shutil
    import sys
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sh").symlink_to(shutil.which("sh"))
    if python:
        (bin_dir / "python3").write_text(f"#!/bin/sh\nexec {sys.executable} -S \"$@\"\n")
        (bin_dir / "python3").chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))


def test_node_without_blake3_or_python_falls_back_to_fetching_and_says_so(tmp_path,
                                                                          monkeypatch):
    repo = tmp_path / "repo"
    bid = full_backup(str(repo))
    want = verify(repo, bid)
    for python, why in ((True, "the node has no blake3 module"),
                        (False, "the node has no python3")):
        monkeypatch.undo()
        for p in (tmp_path / "bin").glob("*"):
            p.unlink()
        if (tmp_path / "bin").exists():
            (tmp_path / "bin").rmdir()
        python_without_blake3(tmp_path, monkeypatch, python)
        out = verify(repo, bid)
        assert (out["method"], out["fallback"]) == ("sftp", why)
        assert {k: out[k] for k in ("bad", "digest", "values", "bytes_hashed", "manifest")} == \
            {k: want[k] for k in ("bad", "digest", "values", "bytes_hashed", "manifest")}
        victim = repo / R.BACKUPS / bid / "chunk-000003"
        good = victim.read_bytes()
        victim.write_bytes(good[:-1])
        assert verify(repo, bid)["bad"] == [{"chunk": "chunk-000003", "reason":
                                             f"size: manifest says {len(good)} bytes, "
                                             f"found {len(good) - 1}"}]
        victim.write_bytes(good)


def test_node_program_hashes_every_byte_and_reports_what_it_read(tmp_path):
    """Large chunks over several windows of threads: the node program's per-chunk hashes,
    content digest and byte count are those of the files, read on the control side."""
    bid = "n1-000009-full"
    d = tmp_path / R.BACKUPS / bid
    d.mkdir(parents=True)
    content = os.urandom((3 << 20) + 12345)
    chunks = R.write_chunks(str(d), content, 1 << 18)
    m = R.sealed({"format": 1, "id": bid, "kind": "full", "parent": None, "node": "n1",
                  "start_lsn": 1, "end_lsn": 1, "term": 1, "end_ts": None, "created": 0.0,
                  "chunk_size": 1 << 18, "bytes": len(content), "chunks": chunks,
                  "digest": state_digest(content)})
    R.write_atomic(str(d / R.MANIFEST), R.canonical(m))
    out = verify(tmp_path, bid)
    assert out["method"] == "node" and out["bad"] == [] and len(chunks) == 13
    assert out["bytes_hashed"] == len(content) and out["digest"] == m["digest"]
    assert "values" not in out                        # not a JSON map: no workload values
    assert out["node_seconds"] <= out["seconds"]
    (d / "chunk-000011").write_bytes(b"")             # an emptied chunk is named, not counted
    out = verify(tmp_path, bid)
    assert out["bad"] == [{"chunk": "chunk-000011",
                           "reason": f"size: manifest says {1 << 18} bytes, found 0"}]
    assert out["bytes_hashed"] == len(content) - (1 << 18) and "digest" not in out
    (d / R.MANIFEST).unlink()
    out = verify(tmp_path, bid)
    assert out["manifest"] is None and out["bad"][0]["chunk"] == "manifest.json"
    assert out["bad"][0]["reason"].startswith("missing or unreadable: FileNotFoundError")


def reference_digest(content: bytes) -> str:
    """The state digest as docs/protocol.md words it, written out plainly."""
    pieces = [content[i:i + (4 << 20)] for i in range(0, max(len(content), 1), 4 << 20)]
    return blake3(b"".join(blake3(p).digest() for p in pieces)).hexdigest()[:16]


@pytest.mark.parametrize("size", [0, 1, (4 << 20) - 1, 4 << 20, (4 << 20) + 1, (9 << 20) + 7])
def test_harness_and_database_state_digests_are_the_protocols(size):
    """The harness's own code and the emulator's compute the documented definition."""
    content = os.urandom(size)
    assert DIGEST_PIECE == backup_verify.DIGEST_PIECE == 4 << 20
    assert backup_verify.state_digest(content) == state_digest(content) == \
        reference_digest(content)
    if size:
        assert state_digest(content[:-1] + bytes([content[-1] ^ 1])) != state_digest(content)


def big_full_backup(repo, content, chunk, bid="n1-000010-full", digest=None):
    d = repo / R.BACKUPS / bid
    d.mkdir(parents=True)
    chunks = R.write_chunks(str(d), content, chunk)
    m = R.sealed({"format": 1, "id": bid, "kind": "full", "parent": None, "node": "n1",
                  "start_lsn": 1, "end_lsn": 1, "term": 1, "end_ts": None, "created": 0.0,
                  "chunk_size": chunk, "bytes": len(content), "chunks": chunks,
                  "digest": digest or state_digest(content)})
    R.write_atomic(str(d / R.MANIFEST), R.canonical(m))
    return bid, m


@pytest.mark.parametrize("chunk,hashed_once", [(4 << 20, True), (3 << 20, False)])
def test_full_backup_digest_from_its_chunk_hashes_when_chunks_are_the_pieces(tmp_path,
                                                                            monkeypatch,
                                                                            chunk, hashed_once):
    """4 MiB chunks: every byte is hashed once (the digest's leaves are the chunk hashes
    the program found); other chunk sizes: the pieces are hashed too. Same digest either
    way, by the node program and by the fallback."""
    content = os.urandom((9 << 20) + 4321)
    bid, m = big_full_backup(tmp_path, content, chunk)
    out = verify(tmp_path, bid)
    assert out["method"] == "node" and out["bad"] == [] and out["digest"] == m["digest"]
    assert out["bytes_hashed"] == len(content)
    if hashed_once:
        assert out["node_blake3_bytes"] == len(content)
    else:
        assert out["node_blake3_bytes"] > len(content)
    python_without_blake3(tmp_path, monkeypatch)
    slow = verify(tmp_path, bid)
    assert slow["method"] == "sftp" and slow["digest"] == m["digest"] and slow["bad"] == []


def test_digest_from_chunk_hashes_follows_the_content_not_the_manifest(tmp_path):
    """A backup whose chunks are each intact (their manifest hashes right) but whose content
    is not the state's (two pieces in the wrong order) gives a digest other than the
    manifest's: the checker then rejects it (checker/backup_chain.py compares them)."""
    state = os.urandom(12 << 20)
    swapped = state[4 << 20:8 << 20] + state[:4 << 20] + state[8 << 20:]
    bid, m = big_full_backup(tmp_path, swapped, 4 << 20, digest=state_digest(state))
    out = verify(tmp_path, bid)
    assert out["bad"] == [] and out["digest"] == state_digest(swapped) != m["digest"]
