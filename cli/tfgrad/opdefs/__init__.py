"""The op registry: importing this package registers every family.

``REGISTRY`` maps each op name to its ``OpDef`` (``spec.py``); ``lookup``
also resolves aliases. Add an op family by adding a module here.
"""

from __future__ import annotations

from . import elementwise, linalg, reduce, shape  # noqa: F401  (registration)
from .spec import ALIASES, REGISTRY, REQUIRED, TENSOR, TENSORS, Ctx, OpDef, Param, lookup

__all__ = ["ALIASES", "REGISTRY", "REQUIRED", "TENSOR", "TENSORS", "Ctx", "OpDef", "Param", "lookup"]
