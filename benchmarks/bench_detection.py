"""Benchmark of the detectors on demo embryos with ground truth.

    python benchmarks/bench_detection.py [--seeds 0 1] [--embryos 8] [--frames 300] [--shape 512 752]

Prints frame-level precision / recall / F1 for cliffs (all, dip, to_end, partial) and for corrupt
frames (black, red_artifact, out_of_order), the false-positive count on clean embryos, and the
detection speed, measured three ways in the same run, for every embryo's mp4v video:

* detection alone on frames decoded beforehand into a list (cold in memory), against a plain
  sequential cv2 decode of the same video;
* decode + detection streamed in one pass (the frame is still in cache when it is analysed, as
  when detecting from a video or frame file), against the plain decode: the extra time is the
  detection's cost;
* detection from a frame store (the features stored at import while the frames pass by, and the
  1/4-size copies: no full frame read), against the plain decode.

Then, with the real data of ``../shared/data`` (or /work/shared/data): false flags on the two real
EPIC movies (ceiling: 1 per 250 frames; L1's poster frame 0 must be found, out of order) with the
alignment check of each against its lineage file, and the cliff detector on the 201 real curves of
``gsoc2020/training_data.csv`` compared with the 2020 rule ``abs(diff(A)) > 50``.
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

from embryo_gui.arrays import runs
from embryo_gui.app.importing import detector_features
from embryo_gui.demo import make_demo_embryo
from embryo_gui.detect import CorruptSettings, cliff_mask, detect_cliffs, detect_corrupt
from embryo_gui.detect.corrupt import KINDS, detect_corrupt_frames
from embryo_gui.lineages import LINEAGES
from embryo_gui.model.framestore import FrameReader, write_frame_file

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = next((d for d in (os.path.join(HERE, "..", "..", "shared", "data"), "/work/shared/data")
               if os.path.isdir(d)), None)


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


def decode_and_stream(emb, settings) -> tuple[float, float, int, float]:
    """(seconds of a plain cv2 decode, seconds of decode + corrupt detection in one streamed pass,
    frames, CPU seconds of the plain decode, all threads) for the embryo's mp4v video."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "x.mp4")
        with open(path, "wb") as fh:
            fh.write(emb._mp4)
        c0 = time.process_time()
        n, t_plain = plain_decode(path)
        cpu_plain = time.process_time() - c0
        cap = cv2.VideoCapture(path)

        def frames():
            while True:
                ok, bgr = cap.read()
                if not ok:
                    return
                yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

        t0 = time.perf_counter()
        detect_corrupt(frames(), n, settings)
        t_stream = time.perf_counter() - t0
        cap.release()
        return t_plain, t_stream, n, cpu_plain


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--embryos", type=int, default=8)
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--shape", type=int, nargs=2, default=[512, 752])
    ap.add_argument("--cache", default=None, help="folder keeping the encoded demo videos between runs")
    ap.add_argument("--misses", type=int, default=40, help="how many individual errors to print")
    ap.add_argument("--store", action=argparse.BooleanOptionalAction, default=True,
                    help="also time detection from a frame store (features stored at import)")
    ap.add_argument("--real", action=argparse.BooleanOptionalAction, default=True,
                    help="the real EPIC movies and the 201 real curves (when ../shared/data is there)")
    ap.add_argument("--workers", type=int, default=None, help="threads for the per-frame features "
                    "(CorruptSettings.workers; default: its default)")
    args = ap.parse_args()
    settings = CorruptSettings() if args.workers is None else CorruptSettings(workers=args.workers)

    cl = {k: PRF() for k in ("cliff (all)", "cliff dip", "cliff to_end", "cliff partial")}
    co = {k: PRF() for k in ("black", "red_artifact", "red band", "red line", "red blotch", "out_of_order")}
    clean_flagged, clean_total, outlier_frames, n_total = [], 0, 0, 0
    t_detect, t_cliff, n_det = 0.0, 0.0, 0
    t_plain, t_stream, n_stream, cpu_plain, cpu_detect = 0.0, 0.0, 0, 0.0, 0.0
    t_store, n_store, same_store = 0.0, 0, 0
    misses: list[str] = []
    for seed in args.seeds:
        for idx in range(args.embryos):
            emb = make_demo_embryo(idx, seed, args.frames, (args.shape[0], args.shape[1], 3))
            _load_or_encode(emb, args.cache, seed, idx)
            tr = emb.truth
            T = emb.n_frames
            frames = list(emb.frames())          # rendered once, outside the timing
            if emb.codec == "mp4v" and emb._mp4 is not None:
                a, b, n, c = decode_and_stream(emb, settings)
                t_plain, t_stream, n_stream, cpu_plain = t_plain + a, t_stream + b, n_stream + n, cpu_plain + c
            t0, c0 = time.perf_counter(), time.process_time()
            res = detect_corrupt(iter(frames), T, settings)
            t_detect += time.perf_counter() - t0
            cpu_detect += time.process_time() - c0
            n_det += T
            if args.store:
                ts, same = store_detect(frames, settings, res)
                t_store, n_store, same_store = t_store + ts, n_store + T, same_store + same
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
            for k in ("black", "red_artifact", "out_of_order"):
                co[k].add(res.verdicts[k], tr[k].astype(bool))
            for k, t in (("red band", "red_band"), ("red line", "red_line"), ("red blotch", "red_blotch")):
                co[k].tp += int((res.verdicts["red_artifact"] & tr[t]).sum())
                co[k].fn += int((~res.verdicts["red_artifact"] & tr[t]).sum())
            outlier_frames += int(res.verdicts["outlier"].sum())
            n_total += T
            for k in ("black", "red_artifact", "out_of_order"):
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
                for a, b in runs(truth_m):
                    if not pred[a:b].any():
                        lin = tr["cliff_lineage"][a]
                        name = "population" if lin < 0 or lin >= len(LINEAGES) else LINEAGES[lin]
                        misses.append(f"seed {seed} embryo {idx}: cliff FN [{a},{b}) kind={kind[a]} "
                                      f"lineage={name}")

    print(f"{len(args.seeds)} seeds x {args.embryos} embryos x {args.frames} frames of "
          f"{args.shape[0]}x{args.shape[1]}; corrupt detection with {settings.workers} worker thread(s), "
          f"{os.cpu_count()} CPUs\n")
    print(f"{'frame-level':<22} {'P':>6} {'R':>6} {'F1':>6}")
    for k, v in cl.items():
        print(v.row(k) if k == "cliff (all)" else v.row(k) + "   (P not split by kind)")
    for k, v in co.items():
        print(v.row(k) if k in ("black", "red_artifact", "out_of_order") else v.row(k) + "   (recall only)")
    print(f"\noutlier verdicts: {outlier_frames} of {n_total} frames")
    print(f"clean embryos flagged: {len(clean_flagged)} of {clean_total}")
    for s in clean_flagged:
        print("  ", s)
    fps = n_det / max(t_detect, 1e-9)
    print(f"\ncorrupt detection on decoded frames (list): {fps:.0f} frames/s ({1000 / fps:.2f} ms/frame)")
    if n_stream:
        dec = n_stream / max(t_plain, 1e-9)
        extra = max(t_stream - t_plain, 1e-9)
        print(f"plain cv2 mp4v decode of the same videos: {dec:.0f} frames/s ({1000 / dec:.2f} ms/frame); "
              f"detection (list) time / decode time = {dec / fps:.2f}")
        print(f"decode + detection streamed: {n_stream / t_stream:.0f} frames/s; detection's extra time: "
              f"{1000 * extra / n_stream:.2f} ms/frame = {extra / max(t_plain, 1e-9):.2f} x the decode time")
        print(f"CPU time (all threads): detection (list) {1000 * cpu_detect / max(n_det, 1):.2f} ms/frame, "
              f"plain decode {1000 * cpu_plain / n_stream:.2f} ms/frame")
        if n_store:
            fs = n_store / max(t_store, 1e-9)
            print(f"detection from the frame store (stored features + 1/4-size copies): {fs:.0f} frames/s "
                  f"({1000 / fs:.2f} ms/frame) = {dec / fs:.2f} x the decode time; same verdicts as from "
                  f"the full frames on {same_store} of {n_store} frames")
            print(f"CPU time (all threads): detection from the store {1000 * STORE_CPU[0] / n_store:.2f} ms/frame "
                  f"= {STORE_CPU[0] / n_store / max(cpu_plain / n_stream, 1e-9):.2f} x the plain decode's CPU")
    print(f"cliff detection: {1000 * t_cliff / max(1, len(args.seeds) * args.embryos):.2f} ms per embryo")
    if misses:
        print(f"\n{len(misses)} errors (first {args.misses}):")
        for m in misses[:args.misses]:
            print("  ", m)
    if args.real and SHARED is not None:
        real_movies(settings)
        real_curves()
    elif args.real:
        print("\nreal data not found (../shared/data): real movies and curves skipped")


