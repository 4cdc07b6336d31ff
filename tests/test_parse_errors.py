"""parse.py: every invalid input gives a GraphError saying what was found,
what was expected, a did-you-mean where one is close, the exact position and
its problem code (which ``tfgrad check`` reports at that position).

Positions are written as (line, token): the 1-based line and a piece of text
on that line whose first character is the expected column (``#2`` after it
picks its second occurrence); this keeps the expectations readable and
independent of the implementation."""

from __future__ import annotations


import pytest

from tfgrad import check as check_mod
from tfgrad.graph import GraphError, Pos
from tfgrad.parse import Overrides, parse_graph

HEAD = "variables:\n  a: [[1, 2]]\n  b: [[3], [4]]\n"  # lines 1-3


def ops(*lines: str, tail: str = "ys: c\nxs: a\n") -> str:
    """HEAD, then 'ops:' on line 4 and the given op lines from line 5."""
    return HEAD + "ops:\n" + "".join(f"  {x}\n" for x in lines) + tail


def locate(text: str, line: int, token: str) -> Pos:
    nth = 1
    if "#" in token[1:] and token.rsplit("#", 1)[1].isdigit():
        token, n = token.rsplit("#", 1)
        nth = int(n)
    row = text.split("\n")[line - 1]
    col = -1
    for _ in range(nth):
        col = row.index(token, col + 1)
    return Pos(line, col + 1)


def check(text: str, line: int, token: str | int, *parts: str, code: str, source: str | None = None,
          **ov) -> GraphError:
    with pytest.raises(GraphError) as info:
        parse_graph(text, "t.yaml", Overrides(**ov) if ov else None)
    e = info.value
    for p in parts:
        assert p in e.message, f"{p!r} not in {e.message!r}"
    if isinstance(token, int):
        expected = Pos(line, token, source)
    else:
        expected = locate(text, line, token)
        expected = Pos(expected.line, expected.col, source)
    assert e.pos == expected, f"{e.pos} != {expected}: {e.message}"
    assert e.format("t.yaml").startswith(f"{source or 't.yaml'}:{expected.line}:{expected.col}: error: ")
    # the code is the raise's own (issue 9), and tfgrad check reports it there
    assert e.code == code, f"{e.code} != {code}: {e.message}"
    if not ov:
        r = check_mod.check_text(text, "t.yaml", check_mod.Options(gradcheck=False))
        p = r.problems[0]
        assert (p.code, p.line, p.col, p.message) == (code, expected.line, expected.col, e.message)
    return e


# --- the YAML level -----------------------------------------------------------


def test_yaml_syntax_error_uses_the_problem_mark():
    check("variables:\n  a: [1, 2\nys: a\n", 3, ": a", "invalid YAML", "flow sequence", "line 2, column 6", code="TG101")


def test_yaml_tab_indentation_hint():
    check("variables:\n\ta: 1\n", 2, 1, "invalid YAML", "spaces, not tabs", code="TG101")


def test_colon_inside_plain_value_hint():
    check(ops("c: a: b"), 5, ": b", "mapping values are not allowed", "quote the value", code="TG101")


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n", "--- # nothing\n...\n"])
def test_empty_document(text):
    check(text, 1, 1, "the document is empty", "expected a mapping of top-level keys", code="TG102")


@pytest.mark.parametrize(
    "text, found",
    [("- a\n- b\n", "a list"), ("42\n", "a number (42)"), ("hello\n", "a string 'hello'"), ("[]", "an empty list")],
)
def test_top_level_must_be_a_mapping(text, found):
    check(text, 1, 1, f"found {found} at the top level", "expected a mapping of top-level keys", code="TG102")


def test_second_document():
    check("variables: {a: 1}\nys: a\nxs: a\n---\nb: 1\n", 4, "---", "second YAML document", code="TG101")


def test_control_character():
    check("variables: {a: 1}\nys: a\x00\n", 2, "\x00", "U+0000 is not allowed", code="TG101")


@pytest.mark.parametrize(
    "value, tag",
    [
        ('!!python/object/apply:os.system ["echo hi"]', "!!python/object/apply:os.system"),
        ("!!python/name:os.system ''", "!!python/name:os.system"),
        ("!!binary aGk=", "!!binary"),
        ("!!set {x: null}", "!!set"),
        ("!!omap [x: 1]", "!!omap"),
        ("!!timestamp 2001-12-14", "!!timestamp"),
        ("!custom 3", "!custom"),
        ("!!str [1]", "!!str"),
        ("!!seq {x: 1}", "!!seq"),
    ],
)
def test_non_core_tags_are_rejected(value, tag):
    check(f"variables:\n  a: {value}\nys: a\nxs: a\n", 2, "!", f"YAML tag '{tag}' is not allowed", code="TG101")


def test_bad_explicit_core_tags():
    check("variables:\n  a: !!int abc\nys: a\nxs: a\n", 2, "!!", "'abc' is tagged !!int but is not an integer", code="TG101")
    check("variables:\n  a: !!float abc\nys: a\nxs: a\n", 2, "!!", "tagged !!float but is not a number", code="TG101")
    check("variables:\n  a: !!bool maybe\nys: a\nxs: a\n", 2, "!!", "tagged !!bool but is not true or false", code="TG101")


