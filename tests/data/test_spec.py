"""Spec parsing and make_dataset's option routing."""

from __future__ import annotations

import pytest
import torch

from ganas.config import replace
from ganas.data import DATASETS, DataOptions, list_datasets, make_dataset, parse_spec
from ganas.errors import ConfigError, UnknownNameError


def test_parse_spec_forms() -> None:
    s = parse_spec("shapes")
    assert (s.name, s.path, s.params) == ("shapes", None, {})
    s = parse_spec("folder:/x/y z?skip_bad=true&holdout=0.1")
    assert (s.name, s.path, s.params) == ("folder", "/x/y z", {"skip_bad": "true", "holdout": "0.1"})
    s = parse_spec("mnist:../data/mnist?flip")  # bare key means true
    assert s.params == {"flip": "true"}
    assert parse_spec("a:b%26c?k=a%26b").params == {"k": "a&b"}  # values are unquoted
    assert str(parse_spec("folder:/p?a=1&b=2")) == "folder:/p?a=1&b=2"


@pytest.mark.parametrize("bad", ["", "   ", "folder:", "/abs/path", "shapes?=3", "shapes?n=1&n=2"])
def test_parse_spec_refuses(bad: str) -> None:
    with pytest.raises(ConfigError):
        parse_spec(bad)


def test_list_datasets_has_builtins() -> None:
    names = list_datasets()
    for n in ("shapes", "digits", "folder", "mnist", "cifar10"):
        assert n in names and names[n], n
    assert set(names) == set(DATASETS.list())


def test_unknown_dataset_lists_valid_names() -> None:
    with pytest.raises(UnknownNameError) as e:
        make_dataset("nope")
    assert "shapes" in str(e.value) and "digits" in str(e.value)


def test_unknown_param_lists_params_and_options() -> None:
    with pytest.raises(ConfigError) as e:
        make_dataset("shapes?colour=red")
    msg = str(e.value)
    assert "'colour'" in msg and "view" in msg and "image_size" in msg


def test_bad_values_and_path_rules() -> None:
    with pytest.raises(ConfigError, match="view"):
        make_dataset("shapes?view=sketchy")
    with pytest.raises(ConfigError, match="channels"):
        make_dataset("shapes", channels=2)
    with pytest.raises(ConfigError, match="takes no path"):
        make_dataset("shapes:/tmp")
    with pytest.raises(ConfigError, match="needs a path"):
        make_dataset("folder")
    with pytest.raises(ConfigError, match="split"):
        make_dataset("shapes?n=4", split="val")


def test_precedence_options_then_spec_then_overrides() -> None:
    base = DataOptions(image_size=16, channels=1)
    d = make_dataset("shapes?n=3&image_size=24", options=base)
    assert d.image_shape == (1, 24, 24)  # spec beats options; options' channels kept
    d = make_dataset("shapes?n=3&image_size=24", options=base, image_size=32, normalize=False)
    x = d[0]["image"]
    assert x.shape == (1, 32, 32) and x.min() >= 0 and x.max() <= 1


def test_data_options_validate() -> None:
    with pytest.raises(ConfigError, match="load_size"):
        replace(DataOptions(), {"image_size": "64", "load_size": "32"})
    assert replace(DataOptions(), {"load_size": "72"}).load_size == 72
    assert replace(DataOptions(), {"load_size": "none"}).load_size is None


def test_every_item_is_the_contract() -> None:
    for spec in ("shapes?n=5", "digits"):
        d = make_dataset(spec, image_size=16)
        item = d[1]
        assert set(item) == {"image", "label"}
        assert item["image"].dtype == torch.float32 and item["image"].shape == d.image_shape
        assert item["label"].dtype == torch.int64 and item["label"].ndim == 0
        assert -1.0 <= float(item["image"].min()) and float(item["image"].max()) <= 1.0
        assert 0 <= int(item["label"]) < d.num_classes == len(d.class_names)
        assert d.spec == spec
        with pytest.raises(IndexError):
            d[len(d)]
