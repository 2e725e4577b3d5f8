"""Benchmark of the detectors on demo embryos with ground truth.

    python benchmarks/bench_detection.py [--seeds 0 1] [--embryos 8] [--frames 300] [--shape 512 752]

Prints frame-level precision / recall / F1 for cliffs (all, dip, to_end, partial) and for corrupt
frames (black, red_artifact), the false-positive count on clean embryos, and the detection speed
(frames/s, and ratio to a plain cv2 decode of the same frames written as mp4v).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import plain_decode  # noqa: E402

from embryo_gui.demo import make_demo_embryo
from embryo_gui.detect import cliff_mask, detect_cliffs, detect_corrupt
from embryo_gui.lineages import LINEAGES


class PRF:
    def __init__(self) -> None:
        self.tp = self.fp = self.fn = 0

    def add(self, pred: np.ndarray, true: np.ndarray) -> None:
        self.tp += int((pred & true).sum())
        self.fp += int((pred & ~true).sum())
        self.fn += int((~pred & true).sum())

    def row(self, name: str) -> str:
        p = self.tp / max(self.tp + self.fp, 1)
        r = self.tp / max(self.tp + self.fn, 1)
        f = 2 * p * r / max(p + r, 1e-12)
        return f"{name:<22} {p:6.3f} {r:6.3f} {f:6.3f}   tp={self.tp:<5} fp={self.fp:<5} fn={self.fn}"


def cv2_decode_fps(frames: list[np.ndarray]) -> float:
    h, w = frames[0].shape[:2]
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "x.mp4")
        vw = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), 7.0, (w, h))
        for f in frames:
            vw.write(np.ascontiguousarray(f[:, :, ::-1]))
        vw.release()
        n, seconds = plain_decode(path)
        return n / max(seconds, 1e-9)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--embryos", type=int, default=8)
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--shape", type=int, nargs=2, default=[512, 752])
    ap.add_argument("--cache", default=None, help="folder keeping the encoded demo videos between runs")
    ap.add_argument("--misses", type=int, default=40, help="how many individual errors to print")
    args = ap.parse_args()

    cl = {k: PRF() for k in ("cliff (all)", "cliff dip", "cliff to_end", "cliff partial")}
    co = {k: PRF() for k in ("black", "red_artifact", "red band", "red line", "red blotch")}
    clean_flagged, clean_total, outlier_frames, n_total = [], 0, 0, 0
    t_detect, t_cliff, n_det = 0.0, 0.0, 0
    decode_fps = None
    misses: list[str] = []
    for seed in args.seeds:
        for idx in range(args.embryos):
            emb = make_demo_embryo(idx, seed, args.frames, (args.shape[0], args.shape[1], 3))
            _load_or_encode(emb, args.cache, seed, idx)
            tr = emb.truth
            T = emb.n_frames
            frames = list(emb.frames())          # rendered once, outside the timing
            if decode_fps is None:
                decode_fps = cv2_decode_fps(frames)
            t0 = time.perf_counter()
            res = detect_corrupt(iter(frames), T)
            t_detect += time.perf_counter() - t0
            n_det += T
            t0 = time.perf_counter()
            cliffs = detect_cliffs(emb.counts)
            t_cliff += time.perf_counter() - t0

            pred = cliff_mask(cliffs, T)
            kind = tr["cliff_kind"]
            cl["cliff (all)"].add(pred, kind > 0)
            for name, ks in (("cliff dip", (1, 3)), ("cliff to_end", (2, 4)), ("cliff partial", (3, 4))):
                sel = np.isin(kind, ks)
                cl[name].tp += int((pred & sel).sum())
                cl[name].fn += int((~pred & sel).sum())
                cl[name].fp += int((pred & (kind == 0)).sum()) if name == "cliff dip" else 0
            for k in ("black", "red_artifact"):
                co[k].add(res.verdicts[k], tr[k].astype(bool))
            for k, t in (("red band", "red_band"), ("red line", "red_line"), ("red blotch", "red_blotch")):
                co[k].tp += int((res.verdicts["red_artifact"] & tr[t]).sum())
                co[k].fn += int((~res.verdicts["red_artifact"] & tr[t]).sum())
            outlier_frames += int(res.verdicts["outlier"].sum())
            n_total += T
            for k in ("black", "red_artifact"):
                for t in np.flatnonzero(res.verdicts[k] != tr[k].astype(bool)):
                    misses.append(f"seed {seed} embryo {idx} frame {t}: {k} "
                                  f"{'FP' if res.verdicts[k][t] else 'FN'} score={res.scores[k][t]:.2f} "
                                  f"reason={res.reasons[t]!r}{_params(emb, t)}")
            if bool(tr["clean"]):
                clean_total += 1
                if cliffs or res.any().any():
                    clean_flagged.append(f"seed {seed} embryo {idx}: {len(cliffs)} cliffs, "
                                         f"{int(res.any().sum())} corrupt frames")
            else:
                truth_m = kind > 0
                for c in cliffs:
                    if not truth_m[c.start:c.stop].any():
                        misses.append(f"seed {seed} embryo {idx}: cliff FP {c.to_dict()}")
                for a, b in _runs(truth_m):
                    if not pred[a:b].any():
                        lin = tr["cliff_lineage"][a]
                        name = "population" if lin < 0 or lin >= len(LINEAGES) else LINEAGES[lin]
                        misses.append(f"seed {seed} embryo {idx}: cliff FN [{a},{b}) kind={kind[a]} "
                                      f"lineage={name}")

    print(f"{len(args.seeds)} seeds x {args.embryos} embryos x {args.frames} frames of "
          f"{args.shape[0]}x{args.shape[1]}\n")
    print(f"{'frame-level':<22} {'P':>6} {'R':>6} {'F1':>6}")
    for k, v in cl.items():
        print(v.row(k) if k == "cliff (all)" else v.row(k) + "   (P not split by kind)")
    for k, v in co.items():
        print(v.row(k) if k in ("black", "red_artifact") else v.row(k) + "   (recall only)")
    print(f"\noutlier verdicts: {outlier_frames} of {n_total} frames")
    print(f"clean embryos flagged: {len(clean_flagged)} of {clean_total}")
    for s in clean_flagged:
        print("  ", s)
    fps = n_det / max(t_detect, 1e-9)
    print(f"\ncorrupt detection: {fps:.0f} frames/s ({1000 / fps:.2f} ms/frame); "
          f"cv2 mp4v decode of the same frames: {decode_fps:.0f} frames/s; "
          f"detection time / decode time = {decode_fps / fps:.2f}")
    print(f"cliff detection: {1000 * t_cliff / max(1, len(args.seeds) * args.embryos):.2f} ms per embryo")
    if misses:
        print(f"\n{len(misses)} errors (first {args.misses}):")
        for m in misses[:args.misses]:
            print("  ", m)


def _load_or_encode(emb, cache: str | None, seed: int, idx: int) -> None:
    """Reuse the encoded mp4v video of a demo embryo from ``cache`` (or encode and store it)."""
    if cache is None or emb.codec != "mp4v":
        return
    os.makedirs(cache, exist_ok=True)
    h, w = emb.frame_shape[:2]
    path = os.path.join(cache, f"s{seed}_e{idx}_t{emb.n_frames}_{h}x{w}.mp4")
    if os.path.exists(path):
        with open(path, "rb") as fh:
            emb._mp4 = fh.read()
        return
    for _ in emb.frames():
        pass
    with open(path, "wb") as fh:
        fh.write(emb._mp4)


def _params(emb, t: int) -> str:
    """The injected artifact's parameters (size, amplitude...) for the error listing."""
    p = emb.scene.corrupt_params[t] if hasattr(emb.scene, "corrupt_params") else None
    if not p:
        return ""
    if "lines" in p:
        return " lines=" + ",".join(f"(thick {ln['thick']}, amp {ln['amp']:.0f}, aa {ln['aa']})" for ln in p["lines"])
    keys = [k for k in ("size", "width", "amp", "green", "edge") if k in p]
    return " " + " ".join(f"{k}={p[k]:.1f}" if isinstance(p[k], float) else f"{k}={p[k]}" for k in keys)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    m = np.concatenate(([False], mask, [False])).astype(np.int8)
    d = np.diff(m)
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)))


if __name__ == "__main__":
    main()
