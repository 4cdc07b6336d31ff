"""Inline literals take the dtype TensorFlow 2 gives the Python value they
transcribe: a list of booleans is a bool tensor, an integer meeting an
integer tensor takes its dtype (``tf.constant([2, 3]) + 1`` is int32), a
number with a fraction meeting one is an error, and ``norm``'s ``ord`` is
the number ``inf``, not the string ``'inf'``.

Every expected value and dtype was printed by TensorFlow 2.21.0 (eager,
``tf.constant`` inputs of the dtypes below, the Python expression written
as the graph's); errors are where TF raises (TypeError / ValueError /
InvalidArgumentError)."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
from click.testing import CliRunner

from tfgrad.commands import cli
from tfgrad.graph import GraphError

from helpers import CONTRACT_EXAMPLE, assert_refused_at, evaluation, gradients, refusal, value_of

HEAD = """\
constants:
  n: {value: [2, 3], dtype: int32}
  n64: {value: [2, 3], dtype: int64}
  m: {value: [[1, 2]], dtype: int32}
  c: {value: [true, false], dtype: bool}
variables:
  x: [[1.0, -2.0, 3.0], [-4.0, 5.0, 0.0]]
  y: [10.0, 20.0, 30.0]
"""


def graph(expr: str, head: str = HEAD) -> str:
    return head + f"ops:\n  a: {expr!r}\n  loss: reduce_sum(x * x)\nys: loss\nxs: [x, y]\noutputs: a\n"


def output(expr: str):
    """(dtype name, value as nested lists) of the op ``a: expr``."""
    return value_of(graph(expr))


def refused(expr: str, head: str = HEAD) -> GraphError:
    return refusal(graph(expr, head))


# -- 1. lists of booleans ----------------------------------------------------------------

def test_trial_finding_11_a_bool_list_literal_is_where_s_condition():
    # tf.where([[True], [False]], x, y); loss = reduce_sum(a * a); tape.gradient
    text = textwrap.dedent("""\
        variables:
          x: [[1.0, -2.0, 3.0], [-4.0, 5.0, 0.0]]
          y: [10.0, 20.0, 30.0]
        ops:
          a: where([[true], [false]], x, y)
          loss: reduce_sum(a * a)
        ys: loss
        xs: [x, y]
        outputs: a
        """)
    assert gradients(text) == [[[2.0, -4.0, 6.0], [0.0, 0.0, 0.0]], [20.0, 40.0, 60.0]]
    assert evaluation(text).values["a"].tolist() == [[1.0, -2.0, 3.0], [10.0, 20.0, 30.0]]
    # Python's spelling too, and the same graph with the condition written as a constant
    assert gradients(text.replace("[[true], [false]]", "[[True], [False]]")) == gradients(text)
    typed = text.replace("where([[true], [false]], x, y)", "where(k, x, y)").replace(
        "ops:", "constants:\n  k: {value: [[true], [false]], dtype: bool}\nops:")
    assert gradients(typed) == gradients(text)


@pytest.mark.parametrize("expr, dtype, value", [
    ("where(true, x, y)", "float64", [[1.0, -2.0, 3.0], [-4.0, 5.0, 0.0]]),  # tf.where(True, x, y)
    ("logical_and(c, [true, true])", "bool", [True, False]),
    ("equal(c, [true, true])", "bool", [True, False]),
    ("c | [false, true]", "bool", [True, True]),
    # TF converts a Python bool to the other operand's number dtype (True is 1)
    ("y * [true, false, true]", "float64", [10.0, 0.0, 30.0]),
    ("n + true", "int32", [3, 4]),
    ("n + [true, false]", "int32", [3, 3]),
    ("identity([true, false])", "bool", [True, False]),
])
def test_bool_literals_are_bool_tensors(expr, dtype, value):
    assert output(expr) == (dtype, value)


@pytest.mark.parametrize("expr, token, words", [
    # tf.constant([True, 1]) / tf.where([[True], [1]], x, y): ValueError "Can't convert
    # Python sequence with mixed types to Tensor."
    ("where([[true], [1]], x, y)", "1]]", "entry [1, 0] of the literal [[true], [1]] is a number but "
                                         "entry [0, 0] is a boolean; a literal that starts with a "
                                         "boolean holds booleans only"),
    ("where([[true], [1.0]], x, y)", "1.0", "entry [1, 0] of the literal [[true], [1.0]] is a number"),
    # a number first is accepted, as tf.constant([1, 2, False]) is int32 [1, 2, 0]
    # (tests/test_dtype_conformance.py)
])
def test_bools_and_numbers_in_one_literal_are_refused(expr, token, words):
    assert_refused_at(graph(expr), "TG102", words, token)


@pytest.mark.parametrize("expr, words", [
    # tf.where([[1], [0]], x, y): TypeError "Cannot convert [[1], [0]] to EagerTensor of dtype bool"
    ("where([[1], [0]], x, y)", "condition the literal [[1], [0]] is float64; where needs a bool condition"),
    # tf.logical_and(c, [1, 0]): the same TypeError
    ("logical_and(c, [1, 0])", "the literal [1, 0] is float64; logical_and takes bool tensors"),
    # tf.exp(True), tf.math.negative([True]), c * c: no bool kernel
    ("exp(true)", "exp: the literal true is bool; exp takes numbers"),
    ("-[true]", "negative: the literal [true] is bool; negative takes numbers"),
    ("c * c", "multiply: c is bool; multiply takes numbers (TensorFlow has no bool kernel for it): "
              "cast it first, e.g. cast(c, float64)"),
    # tf.where(c, c, 0): TypeError "Cannot convert 0 to EagerTensor of dtype bool"
    ("where(c, c, 0)", "c is bool and the literal 0 is float64"),
])
def test_bool_and_number_tensors_do_not_mix_where_tf_refuses(expr, words):
    e = refused(expr)
    assert e.code == "TG202" and words in e.message, e.message


def test_literal_entries_are_numbered_from_0_like_every_other_message():
    e = refused("where([[true], [fals]], x, y)")
    assert "entry [1, 0] of the literal [[true], [fals]] is the name 'fals'" in e.message, e.message
    e = refused("y * [1, 2, z]")
    assert "entry [2] of the literal [1, 2, z] is the name 'z'" in e.message, e.message
    # values in the file too, and grad_ys entries (as gradients' grad_ys[0])
    with pytest.raises(GraphError) as info:
        evaluation("variables:\n  w: [[1, 2], [3, x]]\nys: w\nxs: w\n")
    assert "entry [1, 1] of variable 'w' is a string 'x'" in info.value.message
    with pytest.raises(GraphError) as info:
        evaluation("variables:\n  w: [[1, 2], [3]]\nys: w\nxs: w\n")
    assert "row [1] of variable 'w' has 1 entry, row [0] has 2" in info.value.message
    with pytest.raises(GraphError) as info:
        evaluation("variables:\n  w: [1.0]\nys: w\nxs: w\ngrad_ys: [[1, x]]\n")
    assert "entry [1] of grad_ys[0] is a string 'x'" in info.value.message


# -- 2. integer literals meeting integer tensors -----------------------------------------

@pytest.mark.parametrize("expr, dtype, value", [
    ("n + 1", "int32", [3, 4]),
    ("1 + n", "int32", [3, 4]),
    ("n + -1", "int32", [1, 2]),
    ("n * 2", "int32", [4, 6]),
    ("2 - n", "int32", [0, -1]),
    ("n64 + 1", "int64", [3, 4]),
    ("n > 1", "bool", [True, True]),
    ("equal(n, 2)", "bool", [True, False]),
    ("not_equal(n, 2)", "bool", [False, True]),
    ("where(n > 2, n, 0)", "int32", [0, 3]),
    ("where(n > 2, 0, n)", "int32", [2, 0]),
    ("where(n > 2, n, [7, 8])", "int32", [7, 3]),
    ("maximum(n, 0)", "int32", [2, 3]),
    ("maximum(0, n)", "int32", [2, 3]),
    ("minimum(n, 2)", "int32", [2, 2]),
    ("pow(n, 2)", "int32", [4, 9]),
    ("n ** 2", "int32", [4, 9]),
    ("[1, 2] * n", "int32", [2, 6]),
    ("multiply([1, 2], n)", "int32", [2, 6]),
    ("squared_difference(n, 1)", "int32", [1, 4]),
    ("clip_by_value(n, 0, 2)", "int32", [2, 2]),
    ("add_n([n, [1, 1]])", "int32", [3, 4]),
    ("matmul(m, [[3], [4]])", "int32", [[11]]),
    ("m @ [[3], [4]]", "int32", [[11]]),
    # tf.divide of int32 by a Python int: both cast to float64 (truediv)
    ("n / 2", "float64", [1.0, 1.5]),
])
def test_an_integer_literal_takes_the_integer_tensor_s_dtype(expr, dtype, value):
    assert output(expr) == (dtype, value)


@pytest.mark.parametrize("expr, words", [
    # n + 1.5, n + 1.0 (InvalidArgumentError: expected an int32 tensor but is a float tensor),
    # n > 1.5, tf.where(n > 2, n, 0.5), maximum(n, 0.5), pow(n, 2.0), [1.5, 2] * n,
    # clip_by_value(n, 0.5, 2) (TypeError: Cannot convert 0.5 to EagerTensor of dtype int32)
    ("n + 1.5", "add: n is int32 and the literal 1.5 is float64; TensorFlow does not convert"),
    ("n + 1.0", "add: n is int32 and the literal 1.0 is float64"),
    ("n + 2e0", "add: n is int32 and the literal 2.0 is float64"),
    ("n > 1.5", "greater: n is int32 and the literal 1.5 is float64"),
    ("where(n > 2, n, 0.5)", "where: n is int32 and the literal 0.5 is float64"),
    ("maximum(n, 0.5)", "maximum: n is int32 and the literal 0.5 is float64"),
    ("pow(n, 2.0)", "pow: n is int32 and the literal 2.0 is float64"),
    ("[1.5, 2] * n", "multiply: the literal [1.5, 2.0] is float64 and n is int32"),
    ("clip_by_value(n, 0.5, 2)", "the literal 0.5 is float64"),
])
def test_a_literal_with_a_fraction_meeting_an_integer_tensor_is_refused(expr, words):
    e = refused(expr)
    assert e.code == "TG202" and words in e.message, e.message


def test_an_integer_literal_out_of_the_dtype_s_range_is_refused():
    # TF 2.21 wraps it silently: tf.constant([2, 3]) + 2**31 is [-2147483646, -2147483645]
    e = refused("n + 2147483648")
    assert e.code == "TG202" and "2147483648 is out of int32's range (-2147483648 to 2147483647)" in e.message
    assert output("n + 2147483647 - 2147483647") == ("int32", [2, 3])
    assert output("n64 + 2147483648") == ("int64", [2147483650, 2147483651])


def test_format_1_integers_in_a_float_graph_stay_floats():
    # plain integers without a dtype are float values that print as integers
    r = CliRunner().invoke(cli, ["run", "-"], input=CONTRACT_EXAMPLE)
    assert r.exit_code == 0, r.output
    assert r.output.splitlines() == ["w1  (1, 2) = [[6, 9]]", "w2  (1, 2) = [[19, 17]]"]
    text = "variables:\n  w: [1, 2]\nops:\n  a: w * 3 + 1\nys: a\nxs: w\noutputs: a\n"
    r = evaluation(text)
    assert r.values["a"].dtype == np.float64 and r.values["a"].tolist() == [4.0, 7.0]
    # a float32 graph: tf.constant([1.5, 2.0], tf.float32) + 1 is float32 [2.5, 3.0]
    text = "dtype: float32\nvariables:\n  w: [1.5, 2.0]\nops:\n  a: w + 1\nys: a\nxs: w\noutputs: a\n"
    r = evaluation(text)
    assert r.values["a"].dtype == np.float32 and r.values["a"].tolist() == [2.5, 3.0]


def test_an_int_result_prints_as_ints():
    r = CliRunner().invoke(cli, ["run", "-"], input=graph("n + 1"))
    assert r.exit_code == 0, r.output
    assert "a  (2,) = [3, 4]" in r.output


# -- 3. norm's ord is the number inf ----------------------------------------------------

def test_norm_ord_inf_is_the_number_inf():
    # tf.norm(y, ord=np.inf) = 30; tf.norm(x, ord=np.inf, axis=[0, 1]) = 9 (largest row sum)
    assert output("norm(y, ord=inf)") == ("float64", 30.0)
    assert output("norm(x, ord=inf, axis=[0, 1])") == ("float64", 9.0)


@pytest.mark.parametrize("expr, kind", [
    # ValueError: 'ord' must be a supported vector norm, got inf
    ("norm(y, ord='inf')", "vector"),
    ("norm(y, 'inf')", "vector"),
    # ValueError: 'ord' must be a supported matrix norm in ['euclidean', 'fro', 1, 2, inf], got inf
    ("norm(x, ord='inf', axis=[0, 1])", "matrix"),
])
def test_norm_refuses_the_string_inf_as_tf_does(expr, kind):
    e = refused(expr)
    assert e.code == "TG203", e.message
    assert f"'ord' must be a supported {kind} norm, got the string 'inf'" in e.message
    assert "write ord=inf without quotes" in e.message


def test_a_mapping_op_takes_a_bool_list_argument_as_an_expression_does():
    expr = graph("where([[true], [false]], x, y)")
    mapping = expr.replace("'where([[true], [false]], x, y)'", "{op: where, args: [[[true], [false]], x, y]}")
    assert mapping != expr
    assert evaluation(mapping).values["a"].tolist() == evaluation(expr).values["a"].tolist() \
        == [[1.0, -2.0, 3.0], [10.0, 20.0, 30.0]]
    with pytest.raises(GraphError) as e:
        evaluation(mapping.replace("[[true], [false]]", "[[true], [0]]"))
    assert e.value.code == "TG102" and "entry [1, 0] of argument 1 of 'a' is a number but entry [0, 0] is a boolean" \
        in e.value.message
