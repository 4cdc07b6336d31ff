"""Issue 10, the input side: numbers are YAML 1.2 core-schema numbers
everywhere a value is read; a name is exactly a declared name (no NFKC
folding, ASCII identifiers only); a huge integer literal is tfgrad's own
"too large" error wherever it is written."""

from __future__ import annotations

import math
import re
import unicodedata

import numpy as np
import pytest
from click.testing import CliRunner

from tfgrad.commands import cli
from tfgrad.graph import GraphError
from tfgrad.parse import Overrides, parse_graph

# --- YAML 1.2 core-schema numbers ---------------------------------------------

# (text, number or None when YAML 1.2's core schema reads a string). The
# numbers are computed here from the core schema's own rules, independently
# of tfgrad: decimal [-+]?[0-9]+ (leading zeros are decimal), 0o[0-7]+,
# 0x[0-9a-fA-F]+, and floats [-+]?(.d+|d+(.d*)?)([eE][-+]?d+)?.
CORE_INTS = ["0", "7", "-12", "+7", "010", "007", "08", "-010", "0o17", "0o0", "0x1F", "0x1f", "0xff"]
CORE_FLOATS = ["1.5", "-.5", "+.5", "5.", "1e3", "1E-7", "-2.5E+3", "010.5", "1.e-3"]
NOT_NUMBERS = [
    "1:30", "1:30.5", "190:20:30", "1_000", "1_000.0", "1__0", "0b101", "0B101", "-0x1F", "+0o17",
    "0X1F", "0O17", "0o18", "0x", "1e", "e5", "1.5.3", "2001-12-14", "0b", ".Nan", ".nAn", "+.nan",
]  # fmt: skip
NON_FINITE = [".inf", ".Inf", ".INF", "-.inf", "+.inf", ".nan", ".NaN", ".NAN"]


def core_value(text: str) -> float:
    """The number YAML 1.2's core schema gives ``text`` (assumed a number)."""
    if text.startswith("0o"):
        return float(int(text[2:], 8))
    if text.startswith("0x"):
        return float(int(text[2:], 16))
    if re.fullmatch(r"[-+]?[0-9]+", text):
        return float(int(text, 10))  # Python's int() reads leading zeros as decimal
    return float(text)


def contexts(v: str):
    """Every place a graph file holds a value (and the override), each with
    a function that returns the number read there."""
    return [
        (f"variables:\n  w: {v}\nys: w\nxs: w\n", None, lambda g: g.nodes["w"].value.array.item()),
        (f"variables:\n  w: [1, {v}]\nys: w\nxs: w\n", None, lambda g: g.nodes["w"].value.array[1]),
        (f"variables:\n  w: [[1], [{v}]]\nys: w\nxs: w\n", None, lambda g: g.nodes["w"].value.array[1, 0]),
        (f"variables:\n  w: 1\nconstants:\n  k: [{v}]\nys: k\nxs: w\n", None,
         lambda g: g.nodes["k"].value.array[0]),
        (f"variables:\n  w: 1\nops:\n  y: {{op: add, args: [w, {v}]}}\nys: y\nxs: w\n", None,
         lambda g: g.nodes["y/literal_1"].value.array.item()),
        (f"variables:\n  w: 1\nys: w\nxs: w\ngrad_ys: [{v}]\n", None, lambda g: g.grad_ys[0].value.array.item()),
        (f"variables:\n  w: 1\nys: w\nxs: w\nexpect:\n  w: {v}\n", None, lambda g: g.expect[0].value.array.item()),
        (f"variables:\n  w: 1\nys: w\nxs: w\ntolerance: {{atol: {v}}}\n", None, lambda g: g.atol),
        ("variables:\n  w: 1\nys: w\nxs: w\n", (("w", f"[{v}]"),), lambda g: g.nodes["w"].value.array[0]),
    ]


def read(text: str, sets=None):
    return parse_graph(text, "t.yaml", Overrides(set=sets) if sets else None)


