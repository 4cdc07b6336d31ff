"""TensorFlow conformance: every graph under tests/tfref/graphs/** (and the
gallery, graphs/*.yaml against tests/tfref/gallery/*.tf.json) run through
tfgrad (parse_graph, engine.derive, engine.compute) in float64 and float32,
compared with TF 2.21's committed answers (tests/tfref/README.md).

Per x: None where TF has None; the same shape; nan where TF has nan; inf
where TF has inf, with its sign; -0.0 where TF's zero is -0.0; other values
to 1e-9 relative in float64 and 1e-5 relative in float32 (see ``_close``
for the absolute floors). Where TF raised, tfgrad must raise a GraphError
(shape errors TF raises while building the graph, kernel errors it raises
while running it).

Graphs that need a feature not on main yet are listed by name in
tests/tfref/known-gaps.txt, each with its reason. A listed graph that fails
is an expected failure; a listed graph that passes fails the test (the
list must only shrink: regenerate it with
``python tests/test_tf_conformance.py --update``, which only ever removes
entries unless given ``--add``). Graph-level sections of sidecars
(hessians, jacobian, batch_jacobian, jvp) are not compared yet: the engine
has no API for them; ``outputs`` are compared when the graph has them.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
TFREF = ROOT / "tests" / "tfref"
GAPS_FILE = TFREF / "known-gaps.txt"
DTYPES = ("float64", "float32")

RTOL = {"float64": 1e-9, "float32": 1e-5}


def cases() -> list[tuple[str, Path, Path]]:
    """(id, graph file, TF JSON) for every reference."""
    out = []
    for g in sorted((TFREF / "graphs").rglob("*.yaml")):
        if g.name.endswith(".tfref.yaml"):
            continue
        ref = g.with_name(g.name[: -len(".yaml")] + ".tf.json")
        if ref.exists():
            out.append((str(g.relative_to(TFREF / "graphs")), g, ref))
    for ref in sorted((TFREF / "gallery").rglob("*.tf.json")):
        rel = ref.relative_to(TFREF / "gallery")
        g = ROOT / "graphs" / rel.parent / (ref.name[: -len(".tf.json")] + ".yaml")
        if g.exists():
            out.append(("gallery/" + str(rel.parent / g.name).removeprefix("./"), g, ref))
    return out


def test_every_gallery_file_has_a_tf_reference():
    # The gallery's numbers (expect) are checked against TF's: every file
    # outside graphs/invalid has its committed reference, made by
    # tests/tfref/make_refs.py --out-dir tests/tfref/gallery[/SUBDIR].
    referenced = {g for _, g, _ in cases()}
    missing = [str(g.relative_to(ROOT)) for g in sorted((ROOT / "graphs").rglob("*.yaml"))
               if "invalid" not in g.relative_to(ROOT / "graphs").parts and g not in referenced]
    assert not missing, f"gallery files without a TF reference: {missing}"


def params() -> list[tuple[str, Path, Path, str]]:
    out = []
    for cid, g, ref in cases():
        results = json.loads(ref.read_text(encoding="utf-8"))["results"]
        for dtype in DTYPES:
            if dtype in results:
                out.append((f"{cid}[{dtype}]", g, ref, dtype))
    return out


def load_gaps() -> dict[str, str]:
    """``id[dtype]: reason`` lines; ``#`` comments."""
    gaps: dict[str, str] = {}
    if not GAPS_FILE.exists():
        return gaps
    for line in GAPS_FILE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, reason = line.partition(": ")
        gaps[key] = reason
    return gaps


KNOWN_GAPS = load_gaps()
PARAMS = params()


# -- reading TF's JSON ---------------------------------------------------------------------

def _num(v: Any) -> Any:
    if isinstance(v, list):
        return [_num(e) for e in v]
    if isinstance(v, str):
        return {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}[v]
    return v


def tf_array(v: Any) -> np.ndarray:
    return np.asarray(_num(v), dtype=np.float64)


