"""Detectors: cliffs in annotation curves, corrupt frames in pixels (numpy/scipy/opencv, no Qt).

The cliff detector's names are loaded on first use (PEP 562): it needs scipy, a third to half a
second of start-up that the import pipeline must not pay while the first frames go by (it computes
the per-frame features of :mod:`.frame_features` in its compression pool: numpy and OpenCV only)."""

from __future__ import annotations

import importlib

from .corrupt import CorruptResult, CorruptSettings, decide, detect_corrupt
from .frame_features import FrameFeatures, frame_features

_LAZY = {"Cliff": "cliffs", "CliffSettings": "cliffs", "cliff_mask": "cliffs", "detect_cliffs": "cliffs",
         "detect_cliffs_1d": "cliffs"}

__all__ = ["Cliff", "CliffSettings", "cliff_mask", "detect_cliffs", "detect_cliffs_1d",
           "CorruptResult", "CorruptSettings", "decide", "detect_corrupt", "FrameFeatures",
           "frame_features"]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
