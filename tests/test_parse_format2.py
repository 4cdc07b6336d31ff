"""Format 2's grammar in parse.py: calls bound against the op registry
(positional attributes, keywords by TF's names, list arguments, varargs),
operators, subscripts (strided_slice and one output of a multi-output op),
the Graph/Node fields the rank-N engine reads, and every call error with its
position and code.

Ops that other families have not registered yet are registered here for the
test's duration (only when absent), with TF's signatures: the parser
validates against whatever the registry holds."""

from __future__ import annotations

import textwrap

import numpy as np

import pytest

from tfgrad.graph import GraphError, Pos
from tfgrad.opdefs import REGISTRY, Param
from tfgrad.opdefs.spec import REQUIRED, OpDef
from tfgrad.parse import OUTPUT_OP, parse_graph

T, TS = "tensor", "tensors"


def _op(name: str, *params: Param, outputs: int = 1, n_outputs=None, varargs: bool = False) -> OpDef:
    return OpDef(name, tuple(params), "test op", shape=lambda c: (), forward=lambda c: None, rule="",
                 tf="", family="test", outputs=outputs, n_outputs=n_outputs, varargs=varargs)


_AXIS0 = Param("axis", "int", 0)
FAKE = [
    _op("less", Param("x", T), Param("y", T)),
    _op("less_equal", Param("x", T), Param("y", T)),
    _op("greater", Param("x", T), Param("y", T)),
    _op("greater_equal", Param("x", T), Param("y", T)),
    _op("equal", Param("x", T), Param("y", T)),
    _op("not_equal", Param("x", T), Param("y", T)),
    _op("logical_and", Param("x", T), Param("y", T)),
    _op("logical_or", Param("x", T), Param("y", T)),
    _op("logical_not", Param("x", T)),
    _op("cast", Param("x", T), Param("dtype", "dtype")),
    _op("concat", Param("values", TS), Param("axis", "int")),
    _op("stack", Param("values", TS), _AXIS0),
    _op("split", Param("value", T), Param("num_or_size_splits", "any"), _AXIS0, outputs=0,
        n_outputs=lambda d: d["num_or_size_splits"] if isinstance(d["num_or_size_splits"], int)
        else len(d["num_or_size_splits"])),
    _op("moments", Param("x", T), Param("axes", "ints"), Param("keepdims", "bool", False), outputs=2),
    _op("gradients", Param("ys", T), Param("xs", TS), Param("grad_ys", T, None), outputs=0,
        n_outputs=lambda d: len(d["xs"])),
    _op("pad", Param("tensor", T), Param("paddings", "any"), Param("mode", "str", "CONSTANT",
        choices=("CONSTANT", "REFLECT", "SYMMETRIC")), Param("constant_values", "float", 0)),
    _op("strided_slice", Param("input_", T), Param("begin", "ints"), Param("end", "ints"),
        Param("strides", "ints", None), Param("begin_mask", "int", 0), Param("end_mask", "int", 0),
        Param("ellipsis_mask", "int", 0), Param("new_axis_mask", "int", 0),
        Param("shrink_axis_mask", "int", 0)),
]


@pytest.fixture(autouse=True)
def fake_ops():
    added = [op.name for op in FAKE if op.name not in REGISTRY]
    for op in FAKE:
        REGISTRY.setdefault(op.name, op)
    yield
    for name in added:
        REGISTRY.pop(name, None)


HEAD = "variables:\n  a: [[1, 2]]\n  b: [[3], [4]]\n  c3: [[[1, 2]], [[3, 4]]]\nops:\n"  # ops from line 6


def body(ops: str) -> str:
    return textwrap.indent(textwrap.dedent(ops).rstrip("\n") + "\n", "  ")


def parse(ops: str, tail: str = "ys: y\nxs: a\n"):
    return parse_graph(HEAD + body(ops) + tail, "t.yaml")


def node(ops: str, name: str = "y"):
    return parse(ops).nodes[name]


def err(ops: str, token: str, *parts: str, code: str = "TG203", line: int = 6) -> GraphError:
    text = HEAD + body(ops) + "ys: y\nxs: a\n"
    with pytest.raises(GraphError) as info:
        parse_graph(text, "t.yaml")
    e = info.value
    for p in parts:
        assert p in e.message, f"{p!r} not in {e.message!r}"
    row = text.split("\n")[line - 1]
    assert e.pos == Pos(line, row.index(token) + 1), (e.pos, e.message)
    assert e.code == code, (e.code, e.message)
    return e


# --- binding: positional attributes, keywords, defaults -----------------------


