"""The registry test: every op (``opdefs.REGISTRY``), every elementwise
function (``funcs.FUNCS``), every movement/kernel kind (``moves.MOVES``) and
every reduction kind (``autodiff.REDUCTIONS``) is complete, and every op's
shape rule, forward and gradient agree with each other on a sample input.

An omission fails here, never as a user's internal error. The checks:

- records: non-empty doc, rule, tf (and text, LaTeX for Func/Prim); params in
  a valid kind, named as Python identifiers, defaults of their kind;
- gradients: a VJP, or ``no_grad``/``differentiable=False`` only for the
  entries TensorFlow itself registers as not differentiable (the allow-lists
  below, each with TF's reason);
- scalar forms: each Func's SymPy scalar form evaluates, and agrees with its
  NumPy kernel at a sample point;
- each op's ``shape`` rule agrees with its ``forward`` evaluated on a sample
  input, and each differentiable op's VJP equals central finite differences
  at a smooth point (``ops_harness``);
- every op name of the contract's format-2 op list is registered (the
  not-yet-registered ones are an expected-failure set that must shrink).

Sample inputs are generated from each op's params: every tensor parameter
gets a float array of shape (2, 3) (a list of two for ``tensors``), drawn
from the op's smooth domain; attributes take TF's defaults. Ops that need
more (index tensors, required attributes, square matrices) declare
``examples`` in their ``OpDef`` -- see ``parse_example`` for the format.
"""

from __future__ import annotations

import keyword
import math
import re
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sympy as sp
import yaml

from ops_harness import finite_difference, leaves, vjps
from tfgrad.autodiff import REDUCTIONS
from tfgrad.engine import apply
from tfgrad.funcs import FUNCS
from tfgrad.graph import GraphError
from tfgrad.moves import MOVES
from tfgrad.opdefs import FAMILIES, REGISTRY
from tfgrad.opdefs.spec import ATTR_KINDS, REQUIRED, TENSOR, TENSORS
from tfgrad.plan import Plan

ROOT = Path(__file__).resolve().parent.parent
OPS = sorted(REGISTRY)
IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
DTYPES = ("float32", "float64", "int32", "int64", "bool")

# -- allow-lists: where there is no gradient, TF says so ---------------------------------

# Elementwise functions without a VJP: TF registers them as not differentiable.
NO_GRAD_FUNCS = {
    "less": 'math_grad.py: ops.NotDifferentiable("Less")',
    "less_equal": 'math_grad.py: ops.NotDifferentiable("LessEqual")',
    "greater": 'math_grad.py: ops.NotDifferentiable("Greater")',
    "greater_equal": 'math_grad.py: ops.NotDifferentiable("GreaterEqual")',
    "equal": 'math_grad.py: ops.NotDifferentiable("Equal")',
    "not_equal": 'math_grad.py: ops.NotDifferentiable("NotEqual")',
    "logical_and": 'math_grad.py: ops.NotDifferentiable("LogicalAnd")',
    "logical_or": 'math_grad.py: ops.NotDifferentiable("LogicalOr")',
    "logical_not": 'math_grad.py: ops.NotDifferentiable("LogicalNot")',
    "is_finite": "a bool result: tf.gradients never backpropagates through a non-float "
                 "tensor (gradients_util), and TF registers no gradient for IsFinite",
    "softsign_grad": "nn_grad.py registers no gradient for SoftsignGrad "
                     "(tf.gradients of it raises LookupError)",
}

# Movement/kernel kinds without a VJP.
NO_GRAD_MOVES = {
    "argmax": "math_grad.py _ArgMaxGrad returns [None, None] (an integer result)",
    "argmin": "math_grad.py _ArgMinGrad returns [None, None] (an integer result)",
    "one_hot": 'array_grad.py: ops.NotDifferentiable("OneHot")',
}

