"""redlin's program draws do not depend on which modules are local (redlin.harness.own_draws).

Hypothesis mixes constants from the source of "local" modules into its draws.  Each check runs in a
fresh interpreter, so that the module it makes local (a probe full of numbers) does not change the
draws of the other tests in this session.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from hypothesis.internal.conjecture import providers as _providers

from redlin.harness.own_draws import _scan, own_draws, supported

_DRAW = textwrap.dedent("""
    import hashlib, json, sys, threading
    from hypothesis import HealthCheck, Phase, given, seed, settings
    from redlin.harness.own_draws import _scan, own_draws
    from redlin.harness.workloads import FAMILIES, programs

    def digest():
        drawn = []

        @seed(7)
        @settings(max_examples=20, database=None, phases=[Phase.generate], deadline=None,
                  suppress_health_check=list(HealthCheck))
        @given(programs(FAMILIES["default"], clients=4, steps=15))
        def draw(program):
            drawn.append(repr(program))

        draw()
        return hashlib.sha1("".join(drawn).encode()).hexdigest()

    found = {}
    with own_draws():
        found["own"] = digest()
    sys.path.insert(0, sys.argv[1])
    import redlin_probe_constants  # a local module: its numbers join Hypothesis's pool
    with own_draws():
        found["own, probe imported"] = digest()
        seen = []
        other = threading.Thread(target=lambda: seen.append(len(_scan())))
        other.start()
        other.join()
        found["pool inside"], found["pool of another thread"] = len(_scan()), seen[0]
    found["plain, probe imported"] = digest()
    print(json.dumps(found))
""")


def _run(tmp_path: Path, script: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HYPOTHESIS_STORAGE_DIRECTORY": str(tmp_path / "hypothesis-home")}
    return subprocess.run([sys.executable, "-c", script, *args], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300, check=False)


def test_the_same_seed_draws_the_same_programs_whatever_modules_are_local(tmp_path: Path) -> None:
    assert supported(), "the pinned Hypothesis draws local constants: own_draws must be able to hide them"
    probe = tmp_path / "probe"
    probe.mkdir()
    (probe / "redlin_probe_constants.py").write_text(f"VALUES = {list(range(0, 400))!r}\n")
    done = _run(tmp_path, _DRAW, str(probe))
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.splitlines()[-1])
    assert found["own"] == found["own, probe imported"]
    # The probe does change what Hypothesis draws outside the block: the check above can fail.
    assert found["plain, probe imported"] != found["own"]
    # Only the thread inside the block is spared the pool.
    assert found["pool inside"] == 0
    assert found["pool of another thread"] >= 400


def test_a_run_scans_no_source_for_constants(tmp_path: Path) -> None:
    # Hypothesis caches the constants of each module it scans in its storage directory.
    done = _run(tmp_path, "from redlin.cli import main; raise SystemExit(main())",
                "run", "--duration", "1", "--seed", "3", "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "history.jsonl").is_file()
    assert not (tmp_path / "hypothesis-home" / "constants").exists()


def test_the_block_nests_and_restores() -> None:
    with own_draws():
        with own_draws():
            assert not len(_scan())
        assert not len(_scan())  # still inside the outer block
    assert _scan() is _providers._local_constants  # Hypothesis's own pool again
