"""tfgrad check's reports, file walking and helpers, on hand-made records
(no engine): each format against the rules of what consumes it."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from tfgrad import check
from tfgrad.check import CheckResult, FileReport, Options, Problem
from tfgrad.graph import GraphError, Pos


def err(code, msg, line=1, col=1, **kw):
    return Problem(code, msg, line, col, check.CODES[code][0], **kw)


GOOD = FileReport(
    "graphs/good.yaml",
    (
        CheckResult("validate", "passed", detail="7 nodes"),
        CheckResult("expect w1", "passed", detail="max |difference| 0"),
        CheckResult("gradcheck w1", "passed", detail="2 of 2 elements checked"),
        CheckResult("expect w2", "skipped", detail="no expect"),
        CheckResult("gradcheck w2", "passed",
                    (err("TG402", "at a kink", 4, 7),), "1 of 1 element checked"),
    ),
    0.25,
)
BAD = FileReport(
    "graphs/bad.yaml",
    (
        CheckResult("validate", "passed"),
        CheckResult("expect w1", "failed", (err("TG301", "gradient of 'w1'[0, 1] is 9.5", 12, 7),)),
        CheckResult("gradcheck w1", "failed",
                    (err("TG401", "gradient 100%, finite: 3,\n  second line", 3, 6),)),
    ),
)
BROKEN = FileReport(
    "graphs/sub dir/broken.yaml",
    (CheckResult("validate", "failed", (err("TG101", "could not find expected ':'", 5, 3),)),),
)
CRASH = FileReport(
    "graphs/crash.yaml",
    (CheckResult("validate", "failed", (Problem("TG001", "internal error: KeyError: 'x'"),)),),
)
XFAIL = FileReport(
    "graphs/invalid/cycle.yaml",
    (CheckResult("validate", "failed", (err("TG201", "cycle: a -> b -> a", 6, 3, expected=True),)),),
)
REPORTS = [GOOD, BAD, BROKEN, XFAIL]


# ---------------------------------------------------------------- records


def test_file_status():
    assert GOOD.status == "passed" and GOOD.passed
    assert BAD.status == "failed" and not BAD.passed
    assert XFAIL.status == "xfailed" and XFAIL.passed
    assert check.exit_status([GOOD, XFAIL]) == 0
    assert check.exit_status(REPORTS) == 1
    assert check.exit_status([GOOD, CRASH, BAD]) == 3
    assert check.exit_status([]) == 0


def test_summary():
    s = check.summarize(REPORTS)
    assert (s.files, s.passed, s.failed, s.xfailed, s.errors, s.notes) == (4, 1, 2, 1, 3, 1)
    assert s.text() == "4 files checked: 1 passed, 2 failed, 1 failed as expected; 1 note"
    assert check.summarize([GOOD]).text() == "1 file checked: 1 passed, 0 failed; 1 note"


def test_every_code_documented_and_severity_known():
    for code, (severity, meaning) in check.CODES.items():
        assert len(code) == 5 and code.startswith("TG") and code[2:].isdigit()
        assert severity in ("error", "note") and meaning
    table = check.code_table()
    assert all(f"| {c} |" in table for c in check.CODES)


# ---------------------------------------------------------------- text


def test_text_format():
    out = check.format_text(REPORTS)
    assert out.splitlines() == [
        "graphs/good.yaml:4:7: TG402 note: at a kink",
        "graphs/bad.yaml:12:7: TG301 gradient of 'w1'[0, 1] is 9.5",
        "graphs/bad.yaml:3:6: TG401 gradient 100%, finite: 3, second line",
        "graphs/sub dir/broken.yaml:5:3: TG101 could not find expected ':'",
        "4 files checked: 1 passed, 2 failed, 1 failed as expected; 1 note",
    ]


def test_text_quiet_drops_notes_and_verbose_lists_checks():
    quiet = check.format_text([GOOD], quiet=True)
    assert quiet == "1 file checked: 1 passed, 0 failed; 1 note\n"
    verbose = check.format_text([GOOD, XFAIL], verbose=True).splitlines()
    assert verbose[0] == "graphs/good.yaml: passed"
    assert "  gradcheck w1: passed (2 of 2 elements checked)" in verbose
    assert "  expect w2: skipped (no expect)" in verbose
    assert "graphs/invalid/cycle.yaml: failed as expected" in verbose
    assert "graphs/invalid/cycle.yaml:6:3: TG201 cycle: a -> b -> a (expected)" in verbose


def test_text_color_only_when_asked():
    plain = check.format_text(REPORTS, color=False)
    coloured = check.format_text(REPORTS, color=True)
    assert "\x1b[" not in plain and "\x1b[" in coloured
    import click

    assert click.unstyle(coloured) == plain


def test_color_decision():
    assert check.color_enabled(True, {}) is True
    assert check.color_enabled(False, {}) is False
    assert check.color_enabled(True, {"NO_COLOR": "1"}) is False
    assert check.color_enabled(False, {"FORCE_COLOR": "1"}) is True
    assert check.color_enabled(True, {"NO_COLOR": "1", "FORCE_COLOR": "1"}) is False
    assert check.color_enabled(False, {"FORCE_COLOR": ""}) is False  # empty means unset
    assert check.color_enabled(True, {"NO_COLOR": ""}) is True


def test_default_format():
    assert check.default_format({"GITHUB_ACTIONS": "true"}) == "github"
    assert check.default_format({}) == "text"
    assert check.default_format({"GITHUB_ACTIONS": "false"}) == "text"


# ---------------------------------------------------------------- json


def test_json_format():
    obj = json.loads(check.format_json(REPORTS))
    assert [f["path"] for f in obj["files"]] == [r.path for r in REPORTS]
    assert [f["passed"] for f in obj["files"]] == [True, False, False, True]
    assert obj["files"][3]["status"] == "xfailed"
    p = obj["files"][1]["problems"][1]
    assert p == {"code": "TG401", "severity": "error", "line": 3, "col": 6,
                 "message": "gradient 100%, finite: 3,\n  second line"}
    assert obj["files"][0]["problems"][0]["severity"] == "note"
    assert obj["files"][3]["problems"][0]["expected"] is True
    assert obj["summary"] == {"files": 4, "passed": 1, "failed": 2, "xfailed": 1, "errors": 3,
                              "notes": 1, "passed_all": False}
    assert {c["name"] for c in obj["files"][0]["checks"]} >= {"validate", "gradcheck w2"}


def test_json_problem_without_position():
    r = FileReport("x.yaml", (CheckResult("validate", "failed", (Problem("TG105", "gone"),)),))
    p = json.loads(check.format_json([r]))["files"][0]["problems"][0]
    assert p["line"] is None and p["col"] is None


# ---------------------------------------------------------------- github


def test_github_escaping():
    r = FileReport(
        "a,b:c%.yaml",
        (CheckResult("gradcheck x", "failed", (err("TG401", "50% off, a: b\nnext\rline", 3, 6),)),),
    )
    lines = check.format_github([r]).splitlines()
    assert lines[0] == (
        "::error file=a%2Cb%3Ac%25.yaml,line=3,col=6,title=TG401::"
        "50%25 off, a: b%0Anext%0Dline"
    )
    assert lines[1] == "1 file checked: 0 passed, 1 failed"


def test_github_format():
    lines = check.format_github(REPORTS).splitlines()
    assert lines[0] == "::notice file=graphs/good.yaml,line=4,col=7,title=TG402::at a kink"
    assert lines[1].startswith("::error file=graphs/bad.yaml,line=12,col=7,title=TG301::")
    assert lines[2] == (
        "::error file=graphs/bad.yaml,line=3,col=6,title=TG401::"
        "gradient 100%25, finite: 3,%0A  second line"
    )
    assert lines[3] == ("::error file=graphs/sub dir/broken.yaml,line=5,col=3,title=TG101::"
                        "could not find expected ':'")
    # expected problems are not annotated; every command line is one line
    assert not any("cycle" in ln for ln in lines)
    assert len(lines) == 5


def test_github_without_position():
    r = FileReport("x.yaml", (CheckResult("validate", "failed", (Problem("TG105", "gone"),)),))
    assert check.format_github([r]).splitlines()[0] == "::error file=x.yaml,title=TG105::gone"


# ---------------------------------------------------------------- junit


def _junit(reports):
    root = ET.fromstring(check.format_junit(reports))
    assert root.tag == "testsuites"
    return root


def _counts(el):
    return {k: int(el.get(k)) for k in ("tests", "failures", "errors", "skipped")}


def test_junit_counts():
    root = _junit(REPORTS + [CRASH])
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [r.path for r in REPORTS + [CRASH]]
    assert _counts(suites[0]) == {"tests": 5, "failures": 0, "errors": 0, "skipped": 1}
    assert _counts(suites[1]) == {"tests": 3, "failures": 2, "errors": 0, "skipped": 0}
    assert _counts(suites[2]) == {"tests": 1, "failures": 1, "errors": 0, "skipped": 0}
    assert _counts(suites[3]) == {"tests": 1, "failures": 0, "errors": 0, "skipped": 1}
    assert _counts(suites[4]) == {"tests": 1, "failures": 0, "errors": 1, "skipped": 0}
    assert _counts(root) == {"tests": 11, "failures": 3, "errors": 1, "skipped": 2}
    for suite in suites:  # the counts agree with the elements
        cases = suite.findall("testcase")
        assert int(suite.get("tests")) == len(cases)
        for tag, attr in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
            assert int(suite.get(attr)) == sum(1 for c in cases if c.find(tag) is not None)
        float(suite.get("time"))


def test_junit_failure_element():
    root = _junit([BAD])
    cases = root.find("testsuite").findall("testcase")
    assert [c.get("name") for c in cases] == ["validate", "expect w1", "gradcheck w1"]
    assert {c.get("classname") for c in cases} == {"graphs.bad"}
    f = cases[2].find("failure")
    assert f.get("type") == "TG401"
    assert f.get("message") == "TG401 gradient 100%, finite: 3,\n  second line"
    assert f.text == "graphs/bad.yaml:3:6: TG401 gradient 100%, finite: 3,\n  second line"
    note = _junit([GOOD]).find("testsuite").findall("testcase")[4].find("system-out")
    assert note.text == "graphs/good.yaml:4:7: TG402 note: at a kink"


def test_junit_control_characters_stay_well_formed():
    r = FileReport("x.yaml", (CheckResult("validate", "failed", (err("TG101", "bad \x01\x1b char"),)),))
    f = _junit([r]).find("testsuite/testcase/failure")
    assert f.get("message") == "TG101 bad \ufffd\ufffd char"


def test_junit_empty():
    assert _counts(_junit([])) == {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}


def test_render_dispatch():
    for fmt in check.FORMATS:
        assert check.render(REPORTS, fmt)
    with pytest.raises(ValueError):
        check.render(REPORTS, "xml")


# ---------------------------------------------------------------- codes


@pytest.mark.parametrize(
    "values, prefixes",
    [
        ([], ()),
        (["TG3"], ("TG3",)),
        (["tg3,TG401", "TG1"], ("TG3", "TG401", "TG1")),
        (["TG"], ("TG",)),
    ],
)
def test_code_prefixes(values, prefixes):
    assert check.parse_code_prefixes(values) == prefixes


@pytest.mark.parametrize("bad", ["TG9", "X1", "TG4011", "TG999"])
def test_code_prefixes_rejected(bad):
    with pytest.raises(ValueError, match=bad):
        check.parse_code_prefixes([bad])


def test_options_select_ignore():
    o = Options(select=("TG3", "TG401"), ignore=("TG302",))
    assert o.enabled("TG301") and o.enabled("TG401")
    assert not o.enabled("TG302") and not o.enabled("TG402") and not o.enabled("TG101")
    assert o.wants("TG3") and o.wants("TG4") and not o.wants("TG1")
    assert Options().enabled("TG101")


def test_classify_uses_the_code_of_the_raise_only():
    # The same words with different codes: the code decides, never the text.
    assert check.classify(GraphError("cycle: a -> b -> a", Pos(1, 1), "TG204")) == "TG204"
    assert check.classify(GraphError("cycle: a -> b -> a", Pos(1, 1), "TG201")) == "TG201"
    # a code that is not a problem code is a tfgrad bug, not a file's problem
    assert check.classify(GraphError("cycle: a -> b -> a", Pos(1, 1), "TG999")) == "TG001"


# ---------------------------------------------------------------- numbers


def test_compare_within_tolerance():
    a = np.array([[1.0, 2.0]])
    assert check.compare(a, a + 1e-10, 1e-7, 1e-9) is None
    m = check.compare(np.array([[6.0, 9.5]]), np.array([[6.0, 9.0]]), 1e-7, 1e-9)
    assert (m.count, m.size, m.index, m.actual, m.expected) == (1, 2, 1, 9.5, 9.0)


def test_compare_picks_worst_and_non_finite_first():
    m = check.compare(np.array([1.1, 5.0, 2.0]), np.array([1.0, 1.0, 2.0]), 0, 0)
    assert (m.count, m.index) == (2, 1)
    m = check.compare(np.array([9.0, np.nan]), np.array([1.0, 1.0]), 0, 0)
    assert (m.count, m.index) == (2, 1)


def test_compare_nan_inf_equal_only_to_themselves():
    assert check.compare(np.array([np.nan, np.inf, -np.inf]),
                         np.array([np.nan, np.inf, -np.inf]), 0, 0) is None
    assert check.compare(np.array([np.inf]), np.array([-np.inf]), 1, 1) is not None
    assert check.compare(np.array([np.inf]), np.array([1e308]), 1, 1) is not None
    assert check.compare(np.array([1.0]), np.array([np.nan]), 1, 1) is not None


def test_compare_rank0():
    m = check.compare(np.array(2.0), np.array(1.0), 0, 0)
    assert (m.index, m.actual, m.expected) == (0, 2.0, 1.0)


@pytest.mark.parametrize(
    "v, s",
    [(6.0, "6"), (-3.0, "-3"), (0.5, "0.5"), (1 / 3, "0.3333333333333333"), (0.1, "0.1"),
     (float("nan"), "nan"), (float("inf"), "inf"), (-float("inf"), "-inf"), (1e300, "1e+300"),
     (2.5e-7, "2.5e-07")],
)
def test_num(v, s):
    assert check._num(v) == s


def test_num_digits():
    assert check._num(1.000000000139778, 8) == "1"
    assert check._num(9.500000000001, 3) == "9.5"
    assert check._num(1.00000095e-06, 3) == "1e-06"
    assert check._num(0.123456789, 4) == "0.1235"


def test_index_and_sample():
    assert check._index((), 0) == ""
    assert check._index((3,), 2) == "[2]"
    assert check._index((2, 3), 4) == "[1, 1]"
    assert list(check._sample(5, 64)) == [0, 1, 2, 3, 4]
    s = check._sample(1000, 64)
    assert len(s) == 64 and s[0] == 0 and s[-1] == 999
    assert len(check._sample(1000, 0)) == 1000


# ---------------------------------------------------------------- directives


def test_directives_parsed():
    text = (
        "# shows a cycle\n"
        "# tfgrad: expected-problem TG201 at 6:3\n"
        "#tfgrad:expected-problem tg402\n"
        "x: 1  # tfgrad: expected-problem TG101\n"
    )
    ds = check.directives(text)
    assert [(d.code, d.line, d.col, d.at) for d in ds] == [("TG201", 6, 3, 2), ("TG402", None, None, 3)]


def test_directives_applied():
    checks = [CheckResult("validate", "failed", (err("TG201", "cycle", 6, 3),))]
    ok = check._apply_directives(checks, [check.Directive("TG201", 6, 3, 2)], Options())
    assert FileReport("f", tuple(ok)).status == "xfailed"
    wrong_place = check._apply_directives(checks, [check.Directive("TG201", 5, 3, 2)], Options())
    r = FileReport("f", tuple(wrong_place))
    assert r.status == "failed"
    assert [p.code for p in r.problems] == ["TG201", "TG002"]
    assert r.problems[1].line == 2
    assert "expected problem TG201 at 5:3 was not reported" in r.problems[1].message


# ---------------------------------------------------------------- files


@pytest.fixture
def tree(tmp_path):
    for rel in ["a.yaml", "b.yml", "notes.txt", "sub/c.yaml", "sub/deep/d.YAML", "invalid/e.yaml",
                ".hidden/f.yaml", ".g.yaml", "z.yaml"]:
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("x: 1\n")
    return tmp_path


def _rel(targets, root):
    return [os.path.relpath(t.path, root).replace(os.sep, "/") for t in targets]


def test_collect_directory_sorted(tree):
    got = _rel(check.collect_targets([str(tree)]), tree)
    assert got == ["a.yaml", "b.yml", "invalid/e.yaml", "sub/c.yaml", "sub/deep/d.YAML", "z.yaml"]


def test_collect_exclude(tree):
    t = str(tree)
    assert _rel(check.collect_targets([t], ["invalid"]), tree) == [
        "a.yaml", "b.yml", "sub/c.yaml", "sub/deep/d.YAML", "z.yaml"]
    assert _rel(check.collect_targets([t], ["sub/*", "*.yml"]), tree) == [
        "a.yaml", "invalid/e.yaml", "z.yaml"]
    assert _rel(check.collect_targets([t], ["c.yaml", "deep"]), tree) == [
        "a.yaml", "b.yml", "invalid/e.yaml", "z.yaml"]


def test_collect_files_stdin_and_duplicates(tree):
    a = str(tree / "a.yaml")
    targets = check.collect_targets([a, "-", a, str(tree / "notes.txt")],
                                    read_stdin=lambda: "text", stdin_name="in.yaml")
    assert [t.path for t in targets] == [a, "in.yaml", str(tree / "notes.txt")]
    assert targets[1].stdin and targets[1].text == "text"
    assert check.collect_targets([a], ["a.yaml"]) == []


def test_collect_missing_path(tree):
    with pytest.raises(check.PathError, match="nope"):
        check.collect_targets([str(tree / "nope")])


def test_unreadable_file_is_tg105(tmp_path):
    p = tmp_path / "latin1.yaml"
    p.write_bytes(b"name: caf\xe9\n")
    r = check.check_target(check.Target(str(p)))
    assert [(x.code, x.line) for x in r.problems] == [("TG105", None)]
    assert "not UTF-8" in r.problems[0].message
    assert check.check_target(check.Target(str(p)), Options(ignore=("TG105",))).passed


def test_write_report(tmp_path):
    # the writer itself is tests/test_atomic_write.py's
    from tfgrad.commands import write_report

    out = tmp_path / "report.xml"
    write_report(str(out), "one\n")
    assert out.read_text() == "one\n"
    os.chmod(out, 0o640)
    write_report(str(out), "twö\n")
    assert out.read_bytes() == "twö\n".encode("utf-8")
    assert os.stat(out).st_mode & 0o777 == 0o640
    assert sorted(os.listdir(tmp_path)) == ["report.xml"]  # no temporary left behind
    with pytest.raises(OSError):
        write_report(str(tmp_path / "no" / "dir.xml"), "x")
