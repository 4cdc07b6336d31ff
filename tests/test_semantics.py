"""TF's tf.gradients conventions, each with numbers derived by hand.

The derivations are in the comments; none of these numbers came from tfgrad.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tfgrad.graph import GraphError
from helpers import TUTORIAL_NODES, close, evaluation, gradients

TUTORIAL = TUTORIAL_NODES + "xs: [w1, w2]\n"


# ---- the tutorial's numbers
# res2a = w1·[2,1]ᵀ + w2·[3,5]ᵀ, res2b = w1·[2,4]ᵀ + w2·[8,6]ᵀ, so with seeds a, b:
# d/dw1 = a·[2,1] + b·[2,4], d/dw2 = a·[3,5] + b·[8,6].


def test_tutorial_plain():
    assert gradients(TUTORIAL + "ys: [res2a, res2b]\n") == [[[4, 5]], [[11, 11]]]


def test_tutorial_grad_ys():
    text = TUTORIAL + "ys: [res2a, res2b]\ngrad_ys: [[[1]], [[2]]]\n"
    assert gradients(text) == [[[6, 9]], [[19, 17]]]


def test_tutorial_res2a_alone():
    assert gradients(TUTORIAL + "ys: res2a\n") == [[[2, 1]], [[3, 5]]]


def test_tutorial_integers_are_exact():
    ev = evaluation(TUTORIAL + "ys: [res2a, res2b]\ngrad_ys: [[[1]], [[2]]]\n")
    assert ev.integral == [True, True]


def test_grad_ys_null_entry_means_ones():
    text = TUTORIAL + "ys: [res2a, res2b]\ngrad_ys: [null, [[2]]]\n"
    assert gradients(text) == [[[6, 9]], [[19, 17]]]


def test_grad_ys_by_name():
    text = TUTORIAL + "constants:\n  two: [[2]]\nys: [res2a, res2b]\ngrad_ys: [null, two]\n"
    assert gradients(text) == [[[6, 9]], [[19, 17]]]


# ---- unconnected: None by default, zeros on request


UNCONNECTED = """
variables:
  w1: [[1, 2]]
  w2: [[3, 4]]
ops:
  p: matmul(w1, [[2], [4]])
ys: p
xs: [w1, w2]
"""


def test_unconnected_is_none():
    assert gradients(UNCONNECTED) == [[[2, 4]], None]


def test_unconnected_zero():
    assert gradients(UNCONNECTED + "unconnected_gradients: zero\n") == [[[2, 4]], [[0, 0]]]


def test_zero_valued_path_is_connected():
    # y = 0 * x is structurally connected: zeros, not None (TF's rule).
    text = "variables: {x: [1, 2]}\nops:\n  y: 0 * x\nys: y\nxs: x\n"
    assert gradients(text) == [[0, 0]]


# ---- stop_gradients: the TF docs' example


STOP = """
variables:
  a: 0
ops:
  b: 2 * a
  s: a + b
ys: s
xs: [a, b]
"""


def test_stop_gradients_partial():
    assert gradients(STOP + "stop_gradients: [a, b]\n") == [1, 1]


def test_without_stop_gradients_total():
    # ds/da = 1 + 2 (through b), ds/db = 1.
    assert gradients(STOP) == [3, 1]


def test_stop_gradient_op_gives_none():
    text = "variables: {x: [1, 2]}\nops:\n  y: stop_gradient(x) * 3\nys: y\nxs: x\n"
    assert gradients(text) == [None]


def test_stop_gradient_op_forward_is_identity():
    # d/dx [x * stop_gradient(x)] = stop_gradient(x) = x.
    text = "variables: {x: [2, 5]}\nops:\n  y: x * stop_gradient(x)\nys: y\nxs: x\n"
    assert gradients(text) == [[2, 5]]


# ---- intermediate xs, y as x, duplicates

CHAIN = """
variables:
  w: [1, 2]
ops:
  h: 3 * w
  y: h * h
