"""Reading ``.npy`` files quickly, as ``numpy.load`` reads them (issue 13).

A graph whose weights live in ``.npy`` files reads dozens of them per parse
(the MLP 256 x 32 benchmark: 66 files, 17 MB). ``numpy.load`` spends most of
its time around the data rather than on it: it parses each header twice with
``ast.literal_eval`` (once in tfgrad's own header check, once in the load),
and each array gets memory of its own, whose first touch costs a page fault
per 4 KiB page (over half of the read, on a virtual machine). Here:

* the header numpy writes (``numpy.lib.format``: a dict literal with its keys
  in order, padded with spaces, ending in a newline) is matched by a regular
  expression; anything else (other key orders or spacing, version 3.0, a
  structured or object dtype, a file shorter than its header says) returns
  None, and the caller reads the file with ``numpy.load`` as before, which
  raises its own errors; so this reader only changes how the happy path is
  read, never what is accepted;
* the data is read straight into the array's memory (``os.readv``), with the
  first bytes taken from the read that brought the header;
* small arrays of the dtypes tfgrad keeps as they are (native-order float64,
  int32, int64, bool) are placed side by side in blocks: after the first
  (1 MiB), blocks of ``BLOCK_BYTES``, large enough for NumPy to ask the
  kernel for huge pages (``madvise``, arrays of 4 MiB or more), so that a
  block costs a few page faults (and the kernel copies into it about three
  times faster than into 4 KiB pages, on this project's virtual machine).

Nothing is ever unpickled: an object dtype is left to the caller, which
refuses it. The arrays are ordinary writable NumPy arrays, as ``numpy.load``
returns them (each a view of its block: ``base`` is the block).
"""

from __future__ import annotations

import math
import os
import re
from typing import Any

import numpy as np

MAGIC = b"\x93NUMPY"
# One read brings the header (numpy pads it to 64 or 128 bytes) and the start
# of the data; a small array (a bias vector) comes whole with it.
PREFIX_BYTES = 4096
# Blocks for small arrays: NumPy advises huge pages from 4 MiB on. The first
# block is smaller (4 KiB pages): a graph with little data in files would
# otherwise make a 2 MiB page resident for a few small arrays.
FIRST_BLOCK_BYTES = 1 << 20
BLOCK_BYTES = 8 << 20
# An array larger than this gets memory of its own (a block's tail would
# otherwise be left unused).
BLOCK_SHARE = BLOCK_BYTES // 4
ALIGN = 64  # bytes: a cache line, as BLAS likes its operands
# (kind, itemsize) of the dtypes tfgrad keeps as the file has them; others
# are converted (a copy), and a block would hold the unconverted bytes alive
_KEPT = {("f", 8), ("i", 4), ("i", 8), ("b", 1)}

_DIM = rb"(?:0|[1-9][0-9]{0,17})"  # (a longer number is left to numpy.load, which refuses it)
_HEADER_RE = re.compile(
    rb"\{'descr': '([<>|=]?[a-zA-Z][0-9]{0,2})', 'fortran_order': (False|True), "
    rb"'shape': \((|" + _DIM + rb",|" + _DIM + rb"(?:, " + _DIM + rb")+,?)\), \} *\n\Z"
)
_DTYPES: dict[bytes, np.dtype] = {}


class Blocks:
    """Memory for the small arrays of one parse: each array a 64-byte
    aligned slice of a block (the first of ``FIRST_BLOCK_BYTES``, the
    others of ``BLOCK_BYTES``). A block lives as long as any of its
    arrays."""

    __slots__ = ("block", "address", "size", "used")

    def __init__(self) -> None:
        self.block: np.ndarray | None = None
        self.address = 0
        self.size = 0  # the current block's usable bytes
        self.used = 0

    def take(self, nbytes: int) -> np.ndarray:
        """``nbytes`` bytes (a uint8 array) for one array."""
        start = self.used + (-(self.address + self.used)) % ALIGN
        if self.block is None or start + nbytes > self.size:
            self.size = max(BLOCK_BYTES if self.block is not None else FIRST_BLOCK_BYTES, nbytes)
            self.block = np.empty(self.size + ALIGN, np.uint8)
            self.address = self.block.ctypes.data
            start = -self.address % ALIGN
        self.used = start + nbytes
        return self.block[start : start + nbytes]


def _dtype(descr: bytes) -> np.dtype | None:
    dt = _DTYPES.get(descr)
    if dt is None:
        try:
            dt = np.dtype(descr.decode("ascii"))
        except (TypeError, ValueError):
            return None
        _DTYPES[descr] = dt
    return dt


def read(fd: int, size: int, max_elements: int, blocks: Blocks | None) -> np.ndarray | None:
    """The array of the ``.npy`` file open at ``fd`` (positioned at its
    start; ``size``: its size in bytes), or None when the file is not in the
    form ``numpy.lib.format`` writes (version 1.0 or 2.0, a plain dtype
    without objects, at most ``max_elements`` elements, data not cut short):
    the caller then reads it with ``numpy.load``, which accepts or refuses
    it. ``blocks``: where small arrays go (None: each its own memory).
    Raises ``OSError`` when reading fails, ``EOFError`` when the file
    shrinks while it is read."""
    prefix = os.read(fd, PREFIX_BYTES)
    if len(prefix) < 10 or prefix[:6] != MAGIC:
        return None
    major, minor = prefix[6], prefix[7]
    if (major, minor) == (1, 0):
        start = 10 + int.from_bytes(prefix[8:10], "little")
    elif (major, minor) == (2, 0) and len(prefix) >= 12:
        start = 12 + int.from_bytes(prefix[8:12], "little")
    else:
        return None
    if start > len(prefix):
        return None
    m = _HEADER_RE.match(prefix, 12 if major == 2 else 10, start)
    if m is None:
        return None
    descr, fortran, dims = m.groups()
    dtype = _dtype(descr)
    if dtype is None or dtype.hasobject or dtype.itemsize == 0 or dtype.fields is not None:
        return None
    shape = tuple(int(d) for d in dims.split(b",") if d.strip())
    count = math.prod(shape)
    if count > max_elements:
        return None
    nbytes = count * dtype.itemsize
    if size - start < nbytes:
        return None
    order = "F" if fortran == b"True" else "C"
    if blocks is not None and 0 < nbytes <= BLOCK_SHARE and dtype.isnative and (dtype.kind, dtype.itemsize) in _KEPT:
        raw = blocks.take(nbytes)
        flat = raw.view(dtype)
        array = flat.reshape(shape[::-1]).T if order == "F" else flat.reshape(shape)
    else:
        array = np.empty(shape, dtype, order=order)
        raw = array.reshape(-1, order="A").view(np.uint8) if nbytes else array
    if nbytes:
        buf = memoryview(raw).cast("B")
        first = min(len(prefix) - start, nbytes)
        buf[:first] = prefix[start : start + first]
        got = first
        while got < nbytes:
            n = os.readv(fd, [buf[got:]])
            if n == 0:
                raise EOFError(f"the file ended after {start + got:,} bytes; its header declares "
                               f"{start + nbytes:,}")
            got += n
    return array
