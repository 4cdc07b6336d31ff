"""The command line: ``tfgrad run``, ``explain``, ``check``, ``schema``.

Input: argv and graph files. Output: text on stdout/stderr and the exit
status — 0 success, 1 a check failed, 2 invalid input or command line, 3 an
internal error. This is the only module that prints or exits; heavy imports
(SymPy, NumPy) happen inside the commands that need them, so ``--help`` and
``--version`` stay instant.
"""

from __future__ import annotations

import functools
import gc
import io
import os
import signal
import sys
import threading
import warnings
from typing import TYPE_CHECKING, Any, Callable

import click

from . import __version__
from .termsafe import encodable, printable

if TYPE_CHECKING:
    from .graph import GraphError
    from .parse import Overrides
    from .engine import Derived

EXIT_INVALID = 2
EXIT_INTERNAL = 3


def read_source(path: str) -> tuple[str, str]:
    """(text, display name) of a graph file or ``-`` (stdin), reading no
    more than the size limit allows."""
    from .source import read_text

    return read_text(path), "<stdin>" if path == "-" else path


class OutputError(Exception):
    """Standard output (or the report file) cannot be written."""


def _to_devnull(stream) -> None:
    """Point a stream's file descriptor at /dev/null, so that what is still
    buffered (and anything printed later) goes nowhere instead of failing
    again when Python flushes it at exit."""
    try:
        fd = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(fd, stream.fileno())
        finally:
            os.close(fd)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        pass


def emit(text: str, *, nl: bool = True, err: bool = False, color: bool | None = None,
         json: bool = False) -> None:
    """Print ``text``, escaping control characters unless it is styled (then
    its parts were escaped when it was built). A closed pipe (``| head -1``)
    ends the output quietly; any other write failure is ``OutputError``."""
    if not color:
        text = printable(text, json=json)
    stream = sys.stderr if err else sys.stdout
    try:
        click.echo(text, nl=nl, err=err, color=color)
    except BrokenPipeError:
        _to_devnull(stream)
    except OSError as e:
        _to_devnull(stream)
        if err:
            return  # nowhere left to say it
        raise OutputError(e.strerror or str(e)) from None


def emit_json_bytes(data: bytes) -> None:
    """Print a JSON document built as ASCII bytes (render.run_json_bytes)
    and a newline, straight to standard output's binary buffer: such a
    document has no control character or escape sequence to escape or
    strip (json.dumps escapes them), so the checks emit makes over text,
    each a pass over tens of MB for a large gradient, are skipped. A
    document with anything else goes through emit. Pipe and write errors as
    in emit."""
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None or not data.isascii() or b"\x7f" in data or b"\x1b" in data:
        emit(data.decode("utf-8", "replace"), json=True)
        return
    try:
        sys.stdout.flush()
        buffer.write(data)
        buffer.write(b"\n")
        buffer.flush()
    except BrokenPipeError:
        _to_devnull(sys.stdout)
    except OSError as e:
        _to_devnull(sys.stdout)
        raise OutputError(e.strerror or str(e)) from None


def fail(err: "GraphError", filename: str) -> None:
    emit(err.format(filename), err=True)
    sys.exit(EXIT_INVALID)


def _names(values: tuple[str, ...]) -> tuple[str, ...] | None:
    """Repeated and/or comma-separated names (``--xs w1,w2 --xs b``)."""
    if not values:
        return None
    return tuple(n.strip() for v in values for n in v.split(",") if n.strip())


