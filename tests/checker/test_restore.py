"""The restore checker on histories it must accept and reject (with info ops)."""

from checker import RunContext, run_check

MS = 1_000_000


class H:
    """A history builder: ops get increasing times, processes are unique."""

    def __init__(self):
        self.events, self.t, self.p = [], 0, 0

    def tick(self, ms=10):
        self.t += ms * MS
        return self.t

    def op(self, f, key, value, typ="ok", lsn=None, workload="register", result=None,
           out=None, error=None):
        self.p += 1
        self.events.append({"process": self.p, "type": "invoke", "f": f, "key": key,
                            "value": value, "time": self.tick(), "workload": workload})
        done = {"process": self.p, "type": typ, "f": f, "key": key,
                "value": out if typ == "ok" and out is not None else value,
                "time": self.tick(), "workload": workload}
        if lsn is not None:
            done["lsn"] = lsn
        if error:
            done["error"] = error
        if result is not None:
            done["result"] = result
        self.events.append(done)
        return self

    def invoke_only(self, f, key, value, workload="register"):
        """An op that never completed: indeterminate."""
        self.p += 1
        self.events.append({"process": self.p, "type": "invoke", "f": f, "key": key,
                            "value": value, "time": self.tick(), "workload": workload})
        return self

    def restore(self, target, restored_lsn=None, values=None, typ="ok", out_of_range=False,
                error=None, digest=None, rto=1.0, time_ns=None):
        req = {"node": "n2", "target": target, "out_of_range": out_of_range}
        if time_ns is not None:
            req["time_ns"] = time_ns
        out = {"restored_lsn": restored_lsn, "values": values or {}, "rto_s": rto}
        if digest:
            out["digest"] = digest
        return self.op("restore", None, req, typ=typ, workload="backup", out=out,
                       error=error, result={"message": "refused"} if typ != "ok" else None)


def base():
    """k1 := 1 @2, s0 += 10 @3, k1 := 2 @4, s0 += 11 @5."""
    h = H()
    h.op("write", "k1", 1, lsn=2)
    h.op("add", "s0", 10, lsn=3, workload="set")
    h.op("write", "k1", 2, lsn=4)
    h.op("add", "s0", 11, lsn=5, workload="set")
    return h


def check(h, **ctx):
    return run_check("restore", h.events, RunContext(**ctx))


def test_exact_restores_to_lsns_are_valid():
    h = base()
    h.restore({"kind": "lsn", "lsn": 3, "exclusive": False}, 3, {"k1": 1, "s0": [10]})
    h.restore({"kind": "lsn", "lsn": 4, "exclusive": True}, 3, {"k1": 1, "s0": [10]})
    h.restore({"kind": "lsn", "lsn": 5, "exclusive": False}, 5, {"k1": 2, "s0": [10, 11]})
    h.restore({"kind": "lsn", "lsn": 1, "exclusive": False}, 1, {})
    r = check(h, thresholds={"pitr_rto_s": 60})
    assert r["valid"] is True, r["errors"]
    assert r["errors"] == []
    assert [x["errors"] for x in r["restores"]] == [[], [], [], []]
    assert r["slas"][0]["measured"] == 1.0 and r["slas"][0]["pass"] is True


def test_one_record_too_many_is_named_with_the_write_that_explains_it():
    h = base()
    # target LSN 3 (inclusive), but the restore applied LSN 4 as well (pitr-off-by-one)
    h.restore({"kind": "lsn", "lsn": 3, "exclusive": False}, 4, {"k1": 2, "s0": [10]})
    r = check(h)
    assert r["valid"] is False
    assert "restored to LSN 4, expected LSN 3" in r["errors"][0]
    wrong = [e for e in r["errors"] if "'k1'" in e]
    assert len(wrong) == 1
    assert "expected 1" in wrong[0] and "found 2" in wrong[0]
    assert "write 'k1'=2 (LSN 4" in wrong[0] and "after the target" in wrong[0]


def test_exclusive_target_that_includes_its_record_is_rejected():
    h = base()
    h.restore({"kind": "lsn", "lsn": 5, "exclusive": True}, 5, {"k1": 2, "s0": [10, 11]})
    r = check(h)
    assert r["valid"] is False
    assert any("set key 's0' holds 11" in e and "LSN 5" in e for e in r["errors"])


def test_indeterminate_write_may_or_may_not_be_in_the_restore():
    h = H()
    h.op("write", "k1", 1, lsn=2)
    h.invoke_only("write", "k1", 7)            # may commit anywhere after its invoke
    h.op("write", "k1", 3, lsn=6)
    h.restore({"kind": "lsn", "lsn": 4, "exclusive": False}, 4, {"k1": 7})
    h.restore({"kind": "lsn", "lsn": 4, "exclusive": False}, 4, {"k1": 1})
    assert check(h)["valid"] is True


def test_indeterminate_write_invoked_after_a_later_ack_cannot_precede_the_target():
    h = H()
    h.op("write", "k1", 1, lsn=2)
    h.op("write", "k1", 3, lsn=6)              # acked before the info write was invoked
    h.op("write", "k1", 7, typ="info", error="timeout")
    h.restore({"kind": "lsn", "lsn": 4, "exclusive": False}, 4, {"k1": 7})
    r = check(h)
    assert r["valid"] is False
    assert "expected 1" in r["errors"][0] and "found 7" in r["errors"][0]
    assert "cannot precede the target" in r["errors"][0]


def test_missing_acknowledged_add_and_a_value_no_write_produced():
    h = base()
    h.restore({"kind": "lsn", "lsn": 5, "exclusive": False}, 5, {"k1": 2, "s0": [11]})
    h.restore({"kind": "lsn", "lsn": 5, "exclusive": False}, 5, {"k1": 99, "s0": [10, 11]})
    r = check(h)
    assert r["valid"] is False
    assert any("lacks 10, acknowledged at LSN 3" in e for e in r["errors"])
    assert any("found 99" in e and "no write in the history" in e for e in r["errors"])


