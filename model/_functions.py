"""FUNCTION and FCALL / FCALL_RO (Redis 7.0's ``functions.c``): libraries of Lua functions.

The server's libraries are ``State.functions``: library name -> the library's code, which is all
Redis keeps of it (and all FUNCTION DUMP saves).  What a library registers (names, descriptions,
flags) follows from its code: :mod:`redlin.model._function_libs` loads it once per process and per
code.  FCALL runs the function through EVAL's machinery (:func:`redlin.model._scripting.run_script`),
so inside a function ``redis.call`` and the rest behave as in scripts; errors name the function
(``script: <name>, on @user_function:<line>.``).

Orders Redis leaves to its hash tables (siphash with a seed chosen at start-up) are sorted by name
here: the libraries of FUNCTION LIST (flagged ``unordered``, as Redis tips it) and FUNCTION DUMP,
each library's functions in FUNCTION LIST, and the order in which FUNCTION RESTORE meets colliding
names.  With one library (of any number of functions, for DUMP) the replies are Redis's to the byte.

Functions outlive FLUSHALL and SCRIPT FLUSH; a restart keeps them when it keeps the data (Redis
saves them in the RDB and the AOF).  FUNCTION STATS never shows a running script (a step is
atomic), FUNCTION KILL always answers NOTBUSY.

>>> from redlin.model import Redis
>>> r = Redis().client()
>>> r.execute("FUNCTION", "LOAD", "#!lua name=lib\\nredis.register_function('hi', function(k, a) return a[1] end)")
b'lib'
>>> r.execute("FCALL", "hi", "0", "there")
b'there'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from immutables import Map

from ._commands import command, container
from ._engine import NOREPLICAS, Context, help_reply
from ._function_libs import FunctionInfo, LibraryError, c_string, callbacks, library, library_name, text
from ._numbers import to_int
from ._pubsub import stringmatch
from ._rdb import OPCODE_FUNCTION, OPCODE_FUNCTION2, Reader, dump_payload, payload_ok
from ._reply import NULL, OK, Error, MapReply, Reply, SetReply, Status
from ._resp3 import register_rule
from ._scripting import Script, run_script, script_keys

EMPTY: Map = Map()  # type: ignore[type-arg]


def _error(message: str) -> Error:
    """addReplyErrorSds: ``ERR`` before Redis's text (the model keeps a reply on one line)."""
    return Error("ERR " + message.replace("\r", " ").replace("\n", " "))


def _syntax_error(argv: Sequence[bytes]) -> Error:
    """addReplySubcommandSyntaxError."""
    sub = text(c_string(argv[1]))[:128]
    return _error(f"unknown subcommand or wrong number of arguments for '{sub}'. "
                  f"Try {text(c_string(argv[0])).upper()} HELP.")


def _sorted(functions: Map) -> list[tuple[bytes, bytes]]:  # type: ignore[type-arg]
    return sorted(functions.items())


def _function_names(functions: Map) -> set[bytes]:  # type: ignore[type-arg]
    """The names of every function the libraries register, lowercased (Redis's functions
    dictionary compares names without case)."""
    return {info.name.lower() for code in functions.values() for info in library(code).functions}


def create(functions: Map, code: bytes, replace: bool) -> tuple[Map, bytes]:  # type: ignore[type-arg]
    """``functionsCreateWithLibraryCtx``: the libraries with ``code`` added, and its name; or
    LibraryError, the checks in Redis's order."""
    name = library_name(code)
    if name in functions and not replace:
        raise LibraryError(f"Library '{text(name)}' already exists")
    created = library(code)
    others = functions.delete(name) if name in functions else functions
    taken = _function_names(others)
    for info in created.functions:
        if info.name.lower() in taken:
            raise LibraryError(f"Function {text(info.name)} already exists")
    return others.set(name, code), name


# ---------------------------------------------------------------------------- FCALL


def _find(functions: Map, name: bytes) -> tuple[bytes, FunctionInfo] | None:  # type: ignore[type-arg]
    """The (library code, function) FCALL runs for ``name``, compared without case."""
    wanted = name.lower()
    for code in functions.values():
        for info in library(code).functions:
            if info.name.lower() == wanted:
                return code, info
    return None


def _fcall(ctx: Context, argv: Sequence[bytes], read_only: bool) -> Reply:
    found = _find(ctx.functions, argv[1])
    if found is None:
        return _error("Function not found")
    code, info = found
    if not info.no_writes and ctx.lacks_good_replicas():
        return NOREPLICAS  # a function without no-writes is a write (fcallGetCommandFlags)
    numkeys = to_int(argv[2])
    if numkeys is None:
        return _error("Bad number of keys provided")
    if numkeys > len(argv) - 3:
        return _error("Number of keys can't be greater than number of args")
    if numkeys < 0:
        return _error("Number of keys can't be negative")
    if read_only and not info.no_writes:
        return _error("Can not execute a script with write flag using *_ro command.")
    entry = callbacks(code, ctx.profile)[info.name]
    return run_script(ctx, info.name, Script(entry, None), argv[3:], numkeys, read_only or info.no_writes, argv)


