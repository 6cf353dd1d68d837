"""Search on Ray workers, for real, on one local Ray instance shared by this module
(2 CPUs): results, failures, a worker killed mid-evaluation, the parameter server on
Ray actors (same architectures as in-process), and the driver killed and re-run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from ganas.nas.base import EvalResult, Evaluator, SearchSpace  # noqa: E402
from ganas.nas.executors import make_executor  # noqa: E402
from ganas.nas.executors.ray import RayExecutor  # noqa: E402
from ganas.nas.search import JOURNAL, run_search  # noqa: E402
from ganas.nas.strategies import make_strategy  # noqa: E402

try:
    import test_strategies_toy as toy
except ImportError:  # tests/nas became a package
    from . import test_strategies_toy as toy  # type: ignore[no-redef]

SRC = str(Path(__file__).resolve().parents[2] / "src")
HERE = str(Path(__file__).resolve().parent)
#: the workers import ganas and these test helpers by name (as an installed package would be)
WORKER_ENV = {"env_vars": {"PYTHONPATH": os.pathsep.join([SRC, HERE])}}
PS = {"replicas": "2", "batch": "3", "lr": "0.05", "mode": "sync", "shards": "1"}


def ray_processes(marker: str) -> list[int]:
    """Pids of live processes whose command line mentions ``marker``."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit() and int(d.name) != os.getpid():
            try:
                if marker.encode() in (d / "cmdline").read_bytes():
                    out.append(int(d.name))
            except OSError:
                continue
    return out


@pytest.fixture(scope="module")
def cluster():
    temp = tempfile.mkdtemp(prefix="gr-", dir="/tmp")
    ray.init(num_cpus=2, include_dashboard=False, _temp_dir=temp, log_to_driver=False,
             logging_level="warning", runtime_env=WORKER_ENV)
    yield temp
    ray.shutdown()
    deadline = time.time() + 30
    while ray_processes(temp) and time.time() < deadline:
        time.sleep(0.2)
    assert not ray_processes(temp), "Ray processes left behind"


def _journal(out) -> list[dict]:
    return [json.loads(l) for l in (Path(out) / JOURNAL).read_text().splitlines()]


def _by_index(out) -> list[str]:
    return [e["arch"] for e in sorted(_journal(out), key=lambda e: e["i"])]


class Sleepy(Evaluator):
    """The toy reward after ``sleep`` seconds; arch[0] == 0 raises; writes its pid to
    ``pids/<index-seed>`` when it starts (so a test can kill it mid-evaluation)."""

    name = "sleepy"

    def __init__(self, sleep: float, pids: str | None = None, fail_zero: bool = False) -> None:
        self.sleep, self.pids, self.fail_zero = sleep, pids, fail_zero

    def evaluate(self, space: SearchSpace, arch: tuple, seed: int = 0) -> EvalResult:
        if self.pids:
            Path(self.pids, f"{seed}-{os.getpid()}-{time.monotonic_ns()}").write_text(str(os.getpid()))
        time.sleep(self.sleep)
        if self.fail_zero and arch[0] == 0:
            raise ValueError("no child today")
        return EvalResult(toy.toy_reward(arch), {"test_acc": toy.toy_reward(arch), "pid": os.getpid()})


