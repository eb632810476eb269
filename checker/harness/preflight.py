"""Before ``redlin run`` sends anything: check the arguments, the workload, the target and the output folder.

Every mistake a user can make is found here and raised as a one-line
:class:`~redlin.errors.UsageError` before the first operation: a bad number, a fault planted in a
server that is not the embedded one, a workload that the model cannot check or that would touch
keys outside the run's prefix (or the whole server, unless ``--allow-destructive``), a target that
does not answer like a Redis server, an output folder that already holds a run.
"""

from __future__ import annotations

import datetime
import secrets
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

from redlin.errors import UsageError
from redlin.harness.generated import AnyCommand, AnyPipeline, AnyScript, AnyScriptCache, AnyTransaction
from redlin.harness.guard import Guard, UnsafeCommand, possible_commands
from redlin.harness.outages import ServerFacts, server_facts
from redlin.harness.run_profile import AUTO, ProfileChoice, check_profile_name, choose_profile
from redlin.harness.script_guard import guard_script
from redlin.harness.server_state import CODES, info_fields, state_error
from redlin.harness.target import Target, TargetError, open_connection
from redlin.harness.templates import Eval
from redlin.harness.wire import WireError
from redlin.harness.workloads import BASE_FAMILIES, FAMILIES, Family, example_actions, family, mixed
from redlin.model import COMMANDS, DEFAULT_PROFILE, PROFILES, Reply
from redlin.serve.server import FAULTS, start_in_thread

__all__ = ["OpenTarget", "check_safety", "new_run_id", "open_target", "resolve_profile", "resolve_workload", "validate"]


@dataclass(frozen=True, slots=True)
class OpenTarget:
    """A target that answered: where it is, how to describe it, what it said it is, and the run's
    history file (new, in an output folder that exists)."""

    target: Target
    described: str
    server_version: str | None
    history_path: Path
    server_run_id: str | None = None
    """The ``run_id`` of the server's current start (``INFO server``), to tell a restart later."""


def validate(*, fault: str | None, target: str | None, clients: int, steps: int, ops: int | None,
             duration: float | None, rate: float | None, repeat: int, timeout: float,
             reconnect_for: float | None = None, profile: str = AUTO) -> None:
    """Raise :class:`~redlin.errors.UsageError` for arguments no run can use.

    >>> validate(fault="lost-write", target="redis://h", clients=1, steps=1, ops=1, duration=None,
    ...          rate=None, repeat=1, timeout=1.0)
    Traceback (most recent call last):
    ...
    redlin.errors.UsageError: --fault plants a bug in the embedded server: it cannot be combined with --target
    """
    if fault is not None:
        if target is not None:
            raise UsageError("--fault plants a bug in the embedded server: it cannot be combined with --target")
        if fault not in FAULTS:
            raise UsageError(f"unknown fault {fault!r} (choose from {', '.join(FAULTS)})")
    for name, value in (("clients", clients), ("steps", steps), ("repeat", repeat)):
        if value < 1:
            raise UsageError(f"--{name} must be at least 1")
    if ops is not None and ops < 1:
        raise UsageError("--ops must be at least 1")
    if duration is not None and not duration > 0:
        raise UsageError("--duration must be positive")
    if rate is not None and not rate > 0:
        raise UsageError("--rate must be positive")
    if not timeout > 0:
        raise UsageError("--timeout must be positive")
    if reconnect_for is not None and not reconnect_for >= 0:
        raise UsageError("--reconnect-for must not be negative")
    check_profile_name(profile)


def resolve_workload(workload: str | Family) -> Family:
    """The family a ``--workload`` names (a built-in name or a ``.json`` file); ``mixed`` without
    the steps the model does not implement yet.  Any other family must be checkable as it is."""
    if isinstance(workload, Family):
        source = workload
    else:
        try:
            source = family(workload)
        except KeyError:
            raise UsageError(f"unknown workload {workload!r} (choose from {', '.join(FAMILIES)}, "
                             "or give a .json file)") from None
        except ValueError as error:
            raise UsageError(str(error)) from None
        if workload == "mixed":
            try:
                source = mixed([FAMILIES[name] for name in BASE_FAMILIES], supported=model_commands())
            except ValueError as error:
                raise UsageError(f"workload mixed: {error}") from None
    missing = sorted(name for name in source.commands() if name not in model_commands())
    if missing:
        raise UsageError(f"workload {source.name!r} sends {', '.join(missing)}, which redlin's model does "
                         "not implement yet, so its histories cannot be checked")
    return source