def data_options(f: Callable) -> Callable:
    """``--dtype`` and ``--allow-outside``, for every command that reads one
    graph file (and ``check``). Their values go to ``click``'s context, where
    ``make_overrides`` (or ``data_overrides``) picks them up, so that a
    command's own signature does not change."""

    @functools.wraps(f)
    def wrapper(*args, dtype: str | None = None, allow_outside: tuple[str, ...] = (), **kwargs):
        ctx = click.get_current_context(silent=True)
        if ctx is not None:
            ctx.meta["tfgrad.dtype"] = dtype
            ctx.meta["tfgrad.allow_outside"] = tuple(allow_outside)
        return f(*args, **kwargs)

    options = [
        click.option("--dtype", type=click.Choice(["float32", "float64"]), default=None,
                     help="Replace the file's dtype: the floating dtype of every value and of "
                          "the arithmetic (values with a dtype of their own keep it)."),
        click.option("--allow-outside", "allow_outside", multiple=True,
                     type=click.Path(file_okay=True, dir_okay=True), metavar="PATH",
                     help="Let {file: ...} values read below PATH, outside the graph file's "
                          "directory (repeatable)."),
    ]
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper


def data_overrides() -> dict:
    """``--dtype``/``--allow-outside`` of the running command as ``Overrides``
    fields (only those the parser has)."""
    from dataclasses import fields

    from .parse import Overrides

    ctx = click.get_current_context(silent=True)
    meta = ctx.meta if ctx is not None else {}
    have = {f.name for f in fields(Overrides)}
    out: dict = {}
    if meta.get("tfgrad.dtype") is not None:
        out["dtype"] = meta["tfgrad.dtype"]
    allow = meta.get("tfgrad.allow_outside") or ()
    if allow:
        if "allow_outside" not in have:
            raise click.BadParameter("this version cannot read {file: ...} values",
                                     param_hint="--allow-outside")
        out["allow_outside"] = tuple(os.path.abspath(p) for p in allow)
    return out


def override_options(f: Callable, hidden: tuple[str, ...] = ()) -> Callable:
    """The quick-experiment flags shared by ``run`` and ``explain`` (and the
    data flags of ``data_options``). ``hidden``: flags (``stop``,
    ``unconnected``, ``xs``) that a command accepts only to refuse them with
    a reason (``refuse_unused``), left out of its --help."""
    options = [
        click.option("--set", "set_", multiple=True, metavar="NAME=VALUE",
                     help="Replace a variable's or constant's value (VALUE is YAML, e.g. '[[1, 2]]')."),
        click.option("--ys", multiple=True, metavar="NAMES", help="Replace ys (comma-separated names)."),
        click.option("--xs", multiple=True, metavar="NAMES", help="Replace xs (comma-separated names).",
                     hidden="xs" in hidden),
        click.option("--stop", multiple=True, metavar="NAMES",
                     help="Replace stop_gradients (comma-separated names).", hidden="stop" in hidden),
        click.option("--unconnected", type=click.Choice(["none", "zero"]), default=None,
                     help="Replace unconnected_gradients.", hidden="unconnected" in hidden),
    ]
    f = data_options(f)
    for option in reversed(options):
        f = option(f)
    return f


def make_overrides(set_: tuple[str, ...], ys, xs, stop, unconnected,
                   unused: tuple[str, ...] = ()) -> "Overrides":
    from .parse import Overrides

    pairs = []
    for item in set_:
        name, eq, value = item.partition("=")
        if not eq or not name.strip():
            raise click.BadParameter(f"expected NAME=VALUE, got {item!r}", param_hint="--set")
        pairs.append((name.strip(), value))
    return Overrides(set=tuple(pairs), ys=_names(ys), xs=_names(xs), stop=_names(stop),
                     unconnected=unconnected, **data_overrides(), **({"unused": unused} if unused else {}))


def load_derived(path: str, overrides: "Overrides | None") -> tuple["Derived", str]:
    """Parse a file and derive its gradients with the rank-N engine, or
    print its error and exit 2."""
    from .graph import GraphError

    name = "<stdin>" if path == "-" else path
    ctx = click.get_current_context(silent=True)
    try:
        text, name = read_source(path)
        if ctx is not None:
            ctx.meta[FILE_KEY] = name  # for errors found later, while evaluating  # before the heavy imports: a bad file fails fast
        from .engine import derive
        from .parse import parse_graph

        return derive(parse_graph(text, name, overrides)), name
    except GraphError as e:
        fail(e, name)
        raise AssertionError("unreachable")