def test_positional_attributes_in_tf_order():
    assert node("y: reduce_sum(a, 1)").attrs == {"axis": 1}
    assert node("y: reduce_sum(a, axis=1)").attrs == {"axis": 1}
    y = node("y: matmul(a, b, False, True)")
    assert y.attrs == {"transpose_a": False, "transpose_b": True} and y.inputs == {"a": "a", "b": "b"}
    assert y.attr_pos == {"transpose_a": Pos(6, 19), "transpose_b": Pos(6, 26)}
    assert node("y: reduce_sum(a, [0, -1], true)").attrs == {"axis": [0, -1], "keepdims": True}


def test_keywords_by_tf_name_tensors_included():
    y = node("y: reduce_sum(input_tensor=a, keepdims=True)")
    assert y.inputs == {"input_tensor": "a"} and y.args == ("a",) and y.attrs == {"keepdims": True}
    y = node("y: matmul(b=b, a=a)")
    assert y.inputs == {"a": "a", "b": "b"} and y.args == ("a", "b")  # args in parameter order
    assert y.arg_pos == (Pos(6, 20), Pos(6, 15))


def test_keyword_value_forms():
    assert node("y: reduce_sum(a, axis=None)").attrs == {"axis": None}
    assert node("y: reduce_sum(a, axis=null, keepdims=false)").attrs == {"axis": None, "keepdims": False}
    assert node("y: reduce_sum(a, axis=-2)").attrs == {"axis": -2}
    assert node("y: transpose(a, perm=[1, 0])").attrs == {"perm": [1, 0]}
    assert node("y: reshape(a, [-1])").attrs == {"shape": [-1]}
    y = node("y: pad(a, [[0, 1], [2, 0]], 'REFLECT')")
    assert y.attrs == {"paddings": [[0, 1], [2, 0]], "mode": "REFLECT"}
    assert node('y: "pad(a, [[0, 1], [1, 1]], constant_values=-1.5)"').attrs["constant_values"] == -1.5
    assert node("y: cast(a, float32)").attrs == {"dtype": "float32"}
    assert node("y: cast(a, dtype='int32')").attrs == {"dtype": "int32"}
    assert node("y: einsum('ij,jk->ik', a, b)").attrs == {"equation": "ij,jk->ik"}


def test_list_arguments_for_tensors_params():
    y = node("y: add_n([a, b, a])")
    assert y.inputs == {"inputs": ("a", "b", "a")} and y.args == ("a", "b", "a")
    assert node("y: add_n(a, b, a)").inputs == {"inputs": ("a", "b", "a")}  # format 1's varargs
    y = node("y: concat([a, exp(b)], axis=1)")
    assert y.inputs == {"values": ("a", "y/exp_1")} and y.attrs == {"axis": 1}
    assert node("y: concat([a, b], 0)").attrs == {"axis": 0}
    y = parse("y: stack([a, [[5, 6]], a * 2])").nodes
    assert [y[n].kind for n in y["y"].inputs["values"]] == ["variable", "literal", "op"]
    y = node("y: einsum('ij,jk->ik', a, b)")
    assert y.inputs == {"inputs": ("a", "b")}


def test_a_literal_list_is_a_tensor_for_a_tensor_param_and_a_value_for_an_attribute():
    g = parse("y: add(a, [[1, 2]])")
    lit = g.nodes["y"].inputs["y"]
    assert g.nodes[lit].kind == "literal" and g.nodes[lit].value.array.tolist() == [[1, 2]]
    assert node("y: reduce_sum(a, [1])").attrs == {"axis": [1]}


def test_mapping_form_binds_like_a_call():
    y = node("y: {op: reduce_sum, args: [a, 1], keepdims: true}")
    assert y.inputs == {"input_tensor": "a"} and y.attrs == {"axis": 1, "keepdims": True}
    y = node("y: {op: concat, args: [[a, b]], axis: 0}")
    assert y.inputs == {"values": ("a", "b")}
    assert node("y: {op: add_n, args: [a, b]}").inputs == {"inputs": ("a", "b")}
    y = node("y: {op: matmul, a: a, b: b, transpose_b: true}")
    assert y.inputs == {"a": "a", "b": "b"} and y.attrs == {"transpose_b": True}
    y = node("y: {op: transpose, args: [c3], perm: [2, 0, 1]}")
    assert y.attrs == {"perm": [2, 0, 1]}


def test_optional_tensor_given_none_is_left_out():
    y = node("y: gradients(a, [a], grad_ys=None)")
    assert y.inputs["xs"] == ("a",) and "grad_ys" not in y.inputs


