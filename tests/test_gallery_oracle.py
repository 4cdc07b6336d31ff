"""The gallery's second method: hand-written NumPy oracles for graphs/*.yaml.

Every file in ``graphs/`` (not ``graphs/invalid/``) has, in this module:

* a forward pass written by hand in NumPy, and
* a backward pass written by hand (the chain rule spelled out op by op, with
  TensorFlow's conventions at the kinks: relu'(0) = 0, abs'(0) = 0,
  maximum/minimum ties to the first argument, pow's d/dy = 0 where x <= 0,
  stop_gradient passes nothing back, an x that no y reaches is None).

The tests check, for each file:

1. it obeys the file-format contract strictly (``/work/shared/graph-format.md``:
   keys, names, values, op table, attributes, YAML style, no duplicate keys);
2. the graph it describes is the graph the oracle was written for: a small
   independent interpreter of the file (ast-parsed expressions, never executed)
   computes the same forward values as the hand-written forward, at the file's
   values and at perturbed ones;
3. its ``expect`` block equals the hand-written backward (rtol = atol = 1e-12,
   None exactly where the expect is null);
4. integers: an all-integer file has integral gradients written as integers,
   any other file writes floats;
5. central finite differences (h = 1e-6) of the hand-written forward agree
   with the backward (rtol 1e-5), holding stop_gradients nodes and
   stop_gradient ops at their base values; the few elements that sit exactly
   on a kink are listed per case and skipped.

This module deliberately does not import tfgrad.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
import yaml

GRAPHS = Path(__file__).resolve().parent.parent / "graphs"

RTOL = 1e-12
ATOL = 1e-12
FD_H = 1e-6
FD_RTOL = 1e-5
FD_ATOL = 1e-6

A = np.array  # shorthand for literals in the oracles


def F(x: Any) -> np.ndarray:
    return np.array(x, dtype=float)


# ---------------------------------------------------------------------------
# The contract, independently restated
# ---------------------------------------------------------------------------

TOP_KEYS = {
    "name", "description", "variables", "constants", "ops", "ys", "xs",
    "grad_ys", "stop_gradients", "unconnected_gradients", "expect", "tolerance",
}
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
AXES = (None, 0, 1, -1, -2)
BOOL_ATTRS = {"keepdims", "transpose_a", "transpose_b"}

# op -> (arity or None for one-or-more, allowed attributes)
OPS: dict[str, tuple[int | None, set[str]]] = {
    **{k: (2, set()) for k in ("add", "subtract", "multiply", "divide",
                               "maximum", "minimum", "pow")},
    **{k: (1, set()) for k in ("negative", "identity", "transpose", "square",
                               "sqrt", "exp", "log", "tanh", "sigmoid", "abs",
                               "relu", "stop_gradient")},
    "matmul": (2, {"transpose_a", "transpose_b"}),
    "reduce_sum": (1, {"axis", "keepdims"}),
    "reduce_mean": (1, {"axis", "keepdims"}),
    "add_n": (None, set()),
}
BINOPS = {ast.Add: "add", ast.Sub: "subtract", ast.Mult: "multiply",
          ast.Div: "divide", ast.MatMult: "matmul", ast.Pow: "pow"}


class Invalid(AssertionError):
    pass


def check_value(v: Any, where: str) -> list:
    """A value per the contract: rank 0-2, numbers only, rectangular, finite.
    Returns the flat list of its numbers."""

    def number(x: Any) -> bool:
        return isinstance(x, (int, float)) and not isinstance(x, bool)

    if number(v):
        nums = [v]
    elif isinstance(v, list) and v and all(number(x) for x in v):
        nums = list(v)
    elif (isinstance(v, list) and v and all(isinstance(r, list) and r for r in v)
          and all(number(x) for r in v for x in r)):
        if len({len(r) for r in v}) != 1:
            raise Invalid(f"{where}: ragged rows")
        nums = [x for r in v for x in r]
    else:
        raise Invalid(f"{where}: not a rank 0-2 numeric value: {v!r}")
    if not all(math.isfinite(x) for x in nums):
        raise Invalid(f"{where}: non-finite number")
    return nums


def check_yaml_style(text: str, where: str) -> None:
    """No duplicate keys anywhere; ``ops`` is a block mapping whose expression
    strings are string scalars (so no expression sits in a flow mapping)."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)

    def walk(node: yaml.Node) -> None:
        if isinstance(node, yaml.MappingNode):
            keys = [k.value for k, _ in node.value]
            dup = {k for k in keys if keys.count(k) > 1}
            if dup:
                raise Invalid(f"{where}: duplicate keys {sorted(dup)}")
            for _, v in node.value:
                walk(v)
        elif isinstance(node, yaml.SequenceNode):
            for v in node.value:
                walk(v)

    walk(root)
    for k, v in root.value:
        if k.value == "ops":
            if not isinstance(v, yaml.MappingNode) or v.flow_style:
                raise Invalid(f"{where}: ops must be a block mapping")
            for name, op in v.value:
                if isinstance(op, yaml.ScalarNode):
                    if op.tag != "tag:yaml.org,2002:str":
                        raise Invalid(f"{where}: op {name.value} is not a string")
                elif isinstance(op, yaml.MappingNode):
                    for ak, av in op.value:
                        if isinstance(av, yaml.ScalarNode) and "(" in str(av.value):
                            raise Invalid(f"{where}: expression inside a mapping op")
                else:
                    raise Invalid(f"{where}: op {name.value} is neither string nor mapping")


