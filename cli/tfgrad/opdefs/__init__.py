"""The op registry: importing this package registers every family.

``REGISTRY`` maps each op name to its ``OpDef`` (``spec.py``); ``lookup``
also resolves aliases. Every module of this package except ``spec`` and
``common`` is an op family and is imported here, so a new family is a new
file and nothing else.
"""

from __future__ import annotations

import importlib
import pkgutil

from .spec import ALIASES, REGISTRY, REQUIRED, TENSOR, TENSORS, Ctx, OpDef, Param, lookup

FAMILIES = sorted(
    m.name for m in pkgutil.iter_modules(__path__) if m.name not in ("spec", "common")
)
for _family in FAMILIES:
    importlib.import_module(f"{__name__}.{_family}")

__all__ = ["ALIASES", "FAMILIES", "REGISTRY", "REQUIRED", "TENSOR", "TENSORS", "Ctx", "OpDef",
           "Param", "lookup"]