def test_a_tensors_param_given_one_tensor_without_a_list_gets_a_bare_name():
    # the engine tells gradients(y, x) (x's gradient) from gradients(y, [x]) (a list of one)
    assert node("y: gradients(a, b)").inputs["xs"] == "b"
    assert node("y: gradients(a, [b])").inputs["xs"] == ("b",)
    assert node("y: {op: concat, args: [a, 0]}").inputs == {"values": "a"}
    g = parse("y: g[0]\ng: gradients(a, b)\n")
    assert g.nodes["y"].op == "strided_slice"  # one tensor: [0] slices it
    g = parse("y: g[0]\ng: gradients(a, [b])\n")
    assert g.nodes["y"].op == OUTPUT_OP


def test_internal_nodes_carry_their_source_text():
    g = parse("y: exp(matmul(a,  b)) + reduce_sum(a, 1)")
    assert g.nodes["y/matmul_1"].text == "matmul(a, b)"  # whitespace folded
    assert g.nodes["y/exp_1"].text == "exp(matmul(a, b))"
    assert g.nodes["y/reduce_sum_1"].text == "reduce_sum(a, 1)"
    assert g.nodes["y"].text is None


def test_graph_dtype_and_outputs():
    g = parse_graph("dtype: float32\nvariables: {a: 1}\nops: {y: exp(a)}\nys: y\nxs: a\noutputs: [y, a]\n")
    assert g.dtype == "float32" and [r.name for r in g.outputs] == ["y", "a"]
    g = parse_graph("variables: {a: 1}\nys: a\nxs: a\noutputs: a\n")
    assert g.dtype == "float64" and [r.name for r in g.outputs] == ["a"]
    with pytest.raises(GraphError) as e:
        parse_graph("dtype: float16\nvariables: {a: 1}\nys: a\nxs: a\n")
    assert e.value.code == "TG102" and "dtype must be float64 or float32" in e.value.message
    with pytest.raises(GraphError) as e:
        parse_graph("variables: {a: 1}\nys: a\nxs: a\noutputs: [b]\n")
    assert "unknown name 'b' in outputs" in e.value.message


# --- operators -------------------------------------------------------------------


@pytest.mark.parametrize("text, op", [("a < b", "less"), ("a <= b", "less_equal"), ("a > b", "greater"),
                                      ("a >= b", "greater_equal"), ("a == b", "equal"),
                                      ("a != b", "not_equal"), ("a & b", "logical_and"),
                                      ("a | b", "logical_or")])
def test_comparison_and_logic_operators(text, op):
    y = node(f"y: '{text}'")
    assert y.op == op and y.inputs == {"x": "a", "y": "b"}


def test_operator_precedence_is_pythons():
    g = parse("y: '(a < b + 1) | ~(a > b) & (a == b)'")
    n = g.nodes
    assert n["y"].op == "logical_or"
    left, right = n["y"].inputs["x"], n["y"].inputs["y"]
    assert n[left].op == "less" and n[n[left].inputs["y"]].op == "add"
    assert n[right].op == "logical_and"
    assert n[n[right].inputs["x"]].op == "logical_not"
    assert n[n[right].inputs["y"]].op == "equal"
    assert node("y: -a").op == "negative" and node("y: ~a").op == "logical_not"


def test_chained_comparison_is_rejected():
    err("y: 'a < b < a'", "a <", "chained comparison 'a < b < a' is not supported", code="TG104")


def test_an_operator_whose_op_is_missing_says_so():
    real = REGISTRY.pop("less")  # the registered op (or the fake when none is), put back after
    try:
        err("y: 'exp(a) < b'", "exp", "tfgrad does not have 'less' yet", "(the operator in 'exp(a) < b' is less)")
    finally:
        REGISTRY["less"] = real


def test_long_chains_split_at_comparisons_and_logic_like_python():
    terms = " + ".join(["a"] * 3000)
    g = parse(f"y: '{terms} < b'")
    assert g.nodes["y"].op == "less"
    g = parse(f"y: '(a < b) & ({terms} > a)'")
    assert g.nodes["y"].op == "logical_and"


# --- subscripts ------------------------------------------------------------------


def _ss(expr: str) -> dict:
    y = node(f"y: '{expr}'")
    assert y.op == "strided_slice" and y.inputs == {"input_": "c3"} and y.args == ("c3",)
    return y.attrs


