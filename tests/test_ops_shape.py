"""Shape ops (broadcast_to, tile, concat, stack, unstack, split,
zeros_like, ones_like, and the older reshape family): TF 2.21's numbers
(tests/data/ops_shape_tf.json, first and second order), central finite
differences on random shapes of rank 1-4, and errors naming the user's nodes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ops_harness import assert_vjps_match_fd, leaves, value, vjps
from ops_shape_ref import CASES, TF_VERSION, assert_matches_tf, case_id
from tfgrad.autodiff import backprop
from tfgrad.engine import apply
from tfgrad.graph import GraphError
from tfgrad.opdefs import REGISTRY
from tfgrad.plan import Plan
from tfgrad.tensor import add, tensor

SHAPE_OPS = ("broadcast_to", "tile", "concat", "stack", "unstack", "split", "zeros_like", "ones_like")
REF = [c for c in CASES if c.get("op") in SHAPE_OPS]
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_reference_version():
    assert TF_VERSION == "2.21.0"


@pytest.mark.parametrize("case", REF, ids=[case_id(c) for c in REF])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_tf_reference(case, dtype):
    assert_matches_tf(case, dtype)


def test_every_op_of_the_family_is_registered_with_every_field():
    for name in SHAPE_OPS + ("slice", "strided_slice", "gather", "gather_nd", "reverse", "pad", "one_hot"):
        op = REGISTRY[name]
        assert op.doc and op.rule and op.tf and op.family == "shape", name


shapes = st.lists(st.integers(1, 3), min_size=1, max_size=4).map(tuple)


def _x(seed: int, shape) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


@SETTINGS
@given(shapes, st.data())
def test_broadcast_to_fd(shape, data):
    lead = tuple(data.draw(st.lists(st.integers(1, 3), max_size=2)))
    target = lead + tuple(d if data.draw(st.booleans()) else d for d in shape)
    xs = tuple(1 if data.draw(st.booleans()) else d for d in shape)
    x = _x(1, xs)
    np.testing.assert_array_equal(value("broadcast_to", {"input": x}, {"shape": list(target)}),
                                  np.broadcast_to(x, target))
    assert_vjps_match_fd("broadcast_to", {"input": x}, {"shape": list(target)}, cot=_x(2, target))


@SETTINGS
@given(shapes, st.data())
def test_tile_fd(shape, data):
    m = [data.draw(st.integers(0, 3)) for _ in shape]
    x = _x(3, shape)
    out = value("tile", {"input": x}, {"multiples": m})
    np.testing.assert_array_equal(out, np.tile(x, m))
    if out.size:
        assert_vjps_match_fd("tile", {"input": x}, {"multiples": m}, cot=_x(4, out.shape))


@SETTINGS
@given(shapes, st.data())
def test_concat_fd(shape, data):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    n = data.draw(st.integers(1, 3))
    parts = []
    for i in range(n):
        s = list(shape)
        s[axis] = data.draw(st.integers(0, 3))
        parts.append(_x(10 + i, tuple(s)))
    out = value("concat", {"values": parts}, {"axis": axis})
    np.testing.assert_array_equal(out, np.concatenate(parts, axis=axis))
    assert_vjps_match_fd("concat", {"values": parts}, {"axis": axis}, cot=_x(5, out.shape))


@SETTINGS
@given(shapes, st.data())
def test_stack_fd(shape, data):
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    parts = [_x(20 + i, shape) for i in range(data.draw(st.integers(1, 3)))]
    out = value("stack", {"values": parts}, {"axis": axis})
    np.testing.assert_array_equal(out, np.stack(parts, axis=axis))
    assert_vjps_match_fd("stack", {"values": parts}, {"axis": axis}, cot=_x(6, out.shape))


def _multi_vjp(op, x, attrs, cots):
    """d sum_k sum(cots[k] * out_k) / dx through the sweep (unused outputs: None)."""
    nodes, env = leaves({"value": x})
    outs = apply(op, nodes, attrs)
    seeds = []
    for k, (o, c) in enumerate(zip(outs, cots)):
        if c is None:
            continue
        env[f"s{k}"] = np.asarray(c)
        seeds.append((o, tensor(f"s{k}", o.shape, "float64", "seed")))
    (g,) = backprop(seeds, [nodes["value"]])
    return Plan([g]).run(env)[0], Plan(outs).run(env)


@SETTINGS
@given(shapes, st.data())
def test_unstack_and_split_fd(shape, data):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = _x(30, shape)
    d = shape[axis]
    outs = value("unstack", {"value": x}, {"axis": axis})
    assert len(outs) == d
    for k, o in enumerate(outs):
        np.testing.assert_array_equal(o, np.take(x, k, axis=axis))
    cuts = sorted(data.draw(st.lists(st.integers(0, d), max_size=3)))
    sizes = list(np.diff([0] + cuts + [d]))
    outs = value("split", {"value": x}, {"num_or_size_splits": sizes, "axis": axis})
    for o, w in zip(outs, np.split(x, cuts, axis=axis)):
        np.testing.assert_array_equal(o, w)
    # the cotangent of the input stacks/concatenates the outputs' cotangents, zeros where unused
    for op, attrs in (("unstack", {"axis": axis}), ("split", {"num_or_size_splits": sizes, "axis": axis})):
        nodes, _ = leaves({"value": x})
        shapes_ = [o.shape for o in apply(op, nodes, attrs)]
        cots = [(_x(40 + k, s) if k % 2 == 0 else None) for k, s in enumerate(shapes_)]
        g, _ = _multi_vjp(op, x, attrs, cots)
        full = [c if c is not None else np.zeros(s) for c, s in zip(cots, shapes_)]
        want = (np.stack(full, axis=axis) if op == "unstack" else np.concatenate(full, axis=axis))
        np.testing.assert_array_equal(g, want)
        for k in range(len(shapes_)):
            assert_vjps_match_fd(op, {"value": x}, attrs, cot=_x(50, shapes_[k]), output=k)


def test_split_by_number_and_inferred_size():
    x = np.arange(12.0).reshape(6, 2)
    a, b, c = value("split", {"value": x}, {"num_or_size_splits": 3})
    np.testing.assert_array_equal(b, x[2:4])
    p, q = value("split", {"value": x}, {"num_or_size_splits": [-1, 1], "axis": 1})
    np.testing.assert_array_equal(p, x[:, :1])


def test_split_and_unstack_declare_their_outputs():
    assert REGISTRY["split"].n_outputs({"num_or_size_splits": [1, 2, -1]}) == 3
    assert REGISTRY["split"].n_outputs({"num_or_size_splits": 4}) == 4
    assert REGISTRY["unstack"].n_outputs({"num": 5}) == 5


def test_zeros_like_and_ones_like_have_no_gradient_to_their_input():
    for op, fill in (("zeros_like", 0), ("ones_like", 1)):
        out, g = vjps(op, {"input": np.array([[1.0, 2.0]])})
        np.testing.assert_array_equal(out, [[fill, fill]])
        assert g == {"input": None}
    assert value("ones_like", {"input": np.array([1, 2])}).dtype == np.int64
    assert value("zeros_like", {"input": np.ones(2)}, {"dtype": "int32"}).dtype == np.int32


def test_a_movement_that_changes_nothing_is_still_a_node_of_its_own():
    nodes, _ = leaves({"x": np.ones((2, 3))})
    x = nodes["x"]
    for op, attrs in (("broadcast_to", {"shape": [2, 3]}), ("tile", {"multiples": [1, 1]}),
                      ("concat", {"axis": 0}), ("split", {"num_or_size_splits": 1})):
        key = {"broadcast_to": "input", "tile": "input", "concat": "values", "split": "value"}[op]
        out = apply(op, {key: [x] if op == "concat" else x}, attrs)
        out = out[0] if isinstance(out, list) else out
        assert out is not x and out.shape == x.shape, op


@pytest.mark.parametrize("op,inputs,attrs,words", [
    ("broadcast_to", {"input": np.ones((2, 3))}, {"shape": [3, 3]}, ["(2, 3)", "(3, 3)", "axis -2"]),
    ("broadcast_to", {"input": np.ones((2, 3))}, {"shape": [3]}, ["fewer axes"]),
    ("tile", {"input": np.ones((2, 3))}, {"multiples": [2]}, ["one entry per axis", "(2, 3)"]),
    ("tile", {"input": np.ones((2, 3))}, {"multiples": [2, -1]}, ["negative"]),
    ("concat", {"values": [np.ones((2, 3)), np.ones((2, 2))]}, {"axis": 0}, ["(2, 3)", "(2, 2)", "axis 0"]),
    ("concat", {"values": [np.array(1.0), np.array(2.0)]}, {"axis": 0}, ["scalars"]),
    ("stack", {"values": [np.ones((2, 3)), np.ones((3, 2))]}, {"axis": 0}, ["(2, 3)", "(3, 2)"]),
    ("unstack", {"value": np.ones((2, 3))}, {"num": 3}, ["num 3", "size 2"]),
    ("unstack", {"value": np.array(1.0)}, {}, ["scalar"]),
    ("split", {"value": np.ones((4, 3))}, {"num_or_size_splits": 3}, ["size 4", "3 parts"]),
    ("split", {"value": np.ones((4, 3))}, {"num_or_size_splits": [1, 2]}, ["add up to 3", "size 4"]),
    ("split", {"value": np.ones((4, 3))}, {"num_or_size_splits": [-1, -1]}, ["at most one -1"]),
    ("split", {"value": np.ones((4, 3))}, {"num_or_size_splits": [5, -1]}, ["more than the size 4"]),
    ("split", {"value": np.ones((4, 3))}, {"num_or_size_splits": 2, "num": 3}, ["num 3"]),
])
def test_bad_shapes_are_tg202_errors(op, inputs, attrs, words):
    nodes, env = leaves(inputs)
    with pytest.raises(GraphError) as e:
        apply(op, nodes, attrs, values=env)
    assert e.value.code == "TG202", e.value.message
    for w in words:
        assert w in e.value.message, (w, e.value.message)


@pytest.mark.parametrize("op,inputs,attrs", [
    ("concat", {"values": [np.ones(2), np.ones(2)]}, {"axis": 1}),
    ("stack", {"values": [np.ones(2)]}, {"axis": 2}),
    ("split", {"value": np.ones(2)}, {"num_or_size_splits": 1, "axis": -2}),
])
def test_an_axis_out_of_range_is_an_attribute_error(op, inputs, attrs):
    nodes, env = leaves(inputs)
    with pytest.raises(GraphError) as e:
        apply(op, nodes, attrs, values=env)
    assert e.value.code == "TG203" and "axis" in e.value.message


def test_concat_of_mixed_dtypes_names_both():
    nodes, _ = leaves({"values": [np.ones(2), np.ones(2)]})
    nodes["values"][1] = tensor("values1", (2,), "float32", "variable")
    with pytest.raises(GraphError, match="values\\[0\\] is float64 and values\\[1\\] is float32"):
        apply("concat", nodes, {"axis": 0})


def test_gradient_of_gradient_through_tile_and_concat_is_the_fd_of_the_gradient():
    # d/dx sum(v * d/dx sum(c * f(x)^2)) for f = concat([tile(x), x]): second
    # order through broadcast/reshape/slice/concat VJPs, checked by differences.
    x0 = _x(60, (2, 3))
    c = _x(61, (6, 3))
    v = _x(62, (2, 3))

    def grad_of(xv, second):
        nodes, env = leaves({"x": xv})
        x = nodes["x"]
        t = apply("tile", {"input": x}, {"multiples": [2, 1]})
        y = apply("concat", {"values": [t, x]}, {"axis": 0})
        from tfgrad.tensor import ew, reduce

        env["c"], env["v"], env["one"] = c, v, np.ones(())
        (g,) = backprop([(ew("square", y), tensor("c", y.shape, "float64", "seed"))], [x])
        if not second:
            return Plan([g]).run(env)[0]
        s = reduce("sum", (0, 1), ew("multiply", tensor("v", x.shape, "float64", "seed"), g))
        (h,) = backprop([(add(s), tensor("one", (), "float64", "seed"))], [x])
        return Plan([h]).run(env)[0]

    h = grad_of(x0, True)
    fd = np.zeros_like(x0)
    for j in range(x0.size):
        up, dn = x0.copy(), x0.copy()
        up.flat[j] += 1e-6
        dn.flat[j] -= 1e-6
        fd.flat[j] = (np.sum(v * grad_of(up, False)) - np.sum(v * grad_of(dn, False))) / 2e-6
    np.testing.assert_allclose(h, fd, rtol=1e-6, atol=1e-8)
