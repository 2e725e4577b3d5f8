"""``embryo-repair batch`` and ``batch-merge``: many embryos on Dask distributed (or one embryo of
the set per call, ``--task-index``, for SLURM arrays), then the merged dataset and the QC report."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from ..errors import EmbryoError
from ..policy import FRAME_CODEC_NAMES
from .progressbar import ProgressBar


def add_parsers(sub, size_type, positive_int) -> None:
    s = sub.add_parser("batch", help="process every movie of a folder on Dask: import, auto-clean, export, report",
                       description="One task per embryo (import -> detect + auto-clean [-> train] -> export) on a "
                                   "Dask LocalCluster or an existing scheduler; then OUT_DIR/cleaned_dataset.h5, "
                                   "report.json and report.html.  See docs/BATCH.md.")
    s.add_argument("input_dir", metavar="INPUT_DIR", help="folder of movies (with CSV or EPIC CD<stem>.csv beside)")
    s.add_argument("out_dir", metavar="OUT_DIR")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--workers", type=positive_int, default=None, metavar="N",
                   help="worker processes of the local cluster (default: one per core, as memory allows)")
    g.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="run on an existing Dask scheduler")
    g.add_argument("--task-index", type=int, default=None, metavar="I",
                   help="run embryo I (0-based, of --list) here, without Dask (default: $SLURM_ARRAY_TASK_ID)")
    s.add_argument("--manifest", metavar="CSV", help="CSV of movie, annotations, time_offset, frames_per_timepoint, "
                                                     "name (default: INPUT_DIR/manifest.csv if present)")
    s.add_argument("--train", action="store_true", help="also rank frames with the CNN and mark the lossy ones")
    s.add_argument("--epochs", type=positive_int, default=None, help="training epochs (with --train)")
    s.add_argument("--size", type=size_type, default=None, metavar="WxH", help="exported frame size")
    s.add_argument("--gray", action="store_true", help="export one grayscale channel")
    s.add_argument("--frame-codec", choices=FRAME_CODEC_NAMES, default=None,
                   help="how the projects store their frames (as import --frame-codec; default lz4)")
    s.add_argument("--force", action="store_true", help="redo embryos whose outputs are up to date")
    s.add_argument("--list", action="store_true", help="list the embryos of the set with their task index and exit")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_batch)

    s = sub.add_parser("batch-merge", help="build a batch's dataset and report from its finished tasks")
    s.add_argument("out_dir", metavar="OUT_DIR")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_batch_merge)


def _print_json(obj) -> None:
    from .commands import _print_json as pj
    pj(obj)


def _settings(args):
    from ..batch import BatchSettings
    return BatchSettings(train=args.train, epochs=args.epochs, size=args.size, gray=args.gray,
                         frame_codec=args.frame_codec)


def _task_index(args):
    if args.task_index is not None:
        return args.task_index
    env = os.environ.get("SLURM_ARRAY_TASK_ID")
    if env is not None and args.scheduler is None and args.workers is None:
        try:
            return int(env)
        except ValueError:
            raise EmbryoError(f"SLURM_ARRAY_TASK_ID is {env!r}, not a task index") from None
    return None


def _line(row: dict, k: int, n: int) -> str:
    name = row.get("name")
    secs = (row.get("seconds") or {}).get("total")
    t = f" ({secs:.1f} s)" if secs is not None and not row.get("skipped") else ""
    if row.get("status") != "ok":
        return f"[{k}/{n}] {name}: FAILED: {row.get('error')}{t}"
    how = "up to date, skipped" if row.get("skipped") else f"{row.get('kept')}/{row.get('n_frames')} frames kept"
    return f"[{k}/{n}] {name}: {row.get('state')}, {how}{t}"


class _Display:
    """Overall bar (embryos done) with the stage of each running embryo; one line per finished embryo."""

    def __init__(self, n: int, stream):
        self.n, self.stream, self.done = n, stream, 0
        self.bar = ProgressBar("batch")
        self.running: dict[str, str] = {}

    def __call__(self, ev: dict) -> None:
        if ev["kind"] == "started":
            self._print(f"batch: {self.n} embryos on {ev['workers']} Dask workers ({ev['scheduler']})")
        elif ev["kind"] == "progress":
            name = ev.get("embryo")
            if name and ev.get("stage") not in ("ok", "failed", "skipped"):
                d, tot = ev.get("done"), ev.get("total")
                pct = f" {100 * d // tot}%" if d is not None and tot else ""
                self.running[name] = f"{ev.get('stage')}{pct}"
        elif ev["kind"] == "done":
            self.done += 1
            self.running.pop(ev["row"].get("name"), None)
            self._print(_line(ev["row"], self.done, self.n))
        self.bar._last = 0.0
        self.bar({"stage": "batch", "done": self.done, "total": self.n,
                  "message": " | ".join(f"{k} {v}" for k, v in list(self.running.items())[:3])})

    def _print(self, text: str) -> None:
        self.bar.close()
        print(text, file=self.stream, flush=True)

    def close(self) -> None:
        self.bar.close()


def cmd_batch(args) -> int:
    from ..batch import discover
    from ..batch.task import run_task
    from ..model.atomic import check_writable_dir

    out_dir = Path(args.out_dir).absolute()
    jobs = discover(args.input_dir, args.manifest, exclude=[out_dir])
    if not jobs:
        raise EmbryoError("no movies found (MP4/MOV/AVI..., TIFF stacks, image folders)", args.input_dir)
    if args.list:
        listing = [{"index": i, **j.to_dict()} for i, j in enumerate(jobs)]
        if args.json:
            _print_json({"embryos": listing})
        else:
            for d in listing:
                print(f"{d['index']}\t{d['name']}\t{d['movie']}\t{d['annotations'] or '-'}")
        return 0
    settings = _settings(args)
    if not out_dir.exists():
        check_writable_dir(out_dir)
        out_dir.mkdir()
    elif not out_dir.is_dir():
        raise EmbryoError("is not a folder", out_dir)
    elif not os.access(out_dir, os.W_OK | os.X_OK):
        raise EmbryoError("cannot write: folder is read-only", out_dir)
    info = sys.stderr if args.json else sys.stdout
    index = _task_index(args)
    if index is not None:
        if not 0 <= index < len(jobs):
            raise EmbryoError(f"task index {index} is outside 0..{len(jobs) - 1} ({len(jobs)} embryos)",
                              args.input_dir)
        bar = ProgressBar(jobs[index].name)
        try:
            row = run_task(jobs[index], out_dir, settings, index=index, n_jobs=len(jobs),
                           input_dir=args.input_dir, manifest=args.manifest, progress=bar, force=args.force)
        finally:
            bar.close()
        if args.json:
            from ..batch.engine import compact
            _print_json(compact(row))
        else:
            print(_line(row, index + 1, len(jobs)))
            print(f"when every task is done: embryo-repair batch-merge {out_dir}")
        return 0 if row.get("status") == "ok" else 1

    from ..batch.engine import run_dask
    from ..batch.merge import merge
    display = _Display(len(jobs), info)
    t0 = time.perf_counter()
    if args.force:
        _forget(out_dir, jobs)
    try:
        rows = run_dask(jobs, out_dir, settings, workers=args.workers, scheduler=args.scheduler,
                        input_dir=args.input_dir, manifest=args.manifest, on_event=display)
    finally:
        display.close()
    wall = time.perf_counter() - t0
    report = merge(out_dir, jobs, settings)
    return _finish(report, rows, wall, args.json)


def _forget(out_dir: Path, jobs) -> None:
    """--force with Dask: drop the summaries so every task runs again."""
    from ..batch.task import task_paths
    for j in jobs:
        try:
            os.unlink(task_paths(out_dir, j.name)["summary"])
        except FileNotFoundError:
            pass


def _finish(report: dict, rows, wall, as_json: bool) -> int:
    failed = [r for r in report["embryos"] if r.get("status") != "ok"]
    if as_json:
        from ..batch.engine import compact
        _print_json({"totals": report["totals"], "dataset": report["dataset"], "wall_seconds": wall,
                     "report": str(Path(report["out_dir"]) / "report.html"),
                     "embryos": [compact(r) for r in report["embryos"]]})
    else:
        t = report["totals"]
        counts = ", ".join(f"{t[k]} {k}" for k in ("clean", "flagged", "unusable", "failed", "missing") if t.get(k))
        took = f" in {wall:.1f} s" if wall is not None else ""
        print(f"{t['embryos']} embryos{took}: {counts}")
        ds = report["dataset"]
        out = Path(report["out_dir"])
        print(f"dataset: {ds['error']}" if ds.get("error") else f"dataset: {out / ds['path']}: {ds['message']}")
        print(f"report: {out / 'report.html'} (and report.json)")
        print(f"review in the app: embryo-gui {out}")
    return 1 if failed else 0


def cmd_batch_merge(args) -> int:
    from ..batch.merge import merge
    out_dir = Path(args.out_dir)
    if not out_dir.is_dir():
        raise EmbryoError("no such batch output folder", out_dir)
    report = merge(out_dir)
    return _finish(report, None, None, args.json)
