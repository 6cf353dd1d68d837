"""The executor seam without Ray: results as they arrive, retries and failures, close()
always, pending jobs survive a kill, a resume may change executor and slots, the worker
decides the device, evaluators ship without their data; the parameter-server strategy
in-process (sync: one sequence whatever the workers; async: staleness)."""

from __future__ import annotations

import json
import math
import multiprocessing as mp
import os
import pickle
import signal
import threading
import time
from pathlib import Path

import pytest
import torch
import yaml

from ganas.errors import ConfigError
from ganas.nas.base import EvalResult, Evaluator, SearchSpace, Strategy
from ganas.nas.evaluators import TrainEvaluator
from ganas.nas.executors import LocalExecutor
from ganas.nas.search import CONFIG, JOURNAL, check_config, run_search
from ganas.nas.strategies import make_strategy

try:
    import test_strategies_toy as toy
except ImportError:  # tests/nas became a package
    from . import test_strategies_toy as toy  # type: ignore[no-redef]

PS = {"replicas": "3", "batch": "4", "lr": "0.05", "shards": "2"}


def _journal(out) -> list[dict]:
    return [json.loads(l) for l in (Path(out) / JOURNAL).read_text().splitlines()]


def _by_index(out) -> list[str]:
    return [e["arch"] for e in sorted(_journal(out), key=lambda e: e["i"])]


class Flaky(Evaluator):
    """arch[0] == 0: always raises; arch[0] == 1: NaN reward; arch[0] == 2: raises on the
    first try only; otherwise the toy reward. Sleeps ``sleep * arch[1]`` (out-of-order
    completion with threads)."""

    name = "flaky"

    def __init__(self, sleep: float = 0.0) -> None:
        self.sleep, self.tries, self.lock = sleep, {}, threading.Lock()

    def __getstate__(self):
        return {"sleep": self.sleep}

    def evaluate(self, space: SearchSpace, arch: tuple, seed: int = 0) -> EvalResult:
        with self.lock:
            n = self.tries[(arch, seed)] = self.tries.get((arch, seed), 0) + 1
        time.sleep(self.sleep * arch[1])
        if arch[0] == 0:
            raise ValueError(f"child {arch} does not build")
        if arch[0] == 1:
            return EvalResult(math.nan)
        if arch[0] == 2 and n == 1:
            raise RuntimeError("transient")
        return EvalResult(toy.toy_reward(arch), {"test_acc": 1.0})


def test_failures_are_retried_then_recorded_and_the_search_goes_on(tmp_path):
    space, ev = toy.ToySpace(), Flaky()
    strat = make_strategy("random", space, seed=3)
    with pytest.warns(RuntimeWarning, match="failed after"):
        res = run_search(space, strat, ev, 40, tmp_path, seed=3, executor=LocalExecutor(retries=2))
    lines = _journal(tmp_path)
    assert sorted(e["i"] for e in lines) == list(range(40))
    by_first = {k: [e for e in lines if space.from_string(e["arch"])[0] == k] for k in range(4)}
    assert all(by_first[k] for k in range(4))  # every case occurred
    for e in by_first[0]:  # raised every time: 1 try + 2 retries, then failed with its error
        assert e["failed"] and e["attempts"] == 3 and "does not build" in e["error"] and e["reward"] == 0.0
    for e in by_first[1]:  # NaN: failed at once (the same child would diverge again)
        assert e["failed"] and e["attempts"] == 1 and "non-finite" in e["error"]
    for e in by_first[2]:  # transient: succeeded on the second try
        assert "failed" not in e and e["attempts"] == 2 and e["reward"] == toy.toy_reward(space.from_string(e["arch"]))
    assert res.failed == len(by_first[0]) + len(by_first[1])
    assert not res.best.get("failed") and space.from_string(res.best["arch"])[0] >= 2
    assert json.loads((tmp_path / "search.json").read_text())["failed"] == res.failed


class Boom(Strategy):
    name = "boom"

    def __init__(self, space):
        super().__init__(space)
        self.n = 0

    def ask(self):
        self.n += 1
        if self.n > 3:
            raise KeyError("strategy bug")
        return (0,) * 6

    def tell(self, arch, reward):
        pass

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass


class Counting(LocalExecutor):
    closed = 0

    def close(self):
        Counting.closed += 1
        super().close()


def test_close_runs_whatever_happens(tmp_path):
    before = threading.active_count()
    with pytest.raises(KeyError, match="strategy bug"):
        run_search(toy.ToySpace(), Boom(toy.ToySpace()), toy.ToyEvaluator(), 10, tmp_path,
                   executor=Counting(workers=2))
    assert Counting.closed == 1 and threading.active_count() == before  # no thread left behind
    run_search(toy.ToySpace(), make_strategy("random", toy.ToySpace()), toy.ToyEvaluator(), 3, tmp_path / "b",
               executor=Counting())
    assert Counting.closed == 2


class Silent(Boom):
    def ask(self):
        return None


