"""`harness check`: exit codes, --json output and one-line errors (real subprocesses)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main

REPO = Path(__file__).resolve().parents[2]


def harness(*args):
    return subprocess.run([sys.executable, "-m", "harness", "check", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=60)


def write(tmp_path, *events, raw=None):
    path = tmp_path / "history.jsonl"
    lines = [json.dumps({"key": None, "value": None, **e}) for e in events]
    path.write_text(raw if raw is not None else "\n".join(lines) + "\n")
    return path


def ev(process, type_, f, value=None, time=0):
    return {"process": process, "type": type_, "f": f, "value": value, "time": time}


VALID = [ev(1, "invoke", "write", 1, 0), ev(1, "ok", "write", 1, 1),
         ev(2, "invoke", "read", None, 2), ev(2, "ok", "read", 1, 3)]
INVALID = VALID[:3] + [ev(2, "ok", "read", 2, 3)]


def test_valid_history_exits_0_with_a_summary(tmp_path):
    done = harness(write(tmp_path, *VALID))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("VALID: model cas-register, 2 ops, 1 keys, elapsed ")
    assert done.stderr == ""


def test_invalid_history_exits_1_with_a_counterexample(tmp_path):
    done = harness(write(tmp_path, *INVALID))
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("INVALID: model cas-register, 2 ops, 1 keys")
    assert "p2 ok   read 2 [2 .. 3] (line 3): not legal in state 1" in done.stdout


def test_json_output_has_the_documented_fields(tmp_path):
    done = harness(write(tmp_path, *INVALID), "--json")
    assert done.returncode == 1
    result = json.loads(done.stdout)
    assert (result["valid"], result["model"], result["ops"], result["keys"]) == (
        False, "cas-register", 2, 1)
    assert isinstance(result["elapsed_s"], float)
    assert result["counterexample"]["not_placeable_next"][0]["value"] == 2


def test_minimal_counterexample_option(tmp_path):
    path = write(tmp_path, *INVALID)
    for args in ((), ("--minimal-counterexample",)):
        done = harness(path, "--json", *args)
        assert done.returncode == 1, done.stderr
        window = json.loads(done.stdout)["counterexample"]["window"]
        assert window["minimal"] is True
        assert window["shrink_budget"] is None if args else window["shrink_budget"] > 0


def hard_events(n=40):
    """Many concurrent writes, each value written twice, then two reads no order explains:
    outside the read-mapping fast path, a search far beyond a fraction of a second."""
    events = [ev(p, "invoke", "write", p % (n // 2), p) for p in range(n)]
    events += [ev(p, "ok", "write", p % (n // 2), n + p) for p in range(n)]
    return events + [ev(99, "invoke", "read", None, 2 * n), ev(99, "ok", "read", 0, 2 * n + 1),
                     ev(99, "invoke", "read", None, 2 * n + 2), ev(99, "ok", "read", 1, 2 * n + 3)]


def test_time_limit_exits_2_unknown(tmp_path):
    done = harness(write(tmp_path, *hard_events()), "--time-limit", "0.3", "--json")
    assert done.returncode == 2, done.stderr
    result = json.loads(done.stdout)
    assert (result["valid"], result["keys_decided"], result["keys"]) == ("unknown", 0, 1)
    assert result["reason"] == ["time limit"]


def test_there_is_a_default_time_limit(tmp_path, capsys, monkeypatch):
    """Without --time-limit the check still stops (the default, shortened here) with unknown."""
    from harness import _cmd_check
    assert _cmd_check.DEFAULT_TIME_LIMIT_S == 60
    monkeypatch.setattr(_cmd_check, "DEFAULT_TIME_LIMIT_S", 0.3)
    code = main(["check", str(write(tmp_path, *hard_events())), "--json"])
    out, err = capsys.readouterr()
    assert code == 2, err
    assert json.loads(out)["reason"] == ["time limit"]


def test_memory_bound_exits_2_unknown(tmp_path, capsys):
    code = main(["check", str(write(tmp_path, *hard_events())), "--max-memory", "64M",
                 "--time-limit", "60", "--json"])
    out, err = capsys.readouterr()
    assert code == 2, err
    result = json.loads(out)
    assert result["valid"] == "unknown"
    assert any(r.startswith("memory limit") for r in result["reason"]), result["reason"]


def test_truncated_last_line_warns_and_checks_the_rest(tmp_path):
    raw = "\n".join(json.dumps({"key": None, **e}) for e in VALID) + '\n{"process": 3, "ty'
    done = harness(write(tmp_path, raw=raw))
    assert done.returncode == 0
    assert "history.jsonl:5: skipped truncated last line" in done.stderr


@pytest.mark.parametrize("events,raw,args,message", [
    ([], "", (), "history.jsonl: no client operations in the history (empty file?)"),
    (VALID, "\n".join(json.dumps(e) for e in VALID[:2]) + "\nnot json\n" + json.dumps(VALID[2]),
     (), "history.jsonl:3: not valid JSON"),
    ([ev(1, "invoke", "dance", 1, 0), ev(1, "ok", "dance", 1, 1)], None, (),
     "history.jsonl:1: f 'dance' is not an operation of model 'cas-register'"),
    ([ev(1, "ok", "read", 1, 0)], None, (),
     "history.jsonl:1: ok completion from process 1 with no outstanding invoke"),
    ([ev(1, "invoke", "read", None, 0), ev(1, "invoke", "write", 2, 1)], None, (),
     "history.jsonl:2: process 1 invokes again while its invoke at line 1 has not completed"),
    (VALID, None, ("--model", "queue"), "--model 'queue' is not a model"),
    (VALID, None, ("--null-read", "maybe"), "--null-read 'maybe': expected one of absent, unknown"),
    (VALID, None, ("--initial-value", "{nope"), "--initial-value '{nope' is not JSON"),
    (VALID, None, ("--time-limit", "-1"), "--time-limit '-1': expected a positive number of seconds"),
])
def test_bad_input_exits_254_with_one_line(tmp_path, capsys, events, raw, args, message):
    """In-process through harness.cli.main (the subprocess path is covered below)."""
    code = main(["check", str(write(tmp_path, *events, raw=raw)), *args])
    out, err = capsys.readouterr()
    assert code == 254, (out, err)
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_bad_input_in_a_real_process_is_one_line_without_traceback(tmp_path):
    done = harness(write(tmp_path, raw="[1]\n"))
    assert done.returncode == 254
    assert done.stderr.strip().splitlines() == [
        f"harness: error: {tmp_path / 'history.jsonl'}:1: expected a JSON object, got list"]


def test_missing_file_exits_254(tmp_path):
    done = harness(tmp_path / "nope.jsonl")
    assert done.returncode == 254
    assert "nope.jsonl: cannot read history" in done.stderr


@pytest.mark.parametrize("args,message", [
    (("--initial-value", "1" * 5000), "--initial-value: an integer with more digits than Python "
                                      "converts (4300)"),
    (("--initial-value", "NaN"), "--initial-value: NaN is not a JSON value"),
    (("--initial-value=-Infinity",), "--initial-value: -Infinity is not a JSON value"),
    (("--initial-value", "1e999"), "--initial-value: 1e999 is out of range"),
    (("--initial-value", "[" * 5000), "--initial-value: nested deeper than 64 levels"),
    (("--time-limit", "nan"), "--time-limit 'nan': expected a positive number of seconds"),
    (("--time-limit", "inf"), "--time-limit 'inf': expected a positive number of seconds"),
    (("--max-memory", "lots"), "--max-memory 'lots': expected a size from 64M up"),
    (("--max-memory", "1K"), "--max-memory '1K': expected a size from 64M up"),
    (("--max-memory", "9" * 5000), "--max-memory '999"),
])
def test_bad_options_name_the_option_in_one_line(tmp_path, capsys, args, message):
    code = main(["check", str(write(tmp_path, *VALID)), *args])
    out, err = capsys.readouterr()
    assert (code, out) == (254, "")
    assert err.startswith(f"harness: error: {message}") and len(err.splitlines()) == 1, err
    assert len(err) < 300


@pytest.mark.parametrize("size,expected", [("64M", 64 << 20), ("4G", 4 << 30), ("1.5GiB", 3 << 29),
                                           ("512mb", 512 << 20), (str(1 << 30), 1 << 30)])
def test_memory_sizes(size, expected):
    from harness._cmd_check import _bytes
    assert _bytes(size) == expected


def test_a_junk_last_line_is_254_not_dropped(tmp_path, capsys):
    """The stale read on the last line must not vanish as a 'torn' line."""
    raw = "\n".join(json.dumps({"key": None, **e}) for e in INVALID) + " junk\n"
    code = main(["check", str(write(tmp_path, raw=raw))])
    out, err = capsys.readouterr()
    assert code == 254 and out == ""
    assert "history.jsonl:4: not valid JSON (Extra data" in err and len(err.splitlines()) == 1


def test_json_output_is_strict_json(tmp_path, capsys):
    """Values with raw line separators round-trip; nothing non-JSON (NaN) is ever printed."""
    events = [dict(e, value="a\u2028b" if e["value"] == 1 else e["value"]) for e in INVALID]
    path = tmp_path / "history.jsonl"
    path.write_text("".join(json.dumps({"key": None, **e}, ensure_ascii=False) + "\n"
                            for e in events), encoding="utf-8")
    code = main(["check", str(path), "--json"])
    out, _ = capsys.readouterr()
    assert code == 1

    def no_constants(name):
        raise AssertionError(f"{name} in --json output")
    result = json.loads(out, parse_constant=no_constants)
    assert result["counterexample"]["not_placeable_next"][0]["value"] == 2


def run_dir(tmp_path, events):
    """A stored run directory as `harness run` leaves it (the parts analysis reads)."""
    d = tmp_path / "run"
    d.mkdir()
    (d / "case.yaml").write_text((REPO / "harness" / "cases" / "tc-af-002.yaml").read_text())
    (d / "run.json").write_text(json.dumps({"wall_start": 0, "nodes": ["n1", "n2", "n3"],
                                            "seed": 1}))
    (d / "history.jsonl").write_text("".join(
        json.dumps({"key": "k1", **e, "workload": "register"}) + "\n" for e in events))
    return d


@pytest.mark.parametrize("events,message", [
    (INVALID[:2] + INVALID[3:], "history.jsonl:3: ok completion from process 2 with no "
                                "outstanding invoke"),
    ([ev(1, "invoke", "cas", 3, 0), ev(1, "ok", "cas", 3, 1)],
     "cas value must be [expected, new], got 3"),
])
def test_a_defective_history_in_a_run_directory_is_254_as_in_a_file(tmp_path, capsys, events,
                                                                     message):
    d = run_dir(tmp_path, events)
    assert main(["check", str(d / "history.jsonl")]) == 254
    file_err = capsys.readouterr().err
    assert main(["check", str(d)]) == 254
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1 and message in err, err
    assert message in file_err
    assert not (d / "results.json").exists()


@pytest.mark.parametrize("events,linearizable", [(VALID, True), (INVALID, False)])
def test_a_sound_run_directory_is_checked(tmp_path, capsys, events, linearizable):
    d = run_dir(tmp_path, events)
    code = main(["check", str(d)])
    err = capsys.readouterr().err
    assert code != 254, err
    results = json.loads((d / "results.json").read_text())
    assert results["checks"]["linearizable"]["valid"] is linearizable
    assert code == {True: 0, False: 1, "unknown": 2}[results["valid"]]


def test_the_address_space_bound_stops_a_memory_hog_and_is_lifted_after(tmp_path, capsys,
                                                                        monkeypatch):
    """A planted checker that allocates 8 GiB: --max-memory 256M turns it into unknown
    (exit 2) instead of exhausting the machine, and the process limit is restored."""
    import resource

    from harness import _cmd_check
    hog = []
    monkeypatch.setattr(_cmd_check, "check_linearizable",
                        lambda *a, **k: hog.append(bytearray(8 << 30)))
    before = resource.getrlimit(resource.RLIMIT_AS)
    code = main(["check", str(write(tmp_path, *VALID)), "--max-memory", "256M"])
    out, err = capsys.readouterr()
    assert code == 2, err
    assert out.startswith("UNKNOWN: model cas-register, 2 ops, 1 keys")
    assert "reason: memory limit (--max-memory 256M)" in out
    assert hog == [] and resource.getrlimit(resource.RLIMIT_AS) == before


def test_a_run_directory_with_a_torn_last_line_warns_once_after_its_verdict(tmp_path, capsys):
    d = run_dir(tmp_path, VALID)
    with open(d / "history.jsonl", "a") as f:
        f.write('{"process": 5, "ty')
    code = main(["check", str(d)])
    err = capsys.readouterr().err
    assert code != 254
    assert err.splitlines() == [f"harness: warning: {d / 'history.jsonl'}:5: skipped truncated "
                                f"last line (Unterminated string starting at)"]
    (d / "case.yaml").write_text("id: [unclosed\n")
    assert main(["check", str(d)]) == 254
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "case.yaml" in err, err
