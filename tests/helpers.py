"""Shared helpers for the tests: run a graph text through the whole pipeline."""

from __future__ import annotations

import textwrap

import numpy as np

from tfgrad.evaluate import evaluate
from tfgrad.parse import parse_graph
from tfgrad.symbolic import derive


def derivation(text: str):
    return derive(parse_graph(textwrap.dedent(text), "test.yaml"))


def gradients(text: str) -> list:
    """The gradients of a graph file's text, as nested lists (None kept)."""
    ev = evaluate(derivation(text))
    return [None if g is None else g.tolist() for g in ev.gradients]


def evaluation(text: str):
    return evaluate(derivation(text))


def close(a, b, rtol: float = 1e-12, atol: float = 1e-12) -> bool:
    return np.allclose(np.asarray(a, float), np.asarray(b, float), rtol=rtol, atol=atol,
                       equal_nan=True)