def test_a_strategy_that_proposes_nothing_is_an_error_not_a_hang(tmp_path):
    with pytest.raises(ConfigError, match="proposes nothing"):
        run_search(toy.ToySpace(), Silent(toy.ToySpace()), toy.ToyEvaluator(), 5, tmp_path)


class Recorder(Strategy):
    """Random proposals; records the order of tells."""

    name = "recorder"

    def __init__(self, space):
        super().__init__(space)
        self.inner = make_strategy("random", space, seed=1)
        self.told: list[tuple] = []

    def ask(self):
        return self.inner.ask()

    def tell(self, arch, reward):
        self.told.append(tuple(arch))

    def state_dict(self):
        return self.inner.state_dict()

    def load_state_dict(self, state):
        self.inner.load_state_dict(state)


def test_threads_tell_each_result_as_it_arrives(tmp_path):
    space = toy.ToySpace()
    strat = Recorder(space)
    run_search(space, strat, toy.ToyEvaluator(), 1, tmp_path / "warm")  # (a first, tiny search)
    strat = Recorder(space)

    class Slow(toy.ToyEvaluator):
        def evaluate(self, space, arch, seed=0):
            time.sleep(0.02 * arch[1])  # children finish out of order
            return super().evaluate(space, arch, seed)

    run_search(space, strat, Slow(), 24, tmp_path / "run", executor=LocalExecutor(workers=4))
    lines = _journal(tmp_path / "run")
    order = [e["i"] for e in lines]
    assert sorted(order) == list(range(24)) and order != sorted(order)  # arrival order, each once
    assert strat.told == [space.from_string(e["arch"]) for e in lines]  # told in arrival order
    runs = yaml.safe_load((tmp_path / "run" / CONFIG).read_text())["runs"]
    assert runs == [{"executor": "local", "slots": 4, "at": 0}]


def _killable(out: str, budget: int, workers: int) -> None:
    torch.set_num_threads(1)
    space = toy.ToySpace()
    strat = make_strategy("evolution", space, seed=2, overrides={"population": "6", "sample": "3"})
    run_search(space, strat, toy.ToyEvaluator(sleep=0.01), budget, out, seed=2, executor=LocalExecutor(workers=workers))


def test_driver_killed_with_jobs_running_then_resumed_with_other_slots(tmp_path):
    """SIGKILL of a search with 3 evaluations running; the resume (1 slot, then 2) finishes
    the pending ones and the journal holds each evaluation once (then grows with 2)."""
    out = tmp_path / "run"
    p = mp.get_context("fork").Process(target=_killable, args=(str(out), 60, 3))
    p.start()
    deadline = time.time() + 60
    while time.time() < deadline and not ((out / JOURNAL).exists() and (out / JOURNAL).read_bytes().count(b"\n") >= 12):
        time.sleep(0.002)
    os.kill(p.pid, signal.SIGKILL)
    p.join()
    assert p.exitcode == -signal.SIGKILL
    state = torch.load(out / "strategy.pt", weights_only=True)
    assert state["pending"] and state["slots"] == 3  # evaluations were running at the kill
    _killable(str(out), 60, 1)
    _killable(str(out), 80, 2)
    got = _journal(out)
    assert sorted(e["i"] for e in got) == list(range(80))
    assert all(e["reward"] == toy.toy_reward(toy.ToySpace().from_string(e["arch"])) for e in got)
    runs = yaml.safe_load((out / CONFIG).read_text())["runs"]
    assert [r["slots"] for r in runs] == [3, 1, 2]


def test_the_worker_decides_the_device_and_a_resume_may_change_it(tmp_path):
    ev = TrainEvaluator(data_spec="tiny", epochs=1, device="cpu")
    assert ev.placement_keys == ("device",)
    LocalExecutor(device="meta").start(ev, toy.ToySpace())
    assert ev.settings.device == "meta"
    old = {"space": "s", "strategy": "r", "evaluator": "train", "seed": 0, "budget": 5,
           "evaluator_settings": {"device": "cpu", "epochs": 1}}
    new = {**old, "evaluator_settings": {"device": "cuda", "epochs": 1}}
    check_config(tmp_path, old, new, ev.placement_keys)  # allowed
    with pytest.raises(ConfigError, match="evaluator_settings"):
        check_config(tmp_path, old, {**new, "evaluator_settings": {"device": "cuda", "epochs": 2}}, ev.placement_keys)


def test_an_evaluator_ships_without_its_data():
    ev = TrainEvaluator(data_spec="tiny", epochs=1)
    ev._data = (torch.zeros(1_000_000), torch.zeros(10))  # as if loaded
    blob = pickle.dumps(ev)
    assert len(blob) < 20_000  # 4 MB of data left behind
    back = pickle.loads(blob)
    assert back._data is None and back.settings == ev.settings and ev._data is not None