FILE_KEY = "tfgrad.file"  # click context meta: the file a command is working on
EXIT_INTERRUPTED = 128 + signal.SIGINT
EXIT_TERMINATED = 128 + signal.SIGTERM


def _terminated(signum, frame) -> None:
    raise SystemExit(EXIT_TERMINATED)


def _survive_any_encoding() -> None:
    """Characters the output encoding lacks become escapes, never an error."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, io.UnsupportedOperation):
                pass


class Group(click.Group):
    """Runs a command with library warnings silenced, output that survives
    any encoding, exit 130 on ^C and 143 on SIGTERM (after cleaning up);
    turns an unexpected exception into one line and exit 3, not a
    traceback, and a write failure into exit 2."""

    def invoke(self, ctx: click.Context):
        _survive_any_encoding()
        in_main_thread = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, _terminated) if in_main_thread else None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # no library warning ever reaches the user
                return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            emit("tfgrad: interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except OutputError as e:
            emit(f"tfgrad: error: cannot write output: {e}", err=True)
            sys.exit(EXIT_INVALID)
        except RecursionError:
            emit("tfgrad: error: the graph is nested too deeply to process", err=True)
            sys.exit(EXIT_INVALID)
        except Exception as e:  # noqa: BLE001 - the last line of defence
            from .graph import GraphError

            if isinstance(e, GraphError):  # found while evaluating: a kernel's run-time check
                fail(e, ctx.meta.get(FILE_KEY, "<input>"))
            if os.environ.get("TFGRAD_DEBUG"):
                raise
            emit(f"tfgrad: internal error: {type(e).__name__}: {e} "
                 "(set TFGRAD_DEBUG=1 for the traceback, and please report it)", err=True)
            sys.exit(EXIT_INTERNAL)
        finally:
            if in_main_thread:
                signal.signal(signal.SIGTERM, previous)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="tfgrad")
def cli() -> None:
    """TensorFlow-exact gradients of YAML graph files.

    tfgrad computes what tf.gradients(ys, xs, grad_ys, stop_gradients)
    returns for the graph a file describes, derived symbolically with SymPy
    and evaluated with NumPy.
    """


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output format.")
@click.option("--precision", type=click.IntRange(1, 17), default=None,
              help="Significant digits of non-integer numbers (default: shortest exact).")
@click.option("--full", is_flag=True,
              help="Print every value of large tensors (text shows the corners of those "
                   "over 1,000 elements).")
@click.option("--save-npz", "save_npz", type=click.Path(dir_okay=False), default=None,
              metavar="OUT.npz",
              help="Also write every gradient (and every outputs value) to a NumPy .npz file.")
@override_options
def run(file: str, fmt: str, precision: int | None, full: bool, save_npz: str | None, set_, ys,
        xs, stop, unconnected) -> None:
    """Print the gradient of the ys with respect to each x (FILE may be -)."""
    d, _ = load_derived(file, make_overrides(set_, ys, xs, stop, unconnected))
    from .engine import compute
    from .render import run_json_bytes, run_text

    r = compute(d)
    names = [x.name for x in d.graph.xs]
    shapes = [d.shape(n) for n in names]
    if save_npz is not None:
        from .npz import save_results

        try:
            save_results(save_npz, d, r)
        except OSError as e:
            emit(f"tfgrad: error: cannot write {save_npz}: {e.strerror or e}", err=True)
            sys.exit(EXIT_INVALID)
    outputs = None
    if getattr(d.graph, "outputs", ()):  # format 2's outputs: named nodes' values
        from .higher import output_values

        outputs = output_values(d)
    if fmt == "json":
        extra = {}
        if outputs is not None:
            from .render import outputs_json

            extra["outputs"] = outputs_json(outputs, precision)
        emit_json_bytes(run_json_bytes(names, shapes, r.gradients, r.integral, precision, **extra))
    else:
        text = run_text(names, shapes, r.gradients, r.integral, precision, full)
        if outputs is not None:
            from .render import outputs_text

            text += "\n" + outputs_text(outputs, precision, full)
        emit(text)


# What hessian, jacobian and jvp compute takes fewer arguments than
# tf.gradients: (the TF call, the file's keys it does not use, the flags
# that would replace them, and why each flag has no meaning there).
# tape.jacobian and ForwardAccumulator.jvp take unconnected_gradients;
# tf.hessians does not; none takes grad_ys or stop_gradients.
_HIGHER = {
    "hessian": ("tf.hessians(ys, xs)", ("grad_ys", "stop_gradients", "unconnected_gradients"), {
        "stop": "tf.hessians takes no stop_gradients (tfgrad run --stop gives partial derivatives)",
        "unconnected": "tf.hessians takes no unconnected_gradients (a None second derivative is an error)",
    }),
    "jacobian": ("tape.jacobian(y, x)", ("grad_ys", "stop_gradients"), {
        "stop": "tape.jacobian takes no stop_gradients (tfgrad run --stop gives partial derivatives)",
    }),
    "jvp": ("ForwardAccumulator(primals, tangents).jvp(y)", ("grad_ys", "stop_gradients"), {
        "stop": "ForwardAccumulator takes no stop_gradients",
        "xs": "its directions are the --tangent values (ForwardAccumulator takes primals and "
              "tangents, not xs)",
    }),
}


def refuse_unused(command: str, **given) -> None:
    """A usage error (exit 2) for a flag ``command`` has no use for."""
    for flag, reason in _HIGHER[command][2].items():
        if given.get(flag):
            raise click.UsageError(f"--{flag} has no meaning for {command}: {reason}")


def note_unused(command: str, d: "Derived") -> None:
    """Say on stderr which of the file's keys ``command`` did not use."""
    keys = getattr(d.graph, "unused", ())
    if keys:
        call, _, _ = _HIGHER[command]
        shown = f"{', '.join(keys[:-1])} and {keys[-1]}" if len(keys) > 1 else keys[0]
        emit(f"tfgrad: note: {command} computes {call}, which does not use the file's {shown}", err=True)


