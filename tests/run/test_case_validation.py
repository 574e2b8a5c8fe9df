"""Case files are validated strictly and refused in one line, exit 254 (issue 11, hostile input).

A seeded fuzzer mutates the catalogue cases a few thousand times (hostile values at every
path, unknown and misspelt keys, missing fields) and asserts parse_case either accepts a
sane case or raises BadInput with one line naming the file, never anything else. The CLI
is spot-checked in subprocesses: alias bombs, non-UTF-8, deep nesting, NaN, path-like ids,
oversized files and huge integers are refused before anything is created.
"""

import copy
import math
import random
import subprocess
import sys

import re
from pathlib import Path

import pytest
import yaml

from harness.cases import ID, catalogue, check_node_count, find_case, load_case, parse_case
from harness.errors import BadInput

BASES = [yaml.safe_load(p.read_text()) for p in catalogue()]
SEED = 20261128
MUTANTS = 3000


def _deep(depth: int):
    value = []
    for _ in range(depth):
        value = [value]
    return value


HOSTILE = [float("nan"), float("inf"), -float("inf"), -1, 0, -0.0, 1e308, 10 ** 20, 10 ** 5000,
           True, False, None, "", "x" * 5000, "../../x", "/abs/x", "n9", "a\nb", [], {}, [[]],
           {"a": {"b": 1}}, _deep(3000), 1e-7, 7, 2, "kill-one", "partition-halves",
           ["kill-one"], {"every": 1e-7, "hold": 1e-7}, {"faults": ["kill-one"], "timeline": []},
           {"timeline": [{"at": 1, "fault": "kill", "duraton": 3}]}, b"\xff", 3.5, -5, 10 ** 6,
           {"at": 1, "fault": "loss", "probability": 7}, [{"name": "register"}], ("t",),
           {1: 2}, {None: 1}, 0.5, "linearizable", ["linearizable"], "TC-AF-001"]
TYPO_KEYS = ["duraton", "intervall", "fault", "faults", "targets", "probabilty", "nodes",
             "node_count", "time-limit", "workload", "checker", "sla", "at", "hold", "every",
             "gap", "shape", "seed", "rate", "keys", "name", 1, None, True, ""]


def _slots(value, out, depth=0):
    """Every (container, key) pair of a case dict, down to 8 levels (not into the
    hostile deep values planted by earlier mutations)."""
    if depth > 8:
        return out
    if isinstance(value, dict):
        for k in list(value):
            out.append((value, k))
            _slots(value[k], out, depth + 1)
    elif isinstance(value, list):
        for i in range(min(len(value), 50)):
            out.append((value, i))
            _slots(value[i], out, depth + 1)
    return out


def mutate(case: dict, rng: random.Random) -> dict:
    case = copy.deepcopy(case)
    for _ in range(rng.randint(1, 3)):
        slots = _slots(case, [])
        container, key = rng.choice(slots)
        op = rng.random()
        if op < 0.6:
            container[key] = rng.choice(HOSTILE)
        elif op < 0.8:
            target = container if isinstance(container, dict) else case
            target[rng.choice(TYPO_KEYS)] = rng.choice(HOSTILE + [1, "x"])
        elif isinstance(container, dict):
            del container[key]
        else:
            container.append(rng.choice(HOSTILE))
    return case


def _sane(case) -> None:
    assert ID.match(case.id) and ".." not in case.id
    for value in (case.time_limit, case.recovery, *case.sla.values()):
        assert math.isfinite(value) and value > 0
    check_node_count(case, case.nodes)
    yaml.safe_dump(case.raw)          # the run directory gets a copy of it


