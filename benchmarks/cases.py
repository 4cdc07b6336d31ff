"""Benchmark cases: graph-file generators and hand-written NumPy references.

Input: a case name (``CASES``) or a family's parameters. Output: a
``Problem``: the graph as YAML text (``Problem.yaml()``), the values of its
variables and constants as float64 arrays (exactly the numbers the text
spells, so both sides see the same inputs), and ``Problem.reference(values)``,
a straightforward NumPy forward + backward pass of the same graph that
returns ``(loss, gradients)`` with one gradient (or ``None`` when no y
depends on that x) per entry of ``xs``, as ``tf.gradients`` would.

Nothing here imports tfgrad: the references are written from the graphs'
meaning (graph-format.md), one function per case family, so that they check
the engine rather than repeat it. Everything is deterministic (fixed seeds).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import partial
from typing import Callable

import numpy as np

Grads = list  # list[np.ndarray | None]
Reference = Callable[[dict], tuple[float, Grads]]

# Values are rounded to this many decimals so that the YAML stays compact
# (``0.044123``, not ``0.04412296483921776``); the arrays used by the
# reference are the rounded ones, i.e. exactly the numbers in the file.
DECIMALS = 6


# --------------------------------------------------------------------------
# The problem record and its YAML writer


@dataclass
class Problem:
    name: str
    description: str
    variables: dict[str, np.ndarray]
    constants: dict[str, np.ndarray]
    ops: list[tuple[str, str]]  # (name, YAML scalar or flow mapping), in order
    ys: list[str]
    xs: list[str]
    n_ops: int  # tfgrad ops, sub-ops of expression strings included
    ref: Reference = field(repr=False)
    grad_ys: list | None = None
    text: str | None = None  # verbatim YAML (the tutorial), else generated
    # values of at least this many numbers are written as {file: PROBLEM.NAME.npy}
    # beside the graph file (None: every value in the YAML)
    npy_min: int | None = None

    @property
    def values(self) -> dict[str, np.ndarray]:
        """Variables and constants by name: the reference's input."""
        return {**self.constants, **self.variables}

    @property
    def n_numbers(self) -> int:
        return sum(a.size for a in self.values.values())

    def reference(self, values: dict[str, np.ndarray] | None = None) -> tuple[float, Grads]:
        return self.ref(self.values if values is None else values)

    def yaml(self) -> str:
        if self.text is not None:
            return self.text
        out = [f"name: {self.name}\n", f"description: {self.description}\n"]
        for section, table in (("variables", self.variables), ("constants", self.constants)):
            if table:
                out.append(f"{section}:\n")
                for name, a in table.items():
                    if name in self.npy_files():
                        out.append(f"  {name}: {{file: {self.name}.{name}.npy}}\n")
                    else:
                        out.append(f"  {name}: {format_value(a, '    ')}\n")
        out.append("ops:\n")
        out.extend(f"  {name}: {expr}\n" for name, expr in self.ops)
        out.append(f"ys: [{', '.join(self.ys)}]\n")
        out.append("xs:\n")
        out.extend(f"  - {x}\n" for x in self.xs)
        return "".join(out)


    def npy_files(self) -> dict[str, np.ndarray]:
        """The values written to .npy files, by name (the file: PROBLEM.NAME.npy)."""
        if self.npy_min is None:
            return {}
        return {n: a for n, a in self.values.items() if a.size >= self.npy_min}

    def write(self, path) -> None:
        """The graph file at ``path`` and its .npy files beside it."""
        from pathlib import Path

        path = Path(path)
        path.write_text(self.yaml())
        for name, a in self.npy_files().items():
            np.save(path.parent / f"{self.name}.{name}.npy", a, allow_pickle=False)


def with_npy(build: Callable[[], Problem], min_size: int = 64) -> Problem:
    """The same problem with its values of ``min_size`` or more numbers in
    .npy files (``{file: PROBLEM.NAME.npy}``), as a user keeps weights."""
    p = build()
    p.name += "-npy"
    p.description += f"; values of {min_size}+ numbers in .npy files"
    p.npy_min = min_size
    return p


