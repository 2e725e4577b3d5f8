"""Review a batch in the app: the projects of a batch's OUT_DIR, in the order of its report, one
after another (``embryo-gui OUT_DIR``).  Qt-free; the window only asks for the next / previous one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

from ..errors import EmbryoError

REPORT = "report.json"


def is_batch_folder(path) -> bool:
    """True for a folder written by ``embryo-repair batch`` (it holds report.json)."""
    p = Path(path)
    return p.is_dir() and (p / REPORT).is_file()


class BatchReview:
    """The reviewable projects of a batch (embryos that were processed and whose project file is
    there), in report order, with a current one."""

    def __init__(self, out_dir):
        self.out_dir = Path(out_dir)
        path = self.out_dir / REPORT
        try:
            report = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise EmbryoError("is not a batch output folder (no report.json)", self.out_dir) from None
        except (OSError, ValueError) as exc:
            raise EmbryoError(f"cannot read the batch report ({' '.join(str(exc).split())[:160]})", path) from None
        if not isinstance(report, dict) or report.get("format") != "embryo-gui-batch-report":
            raise EmbryoError("not an embryo-gui batch report", path)
        self.entries: list[dict] = []
        for row in report.get("embryos") or []:
            rel = row.get("project") if isinstance(row, dict) else None
            if row.get("status") == "ok" and rel and (self.out_dir / rel).is_file():
                self.entries.append({"name": row.get("name"), "state": row.get("state"),
                                     "path": self.out_dir / rel})
        if not self.entries:
            raise EmbryoError("the batch has no project to review (every embryo failed or is missing)", path)
        self.index = 0

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def current(self) -> Path:
        return self.entries[self.index]["path"]

    @property
    def has_next(self) -> bool:
        return self.index + 1 < len(self.entries)

    @property
    def has_previous(self) -> bool:
        return self.index > 0

    def step(self, delta: int) -> Optional[Path]:
        """Move by ``delta`` projects; returns the new current project, or None at either end."""
        k = self.index + delta
        if not 0 <= k < len(self.entries):
            return None
        self.index = k
        return self.current

    def position_text(self) -> str:
        e = self.entries[self.index]
        return f"batch project {self.index + 1} of {len(self.entries)}: {e['name']} ({e['state']})"
