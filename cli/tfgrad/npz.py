"""``tfgrad run --save-npz OUT.npz``: the results as NumPy arrays.

The archive (``np.savez``, uncompressed, readable with
``np.load(path)`` and no pickles) holds:

* one array per x, under the x's name, with the gradient's dtype and shape
  (an x listed twice is written once: its gradients are the same tensor);
  an x whose gradient is None has no array;
* one array per ``outputs:`` entry, under ``outputs.NAME`` (several arrays,
  ``outputs.NAME.0``, ``outputs.NAME.1``..., for an op with several outputs);
* ``tfgrad.meta``: a 0-d string array holding JSON, ``{"xs": [...],
  "none": [names whose gradient is None], "dtypes": [...], "shapes": [...],
  "outputs": [...], "graph": FILE, "dtype": the graph's dtype}``.

Names never clash: x names are identifiers, and the other keys contain a dot.
A regular file (or a new one) is written to a temporary file beside it and
renamed over it, so readers never see half an archive; a device or a FIFO is
written directly (``atomic.write_atomic``).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from .atomic import write_atomic

META_KEY = "tfgrad.meta"


def arrays(d: Any, r: Any) -> dict[str, np.ndarray]:
    """The archive's members for a derivation ``d`` and its result ``r``."""
    graph = d.graph
    names = [x.name for x in graph.xs]
    out: dict[str, np.ndarray] = {}
    none: list[str] = []
    for name, g in zip(names, r.gradients):
        if g is None:
            if name not in none:
                none.append(name)
            continue
        out.setdefault(name, _c_order(g))
    output_names = [o.name for o in getattr(graph, "outputs", ()) or ()]
    if output_names:
        values = _output_values(d, output_names)
        for name, v in values.items():
            if isinstance(v, list):
                for k, part in enumerate(v):
                    out[f"outputs.{name}.{k}"] = _c_order(part)
            else:
                out[f"outputs.{name}"] = _c_order(v)
    meta = {
        "xs": names,
        "none": none,
        "dtypes": [None if g is None else str(g.dtype) for g in r.gradients],
        "shapes": [list(d.shape(n)) for n in names],
        "outputs": output_names,
        "graph": graph.source,
        "dtype": getattr(graph, "dtype", "float64"),
    }
    out[META_KEY] = np.array(json.dumps(meta))
    return out


def _c_order(a: Any) -> np.ndarray:
    """``a`` as a C-ordered array of its own shape. (``np.ascontiguousarray``
    would turn a rank-0 gradient or output into shape ``(1,)``: it returns at
    least one dimension; TF's ``.numpy()`` of a scalar tensor has shape ``()``.)"""
    return np.asarray(a, order="C")


def _output_values(d: Any, names: list[str]) -> dict[str, Any]:
    """Each named node's forward value (a list for a node with several outputs)."""
    low = d.lowered
    flat: list[Any] = []
    index: dict[str, Any] = {}
    for n in names:
        v = low.nodes[n]
        if isinstance(v, list):
            index[n] = list(range(len(flat), len(flat) + len(v)))
            flat.extend(v)
        else:
            index[n] = len(flat)
            flat.append(v)
    vals = low.evaluate(flat) if flat else []
    return {n: ([np.asarray(vals[k]) for k in i] if isinstance(i, list) else np.asarray(vals[i]))
            for n, i in index.items()}


def save(path: str, members: dict[str, np.ndarray]) -> None:
    """Write ``members`` as an .npz archive at ``path`` (atomically for a
    regular file: ``atomic.write_atomic``). Raises ``OSError``."""
    write_atomic(path, lambda f: np.savez(f, **members))


def save_results(path: str, d: Any, r: Any) -> None:
    """``--save-npz``: the gradients (and outputs) of ``d``/``r`` at ``path``."""
    save(path, arrays(d, r))
