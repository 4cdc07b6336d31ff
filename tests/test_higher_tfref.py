"""tfgrad against TensorFlow 2.21's own answers for the higher-order graphs
(tests/tfref/graphs/higher: nested gradients to order 5, MLP hessians, a
gradient penalty, jacobians, batch jacobians, forward mode, second order
through relu/abs/sqrt/tanh/sigmoid/maximum/where/max pooling), in float64
and float32: gradients, ``outputs``, and the sidecars' hessians, jacobians,
batch_jacobians and jvp. Signs of zeros and the places of nan are TF's too."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from tfgrad import engine, higher
from tfgrad.graph import GraphError
from tfgrad.parse import parse_graph

HERE = Path(__file__).parent / "tfref" / "graphs" / "higher"
GRAPHS = sorted(p for p in HERE.glob("*.yaml") if not p.name.endswith(".tfref.yaml"))
TOL = {"float64": (1e-9, 1e-12), "float32": (1e-5, 1e-6)}

# make_refs.py reads grad_ys=[2.0, 1.0] as one literal tensor; TF given that
# Python list raises "Length mismatch. Passed 2 grad_ys for 1 ys" (checked
# with TF 2.21), and so does tfgrad (the last test checks the reference's
# numbers with the list written as one tensor).
TF_RAISES = {"nested-grad-ys-stop"}


def tonp(v):
    a = np.array(v, dtype=object)
    a = np.where(a == "nan", np.nan, np.where(a == "inf", np.inf, np.where(a == "-inf", -np.inf, a)))
    return a.astype(float)


def same(got, want, dtype, what):
    if want is None or got is None:
        assert got is None and want is None, what
        return
    w = tonp(want)
    g = np.asarray(got, dtype=float)
    assert g.shape == w.shape, what
    rtol, atol = TOL[dtype]
    np.testing.assert_allclose(g, w, rtol=rtol, atol=atol * max(1.0, float(np.nanmax(np.abs(w), initial=0))),
                               equal_nan=True, err_msg=what)
    assert np.array_equal(np.isnan(g), np.isnan(w)), what
    z = w == 0
    assert np.array_equal(np.signbit(g[z]), np.signbit(w[z])), f"{what}: signs of zeros differ"


def load(path: Path, dtype: str):
    text = path.read_text()
    if dtype == "float32":
        text = "dtype: float32\n" + text
    return engine.derive(parse_graph(text, str(path)))


CASES = [(p, d) for p in GRAPHS for d in ("float64", "float32")]


@pytest.mark.parametrize("path,dtype", CASES, ids=[f"{p.stem}-{d}" for p, d in CASES])
def test_gradients_and_outputs(path, dtype):
    ref = json.loads(path.with_suffix(".tf.json").read_text())["results"][dtype]
    if path.stem in TF_RAISES:
        with pytest.raises(GraphError, match="grad_ys has 2 entries but ys has 1"):
            load(path, dtype)
        return
    d = load(path, dtype)
    r = engine.compute(d)
    for x, g, w in zip(ref["xs"], r.gradients, ref["gradients"]):
        same(g, w, dtype, f"gradient of {x}")
    if "outputs" in ref:
        for name, value, _ in higher.output_values(d):
            want = ref["outputs"][name]
            if isinstance(value, list):
                for i, (v, w) in enumerate(zip(value, want)):
                    same(v, w, dtype, f"output {name}[{i}]")
            else:
                same(value, want, dtype, f"output {name}")


SIDECARS = [(p, d) for p in GRAPHS if p.with_name(p.stem + ".tfref.yaml").exists()
            for d in ("float64", "float32")]


@pytest.mark.parametrize("path,dtype", SIDECARS, ids=[f"{p.stem}-{d}" for p, d in SIDECARS])
def test_sidecar_requests(path, dtype):
    side = yaml.safe_load(path.with_name(path.stem + ".tfref.yaml").read_text())
    ref = json.loads(path.with_suffix(".tf.json").read_text())["results"][dtype]
    checked = 0
    if "hessians" in ref:
        want = ref["hessians"]
        if isinstance(want, dict):  # TF raised
            assert want["error"] == "None values not supported."
            with pytest.raises(GraphError, match="None values not supported"):
                higher.hessian_values(load(path, dtype))
        else:
            _, got = higher.hessian_values(load(path, dtype))
            for g, w in zip(got, want):
                same(g, w, dtype, "hessian")
        checked += 1
    for key, batch in (("jacobians", False), ("batch_jacobians", True)):
        if key in ref:
            _, _, table = higher.jacobian_values(load(path, dtype), batch)
            for row, wrow in zip(table, ref[key]):
                for g, w in zip(row, wrow):
                    same(g, w, dtype, key)
            checked += 1
    if "jvp" in ref:
        d = load(path, dtype)
        tangents = {k: np.array(v, dtype=float) for k, v in side["jvp"]["tangents"].items()}
        _, got = higher.jvp_values(d, tangents)
        for g, w in zip(got, ref["jvp"]):
            same(g, w, dtype, "jvp")
        checked += 1
    assert checked


def test_whole_graph_double_vjp_differs_from_tf_at_edges():
    """Why forward mode runs per node: one double-VJP over the whole graph
    gives -0.0 where TF's accumulator gives 0.0 (pow4's fifth derivative) and
    None where TF gives zeros (relu's third derivative)."""
    d = load(HERE / "pow4-order5.yaml", "float64")
    x = d.lowered.nodes["x"]
    from tfgrad.plan import Plan
    from tfgrad.tensor import tensor

    d.lowered.env["t"] = np.ones(3)
    t = tensor("t", (3,), "float64", "constant")
    y = d.lowered.nodes["g4"]
    whole, per_node = Plan([higher.jvp_whole(y, [(x, t)]), higher.jvp(y, [(x, t)])]).run(d.lowered.env)
    assert np.signbit(whole[2]) and not np.signbit(per_node[2])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_nested_grad_ys_reference_is_one_grad_ys_tensor(dtype):
    """make_refs.py reads ``grad_ys=[2.0, 1.0]`` as one literal tensor (the
    seed of the single y); TF given that Python list raises, as tfgrad does.
    Written as a list of one tensor, tfgrad gives TF's reference numbers."""
    path = HERE / "nested-grad-ys-stop.yaml"
    ref = json.loads(path.with_suffix(".tf.json").read_text())["results"][dtype]
    text = path.read_text().replace("grad_ys=[2.0, 1.0]", "grad_ys=[[2.0, 1.0]]")
    if dtype == "float32":
        text = "dtype: float32\n" + text
    d = engine.derive(parse_graph(text, str(path)))
    r = engine.compute(d)
    for x, g, w in zip(ref["xs"], r.gradients, ref["gradients"]):
        same(g, w, dtype, f"gradient of {x}")
    outs = {n: v for n, v, _ in higher.output_values(d)}
    same(outs["g"][0], ref["outputs"]["g"][0], dtype, "g[0]")
    assert outs["g"][1] is None and ref["outputs"]["g"][1] is None
    same(outs["u"], ref["outputs"]["u"], dtype, "u")
