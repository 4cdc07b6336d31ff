"""docs/ops.md and the README's op list are generated from the registry
(``python -m tfgrad.docgen``) and must be current."""

from __future__ import annotations

import re
from pathlib import Path

from tfgrad import docgen
from tfgrad.opdefs import REGISTRY

ROOT = Path(__file__).resolve().parent.parent


def test_docs_ops_md_is_current():
    text = (ROOT / "docs" / "ops.md").read_text(encoding="utf-8")
    assert text == docgen.ops_md(), "docs/ops.md is stale: run python -m tfgrad.docgen"


def test_readme_op_list_is_current():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme == docgen.with_readme_block(readme), "README.md's op list is stale: python -m tfgrad.docgen"


def test_readme_lists_exactly_the_registered_ops_and_links_the_reference():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme[readme.index(docgen.README_BEGIN):readme.index(docgen.README_END)]
    listed = re.findall(r"^  - [^:]+: (.*)$", block, flags=re.M)
    names = [n for line in listed for n in re.findall(r"`([a-z0-9_]+)`", line)]
    assert sorted(names) == sorted(REGISTRY)
    assert "(docs/ops.md)" in block


def test_every_op_has_a_section_with_its_rule_and_tf_source():
    text = docgen.ops_md()
    for name, op in REGISTRY.items():
        assert f"### `{op.signature()}`" in text, name
        section = text.split(f"### `{op.signature()}`")[1].split("\n### ")[0]
        assert " ".join(op.rule.split()) in section and " ".join(op.tf.split()) in section, name
        if op.kinks is not None:
            assert "**Kinks**" in section, name


def test_check_mode(tmp_path, capsys):
    assert docgen.main(["--check", "--root", str(ROOT)]) == 0
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text(f"x\n{docgen.README_BEGIN}\nold\n{docgen.README_END}\n")
    assert docgen.main(["--check", "--root", str(tmp_path)]) == 1
    assert "stale: docs/ops.md" in capsys.readouterr().err
    assert docgen.main(["--root", str(tmp_path)]) == 0
    assert docgen.main(["--check", "--root", str(tmp_path)]) == 0
    assert "`reduce_max`" in (tmp_path / "README.md").read_text()