_BARE_EXPONENT = re.compile(r"(?<![\d.])(\d+)e")


def _numbers(seq: list) -> str:
    """``[a, b, c]`` with ``repr`` floats; ``1e-06`` is written ``1.0e-06``
    because YAML 1.1 resolvers read a float without a dot as a string."""
    s = "[" + ", ".join(map(repr, seq)) + "]"
    return _BARE_EXPONENT.sub(r"\1.0e", s) if "e" in s else s


def format_value(a: np.ndarray, indent: str) -> str:
    """A value in YAML: flow style, a large matrix as one row per line."""
    if a.ndim == 0:
        return _numbers([float(a)])[1:-1]
    if a.ndim == 1:
        return _numbers(a.tolist())
    rows = [_numbers(r) for r in a.tolist()]
    if a.size <= 16:
        return "[" + ", ".join(rows) + "]"
    return "".join(f"\n{indent}- {r}" for r in rows)


def _normal(rng: np.random.Generator, shape, scale: float) -> np.ndarray:
    return np.round(rng.normal(0.0, scale, size=shape), DECIMALS)


def _uniform(rng: np.random.Generator, shape, low: float, high: float) -> np.ndarray:
    return np.round(rng.uniform(low, high, size=shape), DECIMALS)


# --------------------------------------------------------------------------
# The tutorial graph (graph-format.md), without grad_ys


TUTORIAL_YAML = """\
name: tf.gradients tutorial
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
ys: [res2a, res2b]
xs: [w1, w2]
expect:
  w1: [[4, 5]]
  w2: [[11, 11]]
"""


def tutorial_reference(values: dict, grad_ys: list | None = None) -> tuple[float, Grads]:
    w1, w2 = values["w1"], values["w2"]
    c_a1, c_a2 = np.array([[2.0], [1.0]]), np.array([[3.0], [5.0]])
    c_p, c_q = np.array([[2.0], [4.0]]), np.array([[8.0], [6.0]])
    # forward
    res2a = w1 @ c_a1 + w2 @ c_a2
    p = w1 @ c_p
    q = w2 @ c_q
    res2b = p + q
    g_a, g_b = (np.ones_like(res2a), np.ones_like(res2b)) if grad_ys is None else grad_ys
    loss = float(np.sum(g_a * res2a) + np.sum(g_b * res2b))
    # backward
    dw1 = g_a @ c_a1.T + g_b @ c_p.T
    dw2 = g_a @ c_a2.T + g_b @ c_q.T
    return loss, [dw1, dw2]


def tutorial() -> Problem:
    return Problem(
        name="tutorial",
        description="the tutorial graph of graph-format.md, no grad_ys",
        variables={"w1": np.array([[1.0, 2.0]]), "w2": np.array([[3.0, 4.0]])},
        constants={},
        ops=[],
        ys=["res2a", "res2b"],
        xs=["w1", "w2"],
        n_ops=6,  # res2a: 2 matmuls + add; res2b: add; p, q: a matmul each
        ref=tutorial_reference,
        text=TUTORIAL_YAML,
    )


# --------------------------------------------------------------------------
# Matmul chain: h_k = h_{k-1} @ W_k, loss = reduce_sum(h_d)


def matmul_chain_reference(values: dict, depth: int, dense: bool = False) -> tuple[float, Grads]:
    ws = [values[f"W{k}"] for k in range(1, depth + 1)]
    hs = [values["X0"]]
    for w in ws:
        hs.append(hs[-1] @ w)
    if dense:
        r = values["R"]
        loss = float((hs[-1] * r).sum())
        g = r
    else:
        loss = float(hs[-1].sum())
        g = np.ones_like(hs[-1])
    dws = [None] * depth
    for k in range(depth - 1, -1, -1):
        dws[k] = hs[k].T @ g
        g = g @ ws[k].T
    return loss, [g, *dws]


