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
