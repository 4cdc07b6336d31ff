#!/usr/bin/env python
"""JAX peer of the benchmarks' side-by-side mode (``run.py --peers``).

    python benchmarks/peers/jax_peer.py eager|jit GRAPH.yaml

Reads a tfgrad graph file, interprets its ops with ``jax.numpy`` (a small
interpreter of the graph format written like tests/tfref/make_refs.py's:
expressions are parsed with ``ast`` and evaluated node by node, nothing is
``eval``-ed), and prints ``{"xs": [...], "gradients": [...]}`` on stdout:
the gradient of the sum of the ys with respect to each x, as
``tf.gradients`` gives it.

- ``eager``: ``jax.grad(f)(...)``, primitives dispatched one at a time;
- ``jit``: ``jax.jit(jax.grad(f))(...)``, the compile included.

Only what the benchmark cases use is known (elementwise math, matmul,
reductions, add_n, reshape, conv2d, max_pool2d, softmax cross-entropy;
values as literals, ``{value: ...}`` or ``{file: ...}`` .npy/.npz files read
with ``np.load(allow_pickle=False)``); xs must be variables or constants. Exit status 4 when JAX is not installed, 5
for a graph outside that subset.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path

try:
    import jax
except ImportError:
    print("jax is not installed", file=sys.stderr)
    sys.exit(4)

import numpy as np
import yaml

jax.config.update("jax_enable_x64", True)
jnp = jax.numpy
lax = jax.lax


class Unsupported(Exception):
    pass


class _Loader(yaml.SafeLoader):
    """YAML 1.2 floats (``1e-06``, ``.5``) as numbers."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$|^[-+]?\.(inf|Inf|INF)$"
               r"|^\.(nan|NaN|NAN)$", re.X),
    list("-+0123456789."))


def _pad(p):
    return str(p).upper()


def _conv2d(input, filters, strides=1, padding="VALID", data_format="NHWC", dilations=1):
    s = (strides, strides) if isinstance(strides, int) else tuple(strides)[-3:-1] if len(strides) == 4 else tuple(strides)
    return lax.conv_general_dilated(input, filters, s, _pad(padding),
                                    dimension_numbers=("NHWC", "HWIO", "NHWC"))


def _max_pool2d(input, ksize, strides, padding="VALID", data_format="NHWC"):
    k = (ksize, ksize) if isinstance(ksize, int) else tuple(ksize)[-2:] if len(ksize) != 4 else tuple(ksize)[1:3]
    s = (strides, strides) if isinstance(strides, int) else tuple(strides)[-2:] if len(strides) != 4 else tuple(strides)[1:3]
    return lax.reduce_window(input, -jnp.inf, lax.max, (1, *k, 1), (1, *s, 1), _pad(padding))


def _xent(labels, logits, axis=-1):
    return -jnp.sum(labels * jax.nn.log_softmax(logits, axis=axis), axis=axis)


def _reduce(fn):
    def r(input_tensor, axis=None, keepdims=False):
        return fn(input_tensor, axis=tuple(axis) if isinstance(axis, list) else axis,
                  keepdims=keepdims)
    return r


def _add_n(*inputs):
    if len(inputs) == 1 and isinstance(inputs[0], (list, tuple)):
        inputs = inputs[0]
    out = inputs[0]
    for x in inputs[1:]:
        out = out + x
    return out


FUNCS = {
    "tanh": jnp.tanh, "sigmoid": jax.nn.sigmoid, "relu": jax.nn.relu, "exp": jnp.exp,
    "log": jnp.log, "sqrt": jnp.sqrt, "square": jnp.square, "abs": jnp.abs, "sin": jnp.sin,
    "cos": jnp.cos, "negative": jnp.negative, "identity": lambda x: x,
    "add": jnp.add, "subtract": jnp.subtract, "multiply": jnp.multiply, "divide": jnp.divide,
    "matmul": jnp.matmul, "reduce_sum": _reduce(jnp.sum), "reduce_mean": _reduce(jnp.mean),
    "reduce_max": _reduce(jnp.max), "add_n": _add_n,
    "reshape": lambda tensor, shape: jnp.reshape(tensor, tuple(shape)),
    "transpose": lambda a, perm=None: jnp.transpose(a, perm),
    "conv2d": _conv2d, "max_pool2d": _max_pool2d,
    "softmax_cross_entropy_with_logits": _xent,
}
BINOPS = {ast.Add: jnp.add, ast.Sub: jnp.subtract, ast.Mult: jnp.multiply,
          ast.Div: jnp.divide, ast.MatMult: jnp.matmul, ast.Pow: jnp.power}


