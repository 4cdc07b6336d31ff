"""The JSON Schema of graph files: valid draft 2020-12, shipped up to date,
listing every registered op (opdefs.REGISTRY) with its parameters, accepting
every file the parser accepts and format 2's keys and value mappings."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from tfgrad.commands import cli

from helpers import CONTRACT_EXAMPLE
from tfgrad.opdefs import REGISTRY
from tfgrad.schema import build_schema, dumps, schema_text

ROOT = Path(__file__).resolve().parent.parent
GRAPHS = sorted(p for p in (ROOT / "graphs").rglob("*.y*ml"))


class Yaml12Loader(yaml.SafeLoader):
    """YAML 1.2's numbers (``1e-6`` is a float), as the YAML language server reads them."""


Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$|^[-+]?\.(inf|Inf|INF)$"
               r"|^\.(nan|NaN|NAN)$"),
    list("-+0123456789."),
)


@pytest.fixture(scope="module")
def validator():
    return jsonschema.Draft202012Validator(build_schema())


def errors(validator, text):
    return [e.message for e in validator.iter_errors(yaml.load(text, Yaml12Loader))]


def test_schema_is_valid_draft_2020_12():
    schema = build_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_shipped_schema_is_up_to_date():
    # regenerate with: PYTHONPATH=cli python -m tfgrad.schema > cli/tfgrad/schema.json
    assert schema_text() == dumps(build_schema())


def test_schema_command_prints_it():
    result = CliRunner().invoke(cli, ["schema"])
    assert result.exit_code == 0
    assert json.loads(result.output) == build_schema()


def test_schema_lists_every_op_and_attribute():
    mapping = build_schema()["$defs"]["op_mapping"]
    assert mapping["properties"]["op"]["enum"] == sorted(REGISTRY)
    branches = {b["if"]["properties"]["op"]["const"]: b["then"] for b in mapping["allOf"]}
    assert set(branches) == set(REGISTRY)
    for name, op in REGISTRY.items():
        props = branches[name]["properties"]
        assert set(props) == {"op", "args", *(p.name for p in op.params)}
        for p in op.attr_params:
            if not p.required:
                default = list(p.default) if isinstance(p.default, tuple) else p.default
                assert props[p.name]["default"] == default, (name, p.name)
        args = props["args"]
        if op.varargs:
            assert "maxItems" not in args
        else:
            assert args["maxItems"] == len(op.params)


TUTORIAL = CONTRACT_EXAMPLE


def test_accepts_the_tutorial(validator):
    assert errors(validator, TUTORIAL) == []


def test_accepts_every_key(validator):
    text = """
name: all keys
description: every top-level key once
constants: {c: 2.5}
variables: {v: [1, 2, 3]}
ops:
  s: {op: reduce_sum, args: [v], axis: -1, keepdims: true}
  t: {op: matmul, args: [[[1, 2]], [[3], [4]]], transpose_a: false, transpose_b: false}
  n: {op: add_n, args: [v, v, v]}
  e: "square(v) * c"
ys: s
xs: [v, c]
grad_ys: [null]
stop_gradients: c
unconnected_gradients: zero
expect: {v: [1, 1, 1], c: null}
tolerance: {rtol: 1e-6, atol: 0}
"""
    assert errors(validator, text) == []


@pytest.mark.parametrize(
    "edit, fragment",
    [
        ("ys: y\nxs: v\nvariables: {v: 1}\nbogus: 1", "bogus"),
        ("xs: v\nvariables: {v: 1}", "'ys' is a required property"),
        ("ys: v\nxs: v", "'variables' is a required property"),
        ("ys: v\nxs: v\nvariables: {1v: 1}", "1v"),
        ("ys: v\nxs: v\nvariables: {v: [[1, 2], true]}", "True"),
        ("ys: v\nxs: v\nvariables: {v: {value: [1], dtype: float16}}", "float16"),
        ("ys: v\nxs: v\nvariables: {v: {zeros: [2], fill: 1}}", "fill"),
        ("ys: v\nxs: v\nvariables: {v: 1}\ndtype: int32", "int32"),
        ("ys: v\nxs: v\nvariables: {v: 1}\nops: {p: {op: gather, args: [v, v], batch_dims: x}}", "x"),
        ("ys: v\nxs: v\nvariables: {v: 1}\nops: {p: {op: matmull, args: [v, v]}}", "matmull"),
        ("ys: v\nxs: v\nvariables: {v: 1}\nops: {p: {op: square, args: [v, v]}}", "long"),
        ("ys: v\nxs: v\nvariables: {v: 1}\nops: {p: {op: matmul, args: [v, v], axis: 0}}", "axis"),
        ("ys: v\nxs: v\nvariables: {v: 1}\nops: {p: {op: reduce_sum, args: [v], axis: 1.5}}", "1.5"),
        ("ys: v\nxs: v\nvariables: {v: 1}\nunconnected_gradients: zeros", "zeros"),
        ("ys: v\nxs: v\nvariables: {v: 1}\ntolerance: {rtol: -1}", "-1"),
    ],
)
def test_rejects(validator, edit, fragment):
    found = errors(validator, edit)
    assert found and any(fragment in m for m in found), found


FORMAT_2 = """
name: format 2's additions
dtype: float32
variables:
  x: {random: normal, shape: [2, 3, 4], seed: 1}
  w: [[[1, 2], [3, 4]], [[5, 6], [7, 8]]]
constants:
  i: {value: [2, 0, 2], dtype: int32}
  m: {value: [true, false], dtype: bool}
  z: {zeros: [3]}
  o: {ones: [2, 2]}
  e: {eye: 3}
  f: {fill: 0.5, shape: [2]}
  r: {range: [0, 6, 2]}
  l: {linspace: [0, 1, 5]}
  n: {file: weights.npz, key: w0}
ops:
  s: reduce_sum(x, 1)
  g: {op: gather, args: [x, i], axis: 1}
  c: {op: concat, args: [[x, x]], axis: 2}
  k: {op: conv2d, args: [x, w], strides: [1, 1, 1, 1], padding: SAME}
  p: {op: pad, args: [x], paddings: [[0, 0], [1, 1], [0, 0]], mode: REFLECT}
  t: {op: transpose, args: [x, [0, 2, 1]]}
  parts: {op: split, value: x, num_or_size_splits: 2, axis: 2}
  q: "x[:, 0:1] < 0"
ys: s
xs: x
outputs: [s, parts]
"""


def test_accepts_format_2(validator):
    assert errors(validator, FORMAT_2) == []


def _parses(path: Path) -> bool:
    from tfgrad.graph import GraphError
    from tfgrad.parse import parse_graph

    try:
        parse_graph(path.read_text(encoding="utf-8"), str(path))
    except GraphError:
        return False
    return True


VALID = [p for p in GRAPHS if "invalid" not in p.parts]


@pytest.mark.skipif(not VALID, reason="no graphs/*.yaml yet")
@pytest.mark.parametrize("path", VALID, ids=lambda p: str(p.relative_to(ROOT)))
def test_accepts_every_example_graph(validator, path):
    assert _parses(path)
    assert errors(validator, path.read_text(encoding="utf-8")) == []


def test_accepts_the_invalid_examples_the_parser_accepts(validator):
    # graphs/invalid files that fail only later (shapes, expect...) are
    # valid as far as the schema can tell
    parsed = [p for p in GRAPHS if "invalid" in p.parts and _parses(p)]
    assert parsed, "some graphs/invalid examples fail after parsing"
    for path in parsed:
        assert errors(validator, path.read_text(encoding="utf-8")) == [], path
