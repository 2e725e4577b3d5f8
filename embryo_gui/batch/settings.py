"""What a batch does to every embryo, and the fingerprint that says whether an output is current."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Optional

from ..errors import EmbryoError
from ..model.framestore import resolve_frame_codec
from ..policy import DEFAULT_FRAME_CODEC


@dataclass
class BatchSettings:
    """``train``: also rank frames with the CNN and mark the lossy ones (slow); ``epochs``: its epochs
    (None: the trainer's default); ``size`` (W, H) / ``gray``: the exported frames, as ``export``'s
    ``--size`` / ``--gray`` (None: the embryos' own size, which must then agree across the batch);
    ``frame_codec``: how each project stores its frames, as ``import --frame-codec`` (None: the
    default, LZ4; left out of the fingerprint then, so outputs of earlier versions stay current)."""

    train: bool = False
    epochs: Optional[int] = None
    size: Optional[tuple[int, int]] = None
    gray: bool = False
    frame_codec: Optional[str] = None
    extra: dict = field(default_factory=dict)  # reserved: recorded in the fingerprint

    def __post_init__(self) -> None:
        if self.size is not None:
            self.size = (int(self.size[0]), int(self.size[1]))
            if min(self.size) <= 0:
                raise EmbryoError(f"batch: export size must be positive, got {self.size}")
        if self.epochs is not None and int(self.epochs) <= 0:
            raise EmbryoError(f"batch: epochs must be positive, got {self.epochs}")
        if self.frame_codec is not None:
            resolve_frame_codec(self.frame_codec)   # an unknown name: one line, before any task
            if self.frame_codec == DEFAULT_FRAME_CODEC:
                self.frame_codec = None             # the default by name: the same outputs

    def to_dict(self) -> dict:
        d = asdict(self)
        d["size"] = list(self.size) if self.size else None
        if d["frame_codec"] is None:
            del d["frame_codec"]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "BatchSettings":
        d = dict(d or {})
        if d.get("size"):
            d["size"] = tuple(d["size"])
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})

    def train_settings(self):
        from ..train import TrainSettings
        # one thread: a batch worker shares its machine with the other workers
        kw = {"threads": 1, "device": "cpu"}
        if self.epochs is not None:
            kw["epochs"] = int(self.epochs)
        return TrainSettings(**kw)

    def effective(self) -> dict:
        """Everything that decides a task's outputs: these settings, the tool's version and the
        defaults of the detectors, the auto-clean policy (and the trainer when training)."""
        from .. import __version__
        from ..detect import CliffSettings, CorruptSettings
        from ..detect.spikes import SpikeSettings
        from .workflows import AutocleanPolicy
        d = {"batch": self.to_dict(), "tool_version": __version__,
             "corrupt": CorruptSettings().to_dict(), "cliffs": CliffSettings().to_dict(),
             "spikes": SpikeSettings().to_dict(), "autoclean": AutocleanPolicy().to_dict()}
        if self.train:
            ts = asdict(self.train_settings())
            ts.pop("threads", None)
            ts.pop("device", None)
            d["train"] = ts
        return d

    def fingerprint(self) -> str:
        return fingerprint(self.effective())


def fingerprint(obj) -> str:
    """Short SHA-256 of a JSON-able object (keys sorted)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
