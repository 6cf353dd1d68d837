"""Child training: build the architecture, train it briefly, reward = validation accuracy.

As in Zoph & Le (ICLR 2017, sec. 4.1: "the reward ... is the maximum validation accuracy"
of the child, validation carved out of the *training* set, 45,000/5,000 on CIFAR-10),
the reward is accuracy on a held-out part of the TRAINING split; the test split is never
read during a search (``retrain`` reports test accuracy afterwards).

- Data: the training split of ``data_spec`` is loaded once per evaluator and kept in
  memory (all of it, or a class-stratified subset of ``max_train`` seeded by
  ``split_seed``; a warning when it holds fewer than two classes); a pickled evaluator (what a
  search ships to each worker) leaves the data behind, so every worker loads it once; the validation part is a fixed permutation (``split_seed``), the same for every
  child, so rewards are comparable.
- Recipe: ``common.TrainSettings`` (NAS-Bench-201's SGD/cosine by default; Adam for tiny
  budgets), the same for every child.
- Seeding: weight init and batch order follow ``seed``; on CPU the same (arch, seed)
  gives the same reward.
- Reward: validation accuracy as a fraction in [0, 1]; ``metrics["val_acc"]`` is the same
  in percent; ``cost`` holds params, FLOPs (multiply-adds) and seconds;
  ``curve["val_acc"]`` the validation accuracy (fraction) after every epoch, the last
  equal to the reward (a strategy may take its own signal from it: REINFORCE's "maximum
  validation accuracy of the last 5 epochs", Zoph & Le 2017 Sec. 4.1).
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

from ...errors import ConfigError, NonFiniteLossError
from ..base import EVALUATORS, Arch, EvalResult, Evaluator, SearchSpace
from .common import LabelledData, accuracy, carve_validation, fit_and_score, load_split, make_settings, resolve_device


@EVALUATORS.register("train", help="train each child briefly; reward = accuracy on a val split of the training data")
class TrainEvaluator(Evaluator):
    """Train each child on ``data_spec`` for ``epochs``; reward = validation accuracy.

    Other options (batch_size, optimizer, lr, momentum, nesterov, weight_decay,
    val_fraction, image_size, channels, device, max_train, split_seed) are the fields of
    ``common.TrainSettings``; strings are coerced and unknown names refused. The
    settings are kept in ``self.settings`` (the search journal records them).
    """

    name = "train"
    placement_keys = ("device",)

    def __init__(self, data_spec: str = "digits", epochs: int = 1, **options: Any) -> None:
        self.settings = make_settings({"data_spec": data_spec, "epochs": epochs, **options})
        if self.settings.val_fraction <= 0.0:
            raise ConfigError(f"train evaluator: val_fraction must be in (0, 1), got {self.settings.val_fraction}")
        self._data: tuple[LabelledData, LabelledData] | None = None

    def place(self, device: str) -> None:
        """Train on ``device`` (the worker's choice; a resumed search may change it)."""
        self.settings = dataclasses.replace(self.settings, device=device)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_data": None}  # the data are loaded again by each worker

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return self.settings.input_shape

    def data(self) -> tuple[LabelledData, LabelledData]:
        """(train-minus-val, val), loaded on first use and cached."""
        if self._data is None:
            st = self.settings
            full = load_split(st.data_spec, "train", st.image_size, st.channels, st.max_train, st.split_seed)
            train, val = carve_validation(full, st.val_fraction, st.split_seed)
            assert val is not None
            self._data = (train, val)
        return self._data

    @property
    def num_classes(self) -> int:
        return self.data()[0].num_classes

    def evaluate(self, space: SearchSpace, arch: Arch, seed: int = 0) -> EvalResult:
        train, val = self.data()
        arch = tuple(arch)
        device = resolve_device(self.settings.device)
        curve: list[float] = []  # validation accuracy after each epoch but the last
        try:
            _, r = fit_and_score(
                lambda: space.build(arch, self.input_shape, train.num_classes), train, val, self.settings, seed,
                on_epoch=lambda epoch, model: curve.append(accuracy(model, val, device)),
            )
        except NonFiniteLossError as e:
            # NOTE: a diverging child scores 0 instead of stopping the whole search; the
            # metric "diverged" records it in the journal, the warning says where.
            warnings.warn(f"{space.name} {space.to_string(arch)}: {e}; reward 0", RuntimeWarning, stacklevel=2)
            return EvalResult(reward=0.0, metrics={"val_acc": 0.0, "diverged": 1.0}, cost={})
        return EvalResult(
            reward=r["acc"],
            metrics={"val_acc": 100.0 * r["acc"], "train_loss": r["train_loss"]},
            cost={"params": r["params"], "flops": r["flops"], "seconds": r["seconds"]},
            curve={"val_acc": curve + [r["acc"]]},
        )
