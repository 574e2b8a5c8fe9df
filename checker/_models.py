"""Sequential specifications the linearizability search checks against (layer: checker).

A model turns each op of one key into a *transition*: a function from a state
to the next state, or `ILLEGAL` if the op cannot happen in that state. States
are hashable (they go into the search's memo). An op that constrains nothing
(an `info` read, or a read of null when null means "value unknown") compiles
to None and is left out of the search: it can be placed anywhere.

Models, as in tests/data/corpus/README.md:
- `cas-register`: f read / write / cas ([expected, new]) on one register per key.
- `kv`: get / put / append on string values per key; a key never written reads
  as "" (and a get of null reads as "" unless null means unknown).
- `multi-register`: f txn, value a list of [read|write, register, v] applied
  atomically; every register starts at the initial value.

A single-register model also offers `register_view(op, null_read)` (the value the op
reads and the value it writes) and `initial_state(initial_value)`, which the read-mapping
fast path (checker/_readmap.py) uses instead of transitions.

`initial_value` is the start state of every register / key. None means the
model's default: null for the registers, "" for kv. With `free_initial=True`
the start state is unknown (used to test a window cut out of a history).
"""

from __future__ import annotations

from checker._history import BadHistory, Op

ILLEGAL = object()   # transition result: the op cannot happen in this state
ANY = object()       # an unknown register value (free initial state)
NOTHING = object()   # register_view: the op reads (or writes) no value
UNMAPPED = "unmapped"  # register_view: the value read is not one op's write (kv append)
NULL_READS = ("absent", "unknown")


SCALARS = frozenset({int, str, type(None), float, bool})


def freeze(value):
    """JSON value -> hashable equivalent (lists become tuples)."""
    if type(value) in SCALARS:   # most values: the isinstance tests below cost more
        return value
    if isinstance(value, list):
        return tuple([freeze(v) for v in value])
    if isinstance(value, dict):
        return tuple(sorted((k, freeze(v)) for k, v in value.items()))
    return value


def _where(op: Op) -> str:
    return f"line {op.line} (process {op.process!r}, f {op.f!r})"


class CasRegister:
    """A register per key with read, write and compare-and-set."""

    name = "cas-register"
    fs = ("read", "write", "cas")
    validated = ("cas",)   # the fs whose ops `validate` looks at (reads and writes take any value)

    def validate(self, op: Op) -> None:
        if op.f == "cas":
            value = op.value if op.type == "ok" else op.invoke_value
            if not (isinstance(value, list) and len(value) == 2):
                raise BadHistory(f"{_where(op)}: cas value must be [expected, new], got {value!r}")

    def bind(self, ops, initial_value=None, null_read="absent", free_initial=False):
        """(initial state, [transition or None per op]). An info write or cas whose value no
        op reads is left out (None): it may never have happened, and if it did, the next
        op that changes nothing about that is a write, so dropping it keeps every
        linearization valid."""
        init = ANY if free_initial else freeze(initial_value)
        # freeze only what is not a scalar already: a call per op costs more than the test
        values = [v if type(v) in SCALARS else freeze(v) for v in [op.value for op in ops]]
        read = set()
        for op, value in zip(ops, values):
            if op.f == "cas":
                read.add(value[0])
            elif op.f == "read" and op.type == "ok":
                read.add(value)
        compile_ = self._compile
        return init, [None if (op.type == "info" and op.f != "read"   # unobserved (inlined)
                               and (value if op.f == "write" else value[1]) not in read)
                      else compile_(op, value, null_read, free_initial)
                      for op, value in zip(ops, values)]

    @staticmethod
    def _compile(op, value, null_read, free_initial):
        """The op's transition (`value`: its value frozen); from a known initial value no
        state is ever ANY, and the transitions skip that test (they run millions of times
        in a search)."""
        if op.f == "read":
            if op.type != "ok" or (value is None and null_read == "unknown"):
                return None
            if not free_initial:
                return lambda s: value if s == value else ILLEGAL
            return lambda s: value if (s == value or s is ANY) else ILLEGAL
        if op.f == "write":
            return lambda s: value
        expected, new = value
        if not free_initial:
            return lambda s: new if s == expected else ILLEGAL
        return lambda s: new if (s == expected or s is ANY) else ILLEGAL

    @staticmethod
    def read_only(op) -> bool:
        """The op's transition leaves every concrete state where it is legal unchanged."""
        return op.f == "read"

    def register_view(self, op, null_read):
        """(value read, value written) with NOTHING for none, or None if the op constrains
        nothing (as _compile): a cas reads its expected value and writes its new one."""
        value = op.value
        if type(value) not in SCALARS:
            value = freeze(value)
        if op.f == "read":
            if op.type != "ok" or (value is None and null_read == "unknown"):
                return None
            return value, NOTHING
        if op.f == "write":
            return NOTHING, value
        return value

    @staticmethod
    def initial_state(initial_value):
        return freeze(initial_value)


