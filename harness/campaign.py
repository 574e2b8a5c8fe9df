"""Campaign files and their run matrix (layer: harness).

A campaign YAML names cases and, per case or as defaults, node counts, seeds,
a time limit, DB options and a priority; `--count N` repeats every cell. The
matrix is expanded in file order (case, then nodes, then seed, then repeat),
so a cell's index is stable and `--shard I/N` (cells whose index is I-1
modulo N) gives N disjoint slices that cover the matrix exactly once.

    name: quick
    time_limit: 15            # seconds per run (default: the case's)
    nodes: [3]                # defaults for every case
    seeds: [1, 2]             # a list, or a count n (seeds 1..n)
    cases:
      - {case: tc-af-002, priority: P0, nodes: [3, 5]}
      - {case: tc-af-001, db_opt: [bug=stale-read], seeds: [7]}

`backend: ssh` runs on lab hosts: `inventory: FILE` (relative to the campaign
file, or --inventory) names the ssh backend's inventory, as for `harness run`.

Priorities (the seed's release gates): P0 blocks a production release, P1 a
beta; a case without one in the campaign takes the case YAML's `priority`,
else the seed catalogue's (PRIORITY below), else P2 (not gating).
Every rule broken is a BadInput naming the file and field.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from harness.errors import BadInput

PRIORITY = {"TC-BR-001": "P0", "TC-BR-002": "P0", "TC-AF-001": "P0", "TC-AF-002": "P0",
            "TC-AF-003": "P0", "TC-AF-004": "P0", "TC-BR-003": "P1", "TC-BR-004": "P1",
            "TC-BR-005": "P1", "TC-AF-005": "P1"}
PRIORITIES = ("P0", "P1", "P2")
TOP_FIELDS = {"name", "description", "backend", "inventory", "time_limit", "nodes", "seeds",
              "count",
              "cases", "db_opt"}
CASE_FIELDS = {"case", "priority", "nodes", "seeds", "time_limit", "db_opt"}
MAX_CELLS = 10_000


@dataclass
class Cell:
    """One run of the matrix."""

    index: int
    case: str          # as given to `harness run` (catalogue id or YAML path)
    case_id: str       # the case's id, e.g. TC-AF-002
    priority: str
    nodes: int
    seed: int
    rep: int = 0
    time_limit: float | None = None
    db_opt: list = field(default_factory=list)

    @property
    def name(self) -> str:
        rep = f",rep={self.rep}" if self.rep else ""
        opts = "".join(f",{o}" for o in self.db_opt)
        return f"{self.case_id}[n={self.nodes},seed={self.seed}{rep}{opts}]"

    def to_json(self) -> dict:
        return {**asdict(self), "name": self.name}


@dataclass
class Campaign:
    name: str
    source: str
    backend: str
    cells: list[Cell]
    description: str = ""
    inventory: str | None = None   # the ssh backend's lab inventory (relative to the file)


def load_campaign(path: str, count: int = 1) -> Campaign:
    """Parse and validate a campaign file and expand its matrix (`count` repeats)."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise BadInput(f"campaign {path}: cannot read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise BadInput(f"campaign {path}: not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(raw, dict):
        raise BadInput(f"campaign {path}: expected a mapping with name and cases")
    _unknown(path, "", raw, TOP_FIELDS)
    name = raw.get("name") or Path(path).stem
    if not isinstance(name, str) or not name.replace("-", "").replace("_", "").isalnum():
        raise BadInput(f"campaign {path}: name {name!r}: letters, digits, - and _ only")
    if not isinstance(raw.get("cases"), list) or not raw["cases"]:
        raise BadInput(f"campaign {path}: cases: expected a non-empty list of cases")
    if not isinstance(count, int) or count < 1:
        raise BadInput(f"--count {count}: expected a positive integer")
    cells: list[Cell] = []
    for i, entry in enumerate(raw["cases"]):
        cells += _expand(path, f"cases[{i}]", entry, raw, count, len(cells))
    if len(cells) > MAX_CELLS:
        raise BadInput(f"campaign {path}: {len(cells)} runs in the matrix, at most {MAX_CELLS}")
    backend = raw.get("backend", "auto")
    if backend not in ("auto", "docker", "netns", "ssh"):
        raise BadInput(f"campaign {path}: backend {backend!r}: expected auto, docker, netns "
                       "or ssh")
    inventory = raw.get("inventory")
    if inventory is not None:
        if not isinstance(inventory, str) or not inventory:
            raise BadInput(f"campaign {path}: inventory: expected the path of an inventory YAML")
        inventory = str((Path(path).parent / inventory).resolve())
    return Campaign(name=name, source=str(path), backend=backend, cells=cells,
                    description=str(raw.get("description") or ""), inventory=inventory)


def _unknown(path, where, mapping, allowed) -> None:
    extra = sorted(set(mapping) - allowed, key=str)
    if extra:
        raise BadInput(f"campaign {path}: {where}{'.' if where else ''}{extra[0]}: unknown field "
                       f"(expected one of {', '.join(sorted(allowed))})")


def _expand(path, where, entry, top, count, start) -> list[Cell]:
    if isinstance(entry, str):
        entry = {"case": entry}
    if not isinstance(entry, dict) or not isinstance(entry.get("case"), str):
        raise BadInput(f"campaign {path}: {where}: expected {{case: ID, ...}} or a case id")
    _unknown(path, where, entry, CASE_FIELDS)
    from harness.cases import load_case
    case = load_case(entry["case"])
    nodes = _ints(path, f"{where}.nodes", entry.get("nodes", top.get("nodes", [case.nodes])))
    bad = [n for n in nodes if n % 2 == 0 or not 1 <= n <= 9]
    if bad:
        raise BadInput(f"campaign {path}: {where}.nodes: {bad[0]} is not an odd number 1-9")
    seeds = entry.get("seeds", top.get("seeds", [1]))
    seeds = list(range(1, seeds + 1)) if isinstance(seeds, int) and not isinstance(
        seeds, bool) else _ints(path, f"{where}.seeds", seeds)
    limit = entry.get("time_limit", top.get("time_limit"))
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, float))
                              or not 1 <= limit <= 86_400 * 7):
        raise BadInput(f"campaign {path}: {where}.time_limit: {limit!r} is not 1..604800 s")
    db_opt = entry.get("db_opt", top.get("db_opt", []))
    if not isinstance(db_opt, list) or not all(isinstance(o, str) for o in db_opt):
        raise BadInput(f"campaign {path}: {where}.db_opt: expected a list of KEY=VALUE")
    priority = entry.get("priority") or case.raw.get("priority") or PRIORITY.get(case.id, "P2")
    if priority not in PRIORITIES:
        raise BadInput(f"campaign {path}: {where}.priority {priority!r}: expected P0, P1 or P2")
    return [Cell(index=start + k, case=entry["case"], case_id=case.id, priority=priority,
                 nodes=n, seed=s, rep=r, time_limit=limit, db_opt=list(db_opt))
            for k, (n, s, r) in enumerate((n, s, r) for n in nodes for s in seeds
                                          for r in range(count))]


def _ints(path, where, value) -> list[int]:
    if not isinstance(value, list) or not value or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value):
        raise BadInput(f"campaign {path}: {where}: expected a non-empty list of integers >= 0, "
                       f"got {value!r}")
    return value


def parse_shard(text: str | None) -> tuple[int, int]:
    """'I/N' -> (I, N) with 1 <= I <= N; None -> (1, 1)."""
    if text is None:
        return 1, 1
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise BadInput(f"--shard {text!r}: expected I/N, e.g. 1/4") from None
    if not 1 <= i <= n:
        raise BadInput(f"--shard {text}: expected 1 <= I <= N")
    return i, n


def shard(cells: list[Cell], i: int, n: int) -> list[Cell]:
    """The cells of shard i of n: every n-th cell from the (i-1)-th, by matrix index."""
    return [c for c in cells if c.index % n == i - 1]