def test_alias_bomb_position():
    lines = ["variables:", "  v: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for i in range(1, 10):
        lines.append(f"  v{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]")
    text = "\n".join(lines) + "\nys: v\nxs: v\n"
    e = check(text, 7, "*a4#8", "document expands to more than", "YAML aliases (&/*) may be nested too deep", code="TG101")
    assert "1,000," in e.message


def test_unknown_and_recursive_aliases():
    check("variables: {a: *nope}\n", 1, "*", "unknown alias *nope", "no anchor &nope", code="TG101")
    check("variables: &v {a: *v}\n", 1, "*", "alias *v is inside the node &v it names", code="TG101")


def test_flow_nesting_limit():
    check("variables: {a: " + "[" * 2000, 1, 1014, "YAML nested more than 1000 levels deep", code="TG101")


def test_merge_key_needs_a_mapping():
    check(ops("c: {<<: 3, op: exp, args: [a]}"), 5, "3", "a merge key (<<) takes a mapping", "found a number (3)", code="TG101")


# --- top-level keys -------------------------------------------------------------


def test_unknown_top_level_key_with_suggestion():
    check("variable:\n  a: 1\nys: a\nxs: a\n", 1, "variable", "unknown top-level key 'variable'", "(did you mean 'variables'?)", code="TG102")
    check(HEAD + "ys: a\nxs: a\nstop_gradient: a\n", 6, "stop", "(did you mean 'stop_gradients'?)", code="TG102")
    check(HEAD + "ys: a\nxs: a\nfoo: 1\n", 6, "foo", "unknown top-level key 'foo'", "keys are variables, constants", code="TG102")


def test_duplicate_keys_everywhere():
    check("variables:\n  a: 1\n  a: 2\n", 3, "a", "duplicate key 'a' in variables (first at line 2)", code="TG103")
    check(HEAD + "ys: a\nxs: a\nys: b\n", 6, "ys", "duplicate key 'ys' in the top level (first at line 4)", code="TG102")
    check(ops("c: {op: exp, args: [a], op: tanh}"), 5, "op#2", "duplicate key 'op' in op 'c' (first at line 5)", code="TG102")
    check(HEAD + "ys: a\nxs: a\ntolerance: {rtol: 1, rtol: 2}\n", 6, "rtol#2", "duplicate key 'rtol'", code="TG102")
    check(HEAD + "ys: a\nxs: a\nexpect:\n  a: 1\n  a: 2\n", 8, "a", "duplicate key 'a' in expect (first at line 7)", code="TG103")


def test_non_string_keys():
    check("variables:\n  1: 2\n", 2, "1", "a key in variables must be a name", "found a number (1)", code="TG103")
    check("variables:\n  true: 2\n", 2, "true", "found a boolean (true)", code="TG103")
    check("variables:\n  ~: 2\n", 2, "~", "found null", code="TG103")
    check("variables:\n  [a, b]: 2\n", 2, "[", "found a list", code="TG103")
    check("? {a: 1}\n: 2\n", 1, "{", "a key in the top level must be a string", "found a mapping", code="TG102")


def test_invalid_names():
    check("variables:\n  w-1: 2\n", 2, "w-1", "invalid name 'w-1' in variables", "letters, digits and _", code="TG103")
    check(ops("1c: a"), 5, "1c", "invalid name '1c' in ops", code="TG103")
    check("variables:\n  'a b': 2\n", 2, "'", "invalid name 'a b'", code="TG103")


def test_name_clashes_name_both_positions():
    check("variables:\n  w1: 1\nconstants:\n  w1: 2\n", 4, "w1", "name 'w1' is already a variable (line 2)", code="TG103")
    check(ops("a: b * 2"), 5, "a", "name 'a' is already a variable (line 2)", code="TG103")
    check("ops:\n  c: a\nconstants:\n  c: 1\n", 4, "c", "name 'c' is already an op (line 2)", code="TG103")


def test_required_keys():
    check("variables: {a: 1}\nxs: a\n", 1, 1, "missing required key 'ys'", code="TG102")
    check("variables: {a: 1}\nys: a\n", 1, 1, "missing required key 'xs'", code="TG102")
    check("ops: {c: '1'}\nys: c\nxs: c\n", 1, 1, "at least one variable or constant", code="TG102")
    check("variables: {}\nconstants:\nys: c\nxs: c\n", 1, "{", "at least one variable or constant", code="TG102")


@pytest.mark.parametrize(
    "text, line, token, key, found",
    [
        ("variables: [1, 2]\n", 1, "[", "variables", "a list"),
        ("variables: {a: 1}\nconstants: 3\n", 2, "3", "constants", "a number (3)"),
        ("variables: {a: 1}\nops: x + y\n", 2, "x", "ops", "a string 'x + y'"),
    ],
)
def test_sections_must_be_mappings(text, line, token, key, found):
    check(text + "ys: a\nxs: a\n", line, token, f"{key} must be a mapping", f"found {found}", code="TG102")


# --- values ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, token, parts",
    [
        ("true", "true", ["variable 'w' must be a number, a list of numbers", "found a boolean (true)"]),
        ("'3'", "'", ["found a string '3'"]),
        ("abc", "abc", ["found a string 'abc'"]),
        ("", None, ["found nothing (null)"]),
        ("null", "null", ["found null"]),
        ("{x: 1}", "x", ["unknown key 'x' in the value mapping of variable 'w'", "{value: V, dtype: D}"]),
        ("[]", "[", ["variable 'w' is an empty list"]),
        ("[[]]", "[]", ["row [0] of variable 'w' is an empty list"]),
        ("[[1, 2], [3, 4, 5]]", "[3", ["row [1] of variable 'w' has 3 entries, row [0] has 2"]),
        ("[[1, 2], [3]]", "[3", ["row [1] of variable 'w' has 1 entry, row [0] has 2"]),
        ("[[[1]], [2]]", "2", ["entry [1, 0] of variable 'w' is a number; expected a list of numbers like entry [0, 0] (ragged at depth 3)"]),
        ("[[[1]], [[2, 3]]]", "[2", ["entry [1, 0] of variable 'w' has 2 entries but the lists at depth 3 have 1", "ragged at depth 3, index [1, 0]"]),
        ("[1, [2]]", "[2", ["entry [1] of variable 'w' is a list but entry [0] is a number"]),
        ("[[1], 2]", "2", ["row [1] of variable 'w' is a number; expected a list of numbers like row [0]"]),
        ("[[1], x]", "x", ["row [1] of variable 'w' is a string 'x'"]),
        ("[1, true]", "true", ["entry [1] of variable 'w' is a boolean (true); expected a number"]),
        ("[[1, null]]", "null", ["entry [0, 1] of variable 'w' is null; expected a number"]),
        ("[1, .nan]", ".nan", ["variable 'w' contains .nan; values must be finite numbers"]),
        ("-.inf", "-", ["contains -.inf"]),
        ("1e400", "1e400", ["contains 1e400"]),
        ("[9007199254740993]", "9", ["integer 9007199254740993 in variable 'w' is too large to be exact", "2**53"]),
        ("-9007199254740993", "-", ["too large to be exact"]),
        ("1" * 5000, "1", ["too large to be exact"]),
    ],
)
def test_bad_values(value, token, parts):
    text = f"variables:\n  w: {value}\nys: w\nxs: w\n"
    check(text, 2, token if token is not None else len("  w: ") + 1 if value else 5, *parts, code="TG102")


