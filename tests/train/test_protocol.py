"""The trainer's side of the method protocol (docs/protocol.md): batch fields, the step
context, schedules and logged learning rates, epochs, extra state, visuals, the loss
window over resumes, a read-once resume, bf16 on the CPU."""

from __future__ import annotations

import pytest
import torch
from PIL import Image
from toy_gan import CYCLE, NAME, CropFlipData, PairData, ToyConfig, ToyCycle, ToyCycleConfig, ToyGAN, logged

from ganas.config import replace
from ganas.errors import ConfigError
from ganas.images import make_grid
from ganas.train.checkpoint import list_checkpoints
from ganas.train import (
    TrainConfig, Trainer, find_latest, load_checkpoint, read_metrics, restore_method, visual_path,
)

def toy(tmp_path, steps=6, method_over=None, **train):
    torch.manual_seed(0)
    method = ToyGAN(replace(ToyConfig(), method_over or {}))
    tc = replace(TrainConfig(), {"steps": steps, "progress": False, "device": "cpu", "sample_every": 0,
                                 "checkpoint_every": 2, "log_every": 1, "n_samples": 4, **train})
    return Trainer(NAME, method, CropFlipData(), tmp_path, tc, data_spec="toy")


def cycle(tmp_path, data=None, **train):
    torch.manual_seed(0)
    tc = replace(TrainConfig(), {"progress": False, "device": "cpu", "sample_every": 0,
                                 "checkpoint_every": 3, "log_every": 1, **train})
    return Trainer(CYCLE, ToyCycle(ToyCycleConfig()), data if data is not None else PairData(), tmp_path, tc,
                   data_spec="pairs")


def interrupt_after(t, step):
    """Stop ``t`` as the SIGINT handler does once checkpoint ``step`` is written (the
    next step finishes, then a checkpoint): a resume continues the same plan."""
    def hook(path):
        if path.name == f"step_{step:06d}.pt":
            t._stop = True

    t.on_checkpoint = hook
    return t


def test_missing_batch_field_names_field_method_and_data_spec(tmp_path):
    t = Trainer(CYCLE, ToyCycle(ToyCycleConfig()), CropFlipData(), tmp_path,
                TrainConfig(steps=2, progress=False, device="cpu"), data_spec="folder:photos")
    with pytest.raises(ConfigError) as e:
        t.fit()
    msg = str(e.value)
    assert "'A'" in msg and "'B'" in msg and CYCLE in msg and "folder:photos" in msg and "'image'" in msg


def test_step_context_and_per_step_schedule_with_logged_lr(tmp_path):
    t = toy(tmp_path, steps=7)  # 12 items, batch 4: 3 steps per epoch
    t.fit()
    ctx = t.method.seen_ctx
    assert [c.step for c in ctx] == list(range(1, 8)) and [c.epoch for c in ctx] == [0, 0, 0, 1, 1, 1, 2]
    assert {(c.steps_per_epoch, c.total_steps) for c in ctx} == {(3, 7)}
    rows = read_metrics(tmp_path)
    # StepLR(step_size=3, gamma=0.9) stepped after every step: steps 1-3 at 2e-4, 4-6 at 1.8e-4
    assert [r["lr"]["G"] for r in rows] == pytest.approx([2e-4] * 3 + [1.8e-4] * 3 + [1.62e-4])
    assert {r["lr"]["D"] for r in rows} == {2e-4} and [r["epoch"] for r in rows] == [0, 0, 0, 1, 1, 1, 2]


def test_epochs_from_the_method_and_per_epoch_schedule(tmp_path):
    t = cycle(tmp_path)  # no steps/epochs given: the method's n_epochs + n_epochs_decay = 3
    res = t.fit()
    assert res.step == 12 and res.plan.steps_per_epoch == 4 and res.plan.total_epochs == 3  # 8 pairs, batch 2
    # LambdaLR stepped after each epoch's last step: the lr of epoch e is 2e-4 * (1 - e/3)
    want = [2e-4] * 4 + [2e-4 * 2 / 3] * 4 + [2e-4 / 3] * 4
    assert t.method.lr_seen == pytest.approx(want)
    assert [r["lr"]["G"] for r in read_metrics(tmp_path)] == pytest.approx(want)
    assert load_checkpoint(res.checkpoint)["plan"] == {"steps_per_epoch": 4, "total_steps": 12}
    t2 = cycle(tmp_path / "e", epochs=1)
    assert t2.fit().step == 4


