"""Higher order on the rank-N engine: gradients/hessians/jacobian/batch_jacobian
ops (built with ``engine.apply``), None gradients, forward mode; TF 2.21's
numbers where they are quoted (tests/tfref/graphs/higher)."""

from __future__ import annotations

import numpy as np
import pytest

from tfgrad import engine, higher
from tfgrad.graph import GraphError
from tfgrad.plan import Plan
from tfgrad.tensor import Absent, tensor


def leaf(name, value, env, kind="variable"):
    a = np.asarray(value, dtype=np.float64)
    env[name] = a
    return tensor(name, a.shape, "float64", kind)


def same(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    assert a.shape == b.shape
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=0, equal_nan=True)
    z = b == 0
    assert np.array_equal(np.signbit(a[z]), np.signbit(b[z])), (a, b)


def test_pow4_five_nested_gradients():
    env = {}
    x = leaf("x", [0.0, 1.0, -2.0], env)
    y = engine.apply("pow", {"x": x, "y": leaf("c", 4.0, env, "literal")})
    gs, cur = [], y
    for _ in range(5):
        cur = engine.apply("gradients", {"ys": cur, "xs": x})
        gs.append(cur)
    vals = Plan(gs).run(env)
    same(vals[0], [0, 4, -32])
    same(vals[1], [0, 12, 48])
    same(vals[2], [0, 24, -48])
    same(vals[3], [24, 24, 24])
    same(vals[4], [np.nan, 0.0, -0.0])  # TF 2.21: pow's gradient at 0 (log(0) * 0)


def test_list_of_xs_is_a_list_and_one_x_a_tensor():
    env = {}
    a = leaf("a", 2.0, env)
    b = leaf("b", [1.0, 3.0], env)
    y = engine.apply("multiply", {"x": a, "y": b})
    one = engine.apply("gradients", {"ys": y, "xs": a})
    listed = engine.apply("gradients", {"ys": y, "xs": [a]})
    assert not isinstance(one, list) and isinstance(listed, list) and len(listed) == 1
    same(Plan([one]).run(env)[0], 4.0)


def test_unconnected_is_absent_and_zero_gives_zeros():
    env = {}
    a = leaf("a", 2.0, env)
    b = leaf("b", [1.0, 3.0], env)
    y = engine.apply("square", {"x": a})
    ga, gb = engine.apply("gradients", {"ys": y, "xs": [a, b]})
    assert type(gb) is Absent and "does not depend" in gb.why
    gz = engine.apply("gradients", {"ys": y, "xs": b}, {"unconnected_gradients": "zero"})
    same(Plan([gz]).run(env)[0], [0.0, 0.0])


def test_stop_gradients_reason():
    env = {}
    a = leaf("a", 2.0, env)
    c = engine.apply("square", {"x": a})
    y = engine.apply("exp", {"x": c})
    g = engine.apply("gradients", {"ys": y, "xs": a, "stop_gradients": [c]})
    assert type(g) is Absent and "stop_gradients" in g.why


def test_grad_ys_length_mismatch_is_an_error():
    # TF: ValueError: Length mismatch. Passed 2 grad_ys for 1 ys
    env = {}
    a = leaf("a", 2.0, env)
    y = engine.apply("square", {"x": a})
    with pytest.raises(GraphError, match="grad_ys has 2 entries"):
        engine.apply("gradients", {"ys": y, "xs": a, "grad_ys": [leaf("s", 1.0, env), leaf("t", 1.0, env)]})


def test_hessians_of_linear_least_squares_is_2_xtx():
    env = {}
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5, 3))
    w = leaf("w", rng.standard_normal((3, 1)), env)
    xc = leaf("X", X, env, "constant")
    r = engine.apply("matmul", {"a": xc, "b": w})
    loss = engine.apply("reduce_sum", {"input_tensor": engine.apply("square", {"x": r})})
    h = engine.apply("hessians", {"ys": loss, "xs": w})
    assert h.shape == (3, 1, 3, 1)
    np.testing.assert_allclose(Plan([h]).run(env)[0].reshape(3, 3), 2 * X.T @ X, rtol=1e-12)