def test_out_of_range_target_must_be_refused_and_in_range_must_not_be():
    h = base()
    h.restore({"kind": "lsn", "lsn": 10 ** 9, "exclusive": False}, typ="fail",
              out_of_range=True, error="target_out_of_range")
    assert check(h)["valid"] is True
    h2 = base()
    h2.restore({"kind": "lsn", "lsn": 10 ** 9, "exclusive": False}, 5, {"k1": 2, "s0": [10, 11]},
               out_of_range=True)
    assert "must be refused" in check(h2)["errors"][0]
    h3 = base()
    h3.restore({"kind": "lsn", "lsn": 3, "exclusive": False}, typ="fail",
               error="backup_corrupt")
    r3 = check(h3)
    assert r3["valid"] is False and "fail (backup_corrupt)" in r3["errors"][0]


def test_latest_must_hold_every_acknowledged_write_rpo_zero():
    h = base()
    h.restore({"kind": "latest"}, 5, {"k1": 2, "s0": [10, 11]})
    assert check(h)["valid"] is True
    h2 = base()
    h2.restore({"kind": "latest"}, 4, {"k1": 2, "s0": [10]})
    r = check(h2)
    assert r["valid"] is False
    assert "RPO is not 0" in r["errors"][0] and "'s0'=11" in r["errors"][0]


def test_time_target_covers_acked_before_and_nothing_invoked_after():
    h = base()
    t = h.t + 1 * MS                            # after every write was acknowledged
    h.restore({"kind": "time", "time": 1.0}, 5, {"k1": 2, "s0": [10, 11]}, time_ns=t)
    assert check(h)["valid"] is True
    h2 = base()
    h2.restore({"kind": "time", "time": 1.0}, 3, {"k1": 1, "s0": [10]}, time_ns=h2.t + MS)
    r = check(h2)
    assert r["valid"] is False
    assert "acknowledged before the target time" in r["errors"][0]
    h3 = base()
    early = h3.events[0]["time"] - 20 * MS      # before any write was invoked
    h3.restore({"kind": "time", "time": 1.0}, 2, {"k1": 1}, time_ns=early)
    assert "invoked after the target time" in check(h3)["errors"][0]


def test_digest_cross_check_against_live_status_at_that_lsn():
    states = [{"ok": True, "node": "n1", "digest_index": 3, "digest": "aaaa", "time": 1}]
    h = base()
    h.restore({"kind": "lsn", "lsn": 3, "exclusive": False}, 3, {"k1": 1, "s0": [10]},
              digest="aaaa")
    assert check(h, states=states)["valid"] is True
    h2 = base()
    h2.restore({"kind": "lsn", "lsn": 3, "exclusive": False}, 3, {"k1": 1, "s0": [10]},
               digest="bbbb")
    r = check(h2, states=states)
    assert r["valid"] is False and "live digest aaaa at LSN 3 (node n1 status)" in r["errors"][0]


def test_rto_over_the_bar_fails_and_no_restore_is_unknown():
    h = base()
    h.restore({"kind": "lsn", "lsn": 3, "exclusive": False}, 3, {"k1": 1, "s0": [10]}, rto=75.0)
    r = check(h, thresholds={"pitr_rto_s": 60})
    assert r["valid"] is False and r["slas"][0] == {
        "name": "pitr_rto_s", "measured": 75.0, "median": 75.0, "episodes": 1, "missed": 0,
        "threshold": 60, "pass": False}
    assert check(base())["valid"] == "unknown"


def test_backup_target_judged_at_the_harness_verified_end_lsn():
    h = base()
    verified = {"backup": "n2-000002-incr", "manifest": {"kind": "incremental", "end_lsn": 3}}
    h.op("verify", None, {"node": "n2", "backup": "n2-000002-incr"}, workload="backup",
         out=verified)
    h.restore({"kind": "backup", "backup": "n2-000002-incr"}, 3, {"k1": 1, "s0": [10]})
    assert check(h)["valid"] is True
    h.restore({"kind": "backup", "backup": "n2-000009-incr"}, 3, {"k1": 1, "s0": [10]})
    assert "never verified" in check(h)["errors"][0]


def test_torn_full_backup_content_is_caught_from_the_harness_reading():
    h = base()
    torn = {"backup": "n1-000001-full", "bad": [], "digest": "cccc",
            "manifest": {"kind": "full", "end_lsn": 3}, "values": {"k1": 1, "s0": [10, 11]}}
    h.op("verify", None, {"node": "n1", "backup": "n1-000001-full"}, workload="backup", out=torn)
    h.restore({"kind": "lsn", "lsn": 5, "exclusive": False}, 5, {"k1": 2, "s0": [10, 11]})
    r = check(h)
    assert r["valid"] is False
    assert any("full backup n1-000001-full" in e and "holds 11" in e for e in r["errors"])


def test_set_adds_out_of_log_order_or_duplicated_are_rejected():
    h = base()
    h.restore({"kind": "lsn", "lsn": 5, "exclusive": False}, 5, {"k1": 2, "s0": [11, 10]})
    r = check(h)
    assert r["valid"] is False
    assert r["errors"] == ["restore to LSN 5: set key 's0' holds its acknowledged adds out of "
                           "LSN order: from position 0 it holds [11, 10], the log order is "
                           "[10, 11] (LSN 3)"]
    h2 = base()
    h2.restore({"kind": "lsn", "lsn": 5, "exclusive": False}, 5, {"k1": 2, "s0": [10, 11, 11]})
    assert any("duplicate" in e for e in check(h2)["errors"])