@dataclass
class Parsed:
    doc: dict
    leaves: dict[str, np.ndarray]
    ops: dict[str, Any]              # name -> ("expr", ast) | ("map", dict)
    ys: list[str]
    xs: list[str]
    stop: list[str]
    unconnected: str
    all_int_inputs: bool


def names_of(v: Any, key: str) -> list[str]:
    if isinstance(v, str):
        return [v]
    if isinstance(v, list) and v and all(isinstance(s, str) for s in v):
        return list(v)
    raise Invalid(f"{key}: must be a name or a non-empty list of names")


def parse(path: Path) -> Parsed:
    text = path.read_text()
    where = path.name
    check_yaml_style(text, where)
    doc = yaml.safe_load(text)
    if not isinstance(doc, dict):
        raise Invalid(f"{where}: top level must be a mapping")
    unknown = set(doc) - TOP_KEYS
    if unknown:
        raise Invalid(f"{where}: unknown keys {sorted(unknown)}")
    for k in ("ys", "xs"):
        if k not in doc:
            raise Invalid(f"{where}: missing {k}")
    if "variables" not in doc and "constants" not in doc:
        raise Invalid(f"{where}: needs variables or constants")

    ints: list[bool] = []
    leaves: dict[str, np.ndarray] = {}
    seen: set[str] = set()

    def declare(name: Any) -> None:
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise Invalid(f"{where}: bad name {name!r}")
        if name in seen:
            raise Invalid(f"{where}: name {name} defined twice")
        seen.add(name)

    for section in ("variables", "constants"):
        sec = doc.get(section)
        if sec is None:
            continue
        if not isinstance(sec, dict) or not sec:
            raise Invalid(f"{where}: {section} must be a non-empty mapping")
        for name, v in sec.items():
            declare(name)
            ints += [isinstance(x, int) for x in check_value(v, f"{section}.{name}")]
            leaves[name] = F(v)

    ops_doc = doc.get("ops") or {}
    if not isinstance(ops_doc, dict):
        raise Invalid(f"{where}: ops must be a mapping")
    ops: dict[str, Any] = {}
    for name, op in ops_doc.items():
        declare(name)
        if isinstance(op, str):
            try:
                tree = ast.parse(op.strip(), mode="eval").body
            except SyntaxError as e:
                raise Invalid(f"{where}: op {name}: {e}") from None
            ops[name] = ("expr", tree)
        elif isinstance(op, dict):
            if set(op) - ({"op", "args"} | BOOL_ATTRS | {"axis"}) or "op" not in op:
                raise Invalid(f"{where}: op {name}: bad keys {sorted(op)}")
            if op["op"] not in OPS:
                raise Invalid(f"{where}: op {name}: unknown op {op['op']!r}")
            if not isinstance(op.get("args"), list):
                raise Invalid(f"{where}: op {name}: args must be a list")
            ops[name] = ("map", op)
        else:
            raise Invalid(f"{where}: op {name} must be a string or a mapping")

    # Check expressions and mapping args, collecting numeric literals.
    def check_attrs(opname: str, attrs: dict, ctx: str) -> None:
        allowed = OPS[opname][1]
        for a, val in attrs.items():
            if a not in allowed:
                raise Invalid(f"{ctx}: {opname} has no attribute {a}")
            if a in BOOL_ATTRS and not isinstance(val, bool):
                raise Invalid(f"{ctx}: {a} must be true/false")
            if a == "axis" and (isinstance(val, bool) or val not in AXES):
                raise Invalid(f"{ctx}: axis {val!r} not allowed")

    def check_arity(opname: str, n: int, ctx: str) -> None:
        ar = OPS[opname][0]
        if (ar is None and n < 1) or (ar is not None and n != ar):
            raise Invalid(f"{ctx}: {opname} takes {ar or 'one or more'} args, got {n}")

    def check_expr(node: ast.AST, ctx: str) -> None:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                raise Invalid(f"{ctx}: bad constant {node.value!r}")
            ints.append(isinstance(node.value, int))
        elif isinstance(node, ast.Name):
            if node.id not in seen:
                raise Invalid(f"{ctx}: unknown name {node.id}")
        elif isinstance(node, ast.List):
            ints.extend(isinstance(x, int) for x in check_value(ast_literal(node), ctx))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            check_expr(node.operand, ctx)
        elif isinstance(node, ast.BinOp) and type(node.op) in BINOPS:
            check_expr(node.left, ctx)
            check_expr(node.right, ctx)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            fn = node.func.id
            if fn not in OPS:
                raise Invalid(f"{ctx}: unknown op {fn}")
            check_arity(fn, len(node.args), ctx)
            for a in node.args:
                check_expr(a, ctx)
            check_attrs(fn, {kw.arg: ast_kwvalue(kw.value, ctx) for kw in node.keywords}, ctx)
        else:
            raise Invalid(f"{ctx}: construct not in the contract: {ast.dump(node)}")

    for name, (kind, op) in ops.items():
        ctx = f"{where}: op {name}"
        if kind == "expr":
            check_expr(op, ctx)
        else:
            check_arity(op["op"], len(op["args"]), ctx)
            for a in op["args"]:
                if isinstance(a, str):
                    if a not in seen:
                        raise Invalid(f"{ctx}: unknown name {a}")
                else:
                    ints.extend(isinstance(x, int) for x in check_value(a, ctx))
            check_attrs(op["op"], {k: v for k, v in op.items() if k not in ("op", "args")}, ctx)

    ys = names_of(doc["ys"], "ys")
    xs = names_of(doc["xs"], "xs")
    stop = names_of(doc["stop_gradients"], "stop_gradients") if "stop_gradients" in doc else []
    for n in ys + xs + stop:
        if n not in seen:
            raise Invalid(f"{where}: unknown name {n}")
    unconnected = doc.get("unconnected_gradients", "none")
    if unconnected not in ("none", "zero"):
        raise Invalid(f"{where}: unconnected_gradients must be none or zero")
    if "grad_ys" in doc:
        gys = doc["grad_ys"]
        if not isinstance(gys, list) or len(gys) != len(ys):
            raise Invalid(f"{where}: grad_ys needs one entry per y")
        for i, g in enumerate(gys):
            if g is None:
                continue
            if isinstance(g, str):
                if g not in seen:
                    raise Invalid(f"{where}: grad_ys names unknown {g}")
            else:
                ints.extend(isinstance(x, int) for x in check_value(g, f"grad_ys[{i}]"))
    if "expect" in doc:
        exp = doc["expect"]
        if not isinstance(exp, dict) or set(exp) - set(xs):
            raise Invalid(f"{where}: expect keys must be xs")
        for k, v in exp.items():
            if v is not None:
                check_value(v, f"expect.{k}")
    if "tolerance" in doc:
        tol = doc["tolerance"]
        if not isinstance(tol, dict) or set(tol) - {"rtol", "atol"}:
            raise Invalid(f"{where}: bad tolerance")
    return Parsed(doc, leaves, ops, ys, xs, stop, unconnected, all(ints))