def matmul_chain(n: int, depth: int, seed: int = 1, dense: bool = False) -> Problem:
    """``dense``: the loss is ``reduce_sum(h_d * R)`` for a random constant R,
    so the cotangent entering the chain is a full matrix. With plain
    ``reduce_sum`` it is rank one, which tfgrad keeps as one row through the
    backward products (the NumPy reference multiplies full matrices)."""
    rng = np.random.default_rng(seed)
    variables = {"X0": _normal(rng, (n, n), 1.0)}
    for k in range(1, depth + 1):
        variables[f"W{k}"] = _normal(rng, (n, n), 1.0 / np.sqrt(n))
    constants = {"R": _normal(rng, (n, n), 1.0)} if dense else {}
    ops = [(f"h{k}", f"matmul({'X0' if k == 1 else f'h{k - 1}'}, W{k})") for k in range(1, depth + 1)]
    ops.append(("loss", f"reduce_sum(h{depth} * R)" if dense else f"reduce_sum(h{depth})"))
    return Problem(
        name=f"matmul-{n}x{depth}" + ("-dense" if dense else ""),
        description=f"matmul chain, {n}x{n}, {depth} deep, loss "
                    + ("reduce_sum(h * R), R a random constant" if dense else "reduce_sum"),
        variables=variables,
        constants=constants,
        ops=ops,
        ys=["loss"],
        xs=["X0"] + [f"W{k}" for k in range(1, depth + 1)],
        n_ops=depth + 1 + dense,
        ref=partial(matmul_chain_reference, depth=depth, dense=dense),
    )


# --------------------------------------------------------------------------
# MLP: h_k = tanh(h_{k-1} @ W_k + b_k), loss = reduce_mean(square(h_d - T))


def mlp_reference(values: dict, depth: int) -> tuple[float, Grads]:
    x, t = values["X"], values["T"]
    ws = [values[f"W{k}"] for k in range(1, depth + 1)]
    bs = [values[f"b{k}"] for k in range(1, depth + 1)]
    hs = [x]
    for w, b in zip(ws, bs):
        hs.append(np.tanh(hs[-1] @ w + b))
    diff = hs[-1] - t
    loss = float(np.mean(diff * diff))
    g = 2.0 * diff / diff.size
    grads: list = [None] * (2 * depth)
    for k in range(depth - 1, -1, -1):
        gz = g * (1.0 - hs[k + 1] * hs[k + 1])
        grads[2 * k] = hs[k].T @ gz
        grads[2 * k + 1] = gz.sum(axis=0)
        g = gz @ ws[k].T
    return loss, grads


def mlp(depth: int, batch: int = 32, width: int = 256, seed: int = 2) -> Problem:
    rng = np.random.default_rng(seed)
    constants = {
        "X": _normal(rng, (batch, width), 1.0),
        "T": _uniform(rng, (batch, width), -0.5, 0.5),
    }
    variables: dict[str, np.ndarray] = {}
    ops: list[tuple[str, str]] = []
    for k in range(1, depth + 1):
        variables[f"W{k}"] = _normal(rng, (width, width), 1.0 / np.sqrt(width))
        variables[f"b{k}"] = _normal(rng, (width,), 0.1)
        prev = "X" if k == 1 else f"h{k - 1}"
        ops.append((f"z{k}", f"{{op: matmul, args: [{prev}, W{k}]}}"))
        ops.append((f"a{k}", f"z{k} + b{k}"))
        ops.append((f"h{k}", f"tanh(a{k})"))
    ops.append(("diff", f"h{depth} - T"))
    ops.append(("sq", "square(diff)"))
    ops.append(("loss", "reduce_mean(sq)"))
    return Problem(
        name=f"mlp-{depth}",
        description=f"MLP, batch {batch}, width {width}, {depth} tanh layers, mean-square loss",
        variables=variables,
        constants=constants,
        ops=ops,
        ys=["loss"],
        xs=[x for k in range(1, depth + 1) for x in (f"W{k}", f"b{k}")],
        n_ops=3 * depth + 3,
        ref=partial(mlp_reference, depth=depth),
    )


