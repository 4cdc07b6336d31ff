#!/usr/bin/env python
"""TensorFlow peer of the benchmarks' side-by-side mode (``run.py --peers``).

    python benchmarks/peers/tf_peer.py function|tape GRAPH.yaml

Reads a tfgrad graph file, builds it in TensorFlow with the interpreter of
tests/tfref/make_refs.py (the TF oracle of the test suite), differentiates it
and prints ``{"xs": [...], "gradients": [nested lists or null]}`` on stdout:

- ``function``: the graph built inside a ``tf.function`` (graph mode) and
  differentiated there with ``tf.gradients``, as tfgrad's contract says;
- ``tape``: built eagerly under a ``tf.GradientTape``, ``tape.gradient``.

Import, file reading and tracing are all part of the process's time. Exit
status 4 when TensorFlow is not installed, 5 when the graph uses something
this mode cannot run (``gradients`` ops under a tape, ``grad_ys``).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "tfref"))

try:
    import tensorflow as tf
except ImportError:
    print("tensorflow is not installed", file=sys.stderr)
    sys.exit(4)

import make_refs as M  # noqa: E402


def main(argv: list[str]) -> int:
    mode, path = argv[0], Path(argv[1])
    doc = M.load_yaml(path)
    if doc.get("grad_ys") is not None:
        print("grad_ys is not supported by this peer", file=sys.stderr)
        return 5
    dtype = doc.get("dtype") or "float64"
    base = path.parent
    leaves = {}
    for section in ("variables", "constants"):
        for name, spec in (doc.get(section) or {}).items():
            leaves[name] = M.make_value(spec, dtype, base)
    names = list(leaves)
    ys_names, xs_names = M._as_list(doc.get("ys")), M._as_list(doc.get("xs"))

    def build(tensors):
        b = M.Builder(doc, dtype, base)
        b.nodes.update(zip(names, tensors))
        b.build_all_ops()
        return [b.ref(n) for n in ys_names], [b.ref(n) for n in xs_names]

    def dense(gs):
        return [tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g for g in gs]

    consts = [tf.constant(leaves[n]) for n in names]
    if mode == "function":
        @tf.function
        def grads(*ts):
            ys, xs = build(ts)
            return dense(tf.gradients(ys, xs))

        out = grads(*consts)
    elif mode == "tape":
        if any("gradients" in str(s) or "hessians" in str(s) or "jacobian" in str(s)
               for s in (doc.get("ops") or {}).values()):
            print("derivative ops inside the graph: not run under a tape", file=sys.stderr)
            return 5
        with tf.GradientTape() as tape:
            for t in consts:
                tape.watch(t)
            ys, xs = build(consts)
        out = dense(tape.gradient(ys, xs))
    else:
        print(f"unknown mode {mode!r}", file=sys.stderr)
        return 2
    json.dump({"xs": xs_names,
               "gradients": [None if g is None else g.numpy().tolist() for g in out]},
              sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
