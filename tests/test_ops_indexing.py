"""Indexing ops (slice, strided_slice, gather, gather_nd, reverse, pad,
one_hot): TF 2.21's numbers (tests/data/, written by tests/ops_shape_tf.py),
central finite differences on random shapes of rank 1-4, and the errors that
name the user's nodes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ops_harness import assert_vjps_match_fd, leaves, value, vjps
from ops_shape_ref import CASES, assert_matches_tf, case_id
from tfgrad.engine import apply
from tfgrad.graph import GraphError
from tfgrad.opdefs.indexing import _slice_np, strided_spec
from tfgrad.plan import Plan
from tfgrad.tensor import ew

INDEXING = ("slice", "strided_slice", "gather", "gather_nd", "reverse", "pad", "one_hot")
REF = [c for c in CASES if "subscript" in c or c["op"] in INDEXING]
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("case", REF, ids=[case_id(c) for c in REF])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_tf_reference(case, dtype):
    """Values, first-order VJPs and second-order VJPs (of a squared loss) equal TF's."""
    assert_matches_tf(case, dtype)


STRIDED = json.loads((Path(__file__).parent / "data" / "strided_slice_tf.json").read_text())


def test_strided_slice_semantics_match_tf_on_600_random_specs():
    # TF 2.21's tf.strided_slice on arange inputs: shapes, values, and which specs raise.
    for c in STRIDED["cases"]:
        r = strided_spec(tuple(c["shape"]), c["begin"], c["end"], c["strides"], *c["masks"])
        if c.get("error"):
            assert isinstance(r, str), c
            continue
        assert not isinstance(r, str), (c, r)
        box, final = r
        x = np.arange(int(np.prod(c["shape"]))).reshape(c["shape"])
        y = _slice_np(x, box).reshape(final)
        assert list(final) == c["out_shape"], c
        assert y.reshape(-1).tolist() == c["values"], c


# -- random shapes: VJPs against central differences -----------------------------------

shapes = st.lists(st.integers(1, 3), min_size=1, max_size=4).map(tuple)


def _x(seed: int, shape) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


@SETTINGS
@given(shapes, st.data())
def test_strided_slice_fd(shape, data):
    n = len(shape)
    k = data.draw(st.integers(0, n + 1))
    begin = data.draw(st.lists(st.integers(-4, 4), min_size=k, max_size=k))
    end = data.draw(st.lists(st.integers(-4, 4), min_size=k, max_size=k))
    strides = data.draw(st.lists(st.sampled_from([-3, -2, -1, 1, 2, 3]), min_size=k, max_size=k))
    masks = [data.draw(st.integers(0, (1 << k) - 1)) if k else 0 for _ in range(5)]
    masks[2] &= -masks[2]  # one ellipsis at most
    masks[4] &= ~masks[3]
    attrs = dict(begin=begin, end=end, strides=strides, begin_mask=masks[0], end_mask=masks[1],
                 ellipsis_mask=masks[2], new_axis_mask=masks[3], shrink_axis_mask=masks[4])
    r = strided_spec(shape, begin, end, strides, *masks)
    x = _x(data.draw(st.integers(0, 99)), shape)
    if isinstance(r, str):
        with pytest.raises(GraphError) as e:
            value("strided_slice", {"input_": x}, attrs)
        assert e.value.code == "TG202"
        return
    box, final = r
    np.testing.assert_array_equal(value("strided_slice", {"input_": x}, attrs), _slice_np(x, box).reshape(final))
    cot = _x(7, final)
    assert_vjps_match_fd("strided_slice", {"input_": x}, attrs, cot=cot)


@SETTINGS
@given(shapes, st.data())
def test_slice_fd(shape, data):
    begin = [data.draw(st.integers(0, d)) for d in shape]
    size = [data.draw(st.sampled_from([-1] + list(range(0, d - b + 1)))) for d, b in zip(shape, begin)]
    x = _x(1, shape)
    want = x[tuple(slice(b, d if s == -1 else b + s) for b, s, d in zip(begin, size, shape))]
    np.testing.assert_array_equal(value("slice", {"input_": x}, {"begin": begin, "size": size}), want)
    assert_vjps_match_fd("slice", {"input_": x}, {"begin": begin, "size": size}, cot=_x(2, want.shape))