@pytest.mark.parametrize("v", CORE_INTS + CORE_FLOATS)
def test_core_numbers_read_as_yaml_1_2_says_in_every_value_context(v):
    want = core_value(v)
    for text, sets, get in contexts(v):
        if "atol" in text and want < 0:
            continue  # tolerances are non-negative
        assert get(read(text, sets)) == want, text
    # an integer form stays exact (prints as an integer), a float form does not
    g = read(f"variables:\n  w: {v}\nys: w\nxs: w\n")
    assert g.nodes["w"].value.integral is bool(re.fullmatch(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+", v))


@pytest.mark.parametrize("v", NOT_NUMBERS)
def test_strings_that_yaml_1_1_read_as_numbers_are_not_numbers(v):
    for text, sets, _ in contexts(v):
        with pytest.raises(GraphError) as e:
            read(text, sets)
        msg = e.value.message  # text where a number is wanted (args and grad_ys: not a name)
        assert f"'{v}'" in msg and "number (" not in msg, (text, msg)


@pytest.mark.parametrize("v", NON_FINITE)
def test_non_finite_core_floats_follow_the_finite_values_rule(v):
    for text, sets, _ in contexts(v):
        if "expect:" in text:
            # expect may be nan or inf, as TF's gradients can be
            # (tests/test_parse_format2.py); it still reads .inf as YAML 1.2 does
            got = float(read(text, sets).expect[0].value.array)
            assert np.isnan(got) if "n" in v.lower().lstrip("+-.")[:1] else np.isinf(got), (v, got)
            continue
        with pytest.raises(GraphError) as e:
            read(text, sets)
        assert "finite" in e.value.message, (text, e.value.message)


@pytest.mark.parametrize("v", NOT_NUMBERS)
def test_a_number_like_string_is_still_a_name_or_text(v):
    # where text is expected (name:, a quoted key), the core schema's strings stay text
    g = read(f"name: {v}\nvariables:\n  w: 1\nys: w\nxs: w\n")
    assert g.name == v


@pytest.mark.parametrize(
    "expr, value",
    [("w * 010", 10), ("w * [007, 1]", 8), ("w * 0o17", 15), ("w * 0x1F", 31), ("w * 010.5", 10.5),
     ("w * 1e-08", 1e-08), ("w * 1.5E3", 1500), ("w * -010", -10), ("w * 00", 0)],
)
def test_numbers_in_expressions_are_core_numbers(expr, value):
    from tests.helpers import gradients

    got = gradients(f"variables:\n  w: 1.0\nops:\n  y: {expr}\nys: y\nxs: w\n")
    assert got == [value]


@pytest.mark.parametrize("literal", ["1_000", "1_000.0", "0b101", "0X1F", "0O17", "1_0e3"])
def test_non_core_numbers_in_expressions_are_errors_at_the_literal(literal):
    text = f"variables:\n  w: 1.0\nops:\n  y: w * {literal}\nys: y\nxs: w\n"
    with pytest.raises(GraphError) as e:
        parse_graph(text, "t.yaml")
    assert (e.value.pos.line, e.value.pos.col) == (4, 10), e.value.message
    assert "YAML 1.2" in e.value.message


def test_cli_reads_010_as_ten_and_rejects_sexagesimal(tmp_path):
    p = tmp_path / "g.yaml"
    p.write_text("variables:\n  w: [010, 2.0]\nops:\n  y: reduce_sum(w * w)\nys: y\nxs: w\n")
    r = CliRunner().invoke(cli, ["run", str(p)])
    assert r.exit_code == 0 and r.output == "w  (2,) = [20.0, 4.0]\n"
    p.write_text("variables:\n  w: [1:30, 2.0]\nys: w\nxs: w\n")
    r = CliRunner().invoke(cli, ["run", str(p)])
    assert r.exit_code == 2 and f"{p}:2:7: error:" in r.output and "'1:30'" in r.output
    r = CliRunner().invoke(cli, ["run", str(p), "--set", "w=[1_000.0]"])
    assert r.exit_code == 2 and "<--set w>:1:2: error:" in r.output


# --- names are exactly the declared names ---------------------------------------

# Characters that NFKC folds onto an ASCII letter, digit or '_' (what
# Python's parser does to identifiers): ℌ -> H, fullwidth Ｈ -> H, ﬁ -> fi...
CONFUSABLES = sorted(
    {c for c in map(chr, range(0x80, 0x30000)) if not c.isascii()
     and (f := unicodedata.normalize("NFKC", c)).isascii() and f.isidentifier() and ("a" + c).isidentifier()}
)


def test_there_are_many_confusables():
    assert len(CONFUSABLES) > 500 and "ℌ" in CONFUSABLES and "Ｈ" in CONFUSABLES


@pytest.mark.parametrize("chunk", range(8))
def test_every_confusable_name_is_rejected_at_its_position(chunk):
    for c in CONFUSABLES[chunk::8]:
        folded = unicodedata.normalize("NFKC", c)
        declared = "a" + folded  # a name ending with what c folds to
        written = "a" + c
        for expr, col in ((f"{written} * 2", 7), (f"2 * {written}", 11), (f"reduce_sum({written})", 18)):
            text = f'variables:\n  {declared}: 1.0\nops:\n  y: "{expr}"\nys: y\nxs: {declared}\n'
            with pytest.raises(GraphError) as e:
                parse_graph(text, "t.yaml")
            msg = e.value.message
            assert msg.startswith("invalid name") and (e.value.pos.line, e.value.pos.col) == (4, col), (c, msg)


@pytest.mark.parametrize(
    "expr, col",
    [("ω * 2", 7), ("w * ω", 11), ("ｒeduce_sum(w)", 7), ("reduce_sum(w, ａxis=0)", 21),
     ("matmul(w, w, transpose_ａ=true)", 20), ("ｔrue", 7)],
)
def test_non_ascii_names_in_calls_attributes_and_operands(expr, col):
    text = f'variables:\n  w: [[1.0]]\nops:\n  y: "{expr}"\nys: y\nxs: w\n'
    with pytest.raises(GraphError) as e:
        parse_graph(text, "t.yaml")
    assert e.value.message.startswith("invalid name") and (e.value.pos.line, e.value.pos.col) == (4, col)


@pytest.mark.parametrize("section", ["variables", "constants", "ops"])
@pytest.mark.parametrize("name", ["ω", "ℌ", "Ｈ", "aﬁ", "é"])
def test_declared_names_must_be_ascii_identifiers(section, name):
    value = "w * 2" if section == "ops" else "1.0"
    text = f"variables:\n  w: 1.0\n{section}:\n  {name}: {value}\nys: w\nxs: w\n"
    if section == "variables":
        text = f"variables:\n  w: 1.0\n  {name}: 1.0\nys: w\nxs: w\n"
    with pytest.raises(GraphError) as e:
        parse_graph(text, "t.yaml")
    assert "invalid name" in e.value.message


def test_confusable_from_the_command_line_exits_2_with_the_position(tmp_path):
    p = tmp_path / "g.yaml"
    p.write_text('variables: {H: 1.0}\nops: {y: "ℌ * 2"}\nys: y\nxs: H\n', encoding="utf-8")
    r = CliRunner().invoke(cli, ["run", str(p)])
    assert r.exit_code == 2 and r.output.startswith(f"{p}:2:11: error: invalid name 'ℌ'")


# --- integers too large for Python's digit limit ------------------------------


@pytest.mark.parametrize("digits", [4301, 5001, 20000])
@pytest.mark.parametrize(
    "template, col",
    [("w * {n}", 11), ("w * [{n}, 1]", 12), ("w + -{n}", 12), ("reduce_sum(w) * (({n}))", 25),
     ("add(w, {n})", 14)],
)
def test_huge_integer_literals_are_too_large_like_values(template, col, digits):
    n = "1" * digits
    expr = template.format(n=n)
    with pytest.raises(GraphError) as e:
        parse_graph(f'variables:\n  w: 1.0\nops:\n  y: "{expr}"\nys: y\nxs: w\n', "t.yaml")
    assert "too large" in e.value.message and "set_int_max_str_digits" not in e.value.message
    assert (e.value.pos.line, e.value.pos.col) == (4, col)
    with pytest.raises(GraphError) as v:  # the same number written as a value
        parse_graph(f"variables:\n  w: {n}\nys: w\nxs: w\n", "t.yaml")
    assert "too large" in v.value.message


def test_huge_integer_from_the_command_line(tmp_path):
    p = tmp_path / "g.yaml"
    p.write_text('variables:\n  w: 1.0\nops:\n  y: "w * ' + "9" * 5001 + '"\nys: y\nxs: w\n')
    for cmd in ("run", "explain", "check"):
        r = CliRunner().invoke(cli, [cmd, str(p)])
        assert r.exit_code in (1, 2) and "too large" in r.output and "sys." not in r.output, cmd
        assert "4:11" in r.output


def test_core_value_helper_is_right():
    assert core_value("010") == 10 and core_value("0o17") == 15 and core_value("0x1F") == 31
    assert math.isclose(core_value("1e-7"), 1e-7)
