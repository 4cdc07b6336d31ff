"""Values from data: files and generators (issue 13's value forms).

Input: plain Python values read from a value mapping by the parser
(``{file: PATH}``, ``{zeros: S}``, ``{random: normal, shape: S, seed: N}``...)
and the directory the graph file lives in. Output: NumPy arrays with the
dtype tfgrad gives them. Every problem raises ``ValueProblem(message,
field)``; the parser turns it into a ``GraphError`` (TG102) at the mapping or
at the named field.

Safety: files are read with NumPy's loaders and ``allow_pickle=False``
always; a path is resolved (symlinks followed) and must lie inside the graph
file's directory tree, or inside a path the command line allowed
(``--allow-outside``); only regular files are opened (never a FIFO or a
device); declared shapes, file sizes and ``.npz`` members are capped before
anything is allocated.
"""

from __future__ import annotations

import difflib
import math
import os
import stat
from typing import Any, Sequence

import numpy as np

# The most elements a generated or loaded value may have (8e8 bytes in float64).
MAX_ELEMENTS = 100_000_000
MAX_FILE_BYTES = 8 * MAX_ELEMENTS + 1_000_000
DTYPES = ("float32", "float64", "int32", "int64", "bool")
TEXT_SUFFIXES = (".csv", ".txt")
GENERATORS = ("fill", "zeros", "ones", "eye", "range", "linspace", "random")