def _higher_options(f: Callable) -> Callable:
    f = override_options(f, tuple(_HIGHER[f.__name__.removesuffix("_command")][2]))
    f = click.option("--full", is_flag=True, help="Print every value of large tensors.")(f)
    f = click.option("--precision", type=click.IntRange(1, 17), default=None,
                     help="Significant digits of non-integer numbers (default: shortest exact).")(f)
    f = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
                     show_default=True, help="Output format.")(f)
    return click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))(f)


def _listing(labels: list[str], values: list, low, precision: int | None, full: bool) -> str:
    from .higher import _whole
    from .render import run_text

    shapes = [() if v is None else v.shape for v in values]
    return run_text(labels, shapes, values, [_whole(low, v) for v in values], precision, full)


def _nested(v, low, precision: int | None):
    from .higher import _whole
    from .render import to_nested

    return None if v is None else to_nested(v, _whole(low, v), precision)


@cli.command("hessian")
@click.option("--explain", "explain_", is_flag=True,
              help="Explain it instead: each Hessian as a formula (as `tfgrad explain --hessian`).")
@_higher_options
def hessian_command(file: str, explain_: bool, fmt: str, precision: int | None, full: bool, set_,
                    ys, xs, stop, unconnected) -> None:
    """Print tf.hessians(ys, xs): the Hessian of sum(ys) for each x, of shape
    x.shape + x.shape (FILE may be -).

    tf.hessians takes no grad_ys, stop_gradients or unconnected_gradients:
    the file's are not used (a note says so), and --stop and --unconnected
    are refused."""
    import json

    from .graph import GraphError
    from .higher import hessian_values

    refuse_unused("hessian", stop=stop, unconnected=unconnected)
    d, name = load_derived(file, make_overrides(set_, ys, xs, stop, unconnected, _HIGHER["hessian"][1]))
    note_unused("hessian", d)
    if explain_:
        from .explain import explain_hessian, render_json, render_text

        try:
            ex = explain_hessian(d)
        except GraphError as e:
            fail(e, name)
        if fmt == "json":
            emit(render_json(ex), json=True)
        else:  # the terminal's encoding lacks the symbols: the file's own ASCII syntax
            emit(render_text(ex, not encodable("∂ᵀ·∘⊘𝟙", getattr(sys.stdout, "encoding", None))),
                 nl=False)
        return
    try:
        names, values = hessian_values(d)
    except GraphError as e:
        fail(e, name)
    low = d.lowered
    if fmt == "json":
        emit(json.dumps({"xs": names, "hessians": [_nested(v, low, precision) for v in values],
                         "shapes": [list(v.shape) for v in values]}, allow_nan=False), json=True)
    else:
        emit(_listing(names, values, low, precision, full))


