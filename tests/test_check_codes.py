"""Problem codes: every kind of invalid input the engine rejects gets its
stable code (through the real parser and engine: each raise names its code,
and a raise that names another shows here), and every graphs/invalid example
shows its code at its line and column."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tfgrad import check
from tfgrad.commands import cli

ROOT = Path(__file__).resolve().parent.parent
INVALID = ROOT / "graphs" / "invalid"

HEAD = "variables: {a: [[1, 2]], b: [[3], [4]], v: [1, 2, 3]}\nys: y\nxs: a\n"


def code_of(text: str) -> tuple[str, int | None, int | None, str]:
    r = check.check_text(text, "t.yaml", check.Options(gradcheck=False))
    assert r.problems, "no problem found"
    p = r.problems[0]
    return p.code, p.line, p.col, p.message


CASES = [
    # TG101 YAML
    ("TG101", "variables: {a: [1, 2}\n"),
    ("TG101", "variables:\n  a: 1\n\tb: 2\n"),
    ("TG101", "a: !!python/object:os.system 1\n"),
    ("TG101", "ys: y\n---\nxs: a\n"),
    ("TG101", "variables: {a: *nope}\n"),
    ("TG101", HEAD + "ops: {y: matmul(a, b)}\n"),
    ("TG101", "variables: {a: 1}\nname: a: b\n"),
    # TG102 schema
    ("TG102", HEAD + "ops: {y: square(a)}\nexpcet: {a: 1}\n"),
    ("TG102", "variables: {a: 1}\nops: {y: square(a)}\nxs: a\n"),
    ("TG102", "ops: {y: square(a)}\nys: y\nxs: a\n"),
    ("TG102", ""),
    ("TG102", "- 1\n- 2\n"),
    ("TG102", "variables: {a: [[1, 2], [3]]}\nys: a\nxs: a\n"),
    ("TG102", "variables: {a: [[[1]], [2]]}\nys: a\nxs: a\n"),
    ("TG102", "variables: {a: true}\nys: a\nxs: a\n"),
    ("TG102", "variables: {a: .nan}\nys: a\nxs: a\n"),
    ("TG102", "variables: {a: []}\nys: a\nxs: a\n"),
    ("TG102", "variables: {a: 'x'}\nys: a\nxs: a\n"),
    ("TG102", "variables: {a: 1}\nys: a\nxs: a\nunconnected_gradients: zeros\n"),
    ("TG102", "variables: {a: 1}\nys: a\nxs: a\ntolerance: {rtol: -1}\n"),
    ("TG102", "variables: {a: 1}\nys: a\nxs: a\ntolerance: {rtl: 1}\n"),
    ("TG102", "variables: {a: 1}\nys: []\nxs: a\n"),
    ("TG102", HEAD + "ops:\n  y: 3\n"),
    ("TG102", HEAD + "ops:\n  y: {args: [a]}\n"),
    ("TG102", HEAD + "ops:\n  y: {op: square, args: a}\n"),
    ("TG102", "variables: {a: 1}\nys: a\nxs: a\nname: [1]\n"),
    ("TG102", "variables: {a: 1}\nys: a\nxs: a\nys: a\n"),
    # TG103 names
    ("TG103", HEAD + "ops:\n  y: square(aa)\n"),
    ("TG103", "variables: {a: 1}\nconstants: {a: 2}\nys: a\nxs: a\n"),
    ("TG103", "variables: {a: 1, a: 2}\nys: a\nxs: a\n"),
    ("TG103", "variables: {1a: 1}\nys: 1a\nxs: 1a\n"),
    ("TG103", "variables: {a: 1}\nys: a\nxs: b\n"),
    ("TG103", "variables: {a: 1}\nys: a\nxs: a\nexpect: {c: 1}\n"),
    ("TG103", "variables: {a: 1}\nys: a\nxs: a\nstop_gradients: [q]\n"),
    ("TG103", HEAD + "ops:\n  y: {op: square, args: ['a b']}\n"),
    # TG104 expressions
    ("TG104", HEAD + "ops:\n  y: a ^ 2\n"),
    ("TG104", HEAD + "ops:\n  y: a +\n"),
    ("TG104", HEAD + "ops:\n  y: a.T\n"),
    ("TG104", HEAD + "ops:\n  y: square + a\n"),
    ("TG104", HEAD + "ops:\n  y: a + null\n"),
    ("TG104", HEAD + "ops:\n  y: \"[x for x in a]\"\n"),
    ("TG104", HEAD + "ops:\n  y: \"'s' + a\"\n"),
    # TG201 cycle
    ("TG201", HEAD + "ops:\n  y: square(z)\n  z: exp(y)\n"),
    ("TG201", HEAD + "ops:\n  y: y + a\n"),
    # TG202 shapes
    ("TG202", HEAD + "ops:\n  y: a @ a\n"),
    ("TG202", HEAD + "ops:\n  y: a + v\n"),
    ("TG202", HEAD + "ops:\n  y: matmul(v, b)\n"),
    ("TG202", HEAD + "ops:\n  y: add_n(a, b)\n"),
    # TG203 op calls
    ("TG203", HEAD + "ops:\n  y: squar(a)\n"),
    ("TG203", HEAD + "ops:\n  y: {op: matmull, args: [a, b]}\n"),
    ("TG203", HEAD + "ops:\n  y: square(a, b)\n"),
    ("TG203", HEAD + "ops:\n  y: add_n()\n"),
    ("TG203", HEAD + "ops:\n  y: matmul(a, b, transpose=true)\n"),
    ("TG203", HEAD + "ops:\n  y: matmul(a, b, transpose_a=1)\n"),
    ("TG203", HEAD + "ops:\n  y: reduce_sum(a, axis=5)\n"),
    ("TG203", HEAD + "ops:\n  y: reduce_sum(v, axis=1)\n"),
    ("TG203", HEAD + "ops:\n  y: {op: square, args: [a], keepdims: true}\n"),
    ("TG203", HEAD + "ops:\n  y: a(b)\n"),
    ("TG203", HEAD + "ops:\n  y: matmul(a, a=b)\n"),
    ("TG203", HEAD + "ops:\n  y: {op: square}\n"),
    ("TG203", HEAD + "ops:\n  y: ctc_loss(a)\n"),  # a TF op tfgrad does not have
    # TG204 grad_ys
    ("TG204", HEAD + "ops:\n  y: square(a)\ngrad_ys: [1, 2]\n"),
    ("TG204", HEAD + "ops:\n  y: square(a)\ngrad_ys: [[1, 2, 3]]\n"),
    ("TG204", HEAD + "ops:\n  y: square(a)\ngrad_ys: 1\n"),
    ("TG204", HEAD + "ops:\n  y: square(a)\ngrad_ys: [v]\n"),
]


@pytest.mark.parametrize("code, text", CASES, ids=[f"{c}-{i}" for i, (c, _) in enumerate(CASES)])
def test_engine_errors_get_their_code(code, text):
    got, line, col, message = code_of(text)
    assert got == code, message
    assert line is not None and col is not None, message


def test_every_engine_code_has_a_case():
    engine_codes = {c for c in check.CODES if c[2] in "12" and c not in ("TG100", "TG105")}
    assert engine_codes == {c for c, _ in CASES}


# ---------------------------------------------------------------- graphs/invalid

# file -> (code, line, col) it shows; each file says so in a comment too.
EXAMPLES = {
    "yaml-syntax.yaml": ("TG101", 6, 3),
    "unknown-key.yaml": ("TG102", 10, 1),
    "unknown-name.yaml": ("TG103", 7, 24),
    "expression-syntax.yaml": ("TG104", 7, 19),
    "cycle.yaml": ("TG201", 6, 10),
    "matmul-shape.yaml": ("TG202", 8, 6),
    "broadcast.yaml": ("TG202", 8, 8),
    "wrong-arity.yaml": ("TG203", 7, 16),  # at the argument too many
    "bad-attribute.yaml": ("TG203", 11, 5),
    "grad-ys-length.yaml": ("TG204", 11, 10),
    "wrong-expect.yaml": ("TG301", 11, 3),
    "expect-none.yaml": ("TG302", 14, 3),
    "kink.yaml": ("TG402", 11, 5),
}


def test_examples_are_all_listed():
    assert sorted(p.name for p in INVALID.glob("*.yaml")) == sorted(EXAMPLES)


def test_examples_cover_every_code_the_engine_and_checks_produce():
    # TG303 needs --require-expect and TG401 a wrong engine (tested in
    # test_check_cli); TG001/TG002/TG100/TG105 are not about a graph.
    shown = {code for code, _, _ in EXAMPLES.values()}
    assert shown == set(check.CODES) - {"TG001", "TG002", "TG100", "TG105", "TG303", "TG401"}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_shows_its_problem(name):
    path = INVALID / name
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# "), "each example starts with a comment saying what it shows"
    r = check.check_target(check.Target(str(path)), check.Options(directives=False))
    code, line, col = EXAMPLES[name]
    assert [(p.code, p.line, p.col) for p in r.problems] == [(code, line, col)], r.problems
    # its comment declares the same problem, so `tfgrad check graphs/` passes
    (d,) = check.directives(text)
    assert d.code == code and d.line in (None, line) and d.col in (None, col)
    assert check.check_target(check.Target(str(path))).passed


def test_check_of_invalid_directory():
    result = CliRunner().invoke(cli, ["check", str(INVALID)], env={"GITHUB_ACTIONS": ""})
    assert result.exit_code == 0, result.output
    n = len(EXAMPLES)
    assert result.output == f"{n} files checked: 1 passed, 0 failed, {n - 1} failed as expected\n"
    result = CliRunner().invoke(cli, ["check", "--no-expected-problems", str(INVALID)])
    assert result.exit_code == 1
    assert result.output.endswith(f"{n} files checked: 1 passed, {n - 1} failed; 1 note\n")


def test_expected_problems_of_checks_not_run_are_not_required():
    for args in (["--no-gradcheck"], ["--select", "TG1,TG2"], ["--ignore", "TG402"]):
        result = CliRunner().invoke(cli, ["check", *args, str(INVALID)])
        assert result.exit_code == 0, (args, result.output)


def test_unmatched_expected_problem_fails(tmp_path):
    p = tmp_path / "x.yaml"
    p.write_text((INVALID / "cycle.yaml").read_text().replace("TG201", "TG202"))
    result = CliRunner().invoke(cli, ["check", str(p)])
    assert result.exit_code == 1
    assert f"{p}:6:10: TG201 cycle: a -> b -> a" in result.output
    assert f"{p}:2:1: TG002 expected problem TG202 was not reported" in result.output
