"""checker/corruption.py on histories it must accept and reject (layer: tests)."""

from checker import RunContext
from checker.corruption import check

S = 1_000_000_000
FULL, INCR = "n2-000001-full", "n2-000002-incr"


def inj(t, kind, copy, backup, chunk):
    return {"process": "nemesis", "type": "info", "f": f"backup-{kind}", "time": t * S,
            "value": {"node": copy, "backup": backup, "chunk": chunk, "offset": 3,
                      "fault": f"f{t}"}}


def op(p, f, t, inv, value, type_="ok", **extra):
    return [{"process": p, "type": "invoke", "f": f, "time": t * S, "value": inv},
            {"process": p, "type": type_, "f": f, "time": t * S + 1, "value": value, **extra}]


def harness_bad(*items):
    return {"bad": [{"path": f"backups/{b}/{c}", "reason": "blake3 mismatch"} for b, c in items]}


def history(*, db_misses=False, still_bad=(), refused="backup_corrupt", alarm=False):
    copies = ("n2", "r1", "r2", "r3")
    h = op(1, "verify-intact", 5, {}, {c: {"bad": []} for c in copies})
    h += [inj(10, "bitflip", "n2", FULL, "chunk-000003"),           # r1..r3 intact: repairable
          inj(11, "manifest", "r1", FULL, "manifest.json")]     # r2, r3 intact
    h += [inj(12 + i, "bitflip", c, INCR, "chunk-000000") for i, c in enumerate(copies)]
    p = 10
    for c in copies:                                                 # what each verify found
        want = [(INCR, "chunk-000000")] + ([(FULL, "chunk-000003")] if c == "n2" else []) + \
            ([(FULL, "manifest.json")] if c == "r1" else [])
        if alarm and c == "r3":
            want.append((FULL, "chunk-000001"))
        db = [{"backup": b, "chunk": ch, "reason": "x"} for b, ch in want
              if not (db_misses and ch == "manifest.json")]
        h += op(p, "detect-db", 20, {"copy": c}, {"valid": False, "bad": db})
        h += op(p + 1, "detect-harness", 20, {"copy": c}, harness_bad(*want))
        p += 2
    after = {c: harness_bad((INCR, "chunk-000000"), *still_bad) if c != "r1" else
             harness_bad((INCR, "chunk-000000")) for c in copies}
    h += op(50, "verify-after", 30, {}, after)
    target = {"kind": "backup", "backup": INCR}
    if refused == "ok":
        h += op(51, "restore-corrupt", 31, {"target": target}, {"restored_lsn": 9})
    else:
        h += op(51, "restore-corrupt", 31, {"target": target}, None, "fail", error=refused)
    return h


def test_accepts_detection_repair_and_refusal():
    res = check(history(), RunContext())
    assert res["valid"] is True, res["errors"]
    assert res["errors"] == []
    assert res["per_kind"] == {
        "bitflip": {"injected": 5, "detected_db": 5, "detected_harness": 5, "repaired": 1,
                    "refused": 4},
        "manifest": {"injected": 1, "detected_db": 1, "detected_harness": 1, "repaired": 1,
                     "refused": 0}}


def test_rejects_a_missed_detection_and_a_false_alarm():
    res = check(history(db_misses=True), RunContext())
    assert res["valid"] is False
    assert res["errors"] == [f"database verify missed manifest on r1: backup {FULL}, "
                             f"manifest.json at offset 3"]
    res = check(history(alarm=True), RunContext())
    assert res["valid"] is False
    assert sum(e.startswith("false alarm: the ") and "r3" in e for e in res["errors"]) == 2


def test_rejects_a_copy_left_damaged_while_a_good_copy_existed():
    res = check(history(still_bad=[(FULL, "chunk-000003")]), RunContext())
    assert res["valid"] is False
    assert res["errors"] == [f"not repaired: bitflip on n2 (backup {FULL}) is still damaged "
                             "after repair although r2, r3 held an intact copy"]


def test_rejects_restoring_a_backup_corrupt_in_every_copy():
    res = check(history(refused="ok"), RunContext())
    assert res["valid"] is False
    assert res["errors"] == [f"restored {INCR} although every copy of it is corrupt: it must "
                             "be refused (backup_corrupt)"]
    res = check(history(refused="io_error"), RunContext())
    assert res["errors"] == [f"restore of {INCR} (every copy corrupt): expected a "
                             "backup_corrupt refusal, got fail (io_error)"]


def test_rejects_no_intact_verification_and_is_unknown_without_injections():
    h = [e for e in history() if e["f"] != "verify-intact"]
    assert check(h, RunContext())["errors"][0] == \
        "the copies were not verified intact before the injections"
    assert check([], RunContext())["valid"] == "unknown"