# -- running tfgrad --------------------------------------------------------------------------

class TfgradError(Exception):
    """tfgrad rejected the graph (a GraphError): the analogue of TF raising."""


def run_tfgrad(path: Path, dtype: str) -> dict[str, Any]:
    """{"xs": [...], "gradients": [array or None], "outputs": {...}} or raises TfgradError."""
    from tfgrad import engine
    from tfgrad.graph import GraphError
    from tfgrad.parse import parse_graph
    from tfgrad.plan import Plan

    try:
        graph = parse_graph(path.read_text(encoding="utf-8"), str(path))
        if any(f.name == "dtype" for f in dataclasses.fields(graph)):
            graph = dataclasses.replace(graph, dtype=dtype)
        else:  # format 1's Graph has no dtype field; the engine reads it with getattr
            object.__setattr__(graph, "dtype", dtype)
        with np.errstate(all="ignore"):
            derived = engine.derive(graph)
            result = engine.compute(derived)
            outputs = {}
            low = derived.lowered
            for name in _output_names(graph):
                node = low.nodes[name]
                nodes = node if isinstance(node, list) else [node]
                vals = [np.asarray(v) for v in Plan(nodes).run(low.env)]
                outputs[name] = vals if isinstance(node, list) else vals[0]
    except GraphError as e:
        raise TfgradError(str(e)) from e
    return {"xs": [x.name for x in graph.xs], "gradients": result.gradients, "outputs": outputs}


def _output_names(graph: Any) -> list[str]:
    outs = getattr(graph, "outputs", None) or ()
    return [getattr(o, "name", o) for o in outs]


# -- comparing ------------------------------------------------------------------------------

def _close(got: np.ndarray, want: np.ndarray, dtype: str) -> np.ndarray:
    """Elementwise agreement of finite values.

    float64: |got - want| <= 1e-9·|want|, with an absolute floor of
    1e-12·max|want| over the tensor: an entry that cancels to (nearly) zero
    in a sum of terms of size max|want| carries round-off of that size in
    any summation order, and TF's order (Eigen's) is not NumPy's.
    float32: 1e-5 relative, floor 1e-5·max(max|want|, 1e-30): float32 carries
    about 7 digits, and a sum of n terms of size M is exact only to
    ~n·6e-8·M (n is at most a few hundred in these graphs), so entries far
    below the tensor's scale can only be compared to that scale."""
    finite = np.isfinite(want)
    scale = float(np.max(np.abs(want[finite]))) if finite.any() else 0.0
    floor = (1e-12 if dtype == "float64" else 1e-5) * scale
    return np.abs(got - want) <= RTOL[dtype] * np.abs(want) + floor


def compare_tensor(what: str, got: Any, want_json: Any, dtype: str) -> list[str]:
    if want_json is None:
        return [] if got is None else [f"{what}: TF has None, tfgrad a value"]
    if got is None:
        return [f"{what}: TF has a value, tfgrad None"]
    want = tf_array(want_json)
    got = np.asarray(got)
    if got.dtype.kind == "b" or want.dtype.kind == "b":
        got = got.astype(np.float64)
    problems = []
    if got.shape != want.shape:
        return [f"{what}: shape {got.shape}, TF's {want.shape}"]
    g = got.astype(np.float64)
    if got.dtype.kind in "iub":
        if not np.array_equal(g, want):
            problems.append(f"{what}: {g.tolist()} != TF's {want.tolist()}")
        return problems
    nan_w, nan_g = np.isnan(want), np.isnan(g)
    if (nan_w != nan_g).any():
        problems.append(f"{what}: nan at {np.argwhere(nan_g).tolist()}, TF's at {np.argwhere(nan_w).tolist()}")
    inf_w = np.isinf(want)
    bad_inf = inf_w & ~(np.isinf(g) & (np.sign(g) == np.sign(want)))
    bad_inf |= np.isinf(g) & ~inf_w
    if bad_inf.any():
        idx = tuple(np.argwhere(bad_inf)[0])
        problems.append(f"{what}: at {list(idx)} tfgrad {g[idx]}, TF {want[idx]} (inf)")
    negzero = (want == 0) & np.signbit(want)
    bad_zero = negzero & ~((g == 0) & np.signbit(g))
    if bad_zero.any():
        idx = tuple(np.argwhere(bad_zero)[0])
        problems.append(f"{what}: at {list(idx)} tfgrad {g[idx]!r}, TF -0.0")
    finite = np.isfinite(want) & np.isfinite(g)
    with np.errstate(invalid="ignore"):
        ok = _close(g, want, dtype)
    bad = finite & ~ok
    if bad.any():
        idx = tuple(np.argwhere(bad)[0])
        problems.append(f"{what}: at {list(idx)} tfgrad {g[idx]!r}, TF {want[idx]!r} "
                        f"({int(bad.sum())} of {bad.size} differ)")
    return problems


