"""Faults injected through the Remote interface: partitions, packets, processes, clock, disk (layer: nemesis).

Build a `Nemesis(remotes, Ledger(run_dir), record=..., clock=..., db=...)`,
drive it from a `Schedule`, and wrap the run in `nemesis_session(nemesis)` so
SIGINT/SIGTERM heal before exit. `heal_from_ledger` replays a ledger left by
a killed harness.
"""

from ._argv import CHAIN, QDISC_HANDLE
from ._errors import BadSchedule, Interrupted, NemesisError, NemesisUnsupported
from ._grudge import (SHAPES, build_grudge, bridge_grudge, complete_grudge, grudge_from_json,
                      grudge_to_json, majorities_ring, majority, one_way)
from ._ledger import Ledger, read_entries
from ._nemesis import Nemesis
from ._probe import reachability
from ._run import read_schedule, run_schedule, start_step, validate, write_schedule
from ._schedule import FAULTS, Schedule, Step, from_case, generate
from ._session import heal_from_ledger, nemesis_session
from ._targets import TARGETS, select_targets

__all__ = [
    "CHAIN", "QDISC_HANDLE", "BadSchedule", "Interrupted", "NemesisError", "NemesisUnsupported",
    "SHAPES", "build_grudge", "bridge_grudge", "complete_grudge", "grudge_from_json",
    "grudge_to_json", "majorities_ring", "majority", "one_way", "Ledger", "read_entries",
    "Nemesis", "reachability", "heal_from_ledger", "nemesis_session", "TARGETS", "select_targets", "run_schedule", "start_step", "validate", "read_schedule", "write_schedule", "FAULTS",
    "Schedule", "Step", "from_case", "generate",
]
