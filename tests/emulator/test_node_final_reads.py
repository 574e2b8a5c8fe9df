"""The harness's final-read aids on a real 3-node cluster: `get` with `local: true` on
every node (followers included, no redirect) and the state-machine `digest` in
`status`. Slow: starts real processes."""

import pytest

from emulator_cluster import Cluster, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def cluster3(tmp_path):
    c = Cluster(tmp_path, 3, first_ip=31)
    try:
        yield c.start_all()
    finally:
        c.close()


def settled(c: Cluster, index: int) -> dict:
    """Wait until every node has applied at least `index`; return their statuses."""
    def all_applied():
        st = {n: c.status(n) for n in c.ids}
        ok = all(s and s["applied"] >= index for s in st.values())
        return ok and len({s["applied"] for s in st.values()}) == 1 and st
    return wait_for(all_applied, 10, f"every node to apply index {index}")


def test_local_get_is_served_by_every_node_from_its_applied_state(cluster3):
    c = cluster3
    ld = c.leader()
    lsn = c.request(ld, {"op": "put", "key": "k", "value": "v1"})["lsn"]
    settled(c, lsn)
    for nid in c.ids:
        r = c.request(nid, {"op": "get", "key": "k", "local": True, "id": nid})
        assert r == {"id": nid, "ok": True, "value": "v1", "lsn": r["applied"],
                     "term": r["term"], "local": True, "applied": r["applied"], "node": nid}
        assert r["applied"] >= lsn and r["term"] >= 1
        absent = c.request(nid, {"op": "get", "key": "nope", "local": True})
        assert absent["ok"] and absent["value"] is None and absent["local"] is True
    follower = next(n for n in c.ids if n != ld)
    plain = c.request(follower, {"op": "get", "key": "k"})  # no `local`: still redirected
    assert (plain["ok"], plain["error"], plain["leader"]) == (False, "not_leader", ld)
    off = c.request(follower, {"op": "get", "key": "k", "local": False})
    assert off["error"] == "not_leader" and "local" not in off


def test_status_digest_agrees_across_replicas_and_moves_with_writes(cluster3):
    c = cluster3
    ld = c.leader()
    for i in range(5):
        lsn = c.request(ld, {"op": "append", "key": "s", "value": i})["lsn"]
    first = settled(c, lsn)
    digests = {(s["digest"], s["digest_index"]) for s in first.values()}
    assert len(digests) == 1, first
    digest, index = digests.pop()
    assert index == first[ld]["applied"] and len(digest) == 16
    int(digest, 16)  # hex
    lsn = c.request(ld, {"op": "put", "key": "t", "value": 1})["lsn"]
    second = settled(c, lsn)
    after = {(s["digest"], s["digest_index"]) for s in second.values()}
    assert len(after) == 1, second
    new_digest, new_index = after.pop()
    assert new_index >= lsn > index and new_digest != digest