class ValueProblem(Exception):
    """What is wrong with a value mapping; ``field`` names the key whose
    value is at fault (None: the mapping as a whole)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def _int(v: Any, what: str, field: str, low: int = 0) -> int:
    if type(v) is not int:
        raise ValueProblem(f"{what} must be an integer; found {_show(v)}", field)
    if v < low:
        raise ValueProblem(f"{what} must be at least {low}; found {v}", field)
    return v


def _show(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return f"'{v}'"
    return str(v)


def shape_of(v: Any, field: str) -> tuple[int, ...]:
    """A declared shape: an int (rank 1) or a list of ints, each at least
    1, at most ``MAX_ELEMENTS`` elements in all."""
    dims = [v] if type(v) is int else v
    if not isinstance(dims, list) or not all(type(d) is int for d in dims):
        raise ValueProblem(f"{field} must be a shape: an integer or a list of integers; found {_show(v)}",
                           field)
    for d in dims:
        if d < 1:
            raise ValueProblem(f"{field} {dims} has a dimension of {d}; sizes are at least 1", field)
    _cap(math.prod(dims), f"{field} {dims}", field)
    return tuple(dims)


def _cap(n: int, what: str, field: str | None) -> None:
    if n > MAX_ELEMENTS:
        raise ValueProblem(f"{what} has {n:,} elements; a value is limited to {MAX_ELEMENTS:,}", field)


def _number(v: Any, what: str, field: str) -> float | int:
    if type(v) not in (int, float) or not math.isfinite(v):
        raise ValueProblem(f"{what} must be a finite number; found {_show(v)}", field)
    return v


def generate(kind: str, fields: dict[str, Any]) -> tuple[np.ndarray, bool]:
    """A generator's array (float64) and whether every entry is an integer
    written as one (so that results print as exact integers)."""
    main = fields[kind]
    if kind in ("zeros", "ones"):
        shape = shape_of(main, kind)
        return (np.zeros if kind == "zeros" else np.ones)(shape, dtype=np.float64), True
    if kind == "fill":
        v = _number(main, "fill", "fill")
        if "shape" not in fields:
            raise ValueProblem("{fill: V} needs shape: S (an integer or a list of integers)")
        shape = shape_of(fields["shape"], "shape")
        return np.full(shape, float(v)), type(v) is int
    if kind == "eye":
        dims = main if isinstance(main, list) else [main]
        if len(dims) not in (1, 2):
            raise ValueProblem(f"eye must be N or [N, M]; found {_show(main)}", "eye")
        n = _int(dims[0], "eye's N", "eye", 1)
        m = _int(dims[-1], "eye's M", "eye", 1)
        _cap(n * m, f"eye {dims}", "eye")
        return np.eye(n, m), True
    if kind == "range":
        args = main if isinstance(main, list) else [main]
        if not 1 <= len(args) <= 3:
            raise ValueProblem(f"range must be [STOP], [START, STOP] or [START, STOP, STEP]; found {_show(main)}",
                               "range")
        nums = [_number(a, "each of range's START, STOP, STEP", "range") for a in args]
        start, stop, step = (0, nums[0], 1) if len(nums) == 1 else (nums[0], nums[1], nums[2] if len(nums) == 3 else 1)
        if step == 0:
            raise ValueProblem("range's STEP cannot be 0", "range")
        count = math.ceil((stop - start) / step)
        if count < 1:
            raise ValueProblem(f"range {_show(main)} is empty; a value needs at least one number", "range")
        _cap(count, f"range {_show(main)}", "range")
        integral = all(type(a) is int for a in nums)
        return np.arange(start, stop, step, dtype=np.float64), integral
    if kind == "linspace":
        args = main if isinstance(main, list) else None
        if args is None or len(args) != 3:
            raise ValueProblem(f"linspace must be [START, STOP, NUM]; found {_show(main)}", "linspace")
        start = _number(args[0], "linspace's START", "linspace")
        stop = _number(args[1], "linspace's STOP", "linspace")
        num = _int(args[2], "linspace's NUM", "linspace", 1)
        _cap(num, f"linspace {args}", "linspace")
        return np.linspace(start, stop, num), False
    if kind == "random":
        if main not in ("normal", "uniform"):
            close = difflib.get_close_matches(str(main), ["normal", "uniform"], n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ValueProblem(f"random must be normal or uniform{hint}; found {_show(main)}", "random")
        if "shape" not in fields:
            raise ValueProblem("{random: ...} needs shape: S (an integer or a list of integers)")
        shape = shape_of(fields["shape"], "shape")
        if "seed" not in fields:
            # A default seed would make two unseeded generators the same
            # tensor, silently; TF's unseeded ops differ per call. The seed
            # is part of the value, so the file says it.
            raise ValueProblem("{random: ...} needs seed: N (an integer >= 0, e.g. seed: 0), which makes "
                               "the value reproducible; give each generated value its own seed")
        seed = _int(fields["seed"], "seed", "seed", 0)
        rng = np.random.default_rng(seed)  # PCG64: reproducible, not TensorFlow's random stream
        if main == "normal":
            return rng.standard_normal(shape), False
        return rng.uniform(0.0, 1.0, shape), False
    raise AssertionError(kind)


# --------------------------------------------------------------------------
# files


def resolve_path(path: Any, base_dir: str, allow_outside: Sequence[str]) -> str:
    """The real path of ``path`` (relative to ``base_dir``), which must be a
    regular file inside ``base_dir``'s tree or inside an allowed path."""
    return Files(base_dir, allow_outside).resolve(path)[0]


def load_file(path: Any, key: Any, base_dir: str, allow_outside: Sequence[str]) -> np.ndarray:
    """The array in a ``.npy`` file, an ``.npz`` member or a ``.csv``/``.txt``
    table, never unpickling anything (one file; ``Files.load`` reads many)."""
    return Files(base_dir, allow_outside, share=False).load(path, key)


