"""The emulator's region store and the shipper's item scan, on real files (layer: tests)."""

import base64
import os

from blake3 import blake3

from emulator import repo as R
from emulator.region import RegionStore
from emulator.shipper import complete_items
from harness.region_verify import compare_copies, judge_files


def put(store, node, path, data, digest=None, size=None):
    return store.handle({"op": "put", "node": node, "path": path,
                         "size": len(data) if size is None else size,
                         "blake3": digest or blake3(data).hexdigest(),
                         "data": base64.b64encode(data).decode()})


def manifest(bid, chunks):
    return R.sealed({"format": 1, "id": bid, "kind": "full", "created": 1.5, "end_lsn": 9,
                     "chunks": [{"name": n, "size": len(d), "blake3": blake3(d).hexdigest()}
                                for n, d in chunks]})


def test_put_stores_durably_and_reports_the_arrival(tmp_path):
    store = RegionStore("r1", str(tmp_path))
    m = R.canonical(manifest("n1-000001-full", [("chunk-000000", b"abc")]))
    assert put(store, "n1", "backups/n1-000001-full/chunk-000000", b"abc")["ok"] is True
    assert put(store, "n1", "backups/n1-000001-full/manifest.json", m)["ok"] is True
    assert (tmp_path / "n1/backups/n1-000001-full/chunk-000000").read_bytes() == b"abc"
    st = store.handle({"op": "status"})["nodes"]["n1"]
    assert st["backups"]["n1-000001-full"]["created"] == 1.5
    assert st["backups"]["n1-000001-full"]["end_lsn"] == 9 and st["segments"] == 0
    again = RegionStore("r1", str(tmp_path))            # reloaded from arrivals.jsonl
    assert again.handle({"op": "have", "node": "n1"})["files"] == store.files["n1"]
    assert "n1-000001-full" in again.handle({"op": "status"})["nodes"]["n1"]["backups"]


def test_put_refuses_wrong_bytes_tampered_manifests_and_bad_paths(tmp_path):
    store = RegionStore("r1", str(tmp_path))
    bad = put(store, "n1", "backups/b/chunk-000000", b"abc", digest=blake3(b"abd").hexdigest())
    assert bad["ok"] is False and bad["error"] == "corrupt"
    assert put(store, "n1", "backups/b/chunk-000000", b"abc", size=4)["error"] == "corrupt"
    m = manifest("b", [("chunk-000000", b"abc")])
    m["end_lsn"] = 10                                    # tampered after sealing
    assert put(store, "n1", "backups/b/manifest.json", R.canonical(m))["error"] == "corrupt"
    assert put(store, "n1", "../../etc/passwd", b"x")["error"] == "bad_request"
    assert put(store, "../n1", "backups/b/chunk-000000", b"x")["error"] == "bad_request"
    assert not (tmp_path / "n1").exists()
    assert store.handle({"op": "have", "node": "n1"})["files"] == {}


def write_repo(root, chunks=((b"abc", b"def"))):
    d = root / "backups" / "n1-000001-full"
    d.mkdir(parents=True)
    named = [(f"chunk-{i:06d}", c) for i, c in enumerate(chunks)]
    for n, c in named:
        (d / n).write_bytes(c)
    (d / "manifest.json").write_bytes(R.canonical(manifest("n1-000001-full", named)))
    (root / "backups" / "n1-000002-incr").mkdir()       # no manifest: incomplete, not an item


def members(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_complete_items_lists_chunks_then_the_manifest(tmp_path):
    write_repo(tmp_path)
    ((key, files),) = complete_items(str(tmp_path))
    assert key == "backups/n1-000001-full"
    assert [p for p, _ in files] == ["backups/n1-000001-full/chunk-000000",
                                     "backups/n1-000001-full/chunk-000001",
                                     "backups/n1-000001-full/manifest.json"]
    assert files[0][1] == blake3(b"abc").hexdigest() and files[2][1] is None


def test_harness_judges_copies_itself(tmp_path):
    src, copy = tmp_path / "src", tmp_path / "copy"
    write_repo(src)
    write_repo(copy)
    source = judge_files(members(src))
    assert source["backups"] == ["n1-000001-full"] and source["bad"] == []
    assert compare_copies(source, {"r1": judge_files(members(copy))}) == []
    chunk = copy / "backups/n1-000001-full/chunk-000001"
    chunk.write_bytes(b"dex")                            # one byte changed in a region copy
    errors = compare_copies(source, {"r1": judge_files(members(copy))})
    assert errors[0].startswith("r1: backups/n1-000001-full/chunk-000001 blake3 ")
    assert any("blake3 mismatch" in e for e in errors)
    os.remove(chunk)
    assert "r1: lacks backups/n1-000001-full/chunk-000001" in compare_copies(
        source, {"r1": judge_files(members(copy))})
