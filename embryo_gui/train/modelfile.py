"""Saving trained counting models and predicting counts with them."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import EmbryoError, first_line
from ..lineages import COLUMNS, N_COLUMNS, POPULATION
from ..progress import CancelToken, check
from .fit import Scaler, predict_z
from .network import ARCH_NAME, ARCH_VERSION, build, torch
from .preprocess import downsample_full, embryo_tensors
from .runtime import resolve_device

FILE_FORMAT = "embryo-gui-countnet-weights"
FILE_VERSION = 1


def save_model(path: "str | os.PathLike[str]", arch: dict, settings: dict, targets: list[str],
               scaler: Scaler, members: list[dict]) -> None:
    """Write an ensemble of state dicts (the fold models) with everything needed to rebuild it."""
    path = Path(path)
    blob = {
        "format": FILE_FORMAT,
        "format_version": FILE_VERSION,
        "arch": dict(arch),
        "settings": dict(settings),
        "targets": list(targets),
        "scaler": scaler.to_dict(),
        "members": members,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        torch.save(blob, tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class LoadedModel:
    """An ensemble read from a model file; ``predict_counts`` gives (k,8) counts."""

    def __init__(self, path: "str | os.PathLike[str]", device: str = "auto"):
        self.path = Path(path)
        if not self.path.exists():
            raise EmbryoError("no such model file", self.path)
        try:
            blob = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as exc:  # pickle / zip errors of a foreign or damaged file
            raise EmbryoError(f"not a readable model file ({first_line(exc, 120)})", self.path) from None
        if not isinstance(blob, dict) or blob.get("format") != FILE_FORMAT:
            raise EmbryoError("not an embryo-gui counting model file", self.path)
        if int(blob.get("format_version", 0)) > FILE_VERSION:
            raise EmbryoError(f"model file version {blob.get('format_version')} is newer than this "
                              f"embryo-gui reads ({FILE_VERSION})", self.path)
        arch = blob.get("arch") or {}
        if arch.get("name") != ARCH_NAME or int(arch.get("version", -1)) != ARCH_VERSION:
            raise EmbryoError(f"model architecture {arch.get('name')!r} v{arch.get('version')} is not "
                              f"{ARCH_NAME!r} v{ARCH_VERSION}", self.path)
        self.arch = arch
        self.settings = blob.get("settings") or {}
        self.targets = list(blob["targets"])
        self.scaler = Scaler.from_dict(blob["scaler"])
        self.device = resolve_device(device)
        self.members = []
        for i, sd in enumerate(blob.get("members") or []):
            net = build(arch)
            try:
                net.load_state_dict(sd, strict=True)
            except (RuntimeError, KeyError, TypeError) as exc:
                first = first_line(exc, 160)
                raise EmbryoError(f"weights of member {i} do not fit the stated architecture ({first})",
                                  self.path) from None
            net.to(self.device).eval()
            self.members.append(net)
        if not self.members:
            raise EmbryoError("model file holds no weights", self.path)
        if len(self.targets) != arch["n_out"] or len(self.scaler.mean) != arch["n_out"]:
            raise EmbryoError("model file's targets do not match its architecture", self.path)

    @property
    def size(self) -> int:
        return int(self.arch["size"])

    @property
    def channel(self) -> str:
        return str(self.settings.get("channel", "green"))

    def predict_counts(self, x_u8: np.ndarray, cancel: CancelToken | None = None) -> np.ndarray:
        """(k,1,S,S) uint8 -> (k,8) float64 counts: the predicted target columns and the population
        (the sum of predicted lineages when the model regressed lineages); other columns NaN."""
        x = torch.from_numpy(np.ascontiguousarray(x_u8))
        idx = np.arange(len(x_u8))
        z = np.zeros((len(idx), len(self.targets)))
        for net in self.members:
            z += predict_z(net, x, idx, self.device, self.settings.get("precision", "float32"), cancel)
        z /= len(self.members)
        counts = np.expm1(self.scaler.decode_log(z))
        out = np.full((len(idx), N_COLUMNS), np.nan)
        for j, name in enumerate(self.targets):
            out[:, COLUMNS.index(name)] = counts[:, j]
        if "population" not in self.targets:
            out[:, POPULATION] = counts.sum(axis=1)
        return out


def predict(source: Any, model_path: "str | os.PathLike[str]", indices=None, device: str = "auto",
            cancel: CancelToken | None = None) -> Any:
    """Predict counts with a saved model.

    ``source``: an Embryo (``indices`` default: all its frames), a Project (-> dict name -> array), or
    frames: an array (k,H,W,3) / (k,H,W) or a list of frames.  Returns (k,8) float64 counts in the
    usual column order (population always; lineages if the model regressed them, else NaN).
    """
    return predict_with(LoadedModel(model_path, device), source, indices, cancel)


def predict_with(model: LoadedModel, source: Any, indices=None, cancel: CancelToken | None = None) -> Any:
    """:func:`predict` with an already loaded model."""
    if hasattr(source, "embryos") and hasattr(source, "save"):
        return {e.name: predict_with(model, e, None, cancel) for e in source.embryos}
    if hasattr(source, "frames") and hasattr(source, "n_frames"):
        idx = np.arange(source.n_frames) if indices is None else np.asarray(indices, np.int64)
        x = embryo_tensors(source, idx, model.size, model.channel, cancel)
    else:
        frames = source if indices is None else [source[i] for i in np.asarray(indices, np.int64)]
        check(cancel)
        x = downsample_full(frames, model.size, model.channel)
    return model.predict_counts(x, cancel)
