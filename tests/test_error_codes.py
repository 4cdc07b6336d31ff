"""Error codes at the raise (issue 9): every ``GraphError`` the package
raises names its ``tfgrad check`` problem code where it is raised, and the
code is one check documents (``check.CODES``, the README's table). check
has no message table to fall back on, so a raise without a code, or with a
code nobody documented, fails here rather than in a user's CI.

The scan is of the source (AST), so it covers raises that no test reaches.
A *raiser* is ``GraphError``, a subclass of it, or a helper that passes its
own ``code`` parameter on to one (parse's and binding's ``_fail``, the op
rules' ``ctx.error``); every call of a raiser must give a literal code (or a
conditional between literals), and a new helper of that kind must be
listed here so that its calls are checked too."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import tfgrad
from tfgrad import check
from tfgrad.graph import GraphError

PACKAGE = Path(tfgrad.__file__).resolve().parent

# name -> index of the code among the positional arguments
RAISERS = {
    "GraphError": 2,
    "KernelError": 1,  # opdefs/linalg.py: a kernel's run-time error, no position
    "_fail": 2,  # parse.py and binding.py
    "error": 1,  # opdefs/spec.Ctx.error(message, code, at=None)
}


def _sources() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "egg-info" not in str(p))


def _callee(call: ast.Call) -> str | None:
    f = call.func
    if isinstance(f, ast.Name):
        return f.id
    if isinstance(f, ast.Attribute):
        return f.attr
    return None


def _code_arg(call: ast.Call, index: int) -> ast.expr | None:
    for k in call.keywords:
        if k.arg == "code":
            return k.value
    return call.args[index] if len(call.args) > index else None


def _literals(node: ast.expr) -> list[str] | None:
    """The codes a code argument can be, or None when it is not literal."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        a, b = _literals(node.body), _literals(node.orelse)
        return None if a is None or b is None else a + b
    return None


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}


def _enclosing_function(node: ast.AST, parents: dict) -> ast.FunctionDef | None:
    while node in parents:
        node = parents[node]
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return node
    return None


def _enclosing_class(node: ast.AST, parents: dict) -> str | None:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.ClassDef):
            return node.name
    return None


def scan() -> tuple[list[str], dict[str, int], set[str]]:
    """(problems, {code: number of raises}, names of the helpers that pass a
    ``code`` parameter on to a raiser)."""
    problems: list[str] = []
    used: dict[str, int] = {}
    forwarding: set[str] = set()
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        parents = _parents(tree)
        rel = path.relative_to(PACKAGE)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _callee(node)
            if isinstance(node.func, ast.Name) and name == "super":
                continue
            if name not in RAISERS and not (
                isinstance(node.func, ast.Attribute) and node.func.attr == "__init__"
                and isinstance(node.func.value, ast.Call) and _callee(node.func.value) == "super"
                and _enclosing_class(node, parents) in set(RAISERS) - {"GraphError"}
            ):
                continue  # super().__init__ of a subclass of GraphError is a raise
            if name == "error" and not (isinstance(node.func, ast.Attribute)
                                        and isinstance(node.func.value, ast.Name)
                                        and node.func.value.id in ("ctx", "self")):
                continue
            index = RAISERS.get(name, 2)
            where = f"{rel}:{node.lineno}"
            arg = _code_arg(node, index)
            if arg is None:
                problems.append(f"{where}: {ast.unparse(node)[:100]} gives no code")
                continue
            codes = _literals(arg)
            if codes is None:
                fn = _enclosing_function(node, parents)
                params = {a.arg for a in fn.args.args + fn.args.kwonlyargs} if fn else set()
                if isinstance(arg, ast.Name) and arg.id in params:
                    forwarding.add(fn.name)  # a wrapper: its own calls are checked
                    continue
                problems.append(f"{where}: the code {ast.unparse(arg)} is not a literal TGnnn")
                continue
            for c in codes:
                if c not in check.CODES:
                    problems.append(f"{where}: code {c!r} is not in check.CODES")
                used[c] = used.get(c, 0) + 1
    return problems, used, forwarding