@SETTINGS
@given(shapes, st.data())
def test_gather_fd(shape, data):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    a = axis % len(shape)
    bd = data.draw(st.integers(0, a))
    ishape = tuple(shape[:bd]) + tuple(data.draw(st.lists(st.integers(0, 3), max_size=2)))
    idx = np.random.default_rng(data.draw(st.integers(0, 99))).integers(0, shape[a], ishape)
    x = _x(3, shape)
    attrs = {"axis": axis, "batch_dims": bd}
    out = value("gather", {"params": x, "indices": idx}, attrs)
    # reference: per batch, np.take along the (shifted) axis
    b = int(np.prod(shape[:bd]))
    xb = x.reshape((b,) + tuple(shape[bd:]))
    ib = idx.reshape((b,) + ishape[bd:])
    want = np.stack([np.take(xb[i], ib[i], axis=a - bd) for i in range(b)]).reshape(out.shape)
    np.testing.assert_array_equal(out, want)
    assert_vjps_match_fd("gather", {"params": x, "indices": idx}, attrs, cot=_x(4, out.shape))


@SETTINGS
@given(shapes, st.data())
def test_gather_nd_fd(shape, data):
    bd = data.draw(st.integers(0, len(shape) - 1))
    depth = data.draw(st.integers(0, len(shape) - bd))
    mid = tuple(data.draw(st.lists(st.integers(1, 3), max_size=2)))
    rng = np.random.default_rng(data.draw(st.integers(0, 99)))
    ishape = tuple(shape[:bd]) + mid
    cols = [rng.integers(0, shape[bd + j], ishape) for j in range(depth)]
    idx = np.stack(cols, axis=-1) if cols else np.zeros(ishape + (0,), dtype=np.int64)
    x = _x(5, shape)
    attrs = {"batch_dims": bd}
    out = value("gather_nd", {"params": x, "indices": idx}, attrs)
    assert out.shape == ishape + tuple(shape[bd + depth:])
    assert_vjps_match_fd("gather_nd", {"params": x, "indices": idx}, attrs, cot=_x(6, out.shape))


@SETTINGS
@given(shapes, st.data())
def test_reverse_fd(shape, data):
    axes = data.draw(st.lists(st.integers(0, len(shape) - 1), unique=True))
    x = _x(8, shape)
    np.testing.assert_array_equal(value("reverse", {"tensor": x}, {"axis": axes}), np.flip(x, axes))
    assert_vjps_match_fd("reverse", {"tensor": x}, {"axis": axes}, cot=_x(9, shape))


@SETTINGS
@given(shapes, st.sampled_from(["CONSTANT", "REFLECT", "SYMMETRIC"]), st.data())
def test_pad_fd(shape, mode, data):
    most = {"CONSTANT": 3, "REFLECT": None, "SYMMETRIC": None}[mode]
    pads = []
    for d in shape:
        top = most if most is not None else (d - 1 if mode == "REFLECT" else d)
        pads.append([data.draw(st.integers(0, top)), data.draw(st.integers(0, top))])
    x = _x(10, shape)
    attrs = {"paddings": pads, "mode": mode, "constant_values": 1.5}
    out = value("pad", {"tensor": x}, attrs)
    want = (np.pad(x, pads, constant_values=1.5) if mode == "CONSTANT"
            else np.pad(x, pads, mode=mode.lower() if mode == "SYMMETRIC" else "reflect"))
    np.testing.assert_array_equal(out, want)
    assert_vjps_match_fd("pad", {"tensor": x}, attrs, cot=_x(11, out.shape))


# -- edges -----------------------------------------------------------------------------

def test_gather_repeated_indices_accumulate():
    _, g = vjps("gather", {"params": np.array([1.0, 2.0, 3.0]), "indices": np.array([2, 0, 2, 2])},
                cot=[1.0, 10.0, 100.0, 1000.0])
    np.testing.assert_array_equal(g["params"], [10.0, 0.0, 1101.0])


