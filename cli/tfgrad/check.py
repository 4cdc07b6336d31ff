"""``tfgrad check``: validate graph files, compare ``expect`` and check every
gradient against central finite differences; report in text, JSON, GitHub
annotations or JUnit XML.

Input: paths (files, directories, ``-``) and ``Options``. Output: one
``FileReport`` per file (its checks and their located ``Problem``s) and the
reports rendered as a string. Nothing here prints or exits; ``commands.py``
does. Problem codes are stable (``CODES``); a ``GraphError`` carries its code
from where it was raised (``classify``); nothing is inferred from messages.

A file's leading comments may declare the problems it exists to show
(``# tfgrad: expected-problem TG201 at 5:3``): a file whose problems are
exactly the declared ones is "failed as expected" and does not fail the run,
so that ``tfgrad check graphs/`` passes with ``graphs/invalid/`` inside it.
"""

from __future__ import annotations

import fnmatch
import math
import json
import multiprocessing
import gc
import os
import re
import signal
import sys
import time
import warnings
import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, Callable, Iterable, Iterator, Literal, Mapping, Sequence

import click
import numpy as np

from tfgrad.graph import GraphError
from tfgrad.source import decode, is_regular_file, read_text
from tfgrad.termsafe import decodable, printable

# --------------------------------------------------------------------------
# Problem codes

Severity = Literal["error", "note"]

#: code -> (severity, what it means). Stable: codes are never renumbered.
CODES: dict[str, tuple[Severity, str]] = {
    "TG001": ("error", "internal error: an unexpected exception while checking (a tfgrad bug)"),
    "TG002": ("error", "an `# tfgrad: expected-problem` comment that no problem matched"),
    "TG100": ("error", "invalid graph file (reserved: no longer produced, every error has its own code)"),
    "TG101": ("error", "YAML syntax error, or YAML the reader refuses (tags, alias bombs, size)"),
    "TG102": ("error", "schema: unknown or missing key, wrong type, bad value literal"),
    "TG103": ("error", "name: unknown, duplicate or malformed name"),
    "TG104": ("error", "expression syntax in an op string"),
    "TG105": ("error", "file cannot be read (I/O error, not UTF-8)"),
    "TG201": ("error", "cycle among ops"),
    "TG202": ("error", "shape mismatch (matmul, broadcasting, add_n, rank)"),
    "TG203": ("error", "op call: unknown op, wrong number of arguments, bad attribute"),
    "TG204": ("error", "grad_ys: wrong number of entries or wrong shape"),
    "TG301": ("error", "expect: the gradient differs from the expected value"),
    "TG302": ("error", "expect: None expected and a value computed, or the reverse"),
    "TG303": ("error", "expect: an x has no expected value (only with --require-expect)"),
    "TG401": ("error", "gradcheck: gradient and central finite difference disagree"),
    "TG402": ("note", "gradcheck inconclusive: a kink or a non-finite value (not a failure)"),
}


def classify(err: GraphError) -> str:
    """The problem code of an engine error: the ``code`` it was raised with.
    Every raise gives one of ``CODES`` (tests/test_error_codes.py scans the
    package); a code that is not one is a tfgrad bug, reported as TG001."""
    code = err.code
    return code if code in CODES else "TG001"


def parse_code_prefixes(values: Iterable[str]) -> tuple[str, ...]:
    """``["TG3,TG401", "tg1"]`` -> ``("TG3", "TG401", "TG1")``. Each prefix must
    start at least one known code; ``ValueError`` names the first that does not."""
    out: list[str] = []
    for value in values:
        for part in value.split(","):
            prefix = part.strip().upper()
            if not prefix:
                continue
            if not re.fullmatch(r"TG\d{0,3}", prefix) or not any(
                c.startswith(prefix) for c in CODES
            ):
                raise ValueError(f"unknown problem code or prefix '{part.strip()}'")
            out.append(prefix)
    return tuple(out)


# --------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    line: int | None = None
    col: int | None = None
    severity: Severity = "error"
    source: str | None = None  # overrides the file name (e.g. "<--set>")
    expected: bool = False  # declared by an expected-problem comment


def problem(code: str, message: str, pos: Any = None) -> Problem:
    """A problem with ``code``'s default severity, at ``pos`` (a ``Pos`` or None)."""
    return Problem(
        code=code,
        message=message,
        line=getattr(pos, "line", None),
        col=getattr(pos, "col", None),
        severity=CODES[code][0],
        source=getattr(pos, "source", None),
    )


CheckStatus = Literal["passed", "failed", "skipped"]


@dataclass(frozen=True)
class CheckResult:
    """One check of one file (a JUnit test case): ``validate``,
    ``expect X`` or ``gradcheck X``."""

    name: str
    status: CheckStatus
    problems: tuple[Problem, ...] = ()
    detail: str = ""
    time: float = 0.0


FileStatus = Literal["passed", "failed", "xfailed"]


@dataclass(frozen=True)
class FileReport:
    path: str
    checks: tuple[CheckResult, ...]
    time: float = 0.0

    @property
    def problems(self) -> tuple[Problem, ...]:
        return tuple(p for c in self.checks for p in c.problems)

    @property
    def status(self) -> FileStatus:
        errors = [p for p in self.problems if p.severity == "error"]
        if any(not p.expected for p in errors):
            return "failed"
        return "xfailed" if errors else "passed"

    @property
    def passed(self) -> bool:
        return self.status != "failed"


@dataclass(frozen=True)
class Options:
    gradcheck: bool = True
    fd_step: float = 1e-6
    fd_rtol: float = 1e-5
    fd_atol: float = 1e-7
    fd_max_elements: int = 64  # 0: every element
    require_expect: bool = False
    select: tuple[str, ...] = ()  # code prefixes; empty: all
    ignore: tuple[str, ...] = ()
    directives: bool = True  # honour "# tfgrad: expected-problem" comments
    dtype: str | None = None  # --dtype: replaces every file's dtype
    allow_outside: tuple[str, ...] = ()  # --allow-outside: where {file: ...} may read

    def enabled(self, code: str) -> bool:
        if self.select and not any(code.startswith(p) for p in self.select):
            return False
        return not any(code.startswith(p) for p in self.ignore)

    def runs(self, code: str) -> bool:
        """Whether ``code`` can be reported: enabled, and its check on."""
        if code.startswith("TG4") and not self.gradcheck:
            return False
        if code == "TG303" and not self.require_expect:
            return False
        return self.enabled(code)

    def wants(self, prefix: str) -> bool:
        """Whether any code starting with ``prefix`` is enabled (a check whose
        codes are all disabled need not run)."""
        return any(self.enabled(c) for c in CODES if c.startswith(prefix))


