"""Shared helpers for the tests: the contract's tutorial graph, and running a
graph text through the whole pipeline."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from tfgrad.engine import compute, derive
from tfgrad.graph import GraphError
from tfgrad.parse import parse_graph


# The tutorial graph of graph-format.md, in pieces: the nodes alone, then the
# contract's whole example (ys, grad_ys) and with its expect block.
TUTORIAL_NODES = """\
variables:
  w1: [[1, 2]]
  w2: [[3, 4]]
ops:
  res2a: matmul(w1, [[2], [1]]) + matmul(w2, [[3], [5]])
  res2b:
    op: add
    args: [p, q]
  p: {op: matmul, args: [w1, [[2], [4]]]}
  q: matmul(w2, [[8], [6]])
"""
TUTORIAL_GRAD_YS = (
    "name: tf.gradients tutorial\n" + TUTORIAL_NODES
    + "ys: [res2a, res2b]\nxs: [w1, w2]\ngrad_ys: [[[1]], [[2]]]\n"
)
CONTRACT_EXAMPLE = TUTORIAL_GRAD_YS + "expect:\n  w1: [[6, 9]]\n  w2: [[19, 17]]\n"


# Issue 13's norm: sqrt of a sum of squares whose entries underflow in
# float32 (TF 2.21's float32 gradient [[1], [nan], [1], [inf]]: 2e-20² is
# a subnormal flushed to zero; float64's [[1], [nan], [1], [1]]).
NORM = """\
dtype: {dtype}
variables:
  X: [[2.0], [0.0], [3.0e-17], [2.0e-20]]
ops:
  n: sqrt(reduce_sum(X * X, axis=1))
ys: n
xs: X
"""


def norm_graph(dtype: str) -> str:
    """Issue 13's norm graph in ``dtype`` (float32 or float64)."""
    return NORM.format(dtype=dtype)


def derivation(text: str):
    return derive(parse_graph(textwrap.dedent(text), "test.yaml"))


def gradients(text: str) -> list:
    """The gradients of a graph file's text, as nested lists (None kept)."""
    ev = compute(derivation(text))
    return [None if g is None else g.tolist() for g in ev.gradients]


def evaluation(text: str):
    return compute(derivation(text))


def write_graph(tmp_path, text: str, name: str = "g.yaml") -> str:
    """``text`` written to ``tmp_path / name``; the path as a string."""
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def cli_output(args: list[str], code: int = 0) -> str:
    """What ``tfgrad ARGS`` prints, asserting it exits with ``code``."""
    from click.testing import CliRunner

    from tfgrad.commands import cli

    res = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert res.exit_code == code, res.output
    return res.output


def value_of(text: str, name: str = "a") -> tuple[str, list]:
    """(dtype name, value as nested lists) of the node ``name`` of ``text``."""
    v = np.asarray(evaluation(text).values[name])
    return v.dtype.name, v.tolist()


def refusal(text: str) -> GraphError:
    """The error evaluating ``text`` raises (the test fails when it raises none)."""
    with pytest.raises(GraphError) as e:
        evaluation(text)
    return e.value


def assert_points_at(text: str, e: GraphError, token: str) -> None:
    """``e``'s position in ``text`` is where ``token`` starts."""
    line = text.splitlines()[e.pos.line - 1]
    assert line[e.pos.col - 1:].startswith(token), (line, e.pos)


def assert_refused_at(text: str, code: str, words: str, token: str) -> GraphError:
    """Evaluating ``text`` raises ``code`` with ``words`` in its message, at
    where ``token`` starts; the error."""
    e = refusal(text)
    assert e.code == code and words in e.message, e.message
    assert_points_at(text, e, token)
    return e


def close(a, b, rtol: float = 1e-12, atol: float = 1e-12) -> bool:
    return np.allclose(np.asarray(a, float), np.asarray(b, float), rtol=rtol, atol=atol,
                       equal_nan=True)
