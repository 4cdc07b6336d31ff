"""Smoke test of benchmarks/: the generators and the NumPy references.

No timing is asserted. The references are checked against the tutorial's
published numbers and against central finite differences on small
instances of every family, so that a disagreement with the engine in
``python benchmarks/run.py`` points at the engine.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def _load(name: str, filename: str):
    """A module of benchmarks/ by path (the directory is not a package)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / filename)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look the module up by name
    spec.loader.exec_module(module)
    return module


cases = _load("tfgrad_benchmark_cases", "cases.py")


def test_tutorial_reference_gives_the_tutorial_numbers():
    problem = cases.CASES["tutorial"].build()
    loss, (dw1, dw2) = problem.reference()
    np.testing.assert_array_equal(dw1, [[4, 5]])
    np.testing.assert_array_equal(dw2, [[11, 11]])
    # with the contract's grad_ys
    _, (dw1, dw2) = cases.tutorial_reference(
        problem.values, grad_ys=[np.array([[1.0]]), np.array([[2.0]])]
    )
    np.testing.assert_array_equal(dw1, [[6, 9]])
    np.testing.assert_array_equal(dw2, [[19, 17]])


def test_tutorial_yaml_is_the_contract_graph():
    doc = yaml.safe_load(cases.CASES["tutorial"].build().yaml())
    assert doc["xs"] == ["w1", "w2"]
    assert doc["ys"] == ["res2a", "res2b"]
    assert doc["expect"] == {"w1": [[4, 5]], "w2": [[11, 11]]}


@pytest.mark.parametrize("name", [n for n, c in cases.CASES.items() if c.quick])
def test_quick_cases_build_and_their_references_run(name):
    problem = cases.CASES[name].build()
    assert problem.yaml().startswith("name: ")
    loss, grads = problem.reference()
    assert np.isfinite(loss)
    assert len(grads) == len(problem.xs)
    for x, g in zip(problem.xs, grads):
        assert g is not None and g.shape == problem.values[x].shape
        assert np.all(np.isfinite(g))


SMALL = {
    "matmul": lambda: cases.matmul_chain(5, 3),
    "matmul-dense": lambda: cases.matmul_chain(5, 3, dense=True),
    "mlp": lambda: cases.mlp(3, batch=2, width=5),
    "chain": lambda: cases.thin_chain(13),
    "fan": lambda: cases.fan(60),
    "chain2": lambda: cases.chain2(13),
    "hessian": lambda: cases.hessian_lm(6, 3),
}


@pytest.mark.parametrize("family", sorted(SMALL))
def test_generated_files_spell_the_reference_inputs(family):
    problem = SMALL[family]()
    doc = yaml.safe_load(problem.yaml())
    for section, table in (("variables", problem.variables), ("constants", problem.constants)):
        for key, array in table.items():
            written = np.array(doc[section][key])
            assert written.dtype.kind == "f", (section, key)  # no number read as a string
            np.testing.assert_array_equal(written, array)
    assert doc["xs"] == problem.xs
    assert doc["ys"] == problem.ys
    assert len(doc["ops"]) == len(problem.ops)


def test_small_numbers_stay_floats_in_yaml():
    text = cases.format_value(np.array([1e-06, -2e-05, 0.5, 3.0]), "")
    assert yaml.safe_load(text) == [1e-06, -2e-05, 0.5, 3.0]


@pytest.mark.parametrize("family", sorted(SMALL))
def test_reference_matches_finite_differences(family):
    problem = SMALL[family]()
    values = {k: v.copy() for k, v in problem.values.items()}
    _, grads = problem.reference(values)
    eps = 1e-6
    for x, g in zip(problem.xs, grads):
        if g is None:  # structurally unconnected: the loss cannot depend on x
            fd = np.zeros_like(values[x])
        else:
            fd = np.empty_like(g)
        for idx in np.ndindex(values[x].shape):
            old = values[x][idx]
            values[x][idx] = old + eps
            up, _ = problem.reference(values)
            values[x][idx] = old - eps
            down, _ = problem.reference(values)
            values[x][idx] = old
            fd[idx] = (up - down) / (2 * eps)
        np.testing.assert_allclose(g if g is not None else 0 * fd, fd, rtol=1e-5, atol=1e-7, err_msg=x)


