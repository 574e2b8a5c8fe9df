"""Reading histories: pairing, truncation, and bad input naming file:line."""

import json

import pytest

from checker import BadHistory, check_linearizable, parse_lines, read_history


def _lines(*events):
    return [json.dumps(e) for e in events]


def ev(process, type_, f, value=None, time=0, key=None, **extra):
    return {"process": process, "type": type_, "f": f, "key": key, "value": value, "time": time,
            **extra}


def test_pairs_invokes_and_completions_per_process():
    h = parse_lines(_lines(ev(1, "invoke", "write", 1, 0), ev(2, "invoke", "read", None, 1),
                           ev(2, "ok", "read", 1, 2), ev(1, "ok", "write", 1, 3)))
    assert [(op.process, op.f, op.value, op.invoke_time, op.complete_time, op.type)
            for op in h.ops] == [(1, "write", 1, 0, 3, "ok"), (2, "read", 1, 1, 2, "ok")]
    assert [op.index for op in h.ops] == [0, 1]


def test_invoke_without_completion_becomes_info_and_nemesis_is_ignored():
    h = parse_lines(_lines(ev(1, "invoke", "write", 5, 0),
                           ev("nemesis", "info", "partition", {"grudge": {}}, 1),
                           ev(2, "invoke", "read", None, 2, node="n1"),
                           ev(2, "ok", "read", 0, 3, node="n1", lsn=7)))
    assert [(op.process, op.type, op.complete_time) for op in h.ops] == [(1, "info", None),
                                                                        (2, "ok", 3)]
    assert h.ops[1].extra == {"node": "n1", "lsn": 7}


def test_truncated_last_line_is_skipped_with_a_warning(tmp_path):
    path = tmp_path / "h.jsonl"
    text = "\n".join(_lines(ev(1, "invoke", "write", 1, 0), ev(1, "ok", "write", 1, 1)))
    path.write_text(text + '\n{"process": 1, "type": "inv')
    h = read_history(path)
    assert len(h.ops) == 1
    assert h.warnings == [f"{path}:3: skipped truncated last line (Unterminated string starting at)"]


@pytest.mark.parametrize("lines,message", [
    ([], "no client operations"),
    (['{"process": 1', json.dumps(ev(1, "invoke", "read"))], ":1: not valid JSON"),
    ([json.dumps(ev(1, "ok", "read", 1, 0))], ":1: ok completion from process 1 with no outstanding invoke"),
    (_lines(ev(1, "invoke", "read", None, 0), ev(1, "invoke", "read", None, 1)),
     ":2: process 1 invokes again while its invoke at line 1 has not completed"),
    (_lines(ev(1, "invoke", "read", None, 0), ev(1, "ok", "write", 1, 1)),
     ":2: completion f='write' key=None does not match the invoke at line 1"),
    (['{"process": 1, "type": "invoke", "f": "read"}'], ":1: missing field 'time'"),
    (_lines(ev(1, "begin", "read")), ":1: type 'begin' is not one of invoke, ok, fail, info"),
    (_lines(ev(1, "invoke", "read", time=1.5)), ":1: time 1.5 is not an integer"),
    (["[1, 2]"], ":1: expected a JSON object, got list"),
])
def test_bad_input_names_the_line(tmp_path, lines, message):
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(BadHistory) as err:
        read_history(path)
    assert message in str(err.value)
    assert str(path) in str(err.value)


def test_unknown_f_on_a_client_op_is_an_error():
    h = parse_lines(_lines(ev(1, "invoke", "increment", 1, 0), ev(1, "ok", "increment", 1, 1)),
                    source="h.jsonl")
    with pytest.raises(BadHistory, match=r"h.jsonl:1: f 'increment' is not an operation of model "
                                         r"'cas-register' \(expected one of read, write, cas\)"):
        check_linearizable(h, "cas-register")


def test_malformed_cas_value_is_an_error():
    h = parse_lines(_lines(ev(1, "invoke", "cas", 3, 0), ev(1, "ok", "cas", 3, 1)), source="h")
    with pytest.raises(BadHistory, match="line 1 .*cas value must be \\[expected, new\\], got 3"):
        check_linearizable(h, "cas-register")


def test_unknown_model_and_bad_options_are_value_errors():
    h = parse_lines(_lines(ev(1, "invoke", "read", None, 0), ev(1, "ok", "read", None, 1)))
    with pytest.raises(ValueError, match="unknown model 'queue'"):
        check_linearizable(h, "queue")
    with pytest.raises(ValueError, match="null_read 'maybe'"):
        check_linearizable(h, "cas-register", null_read="maybe")


def _file(tmp_path, data: bytes):
    path = tmp_path / "h.jsonl"
    path.write_bytes(data)
    return path


GOOD = [json.dumps(ev(1, "invoke", "write", 1, 0)), json.dumps(ev(1, "ok", "write", 1, 1))]
STALE = json.dumps(ev(2, "invoke", "read", None, 2)) + "\n" + json.dumps(ev(2, "ok", "read", 7, 3))


@pytest.mark.parametrize("last,message", [
    ('{"process": 3, "type": "ok"} and junk\n', ":3: not valid JSON (Extra data"),
    ("GARBAGE\n", ":3: not valid JSON (Expecting value"),
    ('{"process": 3, "type": "ok"} and junk', ":3: not valid JSON (Extra data"),
    ('{"process": 3]', ":3: not valid JSON (Expecting ',' delimiter"),
])
def test_a_complete_or_junk_last_line_is_an_error_not_a_torn_write(tmp_path, last, message):
    path = _file(tmp_path, ("\n".join(GOOD) + "\n" + last).encode())
    with pytest.raises(BadHistory, match=f"^{path}" + message.replace("(", r"\(")):
        read_history(path)


