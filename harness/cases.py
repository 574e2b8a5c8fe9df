"""Test cases: YAML files under harness/cases/, validated before anything starts (layer: harness).

A case names its workloads, nemesis, checkers and SLA thresholds (the seed
catalogue's figures are the pass bar). Validation is strict: every rule
broken gives a BadInput (exit 254) naming the file and the field in one
line; unknown keys are errors that suggest the closest valid name; NaN,
infinity and absurd sizes are refused; the case id becomes a path in the
store, so it must be a plain name. See harness/cases/*.yaml.

The `nemesis:` section (its forms: faults, timeline, topologies, cascade) is
validated by the nemesis itself (`nemesis.check_section`), and its schedule
is built for every node count the case allows, so a schedule that cannot
exist for one of them is refused here too.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

import nemesis
from harness.errors import BadInput
from nemesis import BadSchedule
import checker
from checker import SLA_METRICS

CASES_DIR = Path(__file__).parent / "cases"
FIELDS = {"id", "title", "proves", "nodes", "node_counts", "time_limit", "recovery",
          "workloads", "nemesis", "checkers", "sla", "required_slas", "db", "priority",
          "regions", "revival"}
MAX_REGIONS = 5                   # backup-store hosts r1..rK beside the nodes
WORKLOAD_FIELDS = {"name", "keys", "concurrency", "rate", "options"}
PRIORITIES = ("P0", "P1", "P2")
DB_FIELDS = {"election_timeout_ms", "heartbeat_ms"}
ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_FILE_BYTES = 1 << 20          # a case file is a page of YAML, not a megabyte
MAX_ALIASES = 20                  # YAML alias uses per file (expansion stays < 3**7)
MAX_SECONDS = nemesis.MAX_SECONDS
LIMITS = {"keys": 100_000, "concurrency": 1_000, "rate": 1_000_000}


@dataclass
class Case:
    id: str
    title: str
    source: str
    nodes: int
    time_limit: float
    recovery: float
    workloads: list[dict]
    nemesis: dict
    checkers: list[str]
    sla: dict
    required_slas: list[str]
    db: dict
    proves: str = ""
    node_counts: list[int] = field(default_factory=list)
    raw: dict = field(default_factory=dict)
    regions: int = 0              # region hosts r1..rK (backup stores), 0: none
    revival: float = 15.0         # s a node brought back (kill/pause end, restart) may take to answer


def catalogue() -> list[Path]:
    return sorted(CASES_DIR.glob("*.yaml"))


def find_case(name: str) -> Path:
    """A catalogue id (any case) or a path to a case YAML. A plain name that is a
    catalogue id is always the catalogue case, whatever the working directory holds
    (pass ./NAME for a file of that name)."""
    if not isinstance(name, str) or not name or "\x00" in name:
        raise BadInput(f"case {name!r}: expected a catalogue id or a case file path")
    plain = "/" not in name and not name.lower().endswith((".yaml", ".yml"))
    if plain:
        for p in catalogue():
            if p.stem == name.lower():
                return p
    path = Path(name)
    if not plain or path.exists():
        if not path.is_file():
            raise BadInput(f"case file {name}: not found (or not a file)")
        return path
    known = ", ".join(p.stem for p in catalogue())
    raise BadInput(f"case {name!r}: not in the catalogue ({known}) and not a file")


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that refuses more than MAX_ALIASES alias uses (a billion-laughs file
    expands aliases exponentially: it is refused in milliseconds instead)."""

    def __init__(self, stream):
        super().__init__(stream)
        self._aliases = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                mark = self.peek_event().start_mark
                raise yaml.YAMLError(f"more than {MAX_ALIASES} YAML aliases (line "
                                     f"{mark.line + 1}); a case needs none")
        return super().compose_node(parent, index)


def read_yaml(path: Path) -> object:
    """The YAML document at `path`; BadInput (one line, naming the file) when it is too
    big, not UTF-8, not YAML, nested too deep or an alias bomb."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise BadInput(f"case file {path}: cannot read: {exc.strerror}") from None
    if len(data) > MAX_FILE_BYTES:
        raise BadInput(f"case file {path}: larger than {MAX_FILE_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(f"case file {path}: not UTF-8 (byte {exc.start})") from None
    try:
        return yaml.load(text, Loader=_BoundedLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        why = " ".join(str(getattr(exc, "problem", None) or exc).split())
        raise BadInput(f"case file {path}{where}: not valid YAML: {why}") from None
    except RecursionError:
        raise BadInput(f"case file {path}: nested too deep") from None
    except (ValueError, OverflowError) as exc:    # e.g. an integer of 5000 digits
        raise BadInput(f"case file {path}: {' '.join(str(exc).split())[:200]}") from None


def load_case(name: str) -> Case:
    path = find_case(name)
    return parse_case(read_yaml(path), str(path))


def node_names(n: int) -> list[str]:
    return [f"n{i}" for i in range(1, n + 1)]


def region_names(regions: int) -> list[str]:
    """The region hosts of a case: r1..rK; a schedule may name them like nodes."""
    return [f"r{i}" for i in range(1, regions + 1)]


def check_node_count(case: Case, nodes: int) -> None:
    """BadInput unless `nodes` is one of the case's node_counts."""
    if nodes not in case.node_counts:
        raise BadInput(f"--nodes {nodes}: case {case.id} runs on "
                       f"{', '.join(map(str, case.node_counts))} nodes (its node_counts)")


