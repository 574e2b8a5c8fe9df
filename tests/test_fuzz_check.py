"""Fuzz `harness check` with a seeded generator: thousands of malformed histories (as
files and inside stored run directories) and argument lists, in process through
harness.cli.main, plus a handful in real processes.

For every input: no exit 255, no traceback, no check running past its time limit,
exactly one line on stderr (and nothing on stdout) for every 254, --json output that
is strict JSON; and no valid verdict (exit 0) on a history whose events contradict
each other (a completion without its invoke, a read of a value nobody wrote under the
unique-values workload). A failure prints the seed and case number to replay.
"""

import contextlib
import io
import json
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.cli import main

REPO = Path(__file__).resolve().parents[1]
SEED = 20261128
HISTORIES = 2400
ARG_LISTS = 1200
TIME_LIMIT_S = 2.0
SLACK_S = 8.0    # parse + counterexample + a loaded CI machine; a hang is far beyond it


# --- valid histories by construction ---------------------------------------------------

def register_history(rng, model="cas-register"):
    """A linearizable history with unique written values: each op takes effect at a point
    inside its interval, in the order of those points, on an atomic register per key."""
    procs, n = rng.randint(1, 4), rng.randint(1, 12)
    keys = ["k1", "k2"][: rng.randint(1, 2)]
    ops, clock = [], {p: 0 for p in range(procs)}
    for i in range(n):
        p = rng.randrange(procs)
        start = clock[p] + rng.randint(0, 5)
        end = start + rng.randint(1, 20)
        clock[p] = end + 1
        ops.append({"p": p, "start": start, "end": end, "at": rng.uniform(start, end), "i": i,
                    "key": rng.choice(keys), "kind": rng.choice(("read", "write", "write"))})
    for op in ops:
        op["outcome"] = (rng.choice(("ok", "ok", "ok", "info", "fail")) if op["kind"] == "write"
                         else "ok")
    state = {}
    for op in sorted(ops, key=lambda o: o["at"]):
        if op["outcome"] != "fail":   # a failed op never took effect; an info one did here
            op["result"] = _apply(model, state, op)
        else:
            op["result"] = _apply(model, dict(state), op)
    events = []
    for op in ops:
        f, invoke_value, ok_value = op["result"]
        events.append((op["start"], 0, {"process": op["p"], "type": "invoke", "f": f,
                                        "key": op["key"], "value": invoke_value}))
        value = ok_value if op["outcome"] == "ok" else invoke_value
        events.append((op["end"], 1, {"process": op["p"], "type": op["outcome"], "f": f,
                                      "key": op["key"], "value": value}))
    events.sort(key=lambda e: (e[0], e[1]))
    return [dict(e, time=t) for t, _, e in events]


def _apply(model, state, op):
    """(f, invoke value, ok value) of op applied to state (key -> value), per model."""
    key, fresh = op["key"], op["i"] + 1
    if model == "kv":
        if op["kind"] == "write":
            state[key] = f"v{fresh}"
            return "put", f"v{fresh}", f"v{fresh}"
        return "get", None, state.get(key, "")
    if model == "multi-register":
        if op["kind"] == "write":
            state[key] = fresh
            return "txn", [["write", key, fresh]], [["write", key, fresh]]
        return "txn", [["read", key, None]], [["read", key, state.get(key)]]
    if op["kind"] == "write":
        state[key] = fresh
        return "write", fresh, fresh
    return "read", None, state.get(key)


# --- malformations -----------------------------------------------------------------------

HOSTILE_VALUES = ["NaN", "Infinity", "-Infinity", "1e999", "-1e400", "1" * 5000, "9" * 4301,
                  "[" * 3000 + "]" * 3000, "{\"a\":" * 200 + "1" + "}" * 200, "\"\\ud800\"",
                  "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]"
                  "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", "true", "{}", "[]",
                  "\"x\"", "null", "-0", "1.5", "[1, 2, 3]", "{\"grudge\": {}}"]
FIELDS = ["process", "type", "f", "key", "value", "time"]


def _line(event):
    return json.dumps(event, ensure_ascii=False).encode()


def _raw(lines, newline_at_end=True):
    return b"\n".join(lines) + (b"\n" if newline_at_end else b"")


def _swap_field(rng, lines, events):
    i = rng.randrange(len(events))
    text = lines[i].decode()
    name = rng.choice(FIELDS)
    key = f"\"{name}\": "
    if key in text:
        start = text.index(key) + len(key)
        end = _value_end(text, start)
        text = text[:start] + rng.choice(HOSTILE_VALUES) + text[end:]
    lines[i] = text.encode()
    return lines