class Files:
    """Reads the value files of one graph file: paths relative to
    ``base_dir``, which (with symlinks followed) must lie in ``base_dir``'s
    tree or in one of ``allow_outside``. What does not change from file to
    file is worked out once: the real paths of the allowed roots and of each
    directory files are named in (a file's real path is its directory's
    real path and its name, unless the name is itself a symlink). Small
    ``.npy`` arrays share memory blocks (``npyread.Blocks``)."""

    def __init__(self, base_dir: str, allow_outside: Sequence[str] = (), share: bool = True) -> None:
        self.base_dir = base_dir
        self.allow_outside = tuple(allow_outside)
        self._roots: list[str] | None = None
        self._dirs: dict[str, str] = {}
        self._share = share  # small .npy arrays in shared blocks (False: one file, its own memory)
        self._blocks: Any = None

    def roots(self) -> list[str]:
        """The real paths files may lie under, the graph file's directory first."""
        if self._roots is None:
            self._roots = [os.path.realpath(self.base_dir)] + [os.path.realpath(p) for p in self.allow_outside]
        return self._roots

    def resolve(self, path: Any) -> tuple[str, os.stat_result]:
        """The real path of ``path`` and its ``stat``: a regular file, inside
        the allowed roots, of at most ``MAX_FILE_BYTES``; else
        ``ValueProblem`` (field ``file``)."""
        if not isinstance(path, str) or not path:
            raise ValueProblem(f"file must be a path (text); found {_show(path)}", "file")
        if "\0" in path:
            raise ValueProblem("file path contains a NUL character", "file")
        full = os.path.join(self.base_dir, os.path.expanduser(path)) if not os.path.isabs(path) else path
        head, name = os.path.split(full)
        st: os.stat_result | OSError | None = None
        if name in ("", ".", ".."):
            real = os.path.realpath(full)
        else:
            real_dir = self._dirs.get(head)
            if real_dir is None:
                real_dir = self._dirs[head] = os.path.realpath(head)
            real = os.path.join(real_dir, name)
            try:
                st = os.lstat(real)
            except FileNotFoundError:
                st = None  # the real path of a missing name is its directory's and the name
            except OSError as e:
                st = e
            else:
                if stat.S_ISLNK(st.st_mode):
                    real, st = os.path.realpath(full), None
        roots = self.roots()
        if not any(real == r or real.startswith(r.rstrip(os.sep) + os.sep) for r in roots):
            raise ValueProblem(
                f"file '{path}' is outside the graph file's directory ({roots[0]}); tfgrad reads files "
                "only from there unless the command line allows it (--allow-outside PATH)", "file")
        if st is None:
            try:
                st = os.stat(real)
            except OSError as e:
                st = e
        if isinstance(st, FileNotFoundError):
            raise ValueProblem(f"file '{path}' does not exist (looked for {real})", "file")
        if isinstance(st, OSError):
            raise ValueProblem(f"file '{path}' cannot be read: {st.strerror or st}", "file")
        if not stat.S_ISREG(st.st_mode):
            raise ValueProblem(f"file '{path}' is not a regular file", "file")
        if st.st_size > MAX_FILE_BYTES:
            raise ValueProblem(f"file '{path}' has {st.st_size:,} bytes; value files are limited to "
                               f"{MAX_FILE_BYTES:,}", "file")
        return real, st

    def load(self, path: Any, key: Any = None, declared: str | None = None) -> np.ndarray:
        """The array in a ``.npy`` file, an ``.npz`` member or a
        ``.csv``/``.txt`` table, never unpickling anything. ``declared``:
        the mapping's ``dtype:`` (an array to be converted is not placed in
        a shared block). Raises ``ValueProblem``."""
        real, st = self.resolve(path)
        low = real.lower()
        shown = path
        if key is not None and not low.endswith(".npz"):
            raise ValueProblem(f"key selects a member of an .npz file; '{shown}' is not one", "key")
        try:
            if low.endswith(".npy"):
                a = self._npy(real, shown, declared)
                if a is not None:
                    return a
                with open(real, "rb") as f:
                    shape, dtype = _header(f)
                    _check_header(shape, dtype, shown)
                    f.seek(0)
                    return np.load(f, allow_pickle=False)
            if low.endswith(".npz"):
                return _load_npz(real, key, shown)
            if low.endswith(TEXT_SUFFIXES):
                a = np.loadtxt(real, delimiter="," if low.endswith(".csv") else None, dtype=np.float64,
                               ndmin=1, comments="#")
                if a.ndim > 2:
                    raise ValueProblem(f"text table '{shown}' is not rank 1 or 2")
                if a.size == 0:
                    raise ValueProblem(f"text table '{shown}' holds no numbers")
                return a
        except ValueProblem:
            raise
        except ValueError as e:
            msg = str(e)
            if "pickle" in msg.lower() or "object arrays" in msg.lower():
                raise ValueProblem(f"file '{shown}' holds pickled Python objects; tfgrad never unpickles "
                                   "(allow_pickle=False): save plain numeric arrays") from None
            raise ValueProblem(f"file '{shown}' cannot be read as an array: {_clip(msg)}") from None
        except (OSError, EOFError, UnicodeDecodeError) as e:
            raise ValueProblem(f"file '{shown}' cannot be read as an array: {_clip(str(e))}") from None
        raise ValueProblem(f"file '{shown}': tfgrad reads .npy, .npz, .csv and .txt files", "file")

    def _npy(self, real: str, shown: str, declared: str | None) -> np.ndarray | None:
        """``npyread.read`` of ``real``: None when numpy.load is to read it.
        Opened without following a symlink (``resolve`` checked the name is
        none) and without waiting on a FIFO swapped in since (non-blocking;
        it is then refused as not a regular file)."""
        from . import npyread

        if self._blocks is None and self._share:
            self._blocks = npyread.Blocks()
        flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        fd = os.open(real, flags)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise ValueProblem(f"file '{shown}' is not a regular file", "file")
            return npyread.read(fd, st.st_size, MAX_ELEMENTS, None if declared is not None else self._blocks)
        finally:
            os.close(fd)


