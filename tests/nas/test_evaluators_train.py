"""TrainEvaluator, retrain, export/load_exported and best_from_search, on a tiny in-memory
dataset (a spy standing in for ``ganas.data.make_dataset``) and nb201 with C=4, N=1 at 8x8."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

import pytest
import torch
import yaml

import ganas.data
from ganas.errors import CheckpointError, ConfigError, DataError
from ganas.nas import EVALUATORS, make_space
from ganas.nas.base import Decision, SearchSpace
from ganas.nas.evaluators import TrainEvaluator
from ganas.nas.evaluators.common import carve_validation, load_split
from ganas.nas.flops import count_params
from ganas.nas.retrain import best_from_search, export, load_exported, retrain

CELL = "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|"


class TinyData(torch.utils.data.Dataset):
    """Two classes told apart by brightness (learnable in a few steps), items as dicts."""

    def __init__(self, n: int, split: str, image_size: int, channels: int, labelled: bool = True) -> None:
        g = torch.Generator().manual_seed(0 if split == "train" else 1)
        self.labels = torch.arange(n) % 2  # (N,)
        base = torch.where(self.labels == 1, 0.5, -0.5).view(n, 1, 1, 1)
        self.images = (base + 0.2 * torch.randn(n, channels, image_size, image_size, generator=g)).clamp(-1, 1)
        self.labelled = labelled
        self.num_classes = 2
        self.image_shape = (channels, image_size, image_size)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        label = self.labels[i] if self.labelled else torch.tensor(-1)
        return {"image": self.images[i], "label": label.to(torch.int64)}


@pytest.fixture()
def spy(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Patch make_dataset; record every (spec, split) requested."""
    calls: list[tuple[str, str]] = []

    def fake(spec: str, split: str = "train", options=None, **_: object) -> TinyData:
        calls.append((spec, split))
        n = {"train": 60, "test": 24}[split]
        return TinyData(n, split, options.image_size, options.channels, labelled="unlabelled" not in spec)

    monkeypatch.setattr(ganas.data, "make_dataset", fake)
    return calls


@pytest.fixture()
def space() -> SearchSpace:
    return make_space("nb201", {"C": 4, "N": 1})


def evaluator(**kw: object) -> TrainEvaluator:
    base = dict(data_spec="tiny", epochs=2, batch_size=16, optimizer="adam", lr=0.01, image_size=8, channels=1, val_fraction=0.25)
    return TrainEvaluator(**{**base, **kw})  # type: ignore[arg-type]


def test_reward_is_val_fraction_with_cost_and_test_split_untouched(spy, space) -> None:
    ev = EVALUATORS.create("train", **dict(data_spec="tiny", epochs=2, batch_size=16, optimizer="adam", lr=0.01,
                                            image_size=8, channels=1, val_fraction=0.25))
    arch = space.from_string(CELL)
    r = ev.evaluate(space, arch, seed=0)
    assert 0.0 <= r.reward <= 1.0
    assert r.metrics["val_acc"] == pytest.approx(100 * r.reward)
    # 15 validation items: the reward is a multiple of 1/15
    assert abs(r.reward * 15 - round(r.reward * 15)) < 1e-9
    assert r.cost["params"] == count_params(space.build(arch, (1, 8, 8), 2))
    assert r.cost["flops"] > 0 and r.cost["seconds"] > 0
    ev.evaluate(space, space.sample(random.Random(1)), seed=1)
    assert spy == [("tiny", "train")]  # loaded once, test split never requested


def test_learns_a_separable_task(spy, space) -> None:
    r = evaluator(epochs=4).evaluate(space, space.from_string(CELL), seed=0)
    assert r.reward >= 0.9 and r.metrics["train_loss"] < 0.5


def test_per_epoch_validation_curve_ends_at_the_reward(spy, space) -> None:
    """curve["val_acc"]: one validation accuracy per epoch (REINFORCE takes the max of
    the last 5); scoring between epochs changes nothing about the training itself."""
    arch = space.from_string(CELL)
    r = evaluator(epochs=3).evaluate(space, arch, seed=0)
    curve = r.curve["val_acc"]
    assert len(curve) == 3 and curve[-1] == r.reward
    assert all(abs(v * 15 - round(v * 15)) < 1e-9 for v in curve)  # fractions of the 15 val items
    from ganas.nas.evaluators.common import fit_and_score

    ev = evaluator(epochs=3)
    train, val = ev.data()
    _, plain = fit_and_score(lambda: space.build(arch, (1, 8, 8), 2), train, val, ev.settings, 0)
    assert plain["acc"] == r.reward and plain["train_loss"] == r.metrics["train_loss"]