@cli.command("jacobian")
@click.option("--batch", is_flag=True,
              help="tape.batch_jacobian: per batch row (the first axis of each y and x).")
@_higher_options
def jacobian_command(file: str, batch: bool, fmt: str, precision: int | None, full: bool, set_,
                     ys, xs, stop, unconnected) -> None:
    """Print tape.jacobian(y, x) (or batch_jacobian) for each y and x (FILE may be -).

    The file's unconnected_gradients (or --unconnected) is tape.jacobian's;
    it takes no grad_ys or stop_gradients: the file's are not used (a note
    says so), and --stop is refused."""
    import json

    from .graph import GraphError
    from .higher import jacobian_values

    refuse_unused("jacobian", stop=stop)
    d, name = load_derived(file, make_overrides(set_, ys, xs, stop, unconnected, _HIGHER["jacobian"][1]))
    note_unused("jacobian", d)
    try:
        ynames, xnames, table = jacobian_values(d, batch)
    except GraphError as e:
        fail(e, name)
    low = d.lowered
    key = "batch_jacobians" if batch else "jacobians"
    if fmt == "json":
        emit(json.dumps({"ys": ynames, "xs": xnames,
                         key: [[_nested(v, low, precision) for v in row] for row in table]},
                        allow_nan=False), json=True)
    else:
        fn = "batch_jacobian" if batch else "jacobian"
        labels = [f"{fn}({y}, {x})" for y in ynames for x in xnames]
        emit(_listing(labels, [v for row in table for v in row], low, precision, full))


def _tangents(d, items: tuple[str, ...]) -> dict:
    """``--tangent NAME=VALUE`` (VALUE in YAML) as {leaf name: array of its shape}."""
    import numpy as np
    import yaml

    low = d.lowered
    out = {}
    leaves = [n for n, g in d.graph.nodes.items() if g.kind in ("variable", "constant")]

    def number(v):
        if isinstance(v, list):
            return [number(e) for e in v]
        if isinstance(v, bool) or v is None:
            raise ValueError(v)
        return float(v)

    for item in items:
        leaf, eq, text = item.partition("=")
        leaf = leaf.strip()
        if not eq or not leaf:
            raise click.BadParameter(f"expected NAME=VALUE, got {item!r}", param_hint="--tangent")
        if leaf not in leaves:
            raise click.BadParameter(f"{leaf!r} is not a variable or constant of the file "
                                     f"({', '.join(leaves) or 'none'})", param_hint="--tangent")
        try:
            value = np.array(number(yaml.safe_load(text)), dtype=np.float64)
        except (ValueError, TypeError, yaml.YAMLError):
            raise click.BadParameter(f"{leaf}: {text!r} is not a number or a list of numbers",
                                     param_hint="--tangent") from None
        shape = tuple(low.nodes[leaf].shape)
        if value.shape != shape:
            try:
                value = np.broadcast_to(value, shape).copy() if value.ndim == 0 else value
            except ValueError:
                pass
            if value.shape != shape:
                raise click.BadParameter(f"{leaf} has shape {shape} but its tangent has shape "
                                         f"{value.shape}", param_hint="--tangent")
        out[leaf] = value
    return out


@cli.command("jvp")
@click.option("--tangent", "tangent", multiple=True, required=True, metavar="NAME=VALUE",
              help="The tangent of a variable or constant (VALUE is YAML; repeatable; "
                   "leaves without one have tangent zero).")
