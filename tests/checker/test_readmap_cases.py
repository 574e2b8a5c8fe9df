"""Hand-written accept/reject pairs for the read-mapping fast path, one per kind of
violation, with info ops; and when it must hand the key to the search instead.

Histories are compact tuples (process, type, f, value[, key]), time = position. Each
rejecting history has an accepting twin that differs in one detail; the whole result is
asserted: verdict, method, the certificate's ops and its kind.
"""

import pytest

from checker import check_linearizable, parse_events


def history(*rows):
    events = []
    for t, row in enumerate(rows):
        process, type_, f, value, *key = row
        events.append((t + 1, {"process": process, "type": type_, "f": f, "value": value,
                               "key": key[0] if key else None, "time": t}))
    return parse_events(events, source="h")


def op(process, f, value, type_="ok"):
    """An op that completes before the next one starts."""
    return [(process, "invoke", f, value if f != "read" else None), (process, type_, f, value)]


def check(rows, model="cas-register", **kw):
    return check_linearizable(history(*rows), model, **kw)


def certificate(result):
    """(kind, [(f, value) of the certificate's ops])."""
    cert = result["counterexample"]["certificate"]
    return cert["kind"], [(o["f"], o["value"]) for o in cert["ops"]]


def test_a_valid_history_is_decided_by_the_read_mapping():
    result = check(op(1, "write", 1) + op(2, "read", 1) + op(1, "cas", [1, 2]) + op(2, "read", 2))
    assert result["valid"] is True
    assert (result["method"], result["keys_by_method"], result["fallback"]) == (
        "read-mapping", {"read-mapping": 1, "search": 0}, {})
    assert "counterexample" not in result


@pytest.mark.parametrize("read,expected", [(1, True), (7, False)])
def test_a_read_of_a_value_nobody_wrote(read, expected):
    result = check(op(1, "write", 1) + op(2, "read", read))
    assert result["valid"] is expected
    if not expected:
        assert certificate(result) == ("unwritten", [("read", 7)])
        ce = result["counterexample"]
        assert "reads 7, which no op wrote" in ce["certificate"]["why"]
        # shown with the last write before it: the state the read contradicts
        assert [o["value"] for o in ce["not_placeable_next"]] == [7]
        assert ce["state_after_longest"] == 1


@pytest.mark.parametrize("read,expected", [(2, True), (1, False)])
def test_a_stale_read_is_a_two_chain_cycle(read, expected):
    result = check(op(1, "write", 1) + op(1, "write", 2) + op(2, "read", read))
    assert result["valid"] is expected
    if not expected:
        assert certificate(result) == ("cycle", [("write", 1), ("write", 2), ("read", 1)])


def test_a_read_of_the_initial_value_after_a_completed_write_is_invalid():
    concurrent = [(1, "invoke", "write", 1), (2, "invoke", "read", None),
                  (1, "ok", "write", 1), (2, "ok", "read", None)]
    assert check(concurrent)["valid"] is True
    result = check(op(1, "write", 1) + op(2, "read", None))
    assert result["valid"] is False
    assert certificate(result) == ("cycle", [("write", 1), ("read", None)])


def test_a_read_that_completes_before_its_write_starts():
    early = [(2, "invoke", "read", None), (2, "ok", "read", 5)] + op(1, "write", 5)
    concurrent = [(2, "invoke", "read", None), (1, "invoke", "write", 5),
                  (2, "ok", "read", 5), (1, "ok", "write", 5)]
    assert check(concurrent)["valid"] is True
    result = check(early)
    assert result["valid"] is False
    assert certificate(result) == ("read-before-write", [("read", 5), ("write", 5)])


@pytest.mark.parametrize("second,expected", [([2, 3], True), ([1, 3], False)])
def test_two_cas_of_one_value(second, expected):
    result = check(op(1, "write", 1) + op(2, "cas", [1, 2]) + op(3, "cas", second))
    assert result["valid"] is expected
    if not expected:
        assert certificate(result) == ("two-cas", [("write", 1), ("cas", [1, 2]), ("cas", [1, 3])])


def test_a_cycle_of_cas():
    rows = [(1, "invoke", "cas", [2, 1]), (2, "invoke", "cas", [1, 2]),
            (1, "ok", "cas", [2, 1]), (2, "ok", "cas", [1, 2])]
    result = check(rows)
    assert result["valid"] is False
    assert certificate(result) == ("cas-cycle", [("cas", [2, 1]), ("cas", [1, 2])])
    assert check(rows, initial_value=2)["valid"] is True


