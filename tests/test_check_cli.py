"""``tfgrad check`` end to end through click's CliRunner: expect, the
finite-difference check, exit codes, formats, flags, parallel runs."""

from __future__ import annotations

import json
import re
import textwrap
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from click.testing import CliRunner

from tfgrad import check
from tfgrad.commands import cli

from helpers import CONTRACT_EXAMPLE

TUTORIAL = CONTRACT_EXAMPLE

WRONG_EXPECT = TUTORIAL.replace("w1: [[6, 9]]", "w1: [[6, 9.5]]")  # line 16, col 3


def invoke(args, input=None, env=None):
    env = {"GITHUB_ACTIONS": "", "NO_COLOR": "", "FORCE_COLOR": "", **(env or {})}
    return CliRunner().invoke(cli, ["check", *args], input=input, env=env)


@pytest.fixture
def write(tmp_path):
    def write(name: str, text: str) -> str:
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text))
        return str(p)

    return write


def report(text: str, **options):
    return check.check_text(textwrap.dedent(text), "t.yaml", check.Options(**options))


def codes(r):
    return [(p.code, p.line, p.col) for p in r.problems]


# ---------------------------------------------------------------- expect


def test_tutorial_passes(write):
    path = write("tutorial.yaml", TUTORIAL)
    result = invoke([path])
    assert result.exit_code == 0, result.output
    assert result.output == "1 file checked: 1 passed, 0 failed\n"


def test_tutorial_every_check_passes():
    r = report(TUTORIAL)
    assert [(c.name, c.status) for c in r.checks] == [
        ("validate", "passed"),
        ("expect w1", "passed"),
        ("gradcheck w1", "passed"),
        ("expect w2", "passed"),
        ("gradcheck w2", "passed"),
    ]


def test_wrong_expect(write):
    path = write("wrong.yaml", WRONG_EXPECT)
    result = invoke([path])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == (
        f"{path}:16:3: TG301 gradient of 'w1'[0, 1] is 9, expected 9.5 "
        "(difference 0.5, tolerance 9.51e-07); 1 of 2 elements differ"
    )
    assert lines[-1] == "1 file checked: 0 passed, 1 failed"


def test_expect_tolerance_from_file():
    loose = WRONG_EXPECT + "tolerance: {rtol: 0.1, atol: 0}\n"
    assert report(loose).passed
    assert not report(WRONG_EXPECT).passed


def test_expect_shape_mismatch():
    r = report(TUTORIAL.replace("w1: [[6, 9]]", "w1: [6, 9]"))
    assert codes(r) == [("TG301", 16, 3)]
    assert r.problems[0].message == "expect for 'w1' has shape (2,), the gradient has shape (1, 2)"


UNCONNECTED = """\
variables: {a: 2.0, b: 3.0}
ops:
  y: square(a)
ys: y
xs: [a, b]
expect:
  a: 4
  b: B
"""


def unconnected(b: str) -> str:
    return UNCONNECTED.replace("B", b)


def test_expect_none_vs_value():
    assert report(unconnected("null")).passed
    r = report(unconnected("0"))
    assert codes(r) == [("TG302", 8, 3)]
    assert "it is None" in r.problems[0].message
    r = report(unconnected("null").replace("  a: 4", "  a: null"))
    assert codes(r) == [("TG302", 7, 3)]
    assert "has one of shape ()" in r.problems[0].message


def test_unconnected_zero_compares_as_zeros():
    text = unconnected("0") + "unconnected_gradients: zero\n"
    assert report(text).passed


def test_require_expect(write):
    text = unconnected("null").replace("  b: null\n", "")
    path = write("partial.yaml", text)
    assert invoke([path]).exit_code == 0
    result = invoke(["--require-expect", path])
    assert result.exit_code == 1
    assert f"{path}:5:9: TG303 xs entry 'b' has no expected gradient in expect" in result.output


# ---------------------------------------------------------------- gradcheck


