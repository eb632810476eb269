"""``redlin run --deployment``: a workload against a deployment under a nemesis, checked and reported.

One run: start the deployment (or reach the user's), start the nemesis, record the workload of
:mod:`redlin.deploy.record` for ``duration`` seconds, stop the nemesis (which heals every fault),
let the deployment settle, read every key through the primary path, delete the run's keys, then
judge what was recorded:

- **linearizability** of what clients saw through the primary path (the replica readers' operations
  left out), with the Redis model, minimised to a small counterexample;
- **lost acknowledged writes**: :mod:`redlin.deploy.analysis`, each with the fault that lost it;
- with replica readers, **sequential consistency** of every operation, replica reads included
  (:mod:`redlin.search.sequential`): whether the deployment gives the weaker guarantee;
- with ``wait``, what ``WAIT`` confirmed of the writes that were lost.

The report directory holds ``history.jsonl`` (written as it happened, each fault too), ``nemesis.jsonl`` (each
fault, appended once healed), ``waits.jsonl``, the report (faults as bands on its timeline) and
``deployment.json`` with every figure; ``nodes/`` keeps the servers' logs.

A deployment of the user's may need a password: ``redis://[[USER]:PASSWORD@]HOST:PORT`` in every
URL (the same in all), and for ``sentinel=`` the servers' own in ``?master=NAME&password=...[&username=...]``
(the URLs' are the sentinels').  Every connection redlin opens to it authenticates, and whatever
shows the deployment (history, report, ``deployment.json``, errors) shows :func:`redacted` instead.

>>> parse_existing("cluster=redis://10.0.0.1:7000,redis://10.0.0.2:7000")[:3]
('cluster', [('10.0.0.1', 7000), ('10.0.0.2', 7000)], '')
>>> existing = parse_existing("sentinel=redis://:pw@10.0.0.1:26379?master=cache&password=other")
>>> existing.master, existing.sentinel_credentials.password, existing.credentials.password
('cache', 'pw', 'other')
>>> redacted("sentinel=redis://alice:pw@10.0.0.1:26379?master=cache&password=other")
'sentinel=redis://alice:***@10.0.0.1:26379?master=cache&password=***'
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import urllib.parse
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final, NamedTuple

from redlin.deploy.analysis import (
    LostWrite,
    acknowledged_pushes,
    append_only_violation,
    describe_fault,
    fault_before,
    lost_writes,
    read_waits,
    wait_summary,
)
from redlin.deploy.cluster import Cluster
from redlin.deploy.faults import NODE_PARTITIONS, FaultEvent, UserCommand, parse_nemesis, write_events
from redlin.deploy.nemesis import Nemesis
from redlin.deploy.network import PeerNetwork
from redlin.deploy.node import DeployError, Topology
from redlin.deploy.proxy import ProxyLayer
from redlin.deploy.record import WAITS_FILE, DeploymentRecorder, KeySpace
from redlin.deploy.routes import (
    NO_CREDENTIALS,
    Address,
    ClusterRoute,
    Credentials,
    HostsRoute,
    Route,
    SentinelRoute,
)
from redlin.deploy.topology import MASTER_NAME, Deployment, PrimaryReplica, SentinelGroup
from redlin.errors import EXIT_OK, EXIT_UNKNOWN, EXIT_VIOLATION, UsageError
from redlin.harness.interrupts import Interrupts, signal_text
from redlin.harness.wire import AuthRefused, WireError
from redlin.history.jsonl import HistoryWriter
from redlin.history.records import History
from redlin.registry import load
from redlin.report.write import HISTORY_FILE, write_report  # the report keeps the history recorded there
from redlin.search.check import check
from redlin.search.compose import piece
from redlin.search.minimise import minimise
from redlin.search.result import Linearizable, Result, Violation
from redlin.search.sequential import SequentialResult, check_sequential

EXISTING: Final = ("hosts", "sentinel", "cluster")
"""Deployments redlin does not own: ``hosts=URL,...``, ``sentinel=URL,...[?master=NAME]``, ``cluster=URL,...``."""
SENTINEL_OPTIONS: Final = ("master", "password", "username")
"""What the query of ``sentinel=URL,...?...`` may set: the primary's name, the servers' password and user."""
_QUERY_SECRET: Final = re.compile(r"([?&](?!master=|username=)[^=&]*=)[^&]*")  # password= or a misspelling
_USERINFO: Final = re.compile(r"://((?:(?!://).)*)@")  # up to the last @ before the next URL
_STRAY: Final = re.compile(r"(^[a-z]+=|^|,)(?:(?!://)[^,])*@")  # an @ in no URL: a password split at a ','
SETTLE_TIMEOUT: Final = 20.0
FINAL_READS_TIMEOUT: Final = 30.0
NEMESIS_FILE: Final = "nemesis.jsonl"
RESULT_FILE: Final = "deployment.json"


@dataclass
class DeploymentPlan:
    """What one deployment run does (the ``redlin run --deployment`` options)."""

    deployment: str
    out: Path
    nemesis: str | None = None
    commands: dict[str, UserCommand] = field(default_factory=dict)
    clients: int = 4
    replica_readers: int = 0
    duration: float = 15.0
    ops: int | None = None
    seed: int = 0
    timeout: float = 1.0
    wait: tuple[int, int] | None = None
    rate: float | None = 200.0
    check_time: float = 60.0
    max_states: int = 2_000_000
    password_env: str | None = None
    """An environment variable with the servers' password of a deployment of the user's, used when
    its ``--deployment`` gives none (``--password-env``): a password kept off the command line."""


@dataclass
class DeploymentOutcome:
    """What a deployment run found (also ``deployment.json``)."""

    out: Path
    verdict: str
    operations: int
    faults: list[FaultEvent]
    lost: list[LostWrite]
    acknowledged: int
    sequential: SequentialResult | None
    seconds: float
    summary: str
    exit_code: int
    document: dict[str, Any]


class Existing(NamedTuple):
    """A deployment of the user's, as ``--deployment`` names it."""

    kind: str
    addresses: list[Address]
    master: str
    credentials: Credentials
    """The servers' (for ``sentinel=``, from the query's ``password=`` and ``username=``)."""
    sentinel_credentials: Credentials
    """The sentinels' (the URLs' of ``sentinel=``)."""