# -- the parameter-server strategy, in-process --------------------------------------
def _ps(out, budget, mode, workers, settings=PS, seed=0):
    space = toy.ToySpace()
    strat = make_strategy("reinforce-ps", space, seed=seed, overrides={**settings, "mode": mode})
    run_search(space, strat, toy.ToyEvaluator(sleep=0.002 if workers > 1 else 0.0), budget, out, seed=seed,
               executor=LocalExecutor(workers=workers))
    return strat


def test_sync_parameter_server_gives_one_sequence_whatever_the_workers_and_shards(tmp_path):
    table = {**PS, "controller": "table", "lr": "0.1"}  # (fast; the LSTM is resumed below)
    a = _ps(tmp_path / "a", 48, "sync", 1, table)
    b = _ps(tmp_path / "b", 48, "sync", 5, table)
    c = _ps(tmp_path / "c", 48, "sync", 1, {**table, "shards": "1"})
    assert _by_index(tmp_path / "a") == _by_index(tmp_path / "b") == _by_index(tmp_path / "c")
    st = a.stats()[0]
    assert st["pushes"] == 12 and st["server_version"] == 4 and st["staleness"] == {"0": 12}
    assert b.stats()[0]["server_version"] == 4


@pytest.mark.parametrize("controller", ["lstm", "table"])
def test_a_push_is_the_reinforce_update(controller):
    """One replica, one step: the server's new weights are those of ``reinforce``'s own
    update on the same batch from the same weights."""
    from ganas.nas.param_server import ReinforcePS, ReinforcePSSettings
    from ganas.nas.strategies.reinforce import Reinforce, ReinforceSettings

    space = toy.ToySpace()
    ps = ReinforcePS(space, 0, ReinforcePSSettings(controller=controller, replicas=1, batch=4, mode="sync", shards=2,
                                                   lr=0.05))
    start = {n: t for st in ps._server_state() for n, t in st["params"].items()}
    archs = [ps.ask() for _ in range(4)]
    assert ps.ask() is None  # sync: the replica waits for the server's step
    ref = Reinforce(space, 9, ReinforceSettings(controller=controller, batch=4, lr=0.05))
    ref.controller.load_state_dict(start)
    for a in archs:
        ps.tell(a, toy.toy_reward(a))
        ref.tell(a, toy.toy_reward(a))
    assert ref.updates == 1
    after = {n: t for st in ps._server_state() for n, t in st["params"].items()}
    changed = 0
    for n, p in ref.controller.named_parameters():
        torch.testing.assert_close(after[n], p.detach(), rtol=0, atol=1e-6)
        changed += int(not torch.equal(after[n], start[n]))
    assert changed > 0 and ps.ask() is not None  # the step happened; the replica pulls again


def test_sync_parameter_server_resumes_exactly(tmp_path):
    _ps(tmp_path / "ref", 40, "sync", 1)
    _ps(tmp_path / "run", 18, "sync", 1)  # stops in the middle of a round
    _ps(tmp_path / "run", 40, "sync", 3)
    assert _by_index(tmp_path / "run") == _by_index(tmp_path / "ref")


def test_async_parameter_server_records_staleness(tmp_path):
    strat = _ps(tmp_path, 60, "async", 8)  # two replicas run at once
    st = strat.stats()[0]
    assert st["pushes"] == 15 and st["server_version"] == 15
    assert sum(st["staleness"].values()) == 15 and st["staleness_mean"] > 0  # replicas overlap
    summary = json.loads((tmp_path / "search.json").read_text())
    assert summary["strategy_stats"][0]["staleness"] == st["staleness"]


def test_parameter_server_settings_are_checked():
    with pytest.raises(ConfigError, match="algo=reinforce"):
        make_strategy("reinforce-ps", toy.ToySpace(), overrides={"algo": "ppo"})
    with pytest.raises(ConfigError, match="replicas"):
        make_strategy("reinforce-ps", toy.ToySpace(), overrides={"replicas": "0"})


def test_without_ray_the_ray_executor_says_how_to_get_it(monkeypatch):
    import sys

    from ganas.nas.executors import make_executor

    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed
    monkeypatch.delitem(sys.modules, "ganas.nas.executors.ray", raising=False)
    with pytest.raises(ConfigError, match=r"pip install 'ganas\[ray\]'"):
        make_executor("ray", workers=2)


def test_search_command_line_picks_the_executor():
    from ganas.cli import build_parser
    from ganas.workflows.nas import make_executor

    args = build_parser().parse_args(["search", "--space", "nb201", "--strategy", "random", "--budget", "1",
                                      "--benchmark", "x", "--out", "o", "--workers", "3"])
    ex = make_executor(args.executor, args.workers, args.ray_address, args.child_threads)
    assert isinstance(ex, LocalExecutor) and ex.slots == 3
    with pytest.raises(ConfigError, match="--ray-address needs --executor ray"):
        make_executor("local", None, "auto", 1)
    pytest.importorskip("ray")
    ex = make_executor("ray", 4, "auto", 2)
    assert (type(ex).__name__, ex.slots, ex.address, ex.child_threads, ex.cpus_per_child) == ("RayExecutor", 4, "auto", 2, 2.0)
