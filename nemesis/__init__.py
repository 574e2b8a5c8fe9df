"""Faults injected through the Remote interface (layer: nemesis).

Partitions, packet faults, processes, clock and disk.

Acts on hosts only through the leaf `remote` protocol (no harness, asyncssh
or docker import). Validate a case's `nemesis:` section with
`check_section` and turn it into a `Schedule` with `build_schedule`; build a
`Nemesis(remotes, Ledger(run_dir), record=..., clock=..., db=...)`; drive it
with `run_timeline` inside `nemesis_session(nemesis)` so SIGINT/SIGTERM heal
before exit. `heal_from_ledger` replays a ledger left by a killed harness.
Every fault is one entry of `FAULTS` (checks, resolution, handler, needs).
"""

from ._argv import CHAIN, QDISC_HANDLE
from ._errors import BadSchedule, Interrupted, NemesisError, NemesisUnsupported, NoTarget
from ._faults import FAULTS, Fault, apply_step
from ._forms import (FIRST_FAULT_S, build_schedule, cascade_schedule, check_section, from_case,
                     partition_topologies, topology_schedule)
from ._grudge import (SHAPES, build_grudge, bridge_grudge, complete_grudge, grudge_from_json,
                      grudge_to_json, majorities_ring, majority, one_way)
from ._ledger import Ledger, read_entries
from ._nemesis import Nemesis
from ._params import MAX_SECONDS, MAX_STEPS
from ._probe import reachability
from ._schedule import (SHORTHAND, Schedule, Step, end_time, generate, read_schedule,
                        write_schedule)
from ._session import heal_from_ledger, nemesis_session
from ._targets import TARGETS, select_targets
from ._timeline import TimelineOutcome, run_step, run_timeline, validate

schedule_end = end_time

__all__ = [
    "CHAIN", "QDISC_HANDLE", "BadSchedule", "Interrupted", "NemesisError", "NemesisUnsupported",
    "NoTarget", "FAULTS", "Fault", "apply_step", "FIRST_FAULT_S", "build_schedule",
    "cascade_schedule", "check_section", "from_case", "partition_topologies",
    "topology_schedule", "SHAPES", "build_grudge", "bridge_grudge", "complete_grudge",
    "grudge_from_json", "grudge_to_json", "majorities_ring", "majority", "one_way", "Ledger",
    "read_entries", "Nemesis", "MAX_SECONDS", "MAX_STEPS", "reachability", "SHORTHAND",
    "Schedule", "Step", "end_time", "generate", "read_schedule", "write_schedule",
    "schedule_end", "heal_from_ledger", "nemesis_session", "TARGETS", "select_targets",
    "TimelineOutcome", "run_step", "run_timeline", "validate",
]
