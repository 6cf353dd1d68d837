"""Typed config dataclasses: overrides from ``--set KEY=VALUE``, YAML files, dicts.

Config keys keep the names of the papers and reference code (``image_size``, ``nz``,
``ngf``, ``lr``, ``beta1``...). Unknown keys are refused with the list of valid ones.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, Iterable, Mapping, TypeVar

import yaml

from .errors import ConfigError

C = TypeVar("C")


def _field_types(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints.get(f.name, Any) for f in dataclasses.fields(cls)}


def _coerce(key: str, value: Any, tp: Any) -> Any:
    """Convert ``value`` (often a string from the command line) to type ``tp``."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            if type(None) in args:
                return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _coerce(key, value, a)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(f"{key}: cannot read {value!r} as {tp}")
    if origin is typing.Literal:
        for a in args:
            if str(a) == str(value):
                return a
        raise ConfigError(f"{key}: {value!r} is not one of {list(args)}")
    if tp is Any:
        return yaml.safe_load(value) if isinstance(value, str) else value
    if origin in (list, tuple):
        if isinstance(value, str):
            value = yaml.safe_load(value) if value.strip().startswith("[") else [v for v in value.split(",") if v != ""]
        if not isinstance(value, (list, tuple)):
            value = [value]
        inner = args[0] if args else Any
        items = [_coerce(key, v, inner) for v in value]
        return tuple(items) if origin is tuple else items
    if tp is bool:
        if isinstance(value, bool):
            return value
        s = str(value).strip().lower()
        if s in ("1", "true", "yes", "on"):
            return True
        if s in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{key}: {value!r} is not a boolean")
    if tp in (int, float, str):
        try:
            if tp is int and isinstance(value, str):
                f = float(value)
                if not f.is_integer():
                    raise ValueError
                return int(f)
            if tp is int and isinstance(value, float):
                if not value.is_integer():
                    raise ValueError
            return tp(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key}: {value!r} is not a valid {tp.__name__}") from None
    return value


def valid_keys(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def replace(cfg: C, updates: Mapping[str, Any]) -> C:
    """A copy of ``cfg`` with ``updates`` applied, each coerced to its field's type."""
    types_ = _field_types(type(cfg))
    clean: dict[str, Any] = {}
    for k, v in updates.items():
        if k not in types_:
            raise ConfigError(
                f"unknown option {k!r} for {type(cfg).__name__}; valid: {', '.join(sorted(types_))}"
            )
        clean[k] = _coerce(k, v, types_[k])
    new = dataclasses.replace(cfg, **clean)
    check = getattr(new, "validate", None)
    if callable(check):
        check()
    return new


def parse_sets(pairs: Iterable[str]) -> dict[str, str]:
    """``["lr=1e-3", "nz=64"]`` -> ``{"lr": "1e-3", "nz": "64"}``."""
    out: dict[str, str] = {}
    for p in pairs:
        if "=" not in p:
            raise ConfigError(f"--set expects KEY=VALUE, got {p!r}")
        k, v = p.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def load_yaml(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text()) or {}
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {p}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{p}: not valid YAML ({e})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: expected a mapping of KEY: VALUE")
    return data


def from_dict(cls: type[C], data: Mapping[str, Any]) -> C:
    return replace(cls(), data)  # type: ignore[call-arg]


def to_dict(cfg: Any) -> dict[str, Any]:
    """Plain dict of builtins (tuples become lists) for YAML/JSON/checkpoints."""
    def plain(v: Any) -> Any:
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    return {k: plain(v) for k, v in dataclasses.asdict(cfg).items()}


def route_overrides(sets: Mapping[str, Any], targets: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Split KEY=VALUE overrides among named config objects.

    ``target.key=value`` picks a target explicitly; a bare key goes to the one target
    that has it. A bare key that several targets have is refused with the qualified
    names to choose from (``lr`` in both ``strategy`` and ``evaluator``: write
    ``strategy.lr`` or ``evaluator.lr``), so one flag never changes two settings
    silently. Unknown keys are refused with the list of valid ones.
    """
    out: dict[str, dict[str, Any]] = {name: {} for name in targets}
    fields = {name: set(valid_keys(type(cfg))) for name, cfg in targets.items()}
    for key, value in sets.items():
        if "." in key and key.split(".", 1)[0] in targets:
            tgt, k = key.split(".", 1)
            if k not in fields[tgt]:
                raise ConfigError(f"unknown option {k!r} for {tgt}; valid: {', '.join(sorted(fields[tgt]))}")
            out[tgt][k] = value
            continue
        owners = [name for name in targets if key in fields[name]]
        if not owners:
            listing = "; ".join(f"{n}: {', '.join(sorted(f))}" for n, f in fields.items())
            raise ConfigError(f"unknown option {key!r}; valid options are {listing}")
        if len(owners) > 1:
            choices = " or ".join(f"{n}.{key}" for n in owners)
            raise ConfigError(f"option {key!r} is ambiguous: {', '.join(owners)} all have it; "
                              f"name the one you mean: {choices}")
        out[owners[0]][key] = value
    return out
