"""The application-layer workflows a batch task calls: the very functions the app and the CLI use.

One place names them, so a batch embryo is processed exactly like ``embryo-repair import`` ->
``autoclean`` (-> ``train``) -> ``export`` of one project.
"""

from __future__ import annotations

from ..app.autoclean import AutocleanPolicy, autoclean_project  # noqa: F401
from ..app.detecting import detection_summary  # noqa: F401
from ..app.exporting import export_dataset, kept_frames  # noqa: F401
from ..app.importing import import_embryo  # noqa: F401


def train_and_apply(project, settings, progress=None) -> None:
    """``embryo-repair train``: rank the frames by CNN loss, mark the lossy ones (one edit)."""
    from ..train import apply_training_result, train_project
    result = train_project(project, settings, progress=progress)
    apply_training_result(project, result)