def ast_literal(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
            and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        v = ast_literal(node.operand)
        if isinstance(v, list):
            raise Invalid("negated list literal")
        return -v
    if isinstance(node, ast.List):
        return [ast_literal(e) for e in node.elts]
    raise Invalid(f"not a literal: {ast.dump(node)}")


def ast_kwvalue(node: ast.AST, ctx: str) -> Any:
    if isinstance(node, ast.Name) and node.id in ("true", "false", "null"):
        return {"true": True, "false": False, "null": None}[node.id]
    return ast_literal(node)


# ---------------------------------------------------------------------------
# An independent interpreter of the file's forward pass (for the structure
# check only: it proves the oracle's hand-written forward is the file's graph)
# ---------------------------------------------------------------------------

def apply(op: str, args: list[np.ndarray], attrs: dict) -> np.ndarray:
    x = args[0]
    if op in ("add", "subtract", "multiply", "divide", "maximum", "minimum", "pow"):
        f = {"add": np.add, "subtract": np.subtract, "multiply": np.multiply,
             "divide": np.divide, "maximum": np.maximum, "minimum": np.minimum,
             "pow": np.power}[op]
        return f(x, args[1])
    if op == "matmul":
        a, b = args
        assert a.ndim == 2 and b.ndim == 2, "matmul is rank 2 only"
        if attrs.get("transpose_a"):
            a = a.T
        if attrs.get("transpose_b"):
            b = b.T
        return a @ b
    if op == "transpose":
        return x.T if x.ndim == 2 else x
    if op in ("reduce_sum", "reduce_mean"):
        f = np.sum if op == "reduce_sum" else np.mean
        return np.asarray(f(x, axis=attrs.get("axis"), keepdims=bool(attrs.get("keepdims"))))
    if op == "add_n":
        assert len({a.shape for a in args}) == 1, "add_n needs equal shapes"
        return sum(args[1:], args[0])
    unary = {"negative": np.negative, "identity": lambda v: v, "stop_gradient": lambda v: v,
             "square": np.square, "sqrt": np.sqrt, "exp": np.exp, "log": np.log,
             "tanh": np.tanh, "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
             "abs": np.abs, "relu": lambda v: np.maximum(v, 0)}
    return unary[op](x)


def interpret(p: Parsed, leaves: dict[str, np.ndarray],
              frozen: dict | None = None) -> dict[str, np.ndarray]:
    """Forward values of every node. ``frozen`` maps each stop_gradient call
    (keyed by its AST node or op name) to a value: empty, it is filled with the
    calls' outputs; filled, those outputs replace the calls' results."""
    vals: dict[str, np.ndarray] = dict(leaves)
    record = frozen is not None and not frozen

    def sg(key: Any, value: np.ndarray) -> np.ndarray:
        if frozen is None:
            return value
        if record:
            frozen[key] = value
            return value
        return frozen[key]
    busy: set[str] = set()

    def node(name: str) -> np.ndarray:
        if name in vals:
            return vals[name]
        if name in busy:
            raise Invalid(f"cycle through {name}")
        busy.add(name)
        kind, op = p.ops[name]
        if kind == "expr":
            v = expr(op)
        else:
            args = [node(a) if isinstance(a, str) else F(a) for a in op["args"]]
            v = apply(op["op"], args, {k: w for k, w in op.items() if k not in ("op", "args")})
            if op["op"] == "stop_gradient":
                v = sg(name, v)
        busy.discard(name)
        vals[name] = np.asarray(v, dtype=float)
        return vals[name]

    def expr(t: ast.AST) -> np.ndarray:
        if isinstance(t, ast.Name):
            return node(t.id)
        if isinstance(t, (ast.Constant, ast.List)):
            return F(ast_literal(t))
        if isinstance(t, ast.UnaryOp):
            if isinstance(t.operand, ast.Constant):
                return F(ast_literal(t))
            return -expr(t.operand)
        if isinstance(t, ast.BinOp):
            return apply(BINOPS[type(t.op)], [expr(t.left), expr(t.right)], {})
        if isinstance(t, ast.Call):
            v = apply(t.func.id, [expr(a) for a in t.args],
                      {kw.arg: ast_kwvalue(kw.value, "") for kw in t.keywords})
            return sg(id(t), v) if t.func.id == "stop_gradient" else v
        raise Invalid(ast.dump(t))

    with np.errstate(all="ignore"):
        for name in p.ops:
            node(name)
    return vals


# ---------------------------------------------------------------------------
# Oracle machinery
# ---------------------------------------------------------------------------

class Net:
    """Records a hand-written forward pass. ``net[leaf]`` reads a variable or
    constant, ``net(name, value)`` names an op's value; either is replaced by
    ``fix[name]`` when given (finite differences perturb xs and hold stopped
    nodes this way)."""

    def __init__(self, leaves: dict[str, np.ndarray], fix: dict[str, np.ndarray]):
        self.leaves, self.fix, self.vals = leaves, fix, {}

    def __getitem__(self, name: str) -> np.ndarray:
        return self(name, self.leaves[name])

    def __call__(self, name: str, value: np.ndarray) -> np.ndarray:
        v = self.fix[name] if name in self.fix else np.asarray(value, dtype=float)
        self.vals[name] = v
        return v


class Grads(dict):
    """Accumulated gradients by node name; absent means no path (None)."""

    def add(self, name: str, g: np.ndarray | None) -> None:
        if g is not None:
            self[name] = self[name] + g if name in self else g


def d(g: np.ndarray | None, f: Callable[[np.ndarray], np.ndarray]) -> np.ndarray | None:
    """Apply a VJP step only when a gradient arrived."""
    return None if g is None else f(g)


@dataclass
class Case:
    ys: list[str]
    xs: list[str]
    forward: Callable[[Net], None]
    backward: Callable[[dict, Grads], None]   # (base values, seeded grads), fills grads
    stop: list[str] = field(default_factory=list)
    unconnected: str = "none"
    hold: list[str] = field(default_factory=list)  # stop_gradient op outputs (incl. inline ones)
    fd_skip: dict[str, list[int]] = field(default_factory=dict)  # flat indices on kinks


CASES: dict[str, Case] = {}


def case(filename: str, **kw: Any) -> Callable:
    def deco(fns: tuple[Callable, Callable]) -> tuple:
        CASES[filename] = Case(forward=fns[0], backward=fns[1], **kw)
        return fns
    return deco


# ---------------------------------------------------------------------------
# The oracles, one per gallery file
# ---------------------------------------------------------------------------

# 01-05: the tutorial graph.
T_A1, T_A2, T_P, T_Q = F([[2], [1]]), F([[3], [5]]), F([[2], [4]]), F([[8], [6]])


def tutorial_fwd(n: Net) -> None:
    w1, w2 = n["w1"], n["w2"]
    n("res2a", w1 @ T_A1 + w2 @ T_A2)
    p = n("p", w1 @ T_P)
    q = n("q", w2 @ T_Q)
    n("res2b", p + q)


def tutorial_bwd(v: dict, G: Grads) -> None:
    gb = G.get("res2b")          # res2b = p + q
    G.add("p", gb)
    G.add("q", gb)
    ga = G.get("res2a")          # res2a = w1 @ A1 + w2 @ A2
    G.add("w1", d(ga, lambda g: g @ T_A1.T))
    G.add("w2", d(ga, lambda g: g @ T_A2.T))
    G.add("w1", d(G.get("p"), lambda g: g @ T_P.T))
    G.add("w2", d(G.get("q"), lambda g: g @ T_Q.T))


TUTORIAL = (tutorial_fwd, tutorial_bwd)
case("01-tutorial.yaml", ys=["res2a", "res2b"], xs=["w1", "w2"])(TUTORIAL)
case("02-tutorial-grad-ys.yaml", ys=["res2a", "res2b"], xs=["w1", "w2"])(TUTORIAL)
case("03-tutorial-res2a.yaml", ys=["res2a"], xs=["w1", "w2"])(TUTORIAL)
case("04-tutorial-unconnected.yaml", ys=["p"], xs=["w1", "w2"])(TUTORIAL)
case("05-tutorial-unconnected-zero.yaml", ys=["p"], xs=["w1", "w2"],
     unconnected="zero")(TUTORIAL)


# 06-07: TF's documented stop_gradients example: a = 0, b = 2 * a, ys a + b.
def tfdoc_fwd(n: Net) -> None:
    a = n["a"]
    b = n("b", 2 * a)
    n("total", a + b)


def tfdoc_bwd_with(stopped: set[str]) -> Callable:
    def bwd(v: dict, G: Grads) -> None:
        g = G.get("total")            # total = a + b
        G.add("a", g)
        G.add("b", g)
        if "b" not in stopped:        # b = 2 * a
            G.add("a", d(G.get("b"), lambda g: 2 * g))
    return bwd


case("06-total-derivative.yaml", ys=["total"], xs=["a", "b"])((tfdoc_fwd, tfdoc_bwd_with(set())))
case("07-stop-gradients.yaml", ys=["total"], xs=["a", "b"], stop=["a", "b"])(
    (tfdoc_fwd, tfdoc_bwd_with({"a", "b"})))


# 08: stop_gradients on an intermediate op that is also an x.
def sgi_fwd(n: Net) -> None:
    w = n["w"]
    h = n("h", w * w)
    n("cube_plus", h * w + h)


def sgi_bwd(v: dict, G: Grads) -> None:
    g = G.get("cube_plus")            # cube_plus = h * w + h
    G.add("h", d(g, lambda g: g * v["w"] + g))
    G.add("w", d(g, lambda g: g * v["h"]))
    # h is in stop_gradients: it keeps its gradient but passes nothing to w.


case("08-stop-gradients-intermediate.yaml", ys=["cube_plus"], xs=["w", "h"], stop=["h"])(
    (sgi_fwd, sgi_bwd))


# 09: the stop_gradient op.
def sgo_fwd(n: Net) -> None:
    u, w = n["u"], n["w"]
    s = n("s", u)                     # s = stop_gradient(u)
    t = n("_sg_w", w)                 # the inline stop_gradient(w)
    n("out", s * w + w * t)


def sgo_bwd(v: dict, G: Grads) -> None:
    g = G.get("out")                  # out = s * w + w * t
    G.add("s", d(g, lambda g: g * v["w"]))
    G.add("w", d(g, lambda g: g * v["s"]))
    G.add("w", d(g, lambda g: g * v["_sg_w"]))
    G.add("_sg_w", d(g, lambda g: g * v["w"]))
    # stop_gradient ops s and _sg_w pass nothing back: u is never reached.


case("09-stop-gradient-op.yaml", ys=["out"], xs=["u", "w", "s"], hold=["s", "_sg_w"])(
    (sgo_fwd, sgo_bwd))


# 10: broadcasting.
def bc_fwd(n: Net) -> None:
    a, bias, c, col = n["a"], n["bias"], n["c"], n["col"]
    n["seed"]
    z = n("z", a + bias + c)          # (3,2) + (2,) + () -> (3,2)
    n("scaled", z * col)              # (3,2) * (3,1) -> (3,2)


def bc_bwd(v: dict, G: Grads) -> None:
    g = G.get("scaled")
    G.add("z", d(g, lambda g: g * v["col"]))
    G.add("col", d(g, lambda g: np.sum(g * v["z"], axis=1, keepdims=True)))
    gz = G.get("z")
    G.add("a", gz)
    G.add("bias", d(gz, lambda g: np.sum(g, axis=0)))
    G.add("c", d(gz, lambda g: np.sum(g)))


case("10-broadcasting.yaml", ys=["scaled"], xs=["a", "bias", "c", "col"])((bc_fwd, bc_bwd))


# 11: reductions.
def red_fwd(n: Net) -> None:
    a, b, c, dd, e, f = (n[k] for k in "abcdef")
    n("sum0", np.sum(a, axis=0))
    n("mean1", np.mean(b, axis=1))
    n("sumsq", np.sum(c * c))
    n("mean_last", np.mean(dd, axis=-1, keepdims=True))
    n("sum_first", np.sum(e, axis=-2, keepdims=True))
    n("meansq", np.mean(f * f, keepdims=True))


def red_bwd(v: dict, G: Grads) -> None:
    ones = np.ones((2, 3))
    G.add("a", d(G.get("sum0"), lambda g: ones * g[None, :]))           # copy down rows
    G.add("b", d(G.get("mean1"), lambda g: ones * g[:, None] / 3))      # copy along row, / 3
    G.add("c", d(G.get("sumsq"), lambda g: g * 2 * v["c"]))
    G.add("d", d(G.get("mean_last"), lambda g: ones * g / 3))           # g is (2,1)
    G.add("e", d(G.get("sum_first"), lambda g: ones * g))               # g is (1,3)
    G.add("f", d(G.get("meansq"), lambda g: g * 2 * v["f"] / 6))        # g is (1,1)


case("11-reductions.yaml",
     ys=["sum0", "mean1", "sumsq", "mean_last", "sum_first", "meansq"],
     xs=["a", "b", "c", "d", "e", "f"])((red_fwd, red_bwd))


# 12: elementwise calculus.
def sig(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def ew_fwd(n: Net) -> None:
    u, v = n["u"], n["v"]
    q = n("q", u / v)
    lg = n("lg", np.log(v))
    ex = n("ex", np.exp(-u))
    sg = n("sg", sig(u - v))
    rt = n("rt", np.sqrt(v))
    n("f", q * lg + ex * sg - rt)


def ew_bwd(v: dict, G: Grads) -> None:
    g = G.get("f")                    # f = q * lg + ex * sg - rt
    G.add("q", d(g, lambda g: g * v["lg"]))
    G.add("lg", d(g, lambda g: g * v["q"]))
    G.add("ex", d(g, lambda g: g * v["sg"]))
    G.add("sg", d(g, lambda g: g * v["ex"]))
    G.add("rt", d(g, lambda g: -g))
    u, w = v["u"], v["v"]
    G.add("v", d(G.get("rt"), lambda g: g * 0.5 / v["rt"]))              # sqrt
    gsg = d(G.get("sg"), lambda g: g * v["sg"] * (1 - v["sg"]))           # sigmoid(u - v)
    G.add("u", gsg)
    G.add("v", d(gsg, lambda g: -g))
    G.add("u", d(G.get("ex"), lambda g: -(g * v["ex"])))                  # exp(-u)
    G.add("v", d(G.get("lg"), lambda g: g / w))                           # log
    G.add("u", d(G.get("q"), lambda g: g / w))                            # u / v
    G.add("v", d(G.get("q"), lambda g: -g * u / (w * w)))


case("12-elementwise.yaml", ys=["f"], xs=["u", "v", "q"])((ew_fwd, ew_bwd))


# 13: matmul with transpose flags, transpose, add_n.
def mm_fwd(n: Net) -> None:
    Am, Bm, Cm = n["A"], n["B"], n["C"]
    n["g4"]
    m1 = n("m1", Am @ Bm.T)
    m2 = n("m2", Am.T @ Cm)
    t = n("t", m2.T)
    s = n("s", Am + t + Bm)
    n("out", m1 @ s)
    n("m4", Bm.T @ Cm.T)


def mm_bwd(v: dict, G: Grads) -> None:
    Am, Bm, Cm = v["A"], v["B"], v["C"]
    gout = G.get("out")               # out = m1 @ s
    G.add("m1", d(gout, lambda g: g @ v["s"].T))
    G.add("s", d(gout, lambda g: v["m1"].T @ g))
    gs = G.get("s")                   # s = add_n(A, t, B)
    G.add("A", gs)
    G.add("t", gs)
    G.add("B", gs)
    G.add("m2", d(G.get("t"), lambda g: g.T))                    # t = transpose(m2)
    gm2 = G.get("m2")                 # m2 = A^T @ C
    G.add("A", d(gm2, lambda g: Cm @ g.T))
    G.add("C", d(gm2, lambda g: Am @ g))
    gm1 = G.get("m1")                 # m1 = A @ B^T
    G.add("A", d(gm1, lambda g: g @ Bm))
    G.add("B", d(gm1, lambda g: g.T @ Am))
    gm4 = G.get("m4")                 # m4 = B^T @ C^T
    G.add("B", d(gm4, lambda g: Cm.T @ g.T))
    G.add("C", d(gm4, lambda g: g.T @ Bm.T))


case("13-matmul-transpose-add-n.yaml", ys=["out", "m4"], xs=["A", "B", "C", "t"])(
    (mm_fwd, mm_bwd))


# 14: intermediate xs, and a y that is also an x.
def ix_fwd(n: Net) -> None:
    w, c = n["w"], n["c"]
    z = n("z", w @ c)
    h = n("h", np.tanh(z))
    n("loss", h * h + z)


def ix_bwd(v: dict, G: Grads) -> None:
    g = G.get("loss")                 # loss = square(h) + z
    G.add("h", d(g, lambda g: g * 2 * v["h"]))
    G.add("z", g)
    G.add("z", d(G.get("h"), lambda g: g * (1 - v["h"] ** 2)))   # h = tanh(z)
    G.add("w", d(G.get("z"), lambda g: g @ v["c"].T))            # z = w @ c
    G.add("c", d(G.get("z"), lambda g: v["w"].T @ g))


case("14-intermediate-xs.yaml", ys=["loss"], xs=["w", "z", "h", "loss"])((ix_fwd, ix_bwd))


# 15: duplicate ys (seeds add) and duplicate xs (each gets the full gradient).
def dup_fwd(n: Net) -> None:
    a, b = n["a"], n["b"]
    n("prod", a * b)


def dup_bwd(v: dict, G: Grads) -> None:
    g = G.get("prod")                 # both seeds already summed into G["prod"]
    G.add("a", d(g, lambda g: g * v["b"]))
    G.add("b", d(g, lambda g: g * v["a"]))


case("15-duplicates.yaml", ys=["prod", "prod"], xs=["a", "b", "a"])((dup_fwd, dup_bwd))


# 16: kinks.
def kink_fwd(n: Net) -> None:
    xr, xa, xl, p, q, m, k, s = (n[k] for k in ("xr", "xa", "xl", "p", "q", "m", "k", "s"))
    n("r", np.maximum(xr, 0))
    n("ab", np.abs(xa))
    n("lk", np.maximum(xl, 0))
    n("mx", np.maximum(p, q))
    n("mn", np.minimum(m, k))
    n("tie", np.maximum(s, s))


def kink_bwd(v: dict, G: Grads) -> None:
    G.add("xr", d(G.get("r"), lambda g: np.where(v["xr"] > 0, g, 0)))         # relu'(0) = 0
    G.add("xa", d(G.get("ab"), lambda g: g * np.sign(v["xa"])))              # abs'(0) = 0
    lk = G.get("lk")                                                         # maximum(xl, 0)
    G.add("xl", d(lk, lambda g: np.where(v["xl"] >= 0, g, 0)))
    mx = G.get("mx")                                                         # maximum(p, q)
    G.add("p", d(mx, lambda g: np.where(v["p"] >= v["q"], g, 0)))
    G.add("q", d(mx, lambda g: np.where(v["p"] >= v["q"], 0, g)))
    mn = G.get("mn")                                                         # minimum(m, k)
    G.add("m", d(mn, lambda g: np.where(v["m"] <= v["k"], g, 0)))
    G.add("k", d(mn, lambda g: np.where(v["m"] <= v["k"], 0, g)))
    tie = G.get("tie")                                                       # maximum(s, s)
    G.add("s", d(tie, lambda g: np.where(v["s"] >= v["s"], g, 0)))
    G.add("s", d(tie, lambda g: np.where(v["s"] >= v["s"], 0, g)))


case("16-kinks.yaml", ys=["r", "ab", "lk", "mx", "mn", "tie"],
     xs=["xr", "xa", "xl", "p", "q", "m", "k", "s"],
     fd_skip={"xr": [1], "xa": [1], "xl": [1], "p": [1], "q": [1], "m": [1], "k": [1]})(
    (kink_fwd, kink_bwd))


# 17: pow with a base <= 0.
def pow_fwd(n: Net) -> None:
    base, ex = n["base"], n["ex"]
    with np.errstate(invalid="ignore"):
        n("z", np.power(base, ex))


def pow_bwd(v: dict, G: Grads) -> None:
    g = G.get("z")
    base, ex = v["base"], v["ex"]
    G.add("base", d(g, lambda g: g * ex * np.power(base, ex - 1)))
    safe = np.where(base > 0, base, 1.0)
    G.add("ex", d(g, lambda g: g * v["z"] * np.where(base > 0, np.log(safe), 0.0)))


# (-2) ** (3 +- h) is nan: the exponent's derivative at a negative base has no
# finite difference (TF defines it as 0).
case("17-pow-nonpositive-base.yaml", ys=["z"], xs=["base", "ex"], fd_skip={"ex": [0]})(
    (pow_fwd, pow_bwd))


# 18: an MLP with a mean-square loss.
def mlp_fwd(n: Net) -> None:
    X, W1, b1, W2, b2, T = (n[k] for k in ("x_batch", "W1", "b1", "W2", "b2", "target"))
    pre = n("pre", X @ W1 + b1)
    h = n("hidden", np.tanh(pre))
    out = n("out", h @ W2 + b2)
    diff = n("diff", out - T)
    n("loss", np.mean(diff * diff))


def mlp_bwd(v: dict, G: Grads) -> None:
    g = G.get("loss")                                  # loss = reduce_mean(square(diff))
    G.add("diff", d(g, lambda g: g * 2 * v["diff"] / v["diff"].size))
    G.add("out", G.get("diff"))                        # diff = out - target
    gout = G.get("out")                                # out = hidden @ W2 + b2
    G.add("W2", d(gout, lambda g: v["hidden"].T @ g))
    G.add("b2", d(gout, lambda g: g.sum(axis=0)))
    G.add("hidden", d(gout, lambda g: g @ v["W2"].T))
    G.add("pre", d(G.get("hidden"), lambda g: g * (1 - v["hidden"] ** 2)))
    gpre = G.get("pre")                                # pre = x_batch @ W1 + b1
    G.add("W1", d(gpre, lambda g: v["x_batch"].T @ g))
    G.add("b1", d(gpre, lambda g: g.sum(axis=0)))


case("18-mlp-mse.yaml", ys=["loss"], xs=["W1", "b1", "W2", "b2"])((mlp_fwd, mlp_bwd))


# ---------------------------------------------------------------------------
# Running an oracle
# ---------------------------------------------------------------------------

def forward(c: Case, leaves: dict, fix: dict | None = None) -> dict[str, np.ndarray]:
    n = Net(leaves, fix or {})
    c.forward(n)
    return n.vals


def seeds(p: Parsed, vals: dict) -> list[np.ndarray]:
    out = []
    gys = p.doc.get("grad_ys") or [None] * len(p.ys)
    for y, g in zip(p.ys, gys):
        if g is None:
            s = np.ones_like(vals[y])
        elif isinstance(g, str):
            s = vals[g]
        else:
            s = F(g)
        assert s.shape == vals[y].shape, f"grad_ys for {y}: shape {s.shape} != {vals[y].shape}"
        out.append(s)
    return out


def oracle(c: Case, p: Parsed) -> dict[str, np.ndarray | None]:
    vals = forward(c, p.leaves)
    G = Grads()
    for y, s in zip(p.ys, seeds(p, vals)):
        G.add(y, s)
    c.backward(vals, G)
    out = {}
    for x in p.xs:
        g = G.get(x)
        if g is None and c.unconnected == "zero":
            g = np.zeros_like(vals[x])
        if g is not None:
            g = np.asarray(g, dtype=float)
            assert g.shape == vals[x].shape, f"oracle gradient of {x} has the wrong shape"
        out[x] = g
    return out


def objective(c: Case, p: Parsed, sd: list[np.ndarray], fix: dict) -> float:
    vals = forward(c, p.leaves, fix)
    return float(sum(np.sum(s * vals[y]) for y, s in zip(p.ys, sd)))


FILES = sorted(f.name for f in GRAPHS.glob("*.yaml"))


@pytest.fixture(scope="module")
def parsed() -> dict[str, Parsed]:
    return {}


def load(name: str, cache: dict) -> Parsed:
    if name not in cache:
        cache[name] = parse(GRAPHS / name)
    return cache[name]


# ---------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------

def test_gallery_inventory() -> None:
    assert len(FILES) >= 12
    for f in FILES:
        assert re.match(r"^\d\d-[a-z0-9]+(-[a-z0-9]+)*\.yaml$", f), f
    prefixes = [f[:2] for f in FILES]
    assert len(set(prefixes)) == len(prefixes), "numeric prefixes must be unique"
    assert set(FILES) == set(CASES), "every gallery file needs an oracle and vice versa"


@pytest.mark.parametrize("name", FILES)
def test_contract(name: str, parsed: dict) -> None:
    p = load(name, parsed)
    doc = p.doc
    assert isinstance(doc.get("name"), str) and doc["name"].strip()
    assert isinstance(doc.get("description"), str) and len(doc["description"].split()) >= 15
    assert "expect" in doc and set(doc["expect"]) == set(p.xs), "expect every x"
    interpret(p, p.leaves)  # shapes, arity and cycles are fine


@pytest.mark.parametrize("name", FILES)
def test_file_is_the_oracles_graph(name: str, parsed: dict) -> None:
    p = load(name, parsed)
    c = CASES[name]
    assert (p.ys, p.xs, p.stop, p.unconnected) == (c.ys, c.xs, c.stop, c.unconnected)
    rng = np.random.default_rng(1234)
    points = [p.leaves] + [
        {k: v + rng.uniform(-0.1, 0.1, v.shape) for k, v in p.leaves.items()} for _ in range(2)
    ]
    file_nodes = set(p.leaves) | set(p.ops)
    for leaves in points:
        ref = interpret(p, leaves)
        with np.errstate(all="ignore"):
            mine = forward(c, leaves)
        named = {k for k in mine if not k.startswith("_")}
        assert named == file_nodes, f"oracle nodes {sorted(named ^ file_nodes)} differ"
        for k in named:
            assert ref[k].shape == mine[k].shape, k
            np.testing.assert_allclose(mine[k], ref[k], rtol=1e-13, atol=1e-13, err_msg=k)
    # The stop_gradient ops are where the oracle says: freeze them in the file
    # and the oracle's held nodes in the hand-written forward, then perturb.
    frozen: dict = {}
    interpret(p, p.leaves, frozen)
    assert len(frozen) == len(c.hold), "one held oracle node per stop_gradient op"
    base = forward(c, p.leaves)
    hold = {s: base[s] for s in c.hold}
    for leaves in points[1:]:
        ref = interpret(p, leaves, frozen)
        with np.errstate(all="ignore"):
            mine = forward(c, leaves, hold)
        for k in (k for k in mine if not k.startswith("_")):
            np.testing.assert_allclose(mine[k], ref[k], rtol=1e-13, atol=1e-13, err_msg=k)


@pytest.mark.parametrize("name", FILES)
def test_expect_matches_oracle(name: str, parsed: dict) -> None:
    p = load(name, parsed)
    got = oracle(CASES[name], p)
    for x in p.xs:
        exp = p.doc["expect"][x]
        if got[x] is None:
            assert exp is None, f"{x}: TF returns None, expect says {exp!r}"
            continue
        assert exp is not None, f"{x}: expect says None, TF returns {got[x]}"
        e = F(exp)
        assert e.shape == got[x].shape, f"{x}: shape {e.shape} != {got[x].shape}"
        np.testing.assert_allclose(e, got[x], rtol=RTOL, atol=ATOL, err_msg=x)


def flat_numbers(v: Any) -> list:
    return [v] if not isinstance(v, list) else [y for x in v for y in flat_numbers(x)]


@pytest.mark.parametrize("name", FILES)
def test_integer_convention(name: str, parsed: dict) -> None:
    p = load(name, parsed)
    got = oracle(CASES[name], p)
    for x in p.xs:
        if got[x] is None:
            continue
        nums = flat_numbers(p.doc["expect"][x])
        if p.all_int_inputs:
            # Gallery rule: all-integer files have integral gradients, written as such.
            assert np.all(got[x] == np.round(got[x])), f"{x}: non-integral in an integer file"
            assert all(isinstance(v, int) for v in nums), f"{x}: write integers"
        else:
            assert all(isinstance(v, float) for v in nums), f"{x}: write floats"


@pytest.mark.parametrize("name", FILES)
def test_finite_differences(name: str, parsed: dict) -> None:
    p = load(name, parsed)
    c = CASES[name]
    base = forward(c, p.leaves)
    sd = seeds(p, base)
    got = oracle(c, p)
    checked = 0
    for x in dict.fromkeys(p.xs):
        hold = {s: base[s] for s in c.stop + c.hold if s != x}
        g = got[x] if got[x] is not None else np.zeros_like(base[x])
        skip = set(c.fd_skip.get(x, []))
        for k in range(base[x].size):
            if k in skip:
                continue
            plus, minus = base[x].copy(), base[x].copy()
            plus.flat[k] += FD_H
            minus.flat[k] -= FD_H
            fd = (objective(c, p, sd, {**hold, x: plus})
                  - objective(c, p, sd, {**hold, x: minus})) / (2 * FD_H)
            np.testing.assert_allclose(fd, g.flat[k], rtol=FD_RTOL, atol=FD_ATOL,
                                       err_msg=f"{x}[{k}]")
            checked += 1
    assert checked > 0
