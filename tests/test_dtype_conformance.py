"""Mixed dtypes follow TF (issue 13), three cases TF 2.21 was asked about:
reductions and scans of a bool tensor (TF has no bool kernel; only
reduce_all/reduce_any and argmax/argmin take one), arithmetic of Python
integer literals (``n + (1 + 2)``: Python folds ``1 + 2`` to the int 3,
which takes n's int32), and list literals mixing numbers and booleans
(``tf.constant([1, True])`` is int32 [1, 1]; ``[True, 1]`` is refused).

Every expected value, dtype and refusal was printed by TensorFlow 2.21.0
(eager, float64/int32/bool ``tf.constant`` inputs as in ``HEAD``)."""

from __future__ import annotations

import numpy as np
import pytest

from tfgrad import check
from tfgrad.graph import GraphError

from helpers import assert_points_at, assert_refused_at, evaluation, refusal, value_of

HEAD = """\
constants:
  n: {value: [2, 3], dtype: int32}
  b: {value: [true, false, true], dtype: bool}
variables:
  y: [10.0, 20.0, 30.0]
"""


def graph(expr: str) -> str:
    return HEAD + f"ops:\n  a: {expr!r}\n  loss: reduce_sum(y * y)\nys: loss\nxs: [y]\noutputs: a\n"


def output(expr: str):
    return value_of(graph(expr))


def refused(expr: str) -> GraphError:
    return refusal(graph(expr))


# -- a. reductions and scans of bool tensors -------------------------------------------

@pytest.mark.parametrize("expr", [
    # TF 2.21: tf.math.reduce_sum(b) (and the others) -> InvalidArgumentError:
    # Value for attr 'T' of bool is not in the list of allowed values: float, double, int32, ...
    "reduce_sum(b)", "reduce_mean(b)", "reduce_prod(b)", "reduce_max(b)", "reduce_min(b)",
    "reduce_sum(b, axis=0, keepdims=true)", "cumsum(b)", "cumprod(b, reverse=true)",
])
def test_reductions_and_scans_of_a_bool_tensor_are_refused_as_in_tf(expr):
    e = refused(expr)
    op = expr.split("(")[0]
    assert e.code == "TG202", e
    assert e.message == (f"{op}: b is bool; {op} takes numbers (TensorFlow has no bool kernel "
                         "for it): cast it first, e.g. cast(b, float64)"), e.message
    assert_points_at(graph(expr), e, "b")
    (p,) = check.check_text(graph(expr), "g.yaml").problems
    assert (p.code, p.line, p.col) == ("TG202", e.pos.line, e.pos.col)


@pytest.mark.parametrize("expr, dtype, value", [
    # TF 2.21: tf.math.argmax(b) -> int64 0; tf.math.argmin(b) -> int64 1
    ("argmax(b)", "int64", 0),
    ("argmin(b)", "int64", 1),
    # tf.math.reduce_sum(tf.cast(b, tf.float64)) -> 2.0
    ("reduce_sum(cast(b, float64))", "float64", 2.0),
    # tf.math.reduce_sum(n) -> int32 5; tf.math.cumsum(n) -> int32 [2, 5]
    ("reduce_sum(n)", "int32", 5),
    ("cumsum(n)", "int32", [2, 5]),
])
def test_what_tf_reduces_still_reduces(expr, dtype, value):
    assert output(expr) == (dtype, value)


# -- b. Python integer arithmetic is one weak literal --------------------------------------

@pytest.mark.parametrize("expr, dtype, value", [
    # TF 2.21 with n = tf.constant([2, 3], tf.int32):
    ("n + (1 + 2)", "int32", [5, 6]),     # n + (1 + 2) -> int32 [5, 6]
    ("n * (2 - 5)", "int32", [-6, -9]),   # n * (2 - 5) -> int32 [-6, -9]
    ("n + 2 ** 3", "int32", [10, 11]),    # n + 2 ** 3 -> int32 [10, 11]
    ("n + 7 // 2", "int32", [5, 6]),      # n + 7 // 2 -> int32 [5, 6]
    ("n + 7 % 4", "int32", [5, 6]),       # n + 7 % 4 -> int32 [5, 6]
    ("n + -(1 + 1)", "int32", [0, 1]),    # n + -(1 + 1) -> int32 [0, 1]
    ("(1 + 2) * n", "int32", [6, 9]),     # (1 + 2) * n -> int32 [6, 9]
    ("maximum(n, 1 + 2)", "int32", [3, 3]),  # tf.maximum(n, 1 + 2) -> int32 [3, 3]
    # y = tf.constant([10., 20., 30.], tf.float64): y * (1 + 2) -> float64 [30, 60, 90]
    ("y * (1 + 2)", "float64", [30.0, 60.0, 90.0]),
    ("y * (1 / 4)", "float64", [2.5, 5.0, 7.5]),
])
def test_integer_literal_arithmetic_is_a_python_int_that_takes_the_tensors_dtype(expr, dtype, value):
    assert output(expr) == (dtype, value)


