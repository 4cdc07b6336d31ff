"""Reductions, scans and arg-reductions (opdefs/reduce.py): TensorFlow's
numbers at the edges (first and second order, float64 and float32; see
ops_tf_cases.py for the TF version), central finite differences at smooth
points over random shapes of rank 0-4, random axes and keepdims, and the
errors naming the user's nodes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ops_harness import assert_vjps_match_fd, value, vjps
from ops_tf_cases import CASES
from ops_tf_check import check
from tfgrad.funcs import FUNCS
from tfgrad.graph import GraphError

# Elementwise functions from the elementwise family that some lowerings or
# VJPs use; a case that needs a missing one is skipped, not failed.
NEEDS = {
    "reduce_prod": ("divide_no_nan",),  # second order: _CumprodGrad's div_no_nan
    "cumprod": ("divide_no_nan",),
    "l2_normalize": ("rsqrt",),
}


def _skip_missing(op: str) -> None:
    missing = [f for f in NEEDS.get(op, ()) if f not in FUNCS]
    if missing:
        pytest.skip(f"{op} needs {', '.join(missing)} (elementwise family)")


REDUCE_CASES = [c for c in CASES if c["family"] == "reduce"]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", REDUCE_CASES, ids=[c["name"] for c in REDUCE_CASES])
def test_tensorflow_edges(case, dtype):
    _skip_missing(case["op"])
    check(case, dtype)


# -- the cases, spelled out ------------------------------------------------------

def test_reduce_max_splits_ties_equally():
    _, g = vjps("reduce_max", {"input_tensor": np.array([[3.0, 1.0, 3.0]])}, {"axis": 1})
    np.testing.assert_array_equal(g["input_tensor"], [[0.5, 0.0, 0.5]])


def test_reduce_prod_with_one_and_two_zeros():
    x = np.array([[2.0, 3.0, 0.5], [2.0, 0.0, 4.0], [0.0, 5.0, 0.0]])
    _, g = vjps("reduce_prod", {"input_tensor": x}, {"axis": 1})
    np.testing.assert_array_equal(g["input_tensor"], [[1.5, 1.0, 6.0], [0.0, 8.0, 0.0], [0.0, 0.0, 0.0]])


def test_norm_of_a_zero_row_has_a_nan_gradient():
    _, g = vjps("norm", {"tensor": np.array([[3.0, -4.0], [0.0, 0.0]])}, {"axis": 1})
    np.testing.assert_allclose(g["tensor"][0], [0.6, -0.8])
    assert np.isnan(g["tensor"][1]).all()


def test_argmax_default_axis_ties_nan_and_dtype():
    x = np.array([[1.0, 5.0, 5.0], [3.0, np.nan, 0.0]])
    np.testing.assert_array_equal(value("argmax", {"input": x}), [1, 0, 0])
    r = value("argmax", {"input": x}, {"axis": 1, "output_type": "int32"})
    assert r.dtype == np.int32
    np.testing.assert_array_equal(r, [1, 0])  # TF skips nan: [3, nan, 0] -> 0
    np.testing.assert_array_equal(value("argmin", {"input": x}, {"axis": -1}), [0, 2])
    np.testing.assert_array_equal(value("argmin", {"input": np.array([np.nan, 1.0, 3.0])}), 1)


def test_argmax_has_no_gradient():
    x = np.array([[1.0, 5.0], [3.0, 0.0]])
    from ops_harness import leaves
    from tfgrad.autodiff import backprop
    from tfgrad.engine import apply
    from tfgrad.tensor import tensor

    nodes, _ = leaves({"input": x})
    out = apply("argmax", nodes, {"axis": 1})
    assert out.dtype == "int64"
    assert backprop([(out, tensor("s", out.shape, "int64", "seed"))], [nodes["input"]]) == [None]


def test_cumsum_of_negative_zero_is_positive_zero():
    # TF's scan starts from 0 (0 + -0.0 = +0.0); NumPy's keeps -0.0.
    r = value("cumsum", {"x": np.array([-0.0, -0.0, 1.0])})
    assert not np.signbit(r).any()


def test_float32_stays_float32_and_inputs_are_not_written():
    x = np.array([[3.0, 1.0, 3.0], [0.5, -2.0, 1.0]], dtype=np.float32)
    for op, params, attrs in [
        ("reduce_max", "input_tensor", {"axis": 1}), ("reduce_min", "input_tensor", {}),
        ("reduce_prod", "input_tensor", {"axis": [0, 1]}), ("reduce_logsumexp", "input_tensor", {}),
        ("reduce_variance", "input_tensor", {"axis": 0}), ("reduce_std", "input_tensor", {}),
        ("norm", "tensor", {"axis": 1}), ("cumsum", "x", {"axis": 1, "reverse": True}),
        ("cumprod", "x", {"exclusive": True}),
    ]:
        if any(f not in FUNCS for f in NEEDS.get(op, ())):
            continue
        y, g = vjps(op, {params: x}, attrs, dtype="float32")
        assert y.dtype == np.float32, op
        assert g[params].dtype == np.float32, op


def test_kernels_accept_read_only_broadcast_views():
    from tfgrad.moves import MOVES
    from tfgrad.autodiff import REDUCTIONS

    x = np.broadcast_to(np.array([1.0, -2.0, 0.5]), (2, 3))
    assert not x.flags.writeable
    for kind in ("max", "min", "prod", "sum"):
        REDUCTIONS[kind][0](x, (1,))
        REDUCTIONS[kind][0](x, ())
    MOVES["cumsum"].np(x, 1, True, True)
    MOVES["cumprod"].np(x, 0, True, False)
    MOVES["argmax"].np(x, 1, "int64")


# -- errors ------------------------------------------------------------------------------

def _err(op, inputs, attrs=None):
    from ops_harness import leaves
    from tfgrad.engine import apply

    nodes, _ = leaves(inputs)
    with pytest.raises(GraphError) as e:
        apply(op, nodes, attrs)
    return e.value


def test_errors_name_the_node_and_carry_codes():
    e = _err("reduce_max", {"input_tensor": np.zeros((2, 3))}, {"axis": 2})
    assert e.code == "TG203" and "input_tensor" in e.message and "rank 2" in e.message
    e = _err("cumsum", {"x": np.array(1.0)})
    assert e.code == "TG202" and "scalar" in e.message
    e = _err("argmax", {"input": np.array(1.0)})
    assert e.code == "TG202"
    e = _err("norm", {"tensor": np.zeros((2, 2))}, {"ord": -1})
    assert e.code == "TG203" and "ord" in e.message
    e = _err("norm", {"tensor": np.zeros((2, 2))}, {"ord": 2, "axis": [0, 1]})
    assert e.code == "TG203" and "singular value" in e.message
    e = _err("norm", {"tensor": np.zeros((2, 2))}, {"axis": [0, 0]})
    assert e.code == "TG203"
    e = _err("reduce_logsumexp", {"input_tensor": np.array([1, 2], dtype=np.int32)})
    assert e.code == "TG202" and "int32" in e.message


# -- finite differences at smooth points --------------------------------------------------

def _shape(max_rank=4, min_rank=0):
    return st.lists(st.integers(1, 3), min_size=min_rank, max_size=max_rank).map(tuple).filter(
        lambda s: int(np.prod(s)) <= 12)


@st.composite
def _case(draw, min_rank=0, distinct=False, away_from_zero=False):
    shape = draw(_shape(min_rank=min_rank))
    n = int(np.prod(shape))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    if distinct:
        x = rng.permutation(n) * 0.37 - 1.1 + rng.uniform(-0.05, 0.05, n)
    else:
        x = rng.normal(size=n)
    if away_from_zero:
        x = np.sign(x + 1e-9) * (0.5 + np.abs(x) % 1.0)
    x = x.reshape(shape)
    rank = len(shape)
    if rank and draw(st.booleans()):
        axis = draw(st.lists(st.integers(-rank, rank - 1), min_size=1, max_size=rank,
                             unique_by=lambda a: a % rank))
        axis = axis[0] if len(axis) == 1 and draw(st.booleans()) else axis
    else:
        axis = None
    cot_seed = rng.normal(size=64)
    return x, axis, draw(st.booleans()), cot_seed


SETTINGS = settings(max_examples=12, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def _fd(op, param, x, attrs, cot_seed, **kw):
    y = value(op, {param: x}, attrs)
    cot = cot_seed[: np.size(y)].reshape(np.shape(y)) if np.size(y) else np.ones(np.shape(y))
    assert_vjps_match_fd(op, {param: x}, attrs, cot=cot, **kw)


@pytest.mark.parametrize("op", ["reduce_sum", "reduce_mean", "reduce_max", "reduce_min",
                                "reduce_logsumexp", "reduce_variance"])
@SETTINGS
@given(data=_case(distinct=True))
def test_reductions_match_finite_differences(op, data):
    x, axis, keep, cs = data
    _fd(op, "input_tensor", x, {"axis": axis, "keepdims": keep}, cs)


@SETTINGS
@given(data=_case(away_from_zero=True))
def test_reduce_prod_matches_finite_differences(data):
    x, axis, keep, cs = data
    _fd("reduce_prod", "input_tensor", x, {"axis": axis, "keepdims": keep}, cs)


@SETTINGS
@given(data=_case(distinct=True))
def test_reduce_std_matches_finite_differences(data):
    x, axis, keep, cs = data
    axes = range(x.ndim) if axis is None else np.atleast_1d(axis)
    assume(int(np.prod([x.shape[a] for a in axes])) >= 2)  # a group of one has σ = 0: a kink
    _fd("reduce_std", "input_tensor", x, {"axis": axis, "keepdims": keep}, cs)


@SETTINGS
@given(data=_case(distinct=True, away_from_zero=True), ord_=st.sampled_from(["euclidean", 1, 2, 3, 1.5,
                                                                           np.inf]))
def test_vector_norm_matches_finite_differences(data, ord_):
    x, axis, keep, cs = data
    if isinstance(axis, list):
        axis = axis[0]
    # distinct |x| for ord=inf (ties in the largest |x| are kinks)
    x = x + 0.01 * np.arange(x.size).reshape(x.shape) * np.sign(x)
    _fd("norm", "tensor", x, {"ord": ord_, "axis": axis, "keepdims": keep}, cs)


@SETTINGS
@given(shape=st.tuples(st.integers(2, 3), st.integers(2, 3)), extra=st.integers(0, 1),
       ord_=st.sampled_from(["fro", "euclidean", 1, np.inf]), seed=st.integers(0, 2**31 - 1),
       keep=st.booleans())
def test_matrix_norm_matches_finite_differences(shape, extra, ord_, seed, keep):
    rng = np.random.default_rng(seed)
    shape = shape + (2,) * extra
    # distinct magnitudes >= 1 (|x| has a kink at 0), with a fraction so that column and row
    # sums rarely tie: a tie between the two largest is a kink of ord=1 / ord=inf.
    magnitude = rng.permutation(int(np.prod(shape))) + 1.0 + rng.uniform(0.1, 0.4, int(np.prod(shape)))
    x = magnitude.reshape(shape) * rng.choice([-1, 1], shape)
    axes = [0, 1] if not extra else [-1, 0]
    if ord_ in (1, np.inf):
        a = np.moveaxis(np.abs(x), axes, [-2, -1])
        sums = np.sort(a.sum(axis=-2 if ord_ == 1 else -1), axis=-1)
        assume(bool((sums[..., -1] - sums[..., -2] > 1e-3).all()))
    _fd("norm", "tensor", x, {"ord": ord_, "axis": axes, "keepdims": keep}, rng.normal(size=64))


@SETTINGS
@given(data=_case(min_rank=1), eps=st.sampled_from([1e-12, 0.5]))
def test_l2_normalize_matches_finite_differences(data, eps):
    _skip_missing("l2_normalize")
    x, axis, _, cs = data
    attrs = {"axis": axis, "epsilon": eps}
    _fd("l2_normalize", "x", x, attrs, cs)


@pytest.mark.parametrize("op", ["cumsum", "cumprod"])
@SETTINGS
@given(data=_case(min_rank=1, away_from_zero=True), exclusive=st.booleans(), reverse=st.booleans())
def test_scans_match_finite_differences(op, data, exclusive, reverse):
    _skip_missing(op)
    x, axis, _, cs = data
    axis = 0 if axis is None else (axis[0] if isinstance(axis, list) else axis)
    _fd(op, "x", x, {"axis": axis, "exclusive": exclusive, "reverse": reverse}, cs)


def test_sum_of_size_one_axes_is_a_copy_and_keeps_negative_zero():
    # TF 2.21: reduce_sum([-0.0]) is -0.0 (a copy), reduce_sum([-0.0, -0.0]) is +0.0.
    from tfgrad.autodiff import REDUCTIONS

    f = REDUCTIONS["sum"][0]
    assert np.signbit(f(np.array([-0.0]), (0,)))
    assert np.signbit(f(np.array([[-0.0], [-0.0]]), (1,))).all()
    assert not np.signbit(f(np.array([[-0.0, -0.0]]), (1,))).any()
    assert f(np.array([[1, 2]], dtype=np.int32), (0, 1)).dtype == np.int32
    assert f(np.ones((2, 1, 3), dtype=np.float32), (1, 2)).shape == (2,)
