#!/usr/bin/env python3
"""Compute TensorFlow's answers for tfgrad graph files (the TF oracle).

Run by hand, under a separate virtual environment that has TensorFlow
(TensorFlow is never a dependency of tfgrad, and CI never installs it):

    /work/tfvenv/bin/python tests/tfref/make_refs.py [--dtypes float64,float32]
                                                     [--out-dir DIR] [PATHS...]

Each PATH is a graph file or a directory (searched recursively for
``*.yaml``); with no PATH, every ``*.yaml`` under ``tests/tfref/graphs/``.
Files named ``*.tfref.yaml`` are sidecars, never graphs. For each graph file
``NAME.yaml`` this writes ``NAME.tf.json`` beside it (or into ``--out-dir``):

    {"tf_version": "2.x.y",
     "results": {"float64": {"xs": [...], "gradients": [value or null, ...],
                             "outputs": {name: value}},
                 "float32": {...}}}

The graph is built in TensorFlow graph mode (a ``tf.Graph`` run by a
``tf.compat.v1.Session``) and differentiated with ``tf.gradients``, whose
semantics are tfgrad's contract (/work/shared/graph-format.md). Values are
nested lists; non-finite numbers are the strings "nan", "inf" and "-inf";
-0.0 stays -0.0. If TensorFlow raises for a dtype, that dtype's entry is
``{"error": MESSAGE, "error_type": CLASS}``.

A sidecar ``NAME.tfref.yaml`` beside the graph may request more:
``hessians: true`` (tf.hessians(ys, xs), a list per x), ``jacobian: true``
(tape.jacobian(y, x): a list per y of a list per x), ``batch_jacobian: true``
(the same with tape.batch_jacobian) and ``jvp: {tangents: {NAME: VALUE}}``
(tf.autodiff.ForwardAccumulator's jvp of each y; NAME must be a variable or
constant). They are written under the keys ``hessians``, ``jacobians``,
``batch_jacobians`` and ``jvp`` of each dtype's result.

Expressions are parsed with Python's ``ast`` and interpreted node by node;
nothing in a graph file is ever evaluated as code.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import inspect
import json
import math
import os
import re
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import yaml  # noqa: E402

import tensorflow as tf  # noqa: E402

tf.get_logger().setLevel("ERROR")

HERE = Path(__file__).resolve().parent
DEFAULT_DIR = HERE / "graphs"
DTYPES = ("float64", "float32")
TF_DTYPES = {
    "float32": tf.float32,
    "float64": tf.float64,
    "int32": tf.int32,
    "int64": tf.int64,
    "bool": tf.bool,
}
SIDECAR_SUFFIX = ".tfref.yaml"


class SpecError(Exception):
    """The graph file cannot be interpreted (a problem of the file or of this
    script, not an answer of TensorFlow)."""


# ---------------------------------------------------------------------------
# YAML: PyYAML's YAML 1.1 resolver reads 1e-7 (no dot) and 2.0e20 (no sign
# in the exponent) as strings; YAML 1.2 and tfgrad read them as floats.


class _Loader(yaml.SafeLoader):
    pass


_FLOAT_RE = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)
_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:float"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_RE, list("-+0123456789."))


def load_yaml(path: Path):
    with open(path, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=_Loader)


# ---------------------------------------------------------------------------
# Values


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def literal_array(v, dtype: str) -> np.ndarray:
    """A YAML literal (number or nested lists) as a NumPy array of dtype."""
    try:
        arr = np.array(v, dtype=object)
    except ValueError as e:  # ragged
        raise SpecError(f"ragged value {v!r}") from e
    if arr.dtype == object:
        flat = arr.reshape(-1)
        if dtype == "bool":
            if not all(isinstance(x, bool) for x in flat):
                raise SpecError(f"bool value with non-booleans: {v!r}")
        elif not all(_is_number(x) for x in flat):
            raise SpecError(f"not a numeric literal: {v!r}")
    return np.array(v, dtype=np.dtype(dtype))


def value_dtype_of(spec) -> str | None:
    """The explicit dtype of a variable/constant spec, if any."""
    if isinstance(spec, dict) and "dtype" in spec:
        return spec["dtype"]
    return None


def make_value(spec, run_dtype: str, base: Path) -> np.ndarray:
    """Evaluate a variable/constant spec (format 1 or 2) to a NumPy array."""
    if not isinstance(spec, dict):
        return literal_array(spec, run_dtype)
    dtype = spec.get("dtype", run_dtype)
    if dtype not in TF_DTYPES:
        raise SpecError(f"unknown dtype {dtype!r}")
    keys = set(spec) - {"dtype"}
    if keys == {"value"}:
        return literal_array(spec["value"], dtype)
    if keys == {"fill", "shape"}:
        return np.full(tuple(spec["shape"]), spec["fill"], dtype=dtype)
    if keys == {"zeros"}:
        return np.zeros(_shape(spec["zeros"]), dtype=dtype)
    if keys == {"ones"}:
        return np.ones(_shape(spec["ones"]), dtype=dtype)
    if keys == {"eye"}:
        return np.eye(int(spec["eye"]), dtype=dtype)
    if keys == {"range"}:
        r = spec["range"]
        r = r if isinstance(r, list) else [r]
        return np.arange(*r).astype(dtype)
    if keys == {"linspace"}:
        a, b, n = spec["linspace"]
        return np.linspace(a, b, int(n)).astype(dtype)
    if keys == {"random", "shape", "seed"} or keys == {"random", "shape"}:
        rng = np.random.default_rng(spec.get("seed"))
        shape = _shape(spec["shape"])
        if spec["random"] == "normal":
            return rng.standard_normal(shape).astype(dtype)
        if spec["random"] == "uniform":
            return rng.uniform(0, 1, shape).astype(dtype)
        raise SpecError(f"unknown random distribution {spec['random']!r}")
    if keys in ({"file"}, {"file", "key"}):
        path = (base / spec["file"]).resolve()
        suffix = path.suffix.lower()
        if suffix == ".npy":
            arr = np.load(path, allow_pickle=False)
        elif suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                arr = z[spec["key"]]
        elif suffix in (".csv", ".txt"):
            arr = np.loadtxt(path, delimiter="," if suffix == ".csv" else None, ndmin=1)
        else:
            raise SpecError(f"unsupported file type {path.name}")
        return np.asarray(arr).astype(dtype)
    raise SpecError(f"unknown value mapping {sorted(spec)}")


def _shape(s):
    if isinstance(s, int):
        return (s,)
    return tuple(int(d) for d in s)


# ---------------------------------------------------------------------------
# Op interpretation

# Parameters whose literal values are passed to TF as plain Python values
# (shapes, axes, indices, flags, strings); every other parameter is a tensor
# parameter, whose numeric literals become constants of the graph's dtype.
PLAIN_PARAMS = {
    "axis", "axes", "keepdims", "perm", "shape", "multiples", "num",
    "num_or_size_splits", "begin", "size", "paddings", "strides", "stride",
    "ksize", "dilations", "padding", "data_format", "mode", "ord", "epsilon",
    "exclusive", "reverse", "alpha", "approximate", "dtype", "batch_dims",
    "equation", "transpose_a", "transpose_b", "adjoint_a", "adjoint_b",
    "adjoint", "a_is_sparse", "b_is_sparse", "output_type", "name",
    "indices", "depth", "on_value", "off_value", "constant_values",
    "variance_epsilon", "validate_indices", "k", "padding_value", "align",
    "conjugate", "beta", "shift", "grad_a", "grad_b",
}
PLAIN_PARAMS_BY_FN = {"sparse_softmax_cross_entropy_with_logits": {"labels"}}
MODULES = (("tf", tf), ("tf.math", tf.math), ("tf.nn", tf.nn), ("tf.linalg", tf.linalg))
SPECIAL_OPS = {"gradients", "hessians", "jacobian", "batch_jacobian", "add_n"}
BINOPS = {
    ast.Add: tf.add, ast.Sub: tf.subtract, ast.Mult: tf.multiply,
    ast.Div: tf.divide, ast.Pow: tf.pow, ast.MatMult: tf.matmul,
    ast.BitAnd: tf.logical_and, ast.BitOr: tf.logical_or,
}
CMPOPS = {
    ast.Lt: tf.less, ast.LtE: tf.less_equal, ast.Gt: tf.greater,
    ast.GtE: tf.greater_equal, ast.Eq: tf.equal, ast.NotEq: tf.not_equal,
}
KEYWORD_NAMES = {"true": True, "false": False, "null": None, "True": True,
                 "False": False, "None": None, "inf": np.inf}


def find_tf_function(name: str):
    for _, mod in MODULES:
        f = getattr(mod, name, None)
        if f is not None and callable(f):
            return f
    raise SpecError(f"unknown op {name!r} (not in tf, tf.math, tf.nn, tf.linalg)")


class Literal:
    """A numeric (or boolean) literal whose dtype is decided by its use."""

    def __init__(self, value):
        self.value = value

    def __repr__(self):
        return f"Literal({self.value!r})"


def _literal_is_bool(v) -> bool:
    if isinstance(v, list):
        return bool(v) and all(_literal_is_bool(x) for x in v)
    return isinstance(v, bool)


def _to_plain(v):
    """Convert an interpreted value to a plain Python value (for attributes)."""
    if isinstance(v, Literal):
        return v.value
    if isinstance(v, list):
        return [_to_plain(x) for x in v]
    return v


class Builder:
    """Builds one graph file's nodes as TF tensors, in the current tf.Graph."""

    def __init__(self, doc: dict, run_dtype: str, base: Path, tape=None):
        self.doc = doc
        self.run_dtype = run_dtype
        self.tf_dtype = TF_DTYPES[run_dtype]
        self.base = base
        self.tape = tape
        self.values = {}
        for section in ("variables", "constants"):
            for k, v in (doc.get(section) or {}).items():
                self.values[k] = v
        self.ops = dict(doc.get("ops") or {})
        self.nodes = {}
        self.building = []

    # -- leaves ---------------------------------------------------------
    def build_leaves(self):
        for name, spec in self.values.items():
            arr = make_value(spec, self.run_dtype, self.base)
            t = tf.constant(arr, dtype=TF_DTYPES[str(arr.dtype)], name=_tf_name(name))
            self.nodes[name] = t
            self._watch(t)

    def _watch(self, t):
        if self.tape is not None and isinstance(t, tf.Tensor) and t.dtype.is_floating:
            self.tape.watch(t)

    # -- nodes ----------------------------------------------------------
    def node(self, name: str):
        if name in self.nodes:
            return self.nodes[name]
        if name not in self.ops:
            raise SpecError(f"unknown name {name!r}")
        if name in self.building:
            raise SpecError(f"cycle through {' -> '.join(self.building + [name])}")
        self.building.append(name)
        try:
            spec = self.ops[name]
            if isinstance(spec, str):
                val = self.expr(spec)
            elif isinstance(spec, dict):
                val = self.mapping_op(spec)
            else:
                raise SpecError(f"op {name!r} is neither an expression nor a mapping")
            val = self.tensorize(val)
        finally:
            self.building.pop()
        if isinstance(val, (list, tuple)):
            val = list(val)
            for t in val:
                self._watch(t)
        else:
            self._watch(val)
        self.nodes[name] = val
        return val

    def build_all_ops(self):
        for name in self.ops:
            self.node(name)

    def tensorize(self, v, dtype=None):
        """A Literal becomes a constant of dtype (default: the run dtype)."""
        if isinstance(v, Literal):
            if _literal_is_bool(v.value):
                return tf.constant(v.value, dtype=tf.bool)
            dt = dtype or self.tf_dtype
            arr = np.array(v.value, dtype=object)
            if dt.is_integer and not all(float(x).is_integer() for x in arr.reshape(-1)):
                dt = self.tf_dtype
            return tf.constant(np.array(v.value, dtype=dt.as_numpy_dtype), dtype=dt)
        if isinstance(v, list):
            return [self.tensorize(x, dtype) for x in v]
        return v

    def ref_dtype(self, args):
        for a in args:
            for t in (a if isinstance(a, list) else [a]):
                if isinstance(t, tf.Tensor) and t.dtype != tf.bool:
                    return t.dtype
        return self.tf_dtype

    # -- expressions ----------------------------------------------------
    def expr(self, text: str):
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError as e:
            raise SpecError(f"expression syntax: {text!r}: {e}") from e
        return self.ev(tree.body)

    def ev(self, n):
        if isinstance(n, ast.Constant):
            if isinstance(n.value, str):
                return n.value
            if n.value is None or isinstance(n.value, bool):
                return n.value
            if _is_number(n.value):
                return Literal(n.value)
            if n.value is Ellipsis:
                return Ellipsis
            raise SpecError(f"unsupported constant {n.value!r}")
        if isinstance(n, ast.Name):
            if n.id in self.values or n.id in self.ops:
                return self.node(n.id)
            if n.id in KEYWORD_NAMES:
                return KEYWORD_NAMES[n.id]
            if n.id in TF_DTYPES:
                return n.id
            raise SpecError(f"unknown name {n.id!r}")
        if isinstance(n, ast.List) or isinstance(n, ast.Tuple):
            items = [self.ev(e) for e in n.elts]
            if all(isinstance(i, Literal) for i in items):
                return Literal([i.value for i in items])
            if all(isinstance(i, bool) for i in items) and items:
                return Literal(items)
            if all(isinstance(i, (int, float)) for i in items):
                return Literal(items)
            return items
        if isinstance(n, ast.UnaryOp):
            v = self.ev(n.operand)
            if isinstance(n.op, ast.USub):
                if isinstance(v, Literal):
                    return Literal(_neg(v.value))
                return tf.negative(v)
            if isinstance(n.op, ast.UAdd):
                return v
            if isinstance(n.op, ast.Invert):
                return tf.logical_not(self.tensorize(v))
            raise SpecError("unsupported unary operator")
        if isinstance(n, ast.BinOp):
            fn = BINOPS.get(type(n.op))
            if fn is None:
                raise SpecError(f"unsupported operator {type(n.op).__name__}")
            a, b = self.ev(n.left), self.ev(n.right)
            dt = self.ref_dtype([a, b])
            return fn(self.tensorize(a, dt), self.tensorize(b, dt))
        if isinstance(n, ast.Compare):
            if len(n.ops) != 1:
                raise SpecError("chained comparisons are not supported")
            a, b = self.ev(n.left), self.ev(n.comparators[0])
            dt = self.ref_dtype([a, b])
            return CMPOPS[type(n.ops[0])](self.tensorize(a, dt), self.tensorize(b, dt))
        if isinstance(n, ast.Subscript):
            v = self.ev(n.value)
            idx = self.index(n.slice)
            if isinstance(v, list):
                if not isinstance(idx, int):
                    raise SpecError("a subscript on a multi-output op must be an integer")
                return v[idx]
            return self.tensorize(v)[idx]
        if isinstance(n, ast.Call):
            if not isinstance(n.func, ast.Name):
                raise SpecError("only calls of plain op names are allowed")
            args = []
            for a in n.args:
                if isinstance(a, ast.Starred):
                    raise SpecError("*args is not allowed")
                args.append(self.ev(a))
            kwargs = {}
            for k in n.keywords:
                if k.arg is None:
                    raise SpecError("**kwargs is not allowed")
                kwargs[k.arg] = self.ev(k.value)
            return self.call(n.func.id, args, kwargs)
        raise SpecError(f"unsupported syntax {type(n).__name__}")

    def index(self, n):
        if isinstance(n, ast.Tuple):
            return tuple(self.index(e) for e in n.elts)
        if isinstance(n, ast.Slice):
            return slice(
                *(None if p is None else self._int(p) for p in (n.lower, n.upper, n.step))
            )
        if isinstance(n, ast.Constant) and n.value is Ellipsis:
            return Ellipsis
        if isinstance(n, ast.Constant) and n.value is None:
            return tf.newaxis
        if isinstance(n, ast.Name) and n.id in ("None", "null", "newaxis"):
            return tf.newaxis
        return self._int(n)

    def _int(self, n):
        v = self.ev(n)
        if isinstance(v, Literal) and isinstance(v.value, int):
            return v.value
        raise SpecError("subscript indices must be integers")

    # -- mapping ops ----------------------------------------------------
    def mapping_op(self, spec: dict):
        if "op" not in spec:
            raise SpecError("mapping op without 'op'")
        name = spec["op"]
        args = [self.yaml_arg(a) for a in (spec.get("args") or [])]
        kwargs = {k: self.yaml_arg(v, attr=True) for k, v in spec.items() if k not in ("op", "args")}
        return self.call(name, args, kwargs)

    def yaml_arg(self, v, attr=False):
        if isinstance(v, str):
            if v in self.values or v in self.ops:
                return self.node(v)
            if v in KEYWORD_NAMES and not attr:
                return KEYWORD_NAMES[v]
            return v
        if isinstance(v, bool) or v is None:
            return v
        if _is_number(v):
            return Literal(v)
        if isinstance(v, list):
            items = [self.yaml_arg(x, attr) for x in v]
            if all(isinstance(i, Literal) for i in items):
                return Literal([i.value for i in items])
            if items and all(isinstance(i, bool) for i in items):
                return Literal(items)
            return items
        if isinstance(v, dict):
            raise SpecError(f"mapping as an op argument: {v!r}")
        return v

    # -- calls ----------------------------------------------------------
    def call(self, fname: str, args: list, kwargs: dict):
        if fname == "add_n":
            if len(args) == 1 and isinstance(args[0], (list, Literal)) and not kwargs:
                inputs = args[0] if isinstance(args[0], list) else [args[0]]
            else:
                inputs = list(args)
            dt = self.ref_dtype(inputs)
            return tf.add_n([self.tensorize(x, dt) for x in inputs])
        if fname in ("gradients", "hessians", "jacobian", "batch_jacobian"):
            return self.higher(fname, args, kwargs)
        fn = find_tf_function(fname)
        try:
            sig = inspect.signature(fn)
            bound = sig.bind_partial(*args, **kwargs)
        except (TypeError, ValueError) as e:
            raise SpecError(f"{fname}: bad arguments: {e}") from e
        plain = PLAIN_PARAMS | PLAIN_PARAMS_BY_FN.get(fname, set())
        params = sig.parameters
        tensor_vals = []
        for pname, val in bound.arguments.items():
            if params[pname].kind is inspect.Parameter.VAR_POSITIONAL:
                tensor_vals.extend(val)
            elif pname not in plain:
                tensor_vals.append(val)
        dt = self.ref_dtype(tensor_vals)
        final_args = []
        final_kwargs = {}
        # the parameters given by position (in TF's order) stay positional;
        # everything given by keyword stays a keyword
        n_positional = len(args)
        for i, (pname, val) in enumerate(bound.arguments.items()):
            kind = params[pname].kind
            if kind is inspect.Parameter.VAR_POSITIONAL:
                final_args.extend(self.tensorize(v, dt) for v in val)
                continue
            if kind is inspect.Parameter.VAR_KEYWORD:
                final_kwargs.update(val)
                continue
            if pname in plain:
                val = _to_plain(val)
                if pname in ("dtype", "output_type") and isinstance(val, str):
                    val = TF_DTYPES[val]
            else:
                val = self.tensorize(val, dt)
            if i < n_positional and kind in (inspect.Parameter.POSITIONAL_ONLY,
                                             inspect.Parameter.POSITIONAL_OR_KEYWORD):
                final_args.append(val)
            else:
                final_kwargs[pname] = val
        if fname == "one_hot" and "dtype" not in bound.arguments:
            # TF's one_hot defaults to float32; the graph's dtype decides here
            # (the contract: dtype is the floating dtype of every value).
            final_kwargs["dtype"] = self.tf_dtype
        return fn(*final_args, **final_kwargs)

    def _names_or_tensors(self, v):
        if isinstance(v, str):
            return self.node(v)
        if isinstance(v, list):
            return [self._names_or_tensors(x) for x in v]
        return self.tensorize(v)

    def higher(self, fname, args, kwargs):
        if fname == "gradients":
            params = ["ys", "xs", "grad_ys", "stop_gradients", "unconnected_gradients"]
        elif fname == "hessians":
            params = ["ys", "xs"]
        else:
            params = ["target", "source", "unconnected_gradients"]
        if len(args) > len(params):
            raise SpecError(f"{fname}: too many arguments")
        a = dict(zip(params, args))
        for k, v in kwargs.items():
            if k not in params:
                raise SpecError(f"{fname}: unknown parameter {k!r}")
            if k in a:
                raise SpecError(f"{fname}: {k} given twice")
            a[k] = v
        uc = a.get("unconnected_gradients") or "none"
        uc = {"none": tf.UnconnectedGradients.NONE, "zero": tf.UnconnectedGradients.ZERO}[uc]
        if fname in ("gradients", "hessians"):
            ys = self._names_or_tensors(a["ys"])
            xs = self._names_or_tensors(a["xs"])
            single = not isinstance(xs, list)
            xs_l = [xs] if single else xs
            if fname == "hessians":
                out = tf.hessians(ys, xs_l)
            else:
                grad_ys = a.get("grad_ys")
                if grad_ys is not None:
                    ys_l = ys if isinstance(ys, list) else [ys]
                    gl = grad_ys if isinstance(grad_ys, list) else [grad_ys]
                    grad_ys = [None if g is None else self.tensorize(g, y.dtype)
                               for g, y in zip(gl, ys_l)]
                sg = a.get("stop_gradients")
                out = tf.gradients(ys, xs_l, grad_ys=grad_ys, stop_gradients=sg,
                                   unconnected_gradients=uc)
            out = list(out)
            return out[0] if single else out
        # jacobian / batch_jacobian with the persistent tape
        if self.tape is None:
            raise SpecError("internal: jacobian op without a tape")
        target = self._names_or_tensors(a["target"])
        source = self._names_or_tensors(a["source"])
        fn = self.tape.jacobian if fname == "jacobian" else self.tape.batch_jacobian
        return fn(target, source, unconnected_gradients=uc)

    # -- ys, xs and friends ----------------------------------------------
    def ref(self, text):
        """A name in ys/xs/etc. (a plain name, or name[i] for a multi-output op)."""
        if not isinstance(text, str):
            raise SpecError(f"expected a name, got {text!r}")
        v = self.expr(text)
        if isinstance(v, list):
            raise SpecError(f"{text!r} names several outputs; use {text}[i]")
        return v


