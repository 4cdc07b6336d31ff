"""Values: any rank, issue 13's mapping forms (dtype, files, generators),
``--set NAME=@file.npy``, and hostile files (pickles, paths escaping the
graph's directory, symlinks, huge declared shapes, wrong keys). Every error
is a GraphError with TG102 at the mapping (or the field at fault)."""

from __future__ import annotations

import os
import zipfile

import numpy as np
import pytest

from tfgrad.graph import GraphError, Pos
from tfgrad.parse import Overrides, parse_graph
from tfgrad.values import MAX_ELEMENTS


def graph(value: str, tmp_path=None, name: str = "g.yaml", **ov):
    text = f"variables:\n  w: {value}\nys: w\nxs: w\n"
    path = str(tmp_path / name) if tmp_path is not None else name
    return parse_graph(text, path, Overrides(**ov) if ov else None).nodes["w"].value


def fails(value: str, tmp_path=None, *parts: str, col: int | None = None, **ov) -> GraphError:
    with pytest.raises(GraphError) as info:
        graph(value, tmp_path, **ov)
    e = info.value
    for p in parts:
        assert p in e.message, f"{p!r} not in {e.message!r}"
    assert e.code == "TG102", e
    assert e.pos.line == 2 and e.pos.col == (col if col is not None else 6), e.pos
    return e


# --- any rank -------------------------------------------------------------------


def test_values_of_any_rank():
    v = graph("[[[[1, 2]], [[3, 4]]], [[[5, 6]], [[7, 8.5]]]]")
    assert v.array.shape == (2, 2, 1, 2) and v.array[1, 1, 0, 1] == 8.5 and not v.integral
    v = graph("[[[1], [2]], [[3], [4]], [[5], [6]]]")
    assert v.array.shape == (3, 2, 1) and v.integral and v.array.dtype == np.float64 and v.dtype is None


def test_ragged_lists_name_the_depth_and_index():
    e = fails("[[[1, 2]], [[3]]]", None, "entry [1, 0] of variable 'w' has 1 entry but the lists at depth 3 have 2",
              "ragged at depth 3, index [1, 0]", col=18)
    e = fails("[[[1]], [[2]], [3]]", None, "entry [2, 0] of variable 'w' is a number; expected a list of numbers",
              col=22)
    assert e


def test_literal_of_rank_3_in_an_expression():
    g = parse_graph("variables: {a: 1}\nops:\n  y: a * [[[1], [2]]]\nys: y\nxs: a\n")
    (lit,) = [n for n in g.nodes.values() if n.kind == "literal"]
    assert lit.value.array.shape == (1, 2, 1)


# --- {value: ..., dtype: ...} ----------------------------------------------------


@pytest.mark.parametrize("dtype, npd", [("float32", np.float32), ("float64", np.float64),
                                        ("int32", np.int32), ("int64", np.int64)])
def test_value_with_a_dtype(dtype, npd):
    v = graph(f"{{value: [[1, 2], [3, 4]], dtype: {dtype}}}")
    assert v.dtype == dtype and v.array.dtype == npd and v.array.tolist() == [[1, 2], [3, 4]]


def test_bool_values():
    v = graph("{value: [[true, false]], dtype: bool}")
    assert v.dtype == "bool" and v.array.dtype == bool and v.array.tolist() == [[True, False]]
    fails("{value: [true, 2], dtype: bool}", None, "a bool value holds true and false", col=21)


def test_plain_integers_keep_format_1s_meaning():
    v = graph("[1, 2]")
    assert v.dtype is None and v.array.dtype == np.float64 and v.integral


def test_value_dtype_errors():
    fails("{value: [1.5], dtype: int32}", None, "an int32 value holds integers only", col=28)
    fails("{value: [3000000000], dtype: int32}", None, "out of int32's range", col=35)
    fails("{value: [1], dtype: float16}", None, "dtype of variable 'w' must be one of float32, float64, int32, int64, bool", col=26)
    fails("{value: [1e39], dtype: float32}", None, "overflows float32", col=29)