"""


def test_intermediate_x():
    # y = h², h = 3w: dy/dh = 2h = [6, 12]; dy/dw = 2h·3 = [18, 36].
    assert gradients(CHAIN + "ys: y\nxs: [h, w]\n") == [[6, 12], [18, 36]]


def test_y_that_is_an_x_gets_its_seed():
    assert gradients(CHAIN + "ys: h\nxs: h\ngrad_ys: [[5, 7]]\n") == [[5, 7]]
    assert gradients(CHAIN + "ys: [y, h]\nxs: h\n") == [[7, 13]]  # 2h + 1


def test_duplicate_xs_each_get_the_full_gradient():
    assert gradients(CHAIN + "ys: y\nxs: [w, w]\n") == [[18, 36], [18, 36]]


def test_duplicate_ys_seeds_add():
    assert gradients(CHAIN + "ys: [y, y]\nxs: w\n") == [[36, 72]]
    assert gradients(CHAIN + "ys: [y, y]\nxs: w\ngrad_ys: [[1, 1], [2, 3]]\n") == [[54, 144]]


# ---- broadcasting: the gradient is summed back to each input's shape


def test_broadcast_reduction():
    text = """
    variables:
      x: [[1, 2, 3], [4, 5, 6]]
      b: [10, 20, 30]
      s: 2
      c: [[1], [2]]
    ops:
      y: (x + b) * s * c
    ys: y
    xs: [x, b, s, c]
    """
    # y_ij = (x_ij + b_j)·s·c_i.  dx_ij = s·c_i; db_j = Σ_i s·c_i = 6;
    # ds = Σ (x+b)·c = (11+22+33)·1 + (14+25+36)·2 = 66 + 150 = 216;
    # dc_i = Σ_j (x_ij + b_j)·s = [132, 150].
    assert gradients(text) == [[[2, 2, 2], [4, 4, 4]], [6, 6, 6], 216, [[132], [150]]]


def test_broadcast_row_against_column():
    text = "variables:\n  r: [1, 2, 3]\n  k: [[10], [20]]\nops:\n  y: r * k\nys: y\nxs: [r, k]\n"
    # y_ij = r_j k_i: dr_j = Σ k = 30; dk_i = Σ r = 6.
    assert gradients(text) == [[30, 30, 30], [[6], [6]]]


# ---- TF's choices at kinks


def test_relu_at_zero_is_zero():
    text = "variables: {x: [-1, 0, 2]}\nops:\n  y: relu(x)\nys: y\nxs: x\n"
    assert gradients(text) == [[0, 0, 1]]


def test_abs_at_zero_is_zero():
    text = "variables: {x: [-2, 0, 3]}\nops:\n  y: abs(x)\nys: y\nxs: x\n"
    assert gradients(text) == [[-1, 0, 1]]


def test_maximum_tie_goes_to_first_argument():
    text = "variables:\n  x: [1, 2, 3]\n  y: [1, 0, 5]\nops:\n  z: maximum(x, y)\nys: z\nxs: [x, y]\n"
    assert gradients(text) == [[1, 1, 0], [0, 0, 1]]


def test_minimum_tie_goes_to_first_argument():
    text = "variables:\n  x: [1, 2, 3]\n  y: [1, 0, 5]\nops:\n  z: minimum(x, y)\nys: z\nxs: [x, y]\n"
    assert gradients(text) == [[1, 0, 1], [0, 1, 0]]


def test_pow_log_mask():
    text = "variables:\n  x: [-2, 0, 2]\n  y: [2, 2, 3]\nops:\n  z: x ** y\nys: z\nxs: [x, y]\n"
    dx, dy = gradients(text)
    # dx = y·x^(y−1) = [2·(−2), 2·0, 3·4]; dy = x^y·log x where x > 0, else 0.
    assert dx == [-4, 0, 12]
    assert close(dy, [0, 0, 8 * math.log(2)])


def test_zero_to_the_zero_gives_nan_for_dx():
    text = "variables:\n  x: 0\n  y: 0\nops:\n  z: pow(x, y)\nys: z\nxs: [x, y]\n"
    dx, dy = gradients(text)
    assert math.isnan(dx)  # 0·0^(−1) = 0·inf
    assert dy == 0  # log masked where x <= 0


def test_sqrt_at_zero_is_inf():
    text = "variables: {x: [0, 4]}\nops:\n  y: sqrt(x)\nys: y\nxs: x\n"
    assert gradients(text) == [[math.inf, 0.25]]


# ---- the other ops, one hand-derived value each


@pytest.mark.parametrize(
    "expr, x, expected",
    [
        ("square(x)", [3.0], [6.0]),
        ("exp(x)", [0.0], [1.0]),
        ("log(x)", [4.0], [0.25]),
        ("tanh(x)", [0.0], [1.0]),
        ("sigmoid(x)", [0.0], [0.25]),
        ("negative(x)", [5.0], [-1.0]),
        ("identity(x)", [5.0], [1.0]),
        ("-x", [5.0], [-1.0]),
        ("1 / x", [2.0], [-0.25]),
        ("x / 4", [2.0], [0.25]),
        ("x - 3 * x", [2.0], [-2.0]),
        ("transpose(x)", [1.0], [1.0]),  # rank 1: unchanged
        ("reduce_sum(x)", [1.0], [1.0]),
        ("add_n(x, x, x)", [1.0], [3.0]),
    ],
)
def test_op_gradient(expr, x, expected):
    text = f"variables: {{x: {x}}}\nops:\n  y: {expr}\nys: y\nxs: x\n"
    assert close(gradients(text)[0], expected)


def test_matmul_transposes():
    # y = aᵀ·bᵀ with a (2,1), b (2,1)... a is 3x2, b is 2x3: aᵀ (2x3)·bᵀ (3x2).
    text = """
    variables:
      a: [[1, 2], [3, 4], [5, 6]]
      b: [[1, 0, 2], [0, 1, 3]]
    ops:
      y: matmul(a, b, transpose_a=true, transpose_b=true)
    ys: y
    xs: [a, b]
    """
    a = np.array([[1, 2], [3, 4], [5, 6]], float)
    b = np.array([[1, 0, 2], [0, 1, 3]], float)
    g = np.ones((2, 2))
    # y = aᵀbᵀ: dA = (G·b)ᵀ = b·Gᵀ... written out: dA = bᵀ... check numerically:
    # L = Σ_ij (aᵀbᵀ)_ij = Σ_ijk a_ki b_jk, so dL/da_ki = Σ_j b_jk, dL/db_jk = Σ_i a_ki.
    da = np.tile(b.sum(axis=0)[:, None], (1, 2))
    db = np.tile(a.sum(axis=1)[None, :], (2, 1))
    assert close(gradients(text)[0], da) and close(gradients(text)[1], db)
    assert g.shape == (2, 2)


@pytest.mark.parametrize(
    "attrs, expected",
    [
        ("", [[1 / 6] * 3] * 2),
        ("axis=0", [[1 / 2] * 3] * 2),
        ("axis=1", [[1 / 3] * 3] * 2),
        ("axis=-1, keepdims=true", [[1 / 3] * 3] * 2),
    ],
)
def test_reduce_mean(attrs, expected):
    sep = ", " if attrs else ""
    text = f"variables:\n  x: [[1, 2, 3], [4, 5, 6]]\nops:\n  y: reduce_mean(x{sep}{attrs})\nys: y\nxs: x\n"
    assert close(gradients(text)[0], expected)


def test_reduce_sum_axis1_weighted():
    # y = Σ_j x_ij (shape (2,)), seed [1, 10]: dx_ij = seed_i.
    text = """
    variables:
      x: [[1, 2, 3], [4, 5, 6]]
    ops:
      y: reduce_sum(x, axis=1)
    ys: y
    xs: x
    grad_ys: [[1, 10]]
    """
    assert gradients(text) == [[[1, 1, 1], [10, 10, 10]]]


# ---- validation done up front


def test_grad_ys_shape_checked():
    text = TUTORIAL + "ys: [res2a, res2b]\ngrad_ys: [[[1]], [1, 2]]\n"
    with pytest.raises(GraphError) as e:
        gradients(text)
    assert "(2,)" in e.value.message and "(1, 1)" in e.value.message


def test_matmul_shape_error_names_both_shapes():
    text = "variables:\n  a: [[1, 2]]\n  b: [[1, 2]]\nops:\n  y: matmul(a, b)\nys: y\nxs: a\n"
    with pytest.raises(GraphError) as e:
        gradients(text)
    assert "(1, 2)" in e.value.message and e.value.pos.line == 5


def test_broadcast_error_names_both_shapes():
    text = "variables:\n  a: [1, 2]\n  b: [1, 2, 3]\nops:\n  y: a + b\nys: y\nxs: a\n"
    with pytest.raises(GraphError) as e:
        gradients(text)
    assert "(2,)" in e.value.message and "(3,)" in e.value.message
