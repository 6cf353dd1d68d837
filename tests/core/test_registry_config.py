from dataclasses import dataclass, field
from typing import Literal, Optional

import pytest

from ganas.config import from_dict, parse_sets, replace, route_overrides, to_dict, load_yaml
from ganas.errors import ConfigError, UnknownNameError
from ganas.registry import Registry


def test_registry_register_create_list_and_unknown_lists_valid():
    reg: Registry = Registry("widget")

    @reg.register("b", help="the b widget")
    class B:
        def __init__(self, x=1):
            self.x = x

    @reg.register("a")
    def make_a():
        """Makes an a."""
        return "a"

    assert reg.list() == ["a", "b"]
    assert reg.describe() == {"a": "Makes an a.", "b": "the b widget"}
    assert reg.create("b", x=3).x == 3
    with pytest.raises(UnknownNameError) as e:
        reg.create("c")
    assert "unknown widget 'c'" in str(e.value) and "a, b" in str(e.value)
    with pytest.raises(ValueError):
        reg.register("a")(lambda: None)


@dataclass
class Cfg:
    lr: float = 2e-4
    steps: int = 10
    flag: bool = False
    mode: Literal["normal", "uniform"] = "normal"
    sizes: list[int] = field(default_factory=lambda: [1, 3])
    opt: Optional[int] = None

    def validate(self):
        if self.steps < 0:
            raise ConfigError("steps must be >= 0")


def test_replace_coerces_strings_and_refuses_unknown_keys():
    c = replace(Cfg(), {"lr": "1e-3", "steps": "20", "flag": "true", "mode": "uniform",
                        "sizes": "1,5,7", "opt": "none"})
    assert (c.lr, c.steps, c.flag, c.mode, c.sizes, c.opt) == (1e-3, 20, True, "uniform", [1, 5, 7], None)
    assert replace(Cfg(), {"opt": "4"}).opt == 4
    with pytest.raises(ConfigError, match="unknown option 'lrr'.*valid: .*lr"):
        replace(Cfg(), {"lrr": 1})
    for bad in ({"steps": "1.5"}, {"flag": "maybe"}, {"mode": "gaussian"}, {"lr": "fast"}, {"steps": "-1"}):
        with pytest.raises(ConfigError):
            replace(Cfg(), bad)


def test_roundtrip_dict_and_yaml(tmp_path):
    c = replace(Cfg(), {"sizes": [3]})
    assert from_dict(Cfg, to_dict(c)) == c
    p = tmp_path / "c.yaml"
    p.write_text("lr: 0.01\nsteps: 3\n")
    assert load_yaml(p) == {"lr": 0.01, "steps": 3}
    p.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_yaml(p)
    with pytest.raises(ConfigError, match="not found"):
        load_yaml(tmp_path / "missing.yaml")


def test_parse_sets_and_routing():
    assert parse_sets(["a=1", "b = x=y"]) == {"a": "1", "b": "x=y"}
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_sets(["novalue"])

    @dataclass
    class Other:
        steps: int = 1
        depth: int = 2

    r = route_overrides({"lr": 1, "cfg.steps": 5, "other.steps": 6, "depth": 3}, {"cfg": Cfg(), "other": Other()})
    assert r == {"cfg": {"lr": 1, "steps": 5}, "other": {"steps": 6, "depth": 3}}
    # a bare key two configs have is refused, with the qualified names to choose from
    with pytest.raises(ConfigError, match=r"'steps' is ambiguous.*cfg\.steps or other\.steps"):
        route_overrides({"steps": 5}, {"cfg": Cfg(), "other": Other()})
    with pytest.raises(ConfigError, match="unknown option 'zzz'"):
        route_overrides({"zzz": 1}, {"cfg": Cfg()})
    with pytest.raises(ConfigError, match="for other"):
        route_overrides({"other.lr": 1}, {"cfg": Cfg(), "other": Other()})
