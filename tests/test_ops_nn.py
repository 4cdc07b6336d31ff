"""Neural-network ops (opdefs/nn.py): TensorFlow's numbers at the edges
(first and second order, float64 and float32; see ops_tf_cases.py for the TF
version), central finite differences at smooth points over random shapes and
axes, and the errors naming the user's nodes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ops_harness import assert_vjps_match_fd, leaves, value, vjps
from ops_tf_cases import CASES
from ops_tf_check import check
from tfgrad.engine import apply
from tfgrad.funcs import FUNCS
from tfgrad.graph import GraphError, Pos
from tfgrad.plan import Plan

NEEDS = {
    "sigmoid_cross_entropy_with_logits": ("log1p",),
    "batch_normalization": ("rsqrt",),
    "moments": ("squared_difference",),
}


def _skip_missing(op: str) -> None:
    missing = [f for f in NEEDS.get(op, ()) if f not in FUNCS]
    if missing:
        pytest.skip(f"{op} needs {', '.join(missing)} (elementwise family)")


NN_CASES = [c for c in CASES if c["family"] == "nn"]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", NN_CASES, ids=[c["name"] for c in NN_CASES])
def test_tensorflow_edges(case, dtype):
    _skip_missing(case["op"])
    check(case, dtype)


# -- the cases, spelled out ------------------------------------------------------

def test_sigmoid_cross_entropy_at_logit_zero_is_tfs_select_not_maximum():
    _skip_missing("sigmoid_cross_entropy_with_logits")
    _, g = vjps("sigmoid_cross_entropy_with_logits",
                {"labels": np.array([0.3]), "logits": np.array([0.0])})
    np.testing.assert_allclose(g["logits"], [0.2], rtol=1e-12)  # a maximum-based formula: 0.7


def test_softmax_cross_entropy_second_order_gives_labels_zeros_not_none():
    # TF's _SoftmaxCrossEntropyWithLogitsGrad gives labels grad_loss * -log_softmax
    # with grad_loss = zeros when only the backprop output has a cotangent.
    from ops_tf_check import run

    case = next(c for c in CASES if c["name"] == "xent-basic")
    r = run(case)
    np.testing.assert_array_equal(r["grads2"]["labels"], np.zeros((2, 3)))


def test_sparse_label_out_of_range_names_the_labels_and_the_index():
    nodes, env = leaves({"labels": np.array([2, 3], dtype=np.int32), "logits": np.zeros((2, 3))})
    from tfgrad.opdefs import lookup
    from tfgrad.opdefs.spec import Ctx

    op = lookup("sparse_softmax_cross_entropy_with_logits")
    ctx = Ctx(op, "ce", dict(nodes), {"labels": "y_true", "logits": "z"}, {},
              {"labels": Pos(4, 7)}, Pos(4, 3), "float64")
    out = op.forward(ctx)
    with pytest.raises(GraphError) as e:
        Plan([out]).run(env)
    assert e.value.code == "TG202"
    assert "y_true" in e.value.message and "3" in e.value.message and "[0, 3)" in e.value.message
    assert e.value.pos == Pos(4, 7)
    env["labels"] = np.array([-1, 0], dtype=np.int32)
    with pytest.raises(GraphError, match="-1"):
        Plan([out]).run(env)
    env["labels"] = np.array([2, 0], dtype=np.int32)  # the last class is valid
    (loss,) = Plan([out]).run(env)
    np.testing.assert_allclose(loss, np.log(3.0))


# -- errors ------------------------------------------------------------------------------

def _err(op, inputs, attrs=None):
    nodes, _ = leaves(inputs)
    with pytest.raises(GraphError) as e:
        apply(op, nodes, attrs)
    return e.value


def test_shape_and_call_errors():
    e = _err("softmax", {"logits": np.array(1.0)})
    assert e.code == "TG202" and "rank 1" in e.message
    e = _err("softmax", {"logits": np.zeros((2, 3))}, {"axis": 2})
    assert e.code == "TG203"  # an attribute out of range, as for every axis
    e = _err("softmax_cross_entropy_with_logits", {"labels": np.zeros((2, 2)), "logits": np.zeros((2, 3))})
    assert e.code == "TG202" and "same shape" in e.message
    e = _err("sparse_softmax_cross_entropy_with_logits",
             {"labels": np.array([0, 1]), "logits": np.zeros((3, 3))})
    assert e.code == "TG202" and "without its last axis" in e.message
    e = _err("sparse_softmax_cross_entropy_with_logits",
             {"labels": np.array([0.0, 1.0, 1.0]), "logits": np.zeros((3, 3))})
    assert e.code == "TG202" and "int32 or int64" in e.message
    e = _err("bias_add", {"value": np.zeros((2, 3)), "bias": np.zeros(2)})
    assert e.code == "TG202" and "3 channels" in e.message
    e = _err("bias_add", {"value": np.zeros(3), "bias": np.zeros(3)})
    assert e.code == "TG202"
    e = _err("sigmoid_cross_entropy_with_logits", {"labels": np.zeros(2), "logits": np.zeros(3)})
    assert e.code == "TG202"


def test_float32_stays_float32():
    x = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, 1.0]], dtype=np.float32)
    for op, inputs in [
        ("softmax", {"logits": x}), ("log_softmax", {"logits": x}), ("l2_loss", {"t": x}),
        ("softmax_cross_entropy_with_logits", {"labels": np.abs(x), "logits": x}),
        ("sparse_softmax_cross_entropy_with_logits",
         {"labels": np.array([0, 2], dtype=np.int32), "logits": x}),
        ("bias_add", {"value": x, "bias": x[0]}),
    ]:
        y, g = vjps(op, inputs, dtype="float32")
        assert y.dtype == np.float32, op
        for k, v in g.items():
            assert v is None or v.dtype == np.float32, (op, k)


# -- finite differences at smooth points ----------------------------------------------------

SETTINGS = settings(max_examples=12, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def _shape(min_rank=1, max_rank=4):
    return st.lists(st.integers(1, 3), min_size=min_rank, max_size=max_rank).map(tuple).filter(
        lambda s: int(np.prod(s)) <= 12)


def _cot(op, inputs, attrs, rng, output=None):
    y = value(op, inputs, attrs)
    if output is not None:
        y = y[output]
    return rng.normal(size=np.shape(y))


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
@SETTINGS
@given(shape=_shape(), seed=st.integers(0, 2**31 - 1), data=st.data())
def test_softmax_family_matches_finite_differences(op, shape, seed, data):
    rng = np.random.default_rng(seed)
    axis = data.draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1)))
    inputs = {"logits": rng.normal(size=shape) * 2}
    attrs = {"axis": axis}
    assert_vjps_match_fd(op, inputs, attrs, cot=_cot(op, inputs, attrs, rng))


@SETTINGS
@given(shape=_shape(), seed=st.integers(0, 2**31 - 1), data=st.data())
def test_softmax_cross_entropy_matches_finite_differences(shape, seed, data):
    rng = np.random.default_rng(seed)
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    labels = rng.uniform(0.1, 1, size=shape)
    # TF's gradient (softmax - labels) assumes each labels vector sums to 1.
    labels = labels / labels.sum(axis=axis, keepdims=True)
    inputs = {"labels": labels, "logits": rng.normal(size=shape) * 2}
    op = "softmax_cross_entropy_with_logits"
    attrs = {"axis": axis}
    assert_vjps_match_fd(op, inputs, attrs, cot=_cot(op, inputs, attrs, rng))


@SETTINGS
@given(shape=_shape(), seed=st.integers(0, 2**31 - 1), dtype=st.sampled_from(["int32", "int64"]))
def test_sparse_softmax_cross_entropy_matches_finite_differences(shape, seed, dtype):
    rng = np.random.default_rng(seed)
    inputs = {"labels": rng.integers(0, shape[-1], size=shape[:-1]).astype(dtype),
              "logits": rng.normal(size=shape) * 2}
    op = "sparse_softmax_cross_entropy_with_logits"
    assert_vjps_match_fd(op, inputs, None, cot=_cot(op, inputs, None, rng))


@SETTINGS
@given(shape=_shape(min_rank=0), seed=st.integers(0, 2**31 - 1))
def test_sigmoid_cross_entropy_matches_finite_differences(shape, seed):
    _skip_missing("sigmoid_cross_entropy_with_logits")
    rng = np.random.default_rng(seed)
    inputs = {"labels": rng.uniform(0, 1, size=shape), "logits": rng.normal(size=shape) * 3}
    op = "sigmoid_cross_entropy_with_logits"
    assert_vjps_match_fd(op, inputs, None, cot=_cot(op, inputs, None, rng))


@SETTINGS
@given(shape=_shape(min_rank=0), seed=st.integers(0, 2**31 - 1))
def test_l2_loss_matches_finite_differences(shape, seed):
    rng = np.random.default_rng(seed)
    assert_vjps_match_fd("l2_loss", {"t": rng.normal(size=shape)}, None, cot=rng.normal())


@SETTINGS
@given(shape=_shape(min_rank=2), seed=st.integers(0, 2**31 - 1), nchw=st.booleans())
def test_bias_add_matches_finite_differences(shape, seed, nchw):
    rng = np.random.default_rng(seed)
    c = shape[1] if nchw else shape[-1]
    inputs = {"value": rng.normal(size=shape), "bias": rng.normal(size=c)}
    attrs = {"data_format": "NCHW" if nchw else None}
    assert_vjps_match_fd("bias_add", inputs, attrs, cot=_cot("bias_add", inputs, attrs, rng))


@SETTINGS
@given(shape=_shape(), seed=st.integers(0, 2**31 - 1), data=st.data())
def test_batch_normalization_matches_finite_differences(shape, seed, data):
    _skip_missing("batch_normalization")
    rng = np.random.default_rng(seed)
    k = data.draw(st.integers(0, len(shape)))
    pshape = shape[k:]  # mean/variance/offset/scale broadcast against x's trailing axes
    inputs = {"x": rng.normal(size=shape), "mean": rng.normal(size=pshape),
              "variance": rng.uniform(0.5, 2, size=pshape), "offset": rng.normal(size=pshape),
              "scale": rng.normal(size=pshape)}
    attrs = {"variance_epsilon": 1e-3}
    op = "batch_normalization"
    assert_vjps_match_fd(op, inputs, attrs, cot=_cot(op, inputs, attrs, rng))


@SETTINGS
@given(shape=_shape(), seed=st.integers(0, 2**31 - 1), keep=st.booleans(), data=st.data(),
       output=st.sampled_from([0, 1]))
def test_moments_matches_finite_differences(shape, seed, keep, data, output):
    _skip_missing("moments")
    rng = np.random.default_rng(seed)
    axes = data.draw(st.lists(st.integers(0, len(shape) - 1), min_size=1, max_size=len(shape),
                              unique=True))
    inputs = {"x": rng.normal(size=shape)}
    attrs = {"axes": axes, "keepdims": keep}
    cot = _cot("moments", inputs, attrs, rng, output)
    if output == 0:
        assert_vjps_match_fd("moments", inputs, attrs, cot=cot, output=0)
    else:
        # the variance's gradient in TF holds the mean constant (stop_gradient),
        # which at the mean is the true derivative: Σ (x - m) = 0.
        assert_vjps_match_fd("moments", inputs, attrs, cot=cot, output=1)


def test_batch_normalization_without_offset_and_scale():
    # TF's None offset/scale: inv = rsqrt(variance + eps); x * inv + -(mean * inv)
    rng = np.random.default_rng(3)
    x, m, v = rng.normal(size=(3, 2)), rng.normal(size=2), rng.uniform(0.5, 2, size=2)
    y, g = vjps("batch_normalization", {"x": x, "mean": m, "variance": v},
                {"variance_epsilon": 1e-3})
    inv = 1 / np.sqrt(v + 1e-3)
    np.testing.assert_allclose(y, x * inv - m * inv, rtol=1e-12)
    np.testing.assert_allclose(g["x"], np.broadcast_to(inv, (3, 2)), rtol=1e-12)
    np.testing.assert_allclose(g["mean"], -3 * inv, rtol=1e-12)
    assert_vjps_match_fd("batch_normalization", {"x": x, "mean": m, "variance": v},
                         {"variance_epsilon": 1e-3})
