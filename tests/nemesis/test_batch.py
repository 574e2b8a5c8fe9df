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