def _value_end(text, start):
    """End of the JSON value starting at `start` in a json.dumps line (no nested strings
    with brackets: the generator's values are numbers, short strings, lists)."""
    depth, in_string, i = 0, False, start
    while i < len(text):
        c = text[i]
        if in_string:
            if c == "\\":
                i += 1
            elif c == "\"":
                in_string = False
        elif c == "\"":
            in_string = True
        elif c in "[{":
            depth += 1
        elif c in "]}":
            if depth == 0:
                return i
            depth -= 1
        elif c == "," and depth == 0:
            return i
        i += 1
    return i


def mutate(rng, events):
    """(raw bytes, contradiction?) for one malformation of a valid history."""
    lines = [_line(e) for e in events]
    kind = rng.randrange(22)
    contradiction = False
    if kind == 0:      # a completion without its invoke
        oks = [i for i, e in enumerate(events) if e["type"] == "ok"]
        if oks:
            done = events[rng.choice(oks)]
            invoke = max(i for i, e in enumerate(events[:events.index(done)])
                         if e["process"] == done["process"] and e["type"] == "invoke")
            del lines[invoke]
            contradiction = True
    elif kind == 1:    # a read of a value nobody wrote (values are unique and small)
        lines += [_line({"process": 77, "type": "invoke", "f": "read", "key": "k1",
                         "value": None, "time": 10_000}),
                  _line({"process": 77, "type": "ok", "f": "read", "key": "k1",
                         "value": 424242, "time": 10_001})]
        contradiction = True
    elif kind == 2:    # a field replaced by something hostile
        lines = _swap_field(rng, lines, events)
    elif kind == 3:    # a line cut short, then more lines
        i = rng.randrange(len(lines))
        lines[i] = lines[i][: rng.randrange(len(lines[i]))]
    elif kind == 4:    # the last line torn (no newline after it)
        cut = lines[-1][: rng.randrange(1, len(lines[-1]))]
        return _raw(lines[:-1]) + cut, False
    elif kind == 5:    # a complete junk line at the end
        lines.append(rng.choice([b"GARBAGE", b"}", b"{\"process\": 1}", lines[-1] + b" junk",
                                 b"\xff\xfe", b"null", b"[]"]))
    elif kind == 6:    # junk in the middle
        lines.insert(rng.randrange(len(lines) + 1), rng.choice([b"xx", b"{", b"\x00", b"1"]))
    elif kind == 7:    # invalid UTF-8
        i = rng.randrange(len(lines))
        j = rng.randrange(len(lines[i]) + 1)
        lines[i] = lines[i][:j] + rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80"]) + lines[i][j:]
    elif kind == 8:    # a field deleted
        i = rng.randrange(len(events))
        lines[i] = _line({k: v for k, v in events[i].items() if k != rng.choice(FIELDS)})
    elif kind == 9:    # an invoke duplicated
        i = rng.randrange(len(lines))
        lines.insert(i, lines[i])
    elif kind == 10:   # raw line separators inside strings: valid
        lines = [ln.replace(b"\"k1\"", "\"k\u2028\u2029\x85\"".encode()) for ln in lines]
    elif kind == 11:   # CRLF line ends, blank lines, a BOM
        raw = b"\r\n\r\n".join(lines) + b"\r\n"
        return (b"\xef\xbb\xbf" + raw if rng.random() < 0.5 else raw), False
    elif kind == 12:   # empty, whitespace, only nemesis
        return rng.choice([b"", b"\n\n  \n", _raw([_line({"process": "nemesis", "type": "info",
                                                         "f": "partition", "time": 1})])]), False
    elif kind == 13:   # time going backwards for a completion
        for i, e in enumerate(events):
            if e["type"] == "ok":
                lines[i] = _line(dict(e, time=-5))
                break
    elif kind == 14:   # a cas with a malformed value
        lines.append(_line({"process": 88, "type": "invoke", "f": "cas", "key": "k1",
                            "value": rng.choice([3, [1], [1, 2, 3], None, "ab"]), "time": 9_000}))
    elif kind == 15:   # unknown f / type
        i = rng.randrange(len(events))
        lines[i] = _line(dict(events[i], **rng.choice([{"f": "dance"}, {"type": "begin"},
                                                       {"type": None}, {"f": 3}])))
    elif kind == 16:   # a non-object line
        lines.insert(rng.randrange(len(lines) + 1), rng.choice([b"[1, 2]", b"3", b"\"s\"", b"true"]))
    elif kind == 17:   # process ids of every type
        i = rng.randrange(len(events))
        lines[i] = _line(dict(events[i], process=rng.choice([None, True, 1.5, [1], {"a": 1}, "p"])))
    elif kind == 18:   # a huge but legal integer value
        lines.append(_line({"process": 66, "type": "invoke", "f": "write", "key": "k3",
                            "value": int("7" * 4000), "time": 9_500}))
    elif kind == 19:   # a line that is one long string
        lines.append(b"\"" + b"a" * 200_000 + b"\"")
    elif kind == 20:   # the same event twice (completion twice)
        oks = [i for i, e in enumerate(events) if e["type"] == "ok"]
        if oks:
            i = rng.choice(oks)
            lines.insert(i + 1, lines[i])
            contradiction = True
    else:              # several mutations at once
        raw, _ = mutate(rng, events)
        more = [ln for ln in raw.split(b"\n") if ln]
        return _raw(more[: max(1, len(more) - 1)] + [b"{\"process\""], rng.random() < 0.5), False
    return _raw(lines), contradiction