def parse_existing(text: str) -> Existing:
    """``KIND=URL[,URL...][?master=NAME&password=...&username=...]``; UsageError if bad, which
    shows the text :func:`redacted`."""
    kind, _, urls = text.partition("=")
    shown = redacted(text)
    if kind not in EXISTING or not urls:
        raise UsageError(f"bad --deployment {shown!r}: expected a local kind or one of "
                         + ", ".join(f"{name}=URL[,URL...]" for name in EXISTING))
    urls, _, query = urls.partition("?")
    encode = "(a ',', '?', '#', '/' or '@' in a user name or password must be percent-encoded: %2C, %3F...)"
    try:
        options = urllib.parse.parse_qsl(query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise UsageError(f"bad --deployment {shown!r}: the part after '?' is not NAME=VALUE&... {encode}") from None
    given = dict(options)
    if kind != "sentinel" and given:
        raise UsageError(f"bad --deployment {shown!r}: only sentinel= takes ?master=...&password=... "
                         "(give the servers' password in their URLs: redis://[USER]:PASSWORD@HOST:PORT)")
    names = [name for name, _ in options]
    wrong = sorted({name for name in names if name not in SENTINEL_OPTIONS or names.count(name) > 1})
    if wrong:
        raise UsageError(f"bad --deployment {shown!r}: unknown or repeated option(s) {', '.join(wrong)} "
                         f"(expected {', '.join(SENTINEL_OPTIONS)})")
    listed = urls.split(",")
    for number, url in enumerate(listed, 1):
        if "://" not in url:  # not shown: it may be the end of a password split at a ','
            raise UsageError(f"bad --deployment {shown!r}: URL {number} is not redis://HOST:PORT {encode}")
    addresses = []
    found: Credentials | None = None
    for url in listed:
        parsed = urllib.parse.urlsplit(url.strip())
        try:
            port = 6379 if parsed.port is None else parsed.port
        except ValueError:
            port = 0
        if parsed.scheme != "redis" or not parsed.hostname or not 0 < port < 65536:
            raise UsageError(f"bad --deployment {shown!r}: {redacted(url)!r} is not redis://HOST:PORT "
                             "(with a password: redis://[USER]:PASSWORD@HOST:PORT)")
        credentials = _credentials(parsed.username, parsed.password)
        if found is not None and credentials != found:
            raise UsageError(f"bad --deployment {shown!r}: {redacted(url)!r} has another user name or password than "
                             "the URLs before it (every server of a deployment takes the same)")
        found = credentials
        addresses.append((parsed.hostname, port))
    assert found is not None
    if kind != "sentinel":
        return Existing(kind, addresses, "", found, NO_CREDENTIALS)
    servers = _credentials(given.get("username"), given.get("password"), quoted=False)
    return Existing(kind, addresses, given.get("master") or MASTER_NAME, servers, found)


def _credentials(username: str | None, password: str | None, quoted: bool = True) -> Credentials:
    """A URL's user name and password (percent-encoded if ``quoted``); a user name alone
    authenticates with an empty password (an ACL user that has ``nopass``)."""
    decode = urllib.parse.unquote if quoted else str
    user = decode(username) if username else None
    secret = decode(password) if password else ""
    return Credentials(user, secret if secret or user else None)


def redacted(text: str) -> str:
    """``--deployment`` text (or one of its URLs) as it may be shown and stored: every password
    ``***``, and every query value but the master's and user's names.  Anything before an ``@``
    that belongs to no URL is hidden too (a password with an unencoded ``,``).

    >>> redacted("hosts=redis://:a,b@h:1,redis://u:p@w@k:2"), redacted("cluster=:x@h:1")
    ('hosts=redis://:***@h:1,redis://u:***@k:2', 'cluster=***@h:1')
    """
    text = _QUERY_SECRET.sub(r"\1***", text)
    text = _USERINFO.sub(lambda match: "://" + _masked_userinfo(match.group(1)) + "@", text)
    return _STRAY.sub(r"\1***@", text)


def _masked_userinfo(userinfo: str) -> str:
    user, colon, _ = userinfo.partition(":")
    return user + ":***" if colon else user


def parse_wait(text: str) -> tuple[int, int]:
    """``N[:MS]`` (``WAIT``'s replicas and milliseconds, 100 by default); ValueError if it is not that."""
    replicas, _, ms = text.partition(":")
    if not replicas.isdigit() or not (ms or "100").isdigit():
        raise ValueError(f"bad WAIT option {text!r}")
    return int(replicas), int(ms or "100")


def _route(topology: Topology, via: Callable[[Address], Address] | None) -> Route:
    if isinstance(topology, SentinelGroup):
        return SentinelRoute(topology.sentinel_addresses, MASTER_NAME, via=via)
    if isinstance(topology, Cluster):
        return ClusterRoute(topology.startup_nodes, via=via)
    assert isinstance(topology, PrimaryReplica)
    return HostsRoute([node.address for node in topology.servers], via=via)


def _settle(topology: Topology | None) -> str:
    """Wait until the deployment is whole again after the nemesis healed it; what went wrong, if anything."""
    try:
        if isinstance(topology, SentinelGroup):
            topology.follow()
            topology.wait_synced(SETTLE_TIMEOUT)
        elif isinstance(topology, Cluster):
            topology.wait_healthy(SETTLE_TIMEOUT)
        elif isinstance(topology, PrimaryReplica):
            topology.wait_synced(SETTLE_TIMEOUT)
    except DeployError as error:
        return str(error)
    return ""


def _proxied(topology: Topology, proxies: ProxyLayer) -> Callable[[Address], Address]:
    """Where clients reach a node, by any port that reaches it (its own, or the one it announces
    when a peer network is in front of it): through its proxy."""
    by_port = {port: proxies.address(node) for node in topology.nodes if node in proxies
               for port in (node.port, node.peer_port) if port}
    return lambda address: by_port.get(address[1], address)


def _delete_keys(route: Route, keys: KeySpace, timeout: float) -> None:
    """Delete the run's keys (each through the node serving it, authenticated); a node that cannot
    be reached keeps them (they are under the run's prefix)."""
    for key in keys.all():
        try:
            with route.connect(route.address(key), timeout=timeout) as connection:
                connection.execute(b"DEL", key)
        except WireError:
            continue


def run_deployment(plan: DeploymentPlan, progress: IO[str] | None = None) -> DeploymentOutcome:
    """Run ``plan``; see the module docstring."""
    started = time.monotonic()
    out = plan.out
    out.mkdir(parents=True, exist_ok=True)
    for name in (HISTORY_FILE, NEMESIS_FILE, WAITS_FILE):
        (out / name).unlink(missing_ok=True)
    shutil.rmtree(out / "nodes", ignore_errors=True)  # an earlier run's data files would be loaded
    keys = KeySpace(b"redlin:%s:" % uuid.uuid4().hex[:10].encode())

    def say(text: str) -> None:
        if progress is not None:
            print(text, file=progress, flush=True)

    interrupted = False
    with Interrupts() as interrupts, ExitStack() as stack:
        writer = stack.enter_context(HistoryWriter(
            out / HISTORY_FILE, model="redis", deployment=redacted(plan.deployment), nemesis=plan.nemesis or "none",
            seed=plan.seed, prefix=keys.prefix.decode()))
        topology, route, nemesis = _open(plan, out, stack, say,
                                         lambda event: writer.fault(json.loads(event.to_json())))
        recorder = DeploymentRecorder(route, writer, keys, clients=plan.clients, seed=plan.seed, timeout=plan.timeout,
                                      replica_readers=plan.replica_readers, wait=plan.wait, directory=out,
                                      rate=plan.rate)
        stack.callback(recorder.close)
        say(f"recording for {plan.duration:g} s: {plan.clients} clients"
            + (f", {plan.replica_readers} replica readers" if plan.replica_readers else "")
            + (f", nemesis {plan.nemesis}" if plan.nemesis else ""))
        if nemesis is not None:
            nemesis.start()
        try:
            with interrupts.armed():  # a signal stops the recording; healing, reading and checking go on
                recorder.run(plan.duration, plan.ops)
        except KeyboardInterrupt:
            interrupted = True
            recorder.stopping.set()
        events = _stop(nemesis, out)
        unsettled = _settle(topology)
        say("reading every key after healing" + (f" (not settled: {unsettled})" if unsettled else ""))
        missing = recorder.final_reads(time.monotonic() + FINAL_READS_TIMEOUT)
        _delete_keys(route, keys, plan.timeout)
        readers = set(recorder.readers_of)
    say("checking")
    notes = {"unsettled": unsettled, "unread_keys": len(missing),
             "interrupted": signal_text(interrupts.received or "SIGINT") if interrupted else ""}
    return _judge(plan, out, events, readers, started, notes=notes)


def _open(plan: DeploymentPlan, out: Path, stack: ExitStack, say: Callable[[str], None],
          listener: Callable[[FaultEvent], None]) -> tuple[Topology | None, Route, Nemesis | None]:
    """The topology (None for the user's), the route to it and the nemesis, closed by ``stack``."""
    kinds = [spec.kind for spec in parse_nemesis(plan.nemesis, plan.commands)] if plan.nemesis else []
    topology: Topology | None = None
    proxies: ProxyLayer | None = None
    network: PeerNetwork | None = None
    if "=" in plan.deployment:
        existing = parse_existing(plan.deployment)
        addresses, credentials = existing.addresses, existing.credentials
        secret = os.environ.get(plan.password_env) if plan.password_env else None
        if credentials.password is None and secret:
            credentials = Credentials(credentials.username, secret)
        route: Route = (HostsRoute(addresses, credentials=credentials) if existing.kind == "hosts"
                        else ClusterRoute(addresses, credentials=credentials) if existing.kind == "cluster"
                        else SentinelRoute(addresses, existing.master, credentials=credentials,
                                           sentinel_credentials=existing.sentinel_credentials))
        try:
            route.check_access()  # a refused password is the user's to fix, not a server that is down
        except AuthRefused as error:
            raise UsageError(f"--deployment {redacted(plan.deployment)}: {error}") from None
        route.refresh()
    else:
        deployment = Deployment.parse(plan.deployment)
        say(f"starting {deployment}")
        topology = deployment.build(out / "nodes")
        if {*NODE_PARTITIONS, "all"} & set(kinds) and len(topology.nodes) > 1:
            network = stack.enter_context(PeerNetwork(topology.nodes))  # before the start: the nodes announce it
        stack.callback(topology.close)  # closed before the network: the nodes go first
        topology.start()
        if {"partition", "latency", "all"} & set(kinds):
            proxies = stack.enter_context(ProxyLayer(node for node in topology.nodes if not node.sentinel))
        route = _route(topology, None if proxies is None else _proxied(topology, proxies))
        route.refresh()
    nemesis = None
    if plan.nemesis:
        nemesis = Nemesis(topology, plan.nemesis, seed=plan.seed, proxies=proxies, network=network,
                          commands=plan.commands,
                          journal=out / NEMESIS_FILE, listener=listener)
        stack.callback(nemesis.heal_all)  # whatever happens, nothing stays paused or partitioned
    return topology, route, nemesis


def _stop(nemesis: Nemesis | None, out: Path) -> list[FaultEvent]:
    if nemesis is None:
        return []
    try:
        events = nemesis.stop()
    finally:
        write_events(out / NEMESIS_FILE, nemesis.events())
    return events


def _judge(plan: DeploymentPlan, out: Path, events: list[FaultEvent], readers: set[int], started: float,
           notes: dict[str, Any]) -> DeploymentOutcome:
    history, model = load(out / HISTORY_FILE, "jsonl", None, None)
    ids = [op.id for op in history if op.client not in readers]
    primary = piece(history, ids) if readers else history
    deadline = time.monotonic() + plan.check_time
    shortcut = append_only_violation(primary, model)
    result: Result
    core: tuple[int, ...] = ()
    if shortcut is not None:
        result, core = shortcut
    else:
        result = check(primary, model, time_limit=plan.check_time, max_states=plan.max_states)
        if isinstance(result, Violation):
            core = minimise(primary, model, result, time_limit=max(1.0, plan.check_time / 4))
    sequential = None
    with_replicas: Result | None = None
    if readers:  # the weaker guarantee first, then whether replica reads are linearizable after all
        # A third of the budget: the whole-history search is often undecided after the parts pass,
        # and it should not hold up the rest (the verdict then says unknown, per part).
        sequential = check_sequential(history, model, time_limit=max(1.0, min(plan.check_time / 3,
                                                                              deadline - time.monotonic())),
                                      max_states=plan.max_states)
        with_replicas = check(history, model, time_limit=max(1.0, deadline - time.monotonic()),
                              max_states=plan.max_states)
    waits = read_waits(out / WAITS_FILE)
    lost = lost_writes(history, events, waits)
    origin = min((op.invoke for op in history), default=0)
    notes["replica_reads_linearizable"] = None if with_replicas is None else with_replicas.verdict
    document = _document(plan, history, result, primary, sequential, events, lost, waits, origin, notes)
    write_report(out, history=primary, model=model, result=result, core=core,
                 meta={"faults": [json.loads(event.to_json()) for event in events], "deployment": document})
    summary = render_summary(document)
    document["summary"] = summary
    (out / RESULT_FILE).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    bad = isinstance(result, Violation) or bool(lost) or (sequential is not None and sequential.verdict == "violation")
    code = EXIT_VIOLATION if bad else EXIT_OK if isinstance(result, Linearizable) else EXIT_UNKNOWN
    return DeploymentOutcome(out, result.verdict, len(history), events, lost, acknowledged_pushes(history),
                             sequential, time.monotonic() - started, summary, code, document)


def _document(plan: DeploymentPlan, history: History, result: Result, primary: History,
              sequential: SequentialResult | None, events: list[FaultEvent], lost: list[LostWrite],
              waits: dict[int, int], origin: int, notes: dict[str, Any]) -> dict[str, Any]:
    violation = None
    if isinstance(result, Violation):
        op = primary[result.operation]
        before = fault_before(events, op.invoke)
        violation = {"operation": result.operation, "invoke_ms": round((op.invoke - origin) / 1e6, 3),
                     "fault_before": None if before is None else describe_fault(before, origin),
                     "during": before is not None and before.covers(op.invoke)}
    return {
        "deployment": redacted(plan.deployment), "nemesis": plan.nemesis or "none", "seed": plan.seed,
        "clients": plan.clients, "replica_readers": plan.replica_readers, "duration": plan.duration,
        "wait": None if plan.wait is None else {"numreplicas": plan.wait[0], "timeout_ms": plan.wait[1]},
        "operations": len(history), "primary_path_operations": len(primary),
        "linearizability": result.verdict, "violation": violation,
        "sequential": None if sequential is None else {"verdict": sequential.verdict, "scope": sequential.scope,
                                                       "reason": sequential.reason},
        "faults": [describe_fault(event, origin) for event in events],
        "acknowledged_writes": acknowledged_pushes(history), "lost_writes": [write.to_json(origin) for write in lost],
        "wait_summary": wait_summary(lost, waits, plan.wait[0]) if plan.wait else "",
        **notes,
    }


def render_summary(document: dict[str, Any]) -> str:
    """The run's findings in a few lines of text (printed, and kept in ``deployment.json``)."""
    lines = [f"deployment {document['deployment']} under nemesis {document['nemesis']}: "
             f"{document['operations']:,} operations, {len(document['faults'])} faults"]
    lines += [f"  fault: {text}" for text in document["faults"][:10]]
    verdict = document["linearizability"]
    line = f"linearizability (primary path, {document['primary_path_operations']:,} operations): {verdict}"
    violation = document["violation"]
    if violation:
        line += f" at operation {violation['operation']} ({violation['invoke_ms']:,.1f} ms)"
        if violation["fault_before"]:
            line += (f"; {'during' if violation['during'] else 'after'} the fault {violation['fault_before']}")
        else:
            line += "; no fault came before it"
    lines.append(line)
    lost, acknowledged = document["lost_writes"], document["acknowledged_writes"]
    lines.append(f"{len(lost)} acknowledged writes lost (of {acknowledged:,} acknowledged list appends)")
    for write in lost[:5]:
        lines.append(f"  lost: {write['element']} to {write['key']}, acknowledged at {write['acknowledged_ms']:,.1f} ms"
                     + (f", lost in the {write['fault']}" if write["fault"] else ", no fault after it")
                     + (f", WAIT said {write['wait']} replicas" if write["wait"] is not None else ""))
    if document["wait_summary"]:
        lines.append(document["wait_summary"])
    if document["sequential"]:
        sequential = document["sequential"]
        lines.append(f"with the replica reads: linearizability {document['replica_reads_linearizable']}, "
                     f"sequential consistency {sequential['verdict']}"
                     + (f" ({sequential['reason']})" if sequential["reason"] else ""))
    if document.get("interrupted"):
        lines.append(f"recording stopped early by {document['interrupted']}: what was recorded was judged")
    if document.get("unsettled"):
        lines.append(f"the deployment did not settle after healing: {document['unsettled']}")
    if document.get("unread_keys"):
        lines.append(f"{document['unread_keys']} keys could not be read after healing: their writes were not judged")
    return "\n".join(lines)


def report_path(outcome: DeploymentOutcome) -> str:
    return os.fspath(outcome.out / "report.html")
