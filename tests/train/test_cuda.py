"""The CUDA path, on a machine with a GPU (skipped elsewhere, so CI without one skips it).

Run by ``benchmarks/device_check.sh`` on the lent GPU machine. For every registered
method: a short Trainer run on ``cuda`` in fp32 and in bf16 autocast (the ``auto``
precision there), finite losses, a checkpoint that reloads on the CPU with
``weights_only=True`` and whose weights equal the GPU ones."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gan"))
from test_methods import NAMES, ExampleData, build  # noqa: E402

from ganas.train import TrainConfig, Trainer, restore_method  # noqa: E402

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
@pytest.mark.parametrize("name", NAMES)
def test_trainer_on_cuda_and_the_checkpoint_reloads_on_the_cpu(name: str, precision: str, tmp_path: Path) -> None:
    m = build(name)
    data = ExampleData(m, 2 * m.config.batch_size)
    tc = TrainConfig(steps=4, sample_every=0, checkpoint_every=2, log_every=1, n_samples=2,
                     device="cuda", precision=precision, progress=False)
    t = Trainer(name, m, data, tmp_path, tc, data_spec="example")
    assert t.fit().step == 4
    assert all(p.device.type == "cuda" for p in m.parameters())
    assert all(torch.isfinite(p).all() for p in m.parameters())
    _, restored, payload = restore_method(tmp_path)  # on the CPU, weights_only
    assert payload["step"] == 4
    got, want = restored.state_dict(), m.state_dict()
    assert got.keys() == want.keys()
    assert all(torch.equal(got[k], want[k].cpu()) for k in want), name
