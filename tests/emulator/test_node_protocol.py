"""Protocol pieces without a cluster: request validation, peer codec, state machine,
the error registry and its generated table in docs/protocol.md."""

import dataclasses
import json
from pathlib import Path

import pytest

from emulator.errors import REGISTRY, NodeError, markdown_table
from emulator.protocol import command, message_from_json, message_to_json, parse_request
from emulator.raft._types import Entry, Message, MsgType, Snapshot
from emulator.statemachine import KV

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def test_protocol_doc_error_table_is_the_registry():
    text = DOC.read_text()
    table = text.split("<!-- errors:begin -->\n")[1].split("<!-- errors:end -->")[0]
    assert table == markdown_table()


def test_every_code_has_a_definite_flag_and_doc_row():
    text = DOC.read_text()
    for code, e in REGISTRY.items():
        assert f"| `{code}` | {'true' if e.definite else 'false'} |" in text
    assert REGISTRY["not_leader"].definite and not REGISTRY["timeout"].definite


@pytest.mark.parametrize("line,code,fragment", [
    (b"{nope", "bad_request", "not valid JSON"),
    (b"[1]", "bad_request", "JSON object"),
    (b'{"op":"frob","id":4}', "unknown_op", "'frob'"),
    (b'{"op":"put","key":"k","id":5}', "bad_request", "needs field 'value'"),
    (b'{"op":"get","key":[1]}', "bad_request", "field 'key'"),
    (b'{"op":"set_clock_offset","offset_ms":"x"}', "bad_request", "offset_ms"),
    (b'{"op":"get","key":"k","local":"yes"}', "bad_request", "field 'local'"),
])
def test_bad_requests_are_definite_errors_naming_the_field(line, code, fragment):
    with pytest.raises(NodeError) as e:
        parse_request(line)
    reply = e.value.reply()
    assert (reply["error"], reply["definite"]) == (code, True)
    assert fragment in reply["message"]


def test_bad_request_echoes_the_id_when_readable():
    with pytest.raises(NodeError) as e:
        parse_request(b'{"op":"put","key":"k","id":5}')
    assert e.value.fields == {"id": 5}


def test_command_carries_only_the_op_fields_and_request_id():
    req = parse_request(b'{"op":"cas","key":1,"from":null,"to":2,"id":9,"junk":true}')
    assert json.loads(command(req, "n1-x-1")) == {"rid": "n1-x-1", "op": "cas", "key": 1,
                                                  "from": None, "to": 2}


def test_peer_message_round_trip():
    m = Message(type=MsgType.APPEND, src="n1", dst="n2", term=3, log_term=2, index=7, commit=6,
                entries=(Entry(3, 8, b"\x00\xff"), Entry(3, 9, None)), context=4)
    s = Message(type=MsgType.SNAPSHOT, src="n1", dst="n3", term=3,
                snapshot=Snapshot(9, 3, b'{"a":1}'))
    r = Message(type=MsgType.APPEND_RESP, src="n2", dst="n1", term=3, index=5, reject=True)
    for msg in (m, s, r):
        assert message_from_json(json.loads(json.dumps(message_to_json(msg)))) == msg


def _non_default(field: dataclasses.Field, n: int):
    """A value for `field` that differs from its default, by the default's type."""
    if field.name == "type":
        return MsgType.APPEND_RESP
    if field.name == "entries":
        return (Entry(3, 8, b"\x00\xff"), Entry(3, 9, None))
    if field.name == "snapshot":
        return Snapshot(9, 3, b'{"a":1}')
    default = field.default
    if isinstance(default, bool):
        return not default
    if isinstance(default, int) or field.type in ("int", int):
        return 100 + n
    if field.type in ("str", str):
        return f"peer{n}"
    raise AssertionError(f"Message field {field.name!r} is new: give it a non-default value "
                         f"here and make sure emulator/protocol.py encodes it")


def test_peer_codec_round_trips_every_message_field():
    fields = dataclasses.fields(Message)
    full = Message(**{f.name: _non_default(f, i) for i, f in enumerate(fields)})
    assert message_from_json(json.loads(json.dumps(message_to_json(full)))) == full
    base = Message(type=MsgType.APPEND, src="n1", dst="n2", term=1)
    for i, f in enumerate(fields):  # each field alone, so one cannot mask another
        one = dataclasses.replace(base, **{f.name: _non_default(f, i)})
        assert one != base, f.name
        assert message_from_json(json.loads(json.dumps(message_to_json(one)))) == one, f.name


def test_state_machine_digest_follows_contents_not_history():
    a, b = KV(), KV()
    assert a.digest() == b.digest() and len(a.digest()) == 16
    a.apply({"op": "put", "key": "x", "value": {"p": 1, "q": 2}})
    a.apply({"op": "put", "key": 2, "value": 3})
    before = a.digest()
    b.apply({"op": "put", "key": 2, "value": 3})  # other order, same contents
    b.apply({"op": "put", "key": "x", "value": {"q": 2, "p": 1}})
    assert b.digest() == before
    a.apply({"op": "append", "key": "l", "value": 1})
    assert a.digest() != before  # the cache is dropped on every write
    with pytest.raises(NodeError):
        a.apply({"op": "append", "key": 2, "value": 1})
    c = KV()
    c.load(a.dump())
    assert c.digest() == a.digest() != KV().digest()
    c.load(b.dump())
    assert c.digest() == before


def test_state_machine_ops_and_definite_failures():
    kv = KV()
    assert kv.apply({"op": "put", "key": "a", "value": 1}) == {}
    assert kv.apply({"op": "cas", "key": "a", "from": 1, "to": 2}) == {}
    with pytest.raises(NodeError) as e:
        kv.apply({"op": "cas", "key": "a", "from": 1, "to": 3})
    assert e.value.reply()["error"] == "precondition_failed" and e.value.fields["value"] == 2
    assert kv.apply({"op": "append", "key": 7, "value": "x"}) == {"value": ["x"]}
    assert kv.preview({"op": "append", "key": 7, "value": "y"}) == {"value": ["x", "y"]}
    assert kv.get(7) == ["x"] and kv.get("7") is None
    with pytest.raises(NodeError, match="not a list"):
        kv.apply({"op": "append", "key": "a", "value": 1})
    copy = KV()
    copy.load(kv.dump())
    assert copy.data == kv.data
