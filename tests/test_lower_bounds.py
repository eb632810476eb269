"""The lower bounds of pyproject.toml's dependency ranges are tested, not hoped for.

A fresh virtualenv gets exactly the versions of ``constraints-min.txt`` (the lowest that
pyproject.toml admits), plus the pinned test runner, and runs the runtime suites in it: model,
checker, histories, command line and a recorded run.  Slow (it installs packages), so CI runs it.
"""

from __future__ import annotations

import re
import subprocess
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SUITES = ("tests/test_model_datatypes.py", "tests/test_model_scripting.py", "tests/test_checker_search.py",
          "tests/test_history_jsonl.py", "tests/test_checker_redis.py", "tests/test_cli.py", "tests/test_serve.py")


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[name.lower()] = version
    return pins


def test_constraints_min_are_pyprojects_lower_bounds() -> None:
    lows = _pins(ROOT / "constraints-min.txt")
    text = (ROOT / "pyproject.toml").read_text()
    dependencies = re.search(r"^dependencies = \[(.*?)\]", text, re.S | re.M)
    assert dependencies
    bounds = dict(re.findall(r'"([A-Za-z0-9_.-]+)>=([0-9][^",;\s]*)\s*(?:;[^"]*)?"', dependencies.group(1)))
    assert len(bounds) == dependencies.group(1).count(">="), "a dependency the pattern did not read"
    assert {name.lower(): _release(version) for name, version in bounds.items()} == {
        name: _release(version) for name, version in lows.items()}


def _release(version: str) -> tuple[int, ...]:
    """``"6.100"`` and ``"6.100.0"`` are the same release."""
    parts = [int(part) for part in version.split(".")]
    while parts and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


@pytest.mark.slow
def test_runtime_suites_pass_with_the_lowest_versions(tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = str(env_dir / "bin" / "python")
    pinned = _pins(ROOT / "constraints.txt")
    install = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    done = subprocess.run([*install, "-c", str(ROOT / "constraints-min.txt"), "-e", str(ROOT)],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    done = subprocess.run([*install, f"pytest=={pinned['pytest']}"], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    versions = subprocess.run([python, "-m", "pip", "freeze"], capture_output=True, text=True).stdout.lower()
    for name, version in _pins(ROOT / "constraints-min.txt").items():
        assert f"{name}=={version}" in versions, f"{name} is not at its lower bound {version}"
    done = subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SUITES], cwd=ROOT,
                          capture_output=True, text=True, timeout=1500)
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-2000:]
    # The suite under the old versions ran, not skipped wholesale.
    assert re.search(r"\b\d{3,} passed", done.stdout), done.stdout[-500:]