def store_detect(frames, settings, ref) -> tuple[float, int]:
    """(seconds of detection from a frame store written with the import's features, frames whose
    verdicts equal ``ref``'s)."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "f.h5")
        write_frame_file(path, iter(frames), frames[0].shape, len(frames), features=detector_features)
        reader = FrameReader(path)
        try:
            t0, c0 = time.perf_counter(), time.process_time()
            res = detect_corrupt_frames(reader, len(frames), settings)
            dt = time.perf_counter() - t0
            STORE_CPU[0] += time.process_time() - c0
        finally:
            reader.close()
    same = np.logical_and.reduce([res.verdicts[k] == ref.verdicts[k] for k in KINDS])
    return dt, int(same.sum())


STORE_CPU = [0.0]   # CPU seconds (all threads) of the store detections


#: what is known about the real movies (shared/data/epic/README.md, checked frame by frame)
REAL_TRUTH = {"L1": {"out_of_order": [0]}, "L2": {}}


def real_movies(settings) -> None:
    from embryo_gui.app.importing import alignment_check, import_embryo
    from embryo_gui.io import read_annotations
    from embryo_gui.model import Project

    epic = os.path.join(SHARED, "epic")
    print("\nreal EPIC movies (shared/data/epic; known: L1 frame 0 is a poster frame, nothing else is corrupt)")
    total_frames = total_false = 0
    with tempfile.TemporaryDirectory() as d:
        project = Project(os.path.join(d, "real.h5"))
        for name, truth in REAL_TRUTH.items():
            movie = os.path.join(epic, f"20080731_ceh-32_4_{name}.mov")
            csv = os.path.join(epic, f"CD20080731_ceh-32_4_{name}.csv")
            c0 = time.process_time()
            n, t_plain = plain_decode(movie)
            c_plain = time.process_time() - c0
            t0 = time.perf_counter()
            emb, _ = import_embryo(project, movie, csv, name=name)
            t_import = time.perf_counter() - t0
            t0, c0 = time.perf_counter(), time.process_time()
            res = detect_corrupt_frames(emb.frames, emb.n_frames, settings)
            t_det, c_det = time.perf_counter() - t0, time.process_time() - c0
            t0 = time.perf_counter()
            full = detect_corrupt(iter(emb.frames), emb.n_frames, settings)
            t_full = time.perf_counter() - t0
            same = all((res.verdicts[k] == full.verdicts[k]).all() for k in KINDS)
            false = found = 0
            lines = []
            for k in KINDS:
                want = set(truth.get(k, []))
                got = set(np.flatnonzero(res.verdicts[k]).tolist())
                false += len(got - want)
                found += len(got & want)
                for t in sorted(got | want):
                    tag = "found" if t in got and t in want else "MISSED" if t in want else "FALSE"
                    lines.append(f"    frame {t} {k} {tag}: {res.reasons[t]!r}")
            n_want = sum(len(v) for v in truth.values())
            total_frames += emb.n_frames
            total_false += false
            chk = emb.alignment.get("check", {})
            print(f"  {name}: {emb.n_frames} frames; false flags {false} ({false / emb.n_frames * 250:.2f} per 250 frames), "
                  f"known corrupt found {found}/{n_want}; stored-feature path = full-frame path: {same}")
            for ln in lines:
                print(ln)
            print(f"    speed: plain decode {t_plain:.2f} s, import (decode + store + features + alignment check) "
                  f"{t_import:.2f} s, detection from the store {t_det:.2f} s ({t_det / max(t_plain, 1e-9):.2f} x decode), "
                  f"from the full frames {t_full:.2f} s; CPU: decode {c_plain:.2f} s, detection from the store "
                  f"{c_det:.2f} s ({c_det / max(c_plain, 1e-9):.2f} x)")
            print(f"    alignment: used offset {chk.get('offset_used')} / {chk.get('frames_per_timepoint_used')} fpt; "
                  f"best offset {chk.get('offset_best')} / {chk.get('frames_per_timepoint_best')} fpt; cost "
                  f"{chk.get('cost_best')} (next best offset {chk.get('cost_next')}); agrees={chk.get('agrees')}")
            costs = chk.get("offset_costs", {})
            print("    cost by offset: " + ", ".join(f"{o}: {costs[str(o)]:.2f}" for o in range(-3, 4) if str(o) in costs))
            print(f"    steps matched (frame, cells before -> after): {chk.get('steps')}")
            # a wrong offset is caught
            ann = read_annotations(csv)
            for wrong in (-2, -1, 1, 2):
                c = alignment_check(emb.frames, ann, wrong, 1.0)
                print(f"    given offset {wrong:+d}: best {c.offset_best} / {c.fpt_best:g} fpt, warns={not c.agrees}")
    print(f"  all: {total_false} false flags on {total_frames} real frames "
          f"({total_false / total_frames * 250:.2f} per 250; ceiling 1)")


def real_curves() -> None:
    import csv as _csv
    from collections import OrderedDict

    path = os.path.join(SHARED, "gsoc2020", "training_data.csv")
    if not os.path.exists(path):
        print("\ntraining_data.csv not found: real curves skipped")
        return
    series: "OrderedDict[str, list]" = OrderedDict()
    with open(path, newline="") as fh:
        for row in _csv.DictReader(fh):
            name = row["filenames"].split("/")[1]
            k = int(row["filenames"].rsplit("/", 1)[1].split(".")[0])
            series.setdefault(name, []).append((k, [float(row[c]) for c in "AEMPCDZ"]))
    ours = rule = both = 0
    only_ours, only_rule, rule_up = [], [], 0
    n_frames = flagged_frames = 0
    t0 = time.perf_counter()
    for name, rows in series.items():
        rows.sort()
        c = np.array([r[1] for r in rows])
        counts = np.column_stack([c, c.sum(axis=1)])
        cl = detect_cliffs(counts)
        m = cliff_mask(cl, len(counts))
        n_frames += len(counts)
        flagged_frames += int(m.sum())
        dA = np.diff(c[:, 0])
        r = bool((np.abs(dA) > 50).any())
        up_only = r and not (dA < -50).any()
        o = bool(cl)
        ours += o
        rule += r
        both += o and r
        rule_up += up_only
        if o and not r:
            only_ours.append(f"{name} ({', '.join(f'{x.kind} {x.lineage} [{x.start},{x.stop}) depth {x.depth:.2f}' for x in cl[:2])})")
        if r and not o:
            only_rule.append(f"{name} (max |diff A| {np.abs(dA).max():.0f} at frame {int(np.argmax(np.abs(dA))) + 1}, "
                             f"{'a rise' if dA[np.argmax(np.abs(dA))] > 0 else 'a fall'})")
    dt = time.perf_counter() - t0
    print(f"\ncliff detector on the {len(series)} real curves of gsoc2020/training_data.csv ({n_frames} frames, "
          f"{1000 * dt / len(series):.1f} ms per curve)")
    print(f"  series with a cliff: ours {ours}, 2020 rule abs(diff(A)) > 50: {rule}, both {both}; "
          f"the rule fires on a rise only (no fall > 50) in {rule_up}")
    print(f"  frames inside our cliffs: {flagged_frames} of {n_frames}")
    print(f"  ours only ({len(only_ours)}): " + "; ".join(only_ours[:8]))
    print(f"  2020 rule only ({len(only_rule)}): " + "; ".join(only_rule[:8]))


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


if __name__ == "__main__":
    main()