def model_mutation(rng):
    """A kv or multi-register history whose ok carries what its invoke did not allow."""
    model = rng.choice(("kv", "multi-register"))
    events = register_history(rng, model)
    oks = [i for i, e in enumerate(events) if e["type"] == "ok"]
    if oks and rng.random() < 0.8:
        i = rng.choice(oks)
        e = events[i]
        if model == "kv":
            bad = rng.choice([5, None, ["x"], {"a": 1}, 1.5, True]) if e["f"] == "put" else 7
        else:
            bad = rng.choice([[["write", "zz", 1]], [["read", 9, 1]], 3, [["nope", "k1", 1]],
                              [["read", "k1"]], [[]]])
        events[i] = dict(e, value=bad)
    return model, _raw([_line(e) for e in events])


# --- CLI argument lists -------------------------------------------------------------------

OPTION_VALUES = {
    "--model": ["cas-register", "kv", "multi-register", "queue", "", "KV", "cas-register "],
    "--initial-value": ["null", "0", "\"\"", "\"x\"", "[1, 2]", "{nope", "NaN", "Infinity",
                        "1e999", "1" * 5000, "[" * 2000, "{\"a\": [1]}", "\x00", "\"\\ud800\"",
                        "--json", "-1", "true"],
    "--null-read": ["absent", "unknown", "maybe", "", "ABSENT"],
    "--time-limit": ["1", "0.5", "0", "-1", "nan", "inf", "1e999", "abc", "", "1e-300", "2"],
    "--max-memory": ["4G", "64M", "1K", "lots", "0", "-5G", "1.5GiB", "9" * 400, "", "8gb"],
}


def arg_list(rng, history_path, tmp_path):
    path = rng.choice([str(history_path)] * 6 + [str(tmp_path), str(tmp_path / "missing.jsonl"),
                                                 "/dev/null", "", "-", "\udcff.jsonl",
                                                 str(tmp_path / "dir\nname")])
    argv = ["check", path] if rng.random() < 0.95 else ["check"]
    for _ in range(rng.randrange(5)):
        choice = rng.random()
        if choice < 0.7:
            option = rng.choice(list(OPTION_VALUES))
            value = rng.choice(OPTION_VALUES[option])
            argv += [f"{option}={value}"] if rng.random() < 0.3 else [option, value]
        elif choice < 0.8:
            argv.append(rng.choice(["--json", "--help", "-h", "--", "--bogus", "extra", "-x"]))
        else:
            argv.insert(rng.randrange(len(argv) + 1), rng.choice(["--json", "--time-limit",
                                                                  "check", "run", "=", "-"]))
    if "--help" in argv or "-h" in argv:
        argv = [a for a in argv if a not in ("--help", "-h")]
    return argv


# --- the harness under test ------------------------------------------------------------

def run_check(argv):
    out, err = io.StringIO(), io.StringIO()
    started = time.monotonic()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue(), time.monotonic() - started


def no_constants(name):
    raise AssertionError(f"{name} printed as JSON")


def assert_sound(case, argv, code, out, err, elapsed, contradiction=False):
    where = f"fuzz case {case} (seed {SEED}), argv {[a[:80] for a in argv]!r}"
    assert code in (0, 1, 2, 254), (where, code, err)
    assert "Traceback" not in err and "Traceback" not in out, (where, err)
    assert elapsed < TIME_LIMIT_S + SLACK_S, (where, elapsed)
    if code == 254:
        assert out == "", (where, out)
        assert len(err.splitlines()) == 1 and err.startswith("harness"), (where, err)
    else:
        assert all(line.startswith("harness: warning: ") for line in err.splitlines()), (where, err)
        if "--json" in argv:
            assert json.loads(out, parse_constant=no_constants)["valid"] in (True, False, "unknown")
    if contradiction:
        assert code != 0, (where, "a contradictory history checked valid")


