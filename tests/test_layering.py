"""Imports point down only (DESIGN.md Layers, STYLE.md 1).

Parses every module's imports and fails on any that reaches a layer above.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT = ("harness", "workloads", "nemesis", "checker", "emulator")

# module prefix -> project prefixes it may import (longest prefix wins)
ALLOWED = {
    "checker": ("checker",),
    "emulator.raft": ("emulator.raft",),
    "emulator": ("emulator",),
    "harness.errors": ("harness.errors",),
    "harness.control": ("harness.control", "harness.errors", "checker"),
    "nemesis": ("nemesis", "harness.control", "harness.errors", "checker"),
    "workloads": ("workloads", "harness.control", "harness.errors", "checker"),
    "harness": PROJECT,
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _rule_for(module: str) -> tuple[str, tuple[str, ...]]:
    best = max((p for p in ALLOWED if module == p or module.startswith(p + ".")), key=len)
    return best, ALLOWED[best]


def _imports(path: Path, module: str):
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            yield node.lineno, name


def _all_modules():
    for top in PROJECT:
        for path in sorted((ROOT / top).rglob("*.py")):
            yield path


def _violations():
    found = []
    for path in _all_modules():
        module = _module_name(path)
        rule, allowed = _rule_for(module)
        for lineno, name in _imports(path, module):
            if name.split(".")[0] not in PROJECT:
                continue
            if not any(name == a or name.startswith(a + ".") for a in allowed):
                found.append(f"{path.relative_to(ROOT)}:{lineno}: {module} imports {name} "
                             f"(layer {rule} may import only {', '.join(allowed)})")
    return found


def test_no_upward_imports():
    assert _violations() == []


def test_rule_catches_an_upward_import(tmp_path, monkeypatch):
    """The check itself can fail: a planted checker -> harness import is reported."""
    fake_root = tmp_path
    (fake_root / "checker").mkdir()
    (fake_root / "checker" / "bad.py").write_text("from harness import cli\nimport json\n")
    for top in PROJECT[:-1]:
        (fake_root / top).mkdir(exist_ok=True)
    (fake_root / "emulator").mkdir(exist_ok=True)
    monkeypatch.setattr(__import__(__name__), "ROOT", fake_root)
    assert _violations() == [
        "checker/bad.py:1: checker.bad imports harness "
        "(layer checker may import only checker)"
    ]


@pytest.mark.parametrize("module,rule", [
    ("checker.linear", "checker"),
    ("emulator.raft.core", "emulator.raft"),
    ("emulator.node", "emulator"),
    ("harness.control.ssh", "harness.control"),
    ("harness.cli", "harness"),
])
def test_rule_lookup(module, rule):
    assert _rule_for(module)[0] == rule