# User-facing ops with differentiable=False.
NOT_DIFFERENTIABLE_OPS = {
    "argmax": 'math_grad.py _ArgMaxGrad returns [None, None] (an integer result)',
    "argmin": 'math_grad.py _ArgMinGrad returns [None, None] (an integer result)',
    "equal": 'math_grad.py: ops.NotDifferentiable("Equal")',
    "not_equal": 'math_grad.py: ops.NotDifferentiable("NotEqual")',
    "less": 'math_grad.py: ops.NotDifferentiable("Less")',
    "less_equal": 'math_grad.py: ops.NotDifferentiable("LessEqual")',
    "greater": 'math_grad.py: ops.NotDifferentiable("Greater")',
    "greater_equal": 'math_grad.py: ops.NotDifferentiable("GreaterEqual")',
    "logical_and": 'math_grad.py: ops.NotDifferentiable("LogicalAnd")',
    "logical_or": 'math_grad.py: ops.NotDifferentiable("LogicalOr")',
    "logical_not": 'math_grad.py: ops.NotDifferentiable("LogicalNot")',
    "one_hot": 'array_grad.py: ops.NotDifferentiable("OneHot")',
    "zeros_like": 'array_grad.py: ops.NotDifferentiable("ZerosLike")',
    "ones_like": 'array_grad.py: ops.NotDifferentiable("OnesLike")',
}

# Differentiable ops whose float inputs nevertheless get None: TF's
# registered gradient returns None for them.
NONE_GRADIENT_OPS = {
    "floor": "math_grad.py _FloorGrad returns [None]",
    "ceil": "math_grad.py _CeilGrad returns [None]",
    "round": "math_grad.py _RoundGrad returns [None]",
    "stop_gradient": 'array_grad.py: ops.NotDifferentiable("StopGradient")',
}

# Params whose defaults differ from TF's Python signature on purpose.
PARAM_DEVIATIONS = {
    ("batch_normalization", "offset"): "TF requires offset (None allowed); tfgrad defaults it to None",
    ("batch_normalization", "scale"): "TF requires scale (None allowed); tfgrad defaults it to None",
}


# -- records -------------------------------------------------------------------------------

def _nonempty(s: Any) -> bool:
    return isinstance(s, str) and s.strip() != ""


@pytest.mark.parametrize("name", OPS)
def test_opdef_record_is_complete(name):
    op = REGISTRY[name]
    assert op.name == name
    assert IDENT.match(name) and not keyword.iskeyword(name)
    for field in ("doc", "rule", "tf", "family"):
        assert _nonempty(getattr(op, field)), f"{name}: empty {field}"
    assert callable(op.shape) and callable(op.forward), name
    if op.kinks is not None:
        assert callable(op.kinks) and _nonempty(op.kink_note), f"{name}: kinks without a kink_note"
    for code in op.errors:
        assert re.fullmatch(r"TG\d{3}", code), (name, code)
    assert op.outputs >= 1 or callable(op.n_outputs), f"{name}: outputs=0 needs n_outputs"
    if not op.differentiable:
        assert name in NOT_DIFFERENTIABLE_OPS, f"{name}: differentiable=False without TF's reason"
    for alias in op.aliases:
        assert IDENT.match(alias) and alias not in REGISTRY, (name, alias)


def test_not_differentiable_allow_list_is_exact():
    flagged = {n for n, op in REGISTRY.items() if not op.differentiable}
    assert flagged <= set(NOT_DIFFERENTIABLE_OPS), sorted(flagged - set(NOT_DIFFERENTIABLE_OPS))
    stale = (set(NOT_DIFFERENTIABLE_OPS) & set(REGISTRY)) - flagged
    assert not stale, f"allow-listed but differentiable: {sorted(stale)}"


def test_graph_ops_are_registered_and_tested():
    assert set(GRAPH_OPS) <= set(REGISTRY)
    assert (ROOT / "tests" / "test_higher.py").exists()


def test_families_are_modules():
    fams = {op.family for op in REGISTRY.values()}
    # ops of a module may share a family (indexing's ops are "shape" ops)
    assert fams <= set(FAMILIES), fams - set(FAMILIES)


def _default_fits(kind: str, d: Any) -> bool:
    if d is None:
        return True
    if kind == "bool":
        return isinstance(d, bool)
    if kind == "int":
        return isinstance(d, int) and not isinstance(d, bool)
    if kind == "float":
        return isinstance(d, (int, float)) and not isinstance(d, bool)
    if kind == "str":
        return isinstance(d, str)
    if kind == "dtype":
        return d in DTYPES
    if kind == "axis":
        return (isinstance(d, int) and not isinstance(d, bool)) or (
            isinstance(d, (list, tuple)) and all(isinstance(i, int) for i in d))
    if kind == "ints":
        return isinstance(d, (list, tuple)) and all(isinstance(i, int) for i in d)
    return True  # "any": the op's own rule validates it


