"""Strategies: proposals, learning signals, resumable state, predictors."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from ganas.errors import ConfigError, GanasError, UnknownNameError
from ganas.nas.base import STRATEGIES
from ganas.nas.strategies import SearchFinished, make_strategy
from ganas.nas.strategies.predictors import LSTMPredictor, MLPEnsemble, spearman
from ganas.nas.strategies.reinforce import LSTMController, TableController, ppo_loss, reinforce_loss


try:  # tests/nas is on sys.path (pytest's default import mode, no __init__.py)
    import test_strategies_toy as toy
except ImportError:  # tests/nas became a package
    from . import test_strategies_toy as toy  # type: ignore[no-redef]

FAST = {
    "random": {},
    "evolution": {"population": "5", "sample": "2"},
    "reinforce": {"batch": "2"},
    "reinforce-table-ppo": {"controller": "table", "algo": "ppo", "batch": "3", "lr": "0.05"},
    # pnas stops after its last level: 16 + 2 K (toy space) must cover the 27 steps driven
    "pnas": {"K": "6", "epochs": "20", "members": "2", "hidden": "8"},
    "pnas-lstm": {"K": "11", "epochs": "10", "hidden": "8", "predictor": "lstm", "initial": "5"},
    "predictor_local": {"K": "3", "epochs": "20", "members": "2", "hidden": "8"},
    "predictor_local-explore": {"K": "3", "epochs": "20", "members": "3", "explore": "1", "refine_pool": "space"},
}


def _name(key: str) -> str:
    return key.split("-")[0]


def _drive(strategy, steps: int) -> list[tuple]:
    archs = []
    for _ in range(steps):
        a = strategy.ask()
        strategy.tell(a, toy.toy_reward(a))
        archs.append(tuple(a))
    return archs


def test_registry_lists_all_strategies():
    assert {"random", "evolution", "reinforce", "pnas", "predictor_local"} <= set(STRATEGIES.list())


def test_strategies_import_no_evaluator_or_executor():
    import ast

    import ganas.nas.strategies as pkg

    for f in Path(pkg.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(f.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [a.name for a in node.names]
            assert not any("evaluator" in n or "executor" in n or "search" == n.split(".")[-1] for n in names), f


def test_seeds_differ_and_repeat():
    space = toy.ToySpace()
    a = _drive(make_strategy("random", space, seed=0), 10)
    assert a == _drive(make_strategy("random", space, seed=0), 10)
    assert a != _drive(make_strategy("random", space, seed=1), 10)


def test_unknown_strategy_and_setting_are_refused():
    space = toy.ToySpace()
    with pytest.raises(UnknownNameError, match="valid: .*evolution"):
        make_strategy("annealing", space)
    with pytest.raises(ConfigError, match="valid: .*population"):
        make_strategy("evolution", space, overrides={"populaton": "3"})
    with pytest.raises(ConfigError):
        make_strategy("reinforce", space, overrides={"controller": "gru"})
    assert make_strategy("evolution", space, overrides={"population": "7"}).cfg.population == 7


@pytest.mark.parametrize("key", sorted(FAST))
def test_proposals_are_valid_architectures(key):
    space = toy.ToySpace()
    s = make_strategy(_name(key), space, seed=1, overrides=FAST[key])
    for a in _drive(s, 25):
        space.validate(a)


@pytest.mark.parametrize("key", sorted(FAST))
def test_state_round_trip_continues_identically(key):
    """k steps, save (torch.save, weights_only load), load into a fresh instance with
    ANOTHER seed, continue: the proposals equal those of an uninterrupted run."""
    space = toy.ToySpace()
    ref = make_strategy(_name(key), space, seed=3, overrides=FAST[key])
    expected = _drive(ref, 27)

    first = make_strategy(_name(key), space, seed=3, overrides=FAST[key])
    got = _drive(first, 11)
    buf = io.BytesIO()
    torch.save(first.state_dict(), buf)
    buf.seek(0)
    state = torch.load(buf, weights_only=True)
    fresh = make_strategy(_name(key), space, seed=99, overrides=FAST[key])
    fresh.load_state_dict(state)
    got += _drive(fresh, 16)
    assert got == expected


def test_state_of_other_settings_is_refused():
    space = toy.ToySpace()
    s = make_strategy("evolution", space, overrides={"population": "5"})
    other = make_strategy("evolution", space, overrides={"population": "6"})
    with pytest.raises(GanasError, match="settings"):
        other.load_state_dict(s.state_dict())
    with pytest.raises(GanasError, match="random"):
        make_strategy("random", space).load_state_dict(s.state_dict())


def test_random_without_repeats_exhausts_then_refuses():
    space = toy.ToySpace(n=2, k=2)
    s = make_strategy("random", space, seed=0)
    seen = _drive(s, 4)
    assert sorted(seen) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    with pytest.raises(GanasError, match="all 4 architectures"):
        s.ask()
    rep = make_strategy("random", space, seed=0, overrides={"no_repeats": "false"})
    assert len(set(_drive(rep, 12))) <= 4  # with repeats allowed it keeps going


def test_evolution_ages_population_and_mutates_one_decision():
    space = toy.ToySpace()
    s = make_strategy("evolution", space, seed=0, overrides={"population": "4", "sample": "2"})
    for step in range(30):
        pop_before = [a for a, _ in s.population]
        a = s.ask()
        if step >= 4:  # after the random initial population: a mutation of a member
            assert any(sum(x != y for x, y in zip(a, p)) == 1 for p in pop_before)
        s.tell(a, toy.toy_reward(a))
        assert len(s.population) == min(step + 1, 4)
        assert s.population[-1][0] == tuple(a)  # newest last; the oldest left


def test_evolution_beats_random_on_toy():
    space = toy.ToySpace(n=8, k=4)
    best = {}
    for name in ("random", "evolution"):
        best[name] = np.mean([max(map(toy.toy_reward, _drive(make_strategy(name, space, seed=s), 120)))
                              for s in range(5)])
    assert best["evolution"] > best["random"]


def test_lstm_controller_shape_and_init():
    c = LSTMController([4, 3, 5], hidden=35, layers=2, generator=torch.Generator().manual_seed(0))
    assert c.lstm.num_layers == 2 and c.lstm.hidden_size == 35
    for p in c.parameters():
        assert float(p.detach().abs().max()) <= 0.08
    archs = torch.tensor([[1, 2, 4], [0, 0, 0]])
    assert [tuple(l.shape) for l in c.logits(archs)] == [(2, 4), (2, 3), (2, 5)]


@pytest.mark.parametrize("kind", ["lstm", "table"])
def test_reinforce_gradient_matches_hand_derivation(kind):
    """One decision: d loss / d logits = -(R - b) * (onehot(a) - softmax(logits))."""
    g = torch.Generator().manual_seed(0)
    c = LSTMController([5], generator=g) if kind == "lstm" else TableController([5], generator=g)
    archs = torch.tensor([[3]])
    logits = c.logits(archs)
    logits[0].retain_grad()
    adv = torch.tensor([0.7 - 0.45])  # R - b
    reinforce_loss(logits, archs, adv).backward()
    expected = -(0.7 - 0.45) * (F.one_hot(torch.tensor([3]), 5).float() - F.softmax(logits[0].detach(), -1))
    assert torch.allclose(logits[0].grad, expected, atol=1e-6)


def test_ppo_clipping_stops_gradient_beyond_the_trust_region():
    c = TableController([4], generator=torch.Generator().manual_seed(0))
    archs = torch.tensor([[2]])
    with torch.no_grad():
        logp = F.log_softmax(c.alphas[0], -1)[2]
    # ratio = 2 > 1 + clip with a positive advantage: the clipped term is constant
    ppo_loss(c.logits(archs), archs, torch.tensor([1.0]), (logp - np.log(2.0)).reshape(1), clip=0.2).backward()
    assert float(c.alphas[0].grad.abs().max()) == 0.0
    c.alphas[0].grad = None
    ppo_loss(c.logits(archs), archs, torch.tensor([1.0]), logp.reshape(1), clip=0.2).backward()
    assert float(c.alphas[0].grad.abs().max()) > 0.0


@pytest.mark.parametrize("settings", [
    {"controller": "table", "lr": "0.05", "batch": "1"},
    {"controller": "lstm", "lr": "0.01", "batch": "4"},
    {"controller": "table", "lr": "0.05", "batch": "4", "algo": "ppo"},
])
def test_reinforce_learns_on_toy(settings):
    space = toy.ToySpace()
    s = make_strategy("reinforce", space, seed=0, overrides=settings)
    rewards = [toy.toy_reward(a) for a in _drive(s, 240)]
    assert np.mean(rewards[-60:]) > np.mean(rewards[:60]) + 5.0


def test_reinforce_baseline_orders():
    space = toy.ToySpace()
    after = make_strategy("reinforce", space, overrides={"baseline_order": "after", "baseline_decay": "0.5"})
    assert after._advantage(10.0) == 0.0  # no earlier reward: no signal
    assert after._advantage(20.0) == pytest.approx(10.0)  # against the average of [10]
    before = make_strategy("reinforce", space, overrides={"baseline_order": "before", "baseline_decay": "0.5"})
    before._advantage(10.0)
    # bias-corrected EMA of [10, 20] with decay 0.5 = (0.25*10 + 0.5*20) / 0.75
    assert before._advantage(20.0) == pytest.approx(20.0 - (0.25 * 10 + 0.5 * 20) / 0.75)


def test_pnas_grows_level_by_level_and_stops_after_the_last():
    """The paper's schedule: all level-1 cells, then K per level, ranked among ALL the
    children of the K best; after level B nothing more (no refinement)."""
    space = toy.ToySpace()  # 3 levels, 16 initial partials, 16 expansions each
    s = make_strategy("pnas", space, seed=0, overrides={"K": "4", "epochs": "30", "members": "2"})
    archs = _drive(s, 16)
    assert sorted(archs) == sorted({space.complete(p) for p in space.initial()})  # level 1: all
    best_l1 = sorted(archs, key=toy.toy_reward, reverse=True)[:4]
    level2 = _drive(s, 4)
    for a in level2:  # each is a one-step expansion of one of the 4 best level-1 cells
        assert a[:2] in {b[:2] for b in best_l1} and a[4:] == (0, 0)
    best_l2 = sorted(level2, key=toy.toy_reward, reverse=True)
    level3 = _drive(s, 4)
    for a in level3:  # level 3 expands level 2's best (all 4 of them here, K = 4)
        assert a[:4] in {b[:4] for b in best_l2}
    assert len(set(archs + level2 + level3)) == 24 == s.schedule_length()  # never a repeat
    with pytest.raises(SearchFinished, match="predictor_local"):
        s.ask()
    with pytest.raises(SearchFinished):  # and it stays finished
        s.ask()
    st = s.stats()
    assert [x["level"] for x in st] == [2, 3] and all(x["evaluated"] == 4 for x in st)
    assert all(x["spearman"] is None or -1.0 <= x["spearman"] <= 1.0 for x in st)
    # every child was ranked, not only the K evaluated: 4 parents x 16 children per level,
    # less the 4 whose completion is the parent's own (already evaluated)
    log = s.rank_log()
    assert [(stage, level, len(a)) for stage, level, a, _ in log] == [(1, 2, 60), (2, 3, 60)]
    assert set(level2) <= set(log[0][2]) and set(level3) <= set(log[1][2])
    top = sorted(zip(log[0][3], log[0][2]), reverse=True)[:4]  # the K evaluated = the K best predicted
    assert {a for _, a in top} == set(level2)


def test_predictor_local_goes_on_past_the_last_level():
    space = toy.ToySpace()
    s = make_strategy("predictor_local", space, seed=0, overrides={"K": "4", "epochs": "30", "members": "2"})
    paper = make_strategy("pnas", space, seed=0, overrides={"K": "4", "epochs": "30", "members": "2"})
    archs = _drive(s, 40)
    assert archs[:24] == _drive(paper, 24)  # the same levels first
    assert len(set(archs)) == 40  # then refinement stages, never a repeat
    st = s.stats()
    assert [x["level"] for x in st][:2] == [2, 3] and {x["level"] for x in st[2:]} == {4}
    assert len(s.rank_log()) == len(st)


def test_pnas_needs_a_progressive_space():
    with pytest.raises(ConfigError, match="progressive"):
        make_strategy("pnas", toy.ToySpace(progressive=False))


def test_pnas_finds_the_toy_optimum_with_few_queries():
    space = toy.ToySpace()
    s = make_strategy("pnas", space, seed=0, overrides={"K": "12", "epochs": "60"})
    assert max(map(toy.toy_reward, _drive(s, 40))) >= 99.0  # 4,096 archs; optimum 100
    s = make_strategy("predictor_local", space, seed=0, overrides={"K": "4", "epochs": "60"})
    assert max(map(toy.toy_reward, _drive(s, 40))) >= 99.0


@pytest.mark.parametrize("cls,threshold", [(MLPEnsemble, 0.9), (LSTMPredictor, 0.9)])
def test_predictor_ranks_held_out_points(cls, threshold):
    """A smooth function of 6 tokens; fit on 120 points, rank 200 others."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 4, size=(320, 6))
    y = 100 - ((x - np.array([3, 1, 2, 0, 3, 2])) ** 2).sum(1) + 0.5 * x[:, 0] * x[:, 1]
    p = cls([4] * 6, torch.Generator().manual_seed(0), epochs=150)
    p.fit(x[:120].tolist(), y[:120].tolist())
    assert spearman(p.predict(x[120:].tolist()), y[120:]) > threshold