# --------------------------------------------------------------------------
# Thin chain: a 4-vector through tanh, * a, + b, ..., loss = reduce_sum


_CHAIN_CYCLE = ("tanh", "multiply", "add")


def thin_chain_reference(values: dict, length: int) -> tuple[float, Grads]:
    a, b = values["a"], values["b"]
    hs = [values["x"]]
    for k in range(length):
        kind = _CHAIN_CYCLE[k % 3]
        h = hs[-1]
        if kind == "tanh":
            hs.append(np.tanh(h))
        elif kind == "multiply":
            hs.append(h * a)
        else:
            hs.append(h + b)
    loss = float(hs[-1].sum())
    g = np.ones_like(hs[-1])
    for k in range(length - 1, -1, -1):
        kind = _CHAIN_CYCLE[k % 3]
        if kind == "tanh":
            g = g * (1.0 - hs[k + 1] * hs[k + 1])
        elif kind == "multiply":
            g = g * a
        # add: the gradient passes through unchanged
    return loss, [g]


def thin_chain(n_ops: int, seed: int = 3) -> Problem:
    """``n_ops - 1`` elementwise ops on a 4-vector, then ``reduce_sum``.

    ``a`` is close to 1 and ``b`` small, so the values settle near a fixed
    point where ``a * tanh'`` is close to 1 and the gradient, though small
    after thousands of ops, stays far from underflow.
    """
    rng = np.random.default_rng(seed)
    length = n_ops - 1
    variables = {"x": _normal(rng, (4,), 1.0)}
    constants = {
        "a": np.array([1.0, 1.001, 0.999, 1.002]),
        "b": np.round(rng.uniform(-1e-3, 1e-3, size=4), DECIMALS),
    }
    ops = []
    for k in range(length):
        prev = "x" if k == 0 else f"h{k}"
        kind = _CHAIN_CYCLE[k % 3]
        expr = {"tanh": f"tanh({prev})", "multiply": f"{prev} * a", "add": f"{prev} + b"}[kind]
        ops.append((f"h{k + 1}", expr))
    ops.append(("loss", f"reduce_sum(h{length})"))
    return Problem(
        name=f"chain-{n_ops}",
        description=f"thin chain, {n_ops} ops on a 4-vector (tanh, * a, + b), loss reduce_sum",
        variables=variables,
        constants=constants,
        ops=ops,
        ys=["loss"],
        xs=["x"],
        n_ops=n_ops,
        ref=partial(thin_chain_reference, length=length),
    )


# --------------------------------------------------------------------------
# Higher order: the second derivative of the thin chain (a gradients op
# inside the graph, differentiated again), and the Hessian of a linear
# model's loss (a hessians op, differentiated again with respect to X).

def chain2_reference(values: dict, length: int) -> tuple[float, Grads]:
    """f''(x) per component of the thin chain (forward mode by hand:
    value, first and second derivative through tanh, * a, + b)."""
    a, b = values["a"], values["b"]
    h = values["x"]
    d1 = np.ones_like(h)
    d2 = np.zeros_like(h)
    for k in range(length):
        kind = _CHAIN_CYCLE[k % 3]
        if kind == "tanh":
            t = np.tanh(h)
            s = 1.0 - t * t
            d1, d2 = s * d1, s * d2 - 2.0 * t * s * d1 * d1
            h = t
        elif kind == "multiply":
            h, d1, d2 = h * a, d1 * a, d2 * a
        else:
            h = h + b
    return float(d1.sum()), [d2]