def _clip(s: str, n: int = 120) -> str:
    s = " ".join(s.split())
    return s if len(s) <= n else s[: n - 3] + "..."


def _header(f: Any) -> tuple[tuple, np.dtype]:
    """Shape and dtype from an .npy header, reading nothing else."""
    fmt = np.lib.format
    version = fmt.read_magic(f)
    if version == (1, 0):
        shape, _, dtype = fmt.read_array_header_1_0(f)
    else:
        shape, _, dtype = fmt.read_array_header_2_0(f)
    return shape, dtype


def _check_header(shape: tuple, dtype: np.dtype, shown: str) -> None:
    if dtype.hasobject:
        raise ValueProblem(f"file '{shown}' holds pickled Python objects; tfgrad never unpickles "
                           "(allow_pickle=False): save plain numeric arrays")
    _cap(math.prod(shape), f"the array in '{shown}' (shape {tuple(shape)})", None)


def _load_npz(real: str, key: Any, shown: str) -> np.ndarray:
    # zipfile only here: importing it (shutil, bz2, lzma...) costs 5-20 ms
    # of a run whose files are all .npy
    import zipfile

    try:
        return _read_npz(zipfile, real, key, shown)
    except zipfile.BadZipFile as e:
        raise ValueProblem(f"file '{shown}' cannot be read as an array: {_clip(str(e))}") from None