# --- generators ------------------------------------------------------------------


def test_generators_round_trip():
    assert graph("{zeros: [2, 3]}").array.tolist() == np.zeros((2, 3)).tolist()
    assert graph("{ones: 3}").array.tolist() == [1, 1, 1] and graph("{ones: 3}").integral
    v = graph("{fill: 2.5, shape: [2, 1]}")
    assert v.array.tolist() == [[2.5], [2.5]] and not v.integral
    assert graph("{eye: 3}").array.tolist() == np.eye(3).tolist()
    assert graph("{eye: [2, 3]}").array.shape == (2, 3)
    assert graph("{range: [1, 7, 2]}").array.tolist() == [1, 3, 5]
    assert graph("{range: [4]}").array.tolist() == [0, 1, 2, 3]
    assert graph("{range: [0, 1, 0.25]}").array.tolist() == [0, 0.25, 0.5, 0.75]
    assert graph("{linspace: [0, 1, 3]}").array.tolist() == [0, 0.5, 1]
    v = graph("{random: normal, shape: [2, 3], seed: 7}")
    assert np.array_equal(v.array, np.random.default_rng(7).standard_normal((2, 3)))
    v = graph("{random: uniform, shape: 4, seed: 3}")
    assert np.array_equal(v.array, np.random.default_rng(3).uniform(0, 1, 4))
    v = graph("{zeros: [2], dtype: int32}")
    assert v.dtype == "int32" and v.array.dtype == np.int32


def test_generator_errors():
    fails("{zeros: [2, 0]}", None, "has a dimension of 0", col=14)
    fails("{zeros: x}", None, "zeros must be a shape", col=14)
    fails("{fill: 1}", None, "needs shape")
    fails("{random: gauss, shape: 2}", None, "random must be normal or uniform", col=15)
    fails("{range: [0, 1, 0]}", None, "STEP cannot be 0", col=14)
    fails("{range: [3, 1]}", None, "is empty", col=14)
    fails("{linspace: [0, 1]}", None, "linspace must be [START, STOP, NUM]", col=17)
    fails("{eye: 0}", None, "at least 1", col=12)
    fails("{zeros: 2, seed: 1}", None, "key 'seed' does not go with zeros", col=17)
    fails("{zeroes: 2}", None, "unknown key 'zeroes'", "did you mean 'zeros'", col=7)
    fails("{zeros: 2, ones: 2}", None, "exactly one of", "found zeros and ones")
    fails("{}", None, "found none of them")


def test_huge_declared_shapes_are_refused_before_allocating():
    fails("{zeros: [100000, 100000]}", None, "has 10,000,000,000 elements", f"limited to {MAX_ELEMENTS:,}", col=14)
    fails("{random: normal, shape: [1000000, 1000000, 1000000]}", None, "elements", col=30)
    fails("{range: [0, 1e12]}", None, "elements", col=14)
    fails("{linspace: [0, 1, 1000000000000]}", None, "elements", col=17)
    fails("{eye: 1000000}", None, "elements", col=12)


# --- files ---------------------------------------------------------------------


@pytest.fixture
def data(tmp_path):
    np.save(tmp_path / "w.npy", np.arange(24.0).reshape(2, 3, 4))
    np.save(tmp_path / "i.npy", np.arange(4, dtype=np.int64))
    np.save(tmp_path / "b.npy", np.array([True, False]))
    np.savez(tmp_path / "z.npz", a=np.ones((2, 2)), b=np.arange(3, dtype=np.int32))
    np.savez(tmp_path / "one.npz", only=np.full(3, 2.5))
    (tmp_path / "t.csv").write_text("1,2,3\n4,5,6\n")
    (tmp_path / "t.txt").write_text("# a comment\n1.5 2.5\n3.5 4.5\n")
    (tmp_path / "sub").mkdir()
    np.save(tmp_path / "sub" / "v.npy", np.array([1.0, 2.0]))
    return tmp_path