def test_gradcheck_smooth_ops():
    text = """\
    variables:
      x: [[0.3, -1.2], [2.0, 0.7]]
      w: [[0.5], [-0.25]]
      b: [0.1]
    ops:
      h: tanh(x @ w + b)
      s: sigmoid(h) * exp(h) + log(square(x) + 1)
      m: reduce_mean(s, axis=0)
      r: pow(abs(x) + 1, 1.5) / sqrt(square(x) + 2)
      y: reduce_sum(m) + reduce_sum(r) + reduce_sum(maximum(x, 0.1) - minimum(x, -1))
    ys: y
    xs: [x, w, b, h]
    """
    r = report(text)
    assert r.passed, r.problems
    assert r.problems == ()
    details = {c.name: c.detail for c in r.checks}
    assert details["gradcheck x"].startswith("4 of 4 elements checked")


def test_gradcheck_holds_stop_gradients():
    text = """\
    variables: {a: 2.0, b: 3.0}
    ops:
      c: a * b
      d: c * a
      e: stop_gradient(d) * a + d
    ys: e
    xs: [a, b, c, d]
    stop_gradients: [c]
    grad_ys: [2.0]
    """
    r = report(text)
    assert r.passed and r.problems == (), r.problems


def test_gradcheck_grad_ys_by_name_is_held_fixed():
    text = """\
    variables: {x: [1.0, 2.0]}
    ops:
      y: square(x)
      g: x * 3
    ys: y
    xs: x
    grad_ys: [g]
    """
    r = report(text)
    assert r.passed and r.problems == (), r.problems


def test_kink_is_a_note(write):
    path = write("kink.yaml", """\
    variables: {x: [0.0, 1.0]}
    ops:
      y: relu(x)
    ys: y
    xs: x
    """)
    result = invoke([path])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].startswith(f"{path}:5:5: TG402 note: finite-difference check of 'x'[0] "
                               "is inconclusive at a kink")
    assert "one-sided differences 1 (forward) and 0 (backward), gradient 0" in lines[0]
    assert lines[1] == "1 file checked: 1 passed, 0 failed; 1 note"
    assert invoke(["-q", path]).output == "1 file checked: 1 passed, 0 failed; 1 note\n"


def test_non_finite_is_a_note():
    r = report("""\
    variables: {x: 0.0}
    ops:
      y: sqrt(x)
    ys: y
    xs: x
    """)
    assert r.passed
    assert [p.code for p in r.problems] == ["TG402"]
    assert "non-finite" in r.problems[0].message


def _wrong_gradients(monkeypatch, change):
    import tfgrad.engine as engine

    real = engine.compute

    def compute(d):
        r = real(d)
        r.gradients = [change(g) for g in r.gradients]
        return r

    monkeypatch.setattr(engine, "compute", compute)


def test_wrong_gradient_fails_gradcheck(monkeypatch):
    # A correct engine cannot give a TG401; a corrupted gradient shows the check works.
    _wrong_gradients(monkeypatch, lambda g: None if g is None else g * np.array([[1.0, 1.01]]))
    r = report(TUTORIAL.replace("expect:\n  w1: [[6, 9]]\n  w2: [[19, 17]]\n", ""))
    assert [(p.code, p.line, p.col) for p in r.problems] == [("TG401", 13, 6), ("TG401", 13, 10)]
    assert re.fullmatch(
        r"gradient of 'w1'\[0, 1\] is 9\.09, the central finite difference is 9 "
        r"\(difference 0\.09, tolerance [0-9.e-]+\); 1 of 2 checked elements disagree",
        r.problems[0].message,
    ), r.problems[0].message


def test_none_gradient_must_have_zero_difference(monkeypatch):
    _wrong_gradients(monkeypatch, lambda g: None)
    r = report(unconnected("null").replace("  a: 4\n", ""))
    assert [p.code for p in r.problems] == ["TG401"]
    assert r.problems[0].message.startswith(
        "'a' has no gradient (None), but the objective changes with 'a': finite difference 4")


