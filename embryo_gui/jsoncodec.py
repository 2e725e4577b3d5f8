"""Exact JSON encoding of nested dicts holding numpy arrays (NaN and bit patterns preserved)."""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np


def encode_array(a: np.ndarray) -> dict:
    """Exact, JSON-able encoding of an array (NaN and bit patterns preserved)."""
    a = np.ascontiguousarray(a)
    return {"__ndarray__": base64.b64encode(a.tobytes()).decode("ascii"), "dtype": a.dtype.str, "shape": list(a.shape)}


def decode_array(d: dict) -> np.ndarray:
    raw = base64.b64decode(d["__ndarray__"])
    return np.frombuffer(raw, dtype=np.dtype(d["dtype"])).reshape(d["shape"]).copy()


def _default(o: Any):
    if isinstance(o, np.ndarray):
        return encode_array(o)
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _hook(d: dict):
    if "__ndarray__" in d:
        return decode_array(d)
    return d


def dumps(obj: Any) -> str:
    return json.dumps(obj, default=_default, separators=(",", ":"))


def loads(text: str | bytes) -> Any:
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    return json.loads(text, object_hook=_hook)


def plain(o: Any, *, strict: bool = True) -> Any:
    """``o`` as plain JSON values for reports: numpy values converted, NaN and infinities as None.
    Anything else is an error when ``strict``, else written as its ``str``."""
    if isinstance(o, dict):
        return {str(k): plain(v, strict=strict) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [plain(v, strict=strict) for v in o]
    if isinstance(o, np.ndarray):
        return plain(o.tolist(), strict=strict)
    if isinstance(o, np.generic):
        o = o.item()
    if isinstance(o, float) and not np.isfinite(o):
        return None
    if o is None or isinstance(o, (str, int, float, bool)):
        return o
    if strict:
        raise TypeError(f"not JSON serialisable: {type(o).__name__}")
    return str(o)