@pytest.mark.parametrize("name", OPS)
def test_opdef_params_are_valid(name):
    op = REGISTRY[name]
    names = [p.name for p in op.params]
    assert len(set(names)) == len(names), f"{name}: a parameter named twice"
    assert op.tensor_params, f"{name}: no tensor parameter"
    seen_default = False
    for p in op.params:
        assert IDENT.match(p.name), (name, p.name)
        assert p.kind in (TENSOR, TENSORS) + ATTR_KINDS, f"{name}.{p.name}: unknown kind {p.kind!r}"
        if p.is_tensor:
            assert p.default is REQUIRED or p.default is None, f"{name}.{p.name}: a tensor default"
        elif not p.required:
            assert _default_fits(p.kind, p.default), f"{name}.{p.name}: default {p.default!r} is not {p.kind}"
        if p.choices and not p.required and p.default is not None:
            assert p.default in p.choices, f"{name}.{p.name}: default outside its choices"
        if p.required and seen_default:
            # TF's Python signatures never put a required parameter after an
            # optional one; tfgrad may, for a parameter TF requires but lets be None
            earlier = [q.name for q in op.params[: op.params.index(p)] if not q.required]
            assert all((name, e) in PARAM_DEVIATIONS for e in earlier), (
                f"{name}: required {p.name} after optional {earlier}")
        seen_default = seen_default or not p.required
    if op.varargs:
        assert [p.kind for p in op.params if p.is_tensor] == [TENSORS], name
    for (opname, pname), why in PARAM_DEVIATIONS.items():
        if opname == name:
            assert op.param(pname) is not None and _nonempty(why)


@pytest.mark.parametrize("name", sorted(FUNCS))
def test_func_record_is_complete(name):
    f = FUNCS[name]
    assert f.name == name
    for field in ("doc", "tf", "text", "latex"):
        assert _nonempty(getattr(f, field)), f"{name}: empty {field}"
    assert callable(f.np) and callable(f.scalar), name
    if f.vjp is None or f.no_grad:
        assert name in NO_GRAD_FUNCS, f"{name}: no VJP, and TF does not register it as not differentiable"
        # no_grad with a VJP: one that raises TF's LookupError (softsign_grad)
        assert f.no_grad, f"{name}: no VJP without no_grad"
    else:
        assert callable(f.vjp)
    if f.kinks is not None:
        assert _nonempty(f.kink_note), f"{name}: kinks without a kink_note"


def test_no_grad_allow_lists_name_registered_entries():
    assert set(NO_GRAD_FUNCS) <= set(FUNCS), set(NO_GRAD_FUNCS) - set(FUNCS)
    assert set(NO_GRAD_MOVES) <= set(MOVES), set(NO_GRAD_MOVES) - set(MOVES)
    for n in NO_GRAD_FUNCS:
        assert FUNCS[n].no_grad, f"{n} is allow-listed but has a VJP: drop it from NO_GRAD_FUNCS"


@pytest.mark.parametrize("name", sorted(MOVES))
def test_prim_record_is_complete(name):
    p = MOVES[name]
    assert p.name == name
    for field in ("doc", "tf", "text", "latex"):
        assert _nonempty(getattr(p, field)), f"{name}: empty {field}"
    assert callable(p.shape) and callable(p.np), name
    if p.vjp is None or p.no_grad:
        assert name in NO_GRAD_MOVES, f"{name}: no VJP, and TF does not register it as not differentiable"
    else:
        assert callable(p.vjp)


@pytest.mark.parametrize("kind", sorted(REDUCTIONS))
def test_reduction_kind_is_complete(kind):
    entry = REDUCTIONS[kind]
    assert len(entry) == 2, kind
    kernel, vjp = entry
    assert callable(kernel), f"{kind}: no NumPy kernel"
    assert callable(vjp), f"{kind}: no VJP"
    x = np.array([[1.0, -2.0, 3.0], [0.5, 4.0, -1.0]])
    want = {"sum": np.sum, "max": np.max, "min": np.min, "prod": np.prod}.get(kind)
    got = kernel(x, (1,))
    assert np.shape(got) == (2,), kind
    if want is not None:
        np.testing.assert_allclose(got, want(x, axis=1), err_msg=kind)