def _neg(v):
    if isinstance(v, list):
        return [_neg(x) for x in v]
    return -v


def _tf_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-/]", "_", name) or "node"


def uses_tape(doc) -> bool:
    for spec in (doc.get("ops") or {}).values():
        text = spec if isinstance(spec, str) else (spec or {}).get("op", "")
        if isinstance(text, str) and re.search(r"\b(batch_)?jacobian\b", text):
            return True
    return False


# ---------------------------------------------------------------------------
# JSON


def to_json_value(v):
    if v is None:
        return None
    if isinstance(v, (list, tuple)):
        return [to_json_value(x) for x in v]
    arr = np.asarray(v)
    if arr.dtype == bool:
        return arr.tolist()
    if np.issubdtype(arr.dtype, np.integer):
        return arr.tolist()
    return _floats(arr.astype(np.float64).tolist())


def _floats(x):
    if isinstance(x, list):
        return [_floats(e) for e in x]
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return float(x)


def _as_list(v):
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def _first_line(e: BaseException) -> str:
    msg = getattr(e, "message", None) or str(e)
    lines = [ln.strip() for ln in msg.strip().splitlines() if ln.strip()]
    # a graph execution error names the node and the op's creation
    # traceback before the kernel's own message: keep the message
    skip = ("Graph execution error", "Detected at node", "File ", "Node:", "[[")
    kept = [ln for ln in lines if not ln.startswith(skip)]
    text = (kept or lines or [type(e).__name__])[0]
    return text[:500]


