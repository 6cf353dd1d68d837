"""End to end: ``ganas train --from``, qualified ``--set`` keys, one evaluation sample
count, and the Python API (``ganas.workflows``) under the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml

from e2e_helpers import TINY, assert_error


def _payload(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


@pytest.fixture
def source_run(digits_run: Path) -> Path:
    """The session's tiny digits run (20 steps, 16 px, ngf 8), used read-only."""
    return digits_run


def _latest(run: Path) -> Path:
    return sorted((run / "checkpoints").glob("step_*.pt"))[-1]


def test_train_from_starts_a_new_run_from_trained_weights(cli, source_run: Path, tmp_path: Path) -> None:
    before = sorted(p.name for p in (source_run / "checkpoints").glob("*.pt"))
    src = _payload(_latest(source_run))
    new = tmp_path / "finetune"
    res = cli("train", "--from", source_run, "--out", new, "--steps", 2, "--set", "lr=1e-12", "--quiet",
              "--device", "cpu")
    assert res.rc == 0, res.err
    assert "completed at step 2" in res.out
    # step 0 again: a new run of 2 steps, not steps 21-22 of the old one
    assert [p.name for p in (new / "checkpoints").glob("*.pt")] == ["step_000002.pt"]
    ckpt = _payload(new / "checkpoints" / "step_000002.pt")
    assert ckpt["step"] == 2 and ckpt["method"] == "dcgan" and ckpt["data"] == "digits"
    # the source's config (tiny nets, 16 px) with the override on top
    assert ckpt["config"]["ngf"] == 8 and ckpt["config"]["image_size"] == 16 and ckpt["config"]["lr"] == 1e-12
    # fresh optimizers: Adam has counted 2 steps, not 22
    steps = {float(s["step"]) for s in ckpt["optimizers"]["G"]["state"].values()}
    assert steps == {2.0}
    # the weights are the source's (an lr of 1e-12 moves them by ~1e-12)
    for k, v in src["model"].items():
        if k.endswith("weight") and v.is_floating_point():
            assert torch.allclose(ckpt["model"][k], v, atol=1e-6), k
    origin = json.loads((new / "origin.json").read_text())
    assert origin["from"] == str(_latest(source_run)) and origin["step"] == src["step"] == 20
    assert any(c.startswith("lr ") for c in origin["changed"]["config"])
    # the source is untouched
    assert sorted(p.name for p in (source_run / "checkpoints").glob("*.pt")) == before


