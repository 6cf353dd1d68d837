"""A user's own search space and strategy, reached from the CLI through a ``ganas.plugins``
entry point: a small plugin package (a module and a ``.dist-info`` with
``entry_points.txt``, as ``pip install`` leaves them) written into a temporary folder
put on ``sys.path``; the registries load it lazily. Cleaned up after each test."""

from __future__ import annotations

import importlib
import json
import sys
import textwrap
from pathlib import Path

import pytest

from e2e_helpers import assert_error

PLUGIN = '''
"""A user's search space and strategy, registered on import."""
import dataclasses

from torch import nn

from ganas.nas.base import SPACES, STRATEGIES, Decision
from ganas.nas.spaces.common import SpaceBase
from ganas.nas.strategies.base import SeededStrategy

WIDTHS = (2, 4, 8)


@dataclasses.dataclass
class WidthSettings:
    depth: int = 1


@SPACES.register("plug_mlp", help="plugin: an MLP of one chosen width")
class PlugMLP(SpaceBase):
    name = "plug_mlp"
    Settings = WidthSettings

    def decisions(self):
        return [Decision("width", WIDTHS)]

    def to_string(self, arch):
        return f"w{WIDTHS[arch[0]]}"

    def from_string(self, s):
        return (WIDTHS.index(int(s[1:])),)

    def build(self, arch, input_shape, num_classes):
        c, h, w = input_shape
        width = WIDTHS[arch[0]]
        layers = [nn.Flatten(), nn.Linear(c * h * w, width), nn.ReLU()]
        for _ in range(self.settings.depth - 1):
            layers += [nn.Linear(width, width), nn.ReLU()]
        return nn.Sequential(*layers, nn.Linear(width, num_classes))


@dataclasses.dataclass
class CountSettings:
    start: int = 0


@STRATEGIES.register("plug_count", help="plugin: proposes the architectures in index order")
class PlugCount(SeededStrategy):
    name = "plug_count"
    Config = CountSettings

    def __init__(self, space, seed=0, config=None):
        super().__init__(space, seed, config)
        self.next = self.cfg.start
        self.all = list(space.enumerate())

    def ask(self):
        arch = self.all[self.next % len(self.all)]
        self.next += 1
        return arch

    def tell(self, arch, reward):
        pass

    def state_dict(self):
        return {**self._base_state(), "next": self.next}

    def load_state_dict(self, state):
        self._load_base_state(state)
        self.next = int(state["next"])


CALLS = []


def register():
    """An entry point may name a callable: it is called once, with no arguments."""
    CALLS.append("register")
'''


def _write_plugin(root: Path, entry_points: str) -> None:
    (root / "ganas_test_plugin.py").write_text(PLUGIN)
    (root / "ganas_broken_plugin.py").write_text("raise RuntimeError('this plugin is broken')\n")
    info = root / "ganas_test_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ganas-test-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The plugin installed on sys.path; afterwards its entries, modules and path are gone."""
    from ganas import plugins
    from ganas.nas import SPACES, STRATEGIES

    root = tmp_path / "site"
    root.mkdir()

    def install(entry_points: str = "[ganas.plugins]\nmine = ganas_test_plugin\n") -> None:
        _write_plugin(root, entry_points)
        monkeypatch.syspath_prepend(str(root))
        importlib.invalidate_caches()
        plugins.reset()

    yield install
    for reg, name in ((SPACES, "plug_mlp"), (STRATEGIES, "plug_count")):
        reg.unregister(name)
    for mod in ("ganas_test_plugin", "ganas_broken_plugin"):
        sys.modules.pop(mod, None)
    plugins.reset()


def test_plugin_space_and_strategy_are_listed_and_searchable(cli, plugin, tmp_path: Path) -> None:
    from ganas.nas import SPACES

    res = cli("list", "--json")
    assert res.rc == 0 and "plug_mlp" not in res.json()["spaces"]  # not installed yet
    plugin()
    res = cli("list", "--json")
    assert res.rc == 0, res.err
    table = res.json()
    assert table["spaces"]["plug_mlp"] == "plugin: an MLP of one chosen width"
    assert "plug_count" in table["strategies"]
    assert "nb201" in table["spaces"]  # the built-ins are still there

    # a real search with the user's space and strategy: each child trained on digits
    out = tmp_path / "S"
    res = cli("search", "--space", "plug_mlp", "--strategy", "plug_count", "--data", "digits", "--budget", 3,
              "--out", out, "--set", "depth=2", "--set", "start=1", "--set", "image_size=8", "--set", "channels=1",
              "--set", "epochs=1", "--set", "optimizer=adam", "--json")
    assert res.rc == 0, res.err
    rows = [json.loads(x) for x in (out / "journal.jsonl").read_text().splitlines()]
    assert [r["arch"] for r in rows] == ["w4", "w8", "w2"]  # the plugin strategy's order, from start=1
    assert all(0.0 <= r["reward"] <= 1.0 for r in rows)
    assert "plug_mlp" in SPACES
    res = cli("nas", "export", out, "--out", tmp_path / "best.pt")
    assert res.rc == 0, res.err


def test_a_plugin_can_be_a_callable(cli, plugin) -> None:
    plugin("[ganas.plugins]\nmine = ganas_test_plugin:register\n")
    res = cli("list", "--json")
    assert res.rc == 0, res.err
    assert "plug_mlp" in res.json()["spaces"]
    cli("list", "--json")  # loaded once per process
    assert sys.modules["ganas_test_plugin"].CALLS == ["register"]


def test_a_broken_plugin_is_named_in_a_warning_and_the_others_load(cli, plugin) -> None:
    plugin("[ganas.plugins]\nbroken = ganas_broken_plugin\nmine = ganas_test_plugin\n")
    with pytest.warns(UserWarning, match=r"ganas plugin 'broken = ganas_broken_plugin'.*this plugin is broken"):
        res = cli("list", "--json")
    assert res.rc == 0, res.err
    assert "plug_count" in res.json()["strategies"]


def test_unknown_space_still_lists_the_plugin_space(cli, plugin, nb201_table: Path, tmp_path: Path) -> None:
    plugin()
    res = cli("search", "--space", "nope", "--strategy", "random", "--benchmark", nb201_table, "--budget", 2,
              "--out", tmp_path / "S")
    assert_error(res, "nope", "plug_mlp", "nb201")
