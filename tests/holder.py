"""Another process that holds a project's write lock (as a colleague's window would), edits and saves
it on command, and lets go when stopped."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

_CODE = """\
import sys
from embryo_gui import edits
from embryo_gui.model import Project
p = Project.open(sys.argv[1], write=True, holder=sys.argv[2])
print('held', flush=True)
for line in sys.stdin:
    name, frame, value = line.split()
    p.embryo(name).history.push(edits.SetValues([int(frame)], float(value), columns=['population']))
    p.save()
    print('saved', flush=True)
p.close()
"""


class Holder:
    def __init__(self, path: Path, name: str = "a colleague's window"):
        env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.proc = subprocess.Popen([sys.executable, "-c", _CODE, str(path), name], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=env)
        assert self.proc.stdout.readline().strip() == "held"

    def set_and_save(self, embryo: str, frame: int, value: float) -> None:
        """Set the population of ``embryo`` at ``frame`` and save the project (atomically)."""
        self.proc.stdin.write(f"{embryo} {int(frame)} {float(value)!r}\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline().strip() == "saved"

    def stop(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
