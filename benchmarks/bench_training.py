"""Benchmark of the lossy-frame trainer: detection quality on demo projects and CPU throughput.

    python benchmarks/bench_training.py            # default run (a few minutes)
    python benchmarks/bench_training.py --quick    # smoke run
    ... --seeds 0 1 2 --frames 150 --size 64 --epochs 12          # what the default uses

Quality (per demo seed): corrupt frames and cliffs are excluded from the truth first (the trainer is
measured on the mislabelled-frame task alone; the pixel/cliff detectors have their own benchmark).
Reported: precision/recall of the trainer's lossy flags (default 10% cut) and of its ranking cut at
the injected rate (top-k with k = number of mislabelled frames), next to annotation-sequence
detectors (the project's cliff detector, and a running-median residual baseline), and the union.
Held-out error: one model trained on the injected embryos (a) on everything, (b) without the lossy
frames, (c) without the truly mislabelled frames (oracle), evaluated against the true population
of the clean demo embryo (never trained on).

Speed: frames/s of fit_model vs a bare forward+backward+step loop over the same batches already in
memory as float tensors; share of the CPU's estimated peak FLOP rate; throughput next to a busy
Python thread, with the OpenMP wait policy PASSIVE vs default (separate processes, since OpenMP
reads it at load).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


# ---------------------------------------------------------------------------------------------
# quality

def pr(flags: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    tp = int((flags & truth).sum())
    p = tp / flags.sum() if flags.sum() else float("nan")
    r = tp / truth.sum() if truth.sum() else float("nan")
    return p, r


def median_residual(pop: np.ndarray, usable: np.ndarray, half: int = 3) -> np.ndarray:
    """|y - median of the usable neighbours| / max(median, 1): an annotation-sequence baseline."""
    out = np.full(len(pop), np.nan)
    idx = np.flatnonzero(usable)
    for j, i in enumerate(idx):
        nb = np.r_[idx[max(0, j - half):j], idx[j + 1:j + 1 + half]]
        if len(nb):
            m = np.median(pop[nb])
            out[i] = abs(pop[i] - m) / max(m, 1.0)
    return out


def quality(seed: int, args, workdir: Path) -> dict:
    from embryo_gui import edits
    from embryo_gui.demo.project import write_demo_project
    from embryo_gui.detect import cliff_mask, detect_cliffs
    from embryo_gui.lineages import POPULATION
    from embryo_gui.train import TrainSettings, predict, train_project
    from embryo_gui.train.trainer import usable_frames

    path = workdir / f"demo_{seed}.h5"
    t0 = time.perf_counter()
    p = write_demo_project(path, n_embryos=4, n_frames=args.frames, seed=seed, frame_shape=(256, 376, 3))
    t_demo = time.perf_counter() - t0
    inj = [e for e in p.embryos if not bool(e.truth["clean"])]
    clean = [e for e in p.embryos if bool(e.truth["clean"])]
    for e in p.embryos:  # isolate the mislabel task: truth corrupt frames and cliffs left out
        t = e.truth
        e.history.push(edits.SetFlags({"excluded": t["black"] | t["red_artifact"] | t["cliff"]}))
    s = TrainSettings(epochs=args.epochs, size=args.size, seed=seed, threads=args.threads,
                      **({"score": args.score} if args.score else {}))
    t0 = time.perf_counter()
    res = train_project(p, s, embryos=[e.name for e in inj])
    t_train = time.perf_counter() - t0

    rows = {}
    from embryo_gui.detect.spikes import detect_spikes
    from embryo_gui.train.ranking import mark_lossy

    variants = ("topk", "topk_nb", "cut10", "cut10_nb", "z", "z_nb")
    cat = {k: [] for k in ("truth", "lossy", "seq_topk", "cliffdet", "spikes") + variants}
    for e in inj:
        u = usable_frames(e)
        truth = e.truth["mislabelled"] & u
        er = res.embryos[e.name]
        k = int(truth.sum())
        r0 = er.rounds[0]
        eligible = np.abs(r0["pred_population"] - e.current[:, POPULATION]) >= s.min_error
        one = np.zeros(e.n_frames, int)
        for key, suffix in (("loss", ""), ("neighbour_loss", "_nb")):
            # round-0 score of every usable frame, cut three ways (none retrains)
            sc = np.where(u, np.nan_to_num(r0[key], nan=-1.0), -np.inf)
            topk = np.zeros(e.n_frames, bool)
            topk[np.argsort(-sc)[:k]] = True
            cat["topk" + suffix].append(topk)
            cat["cut10" + suffix].append(mark_lossy(np.where(u, r0[key], np.nan), u, one, "top", s.drop, s.z, eligible))
            cat["z" + suffix].append(mark_lossy(np.where(u, r0[key], np.nan), u, one, "zscore", s.drop, s.z, eligible))
        res_seq = np.where(u, np.nan_to_num(median_residual(e.current[:, POPULATION], u), nan=-1), -np.inf)
        seq = np.zeros(e.n_frames, bool)
        seq[np.argsort(-res_seq)[:k]] = True
        cd = cliff_mask(detect_cliffs(np.where(u[:, None], e.current, np.nan)), e.n_frames) & u
        sp = detect_spikes(e.current, skip=~u)[0] & u  # the product's annotation-sequence spike detector
        for name, m in (("truth", truth), ("lossy", er.lossy & u), ("seq_topk", seq),
                        ("cliffdet", cd), ("spikes", sp)):
            cat[name].append(m)
    c = {k: np.concatenate(v) for k, v in cat.items()}
    for name in ("lossy",) + variants + ("seq_topk", "cliffdet", "spikes"):
        rows[name] = pr(c[name], c["truth"])
    rows["lossy|cliffdet"] = pr(c["lossy"] | c["cliffdet"], c["truth"])
    rows["lossy|spikes"] = pr(c["lossy"] | c["spikes"], c["truth"])
    rows["topk|seq_topk"] = pr(c["topk"] | c["seq_topk"], c["truth"])
    rows["cut10_nb|spikes"] = pr(c["cut10_nb"] | c["spikes"], c["truth"])
    rate = float(c["truth"].mean())

    # held-out error on the clean embryo: a model trained on everything / cleaned / oracle-cleaned
    held = {}
    if clean:
        target = clean[0]
        tu = usable_frames(target)
        true_pop = target.truth["true_counts"][:, POPULATION]
        for variant in ("all", "cleaned", "oracle"):
            pushed = []
            for e in inj:
                drop = {"all": np.zeros(e.n_frames, bool), "cleaned": res.embryos[e.name].lossy,
                        "oracle": e.truth["mislabelled"]}[variant]
                if drop.any():
                    e.history.push(edits.SetExcluded(drop, True))
                    pushed.append(e)
            mp = workdir / f"model_{seed}_{variant}.pt"
            hs = TrainSettings(epochs=args.epochs, size=args.size, seed=seed, threads=args.threads,
                               method="train", rounds=0, drop=0.0, save_model=str(mp))
            train_project(p, hs, embryos=[e.name for e in inj])
            for e in pushed:
                e.history.undo()
            pred = predict(target, mp)[:, POPULATION]
            held[variant] = float(np.mean(np.abs(pred[tu] - true_pop[tu])))
    return {"seed": seed, "rate": rate, "n_scored": int(c["truth"].size), "n_mislabelled": int(c["truth"].sum()),
            "pr": rows, "val_error_before": res.val_error_before, "val_error_after": res.val_error_after,
            "heldout_mae": held, "train_s": t_train, "demo_s": t_demo, "timing": res.timing,
            "targets": res.targets}


# ---------------------------------------------------------------------------------------------
# speed

def cpu_peak_gflops(cores: int) -> tuple[float, str]:
    """Estimated fp32 peak: cores x clock x FLOP/cycle (FMA units x lanes x 2)."""
    flags, mhz = "", 0.0
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("flags") and not flags:
                flags = line
            if line.startswith("cpu MHz") and not mhz:
                mhz = float(line.split(":")[1])
    except OSError:
        pass
    model = ""
    try:
        model = next(line.split(":")[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    # AVX-512 on AMD Zen 4 executes as 2 x 256-bit FMA pipes (16 fp32 FMA/cycle); on Intel server
    # cores 2 x 512-bit (32); AVX2: 2 x 256-bit (16).  We assume 16 FMA = 32 FLOP/cycle/core with
    # AVX2 or Zen-4 AVX-512, 64 for Intel AVX-512 (not distinguishable here; assume AMD if 'AMD').
    per_cycle = 32.0
    if "avx512f" in flags and "AMD" not in model:
        per_cycle = 64.0
    ghz = mhz / 1000.0 if mhz else 2.5
    return cores * ghz * per_cycle, f"{cores} cores x {ghz:.2f} GHz x {per_cycle:.0f} FLOP/cycle ({model})"


def speed_child(mode: str, n: int, epochs: int, size: int, width: int, threads: int, busy: bool,
                repeats: int = 5) -> dict:
    """Run in a fresh process (so OMP_WAIT_POLICY is read at torch's load).

    ``fit``: one fit_model of ``epochs`` epochs over n frames (shuffling, augmentation, lr schedule,
    progress callback, cancel checks, batch-norm recalibration and any one-time start-up cost of the
    process included).  ``paired``: the bookkeeping measurement -- after a warm-up, ``repeats``
    alternations of a bare forward+backward+step loop over fixed float batches already in memory
    (same model, optimizer and batch count) and a fit_model on the same uint8 frames, in one
    process, so both see the same machine state; the best (least disturbed) and median times are
    reported, plus the first (cold) fit and one batch-norm recalibration pass timed alone (work the
    bare loop does not do; its share shrinks as 1/epochs)."""
    from embryo_gui.train.runtime import load_torch

    torch = load_torch(threads)
    from embryo_gui.train import fit as F
    from embryo_gui.train.network import architecture, build, flops_per_frame
    from embryo_gui.train.settings import TrainSettings

    rng = np.random.default_rng(0)
    x_u8 = torch.from_numpy(rng.integers(0, 60, (n, 1, size, size), dtype=np.uint8))
    y = torch.randn(n, 1)
    s = TrainSettings(epochs=epochs, size=size, width=width, batch_size=32, threads=threads)
    stop = threading.Event()

    def spin():  # a GUI thread painting: pure Python, holds the GIL whenever it can
        k = 0
        while not stop.is_set():
            k += 1

    if busy:
        threading.Thread(target=spin, daemon=True).start()
    dev = torch.device("cpu")
    calls = [0]

    def fit() -> float:
        t0 = time.perf_counter()
        F.fit_model(x_u8, y, np.arange(n), s, 0, dev, on_batch=lambda *a: calls.__setitem__(0, calls[0] + 1))
        return time.perf_counter() - t0

    def bare() -> float:
        torch.manual_seed(0)
        model = build(architecture(1, width, size)).to(memory_format=torch.channels_last)
        opt = F.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
        xs = [F._as_input(x_u8[i:i + 32]) for i in range(0, n, 32)]
        ys = [y[i:i + 32] for i in range(0, n, 32)]
        t0 = time.perf_counter()
        for _ in range(epochs):
            for xb, yb in zip(xs, ys):
                loss = torch.nn.functional.smooth_l1_loss(model(xb), yb)
                opt.zero_grad()
                loss.backward()
                opt.step()
        return time.perf_counter() - t0

    done = n * epochs
    fwd, fb = flops_per_frame(architecture(1, width, size))
    out = {"mode": mode, "threads": torch.get_num_threads(), "busy": busy,
           "omp": os.environ.get("OMP_WAIT_POLICY", ""), "n": n, "epochs": epochs}
    if mode == "paired":
        first = fit()
        tb, tf = [], []
        for _ in range(repeats):
            tb.append(bare())
            tf.append(fit())
        model = build(architecture(1, width, size)).to(memory_format=torch.channels_last)
        F.recalibrate_batch_norm(model, x_u8, np.arange(n), dev, F.RECALIBRATION_BATCH)  # warm-up
        t0 = time.perf_counter()
        F.recalibrate_batch_norm(model, x_u8, np.arange(n), dev, F.RECALIBRATION_BATCH)
        recal = time.perf_counter() - t0
        out.update(first_fit_s=first, bare_fps=done / min(tb), fps=done / min(tf),
                   bare_fps_median=done / float(np.median(tb)), fps_median=done / float(np.median(tf)),
                   bare_times=tb, fit_times=tf, recal_s=recal, recal_share=recal / min(tf))
        out["bare_gflops"] = out["bare_fps"] * fb / 1e9
    else:
        out["fps"] = done / fit()
    stop.set()
    out["gflops"] = out["fps"] * fb / 1e9
    return out


def run_child(args, mode: str, n: int, epochs: int, threads: int, busy: bool, omp: str) -> dict:
    env = dict(os.environ)
    env["OMP_WAIT_POLICY"] = omp  # ACTIVE ~ libgomp's default for torch (spin-wait before sleeping)
    cmd = [sys.executable, __file__, "--child", json.dumps(
        {"mode": mode, "n": n, "epochs": epochs, "size": args.size_speed, "width": 16, "threads": threads,
         "busy": busy})]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def speed(args) -> dict:
    from embryo_gui.train.runtime import physical_cores

    cores = physical_cores()
    peak, how = cpu_peak_gflops(cores)
    n, e = args.speed_frames, args.speed_epochs
    paired = run_child(args, "paired", n, e, cores, False, "PASSIVE")
    print(f"  paired, one process, best of 5 (after one cold fit of {paired['first_fit_s']:.2f} s; medians "
          f"bare {paired['bare_fps_median']:.1f}, fit {paired['fps_median']:.1f} frames/s; batch-norm "
          f"recalibration {100 * paired['recal_share']:.1f}% of a fit):\n"
          f"  bare {n:4d} frames x {e} ep  threads={paired['threads']} {paired['bare_fps']:7.1f} frames/s "
          f"{paired['bare_gflops']:6.1f} GFLOP/s ({100 * paired['bare_gflops'] / peak:.1f}% of peak)\n"
          f"  fit  {n:4d} frames x {e} ep  threads={paired['threads']} {paired['fps']:7.1f} frames/s "
          f"{paired['gflops']:6.1f} GFLOP/s ({100 * paired['gflops'] / peak:.1f}% of peak)", flush=True)
    plan = [("fit", n, e, cores, False, "PASSIVE"), ("fit", n, e, cores, False, "ACTIVE"),
            ("fit", n // 2, 1, cores, True, "PASSIVE"), ("fit", n // 2, 1, cores, True, "ACTIVE")]
    if cores > 1:
        plan.append(("fit", n // 2, 1, cores - 1, True, "PASSIVE"))
    rows = []
    print("  fresh process each (one-time start-up included):")
    for mode, nn_, ee, threads, busy, omp in plan:
        r = run_child(args, mode, nn_, ee, threads, busy, omp)
        rows.append(r)
        print(f"  {mode:4s} {r['n']:4d} frames x {r['epochs']} ep  threads={r['threads']} busy={busy!s:5s} "
              f"OMP_WAIT_POLICY={omp:8s} {r['fps']:7.1f} frames/s  {r['gflops']:6.1f} GFLOP/s "
              f"({100 * r['gflops'] / peak:.1f}% of peak)", flush=True)
    return {"peak_gflops": peak, "peak_how": how, "paired": paired, "rows": rows,
            "bookkeeping": 1.0 - paired["fps"] / paired["bare_fps"],
            "bookkeeping_median": 1.0 - paired["fps_median"] / paired["bare_fps_median"],
            "bookkeeping_cold": 1.0 - rows[0]["fps"] / paired["bare_fps"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--frames", type=int, default=150, help="frames per demo embryo")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--score", type=str, default=None, help="TrainSettings.score (default: its default)")
    ap.add_argument("--size-speed", type=int, default=96)
    ap.add_argument("--speed-frames", type=int, default=256)
    ap.add_argument("--speed-epochs", type=int, default=4)
    ap.add_argument("--skip-quality", action="store_true")
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--quick", action="store_true", help="one seed, 60 frames, 2 epochs, short speed runs")
    ap.add_argument("--json", type=str, default=None, help="write the figures to this file")
    ap.add_argument("--child", type=str, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(speed_child(**json.loads(args.child))))
        return
    if args.quick:
        args.seeds, args.frames, args.epochs, args.speed_frames, args.speed_epochs = [0], 60, 2, 64, 1
    out: dict = {"args": vars(args)}
    t_all = time.perf_counter()
    try:
        load = os.getloadavg()
        print(f"load average at start: {load[0]:.2f} on {os.cpu_count()} CPUs")
        out["loadavg"] = load
    except OSError:
        pass
    if not args.skip_speed:
        print(f"speed (size {args.size_speed}, width 16, batch 32):", flush=True)
        out["speed"] = speed(args)
        sp = out["speed"]
        print(f"  bookkeeping share vs bare loop: {100 * sp['bookkeeping']:.1f}% (paired, warm, best of 5; "
              f"{100 * sp['bookkeeping_median']:.1f}% from the medians), "
              f"{100 * sp['bookkeeping_cold']:.1f}% (fresh-process fit vs paired bare);  peak estimate "
              f"{sp['peak_gflops']:.0f} GFLOP/s = {sp['peak_how']}")
    if not args.skip_quality:
        out["quality"] = []
        with tempfile.TemporaryDirectory() as tmp:
            for seed in args.seeds:
                q = quality(seed, args, Path(tmp))
                out["quality"].append(q)
                print(f"seed {seed}: {q['n_mislabelled']}/{q['n_scored']} mislabelled (rate {q['rate']:.3f}), "
                      f"targets {q['targets']}, train {q['train_s']:.0f}s "
                      f"({q['timing']['train_frames_per_s']:.0f} frames/s), demo {q['demo_s']:.0f}s")
                for name, (p, r) in q["pr"].items():
                    print(f"    {name:16s} precision {p:.2f} recall {r:.2f}")
                print(f"    OOF population MAE before {q['val_error_before']:.2f}, after {q['val_error_after']:.2f}")
                print("    held-out MAE on the clean embryo: " +
                      ", ".join(f"{k} {v:.2f}" for k, v in q["heldout_mae"].items()), flush=True)
        names = list(out["quality"][0]["pr"])
        print("mean over seeds:")
        for name in names:
            ps = [q["pr"][name][0] for q in out["quality"]]
            rs = [q["pr"][name][1] for q in out["quality"]]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                print(f"    {name:16s} precision {np.nanmean(ps):.2f} recall {np.nanmean(rs):.2f}")
        for v in ("all", "cleaned", "oracle"):
            vals = [q["heldout_mae"].get(v, np.nan) for q in out["quality"]]
            print(f"    held-out MAE {v:8s} {np.nanmean(vals):.2f}  ({', '.join(f'{x:.2f}' for x in vals)})")
    out["total_s"] = time.perf_counter() - t_all
    print(f"total {out['total_s']:.0f}s")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, default=float))


if __name__ == "__main__":
    main()