def test_train_from_a_checkpoint_file_with_a_new_seed_trains_differently(cli, source_run: Path,
                                                                        tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    res = cli("train", "dcgan", "--data", "digits", "--out", fresh, "--steps", 2, *TINY)
    assert res.rc == 0, res.err
    new = tmp_path / "b"
    res = cli("train", "dcgan", "--from", _latest(source_run), "--out", new,
              "--steps", 2, "--set", "lr=1e-12", "--quiet", "--device", "cpu")
    assert res.rc == 0, res.err
    a, b = _payload(fresh / "checkpoints" / "step_000002.pt"), _payload(new / "checkpoints" / "step_000002.pt")
    src = _payload(_latest(source_run))
    key = next(k for k in src["model"] if k.endswith("weight"))
    assert torch.allclose(b["model"][key], src["model"][key], atol=1e-6)
    assert not torch.allclose(a["model"][key], src["model"][key], atol=1e-3)  # a run from scratch differs


def test_train_from_refuses_architecture_changes_and_used_folders(cli, source_run: Path, tmp_path: Path) -> None:
    res = cli("train", "--from", source_run, "--out", tmp_path / "n", "--set", "ngf=16", "--quiet")
    assert_error(res, "ngf", "stored 8", "requested 16", "architecture")
    assert not (tmp_path / "n" / "checkpoints").exists()
    assert_error(cli("train", "--from", source_run, "--out", source_run, "--quiet"), "already holds a run")
    assert_error(cli("train", "--from", tmp_path / "absent", "--out", tmp_path / "m"), "absent")
    assert_error(cli("train", "pix2pix", "--from", source_run, "--out", tmp_path / "m"), "dcgan")
    assert_error(cli("train", "--data", "digits", "--out", tmp_path / "m"), "METHOD", "--from")


def test_resume_refusal_points_to_from(cli, source_run: Path, tmp_path: Path) -> None:
    res = cli("train", "dcgan", "--data", "digits", "--out", source_run, "--steps", 30, "--set", "lr=1e-3",
              "--quiet")
    assert_error(res, "lr", f"ganas train --from {source_run} --out")
    res = cli("train", "dcgan", "--data", "shapes", "--out", source_run, "--steps", 30, "--quiet")
    assert_error(res, "digits", "shapes", "--from")


def test_eval_every_and_eval_use_the_same_sample_count() -> None:
    """One constant; ``test_eval_every_logs_metrics_that_survive_resume`` checks that the
    rows of evals.jsonl were computed on it."""
    from ganas.cli import build_parser
    from ganas.workflows import EVAL_N, gan

    assert EVAL_N == 2000
    assert build_parser().parse_args(["eval", "run"]).n == EVAL_N
    assert gan.train.__kwdefaults__["eval_n"] == gan.evaluate.__defaults__[0] == EVAL_N


def test_ambiguous_set_key_is_refused_with_the_qualified_names(cli, tmp_path: Path) -> None:
    base = ("search", "--space", "nb201", "--strategy", "reinforce", "--data", "digits", "--budget", 1,
            "--out", tmp_path / "S")
    assert_error(cli(*base, "--set", "lr=0.01"), "'lr' is ambiguous", "strategy.lr", "evaluator.lr")
    assert not (tmp_path / "S").exists()


def test_qualified_set_keys_reach_their_own_config() -> None:
    from ganas.workflows import nas

    s = nas.setup("nb201", "pnas", data="digits",
                  sets={"strategy.lr": "0.05", "evaluator.lr": "0.2", "evaluator.epochs": "3", "C": "4"})
    assert s.routed["strategy"] == {"lr": "0.05"}
    assert s.evaluator.settings.lr == 0.2 and s.evaluator.settings.epochs == 3
    assert s.space.settings.C == 4


def test_python_api_trains_samples_and_evaluates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The README's example: typed arguments in, plain results out, nothing printed."""
    from ganas.workflows import gan

    sets = {"image_size": 16, "channels": 1, "ngf": 8, "ndf": 8, "batch_size": 16, "checkpoint_every": 4}
    result = gan.train("dcgan", "digits", tmp_path / "a", sets, steps=4, device="cpu", progress=False)
    assert (result.status, result.step) == ("completed", 4)
    grid = gan.sample(tmp_path / "a", 4, tmp_path / "g.png", device="cpu")
    assert grid == tmp_path / "g.png" and grid.is_file()
    ev = gan.evaluate(tmp_path / "a", n=100, device="cpu")
    assert ev.step == 4 and ev.metrics["n"] == 100 and ev.metrics["fd"] >= 0
    assert json.loads(ev.path.read_text()) == ev.as_dict()
    cfg = yaml.safe_load((tmp_path / "a" / "config.yaml").read_text())
    assert cfg["config"]["ngf"] == 8
    assert capsys.readouterr().out == ""  # workflows print nothing


def test_a_resume_reads_its_checkpoint_once(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The workflow reads the latest checkpoint once and hands it to the trainer."""
    import inspect

    from ganas.train import Trainer

    if "resume_from" not in inspect.signature(Trainer).parameters:
        pytest.skip("this Trainer cannot take an already-read checkpoint (resume_from)")
    run = tmp_path / "run"
    assert cli("train", "dcgan", "--data", "digits", "--out", run, "--steps", 10, *TINY).rc == 0
    reads: list[str] = []
    real_load = torch.load

    def counting_load(f, *args, **kwargs):
        if isinstance(f, (str, Path)) and Path(f).parent == run / "checkpoints":
            reads.append(Path(f).name)
        return real_load(f, *args, **kwargs)

    monkeypatch.setattr(torch, "load", counting_load)
    res = cli("train", "dcgan", "--data", "digits", "--out", run, "--steps", 12, "--quiet", "--device", "cpu")
    assert res.rc == 0, res.err
    assert reads == ["step_000010.pt"]
