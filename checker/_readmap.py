"""Read-mapping decision for register keys whose written values are unique (layer: checker).

When each value read was written by one op only (or is the initial value and nobody
wrote it), every read maps to the write it observed, and deciding linearizability of
one register is polynomial (Gibbons and Korach, "Testing shared memories", SIAM J.
Comput. 26(4), 1997) rather than NP-complete. `decide` does it in O(n log n) for the
ops of one key, or says why the mapping does not apply (the caller then runs the
search of checker/_search.py).

The theory, for one key (fail ops already dropped by checker/_partition.py):
- An info read constrains nothing. An info write or cas whose value no needed op reads
  may never have happened and is dropped: removing it from a linearization leaves one.
  ok ops are needed, and so is the op that wrote what a needed op reads (an info op
  then has an interval with no end).
- A *segment* is a write-type op (write, cas, or the virtual op that wrote the initial
  value at time -inf) and the reads of its value. It is contiguous in a linearization:
  between the write and the last read of its value there is neither a write (values are
  unique) nor a read of another value.
- A cas reading v comes right after v's segment (the state must still be v) and starts
  its own: cas ops link segments into *chains*, contiguous, in a fixed order. Two cas
  reading one value, an op reading a value nobody wrote, or a cycle of cas is a violation.
- Real time: x precedes y when x completed before y was invoked (f_x < s_y; intervals
  are closed). Inside a chain this forbids a read completing before its write is
  invoked, and an op of a later segment completing before one of an earlier segment is
  invoked. Chain X must precede chain Y iff F(X) < S(Y) (F: earliest completion in X,
  S: latest invocation in Y). This relation has a cycle iff it has one of two chains:
  if X -> Y but not Y -> X, then min(F_X, S_X) <= min(F_Y, S_Y), and at equality
  S_X <= F_X while F_Y < S_Y; so sorting by (min(F, S), S > F) puts every such edge
  forwards, and an edge going backwards is a two-chain cycle.

A valid verdict is proven by a witness: the chains in that order, in each segment the
write then its reads by invocation time, replayed through the model's transitions and
checked against real time (checker/_readmap_proof.py). An invalid verdict comes with a
*certificate*: ops, closed under "the op that wrote what I read", that cannot be
linearized on their own (a closed subset of a linearizable history is linearizable),
shrunk until no op can be dropped.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from checker._models import NOTHING, UNMAPPED

INIT = -1          # the virtual op that wrote the initial value, at time -inf
MISSING = -2       # the writer of a value no op wrote
INF = float("inf")
SHRINK_MAX = 120   # certificates larger than this (long cas chains) are not shrunk


@dataclass(slots=True)
class Mapped:
    """The read-mapping's answer for one key.

    valid: True, False, or None when the mapping does not apply (`reason` says why).
    For False: `kind` of violation, `certificate` (indices into the key's ops, sorted)
    and `culprits` (the ops that show the conflict, for the message; INIT for the initial
    value's virtual write). For True:
    `order`, the witness linearization (indices into the key's ops), and `key`, the
    register view it was found on (for checker/_readmap_proof.order_problem)."""

    valid: object
    reason: str = ""
    kind: str = ""
    certificate: list = field(default_factory=list)
    culprits: list = field(default_factory=list)
    order: list = field(default_factory=list)
    key: object = None


class _Key:
    """One key's ops as arrays: value read / written (NOTHING for none), interval, ok?;
    `writer`: value -> the op that wrote it, and `read`: the values read, over all the
    key's active ops."""

    __slots__ = ("rd", "wr", "s", "f", "ok", "init", "active", "writer", "read")

    def __init__(self, n, init):
        self.rd, self.wr = [NOTHING] * n, [NOTHING] * n
        self.s, self.f, self.ok = [0] * n, [INF] * n, [False] * n
        self.init, self.active, self.writer, self.read = init, [], {}, set()


def view(model, ops, initial_value, null_read):
    """A _Key for `ops`, or a string saying why the read-mapping does not apply (found
    early: most keys of a history with small values fail it within a few ops)."""
    if not hasattr(model, "register_view"):
        return f"model {model.name} is not a single register"
    init = model.initial_state(initial_value)
    register_view = model.register_view
    key = _Key(len(ops), init)
    rds, wrs, ss, fs, oks, active = key.rd, key.wr, key.s, key.f, key.ok, key.active
    writer, read = key.writer, key.read
    twice = set()   # values with two writers (the initial value's virtual one counts)
    for i, op in enumerate(ops):   # one pass: the arrays are filled as the ops are checked
        access = register_view(op, null_read)
        if access is None:
            continue
        if access is UNMAPPED:
            return f"{model.name} {op.f}: a read is not one op's write"
        rd, wr = access
        # A value read with two writers, found as soon as both the read and the second
        # writer are seen: keys with few distinct values stop after a handful of ops.
        if wr is not NOTHING:
            if wr in writer or wr == init:
                if wr in read:
                    return _ambiguity(wr, init)
                twice.add(wr)
            writer[wr] = i
        if rd is not NOTHING:
            read.add(rd)
            if rd in twice:
                return _ambiguity(rd, init)
        rds[i], wrs[i], ss[i] = rd, wr, op.invoke_time
        if op.type == "ok":
            oks[i], fs[i] = True, op.complete_time
        active.append(i)
    return key


def _ambiguity(value, init) -> str:
    """Why the mapping does not apply to a value read that has two possible writers."""
    return ("a value read is the initial value and written" if value == init else
            "a value read is written more than once")


def decide(model, ops, initial_value=None, null_read="absent") -> Mapped:
    """Decide the ops of one key (invoke order, fail ops dropped) by the read-mapping."""
    key = view(model, ops, initial_value, null_read)
    if isinstance(key, str):
        return Mapped(None, reason=key)
    found = analyse(key, key.active)
    if found.valid is False:
        found.certificate = shrink(key, found.certificate)
    elif found.valid:
        found.key = key
    return found


def analyse(key, members) -> Mapped:
    """Mapped for the ops `members` (indices, a closed subset or all) of `key`."""
    rd, wr, init = key.rd, key.wr, key.init
    writer = key.writer if members is key.active else {wr[i]: i for i in members
                                                        if wr[i] is not NOTHING}
    # source(i): the op that wrote what op i reads (an index, INIT or MISSING), looked up
    # once per read here (a list's __getitem__ is cheaper than a Python closure).
    src = [MISSING] * len(rd)
    for i in members:
        v = rd[i]
        if v is not NOTHING:
            w = writer.get(v)
            src[i] = w if w is not None else INIT if v == init else MISSING
    source = src.__getitem__

    needed, stop = _needed(key, members, source)
    if stop:
        return stop

    def violation(kind, culprits):
        cert = closure(key, culprits, source, needed)
        return Mapped(False, kind=kind, certificate=cert, culprits=list(culprits))

    readers, succ, plain, writes, stop = _segments(key, needed, source, violation)
    if stop:
        return stop
    chains, stop = _chains(key, needed, succ, plain, writes, source, violation)
    if stop:
        return stop
    groups, stop = _check_chains(key, chains, readers, violation)
    return stop or _order_groups(key, groups, chains, readers, violation)


def closure(key, ops, source, needed):
    """`ops` plus, recursively, the op that wrote what each reads and, for an info op, the
    op that needs it (so that it must take effect): sorted indices."""
    out, stack = set(), list(ops)
    while stack:
        i = stack.pop()
        if i < 0 or i in out:
            continue
        out.add(i)
        if key.rd[i] is not NOTHING:
            stack.append(source(i))
        stack.append(needed[i])
    return sorted(out)


def _needed(key, members, source):
    """({op: the op that needs it}, None) or (None, violation: a needed op reads a value
    nobody wrote). ok ops need themselves."""
    rd, ok = key.rd, key.ok
    needed = {i: i for i in members if ok[i]}
    stack = list(needed)
    while stack:
        i = stack.pop()
        if rd[i] is NOTHING:
            continue
        w = source(i)
        if w == MISSING:
            path = [i]
            while needed[path[-1]] != path[-1]:
                path.append(needed[path[-1]])
            return None, Mapped(False, kind="unwritten", certificate=sorted(path), culprits=[i])
        if w >= 0 and w not in needed:
            needed[w] = i
            stack.append(w)
    return needed, None


def _segments(key, needed, source, violation):
    """(writer -> its pure reads, writer -> the cas reading its value, the plain writes,
    the number of writes, None) or a violation (two cas read one value). Writers are op
    indices or INIT."""
    rd, wr = key.rd, key.wr
    readers, succ, plain, writes = defaultdict(list), {}, [], 0
    for i in needed:
        if wr[i] is not NOTHING:
            writes += 1
            if rd[i] is NOTHING:
                plain.append(i)
                continue
        elif rd[i] is NOTHING:
            continue
        w = source(i)
        if wr[i] is NOTHING:
            readers[w].append(i)
        elif w in succ:
            return None, None, None, 0, violation("two-cas", [succ[w], i, w])
        else:
            succ[w] = i
    return readers, succ, plain, writes, None


def _chains(key, needed, succ, plain, writes, source, violation):
    """([chain: writers in order], None), or a violation (a cycle of cas). The first
    chain starts at INIT; the others at the plain writes."""
    chains, placed = [], 0
    for root in [INIT, *plain]:
        chain = [root]
        while chain[-1] in succ:
            chain.append(succ[chain[-1]])
        chains.append(chain)
        placed += len(chain) - (root == INIT)
    if placed == writes:
        return chains, None
    in_chain = {w for chain in chains for w in chain}
    cas = next(i for i in needed if key.wr[i] is not NOTHING and i not in in_chain)
    cycle = []
    while cas not in cycle:
        cycle.append(cas)
        cas = source(cas)
    return None, violation("cas-cycle", cycle[cycle.index(cas):])


def _check_chains(key, chains, readers, violation):
    """Per chain (F, op with f = F, S, op with s = S), checking the order inside it: a
    read not before its write, no later segment completing before an earlier one starts."""
    s, f = key.s, key.f
    groups = []
    reads_of = readers.get
    for chain in chains:
        big_s, big_s_op, big_f, big_f_op = -INF, INIT, INF, INIT
        for w in chain:
            ops = reads_of(w, ())
            if w == INIT:
                seg_f, seg_f_op = -INF, INIT
                for r in ops:
                    if f[r] < seg_f:
                        seg_f, seg_f_op = f[r], r
            else:
                seg_f, seg_f_op, s_w = f[w], w, s[w]
                for r in ops:
                    f_r = f[r]
                    if f_r < seg_f:
                        seg_f, seg_f_op = f_r, r
                    if f_r < s_w:
                        return None, violation("read-before-write", [w, r])
            if seg_f < big_s:
                return None, violation("chain-order", [seg_f_op, big_s_op])
            if w != INIT and s[w] > big_s:
                big_s, big_s_op = s[w], w
            for r in ops:
                if s[r] > big_s:
                    big_s, big_s_op = s[r], r
            if seg_f < big_f:
                big_f, big_f_op = seg_f, seg_f_op
        groups.append((big_f, big_f_op, big_s, big_s_op))
    return groups, None


def _order_groups(key, groups, chains, readers, violation) -> Mapped:
    """Sort the chains by (min(F, S), S > F); a chain that must precede an earlier one is a
    two-chain cycle (module docstring). Otherwise the witness order."""
    keys = [(min(big_f, big_s), big_s > big_f) for big_f, _, big_s, _ in groups]
    order = sorted(range(len(groups)), key=keys.__getitem__)
    low, low_g = INF, None
    for g in reversed(order):
        big_f, _, big_s, _ = groups[g]
        if low < big_s:
            other = groups[low_g]
            if not other[2] > big_f:
                return Mapped(None, reason="read-mapping: chain order inconsistent (a bug)")
            return violation("cycle", [groups[low_g][1], groups[g][3], groups[g][1],
                                       groups[low_g][3]])
        if big_f < low:
            low, low_g = big_f, g
    return Mapped(True, order=_witness(key, [chains[g] for g in order], readers))


def _witness(key, chains, readers):
    """The linearization: per chain, per segment, the write then its reads by invoke time."""
    out = []
    by_invoke = key.s.__getitem__
    for chain in chains:
        for w in chain:
            if w >= 0:
                out.append(w)
            reads = readers.get(w)
            if reads:   # most segments have none or one read: no sort for those
                out += sorted(reads, key=by_invoke) if len(reads) > 1 else reads
    return out


def shrink(key, cert):
    """Drop ops from a certificate while it stays closed and invalid (small ones only)."""
    if len(cert) > SHRINK_MAX:
        return cert
    changed = True
    while changed:
        changed = False
        for i in reversed(cert):
            if _is_writer_of(key, i, cert):
                continue
            trial = [j for j in cert if j != i]
            if trial and analyse(key, trial).valid is False:
                cert, changed = trial, True
                break
    return cert


def _is_writer_of(key, i, members):
    """Does some other op in `members` read the value op i wrote?"""
    v = key.wr[i]
    return v is not NOTHING and any(key.rd[j] == v for j in members if j != i)
