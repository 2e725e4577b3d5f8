import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

EPIC_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "epic"


def make_frames(n: int, shape=(24, 32, 3), seed: int = 0) -> list[np.ndarray]:
    """Distinct random frames (each frame's index is written into its first pixel)."""
    rng = np.random.default_rng(seed)
    frames = [rng.integers(0, 256, shape, dtype=np.uint8) for _ in range(n)]
    for i, f in enumerate(frames):
        f[0, 0, 0] = i % 256
    return frames


def rising_counts(n: int) -> np.ndarray:
    """A stepwise rising A lineage plus a constant E lineage, population their sum."""
    c = np.full((n, 8), np.nan)
    c[:, 0] = 2 ** np.minimum(np.arange(n) // max(1, n // 6), 6)
    c[:, 1] = 2.0
    c[:, 7] = c[:, 0] + c[:, 1]
    return c


def demo_project_fixtures(n_embryos: int, n_frames: int, seed: int, frame_shape):
    """Two fixtures for a test module: ``demo_file``, a demo project written once per module, and
    ``demo``, each test's own copy of it (``gui_helpers.write_demo_dir`` / ``copy_project``).
    Use: ``demo_file, demo = demo_project_fixtures(2, 14, 3, (32, 48, 3))``."""
    from gui_helpers import copy_project, write_demo_dir

    @pytest.fixture(scope="module")
    def demo_file(tmp_path_factory):
        return write_demo_dir(tmp_path_factory, n_embryos, n_frames, seed, frame_shape) / "demo.h5"

    @pytest.fixture
    def demo(demo_file, tmp_path):
        return copy_project(demo_file.parent, tmp_path)

    return demo_file, demo


@pytest.fixture
def tiny_project(tmp_path):
    """A saved project of two small embryos made without the demo generator."""
    from embryo_gui.model import Project

    p = Project.create(tmp_path / "tiny.h5")
    for k, n in enumerate((30, 20)):
        p.add_embryo(f"emb{k}", iter(make_frames(n, seed=k)), n, (24, 32, 3), rising_counts(n),
                     source={"kind": "test"})
    p.save()
    return p
