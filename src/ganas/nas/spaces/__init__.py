"""Search spaces; importing this package registers every space in ``SPACES``."""

from __future__ import annotations

from . import nb201  # noqa: F401  (registers "nb201")
from .common import SpaceBase, make_space

__all__ = ["SpaceBase", "make_space"]