def test_bad_value_messages_for_constants_and_literals():
    check("constants:\n  k: [1, x]\nys: k\nxs: k\n", 2, "x", "entry [1] of constant 'k' is a string 'x'", code="TG102")
    check(ops("c: add(a, [[1, 2], [3]])"), 5, "[3", "row [1] of the literal [[1, 2], [3]] has 1 entry, row [0] has 2", code="TG102")
    check(ops("c: add(a, [1, b])"), 5, "b]", "entry [1] of the literal [1, b] is the name 'b'", "numbers or booleans only", code="TG102")
    # [1 + 2] is [3], as Python computes it before TF sees it; an expression of a name is not a value
    check(ops("c: add(a, [1 + b])"), 5, "1 +", "entry [0] of the literal [1 + b] is '1 + b'", code="TG102")
    check(ops("c: add(a, [])"), 5, "[]", "the literal [] is an empty list", code="TG102")
    check(ops("c: add(a, [[[1]], [[1], 2]])"), 5, "[[1], 2]", "entry [1] of the literal [[[1]], [[1], 2]] has 2 entries but the lists at depth 2 have 1", code="TG102")
    check(ops("c: add(a, 1e999)"), 5, "1e999", "contains 1e999; values must be finite", code="TG102")
    check(ops("c: add(a, 99999999999999999999)"), 5, "9999", "too large to be exact", code="TG102")
    check(ops("c: {op: add, args: [a, [1, x]]}"), 5, "x]", "entry [1] of argument 2 of 'c' is a string 'x'", code="TG102")


# Errors inside large matrices: plain numbers take a fast path, and anything
# that it does not accept is read again entry by entry, so the first problem
# in file order is reported, at its own position.


def _matrix(rows: int, cols: int, bad: dict[tuple[int, int], str] | None = None, widths=None) -> str:
    """A block-style matrix under 'w' (row i on line 3 + i) with some entries replaced."""
    bad = bad or {}
    out = []
    for i in range(rows):
        n = (widths or {}).get(i, cols)
        out.append("    - [" + ", ".join(bad.get((i, j), f"{(i * cols + j) % 97 / 8:.3f}") for j in range(n)) + "]\n")
    return "variables:\n  w:\n" + "".join(out) + "ys: w\nxs: w\n"


@pytest.mark.parametrize(
    "entry, token, parts",
    [
        (".nan", ".nan", ["variable 'w' contains .nan; values must be finite numbers"]),
        ("-.inf", "-.inf", ["variable 'w' contains -.inf"]),
        ("1.0e+999", "1.0e+999", ["variable 'w' contains 1.0e+999"]),  # overflows while read fast
        ("1e999", "1e999", ["variable 'w' contains 1e999"]),
        ("true", "true", ["entry [39, 7] of variable 'w' is a boolean (true); expected a number"]),
        ("'1'", "'1'", ["entry [39, 7] of variable 'w' is a string '1'; expected a number"]),
        ('"2.5"', '"2.5"', ["entry [39, 7] of variable 'w' is a string '2.5'"]),
        ("null", "null", ["entry [39, 7] of variable 'w' is null"]),
        ("x", "x", ["entry [39, 7] of variable 'w' is a string 'x'"]),
        ("[1]", "[1]", ["entry [39, 7] of variable 'w' is a list but entry [0, 0] of variable 'w' is a number", "ragged at depth 3"]),
        ("{a: 1}", "{a", ["entry [39, 7] of variable 'w' is a mapping"]),
        ("9007199254740993", "9007199254740993", ["integer 9007199254740993 in variable 'w' is too large", "2**53"]),
        ("-12345678901234567890", "-1234", ["integer -12345678901234567890 in variable 'w' is too large"]),
    ],
)
def test_bad_entry_deep_in_a_big_matrix(entry, token, parts):
    text = _matrix(60, 20, {(39, 7): entry})
    check(text, 3 + 39, token, *parts, code="TG102")


