"""The package as users get it: one import package, a public API, no import cycles, small modules.

These tests read the tree (ASTs, not imports) where they can, so they are quick; the wheel test
builds the real wheel with pip, as ``pip install .`` does.
"""

from __future__ import annotations

import ast
import doctest
import importlib
import pkgutil
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import networkx as nx
import pytest

import redlin

ROOT = Path(__file__).resolve().parents[1]
SOURCES = {"redlin": ROOT / "checker", "redlin.model": ROOT / "model"}

# Modules allowed past the size limit, each with the reason (a hot loop that loses speed when split).
SIZE_LIMIT = 600
LARGE_MODULES: dict[str, str] = {}


def _modules() -> dict[str, Path]:
    """Every module of the package, by dotted name, from the repository's folders."""
    found: dict[str, Path] = {}
    for package, folder in SOURCES.items():
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            name = ".".join((package, *parts))
            if package == "redlin" and parts[:1] == ("model",):
                continue  # not a folder of checker/
            found[name] = path
    return found


MODULES = _modules()


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node of ``tree`` except those under ``if TYPE_CHECKING:`` (never run, so no cycle)."""
    nodes: list[ast.AST] = []
    pending = [tree]
    while pending:
        node = pending.pop()
        nodes.append(node)
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            pending.extend(node.orelse)
            continue
        pending.extend(ast.iter_child_nodes(node))
    return nodes


def _imports(name: str, path: Path) -> set[str]:
    """The redlin modules that ``name`` imports, at any depth of its code."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from redlin.history import importers`` imports the submodule when there is one.
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
        else:
            continue
        found.update(target for target in targets if target in MODULES and target != name)
    return found


def test_no_import_cycles() -> None:
    graph = nx.DiGraph()
    for name, path in MODULES.items():
        graph.add_node(name)
        graph.add_edges_from((name, target) for target in _imports(name, path))
    cycles = list(nx.simple_cycles(graph))
    # A package's __init__ re-exporting its own submodules is not a cycle of modules.
    real = [cycle for cycle in cycles if not all(
        node.startswith(min(cycle, key=len) + ".") or node == min(cycle, key=len) for node in cycle)]
    assert not real, "import cycles: " + "; ".join(" -> ".join(cycle) for cycle in real)


def test_nothing_imports_the_command_line() -> None:
    users = sorted(name for name, path in MODULES.items()
                   if not name.startswith(("redlin.cli", "redlin.__main__")) and any(t.startswith("redlin.cli") for t in _imports(name, path)))
    assert not users, f"only the command line may import redlin.cli: {users}"


def test_the_generic_checker_knows_nothing_of_redis() -> None:
    for name, path in MODULES.items():
        if name.startswith(("redlin.search", "redlin.history.records")):
            bad = {t for t in _imports(name, path) if t.startswith(("redlin.model", "redlin.adapter", "redlin.harness"))}
            assert not bad, f"{name} imports {sorted(bad)}"
            # Nor does it read Redis commands by their shapes: those are bytes (b"INCR"), and the
            # generic checker's own calls never are (a Redis view belongs in redlin.adapter.views).
            tree = ast.parse(path.read_text(encoding="utf-8"))
            spelled = sorted({node.value for node in ast.walk(tree)
                              if isinstance(node, ast.Constant) and isinstance(node.value, bytes)})
            assert not spelled, f"{name} spells Redis commands: {spelled}"


