"""How much of Redis's own Tcl test suite the model passes, side by side with a real Redis (issue #18).

    python bench/redis_suite.py PATH-TO-REDIS-SOURCE [--units UNIT ...] [--timeout 300] [--stall 60]
                                [--resume 3] [--servers redis model] [--singledb] [--no-durable]
                                [--logs DIR]

PATH-TO-REDIS-SOURCE is a checkout of Redis at tag 7.0.15 (fetched by the user: the project never
copies Redis's tests); nothing is built in it.  Each unit (``tests/unit/UNIT.tcl``) runs in
runtest's external-server mode, ``tclsh tests/test_helper.tcl --host H --port P --single unit/UNIT``,
against

* a private ``redis-server`` (the distribution's, 7.0.15 here), started fresh for every unit on a
  free loopback port with ``--save '' --appendonly no`` in a temporary directory, and
* ``redlin serve`` (``python -m redlin serve --port 0``), started fresh for every unit,

with the same options for both: ``--tags`` denying the tests an external server cannot run
(:data:`DENIED_TAGS`: replication, DEBUG, SAVE, maxmemory), ``--ignore-encoding`` (no OBJECT
ENCODING assertions), ``--ignore-digest`` (no DEBUG DIGEST) and ``--durable`` (an error inside a
test fails that test instead of ending the unit; ``--no-durable`` turns it off).  Without
``--singledb`` the suite selects database 9, as against any Redis: real Redis then passes more tests
(COPY, MOVE, SWAPDB...), and the model has SELECT.  Tests tagged ``external:skip`` or
``large-memory`` are skipped by runtest itself.

A unit that makes no progress for ``--stall`` seconds is stopped by runtest, which names the test in
progress: that test fails, and the unit runs again without it (at most ``--resume`` times).  A run
still going after ``--timeout`` seconds is killed.  Both are reported.  Reported per
unit: the tests real Redis passes, the model passes, and every test the model fails (its name and
the first line of why: the ``[err]`` or ``[exception]`` text) or could not run (an exception or a
hang ends a unit: where it stopped).  Then the goal figure of issue #18: per unit and in total, the
tests both pass as a percentage of those real Redis passes; and the reasons that cost the model the
most tests (an unknown command counts every test it failed or kept from running).

>>> outcome = parse_runtest('''[ok]: SET and GET (1 ms)
... [err]: INCR twice in tests/unit/type/incr.tcl
... Expected '1' to equal or match '2' (context: type eval line 3 cmd {assert_equal 1 [r incr k]} proc ::test)
... [1/1 done]: unit/type/incr (0 seconds)''')
>>> outcome.passed, [(failure.test, failure.why) for failure in outcome.failed], outcome.complete
(['SET and GET'], [('INCR twice', "Expected '1' to equal or match '2'")], True)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from detect import start_redis  # bench/detect.py: a private redis-server on a free port

DEFAULT_UNITS = ("multi", "scripting", "pubsub", "type/string", "type/list", "type/hash", "type/set", "type/zset",
                 "type/incr", "keyspace", "expire", "type/stream-cgroups", "functions")
DENIED_TAGS = ("needs:repl", "needs:debug", "needs:save", "needs:config-maxmemory")
SERVERS = ("redis", "model")
# Commands with subcommands: a missing one is reported with its subcommand.
CONTAINERS = frozenset({"ACL", "CLIENT", "CLUSTER", "COMMAND", "CONFIG", "DEBUG", "FUNCTION", "LATENCY", "MEMORY",
                        "OBJECT", "PUBSUB", "SCRIPT", "SLOWLOG", "XGROUP", "XINFO"})
UNIT_SKIPPED = "not run: the unit's own code skipped them (on what INFO reports, say)"
HUNG = "hung: no progress within the stall limit"
WHY_WIDTH = 160  # the longest reason printed; assertion texts quote whole replies

# ----------------------------------------------------------------------------- runtest's output

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_STATUS = re.compile(r"^\[(ok|err|exception|ignore|skip|TIMEOUT)\]:\s?(.*)$")
_DONE = re.compile(r"^\[\d+/\d+ done\]: ")
_TRACE = re.compile(r"^\s+(while executing|invoked from within)$")
_TEST_HEADER = re.compile(r"^(.*) in (tests/\S+\.tcl)$")
_IN_TEST = re.compile(r'invoked from within\n"test [{"]([^}"\n]*)')
_FILE_LINE = re.compile(r'\(file "(tests/[^"]+)" line (\d+)\)')
_IN_PROGRESS = re.compile(r"=> \((IN PROGRESS|OK|ERR)\) (.*)$")


@dataclass(frozen=True)
class Failure:
    """A test that failed, and the first line of why."""

    test: str
    why: str


@dataclass
class UnitOutcome:
    """What one run of runtest on one unit reported.

    ``stops`` are the events that skipped tests: an exception or a hang ends the unit (``complete``
    is then false); under ``--durable`` an error in a server block's own code skips the rest of
    that block only.
    """

    passed: list[str] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    ignored: int = 0
    stops: list[Failure] = field(default_factory=list)  # test: where, why: the first line of why
    complete: bool = False
    hung: str | None = None  # the test in progress when runtest gave up waiting
    last: str | None = None  # the last test reported passed or failed


def parse_runtest(text: str) -> UnitOutcome:
    """Read runtest's console output (colours or not) into passes, failures and stops.

    >>> parse_runtest("[exception]: Executing test client: ERR unknown command 'function'\\n").stops
    [Failure(test='before the first test', why="ERR unknown command 'function'")]
    """
    outcome = UnitOutcome()
    for status, lines in _blocks(_ANSI.sub("", text).splitlines()):
        if status == "ok":
            outcome.passed.append(re.sub(r" \(\d+ ms\)$", "", lines[0]))
            outcome.last = outcome.passed[-1]
        elif status == "ignore":
            outcome.ignored += 1
        elif status == "err":
            _read_err(lines, outcome)
        elif status == "exception":
            outcome.stops.append(_exception(lines, outcome))
        elif status == "TIMEOUT":
            outcome.stops.append(_hang(lines, outcome))
        elif status == "done":
            outcome.complete = True
    return outcome


def _blocks(lines: list[str]) -> Iterator[tuple[str, list[str]]]:
    """Each status line with the lines that follow it up to the next status line."""
    status, block = "", []
    for line in lines:
        match = _STATUS.match(line)
        if match is None and not _DONE.match(line):
            block.append(line)
            continue
        if status:
            yield status, block
        status, block = (match.group(1), [match.group(2)]) if match else ("done", [line])
    if status:
        yield status, block


def _read_err(lines: list[str], outcome: UnitOutcome) -> None:
    header = _TEST_HEADER.match(lines[0])
    if header is not None:
        outcome.failed.append(Failure(header.group(1), first_reason(lines[1:])))
        outcome.last = header.group(1)
    else:  # --durable caught an error in a server block's own code: the rest of the block is skipped
        where = f"after test {outcome.last!r}" if outcome.last else "before the first test"
        outcome.stops.append(Failure(f"in a server block's own code {where} (the rest of that block skipped)",
                                     first_reason(lines)))


def first_reason(lines: Sequence[str]) -> str:
    """The first line of why a test failed.

    runtest sends an assertion's message; under ``--durable`` any other error's message loses its
    first ten characters (it strips ``assertion:``) and is followed by the whole message again and
    Tcl's trace: then the whole message's first line, which starts the second half before the trace.

    >>> first_reason(["known command 'foo'", "ERR unknown command 'foo'", "    while executing", '"r foo"'])
    "ERR unknown command 'foo'"
    """
    for index, line in enumerate(lines):
        if _TRACE.match(line):
            return _short(lines[index // 2] if index >= 2 else lines[0])
    return _short(lines[0]) if lines else ""


def _short(why: str) -> str:
    why = re.sub(r" \(context: .*$", "", why.strip())
    why = "".join(c if c.isprintable() else "?" for c in why)  # replies may hold binary
    return why if len(why) <= WHY_WIDTH else why[:WHY_WIDTH - 3] + "..."


def _exception(lines: list[str], outcome: UnitOutcome) -> Failure:
    why = _short(lines[0].removeprefix("Executing test client: "))
    trace = "\n".join(lines)
    test = _IN_TEST.search(trace)
    if test is not None:  # without --durable an error inside a test ends the unit there
        outcome.failed.append(Failure(test.group(1), why))
        return Failure(f"in test {test.group(1)!r}", why)
    where = _FILE_LINE.search(trace)
    place = f" at {where.group(1)} line {where.group(2)}" if where else ""
    last = outcome.last
    return Failure(f"{place} after test {last!r}".strip() if last else f"before the first test{place}", why)


def _hang(lines: list[str], outcome: UnitOutcome) -> Failure:
    for line in lines:
        state = _IN_PROGRESS.search(line)
        if state is not None and state.group(1) == "IN PROGRESS":
            outcome.hung = state.group(2)
            outcome.failed.append(Failure(state.group(2), HUNG))
            return Failure(f"hung in test {state.group(2)!r}", "no progress within the stall limit")
        if state is not None:
            return Failure(f"hung after test {state.group(2)!r}", "no progress within the stall limit")
    return Failure("hung", "no progress within the stall limit")


def reason_key(why: str) -> str:
    """The reason a failure is grouped under: a missing command or subcommand, else the text itself.

    >>> reason_key("ERR unknown command 'keys', with args beginning with: '*' ")
    'unknown command KEYS'
    >>> reason_key("ERR unknown command 'config', with args beginning with: 'set' 'lua-time-limit' '10' ")
    'unknown command CONFIG SET'
    >>> reason_key("ERR unknown subcommand 'stats'. Try FUNCTION HELP.")
    'unknown subcommand FUNCTION STATS'
    """
    command = re.search(r"unknown command '([^']*)'(?:, with args beginning with: '([^']*)')?", why)
    if command is not None:
        name, first = command.group(1).upper(), (command.group(2) or "").upper()
        return f"unknown command {name} {first}" if name in CONTAINERS and first else f"unknown command {name}"
    sub = re.search(r"unknown subcommand '([^']*)'\. Try (\S+) HELP", why)
    if sub is not None:
        return f"unknown subcommand {sub.group(2).upper()} {sub.group(1).upper()}"
    return why


# ----------------------------------------------------------------------------- servers and runs


@contextlib.contextmanager
def redis_server() -> Iterator[int]:
    """A fresh private redis-server (the distribution's) for one unit; its port."""
    with tempfile.TemporaryDirectory(prefix="redlin-suite-redis-") as directory:
        process, port = start_redis(directory)
        try:
            yield port
        finally:
            _stop(process)


@contextlib.contextmanager
def model_server() -> Iterator[int]:
    """A fresh ``redlin serve`` on a free loopback port for one unit; its port."""
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen([sys.executable, "-m", "redlin", "serve", "--port", "0"],
                                   stdout=subprocess.PIPE, stderr=errors, text=True)
        try:
            yield _ready_port(process, errors)
        finally:
            _stop(process)


class ServerDidNotStart(RuntimeError):
    """``redlin serve`` printed no ready line (the model may be mid-edit): that unit cannot run."""


def _ready_port(process: subprocess.Popen[str], errors: IO[bytes]) -> int:
    """The port in ``redlin serve``'s ready line ("... listening on redis://127.0.0.1:PORT/0 ...")."""
    assert process.stdout is not None
    readable, _, _ = select.select([process.stdout], [], [], 60)
    line = process.stdout.readline() if readable else ""
    found = re.search(r"listening on redis://[^:/]+:(\d+)/", line)
    if found is None:
        errors.seek(0)
        said = errors.read().decode("utf-8", "replace").strip().splitlines()[-1:] or ["no ready line within 60 s"]
        raise ServerDidNotStart(f"redlin serve did not start: {said[0]}")
    return int(found.group(1))


def _stop(process: subprocess.Popen[str] | subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def tclsh() -> str:
    """The Tcl shell runtest would pick (8.5 or later)."""
    for name in ("tclsh8.7", "tclsh8.6", "tclsh8.5", "tclsh"):
        found = shutil.which(name)
        if found is not None:
            return found
    raise SystemExit("tclsh is not installed (apt-get install tcl)")


def runtest_command(unit: str, port: int, args: argparse.Namespace, skip: Sequence[str] = ()) -> list[str]:
    """runtest's command line for one unit against an external server on loopback, without ``skip``.

    >>> options = argparse.Namespace(stall=60, singledb=False, no_durable=False)
    >>> runtest_command("multi", 6379, options, ["A hung test"])[1:]  # doctest: +NORMALIZE_WHITESPACE
    ['tests/test_helper.tcl', '--host', '127.0.0.1', '--port', '6379', '--single', 'unit/multi',
     '--timeout', '60', '--ignore-encoding', '--ignore-digest',
     '--tags', '-needs:repl -needs:debug -needs:save -needs:config-maxmemory', '--durable',
     '--skiptest', 'A hung test']
    """
    command = [tclsh(), "tests/test_helper.tcl", "--host", "127.0.0.1", "--port", str(port),
               "--single", f"unit/{unit}", "--timeout", str(int(args.stall)), "--ignore-encoding", "--ignore-digest",
               "--tags", " ".join(f"-{tag}" for tag in DENIED_TAGS)]
    command += ["--singledb"] * args.singledb + ["--durable"] * (not args.no_durable)
    return command + [word for test in skip for word in ("--skiptest", test)]


def run_unit(source: Path, command: list[str], timeout: float) -> tuple[str, bool]:
    """runtest's output, and whether it had to be killed after ``timeout`` seconds."""
    environment = {**os.environ, "TERM": "dumb"}  # no colours
    with tempfile.TemporaryFile() as output:
        # Its own session, so that the test client it spawns is killed with it.
        process = subprocess.Popen(command, cwd=source, stdin=subprocess.DEVNULL, stdout=output,
                                   stderr=subprocess.STDOUT, env=environment, start_new_session=True)
        killed = False
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            killed = True
        finally:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        output.seek(0)
        return output.read().decode("utf-8", "replace"), killed


def measure(source: Path, unit: str, server: str, args: argparse.Namespace) -> UnitOutcome:
    """Run one unit against a fresh server of one kind; after a hang, again without the hung tests."""
    started = time.monotonic()
    skipped: list[str] = []
    while True:
        outcome = attempt(source, unit, server, args, skipped)
        if outcome.hung is None or outcome.hung in skipped or len(skipped) >= args.resume:
            break
        skipped.append(outcome.hung)
    # Tests skipped because they hung on an earlier run: runtest skips every test of that name.
    outcome.failed += [Failure(test, HUNG + " (the unit ran again without it)")
                       for test in skipped if test != outcome.hung]
    print(f"  {unit} on {server}: {len(outcome.passed)} passed, {len(outcome.failed)} failed, "
          f"{len(outcome.stops)} stops ({time.monotonic() - started:.0f} s)", file=sys.stderr, flush=True)
    return outcome


def attempt(source: Path, unit: str, server: str, args: argparse.Namespace, skip: Sequence[str]) -> UnitOutcome:
    """One run of runtest on one unit against a fresh server."""
    try:
        with redis_server() if server == "redis" else model_server() as port:
            text, killed = run_unit(source, runtest_command(unit, port, args, skip), args.timeout)
    except ServerDidNotStart as error:
        return UnitOutcome(stops=[Failure("before the first test", str(error))])
    if args.logs is not None:
        args.logs.mkdir(parents=True, exist_ok=True)
        (args.logs / f"{unit.replace('/', '_')}.{server}.{len(skip)}.log").write_text(text)
    outcome = parse_runtest(text)
    if killed:
        last = outcome.last
        outcome.stops.append(Failure(f"killed after {args.timeout:g} s" + (f", after test {last!r}" if last else ""),
                                     "the unit did not finish in time"))
    elif not outcome.complete and not outcome.stops:
        tail = text.strip().splitlines()[-1:] or ["no output"]
        outcome.stops.append(Failure("runtest ended before the unit's end", _short(tail[0])))
    return outcome


# ----------------------------------------------------------------------------- the report


@dataclass
class UnitRow:
    """One unit's figures: the tests both servers pass, and what the model lacks."""

    unit: str
    real: UnitOutcome | None
    model: UnitOutcome | None

    def real_passes(self) -> Counter[str]:
        return Counter(self.real.passed) if self.real else Counter()

    def model_passes(self) -> Counter[str]:
        """The model's passes among real Redis's (all of them without a real run)."""
        passed = Counter(self.model.passed) if self.model else Counter()
        return passed & self.real_passes() if self.real else passed

    def unrun(self) -> Counter[str]:
        """Tests real Redis passes that the model neither passed nor failed: a stop skipped them, or
        the unit's own code did (it asks INFO, say, and skips what the answer rules out)."""
        if self.real is None or self.model is None:
            return Counter()
        reported = Counter(self.model.passed) + Counter(failure.test for failure in self.model.failed)
        return self.real_passes() - reported

    def not_run(self) -> int:
        return sum(self.unrun().values())


def goal_line(name: str, real: int, model: int) -> str:
    """One row of the goal table.

    >>> goal_line("multi", 32, 8)
    'multi                          32     8   25.0%'
    """
    percent = f"{100 * model / real:6.1f}%" if real else "     -"
    return f"{name:<26} {real:>6} {model:>5} {percent}"


def print_unit(row: UnitRow) -> None:
    real = sum(row.real_passes().values()) if row.real else "-"
    print(f"\n== {row.unit}: real Redis passes {real}, the model passes {sum(row.model_passes().values())}")
    for label, outcome in (("real Redis", row.real), ("model", row.model)):
        if outcome is None:
            continue
        for stop in outcome.stops:
            print(f"  {label} stopped {stop.test}: {stop.why}")
        if label == "real Redis":
            for failure in outcome.failed:
                print(f"  real Redis FAILS {failure.test}: {failure.why}")
    if row.model is None:
        return
    for failure in row.model.failed:
        print(f"  model fails {failure.test}: {failure.why}")
    if row.not_run():
        cause = "see the stops above" if row.model.stops else "the unit's own code skipped them"
        names = f": {', '.join(sorted(row.unrun()))}" if row.not_run() <= 10 else ""
        print(f"  {row.not_run()} tests real Redis passes were not run on the model ({cause}){names}")


def costs(rows: Sequence[UnitRow]) -> Counter[str]:
    """Tests each reason cost the model: the tests it failed, plus those a stop kept from running."""
    counted: Counter[str] = Counter()
    for row in rows:
        if row.model is None:
            continue
        for failure in row.model.failed:
            counted[reason_key(failure.why)] += 1
        if row.not_run():
            reasons = sorted({reason_key(stop.why) for stop in row.model.stops}) or [UNIT_SKIPPED]
            counted[" / ".join(reasons)] += row.not_run()
    return counted


def print_report(rows: Sequence[UnitRow]) -> None:
    for row in rows:
        print_unit(row)
    print("\nGoal (issue #18): tests the model passes / tests real Redis passes")
    print(f"{'unit':<26} {'real':>6} {'model':>5} {'goal':>7}")
    totals = [0, 0]
    for row in rows:
        real, model = sum(row.real_passes().values()), sum(row.model_passes().values())
        totals = [totals[0] + real, totals[1] + model]
        print(goal_line(row.unit, real, model))
    print(goal_line("total", *totals))
    top = costs(rows).most_common(20)
    if top:
        print("\nWhat costs the model the most tests:")
        for reason, count in top:
            print(f"  {count:>5}  {reason}")


def unit_name(text: str) -> str:
    """A unit as runtest names it under ``tests/unit``: ``type/list`` for ``unit/type/list.tcl``.

    >>> unit_name("unit/type/list.tcl"), unit_name("multi")
    ('type/list', 'multi')
    """
    return text.removeprefix("tests/").removeprefix("unit/").removesuffix(".tcl")


def check_source(source: Path, units: Sequence[str]) -> None:
    if not (source / "tests" / "test_helper.tcl").is_file():
        raise SystemExit(f"{source} is not a Redis source tree (no tests/test_helper.tcl)")
    missing = [unit for unit in units if not (source / "tests" / "unit" / f"{unit}.tcl").is_file()]
    if missing:
        raise SystemExit(f"no such units in {source}/tests/unit: {', '.join(missing)}")
    version = re.search(r'REDIS_VERSION "([^"]+)"', (source / "src" / "version.h").read_text()) \
        if (source / "src" / "version.h").is_file() else None
    print(f"Redis test suite of {source} (version {version.group(1) if version else 'unknown'}), "
          f"denied tags: {' '.join(DENIED_TAGS)}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, metavar="PATH-TO-REDIS-SOURCE", help="a Redis 7.0.15 checkout")
    parser.add_argument("--units", nargs="+", type=unit_name, default=list(DEFAULT_UNITS), metavar="UNIT",
                        help="units under tests/unit, e.g. multi type/list (default: the 13 of issue #18)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds before a unit is killed (default 300)")
    parser.add_argument("--stall", type=float, default=60,
                        help="seconds without a test finishing before runtest stops a unit (default 60)")
    parser.add_argument("--resume", type=int, default=3,
                        help="after a test hangs, run the unit again without it, at most this often (default 3)")
    parser.add_argument("--servers", nargs="+", choices=SERVERS, default=list(SERVERS),
                        help="which servers to run (default both)")
    parser.add_argument("--singledb", action="store_true", help="pass --singledb: no SELECT 9, fewer tests")
    parser.add_argument("--no-durable", action="store_true", help="an error inside a test ends the unit")
    parser.add_argument("--logs", type=Path, metavar="DIR", help="keep runtest's output of every run here")
    args = parser.parse_args(argv)
    source = args.source.resolve()
    check_source(source, args.units)
    print(f"started {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}", flush=True)
    rows = []
    for unit in args.units:
        real = measure(source, unit, "redis", args) if "redis" in args.servers else None
        model = measure(source, unit, "model", args) if "model" in args.servers else None
        rows.append(UnitRow(unit, real, model))
    print_report(rows)
    print(f"\nfinished {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