def test_bad_entry_in_a_big_flow_list_and_a_literal_argument():
    nums = [f"{i / 4}" for i in range(500)]
    nums[321] = ".inf"
    text = f"variables:\n  w: [{', '.join(nums)}]\nys: w\nxs: w\n"
    check(text, 2, ".inf", "variable 'w' contains .inf", code="TG102")
    # booleans first, then a number: TF's "Can't convert Python sequence with mixed types"
    # (a number first makes the booleans numbers, as tf.constant([1, True]) does)
    flags = ["true"] * 500
    flags[321] = "0.5"
    text = f"variables:\n  w: [1]\nops:\n  c: {{op: add, args: [w, [{', '.join(flags)}]]}}\nys: c\nxs: w\n"
    check(text, 4, "0.5", "entry [321] of argument 2 of 'c' is a number but entry [0] is a boolean", code="TG102")


def test_ragged_rows_in_a_big_matrix():
    check(_matrix(50, 10, widths={30: 9}), 3 + 30, "[", "row [30] of variable 'w' has 9 entries, row [0] has 10", code="TG102")
    check(_matrix(50, 10, widths={30: 11}), 3 + 30, "[", "row [30] of variable 'w' has 11 entries, row [0] has 10", code="TG102")
    check(_matrix(50, 10, widths={49: 0}), 3 + 49, "[", "row [49] of variable 'w' is an empty list", code="TG102")
    rows = _matrix(5, 3).split("\n")
    rows[3] = "    - 2.5"  # row 2 is a number
    check("\n".join(rows), 4, "2.5", "row [1] of variable 'w' is a number; expected a list of numbers like row [0]", code="TG102")


def test_the_first_problem_in_file_order_is_reported():
    # a non-finite entry in row 3 comes before the ragged row 10
    check(_matrix(20, 5, {(2, 4): ".nan"}, widths={9: 4}), 3 + 2, ".nan", "contains .nan", code="TG102")
    # the ragged row 10 comes before a non-finite entry in row 12
    check(_matrix(20, 5, {(11, 0): ".nan"}, widths={9: 4}), 3 + 9, "[", "row [9] of variable 'w' has 4 entries", code="TG102")
    # within a row: the earlier entry
    check(_matrix(20, 5, {(4, 1): "true", (4, 3): ".inf"}), 3 + 4, "true", "entry [4, 1]", code="TG102")
    check(_matrix(20, 5, {(4, 1): "1e999", (4, 3): "true"}), 3 + 4, "1e999", "contains 1e999", code="TG102")
    # and across variables: the first one declared
    text = _matrix(5, 5, {(3, 3): "'1'"}).replace("ys: w", "  v: [1, .nan]\nys: w")
    check(text, 3 + 3, "'1'", "entry [3, 3] of variable 'w' is a string '1'", code="TG102")


def test_bad_values_in_grad_ys_expect_and_set():
    base = "variables:\n  w: [[1, 2]]\nys: w\nxs: w\n"
    check(base + "grad_ys: [[[1, .nan]]]\n", 5, ".nan", "grad_ys[0] contains .nan", code="TG102")
    check(base + "grad_ys: [[[1, 'x']]]\n", 5, "'x'", "entry [0, 1] of grad_ys[0] is a string 'x'", code="TG102")
    check(base + "expect:\n  w: [[1, 1.0e+999]]\n", 6, "1.0e+999", "expect 'w' contains 1.0e+999", code="TG102")
    check(base, 1, 6, "entry [0, 1] of --set w is a boolean (true)", source="<--set w>", set=(("w", "[[1, true]]"),), code="TG102")
    check(base, 1, 2, "integer 99999999999999999 in --set w is too large", source="<--set w>", set=(("w", "[99999999999999999]"),), code="TG102")


# --- op values ------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, found",
    [
        ("3", "a number (3): put values under variables or constants"),
        ("0.5", "a number (0.5): put values under variables or constants"),
        ("[[1, 2]]", "a list: put values under variables or constants"),
        ("true", "a boolean (true)"),
        ("null", "null"),
    ],
)
def test_op_value_of_the_wrong_kind(value, found):
    e = check(ops(f"c: {value}"), 5, value[0], "op 'c' must be an expression string or a mapping {op: ..., args: [...]}", code="TG102")
    assert f"found {found}" in e.message


# --- expressions: the whitelist -------------------------------------------------

REST = "; expressions may use names, numbers, lists, + - * / @ **, comparisons, & | ~, subscripts and calls of ops"


