"""Real signals on a training subprocess: SIGKILL at several moments, then resume; SIGINT."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from toy_gan import logged, run

from ganas.train import load_checkpoint, read_metrics
from ganas.train.checkpoint import list_checkpoints

HERE = Path(__file__).resolve().parent
SRC = HERE.parents[1] / "src"
# log_every=3 with a checkpoint every step: kills land inside logging windows
OPTS = dict(checkpoint_every=1, keep_checkpoints=3, sample_every=0, log_every=3, step_sleep=0.03)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def start(out: Path, steps: int) -> subprocess.Popen:
    code = (f"import sys; sys.path.insert(0, {str(HERE)!r}); from toy_gan import logged, run; "
            f"run({str(out)!r}, {steps}, **{OPTS!r})")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
           # the same thread count as this process: float sums must match the in-process reference
           "OMP_NUM_THREADS": str(torch.get_num_threads())}
    return subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def newest_step(out: Path) -> int:
    found = list_checkpoints(out)
    return int(found[-1].stem.split("_")[1]) if found else 0


def wait_for_step(proc: subprocess.Popen, out: Path, step: int, timeout: float = 60.0) -> None:
    t = time.monotonic()
    while newest_step(out) < step:
        if proc.poll() is not None:
            raise AssertionError(f"training ended early: {proc.communicate()}")
        if time.monotonic() - t > timeout:
            proc.kill()
            raise AssertionError("no checkpoint appeared")
        time.sleep(0.005)


def test_sigkill_at_several_moments_then_resume(tmp_path):
    steps = 12
    reference = tmp_path / "ref"
    assert run(str(reference), steps, **OPTS) == "completed"
    ref_model = load_checkpoint(list_checkpoints(reference)[-1])["model"]
    ref_log = logged(reference)
    assert [r["step"] for r in ref_log] == [3, 6, 9, 12]
    # (checkpoint step to wait for, extra delay): after the 1st, after the 3rd, at a random moment
    moments = [(1, 0.0), (3, 0.0), (1, random.Random(0).uniform(0.0, 0.2))]
    outs = [tmp_path / f"kill{i}" for i in range(len(moments))]
    # a fresh interpreter each (fork is unsafe once torch's OpenMP threads exist), killed for real
    procs = [start(out, steps) for out in outs]
    kill_at: list[float | None] = [None] * len(moments)
    deadline = time.monotonic() + 90
    while any(p.poll() is None for p in procs):
        if time.monotonic() > deadline:
            for p in procs:
                p.kill()
            raise AssertionError("no checkpoint appeared")
        for i, (p, out, (step, delay)) in enumerate(zip(procs, outs, moments)):
            if p.poll() is not None:
                continue
            if kill_at[i] is None and newest_step(out) >= step:
                kill_at[i] = time.monotonic() + delay
            if kill_at[i] is not None and time.monotonic() >= kill_at[i]:
                os.kill(p.pid, signal.SIGKILL)
                p.wait()
        time.sleep(0.002)
    for p, out in zip(procs, outs):
        assert p.returncode == -signal.SIGKILL, f"training ended before the kill: {p.communicate()}"
        left = list_checkpoints(out)
        assert left and newest_step(out) < steps, out
        for f in left:  # every checkpoint a kill leaves behind loads
            assert load_checkpoint(f)["step"] >= 1
        assert run(str(out), steps, **OPTS) == "completed"
        assert logged(out) == ref_log, out  # the same lines, averages over the same steps
        final = load_checkpoint(list_checkpoints(out)[-1])
        assert final["step"] == steps
        for k, v in ref_model.items():  # killed + resumed == uninterrupted, bit for bit
            assert torch.equal(v, final["model"][k]), (out, k)


def test_sigint_finishes_the_step_and_saves(tmp_path):
    out = tmp_path / "run"
    proc = start(out, 200)
    wait_for_step(proc, out, 2)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    status, step = stdout.split()[-2:]
    assert status == "interrupted" and 2 <= int(step) < 200
    assert newest_step(out) == int(step)
    assert load_checkpoint(list_checkpoints(out)[-1])["step"] == int(step)
    assert [r["step"] for r in read_metrics(out)] == list(range(3, int(step) + 1, 3))  # no off-schedule line
    assert load_checkpoint(list_checkpoints(out)[-1])["log_window"]["counts"].get("loss_D", 0) == int(step) % 3
