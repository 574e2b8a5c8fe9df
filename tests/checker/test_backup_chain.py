"""The backup-chain checker on histories it must accept and reject (with info ops)."""

import copy

from checker import RunContext, run_check

MS = 1_000_000


class H:
    def __init__(self):
        self.events, self.t, self.p = [], 0, 0

    def op(self, f, invoke, typ="ok", out=None, error=None):
        self.p += 1
        self.t += 10 * MS
        self.events.append({"process": self.p, "type": "invoke", "f": f, "key": None,
                            "value": invoke, "time": self.t, "workload": "backup"})
        self.t += 10 * MS
        done = {"process": self.p, "type": typ, "f": f, "key": None,
                "value": out if typ == "ok" else invoke, "time": self.t, "workload": "backup"}
        if error:
            done["error"] = error
        self.events.append(done)


def manifest(bid, kind, parent, start, end):
    return {"id": bid, "kind": kind, "parent": parent, "node": "n2", "start_lsn": start,
            "end_lsn": end, "digest": "abcd" if kind == "full" else None, "chunks": 1}


def records(start, end, missing=()):
    lsns = [n for n in range(start, end + 1) if n not in missing]
    return {"first": lsns[0] if lsns else None, "last": lsns[-1] if lsns else None,
            "count": len(lsns), "garbage": 0, "missing": list(missing), "extra": [],
            "ordered": True}


CHAIN = [("n2-000001-full", "full", None, 1, 5),
         ("n2-000002-incr", "incremental", "n2-000001-full", 6, 9),
         ("n2-000003-incr", "incremental", "n2-000002-incr", 10, 12)]


def history(chain=CHAIN, tweak=None, verify_types=None):
    """Each backup acknowledged, then verified by the harness; `tweak(bid, verify_value)`."""
    h = H()
    for bid, kind, parent, start, end in chain:
        h.op("backup", {"node": "n2", "kind": kind, "parent": parent},
             out={"backup": bid, "kind": kind, "parent": parent, "start_lsn": start,
                  "end_lsn": end})
    for bid, kind, parent, start, end in chain:
        v = {"backup": bid, "node": "n2", "manifest": manifest(bid, kind, parent, start, end),
             "bad": [], "bytes_hashed": 100, "seconds": 0.01}
        if kind == "full":
            v["digest"] = "abcd"
        else:
            v["records"] = records(start, end)
        if tweak:
            tweak(bid, v)
        typ = (verify_types or {}).get(bid, "ok")
        h.op("verify", {"node": "n2", "backup": bid}, typ=typ, out=v,
             error=None if typ == "ok" else "timeout")
    return h


def check(h, **ctx):
    return run_check("backup-chain", h.events, RunContext(**ctx))


def test_valid_chain_is_accepted_with_its_length():
    r = check(history(), thresholds={"chain_incrementals": 2})
    assert r["valid"] is True, r["errors"]
    assert r["errors"] == [] and r["chains"] == {"n2-000003-incr": 2}
    assert r["verified"] == 3 and r["refused"] == 0
    assert r["slas"][0] == {"name": "chain_incrementals", "measured": 2, "threshold": 2,
                            "pass": True}


def test_incremental_missing_its_boundary_record_is_named():
    def drop(bid, v):
        if bid == "n2-000002-incr":
            v["records"] = records(6, 9, missing=(6,))
    r = check(history(tweak=drop))
    assert r["valid"] is False
    assert r["errors"] == ["backup n2-000002-incr: claims LSN 6..9 but its content lacks "
                           "record(s) [6] (holds 3 record(s), first 7, last 9)"]


def test_gap_and_overlap_between_links():
    gap = copy.deepcopy(CHAIN)
    gap[1] = ("n2-000002-incr", "incremental", "n2-000001-full", 7, 9)
    r = check(history(gap))
    assert r["valid"] is False
    assert any("starts at LSN 7 but its parent n2-000001-full ends at 5 (gap)" in e
               for e in r["errors"])
    over = copy.deepcopy(CHAIN)
    over[2] = ("n2-000003-incr", "incremental", "n2-000002-incr", 9, 12)
    assert any("(overlap)" in e for e in check(history(over))["errors"])


def test_bad_chunk_and_manifest_disagreement():
    def corrupt(bid, v):
        if bid == "n2-000003-incr":
            v["bad"] = [{"chunk": "chunk-000000", "reason": "blake3 mismatch: manifest 1f..."}]
        if bid == "n2-000002-incr":
            v["manifest"]["end_lsn"] = 8
            v["records"] = records(6, 8)
    r = check(history(tweak=corrupt))
    assert r["valid"] is False
    assert "backup n2-000003-incr: chunk-000000: blake3 mismatch: manifest 1f..." in r["errors"]
    assert any("acknowledged end_lsn=9 but the manifest says 8" in e for e in r["errors"])


