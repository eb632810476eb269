"""``redlin serve``: the model over RESP2 and RESP3 on loopback, optionally with a planted fault."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from redlin.cli.args import port
from redlin.errors import EXIT_OK, EXIT_USAGE
from redlin.model import DEFAULT_PROFILE, PROFILES
from redlin.serve.server import FAULTS, is_loopback, serve


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``redlin serve``."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=port, default=6379, help="port to listen on, 0 for any free one (default 6379)")
    parser.add_argument("--fault", choices=["none", *FAULTS], default="none", metavar="NAME",
                        help="plant one bug: " + "; ".join(f"{name}: {text}" for name, text in FAULTS.items()))
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault's random choices (default 0)")
    parser.add_argument("--profile", choices=list(PROFILES), default=DEFAULT_PROFILE, metavar="NAME",
                        help=f"the version the server imitates, and reports in INFO server and HELLO: "
                             f"{', '.join(PROFILES)} (default {DEFAULT_PROFILE})")
    parser.add_argument("--allow-remote", action="store_true",
                        help="allow a non-loopback --host (this server is a test double: no auth, no limits)")


def serve_command(args: argparse.Namespace) -> int:
    """Print the URL, serve until Ctrl-C or SIGTERM; 0 then, 3 if it cannot listen."""
    if not args.allow_remote and not is_loopback(args.host):
        print(f"redlin serve: refusing to listen on {args.host}, which is not a loopback address "
              "(add --allow-remote if you mean it)", file=sys.stderr)
        return EXIT_USAGE
    try:
        asyncio.run(_serve_until_cancelled(args.host, args.port, args.fault, args.seed, args.profile))
    except (KeyboardInterrupt, asyncio.CancelledError):  # Ctrl-C, or SIGTERM
        return EXIT_OK
    except OSError as error:
        print(f"redlin serve: cannot listen on {args.host}:{args.port}: {error.strerror or error}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


async def _serve_until_cancelled(host: str, port: int, fault: str, seed: int, profile: str = DEFAULT_PROFILE) -> None:
    server = await serve(host, port, fault=fault, seed=seed, allow_remote=True, profile=profile)
    task = asyncio.current_task()
    assert task is not None
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # no signals here
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    description = "none" if server.fault is None else f"{server.fault}, seed {seed}"
    if profile != DEFAULT_PROFILE:
        description += f"; profile: {profile}"
    print(f"redlin model server listening on {server.url} (fault: {description})", flush=True)
    try:
        await server.serve_forever()
    finally:
        await server.close()
