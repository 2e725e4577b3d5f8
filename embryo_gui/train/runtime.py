"""Importing torch with sane threading for a desktop app.

torch's OpenMP pool spins (busy-waits) between parallel regions with the default wait policy;
next to a busy GUI thread that spin steals the core the GUI needs and both slow down badly.
``OMP_WAIT_POLICY=PASSIVE`` makes idle workers sleep.  OpenMP reads it once, when torch's
OpenMP runtime loads, so it only takes effect if it is set before the first ``import torch`` in
the process -- :func:`load_torch` sets it (unless the user already chose a policy) and is the
only place in embryo_gui that imports torch.
"""

from __future__ import annotations

import os
import sys
from typing import Any

_configured_threads: int | None = None


def physical_cores() -> int:
    """Physical cores this process may run on (logical CPUs of the affinity mask, SMT siblings merged)."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return max(1, (os.cpu_count() or 2) // 2)
    cores = set()
    for cpu in cpus:
        base = f"/sys/devices/system/cpu/cpu{cpu}/topology/"
        try:
            with open(base + "core_id") as f:
                core = f.read().strip()
            with open(base + "physical_package_id") as f:
                pkg = f.read().strip()
            cores.add((pkg, core))
        except OSError:
            cores.add(("?", str(cpu)))
    return max(1, len(cores))


def load_torch(threads: int | None = None) -> Any:
    """Import torch (passive OpenMP waiting if still possible) and set its intra-op thread count.

    ``threads=0`` uses :func:`physical_cores`: hyper-threads share one core's vector units and only
    add contention for conv kernels.  ``None`` keeps an earlier choice (physical cores at first).
    """
    global _configured_threads
    if "torch" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch

    if threads is None and _configured_threads is not None:
        return torch
    want = int(threads or 0) or physical_cores()
    if _configured_threads != want:
        torch.set_num_threads(want)
        _configured_threads = want
    return torch


def passive_wait_active() -> bool:
    """Whether OpenMP was (most likely) loaded with the passive wait policy."""
    return os.environ.get("OMP_WAIT_POLICY", "").upper() == "PASSIVE"


def resolve_device(name: str) -> Any:
    torch = load_torch()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        from ..errors import EmbryoError

        raise EmbryoError(f"training settings: device {name!r} asked for but torch sees no CUDA GPU")
    return torch.device(name)
