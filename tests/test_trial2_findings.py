"""Defects a second new-user trial found (TF 2 programs transcribed, run
against TF 2.21), each as a test: run-time kernel errors located at the op,
internal errors on empty axes and low ranks."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from tfgrad import check
from tfgrad.commands import cli
from tfgrad.graph import GraphError

from helpers import gradients


def _run(tmp_path, text: str, *args: str):
    path = tmp_path / "g.yaml"
    path.write_text(text)
    return CliRunner().invoke(cli, [*args, str(path)] if args else ["run", str(path)]), str(path)


def test_a_singular_inv_is_a_located_error_not_an_internal_one(tmp_path):
    # TF 2.21: InvalidArgumentError: Input is not invertible. [Op:MatrixInverse]
    text = ("variables:\n  x: [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]\nconstants:\n"
            "  m: [[1.0, 2.0], [2.0, 4.0]]\nops:\n  z: inv(m + 0 * x[:, 0:2])\n"
            "  y: reduce_sum(z)\nys: y\nxs: x\n")
    r, path = _run(tmp_path, text)
    assert r.exit_code == 2, r.output
    assert r.output.startswith(f"{path}:6:6: error: in op 'z': ") and "not invertible" in r.output
    report = check.check_text(text, "g.yaml")
    (p,) = report.problems
    assert (p.code, p.line, p.col) == ("TG202", 6, 6)


def test_a_sparse_label_out_of_range_is_a_located_error_in_run(tmp_path):
    # TF 2.21: Received a label value of 3 which is outside the valid range of [0, 3).
    text = ("variables:\n  x: [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]\nconstants:\n"
            "  lab: {value: [0, 3], dtype: int32}\nops:\n"
            "  y: reduce_sum(sparse_softmax_cross_entropy_with_logits(lab, x))\nys: y\nxs: x\n")
    for command in ("run", "jacobian", "hessian", "explain"):
        r, path = _run(tmp_path, text, command)
        assert r.exit_code == 2, (command, r.output)
        assert r.output.startswith(f"{path}:6:") and "label value of 3" in r.output, r.output


def test_a_second_derivative_through_a_kernel_tf_gives_no_gradient_points_at_the_op():
    # TF 2.21: LookupError: No gradient defined for operation ... (op type: SoftsignGrad)
    text = ("variables:\n  x: [0.5, -1.0, 2.0]\nops:\n  y: reduce_sum(softsign(x))\n"
            "  g: gradients(y, x)\n  loss: reduce_sum(g * g)\nys: loss\nxs: [x]\n")
    with pytest.raises(GraphError) as e:
        gradients(text)
    assert e.value.pos is not None and (e.value.pos.line, e.value.pos.col) == (5, 6)
    assert e.value.message.startswith("in op 'g': ") and "SoftsignGrad" in e.value.message


def test_diag_part_of_a_vector_is_an_error_naming_its_rank():
    # TF 2.21: InvalidArgumentError: input must be at least 2-dim, received shape: [3]
    with pytest.raises(GraphError) as e:
        gradients("variables:\n  v: [1.0, 2.0, 3.0]\nops:\n  z: reduce_sum(diag_part(v))\nys: z\nxs: v\n")
    assert e.value.code == "TG202" and "(3,)" in e.value.message and "rank 2 or more" in e.value.message


def test_softmax_and_cross_entropy_over_an_empty_class_axis_are_empty():
    # TF 2.21: softmax(x[:, 1:1]) is a (2, 0) tensor; d/dx of
    # reduce_sum(softmax(e)) + reduce_sum(x) is all ones.
    for op in ("softmax(e)", "log_softmax(e)", "softmax_cross_entropy_with_logits(e, e)"):
        text = (f"variables:\n  x: [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]\nops:\n  e: x[:, 1:1]\n"
                f"  y: reduce_sum({op}) + reduce_sum(x)\nys: y\nxs: x\n")
        assert gradients(text) == [[[1.0] * 3] * 2], op


def test_reduce_prod_and_exclusive_cumprod_over_an_empty_axis():
    # TF 2.21: reduce_prod over an empty slice is 1 (its gradient empty);
    # d/dx of p + reduce_sum(q) + reduce_sum(x) is all ones.
    text = ("variables:\n  x: [[1.0, 2.0], [3.0, 4.0]]\nops:\n  e: x[:, 1:1]\n  p: reduce_prod(e)\n"
            "  q: reduce_prod(e, axis=1)\n  c: cumprod(e, axis=1, exclusive=true)\n"
            "  y: p + reduce_sum(q) + reduce_sum(c) + reduce_sum(x)\nys: y\nxs: x\n")
    assert gradients(text) == [[[1.0, 1.0], [1.0, 1.0]]]


@pytest.mark.parametrize("op", ["argmax", "argmin"])
def test_argmax_over_an_empty_axis_is_an_error(op):
    # TF 2.21: InvalidArgumentError: Reduction axis 1 is empty in shape [2,0]
    with pytest.raises(GraphError) as e:
        gradients(f"variables:\n  x: [[1.0, 2.0], [3.0, 4.0]]\nops:\n  e: x[:, 1:1]\n"
                  f"  a: {op}(e, axis=1)\nys: a\nxs: x\n")
    assert e.value.code == "TG202" and "(2, 0)" in e.value.message and "empty" in e.value.message


def test_einsum_broadcasts_only_ellipsis_axes():
    # TF 2.21: einsum('bjk,bkl->bjl', ones([2,3,4]), ones([1,4,2])) raises
    # InvalidArgumentError (a named label has one size in every operand) ...
    base = "variables:\n  b: {ones: [2, 3, 4]}\n  c: {ones: [1, 4, 2]}\nops:\n"
    with pytest.raises(GraphError) as e:
        gradients(base + "  m: reduce_sum(einsum('bjk,bkl->bjl', b, c))\nys: m\nxs: [b, c]\n")
    assert e.value.code == "TG202"
    assert "operand 0 (b, shape (2, 3, 4), term 'bjk') but 1 in operand 1" in e.value.message
    assert "only '...' axes broadcast" in e.value.message
    # ... while '...' broadcasts: d/dc sums over the broadcast batch (each entry 2·3)
    g = gradients(base + "  m: reduce_sum(einsum('...jk,...kl->...jl', b, c))\nys: m\nxs: [b, c]\n")
    assert np.array_equal(g[1], np.full((1, 4, 2), 6.0))


def test_einsum_clash_within_one_tensor_names_the_operands():
    with pytest.raises(GraphError) as e:
        gradients("variables:\n  x: {ones: [2, 3]}\nops:\n  z: reduce_sum(einsum('ij,jk->ik', x, x))\n"
                  "ys: z\nxs: x\n")
    assert ("axis 'j' is 3 in operand 0 (x, shape (2, 3), term 'ij') but 2 in operand 1 "
            "(x, shape (2, 3), term 'jk')") in e.value.message


@pytest.mark.parametrize("op", ["sqrt", "exp", "sigmoid", "tanh", "log", "floor", "softplus", "erf"])
def test_float_only_ops_refuse_an_integer_tensor(op):
    # TF 2.21: tf.sqrt(tf.constant([2, 3])) -> InvalidArgumentError: Value for
    # attr 'T' of int32 is not in the list of allowed values: ... float, double
    text = (f"variables:\n  x: [1.0, 2.0]\nconstants:\n  n: {{value: [2, 3], dtype: int32}}\nops:\n"
            f"  r: {op}(n)\n  y: reduce_sum(x * cast(r, float64))\nys: y\nxs: x\n")
    with pytest.raises(GraphError) as e:
        gradients(text)
    assert e.value.code == "TG202" and e.value.message.startswith(f"{op}: n is int32; {op} takes a float")
    assert "cast(n, float64)" in e.value.message


def test_integer_ops_keep_integers_and_divide_casts_as_tf_does():
    # TF 2.21 on int32 [2, 3]: abs/square/relu/maximum stay int32;
    # divide (truediv) and divide_no_nan give float64, leaky_relu float32.
    from tfgrad.engine import compute, derive
    from tfgrad.parse import parse_graph

    text = ("variables:\n  x: [1.0, 2.0]\nconstants:\n  n: {value: [2, 3], dtype: int32}\n"
            "  m: {value: [3, 4], dtype: int32}\nops:\n  a: square(n)\n  d: divide(n, m)\n  q: divide_no_nan(n, n)\n  l: leaky_relu(n)\n"
            "  y: reduce_sum(x * d)\nys: y\nxs: x\noutputs: [a, d, q, l]\n")
    r = compute(derive(parse_graph(text, "i.yaml")))
    v = r.values
    assert v["a"].dtype == np.int32 and v["a"].tolist() == [4, 9]
    assert v["d"].dtype == np.float64 and v["d"].tolist() == [2 / 3, 3 / 4]
    assert v["q"].dtype == np.float64 and v["l"].dtype == np.float32
    assert r.gradients[0].tolist() == [2 / 3, 3 / 4]


def test_pad_mode_is_read_in_any_case_as_tf_does():
    # TF 2.21: tf.pad(x, [[1, 1], [1, 1]], mode='reflect') works (mode.upper())
    base = "variables:\n  x: [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]\nops:\n  z: pad(x, [[1, 1], [1, 1]], mode={m})\n" \
           "  y: reduce_sum(z * z)\nys: y\nxs: x\n"
    assert gradients(base.format(m="'reflect'")) == gradients(base.format(m="'REFLECT'"))
    assert gradients(base.format(m="'Symmetric'")) == gradients(base.format(m="'SYMMETRIC'"))


def test_second_order_through_max_pool_with_explicit_padding_is_the_derivative_of_the_first():
    # TF's MaxPoolGradGrad refuses EXPLICIT padding; tfgrad computes it (a
    # documented difference), and it must be the derivative of the gradient.
    from tfgrad.engine import compute, derive
    from tfgrad.parse import parse_graph

    rng = np.random.default_rng(3)
    x0 = rng.permutation(16).reshape(1, 4, 4, 1) + 0.5  # distinct: no ties
    v = rng.normal(size=x0.shape)

    def run(x, extra=""):
        text = (f"variables:\n  x: {x.tolist()}\nconstants:\n  v: {v.tolist()}\nops:\n"
                "  mp: max_pool2d(x, 2, 1, [[0, 0], [1, 0], [0, 1], [0, 0]])\n"
                "  l: reduce_sum(mp * mp * mp)\n  g: gradients(l, x)\n  s: reduce_sum(g * v)\n"
                "ys: s\nxs: x\noutputs: g\n")
        r = compute(derive(parse_graph(text, "mp.yaml")))
        return r.gradients[0], r.values["g"]

    hv, _ = run(x0)
    h = 1e-4
    fd = (run(x0 + h * v)[1] - run(x0 - h * v)[1]) / (2 * h)
    np.testing.assert_allclose(hv, fd, rtol=1e-6, atol=1e-6)


def test_check_passes_a_second_order_through_cross_entropy_labels_with_a_note():
    # TF 2.21 gives exactly these gradients (labels get no second-order term
    # from _SoftmaxCrossEntropyWithLogitsGrad), so check must not fail the
    # file; it says why the finite difference differs.
    text = ("variables:\n  logits: [[1.0, 2.0, 0.5], [0.1, -0.3, 0.2]]\n"
            "  labels: [[0.2, 0.7, 0.1], [0.0, 0.0, 1.0]]\nops:\n"
            "  ce: reduce_sum(softmax_cross_entropy_with_logits(labels, logits))\n"
            "  g: gradients(ce, labels)\n  gl: gradients(ce, logits)\n"
            "  loss: ce + reduce_sum(g * g) + reduce_sum(gl * gl * labels)\n"
            "ys: loss\nxs: [logits, labels]\n")
    r = check.check_text(text, "ce.yaml")
    assert r.passed, [p.message for p in r.problems]
    (note,) = [p for p in r.problems if p.code == "TG402"]
    assert "'labels'" in note.message and "gives labels no term" in note.message
