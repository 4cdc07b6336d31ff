"""Comparison, logic, selection and cast ops (issue 11): values against TF
2.21.0 (tests/tfref_ew/edges.tf.json, replayed in test_ops_elementwise.py),
gradients through where and cast, and errors that name the user's nodes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ops_harness import assert_vjps_match_fd, leaves, value, vjps
from tfgrad.autodiff import backprop
from tfgrad.engine import apply
from tfgrad.graph import GraphError
from tfgrad.plan import Plan
from tfgrad.tensor import tensor

CMP = {"equal": np.equal, "not_equal": np.not_equal, "less": np.less,
       "less_equal": np.less_equal, "greater": np.greater, "greater_equal": np.greater_equal}


@pytest.mark.parametrize("op", sorted(CMP))
def test_comparisons_broadcast_to_bool_without_gradient(op):
    x = np.array([[np.nan], [0.0], [1.0]])
    y = np.array([0.0, 1.0, np.nan, -0.0])
    v = value(op, {"x": x, "y": y})
    assert v.dtype == np.bool_ and v.shape == (3, 4)
    np.testing.assert_array_equal(v, CMP[op](x, y))
    nodes, _ = leaves({"x": x, "y": y})
    out = apply(op, nodes)
    assert out.dtype == "bool"
    assert backprop([(out, tensor("s", out.shape, "bool", "seed"))], [nodes["x"]]) == [None]


def test_ordered_comparison_of_bools_is_an_error():
    nodes, _ = leaves({"x": np.array([True]), "y": np.array([False])})
    with pytest.raises(GraphError) as e:
        apply("less", nodes)
    assert e.value.code == "TG202" and "bool" in str(e.value)
    assert value("equal", {"x": np.array([True, False]), "y": np.array([True, True])}).tolist() == [True, False]


@pytest.mark.parametrize("op,fn", [("logical_and", np.logical_and), ("logical_or", np.logical_or)])
def test_logical_binary(op, fn):
    x, y = np.array([[True], [False]]), np.array([True, False, True])
    np.testing.assert_array_equal(value(op, {"x": x, "y": y}), fn(x, y))


def test_logical_not():
    np.testing.assert_array_equal(value("logical_not", {"x": np.array([True, False])}), [False, True])


@pytest.mark.parametrize("op", ["logical_and", "logical_or", "logical_not"])
def test_logical_ops_reject_float_inputs_naming_the_node(op):
    nodes, _ = leaves({"x": np.array([1.0, 0.0]), "y": np.array([True, False])})
    if op == "logical_not":
        nodes = {"x": nodes["x"]}
    with pytest.raises(GraphError) as e:
        apply(op, nodes)
    assert e.value.code == "TG202" and "x is float64" in str(e.value)


def test_where_broadcasts_and_routes_gradients_with_selects():
    c = np.array([[True], [False]])
    x = np.array([[1.0, -2.0, 0.5]])
    y = np.array(3.0)
    v, g = vjps("where", {"condition": c, "x": x, "y": y}, cot=np.array([[1.0, 2, 3], [4, 5, 6]]))
    np.testing.assert_array_equal(v, [[1, -2, 0.5], [3, 3, 3]])
    np.testing.assert_array_equal(g["x"], [[1, 2, 3]])
    assert g["y"] == 15.0 and g["y"].shape == ()
    assert g["condition"] is None


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**16))
def test_where_matches_finite_differences(seed):
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((2, 1, 3)) > 0
    assert_vjps_match_fd("where", {"condition": c, "x": rng.standard_normal((4, 1)),
                                   "y": rng.standard_normal((3,))},
                         cot=rng.standard_normal((2, 4, 3)))


def test_where_with_one_argument_is_unsupported():
    nodes, _ = leaves({"c": np.array([True, False])})
    with pytest.raises(GraphError) as e:
        apply("where", {"condition": nodes["c"]})
    assert e.value.code == "TG203" and "coordinates" in str(e.value)


def test_where_needs_a_bool_condition():
    nodes, _ = leaves({"c": np.array([1.0, 0.0]), "x": np.ones(2), "y": np.zeros(2)})
    with pytest.raises(GraphError) as e:
        apply("where", {"condition": nodes["c"], "x": nodes["x"], "y": nodes["y"]})
    assert e.value.code == "TG202" and "condition" in str(e.value)


def test_where_nan_branch_gets_zero_then_nan_like_tf():
    # TF 2.21: where(c, x, y) with cot [inf, inf, nan, 0]: gx = [inf, 0, nan, 0]
    c = np.array([True, False, True, False])
    v, g = vjps("where", {"condition": c, "x": np.array([np.nan, np.nan, np.inf, 0.0]),
                          "y": np.array([1.0, 2.0, -np.inf, np.nan])},
                cot=np.array([np.inf, np.inf, np.nan, 0.0]))
    np.testing.assert_array_equal(g["x"], [np.inf, 0, np.nan, 0])
    np.testing.assert_array_equal(g["y"], [0, np.inf, 0, 0])


def _cast_chain(x, mid):
    nodes, env = leaves({"x": x})
    X = nodes["x"]
    c = apply("cast", {"x": X}, {"dtype": mid})
    env["three"] = np.array(3.0, dtype=c.dtype if c.dtype != "bool" else "float64")
    y = apply("cast", {"x": c}, {"dtype": "float64"})
    env["s"] = np.ones(y.shape)
    (g,) = backprop([(y, tensor("s", y.shape, "float64", "seed"))], [X])
    return c, y, g, env


def test_cast_between_floats_keeps_the_gradient():
    c, y, g, env = _cast_chain(np.array([0.1, 2.0]), "float32")
    assert c.dtype == "float32" and g is not None
    yv, gv = Plan([y, g]).run(env)
    assert yv[0] == float(np.float32(0.1)) and gv.dtype == np.float64
    np.testing.assert_array_equal(gv, [1.0, 1.0])


@pytest.mark.parametrize("mid", ["int32", "int64", "bool"])
def test_cast_through_int_or_bool_has_no_gradient(mid):
    c, y, g, env = _cast_chain(np.array([1.5, -2.5, 0.0]), mid)
    assert c.dtype == mid and g is None
    (yv,) = Plan([y]).run(env)
    want = {"int32": [1, -2, 0], "int64": [1, -2, 0], "bool": [1, 1, 0]}[mid]
    np.testing.assert_array_equal(yv, want)  # TF: truncation toward 0; bool is x != 0


def test_cast_to_the_same_dtype_is_a_node_of_its_own():
    nodes, _ = leaves({"x": np.array([1.0])})
    out = apply("cast", nodes, {"dtype": "float64"})
    assert out is not nodes["x"] and out.dtype == "float64"


def test_cast_rejects_unknown_dtypes():
    nodes, _ = leaves({"x": np.array([1.0])})
    with pytest.raises(GraphError) as e:
        apply("cast", nodes, {"dtype": "complex64"})
    assert e.value.code == "TG203"