def test_same_seed_same_result_other_seed_differs(spy, space) -> None:
    ev = evaluator(epochs=1, optimizer="sgd", lr=0.05)
    arch = space.from_string(CELL)
    torch.manual_seed(123)
    a = ev.evaluate(space, arch, seed=5)
    outside = torch.rand(1)
    torch.manual_seed(123)
    b = ev.evaluate(space, arch, seed=5)
    assert torch.equal(outside, torch.rand(1))  # the caller's RNG stream is not disturbed
    c = ev.evaluate(space, arch, seed=6)
    assert (a.reward, a.metrics) == (b.reward, b.metrics)
    assert a.metrics["train_loss"] != c.metrics["train_loss"]


def test_validation_carve_out_is_fixed_and_disjoint(spy) -> None:
    full = load_split("tiny", "train", 8, 1)
    tr1, va1 = carve_validation(full, 0.25, split_seed=0)
    tr2, va2 = carve_validation(full, 0.25, split_seed=0)
    _, va3 = carve_validation(full, 0.25, split_seed=1)
    assert va1 is not None and va2 is not None and va3 is not None
    assert (len(tr1), len(va1)) == (45, 15)
    assert torch.equal(va1.images, va2.images) and not torch.equal(va1.images, va3.images)
    rows = {tuple(x.flatten().tolist()) for x in full.images}
    tr_rows = {tuple(x.flatten().tolist()) for x in tr1.images}
    va_rows = {tuple(x.flatten().tolist()) for x in va1.images}
    assert tr_rows.isdisjoint(va_rows) and tr_rows | va_rows == rows


def test_bad_inputs(spy, space) -> None:
    with pytest.raises(ConfigError, match="val_fraction"):
        evaluator(val_fraction=0.0)
    with pytest.raises(ConfigError, match="optimizer"):
        evaluator(optimizer="rmsprop")
    with pytest.raises(ConfigError, match="unknown option 'epoch'.*valid: batch_size, channels"):
        evaluator(epoch=3)
    ev = evaluator(epochs="3", lr="1e-2", max_train="none")  # strings from the command line
    assert (ev.settings.epochs, ev.settings.lr, ev.settings.max_train) == (3, 0.01, None)
    with pytest.raises(DataError, match="no class labels"):
        evaluator(data_spec="unlabelled").evaluate(space, space.from_string(CELL))