@_higher_options
def jvp_command(file: str, tangent: tuple[str, ...], fmt: str, precision: int | None, full: bool,
                set_, ys, xs, stop, unconnected) -> None:
    """Print the forward-mode directional derivative of each y
    (tf.autodiff.ForwardAccumulator's jvp) along the given tangents (FILE may be -).

    The file's unconnected_gradients (or --unconnected) is jvp's (zero: a y
    no tangent reaches gets zeros, not None). The directions are the
    tangents, so the file's xs are not used and --xs is refused; nor are its
    grad_ys or stop_gradients (a note says so; --stop is refused)."""
    import json

    from .higher import jvp_values

    refuse_unused("jvp", stop=stop, xs=xs)
    d, _ = load_derived(file, make_overrides(set_, ys, xs, stop, unconnected, _HIGHER["jvp"][1]))
    note_unused("jvp", d)
    names, values = jvp_values(d, _tangents(d, tangent))
    low = d.lowered
    if fmt == "json":
        emit(json.dumps({"ys": names, "jvp": [_nested(v, low, precision) for v in values],
                         "tangents": list(dict.fromkeys(t.partition("=")[0].strip() for t in tangent))},
                        allow_nan=False), json=True)
    else:
        emit(_listing(names, values, low, precision, full))


def main() -> None:
    # The cyclic GC stays off for the whole run: the engine builds tens of
    # thousands of small objects (expression nodes, plan steps) and few
    # cycles, and each generation-0 pass over them costs more than it frees
    # (derive -20% to -40% on chain-10000, measured). ``check`` collects
    # between files (check.check_target), so a long run does not grow.
    gc.disable()
    status: Any = 0
    try:
        cli(prog_name="tfgrad")
    except SystemExit as e:  # click ends every command with one
        status = e.code
    finally:
        try:  # what is still buffered: a failure here is a failure to write
            sys.stdout.flush()
        except BrokenPipeError:
            _to_devnull(sys.stdout)
        except OSError as e:
            _to_devnull(sys.stdout)
            emit(f"tfgrad: error: cannot write output: {e.strerror or e}", err=True)
            status = EXIT_INVALID
    _fast_exit(status)


def _fast_exit(status: Any) -> None:
    """End the process with ``status`` (a ``SystemExit`` code) without the
    interpreter's teardown: tearing down SymPy's modules and the run's
    objects one by one costs 0.1-0.3 s, more than the tutorial's whole
    derive and evaluate, and frees nothing the kernel would not. Nothing is
    left to flush or close: standard output was flushed above, files are
    written and closed by ``atomic.write_atomic``, and tfgrad registers no
    ``atexit`` handler (one registered by a library would be skipped, so
    this is done only when none is)."""
    if status is None:
        code = 0
    elif isinstance(status, int):
        code = status
    else:  # sys.exit("message"): Python prints it and exits 1
        emit(str(status), err=True)
        code = 1
    try:
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    if _atexit_handlers():
        sys.exit(code)
    os._exit(code & 0xFF)  # what the OS keeps of any status, as after sys.exit


def _atexit_handlers() -> int:
    import atexit

    return atexit._ncallbacks()


# ---------------------------------------------------------------------------
# tfgrad check / tfgrad schema (check.py and schema.py do the work; this
# block only parses flags, shows progress, prints and exits).

PROGRESS_MIN_FILES = 5


def _code_prefixes(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]):
    from .check import parse_code_prefixes

    try:
        return parse_code_prefixes(values)
    except ValueError as e:
        raise click.BadParameter(str(e), ctx=ctx, param=param) from None


@cli.command("check")
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(exists=True, allow_dash=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github", "junit"]),
              default=None,
              help="Report format [default: github when GITHUB_ACTIONS=true, else text].")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the report to this file (atomically) instead of stdout.")
@click.option("--exclude", multiple=True, metavar="GLOB",
              help="Skip files and directories whose path relative to the directory given, "
                   "or whose base name, matches GLOB (repeatable).")
@click.option("--select", multiple=True, metavar="CODES", callback=_code_prefixes,
              help="Report only these codes or prefixes (TG3 = TG3xx; comma-separated, repeatable).")