@pytest.mark.parametrize(
    "expr, token, parts, code",
    [
        ("os.system('echo hi')", "os", ["attribute access 'os.system' is not allowed" + REST], "TG104"),
        ("exp(a.T)", "a.T", ["attribute access 'a.T' is not allowed"], "TG104"),
        ("exp(lambda: 1)", "lambda", ["a lambda 'lambda: 1' is not allowed"], "TG104"),
        ("exp([x for x in a])", "[x", ["a list comprehension '[x for x in a]' is not allowed"], "TG104"),
        ("exp((x for x in a))", "(x", ["a generator expression"], "TG104"),
        ("__import__('os')", "__import__", ["'__import__' is not an op; `tfgrad schema` lists the ops"], "TG203"),
        ("exp('abc')", "'abc'", ["a string 'abc' is not allowed"], "TG104"),
        ("exp(a < b < a)", "a <", ["chained comparison 'a < b < a' is not supported", "(a < b) & (b < c)"], "TG104"),
        ("exp(a and b)", "a and", ["'and' is not supported; use & (logical_and)"], "TG104"),
        ("exp(a or b)", "a or", ["'or' is not supported; use | (logical_or)"], "TG104"),
        ("exp(a is b)", "a is", ["'is' is not supported"], "TG104"),
        ("add(*a)", "*a", ["a starred argument '*a' is not allowed"], "TG104"),
        ("exp(f'{a}')", "f'", ["an f-string"], "TG104"),
        ("exp(a if b else a)", "a if", ["a conditional expression"], "TG104"),
        ("exp((a, b))", "a,", ["entry [0] of the literal (a, b) is the name 'a'"], "TG102"),  # a tuple is a list
        ("exp({a: b})", "{", ["a dict"], "TG104"),
        ("exp(1j)", "1j", ["a complex number '1j' is not allowed"], "TG104"),
        ("exp(b'x')", "b'", ["a bytes literal"], "TG104"),
        ("exp(...)", "...", ["'...' is not allowed where a tensor goes"], "TG104"),
        ("(a := b)", "a :=", ["an assignment expression"], "TG104"),
        ("a // b", "//", ["operator '//' is not supported" + REST], "TG104"),
        ("a % b", "%", ["operator '%' is not supported"], "TG104"),
        ("(a) ^ 2", "^", ["operator '^' is not supported (a power is written **)"], "TG104"),
        ("not a", "not", ["operator 'not' is not supported (use ~ for logical_not)"], "TG104"),
        ("a << b", "<<", ["operator '<<' is not supported"], "TG104"),
        ("exp(a)(b)", "exp", ["a call of an expression 'exp(a)' is not allowed"], "TG104"),
        ("add(a, None)", "None", ["'None' is only allowed as an attribute value"], "TG104"),
        ("exp", "exp", ["'exp' is an op; call it: exp(x)"], "TG104"),
    ],
)
def test_expression_whitelist(expr, token, parts, code):
    text = ops(f'c: "{expr}"')
    check(text, 5, token, *parts, code=code)


def test_unknown_op_and_name_suggestions():
    check(ops("c: tanhh(a)"), 5, "tanhh", "'tanhh' is not an op (did you mean 'tanh'?)", code="TG203")
    check(ops("c: mat_mul(a, b)"), 5, "mat_mul", "(did you mean 'matmul'?)", code="TG203")
    check(ops("c: a(b)"), 5, "a(", "'a' is a variable, not an op; only ops can be called", code="TG203")
    check(ops("c: matmul(a, bb)"), 5, "bb", "unknown name 'bb' in op 'c' (did you mean 'b'?)", code="TG103")
    check(ops("c: exp(zzz)"), 5, "zzz", "unknown name 'zzz' in op 'c'", code="TG103")
    e = check(ops("c: exp(zzz)"), 5, "zzz", code="TG103")
    assert "did you mean" not in e.message


def test_syntax_errors_point_into_the_expression():
    check(ops("c: matmul(a, b"), 5, "(", "invalid expression: '(' was never closed", code="TG104")
    check(ops("c: a +* b"), 5, "*", "invalid expression", code="TG104")
    check(ops("c: 'a + )'"), 5, ")", "invalid expression: unmatched ')'", code="TG104")
    check(ops("c: ' '"), 5, "'", "op 'c' is an empty expression", code="TG104")
    check(ops('c: "a\\0"'), 5, "a", "cannot contain NUL", code="TG104")


def test_keyword_named_node_hint():
    # Python reads 'lambda +' as a broken lambda and points at the '+'
    text = "variables: {lambda: 1}\nops:\n  c: lambda + 1\nys: c\nxs: lambda\n"
    check(text, 3, "+", "invalid expression: invalid syntax", "'lambda' is a Python keyword", "args: [lambda, ...]", code="TG104")


def test_python_keyword_name_in_expression():
    text = "variables: {if: 1}\nops:\n  c: if + 1\nys: c\nxs: if\n"
    check(text, 3, "if", "invalid expression", "'if' is a Python keyword", "mapping form", code="TG104")


def test_expression_size_and_depth_limits():
    check(ops("c: " + "a + " * 25_000 + "a"), 5, "a", "has 100,001 characters; the limit is 100,000", code="TG104")
    check(ops("c: " + "-" * 300 + "a"), 5, 206, "nested more than 200 levels deep", code="TG104")
    check(ops("c: " + "a ** " * 300 + "a"), 5, 6 + 5 * 200, "nested more than 200 levels deep", code="TG104")
    check(ops("c: " + "(" * 250 + "a" + ")" * 250), 5, 206, "too many nested parentheses", code="TG104")
    check(ops("c: " + "-" * 20_000 + "a"), 5, 6 + 201, "nested too deeply to parse", code="TG104")
    check(ops("c: " + "a ** " * 15_000 + "a"), 5, 6, "nested too deeply to parse", code="TG104")


def test_150_nested_calls_parse():
    g = parse_graph(ops("c: " + "exp(" * 150 + "a" + ")" * 150))
    assert g.nodes["c"].op == "exp" and len(g.nodes) == 152


# --- attributes and arity ---------------------------------------------------------