class NaNSpace(SearchSpace):
    """One decision; every network outputs NaN logits (a diverging child)."""

    name = "nan-test"

    def decisions(self) -> list[Decision]:
        return [Decision("only", ("x",))]

    def to_string(self, arch):
        return "x"

    def from_string(self, s):
        return (0,)

    def build(self, arch, input_shape, num_classes):
        class Net(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.fc = torch.nn.Linear(input_shape[0] * input_shape[1] * input_shape[2], num_classes)

            def forward(self, x):  # (B, C, H, W) -> (B, K)
                return self.fc(x.flatten(1)) * float("nan")

        return Net()


def test_diverging_child_scores_zero(spy) -> None:
    with pytest.warns(RuntimeWarning, match="loss is nan"):
        r = evaluator().evaluate(NaNSpace(), (0,))
    assert r.reward == 0.0 and r.metrics["diverged"] == 1.0


# -- retrain / export -------------------------------------------------------------------


def test_retrain_reports_test_accuracy_and_saves_weights(spy, space, tmp_path: Path) -> None:
    out = tmp_path / "best.pt"
    res = retrain(space, space.from_string(CELL), "tiny", epochs=3, batch_size=16, optimizer="adam", lr=0.01,
                  image_size=8, channels=1, seed=0, out_file=out)
    assert spy == [("tiny", "train"), ("tiny", "test")]
    assert (res["train_items"], res["test_items"], res["val_acc"]) == (60, 24, None)
    assert 0.0 <= res["test_acc"] <= 100.0 and res["arch"] == CELL
    assert res["params"] == count_params(space.build(space.from_string(CELL), (1, 8, 8), 2)) and res["flops"] > 0
    model, info = load_exported(out)
    assert info["arch"] == CELL and info["settings"] == {"C": 4, "N": 1} and info["metrics"]["test_acc"] == res["test_acc"]
    test = load_split("tiny", "test", 8, 1)
    with torch.no_grad():
        acc = (model.eval()(test.images).argmax(1) == test.labels).float().mean().item()
    assert 100 * acc == pytest.approx(res["test_acc"])  # the saved weights are the trained ones


def test_retrain_with_validation_holdout(spy, space) -> None:
    res = retrain(space, space.from_string(CELL), "tiny", epochs=1, batch_size=16, image_size=8, channels=1,
                  val_fraction=0.25)
    assert res["train_items"] == 45 and 0.0 <= res["val_acc"] <= 100.0


def test_export_py_and_pt_round_trip(space, tmp_path: Path) -> None:
    arch = space.from_string(CELL)
    ref = space.build(arch, (3, 8, 8), 5)
    py_model, py_info = load_exported(export(space, arch, tmp_path / "net.py", (3, 8, 8), 5))
    assert count_params(py_model) == count_params(ref) and py_info["num_classes"] == 5
    assert py_model(torch.zeros(2, 3, 8, 8)).shape == (2, 5)
    pt_model, pt_info = load_exported(export(space, arch, tmp_path / "net.pt", (3, 8, 8), 5, seed=7))
    again, _ = load_exported(export(space, arch, tmp_path / "again.pt", (3, 8, 8), 5, seed=7))
    assert pt_info["space"] == "nb201" and pt_info["input_shape"] == [3, 8, 8]
    for (k, a), (_, b) in zip(pt_model.state_dict().items(), again.state_dict().items()):
        assert torch.equal(a, b), k
    with pytest.raises(ConfigError, match=r"\.py \(source\) or \.pt"):
        export(space, arch, tmp_path / "net.onnx", (3, 8, 8), 5)
    with pytest.raises(ConfigError, match="architecture only"):
        export(space, arch, tmp_path / "net2.py", (3, 8, 8), 5, model=ref)


def test_load_exported_refuses_unsafe_or_broken_files(space, tmp_path: Path) -> None:
    evil = tmp_path / "evil.pt"
    torch.save({"format": "ganas-nas-export", "obj": io.BytesIO(b"x")}, evil)  # needs full unpickling
    with pytest.raises(CheckpointError, match="weights_only"):
        load_exported(evil)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="junk.pt"):
        load_exported(junk)
    good = export(space, space.from_string(CELL), tmp_path / "g.pt", (1, 8, 8), 2)
    ckpt = torch.load(good, weights_only=True)
    ckpt["arch"] = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"  # params no longer match
    torch.save(ckpt, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match="does not match"):
        load_exported(tmp_path / "bad.pt")
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {}}, foreign)
    with pytest.raises(CheckpointError, match="not a ganas NAS export"):
        load_exported(foreign)


# -- best_from_search -------------------------------------------------------------------


def test_best_from_search_reads_best_json_or_journal(tmp_path: Path) -> None:
    (tmp_path / "search.yaml").write_text(yaml.safe_dump({"space": "nb201", "space_settings": {"C": 8, "N": 2}, "budget": 3}))
    (tmp_path / "best.json").write_text(json.dumps({"arch": CELL, "reward": 0.9}))
    sp, arch = best_from_search(tmp_path)
    assert sp.settings.C == 8 and sp.to_string(arch) == CELL
    (tmp_path / "best.json").unlink()
    other = "|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|"
    lines = [json.dumps({"i": 0, "arch": other, "reward": 0.5}), json.dumps({"i": 1, "arch": CELL, "reward": 0.7}),
             '{"i": 2, "arch": "|nor_conv_3x3~0|+|nor', ""]  # torn last line
    (tmp_path / "journal.jsonl").write_text("\n".join(lines))
    (tmp_path / "search.yaml").write_text(yaml.safe_dump({"space": {"name": "nb201", "settings": {"C": 4}}}))
    sp, arch = best_from_search(tmp_path)
    assert sp.settings.C == 4 and sp.to_string(arch) == CELL


def test_best_from_search_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="search.yaml: not found"):
        best_from_search(tmp_path)
    (tmp_path / "search.yaml").write_text("space: nb201\n")
    with pytest.raises(DataError, match="neither best.json nor journal.jsonl"):
        best_from_search(tmp_path)
    (tmp_path / "best.json").write_text(json.dumps({"arch": "|conv~0|"}))
    with pytest.raises(DataError, match="not in space 'nb201'"):
        best_from_search(tmp_path)


