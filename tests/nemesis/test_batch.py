"""Several argv steps in one exec: per-step exit status and stderr, stop on error or not."""

import asyncio

from harness.control import LocalRemote
from nemesis._batch import run_steps

STEPS = [["true"], ["sh", "-c", "echo 'it\tbroke\nbadly' >&2; exit 3"], ["echo", "x y"]]


def test_runs_every_step_and_reports_each():
    out = asyncio.run(run_steps(LocalRemote(), STEPS, stop_on_error=False))
    assert out == [(0, ""), (3, "it broke badly"), (0, "")]


def test_stops_at_the_first_failure():
    out = asyncio.run(run_steps(LocalRemote(), STEPS, stop_on_error=True))
    assert out == [(0, ""), (3, "it broke badly")]


def test_iptables_steps_become_one_restore_transaction():
    from nemesis._batch import restore_batch
    steps = [["iptables", "-w", "-N", "HELIOS-NEMESIS"],
             ["iptables", "-w", "-A", "HELIOS-NEMESIS", "-s", "10.0.0.2", "-m", "comment",
              "--comment", "heliosdb-harness f1", "-j", "DROP"]]
    argv, stdin = restore_batch(steps)
    assert argv == ["iptables-restore", "-w", "--noflush"]
    assert stdin == ('*filter\n-N HELIOS-NEMESIS\n-A HELIOS-NEMESIS -s 10.0.0.2 -m comment '
                     '--comment "heliosdb-harness f1" -j DROP\nCOMMIT\n')
    # anything else runs step by step
    assert restore_batch([["tc", "qdisc", "del", "dev", "eth0", "root"]]) is None
    assert restore_batch([["iptables", "-w", "-t", "nat", "-F"]]) is None
    assert restore_batch([steps[0], ["iptables-nft", "-w", "-F", "X"]]) is None
    assert restore_batch([]) is None
