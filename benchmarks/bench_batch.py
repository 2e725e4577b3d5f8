"""Batch benchmark (issue 13): Dask LocalCluster throughput and overhead.  Prints figures; asserts nothing.

    python benchmarks/bench_batch.py [--embryos 8] [--frames 60] [--size 188x128] [--noop 1000] [--epic]

Measures, in one run (ratios, since this machine is shared and noisy):
- embryos/minute on a LocalCluster of 1 worker vs 2 workers (real tasks: import -> detect + auto-clean
  -> export of tiny demo movies), and the speed-up ratio; cluster start-up time apart;
- scheduler overhead per task: wall time per task of a no-op task (writes its summary, nothing else)
  through exactly the same submit / progress / collect path;
- peak resident memory per worker process (ru_maxrss of each worker, as its tasks report it);
- a simulated 1,000-embryo run of no-op tasks: per-task wall time in windows of 100 completions
  (flat = the overhead does not grow with the batch), then the merge (report.json + report.html of
  1,000 rows) time and size;
- with --epic: one real EPIC movie (243 frames, 676x457) through the task, in this process, to size
  a real run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from embryo_gui.batch import BatchSettings, discover  # noqa: E402
from embryo_gui.batch.demo import write_demo_inputs  # noqa: E402
from embryo_gui.batch.engine import run_dask  # noqa: E402
from embryo_gui.batch.task import run_task, task_paths, write_json_atomic  # noqa: E402

EPIC = ROOT.parent / "shared" / "data" / "epic"


def timed_run(jobs, out, workers, task=None):
    marks = {}
    done_at = []

    def on_event(ev):
        if ev["kind"] == "started":
            marks["started"] = time.perf_counter()
        elif ev["kind"] == "done":
            done_at.append(time.perf_counter())
    t0 = time.perf_counter()
    rows = run_dask(jobs, out, BatchSettings(), workers=workers, on_event=on_event, task=task)
    t1 = time.perf_counter()
    return {"rows": rows, "startup": marks["started"] - t0, "work": done_at[-1] - marks["started"],
            "total": t1 - t0, "done_at": [t - marks["started"] for t in done_at]}


TEMPLATE: dict = {}


def noop_task(job, out_dir, settings, index=None, n_jobs=None, input_dir=None, progress=None, manifest=None):
    """A task that does no embryo work: it reports progress once and writes its summary (a real
    row's copy), so that what remains is the batch machinery's own cost."""
    row = dict(TEMPLATE, name=job["name"], index=index, n_jobs=n_jobs, skipped=False)
    if progress is not None:
        progress({"embryo": job["name"], "stage": "noop", "done": 1, "total": 1})
    path = task_paths(out_dir, job["name"])["summary"]
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, row)
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--embryos", type=int, default=8)
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--size", default="188x128")
    ap.add_argument("--noop", type=int, default=1000)
    ap.add_argument("--epic", action="store_true", help="also time one real EPIC movie through the task")
    ap.add_argument("--epic-dir", default=str(EPIC), help=f"folder of the EPIC movies (default {EPIC})")
    a = ap.parse_args()
    w, h = (int(x) for x in a.size.split("x"))
    tmp = Path(tempfile.mkdtemp(prefix="bench_batch_"))
    import os
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start; figures are one "
          "run each (ratios measured within it)")
    t = time.perf_counter()
    write_demo_inputs(tmp / "in", a.embryos, n_frames=a.frames, size=(w, h), seed=11)
    jobs = discover(tmp / "in")
    print(f"inputs: {len(jobs)} demo movies x {a.frames} frames {w}x{h} (mp4v + CSV), "
          f"made in {time.perf_counter() - t:.1f} s")

    res = {}
    for n in (1, 2):
        r = timed_run(jobs, tmp / f"out{n}", n)
        ok = sum(r2["status"] == "ok" for r2 in r["rows"])
        rate = 60.0 * len(jobs) / r["work"]
        task_s = [r2["seconds"]["total"] for r2 in r["rows"]]
        peak = {}
        for r2 in r["rows"]:
            peak[r2["pid"]] = max(peak.get(r2["pid"], 0), r2.get("peak_rss_mb") or 0)
        res[n] = rate
        print(f"{n} worker{'s' if n > 1 else ''}: cluster start {r['startup']:.1f} s; {ok}/{len(jobs)} ok in "
              f"{r['work']:.1f} s = {rate:.1f} embryos/min; task time median {statistics.median(task_s):.2f} s; "
              f"peak RSS per worker {', '.join(f'{v:.0f}' for v in peak.values())} MB")
    print(f"speed-up 2 workers vs 1: {res[2] / res[1]:.2f}x")
    TEMPLATE.update(json.loads((tmp / "out2" / "summaries" / f"{jobs[0].name}.json").read_text()))

    # the same path with no-op tasks: scheduler + transport + summary-write overhead
    fake = [j.__class__(name=f"e{i:05d}", movie=j.movie, annotations=j.annotations)
            for i, j in enumerate(jobs * (a.noop // len(jobs) + 1))][:a.noop]
    r = timed_run(fake, tmp / "noop", 2, task=noop_task)
    per = 1000.0 * r["work"] / len(fake)
    print(f"{len(fake)} no-op tasks on 2 workers: {r['work']:.1f} s = {per:.1f} ms per task "
          f"({len(fake) / r['work']:.0f} tasks/s); cluster start {r['startup']:.1f} s")
    d = r["done_at"]
    windows = []
    for k in range(0, len(d), 100):
        seg = d[k:k + 100]
        prev = d[k - 1] if k else 0.0
        windows.append(1000.0 * (seg[-1] - prev) / len(seg))
    print("  per-task wall time by window of 100 completions (ms): " + " ".join(f"{x:.1f}" for x in windows))
    if len(windows) >= 4:
        first, last = statistics.median(windows[:3]), statistics.median(windows[-3:])
        print(f"  last 3 windows / first 3 windows: {last / first:.2f}")
    from embryo_gui.batch.merge import merge
    t = time.perf_counter()
    rep = merge(tmp / "noop", fake)
    size = (tmp / "noop" / "report.html").stat().st_size
    print(f"  merge of {len(rep['embryos'])} summaries (report.json + report.html): "
          f"{time.perf_counter() - t:.1f} s, report.html {size / 1e6:.1f} MB")

    if a.epic:
        epic = Path(a.epic_dir)
        movie = epic / "20080731_ceh-32_4_L2.mov"
        if not movie.exists():
            print(f"EPIC movie not found at {movie}; skipped")
        else:
            (job,) = [j for j in discover(epic) if j.name.endswith("L2")]
            t = time.perf_counter()
            row = run_task(job, tmp / "epic")
            s = row.get("seconds", {})
            print(f"real EPIC movie {movie.name} ({row.get('n_frames')} frames {row.get('frame_shape')}): "
                  f"{row['status']} in {time.perf_counter() - t:.1f} s ("
                  + ", ".join(f"{k} {v:.1f} s" for k, v in s.items()) + f"), peak RSS {row.get('peak_rss_mb')} MB")
    print(f"(outputs left in {tmp})")


if __name__ == "__main__":
    main()