def test_reduction_kinds_print():
    # explain prints a Reduce node by its kind: sum and prod with their
    # symbols, max/min by name; a new kind must be given a printed form
    from tfgrad.display import common

    text = Path(common.__file__).read_text(encoding="utf-8") + Path(
        common.__file__).with_name("printers.py").read_text(encoding="utf-8")
    for kind in REDUCTIONS:
        assert f'"{kind}"' in text, f"reduction {kind!r} has no printed form in display/"


# -- scalar forms ---------------------------------------------------------------------------

def _func_points(f, n: int, rng) -> list[np.ndarray]:
    base = [rng.uniform(0.3, 0.9, 3) for _ in range(n)]
    if f.smooth_domain is not None:
        base = [np.asarray(f.smooth_domain(rng.standard_normal(3)), dtype=float) for _ in range(n)]
    return base


def _func_args(f, rng) -> tuple[list[np.ndarray], tuple]:
    n = 2 if f.arity == -1 else f.arity
    arrays = _func_points(f, n, rng)
    if f.name == "select":
        arrays[0] = np.array([True, False, True])
    elif f.name.startswith("logical_"):
        arrays = [np.array([True, False, True]), np.array([True, True, False])][:n]
    attrs: tuple = ()
    if f.name == "cast":
        attrs = ("float32",)
    elif f.attrs:
        import inspect

        sig = inspect.signature(f.scalar)
        attrs = tuple(sig.parameters[a].default for a in f.attrs)
    return arrays, attrs


@pytest.mark.parametrize("name", sorted(FUNCS))
def test_scalar_form_evaluates_and_agrees_with_the_kernel(name):
    f = FUNCS[name]
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    arrays, attrs = _func_args(f, rng)
    with np.errstate(all="ignore"):
        want = np.asarray(f.np(*arrays, *attrs))
    for j in range(want.size):
        syms = sp.symbols(f"a0:{len(arrays)}")
        form = f.scalar(*syms, *attrs)
        subs = {s: (sp.true if a.dtype == bool and a[j] else sp.false) if a.dtype == bool
                else sp.Float(float(a[j]), 30) for s, a in zip(syms, arrays)}
        got = form.subs(subs) if hasattr(form, "subs") else form
        if want.dtype == bool:
            assert bool(got) == bool(want.flat[j]), (name, j, got, want)
            continue
        v = complex(sp.N(got, 20))
        assert abs(v.imag) < 1e-12 and math.isfinite(v.real), (name, got)
        assert math.isclose(v.real, float(want.flat[j]), rel_tol=1e-6, abs_tol=1e-6), (
            f"{name}: scalar form {form} gives {v.real}, the kernel {want.flat[j]}")


# -- sample inputs and examples ------------------------------------------------------------

def parse_example(text: str, name: str, rng) -> tuple[dict, dict]:
    """An ``OpDef.examples`` entry -> (tensor inputs, attributes).

    The entry is a YAML flow mapping from TF's parameter names to values::

        "{tensor: {shape: [2, 3]}, shape: [3, 2]}"
        "{params: {shape: [4, 3]}, indices: {value: [2, 0, 2], dtype: int32}, axis: 0}"
        "{x: [[2.0, 1.0], [1.0, 3.0]]}"

    A tensor parameter takes a literal (floats), ``{shape: S}`` (random floats
    of the op's smooth domain), ``{shape: S, low: A, high: B}`` (uniform in
    [A, B)), or ``{value: V, dtype: D}`` (D one of float32/64, int32/64,
    bool); a ``tensors`` parameter a list of those. Every other key is an
    attribute, passed as written (YAML 1.1 as PyYAML reads it: write
    ``0.001``, not ``1e-3``). Tensor parameters left out get the generated
    default, attributes left out TF's default."""
    spec = yaml.safe_load(text)
    assert isinstance(spec, dict), f"{name}: an example is a mapping: {text!r}"
    op = REGISTRY[name]
    tensors, attrs = {}, {}
    for k, v in spec.items():
        p = op.param(k)
        assert p is not None, f"{name}: example names unknown parameter {k!r}"
        if p.kind == TENSOR:
            tensors[k] = _example_value(v, name, rng)
        elif p.kind == TENSORS:
            assert isinstance(v, list), f"{name}: {k} takes a list"
            tensors[k] = [_example_value(e, name, rng) for e in v]
        else:
            attrs[k] = v
    return tensors, attrs