def test_every_proper_prefix_of_a_last_line_is_a_torn_write(tmp_path):
    """Whatever byte the writer died at, the history reads with one warning and the ops before."""
    line = json.dumps(ev(2, "ok", "txn", [["read", "x", -1.5e3], ["write", "y\u00e9\\\"", True]],
                         123, key="k\u00e9", n=None, b=False), ensure_ascii=False).encode()
    for cut in range(1, len(line)):
        path = _file(tmp_path, ("\n".join(GOOD) + "\n").encode() + line[:cut])
        h = read_history(path)
        assert len(h.ops) == 1 and len(h.warnings) == 1, (cut, line[:cut])
        assert h.warnings[0].startswith(f"{path}:3: skipped truncated last line (")


def test_a_complete_last_line_without_newline_is_kept(tmp_path):
    path = _file(tmp_path, ("\n".join(GOOD) + "\n" + STALE).encode())
    h = read_history(path)
    assert (len(h.ops), h.warnings) == (2, [])
    assert check_linearizable(h, "cas-register")["valid"] is False


@pytest.mark.parametrize("value,message", [
    ("NaN", ":2: NaN is not a JSON value"),
    ("Infinity", ":2: Infinity is not a JSON value"),
    ("-Infinity", ":2: -Infinity is not a JSON value"),
    ("1e999", ":2: number 1e999 is out of range"),
    ("1" * 5000, ":2: an integer with more digits than Python converts (4300)"),
    ("[" * 100000 + "]" * 100000, ":2: nested deeper than 64 levels"),
    ("[" * 65 + "]" * 65, ":2: nested deeper than 64 levels"),
])
def test_values_python_cannot_hold_or_json_does_not_have_name_the_line(tmp_path, value, message):
    data = GOOD[0] + "\n" + GOOD[1].replace('"value": 1', f'"value": {value}') + "\n"
    path = _file(tmp_path, data.encode())
    with pytest.raises(BadHistory) as err:
        read_history(path)
    assert str(err.value).startswith(f"{path}{message}")
    assert len(str(err.value)) < 200


def test_nesting_up_to_the_bound_is_accepted(tmp_path):
    value = "[" * 63 + "]" * 63
    data = GOOD[0] + "\n" + GOOD[1].replace('"value": 1', f'"value": {value}') + "\n"
    assert len(read_history(_file(tmp_path, data.encode())).ops) == 1


def test_a_raw_line_separator_inside_a_string_is_valid_json(tmp_path):
    """U+2028 / U+2029 / U+0085 are line breaks to str.splitlines, not to JSON Lines."""
    events = [ev(1, "invoke", "write", "a\u2028b\u2029c\x85", 0, key="k"),
              ev(1, "ok", "write", "a\u2028b\u2029c\x85", 1, key="k"),
              ev(2, "invoke", "read", None, 2, key="k"), ev(2, "ok", "read", "a\u2028b\u2029c\x85", 3, key="k")]
    path = _file(tmp_path, "\n".join(json.dumps(e, ensure_ascii=False) for e in events).encode() + b"\n")
    h = read_history(path)
    assert [op.value for op in h.ops] == ["a\u2028b\u2029c\x85"] * 2
    assert check_linearizable(h, "cas-register")["valid"] is True


def test_a_line_that_is_not_utf8_is_named(tmp_path):
    path = _file(tmp_path, GOOD[0].encode() + b"\n" + GOOD[1].encode().replace(b"write", b"wr\xffte") + b"\n")
    with pytest.raises(BadHistory, match=f"^{path}:2: not UTF-8 \\(byte "):
        read_history(path)


def _txn_history(invoke_value, ok_value, f="txn"):
    return parse_lines(_lines(ev(1, "invoke", f, invoke_value, 0), ev(1, "ok", f, ok_value, 1)),
                       source="h")


@pytest.mark.parametrize("model,invoke,ok,message", [
    ("kv", "x", 5, "line 1 (process 1, f 'put'): put value must be a string, got 5"),
    ("kv", "x", None, "put value must be a string, got None"),
    ("multi-register", [["write", "a", 1]], [["write", "b", 1]],
     "line 1 (process 1, f 'txn'): its completion (line 2) names register 'b', which the invoke does not"),
    ("multi-register", [["read", "a", None]], [["read", "a", None], ["read", 7, 1]],
     "names register 7, which the invoke does not"),
    ("multi-register", [["read", "a", None]], 3, "txn value must be a list"),
])
def test_completions_are_validated_not_only_invokes(model, invoke, ok, message):
    f = "put" if model == "kv" else "txn"
    with pytest.raises(BadHistory) as err:
        check_linearizable(_txn_history(invoke, ok, f), model)
    assert message in str(err.value)


@pytest.mark.parametrize("model,invoke,ok", [
    ("kv", "x", "x"),
    ("multi-register", [["write", "a", 1], ["read", "b", None]], [["write", "a", 1], ["read", "b", None]]),
])
def test_well_formed_completions_are_accepted(model, invoke, ok):
    f = "put" if model == "kv" else "txn"
    assert check_linearizable(_txn_history(invoke, ok, f), model)["valid"] is True


@pytest.mark.parametrize("name,reason", [("nul\x00name", "embedded null byte"),
                                         (".", "Is a directory"), ("missing", "No such file")])
def test_an_unreadable_path_is_named(tmp_path, name, reason):
    path = f"{tmp_path}/{name}"
    with pytest.raises(BadHistory, match=f"cannot read history: {reason}") as err:
        read_history(path)
    assert str(err.value).startswith(path)
