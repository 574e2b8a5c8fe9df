"""Imports point down only (DESIGN.md Layers, STYLE.md 1).

Parses every module's imports and fails on any that reaches a layer above,
and on any third-party import that the leaf `remote` or `nemesis` reach,
directly or through the project modules they import (function-local imports
included: they run when the function is called). A last check imports
`nemesis` in a fresh interpreter and compares sys.modules with a bare one.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT = ("harness", "workloads", "nemesis", "checker", "emulator", "remote")

# module prefix -> project prefixes it may import (longest prefix wins)
ALLOWED = {
    "remote": ("remote",),
    "checker": ("checker",),
    "emulator.raft": ("emulator.raft",),
    "emulator": ("emulator",),
    "harness.errors": ("harness.errors", "remote"),
    "harness.control": ("harness.control", "harness.errors", "checker", "remote"),
    "nemesis": ("nemesis", "remote"),
    "workloads": ("workloads", "harness.control", "harness.errors", "checker", "remote"),
    "harness": PROJECT,
}
# packages whose whole import closure may hold no third-party module but these
NO_THIRD_PARTY = {"remote": (), "nemesis": ()}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _rule_for(module: str) -> tuple[str, tuple[str, ...]]:
    best = max((p for p in ALLOWED if module == p or module.startswith(p + ".")), key=len)
    return best, ALLOWED[best]


def _imports(path: Path, module: str):
    """(lineno, imported module name) for every import in the file, anywhere in it;
    `from X import y` also yields X.y (y may be a submodule)."""
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
            if name != "__future__":
                yield node.lineno, name
                for alias in node.names:
                    if _path_of(f"{name}.{alias.name}") is not None:
                        yield node.lineno, f"{name}.{alias.name}"


def _path_of(module: str) -> Path | None:
    base = ROOT.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


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
    return sorted(set(found))


def _third_party_reached(package: str) -> dict[str, str]:
    """{third-party top-level name: 'module:line' that imports it} over the import
    closure of every module of `package` (project imports followed transitively)."""
    todo = [_module_name(p) for p in sorted((ROOT / package).rglob("*.py"))]
    seen, found = set(), {}
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        path = _path_of(module)
        if path is None:
            continue
        for lineno, name in _imports(path, module):
            top = name.split(".")[0]
            if top in PROJECT:
                # importing a.b.c runs a/__init__, a/b/__init__ and a/b/c
                parts = name.split(".")
                todo += [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
            elif top and top not in sys.stdlib_module_names:
                found.setdefault(top, f"{module}:{lineno}")
    return found


def test_no_upward_imports():
    assert _violations() == []


@pytest.mark.parametrize("package", sorted(NO_THIRD_PARTY))
def test_no_third_party_import_reached(package):
    found = _third_party_reached(package)
    extra = {k: v for k, v in found.items() if k not in NO_THIRD_PARTY[package]}
    assert extra == {}, f"{package} reaches third-party modules: {extra}"


def test_importing_nemesis_loads_no_third_party_module():
    """At run time too: nothing beyond what a bare interpreter already holds."""
    code = ("import sys; base = set(sys.modules); import {mod}; "
            "print(' '.join(sorted({{m.split('.')[0] for m in set(sys.modules) - base}})))")
    for mod in ("remote", "nemesis"):
        out = subprocess.run([sys.executable, "-c", code.format(mod=mod)], capture_output=True,
                             text=True, timeout=60, check=True).stdout.split()
        assert "asyncssh" not in out and "docker" not in out and "harness" not in out, out
        assert [m for m in out if m not in sys.stdlib_module_names] == sorted(
            {"remote", mod}), out


def _plant(tmp_path, monkeypatch, files: dict[str, str]):
    for top in PROJECT:
        (tmp_path / top).mkdir(exist_ok=True)
    for rel, text in files.items():
        (tmp_path / rel).write_text(text)
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)


def test_rule_catches_an_upward_import(tmp_path, monkeypatch):
    """The check itself can fail: a planted checker -> harness import is reported."""
    _plant(tmp_path, monkeypatch, {"checker/bad.py": "from harness import cli\nimport json\n"})
    assert _violations() == [
        "checker/bad.py:1: checker.bad imports harness "
        "(layer checker may import only checker)"
    ]


def test_rule_catches_a_nemesis_to_harness_import(tmp_path, monkeypatch):
    _plant(tmp_path, monkeypatch, {
        "nemesis/bad.py": "def f():\n    from harness.errors import HarnessError\n"})
    assert _violations() == [
        "nemesis/bad.py:2: nemesis.bad imports harness.errors "
        "(layer nemesis may import only nemesis, remote)"
    ]


def test_rule_catches_a_third_party_import_reached_transitively(tmp_path, monkeypatch):
    """nemesis imports only the leaf, but the leaf (planted) imports asyncssh."""
    _plant(tmp_path, monkeypatch, {
        "nemesis/__init__.py": "from . import _a\n",
        "nemesis/_a.py": "from remote import helper\n",
        "remote/__init__.py": "",
        "remote/helper.py": "import json\nimport asyncssh\n"})
    assert _violations() == []
    assert _third_party_reached("nemesis") == {"asyncssh": "remote.helper:2"}
    assert _third_party_reached("remote") == {"asyncssh": "remote.helper:2"}


@pytest.mark.parametrize("module,rule", [
    ("checker.linear", "checker"),
    ("emulator.raft.core", "emulator.raft"),
    ("emulator.node", "emulator"),
    ("harness.control.ssh", "harness.control"),
    ("harness.cli", "harness"),
    ("remote", "remote"),
    ("nemesis._core", "nemesis"),
])
def test_rule_lookup(module, rule):
    assert _rule_for(module)[0] == rule
