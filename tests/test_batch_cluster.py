"""embryo-repair batch against a real Dask cluster: `dask scheduler` and `dask worker` processes on
loopback (random free port), always cleaned up."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from embryo_gui.batch.demo import write_demo_inputs


def _dask_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("dask")
    return [str(exe)] if exe.exists() else ([shutil.which("dask")] if shutil.which("dask") else
                                            [sys.executable, "-m", "dask"])


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    with_group = lambda sig: os.killpg(proc.pid, sig)  # noqa: E731  (the worker's nanny has children)
    try:
        with_group(signal.SIGTERM)
        proc.wait(timeout=10)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        try:
            with_group(signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)


@pytest.mark.slow
def test_batch_on_a_real_scheduler_and_worker_processes(tmp_path):
    inputs = tmp_path / "in"
    write_demo_inputs(inputs, 2, n_frames=16, size=(80, 56), seed=5)
    sched_file = tmp_path / "scheduler.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENCV_LOG_LEVEL": "ERROR"}
    procs = []
    try:
        procs.append(subprocess.Popen(
            _dask_cmd() + ["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                           "--scheduler-file", str(sched_file)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        deadline = time.monotonic() + 60
        while not sched_file.exists():
            assert procs[0].poll() is None, "dask scheduler exited"
            assert time.monotonic() < deadline, "dask scheduler did not start within 60 s"
            time.sleep(0.2)
        time.sleep(0.2)
        address = json.loads(sched_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        procs.append(subprocess.Popen(
            _dask_cmd() + ["worker", address, "--nworkers", "2", "--nthreads", "1", "--no-dashboard",
                           "--host", "127.0.0.1", "--memory-limit", "2GiB"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        out = tmp_path / "out"
        res = subprocess.run([sys.executable, "-m", "embryo_gui.cli.main", "batch", str(inputs), str(out),
                              "--scheduler", address, "--json"], env=env, capture_output=True, text=True,
                             timeout=180)
        assert res.returncode == 0, res.stderr[-2000:]
        d = json.loads(res.stdout)
        assert [e["name"] for e in d["embryos"]] == ["demo_00", "demo_01"]
        assert all(e["status"] == "ok" for e in d["embryos"])
        assert f"Dask workers ({address})" in res.stderr  # it ran on that scheduler, not on a LocalCluster
        assert (out / "report.html").is_file() and (out / "projects" / "demo_00.h5").is_file()
    finally:
        for p in reversed(procs):
            _stop(p)