@pytest.mark.parametrize("cas,expected", [([3, 2], True), ([1, 2], False)])
def test_cas_fixes_the_order_of_writes(cas, expected):
    """w1 completes before the read of 3 starts, so w1 comes before w3; a cas of 1 after the
    read needs w1 right before it, with w3 and its read in between: impossible."""
    rows = [(1, "invoke", "write", 1), (3, "invoke", "write", 3), (3, "ok", "write", 3),
            (1, "ok", "write", 1)] + op(4, "read", 3) + op(2, "cas", cas)
    result = check(rows)
    assert result["valid"] is expected
    if not expected:
        assert certificate(result) == ("cycle", [("write", 1), ("write", 3), ("read", 3),
                                                 ("cas", [1, 2])])


def test_an_op_of_a_later_cas_segment_completing_before_an_earlier_one_starts():
    def rows(read_1_starts_first):
        head = op(1, "write", 1) + [(2, "invoke", "cas", [1, 2]), (4, "invoke", "read", None)]
        read_1 = [(3, "invoke", "read", None)]
        read_2_ok = [(4, "ok", "read", 2)]
        middle = read_1 + read_2_ok if read_1_starts_first else read_2_ok + read_1
        return head + middle + [(3, "ok", "read", 1), (2, "ok", "cas", [1, 2])]
    assert check(rows(True))["valid"] is True
    result = check(rows(False))
    assert result["valid"] is False
    assert certificate(result) == ("chain-order", [("write", 1), ("cas", [1, 2]), ("read", 2),
                                                   ("read", 1)])


@pytest.mark.parametrize("read,expected", [(9, True), (5, True), (None, False)])
def test_an_info_write_may_take_effect_late_or_never(read, expected):
    rows = op(1, "write", 5) + op(2, "write", 9, "info") + op(3, "read", read)
    result = check(rows)
    assert result["valid"] is expected and result["method"] == "read-mapping"


def test_an_info_write_nobody_read_is_dropped_and_one_that_was_read_is_kept():
    unread = op(1, "write", 1) + op(2, "write", 2, "info") + op(3, "read", 1)
    assert check(unread)["valid"] is True
    read = unread + op(4, "read", 2) + op(5, "read", 1)
    result = check(read)
    assert result["valid"] is False
    kind, ops = certificate(result)
    assert kind == "cycle" and ("write", 2) in ops


def test_an_info_cas_that_was_read_must_have_happened():
    rows = op(1, "write", 1) + op(2, "cas", [1, 2], "info") + op(3, "read", 2)
    assert check(rows)["valid"] is True
    result = check(rows + op(4, "read", 1))
    assert result["valid"] is False
    kind, ops = certificate(result)
    assert kind == "chain-order" and ("cas", [1, 2]) in ops and ("read", 2) in ops


def test_kv_put_and_get_use_the_read_mapping_and_append_falls_back():
    puts = op(1, "put", "a") + op(2, "get", "a")
    puts = [r + ("k",) for r in puts]
    assert check(puts, "kv")["method"] == "read-mapping"
    stale = puts + [r + ("k",) for r in op(1, "put", "b") + op(2, "get", "a")]
    assert check(stale, "kv")["valid"] is False
    appends = [r + ("k",) for r in op(1, "append", "a") + op(2, "get", "a")]
    result = check(appends, "kv")
    assert (result["valid"], result["method"]) == (True, "search")
    assert result["fallback"] == {"kv append: a read is not one op's write": 1}


def test_keys_are_decided_by_either_path_and_named():
    rows = [r + ("a",) for r in op(1, "write", 1) + op(2, "read", 1)]
    rows += [r + ("b",) for r in op(1, "write", 1) + op(1, "write", 1) + op(2, "read", 1)]
    result = check(rows)
    assert result["valid"] is True
    assert (result["method"], result["keys_by_method"]) == (
        "read-mapping+search", {"read-mapping": 1, "search": 1})
    assert result["fallback"] == {"a value read is written more than once": 1}
    assert check(rows, method="search")["method"] == "search"


@pytest.mark.parametrize("initial,expected", [(None, True), (0, False)])
def test_a_value_read_that_is_also_the_initial_value_falls_back(initial, expected):
    """With initial value 0, a read of 0 may map to the initial value or to the write."""
    rows = op(1, "write", 0) + op(2, "read", 0)
    result = check(rows, initial_value=initial)
    assert result["valid"] is True
    assert (result["method"] == "read-mapping") is expected


def test_an_invalid_read_mapped_key_skips_the_search_of_the_others():
    rows = [r + ("a",) for r in op(1, "write", 1) + op(2, "read", 7)]
    rows += [r + ("b",) for r in op(1, "write", 1) + op(1, "write", 1) + op(2, "read", 1)]
    result = check(rows)
    assert (result["valid"], result["invalid_keys"], result["keys_skipped"]) == (False, ["a"], 1)


def test_bad_method_is_refused():
    with pytest.raises(ValueError, match="method 'fast'"):
        check(op(1, "write", 1), method="fast")