def _shown(value, limit: int = 60) -> str:
    """repr(value) on one line, cut to `limit` characters (never raises)."""
    try:
        text = repr(value).replace("\n", "\\n")
    except Exception:          # RecursionError on deep nesting, a hostile __repr__
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _suggest(name, valid) -> str:
    close = (difflib.get_close_matches(name, list(valid), n=1, cutoff=0.6)
             if isinstance(name, str) else [])
    return f" (did you mean {close[0]!r}?)" if close else ""


def _fail(src: str, fld: str, msg: str):
    """BadInput naming the file and the field, on one line of bounded length (a message
    may quote a value the file gave, or come from a workload's own validation)."""
    msg = " ".join(str(msg).split())
    raise BadInput(f"case {src}: field '{fld}': {msg if len(msg) <= 400 else msg[:397] + '...'}")


def _unknown(src: str, where: str, key, allowed) -> None:
    allowed = sorted(allowed)
    _fail(src, f"{where}{key if isinstance(key, str) else _shown(key)}",
          f"unknown{_suggest(key, allowed)}; expected one of {', '.join(allowed)}")


def _num(src, raw, fld, default=None, minimum=0.0, integer=False, maximum=None, where=None):
    value = raw.get(fld, default)
    where = where or fld
    ok = isinstance(value, int) if integer else isinstance(value, (int, float))
    kind = "an integer" if integer else "a number"
    if not ok or isinstance(value, bool):
        _fail(src, where, f"must be {kind} >= {minimum:g}, got {type(value).__name__} "
              f"{_shown(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        _fail(src, where, f"must be a finite number, got {value!r}")
    if isinstance(value, int) and abs(value) > 10 ** 15:
        _fail(src, where, "is out of range")
    if value < minimum or (maximum is not None and value > maximum):
        bound = f">= {minimum:g}" + (f" and <= {maximum:g}" if maximum is not None else "")
        _fail(src, where, f"must be {kind} {bound}, got {value!r}")
    return value


def _text(src, raw, fld, default="") -> str:
    value = raw.get(fld, default)
    if not isinstance(value, str) or len(value) > 10_000:
        _fail(src, fld, f"must be a string (at most 10000 characters), got "
              f"{type(value).__name__}")
    return value


def parse_case(raw, src: str) -> Case:
    if not isinstance(raw, dict):
        raise BadInput(f"case {src}: must be a mapping of fields, got {type(raw).__name__}")
    for key in raw:
        if not isinstance(key, str) or key not in FIELDS:
            _unknown(src, "", key, FIELDS)
    for required in ("id", "workloads", "nemesis", "checkers"):
        if required not in raw:
            _fail(src, required, "is required")
    case_id = raw["id"]
    if not isinstance(case_id, str) or not ID.match(case_id):
        _fail(src, "id", "must be a plain name (letters, digits, '.', '_', '-'; no '/' or "
              f"'..'; at most 64 characters), got {_shown(case_id)}")
    if ".." in case_id:
        _fail(src, "id", f"must not contain '..', got {case_id!r}")
    node_counts = _node_counts(src, raw)
    case = Case(
        id=case_id, title=_text(src, raw, "title", case_id), source=src,
        proves=_text(src, raw, "proves"),
        nodes=_nodes(src, raw.get("nodes", 5), "nodes"),
        node_counts=node_counts,
        time_limit=_num(src, raw, "time_limit", 60, 1, maximum=MAX_SECONDS),
        recovery=_num(src, raw, "recovery", 20, 1, maximum=MAX_SECONDS),
        revival=_num(src, raw, "revival", 15, 1, maximum=MAX_SECONDS),
        workloads=_workloads(src, raw["workloads"]),
        nemesis={},
        checkers=_checkers(src, raw["checkers"]),
        sla=_sla(src, raw.get("sla", {})),
        required_slas=_required(src, raw.get("required_slas", [])),
        db=_db(src, raw.get("db", {})), raw=raw,
        regions=int(_num(src, raw, "regions", 0, 0, integer=True, maximum=MAX_REGIONS)))
    if raw.get("priority", "P2") not in PRIORITIES:
        _fail(src, "priority", f"must be one of {', '.join(PRIORITIES)}, got "
              f"{_shown(raw.get('priority'))}")
    if case.nodes not in node_counts:
        _fail(src, "nodes", f"{case.nodes} is not one of node_counts "
              f"({', '.join(map(str, node_counts))})")
    case.nemesis = _nemesis(src, raw["nemesis"], node_counts, case.time_limit, case.regions)
    return case


def _nodes(src, n, fld) -> int:
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 9 or n % 2 == 0:
        _fail(src, fld, f"must be an odd number from 1 to 9, got {_shown(n)}")
    return n


def _node_counts(src, raw) -> list[int]:
    items = raw.get("node_counts", [3, 5, 7])
    if not isinstance(items, list) or not items:
        _fail(src, "node_counts", f"must be a non-empty list of odd numbers from 1 to 9, got "
              f"{_shown(items)}")
    counts = [_nodes(src, n, f"node_counts[{i}]") for i, n in enumerate(items[:10])]
    if len(items) > 5 or len(set(counts)) != len(counts):
        _fail(src, "node_counts", f"must list distinct node counts, got "
              f"{_shown(items)}")
    return counts


def _workloads(src, items) -> list[dict]:
    from workloads import WORKLOADS
    if not isinstance(items, list) or not items or len(items) > 16:
        _fail(src, "workloads", "must be a non-empty list (at most 16)")
    out = []
    for i, w in enumerate(items):
        where = f"workloads[{i}]"
        if not isinstance(w, dict):
            _fail(src, where, f"must be a mapping, got {_shown(w)}")
        for key in w:
            if not isinstance(key, str) or key not in WORKLOAD_FIELDS:
                _unknown(src, f"{where}.", key, WORKLOAD_FIELDS)
        name = w.get("name")
        if not isinstance(name, str) or name not in WORKLOADS:
            _fail(src, f"{where}.name", f"unknown workload {_shown(name)}"
                  f"{_suggest(name, WORKLOADS)}; expected one of "
                  f"{', '.join(sorted(WORKLOADS))}")
        for k, lo in (("keys", 1), ("concurrency", 1), ("rate", 0)):
            if k in w:
                _num(src, w, k, minimum=lo, integer=(k != "rate"), maximum=LIMITS[k],
                     where=f"{where}.{k}")
        _workload_options(src, where, WORKLOADS[name], w.get("options", {}))
        out.append(dict(w))
    return out


def _workload_options(src, where, cls, options) -> None:
    """A workload's `options:` are its constructor's keywords; it validates them itself."""
    if not isinstance(options, dict) or not all(isinstance(k, str) for k in options):
        _fail(src, f"{where}.options", f"must be a mapping of option: value, got "
              f"{_shown(options)}")
    try:
        cls(**options)
    except TypeError as exc:
        _fail(src, f"{where}.options", f"{exc}".replace("__init__()", cls.__name__))
    except ValueError as exc:
        _fail(src, f"{where}.options", str(exc))


def _nemesis(src, section, node_counts: list[int], time_limit: float, regions: int = 0) -> dict:
    """The one validation of the section is the nemesis's; the schedule is then built for
    each node count the case allows (bounded: refused in milliseconds if too long)."""
    try:
        nemesis.check_section(section)
        for n in node_counts:
            try:
                nemesis.build_schedule(section, node_names(n) + region_names(regions), 0,
                                       time_limit)
            except BadSchedule as exc:
                raise BadSchedule(f"{exc} (on {n} nodes)") from None
    except BadSchedule as exc:
        raise BadInput(f"case {src}: {exc}") from None
    return dict(section)


def _checkers(src, items) -> list[str]:
    known = checker.CHECKERS     # looked up now: the registry, not a copy taken at import
    if not isinstance(items, list) or not items:
        _fail(src, "checkers", "must be a non-empty list")
    for i, c in enumerate(items):
        if not isinstance(c, str) or c not in known:
            _fail(src, f"checkers[{i}]", f"unknown checker {_shown(c)}"
                  f"{_suggest(c, known)}; expected one of {', '.join(known)}")
    return list(items)


def _sla(src, sla) -> dict:
    if not isinstance(sla, dict):
        _fail(src, "sla", "must be a mapping of metric: seconds")
    for k, v in sla.items():
        if not isinstance(k, str) or k not in SLA_METRICS:
            _unknown(src, "sla.", k, SLA_METRICS)
        if (not isinstance(v, (int, float)) or isinstance(v, bool)
                or not 0 < v <= MAX_SECONDS or not math.isfinite(v)):
            _fail(src, f"sla.{k}", f"must be a number of seconds > 0 (at most "
                  f"{MAX_SECONDS:g}), got {_shown(v)}")
    # Only the metrics a case names are its pass bar (the seed ties each SLA to one case);
    # the others are still measured and reported, but not judged.
    return dict(sla)


def _required(src, items) -> list[str]:
    if not isinstance(items, list):
        _fail(src, "required_slas", "must be a list of metric names")
    for i, k in enumerate(items):
        if not isinstance(k, str) or k not in SLA_METRICS:
            _fail(src, f"required_slas[{i}]", f"unknown metric {_shown(k)}"
                  f"{_suggest(k, SLA_METRICS)}")
    return list(items)


def _db(src, db) -> dict:
    if not isinstance(db, dict):
        _fail(src, "db", "must be a mapping")
    for k in db:
        if not isinstance(k, str) or k not in DB_FIELDS:
            _unknown(src, "db.", k, DB_FIELDS)
        _num(src, db, k, minimum=1, integer=True, maximum=3_600_000, where=f"db.{k}")
    return dict(db)
