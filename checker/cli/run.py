"""``redlin run``: test a target for linearizability with drawn concurrent programs."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from redlin.cli.args import MAX_SECONDS, bounded_int, positive_float, positive_int, seconds
from redlin.cli.check import dask_address
from redlin.deploy.faults import FAULT_KINDS, parse_commands
from redlin.deploy.runner import DeploymentPlan, parse_wait, report_path, run_deployment
from redlin.errors import UsageError
from redlin.harness.budget import CHECK_OPERATIONS, CHECK_SCALE_MAX, REPORT_ALLOWANCE
from redlin.harness.pressure import raise_file_limit
from redlin.harness.pressure_clients import EVENT_LOOPS
from redlin.harness.pressure_run import (
    PRESSURE_WORKLOADS,
    pressure_workload_name,
    run_pressure,
)
from redlin.harness.run_profile import AUTO, profile_choices
from redlin.harness.runner import (
    DEFAULT_CHECK_TIME,
    DEFAULT_CLIENTS,
    DEFAULT_DATABASE,
    DEFAULT_OPS,
    DEFAULT_RECONNECT_FOR,
    DEFAULT_REPEAT,
    DEFAULT_SHRINK_TIME,
    DEFAULT_STEPS,
    DEFAULT_TIMEOUT,
    Progress,
    render_outcome,
    run,
)
from redlin.harness.workloads import FAMILIES
from redlin.serve.server import FAULTS

DEFAULT_DEPLOY_DURATION = 15.0
"""Seconds a deployment run records, without --duration."""
DEFAULT_DEPLOY_RATE = 200.0
"""Operations a second of a deployment run, without --rate: Jepsen's pace, so a run of a minute
stays checkable while failovers happen under it."""
MAX_CLIENTS = 1_000
"""The most clients of one run: each is a thread and a connection (two with the embedded server)."""


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``redlin run``."""
    parser.add_argument("--target", metavar="URL",
                        help="redis://[user:password@]host:port/db or rediss://... (default: start the "
                             "embedded model server in-process)")
    parser.add_argument("--fault", choices=["none", *FAULTS], default="none", metavar="NAME",
                        help="plant a bug in the embedded server: " + ", ".join(FAULTS))
    parser.add_argument("--workload", default="default", metavar="NAME",
                        help=f"workload family: {', '.join(FAMILIES)}, or a .json file (default: default, "
                             "every family plus any modelled command, transaction and script drawn from the "
                             "grammar); or pubsub: publishers and subscribers, every delivery checked")
    parser.add_argument("--clients", type=bounded_int(MAX_CLIENTS), default=DEFAULT_CLIENTS, metavar="N",
                        help=f"concurrent clients per program (default {DEFAULT_CLIENTS}, at most {MAX_CLIENTS})")
    parser.add_argument("--steps", type=bounded_int(10_000), default=DEFAULT_STEPS, metavar="N",
                        help=f"most steps per client in a program (default {DEFAULT_STEPS})")
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--ops", type=positive_int, default=DEFAULT_OPS, metavar="N",
                        help=f"stop after about N recorded operations (default {DEFAULT_OPS})")
    budget.add_argument("--duration", type=positive_float, metavar="S",
                        help="soak mode: generate programs for S seconds, then stop the one running; "
                             f"the last checks, the report and deleting the keys then take at most --timeout + "
                             f"--check-time + {REPORT_ALLOWANCE:g} s more (plus twice --shrink-time to shrink "
                             "a violation)")
    parser.add_argument("--rate", type=seconds(1e9), metavar="R", help="at most R operations per second")
    parser.add_argument("--seed", type=int, default=0, help="seed of the programs drawn (default 0)")
    parser.add_argument("--out", type=Path, metavar="DIR", help="output directory (default reports/<run-id>)")
    parser.add_argument("--repeat", type=bounded_int(1_000), default=DEFAULT_REPEAT, metavar="N",
                        help=f"runs of each program (default {DEFAULT_REPEAT})")
    parser.add_argument("--timeout", type=positive_float, default=DEFAULT_TIMEOUT, metavar="S",
                        help=f"seconds to wait for a reply before the operation is indeterminate (default {DEFAULT_TIMEOUT:g})")
    parser.add_argument("--check-time", type=positive_float, default=DEFAULT_CHECK_TIME, metavar="S",
                        help=f"seconds of checking per run of up to {CHECK_OPERATIONS:,} operations before it is "
                             f"unknown; a larger run gets proportionally more, up to {CHECK_SCALE_MAX}x "
                             f"(default {DEFAULT_CHECK_TIME:g})")
    parser.add_argument("--shrink-time", type=positive_float, default=DEFAULT_SHRINK_TIME, metavar="S",
                        help="seconds for shrinking a failing program, then as many at most for minimising its "
                             f"history (default {DEFAULT_SHRINK_TIME:g})")
    parser.add_argument("--reconnect-for", type=seconds(MAX_SECONDS), default=DEFAULT_RECONNECT_FOR, metavar="S",
                        help="if the target goes away (killed, restarting, paused), wait up to S seconds for it "
                             "and go on, reporting the outage; past that the run ends, what was recorded is "
                             f"checked and reported, and the exit code is 3 (1 if a violation was found) "
                             f"(default {DEFAULT_RECONNECT_FOR:g})")
    parser.add_argument("--password-env", default="REDLIN_PASSWORD", metavar="VAR",
                        help="environment variable with the password, if the URL has none (default REDLIN_PASSWORD)")
    parser.add_argument("--database", type=Path, default=DEFAULT_DATABASE, metavar="DIR",
                        help=f"Hypothesis example database; failing programs replay from it (default {DEFAULT_DATABASE})")
    parser.add_argument("--allow-destructive", action="store_true",
                        help="let a workload send FLUSHALL/FLUSHDB/CONFIG/DEBUG and the like")
    parser.add_argument("--keep-going", action="store_true",
                        help="do not stop at the first violation: report it and search on for violations of "
                             "other kinds or commands until the budget is spent")
    parser.add_argument("--protocol", type=int, choices=(2, 3), default=2,
                        help="the RESP version the recorder speaks: 3 sends HELLO 3 on every connection and "
                             "records and checks RESP3 replies exactly, Pub/Sub pushes included (default 2)")
    parser.add_argument("--profile", choices=profile_choices(), default=AUTO, metavar="NAME",
                        help=f"the version the target is checked as: {', '.join(profile_choices()[1:])}, or auto "
                             "(default): from the target's INFO server; the embedded server plays the profile named "
                             "(redis-7.0 for auto).  A violation another profile explains is reported as a version "
                             "difference")
    parser.add_argument("--engine", choices=("programs", "async"), default="programs",
                        help="programs (default): drawn programs between barriers, shrunk when they fail; async: "
                             "the pressure engine, every client in a closed loop of SET (unique values), INCR, a MULTI "
                             "block or a script of two INCR, and GET, on asyncio, from worker processes, checked "
                             f"epoch by epoch as it records (--workload {', '.join(PRESSURE_WORKLOADS)}; default "
                             "mixed, each key one of the others)")
    parser.add_argument("--pipeline", type=bounded_int(1_000), default=1, metavar="N",
                        help="with --engine async: operations each client writes at once (each its own operation, "
                             "a MULTI block one; default 1)")
    parser.add_argument("--processes", type=bounded_int(256), metavar="N",
                        help="with --engine async: worker processes (default: one per CPU)")
    parser.add_argument("--event-loop", choices=EVENT_LOOPS,
                        help="with --engine async: the workers' event loop: uvloop (its reads and writes in C), "
                             "asyncio's own, or auto (default): uvloop where it is installed")
    parser.add_argument("--dask", type=dask_address, metavar="tcp://HOST:PORT",
                        help="with --engine async: run the worker processes as tasks on the Dask cluster of this "
                             "scheduler, one per Dask worker (at most --processes), each machine's clock "
                             "uncertainty widening its operations' intervals; gathered and checked when they end "
                             "(needs the dask extra)")
    parser.add_argument("--progress", choices=("auto", "bar", "lines", "none"), default="auto",
                        help="progress on stderr: a bar on a terminal, plain lines otherwise (default auto)")
    deploy = parser.add_argument_group("deployments under faults")
    deploy.add_argument("--deployment", metavar="SPEC",
                        help="start a local deployment from the distribution's redis-server/redis-sentinel and test "
                             "it: single, primary-replica[:N], sentinel (primary, 2 replicas, 3 sentinels) or cluster "
                             "(3 primaries, 3 replicas), then ,none / ,aof-everysec / ,aof-always; or test the user's: "
                             "hosts=redis://H:P,..., sentinel=redis://H:P,...[?master=NAME], cluster=redis://H:P,... "
                             "(with a password: redis://[USER]:PASSWORD@H:P, the same in every URL; behind "
                             "sentinels, the servers' own as ?master=NAME&password=...[&username=...]) "
                             f"(runs --duration S, default {DEFAULT_DEPLOY_DURATION:g})")
    deploy.add_argument("--nemesis", metavar="FAULTS",
                        help="faults during the run: " + ", ".join(FAULT_KINDS) + ", all, or a --nemesis-cmd name; "
                             "options after colons: kill:target=primary:interval=2-5:duration=1-3")
    deploy.add_argument("--nemesis-cmd", action="append", default=[], metavar="NAME=COMMAND",
                        help="a fault injected by the user's own command (and heal-NAME=COMMAND to heal it), for a "
                             "deployment redlin does not own; repeat for several")
    deploy.add_argument("--replica-reads", type=bounded_int(64), default=0, metavar="N",
                        help="N more clients that only read, each from one replica, checked for sequential "
                             "consistency with everything else (default 0)")
    deploy.add_argument("--wait", metavar="N[:MS]",
                        help="after every acknowledged write send WAIT N MS (MS default 100) and report what it "
                             "confirmed of the writes that were lost")
    parser.epilog = ("Ctrl-C, SIGTERM and SIGHUP end a run cleanly: generation stops, what was recorded is checked "
                     "and reported, the run's keys are deleted, and the exit code is the verdict's (130 if nothing "
                     "could be checked).")


