"""Rank frames by loss in rounds, on in-memory arrays (no project needed).

Round r fits on the frames kept so far (all usable frames in round 0) and scores every frame:
with method="oof" the kept frames are split into k folds and each is predicted by the model that
did not train on it (frames dropped earlier are predicted by the mean of the k fold models, none
of which saw them); with method="train" one model is fitted on the kept frames and scores them
(training loss, the 2020 way).  Rounds 0..rounds-1 mark the highest-loss kept frames lossy; one
last fit on the remaining frames measures the error after dropping (rounds=0: rank only).
"""

from __future__ import annotations

import time
from typing import Any, Callable, Sequence

import numpy as np

from ..progress import CancelToken, check
from .fit import Scaler, batches_per_epoch, fit_model, frame_loss, predict_z
from .network import torch
from .ranking import make_folds, mark_lossy, neighbour_relative
from .runtime import resolve_device
from .settings import TrainSettings


def min_frames_needed(settings: TrainSettings) -> int:
    """Usable annotated frames the trainer needs: 8 per fold (oof), 16 otherwise."""
    return max(16, 8 * settings.folds) if settings.method == "oof" else 16


def lossy_by_embryo(lossy: np.ndarray, groups: np.ndarray, names: Sequence[str] | None = None,
                    frame_index: np.ndarray | None = None) -> dict[str, list[int]]:
    """``{embryo name: sorted frame indices}`` of the rows marked in ``lossy`` (every group listed)."""
    idx = np.arange(len(lossy)) if frame_index is None else np.asarray(frame_index)
    out: dict[str, list[int]] = {}
    for g in np.unique(groups):
        name = names[int(g)] if names is not None else str(g)
        out[name] = sorted(int(i) for i in idx[(groups == g) & lossy])
    return out


def _fits_plan(n: int, settings: TrainSettings) -> list[tuple[int, int]]:
    """(round, fold) of every fit, in order."""
    k = settings.folds if settings.method == "oof" else 1
    return [(r, f) for r in range(settings.rounds + 1) for f in range(k)]