def test_case_names_are_unique_and_quick_set_is_small():
    quick = [c for c in cases.CASES.values() if c.quick]
    assert {c.family for c in quick} == {c.family for c in cases.CASES.values()}
    assert all(not c.big for c in quick)


@pytest.mark.parametrize("split", [False, True], ids=["back-to-back", "split-stages"])
def test_runner_child_times_each_stage_and_checks_agreement(tmp_path, split):
    run = _load("tfgrad_benchmark_run", "run.py")
    path = tmp_path / "tutorial.yaml"
    path.write_text(cases.CASES["tutorial"].build().yaml())
    res = run.child_main("tutorial", str(path), repeat=2, parse_repeat=1, exact=True,
                         budget=0.0, split=split)
    assert "error" not in res, res.get("traceback")
    assert res["agree"]["ok"]
    counts = {k: len(v) for k, v in res["all_times"].items()}
    assert counts == {"parse": 1, "derive": 2, "evaluate": 2, "numpy": 2, "json": 2}
    assert res["json_numbers"] == 4 and res["json_chars"] > 0
    assert all(t > 0 for k in ("derive", "evaluate", "numpy") for t in res["all_times"][k])
    # Memory per stage comes from the untimed round, where each stage runs alone.
    assert {"derive", "evaluate", "numpy"} <= set(res["mem_mb"])


def test_npy_cases_write_their_weights_beside_the_graph_file(tmp_path):
    """A -npy case's graph file names .npy files that hold exactly the
    values of the YAML case; the runner's child parses and checks it."""
    run = _load("tfgrad_benchmark_run", "run.py")
    problem = cases.CASES["mlp-8-npy"].build()
    path = tmp_path / "mlp-8-npy.yaml"
    problem.write(path)
    doc = yaml.safe_load(path.read_text())
    assert doc["variables"]["W1"] == {"file": "mlp-8-npy.W1.npy"}
    for name, a in problem.npy_files().items():
        np.testing.assert_array_equal(np.load(tmp_path / f"mlp-8-npy.{name}.npy"), a)
    assert set(problem.npy_files()) == set(problem.values)  # every value is 32x256 or larger
    res = run.child_main("mlp-8-npy", str(path), repeat=1, parse_repeat=2, exact=True, budget=0.0)
    assert "error" not in res, res.get("traceback")
    assert res["agree"]["ok"] and len(res["all_times"]["parse"]) == 2


def test_cnn_reference_matches_finite_differences_on_samples():
    problem = cases.cnn(batch=2)
    values = {k: v.copy() for k, v in problem.values.items()}
    _, grads = problem.reference(values)
    rng = np.random.default_rng(0)
    eps = 1e-6
    for x, g in zip(problem.xs, grads):
        assert g.shape == values[x].shape
        flat = values[x].reshape(-1)  # a view: writes reach values[x]
        for i in rng.choice(flat.size, size=min(6, flat.size), replace=False):
            old = flat[i]
            flat[i] = old + eps
            up, _ = problem.reference(values)
            flat[i] = old - eps
            down, _ = problem.reference(values)
            flat[i] = old
            np.testing.assert_allclose(g.reshape(-1)[i], (up - down) / (2 * eps),
                                       rtol=1e-5, atol=1e-8, err_msg=f"{x}[{i}]")


def test_peers_mode_runs_without_peers(tmp_path):
    """--peers with an interpreter that has neither TensorFlow nor JAX: the
    peers are skipped as not installed and tfgrad's own row is still timed
    and checked (CI never installs the peers)."""
    import importlib.util
    import types

    if importlib.util.find_spec("tensorflow") or importlib.util.find_spec("jax"):
        pytest.skip("a peer is installed in this interpreter")
    run = _load("tfgrad_benchmark_run", "run.py")
    path = tmp_path / "tutorial.yaml"
    path.write_text(cases.CASES["tutorial"].build().yaml())
    args = types.SimpleNamespace(peer_python=sys.executable, peer_runs=1, timeout=120.0)
    recs = run.peer_timings([cases.CASES["tutorial"]], {"tutorial": path}, args,
                            run.engine_env())
    assert list(recs[0]["peers"]) == ["tfgrad"]
    assert recs[0]["peers"]["tfgrad"].get("agree", {}).get("ok"), recs
