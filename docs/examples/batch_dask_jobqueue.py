"""Run `embryo-repair batch` on a SLURM or PBS cluster through dask-jobqueue (docs/BATCH.md).

    pip install dask-jobqueue            # on the login node, in the same environment as embryo-gui
    python batch_dask_jobqueue.py INPUT_DIR OUT_DIR --nodes 100 [--pbs] [--queue normal] [--dry-run]

The script starts a Dask scheduler here (the login node), asks the batch system for `--nodes` jobs,
each running one Dask worker per core, then runs the batch against that scheduler and closes the
cluster whatever happens.  INPUT_DIR and OUT_DIR must be on a filesystem the compute nodes share.
`--dry-run` prints the job script the cluster would submit, and submits nothing.
"""

from __future__ import annotations

import argparse
import subprocess
import sys


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("input_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--nodes", type=int, default=10, help="batch jobs (nodes) to request")
    ap.add_argument("--cores", type=int, default=8, help="cores per node = Dask worker processes per job")
    ap.add_argument("--memory", default="16GB", help="memory per node (each worker gets its share)")
    ap.add_argument("--walltime", default="02:00:00")
    ap.add_argument("--queue", default=None)
    ap.add_argument("--account", default=None)
    ap.add_argument("--pbs", action="store_true", help="PBS / Torque instead of SLURM")
    ap.add_argument("--dry-run", action="store_true")
    a, extra = ap.parse_known_args()  # anything else goes to embryo-repair batch (e.g. --train)

    from dask_jobqueue import PBSCluster, SLURMCluster
    Cluster = PBSCluster if a.pbs else SLURMCluster
    kwargs = dict(cores=a.cores, processes=a.cores, memory=a.memory, walltime=a.walltime, queue=a.queue,
                  python=sys.executable,  # the workers run this very environment (with embryo-gui)
                  # one thread per worker process, like the LocalCluster; quiet OpenCV/FFmpeg
                  job_script_prologue=["export OMP_NUM_THREADS=1 OPENCV_LOG_LEVEL=ERROR"])
    if a.account:
        kwargs["account"] = a.account
    cluster = Cluster(**kwargs)
    try:
        if a.dry_run:
            print(cluster.job_script())
            return 0
        cluster.scale(jobs=a.nodes)
        print(f"scheduler {cluster.scheduler_address}; {a.nodes} jobs of {a.cores} workers requested", flush=True)
        # embryo-repair waits (up to a minute) for the first worker; queued jobs join as they start
        cmd = ["embryo-repair", "batch", a.input_dir, a.out_dir, "--scheduler", cluster.scheduler_address, *extra]
        return subprocess.call(cmd)
    finally:
        cluster.close()


if __name__ == "__main__":
    sys.exit(main())