def run_rounds(
    x_u8: np.ndarray,
    counts: np.ndarray,
    population: np.ndarray,
    groups: np.ndarray,
    settings: TrainSettings,
    progress: Callable[[dict], None] | None = None,
    cancel: CancelToken | None = None,
    *,
    names: Sequence[str] | None = None,
    frame_index: np.ndarray | None = None,
) -> dict[str, Any]:
    """Run the ranking rounds.

    x_u8: (N,1,S,S) uint8 frames; counts: (N,c) annotated target counts (finite); population: (N,)
    annotated population (for the error in cells); groups: (N,) int (embryo of each frame; the
    ``scope="embryo"`` cut ranks within each group).  Returns lossy (N,) bool, loss (N,) float32,
    per-round dicts, the final fits' models (state dicts) and the target scaler.

    After each marking round ``progress`` gets ``{"stage": "round", "round": r, "lossy": {name:
    [frame indices]}}`` (every frame marked so far, so a viewer can show them before training
    ends): ``names[g]`` names group ``g`` and ``frame_index[i]`` is row ``i``'s frame in its embryo
    (default: the group number as a string and the row index).
    """
    x_u8 = np.ascontiguousarray(x_u8, dtype=np.uint8)
    counts = np.asarray(counts, np.float64)
    population = np.asarray(population, np.float64)
    groups = np.asarray(groups)
    n = len(x_u8)
    if not (len(counts) == len(population) == len(groups) == n):
        raise ValueError("x_u8, counts, population and groups must have the same length")
    device = resolve_device(settings.device)
    scaler = Scaler.fit(counts)
    y_np = scaler.encode(counts)
    x = torch.from_numpy(x_u8)
    y = torch.from_numpy(y_np)
    if device.type != "cpu":
        x, y = x.to(device), y.to(device)
    order = np.arange(n) if frame_index is None else np.asarray(frame_index)
    rank_groups = groups if settings.scope == "embryo" else np.zeros(n, np.int64)
    k = settings.folds if settings.method == "oof" else 1

    # progress bookkeeping: the total is re-estimated as rounds shrink the training set
    plan = _fits_plan(n, settings)
    state = {"done": 0, "t_last": 0.0, "round": 0, "fold": 0}

    def est_total(kept: int, from_fit: int) -> int:
        per_fold = (kept - kept // k) if k > 1 else kept
        return state["done"] + (len(plan) - from_fit) * settings.epochs * batches_per_epoch(
            per_fold, settings.batch_size
        )

    total = [est_total(n, 0)]

    def on_batch(epoch: int, batch: int, loss: "torch.Tensor") -> None:
        # the loss is only read (a device sync on a GPU) when a progress message goes out
        state["done"] += 1
        now = time.monotonic()
        if progress is not None and (now - state["t_last"] >= 0.1 or state["done"] >= total[0]):
            state["t_last"] = now
            progress(
                {
                    "stage": "train",
                    "round": state["round"],
                    "fold": state["fold"],
                    "epoch": epoch,
                    "batch": batch,
                    "loss": float(loss),
                    "done": min(state["done"], total[0]),
                    "total": total[0],
                }
            )

    kept = np.ones(n, dtype=bool)
    lossy = np.zeros(n, dtype=bool)
    decisive_loss = np.full(n, np.nan, np.float32)
    rounds: list[dict] = []
    models: list[dict] = []
    fit_i = 0
    t_train = 0.0
    seen = 0
    for r in range(settings.rounds + 1):
        state["round"] = r
        kept_idx = np.flatnonzero(kept)
        other_idx = np.flatnonzero(~kept)
        total[0] = est_total(len(kept_idx), fit_i)
        pred = np.full((n, counts.shape[1]), np.nan)
        other_sum = np.zeros((len(other_idx), counts.shape[1]))
        round_models = []
        fold_of = make_folds(len(kept_idx), k, settings.seed + 1009 * r) if k > 1 else np.zeros(len(kept_idx), int)
        for f in range(k):
            state["fold"] = f
            check(cancel)
            train_idx = kept_idx[fold_of != f] if k > 1 else kept_idx
            score_idx = kept_idx[fold_of == f] if k > 1 else kept_idx
            seed = settings.seed * 1000 + 100 * r + f
            t0 = time.perf_counter()
            model = fit_model(x, y, train_idx, settings, seed, device, on_batch, cancel)
            t_train += time.perf_counter() - t0
            seen += settings.epochs * len(train_idx)
            pred[score_idx] = predict_z(model, x, score_idx, device, settings.precision, cancel)
            if len(other_idx):
                other_sum += predict_z(model, x, other_idx, device, settings.precision, cancel)
            round_models.append({k_: v.detach().cpu().clone() for k_, v in model.state_dict().items()})
            fit_i += 1
        if len(other_idx):
            pred[other_idx] = other_sum / k
        loss = frame_loss(pred, y_np).astype(np.float32)
        rel_loss = frame_loss(neighbour_relative(pred - y_np, groups, order, settings.neighbours),
                              np.zeros_like(y_np)).astype(np.float32)
        score = rel_loss if settings.score == "neighbours" else loss
        pred_log = scaler.decode_log(pred)
        pred_pop = np.expm1(pred_log).sum(axis=1)
        abs_err = np.abs(pred_pop - population)
        marking = r < settings.rounds or settings.rounds == 0
        new = np.zeros(n, bool)
        if marking:
            eligible = abs_err >= settings.min_error
            new = mark_lossy(score, kept, rank_groups, settings.cut, settings.drop, settings.z, eligible)
            lossy |= new
            kept &= ~new
            decisive_loss = score.copy()
            if progress is not None:
                progress({"stage": "round", "round": r, "done": state["done"], "total": total[0],
                          "lossy": lossy_by_embryo(lossy, groups, names, frame_index)})
        rounds.append(
            {
                "round": r,
                "seed": settings.seed,
                "fit_seeds": [settings.seed * 1000 + 100 * r + f for f in range(k)],
                "n_train": int(len(kept_idx)),
                "loss": loss,
                "neighbour_loss": rel_loss,
                "pred_population": pred_pop.astype(np.float32),
                "abs_error": abs_err.astype(np.float32),
                "marked": new,
            }
        )
        models = round_models
    # the error before/after on the same frames: those not lossy at the end
    eval_mask = ~lossy
    for rd in rounds:
        rd["val_error"] = float(np.mean(rd["abs_error"][eval_mask])) if eval_mask.any() else float("nan")
    return {
        "lossy": lossy,
        "loss": decisive_loss,
        "rounds": rounds,
        "models": models,
        "scaler": scaler,
        "eval_mask": eval_mask,
        "val_error_before": rounds[0]["val_error"],
        "val_error_after": rounds[-1]["val_error"] if settings.rounds > 0 else float("nan"),
        "error_kind": "out-of-fold" if settings.method == "oof" else "in-sample",
        "train_seconds": t_train,
        "frames_seen": seen,
        "device": str(device),
    }