def _run(sess, fetches):
    """Run a nested structure of tensors / None / lists; return values."""
    flat = []

    def collect(x):
        if x is None:
            return
        if isinstance(x, (list, tuple)):
            for e in x:
                collect(e)
        else:
            flat.append(x)

    collect(fetches)
    vals = sess.run(flat) if flat else []
    it = iter(vals)

    def rebuild(x):
        if x is None:
            return None
        if isinstance(x, (list, tuple)):
            return [rebuild(e) for e in x]
        return next(it)

    return rebuild(fetches)


# ---------------------------------------------------------------------------
# One graph file, one dtype


def compute(doc: dict, run_dtype: str, base: Path, sidecar: dict | None) -> dict:
    result = {}
    graph = tf.Graph()
    with graph.as_default():
        tape = tf.GradientTape(persistent=True) if uses_tape(doc) else None
        if tape is not None:
            tape.__enter__()
        try:
            b = Builder(doc, run_dtype, base, tape=tape)
            b.build_leaves()
            b.build_all_ops()
            ys_names = _as_list(doc.get("ys"))
            xs_names = _as_list(doc.get("xs"))
            ys = [b.ref(n) for n in ys_names]
            xs = [b.ref(n) for n in xs_names]
            grad_ys = doc.get("grad_ys")
            gys = None
            if grad_ys is not None:
                if not isinstance(grad_ys, list) or len(grad_ys) != len(ys):
                    raise SpecError("grad_ys must be a list with one entry per y")
                gys = []
                for g, y in zip(grad_ys, ys):
                    if g is None:
                        gys.append(None)
                    elif isinstance(g, str):
                        gys.append(b.ref(g))
                    else:
                        gys.append(tf.constant(literal_array(g, y.dtype.name), dtype=y.dtype))
            sg = [b.ref(n) for n in _as_list(doc.get("stop_gradients"))] or None
            uc_name = doc.get("unconnected_gradients") or "none"
            uc = {"none": tf.UnconnectedGradients.NONE,
                  "zero": tf.UnconnectedGradients.ZERO}[uc_name]
            grads = tf.gradients(ys, xs, grad_ys=gys, stop_gradients=sg,
                                 unconnected_gradients=uc)
            # a gather's params get IndexedSlices: its dense value is the gradient
            grads = [tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g
                     for g in grads]
            out_names = _as_list(doc.get("outputs"))
            outs = [b.nodes[n] if n in b.nodes else b.ref(n) for n in out_names]
        finally:
            if tape is not None:
                tape.__exit__(None, None, None)
        with tf.compat.v1.Session(graph=graph) as sess:
            gvals = _run(sess, list(grads))
            ovals = _run(sess, outs)
        result["xs"] = list(xs_names)
        result["gradients"] = [to_json_value(v) for v in gvals]
        if out_names:
            result["outputs"] = {n: to_json_value(v) for n, v in zip(out_names, ovals)}
    if sidecar:
        result.update(compute_extras(doc, run_dtype, base, sidecar))
    return result