class Interp:
    def __init__(self, doc: dict, leaves: dict):
        self.ops = dict(doc.get("ops") or {})
        self.nodes = dict(leaves)

    def node(self, name):
        if name not in self.nodes:
            if name not in self.ops:
                raise Unsupported(f"unknown name {name!r}")
            spec = self.ops[name]
            if isinstance(spec, str):
                v = self.ev(ast.parse(spec.strip(), mode="eval").body)
            else:
                args = [self.arg(a) for a in spec.get("args") or []]
                kw = {k: self.arg(v) for k, v in spec.items() if k not in ("op", "args")}
                v = self.call(spec["op"], args, kw)
            self.nodes[name] = v
        return self.nodes[name]

    def arg(self, v):
        if isinstance(v, str) and (v in self.nodes or v in self.ops):
            return self.node(v)
        if isinstance(v, list):
            return [self.arg(x) for x in v]
        return v

    def call(self, fname, args, kw):
        fn = FUNCS.get(fname)
        if fn is None:
            raise Unsupported(f"op {fname!r} is not in the JAX peer")
        args = [jnp.asarray(a) if isinstance(a, list) and fname not in ("add_n", "reshape") else a
                for a in args]
        return fn(*args, **kw)

    def ev(self, n):
        if isinstance(n, ast.Constant):
            return n.value
        if isinstance(n, ast.Name):
            return self.node(n.id)
        if isinstance(n, (ast.List, ast.Tuple)):
            return [self.ev(e) for e in n.elts]
        if isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.USub):
            v = self.ev(n.operand)
            return -jnp.asarray(v) if isinstance(v, list) else -v
        if isinstance(n, ast.BinOp) and type(n.op) in BINOPS:
            a, b = self.ev(n.left), self.ev(n.right)
            a = jnp.asarray(a) if isinstance(a, list) else a
            b = jnp.asarray(b) if isinstance(b, list) else b
            return BINOPS[type(n.op)](a, b)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name):
            args = [self.ev(a) for a in n.args]
            kw = {k.arg: self.ev(k.value) for k in n.keywords}
            return self.call(n.func.id, args, kw)
        raise Unsupported(f"unsupported syntax {ast.dump(n)[:60]}")


def _value(spec, dtype: str, base: Path) -> np.ndarray:
    """A variable's or constant's array: a literal, ``{value: ...}``, or
    ``{file: F.npy}`` / ``{file: F.npz, key: K}`` read beside the graph file
    as tfgrad reads it (``np.load``, never unpickling)."""
    if not isinstance(spec, dict):
        return np.array(spec, dtype=dtype)
    dtype = spec.get("dtype", dtype)
    keys = set(spec) - {"dtype"}
    if keys == {"value"}:
        return np.array(spec["value"], dtype=dtype)
    if keys in ({"file"}, {"file", "key"}):
        f = base / spec["file"]
        if f.suffix.lower() == ".npy" and "key" not in spec:
            a = np.load(f, allow_pickle=False)
        elif f.suffix.lower() == ".npz":
            with np.load(f, allow_pickle=False) as z:
                a = z[spec["key"]] if "key" in spec else z[next(iter(z.files))]
        else:
            raise Unsupported(f"file {spec['file']!r}: the JAX peer reads .npy and .npz")
        return a.astype(dtype) if a.dtype.kind == "f" else a
    raise Unsupported(f"value mapping {sorted(spec)}")


def _as_list(v):
    return v if isinstance(v, list) else [] if v is None else [v]


def main(argv: list[str]) -> int:
    mode, path = argv[0], Path(argv[1])
    with open(path, encoding="utf-8") as fh:
        doc = yaml.load(fh, Loader=_Loader)
    dtype = doc.get("dtype") or "float64"
    leaves = {}
    for section in ("variables", "constants"):
        for name, spec in (doc.get(section) or {}).items():
            leaves[name] = jnp.asarray(_value(spec, dtype, path.parent))
    ys, xs = _as_list(doc.get("ys")), _as_list(doc.get("xs"))
    if doc.get("grad_ys") is not None or any(x not in leaves for x in xs):
        raise Unsupported("grad_ys, or an x that is not a variable or constant")

    def f(xvals):
        it = Interp(doc, {**leaves, **dict(zip(xs, xvals))})
        # the ops in file order first (each op's operands are above it in
        # the benchmarks' files): Interp.node resolves names recursively,
        # which a 10,000-deep chain would take 10,000 frames deep
        for name in it.ops:
            it.node(name)
        return sum(jnp.sum(it.node(y)) for y in ys)

    g = jax.grad(f)
    if mode == "jit":
        g = jax.jit(g)
    elif mode != "eager":
        print(f"unknown mode {mode!r}", file=sys.stderr)
        return 2
    out = g([leaves[x] for x in xs])
    json.dump({"xs": xs, "gradients": [np.asarray(v).tolist() for v in out]}, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except Unsupported as e:
        print(f"jax peer: {e}", file=sys.stderr)
        sys.exit(5)
