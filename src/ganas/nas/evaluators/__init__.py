"""Evaluators: importing this package registers them in ``EVALUATORS``.

- ``tabular``: NAS-Bench-201 table lookups (microseconds per query);
- ``train``: train each child briefly on a data spec, reward = validation accuracy.

Every evaluator's ``reward`` is an accuracy as a fraction in [0, 1]; metrics named
``*_acc``/``val12``/``test12`` are percentages, as papers and benchmark tables report them.
"""

from __future__ import annotations

from .tabular import TabularEvaluator, resolve_dataset
from .train import TrainEvaluator

__all__ = ["TabularEvaluator", "TrainEvaluator", "resolve_dataset"]