@pytest.mark.parametrize(
    "expr, token, parts, code",
    [
        ("matmul(a, b, transpose_bb=true)", "transpose_bb", ["matmul has no parameter 'transpose_bb' (did you mean 'transpose_b'?)", "matmul(a, b, transpose_a=False"], "TG203"),
        ("tanh(a, axis=1)", "axis", ["tanh has no parameter 'axis'; tanh(x)"], "TG203"),
        ("reduce_sum(a, keepdims=1)", "1", ["reduce_sum: keepdims must be true or false, got 1"], "TG203"),
        ("reduce_sum(a, keepdims=null)", "null", ["must be true or false, got null"], "TG203"),
        ("reduce_sum(a, axis=true)", "true", ["reduce_sum: axis must be null, an int or a list of ints, got true"], "TG203"),
        ("reduce_sum(a, axis=1.0)", "1.0", ["got 1.0"], "TG203"),
        ("reduce_sum(a, axis=[0, 1.5])", "[", ["got [0, 1.5]"], "TG203"),
        ("reduce_sum(a, axis=b)", "b)", ["reduce_sum: axis must be null, an int or a list of ints, got 'b'"], "TG203"),
        ("reduce_sum(a, axis=1+b)", "1+", ["got '1+b'"], "TG203"),
        ("reduce_sum(a, 1, True, 3)", "3)", ["reduce_sum takes at most 3 arguments; found 4: reduce_sum(input_tensor, axis=None, keepdims=False)"], "TG203"),
        ("matmul(transpose_a=true)", "matmul", ["matmul is missing the argument 'a'"], "TG203"),
        ("matmul(a)", "matmul", ["matmul is missing the argument 'b'"], "TG203"),
        ("matmul(a, b, a)", "a)", ["matmul: transpose_a must be true or false, got 'a'"], "TG203"),
        ("tanh()", "tanh", ["tanh is missing the argument 'x': tanh(x)"], "TG203"),
        ("add_n()", "add_n", ["add_n is missing the argument 'inputs'"], "TG203"),
        ("reduce_sum(a, **b)", "**", ["'**' arguments are not allowed"], "TG104"),
        ("reduce_sum(a, axis=1, axis=0)", "axis=0", ["reduce_sum: argument 'axis' is given twice"], "TG203"),
        ("reduce_sum(a, 1, axis=0)", "axis=0", ["reduce_sum: argument 'axis' is given by position and as axis="], "TG203"),
        ("exp(a, x=1)", "x=", ["exp: argument 'x' is given by position and as x="], "TG203"),
    ],
)
def test_attribute_and_arity_errors(expr, token, parts, code):
    check(ops(f'c: "{expr}"'), 5, token, *parts, code=code)


def test_argument_as_keyword():
    check(ops("c: 'matmul(a, a, b=b)'"), 5, "b=", "matmul: argument 'b' is given by position and as b=", code="TG203")
    check(ops("c: 'exp(a, x=b)'"), 5, "x=", "exp: argument 'x' is given by position and as x=", code="TG203")


# --- the mapping form -----------------------------------------------------------


@pytest.mark.parametrize(
    "value, line_token, parts, code",
    [
        ("{args: [a]}", "{", ["op 'c' needs 'op: NAME'"], "TG102"),
        ("{op: matmull, args: [a, b]}", "matmull", ["unknown op 'matmull' (did you mean 'matmul'?)"], "TG203"),
        ("{op: 3, args: [a]}", "3", ["'op' of 'c' must be an op name; found a number (3)"], "TG102"),
        ("{op: exp}", "{", ["exp is missing the argument 'x': exp(x)"], "TG203"),
        ("{op: exp, args: a}", "a}", ["'args' of 'c' must be a list [ARG, ...] of names or values; found a string 'a'"], "TG102"),
        ("{op: matmul, args: [a]}", "{", ["matmul is missing the argument 'b'"], "TG203"),
        ("{op: add, args: [a, zz]}", "zz", ["unknown name 'zz' in op 'c'"], "TG103"),
        ("{op: add, args: [a, bb]}", "bb", ["(did you mean 'b'?)"], "TG103"),
        ("{op: add, args: [a, a+b]}", "a+b", ["argument 2 of 'c' is 'a+b', which is not a name", "needs its own entry under ops"], "TG103"),
        ("{op: add, args: [a, null]}", "null", ["argument 2 of 'c' is null; expected a node name or a value"], "TG102"),
        ("{op: add, args: [a, null]}", "null", ["argument 2 of 'c' is null"], "TG102"),
        ("{op: add, args: [a, {x: 1}]}", "x: 1", ["unknown key 'x' in the value mapping of argument 2 of 'c'"], "TG102"),
        ("{op: matmul, args: [a, b], transpose: true}", "transpose:", ["matmul has no parameter 'transpose' (did you mean 'transpose_"], "TG203"),
        ("{op: exp, args: [a], axis: 1}", "axis", ["exp has no parameter 'axis'; exp(x)"], "TG203"),
        ("{op: matmul, args: [a, b], transpose_a: 1}", "1}", ["matmul: transpose_a must be true or false, got 1"], "TG203"),
        ("{op: reduce_sum, args: [a], axis: x}", "x}", ["reduce_sum: axis must be null, an int or a list of ints, got 'x'"], "TG203"),
        ("{op: reduce_sum, args: [a], axis: [1, x]}", "[1", ["got [1, 'x']"], "TG203"),
        ("{op: matmul, args: [a, b, a]}", "a]", ["matmul: transpose_a must be true or false, got 'a'"], "TG203"),
        ("{op: reduce_sum, args: [a, 1, true, 3]}", "3]", ["reduce_sum takes at most 3 arguments; found 4"], "TG203"),
        ("{op: exp, args: [a], 3: 1}", "3:", ["a key in op 'c' must be a string; found a number (3)"], "TG102"),
    ],
)
def test_mapping_form_errors(value, line_token, parts, code):
    check(ops(f"c: {value}"), 5, line_token, *parts, code=code)


