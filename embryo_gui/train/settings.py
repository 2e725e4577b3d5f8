"""Settings and results of the lossy-frame trainer (no torch import here)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import EmbryoError

METHODS = ("oof", "train")
CUTS = ("top", "zscore")
TARGETS = ("auto", "lineages", "population")
SCOPES = ("embryo", "project")
CHANNELS = ("green", "gray")
PRECISIONS = ("float32", "bf16")
SCORES = ("loss", "neighbours")


@dataclass
class TrainSettings:
    """How the trainer ranks frames.  All fields are JSON-able; see docs/TRAINING.md."""

    epochs: int = 12           # 6 epochs found ~30% of demo mislabels, 12 epochs ~65% (docs/TRAINING.md)
    drop: float = 0.10          # share of scored frames marked lossy per round (cut="top")
    rounds: int = 1             # rank -> drop rounds; one more fit measures the error after dropping
    folds: int = 3              # method="oof": k folds, each frame scored by a model that never saw it
    size: int = 96              # frames are downsampled to size x size pixels
    method: str = "oof"         # "oof" (out-of-fold) or "train" (plain training loss, the 2020 way)
    cut: str = "top"            # "top" (top `drop` share) or "zscore" (robust z-score above `z`)
    score: str = "neighbours"   # rank by "neighbours": the residual minus the median residual of the
                                # frame's temporal neighbours, or by plain "loss" (docs/TRAINING.md)
    neighbours: int = 3         # score="neighbours": frames on each side
    z: float = 3.0
    min_error: float = 1.0      # a frame is only marked when its predicted population is this many cells off
    scope: str = "embryo"       # rank within each embryo or across the whole project
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 1e-4
    seed: int = 0
    device: str = "auto"        # "auto" (CUDA when torch sees it), "cpu", "cuda"
    targets: str = "auto"       # "auto", "lineages", "population"
    channel: str = "green"      # "green" channel or "gray" (luma) of the RGB frames
    width: int = 16             # channels of the first conv block
    precision: str = "float32"  # "float32" or "bf16" (autocast; CPU with AVX512-BF16 or CUDA)
    threads: int = 0            # torch threads; 0 = the physical cores this process may use
    save_model: str | None = None

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        def bad(msg: str) -> None:
            raise EmbryoError(f"training settings: {msg}")

        if self.method not in METHODS:
            bad(f"method must be one of {', '.join(METHODS)}, not {self.method!r}")
        if self.cut not in CUTS:
            bad(f"cut must be one of {', '.join(CUTS)}, not {self.cut!r}")
        if self.score not in SCORES:
            bad(f"score must be one of {', '.join(SCORES)}, not {self.score!r}")
        if int(self.neighbours) < 1:
            bad("neighbours must be at least 1")
        if self.targets not in TARGETS:
            bad(f"targets must be one of {', '.join(TARGETS)}, not {self.targets!r}")
        if self.scope not in SCOPES:
            bad(f"scope must be one of {', '.join(SCOPES)}, not {self.scope!r}")
        if self.channel not in CHANNELS:
            bad(f"channel must be one of {', '.join(CHANNELS)}, not {self.channel!r}")
        if self.precision not in PRECISIONS:
            bad(f"precision must be one of {', '.join(PRECISIONS)}, not {self.precision!r}")
        if self.device not in ("auto", "cpu", "cuda") and not str(self.device).startswith("cuda:"):
            bad(f"device must be auto, cpu or cuda, not {self.device!r}")
        if int(self.epochs) < 1:
            bad("epochs must be at least 1")
        if not 0.0 <= float(self.drop) < 1.0:
            bad(f"drop must be in [0, 1), not {self.drop}")
        if int(self.rounds) < 0:
            bad("rounds must be 0 or more")
        if self.method == "oof" and int(self.folds) < 2:
            bad("folds must be at least 2 for method oof")
        if not 16 <= int(self.size) <= 512:
            bad(f"size must be between 16 and 512 pixels, not {self.size}")
        if int(self.batch_size) < 2:
            bad("batch_size must be at least 2")
        if float(self.lr) <= 0:
            bad("lr must be positive")
        if int(self.width) < 4:
            bad("width must be at least 4")
        if int(self.threads) < 0:
            bad("threads must be 0 (automatic) or more")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainSettings":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise EmbryoError(f"training settings: unknown setting(s) {', '.join(unknown)}")
        return cls(**d)


@dataclass
class EmbryoTraining:
    """The trainer's findings for one embryo."""

    name: str
    lossy: np.ndarray            # bool (T,)
    loss: np.ndarray             # float32 (T,), NaN where not scored: the score that decided the marking
                                 # (settings.score: neighbour-relative loss or plain loss)
    rounds: list[dict] = field(default_factory=list)  # per round: settings, seed, loss (T,), errors


@dataclass
class TrainResult:
    """What train_project found; nothing is written to the project until apply_training_result."""

    settings: dict[str, Any]
    targets: list[str]                      # column names the model regressed
    embryos: dict[str, EmbryoTraining]
    rounds: list[dict]                      # project-wide summary per round (n_train, errors, timing)
    val_error_before: float                 # population MAE (cells) of the first fit on the evaluation frames
    val_error_after: float                  # same frames, after dropping the lossy frames (NaN if rounds=0)
    error_kind: str                         # "out-of-fold" or "in-sample"
    timing: dict[str, float] = field(default_factory=dict)
    model_path: str | None = None

    @property
    def n_lossy(self) -> int:
        return int(sum(int(e.lossy.sum()) for e in self.embryos.values()))