@pytest.mark.parametrize(
    "index, begin, end, strides, masks",
    [
        ("[0]", [0], [1], [1], {"shrink_axis_mask": 1}),
        ("[-1]", [-1], [0], [1], {"shrink_axis_mask": 1}),
        ("[1:]", [1], [0], [1], {"end_mask": 1}),
        ("[:, 1:3]", [0, 1], [0, 3], [1, 1], {"begin_mask": 1, "end_mask": 1}),
        ("[..., ::-1]", [0, 0], [0, 0], [1, -1], {"ellipsis_mask": 1, "begin_mask": 2, "end_mask": 2}),
        ("[None, :]", [0, 0], [0, 0], [1, 1], {"new_axis_mask": 1, "begin_mask": 2, "end_mask": 2}),
        ("[newaxis, 0, -2:-1:2]", [0, 0, -2], [0, 1, -1], [1, 1, 2], {"new_axis_mask": 1, "shrink_axis_mask": 2}),
    ],
)
def test_subscripts_are_tf_strided_slices(index, begin, end, strides, masks):
    attrs = _ss("c3" + index)
    full = {"begin_mask": 0, "end_mask": 0, "ellipsis_mask": 0, "new_axis_mask": 0, "shrink_axis_mask": 0}
    full.update(masks)
    assert attrs == {"begin": begin, "end": end, "strides": strides, **full}


def test_subscript_of_an_expression_and_inside_expressions():
    g = parse("y: 'exp((a + b)[0, :1]) * a[-1]'")
    n = g.nodes
    ss = [k for k in n if n[k].op == "strided_slice"]
    assert len(ss) == 2
    assert n[ss[0]].inputs == {"input_": "y/add_1"} and n[ss[0]].text == "(a + b)[0, :1]"


def test_subscript_errors():
    err("y: 'a[b]'", "b]", "an index must be an integer", code="TG104")
    err("y: 'a[1.5]'", "1.5", "an index must be an integer", code="TG104")
    err("y: 'a[::0]'", "0]", "a slice step cannot be zero", code="TG104")
    err("y: 'a[..., ...]'", "...]", "a single ellipsis", code="TG104")


def test_a_subscript_on_a_multi_output_op_selects_an_output():
    g = parse("parts: split(a, 2, axis=1)\ny: parts[1] + parts[-2]\n")
    n = g.nodes
    outs = [k for k in n if n[k].op == OUTPUT_OP]
    assert [(n[k].args, n[k].attrs) for k in outs] == [(("parts",), {"index": 1}), (("parts",), {"index": -2})]
    # written before the op it selects from (ops are in any order)
    g = parse("y: m[0] * 2\nm: moments(a, [0])\n")
    assert g.nodes["y/strided_slice_1"].op == OUTPUT_OP
    assert g.order.index("m") < g.order.index("y/strided_slice_1")
    # a whole op that is one output, and an inline call
    g = parse("y: m[1]\nm: moments(a, axes=[1])\n")
    assert g.nodes["y"].op == OUTPUT_OP and g.nodes["y"].attrs == {"index": 1}
    g = parse("y: split(a, [1, 1], 1)[0]\n")
    assert g.nodes["y"].op == OUTPUT_OP and g.nodes["y"].args == ("y/split_1",)
    g = parse("y: 'gradients(a * a, [a, b])[1]'\n")
    assert g.nodes["y"].op == OUTPUT_OP
    # a subscript of a selected output is a strided_slice of it
    g = parse("y: p[0][1]\np: split(c3, 2)\n")
    assert g.nodes["y"].op == "strided_slice" and g.nodes[g.nodes["y"].args[0]].op == OUTPUT_OP


def test_a_slice_of_a_multi_output_op_is_an_error():
    with pytest.raises(GraphError) as e:
        parse("y: p[0:1]\np: split(a, 2, 1)\n")
    assert e.value.code == "TG104" and "select one with an integer index (p[0])" in e.value.message


# --- call errors: message, position, code -------------------------------------


def test_unknown_op_did_you_mean_among_registry_names():
    err("y: tanhh(a)", "tanhh", "'tanhh' is not an op (did you mean 'tanh'?)")
    err("y: {op: matmull, args: [a, b]}", "matmull", "unknown op 'matmull' (did you mean 'matmul'?)")


def test_a_tf_op_tfgrad_lacks_is_not_a_typo(monkeypatch):
    monkeypatch.delitem(REGISTRY, "reduce_max", raising=False)  # as before it was registered
    e = err("y: reduce_max(a)", "reduce_max", "tfgrad does not have 'reduce_max' yet")
    assert "reduce_mean" not in e.message
    err("y: {op: ctc_loss, args: [a, b]}", "ctc_loss", "tfgrad does not have 'ctc_loss' yet")