def chain2(n_ops: int, seed: int = 3) -> Problem:
    """The thin chain of ``n_ops`` ops, ``g: gradients(loss, x)`` and
    ``s: reduce_sum(g)``; the gradient of s is f'' per component: the second
    sweep runs over the first one's nodes."""
    p = thin_chain(n_ops, seed)
    length = n_ops - 1
    ops = p.ops + [("g", "gradients(loss, x)"), ("s", "reduce_sum(g)")]
    return Problem(
        name=f"chain2-{n_ops}",
        description=f"second derivative of a thin chain of {n_ops} ops (gradients(loss, x), "
                    "then the gradient of its sum)",
        variables=p.variables, constants=p.constants, ops=ops, ys=["s"], xs=["x"],
        n_ops=n_ops + 2, ref=partial(chain2_reference, length=length),
    )


def hessian_lm_reference(values: dict) -> tuple[float, Grads]:
    X, V = values["X"], values["V"]
    n, k = X.shape
    H = 2.0 / n * X.T @ X
    V2 = V.reshape(k, k)
    return float(np.sum(H * V2)), [2.0 / n * X @ (V2 + V2.T)]


def hessian_lm(n: int = 100, k: int = 10, seed: int = 5) -> Problem:
    """The Hessian of a linear model's mean-square loss with respect to its
    weights (``hessians``: one sweep per weight), weighted by a random V and
    differentiated again with respect to the data X: 2/n·X(V + Vᵀ)."""
    rng = np.random.default_rng(seed)
    variables = {"w": _normal(rng, (k, 1), 1.0)}
    constants = {"X": _normal(rng, (n, k), 1.0), "t": _normal(rng, (n, 1), 1.0),
                 "V": _normal(rng, (k, 1, k, 1), 1.0)}
    ops = [("loss", "reduce_mean(square(X @ w - t))"), ("h", "hessians(loss, w)"),
           ("q", "reduce_sum(h * V)")]
    return Problem(
        name=f"hessian-{n}x{k}", description=f"hessians of a {n}x{k} linear model's loss, "
        "weighted and differentiated again w.r.t. X",
        variables=variables, constants=constants, ops=ops, ys=["q"], xs=["X"], n_ops=9,
        ref=hessian_lm_reference,
    )


# --------------------------------------------------------------------------
# Fan graph: each line combines 2-3 of the previous ~20 lines (shared
# subexpressions, fan-out and fan-in); every line's value lies in (-1, 1).

# kind -> (expression template, number of args, number of tfgrad ops)
FAN_KINDS = {
    "tanh_fma": ("tanh({0} * {1} + {2})", 3, 3),
    "tanh_sub": ("tanh({0} - {1})", 2, 2),
    "gate": ("sigmoid({0}) * {1}", 2, 2),
    "tanh_sum3": ("tanh(add_n({0}, {1}, {2}))", 3, 2),
}
FAN_INPUTS = 8
FAN_WINDOW = 20
FAN_OUTPUTS = 10  # loss = reduce_sum(add_n(last FAN_OUTPUTS lines))


def _fan_structure(n_ops: int, seed: int) -> list[tuple[str, str, tuple[str, ...]]]:
    """The lines ``(name, kind, args)``; inputs are ``x0..x7``."""
    rng = np.random.default_rng(seed)
    names = [f"x{i}" for i in range(FAN_INPUTS)]
    kinds = list(FAN_KINDS)
    lines = []
    ops = 2  # add_n + reduce_sum of the loss
    while ops < n_ops:
        budget = n_ops - ops
        # never leave a budget of 1 op, which no kind fits
        choices = [k for k in kinds if FAN_KINDS[k][2] in (budget, *range(budget - 1))]
        kind = choices[rng.integers(len(choices))]
        _, n_args, n_k = FAN_KINDS[kind]
        window = names[-FAN_WINDOW:]
        picks = rng.choice(len(window), size=n_args, replace=False)
        name = f"v{len(lines)}"
        lines.append((name, kind, tuple(window[i] for i in picks)))
        names.append(name)
        ops += n_k
    return lines