def test_inline_integer_literal_indices_are_int32():
    from tfgrad.tensor import tensor

    x = tensor("x", (3,), "float64", "variable")
    lit = tensor("c1", (2,), "float64", "literal")
    env = {"x": np.array([1.0, 2.0, 3.0]), "c1": np.array([2.0, 0.0])}
    out = apply("gather", {"params": x, "indices": lit}, values=env)
    assert out.args[1].dtype == "int32"
    np.testing.assert_array_equal(Plan([out]).run(env)[0], [3.0, 1.0])
    env["c1"] = np.array([0.5, 1.0])
    with pytest.raises(GraphError, match="not integers"):
        apply("gather", {"params": x, "indices": lit}, values=env)


def test_float_tensor_indices_are_an_error_naming_them():
    nodes, env = leaves({"params": np.ones(3), "indices": np.array([1.0, 0.0])})
    with pytest.raises(GraphError) as e:
        apply("gather", nodes, values=env)
    assert e.value.code == "TG202" and "indices" in e.value.message and "float64" in e.value.message


@pytest.mark.parametrize("op,inputs,attrs,words", [
    ("gather", {"params": np.ones((2, 3)), "indices": np.array([0, 3])}, {"axis": 1},
     ["index 3", "axis 1", "(2, 3)", "0 to 2"]),
    ("gather", {"params": np.ones(3), "indices": np.array([-1])}, {}, ["index -1"]),
    ("gather", {"params": np.ones((2, 3)), "indices": np.array([[0], [1], [0]])}, {"axis": 1, "batch_dims": 1},
     ["batch_dims", "(2, 3)", "(3, 1)"]),
    ("gather_nd", {"params": np.ones((2, 3)), "indices": np.array([[0, 1], [2, 0]])}, {}, ["[2, 0]", "(2, 3)"]),
    ("gather_nd", {"params": np.ones((2, 3)), "indices": np.array([[0, 1, 0]])}, {}, ["address 3 axes"]),
    ("slice", {"input_": np.ones((2, 3))}, {"begin": [0, 2], "size": [1, 2]}, ["size[1] = 2", "[0, 1]"]),
    ("slice", {"input_": np.ones((2, 3))}, {"begin": [3, 0], "size": [1, 1]}, ["begin[0] = 3"]),
    ("slice", {"input_": np.ones((2, 3))}, {"begin": [0], "size": [1]}, ["one entry per axis"]),
    ("strided_slice", {"input_": np.ones((2, 3))}, {"begin": [5], "end": [6], "shrink_axis_mask": 1},
     ["index 5", "axis 0", "(2, 3)"]),
    ("strided_slice", {"input_": np.ones((2, 3))}, {"begin": [0], "end": [1], "strides": [0]}, ["non-zero"]),
    ("strided_slice", {"input_": np.ones((2, 3))}, {"begin": [0, 0, 0], "end": [1, 1, 1]}, ["only 2 dims"]),
    ("pad", {"tensor": np.ones((2, 3))}, {"paddings": [[2, 0], [0, 0]], "mode": "REFLECT"},
     ["REFLECT", "axis 0", "size 2", "at most 1"]),
    ("pad", {"tensor": np.ones((2, 3))}, {"paddings": [[0, 0], [0, 4]], "mode": "SYMMETRIC"}, ["SYMMETRIC"]),
    ("pad", {"tensor": np.ones((2, 3))}, {"paddings": [[0, -1], [0, 0]]}, ["non-negative"]),
    ("pad", {"tensor": np.ones((2, 3))}, {"paddings": [[0, 1]]}, ["2 pairs"]),
])
def test_bad_input_is_a_tg202_error(op, inputs, attrs, words):
    nodes, env = leaves(inputs)
    with pytest.raises(GraphError) as e:
        apply(op, nodes, attrs, values=env)
    assert e.value.code == "TG202", e.value.message
    for w in words:
        assert w in e.value.message, (w, e.value.message)