def _guard(fn):
    try:
        return fn()
    except SpecError:
        raise
    except Exception as e:  # TensorFlow's answer is an error
        return {"error": _first_line(e), "error_type": type(e).__name__}


def compute_extras(doc, run_dtype, base, sidecar) -> dict:
    extras = {}
    unknown = set(sidecar) - {"hessians", "jacobian", "batch_jacobian", "jvp", "description"}
    if unknown:
        raise SpecError(f"unknown sidecar keys {sorted(unknown)}")

    def tape_build():
        graph = tf.Graph()
        with graph.as_default():
            with tf.GradientTape(persistent=True) as tape:
                b = Builder(doc, run_dtype, base, tape=tape)
                b.build_leaves()
                b.build_all_ops()
                ys = [b.ref(n) for n in _as_list(doc.get("ys"))]
                xs = [b.ref(n) for n in _as_list(doc.get("xs"))]
        return graph, tape, ys, xs

    if sidecar.get("hessians"):
        def hess():
            graph = tf.Graph()
            with graph.as_default(), _maybe_tape(doc) as tape:
                b = Builder(doc, run_dtype, base, tape=tape)
                b.build_leaves()
                b.build_all_ops()
                ys = [b.ref(n) for n in _as_list(doc.get("ys"))]
                xs = [b.ref(n) for n in _as_list(doc.get("xs"))]
                h = tf.hessians(ys, xs)
            with tf.compat.v1.Session(graph=graph) as sess:
                return [to_json_value(v) for v in _run(sess, list(h))]
        extras["hessians"] = _guard(hess)

    for key, out_key, batch in (("jacobian", "jacobians", False),
                                ("batch_jacobian", "batch_jacobians", True)):
        if not sidecar.get(key):
            continue

        def jac(batch=batch):
            graph, tape, ys, xs = tape_build()
            with graph.as_default():
                table = []
                for y in ys:
                    row = []
                    for x in xs:
                        fn = tape.batch_jacobian if batch else tape.jacobian
                        row.append(fn(y, x))
                    table.append(row)
            with tf.compat.v1.Session(graph=graph) as sess:
                return to_json_value(_run(sess, table))
        extras[out_key] = _guard(jac)

    if sidecar.get("jvp"):
        def jvp():
            tangents = (sidecar["jvp"] or {}).get("tangents") or {}
            graph = tf.Graph()
            with graph.as_default(), _maybe_tape(doc) as tape:
                b = Builder(doc, run_dtype, base, tape=tape)
                b.build_leaves()
                primals, tans = [], []
                for name, tv in tangents.items():
                    if name not in b.values:
                        raise SpecError(f"jvp tangent {name!r} is not a variable or constant")
                    p = b.nodes[name]
                    primals.append(p)
                    tans.append(tf.constant(literal_array(tv, p.dtype.name) if not isinstance(tv, dict)
                                            else make_value(tv, p.dtype.name, base), dtype=p.dtype))
                with tf.autodiff.ForwardAccumulator(primals, tans) as acc:
                    b.build_all_ops()
                    ys = [b.ref(n) for n in _as_list(doc.get("ys"))]
                jv = [acc.jvp(y) for y in ys]
            with tf.compat.v1.Session(graph=graph) as sess:
                return to_json_value(_run(sess, jv))
        extras["jvp"] = _guard(jvp)
    return extras


