"""Text that is safe to print: whatever came from a file (names, ``name:``,
``ys`` strings, messages quoting the file, file names) never reaches a
terminal as control characters, and output survives any encoding.

``printable`` escapes C0/C1 control characters (all but newline and tab),
DEL, Unicode bidirectional overrides and lone surrogates (a file name's
undecodable bytes, as ``os`` gives them): ``\\x1b``, ``\\u202e``, and
``\\xff`` for the byte 0xFF of a file name. ``json=True`` writes every escape
as ``\\uXXXX``, which inside a JSON string means the same character.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(m: re.Match) -> str:
    o = ord(m.group())
    if 0xDC80 <= o <= 0xDCFF:  # a byte that was not UTF-8, kept by surrogateescape
        return f"\\x{o - 0xDC00:02x}"
    if o <= 0xFF:
        return f"\\x{o:02x}"
    return f"\\u{o:04x}"


def _escape_json(m: re.Match) -> str:
    return f"\\u{ord(m.group()):04x}"


def printable(s: str, json: bool = False) -> str:
    """``s`` with control characters, bidi overrides and lone surrogates escaped."""
    if s.isascii() and s.isprintable():
        return s
    return _UNSAFE.sub(_escape_json if json else _escape, s)


def encodable(s: str, encoding: str | None) -> bool:
    """Whether ``s`` can be written in ``encoding`` as it is."""
    try:
        s.encode(encoding or "utf-8")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


_SURROGATE = re.compile("[\ud800-\udfff]")


def decodable(s: str) -> str:
    """``s`` with lone surrogates (a file name's undecodable bytes) written
    as ``\\xff`` escapes, so that it can be encoded as UTF-8."""
    return _SURROGATE.sub(_escape, s)