@pytest.mark.parametrize("op,inputs,attrs", [
    ("pad", {"tensor": np.ones(2)}, {"paddings": [[1, 1]], "mode": "WRAP"}),
    ("pad", {"tensor": np.ones(2)}, {"paddings": "1"}),
    ("slice", {"input_": np.ones(2)}, {"begin": [0.5], "size": [1]}),
    ("one_hot", {"indices": np.array([0])}, {"depth": 2, "dtype": "float16"}),
    # an axis out of range or named twice is an attribute error, as for every op
    ("reverse", {"tensor": np.ones((2, 3))}, {"axis": [0, 0]}),
    ("reverse", {"tensor": np.ones((2, 3))}, {"axis": [2]}),
    ("gather", {"params": np.ones((2, 3)), "indices": np.array([0])}, {"axis": 2}),
    ("one_hot", {"indices": np.array([0, 1])}, {"depth": 3, "axis": 3}),
])
def test_bad_attributes_are_tg203(op, inputs, attrs):
    nodes, env = leaves(inputs)
    with pytest.raises(GraphError) as e:
        apply(op, nodes, attrs, values=env)
    assert e.value.code == "TG203"


def test_computed_out_of_range_indices_fail_at_evaluation_like_tf():
    # Indices computed by another op are not known at lowering; TF's CPU
    # kernel raises InvalidArgumentError when it runs: so does the plan.
    nodes, env = leaves({"params": np.ones((2, 3)), "indices": np.array([[0, 1], [4, 0]])})
    idx = ew("identity", nodes["indices"])
    out = apply("gather", {"params": nodes["params"], "indices": idx}, {"axis": 1}, name="g")
    with pytest.raises(GraphError) as e:
        Plan([out]).run(env)
    assert e.value.code == "TG202"
    assert "gather 'g'" in e.value.message and "indices[1,0] = 4 is not in [0, 3)" in e.value.message
    out = apply("gather_nd", {"params": nodes["params"], "indices": idx}, name="n")
    with pytest.raises(GraphError, match=r"gather_nd 'n'.*\[4, 0\] does not index"):
        Plan([out]).run(env)


def test_one_hot_follows_tf_out_of_range_and_dtype():
    # TF: indices outside [0, depth) give a row of off_value (no error).
    np.testing.assert_array_equal(value("one_hot", {"indices": np.array([3, -1, 1])}, {"depth": 2}),
                                  [[0, 0], [0, 0], [0, 1]])
    # dtype defaults to the graph's floating dtype; explicit dtypes are kept.
    assert value("one_hot", {"indices": np.array([0])}, {"depth": 2}, dtype="float32").dtype == np.float32
    assert value("one_hot", {"indices": np.array([0])}, {"depth": 2}).dtype == np.float64
    assert value("one_hot", {"indices": np.array([0])}, {"depth": 2, "dtype": "int32"}).dtype == np.int32
    _, g = vjps("one_hot", {"indices": np.array([0])}, {"depth": 2})
    assert g == {"indices": None}


def test_kernels_keep_float32_and_never_write_into_read_only_inputs():
    x = np.broadcast_to(np.arange(6, dtype=np.float32).reshape(2, 3), (2, 3))
    assert not x.flags.writeable
    for op, attrs, extra in [
        ("slice", {"begin": [0, 1], "size": [2, 2]}, {}),
        ("strided_slice", {"begin": [0], "end": [2], "strides": [-1]}, {}),
        ("reverse", {"axis": [1]}, {}),
        ("pad", {"paddings": [[1, 1], [2, 2]], "mode": "REFLECT"}, {}),
        ("pad", {"paddings": [[1, 1], [1, 1]]}, {}),
        ("gather", {"axis": 1}, {"indices": np.array([2, 2])}),
        ("gather_nd", {}, {"indices": np.array([[1, 2], [1, 2]])}),
    ]:
        key = {"slice": "input_", "strided_slice": "input_", "reverse": "tensor", "pad": "tensor"}.get(op, "params")
        nodes, env = leaves({key: np.zeros((2, 3), np.float32), **extra}, "float32")
        env[key] = x
        out = apply(op, nodes, attrs)
        from tfgrad.autodiff import backprop
        from tfgrad.tensor import tensor

        env["s"] = np.broadcast_to(np.float32(1), out.shape)
        (g,) = backprop([(ew("square", out), tensor("s", out.shape, "float32", "seed"))], [nodes[key]])
        vals = Plan([out, g]).run(env)
        assert all(v.dtype == np.float32 for v in vals), op
        np.testing.assert_array_equal(x, np.arange(6).reshape(2, 3))
