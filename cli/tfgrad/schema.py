"""The JSON Schema (draft 2020-12) of graph files, built from the op registry.

Input: the op records (``opdefs.REGISTRY``: names, TF's parameters and
defaults). Output: ``build_schema()``, a dict, and
``schema_text()``, the shipped ``schema.json`` (which a test keeps equal to
``build_schema()``; regenerate it with ``python -m tfgrad.schema``). Editors
use it through the YAML language server:
``# yaml-language-server: $schema=<path or URL of schema.json>``.

The schema is a help for editors, looser than ``tfgrad check``: it cannot
parse expression strings, see shapes, cycles or whether a name is defined,
but it accepts every valid graph file.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from tfgrad.opdefs import REGISTRY, OpDef, Param
from tfgrad.opdefs.spec import TENSOR, TENSORS

NAME_PATTERN = "^[A-Za-z_][A-Za-z0-9_]*$"
DTYPES = ["float32", "float64", "int32", "int64", "bool"]


def _json_default(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v


def _nullable(schema: dict[str, Any], p: Param) -> dict[str, Any]:
    if p.default is None and not p.required:
        return {"anyOf": [schema, {"type": "null"}]}
    return schema


def _param_schema(p: Param) -> dict[str, Any]:
    """One parameter given by name in the mapping form."""
    if p.kind == TENSOR:
        s: dict[str, Any] = {"$ref": "#/$defs/arg"}
        if not p.required:
            s = {"anyOf": [s, {"type": "null"}]}
    elif p.kind == TENSORS:
        s = {"type": "array", "items": {"$ref": "#/$defs/arg"}, "minItems": 1}
    elif p.kind == "bool":
        s = _nullable({"type": "boolean"}, p)
    elif p.kind == "int":
        s = _nullable({"type": "integer"}, p)
    elif p.kind == "float":
        s = _nullable({"type": "number"}, p)
    elif p.kind == "str":
        s = _nullable({"enum": list(p.choices)} if p.choices else {"type": "string"}, p)
    elif p.kind == "dtype":
        s = _nullable({"enum": DTYPES}, p)
    elif p.kind == "axis":
        s = {"anyOf": [{"type": "null"}, {"type": "integer"},
                       {"type": "array", "items": {"type": "integer"}}]}
    elif p.kind == "ints":
        s = _nullable({"type": "array", "items": {"type": "integer"}}, p)
    else:  # "any": the op's own rule validates it (paddings, strides, axes...)
        s = {}
    s = dict(s)
    kind = {TENSOR: "a tensor", TENSORS: "a list of tensors"}.get(p.kind, p.kind)
    s["description"] = f"{p.name} ({kind}" + (", required)" if p.required else ")") + (
        f": {p.doc}" if p.doc else "")
    if not p.required and not p.is_tensor:
        s["default"] = _json_default(p.default)
    return s


def _op_mapping(op: OpDef) -> dict[str, Any]:
    """The `then` of one op: its args (TF's parameters by position) and its
    parameters by name, nothing else."""
    n = len(op.params)
    args: dict[str, Any] = {"type": "array", "items": {"$ref": "#/$defs/arg"}}
    if op.varargs:
        args["description"] = "tensors, or one list of tensors, then attributes by name: " + op.doc
    else:
        args["maxItems"] = n
        args["description"] = ("arguments by position in TF's order: "
                               + ", ".join(p.name for p in op.params))
    props: dict[str, Any] = {"op": True, "args": args}
    for p in op.params:
        props[p.name] = _param_schema(p)
    return {"properties": props, "additionalProperties": False}


def _op_call_doc(op: OpDef) -> str:
    return f"{op.signature()}: {op.doc}"


def _shape() -> dict[str, Any]:
    return {"type": "array", "items": {"type": "integer", "minimum": 0},
            "description": "a shape: a list of sizes"}


def _value_mappings() -> list[dict[str, Any]]:
    """Format 2's values written as mappings (the contract's Values section)."""
    dtype = {"enum": DTYPES, "description": "the value's dtype"}

    def gen(main: str, spec: dict[str, Any], doc: str, required: tuple[str, ...] = (),
            **more: Any) -> dict[str, Any]:
        props = {main: spec, "dtype": dtype, **more}
        return {"type": "object", "required": [main, *required], "properties": props,
                "additionalProperties": False, "description": doc}

    number = {"type": "number"}
    return [
        gen("value", {"$ref": "#/$defs/literal_any"}, "{value: LITERAL, dtype: D}"),
        gen("file", {"type": "string"}, "{file: PATH} (.npy, .csv, .txt) or {file: PATH, key: K} "
            "(a .npz member); PATH relative to the graph file",
            key={"type": "string", "description": "the member of a .npz file"}),
        gen("fill", number, "{fill: V, shape: S}: every entry V", required=("shape",), shape=_shape()),
        gen("zeros", _shape(), "{zeros: S}"),
        gen("ones", _shape(), "{ones: S}"),
        gen("eye", {"type": "integer", "minimum": 0}, "{eye: N}: the N x N identity"),
        gen("range", {"type": "array", "items": number, "minItems": 1, "maxItems": 3},
            "{range: [START, STOP, STEP]}"),
        gen("linspace", {"type": "array", "prefixItems": [number, number, {"type": "integer"}],
                         "minItems": 3, "maxItems": 3}, "{linspace: [START, STOP, NUM]}"),
        gen("random", {"enum": ["normal", "uniform"]},
            "{random: normal|uniform, shape: S, seed: N} (NumPy's PCG64, reproducible; seed is required)",
            required=("shape", "seed"), shape=_shape(), seed={"type": "integer", "minimum": 0}),
    ]


def build_schema() -> dict[str, Any]:
    names = sorted(REGISTRY)
    op_list = "; ".join(_op_call_doc(REGISTRY[n]) for n in names)
    names_or_list = {
        "anyOf": [
            {"$ref": "#/$defs/name"},
            {"type": "array", "items": {"$ref": "#/$defs/name"}, "minItems": 1},
        ]
    }
    # an optional key may be null, which means the same as leaving it out
    text = {"type": ["string", "number", "boolean", "null"]}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "tfgrad graph file (format 2)",
        "description": (
            "A computation graph for `tfgrad run` (TensorFlow's tf.gradients) and "
            "`tfgrad check`. One of variables/constants, and ys and xs, are required."
        ),
        "type": "object",
        "additionalProperties": False,
        "required": ["ys", "xs"],
        # one of variables/constants; said this way for a clear message
        "if": {"not": {"required": ["constants"]}},
        "then": {"required": ["variables"]},
        "properties": {
            "name": {**text, "description": "a title for the graph"},
            "description": {**text, "description": "what the graph shows"},
            "variables": {
                "description": "name -> value: the graph's variables",
                "$ref": "#/$defs/tensors",
            },
            "constants": {
                "description": "name -> value: tensors like any other (xs may name one)",
                "$ref": "#/$defs/tensors",
            },
            "ops": {
                "description": "name -> op (an expression string or a mapping), in any order",
                "type": ["object", "null"],
                "propertyNames": {"$ref": "#/$defs/name"},
                "additionalProperties": {"$ref": "#/$defs/op"},
            },
            "ys": {"description": "the tensor(s) differentiated: a name or a list of names", **names_or_list},
            "xs": {
                "description": "a gradient is returned for each: a name or a list of names",
                **names_or_list,
            },
            "outputs": {
                "description": "format 2: nodes whose values `tfgrad run` prints after the "
                "gradients: a name or a list of names",
                **names_or_list,
            },
            "grad_ys": {
                "description": "one entry per y: a value or a name of its y's shape, or null (ones)",
                "type": ["array", "null"],
                "items": {"anyOf": [{"$ref": "#/$defs/value"}, {"$ref": "#/$defs/name"}, {"type": "null"}]},
            },
            "stop_gradients": {
                "description": "names held constant for every x (partial derivatives)",
                "anyOf": [
                    {"$ref": "#/$defs/name"},
                    {"type": "array", "items": {"$ref": "#/$defs/name"}},
                    {"type": "null"},
                ],
            },
            "unconnected_gradients": {
                "description": "what an x that no y depends on gets: none (None) or zero (zeros)",
                "enum": ["none", "zero", None],
                "default": "none",
            },
            "expect": {
                "description": "x name -> the expected gradient (a value, or null for None); "
                "`tfgrad check` compares it",
                "type": ["object", "null"],
                "propertyNames": {"$ref": "#/$defs/name"},
                "additionalProperties": {"anyOf": [{"$ref": "#/$defs/value"}, {"type": "null"}]},
            },
            "expect_hessian": {
                "description": "x name -> the expected tf.hessians(ys, xs) entry for x: the Hessian "
                "of sum(ys), shape x.shape + x.shape (null: TF's hessians fails, a second "
                "derivative is None); `tfgrad check` compares it and checks it against finite "
                "differences of the gradient",
                "type": ["object", "null"],
                "propertyNames": {"$ref": "#/$defs/name"},
                "additionalProperties": {"anyOf": [{"$ref": "#/$defs/nested"}, {"type": "null"}]},
            },
            "dtype": {
                "description": "the floating dtype of every value and of the arithmetic "
                "(format 2; default float64)",
                "enum": ["float32", "float64", None],
                "default": "float64",
            },
            "tolerance": {
                "description": "for expect and the finite-difference check: |a - e| <= atol + rtol*|e|",
                "type": ["object", "null"],
                "additionalProperties": False,
                "properties": {
                    "rtol": {"type": "number", "minimum": 0, "default": 1e-7},
                    "atol": {"type": "number", "minimum": 0, "default": 1e-9},
                },
            },
        },
        "$defs": {
            "name": {
                "type": "string",
                "pattern": NAME_PATTERN,
                "description": "a variable, constant or op name",
            },
            "number": {"type": "number"},
            "literal": {
                "description": "a number, or rectangular nested lists of numbers (any rank)",
                "anyOf": [
                    {"$ref": "#/$defs/number"},
                    {"type": "array", "items": {"$ref": "#/$defs/literal"}},
                ],
            },
            "nested": {
                "description": "a number or nested lists of numbers, of any rank (a Hessian has "
                "twice its x's rank)",
                "anyOf": [
                    {"$ref": "#/$defs/number"},
                    {"type": "array", "items": {"$ref": "#/$defs/nested"}},
                ],
            },
            "literal_any": {
                "description": "a literal of numbers or booleans (for {value, dtype})",
                "anyOf": [
                    {"type": ["number", "boolean"]},
                    {"type": "array", "items": {"$ref": "#/$defs/literal_any"}},
                ],
            },
            "value": {
                "description": "a literal (a number or nested lists of numbers, any rank), or a "
                "mapping: {value, dtype}, {file, key}, {fill, shape}, {zeros}, {ones}, {eye}, "
                "{range}, {linspace}, {random, shape, seed}",
                "anyOf": [{"$ref": "#/$defs/literal"}, *_value_mappings()],
            },
            "tensors": {
                "type": ["object", "null"],
                "propertyNames": {"$ref": "#/$defs/name"},
                "additionalProperties": {"$ref": "#/$defs/value"},
            },
            "arg": {
                "description": "a name, a value, or a list of them (a list argument)",
                "anyOf": [
                    {"$ref": "#/$defs/name"},
                    {"$ref": "#/$defs/value"},
                    {"type": "array", "items": {"$ref": "#/$defs/arg"}},
                ],
            },
            "op": {
                "description": "an expression string (names, numbers, lists, + - * / @ ** "
                "< <= > >= == != & | ~, unary -, subscripts such as x[:, 1:3], parentheses and "
                "calls in TF's parameter order such as reduce_sum(x, 1) or "
                "matmul(a, b, transpose_b=true)) or a mapping {op: NAME, args: [...], "
                "PARAM: VALUE}. Ops: " + op_list,
                "type": ["string", "object"],
                "if": {"type": "object"},
                "then": {"$ref": "#/$defs/op_mapping"},
            },
            "op_mapping": {
                "type": "object",
                "description": "{op: NAME, args: [ARG, ...], ATTR: VALUE, ...}",
                "required": ["op"],
                "properties": {
                    "op": {
                        "enum": names,
                        "description": "the op's name",
                    },
                    "args": {"type": "array", "items": {"$ref": "#/$defs/arg"}},
                },
                "allOf": [
                    {
                        "if": {"properties": {"op": {"const": n}}, "required": ["op"]},
                        "then": _op_mapping(REGISTRY[n]),
                    }
                    for n in names
                ],
            },
        },
    }


def schema_text() -> str:
    """The shipped schema.json (package data)."""
    return resources.files("tfgrad").joinpath("schema.json").read_text(encoding="utf-8")


def dumps(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":  # regenerate: python -m tfgrad.schema > cli/tfgrad/schema.json
    import sys

    sys.stdout.write(dumps(build_schema()))