def model_commands() -> frozenset[str]:
    """The commands redlin's model implements, in capitals."""
    return frozenset(name.decode().upper() for name in COMMANDS)


def check_safety(source: Family, guard: Guard) -> None:
    """Refuse, before connecting, a family that would name keys of its own or be destructive, or
    whose scripts the guard inside them refuses in a rehearsal on the model (setup, then one step
    of each kind).  The server enforces the same guard during the run; this is the early error,
    naming the family's file and step."""
    templates = (*source.setup, *source.steps)
    where = f"workload {source.name!r}" + (f" ({source.path})" if source.path else "")

    def step_name(index: int) -> str:
        number = f"setup step {index + 1}" if index < len(source.setup) else f"step {index - len(source.setup) + 1}"
        script = getattr(templates[index], "script", None)
        if not isinstance(script, str):
            return number
        first = (script.strip().splitlines() or [""])[0]
        return f"{number} (eval {first[:40] + ('…' if len(first) > 40 else '')!r})"

    actions = example_actions(source)
    for index, action in enumerate(actions):
        for argv in possible_commands(action, guard.prefix + b"0:"):
            try:
                guard.check(argv)
            except UnsafeCommand as error:
                raise UsageError(f"{where}, {step_name(index)}: {error}") from None
    stopped = guard.rehearse(actions)
    if stopped is not None:
        raise UsageError(f"{where}, {step_name(stopped.index)}: redlin's script guard refuses the script "
                         f"(rehearsed on the model): {stopped.problem}")


def new_run_id() -> str:
    """``<date>-<time>-<4 hex digits>``: sorts by start time, and two runs never share one."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{secrets.token_hex(2)}"


def resolve_profile(requested: str, target: str | None, *, password_env: str | None, timeout: float) -> ProfileChoice:
    """The profile a run checks ``target`` as (:func:`~redlin.harness.run_profile.choose_profile`):
    for a URL, from its ``INFO server`` (one connection); the embedded server plays what it is told."""
    check_profile_name(requested)  # before connecting
    if target is None:
        return choose_profile(requested, None)
    try:
        parsed = Target.parse(target, password_env=password_env)
    except TargetError as error:
        raise UsageError(str(error)) from None
    info = _ask_info(parsed, timeout)
    return choose_profile(requested, info_fields(info))


def open_target(stack: ExitStack, target: str | None, *, fault: str | None, seed: int, password_env: str | None,
                timeout: float, out_dir: Path, profile: str = DEFAULT_PROFILE) -> OpenTarget:
    """Start the embedded server if there is no target (it stops when ``stack`` closes; it plays
    ``profile``), reach the target, and make the output folder."""
    if target is None:
        server = stack.enter_context(start_in_thread(port=0, fault=fault, seed=seed, profile=profile))
        url, described = server.url, f"{server.url} (embedded model server, fault: {fault or 'none'})"
    else:
        url, described = target, ""
    try:
        parsed = Target.parse(url, password_env=password_env)
    except TargetError as error:
        raise UsageError(str(error)) from None
    facts = _preflight(parsed, timeout)
    history_path = out_dir / "history.jsonl"
    if history_path.exists():
        raise UsageError(f"{out_dir} already holds a run's history: choose another --out")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"cannot create the output directory {out_dir}: {error.strerror}") from None
    return OpenTarget(parsed, described or parsed.url, facts.version, history_path, facts.run_id)


def _preflight(target: Target, timeout: float) -> ServerFacts:
    """Connect once (PING); the server's version and run id from INFO if it tells."""
    return server_facts(_ask_info(target, timeout))


