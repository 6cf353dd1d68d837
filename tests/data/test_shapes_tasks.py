"""Built-in translation tasks from shapes: edges2photo, label2photo (paired), day2night (unpaired)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganas.data import make_dataset
from ganas.data.shapes import FACTOR_NAMES, ShapesPairDataset, render, scene_for
from ganas.data.transforms import to_tensor
from ganas.errors import ConfigError


def _view(scene, view: str, size: int = 16) -> torch.Tensor:  # type: ignore[no-untyped-def]
    return to_tensor(np.array(render(scene, size, view)), True)


@pytest.mark.parametrize("task,view_a", [("edges2photo", "edges"), ("label2photo", "label_map")])
def test_paired_tasks_show_one_scene(task: str, view_a: str) -> None:
    d = make_dataset(f"shapes?n=6&task={task}", image_size=16)
    assert isinstance(d, ShapesPairDataset) and len(d) == 6
    for i in (0, 5):
        x = d[i]
        scene = scene_for(i, "train", 0)
        assert torch.equal(x["A"], _view(scene, view_a)) and torch.equal(x["B"], _view(scene, "photo"))
        got = {f: int(v) for f, v in zip(FACTOR_NAMES, x["factors"])}
        assert got["shape"] == ["circle", "square", "triangle", "pentagon", "hexagon", "star"].index(scene.shape)
        assert x["factors"].dtype == torch.int64 and x["factors"].shape == (5,)
    assert "label" not in d[0] and "B_true" not in d[0]


def test_day2night_train_is_unpaired_test_keeps_true_pairs() -> None:
    n = 8
    d = make_dataset(f"shapes?n={n}&task=day2night", image_size=16)
    a_scenes = {scene_for(i, "train", 0) for i in range(n)}
    for e in range(6):
        x = d[(2, e, 0)]
        assert torch.equal(x["A"], _view(scene_for(2, "train", 0), "photo"))
        k = int(x["B_path"].rsplit("B", 1)[1].rstrip("]"))
        b_scene = scene_for(n + k, "train", 0)
        assert b_scene not in a_scenes  # B comes from other scenes
        assert torch.equal(x["B"], _view(b_scene, "night"))
        assert "B_true" not in x
    assert len({d[(2, e, 0)]["B_path"] for e in range(12)}) > 2  # drawn from the key
    t = make_dataset(f"shapes?n={n}&task=day2night", "test", image_size=16)
    y = t[3]
    truth = _view(scene_for(3, "test", 0), "night")
    assert torch.equal(y["B_true"], truth) and torch.equal(y["B"], truth)
    assert torch.equal(y["A"], _view(scene_for(3, "test", 0), "photo"))


def test_day2night_btoa_factors_follow_field_a() -> None:
    d = make_dataset("shapes?n=8&task=day2night&direction=BtoA", image_size=16)
    x = d[(1, 4, 2)]
    k = int(x["A_path"].rsplit("B", 1)[1].rstrip("]"))
    scene = scene_for(8 + k, "train", 0)
    assert torch.equal(x["A"], _view(scene, "night"))
    assert FACTOR_NAMES[1] == "colour"
    assert int(x["factors"][1]) == ["red", "orange", "yellow", "green", "blue", "purple", "pink"].index(scene.colour)


def test_shared_jitter_and_bad_task() -> None:
    d = make_dataset("shapes?n=4&task=edges2photo", image_size=16, load_size=24, crop="random", flip=True)
    plain = make_dataset("shapes?n=4&task=edges2photo", image_size=24, crop="none")
    for e in range(4):
        x = d[(0, e, 0)]
        big_a, big_b = plain[0]["A"], plain[0]["B"]
        # find A's window in the 24 px rendering; B must come from the same window and flip
        hits = [(t, l, f) for t in range(9) for l in range(9) for f in (False, True)
                if torch.equal((big_a.flip(-1) if f else big_a)[:, t:t + 16, l:l + 16], x["A"])]
        assert any(torch.equal((big_b.flip(-1) if f else big_b)[:, t:t + 16, l:l + 16], x["B"]) for t, l, f in hits)
    with pytest.raises(ConfigError, match="task"):
        make_dataset("shapes?task=nope")
