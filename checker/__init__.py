"""Pure analysis of histories: linearizability, RPO, split-brain, SLAs. Imports nothing of the other packages.

Public names: `read_history`, `parse_lines`, `parse_events` (histories),
`Op`, `History`, `BadHistory`, `check_linearizable` (the linearizability
checker, returning the result dict), `MODELS` / `get_model`, `render_text`.
"""

from checker._history import BadHistory, History, Op, parse_events, parse_lines, read_history
from checker._linear import check_linearizable
from checker._models import MODELS, NULL_READS, get_model
from checker._render import render_text
from checker.perf import check_perf
from checker.rpo import check_rpo
from checker.runlog import BadRunLog, fault_timeline, map_node_events, read_jsonl, read_node_events
from checker.sla import SEED_THRESHOLDS, check_slas
from checker.splitbrain import check_split_brain

__all__ = [
    "BadHistory", "History", "MODELS", "NULL_READS", "Op", "check_linearizable", "get_model",
    "parse_events", "parse_lines", "read_history", "render_text",
    "BadRunLog", "SEED_THRESHOLDS", "check_perf", "check_rpo", "check_slas", "check_split_brain",
    "fault_timeline", "map_node_events", "read_jsonl", "read_node_events",
]