def _example_value(v: Any, name: str, rng) -> np.ndarray:
    if isinstance(v, dict):
        if "value" in v:
            return np.asarray(v["value"], dtype=v.get("dtype", "float64"))
        shape = tuple(v["shape"])
        if "low" in v:
            return rng.uniform(v["low"], v["high"], shape)
        return _smooth(name, shape, rng)
    return np.asarray(v, dtype=np.float64)


def _smooth(name: str, shape: tuple, rng) -> np.ndarray:
    """Random floats where op ``name`` is smooth: its elementwise function's
    smooth domain when it has one, else distinct values in [0.3, 0.9) (away
    from the kinks at 0 and +-1 of relu, abs, sqrt, log, asin...)."""
    f = FUNCS.get(name)
    if f is not None and f.smooth_domain is not None:
        return np.asarray(f.smooth_domain(rng.standard_normal(shape)), dtype=np.float64)
    return rng.uniform(0.3, 0.9, shape)


# Ops whose inputs are a graph, not tensors: a gradient of ys with respect to
# xs means nothing for independent sample leaves. tests/test_higher.py and the
# tests/tfref/graphs/higher references test them (their examples are usage).
GRAPH_OPS = {
    "gradients": "differentiates its ys (built from xs) with respect to xs: tests/test_higher.py",
    "hessians": "second derivatives of its ys (built from xs): tests/test_higher.py",
    "jacobian": "derivatives of target (built from source): tests/test_higher.py",
    "batch_jacobian": "derivatives of target (built from source): tests/test_higher.py",
}


def sample_examples(name: str) -> list[str]:
    """The op's examples that are sample inputs (YAML flow mappings); other
    entries (``g: gradients(y, x)``) are usage shown in docs/ops.md."""
    return [e for e in REGISTRY[name].examples if e.lstrip().startswith("{")]


def samples(name: str) -> list[tuple[dict, dict]]:
    """The op's sample inputs: its declared examples, or one generated from
    its params when it declares none."""
    op = REGISTRY[name]
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    if sample_examples(name):
        out = []
        for text in sample_examples(name):
            tensors, attrs = parse_example(text, name, rng)
            for p in op.tensor_params:
                if p.name not in tensors and p.required:
                    tensors[p.name] = _generated(name, p, rng)
            out.append((tensors, attrs))
        return out
    tensors = {p.name: _generated(name, p, rng) for p in op.tensor_params}
    return [(tensors, {})]


def _generated(name: str, p, rng):
    if p.kind == TENSORS:
        return [_smooth(name, (2, 3), rng) for _ in range(2)]
    return _smooth(name, (2, 3), rng)


def _no_example_needed(name: str) -> str | None:
    """Why the generated sample cannot work for ``name`` (None when it can)."""
    op = REGISTRY[name]
    missing = [p.name for p in op.attr_params if p.required]
    if missing and not sample_examples(name):
        return f"{name}: required attribute(s) {missing}: declare examples in its OpDef"
    return None


def _run(name: str, tensors: dict, attrs: dict):
    """(expected shapes, evaluated arrays, nodes) of one op on sample inputs."""
    nodes, env = leaves(tensors)
    out = apply(name, nodes, attrs, "float64", values=env)
    outs = out if isinstance(out, list) else [out]
    vals = Plan(outs).run(env)
    return outs, vals


@pytest.mark.parametrize("name", OPS)
def test_shape_rule_agrees_with_forward(name):
    if name in GRAPH_OPS:
        pytest.skip(f"{name}: {GRAPH_OPS[name]}")
    why = _no_example_needed(name)
    assert why is None, why
    for tensors, attrs in samples(name):
        try:
            outs, vals = _run(name, tensors, attrs)
        except GraphError as e:  # the sample itself is bad: the examples must be fixed
            pytest.fail(f"{name}{attrs}: sample rejected: {e}; declare examples in its OpDef")
        for o, v in zip(outs, vals):
            assert np.shape(v) == tuple(o.shape), f"{name}: shape rule {o.shape}, forward {np.shape(v)}"
            assert np.asarray(v).dtype == np.dtype(o.dtype), (
                f"{name}: node dtype {o.dtype}, evaluated {np.asarray(v).dtype}")