def test_jacobian_and_batch_jacobian_shapes_and_values():
    env = {}
    x = leaf("x", [[1.5, 1.0], [1.5, 1.5]], env)
    w = leaf("w", [[0.0, 1.0, 0.0], [-0.5, 0.0, 0.25]], env)
    y = engine.apply("tanh", {"x": engine.apply("matmul", {"a": x, "b": w})})
    j = engine.apply("jacobian", {"target": y, "source": x})
    bj = engine.apply("batch_jacobian", {"target": y, "source": x})
    assert j.shape == (2, 3, 2, 2) and bj.shape == (2, 3, 2)
    jv, bv = Plan([j, bj]).run(env)
    for b in range(2):
        np.testing.assert_allclose(bv[b], jv[b, :, b, :], rtol=1e-12)
    # TF 2.21 (tests/tfref/graphs/higher/jacobian-ops): bj[0, 0] = [0.0, -0.39322...]
    np.testing.assert_allclose(bv[0, 0], [0.0, -0.3932238664829637], rtol=1e-12)


def test_batch_jacobian_needs_equal_batch():
    env = {}
    x = leaf("x", [[1.0, 2.0]], env)
    y = leaf("y", [[1.0], [2.0]], env)
    with pytest.raises(GraphError, match="same first dimension"):
        engine.apply("batch_jacobian", {"target": y, "source": x})


# -- the command line ------------------------------------------------------------------

import json as _json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from hypothesis import given, settings, strategies as st

from tfgrad.commands import cli

ROOT = Path(__file__).resolve().parent.parent
HIGHER = ROOT / "tests" / "tfref" / "graphs" / "higher"
GALLERY = ROOT / "graphs" / "higher"


def invoke(*args, input=None):
    return CliRunner().invoke(cli, [str(a) for a in args], input=input)


def test_hessian_command_json_and_text():
    r = invoke("hessian", GALLERY / "01-hessian.yaml", "--format", "json")
    assert r.exit_code == 0, r.output
    doc = _json.loads(r.output)
    assert doc["xs"] == ["w"] and doc["hessians"] == [[[[[4], [-2]]], [[[-2], [28]]]]]
    r = invoke("hessian", GALLERY / "01-hessian.yaml")
    assert r.output.startswith("w  (2, 1, 2, 1) =\n  [[[[ 4],")


def test_hessian_command_none_is_tfs_error():
    r = invoke("hessian", HIGHER / "second-order-abs.yaml")
    assert r.exit_code == 2 and "None values not supported" in r.output


def test_jacobian_command_batch_and_overrides():
    r = invoke("jacobian", HIGHER / "jacobian-ops.yaml", "--batch", "--xs", "x", "--format", "json")
    assert r.exit_code == 0, r.output
    doc = _json.loads(r.output)
    assert doc["xs"] == ["x"] and np.asarray(doc["batch_jacobians"][0][0]).shape == (2, 3, 2)
    r = invoke("jacobian", HIGHER / "jacobian-ops.yaml", "--batch", "--set", "x=[[1, 1], [1, 1], [1, 1]]",
               "--xs", "w")
    assert r.exit_code == 2 and "same first (batch) dimension" in r.output


def test_jvp_command():
    r = invoke("jvp", HIGHER / "pow4-order5.yaml", "--tangent", "x=[1, 1, 1]", "--format", "json")
    assert r.exit_code == 0, r.output
    assert _json.loads(r.output)["jvp"] == [["nan", 0.0, 0.0]]  # TF's ForwardAccumulator
    r = invoke("jvp", HIGHER / "pow4-order5.yaml", "--tangent", "x=1")  # a scalar broadcasts
    assert r.output == "g4  (3,) = [nan, 0.0, 0.0]\n"
    r = invoke("jvp", HIGHER / "pow4-order5.yaml", "--tangent", "y=1")
    assert r.exit_code == 2 and "not a variable or constant" in r.output
    r = invoke("jvp", HIGHER / "pow4-order5.yaml", "--tangent", "x=[1, 2]")
    assert r.exit_code == 2 and "shape" in r.output


