"""argv builders for iptables and tc (layer: nemesis, pure).

Every rule the harness creates lives in one chain, `CHAIN`, reached from
INPUT by a single jump rule the harness inserts and removes. Rules match
`-s <peer cluster address>` only, so the control node's SSH and client
traffic (which comes from other addresses) is never dropped. Healing
deletes that jump rule and flushes and deletes that chain: rules the harness
did not create are never touched. Qdiscs the harness adds carry the root
handle `QDISC_HANDLE`, and only that handle is ever deleted.
"""

from __future__ import annotations

import re
from typing import Sequence

CHAIN = "HELIOS-NEMESIS"
QDISC_HANDLE = "4e4d:"
COMMENT = "helios-nemesis"

Argv = list[str]


def ipt(binary: str, *args: str) -> Argv:
    """`iptables -w ...`: -w waits for the xtables lock instead of failing."""
    return [binary, "-w", *args]


def chain_setup(binary: str) -> list[Argv]:
    return [ipt(binary, "-N", CHAIN), ipt(binary, "-I", "INPUT", "1", "-j", CHAIN)]


def chain_teardown(binary: str) -> list[Argv]:
    """Remove only the jump rule and the harness chain, in that order."""
    return [ipt(binary, "-D", "INPUT", "-j", CHAIN), ipt(binary, "-F", CHAIN),
            ipt(binary, "-X", CHAIN)]


def drop_spec(peer: str, fault: str, probability: float | None = None) -> list[str]:
    """The rule body (after -A/-D CHAIN) dropping packets from `peer`,
    tagged with the fault id so one fault's rules can be removed alone."""
    spec = ["-s", peer]
    if probability is not None:
        if not 0.0 < probability <= 1.0:
            raise ValueError(f"loss probability must be in (0, 1], got {probability}")
        spec += ["-m", "statistic", "--mode", "random", "--probability", f"{probability:.4f}"]
    return spec + ["-m", "comment", "--comment", f"{COMMENT} {fault}", "-j", "DROP"]


def add_rule(binary: str, spec: Sequence[str]) -> Argv:
    return ipt(binary, "-A", CHAIN, *spec)


def delete_rule(binary: str, spec: Sequence[str]) -> Argv:
    return ipt(binary, "-D", CHAIN, *spec)


def list_rules(binary: str) -> Argv:
    return ipt(binary, "-S")


def owned_rule_lines(iptables_s: str) -> list[str]:
    """Lines of `iptables -S` output that belong to the harness."""
    return [ln for ln in iptables_s.splitlines() if CHAIN in ln or COMMENT in ln]


def rule_fault(line: str) -> str | None:
    """The fault id tagged on a harness rule line, or None."""
    m = re.search(COMMENT + r" ([\w-]+)", line)
    return m.group(1) if m else None


def tbf_add(dev: str, rate: str, burst: str = "32kb", latency: str = "100ms") -> Argv:
    return ["tc", "qdisc", "add", "dev", dev, "root", "handle", QDISC_HANDLE, "tbf",
            "rate", rate, "burst", burst, "latency", latency]


def htb_toward(dev: str, rate: str, address: str) -> list[Argv]:
    """Shape only the packets to `address` to `rate`: an htb root (unclassified packets go
    out directly, unshaped), one class at `rate` and a u32 filter on the destination."""
    v6 = ":" in address
    return [["tc", "qdisc", "add", "dev", dev, "root", "handle", QDISC_HANDLE, "htb"],
            ["tc", "class", "add", "dev", dev, "parent", QDISC_HANDLE, "classid",
             f"{QDISC_HANDLE}1", "htb", "rate", rate, "ceil", rate],
            ["tc", "filter", "add", "dev", dev, "parent", QDISC_HANDLE, "protocol",
             "ipv6" if v6 else "ip", "prio", "1", "u32", "match", "ip6" if v6 else "ip", "dst",
             f"{address}/{128 if v6 else 32}", "flowid", f"{QDISC_HANDLE}1"]]


def netem_add(dev: str, *, delay_ms: float = 0, jitter_ms: float = 0,
              duplicate: float = 0, reorder: float = 0, loss: float = 0) -> Argv:
    """netem with the given parameters; percentages are fractions in [0, 1]."""
    argv = ["tc", "qdisc", "add", "dev", dev, "root", "handle", QDISC_HANDLE, "netem"]
    if delay_ms or jitter_ms or reorder:
        argv += ["delay", f"{delay_ms or 1}ms"] + ([f"{jitter_ms}ms"] if jitter_ms else [])
    if reorder:
        argv += ["reorder", f"{reorder * 100:g}%"]
    if duplicate:
        argv += ["duplicate", f"{duplicate * 100:g}%"]
    if loss:
        argv += ["loss", f"{loss * 100:g}%"]
    return argv


def qdisc_del(dev: str) -> Argv:
    return ["tc", "qdisc", "del", "dev", dev, "root", "handle", QDISC_HANDLE]


def qdisc_show() -> Argv:
    return ["tc", "qdisc", "show"]


def owned_qdisc_lines(tc_show: str) -> list[str]:
    return [ln for ln in tc_show.splitlines() if f" {QDISC_HANDLE} " in ln]


# Substrings of stderr meaning "the thing to remove is already gone": a heal
# replaying the ledger after a crash meets these and carries on.
GONE = ("No chain/target/match", "does a matching rule exist", "Bad rule",
        "No such file or directory", "Cannot find device", "Invalid handle",
        "Cannot delete qdisc with handle of zero", "doesn't exist", "not exist")


def is_gone_error(stderr: str) -> bool:
    return any(s in stderr for s in GONE)