def test_files_round_trip(data):
    v = graph("{file: w.npy}", data)
    assert v.array.tolist() == np.arange(24.0).reshape(2, 3, 4).tolist() and v.dtype is None
    v = graph("{file: i.npy}", data)
    assert v.dtype == "int64" and v.array.tolist() == [0, 1, 2, 3]
    assert graph("{file: b.npy}", data).dtype == "bool"
    assert graph("{file: z.npz, key: a}", data).array.tolist() == [[1, 1], [1, 1]]
    v = graph("{file: z.npz, key: b}", data)
    assert v.dtype == "int32" and v.array.tolist() == [0, 1, 2]
    assert graph("{file: one.npz}", data).array.tolist() == [2.5, 2.5, 2.5]
    assert graph("{file: t.csv}", data).array.tolist() == [[1, 2, 3], [4, 5, 6]]
    assert graph("{file: t.txt}", data).array.tolist() == [[1.5, 2.5], [3.5, 4.5]]
    assert graph("{file: sub/v.npy}", data).array.tolist() == [1, 2]
    v = graph("{file: w.npy, dtype: float32}", data)
    assert v.dtype == "float32" and v.array.dtype == np.float32


def test_file_paths_are_relative_to_the_graph_file(data, monkeypatch, tmp_path_factory):
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    assert graph("{file: sub/v.npy}", data).array.tolist() == [1, 2]


def test_file_errors(data):
    fails("{file: nope.npy}", data, "file 'nope.npy' does not exist")
    fails("{file: z.npz, key: c}", data, "'z.npz' has no array 'c'", "it holds a, b", col=25)
    fails("{file: z.npz, key: aa}", data, "(did you mean 'a'?)", col=25)
    fails("{file: z.npz}", data, "holds 2 arrays (a, b); name one with key: K")
    fails("{file: w.npy, key: a}", data, "key selects a member of an .npz file", col=25)
    fails("{file: sub}", data, "is not a regular file")
    (data / "x.json").write_text("[1]")
    fails("{file: x.json}", data, "tfgrad reads .npy, .npz, .csv and .txt files")
    (data / "bad.npy").write_bytes(b"not an array at all")
    fails("{file: bad.npy}", data, "cannot be read as an array")
    (data / "r.csv").write_text("1,2\n3\n")
    fails("{file: r.csv}", data, "cannot be read as an array")
    np.save(data / "nan.npy", np.array([1.0, np.nan]))
    fails("{file: nan.npy}", data, "holds a non-finite number (nan at index [1])")
    np.save(data / "c.npy", np.array([1j]))
    fails("{file: c.npy}", data, "holds complex128 values")