def test_run_prints_outputs_with_lists_and_none(tmp_path):
    f = tmp_path / "g.yaml"
    f.write_text("variables:\n  a: 2.0\n  b: [1.0, 3.0]\nops:\n  y: square(a)\n"
                 "  g: gradients(y, [a, b])\nys: y\nxs: [a]\noutputs: [g, y]\n")
    r = invoke("run", f, "--format", "json")
    assert r.exit_code == 0, r.output
    assert _json.loads(r.output)["outputs"] == {"g": [4.0, None], "y": 4.0}
    r = invoke("run", f)
    assert r.output.endswith("outputs:\ng[0]  () = 4.0\ng[1]  () = None\ny     () = 4.0\n")


def test_using_a_none_gradient_is_an_error_naming_x_and_why(tmp_path):
    f = tmp_path / "g.yaml"
    f.write_text("variables:\n  a: 2.0\n  b: [1.0, 3.0]\nops:\n  y: square(a)\n"
                 "  g: gradients(y, [a, b])\n  z: g[1] * 2.0\nys: z\nxs: [a]\n")
    r = invoke("run", f)
    assert r.exit_code == 2
    assert "is None: y does not depend on b" in r.output and "TG" not in r.output.split(":")[0]


def test_check_expect_hessian_codes(tmp_path):
    text = (GALLERY / "01-hessian.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("[[[[4], [-2]]], [[[-2], [28]]]]", "[[[[4], [-2]]], [[[-2], [27]]]]"))
    r = invoke("check", bad, "--format", "json")
    assert r.exit_code == 1 and "TG301" in r.output and "Hessian of 'w'" in r.output
    shape = tmp_path / "shape.yaml"
    shape.write_text(text.replace("[[[[4], [-2]]], [[[-2], [28]]]]", "[[4, -2], [-2, 28]]"))
    r = invoke("check", shape)
    assert r.exit_code == 1 and "TG301" in r.output and "(2, 1, 2, 1)" in r.output
    none = tmp_path / "none.yaml"
    none.write_text(text.replace("[[[[4], [-2]]], [[[-2], [28]]]]", "null"))
    r = invoke("check", none)
    assert r.exit_code == 1 and "TG302" in r.output


def test_check_hessian_gradcheck_notes_a_kink(tmp_path):
    f = tmp_path / "kink.yaml"
    f.write_text("variables:\n  x: [0.0, 1.0]\nops:\n  y: reduce_sum(relu(x) * x)\nys: y\nxs: [x]\n"
                 "expect_hessian:\n  x: [[0.0, 0.0], [0.0, 2.0]]\n")
    r = invoke("check", f, "-v")
    assert r.exit_code == 0, r.output
    assert "TG402" in r.output and "hessian finite-difference check" in r.output


def test_check_hessian_gradcheck_fails_a_wrong_rule(tmp_path, monkeypatch):
    import tfgrad.higher as H

    real = H.hessian_values

    def off(d):
        names, vals = real(d)
        return names, [v + 1.0 for v in vals]

    monkeypatch.setattr(H, "hessian_values", off)
    f = tmp_path / "q.yaml"
    f.write_text("variables:\n  x: [0.5, 1.0]\nops:\n  y: reduce_sum(x * x * x)\nys: y\nxs: [x]\n"
                 "expect_hessian:\n  x: [[4.0, 1.0], [1.0, 7.0]]\n")
    r = invoke("check", f)
    assert r.exit_code == 1 and "TG401" in r.output and "central difference of the gradient" in r.output


def test_gallery_expect_is_tfs():
    for f in sorted(GALLERY.glob("*.yaml")):
        ref = _json.loads((ROOT / "tests" / "tfref" / "gallery" / "higher" / (f.stem + ".tf.json"))
                          .read_text())["results"]["float64"]
        import yaml

        doc = yaml.safe_load(f.read_text())
        for x, g in zip(ref["xs"], ref["gradients"]):
            np.testing.assert_allclose(np.asarray(doc["expect"][x], float), np.asarray(g, float),
                                       rtol=1e-12, err_msg=f"{f.name} {x}")
    r = invoke("check", GALLERY)
    assert r.exit_code == 0, r.output


# -- a property: second order against differences of the gradient ------------------------

UNARY = ["tanh", "sigmoid", "exp", "square", "sin", "softplus", "sqrt", "log"]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(UNARY), min_size=1, max_size=4),
       st.lists(st.floats(0.3, 1.7), min_size=3, max_size=3))
