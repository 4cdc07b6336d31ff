#!/usr/bin/env python3
"""Write the edges/ family: small random graphs that probe TF's edge semantics.

    python3 tests/tfref/gen_edges.py [--count 300] [--seed 20240] [--out DIR]

Deterministic (Python's random.Random with a fixed seed; no NumPy needed):
the same arguments always write the same files, edge-000.yaml ... Each graph
has one to three variables of rank 0-2 (every dimension 1-3) whose values
are drawn from {-1, 0, 0.5, 1, 2}, then a chain of one to four ops drawn
from the contract's format-1 and format-2 elementwise, reduction and
neural-network ops that accept such inputs, so that zeros, negative numbers,
ties and non-finite intermediates occur often. grad_ys is sometimes given,
with zeros and, through a named op dividing by zero, infinities. Each file's
description lists the ops it uses. Then run make_refs.py on the directory.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
VALUES = (-1.0, 0.0, 0.5, 1.0, 2.0)

UNARY = [
    "negative", "identity", "square", "sqrt", "exp", "log", "tanh", "sigmoid",
    "abs", "relu", "stop_gradient", "sign", "rsqrt", "reciprocal", "expm1",
    "log1p", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh",
    "asinh", "acosh", "atanh", "erf", "erfc", "floor", "ceil", "round",
    "softplus", "softsign", "relu6", "elu", "selu", "silu", "leaky_relu",
    "gelu",
]
BINARY = [
    "add", "subtract", "multiply", "divide", "maximum", "minimum", "pow",
    "squared_difference", "atan2", "divide_no_nan", "multiply_no_nan",
]
OPERATORS = {"add": "+", "subtract": "-", "multiply": "*", "divide": "/", "pow": "**"}
REDUCE = [
    "reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "reduce_prod",
    "reduce_logsumexp", "reduce_variance", "reduce_std", "norm",
]
RANKED = ["softmax", "log_softmax", "cumsum", "cumprod", "l2_normalize", "reverse",
          "softmax_cross_entropy_with_logits"]
OTHER = ["where", "clip_by_value", "add_n", "l2_loss", "sigmoid_cross_entropy_with_logits"]
RANK2 = ["matmul", "transpose"]
CMP = ["<", "<=", ">", ">=", "==", "!="]


def fmt(v) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(fmt(x) for x in v) + "]"
    if isinstance(v, bool):
        return "true" if v else "false"
    return repr(float(v))


class Gen:
    def __init__(self, rng: random.Random, index: int):
        self.r = rng
        self.index = index
        self.variables: dict[str, tuple[list, tuple]] = {}
        self.constants: dict[str, list] = {}
        self.ops: dict[str, str] = {}
        self.shapes: dict[str, tuple] = {}
        self.used: list[str] = []

    # values ------------------------------------------------------------
    def value(self, shape, choices=VALUES):
        if not shape:
            return self.r.choice(choices)
        return [self.value(shape[1:], choices) for _ in range(shape[0])]

    def new_var(self, shape) -> str:
        name = "xyzuvw"[len(self.variables)] if len(self.variables) < 6 else f"v{len(self.variables)}"
        self.variables[name] = self.value(shape)
        self.shapes[name] = tuple(shape)
        return name

    def new_const(self, shape, choices=VALUES) -> str:
        name = f"c{len(self.constants)}"
        self.constants[name] = self.value(shape, choices)
        self.shapes[name] = tuple(shape)
        return name

    def rand_shape(self, rank=None):
        rank = self.r.choice([0, 1, 1, 2, 2]) if rank is None else rank
        return tuple(self.r.randint(1, 3) for _ in range(rank))

    def num(self):
        return fmt(self.r.choice(VALUES))

    # one op ------------------------------------------------------------
    def second_operand(self, shape):
        """A name or literal broadcastable against shape."""
        k = self.r.random()
        if k < 0.35:
            same = [n for n in self.variables if self.shapes[n] == shape]
            if same and self.r.random() < 0.5:
                return self.r.choice(same), shape
            return self.new_var(shape), shape
        if k < 0.55 and shape:
            bshape = self.r.choice([(), shape[-1:], shape])
            return self.new_var(bshape), bshape
        if k < 0.8:
            return self.num(), ()
        return None, shape  # the operand itself (x op x)

    def step(self, cur: str) -> tuple[str, tuple]:
        shape = self.shapes[cur]
        rank = len(shape)
        pool = UNARY * 1 + BINARY * 2 + REDUCE + OTHER
        if rank >= 1:
            pool += RANKED
        if rank == 2:
            pool += RANK2 * 2
        op = self.r.choice(pool)
        self.used.append(op)
        if op in UNARY:
            if op == "leaky_relu":
                return f"leaky_relu({cur}, alpha={self.r.choice(['0.2', '0.5', '1.0'])})", shape
            if op == "gelu":
                return f"gelu({cur}, approximate={self.r.choice(['true', 'false'])})", shape
            return f"{op}({cur})", shape
        if op in BINARY:
            other, oshape = self.second_operand(shape)
            other = other or cur
            a, b = (cur, other) if self.r.random() < 0.7 else (other, cur)
            out = _broadcast(shape, oshape)
            if op in OPERATORS and self.r.random() < 0.4:
                a, b = (f"({t})" if t.startswith("-") else t for t in (a, b))
                return f"{a} {OPERATORS[op]} {b}", out
            if a[0] in "-0123456789" and b[0] in "-0123456789":
                b = cur
            return f"{op}({a}, {b})", out
        if op in REDUCE:
            axis, out = self.axis_arg(shape)
            if op == "norm":
                ordv = self.r.choice(["", "", ", ord=1", ", ord=2", ", ord=inf"]) if axis is not None or rank <= 1 else ""
                if ", ord=2" == ordv and rank == 2 and axis is None:
                    ordv = ""
                return f"norm({cur}{ordv}{self.axis_text(axis, out)})", out[1]
            return f"{op}({cur}{self.axis_text(axis, out)})", out[1]
        if op in ("softmax", "log_softmax"):
            ax = self.r.randrange(-rank, rank)
            return f"{op}({cur}, axis={ax})", shape
        if op in ("cumsum", "cumprod"):
            ax = self.r.randrange(rank)
            ex = self.r.choice(["false", "true"])
            rev = self.r.choice(["false", "true"])
            return f"{op}({cur}, axis={ax}, exclusive={ex}, reverse={rev})", shape
        if op == "l2_normalize":
            ax = self.r.choice([None] + list(range(rank)))
            return (f"l2_normalize({cur})" if ax is None else f"l2_normalize({cur}, axis={ax})"), shape
        if op == "reverse":
            return f"reverse({cur}, axis=[{self.r.randrange(rank)}])", shape
        if op == "softmax_cross_entropy_with_logits":
            lab = self.new_const(shape, (0.0, 0.5, 1.0))
            return f"softmax_cross_entropy_with_logits(labels={lab}, logits={cur})", shape[:-1]
        if op == "sigmoid_cross_entropy_with_logits":
            lab = self.new_const(shape, (0.0, 0.5, 1.0))
            return f"sigmoid_cross_entropy_with_logits(labels={lab}, logits={cur})", shape
        if op == "where":
            c = self.r.choice(CMP)
            t = self.num()
            other = self.r.choice(["", "var"] + UNARY[:12])
            if other == "var":
                alt = self.new_var(shape)
            elif other == "":
                alt = self.num()
            else:
                alt = f"{other}({cur})"
            a, b = (cur, alt) if self.r.random() < 0.5 else (alt, cur)
            if a[0] in "-0123456789" and b[0] in "-0123456789":
                b = cur
            return f"where({cur} {c} {t}, {a}, {b})", shape
        if op == "clip_by_value":
            lo, hi = sorted([self.r.choice(VALUES), self.r.choice(VALUES)])
            return f"clip_by_value({cur}, {fmt(lo)}, {fmt(hi)})", shape
        if op == "add_n":
            other = self.new_var(shape) if self.r.random() < 0.5 else cur
            if self.r.random() < 0.5:
                return f"add_n({cur}, {other}, {cur})", shape
            return f"add_n([{other}, {cur}])", shape
        if op == "l2_loss":
            return f"l2_loss({cur})", ()
        if op == "matmul":
            k = self.r.randint(1, 3)
            if self.r.random() < 0.5:
                w = self.new_var((shape[1], k))
                return f"matmul({cur}, {w})", (shape[0], k)
            w = self.new_var((shape[0], k))
            return f"matmul({cur}, {w}, transpose_a=true)", (shape[1], k)
        if op == "transpose":
            return f"transpose({cur})", (shape[1], shape[0])
        raise AssertionError(op)

    def axis_arg(self, shape):
        rank = len(shape)
        keep = self.r.random() < 0.3
        if rank == 0 or self.r.random() < 0.4:
            return None, (keep, tuple(1 for _ in shape) if keep else ())
        ax = self.r.randrange(-rank, rank)
        a = ax % rank
        out = tuple(1 if i == a else d for i, d in enumerate(shape)) if keep else \
            tuple(d for i, d in enumerate(shape) if i != a)
        return ax, (keep, out)

    @staticmethod
    def axis_text(axis, out):
        keep = out[0]
        s = "" if axis is None else f", axis={axis}"
        return s + (", keepdims=true" if keep else "")

    # one graph ---------------------------------------------------------
    def graph(self) -> str:
        x = self.new_var(self.rand_shape())
        cur = x
        n_ops = self.r.randint(1, 4)
        intermediates = []
        for i in range(n_ops):
            expr, shape = self.step(cur)
            name = f"n{i + 1}"
            self.ops[name] = expr
            self.shapes[name] = tuple(shape)
            intermediates.append(name)
            cur = name
        y = cur
        xs = list(self.variables)
        if len(intermediates) > 1 and self.r.random() < 0.3:
            xs.append(self.r.choice(intermediates[:-1]))
        extra = []
        stop = None
        if len(intermediates) > 1 and self.r.random() < 0.1:
            stop = self.r.choice(intermediates[:-1])
        unconnected = None
        if self.r.random() < 0.1:
            unconnected = "zero"
            xs.append(self.new_var(self.rand_shape()))
        grad_ys = None
        yshape = self.shapes[y]
        k = self.r.random()
        if k < 0.25:
            seed_value = self.value(yshape)
            grad_ys = [fmt(seed_value)]
            if 0.0 in _flat(seed_value):
                extra.append("zeros")
        elif k < 0.4:
            # a seed with infinities: numerator / denominator with zeros
            num = self.new_const(yshape, (-1.0, 1.0, 2.0))
            den = self.new_const(yshape, (0.0, 1.0, 0.5))
            self.constants[den] = _with_a_zero(self.constants[den], self.r)
            self.ops["seed"] = f"{num} / {den}"
            self.shapes["seed"] = yshape
            grad_ys = ["seed"]
            extra.append("inf")
        used = sorted(set(self.used))
        desc = (f"Edge graph {self.index:03d} (generated by gen_edges.py): ops "
                + ", ".join(used)
                + ("; grad_ys" + (f" with {extra[0]}" if extra else "") if grad_ys else "")
                + (f"; stop_gradients {stop}" if stop else "")
                + ("; unconnected_gradients zero" if unconnected else "")
                + ".")
        lines = [f"description: {json.dumps(desc)}", "variables:"]
        for n, v in self.variables.items():
            lines.append(f"  {n}: {fmt(v)}")
        if self.constants:
            lines.append("constants:")
            for n, v in self.constants.items():
                lines.append(f"  {n}: {fmt(v)}")
        lines.append("ops:")
        for n, e in self.ops.items():
            lines.append(f"  {n}: {json.dumps(e)}")
        lines.append(f"ys: {y}")
        lines.append(f"xs: [{', '.join(xs)}]")
        if grad_ys:
            lines.append(f"grad_ys: [{grad_ys[0]}]")
        if stop:
            lines.append(f"stop_gradients: [{stop}]")
        if unconnected:
            lines.append(f"unconnected_gradients: {unconnected}")
        return "\n".join(lines) + "\n"


def _flat(v):
    return [e for x in v for e in _flat(x)] if isinstance(v, list) else [v]


def _with_a_zero(v, rng):
    """v (a nested list or a number) with one element, chosen by rng, set to 0."""
    if not isinstance(v, list):
        return 0.0
    i = rng.randrange(len(v))
    return [(_with_a_zero(x, rng) if j == i else x) for j, x in enumerate(v)]


def _broadcast(a, b):
    a, b = tuple(a), tuple(b)
    n = max(len(a), len(b))
    a = (1,) * (n - len(a)) + a
    b = (1,) * (n - len(b)) + b
    return tuple(max(x, y) for x, y in zip(a, b))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--seed", type=int, default=20240)
    ap.add_argument("--out", type=Path, default=HERE / "graphs" / "edges")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    written = set()
    for i in range(args.count):
        text = Gen(rng, i).graph()
        path = args.out / f"edge-{i:03d}.yaml"
        path.write_text(text, encoding="utf-8")
        written.add(path.name)
    for stale in args.out.glob("edge-*.yaml"):
        if stale.name not in written:
            stale.unlink()
            json_path = stale.with_name(stale.name[:-5] + ".tf.json")
            if json_path.exists():
                json_path.unlink()
    print(f"wrote {args.count} graphs to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
