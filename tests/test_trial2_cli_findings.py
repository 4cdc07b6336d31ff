"""Defects the second new-user trial found in the command line, the value
readers and the docs (trial 2's findings 01, 13, 14, 15, 17, 19 and 20),
each as a test with TF 2.21's numbers where there are numbers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tfgrad.commands import cli
from helpers import write_graph

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, input: str | None = None):
    r = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
    return r.exit_code, r.output


write = write_graph


# --- 01: --save-npz keeps rank 0 -------------------------------------------

SCALARS = """\
variables:
  s: 2.0
  v: [1.0, 2.0]
ops:
  y: s * s * reduce_sum(v)
  t: reduce_sum(v * s)
ys: y
xs: [s, v]
outputs: [t, y]
"""


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_save_npz_keeps_rank_0_gradients_and_outputs(tmp_path, dtype):
    # TF 2.21: tf.gradients(y, s)[0].numpy() is a 0-d array, 12.0; t is 0-d, 6.0.
    out = tmp_path / "g.npz"
    code, _ = run("run", write(tmp_path, SCALARS), "--dtype", dtype, "--save-npz", str(out))
    assert code == 0
    z = np.load(out)
    assert {k: z[k].shape for k in z.files if k != "tfgrad.meta"} == {
        "s": (), "v": (2,), "outputs.t": (), "outputs.y": ()}
    assert z["s"].dtype == np.dtype(dtype) and float(z["s"]) == 12.0
    assert float(z["outputs.t"]) == 6.0 and float(z["outputs.y"]) == 12.0
    assert z["v"].tolist() == [4.0, 4.0]
    meta = json.loads(str(z["tfgrad.meta"]))
    assert meta["shapes"] == [list(z["s"].shape), list(z["v"].shape)]


# --- 13: a file's dtype is kept, converted only when the mapping says so ------

UNSUPPORTED = [np.uint8, np.int8, np.int16, np.uint16, np.uint32, np.uint64, np.float16]


def _graph_with(tmp_path: Path, value: str) -> str:
    return write(tmp_path, f"variables:\n  x: {value}\nops:\n  y: reduce_sum(x * 2.0)\nys: y\nxs: [x]\n")


@pytest.mark.parametrize("npdtype", UNSUPPORTED)
@pytest.mark.parametrize("container", ["npy", "npz"])
def test_a_file_of_a_dtype_tfgrad_lacks_is_refused_naming_that_dtype(tmp_path, npdtype, container):
    # TF: tf.constant(np.array([1, 2], np.uint8)).dtype is uint8 (kept, not
    # int32); tfgrad has no uint8 tensor, so it says so instead of renaming it.
    a = np.array([1, 2], dtype=npdtype)
    if container == "npy":
        np.save(tmp_path / "a.npy", a)
        value = "{file: a.npy}"
    else:
        np.savez(tmp_path / "a.npz", m=a)
        value = "{file: a.npz, key: m}"
    code, out = run("run", _graph_with(tmp_path, value))
    name = np.dtype(npdtype).name
    assert code == 2 and out.startswith(f"{tmp_path}/g.yaml:2:6: error: "), out
    assert f"holds {name} values, a dtype tfgrad does not have" in out
    assert "float32, float64, int32, int64, bool" in out and "dtype: " in out and "tf.cast" in out
    assert ("int32" if name != "float16" else "float32") in out.split("add dtype: ")[1]


@pytest.mark.parametrize("npdtype", UNSUPPORTED)
def test_a_declared_dtype_converts_such_a_file_as_tf_cast_would(tmp_path, npdtype):
    # TF 2.21: x = tf.cast(tf.constant(np.array([1, 2], uint8)), tf.float64);
    # tf.gradients(reduce_sum(x * 2.0), x) = [2.0, 2.0]
    np.save(tmp_path / "a.npy", np.array([1, 2], dtype=npdtype))
    code, out = run("run", _graph_with(tmp_path, "{file: a.npy, dtype: float64}"), "--format", "json")
    assert code == 0, out
    assert json.loads(out)["gradients"] == [[2.0, 2.0]]


def test_a_declared_integer_dtype_checks_the_range(tmp_path):
    from tfgrad.graph import GraphError
    from tfgrad.parse import parse_graph
    from tfgrad.values import ValueProblem, file_dtype

    assert file_dtype(np.array([1], np.uint8), "a.npy", "int32") == "int32"
    with pytest.raises(ValueProblem):
        file_dtype(np.array([1j]), "c.npy", "int32")
    np.save(tmp_path / "big.npy", np.array([2**40], np.uint64))
    with pytest.raises(GraphError) as e:
        parse_graph("variables:\n  x: {file: big.npy, dtype: int32}\nys: x\nxs: x\n", str(tmp_path / "g.yaml"))
    assert "out of int32's range" in e.value.message and e.value.code == "TG102"


@pytest.mark.parametrize("npdtype, dtype", [(np.int32, "int32"), (np.int64, "int64"), (np.bool_, "bool"),
                                            (np.float32, None), (np.float64, None)])
def test_supported_file_dtypes_keep_theirs_floats_take_the_graphs(tmp_path, npdtype, dtype):
    from tfgrad.parse import parse_graph

    np.save(tmp_path / "a.npy", np.array([1, 0], dtype=npdtype))
    # byte-swapped arrays are the same dtype in the other byte order
    np.save(tmp_path / "b.npy", np.array([1, 0], dtype=np.dtype(npdtype).newbyteorder(">")))
    for f in ("a.npy", "b.npy"):
        v = parse_graph(f"dtype: float32\nvariables:\n  x: {{file: {f}}}\nys: x\nxs: x\n",
                        str(tmp_path / "g.yaml")).nodes["x"].value
        assert v.dtype == dtype and v.array.tolist() == [1, 0] and v.array.dtype.isnative


def test_set_from_a_file_of_a_dtype_tfgrad_lacks_says_to_save_it_as_another(tmp_path):
    np.save(tmp_path / "u.npy", np.array([1, 2], np.uint8))
    code, out = run("run", _graph_with(tmp_path, "[1.0, 2.0]"), "--set", f"x=@{tmp_path / 'u.npy'}")
    assert code == 2 and out.startswith("<--set x>:1:1: error: --set x: ")
    assert "holds uint8 values" in out and "save the array as one of them (a.astype(np.int32))" in out
    assert "add dtype" not in out


def test_text_tables_are_floats_of_the_graphs_dtype_and_take_a_dtype(tmp_path):
    from tfgrad.parse import parse_graph

    (tmp_path / "t.csv").write_text("1,2\n3,4\n")
    g = lambda v: parse_graph(f"dtype: float32\nvariables:\n  x: {v}\nys: x\nxs: x\n",
                              str(tmp_path / "g.yaml")).nodes["x"].value
    assert g("{file: t.csv}").dtype is None
    v = g("{file: t.csv, dtype: int32}")
    assert v.dtype == "int32" and v.array.dtype == np.int32 and v.array.tolist() == [[1, 2], [3, 4]]


# --- 14: {random: ...} needs its seed ------------------------------------------

UNSEEDED = """\
variables:
  W1: {random: normal, shape: [2, 2]}
  W2: {random: normal, shape: [2, 2]}