WAL = "/w/n3/data/wal.log"
REFUSAL = (f"2026-11-28T05:00:00.000Z INFO n3 emulator: listening\n"
           f"emulator: WAL corrupt: {WAL} at offset 4096: checksum mismatch; records after it "
           f"exist, so this is not a torn tail and the node refuses to guess.")


def wal_history(*, answered=False, exited=True, tail=REFUSAL, outcome=True):
    h = history()
    h.append({"process": "nemesis", "type": "info", "f": "wal-bitflip", "time": 20 * S,
              "value": {"node": "n3", "path": WAL, "offset": 4096, "record": 7, "records": 90,
                        "entries": [30, 33], "fault": "f20", "changed": {
                            "field": "value", "key": "k1", "index": 31, "before": "5",
                            "after": "7"}}})
    if outcome:
        h.append({"process": "nemesis", "type": "info", "f": "revive", "time": 21 * S,
                  "value": {"node": "n3", "expect": "refusal", "answered": answered,
                            "exited": exited, "bound_s": 15, "log_tail": tail}})
    return h


def states(n3_digest=None):
    out = [{"time": 25 * S, "node": n, "ok": True, "applied": 500, "digest": "aaaa"}
           for n in ("n1", "n2")]
    if n3_digest is not None:
        out.append({"time": 25 * S, "node": "n3", "ok": True, "applied": 500,
                    "digest": n3_digest})
    return out


def test_accepts_a_node_that_refuses_its_corrupted_wal_naming_file_and_offset():
    res = check(wal_history(), RunContext(states=states()))
    assert res["valid"] is True, res["errors"]
    assert res["per_kind"]["wal"] == {"injected": 1, "detected_db": 1, "detected_harness": None,
                                      "repaired": 0, "refused": 1}
    assert "1 WAL corruption(s): 1 detected by the node on restart and refused" in res["summary"]


def test_rejects_a_node_that_started_on_a_corrupted_wal_and_served_it():
    res = check(wal_history(answered=True, exited=False, tail="listening"),
                RunContext(states=states("bbbb")))
    assert res["valid"] is False
    assert res["errors"][0].startswith(f"n3 started on a corrupted WAL and answered: {WAL} at "
                                       "offset 4096 (record 7 of 90")
    assert res["errors"][1] == ("n3 served state rebuilt from its corrupted WAL: digest bbbb at "
                                "applied index 500 where n1 reports aaaa (entry 31: value of "
                                "k1 '5' became '7')")
    # the samples alone show it answered, whatever the watcher recorded
    res = check(wal_history(answered=False, exited=False), RunContext(states=states("aaaa")))
    assert res["valid"] is False and len(res["errors"]) == 1
    assert res["errors"][0].startswith("n3 started on a corrupted WAL and answered")


def test_rejects_a_refusal_that_does_not_name_the_record_or_was_not_seen():
    res = check(wal_history(tail="emulator: cannot bind 127.0.0.1:7000"),
                RunContext(states=states()))
    assert res["valid"] is False
    assert res["errors"] == [f"n3 exited after its restart but did not name the corrupted record "
                             f"({WAL} at offset 4096 (record 7 of 90, entries [30, 33], "
                             f"committed)); last log line: emulator: cannot bind 127.0.0.1:7000"]
    res = check(wal_history(outcome=False), RunContext(states=states()))
    assert res["errors"][0].startswith("no record of what n3 did after its WAL was corrupted")
    res = check(wal_history(exited=False), RunContext(states=states()))
    assert res["errors"][0].startswith("n3 neither refused nor answered within 15 s")


def detect_wal(bad_n3=({"offset": 4096, "reason": "checksum mismatch"},), bad_n1=()):
    h = []
    for i, (node, bad) in enumerate((("n1", bad_n1), ("n2", ()), ("n3", bad_n3))):
        h += op(60 + i, "detect-wal", 40, {"node": node}, {"bad": list(bad), "records": 90})
    return h


def test_judges_the_harness_own_wal_reading_when_recorded():
    res = check(wal_history() + detect_wal(), RunContext(states=states()))
    assert res["valid"] is True, res["errors"]
    assert res["per_kind"]["wal"]["detected_harness"] == 1
    assert "1 by the harness's own WAL reading" in res["summary"]
    res = check(wal_history() + detect_wal(bad_n3=()), RunContext(states=states()))
    assert res["errors"] == [f"harness WAL verify missed the corrupted record of n3: {WAL} at "
                             "offset 4096"]
    res = check(wal_history() + detect_wal(bad_n1=[{"offset": 77, "reason": "x"}]),
                RunContext(states=states()))
    assert res["errors"] == ["false alarm: the harness's WAL verify of n1 reports offset 77 (x) "
                             "that no injection explains"]