def _read_npz(zipfile: Any, real: str, key: Any, shown: str) -> np.ndarray:
    with zipfile.ZipFile(real) as zf:
        members = {n[:-4] if n.endswith(".npy") else n: n for n in zf.namelist()}
        if key is None:
            if len(members) != 1:
                raise ValueProblem(f"'{shown}' holds {len(members)} arrays ({', '.join(sorted(members))}); "
                                   "name one with key: K", "file")
            key = next(iter(members))
        if not isinstance(key, str):
            raise ValueProblem(f"key must be the name of an array in the .npz file; found {_show(key)}", "key")
        if key not in members:
            close = difflib.get_close_matches(key, list(members), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ValueProblem(f"'{shown}' has no array '{key}'{hint}; it holds "
                               f"{', '.join(sorted(members)) or 'nothing'}", "key")
        info = zf.getinfo(members[key])
        if info.file_size > MAX_FILE_BYTES:
            raise ValueProblem(f"array '{key}' of '{shown}' has {info.file_size:,} bytes uncompressed; "
                               f"values are limited to {MAX_FILE_BYTES:,}", "key")
        with zf.open(members[key]) as f:
            shape, dtype = _header(f)
            _check_header(shape, dtype, f"{shown}[{key}]")
    with np.load(real, allow_pickle=False) as z:
        return z[key]


# The dtypes a file's array may have as it is: tfgrad's own (float32 and
# float64 take the graph's dtype; the integer and boolean ones are kept).
_FILE_DTYPES = {("f", 4): None, ("f", 8): None, ("i", 4): "int32", ("i", 8): "int64", ("b", 1): "bool"}


def file_dtype(a: np.ndarray, shown: str, declared: str | None = None,
               can_declare: bool = True) -> str | None:
    """The dtype tfgrad gives a loaded array: float32 and float64 arrays take
    the graph's dtype (None); int32, int64 and bool arrays keep theirs.

    Any other dtype TensorFlow has (uint8, int8, int16, uint16, uint32,
    uint64, float16...) would stay that dtype in TF (``tf.constant`` keeps a
    NumPy array's dtype), and tfgrad has none of them: reading it as another
    dtype would change its arithmetic (uint8 wraps at 256, float16 rounds to
    11 bits) without a word. So it raises ``ValueProblem`` naming the file's
    dtype and the supported ones, unless ``declared`` (the mapping's
    ``dtype:``) converts it explicitly, as ``tf.cast`` would
    (``can_declare``: whether the place that reads the file takes a
    ``dtype:``, which the message then suggests). Complex, string and other
    non-numeric arrays raise ``ValueProblem`` either way."""
    k = a.dtype.kind
    if k not in "fiub":
        raise ValueProblem(f"'{shown}' holds {a.dtype} values; tfgrad reads float, integer and boolean arrays")
    if (k, a.dtype.itemsize) in _FILE_DTYPES:
        return _FILE_DTYPES[k, a.dtype.itemsize]
    if declared is not None:
        return declared
    to = "float32" if k == "f" else "int32"
    fix = (f"add dtype: {to} (or another of them) to the mapping to convert it as it is read, as "
           f"tf.cast would, or save the array as one of them" if can_declare else
           f"save the array as one of them (a.astype(np.{to}))")
    raise ValueProblem(
        f"'{shown}' holds {a.dtype.name} values, a dtype tfgrad does not have (its tensors are "
        f"{', '.join(DTYPES)}); {fix}")


def cast(a: np.ndarray, dtype: str, integral: bool) -> np.ndarray:
    """``a`` in ``dtype``; an integer dtype needs integer values in range, a
    bool dtype 0/1 or booleans."""
    if dtype in ("float32", "float64"):
        out = a.astype(dtype)
        if dtype == "float32" and np.isinf(out).any() and np.isfinite(a).all():
            raise ValueProblem("a value overflows float32 (beyond 3.4e38)", "dtype")
        return out
    if dtype == "bool":
        if a.dtype.kind != "b" and not np.isin(a, (0, 1)).all():
            raise ValueProblem("a bool value holds only true/false (or 0/1)", "dtype")
        return a.astype(bool)
    info = np.iinfo(dtype)
    if a.dtype.kind == "f" and not (np.isfinite(a).all() and (a == np.round(a)).all()):
        raise ValueProblem(f"an {dtype} value holds integers only", "dtype")
    if a.size and (a.min() < info.min or a.max() > info.max):
        raise ValueProblem(f"a value is out of {dtype}'s range ({info.min} to {info.max})", "dtype")
    return a.astype(dtype)
