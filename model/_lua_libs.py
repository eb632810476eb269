"""The C libraries Redis links into its Lua, reimplemented for the sandbox: ``math.random`` (Redis's
``redisLrand48``) and ``bit`` (LuaBitOp 1.0); ``cjson`` is :mod:`redlin.model._lua_cjson`.

Each function is called from Lua with Lua values converted by lupa (strings as bytes, numbers as
int or float) and behaves like its C original, error messages included (``luaL_error`` positions
come from :meth:`Sandbox.raise_error`).  Sources: ``deps/lua/src/{lua_bit.c,lua_cjson.c}`` and
``src/rand.c``, ``src/script_lua.c`` at Redis 7.0.15.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Mapping
from typing import Any

from ._lua_cjson import JSON_NULL, cjson_natives
from ._lua_runtime import LuaRaise, Sandbox, lua_type

# ---------------------------------------------------------------------------- math.random

_LRAND48_A = 0x5DEECE66D
_LRAND48_C = 0xB
_LRAND48_MASK = (1 << 48) - 1
# rand.c's static state before any redisSrand48(): X0=0x330E, X1=0xABCD, X2=0x1234.
LRAND48_INITIAL = 0x1234ABCD330E
_INT32_MAX = 2**31 - 1


class Lrand48:
    """Redis's ``redisLrand48``: the 48-bit linear congruential generator of ``lrand48(3)``."""

    __slots__ = ("x",)

    def __init__(self, x: int = LRAND48_INITIAL) -> None:
        self.x = x

    def next(self) -> int:
        self.x = (_LRAND48_A * self.x + _LRAND48_C) & _LRAND48_MASK
        return self.x >> 17

    def seed(self, value: int) -> None:
        """``redisSrand48``: the low 32 bits of ``value`` become the high 32 bits of the state."""
        self.x = ((value & 0xFFFFFFFF) << 16) | 0x330E


def c_int(value: float) -> int:
    """A C ``(int)`` cast of a double: truncation; what x86-64 gives when it does not fit."""
    if value != value or math.isinf(value):
        return -(2**31)
    result = int(value)
    return result if -(2**31) <= result < 2**31 else -(2**31)


def check_number(sandbox: Sandbox, args: tuple[Any, ...], position: int) -> float:
    """``luaL_checknumber``: a number, or a string Lua converts to one."""
    if position > len(args):
        raise sandbox.argerror(position, "number expected, got no value")
    number = sandbox.number(args[position - 1])
    if number is None:
        raise sandbox.argerror(position, f"number expected, got {lua_type(args[position - 1])}")
    return number


def _math_natives(sandbox: Sandbox) -> dict[str, Callable[..., Any]]:
    def random(*args: Any) -> float:
        generator: Lrand48 = sandbox.current.random
        r = (generator.next() % _INT32_MAX) / _INT32_MAX
        if not args:
            return r
        if len(args) == 1:
            upper = c_int(check_number(sandbox, args, 1))
            if upper < 1:
                raise sandbox.argerror(1, "interval is empty")
            return float(math.floor(r * upper) + 1)
        if len(args) == 2:
            lower = c_int(check_number(sandbox, args, 1))
            upper = c_int(check_number(sandbox, args, 2))
            if lower > upper:
                raise sandbox.argerror(2, "interval is empty")
            return float(math.floor(r * (upper - lower + 1)) + lower)
        raise sandbox.raise_error(b"wrong number of arguments")

    def randomseed(*args: Any) -> None:
        sandbox.current.random.seed(c_int(check_number(sandbox, args, 1)))

    return {"random": random, "randomseed": randomseed}


# ---------------------------------------------------------------------------- bit (LuaBitOp)

_BIT_MAGIC = 6755399441055744.0  # 2^52 + 2^51: adding it leaves the integer part in the low bits


def _bits(sandbox: Sandbox, args: tuple[Any, ...], position: int) -> int:
    """LuaBitOp's ``barg``: a number's value modulo 2^32 (rounded), as an unsigned int."""
    number = check_number(sandbox, args, position)
    raw: int = struct.unpack("<Q", struct.pack("<d", number + _BIT_MAGIC))[0]
    return raw & 0xFFFFFFFF


def _signed(bits: int) -> int:
    bits &= 0xFFFFFFFF
    return bits - (1 << 32) if bits & 0x80000000 else bits


def _bit_natives(sandbox: Sandbox) -> dict[str, Callable[..., Any]]:
    def fold(operation: Callable[[int, int], int]) -> Callable[..., int]:
        def apply(*args: Any) -> int:
            result = _bits(sandbox, args, 1)
            for position in range(len(args), 1, -1):  # LuaBitOp reads the arguments last to first
                result = operation(result, _bits(sandbox, args, position))
            return _signed(result)

        return apply

    def shift(operation: Callable[[int, int], int]) -> Callable[..., int]:
        def apply(*args: Any) -> int:
            value = _bits(sandbox, args, 1)
            amount = _bits(sandbox, args, 2) & 31
            return _signed(operation(value, amount))

        return apply

    def tobit(*args: Any) -> int:
        return _signed(_bits(sandbox, args, 1))

    def bnot(*args: Any) -> int:
        return _signed(~_bits(sandbox, args, 1))

    def bswap(*args: Any) -> int:
        return _signed(int.from_bytes(_bits(sandbox, args, 1).to_bytes(4, "little"), "big"))

    def tohex(*args: Any) -> bytes:
        value = _bits(sandbox, args, 1)
        width = 8 if len(args) < 2 else _signed(_bits(sandbox, args, 2))
        digits = "0123456789abcdef"
        if width < 0:
            width, digits = -width, "0123456789ABCDEF"
        width = min(width, 8)
        out = []
        for _ in range(width):
            out.append(digits[value & 15])
            value >>= 4
        return "".join(reversed(out)).encode()

    return {
        "bit_tobit": tobit,
        "bit_bnot": bnot,
        "bit_band": fold(lambda a, b: a & b),
        "bit_bor": fold(lambda a, b: a | b),
        "bit_bxor": fold(lambda a, b: a ^ b),
        "bit_lshift": shift(lambda v, n: v << n),
        "bit_rshift": shift(lambda v, n: v >> n),
        "bit_arshift": shift(lambda v, n: _signed(v) >> n),
        "bit_rol": shift(lambda v, n: (v << n) | (v >> (32 - n))),
        "bit_ror": shift(lambda v, n: (v >> n) | (v << (32 - n))),
        "bit_bswap": bswap,
        "bit_tohex": tohex,
    }


def library_natives(sandbox: Sandbox) -> Mapping[str, Callable[..., Any]]:
    """The Python functions behind ``math.random``, ``bit.*`` and ``cjson.*``."""
    return {**_math_natives(sandbox), **_bit_natives(sandbox), **cjson_natives(sandbox)}


__all__ = ["JSON_NULL", "Lrand48", "LuaRaise", "c_int", "check_number", "library_natives"]
