"""Shared to_dict/from_dict for the detectors' settings dataclasses."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from ..errors import EmbryoError

T = TypeVar("T")


def settings_to_dict(obj: Any) -> dict:
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}


def settings_from_dict(cls: type[T], data: dict | None) -> T:
    """Build ``cls`` from a dict; unknown keys raise EmbryoError, missing keys keep the defaults,
    values are cast to the type of the default."""
    if data is None:
        return cls()
    if not isinstance(data, dict):
        raise EmbryoError(f"{cls.__name__}: expected a mapping of settings, got {type(data).__name__}")
    defaults = cls()
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise EmbryoError(f"{cls.__name__}: unknown setting(s) {', '.join(unknown)}")
    kwargs = {}
    for name, value in data.items():
        default = getattr(defaults, name)
        try:
            if isinstance(default, bool):
                kwargs[name] = bool(value)
            elif isinstance(default, int):
                kwargs[name] = int(value)
            elif isinstance(default, float):
                kwargs[name] = float(value)
            else:
                kwargs[name] = value
        except (TypeError, ValueError):
            raise EmbryoError(f"{cls.__name__}: setting {name}={value!r} is not a {type(default).__name__}") from None
    return cls(**kwargs)


def resolve(cls: type[T], settings: "T | dict | None") -> T:
    if settings is None:
        return cls()
    if isinstance(settings, cls):
        return settings
    return settings_from_dict(cls, settings)