@click.option("--ignore", multiple=True, metavar="CODES", callback=_code_prefixes,
              help="Never report these codes or prefixes.")
@click.option("--require-expect", is_flag=True,
              help="Fail (TG303) for an x that has no entry in expect.")
@click.option("--no-gradcheck", is_flag=True, help="Skip the finite-difference check.")
@click.option("--fd-step", type=click.FloatRange(min=0, min_open=True), default=1e-6,
              show_default=True, help="Finite-difference step, scaled by max(1, |x|).")
@click.option("--fd-rtol", type=click.FloatRange(min=0), default=1e-5, show_default=True,
              help="Relative tolerance of the finite-difference check (the file's, if looser).")
@click.option("--fd-atol", type=click.FloatRange(min=0), default=1e-7, show_default=True,
              help="Absolute tolerance of the finite-difference check (the file's, if looser).")
@click.option("--fd-max-elements", type=click.IntRange(min=0), default=64, show_default=True,
              help="Check at most N elements of each x, spread evenly (0: all).")
@click.option("-j", "--jobs", type=click.IntRange(min=0), default=1, show_default=True,
              help="Check files in N processes (0: one per CPU); the output is the same.")
@click.option("-q", "--quiet", is_flag=True, help="Print only errors and the summary.")
@click.option("-v", "--verbose", is_flag=True, help="Print every check, passed ones too.")
@click.option("--stdin-filename", default="<stdin>", show_default=True, metavar="NAME",
              help="The name reported for -.")
@click.option("--no-expected-problems", is_flag=True,
              help="Ignore '# tfgrad: expected-problem' comments: every problem fails.")
@data_options
@click.pass_context
def check_command(ctx: click.Context, paths, fmt, output, exclude, select, ignore,
                  require_expect, no_gradcheck, fd_step, fd_rtol, fd_atol, fd_max_elements,
                  jobs, quiet, verbose, stdin_filename, no_expected_problems) -> None:
    """Validate graph files, compare their expect blocks and check every
    gradient against central finite differences.

    PATHS are files, directories (searched recursively for *.yaml and *.yml,
    hidden ones skipped) or - for standard input. Each problem is reported
    as FILE:LINE:COL: CODE message. Exit status: 0 all passed, 1 a check
    failed, 2 a usage error, 3 an internal error (TG001).
    """
    from . import check
    from .source import read_stdin_bytes

    if quiet and verbose:
        raise click.UsageError("--quiet and --verbose exclude each other")
    try:
        targets = check.collect_targets(paths, exclude, read_stdin=read_stdin_bytes,
                                        stdin_name=stdin_filename)
    except check.PathError as e:
        raise click.UsageError(printable(str(e))) from None
    if not targets:
        raise click.UsageError(
            printable(f"no graph files to check in {', '.join(repr(p) for p in paths)}"))
    options = check.Options(
        gradcheck=not no_gradcheck, fd_step=fd_step, fd_rtol=fd_rtol, fd_atol=fd_atol,
        fd_max_elements=fd_max_elements, require_expect=require_expect, select=select,
        ignore=ignore, directives=not no_expected_problems, **data_overrides(),
    )
    if fmt is None:
        fmt = check.default_format(os.environ) if output is None else "text"
    reports = []
    results = check.run_checks(targets, options, jobs, freeze=True)  # the process ends after it
    if sys.stderr.isatty() and len(targets) >= PROGRESS_MIN_FILES:
        with click.progressbar(results, length=len(targets), label="checking",
                               file=sys.stderr) as bar:
            reports = list(bar)
    else:
        reports = list(results)
    color = fmt == "text" and output is None and check.color_enabled(
        sys.stdout.isatty(), os.environ)
    text = check.render(reports, fmt, verbose=verbose, quiet=quiet, color=color)
    if output is None:
        emit(text, nl=False, color=color, json=fmt == "json")
    else:
        try:
            write_report(output, printable(text, json=fmt == "json"))
        except OSError as e:
            emit(f"tfgrad: error: cannot write {output}: {e.strerror or e}", err=True)
            ctx.exit(EXIT_INVALID)
    ctx.exit(check.exit_status(reports))


