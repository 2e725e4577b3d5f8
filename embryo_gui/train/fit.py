"""Training and predicting one CountNet on cached uint8 frames."""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..progress import CancelToken, check
from .network import architecture, build, torch
from .settings import TrainSettings

STD_FLOOR = 0.25          # log1p units; keeps near-constant columns (Z) from dominating the loss
HUBER_BETA = 1.0          # on standardized log1p targets
CHANNELS_LAST = True      # NHWC on CPU: measured ~1.3-1.6x faster training (see docs/TRAINING.md)
PREDICT_BATCH = 128
RECALIBRATION_BATCH = 128  # frames per batch of the batch-norm recalibration pass (see there)


@dataclass
class Scaler:
    """log1p(count) -> standardized target, per column."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, counts: np.ndarray) -> "Scaler":
        logs = np.log1p(np.maximum(np.asarray(counts, np.float64), 0.0))
        return cls(logs.mean(axis=0), np.maximum(logs.std(axis=0), STD_FLOOR))

    def encode(self, counts: np.ndarray) -> np.ndarray:
        return ((np.log1p(np.maximum(counts, 0.0)) - self.mean) / self.std).astype(np.float32)

    def decode_log(self, z: np.ndarray) -> np.ndarray:
        return np.asarray(z, np.float64) * self.std + self.mean

    def to_dict(self) -> dict:
        return {"mean": [float(v) for v in self.mean], "std": [float(v) for v in self.std]}

    @classmethod
    def from_dict(cls, d: dict) -> "Scaler":
        return cls(np.asarray(d["mean"], np.float64), np.asarray(d["std"], np.float64))


def frame_loss(pred_z: np.ndarray, target_z: np.ndarray) -> np.ndarray:
    """Per-frame loss: smooth-L1 (Huber, beta=1) of standardized log1p targets, mean over columns."""
    d = np.abs(np.asarray(pred_z, np.float64) - np.asarray(target_z, np.float64))
    per = np.where(d < HUBER_BETA, 0.5 * d * d / HUBER_BETA, d - 0.5 * HUBER_BETA)
    return per.mean(axis=1)


def augment(xb: "torch.Tensor", gen: "torch.Generator") -> "torch.Tensor":
    """Random member of the square's symmetry group per sample: optional transpose, then optional
    horizontal and vertical flips (2 x 2 x 2 = the 8 rotations/reflections).

    One seeded draw of 3 bits per sample; each transform is applied to its subset of the batch in one
    indexed copy.  Run on the uint8 frames (4x less memory traffic than float; measured 0.8 ms per
    batch of 32 at 96 px vs 1.9 ms for the earlier one-group-per-symmetry version)."""
    bits = torch.randint(0, 2, (3, xb.shape[0]), generator=gen, dtype=torch.bool)
    out = xb.clone()
    for k, op in enumerate((lambda v: v.transpose(2, 3), lambda v: v.flip(3), lambda v: v.flip(2))):
        sel = bits[k].nonzero().flatten().to(xb.device)
        if len(sel):
            out[sel] = op(out.index_select(0, sel))
    return out


def _as_input(xb: "torch.Tensor", channels_last: bool = CHANNELS_LAST) -> "torch.Tensor":
    """uint8 (B,C,S,S) -> float32 in [0,1] (NHWC memory layout when channels_last; float input is
    used as it is).  The conversion costs ~0.05 ms per batch of 32 at 96 px, so frames stay uint8."""
    if xb.dtype == torch.uint8:
        xb = xb.float().mul_(1.0 / 255.0)
    if channels_last and xb.shape[1] > 1:  # with one channel NCHW and NHWC are the same layout
        xb = xb.contiguous(memory_format=torch.channels_last)
    return xb


class AdamW:
    """AdamW (decoupled weight decay; Loshchilov & Hutter) in plain in-place tensor ops.

    Same update as ``torch.optim.AdamW`` with default betas/eps.  Own class because the first
    ``torch.optim`` optimizer of a process imports ``torch._dynamo`` (measured 1.5 s, i.e. longer
    than a whole small fit) and each step runs through profiler/hook wrappers.
    """

    def __init__(self, params, lr: float, weight_decay: float, betas=(0.9, 0.999), eps: float = 1e-8):
        self.params = [p for p in params if p.requires_grad]
        self.lr, self.weight_decay, self.betas, self.eps = lr, weight_decay, betas, eps
        self.exp_avg = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.params]
        self.steps = 0

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        self.steps += 1
        b1, b2 = self.betas
        bc1 = 1.0 - b1 ** self.steps
        bc2_sqrt = math.sqrt(1.0 - b2 ** self.steps)
        for p, m, v in zip(self.params, self.exp_avg, self.exp_avg_sq):
            g = p.grad
            if g is None:
                continue
            p.mul_(1.0 - self.lr * self.weight_decay)
            m.lerp_(g, 1.0 - b1)
            v.mul_(b2).addcmul_(g, g, value=1.0 - b2)
            denom = (v.sqrt() / bc2_sqrt).add_(self.eps)
            p.addcdiv_(m, denom, value=-self.lr / bc1)


def _lr_at(step: int, total: int, lr: float) -> float:
    warm = max(1, min(50, total // 10))
    if step < warm:
        return lr * (step + 1) / warm
    t = (step - warm) / max(1, total - warm)
    return lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * t)))


def batches_per_epoch(n: int, batch_size: int) -> int:
    """Batches of one epoch; a last batch of one frame is merged into the previous (batch norm)."""
    nb = max(1, math.ceil(n / batch_size))
    if nb > 1 and n - (nb - 1) * batch_size < 2:
        nb -= 1
    return nb


def _autocast(device: "torch.device", precision: str):
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def fit_model(
    x: "torch.Tensor",
    y: "torch.Tensor",
    train_idx: np.ndarray,
    settings: TrainSettings,
    seed: int,
    device: "torch.device",
    on_batch: "Callable[[int, int, torch.Tensor], None] | None" = None,
    cancel: CancelToken | None = None,
    channels_last: bool = CHANNELS_LAST,
) -> "torch.nn.Module":
    """Train a fresh CountNet on frames ``train_idx`` of ``x`` (uint8 (N,1,S,S)) with targets ``y``.

    ``on_batch(epoch, batch, loss)`` is called after every optimizer step with the batch loss as a
    0-d tensor (``float(loss)`` waits for the device: call it only when the value is shown);
    ``cancel`` is checked before every batch.  Deterministic on CPU for a given seed and thread count.
    """
    if len(train_idx) < 2:
        raise ValueError("need at least two training frames")
    arch = architecture(y.shape[1], settings.width, x.shape[-1])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build(arch)
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)  # conv weights NHWC too (a no-op for CUDA speed)
    model.train()
    opt = AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    gen = torch.Generator().manual_seed(seed + 7919)
    idx_all = torch.as_tensor(np.asarray(train_idx, np.int64))
    n = len(idx_all)
    nb = batches_per_epoch(n, settings.batch_size)
    total = nb * settings.epochs
    # batch boundaries: equal batches of batch_size, or nb near-equal ones when n does not divide
    bounds = (np.arange(nb + 1) * settings.batch_size if nb * settings.batch_size == n
              else np.linspace(0, n, nb + 1).round().astype(int))
    autocast = _autocast(device, settings.precision)
    step = 0
    for epoch in range(settings.epochs):
        order = idx_all[torch.randperm(n, generator=gen)].to(x.device)
        for b in range(nb):
            check(cancel)
            sel = order[bounds[b] : bounds[b + 1]]
            xb = _as_input(augment(x.index_select(0, sel), gen).to(device, non_blocking=True), channels_last)
            yb = y.index_select(0, sel.to(y.device)).to(device, non_blocking=True)
            opt.lr = _lr_at(step, total, settings.lr)
            with autocast:
                out = model(xb)
            loss = torch.nn.functional.smooth_l1_loss(out.float(), yb, beta=HUBER_BETA)
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            if on_batch is not None:
                on_batch(epoch, b, loss.detach())
    recalibrate_batch_norm(model, x, train_idx, device, RECALIBRATION_BATCH, settings.precision, cancel)
    return model


def recalibrate_batch_norm(model, x, idx, device, batch_size: int, precision: str = "float32",
                           cancel: CancelToken | None = None) -> None:
    """Re-estimate the batch-norm running statistics over the training frames with the final
    weights (short runs otherwise leave stale early-training statistics that bias every eval-mode
    prediction): the plain average of the statistics of train-mode batches of ``batch_size``;
    leaves the model in eval mode.

    fit_model uses batches of RECALIBRATION_BATCH (128), not the training batch: measured on the
    benchmark (3 seeds), the ranking was clearly better than with 32, and also better than exact
    sum/sum-of-squares statistics over batches of 32 (docs/TRAINING.md).  Likely reason: the deeper
    layers' statistics are gathered while the upstream layers normalise with batch statistics, and a
    larger batch makes those closer to the eval-mode (population) ones."""
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    model.train()
    idx = np.asarray(idx, np.int64)
    with torch.no_grad():
        for start in range(0, len(idx), batch_size):
            check(cancel)
            sel = torch.as_tensor(idx[start : start + batch_size])
            if len(sel) < 2:
                break
            xb = _as_input(x.index_select(0, sel.to(x.device)).to(device))
            with _autocast(device, precision):
                model(xb)
    for m, mom in zip(bns, saved):
        m.momentum = mom
    model.eval()


def predict_z(
    model: "torch.nn.Module",
    x: "torch.Tensor",
    idx: np.ndarray,
    device: "torch.device",
    precision: str = "float32",
    cancel: CancelToken | None = None,
) -> np.ndarray:
    """Standardized predictions (len(idx), n_out) float64 of an eval-mode model."""
    idx = np.asarray(idx, np.int64)
    out = np.empty((len(idx), model.head.out_features), np.float64)
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(idx), PREDICT_BATCH):
            check(cancel)
            sel = torch.as_tensor(idx[start : start + PREDICT_BATCH])
            xb = _as_input(x.index_select(0, sel.to(x.device)).to(device))
            with _autocast(device, precision):
                pred = model(xb)
            out[start : start + len(sel)] = pred.float().cpu().numpy()
    return out