def test_resume_with_a_full_pool_is_bit_identical(tmp_path, monkeypatch):
    one = cycle(tmp_path / "one", steps=10)
    one.fit()
    assert len(one.method.pool_A.images) == 2  # the pool filled at step 1
    # the schedule decays over the run's 10 steps: stop that run mid-way, as Ctrl-C does
    assert interrupt_after(cycle(tmp_path / "two", steps=10), 3).fit().step == 4
    saved = load_checkpoint(find_latest(tmp_path / "two").path)["extra_state"]
    assert saved["pool_A"].shape == (2, 3, 8, 8)
    rest = cycle(tmp_path / "two", steps=10)
    rest.fit()
    for k, v in one.method.state_dict().items():
        assert torch.equal(v, rest.method.state_dict()[k]), k
    for a, b in zip(one.method.pool_B.images, rest.method.pool_B.images):
        assert torch.equal(a, b)
    assert logged(tmp_path / "one") == logged(tmp_path / "two")
    # the check is sensitive: a resume that forgets the pool trains differently
    monkeypatch.setattr(ToyCycle, "load_extra_state", lambda self, state: None)
    interrupt_after(cycle(tmp_path / "three", steps=10), 3).fit()
    forgot = cycle(tmp_path / "three", steps=10)
    forgot.fit()
    assert not torch.equal(forgot.method.G_A[0].weight, one.method.G_A[0].weight)


def test_named_visuals_from_a_fixed_held_out_batch(tmp_path):
    held_out = PairData(5)
    seen = []
    t = cycle(tmp_path, steps=4, sample_every=2, n_samples=3)
    t.visual_data, t.on_sample = held_out, seen.append
    t.fit()
    names = [p.relative_to(tmp_path).as_posix() for p in seen]
    assert names == ["samples/AtoB/step_000002.png", "samples/BtoA/step_000002.png",
                     "samples/AtoB/step_000004.png", "samples/BtoA/step_000004.png"]
    assert visual_path(tmp_path, "AtoB", 4) == seen[2]
    # 3 rows (n_samples) of input | output | reconstruction
    expect = make_grid(torch.zeros(9, 3, 8, 8), nrow=3).shape[:2]
    assert Image.open(seen[0]).size == (expect[1], expect[0])
    fixed = load_checkpoint(find_latest(tmp_path).path)["fixed"]
    assert set(fixed) == {"A", "B"} and fixed["A"].shape == (3, 3, 8, 8)
    assert all(any(torch.equal(a, held_out[i]["A"]) for i in range(5)) for a in fixed["A"])  # from visual_data
    # a resume keeps the stored batch, whatever the data now holds
    t2 = cycle(tmp_path, steps=6, sample_every=2, n_samples=3)
    t2.visual_data = PairData(7)
    t2.fit()
    assert torch.equal(load_checkpoint(find_latest(tmp_path).path)["fixed"]["A"], fixed["A"])


def test_dcgan_style_visual_keeps_the_samples_folder(tmp_path):
    t = toy(tmp_path, steps=2, sample_every=1)
    t.fit()
    assert sorted(p.name for p in (tmp_path / "samples").iterdir()) == ["step_000001.png", "step_000002.png"]
    assert load_checkpoint(find_latest(tmp_path).path)["fixed"] is None  # visual_fields = (): no data kept


def test_loss_reported_on_some_steps_is_averaged_over_those_steps(tmp_path):
    toy(tmp_path, steps=8, method_over={"sparse_every": 2}, log_every=4).fit()
    rows = read_metrics(tmp_path)
    assert [r["step"] for r in rows] == [4, 8]
    assert [r["losses"]["loss_sparse"] for r in rows] == [1.0, 1.0]  # not 0.5
    toy(tmp_path / "b", steps=3, method_over={"sparse_every": 2}, log_every=1).fit()
    assert [("loss_sparse" in r["losses"]) for r in read_metrics(tmp_path / "b")] == [False, True, False]


