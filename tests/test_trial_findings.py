"""Defects a new user found (a fresh clone, TF code transcribed), each as a
test of its kind."""

from __future__ import annotations

import numpy as np
import pytest

from tfgrad import check
from tfgrad.graph import GraphError

from helpers import gradients


@pytest.mark.parametrize("call", ["gradients(y, x)[0]", "hessians(y, x)[0]", "gradients(y, x)[1, :]"])
def test_subscripting_a_single_x_gradient_call_is_refused(call):
    # TF's tf.gradients(y, x)[0] would silently slice x's gradient here.
    text = f"variables: {{x: [[1.0, 2.0], [3.0, 4.0]]}}\nops:\n  y: reduce_sum(x * x * x)\n  g: {call}\nys: g\nxs: [x]\n"
    with pytest.raises(GraphError) as e:
        gradients(text)
    assert e.value.code == "TG203" and "already that tensor" in e.value.message


def test_the_list_form_and_a_later_subscript_still_work():
    text = ("variables: {x: [[1.0, 2.0], [3.0, 4.0]]}\nops:\n  y: reduce_sum(x * x * x)\n"
            "  g: gradients(y, [x])[0]\n  h: gradients(y, x)\n  r: reduce_sum(h[0])\nys: [g, r]\nxs: [x]\n")
    assert gradients(text) == [[[6.0 + 6.0, 12.0 + 12.0], [18.0, 24.0]]]


@pytest.mark.parametrize("op, first", [("reduce_max", -np.inf), ("reduce_min", np.inf)])
def test_max_and_min_over_an_empty_axis_are_tf_s_identity_with_zero_gradient(op, first):
    from tfgrad.engine import compute, derive
    from tfgrad.parse import parse_graph

    text = f"variables: {{x: [[1.0, 2.0, 3.0], [3.0, 4.0, 5.0]]}}\nops:\n  y: {op}(x[:, 3:], axis=1)\nys: y\nxs: x\noutputs: y\n"
    r = compute(derive(parse_graph(text, "e.yaml")))
    assert r.values["y"].tolist() == [first, first]
    assert r.gradients[0].tolist() == [[0.0] * 3] * 2


def test_add_n_of_an_empty_list_is_an_error_not_a_crash():
    with pytest.raises(GraphError) as e:
        gradients("variables: {x: [1.0]}\nops:\n  y: add_n([])\nys: y\nxs: x\n")
    assert e.value.code == "TG203" and "empty list" in e.value.message


def test_check_skips_the_gradcheck_of_an_integer_x():
    text = ("variables:\n  x: {value: [1, 2], dtype: int32}\nops:\n"
            "  z: reduce_sum(cast(x, float64) * 2.0)\nys: z\nxs: [x]\n")
    r = check.check_text(text, "int.yaml")
    assert r.passed and not r.problems
    assert [c.status for c in r.checks if c.name == "gradcheck x"] == ["skipped"]


# 06: TF accepts tuples wherever it accepts lists (shapes, axes, paddings,
# lists of tensors); a tuple argument is a list.


def test_tuple_shape_and_axis_are_lists():
    text = ("variables:\n  x: [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]\nops:\n"
            "  y: reduce_sum(reshape(x, (3, -1)), axis=(0, 1))\nys: y\nxs: [x]\n")
    assert gradients(text) == [[[1.0] * 3] * 2]


TUPLES = ("  p: pad(x, ((1, 0), (0, 2)))\n  c: concat((x, x), 0)\n  t: transpose(x, (1, 0))\n"
          "  a: add(x, (1.0, 2.0, 3.0))\n  s: reduce_sum(x, (0,))\n")
LISTS = ("  p: pad(x, [[1, 0], [0, 2]])\n  c: concat([x, x], 0)\n  t: transpose(x, [1, 0])\n"
         "  a: add(x, [1.0, 2.0, 3.0])\n  s: reduce_sum(x, [0])\n")


def test_tuples_mean_what_lists_mean_with_tf_s_numbers():
    head = "variables:\n  x: [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]\nops:\n"
    tail = ("  y: reduce_sum(p) + reduce_sum(c * c) + reduce_sum(t * t) + reduce_sum(a * a)"
            " + reduce_sum(s)\nys: y\nxs: [x]\n")
    # TensorFlow 2.21: tf.pad(x, ((1, 0), (0, 2))), tf.concat((x, x), 0), ...
    # under GradientTape, float64
    assert gradients(head + TUPLES + tail) == [[[12.0, 22.0, 32.0], [36.0, 46.0, 56.0]]]
    assert gradients(head + LISTS + tail) == gradients(head + TUPLES + tail)


