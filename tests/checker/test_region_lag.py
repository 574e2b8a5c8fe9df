"""checker/region_lag.py on histories it must accept and reject (layer: tests)."""

from checker import RunContext
from checker.region_lag import check, region_faults
from checker.runlog import Fault

S = 1_000_000_000
GRUDGE = {"n1": ["r1"], "n2": ["r1"], "n3": ["r1"], "r1": ["n1", "n2", "n3", "r2", "r3"],
          "r2": ["r1"], "r3": ["r1"]}
PARTITION = Fault(kind="partition", nodes=sorted(GRUDGE), value={"grudge": GRUDGE},
                  start=5 * S, end=10 * S)
THRESHOLDS = {"region_lag_s": 5, "region_lag_seed_s": 300, "region_catchup_s": 5}


def sample(t, r1, r2, r3, lag1=0.1):
    row = {"r1": {"up": True, "backups": r1, "segments": 10 * r1, "lag_s": lag1},
           "r2": {"up": True, "backups": r2, "segments": 10 * r2, "lag_s": 0.1},
           "r3": {"up": True, "backups": r3, "segments": 10 * r3, "lag_s": 0.1}}
    return {"process": 1, "type": "ok", "f": "region-sample", "value": {"wall": t,
            "regions": row}, "time": int(t * S)}


def history(*, stall_r2=False, acked=None, calm_lag=0.2, verify_errors=()):
    h = []
    for i in range(1, 15):                       # a backup completes every second
        h.append({"process": 2, "type": "ok", "f": "backup", "time": i * S,
                  "value": {"backup": f"n1-{i:06d}-incr", "created": 1000.0 + i}})
    for k in range(0, 30):                       # samples every 0.5 s
        t = k / 2
        done = int(t)
        cut = 5 <= t < 10
        r1 = 4 if cut or 10 <= t < 11.5 else done
        r2 = 4 if stall_r2 and cut else done
        h.append(sample(t, r1, r2, done, lag1=(t - 4.5) if cut or 10 <= t < 11.5 else 0.1))
    lags = {f"n1-{i:06d}-incr": calm_lag for i in range(1, 15)}
    r1 = {**lags, **{f"n1-{i:06d}-incr": 11.5 - i for i in range(5, 11)}}
    h.append({"process": 3, "type": "ok", "f": "region-arrivals", "time": 16 * S,
              "value": {"r1": r1, "r2": lags, "r3": lags}})
    held = {"n1": {"r1": 40, "r2": 40, "r3": 40}}
    h.append({"process": 4, "type": "ok", "f": "region-verify", "time": 17 * S,
              "value": {"errors": list(verify_errors), "regions": {}, "source": {},
                        "acked": acked or held, "held": held}})
    return h


def ctx():
    return RunContext(faults=[PARTITION], thresholds=THRESHOLDS,
                      required=("region_lag_s", "region_catchup_s"))


def test_accepts_progress_catchup_and_identical_copies():
    res = check(history(), ctx())
    assert res["valid"] is True, res["errors"]
    assert res["errors"] == []
    (ep,) = res["episodes"]
    assert ep["region"] == "r1" and ep["cut_gained"] == 0
    assert ep["advanced"] == {"r2": 4, "r3": 4}       # samples 5.5 s .. 9.5 s
    assert 1.0 <= ep["catchup_s"] <= 2.0
    slas = {s["name"]: s for s in res["slas"]}
    assert slas["region_lag_s"]["measured"] == 0.2 and slas["region_lag_s"]["pass"] is True
    assert slas["region_lag_seed_s"]["measured"] == 6.5       # r1's backup 5, partitioned
    # backups 5..10 shipped into the partition, 11 behind its backlog (catch-up until 11.5 s)
    assert res["lag"]["r1"]["faulted"] == 7 and res["lag"]["r2"]["faulted"] == 0


def test_rejects_a_region_that_stalls_while_another_is_partitioned():
    res = check(history(stall_r2=True), ctx())
    assert res["valid"] is False
    assert any(e.startswith("r2 did not advance while r1 was partitioned") for e in res["errors"])
    assert not any(e.startswith("r3 did not advance") for e in res["errors"])


def test_rejects_acks_beyond_what_a_region_holds():
    res = check(history(acked={"n1": {"r1": 41, "r2": 40, "r3": 40}}), ctx())
    assert res["valid"] is False
    assert res["errors"] == ["shipper acknowledged before the region stored: n1 counts 41 "
                             "items acknowledged by r1, which holds 40"]


def test_rejects_copies_that_differ_and_calm_lag_over_the_bar():
    res = check(history(verify_errors=["n1 -> r2: lacks backups/x/manifest.json"]), ctx())
    assert res["valid"] is False and res["errors"] == [
        "copies differ: n1 -> r2: lacks backups/x/manifest.json"]
    res = check(history(calm_lag=7.0), ctx())
    assert res["valid"] is False and res["errors"] == []
    assert {s["name"]: s["pass"] for s in res["slas"]}["region_lag_s"] is False


def test_unknown_without_the_final_verification_or_samples():
    h = [e for e in history() if e["f"] != "region-verify"]
    assert check(h, ctx())["valid"] == "unknown"
    assert check([], ctx())["valid"] == "unknown"


def test_region_faults_cut_only_the_isolated_region_and_named_targets():
    shaped = Fault(kind="bandwidth", nodes=["r2"], value={"nodes": ["r2"]}, start=1, end=2)
    out = region_faults([PARTITION, shaped], ["r1", "r2", "r3"])
    assert out == {"r1": [(5 * S, 10 * S, "partition")], "r2": [(1, 2, "bandwidth")], "r3": []}
