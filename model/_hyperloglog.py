"""HyperLogLog commands (hyperloglog.c): PFADD PFCOUNT PFMERGE PFDEBUG PFSELFTEST.

A HyperLogLog is a string whose bytes are Redis's own (:mod:`redlin.model._hll_encoding`): GET
shows them, and every command below leaves exactly the bytes Redis 7.0.15 leaves.  Where a command
writes and whether it signals the key (WATCH) follows the C code:

- PFADD touches the key only when a register grew or the key was created.  When an element meets a
  corrupted sparse value it answers INVALIDOBJ, but what it changed before stays, unsignalled.
- PFCOUNT of one key is flagged ``readonly``, yet when the cached cardinality is stale it stores
  the new one in the header and touches the key; of several keys it writes nothing.
- PFMERGE reads every key (the destination first), then writes the destination: dense if any
  source was dense, else the sparse value grown register by register (promoted past 3000 bytes).
- PFDEBUG GETREG and TODENSE turn a sparse value dense without signalling the key.

>>> from redlin.model import Redis
>>> client = Redis().client()
>>> client.execute("PFADD", "h", "a", "b", "c"), client.execute("PFCOUNT", "h")
(1, 3)
>>> client.execute("GET", "h")[:16]
b'HYLL\\x01\\x00\\x00\\x00\\x03\\x00\\x00\\x00\\x00\\x00\\x00\\x00'
"""

from __future__ import annotations

from collections.abc import Sequence

from ._commands import command
from ._engine import CommandError, Context
from ._hll_encoding import (
    DENSE,
    HDR,
    REGISTERS,
    START,
    Corrupted,
    Sketch,
    cached,
    dense_bytes,
    dense_registers,
    estimate,
    histogram_of,
    is_hll,
    merge_into,
    new_hll,
    signed,
    with_cardinality,
)
from ._notify import STRING, notify
from ._reply import OK, Error, Reply, Status

NOT_HLL = Error("WRONGTYPE Key is not a valid HyperLogLog string value.")
INVALIDOBJ = Error("INVALIDOBJ Corrupted HLL object detected")
NO_SUCH_KEY = Error("ERR The specified key does not exist")


def _hll(ctx: Context, key: bytes) -> bytes | None:
    """The key's HyperLogLog value (None if missing); ``isHLLObjectOrReply``'s errors otherwise."""
    value = ctx.read_as(key, bytes)
    if value is None:
        return None
    assert type(value) is bytes
    if not is_hll(value):
        raise CommandError(NOT_HLL)
    return value


def _store_unsignalled(ctx: Context, key: bytes, value: bytes) -> None:
    # The value was changed in place without signalModifiedKey: WATCH does not see it.
    ctx.write_unsignalled(key, value)


@command("pfadd", -2, "write denyoom fast", keys=(1, 1, 1))
def pfadd(ctx: Context, argv: Sequence[bytes]) -> Reply:
    key = argv[1]
    old = _hll(ctx, key)
    updated = old is None
    sketch = Sketch(new_hll() if old is None else old)
    for element in argv[2:]:
        result = sketch.add(element)
        if result < 0:
            if old is not None and sketch.value() != old:
                _store_unsignalled(ctx, key, sketch.value())
            return INVALIDOBJ
        updated = updated or result == 1
    if not updated:
        return 0
    sketch.invalidate()
    ctx.write(key, sketch.value())
    notify(ctx, STRING, b"pfadd", key)
    return 1


@command("pfcount", -2, "readonly", keys=(1, -1, 1))
def pfcount(ctx: Context, argv: Sequence[bytes]) -> Reply:
    if len(argv) > 2:
        return signed(estimate(histogram_of(_union(ctx, argv[1:])[0])))
    key = argv[1]
    value = _hll(ctx, key)
    if value is None:
        return 0
    card = cached(value)
    if card is not None:
        return card
    histogram, valid = Sketch(value).histogram()
    if not valid:
        return INVALIDOBJ
    card = estimate(histogram)
    ctx.write(key, with_cardinality(value, card))  # signalModifiedKey, though flagged readonly
    return signed(card)


def _union(ctx: Context, keys: Sequence[bytes]) -> tuple[list[int], bool]:
    """The registers' maxima over ``keys`` (missing keys are empty), as PFCOUNT and PFMERGE read
    them, and whether any of the values is dense."""
    maxima = [0] * REGISTERS
    dense = False
    for key in keys:
        value = _hll(ctx, key)
        if value is None:
            continue
        dense = dense or value[4] == DENSE
        try:
            merge_into(maxima, value)
        except Corrupted:
            raise CommandError(INVALIDOBJ) from None
    return maxima, dense


@command("pfmerge", -2, "write denyoom", keys=(1, -1, 1))
def pfmerge(ctx: Context, argv: Sequence[bytes]) -> Reply:
    maxima, use_dense = _union(ctx, argv[1:])
    key = argv[1]
    target = ctx.read(key)
    assert target is None or type(target) is bytes  # checked as a source
    sketch = Sketch(new_hll() if target is None else target)
    if use_dense:
        sketch.to_dense()  # the destination was read as a source: it cannot be corrupted
    if sketch.dense:
        _merge_dense(sketch, maxima)
    else:
        _merge_sparse(sketch, maxima)
    sketch.invalidate()
    ctx.write(key, sketch.value())
    notify(ctx, STRING, b"pfadd", key)  # "for semantical simplicity", says hyperloglog.c
    return OK


def _merge_dense(sketch: Sketch, maxima: list[int]) -> None:
    # Every register of the destination is among the maxima (it was read as a source), so
    # hllDenseSet of each maximum leaves exactly the maxima.
    current = dense_registers(sketch.value())
    registers = [a if a >= b else b for a, b in zip(current, maxima)]
    sketch.buf[HDR : HDR + len(registers) * 3 // 4] = dense_bytes(registers)


def _merge_sparse(sketch: Sketch, maxima: list[int]) -> None:
    hint = START
    for index, register in enumerate(maxima):
        if not register:
            continue
        if sketch.dense:  # promoted on the way: the rest is plain maxima
            _merge_dense(sketch, maxima)
            return
        _, hint = sketch.set(index, register, hint)


@command("pfdebug", 3, "write denyoom admin", keys=(2, 2, 1))
def pfdebug(ctx: Context, argv: Sequence[bytes]) -> Reply:
    key = argv[2]
    value = _hll(ctx, key)
    if value is None:
        return NO_SUCH_KEY
    sketch = Sketch(value)
    name = argv[1].split(b"\0")[0]  # compared and printed as a C string
    sub = name.lower()
    if sub in (b"getreg", b"todense"):
        if sketch.dense:
            converted = False
        else:
            try:
                sketch.to_dense()
            except Corrupted:
                return INVALIDOBJ
            _store_unsignalled(ctx, key, sketch.value())
            converted = True
        if sub == b"todense":
            return int(converted)
        return tuple(dense_registers(sketch.value()))
    if sub == b"decode":
        if sketch.dense:
            return Error("ERR HLL encoding is not sparse")
        return sketch.decode()
    if sub == b"encoding":
        return Status("dense" if sketch.dense else "sparse")
    text = name.decode("utf-8", "surrogateescape").replace("\r", " ").replace("\n", " ")
    return Error(f"ERR Unknown PFDEBUG subcommand '{text}'")


@command("pfselftest", 1, "admin")
def pfselftest(ctx: Context, argv: Sequence[bytes]) -> Reply:
    # The server tests its own register macros and estimator: a correct server always passes.
    return OK