def test_flow_mapping_comma_pitfall():
    text = HEAD + "ops: {c: matmul(a, b)}\nys: c\nxs: a\n"
    check(
        text,
        4,
        "matmul",
        "in a YAML flow mapping {...} a comma ends the value, so 'matmul(a, b)' was cut to 'matmul(a'",
        "write the op in block style (c: matmul(a, b)) or quote it ({c: \"matmul(a, b)\"})",
        code="TG101",
    )
    text = HEAD + "ops: {d: exp(a), c: add(exp(a), matmul(a, b)), e: a}\nys: c\nxs: a\n"
    check(text, 4, "add", "'add(exp(a), matmul(a, b))' was cut to 'add(exp(a)'", code="TG101")


def test_flow_pitfall_with_nested_brackets_is_a_yaml_error_with_a_hint():
    text = HEAD + "ops: {c: matmul(a, [[1], [2]])}\nys: c\nxs: a\n"
    with pytest.raises(GraphError) as e:
        parse_graph(text)
    assert "invalid YAML" in e.value.message and "block style" in e.value.message


def test_flow_list_hint_in_mapping_args():
    check(ops("c: {op: add_n, args: [exp(a, b)]}"), 5, "exp", "is not a name", "a comma ends the item", code="TG103")


# --- ys, xs, grad_ys, stop_gradients, unconnected, expect, tolerance ------------


def test_ys_and_xs_errors():
    check(ops("c: a", tail="ys: cc\nxs: a\n"), 6, "cc", "unknown name 'cc' in ys (did you mean 'c'?)", code="TG103")
    check(ops("c: a", tail="ys: c\nxs: [a, bb]\n"), 7, "bb", "unknown name 'bb' in xs (did you mean 'b'?)", code="TG103")
    check(ops("c: a", tail="ys: []\nxs: a\n"), 6, "[", "ys is an empty list; expected at least one name", code="TG102")
    check(ops("c: a", tail="ys: 3\nxs: a\n"), 6, "3", "ys must be a name or a list of names; found a number (3)", code="TG102")
    check(ops("c: a", tail="ys: c\nxs: [a, {b: 1}]\n"), 7, "{", "xs must be a name or a list of names; found a mapping", code="TG102")
    check(ops("c: a", tail="ys: c\nxs: 'a b'\n"), 7, "'", "found 'a b'", code="TG102")
    check(ops("c: a", tail="ys: c\nxs: c/add_1\n"), 7, "c/", "found 'c/add_1'", code="TG102")


def test_grad_ys_errors():
    t = "ys: [c, c]\nxs: a\n"
    check(ops("c: a", tail=t + "grad_ys: [[1, 2]]\n"), 8, "[", "grad_ys has 1 entry but ys has 2: give one entry per y", code="TG204")
    check(ops("c: a", tail="ys: c\nxs: a\ngrad_ys: [1, 2]\n"), 8, "[", "grad_ys has 2 entries but ys has 1", code="TG204")
    check(ops("c: a", tail="ys: c\nxs: a\ngrad_ys: 3\n"), 8, "3", "grad_ys must be a list with one entry per y", "found a number (3)", code="TG204")
    check(ops("c: a", tail=t + "grad_ys: [gg, null]\n"), 8, "gg", "unknown name 'gg' in grad_ys", code="TG103")
    check(ops("c: a", tail=t + "grad_ys: [bb, null]\n"), 8, "bb", "(did you mean 'b'?)", code="TG103")
    check(ops("c: a", tail=t + "grad_ys: [true, null]\n"), 8, "true", "grad_ys[0] must be a number, a list", "found a boolean", code="TG102")
    check(ops("c: a", tail=t + "grad_ys: [[[1], [2, 3]], null]\n"), 8, "[2", "row [1] of grad_ys[0] has 2 entries", code="TG102")
    check(ops("c: a", tail=t + "grad_ys: ['1 + 1', null]\n"), 8, "'", "grad_ys[0] must be a value, a name or null", code="TG204")


def test_stop_unconnected_errors():
    check(ops("c: a", tail="ys: c\nxs: a\nstop_gradients: [b, q]\n"), 8, "q", "unknown name 'q' in stop_gradients", code="TG103")
    check(ops("c: a", tail="ys: c\nxs: a\nunconnected_gradients: zeros\n"), 8, "zeros", "unconnected_gradients must be none or zero (did you mean 'zero'?); found 'zeros'", code="TG102")
    check(ops("c: a", tail="ys: c\nxs: a\nunconnected_gradients: 0\n"), 8, "0", "found a number (0)", code="TG102")
    check(ops("c: a", tail="ys: c\nxs: a\nunconnected_gradients: None\n"), 8, "None", "(did you mean 'none'?)", code="TG102")


def test_expect_errors():
    t = "ys: c\nxs: [a, b]\n"
    check(ops("c: a", tail=t + "expect:\n  aa: 1\n"), 9, "aa", "expect names 'aa', which is not in xs (did you mean 'a'?)", code="TG103")
    check(ops("c: a", tail=t + "expect:\n  c: 1\n"), 9, "c", "expect names 'c', which is not in xs", code="TG103")
    check(ops("c: a", tail=t + "expect:\n  a: [1, x]\n"), 9, "x", "entry [1] of expect 'a' is a string 'x'", code="TG102")
    check(ops("c: a", tail=t + "expect: [a]\n"), 8, "[", "expect must be a mapping x-name -> expected gradient", code="TG102")


