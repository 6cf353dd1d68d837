"""The Python API: what every ``ganas`` command does, as typed functions returning plain
results (no argument parsing, no printing; ``ganas.cli`` does both).

GAN runs (``ganas.workflows.gan``): ``train`` (also resume, and ``start_from`` trained
weights), ``sample``, ``interpolate``, ``arithmetic``, ``evaluate``, ``demo``.
NAS (``ganas.workflows.nas``): ``search``, ``search_seeds``, ``export``, ``retrain``,
``search_task``.

    from ganas.workflows import gan, nas
    gan.train("dcgan", "digits", "runs/a", {"image_size": 32, "channels": 1}, steps=2000)
    print(gan.evaluate("runs/a").metrics["fd"])
"""

from __future__ import annotations

from . import gan, nas
from .gan import EVAL_N

__all__ = ["gan", "nas", "EVAL_N"]
