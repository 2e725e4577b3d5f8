"""The screenshot tools' demo projects (~200 MB each for the review screenshots) are removed when
the process ends; they used to be left in the temp folder on every run."""

import os
import subprocess
import sys
from pathlib import Path


def test_screenshot_scratch_folder_is_removed_when_the_process_ends(tmp_path):
    code = ("from embryo_gui.gui.screenshot import _scratch\n"
            "p = _scratch('embryo-gui-review-')\n"
            "(p / 'demo.h5').write_bytes(b'x' * 1000)\n"
            "print(p)\n")
    env = dict(os.environ, TMPDIR=str(tmp_path), QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    folder = Path(out.stdout.strip())
    assert folder.parent == tmp_path and folder.name.startswith("embryo-gui-review-")
    assert not folder.exists()
    assert list(tmp_path.iterdir()) == []
