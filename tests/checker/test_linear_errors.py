"""The linearizability result names its violation in one line (`errors`), which the run
report prints: a stale read is named with the op, its value and the state it contradicts.
Paired: the same history with a fresh read is valid and has no errors line."""

import pytest

from checker import check_linearizable, parse_events


def history(*rows):
    events = []
    for t, (process, type_, f, value) in enumerate(rows):
        events.append((t + 1, {"process": process, "type": type_, "f": f, "value": value,
                               "key": "k1", "time": t}))
    return parse_events(events, source="h")


def stale_read_history(read_value):
    """p1 writes 1 then 2 (acknowledged), an info write 3 is pending; p2 then reads."""
    return history((1, "invoke", "write", 1), (1, "ok", "write", 1),
                   (1, "invoke", "write", 2), (1, "ok", "write", 2),
                   (3, "invoke", "write", 3), (3, "info", "write", 3),
                   (2, "invoke", "read", None), (2, "ok", "read", read_value))


@pytest.mark.parametrize("read_value", [2, 3])
def test_fresh_read_is_valid_without_errors(read_value):
    result = check_linearizable(stale_read_history(read_value), "cas-register")
    assert result["valid"] is True
    assert "errors" not in result and "counterexample" not in result


def test_stale_read_is_named_in_one_line():
    result = check_linearizable(stale_read_history(1), "cas-register")
    assert result["valid"] is False and result["invalid_keys"] == ["k1"]
    [line] = result["errors"]
    assert line.startswith("key k1: not linearizable")
    assert "ok read 1 (process 2, history line 7) is not legal in state" in line
    stuck = result["counterexample"]["not_placeable_next"]
    assert [(op["f"], op["value"]) for op in stuck] == [("read", 1)]
    assert f"the state is {result['counterexample']['state_after_longest']!r}" in line