def test_fuzzed_cases_are_refused_in_one_line_or_sane():
    rng = random.Random(SEED)
    refused = accepted = 0
    for i in range(MUTANTS):
        raw = mutate(rng.choice(BASES), rng)
        try:
            case = parse_case(raw, "fuzz.yaml")
        except BadInput as exc:
            msg = str(exc)
            assert msg.startswith("case fuzz.yaml: ") and "\n" not in msg, (i, msg)
            assert len(msg) < 2000, (i, msg[:200])
            refused += 1
        except Exception as exc:   # anything else is a bug: name the mutant
            pytest.fail(f"mutant {i} (seed {SEED}) raised {type(exc).__name__}: {exc}")
        else:
            _sane(case)
            accepted += 1
    assert refused > MUTANTS // 2 and accepted > 10, (refused, accepted)


@pytest.mark.parametrize("mutate_case,field", [
    (lambda c: c.update(time_limit=float("nan")), "time_limit"),
    (lambda c: c.update(recovery=float("inf")), "recovery"),
    (lambda c: c.update(id="../../x"), "'id'"),
    (lambda c: c.update(id="/tmp/abs"), "'id'"),
    (lambda c: c.update(id="a..b"), "'id'"),
    (lambda c: c.update(nodes=3, node_counts=[5, 7]), "'nodes'"),
    (lambda c: c.update(node_counts=[3, 3]), "node_counts"),
    (lambda c: c.update(titel="x"), "'titel': unknown (did you mean 'title'?)"),
    (lambda c: c["workloads"][0].update(concurency=3), "did you mean 'concurrency'?"),
    (lambda c: c["workloads"][0].update(rate=float("nan")), "workloads[0].rate"),
    (lambda c: c.update(sla={"leader_election_s": float("inf")}), "sla.leader_election_s"),
    (lambda c: c.update(db={"heartbeat_ms": 10 ** 5000}), "db.heartbeat_ms"),
    (lambda c: c.update(title=["not", "text"]), "'title'"),
    (lambda c: c.update(nemesis={"faults": ["kill-one"], "timeline": [{"at": 1, "fault": "kill"}]}),
     "conflicting forms"),
    (lambda c: c.update(nemesis={"timeline": []}), "nemesis.timeline"),
    (lambda c: c.update(nemesis={"timeline": [{"at": 1, "fault": "kill", "duraton": 3}]}),
     "did you mean 'duration'?"),
    (lambda c: c.update(nemesis={"timeline": [{"at": 1, "fault": "loss", "probability": 7}]}),
     "probability: must be <= 1"),
    (lambda c: c.update(nemesis={"timeline": [{"at": 1, "fault": "kill", "duration": -1}]}),
     "duration: must be >= 0"),
    (lambda c: c.update(nemesis={"cascade": {"every": 1e-7, "hold": 1e-7}}), "at most 10000"),
    (lambda c: c.update(node_counts=[3, 5], nemesis={"timeline": [
        {"at": 1, "fault": "partition", "shape": "isolate-one", "node": "n5"}]}), "(on 3 nodes)"),
])
def test_strict_rules_name_the_field(mutate_case, field):
    case = copy.deepcopy(BASES[0])
    mutate_case(case)
    with pytest.raises(BadInput) as err:
        parse_case(case, "x.yaml")
    assert field in str(err.value) and "\n" not in str(err.value), str(err.value)


def test_node_count_outside_node_counts_is_refused(tmp_path):
    text = (Path(__file__).parents[2] / "harness/cases/selftest-crash-all.yaml").read_text()
    path = tmp_path / "three-five.yaml"
    path.write_text(re.sub(r"(?m)^node_counts:.*$", "node_counts: [3, 5]", text))
    case = load_case(str(path))
    check_node_count(case, 3)
    with pytest.raises(BadInput, match=r"--nodes 7: case SELFTEST-CRASH-ALL runs on 3, 5 nodes"):
        check_node_count(case, 7)