def test_fd_max_elements(write):
    path = write("big.yaml", """\
    variables: {x: [%s]}
    ops:
      y: reduce_sum(square(x))
    ys: y
    xs: x
    """ % ", ".join(str(i / 10) for i in range(100)))
    result = invoke(["-v", path])
    assert result.exit_code == 0
    assert "  gradcheck x: passed (64 of 100 elements checked (--fd-max-elements 64); " in result.output
    result = invoke(["-v", "--fd-max-elements", "0", path])
    assert "  gradcheck x: passed (100 of 100 elements checked; " in result.output
    result = invoke(["-v", "--no-gradcheck", path])
    assert "  gradcheck x: skipped (--no-gradcheck)" in result.output


def test_internal_error_is_tg001_and_exit_3(write, monkeypatch):
    import tfgrad.engine

    def boom(graph):
        raise KeyError("x")

    monkeypatch.setattr(tfgrad.engine, "derive", boom)
    result = invoke([write("a.yaml", TUTORIAL)])
    assert result.exit_code == 3
    assert "TG001 internal error: KeyError: 'x'" in result.output


# ---------------------------------------------------------------- exit codes, flags


def test_usage_errors_exit_2(write):
    path = write("a.yaml", TUTORIAL)
    assert invoke([]).exit_code == 2
    assert invoke(["no/such/file.yaml"]).exit_code == 2
    assert invoke(["--format", "xml", path]).exit_code == 2
    assert invoke(["--bogus", path]).exit_code == 2
    r = invoke(["--select", "TG9", path])
    assert r.exit_code == 2 and "TG9" in r.output
    assert invoke(["-q", "-v", path]).exit_code == 2
    assert invoke(["--fd-step", "0", path]).exit_code == 2


def test_select_and_ignore(write):
    path = write("wrong.yaml", WRONG_EXPECT)
    assert invoke([path]).exit_code == 1
    assert invoke(["--ignore", "TG3", path]).exit_code == 0
    assert invoke(["--ignore", "TG301", path]).exit_code == 0
    assert invoke(["--select", "TG4", path]).exit_code == 0
    assert invoke(["--select", "TG1,TG3", path]).exit_code == 1
    r = report(WRONG_EXPECT, select=("TG4",))
    assert {c.name: c.status for c in r.checks}["expect w1"] == "skipped"
    r = report(WRONG_EXPECT, select=("TG1", "TG2"))
    assert [c.name for c in r.checks if c.status != "skipped"] == ["validate"]


def test_directory_exclude_and_order(write, tmp_path):
    write("g/b.yaml", TUTORIAL)
    write("g/a.yaml", TUTORIAL)
    write("g/bad/wrong.yaml", WRONG_EXPECT)
    write("g/readme.txt", "not yaml")
    d = str(tmp_path / "g")
    result = invoke(["--format", "json", d])
    assert result.exit_code == 1
    paths = [f["path"] for f in json.loads(result.output)["files"]]
    assert [p.replace(d, "") for p in paths] == ["/a.yaml", "/b.yaml", "/bad/wrong.yaml"]
    result = invoke(["--exclude", "bad", d])
    assert result.exit_code == 0
    assert result.output == "2 files checked: 2 passed, 0 failed\n"
    assert invoke(["--exclude", "wrong.yaml", "--exclude", "b*", d]).output.startswith("1 file")


def test_stdin(write):
    result = invoke(["-"], input=WRONG_EXPECT)
    assert result.exit_code == 1
    assert result.output.startswith("<stdin>:16:3: TG301 ")
    result = invoke(["--stdin-filename", "graphs/x.yaml", "-"], input=WRONG_EXPECT)
    assert result.output.startswith("graphs/x.yaml:16:3: TG301 ")
    assert invoke(["-"], input=TUTORIAL).exit_code == 0


def test_quiet_and_verbose(write):
    good = write("good.yaml", TUTORIAL)
    bad = write("bad.yaml", WRONG_EXPECT)
    quiet = invoke(["-q", good, bad]).output.splitlines()
    assert len(quiet) == 2 and "TG301" in quiet[0]
    verbose = invoke(["-v", good, bad]).output
    assert f"{good}: passed\n  validate: passed (" in verbose
    assert "  expect w1: failed\n" in verbose
    assert "  gradcheck w2: passed (2 of 2 elements checked; max |error| " in verbose