def test_unverified_backup_is_a_finding_and_an_indeterminate_verify_is_unknown():
    h = history(CHAIN[:2])
    h.op("backup", {"node": "n2", "kind": "incremental", "parent": "n2-000002-incr"},
         out={"backup": "n2-000003-incr", "kind": "incremental", "start_lsn": 10, "end_lsn": 12})
    r = check(h)
    assert r["valid"] is False
    assert "backup n2-000003-incr: acknowledged but never verified by the harness" in r["errors"]
    r2 = check(history(verify_types={"n2-000003-incr": "info"}))
    assert r2["valid"] == "unknown"


def test_refusals_are_counted_not_findings_and_short_chain_fails_the_bar():
    h = history()
    h.op("backup", {"node": "n1", "kind": "full", "parent": None}, typ="fail",
         error="backup_busy")
    h.op("backup", {"node": "n1", "kind": "full", "parent": None}, typ="info", error="timeout")
    r = check(h)
    assert r["valid"] is True and r["refused"] == 1
    assert "1 refused (backup_busy: 1)" in r["summary"]
    r2 = check(history(), thresholds={"chain_incrementals": 100})
    assert r2["valid"] is False and r2["slas"][0]["pass"] is False


def test_full_backup_must_start_at_one_and_digest_must_match():
    def bad_full(bid, v):
        if bid == "n2-000001-full":
            v["digest"] = "ffff"
    r = check(history(tweak=bad_full))
    assert r["errors"] == ["backup n2-000001-full: content digest ffff differs from the "
                           "manifest's abcd"]
    odd = copy.deepcopy(CHAIN)
    odd[0] = ("n2-000001-full", "full", None, 2, 5)
    assert any("must start at LSN 1" in e for e in check(history(odd))["errors"])


def test_empty_full_backup_at_lsn_zero_is_a_consistent_cut_but_empty_ranges_elsewhere_fail():
    # a node that has applied nothing (just restarted) cuts the empty state: LSN 1..0,
    # and the chain continues from LSN 1
    empty = [("n2-000001-full", "full", None, 1, 0),
             ("n2-000002-incr", "incremental", "n2-000001-full", 1, 4)]
    assert check(history(empty))["valid"] is True
    inverted_incr = [("n2-000001-full", "full", None, 1, 5),
                     ("n2-000002-incr", "incremental", "n2-000001-full", 6, 5)]
    r = check(history(inverted_incr))
    assert r["valid"] is False
    assert any("end LSN 5 before its start LSN 6" in e for e in r["errors"])
    below_zero = [("n2-000001-full", "full", None, 1, -1)]
    assert any("end LSN -1 before its start LSN 1" in e
               for e in check(history(below_zero))["errors"])


def test_nothing_taken_is_unknown():
    h = H()
    h.op("backup", {"node": "n1", "kind": "full", "parent": None}, typ="fail",
         error="backup_busy")
    assert check(h)["valid"] == "unknown"


def test_throughput_is_reported_next_to_the_same_runs_ceiling_and_judged_only_with_a_bar():
    h = history()
    h.op("ceiling", {"node": "n2"}, out={"disk_write_bytes_per_s": 2e8, "blake3_bytes_per_s": 1e5,
                                         "control_blake3_bytes_per_s": 1e9})
    r = check(h)
    assert r["valid"] is True
    # 100 verified bytes per backup in 10 ms (harness-timed): 10 kB/s
    assert r["figures"]["full_backup_gb_per_s"] == 1e4 / 1e9
    line = next(x for x in r["lines"] if "verification_gb_per_s" in x)
    assert "0.10 of the node's BLAKE3 in memory (the harness hashes there) (0.10 MB/s)" in line
    assert "not judged" in line and "seed SLA > 10 GB/s" in line
    r2 = check(h, thresholds={"full_backup_gb_per_s": 5})
    assert r2["valid"] is False and r2["slas"][1]["pass"] is False


def test_archive_segments_as_the_harness_read_them():
    def seg(first, last, missing=()):
        return {"file": f"{first:012d}-{last:012d}.seg", "first_lsn": first, "last_lsn": last,
                "records": last - first + 1, "lsns": records(first, last, missing)}
    good = {"node": "n2", "bad": [], "segments": [seg(1, 4), seg(5, 9), seg(12, 15)]}
    h = history()
    h.op("verify_archive", {"node": "n2"}, out=good)
    r = check(h)
    assert r["valid"] is True
    assert any("3 segment(s) on 1 node(s)" in x and "1 gap(s)" in x for x in r["lines"])
    bad = {"node": "n2", "bad": [{"segment": "000000000005-000000000009.seg",
                                  "reason": "size: manifest says 90 bytes, found 80"}],
           "segments": [seg(1, 4), seg(4, 9, missing=(6,))]}
    h2 = history()
    h2.op("verify_archive", {"node": "n2"}, out=bad)
    errors = check(h2)["errors"]
    assert errors == [
        "archive of n2: 000000000005-000000000009.seg: size: manifest says 90 bytes, found 80",
        "archive of n2: 000000000004-000000000009.seg overlaps 000000000001-000000000004.seg",
        "archive of n2: 000000000004-000000000009.seg claims LSN 4..9 but holds 5 record(s), "
        "missing [6], extra []"]
