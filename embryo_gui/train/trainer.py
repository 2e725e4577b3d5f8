"""train_project: gather the usable frames of a project, run the ranking rounds, split per embryo.

Nothing in the project changes here; :func:`embryo_gui.train.apply.apply_training_result` writes
the result (one edit per embryo).
"""

from __future__ import annotations

import time
from typing import Any, Callable, Sequence

import numpy as np

from ..errors import EmbryoError
from ..lineages import COLUMNS, LINEAGES, POPULATION
from ..policy import TRAIN_LEFT_OUT_KINDS
from ..progress import CancelToken, check
from .network import architecture
from .preprocess import embryo_tensors
from .rounds import min_frames_needed, run_rounds
from .runtime import load_torch, passive_wait_active, physical_cores
from .settings import EmbryoTraining, TrainResult, TrainSettings

# frames flagged with any of these kinds are left out of training and ranking
LEFT_OUT_KINDS = TRAIN_LEFT_OUT_KINDS


def usable_frames(embryo: Any) -> np.ndarray:
    """Frames with an annotated population and none of LEFT_OUT_KINDS (bool (T,))."""
    ok = np.isfinite(np.asarray(embryo.current)[:, POPULATION])
    return ok & ~embryo.flags.any_of(LEFT_OUT_KINDS)


def choose_targets(counts: np.ndarray, requested: str, where: str = "") -> list[str]:
    """The columns to regress: every lineage annotated in all usable frames whose sum is the
    population (``auto``/``lineages``), else the population alone."""
    lin = counts[:, :POPULATION]
    cols = [LINEAGES[i] for i in range(len(LINEAGES)) if np.isfinite(lin[:, i]).all()]
    consistent = bool(cols) and np.allclose(
        lin[:, [LINEAGES.index(c) for c in cols]].sum(axis=1), counts[:, POPULATION], atol=0.5
    )
    if requested == "population":
        return ["population"]
    if consistent:
        return cols
    if requested == "lineages":
        raise EmbryoError("targets=lineages, but the usable frames do not all have lineage counts that "
                          "add up to the population; use targets=population", where or None)
    return ["population"]


def train_project(
    project: Any,
    settings: TrainSettings | None = None,
    progress: Callable[[dict], None] | None = None,
    cancel: CancelToken | None = None,
    embryos: Sequence[str] | None = None,
) -> TrainResult:
    """Rank the annotated frames of ``project`` by loss and mark the lossy ones (project unchanged)."""
    settings = settings or TrainSettings()
    t_start = time.perf_counter()
    load_torch(settings.threads)
    where = str(getattr(project, "path", "")) or None
    chosen = [project.embryo(n) for n in embryos] if embryos is not None else list(project.embryos)
    chosen = [e for e in chosen if usable_frames(e).any()]
    per_idx = [np.flatnonzero(usable_frames(e)) for e in chosen]
    n_total = int(sum(len(i) for i in per_idx))
    need = min_frames_needed(settings)
    if n_total < need:
        raise EmbryoError(
            f"only {n_total} annotated, non-excluded frames to train on; the trainer needs at least "
            f"{need} (method={settings.method}, folds={settings.folds})", where)
    counts = np.concatenate([np.asarray(e.current)[i] for e, i in zip(chosen, per_idx)])
    targets = choose_targets(counts, settings.targets, where or "")
    cols = [COLUMNS.index(c) for c in targets]

    # preprocess (read in batches, cached per embryo and size)
    done = [0]
    last = [0.0]

    def on_read(k: int) -> None:
        done[0] += k
        now = time.monotonic()
        if progress is not None and (now - last[0] >= 0.1 or done[0] == n_total):
            last[0] = now
            progress({"stage": "preprocess", "done": done[0], "total": n_total})

    xs = []
    for e, idx in zip(chosen, per_idx):
        check(cancel)
        xs.append(embryo_tensors(e, idx, settings.size, settings.channel, cancel, on_read))
    x = np.concatenate(xs)
    t_pre = time.perf_counter() - t_start
    groups = np.concatenate([np.full(len(i), g) for g, i in enumerate(per_idx)])
    out = run_rounds(x, counts[:, cols], counts[:, POPULATION], groups, settings, progress, cancel,
                     names=[e.name for e in chosen], frame_index=np.concatenate(per_idx))

    # split per embryo
    result_embryos: dict[str, EmbryoTraining] = {}
    sdict = settings.to_dict()
    offset = 0
    for e, idx in zip(chosen, per_idx):
        sl = slice(offset, offset + len(idx))
        offset += len(idx)

        def full(a: np.ndarray, fill: Any, dtype: Any) -> np.ndarray:
            arr = np.full(e.n_frames, fill, dtype=dtype)
            arr[idx] = a[sl]
            return arr

        ev = out["eval_mask"][sl]
        rounds = []
        for rd in out["rounds"]:
            err = rd["abs_error"][sl]
            rounds.append({
                "round": rd["round"],
                "settings": sdict,
                "seed": settings.seed,
                "fit_seeds": rd["fit_seeds"],
                "method": settings.method,
                "targets": targets,
                "n_train": rd["n_train"],
                "loss": full(rd["loss"], np.nan, np.float32),
                "neighbour_loss": full(rd["neighbour_loss"], np.nan, np.float32),
                "pred_population": full(rd["pred_population"], np.nan, np.float32),
                "marked": full(rd["marked"], False, bool),
                "val_error": float(np.mean(err[ev])) if ev.any() else float("nan"),
                "project_val_error": rd["val_error"],
                "error_kind": out["error_kind"],
            })
        result_embryos[e.name] = EmbryoTraining(
            name=e.name,
            lossy=full(out["lossy"], False, bool),
            loss=full(out["loss"], np.nan, np.float32),
            rounds=rounds,
        )
    arch = architecture(len(targets), settings.width, settings.size)
    model_path = None
    if settings.save_model:
        from .modelfile import save_model

        check(cancel)
        save_model(settings.save_model, arch, sdict, targets, out["scaler"], out["models"])
        model_path = str(settings.save_model)
    t_all = time.perf_counter() - t_start
    torch = load_torch()
    timing = {
        "total_s": t_all,
        "preprocess_s": t_pre,
        "train_s": out["train_seconds"],
        "frames_seen": float(out["frames_seen"]),
        "train_frames_per_s": out["frames_seen"] / out["train_seconds"] if out["train_seconds"] else 0.0,
        "threads": float(torch.get_num_threads()),
        "physical_cores": float(physical_cores()),
        "omp_passive": float(passive_wait_active()),
    }
    summary = [
        {"round": rd["round"], "n_train": rd["n_train"], "n_marked": int(rd["marked"].sum()),
         "val_error": rd["val_error"]}
        for rd in out["rounds"]
    ]
    return TrainResult(
        settings=sdict,
        targets=targets,
        embryos=result_embryos,
        rounds=summary,
        val_error_before=out["val_error_before"],
        val_error_after=out["val_error_after"],
        error_kind=out["error_kind"],
        timing=timing,
        model_path=model_path,
    )