def _ask_info(target: Target, timeout: float) -> Reply:
    """Connect once: PING, then the reply to ``INFO server``; a one-line
    :class:`~redlin.errors.UsageError` if the target is not a Redis server that serves now."""
    try:
        with open_connection(target, timeout) as conn:
            pong = conn.execute(b"PING")
            code = state_error(pong)
            if code is not None:  # a Redis server in a state that serves nothing now (MASTERDOWN, LOADING...)
                raise UsageError(f"{target.url} is a Redis server that serves no commands now: it answers PING with "
                                 f"{code} ({CODES.get(code, 'a state error')}): {getattr(pong, 'text', pong)}")
            if getattr(pong, "text", None) != "PONG":
                raise UsageError(f"{target.url} does not answer PING like a Redis server (got {pong!r})")
            return conn.execute(b"INFO", b"server")
    except (WireError, TargetError) as error:
        raise UsageError(f"cannot use {target.url}: {error}") from None


GUARD_PROBE: Final = guard_script(b"return 1")
"""The script :func:`script_guard_refusal` sends: the guard's prelude and nothing else."""


def script_guard_refusal(target: Target, timeout: float) -> str | None:
    """Why ``target`` cannot run scripts inside redlin's guard, or ``None`` if it can: one EVAL of
    :data:`GUARD_PROBE`, which touches no key.  A server whose scripts may change the shared Lua
    globals (before Redis 6.2's protection: KeyDB) makes the prelude refuse, since no guard can
    hold there; 6.2 then garbles the refusal's text, so the reply is quoted as it came."""
    try:
        with open_connection(target, timeout) as conn:
            reply = conn.execute(b"EVAL", GUARD_PROBE, b"0")
    except (WireError, TargetError) as error:
        return f"the probe script got no reply: {error}"
    if reply == 1:
        return None
    return f"EVAL of the guard alone answered {getattr(reply, 'text', reply)!r}"


def sends_scripts(template: object) -> bool:
    """Whether a step template sends scripts (EVAL/EVALSHA/SCRIPT LOAD of a guarded body).

    >>> sends_scripts(FAMILIES["transfer"].steps[0]), sends_scripts(FAMILIES["register"].steps[0])
    (True, False)
    """
    return isinstance(template, Eval | AnyScript | AnyScriptCache)


BROAD_FAMILIES: Final = frozenset({"default", "model", "mixed"})
"""The workloads that go on without their scripts on a server that cannot run the guard (the
others are about what they send, scripts included: they stop instead)."""


def for_profile(source: Family, profile_name: str) -> Family:
    """``source`` without the commands ``profile`` changes in ways its model does not encode
    (:attr:`~redlin.model.Profile.unmodelled`): drawn, they would make the model cry wolf.

    >>> "XADD" in for_profile(FAMILIES["default"], "redis-6.2").commands()
    False
    >>> for_profile(FAMILIES["default"], "redis-7.0") is FAMILIES["default"]
    True
    """
    profile = PROFILES[profile_name]
    if not profile.unmodelled:
        return source

    def narrowed(step: Any) -> Any:
        drawn = isinstance(step, AnyCommand | AnyTransaction | AnyPipeline)
        return replace(step, leave_out=step.leave_out | profile.unmodelled) if drawn else step

    return replace(source, steps=tuple(narrowed(step) for step in source.steps),
                   setup=tuple(narrowed(step) for step in source.setup))


def without_scripts(source: Family, refusal: str) -> Family:
    """``source`` without its script steps (setup included), for a server that cannot run the
    guard (``refusal`` says why); a one-line :class:`~redlin.errors.UsageError` for a focused
    family that sends scripts.

    >>> len(without_scripts(FAMILIES["default"], "why").steps) < len(FAMILIES["default"].steps)
    True
    >>> without_scripts(FAMILIES["transfer"], "old Lua")
    Traceback (most recent call last):
    ...
    redlin.errors.UsageError: workload 'transfer' sends scripts, and this server cannot run them inside redlin's script guard: old Lua
    """
    if source.name not in BROAD_FAMILIES:
        raise UsageError(f"workload {source.name!r} sends scripts, and this server cannot run them inside redlin's "
                         f"script guard: {refusal}")
    return replace(source, steps=tuple(step for step in source.steps if not sends_scripts(step)),
                   setup=tuple(step for step in source.setup if not sends_scripts(step)))
