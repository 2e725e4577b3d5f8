"""GUI speed figures (see docs/GUI.md).

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_gui.py [--frames 150] [--skip-train]

1. Holding Right on a 752x512 embryo: key press -> new frame painted (median, p95).
2. While the trainer runs (in its child process, and the old way in a job thread for comparison)
   and the window steps 30 frames/s: the longest stall of the Qt event loop (a 5 ms timer's
   largest gap) and the trainer's frames/s.
3. A 1,000,000-frame curve: repaint time while panning and zooming (original = current, and
   original different at every frame).
4. A thousand timeline marks: add + paint time.
5. The triage queue open on an embryo with 1,000+ pending detections: key press -> frame painted
   again (with the queue showing), and the time to rebuild the queue after a decision; the
   training figures (2.) are then measured with that queue open.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from PySide6 import QtCore, QtTest, QtWidgets  # noqa: E402


def _process_until(pred, timeout=2.0) -> None:
    app = QtWidgets.QApplication.instance()
    t_end = time.perf_counter() + timeout
    while not pred() and time.perf_counter() < t_end:
        app.processEvents()


def _pct(xs, q) -> float:
    return float(np.percentile(np.asarray(xs) * 1e3, q))


def _mark_items(win) -> list:
    """The graphics items that draw marks (timeline rows, excluded frames, cliff bands, grid)."""
    tl, cp = win.timeline.plot, win.curve
    return (list(tl.kind_items.values()) + list(tl.draft_items.values())
            + [tl.unannotated_item, cp.excluded_item, cp.unannotated_item, cp.draft_excluded, cp.cliff_bands, cp.x_grid])


def bench_key_to_paint(win, n_presses: int = 300, repeat_hz: float = 30.0) -> dict:
    """Key presses at the keyboard's auto-repeat rate (as when holding the key down); each time
    from the press until the video view's image item has painted the new frame.  Beside the wall
    time, two figures the machine's load does not change: the GUI thread's CPU time over the same
    interval (``time.thread_time``) and how often the mark items' Python ``paint`` ran per press
    (0 when a frame step repaints only the cursors)."""
    painted = [0]
    orig = win.video.image.paint

    def counting(*a):
        painted[0] += 1
        return orig(*a)

    win.video.image.paint = counting
    mark_paints = [0]
    marks = _mark_items(win)
    for item in marks:
        def counted(*a, _orig=item.paint):
            mark_paints[0] += 1
            return _orig(*a)
        item.paint = counted
    win.session.set_frame(0)
    _process_until(lambda: False, 0.3)
    lat, cpu = [], []
    lat_t0: list[float] = []
    n = win.embryo.n_frames
    mark_paints[0] = 0
    for k in range(n_presses):
        if win.session.frame >= n - 1:
            win.session.set_frame(0)
            _process_until(lambda: False, 0.02)
        t_next = (lat_t0[0] + 1.0 / repeat_hz) if lat_t0 else 0.0
        _process_until(lambda: time.perf_counter() >= t_next, 1.0)
        before = painted[0]
        t0 = time.perf_counter()
        c0 = time.thread_time()
        lat_t0[:] = [t0]
        QtTest.QTest.keyPress(win, QtCore.Qt.Key.Key_Right, QtCore.Qt.KeyboardModifier.NoModifier)
        _process_until(lambda: painted[0] > before)
        lat.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
        QtTest.QTest.keyRelease(win, QtCore.Qt.Key.Key_Right)
    n_marks = mark_paints[0]
    win.video.image.paint = orig
    for item in marks:
        del item.paint  # back to the class's method
    cache = win.frame_cache
    return {"presses": n_presses, "repeat_hz": repeat_hz, "cache_hits": cache.hits, "cache_misses": cache.misses,
            "median_ms": _pct(lat, 50), "p95_ms": _pct(lat, 95), "max_ms": _pct(lat, 100),
            "cpu_median_ms": _pct(cpu, 50), "cpu_p95_ms": _pct(cpu, 95),
            "mark_paints_per_press": n_marks / max(n_presses, 1)}


def bench_training_stall(win, settings: dict, mode: str = "subprocess", scrub_hz: float = 30.0,
                         idle_s: float = 10.0) -> dict:
    """Train while the window steps one frame every 1/scrub_hz s (as when holding Right) and a
    5 ms timer ticks; the longest gap between ticks is the longest the event loop could not
    respond.  ``mode="subprocess"``: the window's own Start (child process);  ``"thread"``: the
    old way, ``train_project`` in a job thread of this process (the window's JobRunner);  ``"idle"``: no training
    (the machine's own noise floor for the same scrubbing).  Waits in a real QEventLoop,
    so the GUI thread sleeps when idle (a processEvents() spin would hog a core and the GIL)."""
    gaps = []
    last = [time.perf_counter()]

    def tick():
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QtCore.QTimer()
    timer.setInterval(5)
    timer.timeout.connect(tick)
    shown = [0]

    def scrub():
        win.session.set_frame((win.session.frame + 1) % max(win.embryo.n_frames, 1))
        shown[0] += 1

    scrubber = QtCore.QTimer()
    scrubber.setInterval(max(1, int(round(1000.0 / scrub_hz))) if scrub_hz else 1000)
    scrubber.timeout.connect(scrub)
    loop = QtCore.QEventLoop()
    out: dict = {}
    res_box: list = []
    torch_before = "torch" in sys.modules
    t0 = time.perf_counter()
    if mode == "subprocess":
        def finished(kind):
            out["result"] = kind
            loop.quit()
        win.workFinished.connect(finished)
        w = win.start_training(settings)
        if w is None:
            return {"error": win.last_error}
    elif mode == "idle":  # baseline: the same scrubbing for idle_s seconds, no training
        out["result"] = "idle"
        QtCore.QTimer.singleShot(int(idle_s * 1000), loop.quit)
    else:
        from embryo_gui.gui.job_runner import function_job
        from embryo_gui.train import TrainSettings, train_project
        win.jobs.start(function_job("train-thread", train_project, win.project, TrainSettings(**settings)),
                       on_done=lambda r: (out.update(result="train"), res_box.append(r), loop.quit()),
                       on_failed=lambda m: (out.update(result="failed: " + m.splitlines()[0]), loop.quit()),
                       on_cancelled=loop.quit, with_session=False)
    timer.start()
    if scrub_hz:
        scrubber.start()
    last[0] = time.perf_counter()
    QtCore.QTimer.singleShot(900_000, loop.quit)
    loop.exec()
    timer.stop()
    scrubber.stop()
    if mode == "subprocess":
        win.workFinished.disconnect(finished)
    g = np.asarray(gaps[1:])
    res = (res_box[-1] if res_box else None) if mode == "thread" else win.last_result if mode != "idle" else None
    seconds = time.perf_counter() - t0
    return {"mode": mode, "result": out.get("result", "timeout"), "seconds": seconds,
            "timer_ticks": int(len(g)), "longest_gap_ms": float(g.max() * 1e3) if g.size else None,
            "p99_gap_ms": _pct(g, 99) if g.size else None,
            "frames_scrubbed_per_s": shown[0] / seconds,
            "train_frames_per_s": getattr(res, "timing", {}).get("train_frames_per_s"),
            "train_s": getattr(res, "timing", {}).get("train_s"),
            "torch_imported_here": ("torch" in sys.modules) and not torch_before,
            "settings": settings}


def bench_million_curve(original: str = "same") -> dict:
    """``original="same"``: the original annotation equals the current one (only the current
    curve is drawn); ``"different"``: it differs at every frame (both curves drawn, worst case)."""
    from embryo_gui.gui.curve_plot import CurvePlot
    n = 1_000_000
    rng = np.random.default_rng(0)
    cur = np.full((n, 8), np.nan)
    cur[:, 7] = np.maximum.accumulate(rng.integers(0, 3, n)).cumsum() % 600 + rng.normal(0, 3, n)
    cur[:, 0] = cur[:, 7] * 0.6
    cp = CurvePlot()
    cp.resize(1200, 400)
    cp.show()
    painted = [0]
    orig = cp.curves["population"].curve.paint

    def counting(*a):
        painted[0] += 1
        return orig(*a)

    cp.curves["population"].curve.paint = counting
    paint_times = []
    gv_paint = cp.paintEvent

    def timed_paint(ev):
        t = time.perf_counter()
        gv_paint(ev)
        paint_times.append(time.perf_counter() - t)

    cp.paintEvent = timed_paint
    excl = np.zeros(n, bool)
    excl[rng.integers(0, n, 2000)] = True
    t0 = time.perf_counter()
    first = cur.copy()
    if original == "different":
        first[:, 7] += rng.normal(0, 5, n)
    cp.set_data(cur, first, excl, [{"start": 1000, "stop": 1500}])
    _process_until(lambda: painted[0] > 0, 10)
    t_load = time.perf_counter() - t0
    vb = cp.getPlotItem().getViewBox()
    times = []
    for k in range(60):
        width = [n, 100_000, 10_000, 1_000][k % 4]
        x0 = (k * 7919 * 13) % max(n - width, 1)
        before = painted[0]
        t0 = time.perf_counter()
        vb.setXRange(x0, x0 + width, padding=0)
        _process_until(lambda: painted[0] > before)
        times.append(time.perf_counter() - t0)
    zoom_paints = list(paint_times)
    paint_times.clear()
    pans = []
    vb.setXRange(0, 20_000, padding=0)
    _process_until(lambda: False, 0.05)
    for k in range(60):
        before = painted[0]
        t0 = time.perf_counter()
        vb.translateBy(x=2_000)
        _process_until(lambda: painted[0] > before)
        pans.append(time.perf_counter() - t0)
    return {"frames": n, "original": original, "load_s": t_load, "zoom_median_ms": _pct(times, 50), "zoom_p95_ms": _pct(times, 95),
            "zoom_max_ms": _pct(times, 100), "pan_median_ms": _pct(pans, 50), "pan_p95_ms": _pct(pans, 95),
            "zoom_paint_only_median_ms": _pct(zoom_paints, 50), "zoom_paint_only_p95_ms": _pct(zoom_paints, 95),
            "pan_paint_only_median_ms": _pct(paint_times[1:], 50), "pan_paint_only_p95_ms": _pct(paint_times[1:], 95)}


def bench_timeline_marks() -> dict:
    from embryo_gui.gui.timeline import Timeline
    tl = Timeline()
    tl.resize(1200, 130)
    tl.show()
    tl.set_length(100_000)
    painted = [0]
    item = tl.plot.kind_items["lossy"]
    orig = item.paint

    def counting(*a):
        painted[0] += 1
        return orig(*a)

    item.paint = counting
    _process_until(lambda: False, 0.1)
    out = []
    rng = np.random.default_rng(1)
    for _ in range(20):
        m = np.zeros(100_000, bool)
        m[rng.choice(100_000, 1000, replace=False)] = True
        before = painted[0]
        t0 = time.perf_counter()
        tl.set_marks({"lossy": m})
        _process_until(lambda: painted[0] > before)
        out.append(time.perf_counter() - t0)
    return {"marks": 1000, "median_ms": _pct(out, 50), "max_ms": _pct(out, 100), "runs": item.n_runs}


def setup_queue(win, n_detections: int = 1000) -> dict:
    """Flag the current embryo with at least ``n_detections`` pending per-frame detections (every
    frame of as many problem kinds as needed), raise the triage dock, and time one decision's
    queue rebuild (push + undo)."""
    from embryo_gui import edits
    from embryo_gui.policy import PROBLEM_KINDS
    e = win.embryo
    kinds = [k for k in PROBLEM_KINDS if k != "cliff"]
    masks, n = {}, 0
    for k in kinds:
        if n >= n_detections:
            break
        masks[k] = np.ones(e.n_frames, bool)
        n += e.n_frames
    cliffs = [{"start": i, "stop": i + 1, "kind": "dip", "lineage": "population", "score": 0.5,
               "status": "pending"} for i in range(0, e.n_frames, 1)][:max(0, n_detections - n)]
    win.session.push(edits.SetFlags(masks, detections={"cliffs": cliffs}, label="bench: flags"), e)
    win.triage.raise_()
    _process_until(lambda: False, 0.3)
    t = []
    for _ in range(5):
        win.triage.queue.select(0)
        t0 = time.perf_counter()
        win.triage.decide(False)
        t.append(time.perf_counter() - t0)
        win.session.undo()
        _process_until(lambda: False, 0.02)
    return {"pending": len(win.triage.queue), "listed": win.triage.list.count(),
            "decision_with_rebuild_ms_median": round(_pct(t, 50), 2)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--skip-train", action="store_true")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="trainer threads (0: physical cores)")
    ap.add_argument("--size", type=int, default=96, help="trainer frame size")
    ap.add_argument("--train-modes", default="subprocess,idle,thread",
                    help="subprocess (the app's way) and/or thread (the old in-process way)")
    ap.add_argument("--scrub-hz", type=float, default=30.0, help="frames stepped per second while training")
    ap.add_argument("--only", default="", help="comma list of: keys,queue,marks,curve,train (default: all)")
    ap.add_argument("--json", help="write the figures here too")
    args = ap.parse_args(argv)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(["bench"])
    from embryo_gui.demo import write_demo_project
    from embryo_gui.gui.main_window import MainWindow
    from embryo_gui.gui.theme import apply_theme
    apply_theme(app, "light")
    tmp = Path(tempfile.mkdtemp(prefix="bench-gui-"))
    atexit.register(shutil.rmtree, tmp, True)   # its demo project is ~140 MB
    t0 = time.perf_counter()
    project = write_demo_project(tmp / "b.h5", n_embryos=2, n_frames=args.frames, seed=0)
    print(f"demo project: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    settings = QtCore.QSettings(str(tmp / "s.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings, tmp / "rec", ask=False)
    win.resize(1500, 950)
    win.show()
    win.set_project(project)
    res = {"platform": QtWidgets.QApplication.platformName(), "cpus": os.cpu_count()}
    only = set(filter(None, args.only.split(","))) or {"keys", "queue", "marks", "curve", "train"}
    res["load_average_at_start"] = os.getloadavg()
    if "keys" in only:
        res["key_to_paint_752x512"] = bench_key_to_paint(win)
        print(json.dumps(res["key_to_paint_752x512"]), file=sys.stderr)
    if "queue" in only:  # stays open for the training figures
        res["triage_queue_1000"] = setup_queue(win)
        win.triage.hide()  # the same flags, queue closed: what the queue itself costs per key
        res["triage_queue_1000"]["key_to_paint_queue_closed"] = bench_key_to_paint(win)
        win.triage.show()
        win.triage.raise_()
        res["triage_queue_1000"]["key_to_paint"] = bench_key_to_paint(win)
        print(json.dumps(res["triage_queue_1000"]), file=sys.stderr)
    if "marks" in only:
        res["timeline_1000_marks"] = bench_timeline_marks()
        print(json.dumps(res["timeline_1000_marks"]), file=sys.stderr)
    if "curve" in only:
        for orig in ("same", "different"):
            res[f"curve_1M_frames_original_{orig}"] = bench_million_curve(orig)
            print(json.dumps(res[f"curve_1M_frames_original_{orig}"]), file=sys.stderr)
    if not args.skip_train and "train" in only:
        ts = {"epochs": args.epochs, "drop": 0.1, "rounds": 1, "folds": 3, "size": args.size, "threads": args.threads}
        last_s = 10.0
        for mode in args.train_modes.split(","):  # subprocess first: the thread mode imports torch here
            res[f"training_{mode}"] = bench_training_stall(win, ts, mode, args.scrub_hz, idle_s=last_s)
            last_s = res[f"training_{mode}"]["seconds"]
            print(json.dumps(res[f"training_{mode}"]), file=sys.stderr)
    res["load_average_at_end"] = os.getloadavg()
    win.ask = False
    win.close()
    text = json.dumps(res, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