# --------------------------------------------------------------------------
# Finding the files


class PathError(Exception):
    """A path on the command line that does not exist (a usage error)."""


@dataclass(frozen=True)
class Target:
    path: str  # as displayed
    stdin: bool = False
    # stdin's text or bytes, read by the caller (or why it could not be)
    text: str | bytes | GraphError | None = None


STDIN_NAME = "<stdin>"
YAML_SUFFIXES = (".yaml", ".yml")


def _excluded(rel: str, patterns: Sequence[str]) -> bool:
    rel = rel.replace(os.sep, "/")
    base = rel.rstrip("/").rsplit("/", 1)[-1]
    return any(fnmatch.fnmatchcase(rel, p) or fnmatch.fnmatchcase(base, p) for p in patterns)


def collect_targets(
    paths: Sequence[str],
    exclude: Sequence[str] = (),
    *,
    read_stdin: Callable[[], str | bytes] | None = None,
    stdin_name: str = STDIN_NAME,
) -> list[Target]:
    """The files to check, in order: each path as given; a directory's
    ``*.yaml``/``*.yml`` files recursively, sorted, skipping hidden files and
    directories; ``-`` for standard input (read once with ``read_stdin``).
    ``exclude`` globs are matched against a path relative to the directory it
    was found in (``sub/x.yaml``) and against its base name; a matching
    directory is skipped whole; a file named on the command line is matched
    as written. A path seen twice is checked once. ``PathError`` for a path
    that does not exist."""
    out: list[Target] = []
    seen: set[str] = set()

    def add(target: Target) -> None:
        key = STDIN_NAME if target.stdin else os.path.normpath(target.path)
        if key not in seen:
            seen.add(key)
            out.append(target)

    for path in paths:
        if path == "-":
            try:
                text = read_stdin() if read_stdin else None
            except GraphError as e:  # too large: reported as the file's problem
                text = e
            add(Target(stdin_name, stdin=True, text=text))
        elif os.path.isdir(path):
            found: list[tuple[tuple[str, ...], str]] = []
            for root, dirs, files in os.walk(path):
                rel_root = os.path.relpath(root, path)
                rel_root = "" if rel_root == "." else rel_root.replace(os.sep, "/") + "/"
                dirs[:] = [
                    d for d in dirs
                    if not d.startswith(".") and not _excluded(rel_root + d, exclude)
                ]
                for name in files:
                    rel = rel_root + name
                    if (
                        name.lower().endswith(YAML_SUFFIXES)
                        and not name.startswith(".")
                        and not _excluded(rel, exclude)
                        # never a FIFO, socket or device: opening one blocks
                        and is_regular_file(os.path.join(root, name))
                    ):
                        found.append((tuple(rel.split("/")), os.path.join(root, name)))
            if not found:
                raise PathError(f"no graph files (*.yaml, *.yml) found in '{path}'")
            for _, full in sorted(found):
                add(Target(full))
        elif os.path.exists(path):
            if not _excluded(path, exclude):
                add(Target(path))
        else:
            raise PathError(f"path '{path}' does not exist")
    return out


# --------------------------------------------------------------------------
# Numbers


def _num(v: float, digits: int | None = None) -> str:
    """A float as it reads: integers without a point, else the shortest repr,
    or ``digits`` significant digits (for approximate numbers)."""
    v = float(v)
    if np.isnan(v):
        return "nan"
    if np.isinf(v):
        return "inf" if v > 0 else "-inf"
    if digits is not None:
        v = float(f"{v:.{digits}g}")
    if v == int(v) and abs(v) < 2**53:
        return str(int(v))
    return repr(v)


def _index(shape: tuple[int, ...], flat: int) -> str:
    if not shape:
        return ""
    return "[" + ", ".join(str(i) for i in np.unravel_index(flat, shape)) + "]"


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


@dataclass(frozen=True)
class Mismatch:
    count: int  # elements outside the tolerance
    size: int
    index: int  # flat index of the worst one
    actual: float
    expected: float