constants:
  x: [[1.0, 2.0]]
ops:
  y: reduce_sum(tanh(x @ W1) * (x @ W2))
ys: y
xs: [W1, W2]
"""


def test_random_without_a_seed_is_an_error_naming_the_key(tmp_path):
    code, out = run("run", write(tmp_path, UNSEEDED))
    assert code == 2 and out.startswith(f"{tmp_path}/g.yaml:2:7: error: variable 'W1': "), out
    assert "needs seed: N" in out and "seed: 0" in out


def test_random_with_seeds_is_numpys_pcg64_stream(tmp_path):
    text = UNSEEDED.replace("[2, 2]}", "[2, 2], seed: 0}", 1).replace("[2, 2]}", "[2, 2], seed: 1}", 1)
    code, out = run("run", write(tmp_path, text + "outputs: [W1, W2]\n"), "--format", "json")
    assert code == 0, out
    doc = json.loads(out)["outputs"]
    assert doc["W1"] == np.random.default_rng(0).standard_normal((2, 2)).tolist()
    assert doc["W2"] == np.random.default_rng(1).standard_normal((2, 2)).tolist()


def test_the_schema_requires_the_seed():
    from tfgrad.schema import build_schema

    text = json.dumps(build_schema())
    assert '"required": ["random", "shape", "seed"]' in text


# --- 19: the out-of-range index of a multi-output op -----------------------------

SPLIT = "variables:\n  x: [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]\nops:\n{ops}ys: y\nxs: [x]\n"


@pytest.mark.parametrize("index", [-4, 3])
def test_out_of_range_output_index_gives_both_ends_and_the_users_words(tmp_path, index):
    text = SPLIT.format(ops=f"  y: reduce_sum(split(x, 3, axis=1)[{index}])\n")
    code, out = run("run", write(tmp_path, text))
    assert code == 2
    col = len("  y: reduce_sum(split(x, 3, axis=1)[") + 1
    assert out.strip() == (f"{tmp_path}/g.yaml:4:{col}: error: split(x, 3, axis=1) in op 'y' has 3 outputs; "
                           f"index {index} is out of range (-3 to 2)"), out
    assert "y/split" not in out


def test_out_of_range_index_of_a_named_multi_output_op(tmp_path):
    text = SPLIT.format(ops="  p: split(x, 3, axis=1)\n  y: reduce_sum(p[-4])\n")
    code, out = run("run", write(tmp_path, text))
    assert code == 2 and "error: 'p' has 3 outputs; index -4 is out of range (-3 to 2)" in out


@pytest.mark.parametrize("index, grad", [(-3, [[1, 0, 0], [1, 0, 0]]), (-1, [[0, 0, 1], [0, 0, 1]]),
                                         (2, [[0, 0, 1], [0, 0, 1]])])
def test_in_range_indices_both_signs_are_tfs(tmp_path, index, grad):
    # TF 2.21: tf.gradients(tf.reduce_sum(tf.split(x, 3, axis=1)[index]), x)
    text = SPLIT.format(ops=f"  y: reduce_sum(split(x, 3, axis=1)[{index}])\n")
    code, out = run("run", write(tmp_path, text), "--format", "json")
    assert code == 0 and json.loads(out)["gradients"] == [grad]


# --- 15 and 20: hessian, jacobian and jvp take what their TF calls take -------------

STOPPED = """\
variables:
  x: [1.0, 2.0]
