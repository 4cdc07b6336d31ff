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

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, input: str | None = None):
    r = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
    return r.exit_code, r.output


def write(tmp_path: Path, text: str, name: str = "g.yaml") -> str:
    p = tmp_path / name
    p.write_text(text)
    return str(p)


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
