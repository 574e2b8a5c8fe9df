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