def test_spearman_undefined_cases():
    assert spearman([1, 2], [2, 1]) is None
    assert spearman([1, 1, 1], [1, 2, 3]) is None
    assert spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)


def test_partial_cells_reach_the_predictor_with_undecided_decisions():
    space = toy.ToySpace()  # level 1 decides d0, d1; the completion fills the rest with 0
    s = make_strategy("pnas", space, seed=0, overrides={"K": "3", "epochs": "10", "members": "2"})
    _drive(s, 16)
    assert len(s.enc) == 16 and all(v[:2] == k[:2] and v[2:] == (-1,) * 4 for k, v in s.enc.items())
    from ganas.nas.strategies.predictors import one_hot

    x = one_hot([[1, -1], [-1, 2]], [2, 3])
    assert x.tolist() == [[0, 1, 0, 0, 0], [0, 0, 0, 0, 1]]
    complete = make_strategy("pnas", space, seed=0, overrides={"K": "3", "epochs": "10", "encode": "complete"})
    _drive(complete, 16)
    assert all(v == k for k, v in complete.enc.items())


# -- REINFORCE: Zoph & Le's anchor-point attention and reward ---------------------------
def test_skip_decisions_are_the_papers_attention():
    """Two layers: layer 0 one token, layer 1 one token and one skip decision ("does
    layer 0 feed layer 1"). Recompute the controller by hand: the skip's probability is
    sigmoid(v^T tanh(W_prev h_0 + W_curr h_1)), h_i the anchor-point states."""
    g = torch.Generator().manual_seed(0)
    c = LSTMController([3, 4, 2], hidden=6, layers=2, generator=g, anchors=[(0, []), (1, [2])])
    assert isinstance(c.heads[2], torch.nn.Identity)  # no softmax head of its own
    archs = torch.tensor([[2, 1, 1], [0, 3, 0]])
    logits = c.logits(archs)
    with torch.no_grad():
        for b in range(2):
            a = archs[b]
            out, st = c.lstm(c.start.unsqueeze(0))  # step 0: token of layer 0
            assert torch.allclose(logits[0][b], c.heads[0](out[0, 0]), atol=1e-6)
            out, st = c.lstm(c.embeds[0](a[:1]).unsqueeze(0), st)  # anchor point of layer 0
            h0 = out[0, 0]
            out, st = c.lstm(c.start.unsqueeze(0), st)  # after layer 0 the start vector
            assert torch.allclose(logits[1][b], c.heads[1](out[0, 0]), atol=1e-6)
            out, st = c.lstm(c.embeds[1](a[1:2]).unsqueeze(0), st)  # anchor point of layer 1
            h1 = out[0, 0]
            q = c.v(torch.tanh(c.w_prev(h0) + c.w_curr(h1)))
            p_skip = torch.softmax(logits[2][b], -1)[1]
            assert torch.allclose(p_skip, torch.sigmoid(q)[0], atol=1e-6)