def fan_reference(values: dict, lines: list, n_out: int) -> tuple[float, Grads]:
    val = {f"x{i}": values[f"x{i}"] for i in range(FAN_INPUTS)}
    saved = {}  # what each line's backward needs
    for name, kind, args in lines:
        v = [val[a] for a in args]
        if kind == "tanh_fma":
            out = np.tanh(v[0] * v[1] + v[2])
        elif kind == "tanh_sub":
            out = np.tanh(v[0] - v[1])
        elif kind == "gate":
            s = 1.0 / (1.0 + np.exp(-v[0]))
            saved[name] = s
            out = s * v[1]
        else:  # tanh_sum3
            out = np.tanh(v[0] + v[1] + v[2])
        val[name] = out
    outputs = [name for name, _, _ in lines[-n_out:]]
    total = val[outputs[0]].copy()
    for name in outputs[1:]:
        total = total + val[name]
    loss = float(total.sum())

    grad: dict[str, np.ndarray] = {name: np.ones_like(total) for name in outputs}

    def acc(name: str, g: np.ndarray) -> None:
        grad[name] = grad[name] + g if name in grad else g

    for name, kind, args in reversed(lines):
        g = grad.get(name)
        if g is None:  # no y depends on this line
            continue
        v = [val[a] for a in args]
        if kind == "gate":
            s = saved[name]
            acc(args[0], g * v[1] * s * (1.0 - s))
            acc(args[1], g * s)
            continue
        gz = g * (1.0 - val[name] * val[name])
        if kind == "tanh_fma":
            acc(args[0], gz * v[1])
            acc(args[1], gz * v[0])
            acc(args[2], gz)
        elif kind == "tanh_sub":
            acc(args[0], gz)
            acc(args[1], -gz)
        else:
            for a in args:
                acc(a, gz)
    return loss, [grad.get(f"x{i}") for i in range(FAN_INPUTS)]


def fan(n_ops: int, seed: int = 4) -> Problem:
    rng = np.random.default_rng(seed + 1000)
    lines = _fan_structure(n_ops, seed)
    variables = {f"x{i}": _normal(rng, (4,), 1.0) for i in range(FAN_INPUTS)}
    ops = [(name, FAN_KINDS[kind][0].format(*args)) for name, kind, args in lines]
    outputs = [name for name, _, _ in lines[-FAN_OUTPUTS:]]
    ops.append(("total", f"add_n({', '.join(outputs)})"))
    ops.append(("loss", "reduce_sum(total)"))
    return Problem(
        name=f"fan-{n_ops}",
        description=(
            f"{n_ops} ops, each line uses 2-3 of the previous {FAN_WINDOW} "
            f"(shared subexpressions), {FAN_INPUTS} 4-vector inputs"
        ),
        variables=variables,
        constants={},
        ops=ops,
        ys=["loss"],
        xs=[f"x{i}" for i in range(FAN_INPUTS)],
        n_ops=2 + sum(FAN_KINDS[kind][2] for _, kind, _ in lines),
        ref=partial(fan_reference, lines=lines, n_out=FAN_OUTPUTS),
    )


# --------------------------------------------------------------------------
# A small CNN (issue 12): 8 28x28x1 images, conv 3x3x16 SAME + relu, 2x2 max
# pool, conv 3x3x32 SAME + relu, 2x2 max pool, reshape, dense 10, softmax
# cross-entropy. The reference does the convolutions as im2col matmuls.


def _im2col3(x: np.ndarray) -> np.ndarray:
    """(N, H, W, C) -> (N*H*W, 9*C): the 3x3 SAME windows, (kh, kw, c) order."""
    n, h, w, c = x.shape
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (3, 3), axis=(1, 2))  # N,H,W,C,3,3
    return win.transpose(0, 1, 2, 4, 5, 3).reshape(n * h * w, 9 * c)