@contextlib.contextmanager
def _maybe_tape(doc):
    """A persistent tape around the graph's construction when its ops use
    jacobian or batch_jacobian (None otherwise)."""
    if not uses_tape(doc):
        yield None
        return
    with tf.GradientTape(persistent=True) as tape:
        yield tape


def explicit_float_dtypes(doc) -> set:
    out = set()
    for section in ("variables", "constants"):
        for spec in (doc.get(section) or {}).values():
            d = value_dtype_of(spec)
            if d in ("float32", "float64"):
                out.add(d)
    return out


def process(path: Path, dtypes, out_dir: Path | None, quiet=False) -> dict:
    doc = load_yaml(path)
    if not isinstance(doc, dict):
        raise SpecError("the file is not a mapping")
    sidecar_path = path.with_name(path.name[: -len(".yaml")] + SIDECAR_SUFFIX)
    sidecar = load_yaml(sidecar_path) if sidecar_path.exists() else None
    explicit = explicit_float_dtypes(doc)
    results = {}
    for dt in dtypes:
        if explicit and dt not in explicit:
            # a value with an explicit float dtype makes the other float
            # dtype meaningless (mixed dtypes); skip it.
            continue
        results[dt] = _guard(lambda dt=dt: compute(doc, dt, path.parent, sidecar))
        if "error" in results[dt]:
            print(f"  {path.name} [{dt}]: TF error: {results[dt]['error']}", file=sys.stderr)
    out = {"tf_version": tf.__version__, "results": results}
    stem = path.name[: -len(".yaml")]
    target = (out_dir or path.parent) / f"{stem}.tf.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(out, indent=None, separators=(",", ":")) + "\n", encoding="utf-8")
    return out


def collect(paths) -> list[Path]:
    files = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            files.extend(sorted(f for f in p.rglob("*.yaml") if not f.name.endswith(SIDECAR_SUFFIX)))
        else:
            files.append(p)
    return files


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="*", help="graph files or directories")
    ap.add_argument("--dtypes", default=",".join(DTYPES),
                    help="comma-separated float dtypes to compute (default: float64,float32)")
    ap.add_argument("--out-dir", type=Path, default=None,
                    help="write NAME.tf.json here instead of beside each graph file")
    ap.add_argument("-q", "--quiet", action="store_true")
    args = ap.parse_args(argv)
    dtypes = [d.strip() for d in args.dtypes.split(",") if d.strip()]
    for d in dtypes:
        if d not in DTYPES:
            ap.error(f"unknown dtype {d!r}")
    files = collect(args.paths or [DEFAULT_DIR])
    failed = 0
    for f in files:
        try:
            process(f, dtypes, args.out_dir, quiet=args.quiet)
            if not args.quiet:
                print(f"wrote {f}", file=sys.stderr)
        except SpecError as e:
            failed += 1
            print(f"{f}: cannot interpret: {e}", file=sys.stderr)
    print(f"{len(files) - failed} written, {failed} failed", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