# ---------------------------------------------------------------- formats


def test_formats_end_to_end(write, tmp_path):
    good = write("good.yaml", TUTORIAL)
    bad = write("bad.yaml", WRONG_EXPECT)
    obj = json.loads(invoke(["--format", "json", good, bad]).output)
    assert obj["summary"]["failed"] == 1
    assert obj["files"][1]["problems"][0]["code"] == "TG301"

    xml = invoke(["--format", "junit", good, bad]).output
    root = ET.fromstring(xml)
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == (
        "10", "1", "0", "0")
    failure = root.find("testsuite[2]/testcase[2]/failure")
    assert failure.get("type") == "TG301"

    gh = invoke([good, bad], env={"GITHUB_ACTIONS": "true"}).output.splitlines()
    assert gh[0].startswith(f"::error file={bad},line=16,col=3,title=TG301::gradient of")
    assert gh[-1] == "2 files checked: 1 passed, 1 failed"
    # an explicit --format wins over GITHUB_ACTIONS
    assert invoke(["--format", "text", bad], env={"GITHUB_ACTIONS": "true"}).output.startswith(bad)


def test_output_file(write, tmp_path):
    bad = write("bad.yaml", WRONG_EXPECT)
    out = tmp_path / "report.xml"
    result = invoke(["--format", "junit", "--output", str(out), bad])
    assert result.exit_code == 1 and result.output == ""
    assert ET.parse(out).getroot().get("failures") == "1"
    assert invoke(["-o", str(tmp_path / "missing" / "r.xml"), bad]).exit_code == 2


def test_color_environment(write):
    bad = write("bad.yaml", WRONG_EXPECT)
    assert "\x1b[" not in invoke([bad]).output  # not a terminal
    assert "\x1b[" in invoke([bad], env={"FORCE_COLOR": "1"}).output
    assert "\x1b[" not in invoke([bad], env={"FORCE_COLOR": "1", "NO_COLOR": "1"}).output
    assert "\x1b[" not in invoke(["--format", "json", bad], env={"FORCE_COLOR": "1"}).output


def _strip_times(xml: str) -> str:
    return re.sub(r' time="[0-9.]+"', "", xml)


def test_parallel_output_equals_serial(write):
    paths = [write(f"g{i}.yaml", WRONG_EXPECT if i % 3 == 0 else TUTORIAL) for i in range(7)]
    paths.append(write("kink.yaml", "variables: {x: 0.0}\nops: {y: relu(x)}\nys: y\nxs: x\n"))
    paths.append(write("broken.yaml", "variables: {x: [1, 2}\n"))
    for fmt in ("text", "json", "github", "junit"):
        serial = invoke(["--format", fmt, *paths])
        parallel = invoke(["--format", fmt, "-j", "3", *paths])
        assert serial.exit_code == parallel.exit_code == 1
        assert _strip_times(parallel.output) == _strip_times(serial.output)
    assert invoke(["-j", "0", *paths]).output == invoke(paths).output


def test_non_finite_gradient_where_the_function_is_smooth_fails(monkeypatch):
    # Issue 11: nan or inf where both one-sided differences agree and are
    # finite is a failure (TG401), not an inconclusive note.
    _wrong_gradients(monkeypatch, lambda g: None if g is None else np.full_like(g, np.nan))
    r = report(TUTORIAL.replace("expect:\n  w1: [[6, 9]]\n  w2: [[19, 17]]\n", ""))
    assert [p.code for p in r.problems] == ["TG401", "TG401"]
    assert r.problems[0].message.startswith("gradient of 'w1'[0, 1] is nan where the function is "
                                            "smooth: both one-sided differences agree")


def test_nan_where_the_function_is_not_finite_stays_inconclusive(monkeypatch):
    # sqrt at 0: the backward difference is nan, so a nan gradient is a note.
    _wrong_gradients(monkeypatch, lambda g: None if g is None else np.full_like(g, np.nan))
    r = report("variables: {x: 0.0}\nops:\n  y: sqrt(x)\nys: y\nxs: x\n")
    assert [p.code for p in r.problems] == ["TG402"]