def test_reinforce_on_macro_uses_attention_unless_turned_off():
    from ganas.nas import make_space

    space = make_space("macro", {"layers": 3})
    s = make_strategy("reinforce", space, seed=0)
    assert s.controller.anchors == space.anchor_points() and hasattr(s.controller, "v")
    off = make_strategy("reinforce", space, seed=0, overrides={"skip_attention": "false"})
    assert off.controller.anchors == [] and not hasattr(off.controller, "v")
    assert make_strategy("reinforce", make_space("macro", {"layers": 3, "skips": "false"})).controller.anchors == []
    for _ in range(10):  # sampled archs are valid and teacher forcing reproduces every token's choice set
        a = s.ask()
        space.validate(a)
        s.tell(a, 0.5)
    lg = s.controller.logits(torch.tensor([list(a)]))
    assert [t.shape[1] for t in lg] == [d.n for d in space.decisions()]


def test_attention_controller_learns_to_connect():
    """Reward = the fraction of skip connections present: the skip probabilities rise."""
    from ganas.nas import make_space

    space = make_space("macro", {"layers": 3})
    skips = [t for _, ts in space.anchor_points() for t in ts]
    s = make_strategy("reinforce", space, seed=0, overrides={"lr": "0.01", "batch": "4", "reward_power": "1"})
    frac = []
    for _ in range(120):
        a = s.ask()
        frac.append(sum(a[t] for t in skips) / len(skips))
        s.tell(a, frac[-1])
    assert np.mean(frac[-20:]) > np.mean(frac[:20]) + 0.3


