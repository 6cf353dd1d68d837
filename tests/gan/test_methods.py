"""Tests generated from the METHODS registry: every registered method is built from its
own ``tiny_config()`` (no hand-kept dictionaries) and checked against the protocol
(docs/protocol.md): declarations, one step reaching every parameter with finite
gradients, visuals, the latent commands, and a trainer run whose checkpoint round trip
and resume are exact. The toy two-generator method of ``tests/train/toy_gan.py``
stands for the methods with several generators until CycleGAN is registered."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "train"))
import toy_gan  # noqa: E402,F401  (registers the toy methods)

from ganas.errors import ConfigError  # noqa: E402
from ganas.gan import EVALUATIONS, METHODS  # noqa: E402
from ganas.gan.base import SCHEDULES, StepContext, TrainPlan  # noqa: E402
from ganas.train import TrainConfig, Trainer, restore_method  # noqa: E402

NAMES = METHODS.list()


def _same(a, b) -> bool:
    """Equal nested state (dicts, lists, tensors, builtins), tensors compared exactly."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.shape == b.shape and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def build(name: str):
    cls = METHODS.get(name).factory
    torch.manual_seed(0)
    return cls(cls.tiny_config())


class ExampleData(torch.utils.data.Dataset):
    """Items cut from a method's own ``example_batch``."""

    def __init__(self, method, n: int) -> None:
        self.batch = method.example_batch(n)

    def __len__(self) -> int:
        return len(next(iter(self.batch.values())))

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {k: v[i] for k, v in self.batch.items()}


def test_the_toy_with_several_generators_is_covered() -> None:
    assert toy_gan.CYCLE in NAMES
    assert sum(k.startswith("G") for k in build(toy_gan.CYCLE).networks()) == 2


@pytest.mark.parametrize("name", NAMES)
def test_declarations(name: str) -> None:
    cls = METHODS.get(name).factory
    cfg = cls.tiny_config()
    assert isinstance(cfg, cls.Config)
    assert cls.batch_fields and all(isinstance(f, str) for f in cls.batch_fields)
    assert cls.visual_fields is None or set(cls.visual_fields) <= set(cls.batch_fields)
    assert cls.evaluation in EVALUATIONS and cls.schedule in SCHEDULES and isinstance(cls.latent, bool)
    assert isinstance(cls.data_defaults(cfg), dict) and isinstance(cls.train_defaults(cfg), dict)
    m = build(name)
    batch = m.example_batch(2)
    assert set(cls.batch_fields) <= set(batch), "example_batch lacks a declared batch field"
    assert set(m.describe()) == set(m.networks())


@pytest.mark.parametrize("name", NAMES)
def test_one_step_reaches_every_parameter(name: str) -> None:
    m = build(name)
    m.configure_optimizers(TrainPlan(steps_per_epoch=2, total_steps=4))
    params = {f"{net}.{n}": p for net, mod in m.networks().items() for n, p in mod.named_parameters()}
    assert params, "a method without parameters"
    got: dict[str, bool] = {}
    handles = [
        p.register_hook(lambda g, n=n: got.__setitem__(n, got.get(n, True) and bool(torch.isfinite(g).all())))
        for n, p in params.items()
    ]
    ctx = StepContext(step=1, device=torch.device("cpu"), epoch=0, steps_per_epoch=2, total_steps=4)
    try:
        losses = m.train_step(m.example_batch(m.config.batch_size), ctx)
    finally:
        for h in handles:
            h.remove()
    missing = sorted(set(params) - set(got))
    assert not missing, f"no gradient reached: {missing}"
    assert all(got.values()), f"non-finite gradients: {[n for n, ok in got.items() if not ok]}"
    assert losses and all(v.dim() == 0 and torch.isfinite(v) and not v.requires_grad for v in losses.values())
    assert all(torch.isfinite(p).all() for p in m.parameters())


@pytest.mark.parametrize("name", NAMES)
def test_visuals_and_latent_commands(name: str) -> None:
    m = build(name)
    fields = m.visual_fields if m.visual_fields is not None else m.batch_fields
    fixed = {k: v for k, v in m.example_batch(3).items() if k in fields} if fields else None
    grids = m.visuals(fixed, torch.Generator().manual_seed(0), 3)
    assert grids
    for key, g in grids.items():
        assert g.dim() in (4, 5) and g.shape[-3] in (1, 3), key
        assert g.min() >= -1 and g.max() <= 1 and torch.isfinite(g).all(), key
    again = m.visuals(fixed, torch.Generator().manual_seed(0), 3)
    assert all(torch.equal(grids[k], again[k]) for k in grids)  # fixed inputs and noise: same grids
    if m.latent:
        x = m.sample(3, generator=torch.Generator().manual_seed(0))
        assert tuple(x.shape) == (3, *m.describe()["G"]["output_shape"])
        assert x.min() >= -1 and x.max() <= 1
    else:
        with pytest.raises(ConfigError, match="latent"):
            m.sample(3)


@pytest.mark.parametrize("name", NAMES)
def test_checkpoint_round_trip_and_exact_resume(name: str, tmp_path: Path) -> None:
    def trainer(out: Path, steps: int) -> Trainer:
        m = build(name)
        data = ExampleData(m, 2 * m.config.batch_size)
        tc = TrainConfig(steps=steps, sample_every=0, checkpoint_every=1, log_every=1, n_samples=2,
                         device="cpu", progress=False)
        return Trainer(name, m, data, out, tc, data_spec="example")

    one = trainer(tmp_path / "one", 3)
    one.fit()
    t = trainer(tmp_path / "two", 3)

    def stop_after_the_first(path: Path) -> None:  # as Ctrl-C: step 2 finishes, then a checkpoint
        if path.name == "step_000001.pt":
            t._stop = True

    t.on_checkpoint = stop_after_the_first
    assert t.fit().status == "interrupted"
    rest = trainer(tmp_path / "two", 3)
    assert rest.fit().step == 3
    a, b = one.method.state_dict(), rest.method.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), name
    got_name, restored, payload = restore_method(tmp_path / "one")
    assert got_name == name and payload["step"] == 3
    r = restored.state_dict()
    assert all(torch.equal(a[k], r[k]) for k in a)
    for k, opt in one.method.optimizers.items():
        assert restored.optimizers[k].state_dict()["state"].keys() == opt.state_dict()["state"].keys()
    assert {k: s.state_dict() for k, s in restored.schedulers.items()} == \
        {k: s.state_dict() for k, s in one.method.schedulers.items()}
    extra, back = one.method.extra_state(), restored.extra_state()
    assert extra.keys() == back.keys()
    assert _same(extra, back)
