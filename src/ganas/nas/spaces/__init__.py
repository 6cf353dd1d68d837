"""Search spaces; importing this package registers every space in ``SPACES``."""

from __future__ import annotations

from . import macro, nasnet, nb201, pnas  # noqa: F401  (each registers its space)
from .common import SpaceBase, make_space

__all__ = ["SpaceBase", "make_space"]
