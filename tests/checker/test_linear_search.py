"""Hand-written accept/reject pairs for the linearizability checker, with info ops.

Each history is written as compact tuples: (process, type, f, value[, key]),
time = position. Every rejecting case has an accepting twin that differs in one
detail, so a checker that says "valid" (or "invalid") everywhere fails here.
"""

import pytest

import checker._linear as linear
from checker import check_linearizable, parse_events


def history(*rows):
    events = []
    for t, row in enumerate(rows):
        process, type_, f, value, *key = row
        events.append((t + 1, {"process": process, "type": type_, "f": f, "value": value,
                               "key": key[0] if key else None, "time": t}))
    return parse_events(events, source="h")


def verdict(h, model="cas-register", **kw):
    return check_linearizable(h, model, **kw)["valid"]


W1_W2_CONCURRENT = [(1, "invoke", "write", 1), (2, "invoke", "write", 2), (1, "ok", "write", 1),
                    (2, "ok", "write", 2)]


@pytest.mark.parametrize("final,expected", [(1, True), (2, True), (3, False)])
def test_concurrent_writes_either_order(final, expected):
    """The memo must key on state too: order W1,W2 fails a read of 1, order W2,W1 passes."""
    h = history(*W1_W2_CONCURRENT, (3, "invoke", "read", None), (3, "ok", "read", final))
    assert verdict(h) is expected


@pytest.mark.parametrize("read,expected", [(1, True), (0, False)])
def test_sequential_write_then_read(read, expected):
    h = history((1, "invoke", "write", 1), (1, "ok", "write", 1),
                (2, "invoke", "read", None), (2, "ok", "read", read))
    assert verdict(h, initial_value=0) is expected


@pytest.mark.parametrize("second,expected", [(1, True), (0, True), (7, False)])
def test_info_write_may_take_effect_any_time_later_or_never(second, expected):
    h = history((1, "invoke", "write", 1), (1, "info", "write", 1),
                (2, "invoke", "read", None), (2, "ok", "read", 0),
                (2, "invoke", "read", None), (2, "ok", "read", second))
    assert verdict(h, initial_value=0) is expected


@pytest.mark.parametrize("type_,expected", [("info", True), ("ok", False)])
def test_an_info_cas_that_cannot_apply_does_not_block(type_, expected):
    h = history((1, "invoke", "cas", [9, 1]), (1, type_, "cas", [9, 1]))
    assert verdict(h, initial_value=0) is expected


@pytest.mark.parametrize("type_,expected", [("fail", False), ("ok", True), ("info", True)])
def test_fail_ops_did_not_take_effect(type_, expected):
    h = history((1, "invoke", "write", 3), (1, type_, "write", 3),
                (2, "invoke", "read", None), (2, "ok", "read", 3))
    assert verdict(h, initial_value=0) is expected


@pytest.mark.parametrize("null_read,expected", [("absent", False), ("unknown", True)])
def test_null_read_semantics(null_read, expected):
    h = history((1, "invoke", "write", 3), (1, "ok", "write", 3),
                (2, "invoke", "read", None), (2, "ok", "read", None))
    assert verdict(h, null_read=null_read) is expected


@pytest.mark.parametrize("got,expected", [("ab", True), ("b", False), ("", False)])
def test_kv_append_and_get(got, expected):
    h = history((1, "invoke", "append", "a", "k"), (1, "ok", "append", "a", "k"),
                (1, "invoke", "append", "b", "k"), (1, "ok", "append", "b", "k"),
                (2, "invoke", "get", None, "k"), (2, "ok", "get", got, "k"),
                (2, "invoke", "get", None, "other"), (2, "ok", "get", "", "other"))
    assert verdict(h, "kv") is expected


@pytest.mark.parametrize("y,expected", [(2, True), (0, False)])
def test_multi_register_txn_is_atomic(y, expected):
    write = [["write", "x", 1], ["write", "y", 2]]
    read = [["read", "x", None], ["read", "y", None]]
    h = history((1, "invoke", "txn", write), (1, "ok", "txn", write),
                (2, "invoke", "txn", read), (2, "ok", "txn", [["read", "x", 1], ["read", "y", y]]))
    assert verdict(h, "multi-register", initial_value=0, null_read="unknown") is expected


def test_one_invalid_key_makes_the_history_invalid_and_is_named():
    h = history((1, "invoke", "write", 1, "a"), (1, "ok", "write", 1, "a"),
                (2, "invoke", "write", 5, "b"), (2, "ok", "write", 5, "b"),
                (2, "invoke", "read", None, "b"), (2, "ok", "read", 4, "b"))
    result = check_linearizable(h, "cas-register")
    assert (result["valid"], result["keys"], result["invalid_keys"]) == (False, 2, ["b"])
    ce = result["counterexample"]
    assert ce["key"] == "b"
    assert [(op["f"], op["value"]) for op in ce["window"]["ops"]] == [("write", 5), ("read", 4)]
    assert [(op["f"], op["state_after"]) for op in ce["longest_linearization"]] == [("write", 5)]
    assert ce["state_after_longest"] == 5
    assert [(op["f"], op["value"], op["process"], op["invoke_time"], op["complete_time"], op["why"])
            for op in ce["not_placeable_next"]] == [("read", 4, 2, 4, 5, "not legal in state 5")]