def test_best_from_search_reads_a_real_search_run(tmp_path: Path) -> None:
    """The reader against the search loop's own files (search.yaml, best.json)."""
    from ganas.nas.search import run_search
    from ganas.nas.strategies import make_strategy

    space = make_space("nb201", {"C": 4, "N": 1})

    class Formula:  # a deterministic stand-in evaluator: a distinct reward per architecture
        name = "formula"

        def evaluate(self, sp, arch, seed=0):
            from ganas.nas.base import EvalResult

            return EvalResult(reward=int("".join(map(str, arch)), 5) / 15625, metrics={}, cost={})

    res = run_search(space, make_strategy("random", space, seed=0), Formula(), 5, tmp_path / "run", seed=0)
    sp, arch = best_from_search(tmp_path / "run")
    journal = [json.loads(x) for x in (tmp_path / "run" / "journal.jsonl").read_text().splitlines()]
    assert sp.name == "nb201" and sp.settings.C == 4
    assert sp.to_string(arch) == max(journal, key=lambda e: e["reward"])["arch"] == space.to_string(res.best_arch)


# -- max_train / max_test on a class-sorted folder ---------------------------------------


def _class_sorted_folder(root: Path, per_class: int = 10) -> None:
    """root/{train,test}/{a,b,c}/*.png: the files sort class by class (the CIFAR-10 export layout)."""
    from PIL import Image

    for split in ("train", "test"):
        for k, name in enumerate("abc"):
            (root / split / name).mkdir(parents=True)
            for i in range(per_class):
                Image.fromarray(torch.full((8, 8), 40 + 80 * k + i, dtype=torch.uint8).numpy(), "L").save(
                    root / split / name / f"{i:02d}.png"
                )


def test_max_train_takes_a_seeded_stratified_subset(tmp_path: Path) -> None:
    _class_sorted_folder(tmp_path / "data")
    spec = f"folder:{tmp_path / 'data'}"
    full = load_split(spec, "train", 8, 1)
    assert full.labels.tolist() == [0] * 10 + [1] * 10 + [2] * 10  # class-sorted: the first 9 are all "a"
    sub = load_split(spec, "train", 8, 1, limit=9, seed=0)
    assert len(sub) == 9 and torch.bincount(sub.labels).tolist() == [3, 3, 3]
    again = load_split(spec, "train", 8, 1, limit=9, seed=0)
    other = load_split(spec, "train", 8, 1, limit=9, seed=1)
    assert torch.equal(sub.pixels, again.pixels) and not torch.equal(sub.pixels, other.pixels)
    rows = {tuple(x.flatten().tolist()) for x in full.pixels}
    assert all(tuple(x.flatten().tolist()) in rows for x in sub.pixels)  # real items, none made up
    # the evaluator and retrain take the subset too
    ev = TrainEvaluator(data_spec=spec, epochs=1, batch_size=4, image_size=8, channels=1, val_fraction=0.25,
                        max_train=12, split_seed=3)
    train, val = ev.data()
    assert len(train) + len(val) == 12 and torch.cat([train.labels, val.labels]).bincount().tolist() == [4, 4, 4]


def test_a_split_with_one_class_warns(tmp_path: Path) -> None:
    _class_sorted_folder(tmp_path / "data")
    spec = f"folder:{tmp_path / 'data'}"
    with pytest.warns(RuntimeWarning, match=r"train split \(a subset of 1\) holds 1 class"):
        load_split(spec, "train", 8, 1, limit=1)
    import shutil
    import warnings

    for name in "bc":
        shutil.rmtree(tmp_path / "data" / "train" / name)
    with pytest.warns(RuntimeWarning, match=r"the train split holds 1 class\(es\); a classifier"):
        load_split(spec, "train", 8, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_split(spec, "test", 8, 1, limit=3)  # three classes: no warning


def test_stratified_subset_sizes() -> None:
    import numpy as np

    from ganas.train.supervised import stratified_subset

    labels = np.array([0] * 50 + [1] * 30 + [2] * 20)
    for limit in (1, 7, 10, 33, 99, 100, 150):
        idx = stratified_subset(labels, limit, seed=0)
        assert len(idx) == min(limit, 100) and len(set(idx.tolist())) == len(idx) and (np.diff(idx) > 0).all()
        counts = np.bincount(labels[idx], minlength=3)
        assert (np.abs(counts - np.array([0.5, 0.3, 0.2]) * min(limit, 100)) < 1).all()  # proportional


def test_one_device_resolver_one_count_params_one_training_loop(spy, space) -> None:
    import ganas.gan
    import ganas.nas.evaluators.common as common
    import ganas.nas.flops
    import ganas.train.config
    import ganas.utils
    from ganas.train import supervised

    assert common.resolve_device is ganas.train.config.resolve_device  # one meaning of "auto"
    assert ganas.gan.count_params is ganas.nas.flops.count_params is ganas.utils.count_params
    assert common.accuracy is supervised.accuracy and common.LabelledData is supervised.LabelledData
    with pytest.raises(ConfigError, match="not a torch device"):
        evaluator(device="gpu0").evaluate(space, space.from_string(CELL))