def compare(actual: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> Mismatch | None:
    """None when every element satisfies ``|a - e| <= atol + rtol * |e|``
    (nan equals only nan, an infinity only itself); else the count and the
    worst element: a non-finite mismatch first, then the largest excess
    over the tolerance. Shapes must be equal."""
    a = np.asarray(actual, dtype=np.float64).ravel()
    e = np.asarray(expected, dtype=np.float64).ravel()
    with np.errstate(all="ignore"):
        finite = np.isfinite(a) & np.isfinite(e)
        same_special = ~finite & ((a == e) | (np.isnan(a) & np.isnan(e)))
        excess = np.where(finite, np.abs(a - e) - (atol + rtol * np.abs(e)), np.inf)
        bad = np.where(same_special, False, excess > 0)
    count = int(bad.sum())
    if count == 0:
        return None
    worst = int(np.argmax(np.where(bad, excess, -np.inf)))
    return Mismatch(count, a.size, worst, float(a[worst]), float(e[worst]))


# --------------------------------------------------------------------------
# Checking one file


_DIRECTIVE = re.compile(
    r"^\s*#\s*tfgrad:\s*expected-problem\s+(TG\d{3})(?:\s+at\s+(\d+):(\d+))?\s*$", re.IGNORECASE
)


@dataclass(frozen=True)
class Directive:
    code: str
    line: int | None
    col: int | None
    at: int  # the comment's own line

    def matches(self, p: Problem) -> bool:
        return p.code == self.code and (
            self.line is None or (p.line, p.col) == (self.line, self.col)
        )


def directives(text: str) -> list[Directive]:
    """The ``# tfgrad: expected-problem CODE [at LINE:COL]`` comment lines of
    a file (read as text, so they work in a file that is not valid YAML)."""
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        m = _DIRECTIVE.match(line)
        if m:
            ln, col = (int(m[2]), int(m[3])) if m[2] else (None, None)
            out.append(Directive(m[1].upper(), ln, col, n))
    return out


def _internal(exc: BaseException) -> Problem:
    return problem("TG001", f"internal error: {type(exc).__name__}: {exc}")


def _graph_problem(err: GraphError) -> Problem:
    return problem(classify(err), err.message, err.pos)


def _timed(name: str, fn: Callable[[], tuple[CheckStatus, tuple[Problem, ...], str]]) -> CheckResult:
    t0 = time.perf_counter()
    try:
        status, problems, detail = fn()
    except GraphError as err:
        status, problems, detail = "failed", (_graph_problem(err),), ""
    except Exception as exc:  # a check must report, never crash the run
        status, problems, detail = "failed", (_internal(exc),), ""
    return CheckResult(name, status, problems, detail, time.perf_counter() - t0)


def _status(problems: Iterable[Problem]) -> CheckStatus:
    return "failed" if any(p.severity == "error" for p in problems) else "passed"


def check_text(text: str, path: str, options: Options = Options()) -> FileReport:
    """Every check of one graph file's text."""
    t0 = time.perf_counter()
    checks = list(_run_checks(text, path, options))
    checks = [_filter(c, options) for c in checks]
    if options.directives:
        checks = _apply_directives(checks, directives(text), options)
    return FileReport(path, tuple(checks), time.perf_counter() - t0)


def check_target(target: Target, options: Options = Options()) -> FileReport:
    """``check_text`` of a target's file (or stdin text); an unreadable file
    is a TG105 problem."""
    if isinstance(target.text, str):
        return check_text(target.text, target.path, options)
    try:
        if isinstance(target.text, GraphError):
            raise target.text
        if target.text is not None:
            text = decode(target.text)
        else:
            text = read_text(target.path)
    except GraphError as exc:
        checks = (CheckResult("validate", "failed", (problem(classify(exc), exc.message, exc.pos),)),)
        return FileReport(target.path, tuple(_filter(c, options) for c in checks))
    return check_text(text, target.path, options)


def _run_checks(text: str, path: str, options: Options) -> Iterator[CheckResult]:
    from tfgrad.engine import derive
    from tfgrad.parse import parse_graph

    state: dict[str, Any] = {}

    def validate():
        graph = parse_graph(text, path, _overrides(options))
        d = derive(graph)
        state["d"] = d
        return "passed", (), f"{len(graph.nodes)} nodes, {len(graph.xs)} xs, {len(graph.ys)} ys"

    result = _timed("validate", validate)
    yield result
    if result.status == "failed":
        return
    d = state["d"]
    graph = d.graph

    need_eval = options.wants("TG3") or (options.gradcheck and options.wants("TG4"))
    ev = None
    if need_eval:
        from tfgrad.engine import compute

        def run_eval():
            with np.errstate(all="ignore"):
                state["ev"] = compute(d)
            return "passed", (), ""

        r = _timed("evaluate", run_eval)
        if r.status == "failed":
            yield r
            return
        ev = state["ev"]

    expectations = {e.name: e for e in graph.expect}
    first: dict[str, int] = {}
    for i, ref in enumerate(graph.xs):
        first.setdefault(ref.name, i)
    for name, i in first.items():
        ref = graph.xs[i]
        if not options.wants("TG3"):
            yield CheckResult(f"expect {name}", "skipped", detail="TG3 not selected")
        elif name in expectations:
            e = expectations[name]
            yield _timed(f"expect {name}", partial(_check_expect, ev.gradients[i], e, graph))
        elif options.require_expect and options.enabled("TG303"):
            yield CheckResult(
                f"expect {name}",
                "failed",
                (problem("TG303", f"xs entry '{name}' has no expected gradient in expect", ref.pos),),
            )
        else:
            yield CheckResult(f"expect {name}", "skipped", detail="no expect")
        if not options.gradcheck:
            yield CheckResult(f"gradcheck {name}", "skipped", detail="--no-gradcheck")
        elif not options.wants("TG4"):
            yield CheckResult(f"gradcheck {name}", "skipped", detail="TG4 not selected")
        elif d.lowered.nodes[name].dtype not in ("float32", "float64"):
            # An integer or boolean x has no gradient in TF 2 (None), and no
            # finite difference: there is nothing to compare.
            yield CheckResult(f"gradcheck {name}", "skipped",
                              detail=f"{d.lowered.nodes[name].dtype} x: not differentiable")
        else:
            yield _timed(f"gradcheck {name}", partial(_gradcheck, d, ev, i, options))
    yield from _hessian_checks(d, options)


def _hessian_checks(d: Any, options: Options) -> Iterator[CheckResult]:
    """``expect_hessian``: each listed x's entry of tf.hessians(ys, xs)
    compared like ``expect`` (TG301/TG302), and checked against central
    differences of the gradient of sum(ys) (TG401/TG402)."""
    graph = d.graph
    entries = getattr(graph, "expect_hessian", ())
    if not entries:
        return
    state: dict[str, Any] = {}

    def hessians() -> dict[str, Any]:
        if "h" not in state:
            from tfgrad.higher import hessian_values

            with np.errstate(all="ignore"):
                names, values = hessian_values(d)
            state["h"] = dict(zip(names, values))
        return state["h"]

    for e in entries:
        if not options.wants("TG3"):
            yield CheckResult(f"expect_hessian {e.name}", "skipped", detail="TG3 not selected")
        else:
            yield _timed(f"expect_hessian {e.name}", partial(_check_expect_hessian, hessians, e, graph))
        if not options.gradcheck:
            yield CheckResult(f"hessian gradcheck {e.name}", "skipped", detail="--no-gradcheck")
        elif not options.wants("TG4"):
            yield CheckResult(f"hessian gradcheck {e.name}", "skipped", detail="TG4 not selected")
        else:
            yield _timed(f"hessian gradcheck {e.name}", partial(_hessian_gradcheck, d, hessians, e, options))


def _check_expect_hessian(hessians: Callable[[], dict], e: Any, graph: Any):
    from tfgrad.graph import GraphError

    name = e.name
    try:
        h = hessians()[name]
    except GraphError as err:  # TF's 'None values not supported.'
        if e.value is None:
            return "passed", (), "None as expected (TF's hessians raises)"
        return "failed", (problem("TG302", f"expected a Hessian for '{name}', but {err.message}",
                                  e.pos),), ""
    if e.value is None:
        msg = f"expected no Hessian (None) for '{name}', but it has one of shape {_shape(h.shape)}"
        return "failed", (problem("TG302", msg, e.pos),), ""
    want = e.value.array
    if tuple(want.shape) != tuple(h.shape):
        msg = (f"expect_hessian for '{name}' has shape {_shape(want.shape)}, the Hessian has shape "
               f"{_shape(h.shape)} (x.shape + x.shape)")
        return "failed", (problem("TG301", msg, e.pos),), ""
    m = compare(h, want, graph.rtol, graph.atol)
    if m is None:
        with np.errstate(all="ignore"):
            diff = np.abs(np.asarray(h, float) - want)
            worst = float(np.nanmax(np.where(np.isfinite(diff), diff, 0))) if diff.size else 0.0
        return "passed", (), f"max |difference| {_num(worst, 3)}"
    where = _index(tuple(want.shape), m.index)
    tol = graph.atol + graph.rtol * abs(m.expected)
    msg = (f"Hessian of '{name}'{where} is {_num(m.actual)}, expected {_num(m.expected)} "
           f"(difference {_num(abs(m.actual - m.expected), 3)}, tolerance {_num(tol, 3)}); "
           f"{m.count} of {m.size} elements differ")
    return "failed", (problem("TG301", msg, e.pos),), ""


def _hessian_gradcheck(d: Any, hessians: Callable[[], dict], e: Any, options: Options):
    """Column k of x's Hessian against the central difference of the
    gradient of sum(ys) (TF's seeds: ones) when x[k] moves; a variable or
    constant x only. Non-finite values and kinks (one-sided differences that
    disagree) are TG402 notes; other disagreements TG401."""
    from tfgrad.graph import GraphError
    from tfgrad.higher import gradients
    from tfgrad.plan import Plan

    name = e.name
    low = d.lowered
    gnode = low.graph.nodes[name]
    if gnode.kind not in ("variable", "constant"):
        return "skipped", (), f"'{name}' is an op: the hessian check moves variables and constants"
    try:
        h = np.asarray(hessians()[name], dtype=np.float64)
    except GraphError:
        return "skipped", (), "no Hessian (None)"
    x = low.nodes[name]
    ys = [low.nodes[s.y] for s in d.seeds]
    (g,) = gradients(ys, [x])
    if type(g).__name__ == "Absent":
        return "skipped", (), "no gradient (None)"
    plan = Plan([g])
    x0 = np.array(low.env[name], dtype=np.float64)
    env = {k: np.asarray(v, dtype=np.float64) if v.dtype.kind == "f" else v for k, v in low.env.items()}

    def grad_at(value: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.asarray(plan.run({**env, name: value}), dtype=np.float64)[0].reshape(-1)

    n = x0.size
    hm = h.reshape(n, n)
    g0 = grad_at(x0)
    rtol = max(options.fd_rtol, d.graph.rtol)
    atol = max(options.fd_atol, d.graph.atol)
    fails, kinks = [], []
    max_err = 0.0
    indices = _sample(n, options.fd_max_elements)
    for k in indices:
        k = int(k)
        base = x0.flat[k]
        step = options.fd_step * max(1.0, abs(base))
        up, down = x0.copy(), x0.copy()
        up.flat[k] = base + step
        down.flat[k] = base - step
        hp, hn = up.flat[k] - base, base - down.flat[k]
        gp, gn = grad_at(up), grad_at(down)
        with np.errstate(all="ignore"):
            central = (gp - gn) / (hp + hn)
            fwd = (gp - g0) / hp
            bwd = (g0 - gn) / hn
            noise = 64 * _EPS * (np.abs(gp) + np.abs(gn) + np.abs(g0)) / min(hp, hn)
        col = hm[:, k]
        tol = atol + rtol * np.abs(col) + noise
        with np.errstate(all="ignore"):
            ok = np.abs(central - col) <= tol
        finite = np.isfinite(col) & np.isfinite(central) & np.isfinite(fwd) & np.isfinite(bwd)
        for j in np.flatnonzero(~ok):
            where = f"'{name}'{_index(tuple(h.shape), j * n + k)}"
            if not finite[j]:
                kinks.append(f"{where} is inconclusive at a non-finite value")
                continue
            if abs(fwd[j] - bwd[j]) > tol[j]:
                kinks.append(f"{where} is inconclusive at a kink: one-sided differences "
                             f"{_num(fwd[j], 8)} and {_num(bwd[j], 8)}, Hessian {_num(col[j])}")
                continue
            fails.append((abs(central[j] - col[j]) - tol[j], where, col[j], central[j], tol[j]))
        if ok.any():
            with np.errstate(all="ignore"):
                err = np.abs(central - col)[ok & finite]
            if err.size:
                max_err = max(max_err, float(np.max(err)))
    problems: list[Problem] = []
    if fails:
        _, where, hv, c, tol = max(fails, key=lambda f: f[0])
        problems.append(problem(
            "TG401", f"Hessian of {where} is {_num(hv)}, the central difference of the gradient is "
                     f"{_num(c, 8)} (difference {_num(abs(c - hv), 3)}, tolerance {_num(tol, 3)}); "
                     f"{len(fails)} elements disagree", e.pos))
    if kinks:
        msg = f"hessian finite-difference check of {kinks[0]}"
        if len(kinks) > 1:
            msg += f"; {len(kinks)} such elements"
        problems.append(problem("TG402", msg, e.pos))
    detail = f"{len(indices)} of {n} columns checked; max |error| {_num(max_err, 3)}"
    return _status(problems), tuple(problems), detail


def _overrides(options: Options) -> Any:
    """``--dtype``/``--allow-outside`` as the parser's ``Overrides`` (None
    when neither is given)."""
    from dataclasses import fields

    from tfgrad.parse import Overrides

    have = {f.name for f in fields(Overrides)}
    kw: dict[str, Any] = {}
    if options.dtype is not None:
        kw["dtype"] = options.dtype
    if options.allow_outside and "allow_outside" in have:
        kw["allow_outside"] = options.allow_outside
    return Overrides(**kw) if kw else None


# A float32 gradient is compared with float32's own precision: expect (when
# the file gives no tolerance) at TF's float32 agreement, the finite
# difference (taken in float64) at these floors.
F32_EXPECT_TOL = (1e-5, 1e-6)  # (rtol, atol)
F32_FD_RTOL = 1e-4
F32_FD_ATOL = 1e-5  # times max(1, max |gradient|)


def _expect_tolerance(grad: np.ndarray, graph: Any) -> tuple[float, float]:
    if grad.dtype == np.float32 and graph.tolerance_pos is None:
        return F32_EXPECT_TOL
    return graph.rtol, graph.atol


def _check_expect(grad: np.ndarray | None, e: Any, graph: Any):
    name = e.name
    if e.value is None:
        if grad is None:
            return "passed", (), "None as expected"
        msg = (
            f"expected no gradient (None) for '{name}', but it has one "
            f"of shape {_shape(grad.shape)}"
        )
        return "failed", (problem("TG302", msg, e.pos),), ""
    want = e.value.array
    if grad is None:
        msg = (
            f"expected a gradient for '{name}', but it is None: no y depends on it "
            f"(unconnected_gradients: zero gives zeros)"
        )
        return "failed", (problem("TG302", msg, e.pos),), ""
    if tuple(want.shape) != tuple(grad.shape):
        msg = (
            f"expect for '{name}' has shape {_shape(want.shape)}, "
            f"the gradient has shape {_shape(grad.shape)}"
        )
        return "failed", (problem("TG301", msg, e.pos),), ""
    rtol, atol = _expect_tolerance(grad, graph)
    if grad.dtype == np.float32:
        want = np.asarray(want, dtype=np.float64).astype(np.float32)  # the float32 numbers written
    m = compare(grad, want, rtol, atol)
    if m is None:
        with np.errstate(all="ignore"):
            diff = np.abs(np.asarray(grad, float) - want)
            worst = float(np.nanmax(np.where(np.isfinite(diff), diff, 0))) if diff.size else 0.0
        return "passed", (), f"max |difference| {_num(worst, 3)}"
    where = _index(tuple(want.shape), m.index)
    tol = atol + rtol * abs(m.expected)
    msg = (
        f"gradient of '{name}'{where} is {_num(m.actual)}, expected {_num(m.expected)} "
        f"(difference {_num(abs(m.actual - m.expected), 3)}, tolerance {_num(tol, 3)}); "
        f"{m.count} of {m.size} elements differ"
    )
    return "failed", (problem("TG301", msg, e.pos),), ""


def _sample(size: int, cap: int) -> np.ndarray:
    """Flat indices to check: all, or ``cap`` spread evenly (first and last included)."""
    if cap <= 0 or size <= cap:
        return np.arange(size)
    return np.unique(np.linspace(0, size - 1, cap).round().astype(np.int64))


_EPS = float(np.finfo(np.float64).eps)


def _agrees(diff: tuple[float, float, float, float], g: float, atol: float, rtol: float) -> bool:
    central, _, _, noise = diff
    return bool(np.isfinite(central)) and abs(central - g) <= atol + rtol * abs(g) + noise


def _kinks_reached(
    d: Any, values: Mapping[str, np.ndarray], x: str, held: set[str], zone: float
) -> list[str]:
    """The ops that a change of x reaches (not through a held node) whose
    inputs sit at, or within ``zone`` (relative) of, one of their kinks, as
    each op's record states them (``OpDef.kinks``: relu and abs at 0, a tie
    of maximum and minimum...)."""
    graph = d.graph
    bindings = d.lowered.bindings
    reach = {x}
    found = []
    for name in graph.order:
        node = graph.nodes[name]
        if node.kind != "op" or name in held or not any(a in reach for a in node.args):
            continue
        reach.add(name)
        op, inputs = bindings.get(name, (None, {}))
        if op is None or op.kinks is None:
            continue
        if any(isinstance(v, list) or v not in values for v in inputs.values()):
            continue
        pairs = op.kinks({p: np.asarray(values[v]) for p, v in inputs.items()})
        for a, b in pairs:
            a = np.asarray(a, dtype=np.float64)
            b = np.asarray(b, dtype=np.float64)
            with np.errstate(all="ignore"):
                near = np.abs(a - b) <= zone * np.maximum(1.0, np.maximum(np.abs(a), np.abs(b)))
            if np.any(near):
                note = op.kink_note or "its kink"
                found.append(f"'{name.split('/')[0]}' ({op.name} at {note})")
                break
    return found


def _conventions_reached(d: Any, x: str) -> list[str]:
    """Why TF's gradient with respect to x need not be a derivative at all:
    the notes of the kernels (``Prim.inexact``) whose VJP for an operand x
    reaches is TF's convention rather than the derivative (the labels of
    softmax cross-entropy's backprop, in a gradient of a gradient)."""
    from tfgrad.moves import MOVES
    from tfgrad.tensor import Move, walk

    low = d.lowered
    xnode = low.nodes.get(x)
    if xnode is None or isinstance(xnode, list):
        return []
    dep = {id(xnode)}
    found: list[str] = []
    for n in walk([low.nodes[s.y] for s in d.seeds]):
        args = n._args
        if not any(id(a) in dep for a in args):
            continue
        dep.add(id(n))
        p = MOVES[n.kind] if isinstance(n, Move) else None
        if p is not None and p.inexact and any(id(args[k]) in dep for k in p.inexact):
            if p.inexact_note not in found:
                found.append(p.inexact_note)
    return found


def _float64_twin(d: Any) -> Any:
    """The same graph derived in float64 (None when it cannot be: a value
    whose own dtype is float32 then meets float64 ones)."""
    from dataclasses import replace

    from tfgrad.engine import derive

    try:
        return derive(replace(d.graph, dtype="float64"))
    except GraphError:
        return None


def _gradcheck(d: Any, ev: Any, i: int, options: Options):
    """Compare x's gradient, element by element, with the central finite
    difference of ``objective`` (``sum_i sum(seed_i * y_i)``, seeds fixed),
    every stop-gradient node held at its value. The tolerance is the looser
    of the file's and ``--fd-rtol``/``--fd-atol``, plus the rounding noise of
    the objective over the step. A mismatch at the step is retried at 100
    times and at 1/100 of it (rounding noise dominates a small step, a
    non-smooth second derivative a large one); a mismatch explained by a kink
    (one-sided differences that disagree around the gradient, or a
    relu/abs/maximum/minimum that x reaches sitting at its kink) or by a
    non-finite value is a TG402 note."""
    from tfgrad.engine import objective

    graph = d.graph
    ref = graph.xs[i]
    x = ref.name
    x0 = np.array(ev.values[x], dtype=np.float64)
    grad = ev.gradients[i]
    held_names = [r.name for r in graph.stop_gradients] + [
        n for n, node in graph.nodes.items() if node.op == "stop_gradient"
    ]
    held = {n: ev.values[n] for n in dict.fromkeys(held_names) if n != x}
    seeds = ev.seeds
    rtol = max(options.fd_rtol, graph.rtol)
    atol = max(options.fd_atol, graph.atol)
    with np.errstate(all="ignore"):
        mag = float(
            sum(
                np.sum(np.abs(np.asarray(s) * ev.values[y.name]))
                for s, y in zip(seeds, graph.ys, strict=True)
            )
        )
    if not np.isfinite(mag):
        mag = 0.0
    # A float32 gradient: the differences are taken on the same graph in
    # float64 (float32's 7 digits cannot resolve a step of 1e-6), and the
    # gradient is held to float32's precision, not float64's.
    f32 = grad is not None and grad.dtype == np.float32
    twin = _float64_twin(d) if f32 else None
    d_fd = twin if twin is not None else d
    if f32:
        finite = np.abs(grad[np.isfinite(grad)])
        rtol = max(rtol, F32_FD_RTOL)
        atol = max(atol, F32_FD_ATOL * max(1.0, float(finite.max()) if finite.size else 1.0))
    twin_grads: list = []

    def float64_gradient(k: int) -> float:
        """x's gradient at k computed in float64 (nan when unavailable)."""
        if twin is None:
            return math.nan
        if not twin_grads:
            from tfgrad.engine import compute

            with np.errstate(all="ignore"):
                twin_grads.append(compute(twin).gradients[i])
        g64 = twin_grads[0]
        return math.nan if g64 is None else float(g64.flat[k])

    def f(value: np.ndarray) -> float:
        with np.errstate(all="ignore"):
            return float(objective(d_fd, {**held, x: value}, seeds))

    def diffs(k: int, step: float) -> tuple[float, float, float, float]:
        """(central, forward, backward, noise) at flat index k."""
        base = x0.flat[k]
        h = step * max(1.0, abs(base))
        up, down = x0.copy(), x0.copy()
        up.flat[k] = base + h
        down.flat[k] = base - h
        hp, hm = up.flat[k] - base, base - down.flat[k]  # the steps as represented
        fp, fm = f(up), f(down)
        with np.errstate(all="ignore"):
            central = (fp - fm) / (hp + hm)
            forward = (fp - f0) / hp
            backward = (f0 - fm) / hm
        noise = 64 * _EPS * (mag + abs(f0)) / min(hp, hm) if np.isfinite(f0) else 0.0
        return central, forward, backward, noise

    f0 = f(x0)
    indices = _sample(x0.size, options.fd_max_elements)
    fails: list[tuple[float, int, float, float, float]] = []  # excess, k, g, central, tol
    kinks: list[str] = []  # why each inconclusive element is
    reached: list[str] | None = None  # kinks downstream of x, found on the first need
    conventions: list[str] | None = None  # TF VJPs x reaches that are not derivatives
    shape = tuple(x0.shape)
    max_err = 0.0
    for k in indices:
        k = int(k)
        g = float(grad.flat[k]) if grad is not None else 0.0
        first = diffs(k, options.fd_step)
        central, fwd, bwd, noise = first
        tol = atol + rtol * abs(g) + noise
        if np.isfinite(g) and _agrees(first, g, atol, rtol):
            max_err = max(max_err, abs(central - g))
            continue
        where = f"'{x}'{_index(shape, k)}"
        # a None gradient is compared as 0 but shown as what run prints
        shown = "None" if grad is None else _num(g)
        sides = (
            f"one-sided differences {_num(fwd, 8)} (forward) and {_num(bwd, 8)} (backward), "
            f"gradient {shown}"
        )
        if not np.isfinite(g) and all(np.isfinite(v) for v in (f0, central, fwd, bwd)) and \
                abs(fwd - bwd) <= atol + rtol * max(abs(fwd), abs(bwd)) + 2 * noise:
            # The function is smooth here (both one-sided differences agree
            # and are finite) but the gradient is not finite: a real failure,
            # even when TF's kernels give the same nan (write an
            # expected-problem comment to keep such a teaching file green).
            g64 = float64_gradient(k) if f32 else math.nan
            if math.isfinite(g64):
                kinks.append(f"{where} is inconclusive: the float32 gradient is {_num(g)} where "
                             f"float64's is {_num(g64)} (float32 overflows or underflows here, "
                             "as TF's float32 kernels do); central difference "
                             f"{_num(central, 8)}")
                continue
            fails.append((math.inf, k, g, central, tol))
            continue
        if not all(np.isfinite(v) for v in (f0, central, fwd, bwd, g)):
            kinks.append(f"{where} is inconclusive at a non-finite value: {sides}")
            continue
        if any(_agrees(diffs(k, options.fd_step * factor), g, atol, rtol) for factor in (100, 0.01)):
            continue
        # At a kink the one-sided differences disagree and TF's gradient is
        # one of them or between (relu'(0) = 0, abs'(0) = 0); near one, the
        # one-sided differences carry an O(step) error: allow 1% of the jump.
        side_tol = atol + rtol * max(abs(fwd), abs(bwd)) + 2 * noise
        lo, hi = min(fwd, bwd), max(fwd, bwd)
        margin = tol + 0.01 * (hi - lo)
        if hi - lo > side_tol and lo - margin <= g <= hi + margin:
            kinks.append(f"{where} is inconclusive at a kink: {sides}")
            continue
        # Kinks inside the graph can add up to a smooth function whose
        # derivative TF's tie rules do not give (maximum(0, a * mean(a))).
        if reached is None:
            reached = _kinks_reached(d, ev.values, x, set(held), 100 * options.fd_step)
        if reached:
            kinks.append(
                f"{where} is inconclusive: {reached[0]} sits at its kink at this point "
                f"and TF's gradient there need not be a derivative; central difference "
                f"{_num(central, 8)}, gradient {shown}"
            )
            continue
        if conventions is None:
            conventions = _conventions_reached(d, x)
        if conventions:
            kinks.append(
                f"{where} differs from its central difference {_num(central, 8)} (gradient "
                f"{_num(g)}) as TF's does: {conventions[0]}"
            )
            continue
        fails.append((abs(central - g) - tol, k, g, central, tol))

    checked = f"{len(indices)} of {x0.size} element{'s' if x0.size != 1 else ''} checked"
    if len(indices) < x0.size:
        checked += f" (--fd-max-elements {options.fd_max_elements})"
    problems: list[Problem] = []
    if fails:
        _, k, g, central, tol = max(fails)
        where = f"'{x}'{_index(shape, k)}"
        if grad is None:
            msg = (
                f"'{x}' has no gradient (None), but the objective changes with {where}: "
                f"finite difference {_num(central, 8)}"
            )
        elif not np.isfinite(g):
            msg = (
                f"gradient of {where} is {_num(g)} where the function is smooth: both "
                f"one-sided differences agree, central difference {_num(central, 8)}"
            )
        else:
            msg = (
                f"gradient of {where} is {_num(g)}, the central finite difference "
                f"is {_num(central, 8)} (difference {_num(abs(central - g), 3)}, "
                f"tolerance {_num(tol, 3)})"
            )
        problems.append(
            problem("TG401", msg + f"; {len(fails)} of {len(indices)} checked elements disagree",
                    ref.pos)
        )
    if kinks:
        msg = f"finite-difference check of {kinks[0]}"
        if len(kinks) > 1:
            msg += f"; {len(kinks)} such elements"
        problems.append(problem("TG402", msg, ref.pos))
    detail = f"{checked}; max |error| {_num(max_err, 3)}"
    if kinks:
        detail += f"; {len(kinks)} inconclusive"
    return _status(problems), tuple(problems), detail


def _filter(check: CheckResult, options: Options) -> CheckResult:
    kept = tuple(p for p in check.problems if options.enabled(p.code))
    if kept == check.problems:
        return check
    status = check.status if check.status == "skipped" else _status(kept)
    return replace(check, problems=kept, status=status)


def _apply_directives(
    checks: list[CheckResult], declared: list[Directive], options: Options
) -> list[CheckResult]:
    declared = [d for d in declared if options.runs(d.code)]
    if not declared:
        return checks
    unmatched = list(declared)
    out = []
    for c in checks:
        probs = []
        for p in c.problems:
            hit = next((d for d in declared if d.matches(p)), None)
            if hit is not None:
                p = replace(p, expected=True)
                if hit in unmatched:
                    unmatched.remove(hit)
            probs.append(p)
        out.append(replace(c, problems=tuple(probs)))
    if unmatched and options.enabled("TG002"):
        extra = tuple(
            Problem(
                "TG002",
                f"expected problem {d.code}"
                + (f" at {d.line}:{d.col}" if d.line is not None else "")
                + " was not reported",
                line=d.at,
                col=1,
            )
            for d in unmatched
        )
        out.append(CheckResult("expected problems", "failed", extra))
    return out


# --------------------------------------------------------------------------
# Checking many files


def _preload() -> None:
    """Import the engine once, outside any file's timing; forked workers
    inherit it."""
    import tfgrad.engine  # noqa: F401
    import tfgrad.parse  # noqa: F401


def run_checks(
    targets: Sequence[Target], options: Options = Options(), jobs: int = 1,
    freeze: bool = False,
) -> Iterator[FileReport]:
    """One report per target, in input order; ``jobs`` > 1 checks files in
    that many processes (0: one per CPU). ``freeze`` (the CLI's choice, for
    a process that ends after the run): after the engine's import, every
    object alive is moved out of the cyclic GC's reach (``gc.freeze``), so
    that the collection after each file walks only that file's objects,
    not SymPy's hundreds of thousands (about 0.05-0.1 s a file otherwise:
    most of a gallery check's time); forked workers inherit it."""
    if jobs <= 0:
        jobs = os.cpu_count() or 1
    jobs = min(jobs, len(targets))
    if targets:
        _preload()  # before the clock starts (and before forking workers)
        if freeze:
            gc.collect()
            gc.freeze()
    if jobs <= 1:
        for t in targets:
            yield _check_collected(t, options)
        return
    # what a gallery's generators and files need, imported once here rather
    # than in every worker
    import numpy.random  # noqa: F401
    import zipfile  # noqa: F401

    methods = multiprocessing.get_all_start_methods()
    mp = multiprocessing.get_context("fork" if "fork" in methods else None)
    pool = mp.Pool(jobs, initializer=_worker_init, initargs=(os.getpid(),))
    try:
        yield from pool.imap(partial(_check_collected, options=options), targets)
        pool.close()
    finally:
        # also on ^C, SIGTERM (SystemExit) or a consumer that stops early:
        # no worker outlives the run
        pool.terminate()
        pool.join()


def _check_collected(t: Target, options: Options) -> FileReport:
    """check_target, then a collection when the cyclic GC is off (the CLI
    turns it off): one file's cycles never outlive that file."""
    try:
        return check_target(t, options)
    finally:
        if not gc.isenabled():
            gc.collect()


def _worker_init(parent: int) -> None:
    """A worker leaves ^C to the parent (which stops the pool), prints no
    library warnings, and dies with the parent, however the parent ends."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    warnings.simplefilter("ignore")
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # pragma: no cover - no libc prctl
            pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def exit_status(reports: Iterable[FileReport]) -> int:
    """0 when every file passed (or failed as declared), 3 when a check
    crashed (TG001, a tfgrad bug), else 1."""
    reports = list(reports)
    if any(p.code == "TG001" and not p.expected for r in reports for p in r.problems):
        return 3
    return 0 if all(r.passed for r in reports) else 1


# --------------------------------------------------------------------------
# Reports


@dataclass(frozen=True)
class Summary:
    files: int
    passed: int
    failed: int
    xfailed: int
    errors: int  # problems, not counting those an expected-problem comment declares
    notes: int

    def text(self) -> str:
        s = (
            f"{self.files} file{'s' if self.files != 1 else ''} checked: "
            f"{self.passed} passed, {self.failed} failed"
        )
        if self.xfailed:
            s += f", {self.xfailed} failed as expected"
        if self.notes:
            s += f"; {self.notes} note{'s' if self.notes != 1 else ''}"
        return s


def summarize(reports: Sequence[FileReport]) -> Summary:
    statuses = [r.status for r in reports]
    return Summary(
        files=len(reports),
        passed=statuses.count("passed"),
        failed=statuses.count("failed"),
        xfailed=statuses.count("xfailed"),
        errors=sum(
            1 for r in reports for p in r.problems if p.severity == "error" and not p.expected
        ),
        notes=sum(
            1 for r in reports for p in r.problems if p.severity == "note" and not p.expected
        ),
    )


def _shown(report: FileReport, verbose: bool, quiet: bool) -> list[Problem]:
    """The problems a report prints: expected ones only when verbose, notes
    unless quiet."""
    return [
        p
        for p in report.problems
        if (verbose or not p.expected) and (not quiet or p.severity == "error")
    ]


def _location(report: FileReport, p: Problem) -> str:
    src = p.source or report.path
    return f"{src}:{p.line}:{p.col}" if p.line is not None else src


# Text and GitHub reports escape control characters and undecodable bytes
# of what came from files (paths, messages quoting the file) as they are
# built, so that colour codes added around them stay the only escapes.


def format_text(
    reports: Sequence[FileReport], *, verbose: bool = False, quiet: bool = False, color: bool = False
) -> str:
    """``FILE:LINE:COL: CODE message`` per problem, one line each (a
    message's line breaks become spaces; ``CODE note: ...`` for a note), then
    a summary line; ``verbose`` adds every check's status."""

    def style(s: str, **kw: Any) -> str:
        return click.style(s, **kw) if color else s

    lines: list[str] = []
    for r in reports:
        if verbose:
            st = r.status
            shown = {"passed": "passed", "failed": "failed", "xfailed": "failed as expected"}[st]
            colour = {"passed": "green", "failed": "red", "xfailed": "yellow"}[st]
            lines.append(f"{style(printable(r.path), bold=True)}: {style(shown, fg=colour)}")
            for c in r.checks:
                detail = f" ({printable(c.detail)})" if c.detail else ""
                lines.append(f"  {printable(c.name)}: {c.status}{detail}")
        for p in _shown(r, verbose, quiet):
            code = style(p.code, fg="red" if p.severity == "error" else "cyan", bold=True)
            kind = " note:" if p.severity == "note" else ""
            tag = " (expected)" if p.expected else ""
            msg = printable(" ".join(part.strip() for part in p.message.splitlines()))
            lines.append(f"{style(printable(_location(r, p)), bold=True)}: {code}{kind} {msg}{tag}")
    s = summarize(reports)
    lines.append(style(s.text(), fg="green" if s.failed == 0 else "red", bold=True))
    return "\n".join(lines) + "\n"


def format_json(reports: Sequence[FileReport]) -> str:
    """One JSON object: ``{"files": [...], "summary": {...}}``, no timings,
    so that it is the same from run to run."""
    files = []
    for r in reports:
        files.append(
            {
                "path": decodable(r.path),
                "passed": r.passed,
                "status": r.status,
                "problems": [
                    {
                        "code": p.code,
                        "severity": p.severity,
                        "line": p.line,
                        "col": p.col,
                        "message": decodable(p.message),
                        **({"source": decodable(p.source)} if p.source else {}),
                        **({"expected": True} if p.expected else {}),
                    }
                    for p in r.problems
                ],
                "checks": [
                    {"name": c.name, "status": c.status, "detail": c.detail} for c in r.checks
                ],
            }
        )
    s = summarize(reports)
    obj = {"version": 1, "files": files, "summary": {**s.__dict__, "passed_all": s.failed == 0}}
    return json.dumps(obj, indent=2) + "\n"


def _gh_data(s: str) -> str:
    s = s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return printable(s)


def _gh_prop(s: str) -> str:
    return _gh_data(s).replace(":", "%3A").replace(",", "%2C")


def format_github(reports: Sequence[FileReport], *, quiet: bool = False) -> str:
    """GitHub Actions workflow commands, ``::error file=F,line=L,col=C,title=CODE::MSG``
    (``::notice`` for notes; none for expected problems), then the summary as
    a plain line."""
    lines = []
    for r in reports:
        for p in _shown(r, verbose=False, quiet=quiet):
            props = [f"file={_gh_prop(p.source or r.path)}"]
            if p.line is not None:
                props += [f"line={p.line}", f"col={p.col}"]
            props.append(f"title={_gh_prop(p.code)}")
            cmd = "error" if p.severity == "error" else "notice"
            lines.append(f"::{cmd} {','.join(props)}::{_gh_data(p.message)}")
    lines.append(summarize(reports).text())
    return "\n".join(lines) + "\n"


_XML_BAD = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(s: str) -> str:
    """Text XML 1.0 can hold (undecodable bytes of file names become \\xff
    escapes, control characters U+FFFD)."""
    return _XML_BAD.sub("\ufffd", decodable(s))


def format_junit(reports: Sequence[FileReport]) -> str:
    """JUnit XML: ``<testsuites>``, a ``<testsuite>`` per file, a
    ``<testcase>`` per check; a failed check has one ``<failure message
    type=CODE>`` (``<error>`` for TG001) with every problem in its text;
    skipped checks and expected failures are ``<skipped>``; notes go to the
    case's ``<system-out>``."""
    root = ET.Element("testsuites", name="tfgrad check")
    totals = dict(tests=0, failures=0, errors=0, skipped=0)
    total_time = 0.0
    for r in reports:
        suite = ET.SubElement(root, "testsuite", name=_xml(r.path))
        counts = dict(tests=0, failures=0, errors=0, skipped=0)
        classname = _xml(os.path.splitext(r.path)[0].replace("\\", "/").replace("/", "."))
        for c in r.checks:
            case = ET.SubElement(
                suite, "testcase", name=_xml(c.name), classname=classname, file=_xml(r.path),
                time=f"{c.time:.3f}",
            )
            counts["tests"] += 1
            lines = [f"{_location(r, p)}: {p.code} {p.message}" for p in c.problems]
            errors = [p for p in c.problems if p.severity == "error"]
            notes = [p for p in c.problems if p.severity == "note"]
            if c.status == "skipped":
                ET.SubElement(case, "skipped", message=_xml(c.detail))
                counts["skipped"] += 1
            elif errors and all(p.expected for p in errors):
                p = errors[0]
                ET.SubElement(
                    case, "skipped", message=_xml(f"expected failure: {p.code} {p.message}")
                )
                counts["skipped"] += 1
            elif errors:
                p = next(p for p in errors if not p.expected)
                tag = "error" if p.code == "TG001" else "failure"
                el = ET.SubElement(case, tag, message=_xml(f"{p.code} {p.message}"), type=p.code)
                el.text = _xml("\n".join(lines))
                counts["errors" if tag == "error" else "failures"] += 1
            if notes:
                out = ET.SubElement(case, "system-out")
                out.text = _xml("\n".join(f"{_location(r, p)}: {p.code} note: {p.message}" for p in notes))
        for k, v in counts.items():
            suite.set(k, str(v))
            totals[k] += v
        suite.set("time", f"{r.time:.3f}")
        total_time += r.time
    for k, v in totals.items():
        root.set(k, str(v))
    root.set("time", f"{total_time:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


FORMATS = ("text", "json", "github", "junit")


def render(
    reports: Sequence[FileReport],
    fmt: str,
    *,
    verbose: bool = False,
    quiet: bool = False,
    color: bool = False,
) -> str:
    if fmt == "text":
        return format_text(reports, verbose=verbose, quiet=quiet, color=color)
    if fmt == "json":
        return format_json(reports)
    if fmt == "github":
        return format_github(reports, quiet=quiet)
    if fmt == "junit":
        return format_junit(reports)
    raise ValueError(f"unknown format '{fmt}'")


def default_format(env: Mapping[str, str]) -> str:
    """``github`` inside GitHub Actions, else ``text``."""
    return "github" if env.get("GITHUB_ACTIONS") == "true" else "text"


def color_enabled(isatty: bool, env: Mapping[str, str]) -> bool:
    """NO_COLOR (set, non-empty) turns colour off, FORCE_COLOR (set,
    non-empty) on; else colour on a terminal only. NO_COLOR wins."""
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR"):
        return True
    return isatty


def code_table() -> str:
    """The problem codes as a Markdown table (for the README)."""
    rows = ["| code | severity | meaning |", "|---|---|---|"]
    rows += [f"| {c} | {sev} | {what} |" for c, (sev, what) in CODES.items()]
    return "\n".join(rows) + "\n"