def run_command(args: argparse.Namespace) -> int:
    """Test, print the verdict and where the files are; the exit code."""
    if args.dask and (args.engine != "async" or args.deployment):
        raise UsageError("--dask runs the pressure engine's workers on a Dask cluster: it needs --engine async "
                         "(and no --deployment)")
    if args.event_loop and (args.engine != "async" or args.deployment):
        raise UsageError("--event-loop is the pressure engine's: it needs --engine async (and no --deployment)")
    if args.deployment or args.nemesis or args.nemesis_cmd:
        return _deployment_command(args)
    raise_file_limit(args.clients)
    if args.engine == "async":
        return _pressure_command(args)
    mode = args.progress
    tty = None if mode == "auto" else mode == "bar"
    progress: Progress | None = None
    if mode != "none":
        progress = Progress(sys.stderr, total_ops=None, duration=None, tty=tty)
    outcome = run(
        args.target, fault=None if args.fault == "none" else args.fault, workload=args.workload,
        clients=args.clients, steps=args.steps, ops=args.ops, duration=args.duration, rate=args.rate,
        seed=args.seed, out=args.out, repeat=args.repeat, timeout=args.timeout, check_time=args.check_time,
        shrink_time=args.shrink_time, reconnect_for=args.reconnect_for, allow_destructive=args.allow_destructive,
        keep_going=args.keep_going, password_env=args.password_env, database=args.database, progress=progress,
        protocol=args.protocol, profile=args.profile,
    )
    print(render_outcome(outcome))
    return outcome.exit_code