def test_no_imports_inside_functions() -> None:
    offenders = []
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in ast.walk(tree):
            if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                offenders += [f"{name}:{node.lineno}" for node in ast.walk(function)
                              if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert not offenders, f"imports inside functions (a sign of a cycle worked around): {offenders}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_size(name: str) -> None:
    lines = len(MODULES[name].read_text(encoding="utf-8").splitlines())
    assert lines <= SIZE_LIMIT or name in LARGE_MODULES, f"{name} has {lines} lines: split it by job"


@pytest.mark.parametrize("name", sorted(set(MODULES) - {"redlin.__main__"}))
def test_module_docstring_and_doctests(name: str) -> None:
    module = importlib.import_module(name)
    assert (module.__doc__ or "").strip(), f"{name} has no docstring saying its job"
    failed, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert not failed


def test_every_module_is_installed() -> None:
    """The list in pyproject.toml names every package folder (a new one would be left out of the wheel)."""
    walked = {info.name for info in pkgutil.walk_packages(redlin.__path__, "redlin.") if info.ispkg} | {"redlin"}
    declared = {name for name in MODULES if MODULES[name].name == "__init__.py"}
    assert declared <= walked | {"redlin.model"}


def test_public_api() -> None:
    for name in redlin.__all__:
        value = getattr(redlin, name)
        if callable(value) and name != "__version__":
            assert (value.__doc__ or "").strip(), f"redlin.{name} has no docstring"
    assert {"check", "load", "run", "History", "Operation", "Violation", "Recorder", "programs",
            "redis_model", "register", "cas_register", "kv", "load_history"} <= set(redlin.__all__)
    assert (Path(redlin.__file__).parent / "py.typed").exists()


def _redlin(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "redlin", *args], capture_output=True, text=True, timeout=60)


def test_python_m_redlin_version_and_usage() -> None:
    version = _redlin("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"redlin {redlin.__version__}"
    bare = _redlin()
    assert bare.returncode == 0
    for command in ("check", "run", "report", "serve"):
        assert command in bare.stdout
    assert "exit codes" in bare.stdout


def test_an_internal_error_is_one_line_and_exit_4(tmp_path: Path) -> None:
    # A directory where a history file is expected makes the reader fail in a way no check foresees.
    code = ("import sys, redlin.cli.check as c\n"
            "def boom(*a, **k): raise RuntimeError('boom')\n"
            "c.load = boom\n"
            "from redlin.cli import main\n"
            "sys.exit(main(sys.argv[1:]))\n")
    history = tmp_path / "h.jsonl"
    history.write_text("")
    done = subprocess.run([sys.executable, "-c", code, "check", str(history)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 4
    assert done.stderr.count("\n") == 1 and "internal error: RuntimeError: boom" in done.stderr
    assert "Traceback" not in done.stderr
    debug = subprocess.run([sys.executable, "-c", code, "--debug", "check", str(history)], capture_output=True,
                           text=True, timeout=60)
    assert debug.returncode == 4 and "Traceback" in debug.stderr


@pytest.mark.slow
def test_the_wheel_installs_exactly_one_top_level_package(tmp_path: Path) -> None:
    # Build from a copy: setuptools writes build/ and *.egg-info next to the sources it builds.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", "__pycache__", "*.egg-info", "reports",
                                                                 ".hypothesis", ".mypy_cache", ".ruff_cache"))
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w",
                           str(tmp_path), str(source)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (wheel,) = tmp_path.glob("redlin-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names}
    assert {entry for entry in top if not entry.endswith(".dist-info")} == {"redlin"}
    for needed in ("redlin/py.typed", "redlin/report/schema.json", "redlin/report/assets/report.js",
                   "redlin/report/assets/report.css", "redlin/report/assets/report.html", "redlin/model/__init__.py",
                   "redlin/__main__.py"):
        assert needed in names
    assert not [name for name in names if name.startswith(("redlin/tests", "tests/", "bench/"))]
    entry_points = next(name for name in names if name.endswith("entry_points.txt"))
    assert "redlin = redlin.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


@pytest.mark.parametrize("script", sorted(path.name for path in (ROOT / "bench").glob("*.py")))
def test_bench_scripts_start_from_anywhere(script: str, tmp_path: Path) -> None:
    """Benchmarks import the installed package by its public names (no sys.path tricks)."""
    done = subprocess.run([sys.executable, str(ROOT / "bench" / script), "--help"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage" in done.stdout
    assert "sys.path" not in (ROOT / "bench" / script).read_text()
