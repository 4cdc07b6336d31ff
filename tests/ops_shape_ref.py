"""The committed TensorFlow references of the shape and indexing ops
(``tests/data/ops_shape_tf.json``, written by ``tests/ops_shape_tf.py``)
and the same quantities computed by the engine: every output's value, the
first-order VJPs ``g1``, the VJPs of a squared loss ``g2`` and their
second-order VJPs ``h`` (the sweep run over ``g2``'s own nodes)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ops_harness import leaves
from tfgrad.autodiff import backprop
from tfgrad.engine import apply
from tfgrad.plan import Plan
from tfgrad.tensor import add, ew, reduce, tensor

DATA = json.loads((Path(__file__).parent / "data" / "ops_shape_tf.json").read_text())
TF_VERSION = DATA["tf_version"]  # 2.21.0 when written
CASES = DATA["cases"]


def case_id(c: dict) -> str:
    return c.get("subscript") or f"{c['op']}-{json.dumps(c['attrs'], separators=(',', ':'))}"


def _array(v: Any) -> np.ndarray:
    if isinstance(v, dict):
        return np.asarray(v["value"], dtype=v["dtype"])
    return np.asarray(v, dtype=np.float64)


def case_inputs(c: dict) -> dict:
    # ``values`` (concat, stack) is a list of tensors; every other input one tensor
    return {k: ([_array(a) for a in v] if k == "values" else _array(v)) for k, v in c["inputs"].items()}


def engine_results(c: dict, dtype: str = "float64") -> dict:
    op = "strided_slice" if "subscript" in c else c["op"]
    inputs = case_inputs(c)
    nodes, env = leaves(inputs, dtype)
    out = apply(op, nodes, c["attrs"], dtype, values=env)
    outs = out if isinstance(out, list) else [out]
    flat = []
    for k, v in nodes.items():
        flat.extend(v if isinstance(v, list) else [v])
    xs = [n for n in flat if n.dtype == dtype]
    roots = list(outs)
    res: dict = {"n_out": len(outs)}
    if c.get("g1") is not None:
        seeds, sq_seeds = [], []
        for i, (o, cot) in enumerate(zip(outs, c["cots"])):
            env[f"__c{i}"] = np.asarray(cot, dtype=dtype).reshape(o.shape)
            s = tensor(f"__c{i}", o.shape, dtype, "seed")
            seeds.append((o, s))
            sq_seeds.append((ew("square", o), s))
        g1 = backprop(seeds, xs)
        g2 = backprop(sq_seeds, xs)
        terms = []
        for j, (x, g) in enumerate(zip(xs, g2)):
            if g is None:
                continue
            env[f"__v{j}"] = np.asarray(c["vs"][j], dtype=dtype).reshape(x.shape)
            v = tensor(f"__v{j}", x.shape, dtype, "seed")
            terms.append(reduce("sum", tuple(range(x.rank)), ew("multiply", v, g)))
        one = tensor("__one", (), dtype, "seed")
        env["__one"] = np.ones((), dtype=dtype)
        h = backprop([(add(*terms), one)], xs) if terms else [None] * len(xs)
        for key, gs in (("g1", g1), ("g2", g2), ("h", h)):
            res[key] = (len(roots), gs)
            roots.extend(g for g in gs if g is not None)
    vals = Plan(roots).run(env)
    res["value"] = vals[: len(outs)]
    for key in ("g1", "g2", "h"):
        if key in res:
            start, gs = res[key]
            it = iter(vals[start:])
            res[key] = [next(it) if g is not None else None for g in gs]
    return res


def assert_matches_tf(c: dict, dtype: str = "float64") -> None:
    rtol = 1e-12 if dtype == "float64" else 1e-5
    r = engine_results(c, dtype)
    assert r["n_out"] == len(c["value"])
    for got, want in zip(r["value"], c["value"]):
        want = np.asarray(want)
        assert got.shape == want.shape
        if got.dtype.kind == "f":
            assert got.dtype == np.dtype(dtype)
        np.testing.assert_allclose(got, want, rtol=rtol)
    for key in ("g1", "g2", "h"):
        if c.get(key) is None:
            continue
        for name, got, want in zip(c["float_inputs"], r[key], c[key]):
            if want is None:
                assert got is None, f"{key} d/d{name}: TF gives None"
                continue
            assert got is not None, f"{key} d/d{name}: TF gives {want}"
            assert got.dtype == np.dtype(dtype)
            np.testing.assert_allclose(got, np.asarray(want), rtol=rtol, atol=1e-12,
                                       err_msg=f"{key} d/d{name}")
