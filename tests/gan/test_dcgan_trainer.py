"""DCGAN through the shared Trainer: a short run, then a restore from its checkpoint."""

from __future__ import annotations

from pathlib import Path

import torch

from ganas.gan import create_method
from ganas.train import TrainConfig, Trainer, restore_method


class Images(torch.utils.data.Dataset):
    def __init__(self) -> None:
        self.x = torch.rand(8, 1, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"image": self.x[i], "label": torch.tensor(-1)}


def test_trainer_run_and_restore(tmp_path: Path) -> None:
    torch.manual_seed(0)
    m = create_method("dcgan", {"image_size": 16, "channels": 1, "nz": 8, "ngf": 4, "ndf": 4, "batch_size": 4})
    tc = TrainConfig(steps=3, sample_every=0, checkpoint_every=0, log_every=1, device="cpu",
                     memory_format=m.preferred_memory_format(), n_samples=4, progress=False)
    result = Trainer("dcgan", m, Images(), tmp_path / "run", tc, data_spec="test").fit()
    assert result.status == "completed" and result.step == 3
    name, restored, payload = restore_method(tmp_path / "run")
    assert name == "dcgan" and restored.config == m.config and payload["step"] == 3
    for (n, p), q in zip(m.state_dict().items(), restored.state_dict().values()):
        assert torch.equal(p.cpu(), q), n
    g = lambda: torch.Generator().manual_seed(5)  # noqa: E731
    m.to(memory_format=torch.contiguous_format)
    assert torch.allclose(m.sample(4, generator=g()), restored.sample(4, generator=g()), atol=1e-6)
    assert restored.optimizers["G"].state_dict()["state"]  # Adam moments came back