def _pressure_command(args: argparse.Namespace) -> int:
    """``--engine async``: the pressure engine (:mod:`redlin.harness.pressure_run`)."""
    for given, option in ((args.rate is not None, "--rate"), (args.protocol != 2, "--protocol 3"),
                          (args.keep_going, "--keep-going")):
        if given:
            raise UsageError(f"{option} does not apply to --engine async (a closed loop as fast as the server answers, "
                             "over RESP2)")
    workload = "mixed" if args.workload == "default" else args.workload
    outcome = run_pressure(args.target, fault=None if args.fault == "none" else args.fault,
                           workload=pressure_workload_name(workload), clients=args.clients,
                           ops=args.ops if args.duration is None else None, duration=args.duration, seed=args.seed,
                           out=args.out, timeout=args.timeout, check_time=args.check_time, pipeline=args.pipeline,
                           processes=args.processes, password_env=args.password_env,
                           progress=None if args.progress == "none" else sys.stderr, dask=args.dask,
                           loop=args.event_loop or "auto", profile=args.profile)
    print(render_outcome(outcome))
    return outcome.exit_code


def _deployment_command(args: argparse.Namespace) -> int:
    """``--deployment``: run the deployment workload under the nemesis (:mod:`redlin.deploy.runner`)."""
    if not args.deployment:
        raise UsageError("--nemesis and --nemesis-cmd need --deployment (a local kind, or hosts=/sentinel=/cluster=URL...)")
    if args.target:
        raise UsageError("--target and --deployment cannot be used together: name the user's servers in --deployment "
                         "hosts=redis://HOST:PORT,...")
    out = args.out or Path("reports") / f"deploy-{time.strftime('%Y%m%d-%H%M%S')}-seed{args.seed}"
    plan = DeploymentPlan(
        deployment=args.deployment, out=out, nemesis=args.nemesis, commands=parse_commands(args.nemesis_cmd),
        clients=args.clients, replica_readers=args.replica_reads, duration=args.duration or DEFAULT_DEPLOY_DURATION,
        seed=args.seed, timeout=args.timeout, wait=_wait_option(args.wait), rate=args.rate or DEFAULT_DEPLOY_RATE,
        check_time=args.check_time * 6, password_env=args.password_env,
    )
    raise_file_limit(args.clients + args.replica_reads)
    outcome = run_deployment(plan, None if args.progress == "none" else sys.stderr)
    print(outcome.summary)
    print(f"report: {report_path(outcome)}")
    return outcome.exit_code


def _wait_option(text: str | None) -> tuple[int, int] | None:
    """``--wait N[:MS]``; UsageError naming the option if malformed."""
    if text is None:
        return None
    try:
        return parse_wait(text)
    except ValueError:
        raise UsageError(f"bad --wait {text!r}: expected N[:MS], a number of replicas and milliseconds") from None