def test_fuzz_histories(tmp_path):
    rng = random.Random(SEED)
    path = tmp_path / "h.jsonl"
    codes = {}
    contradictions = 0
    for case in range(HISTORIES):
        if case % 6 == 5:
            model, raw = model_mutation(rng)
            contradiction = False
        else:
            model = "cas-register"
            raw, contradiction = mutate(rng, register_history(rng))
        path.write_bytes(raw)
        argv = ["check", str(path), "--model", model, "--time-limit", str(TIME_LIMIT_S)]
        if rng.random() < 0.5:
            argv.append("--json")
        code, out, err, elapsed = run_check(argv)
        assert_sound(case, argv, code, out, err, elapsed, contradiction)
        codes[code] = codes.get(code, 0) + 1
        contradictions += contradiction
    # the generator reaches every outcome that matters, or the test proves little
    assert codes.get(254, 0) > HISTORIES // 4 and codes.get(0, 0) > 50 and codes.get(1, 0) > 50, codes
    assert contradictions > HISTORIES // 20


def test_fuzz_argument_lists(tmp_path):
    rng = random.Random(SEED + 1)
    history = tmp_path / "h.jsonl"
    history.write_bytes(_raw([_line(e) for e in register_history(random.Random(1))]))
    codes = {}
    for case in range(ARG_LISTS):
        argv = arg_list(rng, history, tmp_path)
        if "--time-limit" not in " ".join(argv):
            argv += ["--time-limit", str(TIME_LIMIT_S)]
        code, out, err, elapsed = run_check(argv)
        assert_sound(case, argv, code, out, err, elapsed)
        codes[code] = codes.get(code, 0) + 1
    assert codes.get(254, 0) > ARG_LISTS // 4 and codes.get(0, 0) > 20, codes


def test_valid_histories_of_the_generator_check_valid(tmp_path):
    """The generator's base histories are linearizable by construction: the paired
    acceptance case, so the fuzz verdicts above mean something."""
    rng = random.Random(SEED + 2)
    path = tmp_path / "h.jsonl"
    for case in range(200):
        model = rng.choice(("cas-register", "kv", "multi-register"))
        path.write_bytes(_raw([_line(e) for e in register_history(rng, model)]))
        code, out, err, _ = run_check(["check", str(path), "--model", model])
        assert code == 0, (case, model, out, err, path.read_text())


@pytest.mark.parametrize("raw,code", [
    (b"[" * 100000 + b"]" * 100000 + b"\n", 254),
    (b'{"process": 1, "type": "invoke", "f": "write", "value": NaN, "time": 0}\n', 254),
    (b'{"process": 1, "type": "invoke", "f": "write", "value": ' + b"1" * 5000 + b', "time": 0}\n',
     254),
    (b'{"process": 1, "type": "ok", "f": "read", "value": 1, "time": 0}\n', 254),
    (b'{"process": 1, "type": "invoke", "f": "write", "value": 1, "time": 0}\n'
     b'{"process": 1, "type": "ok", "f": "write", "value": 1, "time": 1}\n'
     b'{"process": 2, "type": "invoke", "f": "read", "value": null, "time": 2}\n'
     b'{"process": 2, "type": "ok", "f": "read", "value": 2, "time": 3}', 1),
    (b'{"process": 1, "type": "invoke", "f": "write", "value": 1, "time": 0}\n'
     b'{"process": 1, "type": "ok", "f": "write", "value": 1, "time": 1}\n{"process": 2, "ty', 0),
])
def test_real_processes(tmp_path, raw, code):
    """A handful through `python -m harness`: what a shell sees (exit code, stderr lines)."""
    path = tmp_path / "h.jsonl"
    path.write_bytes(raw)
    done = subprocess.run([sys.executable, "-m", "harness", "check", str(path), "--json",
                           "--time-limit", str(TIME_LIMIT_S)], cwd=REPO, capture_output=True,
                          text=True, timeout=TIME_LIMIT_S + 60)
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr
    if code == 254:
        assert len(done.stderr.splitlines()) == 1 and done.stdout == ""
    else:
        json.loads(done.stdout, parse_constant=no_constants)


def test_fuzz_run_directories(tmp_path):
    """The same malformations inside a stored run directory (`harness check RUN_DIR`):
    a defect is 254 in one line as in a file, never 255 or a verdict of valid."""
    rng = random.Random(SEED + 3)
    run = tmp_path / "run"
    run.mkdir()
    (run / "case.yaml").write_text((REPO / "harness" / "cases" / "tc-af-002.yaml").read_text())
    (run / "run.json").write_text(json.dumps({"wall_start": 0, "nodes": ["n1", "n2", "n3"],
                                              "seed": 1}))
    codes = {}
    for case in range(300):
        events = register_history(rng)
        for event in events:
            event["workload"] = rng.choice(("register", "register", "set"))
        raw, contradiction = mutate(rng, events)
        (run / "history.jsonl").write_bytes(raw)
        argv = ["check", str(run)] + (["--json"] if rng.random() < 0.3 else [])
        code, out, err, elapsed = run_check(argv)
        assert_sound(case, argv, code, out, err, elapsed, contradiction)
        codes[code] = codes.get(code, 0) + 1
    assert codes.get(254, 0) > 100, codes