def test_hessian_matches_differences_of_gradients(chain, xs):
    """For f = reduce_sum(w * u_k(...u_1(x))) with a mixing matmul, the hessians
    op equals central differences of the gradients op (positive inputs keep
    sqrt and log smooth)."""
    from tfgrad.opdefs import REGISTRY

    env = {}
    x = leaf("x", xs, env)
    m = leaf("m", [[0.9, 0.1, 0.2], [0.05, 0.8, 0.1], [0.1, 0.1, 0.7]], env, "constant")
    h = engine.apply("reshape", {"tensor": engine.apply(
        "matmul", {"a": engine.apply("reshape", {"tensor": x}, {"shape": [1, 3]}), "b": m}),
    }, {"shape": [3]})
    for fn in chain:
        if fn not in REGISTRY:
            continue
        h = engine.apply(fn, {REGISTRY[fn].tensor_params[0].name: h})
        if fn in ("exp", "square"):  # keep values in range for the next link
            h = engine.apply("tanh", {"x": h})
            h = engine.apply("add", {"x": h, "y": leaf(f"one{len(env)}", 1.5, env, "constant")})
    y = engine.apply("reduce_sum", {"input_tensor": h})
    g = engine.apply("gradients", {"ys": y, "xs": x})
    hess = engine.apply("hessians", {"ys": y, "xs": x})
    plan_g, plan_h = Plan([g]), Plan([hess])
    H = plan_h.run(env)[0]
    x0 = env["x"].copy()
    step = 1e-6
    for k in range(3):
        up, down = x0.copy(), x0.copy()
        up[k] += step
        down[k] -= step
        fd = (plan_g.run({**env, "x": up})[0] - plan_g.run({**env, "x": down})[0]) / (2 * step)
        np.testing.assert_allclose(H[:, k], fd, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(H, H.T, rtol=1e-9, atol=1e-12)


def test_readme_higher_order_recipes_print_what_they_show():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### `tfgrad hessian FILE`")[1].split("\n### ")[0]
    console = section.split("```console\n")[1].split("```")[0]
    import shlex

    blocks = [b for b in console.split("$ ") if b.strip()]
    assert len(blocks) == 3
    for block in blocks:
        cmd, _, want = block.partition("\n")
        argv = shlex.split(cmd)
        assert argv[0] == "tfgrad"
        import os

        cwd = os.getcwd()
        os.chdir(ROOT)  # the recipes' paths are relative to the repository
        try:
            r = CliRunner().invoke(cli, argv[1:], catch_exceptions=False)
        finally:
            os.chdir(cwd)
        assert r.exit_code == 0, (cmd, r.output)
        assert r.output == want, cmd
    example = section.split("```yaml\n")[1].split("```")[0]
    r = invoke("run", "-", input=example)
    assert r.exit_code == 0 and r.output.startswith("x  (3,) = [0.0, 24.0, -48.0]\noutputs:\ng1")


def test_forward_mode_builds_linear_size_expressions():
    """jvps rebuilds each node's tangent without walking the tangents it
    builds on: the tangent of a long chain has O(length) nodes and the
    build does O(length) work (a walk per node made 2,000 ops take 17 s)."""
    from tfgrad.tensor import walk

    env = {}
    x = leaf("x", [0.5, -0.25], env)
    h = x
    for _ in range(1500):
        h = engine.apply("tanh", {"x": h})
    (tn,) = higher.jvps([h], [(x, leaf("t", [1.0, 0.0], env, "constant"))])
    assert len(walk([tn])) < 10 * 1500  # linear in the depth: one tangent node or so per op
    v = Plan([tn]).run(env)[0]
    assert np.isfinite(v).all()