def test_window_is_shrunk_to_the_failing_part():
    rows = []
    for i in range(30):
        rows += [(1, "invoke", "write", i), (1, "ok", "write", i),
                 (2, "invoke", "read", None), (2, "ok", "read", i)]
    rows += [(1, "invoke", "write", 100), (1, "ok", "write", 100),
             (2, "invoke", "read", None), (2, "ok", "read", 29)]
    rows += [(1, "invoke", "write", 7), (1, "ok", "write", 7)]
    result = check_linearizable(history(*rows), "cas-register")
    window = result["counterexample"]["window"]
    assert [(op["f"], op["value"]) for op in window["ops"]] == [("write", 100), ("read", 29)]
    assert window["starts_from"] == "any state (quiescent point)"


def _hard_history(keys=1, n=14):
    """Many concurrent writes, each value written twice, then two reads that no order
    explains: exponential without the memo, large with it. The values read are written
    twice, so the read-mapping does not apply and the search decides (method "search")."""
    rows = []
    for k in range(keys):
        rows += [(p, "invoke", "write", p % (n // 2), k) for p in range(n)]
        rows += [(p, "ok", "write", p % (n // 2), k) for p in range(n)]
        rows += [(99, "invoke", "read", None, k), (99, "ok", "read", 0, k),
                 (99, "invoke", "read", None, k), (99, "ok", "read", 1, k)]
    return history(*rows)


def test_time_limit_gives_unknown_with_coverage():
    result = check_linearizable(_hard_history(n=40), "cas-register", time_limit=0.2)
    assert result["valid"] == "unknown"
    assert (result["keys"], result["keys_decided"], result["coverage"]) == (1, 0, 0.0)
    assert result["reason"] == ["time limit"]
    assert result["elapsed_s"] < 5
    assert (result["method"], result["fallback"]) == (
        "search", {"a value read is written more than once": 1})


def test_memory_limit_gives_unknown_not_a_crash():
    result = check_linearizable(_hard_history(n=40), "cas-register", max_memo_bytes=1 << 20,
                                time_limit=30)
    assert result["valid"] == "unknown"
    assert result["reason"] == ["memory limit"]


def test_parallel_workers_agree_with_one_process(monkeypatch):
    h = _hard_history(keys=3, n=12)
    one = check_linearizable(h, "cas-register", workers=1)
    monkeypatch.setattr(linear, "SOLO_SECONDS", 0.0)
    pooled = []
    real = linear.run_keys_parallel
    monkeypatch.setattr(linear, "run_keys_parallel",
                        lambda model, keys, *a: pooled.append(len(keys)) or real(model, keys, *a))
    two = check_linearizable(h, "cas-register", workers=2)
    assert pooled and pooled[0] >= 2, "the keys must have gone through the process pool"
    assert one["valid"] is False and two["valid"] is False
    assert two["invalid_keys"] and set(two["invalid_keys"]) <= {0, 1, 2}


@pytest.mark.parametrize("gets,expected", [(("a", "a"), True), (("ab", "a"), False),
                                           (("ab", "ab"), True)])
def test_kv_info_append_observed_or_not(gets, expected):
    """An info append nobody saw is left out of the search (it may never have happened);
    one a get saw took effect, so a later get without it is a violation."""
    rows = [(1, "invoke", "append", "a", "k"), (1, "ok", "append", "a", "k"),
            (3, "invoke", "append", "b", "k"), (3, "info", "append", "b", "k")]
    for got in gets:
        rows += [(2, "invoke", "get", None, "k"), (2, "ok", "get", got, "k")]
    assert verdict(history(*rows), "kv") is expected


@pytest.mark.parametrize("final,expected", [("x", True), ("y", False)])
def test_many_unobserved_info_ops_do_not_blow_up_the_search(final, expected):
    """40 concurrent info appends nobody saw: 2^40 subsets for a search that kept them."""
    rows = [(p, "invoke", "append", f"<{p}>", "k") for p in range(40)]
    rows += [(p, "info", "append", f"<{p}>", "k") for p in range(40)]
    rows += [(99, "invoke", "put", "x", "k"), (99, "ok", "put", "x", "k"),
             (98, "invoke", "get", None, "k"), (98, "ok", "get", final, "k")]
    result = check_linearizable(history(*rows), "kv", time_limit=10)
    assert result["valid"] is expected