def _shape_of(v: Any) -> tuple | None:
    try:
        return tf_array(v).shape
    except (ValueError, TypeError):
        return None


def check_case(path: Path, ref: Path, dtype: str) -> list[str]:
    """Problems (empty: conforms) of one graph at one dtype."""
    want = json.loads(ref.read_text(encoding="utf-8"))["results"][dtype]
    try:
        got = run_tfgrad(path, dtype)
    except TfgradError as e:
        if "error" in want:
            return []
        return [f"tfgrad raised, TF did not: {e}"]
    if "error" in want:
        return [f"TF raised ({want.get('error_type')}: {want['error'][:120]}), tfgrad did not"]
    if got["xs"] != want["xs"]:
        return [f"xs {got['xs']} != TF's {want['xs']}"]
    problems = []
    for x, g, w in zip(want["xs"], got["gradients"], want["gradients"]):
        problems += compare_tensor(f"d/d{x}", g, w, dtype)
    for name, w in (want.get("outputs") or {}).items():
        if name not in got["outputs"]:
            problems.append(f"output {name}: not computed")
            continue
        g = got["outputs"][name]
        if isinstance(g, list) and len(g) == 1 and _shape_of(w) == np.shape(g[0]):
            g = g[0]  # one output: TF's JSON holds the tensor itself
        if isinstance(w, list) and isinstance(g, list):
            for i, (gi, wi) in enumerate(zip(g, w)):
                problems += compare_tensor(f"output {name}[{i}]", gi, wi, dtype)
        else:
            problems += compare_tensor(f"output {name}", g, w, dtype)
    return problems


def _outcome(path: Path, ref: Path, dtype: str) -> list[str]:
    try:
        return check_case(path, ref, dtype)
    except Exception as e:  # an internal error is a failure, never a pass
        return [f"internal error: {type(e).__name__}: {e}"]


# -- the tests -------------------------------------------------------------------------------

@pytest.mark.parametrize("cid, path, ref, dtype", PARAMS, ids=[p[0] for p in PARAMS])
def test_conforms_to_tensorflow(cid, path, ref, dtype):
    problems = _outcome(path, ref, dtype)
    if cid in KNOWN_GAPS:
        if problems:
            pytest.xfail(f"known gap: {KNOWN_GAPS[cid]}")
        pytest.fail(f"{cid} conforms now: remove it from tests/tfref/known-gaps.txt "
                    "(python tests/test_tf_conformance.py --update)")
    assert not problems, "\n".join(problems[:5])


def test_known_gaps_name_existing_cases():
    ids = {p[0] for p in PARAMS}
    stale = sorted(set(KNOWN_GAPS) - ids)
    assert not stale, f"known gaps that are not cases: {stale}"
    for cid, reason in KNOWN_GAPS.items():
        assert reason.strip(), f"{cid}: a known gap needs its reason"


