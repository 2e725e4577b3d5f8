"""Batch processing over many embryos (no Qt): one task per embryo, run on Dask distributed or
one at a time (``--task-index``, e.g. a SLURM array), then merged into one dataset and a report.

- :mod:`.discover` finds the movies of an input folder and their annotations (or reads a manifest);
- :mod:`.task` runs one embryo: import -> detect -> auto-clean (-> train) -> export, with the same
  workflow functions as the app and the CLI, writing only that embryo's files, atomically;
- :mod:`.engine` runs the tasks on a Dask ``LocalCluster`` or an existing scheduler
  (``distributed`` is imported only there);
- :mod:`.merge` builds ``cleaned_dataset.h5``, ``report.json`` and ``report.html``;
- :mod:`.review` lists a batch's projects in report order for the desktop app.

Layout of an output folder (docs/BATCH.md)::

    OUT_DIR/projects/<name>.h5, <name>.frames/   one project per embryo
    OUT_DIR/exports/<name>.h5                     its cleaned dataset (same layout as ``export``)
    OUT_DIR/summaries/<name>.json                 the task's summary (written last: the embryo is done)
    OUT_DIR/cleaned_dataset.h5, report.json, report.html
"""

from .discover import EmbryoJob, discover
from .settings import BatchSettings

__all__ = ["BatchSettings", "EmbryoJob", "discover"]
