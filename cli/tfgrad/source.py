"""Reading graph files: bytes, bounded by the size limit, to text.

Input: a path, ``-`` (standard input) or an open binary stream. Output: the
text, or ``graph.GraphError`` for a file that cannot be read, is larger
than ``MAX_TEXT_BYTES`` or is not UTF-8. A stream is read in chunks up to
the limit plus one byte, so that an endless input (``/dev/zero``, ``yes |``)
is refused at once, in bounded memory, instead of read until memory runs out.
"""

from __future__ import annotations

import os
import stat
import sys
from typing import BinaryIO

from .graph import GraphError, Pos

# The size limit of a graph file, in bytes (parse.MAX_TEXT_CHARS bounds the
# characters of a text given to parse_graph directly).
MAX_TEXT_BYTES = 256_000_000
CHUNK = 1 << 20


def read_limited(f: BinaryIO, limit: int = MAX_TEXT_BYTES) -> bytes:
    """All of ``f`` when it has at most ``limit`` bytes; ``GraphError``
    (too large) as soon as it has read ``limit`` + 1, keeping no more."""
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = f.read(min(CHUNK, limit + 1 - size))
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            del chunks
            raise too_large(limit)
        chunks.append(chunk)


def too_large(limit: int = MAX_TEXT_BYTES) -> GraphError:
    return GraphError(
        f"input has more than {limit:,} bytes; graph files are limited to {limit:,}", Pos(1, 1),
        code="TG101",
    )


def decode(data: bytes, limit: int = MAX_TEXT_BYTES) -> str:
    """The text of a graph file's bytes (a UTF-8 BOM dropped)."""
    if len(data) > limit:
        raise too_large(limit)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise GraphError(f"cannot read the file: not UTF-8 ({e.reason} at byte {e.start})",
                         None, "TG105") from None


def read_stdin_bytes(limit: int = MAX_TEXT_BYTES) -> bytes:
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:  # a text stream put in place of stdin (tests)
        data = sys.stdin.read(limit + 1).encode("utf-8", "surrogateescape")
        if len(data) > limit:
            raise too_large(limit)
        return data
    return read_limited(stream, limit)


def read_bytes(path: str, limit: int = MAX_TEXT_BYTES) -> bytes:
    """The bytes of a file or of ``-``: ``OSError`` as open raises it,
    ``GraphError`` when there are more than ``limit``."""
    if path == "-":
        return read_stdin_bytes(limit)
    with open(path, "rb", buffering=0) as f:
        return read_limited(f, limit)


def read_text(path: str, limit: int = MAX_TEXT_BYTES) -> str:
    """The text of a graph file or ``-``; ``GraphError`` for any reason it has none."""
    try:
        data = read_bytes(path, limit)
    except OSError as e:
        raise GraphError(f"cannot read the file: {e.strerror or e}", None, "TG105") from None
    return decode(data, limit)


def is_regular_file(path: str) -> bool:
    """True unless ``path`` exists and is not a regular file (a FIFO, a
    socket, a device): a directory walk must never open those, since
    opening a FIFO blocks until a writer comes."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return True  # let the reader report why it cannot be read