def test_too_many_positional_arguments():
    err("y: exp(a, b)", "b)", "exp takes at most 1 argument; found 2: exp(x)")
    err("y: reduce_sum(a, 1, true, 2)", "2)", "reduce_sum takes at most 3 arguments; found 4")


def test_unknown_keyword_did_you_mean_among_params():
    err("y: reduce_sum(a, axes=1)", "axes", "reduce_sum has no parameter 'axes' (did you mean 'axis'?)",
        "reduce_sum(input_tensor, axis=None, keepdims=False)")
    err("y: {op: reduce_sum, args: [a], keepdim: true}", "keepdim", "(did you mean 'keepdims'?)")


def test_a_parameter_given_twice():
    err("y: reduce_sum(a, 1, axis=0)", "axis=", "reduce_sum: argument 'axis' is given by position and as axis=")
    err("y: reduce_sum(a, keepdims=true, keepdims=false)", "keepdims=false", "given twice")
    err("y: {op: matmul, args: [a, b], a: b}", "a: b", "matmul: argument 'a' is given by position and as a=")


def test_a_missing_required_parameter():
    err("y: matmul(a)", "matmul", "matmul is missing the argument 'b'")
    err("y: {op: concat, args: [[a, b]]}", "{op", "concat is missing the argument 'axis'")
    err("y: add_n()", "add_n", "add_n is missing the argument 'inputs'")


@pytest.mark.parametrize(
    "expr, token, message",
    [
        ("reduce_sum(a, axis='x')", "'x'", "reduce_sum: axis must be null, an int or a list of ints, got 'x'"),
        ("reduce_sum(a, axis=b)", "b)", "axis must be null, an int or a list of ints, got 'b'"),
        ("reduce_sum(a, [0, 1.5])", "[0", "got [0, 1.5]"),
        ("reduce_sum(a, keepdims=1)", "1)", "reduce_sum: keepdims must be true or false, got 1"),
        ("transpose(a, perm=1)", "1)", "transpose: perm must be a list of ints, got 1"),
        ("reshape(a, shape=[2, x])", "[2", "reshape: shape must be a list of ints, got '[2, x]'"),
        ("expand_dims(a, axis=[0])", "[0", "expand_dims: axis must be an int, got [0]"),
        ("einsum(3, a)", "3,", "einsum: equation must be a string, got 3"),
        ("cast(a, 'float16')", "'float16'", "float16 is a TensorFlow dtype that tfgrad does not have"),
        ("cast(a, 'x')", "'x'", "cast: dtype must be a dtype (float32, float64, int32, int64, bool), got 'x'"),
        ("pad(a, [[0, 1]], mode='REFLEKT')", "'REFLEKT'", "mode must be one of 'CONSTANT', 'REFLECT', 'SYMMETRIC'; got 'REFLEKT' (did you mean 'REFLECT'?)"),
    ],
)
def test_attribute_values_of_the_wrong_kind(expr, token, message):
    err(f'y: "{expr}"', token, message)


def test_mapping_form_attribute_errors():
    err("y: {op: reduce_sum, args: [a], axis: x}", "x}", "reduce_sum: axis must be null, an int or a list of ints, got 'x'")
    err("y: {op: transpose, args: [a], perm: {a: 1}}", "{a", "perm must be a list of ints, got a mapping")


def test_tensor_params_reject_attribute_literals():
    err("y: add(a, 'x')", "'x'", "a string 'x' is not allowed where a tensor goes", code="TG104")
    err("y: add(a, None)", "None", "'None' is only allowed as an attribute value", code="TG104")


def test_expect_admits_non_finite_values_inputs_do_not():
    # TF's kernels give nan and inf at their edges (where's nan, a zero
    # row's norm): expect can say so; a value fed to the graph cannot.
    from tfgrad.parse import parse_graph

    g = parse_graph("variables: {x: [1.0]}\nys: x\nxs: x\nexpect:\n  x: [.nan]\n", "e.yaml")
    assert np.isnan(g.expect[0].value.array).all()
    g = parse_graph("variables: {x: [1.0, 2.0]}\nys: x\nxs: x\nexpect:\n  x: [.inf, -.inf]\n", "e.yaml")
    assert g.expect[0].value.array.tolist() == [np.inf, -np.inf]
    with pytest.raises(GraphError) as e:
        parse_graph("variables: {x: [.nan]}\nys: x\nxs: x\n", "e.yaml")
    assert "finite" in e.value.message
