"""TC-BR-003 and TC-BR-004 end to end: the correct emulator passes, each planted region bug
is caught
(layer: tests, slow: real clusters with region hosts on the default backend).

| bug | case | named violation |
|---|---|---|
| ship-early-ack | tc-br-003 | region-lag: a node counts more items acknowledged by r1 than r1 holds; copies differ |
| verify-skip-manifest-checksum | tc-br-004 | corruption: database verify missed manifest on n2 |
| repair-unverified-source | tc-br-004 | corruption: not repaired ... although r2, r3 held an intact copy |
| wal-skip-checksum | tc-br-004 | corruption: n3 started on a corrupted WAL and answered; n3 served state rebuilt from it |

Short runs (--time-limit; the case's partition and shaped-link steps still run), 3 nodes,
netns or docker (the default backend; the shaped link needs tc htb, which both have here),
as a user would run them (`harness run ... --json`).
"""

import json
from functools import partial
from pathlib import Path

import pytest
from harness_runs import harness as run_harness

pytestmark = pytest.mark.slow

SEED = "11"
RUN_TIMEOUT_S = 600


harness = partial(run_harness, timeout=RUN_TIMEOUT_S)



def run_case(case, store, *bugs) -> tuple[int, dict, str]:
    opts = [x for bug in bugs for x in ("--db-opt", f"bug={bug}")]
    proc = harness("run", case, "--nodes", "3", "--seed", SEED, "--time-limit", "30",
                   "--store", str(store), "--quiet", "--json", *opts)
    assert proc.returncode in (0, 1), proc.stdout[-3000:] + proc.stderr[-3000:]
    results = json.loads(proc.stdout)
    report = (Path(results["run_dir"]) / "report.txt").read_text()
    return proc.returncode, results, report


def test_tc_br_003_passes(store):
    code, results, report = run_case("tc-br-003", store)
    assert code == 0 and results["valid"] is True, report
    lag = results["checks"]["region-lag"]
    slas = {s["name"]: s for s in lag["slas"]}
    assert slas["region_lag_s"]["measured"] < 5 and slas["region_lag_s"]["pass"], report
    assert slas["region_catchup_s"]["pass"] is True, report
    (episode,) = lag["episodes"]                 # r1 partitioned: r2 and r3 advanced
    assert episode["region"] == "r1" and episode["cut_gained"] == 0, report
    assert all(g > 0 for g in episode["advanced"].values()), report
    assert set(episode["advanced"]) == {"r2", "r3"}, report
    held = lag["verify"]["regions"]
    assert held["r1"] == held["r2"] == held["r3"] and held["r1"]["backups"] > 5, report
    # r2's link shaped in the shipping direction: r2's backups slowed, r3's not touched
    (how,) = lag["shaping"]
    assert how.startswith(("tc htb class 128kbit with a u32 filter on destination ",
                           "tc tbf 128kbit on the whole egress of ")), report
    r2, r3 = lag["lag"]["r2"], lag["lag"]["r3"]
    assert r2["faulted"] > 0 and r3["faulted"] == 0, report
    assert r2["faulted_median_s"] > 3 * max(r2["calm_median_s"], r3["calm_median_s"]), report


def test_ship_early_ack_is_caught(store):
    code, results, report = run_case("tc-br-003", store, "ship-early-ack")
    lag = results["checks"]["region-lag"]
    assert code == 1 and lag["valid"] is False, report
    assert any("shipper acknowledged before the region stored" in e and "r1" in e
               for e in lag["errors"]), report
    assert any(e.startswith("copies differ: ") and "r1: lacks" in e for e in lag["errors"]), \
        report


def test_tc_br_004_passes(store):
    code, results, report = run_case("tc-br-004", store)
    assert code == 0 and results["valid"] is True, report
    cor = results["checks"]["corruption"]
    kinds = cor["per_kind"]
    wal = kinds.pop("wal")                       # n3's WAL: refused on restart, naming it
    assert wal == {"injected": 1, "detected_db": 1, "detected_harness": 1, "repaired": 0,
                   "refused": 1}, report
    (inj,) = cor["wal_injections"]
    assert inj["node"] == "n3" and inj["records_after"] > 0 and inj["parses"], report
    assert results["checks"]["revival"]["valid"] is True, report
    assert results["checks"]["rpo"]["refused_to_start"] == ["n3"], report
    assert set(kinds) == {"bitflip", "truncate", "delete", "misdirect", "manifest"}, report
    for k, f in kinds.items():                   # 100% detection by both verifiers
        assert f["detected_db"] == f["detected_harness"] == f["injected"] > 0, (k, report)
    assert kinds["bitflip"]["refused"] == 4 and kinds["bitflip"]["repaired"] == 1, report
    assert all(kinds[k]["repaired"] == 1 for k in ("truncate", "delete", "misdirect",
                                                    "manifest")), report
    restores = results["checks"]["restore"]["restores"]
    assert len(restores) == 8 and not any(r["errors"] for r in restores), report
    # one from each region's copy (repaired ones included), exact under the restore oracle
    assert sorted(r["copy"] for r in restores if r["copy"]) == ["r1", "r2", "r3"], report
    assert all(r["type"] == "ok" for r in restores if r["copy"]), report


@pytest.mark.parametrize("bug,violation", [
    ("verify-skip-manifest-checksum", "database verify missed manifest on n2"),
    ("repair-unverified-source", "is still damaged after repair although r2, r3 held"),
])
def test_corruption_bugs_are_caught(store, bug, violation):
    code, results, report = run_case("tc-br-004", store, bug)
    cor = results["checks"]["corruption"]
    assert code == 1 and cor["valid"] is False, report
    assert any(violation in e for e in cor["errors"]), report


def test_wal_skip_checksum_is_caught(store):
    code, results, report = run_case("tc-br-004", store, "wal-skip-checksum")
    cor = results["checks"]["corruption"]
    assert code == 1 and cor["valid"] is False, report
    assert any(e.startswith("n3 started on a corrupted WAL and answered: ") and
               "it must refuse to start or repair from its peers" in e
               for e in cor["errors"]), report