def test_every_raise_gives_a_documented_code():
    problems, used, _ = scan()
    assert not problems, "\n".join(problems)
    # the scan found the raises (a broken scan would pass vacuously)
    assert sum(used.values()) > 250, used


def test_every_code_helper_is_a_known_raiser():
    # A new helper that forwards its ``code`` parameter would hide its
    # callers from the scan unless it is listed in RAISERS.
    _, _, forwarding = scan()
    assert forwarding <= set(RAISERS) | {"__init__"}, forwarding


def test_every_graph_error_subclass_is_a_known_raiser():
    for mod in pkgutil.walk_packages(tfgrad.__path__, "tfgrad."):
        if mod.name != "tfgrad.__main__":
            importlib.import_module(mod.name)

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    names = {c.__name__ for c in subclasses(GraphError) if c.__module__.startswith("tfgrad")}
    assert names <= set(RAISERS), names - set(RAISERS)


def test_the_codes_raised_are_the_codes_check_documents_for_graphs():
    # Every TG1xx/TG2xx code but the reserved TG100 is raised somewhere, and
    # only those: TG0xx are check's own, TG3xx/TG4xx come from its checks.
    _, used, _ = scan()
    documented = {c for c in check.CODES if c[2] in "12"} - {"TG100"}
    assert set(used) == documented


def test_a_graph_error_needs_a_code():
    with pytest.raises(TypeError):
        GraphError("no code", None)  # type: ignore[call-arg]


def test_check_reports_the_code_of_the_raise_not_of_the_words():
    # the words of a shape error, raised as a cycle: check believes the code
    e = GraphError("add: shapes (2,) and (3,) do not broadcast", None, "TG201")
    assert check.classify(e) == "TG201"


# ---------------------------------------------------------------- op records

def _rule_codes(fn, cache: dict, stack: tuple = ()) -> set[str]:
    """The codes ``fn`` raises through ``ctx.error``, ``GraphError`` or
    ``KernelError``, and through the functions of the package it calls by
    name (followed transitively): an over-approximation of what an op's
    shape and forward rules can raise."""
    import inspect
    import textwrap
    import types

    code = getattr(fn, "__code__", None)
    if code is None or not fn.__module__.startswith("tfgrad"):
        return set()
    if code in cache:
        return cache[code]
    if code in stack:
        return set()
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    scope = dict(fn.__globals__)
    scope.update(inspect.getclosurevars(fn).nonlocals)
    out: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _callee(node)
        if name in RAISERS and name != "_fail":
            arg = _code_arg(node, RAISERS[name])
            if arg is not None:
                out.update(_literals(arg) or ())
        elif isinstance(node.func, ast.Name) and isinstance(scope.get(name), types.FunctionType):
            out |= _rule_codes(scope[name], cache, stack + (code,))
    cache[code] = out
    return out


def test_every_op_lists_the_codes_its_rules_raise():
    # OpDef.errors is documented per op (docs/ops.md, `tfgrad schema`): it
    # must hold every code the op's shape and forward rules can raise.
    # ew_op's records are left out: their rules share one function for
    # every arity (a unary op never broadcasts), and ew_op sets errors by
    # arity itself.
    from tfgrad.opdefs import REGISTRY

    cache: dict = {}
    missing = {}
    for name, op in REGISTRY.items():
        if op.shape.__qualname__.startswith("ew_op."):
            continue
        raised = set()
        for fn in (op.shape, op.forward, op.n_outputs):
            if fn is not None:
                raised |= _rule_codes(fn, cache)
        if not raised <= set(op.errors):
            missing[name] = sorted(raised - set(op.errors))
    assert not missing, missing
    assert "TG203" in REGISTRY["reduce_sum"].errors  # axis out of range
