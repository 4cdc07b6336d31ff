"""TensorFlow reference numbers for tests/test_ops_shape.py and
tests/test_ops_indexing.py (run by hand; CI never installs TensorFlow):

    /work/tfvenv/bin/python tests/ops_shape_tf.py   # writes tests/data/ops_shape_tf.json

Each case applies one shape/indexing op to small quarter-valued inputs
(rank 1-4) and records, in float64 graph mode with ``tf.gradients``:
``value`` (every output), ``g1`` = d sum_k(c_k * out_k)/d x (first order),
``g2`` = d sum_k(c_k * out_k**2)/d x and ``h`` = d sum(v * g2)/d x (second
order: the VJP of the VJP's nodes), for every float input (null: None).
Subscript cases (``subscript``) are written as Python subscripts on a TF
tensor; the StridedSlice attributes TF's ``_slice_helper`` built are
recorded as the case's ``attrs``.

It also writes ``tests/data/strided_slice_tf.json``: 600 random
``tf.strided_slice`` specs (rank 0-4, random begin/end/strides and all five
masks) with TF's result on ``arange`` input, or the fact that TF raised.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import tensorflow as tf

RNG = np.random.default_rng(12)


def q(*shape):
    """Quarter values in [-2, 2] (exact in binary)."""
    return RNG.integers(-8, 9, shape).astype(np.float64) / 4


def ints(values, dtype="int32"):
    return {"value": np.asarray(values).tolist(), "dtype": dtype}


CASES: list[dict] = [
    # -- slicing
    {"op": "slice", "inputs": {"input_": q(3, 4)}, "attrs": {"begin": [1, 1], "size": [2, -1]}},
    {"op": "slice", "inputs": {"input_": q(2, 3, 4, 2)}, "attrs": {"begin": [0, 1, 2, 0], "size": [-1, 2, 1, -1]}},
    {"op": "strided_slice", "inputs": {"input_": q(5, 4)},
     "attrs": {"begin": [4, -1], "end": [0, -5], "strides": [-2, -1], "begin_mask": 0, "end_mask": 0,
               "ellipsis_mask": 0, "new_axis_mask": 0, "shrink_axis_mask": 0}},
    {"op": "strided_slice", "inputs": {"input_": q(6)},
     "attrs": {"begin": [-10], "end": [10], "strides": [3], "begin_mask": 0, "end_mask": 0,
               "ellipsis_mask": 0, "new_axis_mask": 0, "shrink_axis_mask": 0}},
] + [
    {"subscript": s, "inputs": {"input_": q(*shape)}}
    for s, shape in [
        ("x[-1]", (3, 4)), ("x[:, ::2]", (3, 4)), ("x[..., ::-1]", (3, 4)), ("x[None, 1:, -3:-1]", (3, 4)),
        ("x[::-2, 3:0:-2]", (3, 4)), ("x[1, -1]", (3, 4)), ("x[:, 0:1]", (3, 4)), ("x[-1, ::-2]", (3, 4)),
        ("x[..., 1]", (2, 3, 4)), ("x[None, :]", (3,)), ("x[1:, ..., None, ::-1]", (2, 3, 4)),
        ("x[::-1, None, 1, ..., -2:]", (3, 2, 2, 4)), ("x[:, :, ::3, 1]", (2, 3, 7, 2)),
        ("x[-100:100:2]", (5,)), ("x[3:1]", (5,)), ("x[..., None]", (2, 3)), ("x[0, ..., 0]", (2, 3, 2)),
        ("x[::-1, ::-1, ::-1, ::-1]", (2, 2, 3, 2)), ("x[1::-1]", (4, 2)),
    ]
] + [
    # -- gather
    {"op": "gather", "inputs": {"params": q(3, 2), "indices": ints([1, 1, 0, 2, 1])}, "attrs": {}},
    {"op": "gather", "inputs": {"params": q(2, 3), "indices": ints([[2, 0], [2, 2]])}, "attrs": {"axis": 1}},
    {"op": "gather", "inputs": {"params": q(2, 4, 3), "indices": ints([[3, 3, 0], [1, 0, 1]])},
     "attrs": {"axis": 1, "batch_dims": 1}},
    {"op": "gather", "inputs": {"params": q(2, 3, 4, 2), "indices": ints([[[3, 0], [0, 0], [1, 3]], [[2, 2], [1, 0], [3, 3]]])},
     "attrs": {"axis": 2, "batch_dims": 2}},
    {"op": "gather", "inputs": {"params": q(2, 3, 4), "indices": ints([[1, 1], [0, 1]], "int64")},
     "attrs": {"axis": -1, "batch_dims": 1}},
    {"op": "gather", "inputs": {"params": q(4), "indices": ints(2)}, "attrs": {}},
    {"op": "gather", "inputs": {"params": q(3, 2, 2), "indices": ints([[0, 2, 0]])}, "attrs": {"axis": 0}},
    {"op": "gather_nd", "inputs": {"params": q(2, 3), "indices": ints([[0, 1], [1, 2], [0, 1]])}, "attrs": {}},
    {"op": "gather_nd", "inputs": {"params": q(3, 2, 2), "indices": ints([[2], [0], [2]])}, "attrs": {}},
    {"op": "gather_nd", "inputs": {"params": q(2, 3, 4), "indices": ints([[[1, 3], [1, 3]], [[0, 0], [2, 1]]])},
     "attrs": {"batch_dims": 1}},
    {"op": "gather_nd", "inputs": {"params": q(2, 3, 2), "indices": ints([[[1, 0, 1]], [[1, 0, 1]]])}, "attrs": {}},
    # -- reverse, pad
    {"op": "reverse", "inputs": {"tensor": q(2, 3, 2)}, "attrs": {"axis": [0, -1]}},
    {"op": "reverse", "inputs": {"tensor": q(4)}, "attrs": {"axis": [0]}},
    {"op": "pad", "inputs": {"tensor": q(2, 3)}, "attrs": {"paddings": [[1, 0], [0, 2]], "constant_values": 9.0}},
    {"op": "pad", "inputs": {"tensor": q(2, 3)}, "attrs": {"paddings": [[1, 1], [2, 1]], "mode": "REFLECT"}},
    {"op": "pad", "inputs": {"tensor": q(2, 3)}, "attrs": {"paddings": [[0, 2], [1, 1]], "mode": "SYMMETRIC"}},
    {"op": "pad", "inputs": {"tensor": q(3, 2, 4)}, "attrs": {"paddings": [[2, 2], [0, 1], [3, 1]], "mode": "reflect"}},
    {"op": "pad", "inputs": {"tensor": q(1, 2, 3, 2)},
     "attrs": {"paddings": [[1, 0], [2, 2], [0, 3], [1, 1]], "mode": "SYMMETRIC"}},
    {"op": "pad", "inputs": {"tensor": q(3)}, "attrs": {"paddings": [[3, 0]], "mode": "SYMMETRIC"}},
    # -- shape ops
    {"op": "broadcast_to", "inputs": {"input": q(2, 1)}, "attrs": {"shape": [3, 2, 4]}},
    {"op": "broadcast_to", "inputs": {"input": q(3)}, "attrs": {"shape": [2, 1, 3]}},
    {"op": "tile", "inputs": {"input": q(2, 1)}, "attrs": {"multiples": [2, 3]}},
    {"op": "tile", "inputs": {"input": q(2, 1, 3)}, "attrs": {"multiples": [1, 2, 2]}},
    {"op": "concat", "inputs": {"values": [q(2, 1, 3), q(2, 2, 3), q(2, 1, 3)]}, "attrs": {"axis": 1}},
    {"op": "concat", "inputs": {"values": [q(2, 2), q(2, 1)]}, "attrs": {"axis": -1}},
    {"op": "stack", "inputs": {"values": [q(2, 3), q(2, 3)]}, "attrs": {"axis": 1}},
    {"op": "stack", "inputs": {"values": [q(3), q(3), q(3)]}, "attrs": {"axis": -1}},
    {"op": "unstack", "inputs": {"value": q(3, 2, 2)}, "attrs": {"axis": 1}},
    {"op": "unstack", "inputs": {"value": q(3, 2)}, "attrs": {}},
    {"op": "split", "inputs": {"value": q(6, 2)}, "attrs": {"num_or_size_splits": 3}},
    {"op": "split", "inputs": {"value": q(2, 5, 2)}, "attrs": {"num_or_size_splits": [1, -1, 2], "axis": 1}},
    {"op": "one_hot", "inputs": {"indices": ints([2, 0, -1, 3])}, "attrs": {"depth": 3}},
    {"op": "one_hot", "inputs": {"indices": ints([[1, 0], [2, 2]])},
     "attrs": {"depth": 4, "on_value": 5.0, "off_value": -1.0, "axis": 1}},
    {"op": "one_hot", "inputs": {"indices": ints([1, 0])}, "attrs": {"depth": 2, "dtype": "int32"}},
    {"op": "zeros_like", "inputs": {"input": q(2, 3)}, "attrs": {}},
    {"op": "ones_like", "inputs": {"input": q(2, 3)}, "attrs": {}},
]

TF_DTYPES = {"int32": tf.int32, "int64": tf.int64, "float32": tf.float32, "float64": tf.float64}


def as_array(v):
    if isinstance(v, dict):
        return np.asarray(v["value"], dtype=v["dtype"])
    return np.asarray(v)


def find_strided_attrs(graph) -> dict:
    (op,) = [o for o in graph.get_operations() if o.type == "StridedSlice"]
    consts = {o.name: o for o in graph.get_operations() if o.type == "Const"}

    def const(t):
        return tf.make_ndarray(consts[t.op.name].get_attr("value")).tolist()

    attrs = {"begin": const(op.inputs[1]), "end": const(op.inputs[2]), "strides": const(op.inputs[3])}
    for m in ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask"):
        attrs[m] = int(op.get_attr(m))
    return attrs


def dense(ts):
    """IndexedSlices (gather's gradient) as dense tensors, as tf.gradients'
    consumers see them."""
    return [None if t is None else tf.convert_to_tensor(t) for t in ts]


def run_case(case: dict) -> dict:
    inputs = {k: ([as_array(a) for a in v] if isinstance(v, list) else as_array(v))
              for k, v in case["inputs"].items()}
    attrs = dict(case.get("attrs", {}))
    float_keys = []
    for k, v in inputs.items():
        for i, a in enumerate(v if isinstance(v, list) else [v]):
            if a.dtype.kind == "f":
                float_keys.append((k, i if isinstance(v, list) else None))
    g = tf.Graph()
    with g.as_default():
        tin = {k: ([tf.constant(a) for a in v] if isinstance(v, list) else tf.constant(v))
               for k, v in inputs.items()}
        if "subscript" in case:
            out = eval(case["subscript"], {"x": tin["input_"]})  # noqa: S307 - a fixed test table
            attrs = find_strided_attrs(g)
        else:
            kw = dict(attrs)
            if "dtype" in kw:
                kw["dtype"] = TF_DTYPES[kw["dtype"]]
            elif case["op"] == "one_hot":
                kw["dtype"] = tf.float64  # the graph's floating dtype (see indexing.py)
            out = getattr(tf, case["op"])(**tin, **kw)
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        xs = [tin[k][i] if i is not None else tin[k] for k, i in float_keys]
        cots = [q(*o.shape) for o in outs]
        diff = [o for o in outs if o.dtype.is_floating]
        result = {"value": None, "g1": None, "g2": None, "h": None, "cots": [c.tolist() for c in cots]}
        fetch = {"value": outs}
        if diff and xs:
            l1 = tf.add_n([tf.reduce_sum(c * o) for c, o in zip(cots, outs) if o.dtype.is_floating])
            l2 = tf.add_n([tf.reduce_sum(c * tf.square(o)) for c, o in zip(cots, outs) if o.dtype.is_floating])
            g1 = dense(tf.gradients(l1, xs))
            g2 = dense(tf.gradients(l2, xs))
            vs = [q(*x.shape) for x in xs]
            result["vs"] = [v.tolist() for v in vs]
            terms = [tf.reduce_sum(v * d) for v, d in zip(vs, g2) if d is not None]
            h = dense(tf.gradients(tf.add_n(terms), xs)) if terms else [None] * len(xs)
            fetch.update(g1=g1, g2=g2, h=h)
        with tf.compat.v1.Session(graph=g) as sess:
            for key, ts in fetch.items():
                present = [t for t in ts if t is not None]
                vals = iter(sess.run(present))
                result[key] = [np.asarray(next(vals)).tolist() if t is not None else None for t in ts]
    result["float_inputs"] = [k if i is None else f"{k}{i}" for k, i in float_keys]
    return {**case, "attrs": attrs, "inputs": {k: ([a.tolist() for a in v] if isinstance(v, list) else
                                                   ({"value": v.tolist(), "dtype": str(v.dtype)}
                                                    if v.dtype.kind != "f" else v.tolist()))
                                               for k, v in inputs.items()},
            **result}


def strided_fuzz(n: int = 600, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    cases: list[dict] = []
    while len(cases) < n:
        r = int(rng.integers(0, 5))
        shape = [int(d) for d in rng.integers(0, 4, r)]
        k = int(rng.integers(0, r + 3))
        begin = [int(v) for v in rng.integers(-5, 6, k)]
        end = [int(v) for v in rng.integers(-5, 6, k)]
        strides = [int(v) or 1 for v in rng.integers(-3, 4, k)]
        if rng.random() < 0.05 and k:
            strides[int(rng.integers(0, k))] = 0
        masks = [int(rng.integers(0, 1 << k)) if k else 0 for _ in range(5)]
        if rng.random() < 0.7:
            masks[2] &= -masks[2]  # mostly at most one ellipsis
        x = np.arange(int(np.prod(shape))).reshape(shape).astype(np.float64)
        spec = [tf.constant(v, dtype=tf.int32, shape=[k]) for v in (begin, end, strides)]
        try:
            y = tf.strided_slice(tf.constant(x), *spec, *masks).numpy()
            out = {"out_shape": list(y.shape), "values": y.reshape(-1).astype(int).tolist()}
        except tf.errors.InvalidArgumentError:
            out = {"error": True}
        cases.append({"shape": shape, "begin": begin, "end": end, "strides": strides, "masks": masks, **out})
    return cases


def main() -> None:
    fuzz = strided_fuzz()
    out = Path(__file__).parent / "data" / "strided_slice_tf.json"
    out.write_text(json.dumps({"tf_version": tf.__version__, "cases": fuzz}, separators=(",", ":"))
                   .replace('},{', '},\n{') + "\n")
    tf.compat.v1.disable_eager_execution()
    cases = []
    for c in CASES:
        cases.append(run_case(c))
    out = Path(__file__).parent / "data" / "ops_shape_tf.json"
    out.write_text(json.dumps({"tf_version": tf.__version__, "cases": cases}, indent=0) + "\n")
    print(f"{len(cases)} cases -> {out}")


if __name__ == "__main__":
    main()