def write_report(path: str, text: str) -> None:
    """``check -o``: a regular file (or a new one) is replaced atomically;
    anything else (/dev/null, /dev/full, a FIFO, a terminal) is written
    directly, never replaced by a regular file (``atomic.write_atomic``)."""
    from .atomic import write_atomic

    data = text.encode("utf-8")
    write_atomic(path, lambda f: f.write(data))


@cli.command("schema")
def schema_command() -> None:
    """Print the JSON Schema (draft 2020-12) of graph files.

    For completion and validation in editors with the YAML language server,
    save it and start a graph file with
    '# yaml-language-server: $schema=PATH/OR/URL/schema.json'.
    """
    from .schema import schema_text

    emit(schema_text(), nl=False, json=True)


# ---------------------------------------------------------------------------
# tfgrad explain (explain.py builds, display/ prints; this block parses flags,
# prints and exits).


@cli.command("explain")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--x", "only", multiple=True, metavar="NAME",
              help="Explain only this x (repeatable; comma-separated names allowed).")
@click.option("--steps", is_flag=True,
              help="Also show the backward pass op by op: rule, gradient arriving, what flows "
                   "to each input, broadcasting summed back, stops, unconnected xs.")
@click.option("--elementwise/--no-elementwise", default=None,
              help="Show each gradient element as a scalar formula [default: on when every "
                   "tensor has at most 16 elements].")
@click.option("--format", "fmt", type=click.Choice(["text", "latex", "json"]), default="text",
              show_default=True, help="Output format (latex: a fragment needing amsmath).")
@click.option("--ascii", "ascii_", is_flag=True,
              help="ASCII text (the graph file's own operators: @ * .T) instead of Unicode.")
@click.option("--hessian", is_flag=True,
              help="Explain tf.hessians(ys, xs) instead: each x's Hessian of L = Σ ys as a "
                   "formula (2·Xᵀ·X), with --steps the second sweep.")
@override_options
def explain_command(file: str, only, steps: bool, elementwise: bool | None, fmt: str,
                    ascii_: bool, hessian: bool, set_, ys, xs, stop, unconnected) -> None:
    """Show why each gradient is what it is: the symbolic gradient as the
    reverse sweep built it (seeds g1, g2..., inline literals c1, c2...,
    shared pieces t1, t2...), its value, and optionally each element as a
    scalar formula and the backward pass op by op (FILE may be -)."""
    from .graph import GraphError, did_you_mean

    overrides = make_overrides(set_, ys, xs, stop, unconnected)
    name = "<stdin>" if file == "-" else file
    try:
        text, name = read_source(file)
        from .engine import compute, derive
        from .parse import parse_graph

        d = derive(parse_graph(text, name, overrides), record_steps=True)
        names = [x.name for x in d.graph.xs]
        wanted = _names(only)
        for w in wanted or ():
            if w not in names:
                raise click.BadParameter(
                    f"'{w}' is not one of the xs ({', '.join(names)}){did_you_mean(w, names)}",
                    param_hint="--x")
        if hessian:
            from .explain import explain_hessian

            ex = explain_hessian(d, list(wanted) if wanted else None, steps)
        else:
            r = compute(d)
    except GraphError as e:
        fail(e, name)
        raise AssertionError("unreachable")
    from .explain import explain, render_json, render_latex, render_text

    if not hessian:
        ex = explain(d, r, list(wanted) if wanted else None, steps, elementwise)
    if fmt == "text" and not ascii_ and not encodable("∂ᵀ·∘⊘𝟙", getattr(sys.stdout, "encoding", None)):
        ascii_ = True  # the terminal's encoding lacks the symbols: the file's own ASCII syntax
    if fmt == "json":
        emit(render_json(ex, ascii_), json=True)
    elif fmt == "latex":
        emit(render_latex(ex), nl=False)
    else:
        emit(render_text(ex, ascii_), nl=False)