@command("fcall", -3, "noscript stale movablekeys", keys_fn=script_keys)
def fcall(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _fcall(ctx, argv, read_only=False)


@command("fcall_ro", -3, "readonly noscript stale movablekeys", keys_fn=script_keys)
def fcall_ro(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _fcall(ctx, argv, read_only=True)


# ---------------------------------------------------------------------------- FUNCTION


container("function", -2)


@command("function|load", -3, "noscript write denyoom")
def function_load(ctx: Context, argv: Sequence[bytes]) -> Reply:
    replace = False
    for option in argv[2:-1]:
        if option.lower() != b"replace":
            return _error(f"Unknown option given: {text(c_string(option))}")
        replace = True
    try:
        ctx.functions, name = create(ctx.functions, argv[-1], replace)
    except LibraryError as error:
        return _error(error.text)
    return name


@command("function|delete", 3, "noscript write")
def function_delete(ctx: Context, argv: Sequence[bytes]) -> Reply:
    if argv[2] not in ctx.functions:
        return _error("Library not found")
    ctx.functions = ctx.functions.delete(argv[2])
    return OK


@command("function|flush", -2, "noscript write")
def function_flush(ctx: Context, argv: Sequence[bytes]) -> Reply:
    if len(argv) > 3:
        return _syntax_error(argv)
    if len(argv) == 3 and argv[2].lower() not in (b"sync", b"async"):
        return _error("FUNCTION FLUSH only supports SYNC|ASYNC option")
    ctx.functions = EMPTY
    return OK


@command("function|list", -2, "noscript unordered")
def function_list(ctx: Context, argv: Sequence[bytes]) -> Reply:
    with_code, pattern = False, None
    args = iter(range(2, len(argv)))
    for i in args:
        word = argv[i].lower()
        if not with_code and word == b"withcode":
            with_code = True
        elif pattern is None and word == b"libraryname":
            if i >= len(argv) - 1:
                return _error("library name argument was not given")
            pattern = argv[next(args)]
        else:
            return _error(f"Unknown argument {text(c_string(argv[i]))}")
    return tuple(_library_entry(name, code, with_code) for name, code in _sorted(ctx.functions)
                 if pattern is None or stringmatch(pattern, name, nocase=True))


def _library_entry(name: bytes, code: bytes, with_code: bool) -> Reply:
    functions = tuple(
        (b"name", info.name, b"description", info.description,
         b"flags", tuple(Status(flag) for flag in info.flags))
        for info in sorted(library(code).functions, key=lambda info: info.name)
    )
    entry: tuple[Reply, ...] = (b"library_name", name, b"engine", b"LUA", b"functions", functions)
    return entry + (b"library_code", code) if with_code else entry


@command("function|stats", 2, "noscript allow_busy")
def function_stats(ctx: Context, argv: Sequence[bytes]) -> Reply:
    count = sum(len(library(code).functions) for code in ctx.functions.values())
    engine = (b"LUA", (b"libraries_count", len(ctx.functions), b"functions_count", count))
    return (b"running_script", None, b"engines", engine)


@command("function|kill", 2, "noscript allow_busy")
def function_kill(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return Error("NOTBUSY No scripts in execution right now.")  # the server kills (redlin.serve.busy)


@command("function|dump", 2, "noscript")
def function_dump(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return dump_payload((OPCODE_FUNCTION2, code) for _, code in _sorted(ctx.functions))


# ---------------------------------------------------------------------------- FUNCTION RESTORE

_POLICIES = {b"append": "append", b"replace": "replace", b"flush": "flush"}


@command("function|restore", -3, "noscript write denyoom")
def function_restore(ctx: Context, argv: Sequence[bytes]) -> Reply:
    if len(argv) > 4:
        return _syntax_error(argv)
    policy = _POLICIES.get(argv[3].lower()) if len(argv) == 4 else "append"
    if policy is None:
        return _error("Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.")
    payload = argv[2]
    if not payload_ok(payload):
        return _error("DUMP payload version or checksum are wrong")
    try:
        restored = _read_libraries(payload)
        ctx.functions = restored if policy == "flush" else _join(ctx.functions, restored, policy == "replace")
    except LibraryError as error:
        return _error(error.text)
    return OK


def _read_libraries(payload: bytes) -> Map:  # type: ignore[type-arg]
    """The libraries of a payload, created one by one as ``rdbFunctionLoad`` does."""
    reader = Reader(payload)
    libraries = EMPTY
    while len(payload) - reader.pos > 10:  # the last 10 bytes are the version and the CRC64
        opcode = reader.take(1)
        if opcode is None:
            raise LibraryError("can not read data type")
        if opcode[0] == OPCODE_FUNCTION2:
            code = reader.string()
            if code is None:
                raise LibraryError("Failed loading library payload")
        elif opcode[0] == OPCODE_FUNCTION:
            code = _old_format(reader)
        else:
            raise LibraryError("given type is not a function")
        libraries, _ = create(libraries, code, replace=False)
    return libraries


def _old_format(reader: Reader) -> bytes:
    """A library as 7.0 rc1 and rc2 saved it: name, engine, optional description, code."""
    name = reader.string()
    if name is None:
        raise LibraryError("Failed loading library name")
    engine = reader.string()
    if engine is None:
        raise LibraryError("Failed loading engine name")
    has_description = reader.length()
    if has_description is None:
        raise LibraryError("Failed loading library description indicator")
    if has_description[0] and reader.string() is None:
        raise LibraryError("Failed loading library description")
    blob = reader.string()
    if blob is None:
        raise LibraryError("Failed loading library blob")
    return b"#!%s name=%s\n%s" % (c_string(engine), c_string(name), c_string(blob))


def _join(functions: Map, restored: Map, replace: bool) -> Map:  # type: ignore[type-arg]
    """``libraryJoin``: add the restored libraries; a name taken fails unless ``replace``."""
    for name in sorted(restored.keys()):
        if name in functions:
            if not replace:
                raise LibraryError(f"Library {text(name)} already exists")
            functions = functions.delete(name)
    taken = _function_names(functions)
    for _, code in _sorted(restored):
        for info in sorted(library(code).functions, key=lambda info: info.name):
            if info.name.lower() in taken:
                raise LibraryError(f"Function {text(info.name)} already exists")
    return functions.update(restored)


_HELP = (
    "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Library description",
    "    * Functions list",
    "    * Library code (if WITHCODE is given)",
    "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
    "STATS",
    "    Return information about the current function running:",
    "    * Function name",
    "    * Command used to run the function",
    "    * Duration in MS that the function is running",
    "    If no function is running, return nil",
    "    In addition, returns a list of available engines.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "DUMP",
    "    Return a serialized payload representing the current libraries, can be restored using FUNCTION "
    "RESTORE command",
    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
    "    control how to handle existing libraries (default APPEND):",
    "    * FLUSH: delete all existing libraries.",
    "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
    "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
    "      libraries with the new libraries (notice that even on this option there is a chance of failure",
    "      in case of functions name collision with another library).",
    "HELP",
    "    Prints this help.",
)


# ---------------------------------------------------------------------------- RESP3


def resp3_reply(argv: Sequence[bytes], reply: Reply) -> Reply:
    """What Redis 7.0 sends a RESP3 connection for FUNCTION LIST and FUNCTION STATS, given the
    model's RESP2 reply: maps, each function's flags a set, a missing description null.  Every
    other FUNCTION reply is the same in both protocols.

    >>> resp3_reply([b"FUNCTION", b"STATS"], (b"running_script", None, b"engines", (b"LUA", (b"n", 1))))
    MapReply(((b'running_script', NULL), (b'engines', MapReply(((b'LUA', MapReply(((b'n', 1),))),)))))
    """
    sub = argv[1].lower() if len(argv) > 1 else b""
    if type(reply) is not tuple:
        return reply
    if sub == b"list":
        return tuple(_resp3_map(entry, {b"functions": _resp3_functions}) for entry in reply)
    if sub == b"stats":
        engines = reply[3]
        assert type(engines) is tuple
        return _resp3_map(reply, {b"engines": lambda _: MapReply(((engines[0], _resp3_map(engines[1], {})),))})
    return reply


def _resp3_functions(functions: Reply) -> Reply:
    assert type(functions) is tuple
    return tuple(_resp3_map(info, {b"flags": lambda flags: SetReply(flags)}) for info in functions)  # type: ignore[arg-type]


def _resp3_map(flat: Reply, convert: dict[bytes, Callable[[Reply], Reply]]) -> MapReply:
    assert type(flat) is tuple
    pairs = zip(flat[::2], flat[1::2])
    return MapReply(tuple((key, NULL if value is None else convert.get(key, _same)(value))  # type: ignore[arg-type]
                          for key, value in pairs))


def _same(value: Reply) -> Reply:
    return value


@command("function|help", 2, "loading stale")
def function_help(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return help_reply(ctx, _HELP)


__all__ = ["create", "fcall", "fcall_ro", "resp3_reply"]


register_rule(b"function", resp3_reply)