ops:
  h: x * x
  y: h * x
ys: y
xs: [x]
stop_gradients: [h]
"""

TWO_YS = """\
variables:
  x: [1.0, 2.0]
ops:
  y: reduce_sum(x * x * x)
  v: x * x
ys: [y, v]
xs: [x]
grad_ys: [2.0, [1.0, 10.0]]
"""


def run3(*args: str):
    """(exit code, stdout, stderr) kept apart."""
    r = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return r.exit_code, r.stdout, r.stderr


@pytest.mark.parametrize("command, flags, out", [
    # TF 2.21: tape.jacobian(y, x), tf.hessians(y, x), ForwardAccumulator(x, ones).jvp(y):
    # the file's stop_gradients [h] is no argument of theirs
    ("jacobian", (), [[[3.0, 0.0], [0.0, 12.0]]]),
    ("hessian", (), [[[6.0, 0.0], [0.0, 12.0]]]),
    ("jvp", ("--tangent", "x=1"), [[3.0, 12.0]]),
])
def test_the_files_stop_gradients_is_not_used_and_a_note_says_so(tmp_path, command, flags, out):
    code, stdout, stderr = run3(command, write(tmp_path, STOPPED), *flags, "--format", "json")
    assert code == 0, stderr
    doc = json.loads(stdout)
    assert doc[{"jacobian": "jacobians", "hessian": "hessians", "jvp": "jvp"}[command]] == (
        [out] if command == "jacobian" else out)
    assert stderr.startswith(f"tfgrad: note: {command} computes ") and "does not use the file's stop_gradients" in stderr


@pytest.mark.parametrize("command, flag, reason", [
    ("hessian", ("--stop", "h"), "tf.hessians takes no stop_gradients"),
    ("hessian", ("--unconnected", "zero"), "tf.hessians takes no unconnected_gradients"),
    ("jacobian", ("--stop", "h"), "tape.jacobian takes no stop_gradients"),
    ("jvp", ("--stop", "h"), "ForwardAccumulator takes no stop_gradients"),
    ("jvp", ("--xs", "x"), "its directions are the --tangent values"),
])
def test_flags_without_meaning_are_refused_and_not_offered(tmp_path, command, flag, reason):
    extra = ("--tangent", "x=1") if command == "jvp" else ()
    code, stdout, stderr = run3(command, write(tmp_path, STOPPED), *extra, *flag)
    assert code == 2 and stdout == ""
    assert f"Error: {flag[0]} has no meaning for {command}: {reason}" in stderr
    code, help_text, _ = run3(command, "--help")
    assert code == 0 and f"  {flag[0]} " not in help_text
    assert "--set" in help_text and "--ys" in help_text


def test_jacobian_keeps_unconnected_and_run_keeps_every_flag(tmp_path):
    # tape.jacobian(target, sources, unconnected_gradients=...) has it
    _, help_text, _ = run3("jacobian", "--help")
    assert "--unconnected" in help_text and "--xs" in help_text
    _, help_text, _ = run3("run", "--help")
    assert all(f in help_text for f in ("--stop", "--unconnected", "--xs", "--ys"))
    # run still honours --stop: tf.gradients(y, x, stop_gradients=[h]) = 1 * x**2 -> [1, 4]
    code, out = run("run", write(tmp_path, STOPPED.replace("stop_gradients: [h]\n", "")), "--stop", "h",
                    "--format", "json")
    assert code == 0 and json.loads(out)["gradients"] == [[1.0, 4.0]]


@pytest.mark.parametrize("command, flags, key, want", [
    # TF 2.21: tape.jacobian(v, x) = diag(2x); ForwardAccumulator(x, ones).jvp(v) = 2x;
    # tf.hessians(y, x) = diag(6x); none of them takes grad_ys
    ("jacobian", ("--ys", "v"), "jacobians", [[[[2.0, 0.0], [0.0, 4.0]]]]),
    ("jvp", ("--ys", "v", "--tangent", "x=1"), "jvp", [[2.0, 4.0]]),
    ("hessian", ("--ys", "y"), "hessians", [[[6.0, 0.0], [0.0, 12.0]]]),
    # tf.hessians([y, v], x), the file's own ys; grad_ys [2.0, [1.0, 10.0]] plays no part
    ("hessian", (), "hessians", [[[8.0, 0.0], [0.0, 14.0]]]),
])
def test_ys_overrides_without_tripping_over_an_unused_grad_ys(tmp_path, command, flags, key, want):
    code, stdout, stderr = run3(command, write(tmp_path, TWO_YS), *flags, "--format", "json")
    assert code == 0, stderr
    assert json.loads(stdout)[key] == want
    assert "does not use the file's grad_ys" in stderr


def test_run_still_checks_grad_ys_against_ys(tmp_path):
    code, out = run("run", write(tmp_path, TWO_YS), "--ys", "v")
    assert code == 2 and "grad_ys has 2 entries but ys has 1" in out


def test_no_note_without_unused_keys_or_for_empty_ones(tmp_path):
    text = STOPPED.replace("stop_gradients: [h]", "stop_gradients: []\ngrad_ys: null\nunconnected_gradients: none")
    for command, extra in (("hessian", ()), ("jacobian", ()), ("jvp", ("--tangent", "x=1"))):
        code, _, stderr = run3(command, write(tmp_path, text), *extra)
        assert code == 0 and stderr == ""


def test_hessian_notes_an_unused_unconnected_gradients(tmp_path):
    text = STOPPED.replace("stop_gradients: [h]", "unconnected_gradients: zero")
    code, _, stderr = run3("hessian", write(tmp_path, text))
    assert code == 0 and "does not use the file's unconnected_gradients" in stderr
    code, _, stderr = run3("jacobian", write(tmp_path, text))
    assert code == 0 and stderr == ""


def test_jvp_takes_unconnected_gradients_as_forward_accumulator_does(tmp_path):
    # TF 2.21: with ForwardAccumulator(x, ones): acc.jvp(b * b) is None;
    # acc.jvp(b * b, unconnected_gradients='zero') is [0.0, 0.0]
    text = "variables:\n  x: [1.0, 2.0]\n  b: [3.0, 4.0]\nops:\n  y: b * b\nys: y\nxs: [x]\n"
    code, stdout, _ = run3("jvp", write(tmp_path, text), "--tangent", "x=1", "--format", "json")
    assert code == 0 and json.loads(stdout)["jvp"] == [None]
    code, stdout, _ = run3("jvp", write(tmp_path, text), "--tangent", "x=1", "--unconnected", "zero",
                           "--format", "json")
    assert code == 0 and json.loads(stdout)["jvp"] == [[0.0, 0.0]]


# --- 17: the docs say what the tool does ----------------------------------------------


def test_graph_format_doc_describes_format_2_as_read_today():
    doc = (ROOT / "docs" / "graph-format.md").read_text()
    assert doc.splitlines()[0] == "# Graph files"
    assert "describes format 1, which is what tfgrad reads today" not in doc
    assert "being built" not in doc
    expressions = doc.split("### Expressions")[1].split("### Mappings")[0]
    nothing_else = expressions.split("Nothing else is accepted")[1].split(")")[0]
    refused = [w.strip(" (`.") for w in nothing_else.replace("\n", " ").split(",")]
    for works in ("subscripts", "comparisons", "strings"):
        assert works not in refused, works  # format 2 has them
    assert "quoted string" in expressions and "subscripts" in expressions and "comparisons" in expressions
    assert "seed` is required" in doc and "uint8" in doc


def test_readme_json_of_hessian_and_jvp_has_every_key_they_print(tmp_path):
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### `tfgrad hessian FILE`")[1].split("```console")[0]
    code, out, _ = run3("jvp", str(ROOT / "graphs" / "higher" / "01-hessian.yaml"), "--tangent", "w=[[1], [0]]",
                        "--format", "json")
    assert code == 0 and list(json.loads(out)) == ["ys", "jvp", "tangents"]
    assert '`{"ys": [...], "jvp": [...], "tangents": [names]}`' in section
    code, out, _ = run3("hessian", str(ROOT / "graphs" / "higher" / "01-hessian.yaml"), "--format", "json")
    assert code == 0 and list(json.loads(out)) == ["xs", "hessians", "shapes"]
    assert '`{"xs": [...], "hessians": [...], "shapes": [...]}`' in section
    assert "--stop`, `--unconnected`. JSON" not in section