def test_a_directory_named_like_a_catalogue_id_does_not_hide_the_case(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tc-af-001").mkdir()
    (tmp_path / "TC-AF-002").write_text("not a case")
    assert find_case("tc-af-001").parent.name == "cases"
    assert find_case("TC-AF-002").parent.name == "cases"
    with pytest.raises(BadInput, match="not found"):
        find_case("./tc-af-001")


BOMB = "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 10))
CLI_CASES = {
    "alias-bomb": ("a: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + BOMB, "aliases"),
    "not-utf8": (b"id: \xff\xfe\n", "not UTF-8"),
    "deep": ("id: x\nworkloads: " + "[" * 100_000 + "]" * 100_000 + "\n", "case file"),
    "nan": ("id: X\nworkloads: [{name: register}]\nnemesis: {faults: [kill-one]}\n"
            "checkers: [linearizable]\ntime_limit: .nan\n", "time_limit"),
    "path-id": ("id: ../../x\nworkloads: [{name: register}]\nnemesis: {faults: [kill-one]}\n"
                "checkers: [linearizable]\n", "'id'"),
    "abs-id": ("id: /tmp/x\nworkloads: [{name: register}]\nnemesis: {faults: [kill-one]}\n"
               "checkers: [linearizable]\n", "'id'"),
    "huge-int": ("id: X\nworkloads: [{name: register}]\nnemesis: {faults: [kill-one]}\n"
                 "checkers: [linearizable]\ntime_limit: " + "9" * 5000 + "\n", "case"),
    "big": ("id: X\n# " + "x" * (1 << 21) + "\n", "larger than"),
    "typo": ("id: X\nworkloads: [{name: register}]\nnemesis: {timeline: [{at: 1, fault: kill, "
             "duraton: 3}]}\ncheckers: [linearizable]\n", "did you mean 'duration'?"),
    "list-case": ("- 1\n- 2\n", "must be a mapping"),
}


@pytest.mark.parametrize("name", sorted(CLI_CASES))
def test_cli_refuses_hostile_case_files_in_one_line(name, tmp_path):
    text, needle = CLI_CASES[name]
    path = tmp_path / f"{name}.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    store = tmp_path / "store"
    proc = subprocess.run([sys.executable, "-m", "harness", "run", str(path), "--store",
                           str(store)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 254, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in proc.stderr, lines
    assert not store.exists()


# Each would-be run also names an unreadable inventory (checked last), so a regression in
# the option checks ends in a one-line refusal too instead of provisioning a cluster.
SAFE = ["--backend", "ssh", "--inventory", "/nonexistent/inventory.yaml"]


@pytest.mark.parametrize("argv,needle", [
    (["--time-limit", "nan"], "--time-limit"),
    (["--time-limit", "1e400"], "--time-limit"),
    (["--time-limit", "1e9"], "--time-limit"),
    (["--rate", "inf"], "--rate"),
    (["--rate", "-1"], "--rate"),
    (["--concurrency", "100000000"], "--concurrency"),
    (["--seed", "-1"], "--seed"),
    (["--nodes", "9"], "node_counts"),
    (["--db-opt", "election_timeout_ms=-5"], "election_timeout_ms"),
    (["--db-opt", "bug=bogus"], "bug"),
    ([], "inventory /nonexistent/inventory.yaml"),
])
def test_cli_refuses_hostile_run_options_before_creating_anything(argv, needle, tmp_path):
    store = tmp_path / "store"
    proc = subprocess.run([sys.executable, "-m", "harness", "run", "tc-af-001", *argv, *SAFE,
                           "--store", str(store)], capture_output=True, text=True, timeout=60)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 254 and len(lines) == 1 and needle in lines[0], proc.stderr[-500:]
    assert not store.exists()


def test_revival_bound_is_a_case_field_with_a_default():
    raw = {"id": "X", "workloads": [{"name": "register"}], "checkers": ["revival"],
           "nemesis": {"timeline": [{"at": 1, "fault": "kill", "targets": "one", "duration": 1}]}}
    assert parse_case(dict(raw), "x").revival == 15
    assert parse_case({**raw, "revival": 40}, "x").revival == 40
    for bad in (0, -3, float("nan"), "soon"):
        with pytest.raises(BadInput, match="field 'revival'"):
            parse_case({**raw, "revival": bad}, "x")
