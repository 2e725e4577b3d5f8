"""Run the tasks of a batch on Dask distributed: a ``LocalCluster`` sized to the machine, or an
existing scheduler (a lab server, ``dask-jobqueue``'s ``SLURMCluster`` / ``PBSCluster``).

Only paths and settings go to the workers and only the small JSON summaries come back: each worker
reads the movie and writes its embryo's files itself (on a cluster: a shared filesystem).  Stage
progress travels as small events (``Worker.log_event``, at most a few per second per task).
This is the only module of embryo_gui that imports ``distributed``.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
import uuid
from pathlib import Path
from typing import Callable, Optional, Sequence

from ..errors import EmbryoError
from .discover import EmbryoJob
from .settings import BatchSettings
from .task import run_task, task_paths, write_json_atomic

TOPIC = "embryo-gui-batch"
WORKER_MEMORY_GIB = 2.0  # what one worker is given at least when sizing a LocalCluster
_PROGRESS_INTERVAL = 0.5


def local_cluster_size(n_jobs: int, workers: Optional[int] = None) -> tuple[int, int]:
    """(workers, memory limit per worker in bytes) for a LocalCluster on this machine: one worker
    per core this process may use (or ``workers``), no more than the embryos and than memory allows
    at WORKER_MEMORY_GIB each; together they get 90% of the memory."""
    import psutil
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    total = psutil.virtual_memory().total
    if workers is None:
        workers = max(1, min(cores, int(total / (WORKER_MEMORY_GIB * 2 ** 30)), max(1, n_jobs)))
    return int(workers), int(total * 0.9 / workers)


def _dask_task(job: dict, out_dir: str, settings: dict, index: int, n_jobs: int, input_dir, manifest=None,
               task=None) -> dict:
    """What runs on a worker: the batch task, its progress sent as events, a compact summary back."""
    from distributed import get_worker
    worker = get_worker()
    last = {"t": 0.0, "stage": None}

    def progress(info: dict) -> None:
        now = time.monotonic()
        stage = info.get("stage")
        if stage == last["stage"] and now - last["t"] < _PROGRESS_INTERVAL:
            return
        last.update(t=now, stage=stage)
        msg = {"embryo": info.get("embryo"), "stage": stage, "done": info.get("done"), "total": info.get("total")}
        try:
            worker.log_event(TOPIC, msg)
        except Exception:  # progress is best effort, never a reason to fail an embryo
            pass

    row = (task or run_task)(job, out_dir, settings, index=index, n_jobs=n_jobs, input_dir=input_dir,
                             progress=progress, manifest=manifest)
    return compact(row)


def compact(row: dict) -> dict:
    """The summary without its bulky parts (curve, per-frame lists): what goes through the scheduler."""
    skip = {"curve", "corrupt_reasons", "corrupt_frames", "cliffs", "spikes", "lossy", "notes"}
    return {k: v for k, v in row.items() if k not in skip}


def write_failure(out_dir, job: EmbryoJob, index: int, n_jobs: int, input_dir, error: str, manifest=None,
                  settings: Optional[BatchSettings] = None) -> dict:
    """Record an embryo whose task died (worker killed, lost) as failed, in its own summary file."""
    row = {"name": job.name, "index": index, "n_jobs": n_jobs, "movie": job.movie, "annotations": job.annotations,
           "input_dir": str(Path(input_dir).absolute()) if input_dir is not None else None,
           "manifest": str(Path(manifest).absolute()) if manifest is not None else None,
           "settings": settings.to_dict() if settings is not None else None,
           "status": "failed", "state": "failed", "error": error, "fingerprint": None, "skipped": False}
    path = task_paths(out_dir, job.name)["summary"]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(path, row)
    except OSError:
        pass
    return row


def run_dask(jobs: Sequence[EmbryoJob], out_dir, settings: BatchSettings, workers: Optional[int] = None,
             scheduler: Optional[str] = None, input_dir=None, manifest=None, on_event: Optional[Callable[[dict], None]] = None,
             task: Optional[Callable] = None, connect_timeout: float = 10.0,
             worker_timeout: float = 60.0) -> list[dict]:
    """Run every job as one task; returns the compact summaries in job order.

    ``on_event`` (called on this thread) gets ``{"kind": "started", "workers": n, "dashboard": ...}``,
    ``{"kind": "progress", "embryo", "stage", "done", "total"}`` and ``{"kind": "done", "row": ...}``.
    A failing embryo is reported in its row (``status: failed``); it never stops the others.
    ``task`` replaces the batch task (benchmarks: no-op tasks through the same machinery).
    """
    import dask
    from distributed import Client, LocalCluster, as_completed

    out_dir = str(Path(out_dir).absolute())
    emit = on_event or (lambda e: None)
    events: "queue.Queue[tuple]" = queue.Queue()
    cluster = None
    # the batch reports failures itself: a worker that dies fails its embryo at once (no retries)
    with dask.config.set({"distributed.scheduler.allowed-failures": 0,
                          "distributed.worker.daemon": False,
                          "distributed.admin.tick.limit": "10s"}):
        try:
            if scheduler:
                try:
                    client = Client(scheduler, timeout=connect_timeout)
                except (OSError, TimeoutError) as exc:
                    raise EmbryoError(f"cannot connect to the Dask scheduler ({' '.join(str(exc).split())[:200]})",
                                      scheduler) from None
                try:  # a scheduler without workers would wait for ever
                    client.wait_for_workers(1, timeout=worker_timeout)
                except (OSError, TimeoutError):
                    client.close()
                    raise EmbryoError(f"the Dask scheduler has no worker (waited {worker_timeout:g} s); "
                                      "start workers with `dask worker ADDRESS`", scheduler) from None
            else:
                n, mem = local_cluster_size(len(jobs), workers)
                cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, memory_limit=mem,
                                       dashboard_address=None, host="127.0.0.1", silence_logs=logging.ERROR,
                                       env={"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                                            "MKL_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE",
                                            "OPENCV_LOG_LEVEL": "ERROR", "OPENCV_FFMPEG_LOGLEVEL": "-8"})
                client = Client(cluster)
            with client:
                n_workers = len(client.scheduler_info().get("workers", {}))
                emit({"kind": "started", "workers": n_workers, "scheduler": client.scheduler.address})
                client.subscribe_topic(TOPIC, lambda ev: events.put(("progress", ev[1] if isinstance(ev, tuple) else ev)))
                tag = uuid.uuid4().hex[:8]
                futures = {}
                for i, job in enumerate(jobs):
                    args = (job.to_dict(), out_dir, settings.to_dict(), i, len(jobs),
                            str(input_dir) if input_dir is not None else None,
                            str(manifest) if manifest is not None else None)
                    f = client.submit(_dask_task, *args, task=task, key=f"embryo-{i:05d}-{tag}", pure=False)
                    futures[f] = i
                rows: list[Optional[dict]] = [None] * len(jobs)

                def collect() -> None:
                    for f in as_completed(list(futures)):
                        events.put(("done", f))
                threading.Thread(target=collect, daemon=True, name="batch-collect").start()
                left = len(jobs)
                try:
                    while left:
                        try:
                            kind, item = events.get(timeout=0.5)
                        except queue.Empty:
                            continue
                        if kind == "progress":
                            if isinstance(item, dict):
                                emit({"kind": "progress", **item})
                            continue
                        i = futures[item]
                        try:
                            row = item.result()
                        except Exception as exc:  # the task itself never raises: its worker died
                            from .task import one_line
                            row = write_failure(out_dir, jobs[i], i, len(jobs), input_dir,
                                                f"worker lost ({one_line(exc)})", manifest, settings)
                        rows[i] = row
                        left -= 1
                        emit({"kind": "done", "row": row})
                finally:
                    if left:
                        client.cancel(list(futures))
                    try:
                        client.unsubscribe_topic(TOPIC)
                    except Exception:
                        pass
        finally:
            if cluster is not None:
                cluster.close()
    return [r for r in rows if r is not None]
