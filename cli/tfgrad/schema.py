"""The JSON Schema (draft 2020-12) of graph files, built from ``opspec.SPECS``.

Input: the op signatures. Output: ``build_schema()``, a dict, and
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

from tfgrad.opspec import AXES, SPECS, Attr

NAME_PATTERN = "^[A-Za-z_][A-Za-z0-9_]*$"


def _attr_schema(attr: Attr) -> dict[str, Any]:
    if attr.kind == "bool":
        return {"type": "boolean", "default": attr.default}
    if attr.kind == "axis":
        return {
            "enum": list(AXES),
            "default": attr.default,
            "description": "the axis to reduce (null: every axis)",
        }
    raise ValueError(f"attribute kind {attr.kind!r} has no schema")


def _op_mapping(name: str) -> dict[str, Any]:
    """The `then` of one op: its args' count and its attributes, nothing else."""
    spec = SPECS[name]
    args: dict[str, Any] = {"type": "array", "items": {"$ref": "#/$defs/arg"}}
    if spec.arity is None:
        args["minItems"] = 1
        args["description"] = "one or more tensors: " + spec.doc
    else:
        args["minItems"] = args["maxItems"] = spec.arity
        args["description"] = f"{spec.arity} argument{'s' if spec.arity != 1 else ''}: " + ", ".join(
            spec.params
        )
    props: dict[str, Any] = {"op": True, "args": args}
    for attr_name, attr in spec.attrs.items():
        props[attr_name] = _attr_schema(attr)
    return {"properties": props, "additionalProperties": False}


def _op_call_doc(name: str) -> str:
    spec = SPECS[name]
    params = list(spec.params) + [f"{a}={json.dumps(at.default)}" for a, at in spec.attrs.items()]
    return f"{name}({', '.join(params)}): {spec.doc}"


def build_schema() -> dict[str, Any]:
    names = list(SPECS)
    op_list = "; ".join(_op_call_doc(n) for n in names)
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
        "title": "tfgrad graph file (format 1)",
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
            "value": {
                "description": "a number, a list of numbers, or a list of equal-length lists of numbers",
                "anyOf": [
                    {"$ref": "#/$defs/number"},
                    {"type": "array", "items": {"$ref": "#/$defs/number"}},
                    {
                        "type": "array",
                        "items": {"type": "array", "items": {"$ref": "#/$defs/number"}},
                    },
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
            "tensors": {
                "type": ["object", "null"],
                "propertyNames": {"$ref": "#/$defs/name"},
                "additionalProperties": {"$ref": "#/$defs/value"},
            },
            "arg": {
                "description": "a name or a literal value",
                "anyOf": [{"$ref": "#/$defs/name"}, {"$ref": "#/$defs/value"}],
            },
            "op": {
                "description": "an expression string (names, numbers, lists, + - * / @ **, "
                "unary -, parentheses and calls such as matmul(a, b, transpose_b=true)) "
                "or a mapping {op: NAME, args: [...], ATTR: VALUE}. Ops: " + op_list,
                "type": ["string", "object"],
                "if": {"type": "object"},
                "then": {"$ref": "#/$defs/op_mapping"},
            },
            "op_mapping": {
                "type": "object",
                "description": "{op: NAME, args: [ARG, ...], ATTR: VALUE, ...}",
                "required": ["op", "args"],
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
                        "then": _op_mapping(n),
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
