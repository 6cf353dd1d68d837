"""The search loop: journal, atomic state, resume (incl. real SIGKILLs), outputs,
the local executor and multi-seed simulations."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import random
import signal
import time
from pathlib import Path

import pytest
from PIL import Image

from ganas.errors import ConfigError, DataError
from ganas.nas.base import EXECUTORS
from ganas.nas.executors import Job, LocalExecutor
from ganas.nas.search import JOURNAL, STATE, Journal, run_search, run_seeds
from ganas.nas.strategies import make_strategy



try:  # tests/nas is on sys.path (pytest's default import mode, no __init__.py)
    import test_strategies_toy as toy
except ImportError:  # tests/nas became a package
    from . import test_strategies_toy as toy  # type: ignore[no-redef]
LSTM = {"batch": "2", "lr": "0.01"}


def _search(out, budget, name="reinforce", settings=LSTM, seed=0, evaluator=None):
    space = toy.ToySpace()
    strat = make_strategy(name, space, seed=seed, overrides=settings)
    return run_search(space, strat, evaluator or toy.ToyEvaluator(), budget, out, seed=seed)


def _journal(out) -> list[dict]:
    return [json.loads(l) for l in (Path(out) / JOURNAL).read_text().splitlines()]


def test_outputs_of_a_search(tmp_path):
    res = _search(tmp_path, 20, "evolution", {"population": "5", "sample": "2"})
    lines = _journal(tmp_path)
    assert [e["i"] for e in lines] == list(range(20))
    assert set(lines[0]) == {"i", "arch", "reward", "metrics", "cost", "seed", "time"}
    assert all(e["reward"] == toy.toy_reward(toy.ToySpace().from_string(e["arch"])) for e in lines)
    assert len({e["seed"] for e in lines}) == 20  # one seed per evaluation
    best = max(lines, key=lambda e: e["reward"])
    doc = json.loads((tmp_path / "best.json").read_text())
    assert doc["arch"] == best["arch"] == toy.ToySpace().to_string(res.best_arch)
    assert doc["metrics"]["test_acc"] == best["metrics"]["test_acc"]
    summary = json.loads((tmp_path / "search.json").read_text())
    curve = summary["curve"]["best_so_far"]
    assert len(curve) == 20 and curve == sorted(curve) and curve[-1] == best["reward"]
    assert summary["curve"]["reward"] == [e["reward"] for e in lines]
    img = Image.open(tmp_path / "best_so_far.png")
    assert img.size == (640, 400) and img.format == "PNG"
    assert (31, 119, 180) in {c for _, c in img.convert("RGB").getcolors(65536)}  # the curve is drawn


def test_resume_with_a_larger_budget_continues_exactly(tmp_path):
    _search(tmp_path / "a", 9)
    ev = toy.ToyEvaluator()
    res = _search(tmp_path / "a", 16, evaluator=ev)
    assert ev.calls == 7 and res.resumed_from == 9  # nothing re-evaluated
    _search(tmp_path / "b", 16)
    assert _journal(tmp_path / "a") == [dict(e, time=e["time"]) for e in _journal(tmp_path / "a")]
    strip = lambda es: [(e["i"], e["arch"], e["reward"], e["seed"]) for e in es]  # noqa: E731
    assert strip(_journal(tmp_path / "a")) == strip(_journal(tmp_path / "b"))


def test_torn_line_is_dropped_and_journal_ahead_of_state_is_replayed(tmp_path):
    ref = tmp_path / "ref"
    _search(ref, 14)
    out = tmp_path / "run"
    _search(out, 8)
    state_at_8 = (out / STATE).read_bytes()
    _search(out, 10)
    (out / STATE).write_bytes(state_at_8)  # killed after journaling 9 and 10, before saving
    with open(out / JOURNAL, "ab") as f:
        f.write(b'{"i": 10, "arch": "1-2')  # torn write of an 11th
    ev = toy.ToyEvaluator()
    with __import__("warnings").catch_warnings():
        __import__("warnings").simplefilter("error")  # a replay mismatch would warn
        res = _search(out, 14, evaluator=ev)
    assert ev.calls == 4 and res.replay_mismatches == 0
    strip = lambda es: [(e["i"], e["arch"], e["reward"]) for e in es]  # noqa: E731
    assert strip(_journal(out)) == strip(_journal(ref))


def test_replay_mismatch_is_reported(tmp_path):
    _search(tmp_path, 4, "random", {})
    lines = (tmp_path / JOURNAL).read_text().splitlines()
    e = json.loads(lines[-1])
    e["arch"] = "0-0-0-0-0-0" if e["arch"] != "0-0-0-0-0-0" else "1-1-1-1-1-1"
    (tmp_path / JOURNAL).write_text("\n".join(lines[:-1] + [json.dumps(e)]) + "\n")
    (tmp_path / STATE).unlink()  # replay all from a fresh strategy
    with pytest.warns(UserWarning, match="journal holds"):
        res = _search(tmp_path, 6, "random", {})
    assert res.replay_mismatches == 1 and len(_journal(tmp_path)) == 6


def test_resume_refuses_other_settings(tmp_path):
    _search(tmp_path, 3)
    with pytest.raises(ConfigError, match="strategy"):
        _search(tmp_path, 5, "random", {})
    with pytest.raises(ConfigError, match="strategy_settings"):
        _search(tmp_path, 5, "reinforce", {"batch": "3"})
    with pytest.raises(ConfigError, match="seed"):
        _search(tmp_path, 5, seed=1)
    with pytest.raises(ConfigError, match="shrink"):
        _search(tmp_path, 2)


def test_corrupt_journal_line_names_the_file(tmp_path):
    _search(tmp_path, 3)
    text = (tmp_path / JOURNAL).read_text().splitlines()
    (tmp_path / JOURNAL).write_text(text[0] + "\nnot json\n" + text[2] + "\n")
    with pytest.raises(DataError, match=r"journal.jsonl: line 2"):
        _search(tmp_path, 5)


def _child_search(out: str, budget: int, sleep: float) -> None:
    """The killed process: a forked child (torch already imported, so starts are fast)."""
    import torch

    torch.set_num_threads(1)
    space = toy.ToySpace()
    strat = make_strategy("reinforce", space, seed=5, overrides=LSTM)
    run_search(space, strat, toy.ToyEvaluator(sleep=sleep), budget, out, seed=5)


def test_sigkill_at_random_moments_loses_and_repeats_nothing(tmp_path):
    """Real SIGKILLs of a search process at random moments (mid-evaluation, mid-write,
    between journal and state), then a resume: the journal holds every evaluation
    once, and the architectures equal those of a search that was never killed."""
    ctx = mp.get_context("fork")
    out = tmp_path / "run"
    budget, rng = 60, random.Random(0)
    for kill in range(4):
        p = ctx.Process(target=_child_search, args=(str(out), budget, 0.002))
        p.start()
        target = 10 * (kill + 1) + rng.randrange(5)
        deadline = time.time() + 60
        while time.time() < deadline and p.is_alive():
            j = out / JOURNAL
            if j.exists() and j.read_bytes().count(b"\n") >= target:
                break
            time.sleep(0.001)
        time.sleep(rng.random() * 0.01)
        os.kill(p.pid, signal.SIGKILL)
        p.join()
        assert p.exitcode == -signal.SIGKILL, "the search finished before it could be killed"
    _child_search(str(out), budget, 0.0)
    got = _journal(out)
    assert [e["i"] for e in got] == list(range(budget))  # none lost, none repeated
    ref = tmp_path / "ref"
    _child_search(str(ref), budget, 0.0)
    assert [e["arch"] for e in got] == [e["arch"] for e in _journal(ref)]  # identical to no kill


def test_journal_append_and_read(tmp_path):
    j = Journal(tmp_path / "j.jsonl")
    j.append({"i": 0, "arch": "a", "reward": 1.0})
    j.append({"i": 1, "arch": "b", "reward": 2.0})
    j.close()
    with open(tmp_path / "j.jsonl", "ab") as f:
        f.write(b'{"i": 2, "ar')
    assert [e["i"] for e in j.read()] == [0, 1]
    assert (tmp_path / "j.jsonl").read_bytes().endswith(b"2.0}\n")  # torn tail cut


def test_local_executor_reports_each_result_in_order():
    assert isinstance(EXECUTORS.create("local"), LocalExecutor)
    space, seen = toy.ToySpace(), []
    jobs = [Job(i, space.sample(random.Random(i)), i) for i in range(4)]
    done = LocalExecutor().run(toy.ToyEvaluator(), space, jobs, on_done=lambda d: seen.append(d.job.index))
    assert seen == [0, 1, 2, 3] and [d.job for d in done] == jobs
    assert all(d.result.reward == toy.toy_reward(d.job.arch) and d.seconds >= 0 for d in done)


def test_run_seeds_summary():
    space = toy.ToySpace()
    out = run_seeds(space, "evolution", toy.ToyEvaluator(), 60, range(6), {"population": "5"},
                    thresholds=(95.0, 99.5, 1000.0))
    assert out["strategy"] == "evolution" and out["seeds"] == 6 and out["budget"] == 60
    assert 90.0 < out["reported"]["mean"] <= 100.0 and out["reported"]["std"] >= 0.0
    q = out["queries_to"]
    assert q["1000.0"] is None  # never reached
    assert q["95.0"] is not None and 1 <= q["95.0"] <= 60
    assert q["99.5"] is None or q["99.5"] >= q["95.0"]
    with pytest.raises(ConfigError, match="no metric 'acc'"):
        run_seeds(space, "random", toy.ToyEvaluator(), 3, [0], report_key="acc")


def test_search_summary_holds_the_strategy_statistics(tmp_path):
    _search(tmp_path, 26, "pnas", {"K": "3", "epochs": "10", "members": "2"})
    stats = json.loads((tmp_path / "search.json").read_text())["strategy_stats"]
    assert [s["level"] for s in stats][:2] == [2, 3] and all("spearman" in s for s in stats)
