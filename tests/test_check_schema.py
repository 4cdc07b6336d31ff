"""The JSON Schema of graph files: valid draft 2020-12, shipped up to date,
agreeing with opspec.SPECS, accepting every file the parser accepts."""

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
from tfgrad.opspec import SPECS
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
    assert mapping["properties"]["op"]["enum"] == list(SPECS)
    branches = {b["if"]["properties"]["op"]["const"]: b["then"] for b in mapping["allOf"]}
    assert set(branches) == set(SPECS)
    for name, spec in SPECS.items():
        props = branches[name]["properties"]
        assert set(props) == {"op", "args", *spec.attrs}
        args = props["args"]
        if spec.arity is None:
            assert args["minItems"] == 1 and "maxItems" not in args
        else:
            assert args["minItems"] == args["maxItems"] == spec.arity


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
        ("ys: v\nxs: v\nvariables: {v: [[[1]]]}", "[[[1]]]"),
        ("ys: v\nxs: v\nvariables: {v: 1}\nops: {p: {op: matmull, args: [v, v]}}", "matmull"),
        ("ys: v\nxs: v\nvariables: {v: 1}\nops: {p: {op: square, args: [v, v]}}", "long"),
        ("ys: v\nxs: v\nvariables: {v: 1}\nops: {p: {op: matmul, args: [v, v], axis: 0}}", "axis"),
        ("ys: v\nxs: v\nvariables: {v: 1}\nops: {p: {op: reduce_sum, args: [v], axis: 2}}", "2"),
        ("ys: v\nxs: v\nvariables: {v: 1}\nunconnected_gradients: zeros", "zeros"),
        ("ys: v\nxs: v\nvariables: {v: 1}\ntolerance: {rtol: -1}", "-1"),
    ],
)
def test_rejects(validator, edit, fragment):
    found = errors(validator, edit)
    assert found and any(fragment in m for m in found), found


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
