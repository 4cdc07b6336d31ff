#!/usr/bin/env python3
"""TensorFlow's answers for the elementwise, comparison and selection ops at
their edges (nan, inf, -0.0, zeros of the incoming gradient, ties), first and
second order, written to ``edges.tf.json`` beside this file.

Run by hand under the TensorFlow venv (CI never installs TF):

    /work/tfvenv/bin/python tests/tfref_ew/generate.py

Each case applies one op (TF's Python function of that name in tf, tf.math or
tf.nn, called with TF's parameter names) to constant inputs in graph mode and
records: the value; ``grad1`` = tf.gradients(y, inputs, grad_ys=cot);
``grad2`` = tf.gradients(the non-None grad1 entries, inputs) (the seeds of
the second sweep are ones); ``grad3`` likewise from grad2 where asked. Values
are nested lists with "nan", "inf", "-inf" and "-0.0" spelled as strings; a
TF error is recorded as {"error": type name}. tests/test_ops_elementwise.py
replays every case through tfgrad's sweep.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

HERE = Path(__file__).resolve().parent
N, I = math.nan, math.inf


def enc(a):
    if a is None:
        return None
    a = np.asarray(a)
    if a.dtype == bool:
        return a.tolist()

    def one(v):
        v = float(v)
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        if v == 0 and math.copysign(1, v) < 0:
            return "-0.0"
        return v

    return np.vectorize(one, otypes=[object])(a).tolist() if a.ndim else one(a)


def tf_fn(op):
    for mod in (tf, tf.math, tf.nn):
        f = getattr(mod, op, None)
        if f is not None:
            return f
    raise KeyError(op)


def run(case):
    dt = {"float64": tf.float64, "float32": tf.float32}[case.get("dtype", "float64")]
    g = tf.Graph()
    with g.as_default():
        ts = {}
        for k, v in case["inputs"].items():
            a = np.asarray(v)
            ts[k] = tf.constant(a if a.dtype == bool else a.astype(dt.as_numpy_dtype))
        y = tf_fn(case["op"])(**ts, **case.get("attrs", {}))
        names = [k for k, t in ts.items() if t.dtype.is_floating]
        xs = [ts[k] for k in names]
        out = {"value": y}
        order = case.get("order", 2)
        if order >= 1 and y.dtype.is_floating:
            cot = case.get("cot")
            gy = None if cot is None else tf.constant(np.asarray(cot, dtype=dt.as_numpy_dtype))
            cur = tf.gradients(y, xs, grad_ys=gy)
            out["grad1"] = cur
            for k in range(2, order + 1):
                live = [c for c in cur if c is not None]
                if not live:
                    break
                try:
                    cur = tf.gradients(live, xs)
                except LookupError as e:
                    out[f"grad{k}"] = {"error": type(e).__name__, "message": str(e)[:200]}
                    break
                out[f"grad{k}"] = cur
        with tf.compat.v1.Session(graph=g) as s:
            res = {}
            for key, v in out.items():
                if isinstance(v, dict):
                    res[key] = v
                elif isinstance(v, list):
                    res[key] = {n: (None if t is None else enc(s.run(t))) for n, t in zip(names, v)}
                else:
                    res[key] = enc(s.run(v))
            return res


GRID = [N, -I, -2.0, -1.0, -0.5, -0.0, 0.0, 0.5, 1.0, 2.0, 6.0, 7.0, I]
ZCOT = ([0.0, 0.0, 1.0, 1.0, -1.0, 4.0, 0.5], [0.0, I, 0.0, I, N, -I, -0.0])
UNARY = {
    "sign": "x", "rsqrt": "x", "reciprocal": "x", "expm1": "x", "log1p": "x", "sin": "x",
    "cos": "x", "tan": "x", "asin": "x", "acos": "x", "atan": "x", "sinh": "x", "cosh": "x",
    "asinh": "x", "acosh": "x", "atanh": "x", "erf": "x", "erfc": "x", "floor": "x",
    "ceil": "x", "round": "x", "softplus": "features", "softsign": "features",
    "relu6": "features", "elu": "features", "selu": "features", "leaky_relu": "features",
    "gelu": "features", "silu": "features", "sqrt": "x", "relu": "features", "abs": "x",
    "exp": "x", "log": "x", "tanh": "x", "sigmoid": "x", "square": "x",
}
VARIANTS = [("leaky_relu", {"alpha": 0.3}), ("gelu", {"approximate": True}), ("silu", {"beta": 0.5})]
BINARY = {
    "squared_difference": ("x", "y"), "atan2": ("y", "x"), "divide_no_nan": ("x", "y"),
    "multiply_no_nan": ("x", "y"), "maximum": ("x", "y"), "minimum": ("x", "y"),
    "pow": ("x", "y"), "divide": ("x", "y"), "multiply": ("x", "y"),
}
PAIR_VALUES = [N, -I, -1.0, -0.0, 0.0, 0.5, 1.0, 2.0, I]
COMPARE = ["equal", "not_equal", "less", "less_equal", "greater", "greater_equal"]


def cases():
    out = []
    for op, p in UNARY.items():
        order = 1 if op == "softsign" else 3
        out.append({"name": f"{op}-grid", "op": op, "inputs": {p: GRID}, "order": order})
        out.append({"name": f"{op}-zero-cot", "op": op, "inputs": {p: ZCOT[0]}, "cot": ZCOT[1],
                    "order": 2})
        out.append({"name": f"{op}-grid-f32", "op": op, "inputs": {p: GRID}, "order": 1,
                    "dtype": "float32"})
    out.append({"name": "softsign-second-order", "op": "softsign",
                "inputs": {"features": [-1.0, 0.0, 2.0]}, "order": 2})
    for op, attrs in VARIANTS:
        out.append({"name": f"{op}-{'-'.join(attrs)}", "op": op, "attrs": attrs,
                    "inputs": {UNARY[op]: GRID}, "order": 3})
    xs = [a for a in PAIR_VALUES for _ in PAIR_VALUES]
    ys = [b for _ in PAIR_VALUES for b in PAIR_VALUES]
    rng = np.random.default_rng(11)
    for op, (p, q) in BINARY.items():
        out.append({"name": f"{op}-pairs", "op": op, "inputs": {p: xs, q: ys}, "order": 2})
        a = rng.uniform(0.3, 2.0, (2, 1, 3)).round(3).tolist()
        b = rng.uniform(0.3, 2.0, (3,)).round(3).tolist()
        out.append({"name": f"{op}-broadcast", "op": op, "inputs": {p: a, q: b}, "order": 2})
    for op in COMPARE:
        out.append({"name": f"{op}-pairs", "op": op, "inputs": {"x": xs, "y": ys}, "order": 0})
    out.append({"name": "clip-grid", "op": "clip_by_value",
                "inputs": {"t": GRID, "clip_value_min": 0.0, "clip_value_max": 1.0}, "order": 2,
                "cot": [1.0, I, I, I, I, I, I, I, I, I, I, I, I]})
    out.append({"name": "clip-bounds", "op": "clip_by_value",
                "inputs": {"t": [[N, -1.0, 0.0, 0.5], [1.0, 2.0, 3.0, -3.0]],
                           "clip_value_min": [[0.0], [1.0]], "clip_value_max": [1.0, 1.0, 2.5, 2.5]},
                "order": 2})
    cond = [True, False, True, False]
    out.append({"name": "where-broadcast", "op": "where",
                "inputs": {"condition": [[c] for c in cond], "x": [[1.0, -2.0, 0.5]], "y": 3.0},
                "order": 2})
    out.append({"name": "where-edges", "op": "where",
                "inputs": {"condition": [True, False, True, False], "x": [N, N, I, 0.0],
                           "y": [1.0, 2.0, -I, N]}, "cot": [I, I, N, 0.0], "order": 2})
    for op in ("logical_and", "logical_or"):
        out.append({"name": f"{op}-broadcast", "op": op,
                    "inputs": {"x": [[True], [False]], "y": [True, False, True]}, "order": 0})
    out.append({"name": "logical_not", "op": "logical_not", "inputs": {"x": [True, False]},
                "order": 0})
    return out


def main():
    result = {"tf_version": tf.__version__, "cases": []}
    for c in cases():
        c = dict(c)
        c["inputs"] = {k: enc(np.asarray(v)) if np.asarray(v).dtype != bool else v
                       for k, v in c["inputs"].items()}
        dec = {k: (np.asarray(v, dtype=object) if not isinstance(v, bool) else v)
               for k, v in c["inputs"].items()}
        raw = dict(c)
        raw["inputs"] = {k: _dec(v) for k, v in dec.items()}
        if "cot" in c:
            raw["cot"] = _dec(np.asarray(c["cot"], dtype=object))
            c["cot"] = enc(np.asarray(raw["cot"], dtype=float))
        c["tf"] = run(raw)
        result["cases"].append(c)
    (HERE / "edges.tf.json").write_text(json.dumps(result, indent=0) + "\n")
    print(len(result["cases"]), "cases, TF", tf.__version__)


def _dec(v):
    a = np.asarray(v, dtype=object)
    if a.size and all(isinstance(e, bool) for e in a.flat):
        return a.astype(bool)
    conv = {"nan": N, "inf": I, "-inf": -I, "-0.0": -0.0}
    return np.vectorize(lambda e: conv.get(e, e) if isinstance(e, str) else float(e),
                        otypes=[float])(a)


if __name__ == "__main__":
    main()
