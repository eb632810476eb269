"""Redis 7.0's glob matching (``stringmatchlen`` of util.c), used by Pub/Sub patterns, KEYS,
SCAN MATCH, CONFIG GET and FUNCTION LIST.

>>> stringmatch(b"__key*__:*", b"__keyspace@0__:k")
True
"""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1 << 14)
def stringmatch(pattern: bytes, string: bytes, nocase: bool = False) -> bool:
    """Redis 7.0's ``stringmatchlen``: does ``string`` match the glob ``pattern``?

    ``*`` any run, ``?`` one byte, ``[abc]`` / ``[^abc]`` / ``[a-z]`` a class (a reversed range
    is swapped, bytes compare as C's signed ``char``), ``\\x`` the byte x.  An unterminated class
    ends at the pattern's end.

    >>> stringmatch(b"news.*", b"news.art"), stringmatch(b"h[^e]llo", b"hello")
    (True, False)

    Remembered: a PUBLISH matches every pattern subscribed against its channel, and a checker
    replays the same few channels and patterns thousands of times.
    """
    skip = [False]  # skipLongerMatches: the CVE-2022-36021 cut-off, which changes no answer
    return _match(pattern, 0, string, 0, nocase, skip)


def _byte(data: bytes, index: int) -> int:
    # C reads the NUL terminator (sds strings have one) one past the end.
    return data[index] if index < len(data) else 0


def _signed(byte: int) -> int:
    return byte - 256 if byte > 127 else byte


def _lower(byte: int) -> int:
    return byte + 32 if 65 <= byte <= 90 else byte


def _match(pattern: bytes, p: int, string: bytes, s: int, nocase: bool, skip: list[bool]) -> bool:
    plen, slen = len(pattern) - p, len(string) - s
    while plen and slen:
        char = pattern[p]
        if char == 0x2A:  # '*'
            while plen and _byte(pattern, p + 1) == 0x2A:
                p += 1
                plen -= 1
            if plen == 1:
                return True
            while slen:
                if _match(pattern, p + 1, string, s, nocase, skip):
                    return True
                if skip[0]:
                    return False
                s += 1
                slen -= 1
            skip[0] = True
            return False
        if char == 0x3F:  # '?'
            s += 1
            slen -= 1
        elif char == 0x5B:  # '['
            p += 1
            plen -= 1
            negate = _byte(pattern, p) == 0x5E  # '^'
            if negate:
                p += 1
                plen -= 1
            matched = False
            target = string[s]
            while True:
                here = _byte(pattern, p)
                if here == 0x5C and plen >= 2:  # '\\'
                    p += 1
                    plen -= 1
                    if _byte(pattern, p) == target:
                        matched = True
                elif here == 0x5D:  # ']'
                    break
                elif plen == 0:
                    p -= 1
                    plen += 1
                    break
                elif plen >= 3 and _byte(pattern, p + 1) == 0x2D:  # '-'
                    start, end, c = _signed(here), _signed(_byte(pattern, p + 2)), _signed(target)
                    if start > end:
                        start, end = end, start
                    if nocase:
                        start, end, c = _lower(start), _lower(end), _lower(c)
                    p += 2
                    plen -= 2
                    if start <= c <= end:
                        matched = True
                elif here == target or (nocase and _lower(here) == _lower(target)):
                    matched = True
                p += 1
                plen -= 1
            if negate:
                matched = not matched
            if not matched:
                return False
            s += 1
            slen -= 1
        else:
            if char == 0x5C and plen >= 2:  # '\\': the next byte literally
                p += 1
                plen -= 1
                char = pattern[p]
            target = string[s]
            if char != target and not (nocase and _lower(char) == _lower(target)):
                return False
            s += 1
            slen -= 1
        p += 1
        plen -= 1
        if slen == 0:
            while _byte(pattern, p) == 0x2A:
                p += 1
                plen -= 1
            break
    return plen == 0 and slen == 0


__all__ = ["stringmatch"]