def _col2im3(dcols: np.ndarray, shape: tuple) -> np.ndarray:
    n, h, w, c = shape
    d = dcols.reshape(n, h, w, 3, 3, c)
    dxp = np.zeros((n, h + 2, w + 2, c))
    for i in range(3):
        for j in range(3):
            dxp[:, i:i + h, j:j + w, :] += d[:, :, :, i, j, :]
    return dxp[:, 1:-1, 1:-1, :]


def _pool2(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """2x2 stride-2 max pool: (output, index of the first max in each window)."""
    n, h, w, c = x.shape
    win = x.reshape(n, h // 2, 2, w // 2, 2, c).transpose(0, 1, 3, 5, 2, 4).reshape(
        n, h // 2, w // 2, c, 4)
    idx = win.argmax(axis=-1)
    return np.take_along_axis(win, idx[..., None], -1)[..., 0], idx


def _unpool2(g: np.ndarray, idx: np.ndarray) -> np.ndarray:
    n, h2, w2, c = g.shape
    win = np.zeros((n, h2, w2, c, 4))
    np.put_along_axis(win, idx[..., None], g[..., None], -1)
    return win.reshape(n, h2, w2, c, 2, 2).transpose(0, 1, 4, 2, 5, 3).reshape(
        n, 2 * h2, 2 * w2, c)


def cnn_reference(values: dict) -> tuple[float, Grads]:
    x, y = values["X"], values["Y"]
    w1, b1, w2, b2, w3, b3 = (values[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
    n = x.shape[0]
    cols1 = _im2col3(x)
    a1 = np.maximum(cols1 @ w1.reshape(-1, w1.shape[-1]) + b1, 0.0).reshape(n, 28, 28, -1)
    p1, i1 = _pool2(a1)
    cols2 = _im2col3(p1)
    w2m = w2.reshape(-1, w2.shape[-1])
    a2 = np.maximum(cols2 @ w2m + b2, 0.0).reshape(n, 14, 14, -1)
    p2, i2 = _pool2(a2)
    f = p2.reshape(n, -1)
    z = f @ w3 + b3
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    sm = e / e.sum(axis=1, keepdims=True)
    loss = float(np.mean(-(y * (z - np.log(e.sum(axis=1, keepdims=True)))).sum(axis=1)))
    dz = (sm * y.sum(axis=1, keepdims=True) - y) / n
    gw3, gb3 = f.T @ dz, dz.sum(axis=0)
    dp2 = (dz @ w3.T).reshape(p2.shape)
    da2 = _unpool2(dp2, i2) * (a2 > 0)
    da2m = da2.reshape(-1, da2.shape[-1])
    gw2, gb2 = (cols2.T @ da2m).reshape(w2.shape), da2m.sum(axis=0)
    dp1 = _col2im3(da2m @ w2m.T, p1.shape)
    da1 = (_unpool2(dp1, i1) * (a1 > 0)).reshape(-1, a1.shape[-1])
    gw1, gb1 = (cols1.T @ da1).reshape(w1.shape), da1.sum(axis=0)
    return loss, [gw1, gb1, gw2, gb2, gw3, gb3]


def cnn(batch: int = 8, seed: int = 6) -> Problem:
    rng = np.random.default_rng(seed)
    labels = rng.integers(10, size=batch)
    constants = {"X": _uniform(rng, (batch, 28, 28, 1), 0.0, 1.0),
                 "Y": np.eye(10)[labels]}
    variables = {
        "W1": _normal(rng, (3, 3, 1, 16), 1.0 / 3.0), "b1": _normal(rng, (16,), 0.1),
        "W2": _normal(rng, (3, 3, 16, 32), 1.0 / 12.0), "b2": _normal(rng, (32,), 0.1),
        "W3": _normal(rng, (7 * 7 * 32, 10), 1.0 / 40.0), "b3": _normal(rng, (10,), 0.1),
    }
    ops = [
        ("c1", "{op: conv2d, args: [X, W1], strides: 1, padding: SAME}"),
        ("a1", "relu(c1 + b1)"),
        ("p1", "{op: max_pool2d, args: [a1], ksize: 2, strides: 2, padding: VALID}"),
        ("c2", "{op: conv2d, args: [p1, W2], strides: 1, padding: SAME}"),
        ("a2", "relu(c2 + b2)"),
        ("p2", "{op: max_pool2d, args: [a2], ksize: 2, strides: 2, padding: VALID}"),
        ("f", f"reshape(p2, [{batch}, {7 * 7 * 32}])"),
        ("logits", "matmul(f, W3) + b3"),
        ("xent", "{op: softmax_cross_entropy_with_logits, labels: Y, logits: logits}"),
        ("loss", "reduce_mean(xent)"),
    ]
    return Problem(
        name="cnn",
        description=(f"CNN, batch {batch} of 28x28x1, conv 3x3x16 SAME + relu, max pool 2x2, "
                     "conv 3x3x32 SAME + relu, max pool 2x2, dense 10, softmax cross-entropy"),
        variables=variables,
        constants=constants,
        ops=ops,
        ys=["loss"],
        xs=["W1", "b1", "W2", "b2", "W3", "b3"],
        n_ops=15,
        ref=cnn_reference,
    )


# --------------------------------------------------------------------------
# The benchmark's cases


@dataclass(frozen=True)
class Case:
    name: str
    family: str
    build: Callable[[], Problem]
    quick: bool = False  # part of --quick
    big: bool = False  # one timed run by default
    rank_n: bool = False  # derive/evaluate with the rank-N engine (engine.derive/compute)
    files: bool = False  # values in .npy files beside the graph file (Problem.write)


def _cases() -> dict[str, Case]:
    cs = [
        Case("tutorial", "tutorial", tutorial, quick=True),
        Case("matmul-64x16", "matmul", partial(matmul_chain, 64, 16), quick=True),
        # no target: the same chain without the rank-one cotangent
        Case("matmul-64x16-dense", "matmul-dense", partial(matmul_chain, 64, 16, dense=True),
             quick=True),
        Case("matmul-256x32", "matmul", partial(matmul_chain, 256, 32), big=True),
        Case("matmul-256x32-dense", "matmul-dense", partial(matmul_chain, 256, 32, dense=True),
             big=True),
        Case("matmul-512x64", "matmul", partial(matmul_chain, 512, 64), big=True),
        Case("mlp-8", "mlp", partial(mlp, 8), quick=True),
        Case("mlp-32", "mlp", partial(mlp, 32), big=True),
        Case("mlp-100", "mlp", partial(mlp, 100), big=True),
        # the weight-heavy graphs with their weights in .npy files (issues 13, 15)
        Case("matmul-64x16-npy", "matmul-npy", partial(with_npy, partial(matmul_chain, 64, 16)),
             quick=True, files=True),
        Case("mlp-8-npy", "mlp-npy", partial(with_npy, partial(mlp, 8)), quick=True, files=True),
        Case("matmul-256x32-npy", "matmul-npy", partial(with_npy, partial(matmul_chain, 256, 32)),
             big=True, files=True),
        Case("mlp-32-npy", "mlp-npy", partial(with_npy, partial(mlp, 32)), big=True, files=True),
        Case("chain-1000", "chain", partial(thin_chain, 1000), quick=True),
        Case("chain-10000", "chain", partial(thin_chain, 10000), big=True),
        Case("chain2-1000", "chain2", partial(chain2, 1000), quick=True, rank_n=True),
        Case("chain2-4000", "chain2", partial(chain2, 4000), rank_n=True),
        Case("hessian-100x10", "hessian", partial(hessian_lm, 100, 10), quick=True, rank_n=True),
        Case("fan-500", "fan", partial(fan, 500), quick=True),
        Case("fan-1000", "fan", partial(fan, 1000)),
        Case("fan-2000", "fan", partial(fan, 2000)),
        Case("cnn", "cnn", cnn, quick=True),
    ]
    return {c.name: c for c in cs}


CASES: dict[str, Case] = _cases()