def test_tolerance_errors():
    t = "ys: c\nxs: a\n"
    check(ops("c: a", tail=t + "tolerance: {rtl: 1}\n"), 8, "rtl", "unknown tolerance key 'rtl' (did you mean 'rtol'?)", "keys are rtol and atol", code="TG102")
    check(ops("c: a", tail=t + "tolerance: {rtol: -1}\n"), 8, "-1", "rtol must be a non-negative finite number; found a number (-1)", code="TG102")
    check(ops("c: a", tail=t + "tolerance: {atol: .inf}\n"), 8, ".inf", "atol must be a non-negative finite number", code="TG102")
    check(ops("c: a", tail=t + "tolerance: {atol: '1e-3'}\n"), 8, "'", "found a string '1e-3'", code="TG102")
    check(ops("c: a", tail=t + "tolerance: {atol: true}\n"), 8, "true", "found a boolean (true)", code="TG102")
    check(ops("c: a", tail=t + "tolerance: 1e-6\n"), 8, "1e-6", "tolerance must be a mapping {rtol: 1e-7, atol: 1e-9}", "found a number (1e-6)", code="TG102")
    big = "9" * 400  # an integer beyond float64: an error, not an OverflowError
    check(ops("c: a", tail=t + f"tolerance: {{atol: {big}}}\n"), 8, "9", "atol must be a non-negative finite number", code="TG102")
    check(ops("c: a", tail=t + f"tolerance: {{atol: -{big}}}\n"), 8, "-", "atol must be a non-negative finite number", code="TG102")


def test_name_and_description_must_be_text():
    check(ops("c: a", tail="ys: c\nxs: a\nname: [x]\n"), 8, "[", "name must be text; found a list", code="TG102")
    check(ops("c: a", tail="ys: c\nxs: a\ndescription: {a: 1}\n"), 8, "{", "description must be text; found a mapping", code="TG102")


# --- cycles ---------------------------------------------------------------------


def test_cycles_are_reported_by_user_names():
    text = ops("c: exp(d)", "d: tanh(c) + a")
    check(text, 5, "d)", "cycle: c -> d -> c", code="TG201")
    check(ops("c: c + 1"), 5, "c +", "cycle: c -> c", code="TG201")
    check(ops("c: {op: exp, args: [e]}", "d: c * 2", "e: d - 1"), 5, "e]", "cycle: c -> e -> d -> c", code="TG201")


def test_cycle_through_a_long_chain_is_found():
    n = 10_000
    lines = [f"h{i}: exp(h{i - 1})" for i in range(2, n + 1)]
    text = HEAD + "ops:\n  h1: exp(h10000)\n" + "".join(f"  {x}\n" for x in lines) + "ys: h1\nxs: a\n"
    e = check(text, 5, "h10000", "cycle: h1 -> h10000 -> h9999", code="TG201")
    assert len(e.message) < 300_000


# --- overrides ------------------------------------------------------------------

TUT = HEAD + "ops:\n  c: a @ b\n  d: exp(c)\nys: [c, d]\nxs: [a, b]\ngrad_ys: [null, null]\nexpect: {a: null}\n"


def test_set_override_errors():
    check(TUT, 1, 1, "--set aa: no variable or constant named 'aa' (did you mean 'a'?)", source="<--set aa>", set=(("aa", "1"),), code="TG103")
    check(TUT, 1, 1, "'c' is an op; --set replaces the value of a variable or constant", source="<--set c>", set=(("c", "1"),), code="TG103")
    check(TUT, 1, 6, "entry [0, 1] of --set a is a string 'x'", source="<--set a>", set=(("a", "[[1, x]]"),), code="TG102")
    check(TUT, 1, 4, "invalid YAML", source="<--set a>", set=(("a", "[[1"),), code="TG101")
    check(TUT, 1, 1, "--set a: no value given", source="<--set a>", set=(("a", ""),), code="TG102")
    check(TUT, 1, 1, "YAML tag '!!python/object/apply:os.system' is not allowed", source="<--set a>", set=(("a", "!!python/object/apply:os.system [ls]"),), code="TG101")


def test_list_override_errors():
    check(TUT, 1, 3, "unknown name 'dd' in ys (did you mean 'd'?)", source="<--ys>", ys=("c", "dd"), code="TG103")
    check(TUT, 1, 1, "ys is an empty list", source="<--ys>", ys=(), code="TG102")
    check(TUT, 1, 3, "unknown name 'q' in xs", source="<--xs>", xs=("a", "q"), code="TG103")
    check(TUT, 1, 1, "found 'a b'", source="<--stop>", stop=("a b",), code="TG102")
    check(TUT, 1, 1, "unconnected_gradients must be none or zero (did you mean 'zero'?)", source="<--unconnected>", unconnected="zeros", code="TG102")


def test_overrides_that_break_other_keys_say_so():
    check(TUT, 9, "[", "grad_ys has 2 entries but ys has 1", "--ys replaced ys", ys=("c",), code="TG204")


def test_xs_override_drops_expectations_of_removed_xs():
    g = parse_graph(TUT, "t.yaml", Overrides(xs=("b",)))
    assert [x.name for x in g.xs] == ["b"]
    assert all(e.name == "b" for e in g.expect)


# --- the API contract -------------------------------------------------------------


def test_no_other_exception_types_on_weird_python_input():
    with pytest.raises(GraphError):
        parse_graph(b"variables: {a: 1}")  # type: ignore[arg-type]
    for text in ["\ud800", "variables: {a: '\ud800'}", "\ufeffvariables: [", "a: b: c", "&a [*a]", "%YAML 9.9\n---\na"]:
        with pytest.raises(GraphError):
            parse_graph(text)