class KV:
    """Independent string registers per key: get, put, append."""

    name = "kv"
    fs = ("get", "put", "append")
    validated = fs

    def validate(self, op: Op) -> None:
        if op.f in ("put", "append"):
            for value in (op.invoke_value, op.value):   # an ok's own value is what is applied
                if not isinstance(value, str):
                    raise BadHistory(f"{_where(op)}: {op.f} value must be a string, got {value!r}")
        if op.f == "get" and op.type == "ok" and not isinstance(op.value, (str, type(None))):
            raise BadHistory(f"{_where(op)}: get must return a string or null, got {op.value!r}")

    def bind(self, ops, initial_value=None, null_read="absent", free_initial=False):
        """(initial state, [transition or None per op]). An info put or append whose value
        is in no get's value is left out: had it taken effect, every get until the next
        put would contain it, so it was not observed and may never have happened."""
        if free_initial:
            init = (ANY, "")
        else:
            init = "" if initial_value is None else initial_value
        seen = "\0".join(op.value for op in ops if op.f == "get" and op.type == "ok"
                          and op.value is not None)
        return init, [None if _unobserved_kv(op, seen)
                      else self._compile(op, null_read, free_initial) for op in ops]

    @staticmethod
    def _compile(op, null_read, free_initial):
        """As CasRegister._compile: only a free initial state needs (ANY, suffix) states."""
        value = op.value if op.type == "ok" else op.invoke_value
        if op.f == "get":
            if op.type != "ok" or (value is None and null_read == "unknown"):
                return None
            value = "" if value is None else value
            if not free_initial:
                return lambda s: value if s == value else ILLEGAL
            return lambda s: value if (s == value or _kv_suffix_match(s, value)) else ILLEGAL
        if op.f == "put":
            return lambda s: value
        if not free_initial:
            return lambda s: s + value
        return lambda s: s + value if isinstance(s, str) else (ANY, s[1] + value)

    @staticmethod
    def read_only(op) -> bool:
        return op.f == "get"

    @staticmethod
    def register_view(op, null_read):
        """As CasRegister.register_view for get / put; UNMAPPED for append (a get then reads
        a concatenation, not one op's write)."""
        value = op.value if op.type == "ok" else op.invoke_value
        if op.f == "get":
            if op.type != "ok" or (value is None and null_read == "unknown"):
                return None
            return ("" if value is None else value), NOTHING
        if op.f == "put":
            return NOTHING, value
        return UNMAPPED

    @staticmethod
    def initial_state(initial_value):
        return "" if initial_value is None else initial_value


def _unobserved_kv(op, seen) -> bool:
    value = op.invoke_value
    return op.type == "info" and op.f != "get" and "\0" not in value and value not in seen


def _kv_suffix_match(state, value):
    """A state (ANY, suffix) is any string ending in suffix."""
    return isinstance(state, tuple) and value.endswith(state[1])


class MultiRegister:
    """Registers updated by atomic transactions of reads and writes."""

    name = "multi-register"
    fs = ("txn",)
    validated = fs

    def validate(self, op: Op) -> None:
        for value in (op.invoke_value, op.value):
            if not isinstance(value, list):
                raise BadHistory(f"{_where(op)}: txn value must be a list of [f, register, v], "
                                 f"got {value!r}")
            for micro in value:
                if not (isinstance(micro, list) and len(micro) == 3 and micro[0] in ("read", "write")
                        and isinstance(micro[1], (str, int))):
                    raise BadHistory(f"{_where(op)}: txn micro-op must be [read|write, register, v], "
                                     f"got {micro!r}")
        named = {m[1] for m in op.invoke_value}
        stray = [m[1] for m in op.value if m[1] not in named]
        if stray:
            raise BadHistory(f"{_where(op)}: its completion (line {op.complete_line}) names register "
                             f"{stray[0]!r}, which the invoke does not")

    def bind(self, ops, initial_value=None, null_read="absent", free_initial=False):
        names = sorted({m[1] for op in ops for m in op.invoke_value}, key=str)
        index = {name: i for i, name in enumerate(names)}
        start = ANY if free_initial else freeze(initial_value)
        init = tuple(start for _ in names)
        return init, [self._compile(op, null_read, index) for op in ops]

    @staticmethod
    def read_only(op) -> bool:
        return all(m[0] == "read" for m in (op.value if op.type == "ok" else op.invoke_value))

    @staticmethod
    def _compile(op, null_read, index):
        wildcard = op.type != "ok"
        micro = []
        for f, reg, v in op.value if op.type == "ok" else op.invoke_value:
            v = freeze(v)
            if f == "read" and (wildcard or (v is None and null_read == "unknown")):
                continue
            micro.append((f == "write", index[reg], v))
        if not micro:
            return None
        return lambda s: _apply_txn(s, micro)


def _apply_txn(state, micro):
    regs = list(state)
    for is_write, i, v in micro:
        if is_write:
            regs[i] = v
        elif regs[i] == v or regs[i] is ANY:
            regs[i] = v
        else:
            return ILLEGAL
    return tuple(regs)


MODELS = {m.name: m for m in (CasRegister(), KV(), MultiRegister())}


def get_model(name: str):
    """The model called `name`; ValueError naming the choices otherwise."""
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}: expected one of {', '.join(MODELS)}") from None