@pytest.mark.parametrize("expr, token, words", [
    # TF 2.21: n + (1 + 2.0) and n + 7 / 2 -> InvalidArgumentError: cannot compute AddV2 as
    # input #1(zero-based) was expected to be a int32 tensor but is a float tensor
    ("n + (1 + 2.0)", "1 + 2.0", "add: n is int32 and the literal 3.0 is float64"),
    ("n + 7 / 2", "7 / 2", "add: n is int32 and the literal 3.5 is float64"),
])
def test_python_arithmetic_giving_a_float_meets_an_int_tensor_as_tf_refuses_it(expr, token, words):
    assert_refused_at(graph(expr), "TG202", words, token)


def test_a_folded_literal_keeps_gradients_and_explain_shows_the_number():
    # d/dy reduce_sum(y * (1 + 2)) = 3 everywhere (TF 2.21: [3., 3., 3.])
    text = ("variables:\n  y: [10.0, 20.0, 30.0]\nops:\n  loss: reduce_sum(y * (1 + 2))\n"
            "ys: loss\nxs: [y]\n")
    r = evaluation(text)
    assert np.asarray(r.gradients[0]).tolist() == [3.0, 3.0, 3.0]


# -- c. numbers and booleans in one list literal ----------------------------------------

@pytest.mark.parametrize("expr, dtype, value", [
    # TF 2.21: tf.constant([1, True]) -> int32 [1, 1]; a number first makes the
    # booleans numbers (Python's True is the int 1)
    ("n + [1, true]", "int32", [3, 4]),          # n + [1, True] -> int32 [3, 4]
    ("n * [[1, 2], [true, false]]", "int32", [[2, 6], [2, 0]]),
    # y * [1, 2, False] -> float64 [10, 40, 0]; y + [1.5, True, 0] -> float64 [11.5, 21, 30]
    ("y * [1, 2, false]", "float64", [10.0, 40.0, 0.0]),
    ("y + [1.5, true, 0]", "float64", [11.5, 21.0, 30.0]),
])
def test_a_number_first_makes_the_booleans_of_a_list_numbers(expr, dtype, value):
    assert output(expr) == (dtype, value)


@pytest.mark.parametrize("expr, token, words", [
    # TF 2.21: tf.constant([True, 1.5]), tf.constant([[True], [1]]) -> ValueError:
    # Can't convert Python sequence with mixed types to Tensor.
    ("y * [true, 1.5, 0]", "1.5", "entry [1] of the literal [true, 1.5, 0] is a number but "
                                  "entry [0] is a boolean"),
    ("where([[true], [1]], y, y)", "1]]", "entry [1, 0] of the literal [[true], [1]] is a number"),
])
def test_a_boolean_first_refuses_numbers_as_tf_does(expr, token, words):
    assert_refused_at(graph(expr), "TG102", words, token)


def test_a_number_first_list_is_not_a_condition():
    # TF 2.21: tf.where([1, True, 0], y, y) -> TypeError: Cannot convert [1, True, 0]
    # to EagerTensor of dtype bool
    # (the literal prints as the numbers it holds, as Python's [1, True, 0] == [1, 1, 0])
    e = refused("where([1, true, 0], y, y)")
    assert e.code == "TG202" and "the literal [1, 1, 0] is float64; where needs a bool condition" \
        in e.message, e.message


def test_arithmetic_in_a_tuple_argument_folds_too():
    # TF 2.21: tf.reshape(y, (1 + 2, 2 - 1)) has shape (3, 1)
    assert output("reshape(y, (1 + 2, 2 - 1))") == ("float64", [[10.0], [20.0], [30.0]])