def _float_keys(tensors: dict) -> list[str]:
    keys = []
    for k, v in tensors.items():
        if isinstance(v, list):
            keys += [f"{k}{i}" for i, a in enumerate(v) if np.asarray(a).dtype.kind == "f"]
        elif np.asarray(v).dtype.kind == "f":
            keys.append(k)
    return keys


@pytest.mark.parametrize("name", OPS)
def test_gradient_matches_finite_differences(name):
    op = REGISTRY[name]
    if name in GRAPH_OPS:
        pytest.skip(f"{name}: {GRAPH_OPS[name]}")
    why = _no_example_needed(name)
    assert why is None, why
    for tensors, attrs in samples(name):
        outs, vals = _run(name, tensors, attrs)
        for k, y in enumerate(vals):
            if np.asarray(y).dtype.kind != "f":
                continue  # an integer or boolean result carries no gradient (TF's too)
            rng = np.random.default_rng(zlib.crc32(f"{name}/cot{k}".encode()))
            cot = rng.uniform(0.5, 1.5, np.shape(y))
            _, got = vjps(name, tensors, attrs, cot, output=k if len(vals) > 1 else None)
            keys = _float_keys(tensors)
            if not op.differentiable or name in NONE_GRADIENT_OPS:
                assert all(got[key] is None for key in keys), f"{name}: a gradient where TF has None"
                continue
            want = finite_difference(name, tensors, attrs, cot, output=k if len(vals) > 1 else None)
            for key in keys:
                assert got[key] is not None, f"{name}: no gradient for {key}"
                np.testing.assert_allclose(got[key], want[key], rtol=1e-5, atol=1e-6,
                                           err_msg=f"{name}{attrs}: d/d{key} (output {k})")


# -- the contract's op list ---------------------------------------------------------------

CONTRACT = Path("/work/shared/graph-format.md")
CONTRACT_COPY = ROOT / "tests" / "data" / "contract-ops.txt"

# Backticked words in the contract's op lists that are not op names.
NOT_OPS = {"padding", "SAME", "VALID", "tf"}

# Contract ops not registered yet: each must be removed from this set when
# it lands (the test fails on an entry that is registered).
NOT_YET_REGISTERED: set[str] = set()


def contract_ops(text: str) -> list[str]:
    """Op names in the contract's op lists: the first column of format 1's
    table and every backticked name (or call) in format 2's lists."""
    section = text[text.index("### Names and signatures are TensorFlow's"):
                   text.index("## Kernel exactness")]
    table = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    prose = "\n".join(line for line in section.splitlines() if not line.startswith("|"))
    names = []
    for tok in re.findall(r"`([^`]+)`", "\n".join(table)) + re.findall(r"`([^`]+)`", prose, re.S):
        m = re.match(r"[A-Za-z_][A-Za-z0-9_]*", tok)
        if m and (tok == m.group() or tok[m.end()] == "(") and m.group() not in NOT_OPS:
            names.append(m.group())
    return list(dict.fromkeys(names))


def _contract_list() -> list[str]:
    if CONTRACT.exists():
        return contract_ops(CONTRACT.read_text(encoding="utf-8"))
    return CONTRACT_COPY.read_text(encoding="utf-8").split()


def test_contract_copy_is_current():
    """tests/data/contract-ops.txt is the contract's op list, for clones
    without /work/shared (regenerate: ``python tests/test_registry.py``)."""
    if not CONTRACT.exists():
        pytest.skip("the shared contract is not on this machine; using the committed copy")
    assert CONTRACT_COPY.read_text(encoding="utf-8").split() == _contract_list()


def test_every_contract_op_is_registered():
    from tfgrad.opdefs import lookup

    wanted = _contract_list()
    missing = sorted(n for n in wanted if lookup(n) is None)
    print(f"\ncontract ops: {len(wanted)}, registered: {len(wanted) - len(missing)}, "
          f"not yet registered: {', '.join(missing) or 'none'}")
    unexpected = sorted(set(missing) - NOT_YET_REGISTERED)
    assert not unexpected, f"contract ops not registered (and not in NOT_YET_REGISTERED): {unexpected}"
    landed = sorted(NOT_YET_REGISTERED - set(missing))
    assert not landed, f"registered now: remove {landed} from NOT_YET_REGISTERED"


if __name__ == "__main__":  # regenerate tests/data/contract-ops.txt
    CONTRACT_COPY.write_text("\n".join(_contract_list()) + "\n", encoding="utf-8")
