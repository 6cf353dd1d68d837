"""GAN methods: importing ``ganas.gan`` registers every method in ``METHODS``."""

from __future__ import annotations

from typing import Any, Mapping

from ..config import replace
from . import dcgan  # noqa: F401  (registers "dcgan")
from . import pix2pix  # noqa: F401  (registers "pix2pix")
from . import cyclegan  # noqa: F401  (registers "cyclegan")
from . import stargan  # noqa: F401  (registers "stargan")
from . import gancls  # noqa: F401  (registers "gancls")
from .base import EVALUATIONS, METHODS, GANMethod, StepContext, TrainPlan, count_params, require_latent


def create_method(name: str, overrides: Mapping[str, Any] | None = None) -> GANMethod:
    """The method registered as ``name``, built from its paper-default config plus
    ``overrides`` (strings are coerced; unknown keys raise ``ConfigError`` listing the
    valid ones; unknown names raise ``UnknownNameError`` listing the methods)."""
    cls = METHODS.get(name).factory
    config = replace(cls.Config(), dict(overrides or {}))  # type: ignore[attr-defined]
    return cls(config)


def list_methods() -> list[str]:
    """Names of the registered methods, sorted."""
    return METHODS.list()


__all__ = ["EVALUATIONS", "METHODS", "GANMethod", "StepContext", "TrainPlan", "count_params", "create_method",
           "list_methods", "require_latent"]
