"""Run a TF edge case (tests/ops_tf_cases.py) through tfgrad's engine and
compare with TensorFlow's committed answer.

``run`` builds the op with ``engine.apply``, differentiates it with the
reverse sweep (and, with ``w``, differentiates the weighted gradient again)
and evaluates everything in one plan; ``check`` compares value, gradients and
second-order gradients with TF's, the signs of zeros included.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tfgrad.autodiff import backprop
from tfgrad.engine import apply
from tfgrad.plan import Plan
from tfgrad.tensor import tensor


def decode(v: Any) -> Any:
    if isinstance(v, str):
        return float(v)
    if isinstance(v, list):
        return [decode(x) for x in v]
    return v


def arrays(case: dict, dtype: str) -> dict[str, np.ndarray]:
    out = {}
    for k, v in case["inputs"].items():
        if isinstance(v, tuple):
            out[k] = np.asarray(v[1], dtype=v[0])
        else:
            with np.errstate(over="ignore"):  # 1e300 is inf in float32, as in TF
                out[k] = np.asarray(decode(v), dtype=dtype)
    return out


def run(case: dict, dtype: str = "float64") -> dict:
    """tfgrad's value, first-order and (with ``w``) second-order gradients
    for ``case``, keyed like TF's."""
    vals = arrays(case, dtype)
    env: dict[str, np.ndarray] = {}
    nodes = {}
    for k, a in vals.items():
        env[k] = a
        nodes[k] = tensor(k, a.shape, str(a.dtype), "variable")
    out = apply(case["op"], nodes, dict(case["attrs"]), dtype)
    y = out[case["output"] or 0] if isinstance(out, list) else out
    cot = np.ones(y.shape) if case["cot"] is None else np.asarray(case["cot"], dtype=float)
    env["__cot"] = cot.astype(dtype)
    floats = [k for k, a in vals.items() if a.dtype.kind == "f"]
    xs = [nodes[k] for k in floats]
    grads = backprop([(y, tensor("__cot", y.shape, dtype, "seed"))], xs)
    grads2 = None
    if case["w"] is not None:
        seeds = []
        for k, g in zip(floats, grads):
            if g is not None:
                env[f"__w_{k}"] = np.asarray(case["w"][k], dtype=dtype)
                seeds.append((g, tensor(f"__w_{k}", g.shape, dtype, "seed")))
        grads2 = backprop(seeds, xs) if seeds else [None] * len(xs)
    roots = [y] + [g for g in grads if g is not None] + [g for g in (grads2 or []) if g is not None]
    res = iter(Plan(roots).run(env))
    result = {"value": next(res)}
    result["grads"] = {k: (next(res) if g is not None else None) for k, g in zip(floats, grads)}
    if grads2 is not None:
        result["grads2"] = {k: (next(res) if g is not None else None) for k, g in zip(floats, grads2)}
    return result


def assert_same(got: Any, want: Any, dtype: str, what: str) -> None:
    """Equal to TF: same None-ness, nan and inf in the same places, finite
    numbers to 1e-9 relative (float64) or 1e-5 (float32), the sign of zero
    included."""
    if want is None:
        assert got is None, f"{what}: TF gives None, tfgrad {got!r}"
        return
    assert got is not None, f"{what}: tfgrad gives None, TF {want!r}"
    w = np.asarray(decode(want), dtype=np.float64)
    g = np.asarray(got, dtype=np.float64)
    assert g.shape == w.shape, f"{what}: shape {g.shape}, TF {w.shape}"
    assert np.dtype(np.asarray(got).dtype) == np.dtype(dtype), f"{what}: dtype {np.asarray(got).dtype}"
    rtol, atol = (1e-9, 1e-12) if dtype == "float64" else (1e-5, 1e-7)
    np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, equal_nan=True, err_msg=what)
    zero = (w == 0) & (g == 0)
    assert np.array_equal(np.signbit(g[zero]), np.signbit(w[zero])), f"{what}: signs of zeros differ"


def check(case: dict, dtype: str) -> None:
    tf = case["tf"][dtype]
    assert "error" not in tf, tf
    got = run(case, dtype)
    name = case["name"]
    assert_same(got["value"], tf["value"], dtype, f"{name} value ({dtype})")
    for k, want in tf["grads"].items():
        assert_same(got["grads"][k], want, dtype, f"{name} d/d{k} ({dtype})")
    if "grads2" in tf:
        for k, want in tf["grads2"].items():
            assert_same(got["grads2"][k], want, dtype, f"{name} second order d/d{k} ({dtype})")