def test_metrics_after_resume_equal_the_uninterrupted_run(tmp_path):
    toy(tmp_path / "one", steps=8, log_every=3).fit()
    toy(tmp_path / "two", steps=8, log_every=3, keep_checkpoints=9).fit()
    for f in list_checkpoints(tmp_path / "two")[2:]:  # as if killed after checkpoint 4, mid-window (4..6)
        f.unlink()
    toy(tmp_path / "two", steps=8, log_every=3, keep_checkpoints=9).fit()
    one, two = logged(tmp_path / "one"), logged(tmp_path / "two")
    assert [r["step"] for r in one] == [3, 6, 8]
    assert two == one


def test_interrupt_then_resume_logs_like_an_uninterrupted_run(tmp_path):
    toy(tmp_path / "one", steps=8, log_every=3, checkpoint_every=1).fit()
    res = interrupt_after(toy(tmp_path / "two", steps=8, log_every=3, checkpoint_every=1), 4).fit()
    assert res.status == "interrupted" and res.step == 5
    assert [r["step"] for r in read_metrics(tmp_path / "two")] == [3]  # no off-schedule line
    toy(tmp_path / "two", steps=8, log_every=3, checkpoint_every=1).fit()
    assert logged(tmp_path / "two") == logged(tmp_path / "one")


def test_a_resume_reads_its_checkpoint_once(tmp_path, monkeypatch):
    toy(tmp_path, steps=2).fit()
    loads = []
    real_load = torch.load
    monkeypatch.setattr(torch, "load", lambda *a, **k: loads.append(a[0]) or real_load(*a, **k))
    toy(tmp_path, steps=4).fit()  # finds the latest checkpoint itself: one read
    assert len(loads) == 1
    loads.clear()
    found = find_latest(tmp_path)  # the caller reads it (and may use its config) ...
    assert len(loads) == 1
    cfg = toy(tmp_path, steps=6).cfg  # ... and hands it over: the trainer reads nothing
    t2 = Trainer(NAME, ToyGAN(ToyConfig()), CropFlipData(), tmp_path, cfg, data_spec="toy", resume_from=found)
    assert t2.fit().step == 6 and len(loads) == 1
    loads.clear()
    name, m, payload = restore_method(tmp_path)
    assert len(loads) == 1 and payload["step"] == 6


def test_bf16_on_the_cpu_only_when_asked(tmp_path):
    t = toy(tmp_path / "bf16", steps=2, precision="bf16")
    res = t.fit()
    assert t.precision == "bf16" and set(t.method.autocast_dtypes) == {torch.bfloat16}
    assert all(p.dtype == torch.float32 for p in t.method.parameters())  # fp32 master weights
    assert all(isinstance(v, float) for v in res.losses.values())
    t32 = toy(tmp_path / "auto", steps=1)  # auto on the CPU: fp32
    t32.fit()
    assert t32.precision == "fp32" and t32.method.autocast_dtypes == [torch.float32]


def test_keyed_dataset_gets_index_epoch_seed(tmp_path):
    t = cycle(tmp_path, steps=5, seed=3)
    seen = []
    step = ToyCycle.train_step
    t.method.train_step = lambda batch, ctx: seen.append(batch["key"].tolist()) or step(t.method, batch, ctx)
    t.fit()
    assert all(len(b) == 2 for b in seen)
    epochs = [k[1] for b in seen for k in b]
    assert epochs == [0] * 8 + [1] * 2 and {k[2] for b in seen for k in b} == {3}
    assert sorted(k[0] for b in seen[:4] for k in b) == list(range(8))  # one permutation per epoch


def test_latent_commands_refuse_a_method_without_latent_generator(tmp_path):
    from ganas.workflows.gan import arithmetic as arithmetic_run, interpolate as interpolate_run, sample as sample_run

    cycle(tmp_path, steps=1).fit()
    for call in (lambda: interpolate_run(tmp_path, tmp_path / "i.png", device="cpu"),
                 lambda: sample_run(tmp_path, 4, tmp_path / "s.png", device="cpu"),
                 lambda: arithmetic_run(tmp_path, tmp_path / "a.png", "shape=circle", "shape=square",
                                        "shape=circle", device="cpu")):
        with pytest.raises(ConfigError, match="interpolate|sample|arithmetic.*latent"):
            call()
    assert not list(tmp_path.glob("*.png"))
