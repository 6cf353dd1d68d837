"""Dataset specs: ``NAME``, ``NAME:PATH``, each with optional ``?key=value&key=value``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from torch.utils.data import Dataset

from ..config import replace, valid_keys
from ..errors import ConfigError
from .base import DATASETS, DataOptions

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]*$")


@dataclass(frozen=True)
class DataSpec:
    """A parsed spec: ``folder:/photos?skip_bad=true`` -> ("folder", "/photos", {"skip_bad": "true"})."""

    name: str
    path: str | None = None
    params: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        s = self.name + (f":{self.path}" if self.path is not None else "")
        return s + ("?" + "&".join(f"{k}={v}" for k, v in self.params.items()) if self.params else "")


def parse_spec(spec: str) -> DataSpec:
    """Split a spec into name, path and params (values are URL-unquoted; a bare ``key`` = true).

    The first ``?`` starts the params, so a PATH cannot contain ``?``; the first ``:`` ends
    the name, so a bare path (``/photos``) is refused with a hint to write ``folder:/photos``.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError(f"empty dataset spec {spec!r}; expected NAME or NAME:PATH (see `list_datasets()`)")
    head, _, query = spec.strip().partition("?")
    name, colon, path = head.partition(":")
    if not _NAME.match(name):
        raise ConfigError(
            f"bad dataset spec {spec!r}: it must start with a dataset name "
            f"(e.g. folder:{head} for a folder of images); valid names: {', '.join(DATASETS.list())}"
        )
    if colon and not path:
        raise ConfigError(f"dataset spec {spec!r}: empty PATH after {name + ':'!r}")
    params: dict[str, str] = {}
    for part in filter(None, query.split("&")):
        k, eq, v = part.partition("=")
        k = k.strip()
        if not k:
            raise ConfigError(f"dataset spec {spec!r}: empty key in {part!r}")
        if k in params:
            raise ConfigError(f"dataset spec {spec!r}: {k!r} given twice")
        params[k] = unquote(v.strip()) if eq else "true"
    return DataSpec(name, path if colon else None, params)


def list_datasets() -> dict[str, str]:
    """Registered dataset names -> one-line help."""
    return DATASETS.describe()


def make_dataset(
    spec: str, split: str = "train", options: DataOptions | None = None, **overrides: Any
) -> Dataset:
    """Build the dataset named by ``spec`` for ``split`` ("train" or "test").

    Precedence of settings (later wins): ``options`` (default ``DataOptions()``), the spec's
    ``?key=value`` params, then ``overrides``. Each key is either a ``DataOptions`` field
    (image_size, channels, crop, flip, normalize, skip_bad, load_size, resize, progress,
    direction, channels_A, channels_B) or one of the dataset's
    own params; anything else raises ConfigError listing both.
    """
    ds = parse_spec(spec)
    cls = DATASETS.get(ds.name).factory  # UnknownNameError listing the valid names
    params_cls = getattr(cls, "Params", None)
    param_keys = valid_keys(params_cls) if params_cls is not None else []
    option_keys = valid_keys(DataOptions)
    opt_up: dict[str, Any] = {}
    par_up: dict[str, Any] = {}
    for k, v in {**ds.params, **overrides}.items():
        if k in param_keys:
            par_up[k] = v
        elif k in option_keys:
            opt_up[k] = v
        else:
            raise ConfigError(
                f"unknown option {k!r} for dataset {ds.name!r} (spec {spec!r}); "
                f"its params: {', '.join(sorted(param_keys)) or '(none)'}; "
                f"data options: {', '.join(sorted(option_keys))}"
            )
    try:
        opts = replace(options or DataOptions(), opt_up)
        params = replace(params_cls(), par_up) if params_cls is not None else None
    except ConfigError as e:
        raise ConfigError(f"dataset spec {spec!r}: {e}") from None
    needs_path = getattr(cls, "needs_path", False)
    if needs_path and ds.path is None:
        raise ConfigError(f"dataset {ds.name!r} needs a path: {ds.name}:PATH (spec {spec!r})")
    if not needs_path and ds.path is not None:
        raise ConfigError(f"dataset {ds.name!r} takes no path; write {ds.name!r} without ':{ds.path}'")
    return cls(path=ds.path, split=split, options=opts, params=params, spec=spec)
