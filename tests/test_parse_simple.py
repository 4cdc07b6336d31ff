"""The parser's shortcut for the commonest expressions (``f(a)``, ``f(a, b)``,
``a OP b`` over declared names: every line of a deep chain) must build the
graph the full path (Python's parser, binding, checks) builds, node for node,
and leave everything else, errors included, to the full path."""

from __future__ import annotations

import dataclasses

import pytest

from tfgrad import parse as P
from tfgrad.binding import TENSOR
from tfgrad.graph import GraphError
from tfgrad.opdefs import REGISTRY


def _graph(expr: str, extra: str = "") -> str:
    return (
        "variables:\n  a: [[1.0, 2.0], [3.0, 4.0]]\n  b: [[0.5, 0.25], [2.0, 1.0]]\n"
        "constants:\n  inf: 2.0\n  null_: 1.0\n"
        f"ops:\n  y: {expr}\n{extra}ys: y\nxs: a\n"
    )


def _both(text: str, monkeypatch) -> tuple:
    """(fast, full): the parse result or the error (message, position, code)."""
    def run():
        try:
            g = P.parse_graph(text, "g.yaml")
        except GraphError as e:
            return ("error", e.message, e.pos, e.code)
        # every field of every node but the values (arrays, the same either way)
        return [{f.name: getattr(g.nodes[n], f.name) for f in dataclasses.fields(g.nodes[n])
                 if f.name != "value"} for n in g.order]

    fast = run()
    calls = []
    real = P._Expression.build_simple

    def spy(self):
        out = real(self)
        calls.append(out)
        return out

    monkeypatch.setattr(P._Expression, "build_simple", spy)
    run()
    monkeypatch.setattr(P._Expression, "build_simple", lambda self: False)
    full = run()
    return fast, full, calls


def _tensor_ops(n: int) -> list[str]:
    return sorted(name for name, op in REGISTRY.items()
                  if len([p for p in op.params if p.kind == TENSOR]) >= n)


@pytest.mark.parametrize("op", _tensor_ops(1))
def test_one_operand_calls_match_the_full_path(op, monkeypatch):
    fast, full, _ = _both(_graph(f"{op}(a)"), monkeypatch)
    assert fast == full


@pytest.mark.parametrize("op", _tensor_ops(2))
def test_two_operand_calls_match_the_full_path(op, monkeypatch):
    fast, full, _ = _both(_graph(f"{op}(a,  b )"), monkeypatch)
    assert fast == full


@pytest.mark.parametrize("expr", [
    "a + b", "a - b", "a * b", "a / b", "a @ b", "a+b", "a\t*  b", "a - a", "b / inf",
    "tanh(a)", "tanh( a )", "matmul(a, b)", "add(a,b)", "maximum(a, inf)",
])
def test_operators_and_spacing_take_the_shortcut_and_match(expr, monkeypatch):
    fast, full, calls = _both(_graph(expr), monkeypatch)
    assert calls == [True]
    assert fast == full


@pytest.mark.parametrize("expr", [
    # not the shortcut's forms, or not names it may read: the full path decides
    "tanh (a)", "a ** b", "a // b", "-a", "a + 1", "tanh(a + b)", "add_n(a, b)", "reduce_sum(a, 0)",
    "cast(a, float32)", "a + zz", "tanh(zz)", "nosuchop(a)", "a + tanh", "lambda(a)", "a + None",
    "a + true", "reduce_sum(a, axis=0)", "matmul(a, b, True)", "tanh(a, b)", "tanh(a,)",
    "a + \u00a0b", "ａ + b",
])
def test_other_expressions_and_errors_are_the_full_paths(expr, monkeypatch):
    fast, full, calls = _both(_graph(expr), monkeypatch)
    assert fast == full
    assert calls == [False]


def test_a_chain_is_read_by_the_shortcut(monkeypatch):
    lines = "".join(f"  h{k}: {'tanh(h%d)' % (k - 1) if k % 2 else 'h%d * a' % (k - 1)}\n"
                    for k in range(1, 40))
    text = ("variables:\n  h0: [1.0, 2.0]\nconstants:\n  a: [0.5, 0.5]\nops:\n" + lines
            + "ys: h39\nxs: h0\n")
    fast, full, calls = _both(text, monkeypatch)
    assert fast == full
    assert calls == [True] * 39