def test_children_on_ray_workers_failures_and_a_worker_killed_mid_evaluation(cluster, tmp_path):
    """Children run on the workers; one that raises is retried, then recorded as failed;
    the worker running the 4th evaluation to start is SIGKILLed mid-evaluation: that
    child is retried on a fresh worker, and the journal holds every evaluation once."""
    space, pids = toy.ToySpace(), tmp_path / "pids"
    pids.mkdir()
    killed: list[int] = []
    done = threading.Event()

    def killer() -> None:
        # runs until it fires or the search ends: on a loaded machine the Ray workers can
        # take minutes to start, so a fixed deadline here made the test flaky
        while not done.is_set() and not killed:
            started = sorted(pids.iterdir(), key=lambda p: int(p.name.split("-")[2]))
            if len(started) >= 4:
                seed, pid = started[3].name.split("-")[:2]
                time.sleep(0.05)  # well inside its 0.3 s evaluation
                os.kill(int(pid), signal.SIGKILL)
                killed.append(int(seed))
            time.sleep(0.01)

    ex = make_executor("ray", workers=2, retries=2)
    assert isinstance(ex, RayExecutor) and ex.slots == 2
    t = threading.Thread(target=killer)
    t.start()
    try:
        with pytest.warns(RuntimeWarning, match="no child today"):
            res = run_search(space, make_strategy("random", space, seed=4), Sleepy(0.3, str(pids), fail_zero=True),
                             12, tmp_path / "run", seed=4, executor=ex)
    finally:
        done.set()
        t.join()
    assert killed, "the killer never fired: fewer than 4 evaluations started"
    lines = _journal(tmp_path / "run")
    assert sorted(e["i"] for e in lines) == list(range(12))  # every evaluation, exactly once
    ok = [e for e in lines if not e.get("failed")]
    assert os.getpid() not in {e["metrics"]["pid"] for e in ok}  # on the workers, not in the driver
    failed = [e for e in lines if e.get("failed")]
    assert failed and all(e["attempts"] == 3 and "no child today" in e["error"] for e in failed)
    assert res.failed == len(failed) and all(space.from_string(e["arch"])[0] == 0 for e in failed)
    victim = next(e for e in lines if e["seed"] == killed[0])
    if space.from_string(victim["arch"])[0] != 0:
        assert victim["attempts"] == 2 and not victim.get("failed")  # retried on a fresh worker
    starts = [p for p in pids.iterdir() if int(p.name.split("-")[0]) == killed[0]]
    assert len({p.name.split("-")[1] for p in starts}) >= 2  # the retry ran in another process
    deadline = time.time() + 10
    while ray.available_resources().get("CPU") != 2.0 and time.time() < deadline:
        time.sleep(0.1)
    assert ray.available_resources().get("CPU") == 2.0  # close() released the workers


DRIVER = """
import sys, ray, torch
torch.set_num_threads(1)
sys.path[:0] = [{src!r}, {tests!r}]
import test_strategies_toy as toy, test_ray
ray.init(address={address!r}, log_to_driver=False, logging_level="warning", runtime_env={env!r})
from ganas.nas.executors.ray import RayExecutor
from ganas.nas.search import run_search
from ganas.nas.strategies import make_strategy
space = toy.ToySpace()
strat = make_strategy("reinforce-ps", space, seed=2, overrides={ps!r})
run_search(space, strat, test_ray.Sleepy(0.1), 30, {out!r}, seed=2, executor=RayExecutor(workers=2))
"""


@pytest.mark.slow  # a second Python process (or Ray head) starts: 15-60 s on a loaded machine
def test_driver_killed_then_rerun_resumes_and_matches_the_in_process_search(cluster, tmp_path):
    """A synchronous parameter-server search on Ray (server shards on actors, children on
    workers) whose driver is SIGKILLed; re-running it resumes from the journal and the
    server's saved state, and the architectures equal those of an uninterrupted
    in-process search with the same seed."""
    out = tmp_path / "run"
    code = DRIVER.format(src=SRC, tests=str(Path(__file__).parent), address=ray.get_runtime_context().gcs_address, env=WORKER_ENV,
                         ps=PS, out=str(out))
    p = subprocess.Popen([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": SRC})
    try:
        deadline = time.time() + 900  # a loaded machine starts the driver and Ray slowly (300 s was too short)
        while time.time() < deadline and p.poll() is None:
            if (out / JOURNAL).exists() and (out / JOURNAL).read_bytes().count(b"\n") >= 10:
                break
            time.sleep(0.01)
        assert p.poll() is None, "the driver ended before it could be killed"
        p.send_signal(signal.SIGKILL)
        p.wait()
    finally:
        if p.poll() is None:
            p.kill()
    assert 10 <= len(_journal(out)) < 30
    space = toy.ToySpace()
    strat = make_strategy("reinforce-ps", space, seed=2, overrides=PS)
    run_search(space, strat, Sleepy(0.0), 30, out, seed=2, executor=RayExecutor(workers=2))
    lines = _journal(out)
    assert sorted(e["i"] for e in lines) == list(range(30))
    ref = make_strategy("reinforce-ps", space, seed=2, overrides=PS)
    run_search(space, ref, toy.ToyEvaluator(), 30, tmp_path / "ref", seed=2)
    assert type(strat.shards[0]).__name__ == "_RayRef"  # the resumed server ran on Ray actors
    assert _by_index(out) == _by_index(tmp_path / "ref")  # sync: as if never killed, and as in-process
    assert strat.stats()[0]["server_version"] == ref.stats()[0]["server_version"]
