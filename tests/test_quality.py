"""Static checks run as part of the test command: ruff on the whole tree, mypy --strict on the package.

The tool versions come from ``constraints.txt`` (the README's test command installs with it), so a
new release of ruff, mypy or a library's type stubs cannot turn the suite red on its own.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str) -> list[str]:
    if shutil.which(name) is None and not _importable(name):
        pytest.fail(f"{name} is not installed: use the README's test command (pip install -c constraints.txt -e '.[test]')")
    return [sys.executable, "-m", name]


def _importable(name: str) -> bool:
    return subprocess.run([sys.executable, "-c", f"import {name}"], capture_output=True).returncode == 0


def test_ruff_clean() -> None:
    done = subprocess.run([*_tool("ruff"), "check", "model", "checker", "tests", "bench"], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def staged_package(into: Path) -> Path:
    """A copy of the tree as it installs: ``redlin/`` as ``redlin/``, ``model/`` as ``redlin/model/``.

    mypy resolves module names from folders and does not run setuptools' editable-install finder,
    so it checks this copy; its messages are mapped back to the repository's paths.
    """
    package = into / "redlin"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "checker", package, ignore=ignore)
    shutil.copytree(ROOT / "model", package / "model", ignore=ignore)
    return package


def _repository_paths(text: str) -> str:
    text = re.sub(r"(?m)^redlin/model/", "model/", text)
    return re.sub(r"(?m)^redlin/", "checker/", text)


def test_mypy_strict_clean(tmp_path: Path) -> None:
    staged_package(tmp_path)
    done = subprocess.run(
        [*_tool("mypy"), "--strict", "--config-file", str(ROOT / "pyproject.toml"),
         "--cache-dir", str(tmp_path / ".mypy_cache"), "-p", "redlin"],
        cwd=tmp_path, capture_output=True, text=True,
    )
    assert done.returncode == 0, _repository_paths(done.stdout[-5000:]) + done.stderr