def test_a_subscript_keeps_its_tuple_and_a_bare_tuple_is_still_refused():
    head = "variables:\n  x: [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]\nops:\n"
    assert gradients(head + "  y: reduce_sum(reshape(x[1, :], (3, 1)) * 2.0)\nys: y\nxs: [x]\n") == \
        [[[0.0] * 3, [2.0] * 3]]
    with pytest.raises(GraphError) as e:
        gradients(head + "  y: (x, x)\nys: y\nxs: [x]\n")
    assert e.value.code == "TG104" and "a tuple '(x, x)' is not allowed" in e.value.message


# 07: norm(x, ord=np.inf) transcribes as norm(x, ord=inf); what TF refuses
# or the grammar cannot hold says what is accepted.

X23 = "variables:\n  x: [[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]]\nops:\n"


@pytest.mark.parametrize("ops, y, grad", [
    # TensorFlow 2.21, tf.norm(x, ord=np.inf[, axis]) under GradientTape, float64
    ("  y: norm(x, ord=inf)\n", 6.0, [[0.0, 0.0, 0.0], [0.0, 0.0, -1.0]]),
    ("  y: reduce_sum(norm(x, ord=inf, axis=-1))\n", 9.0, [[0.0, 0.0, 1.0], [0.0, 0.0, -1.0]]),
    ("  y: norm(x, ord=inf, axis=(0, 1))\n", 15.0, [[0.0, 0.0, 0.0], [1.0, 1.0, -1.0]]),
])
def test_norm_ord_inf_is_tf_s_np_inf(ops, y, grad):
    from helpers import evaluation

    ev = evaluation(X23 + ops + "ys: y\nxs: [x]\noutputs: y\n")
    assert ev.values["y"].tolist() == y
    assert ev.gradients[0].tolist() == grad


@pytest.mark.parametrize("spelling", ["np.inf", "float('inf')", "math.inf"])
def test_other_spellings_of_infinity_say_how_to_write_it(spelling):
    with pytest.raises(GraphError) as e:
        gradients(X23 + f"  y: norm(x, ord={spelling})\nys: y\nxs: [x]\n")
    m = e.value.message
    assert e.value.code == "TG203"
    assert "ord must be a value (a number, inf, true/false, null, a quoted string or a list)" in m
    assert "infinity is written inf" in m and "must be any" not in m


def test_a_name_where_any_value_goes_says_a_value_is_expected():
    with pytest.raises(GraphError) as e:
        gradients(X23 + "  y: norm(x, ord=x)\nys: y\nxs: [x]\n")
    assert "norm: ord must be a value (a number, inf" in e.value.message
    assert "infinity" not in e.value.message


def test_a_node_named_inf_is_still_that_node():
    text = ("variables:\n  x: [1.0, 2.0]\n  inf: [3.0, 4.0]\nops:\n  y: reduce_sum(x * inf)\n"
            "ys: y\nxs: [x]\n")
    assert gradients(text) == [[3.0, 4.0]]


# 08: a literal list of integers as sparse labels is an int32 tensor, as TF
# converts a Python list of ints (and as gather's indices already were).


def test_sparse_labels_may_be_a_literal_list_of_ints():
    text = ("variables:\n  x: [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]\nops:\n"
            "  y: reduce_sum(sparse_softmax_cross_entropy_with_logits(labels=[0, 2], logits=x))\n"
            "ys: y\nxs: [x]\n")
    # TensorFlow 2.21: labels=[0, 2] (int32), float64 logits, GradientTape
    tf = [[-0.9099694268296196, 0.2447284710547976, 0.6652409557748218],
          [0.09003057317038046, 0.24472847105479764, -0.3347590442251782]]
    assert np.allclose(gradients(text)[0], tf, rtol=1e-14, atol=1e-15)
    # the same as int32 labels written out
    typed = (text.replace("labels=[0, 2]", "labels=k")
             .replace("ops:", "constants:\n  k: {value: [0, 2], dtype: int32}\nops:"))
    assert gradients(typed) == gradients(text)


@pytest.mark.parametrize("labels, words", [
    ("[0.5, 2]", "are not integers"),
    ("x[:, 0]", "is float64; sparse labels are class indices of dtype int32 or int64"),
])
def test_sparse_labels_that_are_not_integers_are_still_refused(labels, words):
    text = ("variables:\n  x: [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]\nops:\n"
            f"  y: reduce_sum(sparse_softmax_cross_entropy_with_logits(labels={labels}, logits=x))\n"
            "ys: y\nxs: [x]\n")
    with pytest.raises(GraphError) as e:
        gradients(text)
    assert e.value.code == "TG202" and words in e.value.message


# 09: a misspelt 'args' in a mapping op gets a did-you-mean.


