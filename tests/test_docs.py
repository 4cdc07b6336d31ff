"""Issue 10, documentation: the README's links, options and recipes are
true of this repository, and docs/graph-format.md covers format 1."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from tfgrad.commands import cli
from tfgrad.parse import TOP_KEYS

from format1_ops import FORMAT1_OPS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
FORMAT = ROOT / "docs" / "graph-format.md"


def test_every_relative_link_of_the_readme_resolves_inside_the_repository():
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", README)
    local = [link for link in links if not re.match(r"[a-z]+:", link)]
    assert "docs/graph-format.md" in local
    for link in local:
        target = (ROOT / link).resolve()
        assert target.is_relative_to(ROOT) and target.exists(), link


def _option_rows(section: str) -> list[str]:
    body = README.split(f"### `tfgrad {section}")[1].split("\n### ")[0]
    return re.findall(r"^\| `([^`]+)`", body, flags=re.M)


@pytest.mark.parametrize("command", ["run", "explain", "check"])
def test_every_option_the_readme_lists_exists(command):
    help_text = CliRunner().invoke(cli, [command, "--help"]).output
    rows = _option_rows(command)
    assert rows
    for row in rows:
        for option in re.findall(r"--?[a-z][a-z-]*", row):
            assert re.search(rf"(^|[\s,/]){re.escape(option)}\b", help_text), (command, option)


def test_version_is_an_option_of_tfgrad_itself():
    assert CliRunner().invoke(cli, ["--version"]).exit_code == 0
    assert CliRunner().invoke(cli, ["run", "--version"]).exit_code == 2
    assert "tfgrad --version" in README


def test_the_readme_starts_with_its_two_commands():
    assert "pip install -e . && tfgrad run graphs/01-tutorial.yaml" in README
    assert "pip install -e '.[test]' && python -m pytest" in README
    assert (ROOT / "graphs" / "01-tutorial.yaml").exists()


def _tags() -> set[str]:
    r = subprocess.run(["git", "-C", str(ROOT), "tag"], capture_output=True, text=True)
    return set(r.stdout.split())


def test_the_pre_commit_recipe_pins_something_that_exists():
    """A rev is a tag of this repository or a full commit SHA that the
    recipe tells the user to replace (and how), never an invented tag."""
    for text in (README, (ROOT / ".pre-commit-hooks.yaml").read_text()):
        revs = re.findall(r"^[#\s]*rev:\s*(\S+)", text, flags=re.M)
        assert revs
        for rev in revs:
            if re.fullmatch(r"[0-9a-f]{40}", rev):
                assert "git ls-remote" in text and "autoupdate --freeze" in text
            elif rev.startswith("<"):
                assert "SHA" in text  # a placeholder in a comment
            else:
                assert rev in _tags(), rev
    hook_ids = re.findall(r"^- id: (\S+)", (ROOT / ".pre-commit-hooks.yaml").read_text(), flags=re.M)
    for hook in re.findall(r"- id: (\S+)", README):
        assert hook in hook_ids


def test_the_format_reference_covers_format_1():
    text = FORMAT.read_text(encoding="utf-8")
    for key in TOP_KEYS:
        assert f"`{key}`" in text, key
    for op, (_, attrs) in FORMAT1_OPS.items():
        assert f"`{op}`" in text, op
        for attr in attrs:
            assert f"`{attr}`" in text, attr
    for fact in ("YAML 1.2", "`010`", "`1:30`", "`1_000`", "`0o17`", "`0x1F`", ".inf", "ASCII",
                 "256,000,000", "1,000,000", "100,000", "200 levels"):
        assert fact in text, fact
    # in the project's own words, not a copy of the shared contract
    shared = ROOT.parent / "shared" / "graph-format.md"
    if shared.exists():
        theirs = {line.strip() for line in shared.read_text().splitlines() if len(line.strip()) > 30}
        ours = {line.strip() for line in text.splitlines() if len(line.strip()) > 30}
        assert len(theirs & ours) <= 5  # the tutorial graph's lines