def test_print_the_counts():
    """The summary: how many cases, how many known gaps by reason."""
    by_reason: dict[str, int] = {}
    for cid, reason in KNOWN_GAPS.items():
        by_reason[reason] = by_reason.get(reason, 0) + 1
    print(f"\nTF conformance: {len(PARAMS)} cases ({len(cases())} graphs x dtypes), "
          f"{len(KNOWN_GAPS)} known gaps, {len(PARAMS) - len(KNOWN_GAPS)} must conform")
    for reason, n in sorted(by_reason.items(), key=lambda kv: -kv[1]):
        print(f"  {n:4d}  {reason}")


# -- regenerating the gap list -------------------------------------------------------------

def _classify(problems: list[str]) -> str:
    text = problems[0]
    first = text.splitlines()[0]
    if first.startswith("tfgrad raised, TF did not"):
        msg = first[len("tfgrad raised, TF did not: "):]
        if re.search(r"has 1 outputs; name one of them", msg):
            return ("gradients/hessians/jacobian with a single x name a list of one in tfgrad, "
                    "a tensor in TF (the contract)")
        if "grad_ys has 2 entries but ys has 1" in msg:
            return "gradients op: grad_ys checked against ys before the list is flattened"
        m = re.search(r"'(\w+)' is not an op", msg)
        if m:
            return f"format-2 parser: op {m.group(1)} (the format-1 parser has 23 ops)"
        for key, reason in (
            ("nested 3 or more lists deep", "format-2 parser: rank-3+ values"),
            ("a list literal holds numbers only", "format-2 parser: a list of names as an argument"),
            ("must be a number, a list of numbers", "format-2 parser: a {value, dtype} mapping"),
            ("tfgrad does not have", "an op not registered yet"),
            ("unknown top-level key", "a format-2 top-level key (format-2 parser)"),
            ("expression", "format-2 expression syntax (format-2 parser)"),
        ):
            if key in msg:
                return reason
        return "tfgrad rejects the graph: " + msg.split(": ", 1)[-1][:90]
    if first.startswith("internal error"):
        return first[:110]
    if first.startswith("TF raised"):
        if "dilation rates larger than 1" in first:
            return ("TF's CPU kernels refuse gradients of dilated convolutions; tfgrad computes "
                    "them (a deliberate difference)")
        return "TF raises, tfgrad does not"
    if "TF -0.0" in first:
        return "the sign of a zero differs (TF -0.0, tfgrad +0.0)"
    if ", TF inf" in first or "TF -inf" in first:
        return "TF overflows to inf in float32, tfgrad stays finite"
    if re.search(r"TF np.float64\([-0-9.]+e-(1[4-9]|0[89])\)", first):
        return "TF's value is round-off noise around 0, tfgrad's is exactly 0"
    return "numbers differ: " + first[:100]


def main(argv: list[str]) -> int:
    add = "--add" in argv
    gaps = dict(KNOWN_GAPS)
    passing, failing = 0, 0
    for cid, path, ref, dtype in PARAMS:
        problems = _outcome(path, ref, dtype)
        if problems:
            failing += 1
            if cid not in gaps:
                if add:
                    gaps[cid] = _classify(problems)
                else:
                    print(f"FAILS (not a known gap): {cid}: {problems[0][:200]}")
        else:
            passing += 1
            if cid in gaps:
                print(f"conforms now, removed: {cid}")
                del gaps[cid]
    header = [
        "# Conformance cases (tests/test_tf_conformance.py) that fail today, each with",
        "# the reason. The list must only shrink: `python tests/test_tf_conformance.py",
        "# --update` removes the cases that conform now.",
    ]
    lines = [f"{cid}: {reason}" for cid, reason in sorted(gaps.items())]
    GAPS_FILE.write_text("\n".join(header + lines) + "\n", encoding="utf-8")
    print(f"{passing} conform, {failing} fail, {len(gaps)} known gaps written")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "tests"))
    sys.exit(main(sys.argv[1:]))