def test_pickles_are_never_loaded(data):
    np.save(data / "p.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    fails("{file: p.npy}", data, "holds pickled Python objects; tfgrad never unpickles")
    import pickle

    (data / "raw.npy").write_bytes(pickle.dumps([1, 2, 3]))
    fails("{file: raw.npy}", data, "cannot be read as an array")
    np.savez(data / "pz.npz", o=np.array([None], dtype=object))
    fails("{file: pz.npz, key: o}", data, "pickled Python objects")


def test_paths_outside_the_graph_directory_are_refused(data, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    np.save(outside / "o.npy", np.array([7.0]))
    rel = os.path.relpath(outside / "o.npy", data)
    fails(f"{{file: {rel}}}", data, "is outside the graph file's directory", "--allow-outside")
    fails(f"{{file: {outside / 'o.npy'}}}", data, "is outside the graph file's directory")
    fails("{file: ../../../../../../etc/passwd}", data, "is outside")
    os.symlink(outside / "o.npy", data / "link.npy")
    fails("{file: link.npy}", data, "is outside the graph file's directory")  # a symlink escape
    # allowed by the command line (a file or a directory)
    assert graph(f"{{file: {rel}}}", data, allow_outside=(str(outside),)).array.tolist() == [7]
    assert graph("{file: link.npy}", data, allow_outside=(str(outside / "o.npy"),)).array.tolist() == [7]


def test_huge_arrays_in_files_are_refused_from_the_header(data):
    # a header that declares 10^10 float64 elements over a few bytes of data
    header = {"descr": "<f8", "fortran_order": False, "shape": (100000, 100000)}
    with open(data / "huge.npy", "wb") as f:
        np.lib.format.write_array_header_1_0(f, header)
        f.write(b"\0" * 64)
    fails("{file: huge.npy}", data, "(shape (100000, 100000)) has 10,000,000,000 elements")
    with zipfile.ZipFile(data / "huge.npz", "w") as zf:
        zf.write(data / "huge.npy", "h.npy")
    fails("{file: huge.npz, key: h}", data, "has 10,000,000,000 elements")


def test_set_value_from_a_file(data, monkeypatch):
    monkeypatch.chdir(data)
    text = "variables:\n  w: [1, 2]\nys: w\nxs: w\n"
    g = parse_graph(text, "g.yaml", Overrides(set=(("w", "@sub/v.npy"),)))
    assert g.nodes["w"].value.array.tolist() == [1, 2]
    with pytest.raises(GraphError) as e:
        parse_graph(text, "g.yaml", Overrides(set=(("w", "@missing.npy"),)))
    assert e.value.pos == Pos(1, 1, "<--set w>") and "does not exist" in e.value.message


def test_value_forms_in_grad_ys_expect_and_mapping_args(data):
    text = ("variables:\n  w: {ones: [2]}\nops:\n  y: {op: multiply, args: [w, {value: [2, 3]}]}\n"
            "ys: y\nxs: w\ngrad_ys: [{fill: 1, shape: [2]}]\nexpect:\n  w: {file: sub/v.npy}\n")
    g = parse_graph(text, str(data / "g.yaml"))
    assert g.grad_ys[0].value.array.tolist() == [1, 1]
    assert g.expect[0].value.array.tolist() == [1, 2]
    lit = [n for n in g.nodes.values() if n.kind == "literal"][0]
    assert lit.value.array.tolist() == [2, 3]


# --- .npy files read without numpy.load (tfgrad.npyread) -------------------------
# The fast reader takes numpy.lib.format's own header, reads the data into
# memory shared by one graph's files, and leaves every other file to
# numpy.load; the arrays must be numpy.load's, whichever path read them.


@pytest.mark.parametrize("a", [
    np.arange(24.0).reshape(2, 3, 4),
    np.asfortranarray(np.arange(12.0).reshape(3, 4)),
    np.arange(6, dtype=">f8").reshape(2, 3),
    np.array(4.5),
    np.arange(5, dtype=np.int32),
    np.arange(5, dtype=np.int64) - 2,
    np.array([[True, False, True]]),
    np.linspace(-1, 1, 7, dtype=np.float32),
    np.arange(300 * 300, dtype=np.float64).reshape(300, 300) / 7,
], ids=["f8-rank3", "fortran", "big-endian", "rank0", "i4", "i8", "bool", "f4", "large"])
def test_npy_files_read_as_numpy_load_reads_them(tmp_path, a):
    np.save(tmp_path / "a.npy", a)
    v = graph("{file: a.npy}", tmp_path)
    want = np.load(tmp_path / "a.npy")
    assert v.array.shape == want.shape
    np.testing.assert_array_equal(v.array, want.astype(np.float64) if want.dtype.kind == "f" else want)
    assert v.array.dtype == (np.float64 if a.dtype.kind == "f" else a.dtype.newbyteorder("="))
    assert v.array.dtype.isnative


def test_npy_headers_numpy_load_reads_but_tfgrad_does_not_write(tmp_path):
    # version 2.0, a header with its keys out of numpy's order and extra
    # spaces, trailing bytes after the data: numpy.load reads all three
    a = np.arange(6.0).reshape(2, 3)
    with open(tmp_path / "v2.npy", "wb") as f:
        np.lib.format.write_array(f, a, version=(2, 0))
    assert graph("{file: v2.npy}", tmp_path).array.tolist() == a.tolist()
    header = b"{'shape': (2, 3),  'fortran_order': False, 'descr': '<f8'}"
    header += b" " * (-(10 + len(header) + 1) % 64) + b"\n"
    (tmp_path / "odd.npy").write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header
                                       + a.astype("<f8").tobytes())
    assert graph("{file: odd.npy}", tmp_path).array.tolist() == a.tolist()
    (tmp_path / "tail.npy").write_bytes((tmp_path / "v2.npy").read_bytes() + b"extra")
    assert graph("{file: tail.npy}", tmp_path).array.tolist() == a.tolist()


def test_truncated_npy_files_are_errors(tmp_path):
    np.save(tmp_path / "t.npy", np.arange(100.0))
    data = (tmp_path / "t.npy").read_bytes()
    (tmp_path / "t.npy").write_bytes(data[:-8])
    fails("{file: t.npy}", tmp_path, "file 't.npy' cannot be read as an array")
    (tmp_path / "h.npy").write_bytes(data[:40])  # the header cut short
    fails("{file: h.npy}", tmp_path, "file 'h.npy' cannot be read as an array")
    (tmp_path / "e.npy").write_bytes(b"")
    fails("{file: e.npy}", tmp_path, "file 'e.npy' cannot be read as an array")


def test_many_npy_files_in_one_graph_keep_their_own_values(tmp_path):
    # the fast reader puts small arrays side by side in shared memory: each
    # must hold its own file's numbers, and the values must stay intact
    rng = np.random.default_rng(0)
    arrays = {f"w{k}": rng.standard_normal((k % 5 + 1, 37)) for k in range(40)}
    arrays.update({f"n{k}": rng.integers(-9, 9, (k + 1,)).astype(np.int32) for k in range(5)})
    arrays.update({f"m{k}": rng.standard_normal((256, 256)) for k in range(5)})  # past the first block
    arrays["big"] = rng.standard_normal((700, 800))  # larger than a shared block's share
    for name, a in arrays.items():
        np.save(tmp_path / f"{name}.npy", a)
    text = "constants:\n" + "".join(f"  {n}: {{file: {n}.npy}}\n" for n in arrays)
    text += "variables:\n  v: 1.0\nys: v\nxs: v\n"
    g = parse_graph(text, str(tmp_path / "g.yaml"))
    for name, a in arrays.items():
        got = g.nodes[name].value.array
        assert got.dtype == (np.float64 if a.dtype.kind == "f" else a.dtype)
        np.testing.assert_array_equal(got, a)


def test_npy_path_checks_with_symlinked_directories(tmp_path_factory):
    base = tmp_path_factory.mktemp("base")
    outside = tmp_path_factory.mktemp("outer")
    np.save(outside / "o.npy", np.array([7.0]))
    (base / "in").mkdir()
    np.save(base / "in" / "v.npy", np.array([1.0, 2.0]))
    os.symlink(outside, base / "escape")  # a directory symlink leading out
    os.symlink(base / "in", base / "alias")  # one that stays inside
    os.symlink(base / "in" / "v.npy", base / "in" / "link.npy")
    fails("{file: escape/o.npy}", base, "is outside the graph file's directory")
    fails("{file: escape/missing.npy}", base, "is outside the graph file's directory")
    assert graph("{file: alias/v.npy}", base).array.tolist() == [1, 2]
    assert graph("{file: alias/link.npy}", base).array.tolist() == [1, 2]
    assert graph("{file: in/../in/v.npy}", base).array.tolist() == [1, 2]
    e = fails("{file: alias/none.npy}", base, "file 'alias/none.npy' does not exist")
    assert str(base / "in" / "none.npy") in e.message  # the real path it looked for


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_refused_without_opening_it(tmp_path):
    os.mkfifo(tmp_path / "f.npy")  # opening it for reading would wait for a writer
    fails("{file: f.npy}", tmp_path, "is not a regular file")


def test_numpys_own_npy_files_are_read_without_numpy_load(tmp_path, monkeypatch):
    # the files numpy.save writes take the fast path (npyread.read), which
    # reads the header without ast.literal_eval and the data in one read
    for name, a in {"w": np.arange(6.0).reshape(2, 3), "f": np.asfortranarray(np.ones((2, 3))),
                    "s": np.array(2.0), "i": np.arange(3, dtype=np.int32)}.items():
        np.save(tmp_path / f"{name}.npy", a)

    def refuse(*a, **k):
        raise AssertionError("numpy.load called")

    monkeypatch.setattr(np, "load", refuse)
    monkeypatch.setattr(np.lib.format, "read_array_header_1_0", refuse)
    assert graph("{file: w.npy}", tmp_path).array.tolist() == [[0, 1, 2], [3, 4, 5]]
    assert graph("{file: f.npy}", tmp_path).array.tolist() == [[1, 1, 1], [1, 1, 1]]
    assert graph("{file: s.npy}", tmp_path).array.shape == ()
    assert graph("{file: i.npy}", tmp_path).array.tolist() == [0, 1, 2]


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd")
def test_value_files_are_closed_after_parsing(tmp_path):
    # every file is read into memory and closed: a graph of many weight
    # files holds no descriptors (numpy.load's mmap_mode would hold one each)
    for k in range(30):
        np.save(tmp_path / f"w{k}.npy", np.full((3, 4), float(k)))
    np.savez(tmp_path / "z.npz", a=np.ones(2))
    (tmp_path / "t.csv").write_text("1,2\n")
    text = ("constants:\n" + "".join(f"  w{k}: {{file: w{k}.npy}}\n" for k in range(30))
            + "  z: {file: z.npz}\n  t: {file: t.csv}\nvariables:\n  v: 1.0\nys: v\nxs: v\n")
    before = set(os.listdir("/proc/self/fd"))
    g = parse_graph(text, str(tmp_path / "g.yaml"))
    after = set(os.listdir("/proc/self/fd"))
    assert g.nodes["w29"].value.array[0, 0] == 29
    assert len(after - before) == 0


def test_a_broken_npz_is_a_located_error(data):
    (data / "broken.npz").write_bytes(b"PK\x03\x04 not really a zip archive")
    fails("{file: broken.npz}", data, "file 'broken.npz' cannot be read as an array")


@pytest.mark.parametrize("value", ['{"file": w.npy}', "{file: 'w.npy'}", "{!!str file: w.npy}", "{file: !!str w.npy}",
                                   "\n    file: w.npy"])
def test_file_mappings_in_any_spelling(data, value):
    assert graph(value, data).array.tolist() == np.arange(24.0).reshape(2, 3, 4).tolist()


def test_file_mapping_errors_point_at_the_mapping(data):
    fails('{file: ""}', data, "file must be a path (text); found ''")
    fails("{file: 3}", data, "file must be a path (text); found 3")
    fails("{file: null}", data, "file must be a path (text); found null")
    fails("{file: [w.npy]}", data, "file must be a path (text)")
    fails("{file: nope.npy}", data, "variable 'w': file 'nope.npy' does not exist")


def test_npy_headers_with_absurd_dimensions_are_refused(tmp_path):
    # a dimension of 30 digits (beyond any array) or a rank of 600: refused
    # before anything is allocated, as numpy's reader reports them
    for name, shape in (("digits", "(" + "9" * 30 + ",)"), ("rank", "(" + ", ".join(["2"] * 600) + ")")):
        header = ("{'descr': '<f8', 'fortran_order': False, 'shape': " + shape + ", }").encode()
        header += b" " * (-(10 + len(header) + 1) % 64) + b"\n"
        (tmp_path / f"{name}.npy").write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header
                                               + b"\0" * 64)
        e = fails(f"{{file: {name}.npy}}", tmp_path)
        assert "elements" in e.message or "cannot be read as an array" in e.message, e.message