def test_reward_is_the_max_of_the_last_epochs_cubed():
    from ganas.nas.base import EvalResult

    s = make_strategy("reinforce", toy.ToySpace(), seed=0)
    res = EvalResult(0.5, curve={"val_acc": [0.95, 0.2, 0.9, 0.3, 0.4, 0.5]})
    assert s.reward_of(res) == 0.9  # the last 5 epochs: 0.95 is the 6th from the end
    assert s.reward_of(EvalResult(0.5)) == 0.5  # no epochs (a table): the evaluator's reward
    assert s.shaped(0.9) == pytest.approx(0.729)
    s.tell((0,) * 6, 0.9)
    assert s.buffer[-1][1] == pytest.approx(0.729)
    off = make_strategy("reinforce", toy.ToySpace(), overrides={"reward_epochs": "0", "reward_power": "1"})
    assert off.reward_of(res) == 0.5 and off.shaped(0.9) == 0.9
    with pytest.raises(ConfigError, match="reward_power"):
        make_strategy("reinforce", toy.ToySpace(), overrides={"reward_power": "0"})


def test_search_journals_the_strategys_reward(tmp_path):
    """run_search records reinforce's signal (max of the last 5 epochs) and the curve."""
    import json

    from ganas.nas.base import EvalResult, Evaluator
    from ganas.nas.search import run_search

    class Curves(Evaluator):
        name = "curves"

        def evaluate(self, space, arch, seed=0):
            return EvalResult(0.25, curve={"val_acc": [0.1, 0.6, 0.2, 0.25]})

    space = toy.ToySpace()
    run_search(space, make_strategy("reinforce", space), Curves(), 3, tmp_path)
    lines = [json.loads(x) for x in (tmp_path / "journal.jsonl").read_text().splitlines()]
    assert [e["reward"] for e in lines] == [0.6] * 3 and lines[0]["curve"] == {"val_acc": [0.1, 0.6, 0.2, 0.25]}
    run_search(space, make_strategy("random", space), Curves(), 2, tmp_path / "r")
    assert json.loads((tmp_path / "r" / "best.json").read_text())["reward"] == 0.25  # others: the evaluator's