@pytest.mark.parametrize("key", ["arg", "Args", "argz"])
def test_a_misspelt_args_key_suggests_args(key):
    text = f"variables:\n  x: [[1.0, 2.0]]\nops:\n  y: {{op: reduce_sum, {key}: [x]}}\nys: y\nxs: [x]\n"
    with pytest.raises(GraphError) as e:
        gradients(text)
    m = e.value.message
    assert e.value.code == "TG203" and (e.value.pos.line, e.value.pos.col) == (4, 23)
    assert f"reduce_sum has no parameter '{key}' (did you mean 'args'?)" in m
    assert "reduce_sum(input_tensor, axis=None, keepdims=False)" in m


def test_a_misspelt_parameter_still_suggests_the_parameter():
    text = "variables:\n  x: [[1.0, 2.0]]\nops:\n  y: {op: reduce_sum, args: [x], axes: 0}\nys: y\nxs: [x]\n"
    with pytest.raises(GraphError) as e:
        gradients(text)
    assert "reduce_sum has no parameter 'axes' (did you mean 'axis'?)" in e.value.message


# 10: TF code transcribes by deleting the tf., tf.math., tf.nn. and
# tf.linalg. prefixes (the contract); a prefix left in says which to drop.


@pytest.mark.parametrize("expr, col, dotted, prefix, name", [
    ("tf.reduce_sum(tf.nn.relu(x))", 6, "tf.reduce_sum", "tf.", "reduce_sum"),
    ("reduce_sum(tf.nn.relu(x))", 17, "tf.nn.relu", "tf.nn.", "relu"),
    ("tf.math.reduce_sum(x)", 6, "tf.math.reduce_sum", "tf.math.", "reduce_sum"),
    ("tf.linalg.matmul(x, x, transpose_b=True)", 6, "tf.linalg.matmul", "tf.linalg.", "matmul"),
])
def test_a_tf_prefix_says_to_drop_it(expr, col, dotted, prefix, name):
    text = f"variables:\n  x: [[1.0, 2.0]]\nops:\n  y: {expr}\nys: y\nxs: [x]\n"
    with pytest.raises(GraphError) as e:
        gradients(text)
    assert e.value.code == "TG104" and (e.value.pos.line, e.value.pos.col) == (4, col)
    assert f"'{dotted}': drop the '{prefix}' prefix and write {name}(...)" in e.value.message
    # and without it the file works
    assert gradients(text.replace(prefix, "", 1).replace("tf.nn.", "")) is not None


def test_a_tf_prefix_on_an_op_tfgrad_lacks_or_another_namespace():
    head = "variables:\n  x: [[1.0, 2.0]]\nops:\n  y: "
    with pytest.raises(GraphError) as e:
        gradients(head + "tf.nn.ctc_loss(x)\nys: y\nxs: [x]\n")
    assert e.value.code == "TG203" and "tfgrad does not have 'ctc_loss' yet" in e.value.message
    with pytest.raises(GraphError) as e:
        gradients(head + "tf.keras.activations.relu(x)\nys: y\nxs: [x]\n")
    assert e.value.code == "TG104" and "without the prefix" in e.value.message


def test_a_tf_dtype_says_to_drop_the_prefix():
    with pytest.raises(GraphError) as e:
        gradients("variables:\n  x: [[1.0, 2.0]]\nops:\n  y: cast(x, tf.float32)\nys: y\nxs: [x]\n")
    assert e.value.code == "TG203" and "got 'tf.float32' (drop the prefix: float32)" in e.value.message


# 12: check's TG402 note shows a None gradient as None (what run prints, and
# TF's tape.gradient returns for floor), not as the 0 it is compared as.


def test_the_kink_note_of_a_none_gradient_says_none():
    text = "variables:\n  u: [1.5, -0.5, 0.0]\nops:\n  y: reduce_sum(floor(u))\nys: y\nxs: [u]\n"
    assert gradients(text) == [None]
    r = check.check_text(text, "floor.yaml")
    (p,) = r.problems
    assert p.code == "TG402" and (p.line, p.col) == (6, 6)
    assert p.message.endswith("one-sided differences 0 (forward) and 1000000 (backward), gradient None")


def test_the_kink_note_of_a_zero_gradient_still_says_0():
    # relu'(0) = 0 in TF: a value, not None
    text = "variables:\n  u: [1.5, -0.5, 0.0]\nops:\n  y: reduce_sum(relu(u))\nys: y\nxs: [u]\n"
    assert gradients(text) == [[1.0, 0.0, 0.0]]
    (p,) = check.check_text(text, "relu.yaml").problems
    assert p.code == "TG402" and p.message.endswith("(backward), gradient 0")
