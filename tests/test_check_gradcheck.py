"""The finite-difference check on random graphs: a correct engine never
gets a TG401 (no false alarms), ties and kinks give at most TG402 notes, and
the schema accepts every generated file."""

from __future__ import annotations

from unittest import mock

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from test_check_schema import Yaml12Loader
from tfgrad import check
from tfgrad.schema import build_schema

SHAPE = (2, 3)

UNARY = [
    "tanh({})", "sigmoid({})", "exp(tanh({}))", "square(tanh({}))", "sqrt(square({}) + 1)",
    "abs({})", "relu({})", "negative({})", "identity({})", "log(abs({}) + 1)", "-{}",
    "stop_gradient({})",
]
BINARY = [
    "{0} + {1}", "{0} - {1}", "{0} * tanh({1})", "{0} / (square({1}) + 1)", "maximum({0}, {1})",
    "minimum({0}, {1})", "pow(abs(tanh({0})) + 0.5, tanh({1}))", "add_n({0}, {1}, {0})",
    "{0} + reduce_sum({1}, axis=0)", "{0} * reduce_mean({1}, axis=1, keepdims=true)",
    "matmul(tanh({0}), transpose(tanh({1}))) @ tanh({0})",
]


def _matrix(draw, elements):
    rows = [[draw(elements) for _ in range(SHAPE[1])] for _ in range(SHAPE[0])]
    return "[" + ", ".join("[" + ", ".join(repr(v) for v in r) + "]" for r in rows) + "]"


KINKED = ("abs", "relu", "maximum", "minimum", "stop_gradient")


@st.composite
def graphs(draw, negation: bool = True, replaced: bool = True, smooth: bool = False):
    """Random graph files over (2, 3) tensors; ``replaced``: xs and
    stop_gradients may name intermediate ops (their values are replaced);
    ``smooth``: no kinked ops, no stop_gradient, no integer values."""
    # integers make ties and kinks (relu(0), maximum(a, a)) likely
    floats = st.floats(-2, 2, allow_nan=False, allow_subnormal=False)
    elements = floats if smooth else draw(st.sampled_from([floats, st.integers(-2, 2).map(float)]))
    variables = {f"v{i}": _matrix(draw, elements) for i in range(draw(st.integers(1, 3)))}
    pool = list(variables)
    ops = {}
    for i in range(draw(st.integers(1, 6))):
        unary = UNARY if negation else [u for u in UNARY if "-" not in u and "neg" not in u]
        binary = BINARY
        if smooth:
            unary = [u for u in unary if not any(k in u for k in KINKED)]
            binary = [b for b in binary if not any(k in b for k in KINKED)]
        if draw(st.booleans()):
            expr = draw(st.sampled_from(unary)).format(draw(st.sampled_from(pool)))
        else:
            a, b = draw(st.sampled_from(pool)), draw(st.sampled_from(pool))
            expr = draw(st.sampled_from(binary)).format(a, b)
        name = f"o{i}"
        ops[name] = expr
        pool.append(name)
    y = pool[-1]
    xs, stops = list(variables), []
    if replaced:
        xs += draw(st.lists(st.sampled_from(list(ops)), max_size=2, unique=True))
        stops = draw(st.lists(st.sampled_from(list(ops)), max_size=1))
    lines = ["variables:"] + [f"  {k}: {v}" for k, v in variables.items()]
    lines += ["ops:"] + [f"  {k}: {v}" for k, v in ops.items()]
    lines += [f"ys: {y}", f"xs: [{', '.join(xs)}]"]
    if stops:
        lines.append(f"stop_gradients: [{', '.join(stops)}]")
    if draw(st.booleans()):
        lines.append(f"grad_ys: [{_matrix(draw, st.floats(-2, 2, allow_nan=False))}]")
    return "\n".join(lines) + "\n"


def _no_false_alarm(text: str) -> None:
    r = check.check_text(text, "random.yaml")
    assert r.checks[0].status == "passed", (text, r.problems)
    assert all(p.code == "TG402" for p in r.problems), (text, r.problems)
    doc = yaml.load(text, Yaml12Loader)
    assert not list(jsonschema.Draft202012Validator(build_schema()).iter_errors(doc))


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs(replaced=False))
def test_no_false_alarms_on_random_graphs(text):
    _no_false_alarm(text)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs())
def test_no_false_alarms_with_intermediate_xs_and_stop_gradients(text):
    _no_false_alarm(text)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs(replaced=False, smooth=True), st.integers(0, 5), st.sampled_from([1e-3, -1e-2, 0.5]))
def test_a_wrong_gradient_is_caught(text, j, error):
    import tfgrad.engine as engine

    real = engine.compute
    connected = []

    def corrupted(d):
        ev = real(d)
        g = ev.gradients[0]  # v0's
        connected.append(g is not None)
        if g is not None:
            g.flat[j] += error * (1 + abs(g.flat[j]))
        return ev

    with mock.patch.object(engine, "compute", corrupted):
        r = check.check_text(text, "wrong.yaml")
    assume(connected == [True])
    gradcheck = next(c for c in r.checks if c.name == "gradcheck v0")
    assert [p.code for p in gradcheck.problems] == ["TG401"], (text, r.problems)


# Regressions of an engine bug the finite-difference check found:
# evaluate.objective replaces a node's value by the identity of its forward
# expression, and the evaluator folded a negation node into the sum using it
# (n + v, add_n(n, n), b + b with b = -a), so the replacement was ignored.
ENGINE_IDENTITY_BUGS = {
    "intermediate x in a sum": "variables: {v: [1.0, 2.0]}\nops:\n  n: -v\n  y: n + v\nys: y\nxs: n\n",
    "intermediate x in add_n": "variables: {v: [1.0, 2.0]}\nops:\n  n: negative(v)\n  y: add_n(n, n)\n"
                               "ys: y\nxs: n\n",
    "stop_gradients on a double negation": "variables: {v: [1.0, 2.0]}\nops:\n  a: -v\n  b: -a\n"
                                           "  y: b + b\nys: y\nxs: v\nstop_gradients: [b]\n",
}


@pytest.mark.parametrize("text", list(ENGINE_IDENTITY_BUGS.values()), ids=list(ENGINE_IDENTITY_BUGS))
def test_engine_objective_replaces_negated_nodes(text):
    r = check.check_text(text, "bug.yaml")
    assert r.problems == (), r.problems
