"""`harness heal STORE_DIR` heals the store's latest run (no cluster needed to check the
choice: the run's ledger is found, and the cluster record is looked up in that store)."""

import json

from harness.cli import main


def _store(tmp_path, ledger=True):
    store = tmp_path / "store"
    run = store / "TC-AF-004" / "20260101T000000-7"
    run.mkdir(parents=True)
    if ledger:
        (run / "nemesis-ledger.jsonl").write_text(json.dumps(
            {"seq": 1, "fault": "f1-1", "host": "n1", "apply": [], "undo": [],
             "state": "healed"}) + "\n")
    (store / "latest").symlink_to(run.relative_to(store))
    return store, run


def test_a_store_root_means_its_latest_run(tmp_path, capsys):
    store, run = _store(tmp_path)
    rc = main(["heal", str(store)])
    err = capsys.readouterr().err
    assert rc == 255, err
    # past the ledger check, on the latest run; the hosts come from that store's records
    assert "nemesis-ledger" not in err and f"no current cluster under {store}/clusters" in err


def test_a_store_whose_latest_run_has_no_ledger_names_that_run(tmp_path, capsys):
    store, run = _store(tmp_path, ledger=False)
    assert main(["heal", str(store)]) == 254
    assert f"{run.resolve()} has no nemesis-ledger.jsonl" in capsys.readouterr().err


def test_a_run_directory_is_still_a_run_directory(tmp_path, capsys):
    store, run = _store(tmp_path)
    assert main(["heal", str(run), "--store", str(store)]) == 255
    assert f"no current cluster under {store}/clusters" in capsys.readouterr().err
